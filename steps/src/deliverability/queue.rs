//! The `queue` check (`mailstead check` only): Postfix's deferred mail, how much and how old,
//! named by what holds it up, so a degraded state is said while it lasts rather than an hour
//! later:
//!
//! - connections to other servers' port 25 failing (timed out, refused, no route): at once,
//!   however young the message (without a relay host: outbound port 25 blocked by the
//!   provider looks like this from the first attempt);
//! - Dovecot's LMTP not taking mail for this server's mailboxes: at once;
//! - any message deferred for over [`QUEUE_AGE_SECS`], or [`QUEUE_WARN_COUNT`] deferred at
//!   once (the queue growing): a warning with Postfix's reason.
//!
//! Otherwise it passes, saying how many wait and the oldest's age (a receiver's greylisting
//! defers for minutes; Postfix retries by itself).
use crate::facts::queue::{deferred_messages, DeferredMessage};
use mailstead_answers::Answers;
use mailstead_engine::host::Cmd;
use mailstead_engine::{Check, Ctx, Finding};
use std::time::Duration;

pub struct Queue;

/// A deferred message older than this (seconds) is "stuck".
pub const QUEUE_AGE_SECS: i64 = 3600;
/// This many deferred messages is a growing queue, whatever their age.
pub const QUEUE_WARN_COUNT: usize = 100;

/// What holds a deferred recipient up, as far as Postfix's reason tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holdup {
    /// `connect to HOST[IP]:25: Connection timed out` (or refused, no route...): another
    /// server's port 25 cannot be reached.
    Port25,
    /// Dovecot's LMTP (`private/dovecot-lmtp`) did not take the message for a mailbox.
    Mailboxes,
    /// Anything else: a receiver's 4xx, DNS, TLS.
    Other,
}

/// What holds up a recipient deferred with Postfix's `reason`.
pub fn holdup(reason: &str) -> Holdup {
    if reason.contains("private/dovecot-lmtp") {
        Holdup::Mailboxes
    } else if reason.starts_with("connect to ") && reason.contains("]:25: ") {
        Holdup::Port25
    } else {
        Holdup::Other
    }
}

/// `secs` as a person says it: `under a minute`, `12 min`, `3 h`, `2 days`.
pub fn age(secs: i64) -> String {
    match secs {
        s if s < 60 => "under a minute".to_string(),
        s if s < 2 * 3600 => format!("{} min", s / 60),
        s if s < 2 * 86400 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

/// The finding for the deferred `msgs` at `now` (Unix seconds); `relay`: mail goes out
/// through a relay host (its failures are the `relay` check's).
pub fn judge(msgs: &[DeferredMessage], now: i64, relay: bool) -> Finding {
    let Some(oldest) = msgs.iter().min_by_key(|m| m.arrival_time) else {
        return Finding::pass("no mail deferred");
    };
    let n = msgs.len();
    let summary = format!(
        "{n} message{} deferred, the oldest ({}) for {}",
        if n == 1 { "" } else { "s" },
        oldest.queue_id,
        age(now - oldest.arrival_time)
    );
    let recipients: Vec<(&str, &str, Holdup)> = msgs
        .iter()
        .flat_map(|m| m.recipients.iter())
        .map(|(a, r)| {
            let h = match holdup(r) {
                Holdup::Port25 if relay => Holdup::Other,
                h => h,
            };
            (a.as_str(), r.as_str(), h)
        })
        .collect();
    let of = |kind: Holdup| -> Vec<(&str, &str)> {
        recipients
            .iter()
            .filter(|(_, _, h)| *h == kind)
            .map(|(a, r, _)| (*a, *r))
            .collect()
    };
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let port25 = of(Holdup::Port25);
    if let Some((addr, reason)) = port25.first() {
        problems.push(format!(
            "connections to other servers' port 25 fail for {} recipient{} ({addr}: {reason}): \
             when they fail for every receiver, outbound port 25 is blocked (as many providers \
             do until asked)",
            port25.len(),
            if port25.len() == 1 { "" } else { "s" }
        ));
        fixes.push(
            "ask your provider to open outbound port 25, or send through a relay host \
             (`relay_host` in the answers, then `mailstead install`)",
        );
    }
    let local = of(Holdup::Mailboxes);
    if let Some((addr, reason)) = local.first() {
        problems.push(format!(
            "Dovecot's LMTP does not take mail for {} recipient{} of this server ({addr}: {reason})",
            local.len(),
            if local.len() == 1 { "" } else { "s" }
        ));
        fixes.push(
            "start Dovecot (`systemctl start dovecot`; `journalctl -u dovecot -n 50` says why \
             it stopped)",
        );
    }
    let stuck: Vec<&DeferredMessage> = msgs
        .iter()
        .filter(|m| now - m.arrival_time > QUEUE_AGE_SECS)
        .collect();
    if !stuck.is_empty() && problems.is_empty() {
        problems.push(format!(
            "{} deferred for over an hour: {}",
            stuck.len(),
            reasons(oldest)
        ));
        fixes.push(
            "fix what the reason names (DNS, a refusing receiver, blocked port 25: set \
             `relay_host`)",
        );
    }
    if n >= QUEUE_WARN_COUNT {
        problems.push(format!("the queue is growing ({n} waiting)"));
        fixes.push(
            "`postqueue -j` shows whom they are for and from (many from one login: see \
             `limits`)",
        );
    }
    if problems.is_empty() {
        return Finding::pass(format!(
            "{summary}: {} (Postfix retries by itself)",
            reasons(oldest)
        ));
    }
    fixes.push("then `postqueue -f` retries at once; `postqueue -p` lists the queue");
    Finding::warn(
        format!("{summary}; {}", problems.join("; ")),
        fixes.join("; "),
    )
}

/// `address: reason` of each recipient of `m`.
fn reasons(m: &DeferredMessage) -> String {
    let r: Vec<String> = m
        .recipients
        .iter()
        .map(|(a, r)| {
            format!(
                "{a}: {}",
                if r.is_empty() {
                    "no reason given"
                } else {
                    r.as_str()
                }
            )
        })
        .collect();
    if r.is_empty() {
        "no reason given".to_string()
    } else {
        r.join("; ")
    }
}

impl Check<Answers> for Queue {
    fn name(&self) -> &'static str {
        "queue"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let out = match ctx
            .host
            .run(&Cmd::probe("postqueue", ["-j"]).timeout(Duration::from_secs(30)))
        {
            Ok(o) if o.success() => o,
            Ok(o) => {
                return Finding::warn(
                    format!("the queue could not be read: `postqueue -j`: {}", o.tail(2)),
                    "look at `journalctl -u postfix`",
                )
            }
            Err(e) => {
                return Finding::warn(
                    format!("the queue could not be read: {e}"),
                    "install Postfix (`mailstead install`)",
                )
            }
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        judge(
            &deferred_messages(&out.stdout),
            now,
            ctx.answers.relay_host.is_some(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{answers, ctx, ok};
    use mailstead_engine::{MemHost, Status};

    const NOW: i64 = 1_800_000_000;

    fn msg(id: &str, age: i64, rcpts: &[(&str, &str)]) -> DeferredMessage {
        DeferredMessage {
            queue_id: id.into(),
            arrival_time: NOW - age,
            recipients: rcpts
                .iter()
                .map(|(a, r)| (a.to_string(), r.to_string()))
                .collect(),
        }
    }

    const TIMED_OUT: &str =
        "connect to gmail-smtp-in.l.google.com[142.250.1.26]:25: Connection timed out";

    /// Outbound port 25 blocked: said two minutes after the message came, not after an hour.
    #[test]
    fn blocked_port_25_is_said_within_minutes() {
        let f = judge(
            &[msg("4ABC", 120, &[("bob@gmail.com", TIMED_OUT)])],
            NOW,
            false,
        );
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(
            f.detail.starts_with("1 message deferred, the oldest (4ABC) for 2 min; connections to other servers' port 25 fail for 1 recipient (bob@gmail.com: connect to gmail-smtp-in"),
            "{f:?}"
        );
        assert!(f.detail.contains("outbound port 25 is blocked"), "{f:?}");
        assert!(
            f.fix
                .as_deref()
                .is_some_and(|x| x.contains("open outbound port 25") && x.contains("relay_host")),
            "{f:?}"
        );
        // Refused and unreachable are the same kind.
        for reason in [
            "connect to mx.outside.test[10.213.5.1]:25: Connection refused",
            "connect to mx.outside.test[10.213.5.1]:25: No route to host",
            "connect to mx.outside.test[10.213.5.1]:25: Network is unreachable",
        ] {
            let f = judge(
                &[msg("5DEF", 40, &[("x@outside.test", reason)])],
                NOW,
                false,
            );
            assert!(
                f.status == Status::Warn && f.detail.contains("port 25 fail"),
                "{reason}: {f:?}"
            );
        }
        // Through a relay host, other servers' port 25 is not this server's way out.
        let f = judge(
            &[msg("4ABC", 120, &[("bob@gmail.com", TIMED_OUT)])],
            NOW,
            true,
        );
        assert_eq!(f.status, Status::Pass, "{f:?}");
    }

    /// Another daemon mail waits for: Dovecot's LMTP down holds the mailboxes' mail.
    #[test]
    fn mailboxes_waiting_for_dovecot_are_said_at_once() {
        let f = judge(
            &[msg(
                "6AAA",
                30,
                &[(
                    "alice@example.test",
                    "connect to mail.example.test[private/dovecot-lmtp]: Connection refused",
                )],
            )],
            NOW,
            false,
        );
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(
            f.detail.contains("Dovecot's LMTP does not take mail for 1 recipient of this server (alice@example.test: connect to"),
            "{f:?}"
        );
        assert!(
            f.fix
                .as_deref()
                .is_some_and(|x| x.contains("systemctl start dovecot")),
            "{f:?}"
        );
    }

    /// A receiver's greylisting for a few minutes passes, with the count and the age; over an
    /// hour it warns; a hundred waiting is a growing queue.
    #[test]
    fn young_deferrals_pass_old_ones_and_a_growing_queue_warn() {
        let grey = "host mx.example.net[192.0.2.9] said: 450 4.2.0 Greylisted, try again later";
        let f = judge(&[msg("7BBB", 300, &[("c@example.net", grey)])], NOW, false);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(
            f.detail
                .starts_with("1 message deferred, the oldest (7BBB) for 5 min: c@example.net: host mx.example.net"),
            "{f:?}"
        );
        let f = judge(
            &[
                msg("7BBB", 300, &[("c@example.net", grey)]),
                msg("8CCC", 3 * 3600, &[("d@example.net", grey)]),
            ],
            NOW,
            false,
        );
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(
            f.detail.starts_with("2 messages deferred, the oldest (8CCC) for 3 h; 1 deferred for over an hour: d@example.net: host"),
            "{f:?}"
        );
        let many: Vec<DeferredMessage> = (0..QUEUE_WARN_COUNT)
            .map(|i| msg(&format!("9{i:03}"), 60, &[("e@example.net", grey)]))
            .collect();
        let f = judge(&many, NOW, false);
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(
            f.detail.contains("the queue is growing (100 waiting)"),
            "{f:?}"
        );
        assert_eq!(judge(&[], NOW, false).status, Status::Pass);
    }

    #[test]
    fn ages_read_as_said() {
        assert_eq!(age(5), "under a minute");
        assert_eq!(age(119 * 60), "119 min");
        assert_eq!(age(3 * 3600), "3 h");
        assert_eq!(age(3 * 86400), "3 days");
    }

    /// The check reads `postqueue -j`: only the deferred queue counts.
    #[test]
    fn the_check_reads_the_deferred_queue() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let old = now - 3 * 3600;
        let text = format!(
            "{{\"queue_name\": \"deferred\", \"queue_id\": \"4ABC\", \"arrival_time\": {old}, \"message_size\": 300, \"sender\": \"a@example.test\", \"recipients\": [{{\"address\": \"bob@gmail.com\", \"delay_reason\": \"{TIMED_OUT}\"}}]}}\n\
             {{\"queue_name\": \"active\", \"queue_id\": \"6GHI\", \"arrival_time\": {old}, \"recipients\": []}}\n"
        );
        let h = MemHost::fake();
        h.on_command(move |c| (c.program == "postqueue").then(|| ok(&text)).flatten());
        let a = answers();
        let f = Queue.run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(
            f.detail
                .starts_with("1 message deferred, the oldest (4ABC) for 3 h; connections"),
            "{f:?}"
        );
        let h = MemHost::fake();
        h.on_command(|c| (c.program == "postqueue").then(|| ok("")).flatten());
        assert_eq!(Queue.run(&ctx(&h, &a)).status, Status::Pass);
    }
}
