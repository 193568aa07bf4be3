//! Test support shared by the step, fact and check unit tests: canned outputs, answers, fake
//! hosts, and the engine's own filtering and applying of changes. Only in tests.
use crate::facts::sshd::SSHD;
use mailstead_answers::{Answers, Domain, Mailbox};
use mailstead_engine::engine::apply_change;
use mailstead_engine::{
    effective as engine_effective, Change, Ctx, Host, MemHost, Meta, Output, Planned, Secret,
};
use std::collections::BTreeSet;

pub fn ok(stdout: &str) -> Option<Output> {
    Some(Output {
        status: 0,
        stdout: stdout.to_string(),
        stderr: String::new(),
    })
}

pub fn fail(status: i32, stderr: &str) -> Option<Output> {
    Some(Output {
        status,
        stdout: String::new(),
        stderr: stderr.to_string(),
    })
}

/// Answers with a hostname and no domain, and a 1 MiB message size limit.
pub fn answers() -> Answers {
    let mut a = Answers::new("mail.example.test", "admin@example.test");
    a.message_size_limit = 1 << 20;
    a
}

pub const PW: &str = "correct horse battery staple";

/// Two domains, three mailboxes (one with a hash), an alias; a 10 MiB message size limit.
pub fn mail_answers() -> Answers {
    let mut other = Domain::new("other.test").with_mailbox(Mailbox::with_password(
        "carol@other.test",
        Secret::new("another long passphrase"),
    ));
    other.default_aliases = false;
    let mut a = Answers::new("mail.example.test", "admin@elsewhere.test")
        .with_domain(
            Domain::new("example.test")
                .with_mailbox(Mailbox::with_password(
                    "alice@example.test",
                    Secret::new(PW),
                ))
                .with_mailbox(Mailbox::with_hash("bob@example.test", "$6$abcdefgh$xyz"))
                .with_alias("info@example.test", "alice@example.test, bob@example.test"),
        )
        .with_domain(other);
    a.message_size_limit = 10 * 1024 * 1024;
    a
}

/// `ip` answers with one public IPv4 address, 192.0.2.7 ([`crate::facts::PublicAddresses`]).
pub fn with_address(h: &MemHost) {
    h.on_command(|c| {
        (c.program == "ip")
            .then(|| ok("2: eth0    inet 192.0.2.7/24 brd 192.0.2.255 scope global eth0\n"))
            .flatten()
    });
}

/// A context run by `admin`, with a fresh fact cache.
pub fn ctx<'a>(host: &'a dyn Host, answers: &'a Answers) -> Ctx<'a, Answers> {
    let mut c = Ctx::new(host, answers);
    c.invoking_users = vec!["admin".into()];
    c
}

pub const BOOKWORM: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n";

/// A fresh Debian 12 server, as preflight sees it.
pub fn fresh() -> MemHost<'static> {
    let h = MemHost::fake();
    h.add_file("/etc/os-release", BOOKWORM, Meta::root(0o644));
    h.add_file("/etc/hostname", "mail\n", Meta::root(0o644));
    h.add_file(
        "/etc/hosts",
        "127.0.0.1\tlocalhost\n127.0.1.1\tmail.example.test mail\n",
        Meta::root(0o644),
    );
    h.add_file("/etc/mailname", "mail.example.test\n", Meta::root(0o644));
    h.add_file(
        "/proc/meminfo",
        "MemTotal:        2000000 kB\n",
        Meta::root(0o444),
    );
    h.add_file(SSHD, "", Meta::root(0o755));
    h.on_command(|c| match (c.program.as_str(), c.args.join(" ").as_str()) {
        ("id", "-u") => ok("0\n"),
        ("hostname", "-f") => ok("mail.example.test\n"),
        ("df", _) => ok("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 20000000 1000000 19000000 5% /\n"),
        ("ss", _) => ok("LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:((\"sshd\",pid=300,fd=3))\n"),
        ("sshd", "-T") => ok("port 22\n"),
        ("dpkg-query", _) => ok(""),
        _ => None,
    });
    h
}

/// /etc/group and /etc/passwd with dovecot, postfix and vmail's group.
pub fn group_file(h: &MemHost) {
    h.add_file(
        "/etc/group",
        "root:x:0:\ndovecot:x:110:\npostfix:x:111:\nvmail:x:990:\n",
        Meta::root(0o644),
    );
    h.add_file(
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\npostfix:x:105:111::/var/spool/postfix:/usr/sbin/nologin\n",
        Meta::root(0o644),
    );
}

/// What the tls step leaves behind for mail.example.test.
pub fn add_cert(h: &MemHost) {
    let live = "/etc/letsencrypt/live/mail.example.test";
    h.add_file(&format!("{live}/fullchain.pem"), "CERT", Meta::root(0o644));
    h.add_file(&format!("{live}/privkey.pem"), "KEY", Meta::root(0o600));
}

/// The changes the engine would keep (files that differ, commands whose trigger fired).
pub fn effective(h: &dyn Host, planned: Planned) -> Vec<Change> {
    engine_effective(planned.changes, h, &mut BTreeSet::new())
}

/// Applies changes the way the engine does (reloads skipped).
pub fn apply(h: &dyn Host, changes: &[Change]) {
    for c in changes {
        if !matches!(c, Change::Reload { .. }) {
            apply_change(h, c).expect("apply");
        }
    }
}

/// `dpkg-query -W -f=${Package}\t${Status}\n` output listing `installed` as installed.
pub fn dpkg(installed: &[&str]) -> String {
    installed
        .iter()
        .map(|p| format!("{p}\tinstall ok installed\n"))
        .collect()
}

/// Applies changes like [`apply`], returning the first error instead of panicking.
pub fn try_apply(h: &dyn Host, changes: &[Change]) -> color_eyre::Result<()> {
    for c in changes {
        if !matches!(c, Change::Reload { .. }) {
            apply_change(h, c)?;
        }
    }
    Ok(())
}
