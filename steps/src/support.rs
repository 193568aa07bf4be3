//! Helpers every capability may use (not a capability): a probe with a timeout, a unique token.
use mailstead_engine::host::{Cmd, Host};
use std::time::Duration;

/// The one escaper of text from outside (DNS answers, SMTP replies, certificate fields, log
/// lines, output of commands that echo remote data) before it is shown: control, bidi and
/// line-separator characters become visible escapes (`\x1b`, `\r`, `\u{202e}`). The
/// engine's `Finding`, `Note` and `Refusal` constructors apply it too; messages that are not
/// findings (certbot's lines, `unban`'s and `dkim rotate`'s) call it where the data enters.
pub use mailstead_engine::step::shown;

/// A unique token (`PID-NANOS`) marking one check's test message or scan.
pub fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos}", std::process::id())
}

/// A read-only probe with a 30 s timeout.
pub fn probe(
    host: &dyn Host,
    program: &str,
    args: &[&str],
) -> std::io::Result<mailstead_engine::Output> {
    host.run(&Cmd::probe(program, args.iter().copied()).timeout(Duration::from_secs(30)))
}
