use super::*;
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A real RSA-2048 SubjectPublicKeyInfo (392 base64 characters): its record is longer than
/// one 255-byte TXT string.
const KEY_2048: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA6ZIN7ePjHqheuLtt133c11PGPWlWMDdOEUYVzfQVqY4PEZJv5BIdB/XAZZsoeobPoQMTsKRRdSLLhVQpymZvsc7T8WE1N1EbwGYUYdIfjUoNZad0AJVeCNX4twB4Es6mVwGDbd5FX9/2qeL7dxq5QQKX2DcOuwE2p4sFOeaUS3zZFU7MN+jc11/Z8uetN+kwk993aSnFV9XHL/M0MsOcmTEzzxNHson+X0LPpFMjGXkEDpFHMXlO1W8gD0FBxeY0avBe5hBEhW2Pr6GCZTkGKwAauek27KMZzJD8m29DnXTyRkhpNyrlCyefZnX4rfR+rkeVrNL6QzmGBPt0d3rJUQIDAQAB";
/// A real RSA-1024 key: the old key of a rotation.
const KEY_1024: &str = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCoEyCVm8quOuhuq+0BFGI/EFhSm06f1EeoBYsIJY0qseu/m26K5xZMkEJzn81qJxhf0lFjcWXGEX5OZhDQj9R2kfQGsIOtgWUABbqNsKEDbqQdfnpuQbDT+UguL+va7gNkdT32UB0A0ilDAtqka4D2FyDVFb7zMTSLC3BsD3PeXwIDAQAB";

fn key(selector: &str, k: &str, signing: bool) -> DkimPublic {
    DkimPublic {
        selector: selector.into(),
        public_key: k.into(),
        signing,
    }
}

/// One domain, IPv4 + IPv6, Let's Encrypt, one 2048-bit key.
fn one() -> DnsInputs {
    DnsInputs {
        hostname: "mail.example.org".into(),
        domains: vec!["example.org".into()],
        public_v4: vec![Ipv4Addr::new(192, 0, 2, 7)],
        public_v6: vec![Ipv6Addr::from_str("2001:db8::25").unwrap()],
        dkim: BTreeMap::from([(
            "example.org".to_string(),
            vec![key("s2026", KEY_2048, true)],
        )]),
        acme_server: mailstead_answers::LETSENCRYPT_PRODUCTION.into(),
        relay_host: None,
        pop3: false,
    }
}

/// Three domains: one mid-rotation (two keys), one without a key yet; POP3 on.
fn three() -> DnsInputs {
    let mut i = one();
    i.domains = vec![
        "example.org".into(),
        "example.net".into(),
        "shop.example".into(),
    ];
    i.dkim.insert(
        "example.net".into(),
        vec![key("s2025", KEY_1024, false), key("s2026", KEY_2048, true)],
    );
    i.pop3 = true;
    i
}

fn find<'a>(r: &'a [Record], name: &str, t: RType) -> Vec<&'a str> {
    r.iter()
        .filter(|x| x.name == name && x.rtype == t)
        .map(|x| x.value.as_str())
        .collect()
}

#[test]
fn values_per_domain() {
    let r = expected(&one());
    assert_eq!(
        find(&r, "example.org.", RType::Mx),
        ["10 mail.example.org."]
    );
    assert_eq!(find(&r, "example.org.", RType::Txt), ["v=spf1 mx -all"]);
    assert_eq!(
        find(&r, "_dmarc.example.org.", RType::Txt),
        ["v=DMARC1; p=quarantine; rua=mailto:postmaster@example.org"]
    );
    assert_eq!(
        find(&r, "_smtp._tls.example.org.", RType::Txt),
        ["v=TLSRPTv1; rua=mailto:postmaster@example.org"]
    );
    assert_eq!(
        find(&r, "s2026._domainkey.example.org.", RType::Txt),
        [format!("v=DKIM1; k=rsa; p={KEY_2048}")]
    );
    for (srv, v) in [
        ("_submissions._tcp", "0 1 465 mail.example.org."),
        ("_submission._tcp", "0 1 587 mail.example.org."),
        ("_imaps._tcp", "0 1 993 mail.example.org."),
        ("_imap._tcp", "0 0 0 ."),
        ("_pop3s._tcp", "0 0 0 ."),
        ("_pop3._tcp", "0 0 0 ."),
    ] {
        assert_eq!(
            find(&r, &format!("{srv}.example.org."), RType::Srv),
            [v],
            "{srv}"
        );
    }
    assert_eq!(find(&r, "mail.example.org.", RType::A), ["192.0.2.7"]);
    assert_eq!(find(&r, "mail.example.org.", RType::Aaaa), ["2001:db8::25"]);
    assert_eq!(find(&r, "mail.example.org.", RType::Txt), ["v=spf1 a -all"]);
    assert_eq!(
        find(&r, "mail.example.org.", RType::Caa),
        ["0 issue \"letsencrypt.org\""]
    );
    assert!(r.iter().all(|x| x.ttl == TTL && x.name.ends_with('.')));
    assert!(r
        .iter()
        .all(|x| !x.value.contains('\n') && !x.purpose.contains('\n')));
}

#[test]
fn pop3_and_rotation() {
    let r = expected(&three());
    assert_eq!(
        find(&r, "_pop3s._tcp.example.net.", RType::Srv),
        ["0 1 995 mail.example.org."]
    );
    // Both keys of a rotation are published.
    assert_eq!(
        r.iter()
            .filter(|x| x.name.ends_with("_domainkey.example.net."))
            .count(),
        2
    );
    // No key yet: no DKIM record, and the domain is listed as missing one.
    assert!(!r.iter().any(|x| x.name.contains("_domainkey.shop.example")));
    assert_eq!(published(&three()).missing_dkim, ["shop.example"]);
    // The server's records appear once, not per domain.
    assert_eq!(find(&r, "mail.example.org.", RType::A).len(), 1);
}

#[test]
fn relay_host_spf() {
    let mut i = one();
    i.relay_host = Some("[smtp.relay.example]:587".into());
    let r = expected(&i);
    assert_eq!(
        find(&r, "example.org.", RType::Txt),
        ["v=spf1 mx a:smtp.relay.example -all"]
    );
    assert!(notes(&i).iter().any(|n| n.contains("include:")));
}

#[test]
fn caa_only_for_known_cas() {
    assert_eq!(
        caa_issuer(mailstead_answers::LETSENCRYPT_STAGING),
        Some("letsencrypt.org")
    );
    assert_eq!(
        caa_issuer("https://acme.zerossl.com/v2/DV90"),
        Some("sectigo.com")
    );
    assert_eq!(
        caa_issuer("https://dv.acme-v02.api.pki.goog/directory"),
        Some("pki.goog")
    );
    assert_eq!(caa_issuer("https://10.213.1.1:14000/dir"), None);
    assert_eq!(caa_issuer("https://letsencrypt.org.evil.example/dir"), None);
    let mut i = one();
    i.acme_server = "https://acme.example/dir".into();
    assert!(!expected(&i).iter().any(|r| r.rtype == RType::Caa));
    assert!(notes(&i).iter().any(|n| n.contains("no CAA record")));
}

#[test]
fn hostname_that_is_a_mail_domain_gets_one_spf() {
    let mut i = one();
    i.hostname = "example.org".into();
    let p = published(&i);
    assert_eq!(
        find(&p.records, "example.org.", RType::Txt),
        ["v=spf1 mx -all"]
    );
    assert_eq!(p.server_records().count(), 3, "A, AAAA, CAA");
    assert_eq!(p.domain_records("example.org").count(), 11);
}

#[test]
fn reverse_names_and_ptr() {
    assert_eq!(
        reverse_name("192.0.2.7".parse().unwrap()),
        "7.2.0.192.in-addr.arpa."
    );
    assert_eq!(
        reverse_name("2001:db8::25".parse().unwrap()),
        "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
    );
    let p = ptr_instructions(&one());
    assert_eq!(p.len(), 2);
    assert_eq!(
        p[0].instruction,
        "ask the provider of 192.0.2.7 to set its reverse DNS (PTR) to mail.example.org"
    );
}

#[test]
fn private_or_missing_addresses_are_noted() {
    let mut i = one();
    i.public_v4 = vec![Ipv4Addr::new(10, 213, 1, 2), Ipv4Addr::new(100, 64, 0, 1)];
    i.public_v6.clear();
    let n = notes(&i);
    assert_eq!(
        n.iter().filter(|n| n.contains("private address")).count(),
        2
    );
    i.public_v4.clear();
    assert!(notes(&i)[0].starts_with("no public address"));
}

#[test]
fn txt_split_at_255_bytes() {
    let v = dkim_txt(KEY_2048);
    let s = txt_strings(&v);
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].len(), 255 + 2);
    let joined: String = s.iter().map(|c| c.trim_matches('"')).collect();
    assert_eq!(joined, v);
    assert_eq!(txt_strings(r#"a"b\c"#), [r#""a\"b\\c""#]);
}

#[test]
fn for_domain_keeps_the_server_records() {
    let p = published(&three());
    let net = p.for_domain("EXAMPLE.NET").unwrap();
    assert_eq!(net.domains, ["example.net"]);
    assert!(net
        .records
        .iter()
        .all(|r| r.domain == "example.net" || r.domain == "mail.example.org"));
    assert!(net.records.iter().any(|r| r.rtype == RType::Caa));
    assert!(net.missing_dkim.is_empty());
    assert!(p.for_domain("other.test").is_none());
}

#[test]
fn table_wraps_purposes_but_not_values() {
    let t = render_table(&published(&one()), 60);
    // Values stand alone on their line (indented 8, no `#`) and are never wrapped.
    let value_line = |l: &str| l.starts_with("        ") && !l.trim_start().starts_with('#');
    for l in t.lines() {
        if !value_line(l) {
            assert!(l.chars().count() <= 60, "too wide: {l:?}");
        }
    }
    // The DKIM value is on one line, whole, for a web form.
    assert!(t.lines().any(|l| l.trim() == dkim_txt(KEY_2048)));
    let t3 = render_table(&published(&three()), 80);
    assert!(t3.contains(NO_DKIM_YET));
}

#[test]
fn json_shape_is_stable() {
    let v: serde_json::Value = serde_json::from_str(&render_json(&published(&one()))).unwrap();
    let first = &v["records"][0];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    // (serde_json's map sorts keys; the printed order is in the snapshot.)
    assert_eq!(keys, ["domain", "name", "purpose", "ttl", "type", "value"]);
    assert_eq!(first["type"], "MX");
    assert_eq!(v["ptr"][1]["address"], "2001:db8::25");
    assert!(v["notes"].as_array().unwrap().is_empty());
}

/// The zone output loads in a real zone-file parser (hickory's RFC 1035 master-file parser)
/// with every record's data as printed: each domain's lines as its own zone (with an SOA, as
/// a parser needs), and the TXT strings joined back equal the value.
#[test]
fn zone_loads_in_a_zone_parser() {
    use hickory_proto::rr::{Name, RData, RecordType};
    use hickory_proto::serialize::txt::Parser;
    let mut i = three();
    i.relay_host = Some("relay.example.com".into());
    let p = published(&i);
    let zone = render_zone(&p);
    let mut origins: Vec<String> = p.domains.clone();
    origins.push(p.hostname.clone());
    let mut total = 0;
    for origin in &origins {
        // The lines under names in this zone (the server's records belong to the hostname).
        let own: Vec<&str> = zone
            .lines()
            .filter(|l| !l.starts_with(';') && !l.is_empty())
            .filter(|l| {
                let n = l.split('\t').next().unwrap();
                let in_zone = n == format!("{origin}.") || n.ends_with(&format!(".{origin}."));
                // The hostname sits under example.org: its lines go to its own zone only.
                in_zone
                    && (origin == &p.hostname
                        || !(n == format!("{}.", p.hostname)
                            || n.ends_with(&format!(".{}.", p.hostname))))
            })
            .collect();
        let text = format!(
            "$ORIGIN {origin}.\n@ 3600 IN SOA ns.{origin}. hostmaster.{origin}. 1 7200 3600 1209600 3600\n{}\n",
            own.join("\n")
        );
        let (_, sets) = Parser::new(
            text.as_str(),
            None,
            Some(Name::from_ascii(format!("{origin}.")).unwrap()),
        )
        .parse()
        .unwrap_or_else(|e| panic!("zone {origin} does not load: {e}\n{text}"));
        for set in sets.values() {
            for rr in set.records_without_rrsigs() {
                if rr.record_type() == RecordType::SOA {
                    continue;
                }
                total += 1;
                let name = rr.name().to_ascii();
                let want: Vec<&Record> = p
                    .records
                    .iter()
                    .filter(|r| {
                        r.name == name && r.rtype.to_string() == rr.record_type().to_string()
                    })
                    .collect();
                assert!(!want.is_empty(), "{name} {} not expected", rr.record_type());
                let got = match rr.data() {
                    RData::TXT(t) => t
                        .txt_data()
                        .iter()
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .collect::<String>(),
                    other => other.to_string(),
                };
                assert!(
                    want.iter().any(|r| r.value == got),
                    "{name}: parsed {got:?}, printed {:?}",
                    want.iter().map(|r| &r.value).collect::<Vec<_>>()
                );
            }
        }
    }
    assert_eq!(total, p.records.len(), "every printed record loaded once");
}

// Snapshot tests of what `mailstead dns` prints (insta; `cargo insta review` to update).

#[test]
fn snapshot_one_domain() {
    let p = published(&one());
    insta::assert_snapshot!("one_zone", render_zone(&p));
    insta::assert_snapshot!("one_table", render_table(&p, 80));
    insta::assert_snapshot!("one_json", render_json(&p));
    insta::assert_snapshot!("one_summary", render_summary(&p, 80));
}

#[test]
fn snapshot_three_domains() {
    let p = published(&three());
    insta::assert_snapshot!("three_zone", render_zone(&p));
    insta::assert_snapshot!("three_table", render_table(&p, 80));
    insta::assert_snapshot!("three_json", render_json(&p));
    insta::assert_snapshot!("three_summary", render_summary(&p, 80));
}

#[test]
fn snapshot_relay_host_and_private_ca() {
    let mut i = one();
    i.relay_host = Some("smtp.relay.example".into());
    i.acme_server = "https://acme.example/dir".into();
    i.public_v4 = vec![Ipv4Addr::new(10, 213, 1, 2)];
    i.public_v6.clear();
    let p = published(&i);
    insta::assert_snapshot!("relay_zone", render_zone(&p));
    insta::assert_snapshot!("relay_table", render_table(&p, 80));
    insta::assert_snapshot!("relay_json", render_json(&p));
}
