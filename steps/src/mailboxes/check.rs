//! Checks: proof that the installed server works (they change nothing; the engine runs them
//! after a run's reloads, `mailstead check` alone).
//!
//! - `delivery`: a message is delivered into a mailbox: sent over SMTP to Postfix on
//!   the server's public address, port 25, as a stranger would (127.0.0.1 where it has none;
//!   by python3's smtplib, which certbot already brings, run through the Host so
//!   it happens on the server, whatever `--root` or namespace mailstead runs in), from the null
//!   sender to the first mailbox of the answers, with a unique `X-Mailstead-Verify` header. It
//!   is looked for with `doveadm search` (so it went smtpd → cleanup → qmgr → LMTP → Dovecot →
//!   Maildir) and expunged at once with `doveadm expunge`: nobody finds test mail in their
//!   inbox, however often mailstead runs. With no mailbox in the answers it is skipped.
//! - `quota`: each mailbox's use of its size limit (`doveadm quota get -A`); a warning names
//!   every mailbox at or above 90 % of its limit, and says that mail to a full one is refused
//!   with 552.
use crate::facts::PublicAddresses;
use crate::support::{probe, token};
use mailstead_answers::Answers;
use mailstead_engine::host::Cmd;
use mailstead_engine::{Check, Ctx, Finding};
use std::time::{Duration, Instant};

pub struct Delivery {
    pub timeout: Duration,
}

pub(crate) const SEND_SCRIPT: &str = r#"import smtplib, sys
host, port, helo, rcpt, token = sys.argv[1:6]
msg = ("From: mailstead <postmaster@%s>\r\nTo: <%s>\r\nSubject: mailstead delivery check\r\n"
       "X-Mailstead-Verify: %s\r\nAuto-Submitted: auto-generated\r\n\r\n"
       "mailstead checks that mail reaches this mailbox, then deletes this message.\r\n"
       % (helo, rcpt, token))
def refused(what, code, resp):
    if isinstance(resp, bytes):
        resp = resp.decode(errors="replace")
    print("%s refused: %d %s" % (what, code, resp), file=sys.stderr)
    # 4xx: refused for now (a filter reloading, a policy service starting): 75, try again.
    sys.exit(75 if 400 <= code < 500 else 1)
try:
    s = smtplib.SMTP(host, int(port), local_hostname=helo, timeout=30)
except smtplib.SMTPResponseException as e:
    refused("the greeting", e.smtp_code, e.smtp_error)
try:
    code, resp = s.ehlo()
    if code != 250:
        refused("EHLO", code, resp)
    code, resp = s.mail("")
    if code != 250:
        refused("MAIL FROM:<>", code, resp)
    code, resp = s.rcpt(rcpt)
    if code not in (250, 251):
        refused("RCPT TO:<%s>" % rcpt, code, resp)
    code, resp = s.data(msg)
    if code != 250:
        refused("DATA", code, resp)
    print(resp.decode())
except smtplib.SMTPResponseException as e:
    refused("the message", e.smtp_code, e.smtp_error)
finally:
    try:
        s.quit()
    except Exception:
        pass
"#;

/// [`SEND_SCRIPT`]'s exit status when Postfix refused for now (a 4xx, EX_TEMPFAIL): the check
/// sends again, as a sender would, until its timeout.
pub const REFUSED_FOR_NOW: i32 = 75;

/// How long a delivered message may take to show up in the mailbox.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The first mailbox of the answers, as a full address.
fn test_recipient(ctx: &Ctx<Answers>) -> Option<String> {
    ctx.answers.domains.iter().find_map(|d| {
        let m = d.mailboxes.first()?;
        let a = m.address.trim();
        Some(if a.contains('@') {
            a.to_ascii_lowercase()
        } else {
            format!("{a}@{}", d.name.trim()).to_ascii_lowercase()
        })
    })
}

impl Check<Answers> for Delivery {
    fn name(&self) -> &'static str {
        "delivery"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let Some(rcpt) = test_recipient(ctx) else {
            return Finding::pass("no mailbox in the answers: delivery not tried");
        };
        match check_delivery(ctx, &rcpt, self.timeout) {
            Ok(()) => Finding::pass(format!("a test message reached {rcpt}'s mailbox")),
            Err((what, fix)) => Finding::fail(what, fix),
        }
    }
}

fn doveadm(action: &str, rcpt: &str, token: &str) -> Cmd {
    let args = [
        action,
        "-u",
        rcpt,
        "mailbox",
        "INBOX",
        "header",
        "X-Mailstead-Verify",
        token,
    ];
    let cmd = if action == "search" {
        Cmd::probe("doveadm", args)
    } else {
        Cmd::new("doveadm", args)
    };
    cmd.timeout(Duration::from_secs(30))
}

/// Sends the test message and waits until Dovecot has it; deletes it again.
fn check_delivery(
    ctx: &Ctx<Answers>,
    rcpt: &str,
    timeout: Duration,
) -> Result<(), (String, String)> {
    let host = ctx.host;
    let helo = ctx.answers.hostname.trim().to_ascii_lowercase();
    let token = token();
    // From the address other servers reach, as they would (not trusted as 127.0.0.1 is:
    // mynetworks); loopback only where the host has no global address.
    let target = ctx
        .fact::<PublicAddresses>()
        .ok()
        .and_then(|a| a.0.first().cloned())
        .unwrap_or_else(|| "127.0.0.1".to_string());
    let send = Cmd::new(
        "python3",
        ["-c", SEND_SCRIPT, &target, "25", &helo, rcpt, &token],
    )
    .timeout(Duration::from_secs(60));
    // A 4xx (rspamd's new workers not up yet right after a reload: Postfix refuses for now
    // while its milter does not answer) is tried again until the timeout, as a sender would.
    let sending = Instant::now();
    let out = loop {
        let out = host.run(&send).map_err(|e| {
            (
                format!("cannot run python3 to send a test message: {e}"),
                "install python3".to_string(),
            )
        })?;
        if out.status != REFUSED_FOR_NOW || sending.elapsed() >= timeout {
            break out;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    if !out.success() {
        return Err((
            format!(
                "Postfix on {target}:25 did not accept a test message to {rcpt}{}: {}",
                if out.status == REFUSED_FOR_NOW {
                    format!(" (refused for now, again for {} s)", timeout.as_secs())
                } else {
                    String::new()
                },
                out.tail(3)
            ),
            "look at `journalctl -u postfix -n 50` (or /var/log/mail.log); a 451 4.7.1 while \
             rspamd is down: see the `signer` check"
                .to_string(),
        ));
    }
    let queue_id = out
        .stdout
        .split("queued as ")
        .nth(1)
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let start = Instant::now();
    loop {
        let found = matches!(host.run(&doveadm("search", rcpt, &token)), Ok(o) if o.success() && !o.stdout.trim().is_empty());
        if found {
            // Leave no trace in the mailbox. A failed expunge leaves one harmless message:
            // not worth undoing a working install for.
            let _ = host.run(&doveadm("expunge", rcpt, &token));
            return Ok(());
        }
        if start.elapsed() >= timeout {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if !queue_id.is_empty() {
        // Do not let it be delivered later (or bounce) once we gave up on it.
        let _ = host.run(&Cmd::new("postsuper", ["-d", &queue_id]));
    }
    Err((
        format!(
            "a test message to {rcpt} was accepted by Postfix{} but did not reach the mailbox \
             within {} s",
            if queue_id.is_empty() {
                String::new()
            } else {
                format!(" (queued as {queue_id})")
            },
            timeout.as_secs(),
        ),
        format!(
            "look at `journalctl -u postfix -u dovecot -n 80` (or grep {} /var/log/mail.log), \
             `postqueue -p`, and `doveadm user {rcpt}`",
            if queue_id.is_empty() {
                "the address"
            } else {
                &queue_id
            }
        ),
    ))
}

/// `quota`: every mailbox's storage use against its limit.
pub struct Quota;

/// One mailbox's storage quota: use and limit in KiB (`None`: unlimited), as
/// `doveadm -f tab quota get` prints them (Dovecot counts storage in KiB there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaUse {
    pub user: String,
    pub used_kib: u64,
    pub limit_kib: Option<u64>,
}

impl QuotaUse {
    /// Percent of the limit in use (0 when unlimited).
    pub fn percent(&self) -> u64 {
        match self.limit_kib {
            Some(l) if l > 0 => self.used_kib.saturating_mul(100) / l,
            _ => 0,
        }
    }
}

/// The STORAGE rows of `doveadm -f tab quota get -A` (columns `Username, Quota name, Type,
/// Value, Limit, %`; the limit is `-` when unlimited). Other rows are skipped.
pub fn parse_quota(text: &str) -> Vec<QuotaUse> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() < 5 || f[2] != "STORAGE" {
                return None;
            }
            Some(QuotaUse {
                user: f[0].to_string(),
                used_kib: f[3].parse().ok()?,
                limit_kib: f[4].parse().ok(),
            })
        })
        .collect()
}

/// KiB as a short human figure: `512 KiB`, `1.5 MiB`, `2.0 GiB`.
fn kib(k: u64) -> String {
    if k < 1024 {
        format!("{k} KiB")
    } else if k < 1024 * 1024 {
        format!("{:.1} MiB", k as f64 / 1024.0)
    } else {
        format!("{:.1} GiB", k as f64 / (1024.0 * 1024.0))
    }
}

/// `alice@example.test 1.1 MiB of 1.0 MiB (114 %)` / `bob@example.test 0 KiB (unlimited)`.
fn describe(q: &QuotaUse) -> String {
    match q.limit_kib {
        Some(l) => format!(
            "{} {} of {} ({} %)",
            q.user,
            kib(q.used_kib),
            kib(l),
            q.percent()
        ),
        None => format!("{} {} (unlimited)", q.user, kib(q.used_kib)),
    }
}

/// At or above this share of its limit a mailbox is reported as nearly full.
pub const QUOTA_WARN_PERCENT: u64 = 90;

/// The `quota` finding from the parsed rows.
pub fn quota_finding(rows: &[QuotaUse]) -> Finding {
    if rows.is_empty() {
        return Finding::pass("no mailbox has a quota to report");
    }
    let all: Vec<String> = rows.iter().map(describe).collect();
    let high: Vec<&QuotaUse> = rows
        .iter()
        .filter(|q| q.percent() >= QUOTA_WARN_PERCENT)
        .collect();
    if high.is_empty() {
        return Finding::pass(all.join("; "));
    }
    let full = high.iter().any(|q| q.percent() >= 100);
    Finding::warn(
        format!(
            "{}{}",
            high.iter()
                .map(|q| describe(q))
                .collect::<Vec<_>>()
                .join("; "),
            if full {
                ": mail to a full mailbox is refused with 552 (Mailbox is full)"
            } else {
                ": nearly full"
            }
        ),
        "delete mail from it, or raise its `quota` in the answers file and run mailstead again",
    )
}

impl Check<Answers> for Quota {
    fn name(&self) -> &'static str {
        "quota"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        match probe(ctx.host, "doveadm", &["-f", "tab", "quota", "get", "-A"]) {
            Ok(out) if out.success() => quota_finding(&parse_quota(&out.stdout)),
            Ok(out) => Finding::fail(
                format!("`doveadm quota get -A` fails: {}", out.tail(5)),
                "look at `doveconf -n` (the quota plugin in mail_plugins) and Dovecot's journal",
            ),
            Err(e) => Finding::fail(
                format!("cannot run `doveadm quota get -A`: {e}"),
                "install dovecot-core",
            ),
        }
    }
}

#[cfg(test)]
mod quota_tests {
    use super::*;
    use mailstead_engine::Status;

    const OUT: &str = "Username\tQuota name\tType\tValue\tLimit\t%\n\
alice@example.test\tUser quota\tSTORAGE\t1172\t1024\t114\n\
alice@example.test\tUser quota\tMESSAGE\t1\t-\t0\n\
bob@example.test\tUser quota\tSTORAGE\t0\t1048576\t0\n\
carol@example.test\tUser quota\tSTORAGE\t5\t-\t0\n";

    #[test]
    fn parses_storage_rows_only() {
        let rows = parse_quota(OUT);
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0],
            QuotaUse {
                user: "alice@example.test".into(),
                used_kib: 1172,
                limit_kib: Some(1024)
            }
        );
        assert_eq!(rows[2].limit_kib, None);
        assert_eq!(rows[0].percent(), 114);
        assert_eq!(rows[2].percent(), 0);
    }

    #[test]
    fn full_mailbox_warns_and_names_552() {
        let f = quota_finding(&parse_quota(OUT));
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(
            f.detail
                .contains("alice@example.test 1.1 MiB of 1.0 MiB (114 %)"),
            "{}",
            f.detail
        );
        assert!(f.detail.contains("552"), "{}", f.detail);
        assert!(!f.detail.contains("bob@"), "{}", f.detail);
        let ok = quota_finding(&parse_quota(
            &OUT.replace("\t1172\t1024\t114", "\t10\t1024\t0"),
        ));
        assert_eq!(ok.status, Status::Pass);
        assert!(
            ok.detail
                .contains("bob@example.test 0 KiB of 1.0 GiB (0 %)"),
            "{}",
            ok.detail
        );
        assert!(
            ok.detail.contains("carol@example.test 5 KiB (unlimited)"),
            "{}",
            ok.detail
        );
        assert_eq!(quota_finding(&[]).status, Status::Pass);
    }
}
