//! Step `bans`: password guessers are banned from the mail ports for a while (fail2ban).
//!
//! Touches `/etc/fail2ban/jail.d/mailstead.conf` and `/etc/fail2ban/filter.d/mailstead-dovecot.conf`
//! only (never Debian's `jail.conf`, `defaults-debian.conf` or filters). Two jails, both
//! reading the systemd journal (`backend = systemd`: a Debian server without rsyslog has no
//! `/var/log/mail.log`):
//! - `mailstead-postfix`: Debian's `postfix` filter in its `auth` mode, which matches what
//!   Postfix logs for a wrong SMTP AUTH password on 587 and 465
//!   (`warning: host[192.0.2.7]: SASL PLAIN authentication failed: (reason unavailable), ...`).
//!   The journal match names both units Postfix runs in: `postfix@-.service` (bookworm) and
//!   `postfix.service` (trixie); bookworm's fail2ban 1.0.2 filter names only the second, so
//!   its bans would never happen there.
//! - `mailstead-dovecot`: Debian's `dovecot` filter (`_SYSTEMD_UNIT=dovecot.service`), which
//!   matches Dovecot 2.3's `imap-login: Disconnected: Connection closed (auth failed, 1
//!   attempts in 6 secs): user=<...>, method=PLAIN, rip=192.0.2.7, ...`, plus one rule of ours
//!   for Dovecot 2.4's `imap-login: Login aborted: Connection closed (auth failed, 1 attempts
//!   in 6 secs) (auth_failed): ..., rip=192.0.2.7, ...`, which trixie's fail2ban 1.1.0 misses.
//!   IMAP and POP3 alike.
//!
//! [`MAX_RETRY`] wrong passwords within fail2ban's `findtime` (Debian's 10 minutes) ban the
//! address for [`BAN_TIME`] ([`MAX_RETRY_SMTP`] log lines for Postfix, which logs each
//! mechanism tried), on the mail ports only ([`BAN_PORTS`]): fail2ban's `nftables-multiport`
//! action, in fail2ban's own nftables table (`inet f2b-table`, hooked before ufw's chains), so
//! the ufw rules of step `firewall` are never touched and a ufw reload never drops a ban.
//!
//! Debian's `sshd` jail is kept as the server had it (on by default in bookworm and trixie,
//! `defaults-debian.conf`), never switched on or off here: only its `backend = systemd`
//! (bookworm's reads `/var/log/auth.log`, absent without rsyslog, and then fail2ban does not
//! start; trixie's is already systemd) and its `ignoreip`. An SSH ban never shuts the admin out:
//! loopback, the server's own addresses and `trusted_networks` are never banned (`ignoreip` of
//! every jail), and a login with a key never counts as a failed password.
//!
//! The admin's own fail2ban configuration wins. fail2ban reads `jail.conf`, `jail.d/*.conf`,
//! `jail.local`, `jail.d/*.local` (jail.conf(5)), later values winning within a section, so
//! their per-jail `.local` settings override this file; but a value set in a jail's section
//! beats `[DEFAULT]` wherever it was read, so this file sets nothing in `[DEFAULT]`, sets per
//! jail only what differs from Debian's defaults (`bantime`, Postfix's `maxretry`), and leaves
//! out each of those the admin set in a `[DEFAULT]` of their own (`jail.local`,
//! `jail.d/*.local`, other `jail.d/*.conf`); their `[DEFAULT]` `ignoreip` is kept in every
//! `ignoreip` written here.
//!
//! After writing, `fail2ban-client -t` checks the whole configuration (a failure fails the
//! step and the engine restores the file), then fail2ban is reloaded once (started when it
//! is not running: the packages step keeps it from starting with Debian's defaults).
pub mod check;
pub mod paths;
pub mod unban;
use crate::facts::PublicAddresses;
use color_eyre::eyre::Result;
use mailstead_answers::Answers;
use mailstead_engine::host::Cmd;
use mailstead_engine::{Change, Ctx, Perms, Planned, Step};
use paths::{BAN_JAILS, BAN_PORTS, FAIL2BAN_DOVECOT_FILTER, FAIL2BAN_JAILS};
use std::time::Duration;

pub struct Bans;

/// Failed logins from one address before it is banned (fail2ban's `maxretry`), Dovecot's
/// jail: Dovecot logs one line per connection that failed to log in.
pub const MAX_RETRY: u32 = 5;
/// The same for Postfix's jail: Postfix logs one line per SASL mechanism that failed, and
/// common clients (Python's smtplib, swaks, many mail apps) try PLAIN, then LOGIN, after a
/// wrong password: each wrong password counts twice, so this is five wrong passwords too.
pub const MAX_RETRY_SMTP: u32 = 2 * MAX_RETRY;
/// The window those failures must fall in: Debian's `findtime` (jail.conf), not set here.
pub const FIND_TIME: &str = "10m";
/// How long a ban lasts (fail2ban's `bantime`).
pub const BAN_TIME: &str = "1h";

/// What each jail watches: (jail, filter, journal match, what it bans for, maxretry when it
/// differs from Debian's 5).
const JAILS: [(&str, &str, &str, &str, Option<u32>); 2] = [
    (
        BAN_JAILS[0],
        "postfix[mode=auth]",
        "_SYSTEMD_UNIT=postfix.service + _SYSTEMD_UNIT=postfix@-.service",
        "wrong SMTP AUTH passwords (submission 587, submissions 465); one line per mechanism tried",
        Some(MAX_RETRY_SMTP),
    ),
    (
        BAN_JAILS[1],
        "mailstead-dovecot",
        "_SYSTEMD_UNIT=dovecot.service",
        "wrong IMAP and POP3 passwords (Dovecot); one line per connection",
        None,
    ),
];

/// Never banned: loopback, then `own` (the server's own addresses), without duplicates.
pub fn ignored(own: &[std::net::IpAddr]) -> Vec<String> {
    let mut out = vec!["127.0.0.1/8".to_string(), "::1".to_string()];
    for ip in own {
        let s = ip.to_string();
        if !out.contains(&s) && !ip.is_loopback() {
            out.push(s);
        }
    }
    out
}

/// `ignored`, then `more` (the trusted networks, the admin's own `[DEFAULT]` `ignoreip`),
/// without duplicates.
pub fn with(mut ignore: Vec<String>, more: &[String]) -> Vec<String> {
    for m in more {
        if !ignore.contains(m) {
            ignore.push(m.clone());
        }
    }
    ignore
}

/// What the admin set in a `[DEFAULT]` section of their own fail2ban files: the keys (lower
/// case) and the `ignoreip` entries.
#[derive(Debug, Default, PartialEq)]
pub struct AdminDefaults {
    pub keys: Vec<String>,
    pub ignoreip: Vec<String>,
}

/// The keys of the `[DEFAULT]` sections in fail2ban configuration `texts` (INI as Python's
/// configparser reads it: `#`/`;` comments, `key = value` or `key: value`, indented lines
/// continue a value).
pub fn admin_defaults<'a>(texts: impl IntoIterator<Item = &'a str>) -> AdminDefaults {
    let mut out = AdminDefaults::default();
    for text in texts {
        let mut in_default = false;
        let mut key = String::new();
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if let Some(section) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                in_default = section.trim() == "DEFAULT";
                key.clear();
                continue;
            }
            if !in_default {
                continue;
            }
            let value = if line.starts_with([' ', '\t']) {
                trimmed
            } else {
                let Some(at) = line.find(['=', ':']) else {
                    continue;
                };
                key = line[..at].trim().to_ascii_lowercase();
                if !out.keys.contains(&key) {
                    out.keys.push(key.clone());
                }
                if key == "ignoreip" {
                    out.ignoreip.clear();
                }
                line[at + 1..].trim()
            };
            if key == "ignoreip" {
                out.ignoreip.extend(
                    value
                        .split([' ', ',', '\t'])
                        .filter(|v| !v.is_empty())
                        .map(str::to_string),
                );
            }
        }
    }
    out
}

/// The jail file: Debian's sshd jail readable from the journal and never banning `ignore`,
/// then mailstead's jails. Leaves out `bantime` / `maxretry` where the admin's own `[DEFAULT]`
/// sets them (`admin_keys`).
pub fn render(ignore: &[String], admin_keys: &[String]) -> String {
    let ports = BAN_PORTS.map(|p| p.to_string()).join(",");
    let ignore = ignore.join(" ");
    let admin = |k: &str| admin_keys.iter().any(|a| a == k);
    let mut out = format!(
        "# Written by mailstead: addresses that guess passwords on the mail ports are banned\n\
         # from those ports ({ports}) for {BAN_TIME} after {MAX_RETRY} wrong passwords within {FIND_TIME}.\n\
         # `mailstead check` lists the bans; `mailstead unban ADDRESS` lifts one.\n\
         # Re-running mailstead rewrites this file. Your own settings win: a jail's values in\n\
         # /etc/fail2ban/jail.local or jail.d/*.local (read after this file), e.g.\n\
         # `[mailstead-postfix]` `bantime = 2h`; a [DEFAULT] of yours is left to apply here.\n\
         # Addresses never banned: `trusted_networks` in mailstead's answers file.\n\
         \n\
         # Debian's sshd jail, on or off as the server has it: read from the journal (bookworm's\n\
         # /var/log/auth.log is absent without rsyslog), never banning the addresses below.\n\
         [sshd]\n\
         backend = systemd\n\
         ignoreip = {ignore}\n"
    );
    for (jail, filter, journal, what, retries) in JAILS {
        out.push_str(&format!(
            "\n# {what}\n\
             [{jail}]\n\
             enabled = true\n\
             filter = {filter}\n\
             backend = systemd\n\
             journalmatch = {journal}\n\
             banaction = nftables-multiport\n\
             port = {ports}\n\
             protocol = tcp\n"
        ));
        if let Some(n) = retries.filter(|_| !admin("maxretry")) {
            out.push_str(&format!("maxretry = {n}\n"));
        }
        if !admin("bantime") {
            out.push_str(&format!("bantime = {BAN_TIME}\n"));
        }
        out.push_str(&format!("ignoreip = {ignore}\n"));
    }
    out
}

/// The admin's own fail2ban files that may hold a `[DEFAULT]`: `jail.local`, then
/// `jail.d/*.conf` (not Debian's or ours) and `jail.d/*.local`.
fn admin_files(host: &dyn mailstead_engine::Host) -> Vec<String> {
    let mut files = vec!["/etc/fail2ban/jail.local".to_string()];
    let mut names = host
        .list_dir(std::path::Path::new("/etc/fail2ban/jail.d"))
        .unwrap_or_default();
    names.sort();
    files.extend(
        names
            .into_iter()
            .filter(|n| {
                (n.ends_with(".conf") || n.ends_with(".local"))
                    && n != "defaults-debian.conf"
                    && !FAIL2BAN_JAILS.ends_with(&format!("/{n}"))
            })
            .map(|n| format!("/etc/fail2ban/jail.d/{n}")),
    );
    files
}

/// The Dovecot filter: Debian's `dovecot.conf` (read first, its rules kept through
/// `%(known/failregex)s`), plus Dovecot 2.4's failed-login line. The filter's prefix rule
/// already strips `imap-login: ` / `pop3-login: `.
pub const DOVECOT_FILTER: &str = "# Written by mailstead: Debian's dovecot filter, plus the line Dovecot 2.4 writes\n\
# for a failed login (`Login aborted: ... (auth failed, 1 attempts in 6 secs) (auth_failed):\n\
# ... rip=ADDRESS`), which fail2ban 1.1.0 does not match. Re-running mailstead rewrites it.\n\
[INCLUDES]\n\
before = dovecot.conf\n\
\n\
[Definition]\n\
failregex = %(known/failregex)s\n            \
^Login aborted: .+ \\(auth failed, \\d+ attempts(?: in \\d+ secs)?\\)(?: \\(\\w+\\))?: (?:user=<[^>]*>, )?(?:method=\\S+, )?rip=<HOST>(?:,|\\s|$)\n";

/// `fail2ban-client -t`: fail2ban reads its whole configuration and says whether it is valid.
fn validate() -> Cmd {
    // Only reads the configuration: a rollback has nothing of it to check by hand.
    Cmd::new("fail2ban-client", ["-t"])
        .timeout(Duration::from_secs(60))
        .files_only()
}

impl Step<Answers> for Bans {
    fn name(&self) -> &'static str {
        "bans"
    }
    fn about(&self) -> &'static str {
        "Bans (fail2ban): password guessers shut out of the mail ports"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let own = ctx.fact::<PublicAddresses>()?.ips();
        let mut texts = Vec::new();
        for f in admin_files(ctx.host) {
            if let Some(text) = ctx.host.read_string(std::path::Path::new(&f))? {
                texts.push(text);
            }
        }
        let admin = admin_defaults(texts.iter().map(String::as_str));
        let ignore = with(
            with(ignored(&own), &ctx.answers.trusted_networks),
            &admin.ignoreip,
        );
        let want = render(&ignore, &admin.keys);
        let mut check = Change::run_when_changed(
            "fail2ban-client -t (validate fail2ban configuration)",
            validate(),
            &[],
            &[FAIL2BAN_JAILS, FAIL2BAN_DOVECOT_FILTER],
            &[],
        );
        if let Change::Run { detail, .. } = &mut check {
            detail.push(format!(
                "jails {}: {MAX_RETRY} wrong passwords in {FIND_TIME} ban for {BAN_TIME}; never \
                 banned: {}",
                BAN_JAILS.join(", "),
                ignore.join(" ")
            ));
        }
        Ok(Planned::changes(vec![
            Change::write(FAIL2BAN_DOVECOT_FILTER, DOVECOT_FILTER, Perms::root(0o644)),
            Change::write(FAIL2BAN_JAILS, want, Perms::root(0o644)),
            check,
            Change::reload("fail2ban"),
        ]))
    }

    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        // fail2ban starts (or reloads) after the last step; check `bans` then proves the
        // jails run. Here: the file is ours and fail2ban accepts the configuration.
        let out = ctx.host.run(&Cmd::probe("fail2ban-client", ["-t"]))?;
        if out.success() {
            Ok(())
        } else {
            Err(color_eyre::eyre::eyre!(
                "fail2ban refuses its configuration: {}; look at {FAIL2BAN_JAILS} and \
                 `fail2ban-client -t`",
                crate::support::shown(&out.tail(3))
            ))
        }
    }
}

/// The `bans` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "bans"
    }
    fn steps(&self, _all: &'static crate::capability::Registry) -> crate::capability::Steps {
        vec![Box::new(Bans)]
    }
    fn checks(&self) -> crate::capability::Checks {
        use crate::capability::Phase;
        vec![(
            Phase::Health,
            Box::new(check::Bans {
                timeout: check::BANS_TIMEOUT,
            }),
        )]
    }
    fn packages(&self, _answers: &mailstead_answers::Answers) -> Vec<&'static str> {
        // fail2ban reading the journal, which needs python3-systemd (bookworm's fail2ban
        // only recommends it), and banning through nft in fail2ban's own table (nftables,
        // also only recommended).
        vec!["fail2ban", "python3-systemd", "nftables"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{answers, ctx, effective, group_file, ok};
    use mailstead_engine::{MemHost, Meta};

    fn host() -> MemHost<'static> {
        let h = MemHost::fake();
        h.on_command(|c| match c.program.as_str() {
            "ip" => ok(
                "2: eth0    inet 203.0.113.5/24 brd 203.0.113.255 scope global eth0\n\
                        2: eth0    inet6 2001:db8::5/64 scope global\n",
            ),
            "fail2ban-client" => ok("OK: configuration test is successful\n"),
            _ => None,
        });
        group_file(&h);
        h
    }

    /// One section's lines of `text` (up to the next section).
    fn section<'a>(text: &'a str, name: &str) -> &'a str {
        let after = text.split(&format!("[{name}]\n")).nth(1).unwrap_or("");
        after.split("\n[").next().unwrap()
    }

    #[test]
    fn jails_ban_the_mail_ports_only_from_the_journal() {
        let text = render(&ignored(&["203.0.113.5".parse().unwrap()]), &[]);
        for jail in BAN_JAILS {
            let section = section(&text, jail);
            for line in [
                "enabled = true",
                "backend = systemd",
                "banaction = nftables-multiport",
                "port = 25,465,587,143,993,110,995",
                "bantime = 1h",
                "ignoreip = 127.0.0.1/8 ::1 203.0.113.5",
            ] {
                assert!(
                    section.lines().any(|l| l == line),
                    "{jail}: {line}\n{section}"
                );
            }
            assert!(!section.contains("22"), "{section}");
            // Debian's findtime (10m) and maxretry (5) are not repeated: an admin's
            // [DEFAULT] of those applies to these jails.
            assert!(!section.contains("findtime"), "{section}");
            let retries = (jail == "mailstead-postfix").then_some("\nmaxretry = 10\n");
            assert_eq!(section.contains("maxretry"), retries.is_some(), "{section}");
            if let Some(r) = retries {
                assert!(section.contains(r), "{section}");
            }
        }
        assert!(text.contains(
            "[mailstead-postfix]\nenabled = true\nfilter = postfix[mode=auth]\nbackend = systemd\njournalmatch = _SYSTEMD_UNIT=postfix.service + _SYSTEMD_UNIT=postfix@-.service\n"
        ));
        assert!(text.contains(
            "[mailstead-dovecot]\nenabled = true\nfilter = mailstead-dovecot\nbackend = systemd\njournalmatch = _SYSTEMD_UNIT=dovecot.service\n"
        ));
    }

    /// Debian's sshd jail stays as the server has it (never `enabled` either way), reads the
    /// journal, and never bans the addresses mailstead's jails never ban; nothing in
    /// `[DEFAULT]`, which would override the admin's own defaults.
    #[test]
    fn keeps_debians_sshd_jail_and_sets_no_default() {
        let text = render(&["127.0.0.1/8".into(), "10.213.1.1".into()], &[]);
        assert!(
            section(&text, "sshd")
                .starts_with("backend = systemd\nignoreip = 127.0.0.1/8 10.213.1.1\n\n#"),
            "{text}"
        );
        assert!(!text.lines().any(|l| l.trim() == "[DEFAULT]"), "{text}");
        assert!(!text.contains("enabled = false"), "{text}");
        let sections: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
        assert_eq!(
            sections,
            ["[sshd]", "[mailstead-postfix]", "[mailstead-dovecot]"]
        );
    }

    /// An admin's `[DEFAULT]` `bantime` / `maxretry` win: left out of mailstead's jails;
    /// their `[DEFAULT]` `ignoreip` is kept in every jail's.
    #[test]
    fn admins_defaults_win() {
        let admin = admin_defaults([
            "[DEFAULT]\nbantime = 1d\n# maxretry = 9\nignoreip = 192.0.2.1\n  198.51.100.0/24,203.0.113.9\n\n[sshd]\nenabled = false\nmaxretry = 2\n",
            "[mailstead-postfix]\nmaxretry = 3\n",
            "[DEFAULT]\nMaxRetry: 4\n",
        ]);
        assert_eq!(
            admin,
            AdminDefaults {
                keys: vec!["bantime".into(), "ignoreip".into(), "maxretry".into()],
                ignoreip: vec![
                    "192.0.2.1".into(),
                    "198.51.100.0/24".into(),
                    "203.0.113.9".into()
                ],
            }
        );
        let text = render(&with(ignored(&[]), &admin.ignoreip), &admin.keys);
        assert!(!text.lines().any(|l| l.starts_with("bantime")), "{text}");
        assert!(!text.lines().any(|l| l.starts_with("maxretry")), "{text}");
        assert_eq!(
            text.matches("ignoreip = 127.0.0.1/8 ::1 192.0.2.1 198.51.100.0/24 203.0.113.9\n")
                .count(),
            3,
            "{text}"
        );
        assert_eq!(
            admin_defaults(["[sshd]\nbantime = 1d\n"]),
            AdminDefaults::default()
        );
    }

    /// The filter file is byte for byte the one proven against both releases' journal lines
    /// (`fail2ban-regex` in the beds).
    #[test]
    fn dovecot_filter_keeps_debians_rules_and_adds_24s_line() {
        assert!(DOVECOT_FILTER.contains("[INCLUDES]\nbefore = dovecot.conf\n"));
        assert!(DOVECOT_FILTER.contains("failregex = %(known/failregex)s\n            ^Login aborted: .+ \\(auth failed, \\d+ attempts(?: in \\d+ secs)?\\)(?: \\(\\w+\\))?: (?:user=<[^>]*>, )?(?:method=\\S+, )?rip=<HOST>(?:,|\\s|$)\n"), "{DOVECOT_FILTER}");
    }

    #[test]
    fn trusted_networks_and_admin_files_reach_every_ignoreip() {
        let h = host();
        h.add_file(
            "/etc/fail2ban/jail.local",
            "[DEFAULT]\nbantime = 1d\nignoreip = 198.51.100.7\n",
            Meta::root(0o644),
        );
        h.add_file(
            "/etc/fail2ban/jail.d/defaults-debian.conf",
            "[DEFAULT]\nbanaction = nftables\n[sshd]\nenabled = true\n",
            Meta::root(0o644),
        );
        let mut a = answers();
        a.trusted_networks = vec!["192.0.2.0/24".into(), "2001:db8:1::/48".into()];
        let changes = effective(&h, Bans.plan(&ctx(&h, &a)).unwrap());
        let Change::WriteFile { content, .. } = &changes[1] else {
            panic!()
        };
        let text = String::from_utf8_lossy(content);
        assert_eq!(
            text.matches(
                "ignoreip = 127.0.0.1/8 ::1 203.0.113.5 2001:db8::5 192.0.2.0/24 2001:db8:1::/48 198.51.100.7\n"
            )
            .count(),
            3,
            "{text}"
        );
        assert!(!text.lines().any(|l| l.starts_with("bantime")), "{text}");
        assert!(text.contains("maxretry = 10\n"), "{text}");
    }

    #[test]
    fn ignores_loopback_and_own_addresses_once() {
        let own: Vec<std::net::IpAddr> = ["203.0.113.5", "2001:db8::5", "203.0.113.5", "::1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(
            ignored(&own),
            ["127.0.0.1/8", "::1", "203.0.113.5", "2001:db8::5"]
        );
    }

    #[test]
    fn writes_validates_reloads_then_nothing_the_second_time() {
        let h = host();
        let a = answers();
        let changes = effective(&h, Bans.plan(&ctx(&h, &a)).unwrap());
        let s: Vec<String> = changes.iter().map(|c| c.summary()).collect();
        assert_eq!(
            s,
            [
                "write /etc/fail2ban/filter.d/mailstead-dovecot.conf (0644 root:root)",
                "write /etc/fail2ban/jail.d/mailstead.conf (0644 root:root)",
                "fail2ban-client -t (validate fail2ban configuration)",
                "reload fail2ban"
            ]
        );
        h.add_file(FAIL2BAN_DOVECOT_FILTER, DOVECOT_FILTER, Meta::root(0o644));
        let Change::WriteFile { content, .. } = &changes[1] else {
            panic!()
        };
        assert!(String::from_utf8_lossy(content)
            .contains("ignoreip = 127.0.0.1/8 ::1 203.0.113.5 2001:db8::5\n"));
        h.add_file(
            FAIL2BAN_JAILS,
            &String::from_utf8_lossy(content),
            Meta::root(0o644),
        );
        let again = effective(&h, Bans.plan(&ctx(&h, &a)).unwrap());
        assert!(again.is_empty(), "{again:?}");
        Bans.verify(&ctx(&h, &a)).unwrap();
    }

    #[test]
    fn verify_fails_when_fail2ban_refuses_the_configuration() {
        let h = MemHost::fake();
        h.on_command(|c| {
            (c.program == "fail2ban-client").then(|| mailstead_engine::Output {
                status: 255,
                stdout: String::new(),
                stderr: "ERROR  No section: 'Definition'\n".into(),
            })
        });
        let a = answers();
        let err = Bans.verify(&ctx(&h, &a)).unwrap_err();
        assert!(format!("{err:#}").contains("No section"), "{err:#}");
    }
}
