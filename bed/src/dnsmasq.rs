//! The records `mailstead dns --format json` prints, as dnsmasq(8) configuration lines, so a
//! local dnsmasq serves exactly what an admin would publish: host-record (A/AAAA, and the PTR
//! of the first name), mx-host, txt-record, srv-host, caa-record, and dns-rr for what dnsmasq
//! has no keyword for (an SRV with target "." and port 0, RFC 6186 §4 / RFC 2782).
//!
//! One copy for `mailstead demo` (src/demo.rs) and the booted tests ([`crate::Bed::serve_json`]).

/// `name` without the root's trailing dot (`mail.example.test.` → `mail.example.test`).
pub fn bare(name: &str) -> &str {
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

/// One record of `mailstead dns --format json` as a dnsmasq line (dnsmasq(8): host-record,
/// mx-host, txt-record, srv-host, caa-record, dns-rr); Err names a record it cannot map.
pub fn dnsmasq_line(rec: &serde_json::Value) -> Result<String, String> {
    let field = |k: &str| {
        rec[k]
            .as_str()
            .ok_or_else(|| format!("a record without {k}: {rec}"))
    };
    let name = bare(field("name")?);
    let value = field("value")?;
    let bad = || format!("a record the demo cannot read: {rec}");
    Ok(match field("type")? {
        // Also serves the address's PTR (the first name of a host-record), as a provider would.
        "A" | "AAAA" => format!("host-record={name},{value}"),
        "MX" => {
            let (pref, target) = value.split_once(' ').ok_or_else(bad)?;
            format!("mx-host={name},{},{pref}", bare(target))
        }
        "TXT" => {
            // 255-byte strings, as a zone file has them (RFC 1035 §3.3.14).
            let chunks: Vec<String> = value
                .as_bytes()
                .chunks(255)
                .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
                .collect();
            format!("txt-record={name},{}", chunks.join(","))
        }
        "SRV" => {
            let f: Vec<&str> = value.split(' ').collect();
            let [prio, weight, port, target] = f[..] else {
                return Err(bad());
            };
            if target == "." {
                // "Not offered" (RFC 6186 §4): the raw RDATA, priority, weight, port, root name.
                let mut data = Vec::new();
                for n in [prio, weight, port] {
                    data.extend_from_slice(&n.parse::<u16>().map_err(|_| bad())?.to_be_bytes());
                }
                data.extend_from_slice(&wire_name("."));
                format!("dns-rr={name},33,{}", hex(&data))
            } else {
                format!("srv-host={name},{},{port},{prio},{weight}", bare(target))
            }
        }
        "CAA" => {
            let mut f = value.splitn(3, ' ');
            let (Some(flags), Some(tag), Some(v)) = (f.next(), f.next(), f.next()) else {
                return Err(bad());
            };
            format!("caa-record={name},{flags},{tag},{}", v.trim_matches('"'))
        }
        other => {
            return Err(format!(
                "a record type the demo's DNS cannot serve: {other}"
            ))
        }
    })
}

/// Every record and PTR of `mailstead dns --format json` as dnsmasq lines.
pub fn dnsmasq_lines(dns_json: &str) -> Result<Vec<String>, String> {
    let v: serde_json::Value =
        serde_json::from_str(dns_json).map_err(|e| format!("not JSON ({e})"))?;
    let records = v["records"].as_array().ok_or("no records")?;
    let mut lines = records
        .iter()
        .map(dnsmasq_line)
        .collect::<Result<Vec<_>, _>>()?;
    for p in v["ptr"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let served = records.iter().any(|r| {
            matches!(r["type"].as_str(), Some("A" | "AAAA")) && r["value"] == p["address"]
        });
        if !served {
            lines.push(format!(
                "ptr-record={},{}",
                bare(p["reverse_name"].as_str().unwrap_or_default()),
                bare(p["target"].as_str().unwrap_or_default())
            ));
        }
    }
    Ok(lines)
}

/// The test entry (`2.0.0.127.ZONE` = 127.0.0.2, RFC 5782 §5) of each blocklist mailstead
/// checks, as dnsmasq lines: the lists answer as on the internet, so "not listed" can be told
/// from "the list does not answer" (which `check` reports as a warning).
pub fn blocklists_answering() -> Vec<String> {
    mailstead_steps::deliverability::BLOCKLISTS
        .iter()
        .map(|l| format!("address=/2.0.0.127.{}/127.0.0.2", l.zone))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_records_become_dnsmasq_lines() {
        let json = r#"{"records": [
            {"type": "MX", "name": "example.test.", "value": "10 mail.example.test."},
            {"type": "A", "name": "mail.example.test.", "value": "10.213.7.2"},
            {"type": "TXT", "name": "example.test.", "value": "v=spf1 mx -all"},
            {"type": "SRV", "name": "_imap._tcp.example.test.", "value": "0 0 0 ."},
            {"type": "SRV", "name": "_imaps._tcp.example.test.", "value": "0 1 993 mail.example.test."},
            {"type": "CAA", "name": "example.test.", "value": "0 issue \"letsencrypt.org\""}
          ], "ptr": [{"address": "10.213.7.2", "reverse_name": "2.7.213.10.in-addr.arpa.", "target": "mail.example.test."}]}"#;
        assert_eq!(
            dnsmasq_lines(json).unwrap(),
            [
                "mx-host=example.test,mail.example.test,10",
                "host-record=mail.example.test,10.213.7.2",
                "txt-record=example.test,\"v=spf1 mx -all\"",
                "dns-rr=_imap._tcp.example.test,33,00000000000000",
                "srv-host=_imaps._tcp.example.test,mail.example.test,993,0,1",
                "caa-record=example.test,0,issue,letsencrypt.org",
            ]
        );
        let long = format!(
            r#"{{"records": [{{"type": "TXT", "name": "k", "value": "{}"}}], "ptr": []}}"#,
            "a".repeat(300)
        );
        let l = &dnsmasq_lines(&long).unwrap()[0];
        assert_eq!(
            l,
            &format!(
                "txt-record=k,\"{}\",\"{}\"",
                "a".repeat(255),
                "a".repeat(45)
            )
        );
    }
}
