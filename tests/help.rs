//! The help people read: `--help` of every command, the shell completions, the man page, and
//! install.sh putting the last two where bash, zsh, fish and man look. Runs only `--help`,
//! `-h`, `completions` and `man`, which print and touch nothing, and install.sh into a temp
//! directory (DESTDIR).
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mailstead");

/// The commands that are built, as `mailstead --help` must list them (plus clap's `help`).
const BUILT: &[&str] = &[
    "install",
    "plan",
    "add-domain",
    "add-mailbox",
    "add-alias",
    "remove-domain",
    "remove-mailbox",
    "remove-alias",
    "runs",
    "rollback",
    "recover",
    "check",
    // Lift a fail2ban ban on the mail ports.
    "unban",
    "dns",
    "retry-certificate",
    // The DKIM signer: `dkim rotate DOMAIN`.
    "dkim",
    "completions",
    // Try it safely: a throwaway Debian server on this machine.
    "demo",
    "man",
    "help",
];

/// Commands that exist only to say they are not built yet: never listed or completed.
const NOT_BUILT: &[&str] = &[];

/// Test-only flags: they work, but no help, completion or man page mentions them.
const HIDDEN_FLAGS: &[&str] = &["--root", "--demo", "--only"];

fn mailstead(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run mailstead");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "mailstead {args:?}: {:?}\n{stderr}",
        out.status
    );
    assert!(
        stderr.is_empty(),
        "mailstead {args:?} wrote to stderr:\n{stderr}"
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The lines of a help section ("Commands:", "Arguments:", "Options:"), up to the next one.
fn section<'a>(help: &'a str, title: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != title)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .collect()
}

/// The commands listed by `mailstead --help`.
fn listed_commands() -> Vec<String> {
    let help = mailstead(&["--help"]);
    let names: Vec<String> = section(&help, "Commands:")
        .iter()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert!(!names.is_empty(), "no Commands: section in\n{help}");
    names
}

/// Entries under Arguments:/Options:/Commands: that have no description. An entry is a line
/// indented by two spaces; its description follows after a gap of two or more spaces, or on
/// the next lines, indented deeper (clap's long help layout).
fn undocumented(help: &str) -> Vec<String> {
    let mut missing = Vec::new();
    for title in ["Arguments:", "Options:", "Commands:"] {
        let lines = section(help, title);
        for (i, line) in lines.iter().enumerate() {
            let Some(entry) = line.strip_prefix("  ") else {
                continue;
            };
            if entry.starts_with(' ') || entry.is_empty() {
                continue;
            }
            let same_line = entry
                .split_once("  ")
                .is_some_and(|(_, rest)| !rest.trim().is_empty());
            let next_line = lines
                .get(i + 1)
                .is_some_and(|n| n.starts_with("      ") && !n.trim().is_empty());
            if !same_line && !next_line {
                missing.push(format!("{title} {}", entry.trim()));
            }
        }
    }
    missing
}

#[test]
fn help_lists_only_built_commands() {
    let listed = listed_commands();
    assert_eq!(
        listed, BUILT,
        "mailstead --help lists other commands than the built ones"
    );
    for name in NOT_BUILT {
        assert!(!listed.iter().any(|l| l == name), "{name} is listed");
    }
    let short = mailstead(&["-h"]);
    for line in section(&short, "Commands:") {
        assert!(!line.contains("not built"), "listed: {line}");
    }
}

#[test]
fn help_hides_test_only_flags() {
    let mut helps = vec![
        ("mailstead --help".to_string(), mailstead(&["--help"])),
        ("mailstead -h".to_string(), mailstead(&["-h"])),
    ];
    for cmd in listed_commands().iter().filter(|c| *c != "help") {
        helps.push((
            format!("mailstead {cmd} --help"),
            mailstead(&[cmd, "--help"]),
        ));
    }
    for (what, help) in &helps {
        for flag in HIDDEN_FLAGS {
            assert!(!help.contains(flag), "{what} mentions {flag}:\n{help}");
        }
    }
}

#[test]
fn every_argument_is_documented() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for args in [vec!["--help"], vec!["-h"]] {
        missing.extend(undocumented(&mailstead(&args)));
    }
    for cmd in listed_commands().iter().filter(|c| *c != "help") {
        for flag in ["--help", "-h"] {
            let help = mailstead(&[cmd, flag]);
            checked += section(&help, "Options:").len();
            missing.extend(
                undocumented(&help)
                    .into_iter()
                    .map(|m| format!("mailstead {cmd} {flag}: {m}")),
            );
        }
    }
    assert!(checked > 0, "found no Options: sections to check");
    assert!(missing.is_empty(), "undocumented:\n{}", missing.join("\n"));
}

#[test]
fn undocumented_detects_a_bare_argument() {
    let help = "Usage: x <NAME>\n\nArguments:\n  <NAME>\n\nOptions:\n  -h, --help  Print help\n";
    assert_eq!(undocumented(help), ["Arguments: <NAME>"]);
    let long = "Options:\n      --config <FILE>\n          The answers file\n\n  -y, --yes\n";
    assert_eq!(undocumented(long), ["Options: -y, --yes"]);
}

#[test]
fn help_has_examples() {
    let top = mailstead(&["--help"]);
    assert!(top.contains("Examples:"), "mailstead --help:\n{top}");
    assert!(top.contains("mailstead add-mailbox alice@example.org --password-stdin < pw.txt"));
    assert!(mailstead(&["-h"]).contains("Examples:"));
    for cmd in listed_commands().iter().filter(|c| *c != "help") {
        let help = mailstead(&[cmd, "--help"]);
        if !section(&help, "Arguments:").is_empty() {
            assert!(
                help.contains(&format!("Examples:\n  mailstead {cmd}")),
                "mailstead {cmd} takes arguments but shows no examples:\n{help}"
            );
        }
    }
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let script = mailstead(&["completions", shell]);
        assert!(script.len() > 1000, "{shell}: {} bytes", script.len());
        for cmd in ["add-mailbox", "remove-alias", "rollback", "password-stdin"] {
            assert!(script.contains(cmd), "{shell} completions lack {cmd}");
        }
        for flag in HIDDEN_FLAGS {
            // fish spells a long option `-l root`.
            let spelled = match shell {
                "fish" => format!("-l {}", flag.trim_start_matches('-')),
                _ => flag.to_string(),
            };
            assert!(
                !script.contains(&spelled),
                "{shell} completions offer {flag}"
            );
        }
        for cmd in NOT_BUILT {
            assert!(!script.contains(cmd), "{shell} completions offer {cmd}");
        }
        // Each shell checks the syntax, where it is installed.
        if have(shell) {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("completion");
            std::fs::write(&file, &script).unwrap();
            let ok = Command::new(shell)
                .arg("-n")
                .arg(&file)
                .status()
                .unwrap()
                .success();
            assert!(ok, "{shell} -n rejects the completions");
        }
    }
}

#[test]
fn bash_completion_completes_commands() {
    if !have("bash") {
        eprintln!("skipped: no bash");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mailstead.bash");
    std::fs::write(&file, mailstead(&["completions", "bash"])).unwrap();
    let script = format!(
        "source {}; COMP_WORDS=(mailstead add-m); COMP_CWORD=1; \
         _mailstead mailstead add-m mailstead; echo \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "add-mailbox");
}

fn check_man_page(page: &str) {
    assert!(
        page.starts_with(".TH") || page.starts_with(".ie"),
        "not roff: {}",
        &page[..page.len().min(200)]
    );
    for needed in [
        ".SH NAME",
        ".SH SYNOPSIS",
        ".SH OPTIONS",
        ".SH COMMANDS",
        ".SH EXAMPLES",
        "add\\-mailbox",
        "\\-\\-password\\-stdin",
    ] {
        assert!(page.contains(needed), "man page lacks {needed}");
    }
    for hidden in HIDDEN_FLAGS {
        let roff = hidden.replace('-', "\\-");
        assert!(!page.contains(&roff), "man page mentions {hidden}");
    }
    assert!(
        !page.contains("not built"),
        "man page lists an unbuilt command"
    );
}

#[test]
fn man_page_is_roff_and_renders() {
    let page = mailstead(&["man"]);
    check_man_page(&page);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mailstead.1");
    std::fs::write(&file, &page).unwrap();

    if have("groff") {
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&file)
            .output()
            .unwrap();
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && warnings.is_empty(),
            "groff: {warnings}"
        );
    } else {
        eprintln!("skipped the groff check: groff is not installed");
    }
    if have("man") {
        let out = Command::new("man")
            .arg("-l")
            .arg(&file)
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "man -l: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for needed in ["NAME", "SYNOPSIS", "add-mailbox", "EXAMPLES"] {
            assert!(
                text.contains(needed),
                "rendered page lacks {needed}:\n{text}"
            );
        }
    } else {
        eprintln!("skipped rendering: man is not installed");
    }
}

#[test]
fn install_sh_installs_completions_and_man_page() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let dest = tempfile::tempdir().unwrap();
    // DESTDIR: everything lands under the temp dir, no OS check, nothing started.
    // MAILSTEAD_BINARY: no cargo build, no network.
    let out = Command::new("sh")
        .arg(&script)
        .env("DESTDIR", dest.path())
        .env("MAILSTEAD_BINARY", BIN)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "install.sh: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let at = |p: &str| dest.path().join(p.trim_start_matches('/'));
    let bin = at("/usr/local/sbin/mailstead");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&bin).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o755);
    for (path, shell) in [
        ("/usr/share/bash-completion/completions/mailstead", "bash"),
        ("/usr/share/zsh/vendor-completions/_mailstead", "zsh"),
        (
            "/usr/share/fish/vendor_completions.d/mailstead.fish",
            "fish",
        ),
    ] {
        let got = std::fs::read_to_string(at(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(got, mailstead(&["completions", shell]), "{path}");
    }
    let man = std::fs::read_to_string(at("/usr/share/man/man1/mailstead.1")).unwrap();
    check_man_page(&man);
    // Nothing else: no leftovers from writing the files.
    let mut files = Vec::new();
    let mut dirs = vec![dest.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                files.push(p.strip_prefix(dest.path()).unwrap().display().to_string());
            }
        }
    }
    files.sort();
    assert_eq!(
        files,
        [
            "usr/local/sbin/mailstead",
            "usr/share/bash-completion/completions/mailstead",
            "usr/share/fish/vendor_completions.d/mailstead.fish",
            "usr/share/man/man1/mailstead.1",
            "usr/share/zsh/vendor-completions/_mailstead",
        ]
    );
}

#[test]
fn install_sh_refuses_a_missing_binary() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let dest = tempfile::tempdir().unwrap();
    let out = Command::new("sh")
        .arg(&script)
        .env("DESTDIR", dest.path())
        .env("MAILSTEAD_BINARY", dest.path().join("no-such-binary"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MAILSTEAD_BINARY"));
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

/// `mailstead ARGS` with the terminal `cols` columns wide (clap wraps help to `COLUMNS` when
/// stdout is not a terminal).
fn mailstead_at(cols: usize, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("COLUMNS", cols.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("run mailstead");
    assert!(out.status.success(), "mailstead {args:?}: {:?}", out.status);
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn each_command_summary_is_one_short_line_at_80_columns() {
    let help = mailstead_at(80, &["--help"]);
    let commands = section(&help, "Commands:");
    assert!(!commands.is_empty(), "no Commands: section in\n{help}");
    for line in commands.iter().filter(|l| !l.is_empty()) {
        assert!(line.chars().count() <= 80, "over 80 columns: {line:?}");
        // An entry is `  name  summary`: a deeper indent is a summary wrapped onto a second line.
        assert!(
            !line.starts_with("   "),
            "a summary takes more than one line at 80 columns: {line:?}\n{help}"
        );
        let (_, summary) = line.trim_start().split_once("  ").unwrap_or(("", ""));
        assert!(
            summary.trim().chars().count() <= 70,
            "summary over 70 characters: {line:?}"
        );
    }
    for line in help.lines() {
        assert!(line.chars().count() <= 80, "over 80 columns: {line:?}");
    }
}

/// Every command's help, both lengths, at 80 columns: no line wider than the terminal, and the
/// examples are written to fit (clap would wrap them mid-command otherwise).
#[test]
fn help_fits_80_columns_and_examples_are_not_rewrapped() {
    let mut cmds: Vec<Vec<&str>> = vec![vec![]];
    let listed = listed_commands();
    cmds.extend(
        listed
            .iter()
            .filter(|c| *c != "help")
            .map(|c| vec![c.as_str()]),
    );
    cmds.push(vec!["dkim", "rotate"]);
    for cmd in cmds {
        for flag in ["--help", "-h"] {
            let args: Vec<&str> = cmd.iter().copied().chain([flag]).collect();
            let narrow = mailstead_at(80, &args);
            for line in narrow.lines() {
                assert!(
                    line.chars().count() <= 80,
                    "mailstead {args:?}: over 80 columns: {line:?}"
                );
            }
            let examples = |h: &str| {
                h.split_once("Examples:\n")
                    .map(|(_, e)| e.split("\n\n").next().unwrap_or("").to_string())
            };
            assert_eq!(
                examples(&narrow),
                examples(&mailstead_at(200, &args)),
                "mailstead {args:?}: the examples are wrapped at 80 columns"
            );
        }
    }
}

/// The long flags a help lists under Options:, without --help and --version.
fn listed_flags(help: &str) -> Vec<String> {
    let mut flags: Vec<String> = section(help, "Options:")
        .iter()
        // An entry starts at column 2 (`-y, --yes`) or 6 (`--config`); its description, when
        // on the following lines, is indented deeper.
        .filter(|l| !l.trim().is_empty() && l.len() - l.trim_start().len() <= 6)
        .filter_map(|l| {
            let entry = l.trim_start().split("  ").next().unwrap_or("");
            entry
                .split([' ', ','])
                .find(|t| t.starts_with("--"))
                .map(str::to_string)
        })
        .filter(|f| f != "--help" && f != "--version")
        .collect();
    flags.sort();
    flags
}

/// The flags each command takes, and so lists: only those that act on it.
const FLAGS: &[(&str, &[&str])] = &[
    (
        "install",
        &[
            "--config",
            "--defaults",
            "--force",
            "--plain",
            "--verbose",
            "--yes",
        ],
    ),
    ("plan", &["--config", "--verbose"]),
    ("add-domain", APPLY),
    (
        "add-mailbox",
        &[
            "--config",
            "--force",
            "--password-stdin",
            "--plain",
            "--verbose",
            "--yes",
        ],
    ),
    ("add-alias", APPLY),
    ("remove-domain", APPLY),
    ("remove-mailbox", APPLY),
    ("remove-alias", APPLY),
    ("runs", &[]),
    (
        "rollback",
        &[
            "--force",
            "--plain",
            "--purge-packages",
            "--verbose",
            "--yes",
        ],
    ),
    ("recover", &["--plain", "--verbose", "--yes"]),
    ("check", &["--config", "--json"]),
    ("unban", &[]),
    ("dns", &["--config", "--format"]),
    ("retry-certificate", APPLY),
    ("dkim", &[]),
    (
        "dkim rotate",
        &[
            "--config",
            "--force",
            "--plain",
            "--published",
            "--verbose",
            "--yes",
        ],
    ),
    ("completions", &[]),
    ("demo", &["--keep", "--release", "--yes"]),
    ("man", &[]),
];

/// A command that applies changes: the answers file, how to ask, how to show the run.
const APPLY: &[&str] = &["--config", "--force", "--plain", "--verbose", "--yes"];

#[test]
fn each_command_lists_only_the_flags_that_act_on_it() {
    let listed = listed_commands();
    for cmd in listed.iter().filter(|c| *c != "help") {
        assert!(
            FLAGS.iter().any(|(c, _)| c == cmd),
            "{cmd} is missing from the FLAGS table of this test"
        );
    }
    for (cmd, want) in FLAGS {
        let mut args: Vec<&str> = cmd.split(' ').collect();
        args.push("--help");
        let help = mailstead_at(200, &args);
        let mut want: Vec<String> = want.iter().map(|f| f.to_string()).collect();
        want.sort();
        assert_eq!(
            listed_flags(&help),
            want,
            "mailstead {cmd} --help lists other flags than those acting on it:\n{help}"
        );
    }
}

#[test]
fn dns_help_does_not_list_the_run_flags() {
    let help = mailstead(&["dns", "--help"]);
    for flag in ["--yes", "--force", "--plain"] {
        assert!(!help.contains(flag), "dns --help lists {flag}:\n{help}");
    }
}

#[test]
fn demo_help_speaks_of_the_demo() {
    let help = mailstead(&["demo", "--help"]);
    assert!(!help.contains("--config"), "demo --help:\n{help}");
    // The install's meaning of --yes (hand edits, interrupted runs) is not the demo's.
    assert!(!help.contains("hand-edited"), "demo --help:\n{help}");
    assert!(help.contains("generated answers"), "demo --help:\n{help}");
}

#[test]
fn listed_flags_reads_both_layouts() {
    let short = "Options:\n      --config <FILE>  The answers file\n  -y, --yes            Ask \
                 nothing,\n                       also --force\n  -h, --help  Print help\n";
    assert_eq!(listed_flags(short), ["--config", "--yes"]);
    let long = "Options:\n      --config <FILE>\n          The answers file; see --yes\n\n  \
                -v, --verbose\n          Show\n";
    assert_eq!(listed_flags(long), ["--config", "--verbose"]);
}
