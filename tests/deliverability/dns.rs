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
use crate::bed::Bed;
use serde_json::Value;

/// `mailstead [--config CONFIG] dns --format json` inside the bed, parsed.
pub fn published_json(bed: &Bed, config: Option<&str>) -> Value {
    let mut args = vec![];
    if let Some(c) = config {
        args.extend_from_slice(&["--config", c]);
    }
    args.extend_from_slice(&["dns", "--format", "json"]);
    let r = bed.mailstead(&args);
    assert!(r.ok(), "mailstead dns --format json failed:\n{}", r.text());
    serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("mailstead dns --format json is not JSON ({e}):\n{}", r.text()))
}

fn bare(name: &str) -> &str {
    name.trim_end_matches('.')
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A domain name in wire form (RFC 1035 §3.1), for `dns-rr=` data.
fn wire_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in bare(name).split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// One printed record as a dnsmasq line (dnsmasq(8): host-record, mx-host, txt-record,
/// srv-host, caa-record, dns-rr).
pub fn dnsmasq_line(rec: &Value) -> String {
    let name = bare(rec["name"].as_str().unwrap());
    let value = rec["value"].as_str().unwrap();
    match rec["type"].as_str().unwrap() {
        // Also serves the address's PTR (the first name of a host-record), as a provider would.
        "A" | "AAAA" => format!("host-record={name},{value}"),
        "MX" => {
            let (pref, target) = value.split_once(' ').unwrap();
            format!("mx-host={name},{},{pref}", bare(target))
        }
        "TXT" => {
            // dnsmasq splits strings longer than 255 itself; give it 255-byte chunks as a zone
            // file would have them.
            let chunks: Vec<String> = value
                .as_bytes()
                .chunks(255)
                .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
                .collect();
            format!("txt-record={name},{}", chunks.join(","))
        }
        "SRV" => {
            let f: Vec<&str> = value.split(' ').collect();
            let (prio, weight, port, target) = (f[0], f[1], f[2], f[3]);
            if target == "." {
                // "Not offered" (RFC 6186 §4): srv-host cannot say target "." with port 0, so
                // the raw RDATA: priority, weight, port (16 bits each), the root name.
                let mut data = Vec::new();
                for n in [prio, weight, port] {
                    data.extend_from_slice(&n.parse::<u16>().unwrap().to_be_bytes());
                }
                data.extend_from_slice(&wire_name("."));
                format!("dns-rr={name},33,{}", hex(&data))
            } else {
                format!("srv-host={name},{},{port},{prio},{weight}", bare(target))
            }
        }
        "CAA" => {
            let mut f = value.splitn(3, ' ');
            let (flags, tag, v) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            format!("caa-record={name},{flags},{tag},{}", v.trim_matches('"'))
        }
        other => panic!("mailstead dns printed a record type the bed cannot serve: {other}"),
    }
}

/// Serve exactly what `published` lists (records and PTRs) through the bed's DNS.
pub fn serve_json(bed: &Bed, published: &Value) -> Vec<String> {
    let mut lines: Vec<String> = published["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(dnsmasq_line)
        .collect();
    for p in published["ptr"].as_array().expect("ptr") {
        let already = published["records"].as_array().unwrap().iter().any(|r| {
            matches!(r["type"].as_str(), Some("A" | "AAAA")) && r["value"] == p["address"]
        });
        if !already {
            lines.push(format!(
                "ptr-record={},{}",
                bare(p["reverse_name"].as_str().unwrap()),
                bare(p["target"].as_str().unwrap())
            ));
        }
    }
    let refs: Vec<&str> = lines.iter().map(|s| s.as_str()).collect();
    bed.dns_reset(&refs);
    lines
}

/// Run `mailstead dns --format json` inside the bed and serve EVERY record it printed.
pub fn serve_published(bed: &Bed) -> Value {
    let p = published_json(bed, None);
    serve_json(bed, &p);
    p
}

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
        .expect("/usr/bin/python3 with dnspython (tests/bed/bed deps)");
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
    let p = serve_published(bed);
    assert_eq!(records(&p, "example.test.", "MX"), ["10 mail.example.test."]);
    assert_eq!(records(&p, "example.test.", "TXT"), ["v=spf1 mx -all"]);
    assert_eq!(records(&p, "mail.example.test.", "A"), [bed.ip.as_str()]);
    for name in ["_dmarc.example.test.", "_smtp._tls.example.test."] {
        assert_eq!(records(&p, name, "TXT").len(), 1, "[{rel}] {name} printed");
    }
    for srv in ["_submission", "_submissions", "_imaps", "_imap", "_pop3s", "_pop3"] {
        assert_eq!(
            records(&p, &format!("{srv}._tcp.example.test."), "SRV").len(),
            1,
            "[{rel}] {srv} printed"
        );
    }
    let report = lookup_all(bed, &p).unwrap_or_else(|e| panic!("[{rel}] lookups:\n{e}"));
    eprintln!("[{rel}] served as printed:\n{report}");
    // Inside the bed, through its own resolv.conf: the hostname's A record.
    let hosts = bed.sh_ok("getent ahostsv4 mail.example.test | head -1");
    assert!(hosts.starts_with(&bed.ip), "[{rel}] getent in the bed: {hosts}");

    // 2. CAA: pebble has no CAA issuer name, so none is printed (a note says why); with the
    //    default CA (Let's Encrypt) it is, and it is served as printed.
    assert!(records(&p, "mail.example.test.", "CAA").is_empty());
    assert!(
        p["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("no CAA record")),
        "[{rel}] notes: {}",
        p["notes"]
    );
    bed.sh_ok(
        "sed -e '/^acme:/,/^[a-z]/{/^acme:/d;/^  /d}' /etc/mailstead/mailstead.yaml \
         > /root/dns-le.yaml && chmod 600 /root/dns-le.yaml",
    );
    let le = published_json(bed, Some("/root/dns-le.yaml"));
    assert_eq!(
        records(&le, "mail.example.test.", "CAA"),
        ["0 issue \"letsencrypt.org\""],
        "[{rel}] CAA with Let's Encrypt"
    );
    serve_json(bed, &le);
    lookup_all(bed, &le).unwrap_or_else(|e| panic!("[{rel}] lookups (Let's Encrypt):\n{e}"));
    bed.sh_ok("rm -f /root/dns-le.yaml");

    // 3. add-domain shows the new domain's records, and `dns other.test` prints them.
    let add = bed.mailstead(&["add-domain", "other.test", "--yes", "--plain"]);
    assert!(add.ok(), "[{rel}] add-domain other.test:\n{}", add.text());
    assert!(
        add.stdout.contains("Records for other.test")
            && add.stdout.contains("_dmarc.other.test.")
            && !add.stdout.contains("Records for example.test"),
        "[{rel}] add-domain shows the new domain's records:\n{}",
        add.text()
    );
    let other = bed.mailstead(&["dns", "other.test", "--format", "zone"]);
    assert!(other.ok(), "[{rel}] dns other.test:\n{}", other.text());
    assert!(
        other.stdout.contains("other.test.\t3600\tIN\tMX\t10 mail.example.test.")
            && !other.stdout.contains("example.test.\t3600\tIN\tMX"),
        "[{rel}] dns other.test --format zone:\n{}",
        other.text()
    );
    let all = serve_published(bed);
    assert_eq!(records(&all, "other.test.", "MX"), ["10 mail.example.test."]);
    lookup_all(bed, &all).unwrap_or_else(|e| panic!("[{rel}] lookups with other.test:\n{e}"));
    let unknown = bed.mailstead(&["dns", "nowhere.test"]);
    assert_eq!(unknown.code, 2, "[{rel}] dns nowhere.test:\n{}", unknown.text());
    assert!(
        unknown.stderr.contains("nowhere.test") && unknown.stderr.contains("example.test, other.test"),
        "[{rel}] dns nowhere.test names it and the configured domains:\n{}",
        unknown.text()
    );
    // Leave the bed as found: other.test removed, the default domain's records served.
    let rm = bed.mailstead(&["remove-domain", "other.test", "--yes", "--plain"]);
    assert!(rm.ok(), "[{rel}] remove-domain other.test:\n{}", rm.text());
    serve_published(bed);
}
