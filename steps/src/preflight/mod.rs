//! Step `preflight`: checks the server can take a mail stack before anything is touched.
//!
//! Refuses (a [`Refusal`]: exit 2, nothing changed, every problem with its fix) when: not
//! root; not Debian 12 or 13; the answers' hostname is not an FQDN (the answers' own rule);
//! too little disk (/var) or memory; port 25 is held by another MTA or port 80 by something
//! certbot cannot work with; an existing Postfix or Dovecot configuration that mailstead did
//! not write would be clobbered; `sshd -t` already fails.
//!
//! Touches only when the hostname is not the answers' FQDN (the offered fix): `/etc/hostname`,
//! `/etc/hosts` (the `127.0.1.1` line), `/etc/mailname`, and the running hostname
//! (`hostnamectl` under systemd, `hostname` otherwise; never under `--root`).
use crate::facts::deliverability::{self, Outcome};
use crate::facts::resolver::{Answer, Dns};
use crate::facts::{
    self, Certificates, Hostname, Identity, Listeners, OsRelease, Packages, PublicAddresses,
    Resources, Sshd,
};
use crate::layout;
use color_eyre::eyre::Result;
use mailstead_answers::Answers;
use mailstead_engine::host::{Cmd, Host};
use mailstead_engine::{system, Change, Ctx, Note, Perms, Planned, Refusal, Step};
use std::net::IpAddr;
use std::path::Path;

pub struct Preflight;

const CLOUD_CFG: &str = "/etc/cloud/cloud.cfg";
const CLOUD_HOSTNAME_DROP_IN: &str = "/etc/cloud/cloud.cfg.d/99-mailstead-hostname.cfg";
/// cloud-init's `preserve_hostname` and `manage_etc_hosts` (cloud-init docs, "Set Hostname"
/// and "Update Etc Hosts" modules).
const CLOUD_HOSTNAME_CFG: &str =
    "# Written by mailstead: the mail server keeps its hostname across reboots\n\
# (cloud-init would set it, and /etc/hosts, from the provider's metadata).\n\
preserve_hostname: true\n\
manage_etc_hosts: false\n";

/// 1 GiB free on the filesystem holding /var (packages, queue, mail, logs).
const MIN_FREE_KIB: u64 = 1024 * 1024;
/// 1 GiB: in the booted beds the stack takes 144-167 MiB of PSS right after an install,
/// rspamd 117-132 MiB of it (RSS 443-531 MiB), and up to 253 MiB (rspamd 211 MiB) just after
/// an rspamd reload, while old workers are still leaving (README, "DKIM signing"). The 512 MiB
/// floor held for Postfix + Dovecot (~30 MiB); with rspamd it leaves too little room for the
/// OS, apt and certbot, so the next common machine size, 1 GiB.
/// "1 GiB" machines report a little less as MemTotal (the kernel keeps some): accept them.
const MIN_MEM_KIB: u64 = 900 * 1024;

/// Process names of other MTAs that may hold port 25.
const OTHER_MTAS: &[&str] = &[
    "exim4",
    "exim",
    "sendmail",
    "smtpd",
    "opensmtpd",
    "qmail-smtpd",
];

impl Step<Answers> for Preflight {
    fn name(&self) -> &'static str {
        "preflight"
    }
    fn about(&self) -> &'static str {
        "Check the server: root, Debian 12/13, hostname, disk, memory, ports, existing config, sshd"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let host = ctx.host;
        let fqdn = ctx.answers.hostname.trim().to_ascii_lowercase();
        // The hard stops first: nothing else is worth probing on the wrong system.
        let hard = [
            root_problem(&*ctx.fact::<Identity>()?),
            os_problem(&*ctx.fact::<OsRelease>()?),
            mailstead_answers::rules::hostname("hostname", &fqdn)
                .err()
                .map(|p| p.to_string()),
        ];
        if let Some(p) = hard.into_iter().flatten().next() {
            return Err(Refusal::new(vec![p]).into());
        }
        let listeners = ctx.fact::<Listeners>()?;
        let mut problems = Vec::new();
        problems.extend(foreign_config(host));
        problems.extend(port_problems(
            &listeners,
            &*ctx.fact::<Packages>()?,
            &*ctx.fact::<Certificates>()?,
            &fqdn,
        ));
        problems.extend(resource_problems(&*ctx.fact::<Resources>()?));
        problems.extend(sshd_problem(&*ctx.fact::<Sshd>()?));
        if !problems.is_empty() {
            return Err(Refusal::new(problems).into());
        }
        let current = ctx.fact::<Hostname>()?;
        let mut planned = Planned::changes(hostname_changes(host, current.fqdn.as_deref(), &fqdn));
        // Cloud images: cloud-init sets the hostname (and /etc/hosts) from the provider's
        // metadata at every boot. Its own settings keep ours.
        if host.exists(Path::new(CLOUD_CFG)) {
            planned.changes.push(Change::write(
                CLOUD_HOSTNAME_DROP_IN,
                CLOUD_HOSTNAME_CFG,
                Perms::root(0o644),
            ));
        }
        if let Some(web) = facts::web_server_on_80(&listeners) {
            planned.notes.push(Note::info(format!(
                "{web} holds port 80: certificates are requested with certbot --webroot {} \
                 (it must serve http://{}/.well-known/acme-challenge/ from there)",
                layout::WEBROOT,
                ctx.answers.hostname
            )));
        }
        // Deliverability: warnings with their fix, never refusals (DNS is often published
        // after the install). The same functions back `mailstead check`.
        planned.notes.extend(deliverability_notes(ctx, &fqdn));
        Ok(planned)
    }

    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        let fqdn = ctx.answers.hostname.trim().to_ascii_lowercase();
        if ctx.fact::<Hostname>()?.fqdn.as_deref() == Some(fqdn.as_str()) {
            Ok(())
        } else {
            Err(color_eyre::eyre::eyre!(
                "the hostname is still not {fqdn} after setting it; check /etc/hostname and the \
                 127.0.1.1 line of /etc/hosts, then run `hostname -f`"
            ))
        }
    }
}

// ---------------------------------------------------------------- the checks

fn root_problem(id: &Identity) -> Option<String> {
    match id.uid {
        Some(0) => None,
        Some(uid) => Some(format!(
            "mailstead must run as root (it installs packages and writes /etc), but runs as uid {uid}; \
             fix: run it with sudo (`sudo mailstead ...`) or as root"
        )),
        None => Some(
            "could not tell which user mailstead runs as (`id -u` failed); fix: run it as root \
             on the server itself"
                .into(),
        ),
    }
}

fn os_problem(os: &OsRelease) -> Option<String> {
    let supported = "mailstead supports Debian 12 (bookworm) and Debian 13 (trixie)";
    if os.missing {
        return Some(format!("cannot tell which system this is: /etc/os-release is missing; {supported}; fix: install on a Debian 12 or 13 server"));
    }
    if os.id != "debian" {
        return Some(format!(
            "unsupported system: {}; {supported}; fix: install on a fresh Debian 12 or 13 server",
            os.pretty_name
        ));
    }
    if os.debian_release().is_none() {
        return Some(format!(
            "unsupported Debian release: {}; {supported}; fix: upgrade (or reinstall) to Debian 12 or 13",
            os.pretty_name
        ));
    }
    None
}

/// Settings in main.cf that mean someone already set this Postfix up for real mail.
const FOREIGN_POSTFIX_KEYS: &[&str] = &[
    "relayhost",
    "relay_domains",
    "virtual_mailbox_domains",
    "virtual_mailbox_maps",
    "virtual_alias_domains",
    "virtual_alias_maps",
    "virtual_transport",
    "transport_maps",
    "content_filter",
    "smtpd_milters",
    "non_smtpd_milters",
    "smtpd_sasl_auth_enable",
    "mailbox_transport",
];

/// Files mailstead wrote (fingerprinted by the engine) are never "foreign".
fn managed_by_mailstead(host: &dyn Host, path: &str) -> bool {
    let managed = Path::new(mailstead_engine::journal::STATE_DIR).join("managed.json");
    host.read_string(&managed)
        .ok()
        .flatten()
        .is_some_and(|t| t.contains(&format!("\"{path}\"")))
}

/// `key = value` settings of a Postfix main.cf (continuation lines joined).
pub(crate) fn main_cf_settings(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

fn foreign_config(host: &dyn Host) -> Vec<String> {
    let mut problems = Vec::new();
    let main_cf = "/etc/postfix/main.cf";
    if !managed_by_mailstead(host, main_cf) {
        if let Ok(Some(text)) = host.read_string(Path::new(main_cf)) {
            let found: Vec<String> = main_cf_settings(&text)
                .into_iter()
                .filter(|(k, v)| FOREIGN_POSTFIX_KEYS.contains(&k.as_str()) && !v.is_empty())
                .filter(|(k, v)| !(k == "smtpd_sasl_auth_enable" && v == "no"))
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            if !found.is_empty() {
                problems.push(format!(
                    "{main_cf} already holds a mail setup mailstead did not write ({}); mailstead \
                     would replace it. Fix: keep this server's setup as it is (do not use \
                     mailstead here), or back up /etc/postfix and remove those settings \
                     (`postconf -X {}`), then re-run",
                    found.join("; "),
                    found
                        .iter()
                        .map(|f| f.split(' ').next().unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(" ")
                ));
            }
        }
    }
    let local = "/etc/dovecot/local.conf";
    if !managed_by_mailstead(host, local) {
        if let Ok(Some(text)) = host.read_string(Path::new(local)) {
            let has_settings = text
                .lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
            if has_settings && !text.contains("mailstead") {
                problems.push(format!(
                    "{local} already holds Dovecot settings mailstead did not write; mailstead \
                     would replace them. Fix: keep this server's setup as it is, or back it up \
                     and remove {local}, then re-run"
                ));
            }
        }
    }
    problems
}

fn port_problems(
    all: &Listeners,
    packages: &Packages,
    certs: &Certificates,
    fqdn: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    for l in all.on(25) {
        let name = l.process.clone().unwrap_or_default();
        if name == "master" || name == "postfix" || seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        if l.process.is_none() && packages.has("postfix") {
            continue; // ss could not name it; Postfix is installed and is the likely owner
        }
        let fix = if OTHER_MTAS.contains(&name.as_str()) {
            if name.starts_with("exim") {
                "remove it (`apt-get purge 'exim4*'`)".to_string()
            } else {
                format!("stop and remove {name}")
            }
        } else {
            "stop it (`ss -ltnp 'sport = :25'` shows it)".to_string()
        };
        problems.push(format!(
            "port 25 is held by {}, not Postfix; fix: {fix}, then re-run",
            l.describe()
        ));
    }
    if certs.problem(fqdn).is_some() {
        if let Err(e) = facts::challenge_for(all) {
            problems.push(e);
        }
    }
    problems
}

fn resource_problems(r: &Resources) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(kib) = r.var_free_kib.filter(|k| *k < MIN_FREE_KIB) {
        problems.push(format!(
            "only {} MiB free on the filesystem holding /var; mailstead needs at least \
             1 GiB (packages, mail queue, mailboxes, logs); fix: free space (`apt-get \
             clean`, old logs) or grow the disk, then re-run",
            kib / 1024
        ));
    }
    if let Some(kib) = r.mem_total_kib.filter(|k| *k < MIN_MEM_KIB) {
        problems.push(format!(
            "the server has {} MiB of memory; Postfix, Dovecot, rspamd and certbot need at \
             least 1 GiB; fix: give the server more memory (swap does not count: rspamd must stay in memory), then re-run",
            kib / 1024
        ));
    }
    problems
}

fn sshd_problem(sshd: &Sshd) -> Option<String> {
    if !sshd.installed || sshd.effective.is_some() || sshd.missing_privsep || sshd.error.is_empty()
    {
        return None;
    }
    Some(format!(
        "sshd's configuration is already invalid (`sshd -T`: {}); mailstead changes SSH only \
         when it can validate the result; fix: correct /etc/ssh/sshd_config (or its drop-ins) \
         until `sshd -t` is silent, then re-run",
        sshd.error
    ))
}

// ---------------------------------------------------------------- deliverability

/// Warnings about what will keep this server's mail from being accepted elsewhere: the
/// hostname not pointing here, reverse DNS (FCrDNS), blocklists, outbound port 25. Each names
/// the address, what was seen, what is expected and the fix. Bounded: one unanswered DNS
/// query (about 6 s) skips the rest; outbound port 25 takes at most
/// [`deliverability::OUTBOUND_TIMEOUT`].
fn deliverability_notes(ctx: &Ctx<Answers>, fqdn: &str) -> Vec<Note> {
    let dns = match ctx.fact::<Dns>() {
        Ok(d) => d,
        Err(e) => return vec![Note::warning(format!("DNS checks skipped: {e:#}"))],
    };
    let r = match dns.resolver() {
        Ok(r) => r,
        Err(why) => {
            return vec![Note::warning(format!(
                "DNS checks skipped (hostname, reverse DNS, blocklists, outbound port 25): \
                 {why}; fix: give the server a working /etc/resolv.conf, then run \
                 `mailstead check`"
            ))]
        }
    };
    let ips: Vec<IpAddr> = ctx
        .fact::<PublicAddresses>()
        .map(|a| a.ips())
        .unwrap_or_default();
    // An install plans every step, then plans each again as it applies it: the same
    // questions, seconds apart (a blocked port 25 costs its whole timeout). A real resolver's
    // results are reused for a minute within the process.
    let key = format!("{fqdn} {ips:?} {}", r.servers());
    static MEMO: std::sync::Mutex<Option<(String, std::time::Instant, Vec<Note>)>> =
        std::sync::Mutex::new(None);
    if r.reusable() {
        if let Some((k, at, notes)) = MEMO.lock().ok().as_deref().and_then(Option::as_ref) {
            if *k == key && at.elapsed() < std::time::Duration::from_secs(60) {
                return notes.clone();
            }
        }
    }
    let notes = deliverability_notes_now(r, fqdn, &ips);
    if r.reusable() {
        if let Ok(mut m) = MEMO.lock() {
            *m = Some((key, std::time::Instant::now(), notes.clone()));
        }
    }
    notes
}

fn deliverability_notes_now(
    r: &dyn crate::facts::resolver::Resolve,
    fqdn: &str,
    ips: &[IpAddr],
) -> Vec<Note> {
    // One question first: a DNS that does not answer is reported once, not per check.
    if let Answer::Unavailable(why) = r.a(fqdn) {
        return vec![Note::warning(format!(
            "DNS checks skipped (hostname, reverse DNS, blocklists, outbound port 25): DNS did \
             not answer ({why}); fix: make DNS work on this server, then run `mailstead check`"
        ))];
    }
    let mut notes = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let warn = |p: deliverability::Problem| {
        Note::warning(format!(
            "{}: other mail servers may refuse or junk this server's mail; fix: {}",
            p.detail, p.fix
        ))
    };
    for ip in ips {
        let forward = deliverability::hostname_addresses(r, fqdn, *ip);
        let forward_ok = matches!(forward, Outcome::Ok(_));
        match forward {
            Outcome::Problem(p) => notes.push(warn(p)),
            Outcome::Unknown(w) => unknown.push(w),
            Outcome::Ok(_) => {}
        }
        match deliverability::reverse_dns(r, fqdn, *ip) {
            // Its forward half is the problem reported just above.
            Outcome::Problem(p) if forward_ok || !p.detail.contains("forward-confirmed") => {
                notes.push(warn(p))
            }
            Outcome::Unknown(w) => unknown.push(w),
            _ => {}
        }
        for (_, outcome) in deliverability::blocklists(r, *ip) {
            match outcome {
                Outcome::Problem(p) => notes.push(warn(p)),
                Outcome::Unknown(w) => unknown.push(w),
                Outcome::Ok(_) => {}
            }
        }
    }
    match deliverability::outbound_25(
        r,
        deliverability::PROVIDERS,
        deliverability::OUTBOUND_TIMEOUT,
        deliverability::tcp_connect,
    ) {
        Outcome::Problem(p) => notes.push(Note::warning(format!(
            "{}: this server cannot deliver mail to other servers itself; the way forward: {}",
            p.detail, p.fix
        ))),
        Outcome::Unknown(w) => notes.push(Note::info(format!("outbound port 25 not tested: {w}"))),
        Outcome::Ok(_) => {}
    }
    if !unknown.is_empty() {
        unknown.dedup();
        notes.push(Note::warning(format!(
            "some DNS checks could not run: {}; run `mailstead check` once DNS answers",
            unknown.join("; ")
        )));
    }
    notes
}

// ---------------------------------------------------------------- the hostname

/// /etc/hosts with `127.0.1.1 FQDN SHORT` (Debian's line for the host's own name).
pub(crate) fn hosts_with(text: &str, fqdn: &str) -> String {
    let short = fqdn.split('.').next().unwrap_or(fqdn);
    let want = format!("127.0.1.1\t{fqdn} {short}");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if let Some(i) = lines
        .iter()
        .position(|l| l.split_whitespace().next() == Some("127.0.1.1"))
    {
        lines[i] = want;
    } else {
        let at = lines
            .iter()
            .position(|l| l.split_whitespace().next() == Some("127.0.0.1"))
            .map_or(0, |i| i + 1);
        lines.insert(at, want);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The mode and owner a file has now (kept when rewriting it), by name.
fn perms_or(host: &dyn Host, path: &str, default: Perms) -> Perms {
    match host.stat(Path::new(path)).ok().flatten() {
        Some(st) => Perms::new(
            st.meta.mode,
            &host.user_name(st.meta.uid).unwrap_or_else(|| "root".into()),
            &host
                .group_name(st.meta.gid)
                .unwrap_or_else(|| "root".into()),
        ),
        None => default,
    }
}

fn hostname_changes(host: &dyn Host, current: Option<&str>, fqdn: &str) -> Vec<Change> {
    if current == Some(fqdn) {
        return Vec::new();
    }
    let line = format!("{fqdn}\n");
    let hosts = host
        .read_string(Path::new("/etc/hosts"))
        .ok()
        .flatten()
        .unwrap_or_else(|| "127.0.0.1\tlocalhost\n".to_string());
    let mut changes = vec![
        Change::write(
            "/etc/hostname",
            line.clone(),
            perms_or(host, "/etc/hostname", Perms::root(0o644)),
        ),
        Change::write(
            "/etc/hosts",
            hosts_with(&hosts, fqdn),
            perms_or(host, "/etc/hosts", Perms::root(0o644)),
        ),
        Change::write(
            "/etc/mailname",
            line,
            perms_or(host, "/etc/mailname", Perms::root(0o644)),
        ),
    ];
    // The running name: only on the real system (under --root it would rename the machine
    // running the tests).
    if host.root() == Path::new("/") {
        let systemd = system::systemd_running(host);
        let set = |name: &str| {
            if systemd {
                Cmd::new(
                    "sh",
                    [
                        "-c",
                        "hostnamectl set-hostname --static --transient \"$1\" 2>/dev/null || hostname \"$1\"",
                        "sh",
                        name,
                    ],
                )
            } else {
                Cmd::new("hostname", [name])
            }
        };
        // A rollback gives the running system its old name back (the files alone would only
        // take effect at the next boot).
        let old = current.map(str::to_string).or_else(|| {
            host.read_string(Path::new("/etc/hostname"))
                .ok()
                .flatten()
                .and_then(|t| t.lines().next().map(|l| l.trim().to_string()))
                .filter(|l| !l.is_empty())
        });
        let mut cmd = set(fqdn);
        if let Some(old) = old {
            cmd = cmd.undo(set(&old));
        }
        changes.push(Change::run(
            format!("set the running hostname to {fqdn}"),
            cmd,
            &["/etc/hostname"],
        ));
    }
    changes
}

/// The `preflight` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "preflight"
    }
    fn steps(&self, _all: &'static crate::capability::Registry) -> crate::capability::Steps {
        vec![Box::new(Preflight)]
    }
}

#[cfg(test)]
mod tests;
