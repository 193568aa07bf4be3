//! Step `verify`: proves the installed server works. Plans no changes and touches nothing
//! (apart from one test message it delivers and deletes again).
//!
//! Runs after the pending reloads (`needs_reloaded_services`), and checks, reporting every
//! problem with where to look:
//! - the `postfix` and `dovecot` services are active;
//! - ports 25, 465, 587, 993 (and 995 with `pop3: true`) are listening (`ss -ltn`);
//! - `postfix check` and `doveconf -n` pass;
//! - a message is delivered into a mailbox: sent over SMTP to Postfix on 127.0.0.1:25 (by
//!   python3's smtplib, which certbot already brings, run through the Host so it happens on
//!   the server, whatever `--root` or namespace mailstead runs in), from the null sender to the
//!   first mailbox of the answers, with a unique `X-Mailstead-Verify` header. It is looked for
//!   with `doveadm search` (so it went smtpd → cleanup → qmgr → LMTP → Dovecot → Maildir) and
//!   expunged at once with `doveadm expunge`: nobody finds test mail in their inbox, however
//!   often mailstead runs. With no mailbox in the answers this check is skipped.
use crate::preflight::listeners;
use color_eyre::eyre::{eyre, Result};
use mailstead_engine::host::{Cmd, Host};
use mailstead_engine::step::{Ctx, Step};
use mailstead_engine::{system, Change};
use std::time::{Duration, Instant};

pub struct Verify;

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

/// Ports that must listen, with what serves them.
pub fn expected_ports(pop3: bool) -> Vec<(u16, &'static str)> {
    let mut p = vec![
        (25, "Postfix smtp"),
        (465, "Postfix submissions"),
        (587, "Postfix submission"),
        (993, "Dovecot imaps"),
    ];
    if pop3 {
        p.push((995, "Dovecot pop3s"));
    }
    p
}

/// The first mailbox of the answers, as a full address.
fn test_recipient(ctx: &Ctx) -> Option<String> {
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

fn probe(host: &dyn Host, program: &str, args: &[&str]) -> Result<mailstead_engine::Output> {
    Ok(host.run(&Cmd::probe(program, args.iter().copied()).timeout(Duration::from_secs(30)))?)
}

fn check_services(host: &dyn Host, problems: &mut Vec<String>) {
    for svc in ["postfix", "dovecot"] {
        if !system::service_active(host, svc) {
            problems.push(format!(
                "{svc} is not running; look at `journalctl -u {svc} -n 50` (and /var/log/mail.log)"
            ));
        }
    }
}

fn check_ports(ctx: &Ctx, problems: &mut Vec<String>) {
    let open: Vec<u16> = listeners(ctx.host).into_iter().map(|l| l.port).collect();
    for (port, what) in expected_ports(ctx.answers.pop3) {
        if !open.contains(&port) {
            let look = if what.starts_with("Postfix") {
                "`postconf -M` (master.cf) and `journalctl -u postfix`"
            } else {
                "`doveconf -n` and `journalctl -u dovecot`"
            };
            problems.push(format!(
                "nothing listens on port {port} ({what}); look at {look}"
            ));
        }
    }
}

fn check_configs(host: &dyn Host, problems: &mut Vec<String>) -> Result<()> {
    let out = probe(host, "postfix", &["check"])?;
    if !out.success() {
        problems.push(format!(
            "`postfix check` fails: {}; fix what it names in /etc/postfix",
            out.tail(5)
        ));
    }
    let out = probe(host, "doveconf", &["-n"])?;
    if !out.success() {
        problems.push(format!(
            "`doveconf -n` fails: {}; fix what it names in /etc/dovecot",
            out.tail(5)
        ));
    }
    Ok(())
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
fn check_delivery(ctx: &Ctx, rcpt: &str, timeout: Duration) -> Result<(), String> {
    let host = ctx.host;
    let helo = ctx.answers.hostname.trim().to_ascii_lowercase();
    let token = token();
    let send = Cmd::new(
        "python3",
        ["-c", SEND_SCRIPT, "127.0.0.1", "25", &helo, rcpt, &token],
    )
    .timeout(Duration::from_secs(60));
    let out = host
        .run(&send)
        .map_err(|e| format!("cannot run python3 to send a test message: {e}"))?;
    if !out.success() {
        return Err(format!(
            "Postfix on 127.0.0.1:25 did not accept a test message to {rcpt}: {}; look at \
             `journalctl -u postfix -n 50` (or /var/log/mail.log)",
            out.tail(3)
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
    Err(format!(
        "a test message to {rcpt} was accepted by Postfix{} but did not reach the mailbox within \
         {} s; look at `journalctl -u postfix -u dovecot -n 80` (or grep {} /var/log/mail.log), \
         `postqueue -p`, and `doveadm user {rcpt}`",
        if queue_id.is_empty() {
            String::new()
        } else {
            format!(" (queued as {queue_id})")
        },
        timeout.as_secs(),
        if queue_id.is_empty() {
            "the address"
        } else {
            &queue_id
        }
    ))
}

impl Verify {
    fn run_checks(&self, ctx: &Ctx, timeout: Duration) -> Result<()> {
        let mut problems = Vec::new();
        check_services(ctx.host, &mut problems);
        check_ports(ctx, &mut problems);
        check_configs(ctx.host, &mut problems)?;
        if problems.is_empty() {
            if let Some(rcpt) = test_recipient(ctx) {
                if let Err(p) = check_delivery(ctx, &rcpt, timeout) {
                    problems.push(p);
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(eyre!(
                "the mail server does not work yet:\n{}",
                problems
                    .iter()
                    .map(|p| format!("  - {p}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ))
        }
    }
}

impl Step<Answers> for Verify {
    fn name(&self) -> &'static str {
        "verify"
    }
    fn about(&self) -> &'static str {
        "Verify: services, ports, postfix check, doveconf -n, a test message delivered"
    }
    fn plan(&self, _ctx: &Ctx<Answers>) -> Result<Planned> {
        Ok(Vec::new())
    }
    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        self.run_checks(ctx, DELIVERY_TIMEOUT)
    }
    fn needs_reloaded_services(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::tests::{answers, ctx, fail, ok};
    use mailstead_answers::{Domain, Mailbox};
    use mailstead_engine::{Answers, MemHost, Meta};
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
    fn plans_nothing_and_needs_reloads() {
        let h = MemHost::fake();
        let a = answers();
        assert!(Verify.plan(&ctx(&h, &a)).unwrap().is_empty());
        assert!(Verify.needs_reloaded_services());
    }

    #[test]
    fn working_server_delivers_and_expunges_the_test_message() {
        let n = Arc::new(Mutex::new(0));
        let h = working(n.clone());
        let a = with_mailbox();
        Verify
            .run_checks(&ctx(&h, &a), Duration::from_secs(5))
            .unwrap();
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
        let e = Verify
            .run_checks(&ctx(&h, &a), Duration::from_millis(300))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("queued as 4ABCDEF") && e.contains("journalctl -u postfix -u dovecot"),
            "{e}"
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
        let e = Verify
            .run_checks(&ctx(&h, &a), Duration::from_millis(10))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("dovecot is not running; look at `journalctl -u dovecot"),
            "{e}"
        );
        assert!(
            e.contains("port 465") && e.contains("port 993") && e.contains("port 995"),
            "{e}"
        );
        assert!(e.contains("bad main.cf"), "{e}");
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
}
