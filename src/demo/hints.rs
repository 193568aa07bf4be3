//! What the demo tells the person at its terminal: the stage lines (wrapped at word
//! boundaries), the commands it suggests (named by the path mailstead was started by), and
//! where the mailboxes' password is.
use super::PASSWORD_FILE;

/// How the user started this binary, to name in the commands it suggests: `mailstead` when
/// that is what `PATH` finds, else the path it was run by (`target/release/mailstead` from a
/// checkout). The demo runs as root, so no `sudo`.
pub(super) fn invoked_as() -> String {
    let arg0 = std::env::args()
        .next()
        .unwrap_or_else(|| "mailstead".into());
    if arg0.contains('/') {
        shlex::try_quote(&arg0).map_or(arg0.clone(), |q| q.into_owned())
    } else {
        arg0
    }
}

/// The fix of `demo shell` with no server running.
pub(super) fn start_one_that_stays(me: &str) -> String {
    format!("start one that stays: `{me} demo --keep`")
}

/// Which mailboxes the password in [`PASSWORD_FILE`] is for: "the password of A and B is in
/// FILE".
pub(super) fn password_note(mailboxes: &[String]) -> String {
    let names = match mailboxes {
        [] => "the demo's mailboxes".to_string(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    format!("the password of {names} is in {PASSWORD_FILE}")
}

/// The end of a `--yes` run that leaves nothing running: how to get a shell next time, since
/// `--yes` asks nothing.
pub(super) fn shell_next_time(me: &str, mailboxes: &[String]) -> String {
    format!(
        "For a shell inside the demo server: `{me} demo --keep` (the server stays), then \
         `{me} demo shell`; {} there.",
        password_note(mailboxes)
    )
}

/// Whether the end asks "Open a shell inside the demo server?": only with keys from a
/// terminal and without `--yes` (which promises no questions).
pub(super) fn asks_for_a_shell(keys: bool, yes: bool) -> bool {
    keys && !yes
}

/// The width of the `[  12.3s] ` before a stage line.
const STAGE_PREFIX: usize = 10;

/// A stage line: the seconds since the start, then `what`, wrapped at word boundaries at
/// `width` columns, its continuation lines indented under the text. A word longer than the
/// width (a URL, a path) stays whole on a line of its own. `None`: no wrapping.
pub(super) fn stage_line(secs: f64, what: &str, width: Option<usize>) -> String {
    let head = format!("[{secs:6.1}s] ");
    match width {
        Some(w) if w > STAGE_PREFIX + 20 => {
            let indent = " ".repeat(STAGE_PREFIX);
            let opts = textwrap::Options::new(w)
                .initial_indent(&head)
                .subsequent_indent(&indent)
                .word_separator(textwrap::WordSeparator::AsciiSpace)
                .word_splitter(textwrap::WordSplitter::NoHyphenation)
                .break_words(false);
            what.lines()
                .flat_map(|l| {
                    textwrap::wrap(l, &opts)
                        .into_iter()
                        .map(|c| c.into_owned())
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        _ => format!("{head}{what}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_lines_wrap_between_words_and_keep_urls_whole() {
        let what = "server up at 10.213.1.2 (host end 10.213.1.1, link veth-mdemo; ACME server \
                    https://10.213.1.1:14000/dir)";
        let shown = stage_line(12.3, what, Some(60));
        let lines: Vec<&str> = shown.lines().collect();
        assert!(lines.len() > 1, "{shown}");
        assert!(lines[0].starts_with("[  12.3s] server up"), "{shown}");
        for l in &lines {
            assert!(textwrap::core::display_width(l) <= 60, "{l:?} in\n{shown}");
        }
        // The URL is whole on one line; continuation lines are indented under the text.
        assert!(
            lines
                .iter()
                .any(|l| l.contains("https://10.213.1.1:14000/dir)")),
            "{shown}"
        );
        assert!(lines[1..].iter().all(|l| l.starts_with("          ")));
        // Nothing lost, no word split.
        let words: Vec<&str> = shown.split_whitespace().skip(2).collect();
        assert_eq!(words, what.split_whitespace().collect::<Vec<_>>());
        // A path longer than the width stays whole, on a line of its own.
        let path = format!("/var/cache/{}/debootstrap.log", "x".repeat(60));
        let shown = stage_line(1.0, &format!("log: {path} kept"), Some(50));
        assert!(shown.lines().any(|l| l.trim() == path), "{shown}");
        // A hyphenated address is not split at its hyphen.
        let shown = stage_line(
            1.0,
            &format!("{} demo-check@example.test", "w ".repeat(23)),
            Some(60),
        );
        assert!(shown.contains("demo-check@example.test"), "{shown}");
        // No terminal: one line.
        assert_eq!(stage_line(1.0, what, None), format!("[   1.0s] {what}"));
    }

    #[test]
    fn yes_asks_for_no_shell() {
        assert!(!asks_for_a_shell(true, true), "--yes on a terminal asked");
        assert!(!asks_for_a_shell(false, true));
        assert!(asks_for_a_shell(true, false));
    }

    #[test]
    fn the_password_note_names_every_mailbox_it_is_for() {
        let both = [
            "alice@example.test".to_string(),
            "demo-check@example.test".into(),
        ];
        assert_eq!(
            password_note(&both),
            "the password of alice@example.test and demo-check@example.test is in \
             /root/demo-mailbox-password"
        );
        assert_eq!(
            password_note(&both[..1]),
            "the password of alice@example.test is in /root/demo-mailbox-password"
        );
    }

    #[test]
    fn suggested_commands_name_the_path_mailstead_was_started_by() {
        let me = "target/release/mailstead";
        assert_eq!(
            start_one_that_stays(me),
            "start one that stays: `target/release/mailstead demo --keep`"
        );
        let t = shell_next_time(me, &["alice@example.test".to_string()]);
        assert!(
            t.contains("`target/release/mailstead demo --keep`")
                && t.contains("`target/release/mailstead demo shell`")
                && t.contains(
                    "the password of alice@example.test is in /root/demo-mailbox-password"
                ),
            "{t}"
        );
    }
}
