//! Checks: proof that the installed server works (they change nothing; the engine runs them
//! after a run's reloads, `mailstead check` alone).
//!
//! - `signer`: rspamd is active, each domain has a signing DKIM key (0600 `_rspamd:_rspamd`),
//!   the milter on `paths::RSPAMD_MILTER` answers an option negotiation, and rspamd signs a
//!   logged-in user's message of each domain with its selector but not a stranger's (python3;
//!   waiting up to 60 s for rspamd's reload);
//! - `limits`: with `max_messages_per_hour` above 0, Redis (where rspamd's ratelimit module
//!   keeps the per-login buckets) is active; without it rspamd limits nothing.
use crate::facts::DkimKeys;
use crate::support::{probe, token};
use mailstead_answers::Answers;
use mailstead_engine::{system, Check, Ctx, Finding};
use std::time::{Duration, Instant};

/// `signer`: rspamd is active, every domain of the answers has a signing DKIM key (0600
/// `_rspamd:_rspamd`), and rspamd's milter answers a milter option negotiation.
pub struct Signer {
    pub timeout: Duration,
}

/// Sends a milter `SMFIC_OPTNEG` (version 6) and expects `SMFIC_OPTNEG` back (the milter
/// protocol as libmilter speaks it; Postfix's MILTER_README). Prints `ok`.
pub(crate) const MILTER_PROBE: &str = r#"import socket, struct, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
body = b"O" + struct.pack(">III", 6, 0x1ff, 0x1fffff)
s.sendall(struct.pack(">I", len(body)) + body)
head = s.recv(5)
if len(head) < 5 or head[4:5] != b"O":
    sys.exit("no option negotiation reply: %r" % head)
print("ok")
"#;

impl Check<Answers> for Signer {
    fn name(&self) -> &'static str {
        "signer"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        use super::paths::RSPAMD_MILTER;
        // A reload or a restart queued by this run may still be under way (`activating`):
        // rspamd gets until the deadline to be active, as its milter does below.
        let started = Instant::now();
        while !system::service_active(ctx.host, "rspamd") && started.elapsed() < self.timeout {
            std::thread::sleep(Duration::from_millis(250));
        }
        if !system::service_active(ctx.host, "rspamd") {
            return Finding::fail(
                "rspamd is not running: mail leaves unsigned (Postfix passes it on without the milter)",
                "look at `journalctl -u rspamd -n 50` and `rspamadm configtest`, then `systemctl start rspamd`",
            );
        }
        let keys = match ctx.fact::<DkimKeys>() {
            Ok(k) => k,
            Err(e) => {
                return Finding::fail(
                    format!("cannot read the DKIM keys: {e:#}"),
                    "re-run `mailstead install`",
                )
            }
        };
        if let Err(f) = keys_are_private(ctx, &keys) {
            return f;
        }
        let addr = RSPAMD_MILTER.trim_start_matches("inet:");
        let (ip, port) = addr.rsplit_once(':').unwrap_or((addr, "11332"));
        // rspamd starts (and reloads) in the background: its listeners take seconds to come
        // up after an install, so the milter gets until the deadline too.
        let deadline = Instant::now() + self.timeout;
        if let Err(f) = milter_answers(ctx, addr, ip, port, deadline) {
            return f;
        }
        if let Err(f) = signs_only_its_own(ctx, &keys, deadline, self.timeout) {
            return f;
        }
        Finding::pass(format!(
            "rspamd signs the mail of {} domain{}, not mail from outside; its milter answers on {addr}",
            ctx.answers.domains.len(),
            if ctx.answers.domains.len() == 1 { "" } else { "s" }
        ))
    }
}

/// Every domain has a signing key, 0600 `_rspamd:_rspamd` and readable.
fn keys_are_private(ctx: &Ctx<Answers>, keys: &DkimKeys) -> Result<(), Finding> {
    use super::paths::RSPAMD_USER;
    use crate::layout::DKIM_KEY_DIR;
    let owner = format!("{RSPAMD_USER}:{RSPAMD_USER}");
    let mut problems = Vec::new();
    for d in &ctx.answers.domains {
        let name = d.name.trim().to_ascii_lowercase();
        match keys.signing(&name) {
            None => problems.push(format!("{name} has no signing DKIM key")),
            Some(k) if k.mode & 0o7777 != 0o600 || k.owner != owner => problems.push(format!(
                "{DKIM_KEY_DIR}/{name}.{}.key is {:04o} {}, not 0600 {owner}",
                k.selector,
                k.mode & 0o7777,
                k.owner
            )),
            Some(k) if k.public_key.is_empty() => problems.push(format!(
                "{DKIM_KEY_DIR}/{name}.{}.key is not a readable private key",
                k.selector
            )),
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        return Err(Finding::fail(
            problems.join("; "),
            "re-run `mailstead install` (it makes missing keys; a key with the wrong owner or mode: `chown _rspamd:_rspamd` and `chmod 0600` it)",
        ));
    }
    Ok(())
}

/// rspamd's milter answers an option negotiation before `deadline`.
fn milter_answers(
    ctx: &Ctx<Answers>,
    addr: &str,
    ip: &str,
    port: &str,
    deadline: Instant,
) -> Result<(), Finding> {
    loop {
        match probe(ctx.host, "python3", &["-c", MILTER_PROBE, ip, port]) {
            Ok(o) if o.success() && o.stdout.trim() == "ok" => return Ok(()),
            Ok(o) if Instant::now() >= deadline => {
                return Err(Finding::fail(
                    format!("rspamd's milter on {addr} does not answer: {}", o.tail(3)),
                    "look at `journalctl -u rspamd -n 50` and the proxy worker in /etc/rspamd/worker-proxy.inc",
                ))
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => {
                return Err(Finding::fail(
                    format!("cannot probe rspamd's milter on {addr}: {e}"),
                    "install python3 (certbot brings it)",
                ))
            }
        }
    }
}

/// Before `deadline` (`timeout` after the start), a logged-in user's message of each domain
/// comes out signed with the domain's selector, and a stranger's does not.
fn signs_only_its_own(
    ctx: &Ctx<Answers>,
    keys: &DkimKeys,
    deadline: Instant,
    timeout: Duration,
) -> Result<(), Finding> {
    // rspamd reloads in the background (new workers take seconds to start): wait until
    // a message of each domain's logged-in user comes out signed with its selector, and
    // one from a stranger does not.
    // domain -> the `DKIM_SIGNED` option rspamd reports when it signs with its selector.
    let mut waiting: Vec<(String, String)> = ctx
        .answers
        .domains
        .iter()
        .map(|d| d.name.trim().to_ascii_lowercase())
        .filter_map(|n| {
            let sel = keys.signing(&n)?.selector.clone();
            Some((n.clone(), format!("{n}:s={sel}")))
        })
        .collect();
    // The stranger's message claims the first domain; no domain, nothing to scan.
    let first = waiting.first().map(|(n, _)| n.clone());
    let mut stranger_checked = first.is_none();
    loop {
        let mut names: Vec<&str> = waiting.iter().map(|(n, _)| n.as_str()).collect();
        if names.is_empty() {
            names.extend(first.as_deref());
        }
        let tok = token();
        let mut args = vec!["-c", SCAN_PROBE, "127.0.0.1", "11333", tok.as_str()];
        args.push(if stranger_checked { "no" } else { "yes" });
        args.extend(names.iter().copied());
        let out = probe(ctx.host, "python3", &args)
            .ok()
            .filter(|o| o.success())
            .map(|o| o.stdout)
            .unwrap_or_default();
        let scans = parse_scans(&out);
        if let Some((d, opts)) = scans
            .iter()
            .find(|(who, _, o)| who == "stranger" && o != "-")
            .map(|(_, d, o)| (d, o))
        {
            return Err(Finding::fail(
                format!("rspamd signs mail from outside claiming to be from {d} ({opts})"),
                format!(
                    "rspamd must sign only authenticated and local mail: see {}",
                    crate::signer::paths::DKIM_SIGNING_CONF
                ),
            ));
        }
        if scans.iter().any(|(who, _, _)| who == "stranger") {
            stranger_checked = true;
        }
        waiting.retain(|(d, want)| {
            !scans
                .iter()
                .any(|(who, sd, o)| who == "auth" && sd == d && o.split(',').any(|x| x == want))
        });
        if waiting.is_empty() && stranger_checked {
            break;
        }
        if Instant::now() >= deadline {
            let which: Vec<String> = waiting.iter().map(|(_, w)| w.clone()).collect();
            return Err(Finding::fail(
                format!(
                    "rspamd does not sign mail of logged-in users as {} (waited {} s after the reload)",
                    if which.is_empty() { "expected".to_string() } else { which.join(", ") },
                    timeout.as_secs()
                ),
                "look at `rspamadm configdump dkim_signing` and /var/log/rspamd/rspamd.log",
            ));
        }
        // rspamd's new workers take a moment after a reload.
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// How long the signer check waits for rspamd to sign after a reload.
pub const SIGNER_TIMEOUT: Duration = Duration::from_secs(60);

/// Scans one small message per domain over rspamd's HTTP protocol (`POST /checkv2` on the
/// normal worker, `localhost:11333` as Debian's package binds it), as
/// `mailstead-check-TOKEN@DOMAIN` logged in from loopback: a login of its own on every scan,
/// so the sending limit (which exempts no login, see `signer::ratelimit_conf`) counts one
/// message in a fresh bucket and never defers the check's scan; with `yes`, also one from a stranger (a documentation address,
/// RFC 5737) claiming the first domain. One python3 process for all domains. Prints
/// `auth|stranger DOMAIN OPTIONS` lines, OPTIONS being `DKIM_SIGNED`'s (`-`: not signed).
/// argv: host port token yes|no DOMAIN...
pub(crate) const SCAN_PROBE: &str = r#"import http.client, json, sys
host, port, token, stranger = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "yes"
def scan(domain, auth):
    frm = "mailstead-check-%s@%s" % (token, domain)
    msg = ("From: <%s>\r\nTo: <check@example.invalid>\r\nSubject: mailstead signer check\r\n"
           "Message-ID: <%s@%s>\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n\r\ncheck\r\n"
           % (frm, token, domain)).encode()
    h = {"From": frm, "Rcpt": "check@example.invalid", "IP": "127.0.0.1" if auth else "192.0.2.25"}
    if auth:
        h["User"] = frm
    c = http.client.HTTPConnection(host, port, timeout=20)
    try:
        c.request("POST", "/checkv2", body=msg, headers=h)
        r = json.loads(c.getresponse().read())
    except Exception as e:
        return "-"
    finally:
        c.close()
    return ",".join(r.get("symbols", {}).get("DKIM_SIGNED", {}).get("options", [])) or "-"
for i, d in enumerate(sys.argv[5:]):
    print("auth", d, scan(d, True))
    if i == 0 and stranger:
        print("stranger", d, scan(d, False))
"#;

/// `(who, domain, options)` from [`SCAN_PROBE`]'s lines.
fn parse_scans(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            Some((
                f.next()?.to_string(),
                f.next()?.to_string(),
                f.next()?.to_string(),
            ))
        })
        .collect()
}

/// `limits`: the sending limit of logged-in users can work (Redis active), and which logins
/// reached it in the last 24 hours (warn: each may be a hijacked account; postmaster was
/// told by mail, see `signer::limit_notice`).
pub struct Limits;

/// rspamd's log, where its ratelimit module writes `ratelimit "mailstead_user(LOGIN)" exceeded`.
pub const RSPAMD_LOG: &str = "/var/log/rspamd/rspamd.log";

/// The logins over their sending limit since `since` (Unix seconds, UTC), each with how many
/// messages were deferred, from rspamd's `log` text: lines start `YYYY-MM-DD HH:MM:SS` (rspamd's
/// default `timestamp` format, the server's local time: read as UTC, which cloud images use;
/// elsewhere the window shifts by the offset) and hold `ratelimit "mailstead_user(LOGIN)"
/// exceeded` (rspamd ratelimit.lua). Lines without a readable time are skipped.
pub fn limited_logins(log: &str, since: i64) -> Vec<(String, usize)> {
    const MARK: &str = "ratelimit \"mailstead_user(";
    let mut by_login: std::collections::BTreeMap<String, usize> = Default::default();
    for line in log.lines() {
        let Some(at) = line.find(MARK) else { continue };
        let rest = &line[at + MARK.len()..];
        let Some(end) = rest.find(")\" exceeded") else {
            continue;
        };
        let Some(t) = log_time(line) else { continue };
        if t >= since {
            *by_login.entry(rest[..end].to_string()).or_default() += 1;
        }
    }
    by_login.into_iter().collect()
}

/// `YYYY-MM-DD HH:MM:SS` at the start of `line`, as Unix seconds read as UTC.
fn log_time(line: &str) -> Option<i64> {
    let s = line.get(..19)?;
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let month = time::Month::try_from(n(5..7)? as u8).ok()?;
    let date = time::Date::from_calendar_date(n(0..4)? as i32, month, n(8..10)? as u8).ok()?;
    let t = time::Time::from_hms(n(11..13)? as u8, n(14..16)? as u8, n(17..19)? as u8).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, t)
            .assume_utc()
            .unix_timestamp(),
    )
}

impl Check<Answers> for Limits {
    fn name(&self) -> &'static str {
        "limits"
    }
    fn only_after_reload(&self) -> bool {
        true
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let n = ctx.answers.max_messages_per_hour;
        if n == 0 {
            return Finding::pass(
                "no sending limit (max_messages_per_hour: 0); From: headers must match the login",
            );
        }
        if !system::service_active(ctx.host, "redis-server") {
            return Finding::fail(
                "redis-server is not running: rspamd's ratelimit keeps its buckets there, so \
                 no sending limit is enforced",
                "systemctl start redis-server; see journalctl -u redis-server",
            );
        }
        let since = time::OffsetDateTime::now_utc().unix_timestamp() - 24 * 3600;
        let log = ctx
            .host
            .read_string(std::path::Path::new(RSPAMD_LOG))
            .ok()
            .flatten()
            .unwrap_or_default();
        let limited = limited_logins(&log, since);
        if limited.is_empty() {
            return Finding::pass(format!(
                "each login may send {n} messages an hour (rspamd ratelimit, Redis active); \
                 From: headers must match the login; none reached the limit in 24 hours"
            ));
        }
        let who: Vec<String> = limited
            .iter()
            .map(|(login, deferred)| format!("{login} ({deferred} deferred)"))
            .collect();
        Finding::warn(
            format!(
                "reached the limit of {n} messages an hour in the last 24 hours: {}; postmaster \
                 was told by mail",
                who.join(", ")
            ),
            "if a login's owner did not send that mail, its password is known to someone \
             else: change it in the answers file and run `mailstead install`; see \
             `grep mailstead_user /var/log/rspamd/rspamd.log` and `mailq`",
        )
    }
}

#[cfg(test)]
mod limits_tests {
    use super::*;

    /// The check's scans log in under a name of their own per scan (the token), never the
    /// fixed `mailstead-check@DOMAIN` a mailbox could be given: the sending limit exempts no
    /// login, and a fresh bucket never defers the one message of a scan.
    #[test]
    fn scans_log_in_as_a_login_of_their_own() {
        assert!(SCAN_PROBE.contains(r#"frm = "mailstead-check-%s@%s" % (token, domain)"#));
        assert!(SCAN_PROBE.contains(r#"h["User"] = frm"#));
        assert!(!SCAN_PROBE.contains(r#""mailstead-check@""#));
    }

    /// Only lines of the window count, per login; other ratelimit buckets and lines without a
    /// time are not logins over their limit.
    #[test]
    fn limited_logins_in_the_window() {
        let log = "\
2026-11-28 10:00:00 #100(normal) <a1>; ratelimit; ratelimit_cb: ratelimit \"mailstead_user(old@example.test)\" exceeded, (5 / 5 / 1h): 6 (0:0 dyn); redis key: RL_x
2026-11-29 20:31:12 #100(normal) <b2>; ratelimit; ratelimit_cb: ratelimit \"mailstead_user(alice@example.test)\" exceeded, (5 / 5 / 1h): 6 (0:0 dyn); redis key: RL_y
2026-11-29 20:31:40 #100(normal) <b3>; ratelimit; ratelimit_cb: ratelimit \"mailstead_user(alice@example.test)\" exceeded, (5 / 5 / 1h): 7 (0:0 dyn); redis key: RL_y
2026-11-29 20:32:00 #100(normal) <b4>; ratelimit; ratelimit_cb: ratelimit \"to(bob@example.test)\" exceeded
garbage ratelimit \"mailstead_user(nodate@example.test)\" exceeded
2026-11-29 20:33:00 #100(normal) <b5>; ratelimit; ratelimit \"mailstead_user(bob@other.test)\" exceeded, (5 / 5 / 1h)
";
        let since = log_time("2026-11-29 00:00:00").unwrap();
        assert_eq!(
            limited_logins(log, since),
            vec![
                ("alice@example.test".to_string(), 2),
                ("bob@other.test".to_string(), 1)
            ]
        );
        assert_eq!(limited_logins(log, since + 86400), vec![]);
        assert_eq!(log_time("2026-13-29 00:00:00"), None);
    }
}
