//! Checks: proof that the installed server works (they change nothing; the engine runs them
//! after a run's reloads, `mailstead check` alone).
//!
//! - `signer`: rspamd is active, each domain has a signing DKIM key (0600 `_rspamd:_rspamd`),
//!   the milter on `paths::RSPAMD_MILTER` answers an option negotiation, and rspamd signs a
//!   logged-in user's message of each domain with its selector but not a stranger's (python3;
//!   waiting up to 60 s for rspamd's reload, not for a stopped or failed rspamd). Down, it
//!   fails saying what Postfix does meanwhile ([`FILTER_DOWN`]);
//! - `limits`: with `max_messages_per_hour` above 0, Redis (where rspamd's ratelimit module
//!   keeps the per-login buckets) is active and takes a write (a key of its own that expires
//!   in 10 s: the one thing a check writes); refusing, rspamd limits nothing.
use crate::facts::DkimKeys;
use crate::support::{probe, token};
use mailstead_answers::Answers;
use mailstead_engine::{system, Check, Ctx, Finding};
use std::time::{Duration, Instant};

/// What Postfix does while rspamd's milter does not answer (`milter_default_action =
/// tempfail`, see the capability's `postfix_main`), as the `signer` check says it.
/// Measured in the beds: `451 4.7.1 Service unavailable - try again later` on 25, and
/// `454 4.3.0 Try again later` to `STARTTLS` on 587 (smtpd maps a milter's 4xx to STARTTLS
/// and AUTH to 454: on 465, where TLS comes first, the login gets it).
pub const FILTER_DOWN: &str = "Postfix refuses all mail for now until it is back (451 4.7.1 on \
     port 25; 454 4.3.0 before the login on 587 and 465): senders retry, nothing is accepted \
     unscanned or leaves unsigned";

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
        // rspamd gets until the deadline to be active, as its milter does below. Stopped or
        // failed is not waited for: `mailstead check` says so at once.
        let started = Instant::now();
        let mut state = system::service_state(ctx.host, "rspamd");
        while state != "active"
            && system::state_in_transition(&state)
            && started.elapsed() < self.timeout
        {
            std::thread::sleep(Duration::from_millis(250));
            state = system::service_state(ctx.host, "rspamd");
        }
        if state != "active" {
            return Finding::fail(
                format!(
                    "rspamd, the mail filter, is not running ({}): {FILTER_DOWN}",
                    if state.is_empty() {
                        "no state"
                    } else {
                        state.as_str()
                    }
                ),
                "`systemctl start rspamd`; if it does not stay up, `journalctl -u rspamd -n 50` \
                 and `rspamadm configtest` say why",
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
                    format!(
                        "rspamd's milter on {addr} does not answer ({}): {FILTER_DOWN}",
                        o.tail(3)
                    ),
                    "look at `journalctl -u rspamd -n 50` and the proxy worker in \
                     /etc/rspamd/worker-proxy.inc; `systemctl restart rspamd`",
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
        if let Err(f) = redis_takes_writes(ctx) {
            return f;
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
                "each login may send {n} messages an hour (rspamd ratelimit, Redis takes writes); \
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

/// Where rspamd's ratelimit keeps its buckets (`ratelimit_conf`'s `servers`).
pub const REDIS_HOST: &str = "127.0.0.1";
pub const REDIS_PORT: &str = "6379";

/// The key the write probe sets, for 10 seconds.
pub const REDIS_PROBE_KEY: &str = "mailstead:check:write";

/// Redis takes a write as rspamd's ratelimit makes them: `SET` of [`REDIS_PROBE_KEY`] with a
/// 10 s expiry, which Redis refuses in each state that stops the buckets (out of memory under
/// `noeviction`, `MISCONF` after a failed save to disk, `NOREPLICAS`, a read-only replica).
/// rspamd lets every message through when it cannot count it, so a refusing Redis is a limit
/// that silently stopped.
fn redis_takes_writes(ctx: &Ctx<Answers>) -> Result<(), Finding> {
    let args = [
        "-h",
        REDIS_HOST,
        "-p",
        REDIS_PORT,
        "SET",
        REDIS_PROBE_KEY,
        "1",
        "EX",
        "10",
    ];
    let out = match probe(ctx.host, "redis-cli", &args) {
        Ok(o) => o,
        Err(e) => {
            return Err(Finding::fail(
                format!("cannot run redis-cli to try a write to Redis: {e}"),
                "apt-get install redis-tools (redis-server's own client)",
            ))
        }
    };
    if out.success() && out.stdout.trim() == "OK" {
        return Ok(());
    }
    let reply = [out.stdout.trim(), out.stderr.trim()]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("no reply")
        .lines()
        .last()
        .unwrap_or("no reply")
        .to_string();
    Err(Finding::fail(
        format!(
            "Redis on {REDIS_HOST}:{REDIS_PORT} refuses writes ({reply}): rspamd cannot count \
             messages, so no sending limit is enforced (every message goes)"
        ),
        redis_fix(&reply),
    ))
}

/// What to do about Redis refusing a write with `reply`.
pub fn redis_fix(reply: &str) -> &'static str {
    let word = reply
        .trim_start_matches("(error)")
        .split_whitespace()
        .next()
        .unwrap_or_default();
    match word {
        "MISCONF" => {
            "Redis could not save to disk: free space where it saves (`df -h /var/lib/redis`), \
             then `redis-cli BGSAVE`; `journalctl -u redis-server` and \
             /var/log/redis/redis-server.log say why"
        }
        "OOM" => {
            "Redis reached its memory limit: raise or remove `maxmemory` in \
             /etc/redis/redis.conf, then `systemctl restart redis-server` (`redis-cli INFO \
             memory` shows the use)"
        }
        "NOREPLICAS" => {
            "Redis waits for replicas that are not there: set `min-replicas-to-write 0` in \
             /etc/redis/redis.conf, then `systemctl restart redis-server`"
        }
        "READONLY" => {
            "this Redis is a read-only replica: remove `replicaof` from /etc/redis/redis.conf, \
             then `systemctl restart redis-server`"
        }
        _ => {
            "Redis does not answer as rspamd expects on 127.0.0.1:6379: `systemctl restart \
             redis-server`; `journalctl -u redis-server -n 50` says why"
        }
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

    use crate::testing::{answers, ctx, fail, ok};
    use mailstead_engine::{MemHost, Status};

    /// A server where redis-server is `state` and a write gets `reply` (redis-cli's exit
    /// `status`).
    fn redis(state: &'static str, status: i32, reply: &'static str) -> MemHost<'static> {
        let h = MemHost::fake();
        h.on_command(move |c| match c.program.as_str() {
            "service" if state == "active" => ok("running"),
            "service" => fail(3, "not running"),
            "redis-cli" if status == 0 => ok(reply),
            "redis-cli" => Some(mailstead_engine::Output {
                status,
                stdout: reply.to_string(),
                stderr: String::new(),
            }),
            _ => None,
        });
        h
    }

    fn limited() -> Answers {
        let mut a = answers();
        a.max_messages_per_hour = 5;
        a
    }

    /// Redis taking the write: the limit is enforced.
    #[test]
    fn limits_pass_while_redis_takes_writes() {
        let h = redis("active", 0, "OK\n");
        let f = Limits.run(&ctx(&h, &limited()));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.detail.contains("Redis takes writes"), "{f:?}");
        let probe = h
            .commands()
            .into_iter()
            .find(|c| c.starts_with("redis-cli"))
            .expect("a write tried");
        assert!(
            probe.contains("SET mailstead:check:write 1 EX 10"),
            "{probe}"
        );
    }

    /// Redis running but refusing writes (its memory limit under `noeviction`, a failed save
    /// to a full disk, missing replicas): the sending limit silently stopped, so `limits`
    /// fails naming Redis's reply and the fix for that reply.
    #[test]
    fn limits_fail_while_redis_refuses_writes() {
        for (reply, fix) in [
            (
                "OOM command not allowed when used memory > 'maxmemory'.\n",
                "maxmemory",
            ),
            (
                "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.\n",
                "df -h /var/lib/redis",
            ),
            (
                "NOREPLICAS Not enough good replicas to write.\n",
                "min-replicas-to-write 0",
            ),
            ("(error) READONLY You can't write against a read only replica.\n", "replicaof"),
        ] {
            for status in [0, 1] {
                let h = redis("active", status, reply);
                let f = Limits.run(&ctx(&h, &limited()));
                assert_eq!(f.status, Status::Fail, "{reply}: {f:?}");
                assert!(
                    f.detail.starts_with("Redis on 127.0.0.1:6379 refuses writes (")
                        && f.detail.contains(reply.trim())
                        && f.detail.contains("no sending limit is enforced"),
                    "{f:?}"
                );
                assert!(f.fix.as_deref().is_some_and(|x| x.contains(fix)), "{f:?}");
            }
        }
        // Not answering at all.
        let h = redis(
            "active",
            1,
            "Could not connect to Redis at 127.0.0.1:6379: Connection refused\n",
        );
        let f = Limits.run(&ctx(&h, &limited()));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(
            f.fix
                .as_deref()
                .is_some_and(|x| x.contains("systemctl restart redis-server")),
            "{f:?}"
        );
    }

    /// Redis stopped: `limits` fails before trying a write; no limit, nothing asked of Redis.
    #[test]
    fn limits_fail_with_redis_down_and_pass_without_a_limit() {
        let h = redis("inactive", 0, "OK\n");
        let f = Limits.run(&ctx(&h, &limited()));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.detail.starts_with("redis-server is not running"), "{f:?}");
        let mut none = answers();
        none.max_messages_per_hour = 0;
        let f = Limits.run(&ctx(&h, &none));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(!h.commands().iter().any(|c| c.starts_with("redis-cli")));
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
