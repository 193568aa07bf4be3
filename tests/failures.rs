//! When a daemon mail depends on is down (issue 22, "Nothing lost"): the policy of
//! docs/user/failures.md, on a booted server (a fork of the run's installed bed), as a sender
//! and the admin meet it.
//!
//! - rspamd (the filter) stopped: a message from outside on port 25 and a logged-in user's
//!   submission on 587 each get a 4xx (a temporary refusal: the sender retries), and neither
//!   is queued or delivered: nothing accepted unscanned or leaving unsigned. Mail made on the
//!   server (`sendmail`, as cron sends it) waits in Postfix's maildrop. `mailstead check`
//!   exits 1 with `signer` naming the filter down, what Postfix does meanwhile and the fix.
//!   Once rspamd runs again: `check` has no failure, the waiting local message is delivered,
//!   and mail from outside is delivered and read over IMAPS.
//! - Redis refusing writes (its memory limit under `noeviction`: `OOM`; then a replica count
//!   it cannot meet: `NOREPLICAS`): `check` exits 1 with `limits` naming Redis's reply and the
//!   fix for it; writable again, `limits` passes.
//! - Outbound port 25 going nowhere (outside.test's MX an address where no machine is): a
//!   message submitted to it is deferred, and `check`'s `queue` warns naming port 25 and
//!   `relay_host` within minutes of the send, not after an hour.
//!
//! Run as root by `tests/run` (`cargo test --test failures -- --ignored --test-threads=1`).
use mailstead_bed as bed;

use bed::{Bed, ALICE_PASSWORD, MAILBOX};

/// The server's replies in a swaks transcript (`<-  250 ...`, `<** 451 ...`; `<~  ` and `<~*`
/// inside TLS), without the arrows.
fn replies(transcript: &str) -> Vec<String> {
    transcript
        .lines()
        .filter_map(|l| {
            let rest = ["<~*", "<**", "<~", "<-"]
                .iter()
                .find_map(|p| l.strip_prefix(p))?;
            Some(rest.trim().to_string())
        })
        .collect()
}

/// A transcript refused for now: some reply is 4xx, none says queued. Returns the first 4xx
/// with the command it answered (`MAIL FROM:<...> -> 451 ...`).
fn refused_for_now(what: &str, transcript: &str) -> String {
    let r = replies(transcript);
    assert!(
        r.iter().any(|l| l.starts_with('4')) && !r.iter().any(|l| l.contains("queued")),
        "{what}: a 4xx and nothing queued while the filter is down:\n{transcript}"
    );
    let mut sent = "(the greeting)".to_string();
    for l in transcript.lines() {
        let t = l.trim_start();
        if let Some(cmd) = ["-> ", "~> "].iter().find_map(|p| t.strip_prefix(p)) {
            sent = cmd.trim().to_string();
        } else if replies(l).first().is_some_and(|x| x.starts_with('4')) {
            return format!("{sent} -> {}", replies(l)[0]);
        }
    }
    unreachable!()
}

/// The messages in alice's INBOX with `subject` (doveadm, inside the bed).
fn in_inbox(bed: &Bed, subject: &str) -> usize {
    bed.sh_ok(&format!(
        "doveadm search -u {MAILBOX} mailbox INBOX header Subject '{subject}' | wc -l"
    ))
    .trim()
    .parse()
    .unwrap_or(0)
}

/// Waits up to `secs` for rspamd's proxy (the milter) to answer again.
fn wait_for_milter(bed: &Bed, secs: u32) {
    bed.sh_ok(&format!(
        "for i in $(seq {}); do python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 11332), 1)' 2>/dev/null && exit 0; sleep 0.2; done; exit 1",
        secs * 5
    ));
}

fn filter_down(release: &str) {
    let bed = Bed::installed(&format!("failures-{release}"), release);
    let r = release;
    // Every printed record served, so `check` fails only for what this test breaks.
    bed.serve_published();
    assert_eq!(
        bed.sh_ok("postconf -h milter_default_action").trim(),
        "tempfail",
        "{r}: Postfix refuses for now while the milter is down"
    );
    wait_for_milter(&bed, 20);

    // ---- rspamd stopped
    bed.sh_ok("systemctl stop rspamd && ! systemctl is-active --quiet rspamd");
    let inbound = bed.bed(
        "smtp-deliver",
        &[MAILBOX, "--subject", &format!("failures-{r}-inbound")],
    );
    assert!(!inbound.ok(), "{r}: inbound accepted:\n{}", inbound.text());
    let inbound_reply = refused_for_now(&format!("{r}: port 25"), &inbound.stdout);
    let submission = bed::bed_cmd(
        &[
            "smtp-auth",
            &bed.name,
            "587",
            MAILBOX,
            "--starttls",
            "--to",
            "bob@outside.test",
            "--subject",
            &format!("failures-{r}-submission"),
        ],
        &[("BED_PASS", ALICE_PASSWORD)],
        None,
    );
    assert!(
        !submission.ok(),
        "{r}: submission accepted:\n{}",
        submission.text()
    );
    let submission_reply = refused_for_now(&format!("{r}: port 587"), &submission.stdout);
    println!(
        "{r}: rspamd stopped: port 25 answers {inbound_reply:?}; 587 answers {submission_reply:?}"
    );
    // Nothing of either is in the queue (no unsigned message waiting to leave).
    let queue = bed.sh_ok("postqueue -j");
    assert!(
        !queue.contains("bob@outside.test"),
        "{r}: the submission was queued:\n{queue}"
    );
    // Mail made on the server waits in the maildrop.
    let local_subject = format!("failures-{r}-local");
    bed.sh_ok(&format!(
        "printf 'Subject: {local_subject}\\n\\nmade on the server while the filter is down\\n' | /usr/sbin/sendmail {MAILBOX}"
    ));
    std::thread::sleep(std::time::Duration::from_secs(3));
    let waiting = bed.sh_ok("find /var/spool/postfix/maildrop -type f | wc -l");
    println!(
        "{r}: local mail while rspamd is stopped: {} file(s) in the maildrop",
        waiting.trim()
    );
    assert_eq!(
        in_inbox(&bed, &local_subject),
        0,
        "{r}: local mail delivered unscanned"
    );

    let t0 = std::time::Instant::now();
    let (code, list) = bed.check_json();
    let signer = bed::finding(&list, "signer");
    println!(
        "{r}: check with rspamd stopped: exit {code} in {:.1} s; signer {}: {} / fix: {}",
        t0.elapsed().as_secs_f64(),
        signer["status"],
        signer["detail"],
        signer["fix"]
    );
    assert_eq!(
        code, 1,
        "{r}: check exits 1 with the filter down: {list:#?}"
    );
    let detail = signer["detail"].as_str().unwrap_or_default();
    assert!(
        signer["status"] == "fail"
            && detail.starts_with("rspamd, the mail filter, is not running (inactive)")
            && detail.contains("451 4.7.1")
            && signer["fix"]
                .as_str()
                .is_some_and(|f| f.contains("systemctl start rspamd")),
        "{r}: signer names the filter down: {signer:#}"
    );

    // ---- rspamd again
    bed.sh_ok("systemctl start rspamd");
    wait_for_milter(&bed, 30);
    let (code, list) = bed.check_json();
    let failed: Vec<&serde_json::Value> = list.iter().filter(|f| f["status"] == "fail").collect();
    println!(
        "{r}: check with rspamd running again: exit {code}; signer {}",
        bed::finding(&list, "signer")["status"]
    );
    assert!(
        matches!(code, 0 | 5) && failed.is_empty(),
        "{r}: check after rspamd started: {failed:#?}"
    );
    // The local message waiting in the maildrop is delivered (pickup tries again by itself).
    bed.sh_ok(&format!(
        "for i in $(seq 120); do [ \"$(doveadm search -u {MAILBOX} mailbox INBOX header Subject '{local_subject}' | wc -l)\" -ge 1 ] && exit 0; sleep 1; done; exit 1"
    ));
    assert_eq!(in_inbox(&bed, &local_subject), 1, "{r}: local mail once");
    let subject = format!("failures-{r}-after");
    bed.smtp_deliver(MAILBOX, &subject)
        .unwrap_or_else(|e| panic!("{r}: deliver once rspamd runs: {e}"));
    bed.imaps_fetch(MAILBOX, ALICE_PASSWORD, Some(&subject), 30)
        .unwrap_or_else(|e| panic!("{r}: read back: {e}"));

    // ---- Redis refusing writes
    for (what, set, reply, unset) in [
        (
            "memory limit",
            "CONFIG SET maxmemory-policy noeviction; CONFIG SET maxmemory 1",
            "OOM",
            "CONFIG SET maxmemory 0",
        ),
        (
            "replicas",
            "CONFIG SET min-replicas-to-write 1",
            "NOREPLICAS",
            "CONFIG SET min-replicas-to-write 0",
        ),
    ] {
        let cli = |cmds: &str| {
            for c in cmds.split("; ") {
                bed.sh_ok(&format!("redis-cli {c}"));
            }
        };
        cli(set);
        let (code, list) = bed.check_json();
        let limits = bed::finding(&list, "limits").clone();
        cli(unset);
        println!(
            "{r}: Redis refusing writes ({what}): exit {code}; limits {}: {} / fix: {}",
            limits["status"], limits["detail"], limits["fix"]
        );
        assert_eq!(code, 1, "{r}: {what}: {list:#?}");
        assert!(
            limits["status"] == "fail"
                && limits["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains(&format!("refuses writes ({reply}"))
                        && d.contains("no sending limit is enforced")),
            "{r}: {what}: {limits:#}"
        );
        let (_, list) = bed.check_json();
        assert_eq!(
            bed::finding(&list, "limits")["status"],
            "pass",
            "{r}: Redis writable again ({what}): {list:#?}"
        );
    }

    // ---- outbound port 25 going nowhere (as a provider's block looks): outside.test's MX is
    // an address of the bed's network where no machine is.
    let nowhere = format!("{}.77", bed.ip.rsplit_once('.').unwrap().0);
    bed.dns(&[
        "mx-host=outside.test,mx.outside.test,10",
        &format!("address=/mx.outside.test/{nowhere}"),
    ]);
    let t0 = std::time::Instant::now();
    bed.smtp_submit(
        587,
        MAILBOX,
        ALICE_PASSWORD,
        bed::Security::StartTls,
        "bob@outside.test",
        &format!("failures-{r}-outbound"),
    )
    .unwrap_or_else(|e| panic!("{r}: submit to outside.test: {e}"));
    let reason = bed.sh_ok(
        "for i in $(seq 120); do q=$(postqueue -j | grep '\"deferred\"' | grep bob@outside.test); [ -n \"$q\" ] && { echo \"$q\"; exit 0; }; sleep 1; done; exit 1",
    );
    let (code, list) = bed.check_json();
    let queue = bed::finding(&list, "queue");
    println!(
        "{r}: outbound 25 going nowhere: check {:.0} s after the message was sent: exit {code}; queue {}: {} / fix: {}",
        t0.elapsed().as_secs_f64(),
        queue["status"],
        queue["detail"],
        queue["fix"]
    );
    assert!(
        queue["status"] == "warn"
            && queue["detail"].as_str().is_some_and(|d| d.contains(
                "connections to other servers' port 25 fail for 1 recipient (bob@outside.test: connect to mx.outside.test["
            ) && d.contains("outbound port 25 is blocked"))
            && queue["fix"]
                .as_str()
                .is_some_and(|f| f.contains("relay_host")),
        "{r}: queue names port 25 within minutes ({reason}): {queue:#}"
    );
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(180),
        "{r}: said within minutes"
    );
}

#[test]
#[ignore = "booted Debian: run by tests/run as root"]
fn filter_down_trixie() {
    filter_down("trixie");
}

#[test]
#[ignore = "booted Debian: run by tests/run as root"]
fn filter_down_bookworm() {
    filter_down("bookworm");
}
