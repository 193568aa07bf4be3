//! What the demo tells the person at its terminal: the commands it suggests, named by the
//! path mailstead was started by.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_commands_name_the_path_mailstead_was_started_by() {
        let me = "target/release/mailstead";
        assert_eq!(
            start_one_that_stays(me),
            "start one that stays: `target/release/mailstead demo --keep`"
        );
    }
}
