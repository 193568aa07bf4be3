//! The CLI's one error type and its one printer, as cargo's `CliError`: every command returns
//! [`CliResult`]; a failure carries its message, its fix and its exit code, and [`report`]
//! prints it the same way for all of them: `error: message`, a `because:` line per cause, a
//! `fix:` line, then `Nothing was changed.` when that is the news. Never a backtrace, a
//! `Location:` section or Debug text. Color comes from [`crate::ui::color_wanted`].
use crate::exit;
use crate::ui::{self, out, style};
use color_eyre::Report;
use std::fmt::Write as _;

/// An exit code, or a failure to report before exiting with its code.
pub type CliResult = Result<i32, CliError>;

#[derive(Debug)]
pub struct CliError {
    /// What went wrong and why (its causes). `None`: already said, only exit with `code`.
    pub error: Option<Report>,
    /// What the admin can do about it.
    pub fix: Option<String>,
    /// Said after the error: nothing on the system was touched.
    pub nothing_changed: bool,
    pub code: i32,
}

impl CliError {
    pub fn new(error: impl Into<Report>, code: i32) -> CliError {
        CliError {
            error: Some(error.into()),
            fix: None,
            nothing_changed: false,
            code,
        }
    }

    /// Bad input or a refusal before anything was touched (exit 2).
    pub fn bad_input(message: impl std::fmt::Display) -> CliError {
        CliError::new(Report::msg(message.to_string()), exit::BAD_INPUT)
    }

    /// Something failed (exit 1).
    pub fn failed(error: impl Into<Report>) -> CliError {
        CliError::new(error, exit::FAILED_ROLLED_BACK)
    }

    /// Exit with `code`; what happened was already printed (an outcome, a rollback report).
    pub fn code(code: i32) -> CliError {
        CliError {
            error: None,
            fix: None,
            nothing_changed: false,
            code,
        }
    }

    pub fn with_fix(mut self, fix: impl Into<String>) -> CliError {
        self.fix = Some(fix.into());
        self
    }

    /// Adds `Nothing was changed.` after the error.
    pub fn nothing_changed(mut self) -> CliError {
        self.nothing_changed = true;
        self
    }
}

impl From<Report> for CliError {
    fn from(e: Report) -> CliError {
        CliError::failed(e)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::failed(e)
    }
}

impl From<ui::wizard::WizardError> for CliError {
    fn from(e: ui::wizard::WizardError) -> CliError {
        let code = e.exit_code();
        CliError::new(e, code)
    }
}

/// `text` with every control and bidi character of each line escaped
/// ([`mailstead_engine::step::shown`]), keeping its line breaks: an error may quote what a
/// command, a server or a DNS answer said, and none of that may move the cursor, recolour
/// the terminal or turn the text around.
fn shown_lines(text: &str) -> String {
    text.split('\n')
        .map(|l| mailstead_engine::step::shown(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The error as the admin reads it (empty when there is nothing to say).
pub fn render(e: &CliError, color: bool) -> String {
    let mut out = String::new();
    let Some(error) = &e.error else {
        return out;
    };
    let _ = writeln!(
        out,
        "{} {}",
        ui::paint(color, style::RED.bold(), "error:"),
        shown_lines(&error.to_string())
    );
    for cause in error.chain().skip(1) {
        let _ = writeln!(out, "  because: {}", shown_lines(&cause.to_string()));
    }
    if let Some(fix) = &e.fix {
        let _ = writeln!(
            out,
            "  {} {}",
            ui::paint(color, style::GREEN, "fix:"),
            shown_lines(fix)
        );
    }
    if e.nothing_changed {
        let _ = writeln!(out, "Nothing was changed.");
    }
    out
}

/// Prints the error on stderr (the one place errors are printed) and gives its exit code.
pub fn report(e: &CliError) -> i32 {
    ui::restore_terminal();
    out::err_text(&render(e, ui::color_wanted()));
    e.code
}

/// A warning on stderr, in the same voice as errors.
pub fn warn(message: impl std::fmt::Display) {
    out::err_line(format_args!(
        "{} {message}",
        ui::paint(ui::color_wanted(), style::YELLOW.bold(), "warning:")
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use color_eyre::eyre::{eyre, WrapErr};

    #[test]
    fn what_a_server_said_cannot_paint_the_terminal() {
        // A cause quoting a remote reply with a colour, a carriage return and a bidi override.
        let e = CliError::failed(
            eyre!("550 \x1b[32m\u{2713} all good\x1b[0m\rok \u{202e}gnp.exe")
                .wrap_err("the relay host refused the message"),
        )
        .with_fix("see the relay's reply\nthen try again");
        let text = render(&e, false);
        assert!(!text.contains('\x1b') && !text.contains('\r') && !text.contains('\u{202e}'));
        assert!(text.contains("\\x1b[32m") && text.contains("\\r") && text.contains("\\u{202e}"));
        // Our own line breaks stay.
        assert!(
            text.contains("see the relay's reply\nthen try again"),
            "{text}"
        );
    }

    #[test]
    fn message_causes_fix_in_plain_words() {
        let e: Result<(), Report> =
            Err(eyre!("disk on fire")).wrap_err("writing /etc/demo/app.conf");
        let e = CliError::failed(e.unwrap_err()).with_fix("free some space");
        let text = render(&e, false);
        assert_eq!(
            text,
            "error: writing /etc/demo/app.conf\n  because: disk on fire\n  fix: free some space\n"
        );
        assert!(!text.contains("Location"));
        assert_eq!(e.code, exit::FAILED_ROLLED_BACK);
    }

    #[test]
    fn bad_input_says_nothing_changed() {
        let e = CliError::bad_input("no mailbox ghost@example.test").nothing_changed();
        assert_eq!(e.code, exit::BAD_INPUT);
        assert_eq!(
            render(&e, false),
            "error: no mailbox ghost@example.test\nNothing was changed.\n"
        );
    }

    #[test]
    fn colored_only_when_asked() {
        let e = CliError::bad_input("x").with_fix("y");
        assert!(render(&e, true).contains('\x1b'));
        assert!(!render(&e, false).contains('\x1b'));
    }

    #[test]
    fn already_reported_prints_nothing() {
        let e = CliError::code(exit::ROLLBACK_FAILED);
        assert_eq!(render(&e, true), "");
        assert_eq!(e.code, exit::ROLLBACK_FAILED);
    }
}
