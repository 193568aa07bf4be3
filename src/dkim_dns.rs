//! SEAM (temporary): the one DNS lookup `mailstead dkim rotate` needs, a TXT query, until the
//! hickory-based `mailstead_steps::resolver` lands; then `txt_records` becomes a call to it.
//!
//! A plain RFC 1035 query over UDP (one question, recursion desired) to the first nameserver
//! of `/etc/resolv.conf`, or to `MAILSTEAD_RESOLVER=IP[:PORT]` (port 53 by default), 2 s
//! timeout, 2 attempts. TXT RDATA is one or more <character-string>s, concatenated here as
//! RFC 6376 section 3.6.2.2 says for DKIM records.
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

/// The TXT records of `name`, each with its strings joined. An empty list: the name has
/// none (NXDOMAIN or NODATA). An error: DNS did not answer.
pub fn txt_records(name: &str) -> std::io::Result<Vec<String>> {
    let server = nameserver()?;
    let id: u16 = (std::process::id() as u16) ^ 0x5a5a;
    let query = build_query(id, name);
    let sock = UdpSocket::bind(if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    })?;
    sock.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut last = std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer");
    for _ in 0..2 {
        sock.send_to(&query, server)?;
        let mut buf = [0u8; 4096];
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => return parse_answer(id, &buf[..n]),
            Err(e) => last = e,
        }
    }
    Err(std::io::Error::new(
        last.kind(),
        format!("DNS server {server} did not answer: {last}"),
    ))
}

fn nameserver() -> std::io::Result<SocketAddr> {
    let bad = |m: String| std::io::Error::new(std::io::ErrorKind::NotFound, m);
    if let Ok(v) = std::env::var("MAILSTEAD_RESOLVER") {
        return v
            .parse::<SocketAddr>()
            .or_else(|_| format!("{v}:53").parse())
            .map_err(|_| bad(format!("MAILSTEAD_RESOLVER={v} is not IP[:PORT]")));
    }
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    conf.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .next()
        .ok_or_else(|| bad("no nameserver in /etc/resolv.conf".into()))
}

fn build_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; QDCOUNT 1
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0, 16, 0, 1]); // TXT, IN
    q
}

fn skip_name(b: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let len = *b.get(i)? as usize;
        if len == 0 {
            return Some(i + 1);
        }
        if len & 0xc0 == 0xc0 {
            return Some(i + 2);
        }
        i += 1 + len;
    }
}

fn parse_answer(id: u16, b: &[u8]) -> std::io::Result<Vec<String>> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed DNS answer");
    if b.len() < 12 || u16::from_be_bytes([b[0], b[1]]) != id {
        return Err(bad());
    }
    let rcode = b[3] & 0x0f;
    match rcode {
        0 => {}
        3 => return Ok(Vec::new()),
        n => {
            return Err(std::io::Error::other(format!(
                "DNS answered with error code {n}"
            )))
        }
    }
    let qd = u16::from_be_bytes([b[4], b[5]]) as usize;
    let an = u16::from_be_bytes([b[6], b[7]]) as usize;
    let mut i = 12;
    for _ in 0..qd {
        i = skip_name(b, i).ok_or_else(bad)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..an {
        i = skip_name(b, i).ok_or_else(bad)?;
        let h = b.get(i..i + 10).ok_or_else(bad)?;
        let rtype = u16::from_be_bytes([h[0], h[1]]);
        let rdlen = u16::from_be_bytes([h[8], h[9]]) as usize;
        i += 10;
        let rdata = b.get(i..i + rdlen).ok_or_else(bad)?;
        i += rdlen;
        if rtype != 16 {
            continue;
        }
        let mut s = Vec::new();
        let mut j = 0;
        while j < rdata.len() {
            let l = rdata[j] as usize;
            s.extend_from_slice(rdata.get(j + 1..j + 1 + l).ok_or_else(bad)?);
            j += 1 + l;
        }
        out.push(String::from_utf8_lossy(&s).into_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_txt_answer_with_two_strings() {
        let id = 0x1234;
        let mut a = build_query(id, "s1._domainkey.example.test");
        a[2] = 0x81;
        a[3] = 0x80;
        a[7] = 1; // ANCOUNT 1
        a.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60]);
        let strings: [&[u8]; 2] = [b"v=DKIM1; k=rsa; p=AB", b"CD"];
        let rdlen: usize = strings.iter().map(|s| s.len() + 1).sum();
        a.extend_from_slice(&(rdlen as u16).to_be_bytes());
        for s in strings {
            a.push(s.len() as u8);
            a.extend_from_slice(s);
        }
        assert_eq!(parse_answer(id, &a).unwrap(), ["v=DKIM1; k=rsa; p=ABCD"]);
        let mut nx = build_query(id, "x.test");
        nx[3] = 0x83;
        assert!(parse_answer(id, &nx).unwrap().is_empty());
        assert!(parse_answer(id + 1, &a).is_err());
    }
}
