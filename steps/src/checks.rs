//! Checks: proof that the installed server works. They change nothing (apart from one test
//! message the delivery check delivers and deletes again). The engine runs them after a run's
//! reloads (a failure rolls the run back); `mailstead check` runs them alone.
//!
//! - `services`: the `postfix` and `dovecot` services are active;
//! - `ports`: 25, 465, 587, 993 (and 995 with `pop3: true`) are listening (`ss -ltn`);
//! - `config`: `postfix check` and `doveconf -n` pass;
//! - `signer`: rspamd is active, each domain has a signing DKIM key (0600 `_rspamd:_rspamd`),
//!   the milter on `layout::RSPAMD_MILTER` answers an option negotiation, and rspamd signs a
//!   logged-in user's message of each domain with its selector but not a stranger's (python3;
//!   waiting up to 60 s for rspamd's reload);
//! - `delivery`: a message is delivered into a mailbox: sent over SMTP to Postfix on
//!   the server's public address, port 25, as a stranger would (127.0.0.1 where it has none;
//!   by python3's smtplib, which certbot already brings, run through the Host so
//!   it happens on the server, whatever `--root` or namespace mailstead runs in), from the null
//!   sender to the first mailbox of the answers, with a unique `X-Mailstead-Verify` header. It
//!   is looked for with `doveadm search` (so it went smtpd → cleanup → qmgr → LMTP → Dovecot →
//!   Maildir) and expunged at once with `doveadm expunge`: nobody finds test mail in their
//!   inbox, however often mailstead runs. With no mailbox in the answers it is skipped.
//! - `relay`: with a `relay_host`, its password map and `.db` are 0600 root-only (fail
//!   otherwise), and no outgoing mail waits in the deferred queue (warn with Postfix's reason:
//!   a wrong login, an untrusted certificate). Without one it passes at once.
//! - `limits`: with `max_messages_per_hour` above 0, Redis (where rspamd's ratelimit module
//!   keeps the per-login buckets) is active; without it rspamd limits nothing.
//! - `quota`: each mailbox's use of its size limit (`doveadm quota get -A`); a warning names
//!   every mailbox at or above 90 % of its limit, and says that mail to a full one is refused
//!   with 552.
//! - `bans`: fail2ban runs mailstead's jails (waiting up to 30 s for its socket after a
//!   start); passes with "no address banned", warns naming each jail and the addresses it
//!   bans now (`mailstead unban ADDRESS` lifts one); fails when fail2ban is not running or a
//!   jail is missing (then nobody is banned).
// Deliverability checks (DNS, blocklists, served certificate, queue, disk): `mailstead check`
// only, see `deliverability::all`.
pub mod deliverability;

use crate::facts::dovecot::passdb_drivers;
use crate::facts::queue::deferred;
use crate::facts::{Listeners, PublicAddresses};
use crate::layout::{mail_ports, RELAY_PASSWORD_MAP};
use mailstead_answers::Answers;
use mailstead_engine::host::{Cmd, Host};
use mailstead_engine::{system, Check, Ctx, Finding};
use std::time::{Duration, Instant};

/// Every check, in the order they run.
pub fn all() -> Vec<Box<dyn Check<Answers>>> {
    vec![
        Box::new(Services),
        Box::new(Ports),
        Box::new(Config),
        Box::new(Certificate),
        Box::new(Signer {
            timeout: SIGNER_TIMEOUT,
        }),
        Box::new(Delivery {
            timeout: DELIVERY_TIMEOUT,
        }),
        // relay_host: its secrets stay private and nothing waits for it.
        Box::new(Relay),
        Box::new(Quota),
        Box::new(Limits),
        Box::new(Bans {
            timeout: BANS_TIMEOUT,
        }),
    ]
}

pub struct Services;
pub struct Ports;
pub struct Config;
/// Which certificate is live: the CA's, or the interim self-signed one (a warning: clients
/// warn, and the retry timer has not succeeded yet).
pub struct Certificate;
/// `signer`: rspamd is active, every domain of the answers has a signing DKIM key (0600
/// `_rspamd:_rspamd`), and rspamd's milter answers a milter option negotiation.
pub struct Signer {
    pub timeout: Duration,
}
pub struct Delivery {
    pub timeout: Duration,
}

const SEND_SCRIPT: &str = r#"import smtplib, sys
host, port, helo, rcpt, token = sys.argv[1:6]
msg = ("From: mailstead <postmaster@%s>\r\nTo: <%s>\r\nSubject: mailstead delivery check\r\n"
       "X-Mailstead-Verify: %s\r\nAuto-Submitted: auto-generated\r\n\r\n"
       "mailstead checks that mail reaches this mailbox, then deletes this message.\r\n"
       % (helo, rcpt, token))
s = smtplib.SMTP(host, int(port), local_hostname=helo, timeout=30)
try:
    s.ehlo()
    code, resp = s.mail("")
    if code != 250:
        sys.exit("MAIL FROM:<> refused: %d %s" % (code, resp.decode()))
    code, resp = s.rcpt(rcpt)
    if code not in (250, 251):
        sys.exit("RCPT TO:<%s> refused: %d %s" % (rcpt, code, resp.decode()))
    code, resp = s.data(msg)
    if code != 250:
        sys.exit("DATA refused: %d %s" % (code, resp.decode()))
    print(resp.decode())
finally:
    try:
        s.quit()
    except Exception:
        pass
"#;

/// How long a delivered message may take to show up in the mailbox.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

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

fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos}", std::process::id())
}

fn probe(
    host: &dyn Host,
    program: &str,
    args: &[&str],
) -> std::io::Result<mailstead_engine::Output> {
    host.run(&Cmd::probe(program, args.iter().copied()).timeout(Duration::from_secs(30)))
}

impl Check<Answers> for Certificate {
    fn name(&self) -> &'static str {
        "certificate"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        use crate::facts::Certificates;
        let fqdn = ctx.answers.hostname.trim().to_ascii_lowercase();
        let certs = match ctx.fact::<Certificates>() {
            Ok(c) => c,
            Err(e) => {
                return Finding::fail(
                    format!("cannot read the certificates: {e:#}"),
                    "look at `certbot certificates`",
                )
            }
        };
        let (chain, _) = certs.serving(ctx.host, &fqdn);
        if certs.present(&fqdn) {
            return Finding::pass(format!(
                "the CA's certificate for {fqdn} is live ({})",
                chain.display()
            ));
        }
        if let Err(e) = certs.require(ctx.host, &fqdn) {
            return Finding::fail(
                format!("no certificate for {fqdn}: {e:#}"),
                "run `mailstead install` again",
            );
        }
        Finding::warn(
            format!(
                "a temporary self-signed certificate is live for {fqdn} ({}): the CA has not issued one yet",
                chain.display()
            ),
            "publish the DNS records (`mailstead dns`) and open port 80; the timer retries every 15 \
             minutes (`journalctl -u mailstead-certificate` says why it failed; \
             `systemctl start mailstead-certificate` tries now)",
        )
    }
}

impl Check<Answers> for Services {
    fn name(&self) -> &'static str {
        "services"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let down: Vec<&str> = ["postfix", "dovecot"]
            .into_iter()
            .filter(|svc| !system::service_active(ctx.host, svc))
            .collect();
        if down.is_empty() {
            Finding::pass("postfix and dovecot are running")
        } else {
            Finding::fail(
                format!("{} not running", down.join(" and ")),
                format!(
                    "look at `journalctl -u {} -n 50` (and /var/log/mail.log), then `systemctl start {}`",
                    down.join(" -u "),
                    down.join(" ")
                ),
            )
        }
    }
}

impl Check<Answers> for Ports {
    fn name(&self) -> &'static str {
        "ports"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let listeners = match ctx.fact::<Listeners>() {
            Ok(l) => l,
            Err(e) => {
                return Finding::fail(
                    format!("cannot list sockets: {e:#}"),
                    "install iproute2 (ss)",
                )
            }
        };
        let missing: Vec<(u16, &str)> = mail_ports(ctx.answers.pop3)
            .into_iter()
            // On an address other machines reach: loopback only is how a "Local only"
            // Postfix listens, and it receives nothing from outside.
            .filter(|(p, _)| !listeners.on(*p).any(|l| l.public))
            .collect();
        if missing.is_empty() {
            return Finding::pass("25, 465, 587 and 993 are listening");
        }
        let postfix = missing.iter().any(|(_, w)| w.starts_with("Postfix"));
        Finding::fail(
            format!(
                "nothing listens on a public address on {}",
                missing
                    .iter()
                    .map(|(p, w)| format!("port {p} ({w})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            if postfix {
                "look at `postconf -M` (master.cf) and `journalctl -u postfix`"
            } else {
                "look at `doveconf -n` and `journalctl -u dovecot`"
            },
        )
    }
}

/// Sends a milter `SMFIC_OPTNEG` (version 6) and expects `SMFIC_OPTNEG` back (the milter
/// protocol as libmilter speaks it; Postfix's MILTER_README). Prints `ok`.
const MILTER_PROBE: &str = r#"import socket, struct, sys
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
        use crate::facts::DkimKeys;
        use crate::layout::{DKIM_KEY_DIR, RSPAMD_MILTER, RSPAMD_USER};
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
            return Finding::fail(
                problems.join("; "),
                "re-run `mailstead install` (it makes missing keys; a key with the wrong owner or mode: `chown _rspamd:_rspamd` and `chmod 0600` it)",
            );
        }
        let addr = RSPAMD_MILTER.trim_start_matches("inet:");
        let (ip, port) = addr.rsplit_once(':').unwrap_or((addr, "11332"));
        // rspamd starts (and reloads) in the background: its listeners take seconds to come
        // up after an install, so the milter gets until the deadline too.
        let deadline = Instant::now() + self.timeout;
        loop {
            match probe(ctx.host, "python3", &["-c", MILTER_PROBE, ip, port]) {
                Ok(o) if o.success() && o.stdout.trim() == "ok" => break,
                Ok(o) if Instant::now() >= deadline => {
                    return Finding::fail(
                        format!("rspamd's milter on {addr} does not answer: {}", o.tail(3)),
                        "look at `journalctl -u rspamd -n 50` and the proxy worker in /etc/rspamd/worker-proxy.inc",
                    )
                }
                Ok(_) => std::thread::sleep(Duration::from_millis(200)),
                Err(e) => {
                    return Finding::fail(
                        format!("cannot probe rspamd's milter on {addr}: {e}"),
                        "install python3 (certbot brings it)",
                    )
                }
            }
        }
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
                return Finding::fail(
                    format!("rspamd signs mail from outside claiming to be from {d} ({opts})"),
                    format!(
                        "rspamd must sign only authenticated and local mail: see {}",
                        crate::layout::DKIM_SIGNING_CONF
                    ),
                );
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
                return Finding::fail(
                    format!(
                        "rspamd does not sign mail of logged-in users as {} (waited {} s after the reload)",
                        if which.is_empty() { "expected".to_string() } else { which.join(", ") },
                        self.timeout.as_secs()
                    ),
                    "look at `rspamadm configdump dkim_signing` and /var/log/rspamd/rspamd.log",
                );
            }
            // rspamd's new workers take a moment after a reload.
            std::thread::sleep(Duration::from_millis(200));
        }
        Finding::pass(format!(
            "rspamd signs the mail of {} domain{}, not mail from outside; its milter answers on {addr}",
            ctx.answers.domains.len(),
            if ctx.answers.domains.len() == 1 { "" } else { "s" }
        ))
    }
}

/// How long the signer check waits for rspamd to sign after a reload.
const SIGNER_TIMEOUT: Duration = Duration::from_secs(60);

/// Scans one small message per domain over rspamd's HTTP protocol (`POST /checkv2` on the
/// normal worker, `localhost:11333` as Debian's package binds it), as `mailstead-check@DOMAIN`
/// logged in from loopback; with `yes`, also one from a stranger (a documentation address,
/// RFC 5737) claiming the first domain. One python3 process for all domains. Prints
/// `auth|stranger DOMAIN OPTIONS` lines, OPTIONS being `DKIM_SIGNED`'s (`-`: not signed).
/// argv: host port token yes|no DOMAIN...
const SCAN_PROBE: &str = r#"import http.client, json, sys
host, port, token, stranger = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "yes"
def scan(domain, auth):
    frm = "mailstead-check@" + domain
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

impl Check<Answers> for Config {
    fn name(&self) -> &'static str {
        "config"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let mut problems = Vec::new();
        for (program, args, dir) in [
            ("postfix", &["check"][..], "/etc/postfix"),
            ("doveconf", &["-n"][..], "/etc/dovecot"),
        ] {
            let line = format!("{program} {}", args.join(" "));
            match probe(ctx.host, program, args) {
                Ok(out) if out.success() => {}
                Ok(out) => problems.push((format!("`{line}` fails: {}", out.tail(5)), dir)),
                Err(e) => problems.push((format!("cannot run `{line}`: {e}"), dir)),
            }
        }
        // Only mailstead's users file may authenticate (no PAM, no system accounts).
        if let Ok(out) = probe(ctx.host, "doveconf", &["-n"]) {
            let passdbs = passdb_drivers(&out.stdout);
            if out.success() && passdbs.iter().any(|d| d != "passwd-file") {
                problems.push((
                    format!("Dovecot's active passdbs are {}: system accounts can log in", passdbs.join(", ")),
                    "/etc/dovecot/conf.d/10-auth.conf (comment out `!include auth-system.conf.ext`)",
                ));
            }
        }
        if problems.is_empty() {
            return Finding::pass(
                "postfix check and doveconf -n pass; the only passdb is the users file",
            );
        }
        let dirs: Vec<&str> = problems.iter().map(|(_, d)| *d).collect();
        Finding::fail(
            problems
                .into_iter()
                .map(|(p, _)| p)
                .collect::<Vec<_>>()
                .join("; "),
            format!("fix what it names in {}", dirs.join(" and ")),
        )
    }
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
    let out = host.run(&send).map_err(|e| {
        (
            format!("cannot run python3 to send a test message: {e}"),
            "install python3".to_string(),
        )
    })?;
    if !out.success() {
        return Err((
            format!(
                "Postfix on {target}:25 did not accept a test message to {rcpt}: {}",
                out.tail(3)
            ),
            "look at `journalctl -u postfix -n 50` (or /var/log/mail.log)".to_string(),
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

/// `relay`: see the module docs.
pub struct Relay;

impl Check<Answers> for Relay {
    fn name(&self) -> &'static str {
        "relay"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let Some(r) = &ctx.answers.relay_host else {
            return Finding::pass("no relay host: mail goes out directly");
        };
        let db = format!("{RELAY_PASSWORD_MAP}.db");
        for path in [RELAY_PASSWORD_MAP, db.as_str()] {
            match ctx.host.stat(std::path::Path::new(path)) {
                Ok(Some(st)) if st.meta.mode & 0o077 == 0 && st.meta.uid == 0 => {}
                Ok(Some(st)) => {
                    return Finding::fail(
                        format!(
                            "{path} holds the relay password and is {:04o} owned by uid {}: others can read it",
                            st.meta.mode & 0o7777,
                            st.meta.uid
                        ),
                        format!("chown root:root {path} && chmod 600 {path}"),
                    )
                }
                _ => {
                    return Finding::fail(
                        format!("{path} is missing: Postfix cannot log in to the relay"),
                        "run `mailstead install` again",
                    )
                }
            }
        }
        let out = match probe(ctx.host, "postqueue", &["-j"]) {
            Ok(out) if out.success() => out,
            Ok(out) => {
                return Finding::warn(
                    format!("cannot read the mail queue: {}", out.tail(3)),
                    "look at `mailq` by hand",
                )
            }
            Err(e) => {
                return Finding::warn(
                    format!("cannot run `postqueue -j`: {e}"),
                    "look at `mailq` by hand",
                )
            }
        };
        // Outgoing = to a domain that is not ours: all of it goes through the relay.
        let ours = |addr: &str| {
            let domain = addr.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
            ctx.answers.domains.iter().any(|d| d.name == domain)
        };
        let waiting: Vec<_> = deferred(&out.stdout)
            .into_iter()
            .filter(|d| !ours(&d.address))
            .collect();
        match waiting.first() {
            None => Finding::pass(format!(
                "outgoing mail goes through {} as {}, over verified TLS; none waiting",
                r.nexthop(),
                r.username
            )),
            Some(first) => Finding::warn(
                format!(
                    "{} outgoing message(s) wait for the relay {}: {}",
                    waiting.len(),
                    r.nexthop(),
                    first.reason
                ),
                "check relay_host (host, port, username, password) with your provider; a certificate \
                 error means this server does not trust the relay's CA or the name differs; then \
                 `postqueue -f` sends the queue",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{answers, ctx, fail, ok};
    use mailstead_answers::{Domain, Mailbox};
    use mailstead_engine::{Host, MemHost, Meta, Status};
    use std::sync::{Arc, Mutex};

    const SS_ALL: &str = "LISTEN 0 100 0.0.0.0:25 0.0.0.0:* users:((\"master\",pid=1,fd=1))\n\
LISTEN 0 100 0.0.0.0:465 0.0.0.0:* users:((\"master\",pid=1,fd=1))\n\
LISTEN 0 100 0.0.0.0:587 0.0.0.0:* users:((\"master\",pid=1,fd=1))\n\
LISTEN 0 100 0.0.0.0:993 0.0.0.0:* users:((\"dovecot\",pid=2,fd=1))\n";

    fn with_mailbox() -> Answers {
        let mut a = answers();
        a.domains = vec![Domain {
            name: "example.test".into(),
            mailboxes: vec![Mailbox {
                address: "alice@example.test".into(),
                password: None,
                password_hash: Some("{SHA512-CRYPT}$6$x".into()),
                quota: None,
            }],
            aliases: vec![],
            default_aliases: true,
        }];
        a
    }

    /// A working server: the message shows up at the second search.
    fn working(searches: Arc<Mutex<u32>>) -> MemHost<'static> {
        let h = MemHost::fake();
        h.create_dir(std::path::Path::new("/run"), Meta::root(0o755))
            .unwrap();
        h.on_command(move |c| match c.program.as_str() {
            "service" => ok("running"),
            "ss" => ok(SS_ALL),
            "postfix" | "doveconf" => ok(""),
            "python3" => ok("2.0.0 Ok: queued as 4ABCDEF\n"),
            "doveadm" if c.args[0] == "search" => {
                let mut n = searches.lock().unwrap();
                *n += 1;
                ok(if *n >= 2 { "0123abcd 7\n" } else { "" })
            }
            "doveadm" => ok(""),
            _ => None,
        });
        h
    }

    #[test]
    fn every_check_runs_in_order() {
        let names: Vec<&str> = all().iter().map(|c| c.name()).collect();
        assert_eq!(
            names,
            [
                "services",
                "ports",
                "config",
                "certificate",
                "signer",
                "delivery",
                "relay",
                "quota",
                "limits",
                "bans"
            ]
        );
    }

    /// The CA's certificate passes; the interim self-signed one is a warning naming it; with
    /// neither, a failure.
    #[test]
    fn the_live_certificate_is_named() {
        use crate::layout::{SELF_SIGNED_CHAIN, SELF_SIGNED_KEY};
        use crate::testing::add_cert;
        let a = answers();
        let h = MemHost::fake();
        assert_eq!(Certificate.run(&ctx(&h, &a)).status, Status::Fail);
        h.add_file(SELF_SIGNED_CHAIN, "C", mailstead_engine::Meta::root(0o644));
        h.add_file(SELF_SIGNED_KEY, "K", mailstead_engine::Meta::root(0o600));
        let f = Certificate.run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(f.detail.contains("self-signed") && f.detail.contains(SELF_SIGNED_CHAIN));
        let h = MemHost::fake();
        add_cert(&h);
        let f = Certificate.run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f
            .detail
            .contains("/etc/letsencrypt/live/mail.example.test/fullchain.pem"));
    }

    #[test]
    fn working_server_passes_services_ports_and_config() {
        let h = working(Arc::new(Mutex::new(0)));
        let a = with_mailbox();
        let c = ctx(&h, &a);
        for f in [Services.run(&c), Ports.run(&c), Config.run(&c)] {
            assert_eq!(f.status, Status::Pass, "{f:?}");
            assert_eq!(f.fix, None);
        }
    }

    #[test]
    fn nothing_on_25_fails_the_ports_check() {
        let h = MemHost::fake();
        h.on_command(|c| (c.program == "ss").then(|| ok("")).flatten());
        let a = answers();
        let f = Ports.run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Fail);
        assert!(f.detail.contains("port 25 (Postfix smtp)"), "{f:?}");
        assert!(f.fix.unwrap().contains("postconf -M"));
    }

    #[test]
    fn working_server_delivers_and_expunges_the_test_message() {
        let n = Arc::new(Mutex::new(0));
        let h = working(n.clone());
        let a = with_mailbox();
        let f = Delivery {
            timeout: Duration::from_secs(5),
        }
        .run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.detail.contains("alice@example.test"), "{f:?}");
        let cmds = h.commands();
        let send = cmds.iter().find(|c| c.starts_with("python3")).unwrap();
        assert!(
            send.contains("127.0.0.1 25 mail.example.test alice@example.test"),
            "{send}"
        );
        let expunge = cmds
            .iter()
            .find(|c| c.starts_with("doveadm expunge"))
            .unwrap();
        assert!(expunge.contains("-u alice@example.test mailbox INBOX header X-Mailstead-Verify"));
        assert_eq!(*n.lock().unwrap(), 2);
    }

    /// With a global address, the test message comes in there, as a stranger's would.
    #[test]
    fn delivery_is_tried_from_the_public_address() {
        let n = Arc::new(Mutex::new(0));
        let h = working(n);
        h.on_command(|c| {
            (c.program == "ip")
                .then(|| ok("2: eth0    inet 203.0.113.5/24 brd 203.0.113.255 scope global eth0\n"))
                .flatten()
        });
        let a = with_mailbox();
        let f = Delivery {
            timeout: Duration::from_secs(5),
        }
        .run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        let cmds = h.commands();
        let send = cmds.iter().find(|c| c.starts_with("python3")).unwrap();
        assert!(send.contains("203.0.113.5 25 mail.example.test"), "{send}");
    }

    #[test]
    fn undelivered_message_is_removed_from_the_queue_and_reported() {
        let h = MemHost::fake();
        h.on_command(|c| match c.program.as_str() {
            "service" | "postfix" | "doveconf" | "postsuper" => ok(""),
            "ss" => ok(SS_ALL),
            "python3" => ok("2.0.0 Ok: queued as 4ABCDEF\n"),
            "doveadm" => ok(""),
            _ => None,
        });
        let a = with_mailbox();
        let f = Delivery {
            timeout: Duration::from_millis(300),
        }
        .run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Fail);
        let fix = f.fix.clone().unwrap();
        assert!(
            f.detail.contains("queued as 4ABCDEF")
                && fix.contains("journalctl -u postfix -u dovecot"),
            "{f:?}"
        );
        assert!(h.commands().iter().any(|c| c == "postsuper -d 4ABCDEF"));
    }

    #[test]
    fn broken_pieces_are_all_named_with_where_to_look() {
        let h = MemHost::fake();
        h.on_command(|c| match c.program.as_str() {
            "service" if c.args[0] == "dovecot" => fail(3, "dovecot is not running"),
            "service" => ok(""),
            "ss" => ok("LISTEN 0 100 0.0.0.0:25 0.0.0.0:* users:((\"master\",pid=1,fd=1))\n"),
            "postfix" => fail(1, "postfix/postfix-script: fatal: bad main.cf"),
            "doveconf" => ok(""),
            _ => None,
        });
        let mut a = with_mailbox();
        a.pop3 = true;
        let c = ctx(&h, &a);
        let services = Services.run(&c);
        assert_eq!(services.status, Status::Fail);
        assert_eq!(services.detail, "dovecot not running");
        assert!(
            services.fix.unwrap().contains("journalctl -u dovecot"),
            "where to look"
        );
        let ports = Ports.run(&c);
        assert_eq!(ports.status, Status::Fail);
        let e = &ports.detail;
        assert!(
            e.contains("port 465") && e.contains("port 993") && e.contains("port 995"),
            "{e}"
        );
        assert!(!e.contains("port 25 "), "{e}");
        let config = Config.run(&c);
        assert_eq!(config.status, Status::Fail);
        assert!(config.detail.contains("bad main.cf"), "{config:?}");
        assert!(config.fix.unwrap().contains("/etc/postfix"));
        assert!(
            !h.commands().iter().any(|c| c.starts_with("python3")),
            "no delivery on a broken server"
        );
    }

    #[test]
    fn the_send_script_is_valid_python() {
        // Syntax only, when python3 is around (it is on every mailstead server).
        if let Ok(out) = std::process::Command::new("python3")
            .args(["-c", &format!("import ast; ast.parse({SEND_SCRIPT:?})")])
            .output()
        {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    #[test]
    fn the_signer_probes_are_valid_python() {
        for script in [MILTER_PROBE, SCAN_PROBE] {
            if let Ok(out) = std::process::Command::new("python3")
                .args(["-c", &format!("import ast; ast.parse({script:?})")])
                .output()
            {
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }

    /// A fake server for the signer check: rspamd running, example.test's key as `keys`
    /// prints it, and rspamd's scans answering `scans` in turn (the last one repeats).
    fn signer_host(keys: &'static str, scans: Vec<&'static str>) -> MemHost<'static> {
        signer_host_milter_late(keys, scans, 0)
    }

    /// Like [`signer_host`], with the milter refusing connections the first `late` times.
    fn signer_host_milter_late(
        keys: &'static str,
        scans: Vec<&'static str>,
        late: usize,
    ) -> MemHost<'static> {
        let h = MemHost::fake();
        let n = Arc::new(Mutex::new(0usize));
        let m = Arc::new(Mutex::new(0usize));
        h.on_command(move |c| match c.program.as_str() {
            "service" => ok("running"),
            "sh" => ok(keys),
            "python3" if c.args[1] == MILTER_PROBE => {
                let mut i = m.lock().unwrap();
                *i += 1;
                if *i <= late {
                    fail(1, "ConnectionRefusedError: [Errno 111] Connection refused")
                } else {
                    ok("ok\n")
                }
            }
            "python3" => {
                let mut i = n.lock().unwrap();
                let out = scans[(*i).min(scans.len() - 1)];
                *i += 1;
                ok(out)
            }
            _ => None,
        });
        h
    }

    const KEY_OK: &str = "map example.test s1\nkey example.test.s1.key 600 _rspamd:_rspamd MIIB\n";

    #[test]
    fn signer_check_waits_for_the_reload_then_passes() {
        let h = signer_host(
            KEY_OK,
            vec![
                // Old workers: not signing yet.
                "auth example.test -\nstranger example.test -\n",
                "auth example.test example.test:s=s1\n",
            ],
        );
        let a = with_mailbox();
        let f = Signer {
            timeout: Duration::from_secs(5),
        }
        .run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Pass, "{f:?}");
    }

    /// Right after an install rspamd may not listen yet: the check waits for it.
    #[test]
    fn signer_check_waits_for_the_milter() {
        let scans = vec!["auth example.test example.test:s=s1\nstranger example.test -\n"];
        let a = with_mailbox();
        let h = signer_host_milter_late(KEY_OK, scans.clone(), 3);
        let f = Signer {
            timeout: Duration::from_secs(5),
        }
        .run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        // ... but not for ever.
        let h = signer_host_milter_late(KEY_OK, scans, 1000);
        let f = Signer {
            timeout: Duration::from_millis(300),
        }
        .run(&ctx(&h, &a));
        assert!(
            f.status == Status::Fail && f.detail.contains("does not answer"),
            "{f:?}"
        );
    }

    #[test]
    fn signer_check_fails_on_strangers_signed_bad_keys_or_no_signing() {
        let a = with_mailbox();
        let quick = Signer {
            timeout: Duration::from_millis(100),
        };
        let h = signer_host(
            KEY_OK,
            vec!["auth example.test example.test:s=s1\nstranger example.test example.test:s=s1\n"],
        );
        let f = quick.run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Fail);
        assert!(f.detail.contains("from outside"), "{f:?}");

        let h = signer_host(
            "map example.test s1\nkey example.test.s1.key 644 root:root MIIB\n",
            vec!["auth example.test example.test:s=s1\nstranger example.test -\n"],
        );
        let f = quick.run(&ctx(&h, &a));
        assert!(
            f.status == Status::Fail && f.detail.contains("not 0600"),
            "{f:?}"
        );

        let h = signer_host(
            KEY_OK,
            vec!["auth example.test -\nstranger example.test -\n"],
        );
        let f = quick.run(&ctx(&h, &a));
        assert!(
            f.status == Status::Fail && f.detail.contains("example.test:s=s1"),
            "{f:?}"
        );
    }

    /// Listening on 127.0.0.1 only (Debian's "Local only" Postfix) is not listening for mail.
    #[test]
    fn loopback_only_fails_the_ports_check() {
        let h = mailstead_engine::MemHost::fake();
        h.on_command(|c| {
            (c.program == "ss").then(|| mailstead_engine::Output {
                status: 0,
                stdout: "LISTEN 0 100 127.0.0.1:25 0.0.0.0:* users:((\"master\",pid=1,fd=13))\n\
                         LISTEN 0 100 0.0.0.0:465 0.0.0.0:* users:((\"master\",pid=1,fd=14))\n\
                         LISTEN 0 100 0.0.0.0:587 0.0.0.0:* users:((\"master\",pid=1,fd=15))\n\
                         LISTEN 0 100 [::]:993 [::]:* users:((\"dovecot\",pid=2,fd=30))\n"
                    .into(),
                stderr: String::new(),
            })
        });
        let a = crate::testing::answers();
        let f = Ports.run(&crate::testing::ctx(&h, &a));
        assert_eq!(f.status, mailstead_engine::Status::Fail, "{f:?}");
        assert!(f.detail.contains("port 25"), "{f:?}");
    }

    // ---- relay ----

    fn relay_answers() -> Answers {
        let mut a = with_mailbox();
        a.relay_host = Some(mailstead_answers::RelayHost {
            host: "relay.outside.test".into(),
            port: 587,
            username: "relayuser".into(),
            password: mailstead_answers::Secret::new("relay pass zebra"),
        });
        a
    }

    fn relay_host(queue: &'static str, mode: u32) -> MemHost<'static> {
        let h = MemHost::fake();
        for p in [RELAY_PASSWORD_MAP, &format!("{RELAY_PASSWORD_MAP}.db")] {
            h.add_file(p, "x", Meta::root(mode));
        }
        h.on_command(move |c| (c.program == "postqueue").then(|| ok(queue).unwrap()));
        h
    }

    #[test]
    fn relay_check_passes_without_a_relay_and_with_an_empty_queue() {
        let h = MemHost::fake();
        let f = Relay.run(&ctx(&h, &with_mailbox()));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        let h = relay_host("", 0o600);
        let f = Relay.run(&ctx(&h, &relay_answers()));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.detail.contains("[relay.outside.test]:587 as relayuser"));
        assert!(!f.detail.contains("zebra"));
    }

    /// Mail waiting for the relay is a warning with Postfix's own reason (captured output);
    /// waiting local mail is not the relay's.
    #[test]
    fn relay_check_warns_with_the_reason_mail_waits() {
        let q = r#"{"queue_name": "deferred", "queue_id": "4C1E0A1F2B", "sender": "alice@example.test", "recipients": [{"address": "bob@outside.test", "delay_reason": "Server certificate not verified"}]}
{"queue_name": "deferred", "queue_id": "6A", "sender": "", "recipients": [{"address": "alice@example.test", "delay_reason": "lmtp down"}]}
"#;
        let h = relay_host(q, 0o600);
        let f = Relay.run(&ctx(&h, &relay_answers()));
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(f.detail.starts_with("1 outgoing message(s) wait for the relay [relay.outside.test]:587: Server certificate not verified"), "{}", f.detail);
        assert!(f.fix.unwrap().contains("postqueue -f"));
    }

    #[test]
    fn relay_check_fails_on_a_readable_or_missing_map() {
        let h = relay_host("", 0o644);
        let f = Relay.run(&ctx(&h, &relay_answers()));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.detail.contains("0644"), "{}", f.detail);
        assert!(f.fix.unwrap().contains("chmod 600"));
        let h = MemHost::fake();
        let f = Relay.run(&ctx(&h, &relay_answers()));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.detail.contains("missing"));
    }
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

/// How long `bans` waits for fail2ban's socket (a start right before the checks).
pub const BANS_TIMEOUT: Duration = Duration::from_secs(30);

/// `bans`: fail2ban runs mailstead's jails; the addresses banned now.
pub struct Bans {
    pub timeout: Duration,
}

impl Check<Answers> for Bans {
    fn name(&self) -> &'static str {
        "bans"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        use crate::facts::Bans as Jails;
        use crate::layout::BAN_JAILS;
        use mailstead_engine::Fact;
        let start = Instant::now();
        // Probed here, not cached: fail2ban may still be opening its socket after a start.
        let bans = loop {
            let b = Jails::probe(ctx.host).unwrap_or_default();
            if b.running || start.elapsed() >= self.timeout {
                break b;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        if !bans.running {
            return Finding::fail(
                format!(
                    "fail2ban is not running ({}): password guessers are not banned",
                    bans.error
                ),
                "systemctl restart fail2ban; see journalctl -u fail2ban",
            );
        }
        let missing: Vec<&str> = BAN_JAILS
            .iter()
            .copied()
            .filter(|j| !bans.has_jail(j))
            .collect();
        if !missing.is_empty() {
            return Finding::fail(
                format!(
                    "fail2ban runs without the jail{} {}: those guessers are not banned",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", ")
                ),
                "look at /etc/fail2ban/jail.d/mailstead.conf and `fail2ban-client -d`; re-run \
                 `mailstead install`",
            );
        }
        let active = bans.active();
        if active.is_empty() {
            return Finding::pass(format!(
                "no address banned (fail2ban jails {})",
                BAN_JAILS.join(", ")
            ));
        }
        Finding::warn(
            format!(
                "banned from the mail ports now: {}",
                active
                    .iter()
                    .map(|(jail, ips)| format!("{jail}: {}", ips.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            format!(
                "nothing to do for guessers (a ban lasts an hour); to let an address in now: \
                 `mailstead unban {}`",
                active
                    .iter()
                    .flat_map(|(_, ips)| ips.first())
                    .next()
                    .map(String::as_str)
                    .unwrap_or("ADDRESS")
            ),
        )
    }
}

#[cfg(test)]
mod bans_tests {
    use super::*;
    use crate::testing::{answers, ctx, fail, ok};
    use mailstead_engine::{MemHost, Status};

    fn run(answer: Option<mailstead_engine::Output>) -> Finding {
        let h = MemHost::fake();
        h.on_command(move |c| {
            (c.program == "fail2ban-client")
                .then(|| answer.clone())
                .flatten()
        });
        let a = answers();
        Bans {
            timeout: Duration::ZERO,
        }
        .run(&ctx(&h, &a))
    }

    #[test]
    fn lists_the_bans_by_jail() {
        let f = run(ok(
            "[{'mailstead-postfix': []}, {'mailstead-dovecot': []}, {'sshd': []}]\n",
        ));
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.detail.starts_with("no address banned"), "{f:?}");
        let f = run(ok(
            "[{'mailstead-postfix': ['10.213.1.1', '192.0.2.7']}, {'mailstead-dovecot': []}]\n",
        ));
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert_eq!(
            f.detail,
            "banned from the mail ports now: mailstead-postfix: 10.213.1.1, 192.0.2.7"
        );
        assert!(f.fix.unwrap().contains("mailstead unban 10.213.1.1`"));
    }

    #[test]
    fn fails_when_fail2ban_or_a_jail_is_missing() {
        let f = run(fail(
            255,
            "ERROR   Failed to access socket path: /var/run/fail2ban/fail2ban.sock. Is fail2ban running?",
        ));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.detail.contains("Is fail2ban running?"), "{f:?}");
        let f = run(None);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        let f = run(ok("[{'mailstead-postfix': []}]"));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.detail.contains("mailstead-dovecot"), "{f:?}");
    }
}
