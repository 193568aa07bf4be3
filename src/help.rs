//! Shell completions and the man page, generated from the clap definitions of the command
//! line (`cli::Args::command()`, handed in by the caller), so they never drift from `--help`.
//! `mailstead completions SHELL` and `mailstead man` print them to stdout; install.sh writes
//! them where bash, zsh, fish and man look.
use crate::error::{CliError, CliResult};
use crate::exit;
use crate::ui::out;
use color_eyre::eyre::WrapErr;
use std::io::Write;

/// Completions for `shell` of the command line `cli` on stdout. Exit code.
pub fn completions(cli: clap::Command, shell: clap_complete::Shell) -> CliResult {
    let mut cmd = visible(&cli);
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "mailstead", &mut out);
    print(&out)
}

/// `cmd` without its hidden commands and arguments (test-only flags, commands not built
/// yet): clap_complete's generators would offer them, clap_mangen already leaves them out.
fn visible(cmd: &clap::Command) -> clap::Command {
    let mut out = clap::Command::new(cmd.get_name().to_string());
    if let Some(v) = cmd.get_version() {
        out = out.version(v.to_string());
    }
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    if let Some(about) = cmd.get_long_about() {
        out = out.long_about(about.clone());
    }
    for arg in cmd.get_arguments().filter(|a| !a.is_hide_set()) {
        out = out.arg(arg.clone());
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out = out.subcommand(visible(sub));
    }
    out
}

/// The man page (roff) of the command line `cli` on stdout. Exit code.
pub fn man(cli: clap::Command) -> CliResult {
    let page = man_page(cli).wrap_err("rendering the man page")?;
    print(&page)
}

/// mailstead(1): the page clap_mangen makes for the top level (name, synopsis, description,
/// options, commands, examples), then one entry per visible command (and per command of a
/// command, as `dkim rotate`) with its arguments and examples.
fn man_page(cli: clap::Command) -> std::io::Result<Vec<u8>> {
    let mut cmd = cli.bin_name("mailstead");
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone()).manual("mailstead manual");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    writeln!(out, ".SH COMMANDS")?;
    for sub in entries(&cmd) {
        let usage = sub.clone().render_usage().to_string();
        let usage = usage.trim().trim_start_matches("Usage:").trim();
        writeln!(out, ".TP\n.B {}", escape(usage))?;
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            writeln!(out, "{}", escape(&about.to_string()))?;
        }
        let args: Vec<_> = sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
            .filter(|a| !matches!(a.get_id().as_str(), "help" | "version"))
            .collect();
        if !args.is_empty() {
            writeln!(out, ".RS")?;
            for a in args {
                let name = match (a.get_long(), a.get_value_names()) {
                    (Some(long), _) => format!("--{long}"),
                    (None, Some(names)) => names.iter().map(|n| n.as_str()).collect(),
                    (None, None) => a.get_id().to_string(),
                };
                writeln!(out, ".TP\n.I {}", escape(&name))?;
                let mut help = a
                    .get_long_help()
                    .or_else(|| a.get_help())
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                let values: Vec<String> = a
                    .get_possible_values()
                    .iter()
                    .filter(|v| !v.is_hide_set())
                    .map(|v| v.get_name().to_string())
                    .collect();
                if !values.is_empty() {
                    help = format!("{help} (one of: {})", values.join(", "));
                }
                writeln!(out, "{}", escape(&help))?;
            }
            writeln!(out, ".RE")?;
        }
        if let Some(after) = sub.get_after_long_help().or_else(|| sub.get_after_help()) {
            preformatted(&mut out, &after.to_string())?;
        }
    }
    if let Some(after) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
        // "Examples:" ... then "Exit codes: ...": each paragraph gets its own section.
        for para in after.to_string().split("\n\n") {
            let (head, body) = para.split_once('\n').unwrap_or((para, ""));
            match head.strip_suffix(':') {
                Some(title) => {
                    writeln!(out, ".SH {}", escape(&title.to_uppercase()))?;
                    preformatted(&mut out, body)?;
                }
                None => match para.split_once(": ") {
                    Some((title, text)) => {
                        writeln!(out, ".SH {}", escape(&title.to_uppercase()))?;
                        writeln!(out, "{}", escape(text))?;
                    }
                    None => writeln!(out, ".PP\n{}", escape(para))?,
                },
            }
        }
    }
    writeln!(out, ".SH SEE ALSO")?;
    writeln!(
        out,
        "The README of the mailstead repository: the answers file, each step, runs and rollback."
    )?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// The commands the page describes, each followed by its own (`dkim`, then `dkim rotate`):
/// visible ones, without clap's `help`.
fn entries(cmd: &clap::Command) -> Vec<&clap::Command> {
    let mut all = Vec::new();
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        all.push(sub);
        all.extend(entries(sub));
    }
    all
}

/// Lines kept as they are (examples), indented.
fn preformatted(out: &mut Vec<u8>, text: &str) -> std::io::Result<()> {
    writeln!(out, ".IP\n.nf")?;
    for line in text.lines() {
        writeln!(out, "{}", escape(line.strip_prefix("  ").unwrap_or(line)))?;
    }
    writeln!(out, ".fi")
}

/// Text safe for roff: backslashes and hyphens escaped, no line read as a request, one
/// paragraph per line.
fn escape(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            let line = line.replace('\\', "\\e").replace('-', "\\-");
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Writes to stdout; a closed pipe (`mailstead man | head`) is not an error worth a panic.
fn print(bytes: &[u8]) -> CliResult {
    match out::data(bytes) {
        Ok(()) => Ok(exit::DONE),
        Err(e) => Err(CliError::failed(
            color_eyre::Report::new(e).wrap_err("writing to stdout"),
        )),
    }
}
