//! `mailstead dns` in a booted bed: the records it prints, served by the bed's DNS (dnsmasq
//! on the host end, which the bed's resolv.conf uses), answer real lookups as printed.
//!
//! Assumes a bed where mailstead was installed with `bed.default_answers()` (example.test,
//! pebble as the ACME server). The scenario adds `other.test` with add-domain and removes it
//! again at the end; it replaces the bed's DNS records (`dns --reset`) with the printed ones.
//!
//! Lookups: the host's dnspython (`/usr/bin/python3`) asks the bed's resolver (HOST_IP:53)
//! for every printed record, and inside the bed `getent` resolves the hostname through the
//! bed's own resolv.conf.
use mailstead_bed::{sink_message, Bed, Security, ALICE_PASSWORD};
use serde_json::Value;

/// Whether the DKIM signer is part of this build. GLUE(signer): set to `true` when the signer
/// is merged and `dkim_published` in src/cli.rs reads its keys: the scenario then requires a
/// printed DKIM key and a signature an independent verifier accepts against it. Until then it
/// requires the "no key yet" path, and that the verifier rejects the unsigned message.
pub const DKIM_SIGNER_MERGED: bool = true;

/// Asks HOST_IP:53 for each printed record (and each PTR) with dnspython; prints one line
/// per record, `MISMATCH ...` where what is served differs from what was printed.
const LOOKUP_PY: &str = r#"
import json, sys, dns.resolver, dns.reversename
server, printed = sys.argv[1], json.load(sys.stdin)
r = dns.resolver.Resolver(configure=False)
r.nameservers = [server]
r.lifetime = 5
def served(name, rtype):
    try:
        ans = r.resolve(name, rtype)
    except Exception as e:
        return {"(%s)" % type(e).__name__}
    out = set()
    for rd in ans:
        if rtype == "TXT":
            out.add(b"".join(rd.strings).decode())
        else:
            out.add(rd.to_text())
    return out
bad = 0
want = {}
for rec in printed["records"]:
    want.setdefault((rec["name"], rec["type"]), set()).add(rec["value"])
for p in printed["ptr"]:
    want.setdefault((p["reverse_name"], "PTR"), set()).add(p["target"])
for (name, rtype), values in sorted(want.items()):
    got = served(name, rtype)
    if got == values:
        print("ok", name, rtype, " | ".join(sorted(values)))
    else:
        bad += 1
        print("MISMATCH", name, rtype, "printed", sorted(values), "served", sorted(got))
sys.exit(1 if bad else 0)
"#;

/// Look every printed record up at the bed's resolver; `Err(report)` on any difference.
pub fn lookup_all(bed: &Bed, published: &Value) -> Result<String, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", LOOKUP_PY, &bed.host_ip])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 with dnspython (bed/bed deps)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(published.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// alice@example.test sends to the outside world (the bed's sink as outside.test's MX, on the
/// host end, port 25), with the printed records served; the received message's DKIM
/// signature is checked with dkimpy against them.
fn dkim_scenario(bed: &Bed, printed: &Value) {
    let rel = &bed.release;
    let keys: Vec<&Value> = printed["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["name"]
                .as_str()
                .unwrap()
                .ends_with("._domainkey.example.test.")
        })
        .collect();
    let dir = bed.sink_up(25, false, None);
    let mut lines = bed.serve_json(printed);
    lines.push("mx-host=outside.test,relay.outside.test,10".into());
    lines.push(format!("host-record=relay.outside.test,{}", bed.host_ip));
    let refs: Vec<&str> = lines.iter().map(|s| s.as_str()).collect();
    bed.dns_reset(&refs);
    let subject = format!("dns-dkim-{}", std::process::id());
    bed.smtp_submit(
        587,
        "alice@example.test",
        ALICE_PASSWORD,
        Security::StartTls,
        "bob@outside.test",
        &subject,
    )
    .unwrap_or_else(|e| panic!("[{rel}] submit to bob@outside.test: {e}"));
    let eml = sink_message(&dir, &subject, 60).unwrap_or_else(|| {
        panic!(
            "[{rel}] the message never reached the outside sink\n{}",
            bed.journal("postfix@-.service", 30)
        )
    });
    bed.sink_down();
    let verdict = bed.dkim_verify(&eml);
    if DKIM_SIGNER_MERGED {
        assert!(!keys.is_empty(), "[{rel}] no DKIM key printed: {printed}");
        let ok = verdict.unwrap_or_else(|e| panic!("[{rel}] dkimpy rejects the signature: {e}"));
        eprintln!("[{rel}] {ok}");
    } else {
        // No signer yet: no key printed, and the verifier must reject the unsigned message
        // (proof that this check can fail).
        assert!(
            keys.is_empty(),
            "[{rel}] a DKIM key printed without a signer: {printed}"
        );
        let e = verdict.expect_err("dkimpy accepted a message without a signature");
        eprintln!(
            "[{rel}] unsigned, as expected without the signer: {}",
            e.trim()
        );
    }
    bed.serve_json(printed);
}

/// The serving path for a long DKIM key works end to end without the signer: a 2048-bit key
/// made here, its record as `mailstead dns` prints DKIM records (`v=DKIM1; k=rsa; p=...`,
/// longer than 255 bytes), served through [`Bed::serve_json`]; dkimpy signs a message with the
/// private key and verifies it against the served record, and rejects a tampered copy.
fn dkim_serving_selftest(bed: &Bed, printed: &Value) {
    let rel = &bed.release;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let sh = |script: &str| {
        let o = std::process::Command::new("sh")
            .args(["-c", script])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    sh(&format!(
        "openssl genrsa -out {} 2048 2>/dev/null",
        key.display()
    ));
    let p = sh(&format!(
        "openssl rsa -in {} -pubout -outform DER 2>/dev/null | base64 -w0",
        key.display()
    ));
    let mut with_key = printed.clone();
    with_key["records"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "domain": "example.test", "name": "selftest._domainkey.example.test.", "type": "TXT",
            "value": format!("v=DKIM1; k=rsa; p={p}"), "ttl": 3600, "purpose": "bed self-test"
        }));
    bed.serve_json(&with_key);
    lookup_all(bed, &with_key).unwrap_or_else(|e| panic!("[{rel}] lookups with a long key:\n{e}"));
    let signed = dir.path().join("signed.eml");
    let signer = dir.path().join("sign.py");
    std::fs::write(
        &signer,
        "import dkim, sys\n\
         m = b'From: a@example.test\\r\\nTo: b@outside.test\\r\\nSubject: s\\r\\n\\r\\nhello\\r\\n'\n\
         sig = dkim.sign(m, b'selftest', b'example.test', open(sys.argv[1], 'rb').read(),\n\
                         include_headers=[b'from', b'to', b'subject'])\n\
         open(sys.argv[2], 'wb').write(sig + m)\n",
    )
    .unwrap();
    sh(&format!(
        "/usr/bin/python3 {} {} {}",
        signer.display(),
        key.display(),
        signed.display()
    ));
    let ok = bed.dkim_verify(&signed).unwrap_or_else(|e| {
        panic!("[{rel}] dkimpy rejects a signature against the served key: {e}")
    });
    eprintln!("[{rel}] long key served, signature verified: {}", ok.trim());
    let tampered = dir.path().join("tampered.eml");
    let text = std::fs::read_to_string(&signed)
        .unwrap()
        .replace("hello", "hellO");
    std::fs::write(&tampered, text).unwrap();
    bed.dkim_verify(&tampered)
        .expect_err("dkimpy accepted a tampered body");
    bed.serve_json(printed);
}

fn records<'a>(p: &'a Value, name: &str, rtype: &str) -> Vec<&'a str> {
    p["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == name && r["type"] == rtype)
        .map(|r| r["value"].as_str().unwrap())
        .collect()
}

/// The records `mailstead dns` prints answer real lookups as printed: MX, SPF, DMARC,
/// TLS-RPT, SRV, A, PTR; CAA with Let's Encrypt as the CA (pebble has no CAA name); a domain
/// added with add-domain is printed and served too.
pub fn scenario(bed: &Bed) {
    let rel = &bed.release;
    // What a user reads first: the table names the domain and its MX.
    let table = bed.mailstead(&["dns"]);
    assert!(table.ok(), "[{rel}] mailstead dns:\n{}", table.text());
    assert!(
        table.stdout.contains("Records for example.test")
            && table.stdout.contains("10 mail.example.test."),
        "[{rel}] mailstead dns table:\n{}",
        table.text()
    );

    // 1. Every printed record, served as printed, answers as printed.
    let p = bed.serve_published();
    assert_eq!(
        records(&p, "example.test.", "MX"),
        ["10 mail.example.test."]
    );
    assert_eq!(records(&p, "example.test.", "TXT"), ["v=spf1 mx -all"]);
    assert_eq!(records(&p, "mail.example.test.", "A"), [bed.ip.as_str()]);
    for name in ["_dmarc.example.test.", "_smtp._tls.example.test."] {
        assert_eq!(records(&p, name, "TXT").len(), 1, "[{rel}] {name} printed");
    }
    for srv in [
        "_submission",
        "_submissions",
        "_imaps",
        "_imap",
        "_pop3s",
        "_pop3",
    ] {
        assert_eq!(
            records(&p, &format!("{srv}._tcp.example.test."), "SRV").len(),
            1,
            "[{rel}] {srv} printed"
        );
    }
    let report = lookup_all(bed, &p).unwrap_or_else(|e| panic!("[{rel}] lookups:\n{e}"));
    eprintln!("[{rel}] served as printed:\n{report}");
    // Inside the bed, through its own resolv.conf: the hostname's A record.
    // `-s dns`: from DNS only, whatever /etc/hosts says.
    let hosts = bed.sh_ok("getent -s dns ahostsv4 mail.example.test | head -1");
    assert!(
        hosts.starts_with(&bed.ip),
        "[{rel}] getent in the bed: {hosts}"
    );

    // DKIM: the printed key verifies the signature of mail sent out (see DKIM_SIGNER_MERGED).
    let dns_json = bed.mailstead(&["dns", "--format", "json"]);
    if !DKIM_SIGNER_MERGED {
        assert!(
            dns_json.stderr.contains("example.test: no DKIM key yet")
                && table.stdout.contains("(no key yet: run mailstead install)"),
            "[{rel}] without a key, dns says so:\n{}\n{}",
            dns_json.text(),
            table.text()
        );
    }
    dkim_scenario(bed, &p);
    dkim_serving_selftest(bed, &p);

    // 2. CAA: pebble has no CAA issuer name, so none is printed (a note says why); with the
    //    default CA (Let's Encrypt) it is, and it is served as printed.
    assert!(records(&p, "mail.example.test.", "CAA").is_empty());
    assert!(
        p["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("no CAA record")),
        "[{rel}] notes: {}",
        p["notes"]
    );
    bed.sh_ok(
        "sed -e '/^acme:/,/^[a-z]/{/^acme:/d;/^  /d}' /etc/mailstead/mailstead.yaml \
         > /root/dns-le.yaml && chmod 600 /root/dns-le.yaml",
    );
    let le = bed.published_json(Some("/root/dns-le.yaml"));
    assert_eq!(
        records(&le, "mail.example.test.", "CAA"),
        ["0 issue \"letsencrypt.org\""],
        "[{rel}] CAA with Let's Encrypt"
    );
    bed.serve_json(&le);
    lookup_all(bed, &le).unwrap_or_else(|e| panic!("[{rel}] lookups (Let's Encrypt):\n{e}"));
    bed.sh_ok("rm -f /root/dns-le.yaml");

    // 3. add-domain shows the new domain's records, and `dns other.test` prints them.
    let add = bed.mailstead(&["add-domain", "other.test", "--yes", "--plain"]);
    assert!(add.ok(), "[{rel}] add-domain other.test:\n{}", add.text());
    // The end names the new domain's records (counted; the values are a command away) and
    // the command that prints them, not the other domains'.
    assert!(
        add.stdout.contains("`mailstead dns other.test`")
            && add
                .stdout
                .lines()
                .any(|l| l.trim_start().starts_with("other.test: ") && l.contains("DMARC"))
            && !add
                .stdout
                .lines()
                .any(|l| l.trim_start().starts_with("example.test: ")),
        "[{rel}] add-domain names the new domain's records and the command printing them:\n{}",
        add.text()
    );
    let other = bed.mailstead(&["dns", "other.test", "--format", "zone"]);
    assert!(other.ok(), "[{rel}] dns other.test:\n{}", other.text());
    assert!(
        other
            .stdout
            .contains("other.test.\t3600\tIN\tMX\t10 mail.example.test.")
            && other.stdout.contains("_dmarc.other.test.")
            && !other.stdout.contains("example.test.\t3600\tIN\tMX"),
        "[{rel}] dns other.test --format zone:\n{}",
        other.text()
    );
    let all = bed.serve_published();
    assert_eq!(
        records(&all, "other.test.", "MX"),
        ["10 mail.example.test."]
    );
    lookup_all(bed, &all).unwrap_or_else(|e| panic!("[{rel}] lookups with other.test:\n{e}"));
    let unknown = bed.mailstead(&["dns", "nowhere.test"]);
    assert_eq!(
        unknown.code,
        2,
        "[{rel}] dns nowhere.test:\n{}",
        unknown.text()
    );
    assert!(
        unknown.stderr.contains("nowhere.test")
            && unknown.stderr.contains("example.test, other.test"),
        "[{rel}] dns nowhere.test names it and the configured domains:\n{}",
        unknown.text()
    );
    // Leave the bed as found: other.test removed, the default domain's records served.
    let rm = bed.mailstead(&["remove-domain", "other.test", "--yes", "--plain"]);
    assert!(rm.ok(), "[{rel}] remove-domain other.test:\n{}", rm.text());
    bed.serve_published();
}
