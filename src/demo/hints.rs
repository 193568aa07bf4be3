//! What the demo tells the person at its terminal: the commands it suggests (named by the
//! path mailstead was started by), and which mailboxes the password file is for.
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

#[cfg(test)]
mod tests {
    use super::*;

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
