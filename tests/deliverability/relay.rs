//! Outgoing mail through a relay host (smarthost), in a booted bed, as a user sees it.
//!
//! Assumes a bed where mailstead was installed with `bed.default_answers()` (alice@example.test
//! with `ALICE_PASSWORD`); it changes the answers (adds `relay_host`, later removes it), the
//! bed's DNS (`relay.outside.test` and `outside.test` → the host end) and the bed's trust store,
//! and uses the outside SMTP sink (`bed.sink_up`), which it leaves down. Test setup, not
//! mailstead: the sink's CA is made trusted inside the bed by hand
//! (`/usr/local/share/ca-certificates/` + `update-ca-certificates`), as a relay provider's
//! certificate from a public CA already is on a real server.
//!
//! Proves, in order:
//! 1. with the relay's certificate NOT trusted, mail is deferred, never sent (TLS is verified,
//!    there is no fallback to clear text or to an unverified session);
//! 2. once trusted, the held mail and new mail go through the relay, over TLS, authenticated as
//!    the relay user (the sink requires AUTH after STARTTLS and records both);
//!    `mailstead check` warns that mail waits for the relay, with Postfix's reason;
//! 3. the password map and its `.db` are 0600 root:root; the password appears in no mailstead
//!    output, no log (`journalctl`, /var/log), no journal or snapshot of mailstead's state dir;
//!    a re-run makes 0 changes;
//!    a wrong password is refused by the relay, the mail waits and `check` names the failed
//!    login; the corrected password is postmap'd again and the held mail goes out;
//! 4. removing `relay_host` from the answers removes the map, its `.db` and the settings, and
//!    mail goes out directly again (to the outside MX on port 25).
//!
//! Documented limit: the removal run snapshots the map it removes (so `mailstead rollback` can
//! put the relay back); those snapshot blobs hold the password, and are 0600 files in 0700
//! directories under /var/lib/mailstead, as root-only as the map itself. The test asserts
//! exactly that: after removal the password is in no journal and only in such blobs.
use crate::bed::{Bed, Security, ALICE_PASSWORD};
use std::path::Path;
use std::time::{Duration, Instant};

pub const RELAY_USER: &str = "relayuser";
/// Distinctive, with characters a password map must carry as they are (`:`, `#`, spaces).
pub const RELAY_PASS: &str = "Relay-pw: 7f3e #zebra quartz";
const MAP: &str = "/etc/postfix/mailstead_relay_password";

fn relay_block() -> String {
    format!(
        "relay_host:\n  host: relay.outside.test\n  port: 587\n  username: {RELAY_USER}\n  password: \"{RELAY_PASS}\"\n"
    )
}

/// The messages in the sink's directory, as (eml, json) text, in order.
fn sink_messages(dir: &Path) -> Vec<(String, String)> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_else(|_| Vec::new());
    names.retain(|p: &std::path::PathBuf| p.extension().is_some_and(|x| x == "json"));
    names.sort();
    names
        .iter()
        .map(|j| {
            (
                std::fs::read_to_string(j.with_extension("eml")).unwrap_or_default(),
                std::fs::read_to_string(j).unwrap(),
            )
        })
        .collect()
}

/// Wait up to `secs` for a message whose raw text contains `subject`.
fn wait_for(dir: &Path, subject: &str, secs: u64) -> Option<(String, String)> {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(m) = sink_messages(dir)
            .into_iter()
            .find(|(eml, _)| eml.contains(subject))
        {
            return Some(m);
        }
        if Instant::now() > end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn json_field(json: &str, key: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(json).expect("sink json");
    v[key].clone()
}

/// The smtp client's log lines (by syslog tag: the unit is `postfix@-` on Debian 12 and
/// `postfix` on Debian 13).
fn postfix_log(bed: &Bed) -> String {
    bed.sh("journalctl --no-pager -o cat -t postfix/smtp -t postfix/submission/smtpd -n 40")
        .stdout
}

/// Every place the password must not be: whole journal, /var/log, mailstead's state dir.
/// Returns the files under the state dir that hold it (for the removal case).
fn password_leaks(bed: &Bed, what: &str) -> Vec<String> {
    let pw = RELAY_PASS;
    let j = bed.sh("journalctl --no-pager -o cat 2>/dev/null");
    assert!(
        !j.stdout.contains(pw),
        "{what}: the relay password is in the journal"
    );
    let logs = bed.exec(&["grep", "-rlF", "--", pw, "/var/log"]);
    assert!(
        logs.stdout.trim().is_empty(),
        "{what}: the relay password is in /var/log: {}",
        logs.stdout
    );
    let state = bed.exec(&["grep", "-rlF", "--", pw, "/var/lib/mailstead"]);
    state
        .stdout
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

pub fn scenario(bed: &Bed) {
    let r = &bed.release;
    // --- the outside world: the relay (AUTH required after STARTTLS) and its name -------------
    let sink = bed.sink_up(587, true, Some((RELAY_USER, RELAY_PASS)));
    bed.dns(&[&format!("address=/relay.outside.test/{}", bed.host_ip)]);
    let answers = format!("{}{}", bed.default_answers(), relay_block());
    bed.write_answers(&answers);

    // The plan names the password map but never shows what is in it.
    let plan = bed.mailstead(&["plan", "--plain"]);
    assert!(
        plan.stdout.contains(&format!("+ {MAP} (0600 root:root)"))
            && plan.stdout.contains("(contents hidden: holds secrets)")
            && plan
                .stdout
                .contains("relayhost: (empty) -> [relay.outside.test]:587"),
        "{r}: plan:\n{}",
        plan.text()
    );
    assert!(
        !plan.text().contains(RELAY_PASS),
        "{r}: password in the plan"
    );

    let t = Instant::now();
    let run = bed.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(run.code, 0, "{r}: install with relay_host:\n{}", run.text());
    println!(
        "{r}: install with relay_host: {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert!(
        !run.text().contains(RELAY_PASS),
        "{r}: password in the output"
    );
    let plan = bed.mailstead(&["plan", "--plain"]);
    assert!(
        !plan.text().contains(RELAY_PASS),
        "{r}: password in the plan"
    );

    // --- the map and its .db: 0600 root:root ---------------------------------------------------
    let modes = bed.sh_ok(&format!("stat -c '%a %U:%G %n' {MAP} {MAP}.db"));
    for l in modes.lines() {
        assert!(l.starts_with("600 root:root "), "{r}: {l}");
    }
    assert_eq!(modes.lines().count(), 2, "{r}: {modes}");
    // What postmap alone makes from a 0600 map (shown, for the record: mailstead also runs it
    // under umask 077 and chmods the .db, asserted above).
    let plain = bed.sh_ok(
        "cd /tmp && umask 022 && printf 'k v\\n' > m && chmod 600 m && postmap hash:/tmp/m && stat -c %a m.db && rm -f m m.db",
    );
    println!(
        "{r}: postmap alone (umask 022) makes the .db of a 0600 map mode {}",
        plain.trim()
    );
    let relayhost = bed.sh_ok("postconf -h relayhost");
    assert_eq!(relayhost.trim(), "[relay.outside.test]:587", "{r}");

    // --- 1. not trusted yet: deferred, nothing reaches the relay -------------------------------
    let submit = |subject: &str| {
        bed.smtp_submit(
            587,
            "alice@example.test",
            ALICE_PASSWORD,
            Security::StartTls,
            "bob@outside.test",
            subject,
        )
        .unwrap_or_else(|e| panic!("{r}: submit {subject}: {e}\n{}", postfix_log(bed)))
    };
    submit("relay-untrusted");
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        wait_for(&sink, "relay-untrusted", 0).is_none(),
        "{r}: mail went to a relay whose certificate is not trusted"
    );
    let q = bed.sh_ok("mailq");
    assert!(
        q.contains("bob@outside.test"),
        "{r}: not held in the queue:\n{q}"
    );
    // mailq shows why it waits: the certificate, not anything else.
    let reason = q
        .lines()
        .find(|l| l.trim_start().starts_with('('))
        .unwrap_or_default()
        .trim()
        .to_string();
    assert!(
        reason.contains("certificate") || reason.contains("TLS"),
        "{r}: deferred for another reason: {reason}\n{q}\n{}",
        postfix_log(bed)
    );
    println!(
        "{r}: untrusted relay: mail deferred {reason}, {} message(s) at the relay",
        sink_messages(&sink).len()
    );

    // `mailstead check` says mail waits for the relay, with Postfix's reason.
    println!("{r}: postqueue -j: {}", bed.sh_ok("postqueue -j").trim());
    let check = bed.mailstead(&["check", "--plain"]);
    assert!(
        check.stdout.contains(&format!(
            "1 outgoing message(s) wait for the relay [relay.outside.test]:587: {}",
            reason.trim_matches(['(', ')'])
        )),
        "{r}: check does not warn about the waiting mail:\n{}",
        check.text()
    );

    // --- 2. trusted: the held mail and new mail go through, TLS + AUTH -------------------------
    bed.cp_in(
        Path::new(&bed.state("SINK_CA")),
        "/usr/local/share/ca-certificates/bed-sink-ca.crt",
    );
    bed.sh_ok("update-ca-certificates >/dev/null && postfix reload 2>/dev/null; postqueue -f");
    let t = Instant::now();
    // A flush asked while the reload restarts the queue manager can be lost (the mail would
    // then wait for the next queue run, minutes away): ask again every 10 s, as an admin would.
    let held = (0..6)
        .find_map(|i| {
            if i > 0 {
                bed.sh_ok("postqueue -f");
            }
            wait_for(&sink, "relay-untrusted", 10)
        })
        .unwrap_or_else(|| {
            panic!(
                "{r}: the held mail never reached the relay\n{}",
                postfix_log(bed)
            )
        });
    println!(
        "{r}: held mail relayed {:.1} s after the flush",
        t.elapsed().as_secs_f64()
    );
    submit("relay-trusted");
    let t = Instant::now();
    let (_, meta) = wait_for(&sink, "relay-trusted", 60)
        .unwrap_or_else(|| panic!("{r}: mail never reached the relay\n{}", postfix_log(bed)));
    println!("{r}: submit -> relay: {:.1} s", t.elapsed().as_secs_f64());
    for (_, m) in [&held, &(String::new(), meta.clone())] {
        assert_eq!(json_field(m, "login"), RELAY_USER, "{r}: {m}");
        assert_eq!(json_field(m, "tls"), true, "{r}: {m}");
        assert_eq!(json_field(m, "rcpt_tos")[0], "bob@outside.test", "{r}: {m}");
        assert_eq!(json_field(m, "mail_from"), "alice@example.test", "{r}: {m}");
    }

    // --- 3. re-run changes nothing; the password is nowhere it must not be --------------------
    let again = bed.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(again.code, 0, "{r}: {}", again.text());
    assert!(
        again.stdout.contains("0 changes"),
        "{r}: re-run:\n{}",
        again.text()
    );
    assert!(!again.text().contains(RELAY_PASS));
    let check = bed.mailstead(&["check", "--plain"]);
    assert!(
        check
            .stdout
            .contains("outgoing mail goes through [relay.outside.test]:587 as relayuser"),
        "{r}: check:\n{}",
        check.text()
    );
    assert!(!check.text().contains(RELAY_PASS));
    let found = password_leaks(bed, "after the relay install");
    assert!(
        found.is_empty(),
        "{r}: the relay password is in mailstead's state dir: {found:?}"
    );
    println!(
        "{r}: relay password absent from the journal, /var/log, /var/lib/mailstead and the output"
    );

    // --- 3b. a wrong password: the relay refuses it, mail waits and `check` says why; the
    // corrected password is postmap'd again (the map changed) and the held mail goes out.
    let wrong = answers.replace(RELAY_PASS, "not the relay password");
    bed.write_answers(&wrong);
    let run = bed.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(run.code, 0, "{r}: wrong password install:\n{}", run.text());
    assert!(
        run.stdout.contains("postmap"),
        "{r}: the changed map was not postmap'd:\n{}",
        run.text()
    );
    submit("relay-wrong-password");
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        wait_for(&sink, "relay-wrong-password", 0).is_none(),
        "{r}: the relay took mail with a wrong password"
    );
    let check = bed.mailstead(&["check", "--plain"]);
    assert!(
        check.stdout.contains("wait for the relay")
            && check.stdout.contains("authentication failed"),
        "{r}: check does not say the login failed:\n{}\n{}",
        check.text(),
        bed.sh_ok("mailq")
    );
    bed.write_answers(&answers);
    let run = bed.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(run.code, 0, "{r}: corrected password:\n{}", run.text());
    bed.sh_ok("postqueue -f");
    let (_, m) = wait_for(&sink, "relay-wrong-password", 60).unwrap_or_else(|| {
        panic!(
            "{r}: held mail not relayed after the password was fixed\n{}",
            postfix_log(bed)
        )
    });
    assert_eq!(json_field(&m, "login"), RELAY_USER, "{r}: {m}");
    println!("{r}: wrong relay password: mail held, `check` warns \"authentication failed\"; fixed: relayed");

    // --- 4. remove relay_host: direct delivery again -------------------------------------------
    bed.sink_down();
    let mx = bed.sink_up(25, true, None);
    bed.dns(&[&format!("address=/outside.test/{}", bed.host_ip)]);
    bed.write_answers(&bed.default_answers());
    let run = bed.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(run.code, 0, "{r}: removing relay_host:\n{}", run.text());
    assert!(!run.text().contains(RELAY_PASS));
    bed.sh_ok(&format!("! test -e {MAP} && ! test -e {MAP}.db"));
    assert_eq!(bed.sh_ok("postconf -h relayhost").trim(), "", "{r}");
    assert_eq!(
        bed.sh_ok("postconf -h smtp_sasl_auth_enable").trim(),
        "no",
        "{r}"
    );
    assert_eq!(
        bed.sh_ok("postconf -h smtp_tls_policy_maps").trim(),
        "",
        "{r}"
    );
    submit("direct-again");
    let (_, m) = wait_for(&mx, "direct-again", 60).unwrap_or_else(|| {
        panic!(
            "{r}: direct delivery failed after removing the relay\n{}",
            postfix_log(bed)
        )
    });
    assert_eq!(json_field(&m, "login"), serde_json::Value::Null, "{r}: {m}");
    // The removal's snapshots (for rollback) are the only copies: root-only blobs, no journal.
    let blobs = password_leaks(bed, "after removing the relay");
    println!(
        "{r}: after removal the password is in {} snapshot blob(s) (for rollback), nowhere else",
        blobs.len()
    );
    for f in blobs {
        assert!(f.contains("/blobs/"), "{r}: the relay password is in {f}");
        let mode = bed.sh_ok(&format!(
            "stat -c %a {f} $(dirname {f}) $(dirname $(dirname {f}))"
        ));
        assert_eq!(
            mode.split_whitespace().collect::<Vec<_>>(),
            ["600", "700", "700"],
            "{r}: {f}"
        );
    }
    println!("{r}: relay removed: map gone, direct delivery to the outside MX works");

    // --- 5. a relay install rolled back leaves no relay behind ---------------------------------
    bed.write_answers(&answers);
    let run = bed.mailstead(&["install", "--yes", "--plain"]);
    assert_eq!(run.code, 0, "{r}: relay again:\n{}", run.text());
    bed.sh_ok(&format!("test -e {MAP}.db"));
    let back = bed.mailstead(&["rollback", "--yes", "--plain"]);
    assert_eq!(back.code, 0, "{r}: rollback:\n{}", back.text());
    assert!(!back.text().contains(RELAY_PASS));
    bed.sh_ok(&format!("! test -e {MAP} && ! test -e {MAP}.db"));
    assert_eq!(bed.sh_ok("postconf -h relayhost").trim(), "", "{r}");
    // Leave the bed as the scenario found it: default answers, and nothing left to change.
    bed.write_answers(&bed.default_answers());
    let rerun = bed.mailstead(&["install", "--yes", "--plain"]);
    assert!(rerun.stdout.contains("0 changes"), "{r}: {}", rerun.text());
    bed.sink_down();
    println!("{r}: relay install rolled back: map, .db and relayhost gone; 0 changes after");
}
