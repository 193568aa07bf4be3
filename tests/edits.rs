//! Everyday edits on a booted server (issue 21, item 8): `add-mailbox`, `add-domain` (with its
//! DKIM key), a no-op re-run and `plan`, each timed inside the bed next to the same edit made
//! by hand (the lines written, `postmap`, the key made): the floor. Printed, not asserted.
//!
//! Asserted, as a user would see it: no service is restarted by an add, none reloaded but
//! Postfix for a new domain (each unit's InvocationID and main PID, Postfix's queue manager
//! but after add-domain, rspamd's workers and Dovecot's reload count are the same after it);
//! mail to the new mailbox, and from outside to the new domain, is delivered and read over
//! IMAP right after the add; the new domain's outgoing mail is DKIM-signed right after its
//! add, and dkimpy accepts the signature against the record in the bed's DNS.
//!
//! Run as root by `tests/run` (`cargo test --test edits -- --ignored --test-threads=1`).
use mailstead_bed as bed;

use bed::{Bed, Security, ALICE_PASSWORD, MAILSTEAD_IN_BED};
use std::collections::BTreeMap;

const CAROL_PASSWORD: &str = "carol has a long passphrase";
const BOB_PASSWORD: &str = "bob at other.test has a long one";

/// What says whether a service was restarted or reloaded: systemd's InvocationID and main PID
/// of each unit (a restart changes them), and what a reload changes while they stay: Postfix's
/// `qmgr` (a `postfix reload` starts a new one), rspamd's workers (a reload forks new ones),
/// Dovecot's count of "reloading configuration" in its journal.
fn services(bed: &Bed) -> BTreeMap<String, String> {
    let out = bed.sh_ok(
        r#"for u in postfix.service postfix@-.service dovecot.service rspamd.service redis-server.service fail2ban.service; do
  echo "$u $(systemctl show --value -p InvocationID $u) pid=$(systemctl show --value -p MainPID $u)"
done
echo "postfix-qmgr $(pgrep -x qmgr | sort | tr '\n' ' ')"
echo "rspamd-workers $(pgrep -f '^rspamd: (rspamd_proxy|normal|controller)' | sort -n | tr '\n' ' ')"
echo "dovecot-reloads $(journalctl -q -u dovecot.service | grep -c 'reloading configuration')"
"#,
    );
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

/// Runs `script` in the bed and returns the run with the seconds measured inside the bed
/// around it (nsenter's own start left out).
fn timed(bed: &Bed, script: &str, stdin: Option<&str>) -> (bed::Run, f64) {
    let wrapped = format!(
        "t0=$(date +%s%N)\n{script}\nrc=$?\nt1=$(date +%s%N)\necho \"ELAPSED_NS $((t1-t0))\" >&2\nexit $rc"
    );
    let r = match stdin {
        Some(s) => bed.exec_stdin(&["bash", "-c", &wrapped], s.as_bytes()),
        None => bed.exec(&["bash", "-c", &wrapped]),
    };
    let ns: f64 = r
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("ELAPSED_NS "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no time measured:\n{}", r.text()));
    (r, ns / 1e9)
}

fn mailstead(bed: &Bed, args: &str, stdin: Option<&str>) -> (bed::Run, f64) {
    let (r, secs) = timed(bed, &format!("{MAILSTEAD_IN_BED} {args}"), stdin);
    assert!(r.ok(), "mailstead {args}:\n{}", r.text());
    (r, secs)
}

/// `mailstead args` leaves every service as it was; prints and returns the seconds.
fn unchanged(bed: &Bed, what: &str, args: &str, stdin: Option<&str>) -> f64 {
    unchanged_but(bed, what, args, stdin, &[])
}

/// As [`unchanged`], but the markers in `reloaded` (keys of [`services`]) may change: what a
/// reload, never a restart, changes.
fn unchanged_but(bed: &Bed, what: &str, args: &str, stdin: Option<&str>, reloaded: &[&str]) -> f64 {
    let before = services(bed);
    let (r, secs) = mailstead(bed, args, stdin);
    let after = services(bed);
    println!("{}: {what}: {secs:.3} s", bed.release);
    for (k, v) in &before {
        println!("  {k}: {v} -> {}", after.get(k).map_or("(gone)", |s| s));
    }
    let kept = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        m.iter()
            .filter(|(k, _)| !reloaded.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert_eq!(
        kept(&before),
        kept(&after),
        "{what} restarted or reloaded a service:\n{}",
        r.text()
    );
    secs
}

/// The signing selector of `domain` and its DKIM TXT record line for dnsmasq.
fn dkim_record(bed: &Bed, domain: &str) -> (String, String) {
    let sel = bed
        .sh_ok(&format!(
            "awk '$1==\"{domain}\"{{print $2}}' /etc/rspamd/local.d/dkim_selectors.map"
        ))
        .trim()
        .to_string();
    let p = bed.sh_ok(&format!(
        "openssl pkey -in /var/lib/rspamd/dkim/{domain}.{sel}.key -pubout -outform DER | base64 -w0"
    ));
    let txt = format!(
        "txt-record={sel}._domainkey.{domain},\"v=DKIM1; k=rsa; p={}\"",
        p.trim()
    );
    (sel, txt)
}

/// The same edits by hand, as an admin who knows the files would make them: one passwd-file
/// line and two map lines with `postmap` (a mailbox); the domain's map lines, `postmap`, an
/// RSA-2048 key and its selector line, and `postfix reload` for the domain list (virtual(5):
/// "Issue a postfix reload command to eliminate the delay") (a domain).
const FLOOR_MAILBOX: &str = r#"set -e
h=$(printf '%s' 'dave has a long passphrase' | openssl passwd -6 -stdin)
echo "dave@example.test:{SHA512-CRYPT}$h::::::" >>/etc/dovecot/users
echo "dave@example.test example.test/dave/" >>/etc/postfix/virtual_mailboxes
echo "dave@example.test dave@example.test" >>/etc/postfix/virtual_senders
postmap hash:/etc/postfix/virtual_mailboxes hash:/etc/postfix/virtual_senders"#;

const FLOOR_DOMAIN: &str = r#"set -e
echo "floor.test OK" >>/etc/postfix/virtual_domains
printf '%s\n' "postmaster@floor.test postmaster@example.test" "abuse@floor.test postmaster@example.test" >>/etc/postfix/virtual_aliases
postmap hash:/etc/postfix/virtual_domains hash:/etc/postfix/virtual_aliases
k=/var/lib/rspamd/dkim/floor.test.s20990101.key
(umask 077; openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $k)
chown _rspamd:_rspamd $k
echo "floor.test s20990101" >>/etc/rspamd/local.d/dkim_selectors.map
postfix reload 2>/dev/null"#;

fn edits(release: &str) {
    let bed = Bed::installed(&format!("edits-{release}"), release);
    let r = release;

    // The outside world: an SMTP server on the host end, outside.test's MX pointing at it.
    bed.dns(&[
        "mx-host=outside.test,mx.outside.test,10",
        &format!("address=/mx.outside.test/{}", bed.host_ip),
    ]);
    let sink = bed.sink_up(25, false, None);
    // The fork's own install reloaded rspamd: its new workers first.
    bed.sh_ok(
        "for i in $(seq 100); do pgrep -f '^rspamd: rspamd_proxy' >/dev/null && exit 0; sleep 0.2; done; exit 1",
    );

    // A configured server: a no-op re-run and a plan.
    let noop = unchanged(&bed, "no-op re-run", "install --yes --plain", None);
    let (plan, plan_secs) = mailstead(&bed, "plan --verbose", None);
    println!("{r}: plan: {plan_secs:.3} s");
    if let Some(l) = plan.stdout.lines().find(|l| l.starts_with("planning ran ")) {
        println!("{r}: {l}");
    }

    // add-mailbox: the mailbox receives mail and reads it over IMAP right after.
    let add_mailbox = unchanged(
        &bed,
        "add-mailbox",
        "add-mailbox carol@example.test --password-stdin --yes --plain",
        Some(&format!("{CAROL_PASSWORD}\n")),
    );
    bed.smtp_deliver("carol@example.test", "edits-carol")
        .unwrap_or_else(|e| panic!("{r}: deliver to the new mailbox: {e}"));
    bed.imaps_fetch(
        "carol@example.test",
        CAROL_PASSWORD,
        Some("edits-carol"),
        30,
    )
    .unwrap_or_else(|e| panic!("{r}: read the new mailbox over IMAP: {e}"));

    // add-domain, then a mailbox in it: mail from outside reaches it, and its mail is signed
    // as the new domain, right after. A new domain reloads Postfix (its address class comes
    // from trivial-rewrite, which sees a changed table only when reloaded or when a new client
    // connects: virtual(5)); the master stays (InvocationID, main PID), every other service too.
    let add_domain = unchanged_but(
        &bed,
        "add-domain",
        "add-domain other.test --yes --plain",
        None,
        &["postfix-qmgr"],
    );
    let add_mailbox2 = unchanged(
        &bed,
        "add-mailbox (new domain)",
        "add-mailbox bob@other.test --password-stdin --yes --plain",
        Some(&format!("{BOB_PASSWORD}\n")),
    );
    bed.smtp_deliver("bob@other.test", "edits-new-domain")
        .unwrap_or_else(|e| panic!("{r}: deliver to the new domain's mailbox: {e}"));
    bed.imaps_fetch("bob@other.test", BOB_PASSWORD, Some("edits-new-domain"), 30)
        .unwrap_or_else(|e| panic!("{r}: read the new domain's mailbox over IMAP: {e}"));
    bed.smtp_submit(
        587,
        "bob@other.test",
        BOB_PASSWORD,
        Security::StartTls,
        "carol@outside.test",
        "edits-signed",
    )
    .unwrap_or_else(|e| panic!("{r}: submit as the new domain's mailbox: {e}"));
    let (sel, txt) = dkim_record(&bed, "other.test");
    bed.dns(&[&txt]);
    let eml = bed::sink_message(&sink, "Subject: edits-signed", 60)
        .unwrap_or_else(|| panic!("{r}: no message from bob@other.test reached the sink"));
    let v = bed.dkim_verify(&eml).unwrap_or_else(|out| {
        panic!(
            "{r}: the new domain's mail is not signed as it: {out}\n{}",
            std::fs::read_to_string(&eml).unwrap_or_default()
        )
    });
    assert_eq!(v, format!("verified d=other.test s={sel}"), "{r}");
    // The first domain still signs, and its mailbox still reads its mail.
    bed.smtp_deliver("alice@example.test", "edits-alice")
        .unwrap_or_else(|e| panic!("{r}: deliver to alice: {e}"));
    bed.imaps_fetch(
        "alice@example.test",
        ALICE_PASSWORD,
        Some("edits-alice"),
        30,
    )
    .unwrap_or_else(|e| panic!("{r}: alice reads: {e}"));

    let noop2 = unchanged(
        &bed,
        "no-op re-run after the adds",
        "install --yes --plain",
        None,
    );
    let (_, plan2) = mailstead(&bed, "plan", None);

    // The floor: the same edits by hand.
    let (fm, floor_mailbox) = timed(&bed, FLOOR_MAILBOX, None);
    assert!(fm.ok(), "{}", fm.text());
    let (fd, floor_domain) = timed(&bed, FLOOR_DOMAIN, None);
    assert!(fd.ok(), "{}", fd.text());
    println!(
        "bench-edits {r}: add-mailbox {add_mailbox:.3} s / {add_mailbox2:.3} s (by hand {floor_mailbox:.3} s; goal <= 0.5 s); \
         add-domain {add_domain:.3} s (by hand {floor_domain:.3} s; goal <= 1 s); \
         no-op re-run {noop:.3} s / {noop2:.3} s, plan {plan_secs:.3} s / {plan2:.3} s (goal <= 0.15 s)"
    );
}

#[test]
#[ignore = "booted Debian: run by tests/run as root"]
fn edits_trixie() {
    edits("trixie");
}

#[test]
#[ignore = "booted Debian: run by tests/run as root"]
fn edits_bookworm() {
    edits("bookworm");
}
