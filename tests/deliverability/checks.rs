//! Deliverability, preflight and `mailstead check`, in a booted bed as an admin sees them.
//!
//! Assumes a bed where mailstead was installed with `bed.default_answers()`. The scenario
//! serves its own DNS (`bed.dns_reset`, so it drops records served before it) and runs the
//! outside SMTP server on the host end's port 25 for a while (`bed.sink_up(25, ..)`, taken down
//! again). It leaves the DNS with the hostname, a matching PTR and no listing.
//!
//! - a PTR naming `other.example.test` and nothing listening on the "gmail" MX: `install` warns
//!   naming the bed's address, the PTR seen, the name expected and the fix, and that outbound
//!   port 25 is blocked (naming what was tried and `relay_host`); it still ends with exit 0;
//! - with the outside SMTP server up, the port 25 warning is gone;
//! - `check` fails `reverse-dns` naming the PTR and the record to publish; with the address on
//!   zen.spamhaus.org it fails `blocklists` naming the list and its delisting page; once the PTR
//!   is fixed `reverse-dns` passes;
//! - `check --json` parses, and the exit code is the worst status (0 pass, 5 warn, 1 fail).
use crate::bed::Bed;

/// The DNSBL/PTR form of an IPv4 address: its octets reversed.
fn reversed(ip: &str) -> String {
    ip.split('.').rev().collect::<Vec<_>>().join(".")
}

/// The exit code `check` must give for this list: the worst status.
fn code_for(list: &[serde_json::Value]) -> i32 {
    let worst = list
        .iter()
        .map(|f| match f["status"].as_str() {
            Some("pass") => 0,
            Some("warn") => 1,
            Some("fail") => 2,
            other => panic!("unknown status {other:?} in {list:#?}"),
        })
        .max()
        .unwrap_or(0);
    [0, 5, 1][worst]
}

pub fn scenario(bed: &Bed) {
    let ip = bed.ip.as_str();
    let host_ip = bed.host_ip.as_str();
    let rev = reversed(ip);
    let ptr = format!("{rev}.in-addr.arpa");
    let a = format!("address=/mail.example.test/{ip}");
    let gmail = [
        "mx-host=gmail.com,mx.gmail.test,5".to_string(),
        format!("address=/mx.gmail.test/{host_ip}"),
    ];
    let wrong_ptr = format!("ptr-record={ptr},other.example.test");
    let good_ptr = format!("ptr-record={ptr},mail.example.test");
    let listed = format!("address=/{rev}.zen.spamhaus.org/127.0.0.2");

    // 1. PTR naming another host, outbound 25 going nowhere: warnings, and the install completes.
    bed.dns_reset(&[&a, &wrong_ptr, &gmail[0], &gmail[1]]);
    let run = bed.mailstead(&["install", "--yes", "--plain"]);
    println!(
        "{}: install with a wrong PTR took {:.1} s",
        bed.release, run.secs
    );
    assert_eq!(
        run.code,
        0,
        "install with a wrong PTR must complete:\n{}",
        run.text()
    );
    let out = run.stdout.clone();
    let ptr_warning = out
        .lines()
        .find(|l| l.contains("reverse DNS") && l.contains(ip))
        .unwrap_or_else(|| panic!("no reverse DNS warning naming {ip}:\n{out}"));
    assert!(
        ptr_warning.contains(&format!(
            "of {ip} is other.example.test, not mail.example.test"
        )) && ptr_warning.contains(&format!(
            "fix: set the reverse DNS (PTR) of {ip} to mail.example.test"
        )) && ptr_warning.contains(&format!("`{ptr}. IN PTR mail.example.test.`")),
        "{ptr_warning}"
    );
    println!("{}: the PTR warning: {ptr_warning}", bed.release);
    let blocked = out
        .lines()
        .find(|l| l.contains("outbound port 25"))
        .unwrap_or_else(|| panic!("no outbound port 25 warning:\n{out}"));
    assert!(
        blocked.contains(&format!("mx.gmail.test ({host_ip}:25)"))
            && blocked.contains("relay_host"),
        "{blocked}"
    );

    println!("{}: the port 25 warning: {blocked}", bed.release);

    // 2. Something answers on the "gmail" MX's port 25: no port 25 warning any more.
    bed.sink_up(25, false, None);
    let run = bed.mailstead(&["install", "--yes", "--plain"]);
    bed.sink_down();
    println!(
        "{}: re-run with port 25 open took {:.1} s",
        bed.release, run.secs
    );
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(
        !run.stdout.contains("outbound port 25"),
        "port 25 reachable, yet:\n{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("other.example.test, not mail.example.test"),
        "the PTR warning stays on a re-run:\n{}",
        run.stdout
    );

    // 3. check fails on the PTR, naming it and the record to publish.
    let run = bed.mailstead(&["check"]);
    println!("{}: check took {:.1} s", bed.release, run.secs);
    assert_eq!(run.code, 1, "{}", run.text());
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("✗ reverse-dns"))
        .unwrap_or_else(|| panic!("reverse-dns did not fail:\n{}", run.stdout));
    assert!(
        line.contains(&format!("PTR {ptr}) of {ip} is other.example.test")),
        "{line}"
    );
    assert!(
        run.stdout
            .contains(&format!("`{ptr}. IN PTR mail.example.test.`")),
        "the value to publish:\n{}",
        run.stdout
    );

    // 4. Listed on Spamhaus ZEN: check fails naming the list and where to get off it.
    bed.dns(&[&listed]);
    let (code, list) = bed.check_json();
    let bl = mailstead_bed::finding(&list, "blocklists");
    assert_eq!(bl["status"], "fail", "{bl:#}");
    let detail = bl["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!(
            "{ip} is listed on Spamhaus ZEN ({rev}.zen.spamhaus.org = 127.0.0.2)"
        )),
        "{detail}"
    );
    assert!(
        bl["fix"]
            .as_str()
            .unwrap()
            .contains("https://check.spamhaus.org/"),
        "{bl:#}"
    );
    assert_eq!(code, 1);
    assert_eq!(code, code_for(&list), "{list:#?}");

    // 5. The PTR fixed: reverse-dns passes (the listing still fails the run).
    bed.dns_reset(&[&a, &good_ptr, &listed]);
    let (code, list) = bed.check_json();
    let r = mailstead_bed::finding(&list, "reverse-dns");
    assert_eq!(r["status"], "pass", "{r:#}");
    assert!(r["fix"].is_null(), "{r:#}");
    assert_eq!(
        mailstead_bed::finding(&list, "blocklists")["status"],
        "fail"
    );
    assert_eq!(code, 1);

    // 6. All fixed: the exit code is the worst of what is left.
    bed.dns_reset(&[&a, &good_ptr]);
    let (code, list) = bed.check_json();
    for name in [
        "reverse-dns",
        "blocklists",
        "tls-served",
        "renewal-hook",
        "queue",
    ] {
        assert_eq!(
            mailstead_bed::finding(&list, name)["status"],
            "pass",
            "{list:#?}"
        );
    }
    assert_eq!(code, code_for(&list), "{list:#?}");
    println!(
        "{}: check --json after the fixes: exit {code}; {}",
        bed.release,
        list.iter()
            .map(|f| format!(
                "{} {}",
                f["name"].as_str().unwrap(),
                f["status"].as_str().unwrap()
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // 7. Preflight stays bounded when nothing answers. An address in the bed's /24 where no
    // machine is: packets go nowhere (no refusal comes back).
    let nowhere = format!("{}.77", ip.rsplit_once('.').unwrap().0);
    bed.dns_reset(&[
        &a,
        &good_ptr,
        "mx-host=gmail.com,mx.gmail.test,5",
        &format!("address=/mx.gmail.test/{nowhere}"),
    ]);
    let run = bed.mailstead(&["plan"]);
    println!(
        "{}: plan with port 25 going nowhere took {:.1} s",
        bed.release, run.secs
    );
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(
        run.stdout.contains(&format!(
            "outbound port 25 looks blocked: could not connect to mx.gmail.test ({nowhere}:25)"
        )),
        "{}",
        run.stdout
    );
    // A DNS server that does not answer (MAILSTEAD_RESOLVER names it): one warning, bounded.
    let run = bed.sh(&format!(
        "MAILSTEAD_RESOLVER={nowhere}:53 {} plan",
        crate::bed::MAILSTEAD_IN_BED
    ));
    println!(
        "{}: plan with a DNS server that never answers took {:.1} s",
        bed.release, run.secs
    );
    assert_eq!(run.code, 0, "{}", run.text());
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains("DNS did not answer (") && l.contains(&format!("{nowhere}:53"))),
        "{}",
        run.stdout
    );
    let (code, list) = {
        let run = bed.sh(&format!(
            "MAILSTEAD_RESOLVER={nowhere}:53 {} check --json",
            crate::bed::MAILSTEAD_IN_BED
        ));
        let list: Vec<serde_json::Value> = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("check --json is not JSON ({e}):\n{}", run.text()));
        (run.code, list)
    };
    // "Could not check" is a warning, never a pass.
    assert_eq!(
        mailstead_bed::finding(&list, "reverse-dns")["status"],
        "warn",
        "{list:#?}"
    );
    assert_eq!(
        mailstead_bed::finding(&list, "blocklists")["status"],
        "warn",
        "{list:#?}"
    );
    assert_eq!(code, 5, "{list:#?}");
    // Leave the DNS as found after step 6.
    bed.dns_reset(&[&a, &good_ptr]);
}
