//! The resolver's tests.
use super::*;

#[test]
fn reverse_names() {
    assert_eq!(
        reverse_name("192.0.2.7".parse().unwrap()),
        "7.2.0.192.in-addr.arpa"
    );
    assert_eq!(
        reverse_name("2001:db8::567:89ab".parse().unwrap()),
        "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    );
}

#[test]
fn servers_from_env_and_resolv_conf() {
    assert_eq!(
        parse_server("10.0.0.1"),
        Some("10.0.0.1:53".parse().unwrap())
    );
    assert_eq!(
        parse_server("10.0.0.1:5353"),
        Some("10.0.0.1:5353".parse().unwrap())
    );
    assert_eq!(parse_server("[::1]:54"), Some("[::1]:54".parse().unwrap()));
    assert_eq!(parse_server("::1"), Some("[::1]:53".parse().unwrap()));
    assert_eq!(parse_server("dns.example"), None);
    let conf = "# generated\nsearch example.test\nnameserver 10.213.1.1\nnameserver fe80::1%eth0\noptions edns0\n";
    assert_eq!(
        parse_resolv_conf(conf),
        [
            "10.213.1.1:53".parse::<SocketAddr>().unwrap(),
            "[fe80::1]:53".parse().unwrap()
        ]
    );
    assert!(parse_resolv_conf("search x\n").is_empty());
    let bad = Dns::from_config(Some("nope"), Some("nameserver 10.0.0.1\n"));
    assert!(bad
        .resolver()
        .unwrap_err()
        .contains("MAILSTEAD_RESOLVER=nope"));
    let none = Dns::from_config(None, Some("search x\n"));
    assert!(none.resolver().unwrap_err().contains("names no nameserver"));
    assert!(Dns::from_config(None, None)
        .resolver()
        .unwrap_err()
        .contains("missing"));
}

#[test]
fn fake_answers_nxdomain_nodata_and_records() {
    let f = Fake::new()
        .with_ip("mail.example.test", "192.0.2.7")
        .with_ptr("192.0.2.7", "Mail.Example.Test.")
        .with(
            "example.test",
            Record::Mx(Mx {
                preference: 20,
                exchange: "b.example.test".into(),
            }),
        )
        .with(
            "example.test",
            Record::Mx(Mx {
                preference: 10,
                exchange: "a.example.test".into(),
            }),
        );
    assert_eq!(
        f.ips("mail.example.test"),
        Answer::Found(vec!["192.0.2.7".parse().unwrap()])
    );
    assert_eq!(f.aaaa("mail.example.test"), Answer::NoRecords);
    assert_eq!(f.a("nowhere.test"), Answer::NxDomain);
    assert_eq!(f.ips("nowhere.test"), Answer::NxDomain);
    assert_eq!(
        f.ptr("192.0.2.7".parse().unwrap()),
        Answer::Found(vec!["mail.example.test".to_string()])
    );
    let mx = f.mx("example.test").records().unwrap();
    assert_eq!(mx[0].exchange, "a.example.test", "lowest preference first");
    assert!(matches!(
        Fake::silent().txt("example.test"),
        Answer::Unavailable(_)
    ));
}

/// A one-zone DNS server on 127.0.0.1 (UDP) answering from hickory's own wire format:
/// `example.test` has TXT (two character-strings), MX, CAA; `_submission._tcp` an SRV;
/// `empty.example.test` exists without records; `broken.example.test` SERVFAILs; everything
/// else is NXDOMAIN.
fn tiny_dns() -> SocketAddr {
    use hickory_resolver::proto::op::{Message, MessageType, ResponseCode};
    use hickory_resolver::proto::rr::rdata::{CAA, MX, SRV, TXT};
    use hickory_resolver::proto::rr::{Name, RData, Record as R, RecordType};
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut m = Message::new();
            m.set_id(q.id())
                .set_message_type(MessageType::Response)
                .set_recursion_available(true)
                .set_authoritative(true);
            let query = q.queries()[0].clone();
            let name = query.name().to_ascii().to_ascii_lowercase();
            let n = |s: &str| Name::from_ascii(s).unwrap();
            let answers: Vec<RData> = match (name.as_str(), query.query_type()) {
                ("example.test.", RecordType::TXT) => vec![RData::TXT(TXT::new(vec![
                    "v=DKIM1; k=rsa; p=MIIB".into(),
                    "IjANBgkq".into(),
                ]))],
                ("example.test.", RecordType::MX) => vec![
                    RData::MX(MX::new(20, n("b.example.test."))),
                    RData::MX(MX::new(10, n("A.Example.Test."))),
                ],
                ("example.test.", RecordType::CAA) => vec![RData::CAA(CAA::new_issue(
                    false,
                    Some(n("letsencrypt.org")),
                    vec![],
                ))],
                ("_submission._tcp.example.test.", RecordType::SRV) => {
                    vec![RData::SRV(SRV::new(0, 1, 587, n("mail.example.test.")))]
                }
                ("example.test.", _)
                | ("empty.example.test.", _)
                | ("_submission._tcp.example.test.", _) => vec![],
                ("broken.example.test.", _) => {
                    m.set_response_code(ResponseCode::ServFail);
                    vec![]
                }
                _ => {
                    m.set_response_code(ResponseCode::NXDomain);
                    vec![]
                }
            };
            m.add_query(query.clone());
            for a in answers {
                m.add_answer(R::from_rdata(query.name().clone(), 60, a));
            }
            let _ = sock.send_to(&m.to_vec().unwrap(), from);
        }
    });
    addr
}

/// Each record type read back through the real resolver, and the three kinds of "none".
#[test]
fn hickory_reads_every_record_type_and_tells_the_nones_apart() {
    let h = Hickory::new(&[tiny_dns()]).unwrap();
    assert_eq!(
        h.txt("example.test"),
        Answer::Found(vec!["v=DKIM1; k=rsa; p=MIIBIjANBgkq".into()]),
        "character-strings joined"
    );
    assert_eq!(
        h.mx("example.test").records().unwrap(),
        [
            Mx {
                preference: 10,
                exchange: "a.example.test".into()
            },
            Mx {
                preference: 20,
                exchange: "b.example.test".into()
            }
        ]
    );
    assert_eq!(
        h.caa("example.test"),
        Answer::Found(vec![Caa {
            critical: false,
            tag: "issue".into(),
            value: "letsencrypt.org".into()
        }])
    );
    assert_eq!(
        h.srv("_submission._tcp.example.test"),
        Answer::Found(vec![Srv {
            priority: 0,
            weight: 1,
            port: 587,
            target: "mail.example.test".into()
        }])
    );
    assert_eq!(h.a("empty.example.test"), Answer::NoRecords);
    assert_eq!(h.a("nowhere.example.test"), Answer::NxDomain);
    let broken = h.a("broken.example.test");
    assert!(matches!(broken, Answer::Unavailable(_)), "{broken:?}");
}

/// Nothing listening on the DNS port (ICMP port unreachable): unavailable at once, for
/// every lookup, not after a timeout each.
#[test]
fn hickory_with_nothing_on_the_port_is_unavailable_at_once() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap(); // bound and dropped: nothing listens there now
    let h = Hickory::new(&[port]).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..5 {
        let a = h.a("mail.example.test");
        assert!(
            matches!(&a, Answer::Unavailable(w) if w.contains("no DNS server answers")),
            "{a:?}"
        );
    }
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
}

/// The real resolver against a DNS server that never answers: `Unavailable` within the
/// bounded time, not "missing".
#[test]
fn hickory_without_an_answer_is_unavailable_and_bounded() {
    // A UDP socket that reads and never answers; TCP to the same port is refused.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = sock.local_addr().unwrap();
    let h = Hickory::new(&[addr]).unwrap();
    let t = std::time::Instant::now();
    let a = h.a("mail.example.test");
    let took = t.elapsed();
    assert!(matches!(a, Answer::Unavailable(_)), "{a:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}
