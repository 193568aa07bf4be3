//! The demo on a terminal: where the wizard inside the server reads its keys from, the `│`
//! gutter of the lines the demo shows (wrapped at the terminal's width, the gutter kept), and
//! a spinner with the elapsed time and the latest progress while a long stage runs (indicatif).
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where the wizard inside the server (and a shell there) reads its keys from: the output may
/// go anywhere (`mailstead demo | tee demo.log`), the keys need a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keys {
    /// stdin is a terminal.
    Stdin,
    /// stdin is not, the session's terminal is (`/dev/tty`).
    DevTty,
}

/// Where the keys come from: stdin when it is a terminal (`stdin_tty`), else `/dev/tty` when
/// it opens as one (`dev_tty`, asked only then). Err: exactly what is missing.
pub(super) fn keys_from(
    stdin_tty: bool,
    dev_tty: impl FnOnce() -> std::io::Result<bool>,
) -> Result<Keys, String> {
    if stdin_tty {
        return Ok(Keys::Stdin);
    }
    match dev_tty() {
        Ok(true) => Ok(Keys::DevTty),
        Ok(false) => Err("stdin is not a terminal, and /dev/tty is not one either".into()),
        Err(e) => Err(format!(
            "stdin is not a terminal, and /dev/tty cannot be opened ({e})"
        )),
    }
}

/// [`keys_from`] for this process.
pub(super) fn keys() -> Result<Keys, String> {
    keys_from(std::io::stdin().is_terminal(), || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .map(|f| f.is_terminal())
    })
}

impl Keys {
    /// The stdin of a command run on this terminal.
    pub(super) fn stdin(self) -> std::io::Result<Stdio> {
        Ok(match self {
            Keys::Stdin => Stdio::inherit(),
            Keys::DevTty => std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty")?
                .into(),
        })
    }
}

/// Before each line of a command's output the demo shows.
pub(super) const GUTTER: &str = "           │ ";
/// Before the rest of a line wrapped at the terminal's width.
const GUTTER_GOES_ON: &str = "           │   ";

/// `text` with every line behind the [`GUTTER`]; a line wider than `width` columns wrapped,
/// its continuation behind the gutter too (never at column 0). `None`: no wrapping (no
/// terminal to fit).
pub(super) fn gutter(text: &str, width: Option<usize>) -> String {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r').trim_end();
        match width {
            Some(w) if w > GUTTER_GOES_ON.chars().count() + 20 && !line.is_empty() => {
                let opts = textwrap::Options::new(w)
                    .initial_indent(GUTTER)
                    .subsequent_indent(GUTTER_GOES_ON)
                    .break_words(true);
                out.extend(
                    textwrap::wrap(line, opts)
                        .into_iter()
                        .map(|c| c.into_owned()),
                );
            }
            _ => out.push(format!("{GUTTER}{line}").trim_end().to_string()),
        }
    }
    out.join("\n")
}

/// The width of the terminal the output ends up on (also through `| tee`), if any.
pub(super) fn width() -> Option<usize> {
    crossterm::terminal::size()
        .ok()
        .map(|(cols, _)| cols as usize)
        .filter(|&c| c > 0)
}

/// The prefix of the bed script's progress lines (`BED_PROGRESS=1`): shown in the spinner,
/// not as lines of their own.
const PROGRESS: &str = "bed: progress: ";

/// A spinner under the lines of a running stage: its elapsed time and the latest progress
/// line. On stdout only when that is a terminal; else (`| tee`) the progress is a line of its
/// own every 15 s, so a long stage never sits on one unchanging line.
pub(super) struct Spinner {
    bar: ProgressBar,
}

impl Spinner {
    pub(super) fn start() -> Spinner {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{}{{spinner}} {{elapsed:>4}} {{wide_msg}}",
                &GUTTER[..GUTTER.len() - "│ ".len()]
            ))
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Spinner { bar }
    }

    /// What to do with each line of the stage's output: progress into the spinner, the rest
    /// shown behind the gutter above it.
    pub(super) fn line_handler(&self) -> Arc<dyn Fn(&str) + Send + Sync> {
        let bar = self.bar.clone();
        let started = Instant::now();
        let last_said = Mutex::new(Instant::now());
        Arc::new(move |l: &str| match l.strip_prefix(PROGRESS) {
            Some(p) if bar.is_hidden() => {
                let mut last = last_said.lock().unwrap_or_else(|e| e.into_inner());
                if last.elapsed() >= Duration::from_secs(15) {
                    *last = Instant::now();
                    println!(
                        "{}",
                        gutter(
                            &format!("({:.0} s) {p}", started.elapsed().as_secs_f64()),
                            width()
                        )
                    );
                }
            }
            Some(p) => bar.set_message(p.to_string()),
            None => {
                bar.set_message("");
                bar.suspend(|| println!("{}", gutter(l, width())));
            }
        })
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// `demo | tee log`: a program run on the terminal (the wizard, a shell) draws its screens on
/// the terminal, not into the pipe (a log of cursor moves, and a terminal drawn through tee
/// goes astray); the output says where they went. Nothing changes when stdout is the terminal
/// or there is no /dev/tty.
pub fn screens_on_terminal(cmd: &mut std::process::Command, argv: &[&str]) {
    if std::io::stdout().is_terminal() {
        return;
    }
    let Ok(tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") else {
        return;
    };
    let Ok(err) = tty.try_clone() else {
        return;
    };
    println!(
        "(`{}` runs on the terminal: its screens are not in this output)",
        argv.join(" ").replace("/usr/local/sbin/", "")
    );
    cmd.stdout(tty).stderr(err);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_from_stdin_or_dev_tty_and_a_refusal_says_which_is_missing() {
        let never = || -> std::io::Result<bool> { panic!("/dev/tty asked with stdin a terminal") };
        assert_eq!(keys_from(true, never), Ok(Keys::Stdin));
        // stdout is never asked: `demo | tee log` has its keys.
        assert_eq!(keys_from(false, || Ok(true)), Ok(Keys::DevTty));
        let e = keys_from(false, || Ok(false)).unwrap_err();
        assert_eq!(e, "stdin is not a terminal, and /dev/tty is not one either");
        let e = keys_from(false, || {
            Err(std::io::Error::from_raw_os_error(libc::ENXIO))
        })
        .unwrap_err();
        assert!(
            e.starts_with("stdin is not a terminal, and /dev/tty cannot be opened (")
                && e.contains("No such device or address"),
            "{e}"
        );
    }

    #[test]
    fn wrapped_lines_keep_the_gutter() {
        let long = "bed: base trixie: debootstrap --variant=minbase (log: /var/cache/mailstead-bed/.build-trixie.Ab12Cd/debootstrap.log)";
        let shown = gutter(long, Some(60));
        let lines: Vec<&str> = shown.lines().collect();
        assert!(lines.len() > 1, "{shown}");
        for l in &lines {
            assert!(l.starts_with("           │ "), "{l:?} in\n{shown}");
            assert!(textwrap::core::display_width(l) <= 60, "{l:?} in\n{shown}");
        }
        // Nothing lost: the text in order (wrapped at spaces or after a hyphen).
        let bare = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let shown_text: String = lines.iter().map(|l| l.trim_start_matches(GUTTER)).collect();
        assert_eq!(bare(&shown_text), bare(long));
        // A URL longer than the width is broken, still behind the gutter.
        let url = format!("https://{}/dir", "x".repeat(100));
        for l in gutter(&url, Some(50)).lines() {
            assert!(
                l.starts_with(GUTTER) && textwrap::core::display_width(l) <= 50,
                "{l:?}"
            );
        }
        // Short lines, empty lines and no terminal: one line each, indentation kept.
        assert_eq!(
            gutter("a\n\n  b\r", Some(80)),
            "           │ a\n           │\n           │   b"
        );
        assert_eq!(gutter(long, None), format!("{GUTTER}{long}"));
    }
}
