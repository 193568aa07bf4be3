//! A server that defends itself (issue 11), in a booted bed, as the outside world sees it.
//!
//! Assumes a bed where mailstead was installed with `bed.default_answers()` (example.test with
//! alice) and leaves it that way again: every part adds what it needs to the answers and
//! removes it at the end.
//!
//! Quotas: with a mailbox `full@example.test` of its own 1 MiB quota (the default, 1 GiB,
//! for alice), a message from outside below the quota is accepted and delivered; once a
//! delivery takes the mailbox over its limit, `RCPT TO` for it gets `552 5.2.2 Mailbox is
//! full` at SMTP time (not a bounce after accepting), while alice still gets mail; `check`
//! warns with the mailbox's use and limit. Adding the mailbox is one run; the same answers
//! again make 0 changes and restart nothing.
//!
//! Limits for a hijacked account: with `max_messages_per_hour: 5`, a logged-in user's first
//! five messages on 587 are accepted and the sixth is deferred with `451 4.7.1`, rspamd's log
//! names the login; a message whose envelope sender is the login's own but whose `From:` is
//! another mailbox's is refused with `554 5.7.1`; `check` passes `limits` (Redis active).
//!
//! Postscreen on port 25: with the clients it remembers forgotten, a client that sends `EHLO`
//! before the greeting is logged as `PREGREET` and its `RCPT TO` is refused with
//! `550 5.5.1 Protocol error` (postscreen's own SMTP engine: it never reaches smtpd);
//! a client that waits for the greeting (python's smtplib) is logged `PASS NEW` and delivers to
//! alice; submission on 587 still goes straight to smtpd; the same answers again make 0 changes
//! and restart nothing; `check` passes `delivery`, its message from the server's own address
//! let in at once (`ALLOWLISTED`).
//!
//! Password guessers banned: ten wrong passwords on 587 from the host side (smtplib, AUTH PLAIN
//! after STARTTLS, each in its own connection, all at once) get the host's address banned by
//! fail2ban: new connections from it to 25, 465, 587 and 993 are refused (the seconds it took
//! are printed), while SSH from the same address still answers; `check` warns naming the jail
//! and the address; `mailstead unban ADDRESS` lifts it (exit 0; again: exit 2, "not banned";
//! a network instead of an address: exit 2 naming `ADDRESS` and the fix) and 587 takes the
//! right password again. One wrong IMAPS login is counted by the live Dovecot jail (2.3 and
//! 2.4 log it differently). fail2ban's memory (PSS) is printed. The bed is left unbanned.
use crate::bed::Bed;

/// Postfix and Dovecot: a no-op re-run must not restart them.
const UNITS: [&str; 2] = ["postfix@-.service", "dovecot.service"];

/// An outside SMTP client (host side, python's smtplib) to port 25: EHLO, `MAIL FROM`, then
/// `RCPT TO` each recipient, printing `RCPT <addr> <code> <text>`; with a body size, DATA
/// of that many bytes (when a recipient was accepted), printing `DATA <code> <text>`.
const SMTP_PY: &str = r#"import smtplib, sys
host, size, subject = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rcpts = sys.argv[4:]
s = smtplib.SMTP(host, 25, local_hostname="client.outside.test", timeout=60)
s.ehlo()
s.mail("sender@outside.test")
ok = []
for r in rcpts:
    code, text = s.rcpt(r)
    print("RCPT %s %d %s" % (r, code, text.decode()))
    if code == 250:
        ok.append(r)
if size and ok:
    line = "x" * 76 + "\r\n"
    body = line * (size // len(line) + 1)
    msg = ("From: <sender@outside.test>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n" % (ok[0], subject)) + body
    code, text = s.data(msg)
    print("DATA %d %s" % (code, text.decode()))
s.quit()
"#;

fn smtp(bed: &Bed, size: usize, subject: &str, rcpts: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("smtp.py");
    std::fs::write(&f, SMTP_PY).unwrap();
    let r = crate::bed::host_sh(&format!(
        "/usr/bin/python3 {} {} {size} '{subject}' {}",
        f.display(),
        bed.ip,
        rcpts.join(" ")
    ));
    assert!(r.ok(), "the SMTP client failed:\n{}", r.text());
    r.stdout
}

/// Waits until `user`'s INBOX holds a message with `subject` (doveadm search).
fn delivered(bed: &Bed, user: &str, subject: &str) -> bool {
    bed.sh(&format!(
        "for i in $(seq 1 60); do \
           [ -n \"$(doveadm search -u {user} mailbox INBOX header Subject '{subject}')\" ] && exit 0; \
           sleep 0.5; done; exit 1"
    ))
    .ok()
}

fn check_finding(bed: &Bed, name: &str) -> (String, String) {
    let r = bed.mailstead(&["check", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("check --json is not JSON ({e}):\n{}", r.text()));
    let f = v
        .as_array()
        .expect("an array")
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in check's results:\n{}", r.stdout))
        .clone();
    (
        f["status"].as_str().unwrap_or_default().to_string(),
        f["detail"].as_str().unwrap_or_default().to_string(),
    )
}

fn install(bed: &Bed, what: &str) -> String {
    let run = bed.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(
        run.code,
        0,
        "{}: install {what}:\n{}",
        bed.release,
        run.text()
    );
    println!("{}: install {what}: {:.1} s", bed.release, run.secs);
    run.text()
}

/// The same answers again: 0 changes, and Postfix and Dovecot keep running (no restart).
fn rerun_changes_nothing(bed: &Bed, what: &str) {
    let before = bed.invocation_ids(&UNITS);
    let out = install(bed, &format!("again ({what})"));
    assert!(
        out.contains("0 changes") || out.contains("nothing to do"),
        "{}: a re-run with the same answers ({what}) changes things:\n{out}",
        bed.release
    );
    assert_eq!(
        bed.invocation_ids(&UNITS),
        before,
        "{}: a no-op re-run ({what}) restarted Postfix or Dovecot",
        bed.release
    );
}

pub fn quota(bed: &Bed) {
    let r = &bed.release;
    let full = "full@example.test";
    let answers = bed.default_answers().replace(
        "    aliases:\n",
        "      - address: full@example.test\n        password: \"the full mailbox's long passphrase\"\n        quota: 1048576\n    aliases:\n",
    );
    assert!(answers.contains("quota: 1048576"), "{answers}");
    bed.write_answers(&answers);
    install(bed, "with a 1 MiB mailbox");
    rerun_changes_nothing(bed, "quota");

    // Below the quota: accepted at RCPT and delivered.
    let out = smtp(bed, 2000, "below-quota", &[full]);
    assert!(
        out.contains(&format!("RCPT {full} 250")) && out.contains("DATA 250"),
        "{r}: mail below the quota is not accepted:\n{out}"
    );
    assert!(
        delivered(bed, full, "below-quota"),
        "{r}: mail below the quota did not reach the mailbox:\n{}",
        bed.journal("dovecot.service", 20)
    );
    // A message that takes it over its 1 MiB (Dovecot lets the last message exceed the limit
    // by its 10 % grace): accepted, delivered, and now the mailbox is over quota.
    let out = smtp(bed, 1_070_000, "over-quota", &[full]);
    assert!(out.contains("DATA 250"), "{r}: {out}");
    assert!(
        delivered(bed, full, "over-quota"),
        "{r}: the message taking the mailbox over its quota was not delivered:\n{}",
        bed.journal("dovecot.service", 20)
    );
    let usage = bed.sh_ok(&format!("doveadm quota get -u {full}"));
    println!("{r}: {full} after the fill:\n{usage}");

    // Over the quota: RCPT refused with 552 at SMTP time; alice (1 GiB default) still gets mail.
    let out = smtp(bed, 0, "x", &[full, "alice@example.test"]);
    assert!(
        out.contains(&format!("RCPT {full} 552 5.2.2 ")) && out.contains("Mailbox is full"),
        "{r}: RCPT for the full mailbox is not refused with 552:\n{out}"
    );
    assert!(
        out.contains("RCPT alice@example.test 250"),
        "{r}: a mailbox below its quota is refused too:\n{out}"
    );
    let (status, detail) = check_finding(bed, "quota");
    println!("{r}: check quota: {status}: {detail}");
    assert_eq!(status, "warn", "{r}: {detail}");
    assert!(
        detail.contains(full) && detail.contains("of 1.0 MiB") && detail.contains("552"),
        "{r}: check does not show the full mailbox's use and limit: {detail}"
    );
    assert!(!detail.contains("alice@"), "{r}: {detail}");

    // Back to the default answers: the mail goes, then the mailbox.
    bed.sh_ok(&format!(
        "doveadm expunge -u {full} mailbox INBOX all && doveadm quota recalc -u {full}"
    ));
    bed.write_answers(&bed.default_answers());
    install(bed, "back to the default answers");
    let (status, detail) = check_finding(bed, "quota");
    assert_eq!(status, "pass", "{r}: {detail}");
    assert!(
        detail.contains("alice@example.test") && detail.contains("of 1.0 GiB"),
        "{r}: check does not show alice's use of the 1 GiB default: {detail}"
    );
}

/// Submission on 587 (STARTTLS, AUTH) as `user` (password in `$BED_PASS`), envelope sender
/// `user`, `From:` header `from_hdr`, to alice; prints `SENT` or `DATA <code> <text>`.
const SUBMIT_PY: &str = r#"import os, smtplib, ssl, sys
host, user, from_hdr, subject = sys.argv[1:5]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP(host, 587, local_hostname="client.outside.test", timeout=60)
s.starttls(context=ctx)
s.login(user, os.environ["BED_PASS"])
msg = "From: %s\r\nTo: <alice@example.test>\r\nSubject: %s\r\n\r\nsent by the bed\r\n" % (from_hdr, subject)
try:
    s.sendmail(user, ["alice@example.test"], msg)
    print("SENT")
except smtplib.SMTPDataError as e:
    print("DATA %d %s" % (e.smtp_code, e.smtp_error.decode()))
s.quit()
"#;

const SENDER_PASSWORD: &str = "the sender has a long passphrase";

fn submit(bed: &Bed, user: &str, pass: &str, from_hdr: &str, subject: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("submit.py");
    std::fs::write(&f, SUBMIT_PY).unwrap();
    let r = crate::bed::host_sh(&format!(
        "BED_PASS='{pass}' /usr/bin/python3 {} {} {user} '{from_hdr}' '{subject}'",
        f.display(),
        bed.ip
    ));
    assert!(r.ok(), "the submission client failed:\n{}", r.text());
    r.stdout.trim().to_string()
}

/// Waits (up to 30 s) until rspamd's bucket in Redis counts `n` messages: rspamd updates it
/// after the message, and right after a reload the first update can land seconds late. Not
/// an assertion: the limit's own answers below are what is checked.
fn counted(bed: &Bed, n: u32) {
    bed.sh(&format!(
        "for i in $(seq 1 60); do \
           for k in $(redis-cli --scan --pattern 'RL*'); do \
             b=$(redis-cli hget \"$k\" b 2>/dev/null); \
             [ -n \"$b\" ] && awk -v b=\"$b\" 'BEGIN{{exit !(b >= {n} - 0.5)}}' && exit 0; \
           done; sleep 0.5; done; exit 1"
    ));
}

pub fn limits(bed: &Bed) {
    let r = &bed.release;
    let sender = "sender@example.test";
    let answers = bed.default_answers().replace(
        "    aliases:\n",
        &format!(
            "      - address: {sender}\n        password: \"{SENDER_PASSWORD}\"\n    aliases:\n"
        ),
    ) + "max_messages_per_hour: 5\n";
    bed.write_answers(&answers);
    install(bed, "with a limit of 5 messages an hour");
    rerun_changes_nothing(bed, "limits");
    let (status, detail) = check_finding(bed, "limits");
    assert_eq!(status, "pass", "{r}: {detail}");
    assert!(detail.contains("5 messages an hour"), "{r}: {detail}");

    for i in 1..=5 {
        let out = submit(bed, sender, SENDER_PASSWORD, sender, &format!("limit {i}"));
        assert_eq!(out, "SENT", "{r}: message {i} of 5 was not accepted: {out}");
        counted(bed, i);
    }
    let out = submit(bed, sender, SENDER_PASSWORD, sender, "limit 6");
    println!("{r}: the 6th message in the hour: {out}");
    assert!(
        out.starts_with("DATA 451 4.7.1") && out.contains("Ratelimit"),
        "{r}: the 6th message in an hour is not deferred with 4xx: {out}"
    );
    let log = bed.sh_ok(&format!(
        "grep -F 'ratelimit \"mailstead_user({sender})\" exceeded' /var/log/rspamd/rspamd.log | tail -1"
    ));
    assert!(
        !log.trim().is_empty(),
        "{r}: rspamd's log does not name the limited login"
    );
    println!("{r}: the admin's log line: {}", log.trim());

    // Own envelope sender, someone else's From: header: refused.
    let out = submit(
        bed,
        "alice@example.test",
        crate::bed::ALICE_PASSWORD,
        &format!("The boss <{sender}>"),
        "forged from",
    );
    println!("{r}: a forged From: {out}");
    assert!(
        out.starts_with("DATA 554 5.7.1") && out.contains(&format!("From: header {sender}")),
        "{r}: a From: header of another mailbox is not refused: {out}"
    );
    // Her own From: (display name and case aside) still goes.
    let out = submit(
        bed,
        "alice@example.test",
        crate::bed::ALICE_PASSWORD,
        "Alice <Alice@Example.test>",
        "own from",
    );
    assert_eq!(out, "SENT", "{r}: alice's own From: is refused: {out}");

    bed.write_answers(&bed.default_answers());
    install(bed, "back to the default answers");
    let (status, detail) = check_finding(bed, "limits");
    assert!(
        status == "pass" && detail.contains("200 messages an hour"),
        "{r}: {detail}"
    );
}

/// A bot that does not wait for the greeting: connects to port 25 and sends `EHLO` at once,
/// then `MAIL FROM` and `RCPT TO alice` each after the previous reply; prints every line the
/// server sends (`S: ...`) and `CLOSED` when it hangs up.
const PREGREET_PY: &str = r#"import socket, sys
s = socket.create_connection((sys.argv[1], 25), timeout=60)
s.sendall(b"EHLO bot.outside.test\r\n")
f = s.makefile("rb")
def reply():
    while True:
        line = f.readline()
        if not line:
            print("CLOSED")
            sys.exit(0)
        print("S: " + line.decode(errors="replace").rstrip())
        if line[3:4] == b" " and not line.startswith(b"220"):
            return
reply()
for cmd in (b"MAIL FROM:<bot@outside.test>", b"RCPT TO:<alice@example.test>"):
    s.sendall(cmd + b"\r\n")
    reply()
s.sendall(b"QUIT\r\n")
"#;

pub fn postscreen(bed: &Bed) {
    let r = &bed.release;
    let smtp_inet = bed.sh_ok("postconf -M smtp/inet");
    assert!(
        smtp_inet.split_whitespace().last() == Some("postscreen"),
        "{r}: port 25 is not served by postscreen: {smtp_inet}"
    );
    let sub = bed.sh_ok("postconf -M submission/inet submissions/inet");
    assert!(
        sub.lines().count() == 2 && sub.lines().all(|l| l.contains(" smtpd ")),
        "{r}: submission must stay plain smtpd: {sub}"
    );
    // Forget the clients postscreen remembers (the earlier scenarios passed the host's
    // address, and a remembered client skips the tests), with Postfix stopped.
    bed.sh_ok(
        "systemctl stop postfix && rm -f /var/lib/postfix/postscreen_cache.db && \
         systemctl start postfix && for i in $(seq 1 60); do \
           ss -ltn | grep -q ':25 ' && exit 0; sleep 0.5; done; exit 1",
    );
    let since = bed.sh_ok("date '+%Y-%m-%d %H:%M:%S'");
    let since = since.trim();

    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pregreet.py");
    std::fs::write(&f, PREGREET_PY).unwrap();
    let run = crate::bed::host_sh(&format!("/usr/bin/python3 {} {}", f.display(), bed.ip));
    assert!(run.ok(), "{r}: the pregreet client failed:\n{}", run.text());
    let out = run.stdout;
    println!("{r}: a client talking before the greeting:\n{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("S: 550 5.5.1 Protocol error") || l == "CLOSED"),
        "{r}: a client that talks before the greeting is not refused:\n{out}"
    );
    assert!(
        !out.lines().any(|l| l.starts_with("S: 250 2.1.5")),
        "{r}: a client that talks before the greeting had its recipient accepted:\n{out}"
    );
    let log = |what: &str| {
        bed.sh(&format!(
            "for i in $(seq 1 20); do \
               journalctl -q -o cat -t postfix/postscreen --since '{since}' | grep -F '{what}' && exit 0; \
               sleep 0.5; done; exit 1"
        ))
    };
    let pregreet = log("PREGREET ");
    assert!(
        pregreet.ok()
            && pregreet.stdout.lines().any(|l| {
                l.contains(&format!("from [{}]", bed.host_ip))
                    && l.contains("EHLO bot.outside.test")
            }),
        "{r}: no PREGREET line for [{}] in postscreen's log:\n{}",
        bed.host_ip,
        bed.sh("journalctl -q -o cat -t postfix/postscreen -n 30")
            .text()
    );
    println!("{r}: {}", pregreet.stdout.trim());

    // A client that waits for the greeting gets through (after postscreen's greeting wait,
    // once a day) and delivers.
    let out = smtp(bed, 200, "postscreen-normal", &["alice@example.test"]);
    assert!(
        out.contains("RCPT alice@example.test 250") && out.contains("DATA 250"),
        "{r}: a well-behaved client is not let through postscreen:\n{out}"
    );
    assert!(
        delivered(bed, "alice@example.test", "postscreen-normal"),
        "{r}: the well-behaved client's message did not arrive"
    );
    let pass = log(&format!("PASS NEW [{}]", bed.host_ip));
    assert!(pass.ok(), "{r}: no `PASS NEW` for the well-behaved client");
    println!("{r}: {}", pass.stdout.trim());

    // Submission is not behind postscreen.
    let out = submit(
        bed,
        "alice@example.test",
        crate::bed::ALICE_PASSWORD,
        "alice@example.test",
        "postscreen-submission",
    );
    assert_eq!(out, "SENT", "{r}: submission on 587: {out}");

    rerun_changes_nothing(bed, "postscreen");
    // mailstead's own delivery check comes from the server's own address, which postscreen
    // lets in at once (its allow list), not after the greeting wait.
    let (status, detail) = check_finding(bed, "delivery");
    assert_eq!(status, "pass", "{r}: check delivery: {detail}");
    let own = log(&format!("LISTED [{}]", bed.ip));
    assert!(
        own.ok() && (own.stdout.contains("ALLOWLISTED") || own.stdout.contains("WHITELISTED")),
        "{r}: postscreen did not allow the server's own address [{}]:\n{}",
        bed.ip,
        bed.sh("journalctl -q -o cat -t postfix/postscreen -n 30")
            .text()
    );
    println!("{r}: {}", own.stdout.trim());
}

/// A password guesser from the host side. `smtp`: `n` wrong passwords on 587 at once, each in
/// its own connection (STARTTLS, then `AUTH PLAIN` only: one failure logged per password,
/// so ten make exactly the Postfix jail's `maxretry` and none is left over after the ban).
/// At once, because Dovecot's auth service answers each
/// further failure from one address later (up to 15 s): in a row, ten would take minutes.
/// Meanwhile a watcher opens new connections to 25, 465, 587 and 993 every 0.3 s until all
/// four are refused (at most 120 s). A connection the ban cuts while it waits for its answer
/// hangs until its 20 s timeout and counts as `cut`. Prints `WRONG k` (535 answers), `CUT k`,
/// `PORTS 25=refused ...`, `LAST s` (the last 535, seconds after the first password was
/// sent) and `SECONDS s` (all four ports refused, seconds after the first password was sent).
/// `imap`: one wrong IMAPS login on 993, printing `IMAP NO` when refused.
const GUESS_PY: &str = r#"import concurrent.futures, imaplib, smtplib, socket, ssl, sys, threading, time
host, mode, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if mode == "imap":
    m = imaplib.IMAP4_SSL(host, 993, ssl_context=ctx, timeout=60)
    try:
        m.login("alice@example.test", "not alice's password")
        print("LOGIN ACCEPTED")
    except imaplib.IMAP4.error as e:
        print("IMAP NO %s" % e)
    m.shutdown()
    sys.exit(0)

t0 = time.monotonic()
last = [0.0]
state = {}
banned = [None]

def watch():
    while time.monotonic() - t0 < 120:
        for p in (25, 465, 587, 993):
            try:
                socket.create_connection((host, p), timeout=3).close()
                state[p] = "open"
            except ConnectionRefusedError:
                state[p] = "refused"
            except OSError as e:
                state[p] = "error(%s)" % e
        if all(state.get(p) == "refused" for p in (25, 465, 587, 993)):
            banned[0] = time.monotonic() - t0
            return
        time.sleep(0.3)

def one(i):
    try:
        s = smtplib.SMTP(host, 587, local_hostname="guesser.outside.test", timeout=20)
        s.starttls(context=ctx)
        s.ehlo()
        s.user, s.password = "alice@example.test", "not alice's password %d" % i
        try:
            s.auth("PLAIN", s.auth_plain)
            return "accepted"
        except smtplib.SMTPAuthenticationError as e:
            last[0] = max(last[0], time.monotonic() - t0)
            return "wrong" if e.smtp_code == 535 else "other %d" % e.smtp_code
        finally:
            s.close()
    except (OSError, smtplib.SMTPException):
        return "cut"

watcher = threading.Thread(target=watch)
watcher.start()
with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
    results = list(ex.map(one, range(n)))
watcher.join()
if "accepted" in results:
    print("LOGIN ACCEPTED")
    sys.exit(1)
print("WRONG %d" % results.count("wrong"))
print("CUT %d" % results.count("cut"))
print("PORTS " + " ".join("%d=%s" % (p, state.get(p)) for p in (25, 465, 587, 993)))
print("LAST %.1f" % last[0])
print("SECONDS %s" % ("%.1f" % banned[0] if banned[0] is not None else "never"))
"#;

fn guess(bed: &Bed, mode: &str, n: u32) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("guess.py");
    std::fs::write(&f, GUESS_PY).unwrap();
    let r = crate::bed::host_sh(&format!(
        "/usr/bin/python3 {} {} {mode} {n}",
        f.display(),
        bed.ip
    ));
    assert!(r.ok(), "the guesser failed:\n{}", r.text());
    r.stdout
}

/// fail2ban-server's memory: PSS and RSS in MiB (it is one python3 process).
fn fail2ban_memory(bed: &Bed) -> String {
    bed.sh_ok(
        r#"for p in /proc/[0-9]*; do
  case $(readlink $p/exe 2>/dev/null) in */python3*) ;; *) continue ;; esac
  grep -q fail2ban-server $p/cmdline 2>/dev/null || continue
  awk '/^Rss:/{r=$2} /^Pss:/{s=$2} END{printf "fail2ban: PSS %.0f MiB, RSS %.0f MiB\n", s/1024, r/1024}' $p/smaps_rollup
done"#,
    )
}

/// Ten wrong passwords on 587, then the ban (mail ports refused, SSH not, `check` names the
/// Postfix jail), lifted with `mailstead unban`; 587 takes alice's password again.
fn ban_and_lift(bed: &Bed) {
    let r = &bed.release;
    let me = &bed.host_ip;
    let jail = "mailstead-postfix";
    let out = guess(bed, "smtp", 10);
    println!("{r}: ten wrong passwords on 587 at once:\n{out}");
    let field = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(k))
            .unwrap_or("?")
            .to_string()
    };
    println!(
        "{r}: {jail}: 25, 465, 587 and 993 refused {} s after the first wrong password (the last 535 came at {} s)",
        field("SECONDS "),
        field("LAST ")
    );
    assert!(
        out.contains("PORTS 25=refused 465=refused 587=refused 993=refused"),
        "{r}: after ten wrong passwords, the mail ports still take new connections:\n{out}\n{}",
        bed.journal("fail2ban.service", 30)
    );
    // What got it banned: Postfix logged the wrong passwords (a connection the ban cuts may
    // never see its 535, so the client's count proves nothing).
    let failures = bed.sh_ok(&format!(
        "journalctl --since -5min --no-pager | grep -c '\\[{me}\\]: SASL PLAIN authentication failed' || true"
    ));
    println!(
        "{r}: Postfix logged {} SASL failures from {me}",
        failures.trim()
    );
    assert!(
        failures.trim().parse::<u32>().unwrap_or(0) >= 10,
        "{r}: fewer than 10 SASL failures logged before the ban ({}):\n{out}",
        failures.trim()
    );
    // SSH from the very same address still answers.
    let ssh = bed.ssh_banner();
    assert!(
        ssh.is_ok(),
        "{r}: SSH is refused during a mail ban: {ssh:?}"
    );
    let (status, detail) = check_finding(bed, "bans");
    println!("{r}: check bans: {status}: {detail}");
    assert_eq!(status, "warn", "{r}: {detail}");
    assert!(
        detail.contains(&format!("{jail}: {me}")),
        "{r}: check does not name the jail and the banned address: {detail}"
    );

    // Bad input changes nothing: exit 2 naming the argument, the value and the fix.
    let bad = bed.mailstead(&["unban", &format!("{me}/24")]);
    assert_eq!(bad.code, 2, "{r}: {}", bad.text());
    assert!(
        bad.text()
            .contains(&format!("ADDRESS: \"{me}/24\" is not an IP address"))
            && bad.text().contains("fix:"),
        "{r}: {}",
        bad.text()
    );
    let lift = bed.mailstead(&["unban", me]);
    assert_eq!(lift.code, 0, "{r}: unban:\n{}", lift.text());
    assert!(
        lift.stdout.contains(&format!("{me} is no longer banned")),
        "{r}: {}",
        lift.text()
    );
    let again = bed.mailstead(&["unban", me]);
    assert_eq!(again.code, 2, "{r}: a second unban:\n{}", again.text());
    assert!(
        again.text().contains("is not banned"),
        "{r}: {}",
        again.text()
    );
    let sent = bed.smtp_submit(
        587,
        "alice@example.test",
        crate::bed::ALICE_PASSWORD,
        crate::bed::Security::StartTls,
        "alice@example.test",
        "after-unban",
    );
    assert!(sent.is_ok(), "{r}: 587 after unban: {sent:?}");
    // Left unbanned for the scenarios after this one.
    let (status, detail) = check_finding(bed, "bans");
    assert_eq!(status, "pass", "{r}: after unban: {detail}");
}

/// One wrong IMAPS login is counted by the live Dovecot jail (its journal match and filter
/// fit what this release's Dovecot logs: 2.3 and 2.4 word it differently). Five would ban,
/// as for Postfix; one is enough to prove the jail sees them, without Dovecot's growing
/// delays for repeated failures.
fn dovecot_jail_counts(bed: &Bed) {
    let r = &bed.release;
    let failed = || {
        bed.sh_ok("fail2ban-client status mailstead-dovecot")
            .lines()
            .find_map(|l| {
                l.trim_start_matches(['|', '`', '-', ' '])
                    .strip_prefix("Total failed:")
            })
            .and_then(|n| n.trim().parse::<u32>().ok())
            .unwrap_or(0)
    };
    let before = failed();
    let out = guess(bed, "imap", 1);
    assert!(out.contains("IMAP NO"), "{r}: {out}");
    let counted = (0..120).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(250));
        failed() > before
    });
    assert!(
        counted,
        "{r}: the Dovecot jail did not count a wrong IMAPS login:\n{out}\n{}\n{}",
        bed.sh_ok(&format!(
            "journalctl -u dovecot.service --since -3min --no-pager | grep -F 'rip={}' | tail -5",
            bed.host_ip
        )),
        bed.sh_ok("fail2ban-client status mailstead-dovecot; fail2ban-client banned")
    );
    println!("{r}: mailstead-dovecot counted a wrong IMAPS login");
}

pub fn bans(bed: &Bed) {
    let r = &bed.release;
    let t0 = std::time::Instant::now();
    println!("{r}: {}", fail2ban_memory(bed));
    let (status, detail) = check_finding(bed, "bans");
    assert_eq!(status, "pass", "{r}: before any guess: {detail}");
    assert!(detail.contains("no address banned"), "{r}: {detail}");
    // First, while no address has failed yet (Dovecot answers failures that follow others from
    // the same address later and later).
    dovecot_jail_counts(bed);
    ban_and_lift(bed);
    println!(
        "{r}: the bans scenario took {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
