//! The DKIM signer in a booted bed, as the outside world sees it.
//!
//! Assumes a bed where mailstead was installed with `bed.default_answers()` and nothing else
//! (example.test with alice). It adds to the bed's DNS (outside.test's MX pointing at the host
//! end, each DKIM TXT record) and starts the outside SMTP server (the sink) on the host end,
//! port 25; it runs `add-domain other.test` with a mailbox bob@other.test and rotates
//! example.test's key, so run it last on a shared bed.
//!
//! Proves: mail submitted on 587 reaches the sink with a DKIM signature that dkimpy (an
//! independent verifier, on the host) accepts against the record served by the bed's DNS,
//! d=example.test; mail from outside is not signed by us; a re-run keeps the key (same hash),
//! makes 0 changes, reloads nothing and takes < 1 s; add-domain makes the new domain's key;
//! `dkim rotate` keeps mail verifiable through both phases, and the old record stays. Prints
//! the memory of the running mail stack.
use crate::bed::{Bed, Security, ALICE_PASSWORD};
use std::path::Path;

const BOB_PASSWORD: &str = "bob at other.test has a long one";

/// TXT records of `name` from the bed's DNS, through dnspython.
const TXT_PY: &str = r#"import sys, dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers = [sys.argv[1]]
for rd in r.resolve(sys.argv[2], 'TXT', lifetime=5):
    print(b"".join(rd.strings).decode())
"#;

fn python(script: &str, args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.py");
    std::fs::write(&f, script).unwrap();
    let out = std::process::Command::new("/usr/bin/python3")
        .arg(&f)
        .args(args)
        .output()
        .expect("/usr/bin/python3");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The signing selector of `domain` (the selectors map) and its public key (base64 DER).
fn signing_key(bed: &Bed, domain: &str) -> (String, String) {
    let sel = bed
        .sh_ok(&format!(
            "awk '$1==\"{domain}\"{{print $2}}' /etc/rspamd/local.d/dkim_selectors.map"
        ))
        .trim()
        .to_string();
    assert!(!sel.is_empty(), "{domain} is not in the selectors map");
    (sel.clone(), public_key(bed, domain, &sel))
}

fn public_key(bed: &Bed, domain: &str, sel: &str) -> String {
    bed.sh_ok(&format!(
        "openssl pkey -in /var/lib/rspamd/dkim/{domain}.{sel}.key -pubout -outform DER | base64 -w0"
    ))
    .trim()
    .to_string()
}

fn txt_record(domain: &str, sel: &str, p: &str) -> String {
    format!("txt-record={sel}._domainkey.{domain},\"v=DKIM1; k=rsa; p={p}\"")
}

/// Submits on 587 as `user` to bob@outside.test and returns dkimpy's verdict line.
fn send_and_verify(bed: &Bed, sink: &Path, user: &str, pass: &str, subject: &str) -> String {
    bed.smtp_submit(
        587,
        user,
        pass,
        Security::StartTls,
        "bob@outside.test",
        subject,
    )
    .unwrap_or_else(|e| panic!("submit as {user} ({}): {e}", bed.release));
    let eml = crate::bed::sink_message(sink, &format!("Subject: {subject}"), 60)
        .unwrap_or_else(|| panic!("no message {subject:?} reached the sink in 60 s"));
    bed.dkim_verify(&eml).unwrap_or_else(|out| {
        panic!(
            "{}: dkimpy does not accept {subject:?}: {out}\n{}",
            bed.release,
            std::fs::read_to_string(&eml).unwrap_or_default()
        )
    })
}

/// PSS and RSS (MiB) of the running mail stack, by daemon, from /proc/PID/smaps_rollup.
pub fn mail_stack_memory(bed: &Bed) -> String {
    bed.sh_ok(
        r#"for p in /proc/[0-9]*; do
  exe=$(readlink $p/exe 2>/dev/null) || continue
  case "$exe" in
    /usr/bin/rspamd) k=rspamd ;;
    /usr/lib/postfix/*|/usr/sbin/postfix|/usr/sbin/postdrop) k=postfix ;;
    /usr/sbin/dovecot|/usr/lib/dovecot/*) k=dovecot ;;
    /usr/bin/redis-server|/usr/bin/redis-check-rdb) k=redis ;;
    *) continue ;;
  esac
  awk -v k=$k '/^Rss:/{r=$2} /^Pss:/{s=$2} END{print k, r, s}' $p/smaps_rollup
done | awk '{r[$1]+=$2; s[$1]+=$3; R+=$2; S+=$3; n[$1]++}
  END{for (k in r) printf "%s: %d processes, PSS %.0f MiB, RSS %.0f MiB\n", k, n[k], s[k]/1024, r[k]/1024;
      printf "total: PSS %.0f MiB, RSS %.0f MiB\n", S/1024, R/1024}'"#,
    )
}

pub fn scenario(bed: &Bed) {
    let r = &bed.release;
    // Memory of the stack right after the install.
    println!(
        "{r}: mail stack memory after install:\n{}",
        mail_stack_memory(bed)
    );

    // The key: RSA 2048, 0600 _rspamd:_rspamd, in a 0700 directory; a dated selector.
    let (sel, p) = signing_key(bed, "example.test");
    assert!(sel.starts_with('s') && sel.len() >= 9, "{sel}");
    let key = format!("/var/lib/rspamd/dkim/example.test.{sel}.key");
    let st = bed.sh_ok(&format!(
        "stat -c '%a %U:%G' /var/lib/rspamd/dkim {key}; openssl pkey -in {key} -noout -text | head -1"
    ));
    assert!(
        st.contains("700 _rspamd:_rspamd\n600 _rspamd:_rspamd\n") && st.contains("2048 bit"),
        "{r}: {st}"
    );

    bed.dns(&[
        "mx-host=outside.test,mx.outside.test,10",
        &format!("address=/mx.outside.test/{}", bed.host_ip),
        &txt_record("example.test", &sel, &p),
    ]);
    let sink = bed.sink_up(25, false, None);

    // Submitted on 587: signed, and the signature verifies against the published record.
    let v = send_and_verify(bed, &sink, "alice@example.test", ALICE_PASSWORD, "dkim-1");
    assert_eq!(v, format!("verified d=example.test s={sel}"), "{r}");
    println!("{r}: 587 -> outside: {v}");

    // From outside on 25 to alice: delivered, and not signed by us.
    bed.smtp_deliver_from("alice@example.test", "carol@outside.test", "inbound-1")
        .unwrap_or_else(|e| panic!("{r}: inbound: {e}"));
    let inbound = bed
        .imaps_fetch("alice@example.test", ALICE_PASSWORD, Some("inbound-1"), 30)
        .unwrap_or_else(|e| panic!("{r}: inbound not delivered: {e}"));
    assert!(
        !inbound.to_ascii_lowercase().contains("dkim-signature"),
        "{r}: mail from outside was signed:\n{inbound}"
    );

    // A re-run keeps the key, changes nothing, reloads nothing, in under a second.
    let hash = |b: &Bed| b.sh_ok(&format!("sha256sum {key}"));
    let workers = |b: &Bed| b.sh_ok("pgrep -f '^rspamd: rspamd_proxy' | sort");
    let (h0, w0) = (hash(bed), workers(bed));
    let ids0 = bed.invocation_ids(&["rspamd.service", "postfix@-.service"]);
    let rerun = bed.mailstead(&["install", "--yes", "--plain"]);
    assert!(
        rerun.ok() && rerun.stdout.contains("0 changes"),
        "{r}: {}",
        rerun.text()
    );
    assert_eq!(hash(bed), h0, "{r}: the re-run changed the key");
    assert_eq!(workers(bed), w0, "{r}: the re-run reloaded rspamd");
    assert_eq!(
        bed.invocation_ids(&["rspamd.service", "postfix@-.service"]),
        ids0
    );
    // A figure, not an assertion: speed is the bench's (tests/mailstack.rs), where ≤ 1 s is
    // its goal on an unloaded machine.
    println!("{r}: no-op re-run {:.2} s (goal < 1 s)", rerun.secs);

    // add-domain: the new domain gets its own key, and its mail signs as it.
    let add = bed.mailstead(&["add-domain", "other.test", "--yes", "--plain"]);
    assert!(add.ok(), "{r}: {}", add.text());
    println!(
        "{r}: add-domain {:.2} s (new key, Postfix reload, checks)",
        add.secs
    );
    let addm = bed.exec_stdin(
        &[
            crate::bed::MAILSTEAD_IN_BED,
            "add-mailbox",
            "bob@other.test",
            "--password-stdin",
            "--yes",
            "--plain",
        ],
        format!("{BOB_PASSWORD}\n").as_bytes(),
    );
    assert!(addm.ok(), "{r}: {}", addm.text());
    let (osel, op) = signing_key(bed, "other.test");
    assert!(
        bed.sh_ok(&format!(
            "stat -c '%a %U' /var/lib/rspamd/dkim/other.test.{osel}.key"
        ))
        .contains("600 _rspamd"),
        "{r}"
    );
    assert_eq!(hash(bed), h0, "{r}: add-domain changed example.test's key");
    bed.dns(&[&txt_record("other.test", &osel, &op)]);
    let v = send_and_verify(bed, &sink, "bob@other.test", BOB_PASSWORD, "dkim-other");
    assert_eq!(v, format!("verified d=other.test s={osel}"), "{r}");

    // Rotation, phase 1: a new key, printed as a record; the old one still signs.
    let ph1 = bed.mailstead(&["dkim", "rotate", "example.test", "--plain"]);
    assert!(ph1.ok(), "{r}: {}", ph1.text());
    let line = ph1
        .stdout
        .lines()
        .find(|l| l.contains("._domainkey.example.test.  TXT"))
        .unwrap_or_else(|| panic!("{r}: no TXT record printed:\n{}", ph1.stdout));
    let new_sel = line.trim().split('.').next().unwrap().to_string();
    assert_ne!(new_sel, sel);
    let new_p = public_key(bed, "example.test", &new_sel);
    assert!(
        line.contains(&format!("\"v=DKIM1; k=rsa; p={new_p}\"")),
        "{r}: {line}"
    );
    let v = send_and_verify(
        bed,
        &sink,
        "alice@example.test",
        ALICE_PASSWORD,
        "dkim-rot-1",
    );
    assert_eq!(v, format!("verified d=example.test s={sel}"), "{r}");

    // Phase 2 before the record is in DNS: refused, nothing switched.
    let early = bed.mailstead(&["dkim", "rotate", "example.test", "--plain"]);
    assert_eq!(early.code, 2, "{r}: {}", early.text());
    assert_eq!(signing_key(bed, "example.test").0, sel);

    // Published: phase 2 switches; mail verifies with the new selector, the old record stays.
    bed.dns(&[&txt_record("example.test", &new_sel, &new_p)]);
    let ph2 = bed.mailstead(&["dkim", "rotate", "example.test", "--plain"]);
    assert!(ph2.ok(), "{r}: {}", ph2.text());
    assert_eq!(signing_key(bed, "example.test").0, new_sel);
    let v = send_and_verify(
        bed,
        &sink,
        "alice@example.test",
        ALICE_PASSWORD,
        "dkim-rot-2",
    );
    assert_eq!(v, format!("verified d=example.test s={new_sel}"), "{r}");
    assert_eq!(
        hash(bed),
        h0,
        "{r}: the old key must stay on disk as it was"
    );
    let (ok, old) = python(
        TXT_PY,
        &[&bed.host_ip, &format!("{sel}._domainkey.example.test")],
    );
    assert!(ok && old.contains(&p), "{r}: the old record is gone: {old}");
    println!("{r}: rotation {sel} -> {new_sel}: mail verified before, during and after");
    bed.sink_down();
    println!(
        "{r}: mail stack memory at the end:\n{}",
        mail_stack_memory(bed)
    );
}
