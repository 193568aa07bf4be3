//! The preflight capability's tests.
use super::*;
use crate::facts::sshd::SSHD;
use crate::testing::{answers, ctx, fail, fresh, ok, BOOKWORM};
use mailstead_engine::{MemHost, Meta};

fn refusal(e: color_eyre::Report) -> String {
    assert!(
        e.downcast_ref::<Refusal>().is_some(),
        "a refusal, not a failure: {e:#}"
    );
    format!("{e:#}")
}

#[test]
fn ready_server_plans_nothing() {
    let h = fresh();
    let a = answers();
    assert!(Preflight.plan(&ctx(&h, &a)).unwrap().changes.is_empty());
}

#[test]
fn unsupported_os_is_refused_naming_what_is_supported() {
    let h = fresh();
    h.add_file(
        "/etc/os-release",
        "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\nID=ubuntu\nVERSION_ID=\"24.04\"\n",
        Meta::root(0o644),
    );
    let a = answers();
    let e = refusal(Preflight.plan(&ctx(&h, &a)).unwrap_err());
    assert!(e.contains("Ubuntu 24.04"), "{e}");
    assert!(
        e.contains("Debian 12 (bookworm) and Debian 13 (trixie)"),
        "{e}"
    );
    h.add_file(
        "/etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 11 (bullseye)\"\nID=debian\nVERSION_ID=\"11\"\n",
        Meta::root(0o644),
    );
    let e = refusal(Preflight.plan(&ctx(&h, &a)).unwrap_err());
    assert!(e.contains("bullseye") && e.contains("fix"), "{e}");
    h.add_file(
        "/etc/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nID=debian\nVERSION_ID=\"13\"\n",
        Meta::root(0o644),
    );
    let os = ctx(&h, &a).fact::<OsRelease>().unwrap();
    assert_eq!(os.debian_release(), Some(13));
    assert!(Preflight.plan(&ctx(&h, &a)).is_ok());
}

#[test]
fn non_root_is_refused_with_the_fix() {
    let h = MemHost::fake();
    h.on_command(|c| (c.program == "id").then(|| ok("1000\n")).flatten());
    let a = answers();
    let e = refusal(Preflight.plan(&ctx(&h, &a)).unwrap_err());
    assert!(e.contains("must run as root") && e.contains("sudo"), "{e}");
}

#[test]
fn bad_hostname_in_answers_is_refused() {
    let h = fresh();
    let mut a = answers();
    a.hostname = "mail".into();
    let e = refusal(Preflight.plan(&ctx(&h, &a)).unwrap_err());
    assert!(e.contains("not a fully qualified name"), "{e}");
    for bad in ["-a.example", "1.2.3.4"] {
        a.hostname = bad.into();
        let e = refusal(Preflight.plan(&ctx(&h, &a)).unwrap_err());
        assert!(e.contains(bad), "{e}");
    }
}

#[test]
fn wrong_hostname_is_offered_a_fix() {
    let h = MemHost::fake();
    h.add_file("/etc/os-release", BOOKWORM, Meta::root(0o644));
    h.add_file("/etc/hostname", "debian\n", Meta::root(0o644));
    h.add_file(
        "/etc/hosts",
        "127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n\n::1 localhost ip6-localhost\n",
        Meta::root(0o644),
    );
    h.on_command(|c| match (c.program.as_str(), c.args.join(" ").as_str()) {
        ("id", "-u") => ok("0\n"),
        ("hostname", "-f") => ok("debian\n"),
        _ => None,
    });
    let a = answers();
    let changes = Preflight.plan(&ctx(&h, &a)).unwrap().changes;
    let s: Vec<String> = changes.iter().map(|c| c.summary()).collect();
    assert_eq!(s.len(), 4, "{s:?}");
    assert!(s[0].contains("/etc/hostname"));
    assert!(s[3].contains("set the running hostname"));
    let Change::WriteFile { content, .. } = &changes[1] else {
        panic!()
    };
    assert_eq!(
        String::from_utf8_lossy(content),
        "127.0.0.1\tlocalhost\n127.0.1.1\tmail.example.test mail\n\n::1 localhost ip6-localhost\n"
    );
}

/// A PTR naming another host and a listed address are warnings naming the address, the
/// record seen, the value to publish and where to go; the plan still goes ahead.
#[test]
fn deliverability_problems_are_warnings_not_refusals() {
    use crate::facts::resolver::{Dns, Fake};
    let h = fresh();
    h.on_command(|c| {
        (c.program == "ip")
            .then(|| ok("2: eth0    inet 192.0.2.7/24 brd 192.0.2.255 scope global eth0\n"))
            .flatten()
    });
    let a = answers();
    let c = ctx(&h, &a);
    c.facts.insert(Dns::with(
        Fake::new()
            .with_ip("mail.example.test", "192.0.2.7")
            .with_ptr("192.0.2.7", "other.example.test")
            .with_ip("7.2.0.192.zen.spamhaus.org", "127.0.0.4"),
    ));
    let planned = Preflight.plan(&c).expect("warnings, not a refusal");
    let warnings: Vec<&str> = planned
        .notes
        .iter()
        .filter(|n| n.level == mailstead_engine::Level::Warning)
        .map(|n| n.text.as_str())
        .collect();
    assert!(
        warnings.iter().any(|w| w
            .contains("of 192.0.2.7 is other.example.test, not mail.example.test")
            && w.contains("fix: set the reverse DNS (PTR) of 192.0.2.7 to mail.example.test")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("listed on Spamhaus ZEN")
                && w.contains("https://check.spamhaus.org/")),
        "{warnings:#?}"
    );
    // No provider MX in this DNS: outbound 25 is not tested, and says so.
    assert!(planned
        .notes
        .iter()
        .any(|n| n.text.starts_with("outbound port 25 not tested")));

    // A DNS that does not answer: one warning, no per-check noise.
    let c = ctx(&h, &a);
    c.facts.insert(Dns::with(Fake::silent()));
    let planned = Preflight.plan(&c).unwrap();
    let texts: Vec<&str> = planned.notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(texts.len(), 1, "{texts:#?}");
    assert!(texts[0].contains("DNS did not answer"), "{texts:?}");
}

#[test]
fn other_mta_on_25_is_named() {
    let h = MemHost::fake();
    h.add_file("/etc/os-release", BOOKWORM, Meta::root(0o644));
    h.on_command(|c| match c.program.as_str() {
        "id" => ok("0\n"),
        "hostname" => ok("mail.example.test\n"),
        "ss" => ok("LISTEN 0 20 127.0.0.1:25 0.0.0.0:* users:((\"exim4\",pid=812,fd=4))\nLISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:((\"mystery\",pid=9,fd=6))\n"),
        _ => None,
    });
    let a = answers();
    let e = refusal(Preflight.plan(&ctx(&h, &a)).unwrap_err());
    assert!(
        e.contains("exim4 (pid 812)") && e.contains("apt-get purge"),
        "{e}"
    );
    assert!(e.contains("port 80") && e.contains("mystery"), "{e}");
}

#[test]
fn postfix_on_25_and_nginx_on_80_are_fine() {
    let h = MemHost::fake();
    h.add_file("/etc/os-release", BOOKWORM, Meta::root(0o644));
    h.on_command(|c| match c.program.as_str() {
        "id" => ok("0\n"),
        "hostname" => ok("mail.example.test\n"),
        "ss" => ok("LISTEN 0 100 0.0.0.0:25 0.0.0.0:* users:((\"master\",pid=812,fd=13))\nLISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:((\"nginx\",pid=9,fd=6),(\"nginx\",pid=10,fd=6))\n"),
        _ => None,
    });
    let a = answers();
    let planned = Preflight.plan(&ctx(&h, &a)).unwrap();
    assert!(planned.changes.is_empty());
    assert!(
        planned.notes[0].text.contains("--webroot"),
        "{:?}",
        planned.notes
    );
}

#[test]
fn foreign_postfix_and_dovecot_config_is_refused() {
    let h = fresh();
    h.add_file(
        "/etc/postfix/main.cf",
        "myhostname = x\nrelayhost = [smtp.isp.example]:587\nvirtual_alias_maps =\n",
        Meta::root(0o644),
    );
    h.add_file(
        "/etc/dovecot/local.conf",
        "# mine\nmail_location = maildir:~/M\n",
        Meta::root(0o644),
    );
    let a = answers();
    let e = refusal(Preflight.plan(&ctx(&h, &a)).unwrap_err());
    assert!(e.contains("relayhost = [smtp.isp.example]:587"), "{e}");
    assert!(
        !e.contains("virtual_alias_maps"),
        "empty values are defaults: {e}"
    );
    assert!(e.contains("/etc/dovecot/local.conf"), "{e}");
    // Once mailstead wrote them, they are its own.
    h.add_file(
        "/var/lib/mailstead/managed.json",
        "{\"/etc/postfix/main.cf\": \"ab\", \"/etc/dovecot/local.conf\": \"cd\"}",
        Meta::root(0o600),
    );
    assert!(Preflight.plan(&ctx(&h, &a)).unwrap().changes.is_empty());
}

#[test]
fn low_disk_memory_and_broken_sshd_are_all_reported() {
    let h = MemHost::fake();
    h.add_file("/etc/os-release", BOOKWORM, Meta::root(0o644));
    h.add_file("/proc/meminfo", "MemTotal:  262144 kB\n", Meta::root(0o444));
    h.add_file(SSHD, "", Meta::root(0o755));
    h.on_command(|c| match c.program.as_str() {
        "id" => ok("0\n"),
        "hostname" => ok("mail.example.test\n"),
        "df" => ok("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 2000000 1900000 100000 95% /\n"),
        "sshd" => fail(255, "/etc/ssh/sshd_config line 3: Bad configuration option: Bogus"),
        _ => None,
    });
    let a = answers();
    let e = refusal(Preflight.plan(&ctx(&h, &a)).unwrap_err());
    assert!(e.contains("97 MiB free"), "{e}");
    assert!(e.contains("256 MiB of memory"), "{e}");
    assert!(e.contains("at least 1 GiB"), "{e}");
    assert!(e.contains("Bogus") && e.contains("sshd -t"), "{e}");
}

/// rspamd needs a 1 GiB machine: 700 MiB is refused, a "1 GiB" one (960 MiB) is not.
#[test]
fn memory_floor_is_one_gib_with_rspamd() {
    for (kib, refused) in [(700 * 1024, true), (960 * 1024, false)] {
        let h = MemHost::fake();
        h.add_file("/etc/os-release", BOOKWORM, Meta::root(0o644));
        h.add_file(
            "/proc/meminfo",
            &format!("MemTotal:  {kib} kB\n"),
            Meta::root(0o444),
        );
        h.add_file(SSHD, "", Meta::root(0o755));
        h.on_command(|c| match c.program.as_str() {
            "id" => ok("0\n"),
            "hostname" => ok("mail.example.test\n"),
            "df" => ok("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 2000000 1900000 100000 95% /\n"),
            _ => None,
        });
        let a = answers();
        let e = refusal(Preflight.plan(&ctx(&h, &a)).unwrap_err());
        assert_eq!(e.contains("MiB of memory"), refused, "{kib} KiB: {e}");
    }
}

/// On a cloud image, cloud-init's own settings keep the hostname at the next boot.
#[test]
fn cloud_init_keeps_the_hostname() {
    let h = fresh();
    let a = answers();
    assert!(Preflight
        .plan(&ctx(&h, &a))
        .unwrap()
        .changes
        .iter()
        .all(|c| !c.summary().contains("cloud")));
    h.add_file(
        "/etc/cloud/cloud.cfg",
        "preserve_hostname: false\n",
        Meta::root(0o644),
    );
    let changes = Preflight.plan(&ctx(&h, &a)).unwrap().changes;
    let Some(Change::WriteFile { path, content, .. }) = changes.first() else {
        panic!("{changes:?}")
    };
    assert_eq!(path.to_string_lossy(), CLOUD_HOSTNAME_DROP_IN);
    assert!(String::from_utf8_lossy(content).contains("preserve_hostname: true\n"));
}
