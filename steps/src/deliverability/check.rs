//! Deliverability checks, run by `mailstead check` only (not after an install: DNS is often
//! published later, and a missing PTR must not roll an install back). Each returns pass, warn
//! or fail with its fix; a check that cannot run here (no DNS, no certificate yet) says why and
//! counts as warn, never pass.
//!
//! - `reverse-dns`: each public address has forward-confirmed reverse DNS naming the hostname
//!   (fail naming the PTR seen and the exact record to set);
//! - `blocklists`: no public address on Spamhaus ZEN, SpamCop or Barracuda (fail naming the
//!   list and its delisting page);
//! - `tls-served`: the certificate served on 25, 587 (STARTTLS), 465 and 993 (TLS) is the one on
//!   disk (SHA-256 fingerprints) and is valid for more than [`CERT_WARN_DAYS`] days (warn) /
//!   [`CERT_FAIL_DAYS`] days (fail);
//! - `renewal-hook`: certbot's deploy hook that reloads the services is there and executable;
//! - `queue`: deferred mail, named by what holds it up (`super::queue`);
//! - `disk`: free space on /var/mail, /var/spool/postfix and / (Redis, logs), each file
//!   system once (warn under 10 % or 1 GiB, fail under 2 %).
//!
//! (`dns-records`, DNS as published, is the `dns` capability's check.)
use crate::facts::deliverability::{self, Outcome};
use crate::facts::resolver::Dns;
use crate::facts::PublicAddresses;
use crate::layout::{cert_paths, DEPLOY_HOOK};
use mailstead_answers::Answers;
use mailstead_engine::host::{Cmd, Host};
use mailstead_engine::{Check, Ctx, Finding};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

/// The deliverability checks, in the order they run.
pub fn all() -> Vec<Box<dyn Check<Answers>>> {
    vec![
        Box::new(ReverseDns),
        Box::new(Blocklists),
        Box::new(TlsServed),
        Box::new(RenewalHook),
        Box::new(Queue),
        Box::new(Disk),
    ]
}

pub struct ReverseDns;
pub struct Blocklists;
pub struct TlsServed;
pub struct RenewalHook;
pub use super::queue::Queue;
pub struct Disk;

/// Under this many days left, the served certificate is a warning (certbot renews at 30).
pub const CERT_WARN_DAYS: i64 = 14;
/// Under this many days left, a failure.
pub const CERT_FAIL_DAYS: i64 = 3;

/// The public addresses (IPv4, then IPv6).
fn public_ips(ctx: &Ctx<Answers>) -> Vec<IpAddr> {
    ctx.fact::<PublicAddresses>()
        .map(|a| a.ips())
        .unwrap_or_default()
}

fn fqdn(ctx: &Ctx<Answers>) -> String {
    ctx.answers.hostname.trim().to_ascii_lowercase()
}

/// Runs `each` for every public address with the run's resolver and folds the outcomes:
/// any problem fails; otherwise any unknown warns ("could not check"); else pass.
fn per_address(
    ctx: &Ctx<Answers>,
    what: &str,
    each: impl Fn(&dyn crate::facts::resolver::Resolve, IpAddr) -> Vec<Outcome>,
) -> Finding {
    let dns = match ctx.fact::<Dns>() {
        Ok(d) => d,
        Err(e) => return Finding::warn(format!("{what} not checked: {e:#}"), "make DNS work"),
    };
    let r = match dns.resolver() {
        Ok(r) => r,
        Err(why) => {
            return Finding::warn(
                format!("{what} not checked: {why}"),
                "give the server a working /etc/resolv.conf, then run `mailstead check` again",
            )
        }
    };
    let ips = public_ips(ctx);
    if ips.is_empty() {
        return Finding::warn(
            format!("{what} not checked: the server has no global address (`ip addr`)"),
            "give the server a public address; other servers cannot reach it without one",
        );
    }
    let (mut ok, mut problems, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    for ip in ips {
        for o in each(r, ip) {
            match o {
                Outcome::Ok(t) => ok.push(t),
                Outcome::Problem(p) => problems.push(p),
                Outcome::Unknown(w) => unknown.push(w),
            }
        }
    }
    if !problems.is_empty() {
        return Finding::fail(
            problems
                .iter()
                .map(|p| p.detail.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            problems
                .iter()
                .map(|p| p.fix.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    if !unknown.is_empty() {
        unknown.dedup();
        return Finding::warn(
            format!("{what} could not be checked: {}", unknown.join("; ")),
            "run `mailstead check` again when DNS answers",
        );
    }
    Finding::pass(ok.join("; "))
}

impl Check<Answers> for ReverseDns {
    fn name(&self) -> &'static str {
        "reverse-dns"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let fqdn = fqdn(ctx);
        per_address(ctx, "reverse DNS", |r, ip| {
            vec![deliverability::reverse_dns(r, &fqdn, ip)]
        })
    }
}

impl Check<Answers> for Blocklists {
    fn name(&self) -> &'static str {
        "blocklists"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let f = per_address(ctx, "blocklists", |r, ip| {
            deliverability::blocklists(r, ip)
                .into_iter()
                .map(|(_, o)| o)
                .collect()
        });
        if f.status == mailstead_engine::Status::Pass {
            // One line, not one per list and address.
            let lists: Vec<&str> = deliverability::BLOCKLISTS.iter().map(|l| l.name).collect();
            return Finding::pass(format!("not listed on {}", lists.join(", ")));
        }
        f
    }
}

// ---------------------------------------------------------------- the served certificate

/// SHA-256 fingerprint and expiry (`notAfter`, unix seconds) of a certificate, from
/// `openssl x509 -noout -fingerprint -sha256 -enddate` output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub sha256: String,
    pub not_after: i64,
}

/// Parses `sha256 Fingerprint=AB:CD...` (OpenSSL 3; `SHA256 Fingerprint=` in 1.1) and
/// `notAfter=Feb 27 12:00:00 2027 GMT`.
pub fn parse_x509(text: &str) -> Option<CertInfo> {
    let mut sha = None;
    let mut not_after = None;
    for l in text.lines() {
        if let Some((k, v)) = l.split_once('=') {
            if k.to_ascii_lowercase().contains("fingerprint") {
                sha = Some(v.trim().to_ascii_uppercase());
            } else if k.trim() == "notAfter" {
                not_after = parse_openssl_date(v.trim());
            }
        }
    }
    Some(CertInfo {
        sha256: sha?,
        not_after: not_after?,
    })
}

/// `Feb 27 12:00:00 2027 GMT` → unix seconds (OpenSSL's ASN1_TIME_print format, always GMT).
pub fn parse_openssl_date(s: &str) -> Option<i64> {
    let w: Vec<&str> = s.split_whitespace().collect();
    if w.len() < 4 {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = MONTHS.iter().position(|m| *m == w[0])? as i64 + 1;
    let d: i64 = w[1].parse().ok()?;
    let y: i64 = w[3].parse().ok()?;
    let hms: Vec<i64> = w[2].split(':').filter_map(|x| x.parse().ok()).collect();
    if hms.len() != 3 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

const X509: &str = "openssl x509 -noout -fingerprint -sha256 -enddate";

/// The certificate on disk, as Postfix and Dovecot load it (the first of fullchain.pem).
fn disk_cert(host: &dyn Host, fqdn: &str) -> Result<CertInfo, String> {
    let (chain, _) = cert_paths(fqdn);
    let path = chain.display().to_string();
    let out = host
        .run(
            &Cmd::probe(
                "openssl",
                [
                    "x509",
                    "-in",
                    &path,
                    "-noout",
                    "-fingerprint",
                    "-sha256",
                    "-enddate",
                ],
            )
            .timeout(Duration::from_secs(15)),
        )
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !out.success() {
        return Err(format!("cannot read {path}: {}", out.tail(2)));
    }
    parse_x509(&out.stdout).ok_or_else(|| format!("cannot parse `{X509}` of {path}"))
}

/// The certificate served on `addr:port` (STARTTLS for 25 and 587), through `openssl
/// s_client` on the server.
fn served_cert(host: &dyn Host, addr: &str, port: u16, fqdn: &str) -> Result<CertInfo, String> {
    let starttls = match port {
        25 | 587 => "-starttls smtp",
        143 => "-starttls imap",
        _ => "",
    };
    let target = if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    };
    let script = format!(
        "openssl s_client -connect {target} -servername {fqdn} {starttls} </dev/null 2>/dev/null \
         | {X509}"
    );
    let out = host
        .run(&Cmd::probe("sh", ["-c", &script]).timeout(Duration::from_secs(20)))
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    parse_x509(&out.stdout).ok_or_else(|| format!("no TLS certificate served on {target}"))
}

impl Check<Answers> for TlsServed {
    fn name(&self) -> &'static str {
        "tls-served"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let fqdn = fqdn(ctx);
        let (chain, _) = cert_paths(&fqdn);
        let disk = match disk_cert(ctx.host, &fqdn) {
            Ok(c) => c,
            Err(e) => {
                return Finding::warn(
                    format!("served certificates not compared: {e}"),
                    "run `mailstead install` to get the certificate",
                )
            }
        };
        let addr = public_ips(ctx)
            .first()
            .map(IpAddr::to_string)
            .unwrap_or_else(|| "127.0.0.1".into());
        let mut problems = Vec::new();
        let mut worst_days = i64::MAX;
        for port in [25u16, 587, 465, 993] {
            match served_cert(ctx.host, &addr, port, &fqdn) {
                Ok(c) if c.sha256 != disk.sha256 => problems.push(format!(
                    "port {port} serves another certificate (SHA-256 {}) than {} ({})",
                    c.sha256,
                    chain.display(),
                    disk.sha256
                )),
                Ok(c) => worst_days = worst_days.min((c.not_after - now_secs()).div_euclid(86400)),
                Err(e) => problems.push(format!("port {port}: {e}")),
            }
        }
        let disk_days = (disk.not_after - now_secs()).div_euclid(86400);
        worst_days = worst_days.min(disk_days);
        if !problems.is_empty() {
            return Finding::fail(
                problems.join("; "),
                "reload the services so they load the certificate on disk (`systemctl reload \
                 postfix dovecot`); if it persists, look at `postconf smtpd_tls_chain_files` and \
                 `doveconf -n | grep ssl`",
            );
        }
        let renew = format!(
            "renew it: `certbot renew --cert-name {fqdn}` (look at `journalctl -u certbot` and \
             `systemctl status certbot.timer` for why it was not renewed)"
        );
        if worst_days < CERT_FAIL_DAYS {
            return Finding::fail(
                format!(
                    "the certificate served on 25, 587, 465 and 993 expires in {worst_days} days \
                     (under {CERT_FAIL_DAYS})"
                ),
                renew,
            );
        }
        if worst_days < CERT_WARN_DAYS {
            return Finding::warn(
                format!(
                    "the certificate served on 25, 587, 465 and 993 expires in {worst_days} days \
                     (under {CERT_WARN_DAYS})"
                ),
                renew,
            );
        }
        Finding::pass(format!(
            "25, 587, 465 and 993 serve {} (SHA-256 {}…), valid for {worst_days} more days",
            chain.display(),
            &disk.sha256.chars().take(23).collect::<String>()
        ))
    }
}

impl Check<Answers> for RenewalHook {
    fn name(&self) -> &'static str {
        "renewal-hook"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        match ctx.host.stat(Path::new(DEPLOY_HOOK)) {
            Ok(Some(s)) if s.meta.mode & 0o100 != 0 => Finding::pass(format!(
                "{DEPLOY_HOOK} reloads Postfix and Dovecot after each renewal"
            )),
            Ok(Some(_)) => Finding::fail(
                format!("{DEPLOY_HOOK} is not executable: renewed certificates are not loaded"),
                format!("chmod 0755 {DEPLOY_HOOK} (or run `mailstead install`)"),
            ),
            _ => Finding::fail(
                format!(
                    "{DEPLOY_HOOK} is missing: a renewed certificate is not loaded until the \
                     services restart"
                ),
                "run `mailstead install` to put the hook back",
            ),
        }
    }
}

// ---------------------------------------------------------------- disk space

/// `(mount point, total KiB, available KiB)` of each `df -P -k` line after the header.
pub fn parse_df(text: &str) -> Vec<(String, u64, u64)> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() < 6 {
                return None;
            }
            Some((w[5].to_string(), w[1].parse().ok()?, w[3].parse().ok()?))
        })
        .collect()
}

/// Warn under 10 % or 1 GiB free; fail under 2 %.
pub const DISK_WARN_PERCENT: u64 = 10;
pub const DISK_WARN_KIB: u64 = 1024 * 1024;
pub const DISK_FAIL_PERCENT: u64 = 2;

impl Check<Answers> for Disk {
    fn name(&self) -> &'static str {
        "disk"
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        // The mailboxes, Postfix's queue, and / (Redis's saves, rspamd's and the system's
        // logs): each file system once, named with the directories it holds.
        let dirs = ["/var/mail", "/var/spool/postfix", "/"];
        let mut args = vec!["-P", "-k"];
        args.extend(dirs);
        let out = match ctx.host.run(&Cmd::probe("df", args)) {
            Ok(o) if o.success() => o,
            Ok(o) => return Finding::warn(format!("df failed: {}", o.tail(2)), "look at `df -h`"),
            Err(e) => return Finding::warn(format!("cannot run df: {e}"), "install coreutils"),
        };
        let rows = parse_df(&out.stdout);
        // (mount, total, avail, the directories on it), in the order of `dirs`.
        let mut mounts: Vec<(String, u64, u64, Vec<&str>)> = Vec::new();
        for (dir, (mount, total, avail)) in dirs.iter().zip(rows) {
            match mounts.iter_mut().find(|m| m.0 == mount) {
                Some(m) => m.3.push(dir),
                None => mounts.push((mount, total, avail, vec![dir])),
            }
        }
        let mut worst = mailstead_engine::Status::Pass;
        let mut lines = Vec::new();
        for (mount, total, avail, on) in &mounts {
            let pct = if *total == 0 {
                100
            } else {
                avail * 100 / total
            };
            let status = if pct < DISK_FAIL_PERCENT {
                mailstead_engine::Status::Fail
            } else if pct < DISK_WARN_PERCENT || *avail < DISK_WARN_KIB {
                mailstead_engine::Status::Warn
            } else {
                mailstead_engine::Status::Pass
            };
            worst = worst.max(status);
            let holding: Vec<&str> = on.iter().copied().filter(|d| d != mount).collect();
            lines.push(format!(
                "{mount}{}: {} MiB free ({pct} %)",
                if holding.is_empty() {
                    String::new()
                } else {
                    format!(" (holding {})", holding.join(", "))
                },
                avail / 1024
            ));
        }
        let detail = lines.join("; ");
        let fix = "free space (`apt-get clean`, old logs: `journalctl --vacuum-size=200M`, \
                   large mailboxes: `doveadm quota get -A`) or grow the disk; `df -h` shows it";
        match worst {
            mailstead_engine::Status::Pass => Finding::pass(detail),
            mailstead_engine::Status::Warn => Finding::warn(
                format!("{detail}: under {DISK_WARN_PERCENT} % or 1 GiB free"),
                fix,
            ),
            mailstead_engine::Status::Fail => Finding::fail(
                format!(
                    "{detail}: under {DISK_FAIL_PERCENT} % free: Postfix refuses new mail for \
                     now (452 4.3.1 insufficient system storage), Dovecot cannot store what \
                     waits in the queue, Redis stops taking writes"
                ),
                fix,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::resolver::Fake;
    use crate::testing::{answers, ctx, ok, with_address};
    use mailstead_engine::{MemHost, Meta, Status};

    #[test]
    fn reverse_dns_fails_naming_the_ptr_and_the_record_to_set() {
        let h = MemHost::fake();
        with_address(&h);
        let a = answers();
        let c = ctx(&h, &a);
        c.facts.insert(Dns::with(
            Fake::new()
                .with_ip("mail.example.test", "192.0.2.7")
                .with_ptr("192.0.2.7", "other.example.test"),
        ));
        let f = ReverseDns.run(&c);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(
            f.detail
                .contains("is other.example.test, not mail.example.test"),
            "{f:?}"
        );
        assert!(f
            .fix
            .unwrap()
            .contains("`7.2.0.192.in-addr.arpa. IN PTR mail.example.test.`"),);
        let c = ctx(&h, &a);
        c.facts.insert(Dns::with(
            Fake::new()
                .with_ip("mail.example.test", "192.0.2.7")
                .with_ptr("192.0.2.7", "mail.example.test"),
        ));
        assert_eq!(ReverseDns.run(&c).status, Status::Pass);
        // No DNS answer: warn, "could not be checked", never pass.
        let c = ctx(&h, &a);
        c.facts.insert(Dns::with(Fake::silent()));
        let f = ReverseDns.run(&c);
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(f.detail.contains("could not be checked"), "{f:?}");
        let c = ctx(&h, &a);
        c.facts
            .insert(Dns::none("/etc/resolv.conf names no nameserver"));
        assert_eq!(ReverseDns.run(&c).status, Status::Warn);
    }

    #[test]
    fn blocklists_fail_naming_the_list_and_the_delisting_page() {
        let h = MemHost::fake();
        with_address(&h);
        let a = answers();
        let c = ctx(&h, &a);
        let answering = crate::facts::deliverability::lists_answering;
        c.facts.insert(Dns::with(
            answering(Fake::new()).with_ip("7.2.0.192.bl.spamcop.net", "127.0.0.2"),
        ));
        let f = Blocklists.run(&c);
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(f.detail.contains("listed on SpamCop"), "{f:?}");
        assert!(f.fix.unwrap().contains("https://www.spamcop.net/bl.shtml"));
        let c = ctx(&h, &a);
        c.facts.insert(Dns::with(answering(Fake::new())));
        let f = Blocklists.run(&c);
        assert_eq!(f.status, Status::Pass, "{f:?}");
        assert!(f.detail.contains("Spamhaus ZEN, SpamCop, Barracuda"));
        // Lists that do not answer at all (NXDOMAIN for everything): a warning, never a pass.
        let c = ctx(&h, &a);
        c.facts.insert(Dns::with(Fake::new()));
        let f = Blocklists.run(&c);
        assert_eq!(f.status, Status::Warn, "{f:?}");
    }

    #[test]
    fn openssl_output_and_dates() {
        let t = "sha256 Fingerprint=AB:CD:EF\nnotAfter=Feb 27 12:00:00 2027 GMT\n";
        let c = parse_x509(t).unwrap();
        assert_eq!(c.sha256, "AB:CD:EF");
        // date -u -d '2027-02-27 12:00:00' +%s
        assert_eq!(c.not_after, 1803729600);
        assert_eq!(parse_openssl_date("Jan  1 00:00:00 1970 GMT"), Some(0));
        assert_eq!(parse_x509(""), None);
    }

    #[test]
    fn served_certificate_must_match_the_disk_and_last() {
        let h = MemHost::fake();
        let soon = now_secs() + 5 * 86400 + 3600;
        let date = |secs: i64| {
            // Back to OpenSSL's format through the inverse of days_from_civil (via `date`).
            let out = std::process::Command::new("date")
                .args(["-u", "-d", &format!("@{secs}"), "+%b %e %H:%M:%S %Y GMT"])
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        let d = date(soon);
        h.on_command(move |c| match c.program.as_str() {
            "openssl" => ok(&format!("sha256 Fingerprint=AA:AA\nnotAfter={d}\n")),
            "sh" if c.args[1].contains(":993") => {
                ok(&format!("sha256 Fingerprint=BB:BB\nnotAfter={d}\n"))
            }
            "sh" => ok(&format!("sha256 Fingerprint=AA:AA\nnotAfter={d}\n")),
            _ => None,
        });
        let a = answers();
        let f = TlsServed.run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(
            f.detail
                .contains("port 993 serves another certificate (SHA-256 BB:BB)"),
            "{f:?}"
        );

        let h = MemHost::fake();
        let d = date(soon);
        h.on_command(move |c| match c.program.as_str() {
            "openssl" | "sh" => ok(&format!("sha256 Fingerprint=AA:AA\nnotAfter={d}\n")),
            _ => None,
        });
        let f = TlsServed.run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Warn, "{f:?}");
        assert!(f.detail.contains("expires in 5 days (under 14)"), "{f:?}");
        assert!(h.commands().iter().any(|c| c.contains("-starttls smtp")));
    }

    #[test]
    fn renewal_hook_present_and_executable() {
        let h = MemHost::fake();
        let a = answers();
        assert_eq!(RenewalHook.run(&ctx(&h, &a)).status, Status::Fail);
        h.add_file(DEPLOY_HOOK, "#!/bin/sh\n", Meta::root(0o644));
        assert_eq!(RenewalHook.run(&ctx(&h, &a)).status, Status::Fail);
        h.set_meta(Path::new(DEPLOY_HOOK), Meta::root(0o755))
            .unwrap();
        assert_eq!(RenewalHook.run(&ctx(&h, &a)).status, Status::Pass);
    }

    #[test]
    fn disk_space_thresholds() {
        let df = |avail: u64| {
            format!(
                "Filesystem 1024-blocks Used Available Capacity Mounted on\n\
                 /dev/sda1 100000000 0 {avail} 1% /\n/dev/sda1 100000000 0 {avail} 1% /\n\
                 /dev/sda1 100000000 0 {avail} 1% /\n"
            )
        };
        let a = answers();
        for (avail, want) in [
            (50_000_000, Status::Pass),
            (5_000_000, Status::Warn),
            (1_000_000, Status::Fail),
        ] {
            let h = MemHost::fake();
            let text = df(avail);
            h.on_command(move |c| (c.program == "df").then(|| ok(&text)).flatten());
            let f = Disk.run(&ctx(&h, &a));
            assert_eq!(f.status, want, "{avail}: {f:?}");
        }
        let h = MemHost::fake();
        let text = "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 2000000 0 900000 55% /\n/dev/sda1 2000000 0 900000 55% /\n/dev/sda1 2000000 0 900000 55% /\n";
        h.on_command(move |c| (c.program == "df").then(|| ok(text)).flatten());
        let f = Disk.run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Warn, "under 1 GiB: {f:?}");
        assert!(
            f.detail
                .contains("/ (holding /var/mail, /var/spool/postfix): 878 MiB free (45 %)"),
            "{f:?}"
        );
        // /var/mail on a file system of its own, nearly full: named with its percentage.
        let h = MemHost::fake();
        let text = "Filesystem 1024-blocks Used Available Capacity Mounted on\n\
                    /dev/sdb1 10000000 0 150000 99% /var/mail\n\
                    /dev/sda1 20000000 0 9000000 55% /\n/dev/sda1 20000000 0 9000000 55% /\n";
        h.on_command(move |c| (c.program == "df").then(|| ok(text)).flatten());
        let f = Disk.run(&ctx(&h, &a));
        assert_eq!(f.status, Status::Fail, "{f:?}");
        assert!(
            f.detail.starts_with(
                "/var/mail: 146 MiB free (1 %); / (holding /var/spool/postfix): 8789 MiB free (45 %): under 2 % free: Postfix refuses new mail"
            ),
            "{f:?}"
        );
        assert!(
            f.fix.as_deref().is_some_and(|x| x.contains("df -h")),
            "{f:?}"
        );
    }
}
