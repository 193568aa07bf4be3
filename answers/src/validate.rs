//! Stage 4: meaning. Every problem at once, each naming its field, its value and the fix.
use crate::model::{Alias, Answers, Mailbox, MAX_MESSAGE_SIZE, MIN_MESSAGE_SIZE};
use crate::problem::{ConfigError, Problem};
use crate::rules::{
    absolute_path, check_address, check_domain, check_fqdn, check_https_url, check_password,
    check_password_hash, max_messages_per_hour, postscreen_dnsbl_site, postscreen_dnsbl_threshold,
    quota, relay, split_targets, trusted_network, unix_user,
};
use crate::shape::show;
use std::collections::HashMap;

/// Check what the answers mean: names, addresses, passwords, uniqueness, ranges. Collects
/// every problem, in file order. [`crate::parse`] calls this; call it again after changing
/// answers in code.
pub fn validate(a: &Answers) -> Result<(), ConfigError> {
    let mut out = Vec::new();
    identity(a, &mut out);
    domains(a, &mut out);
    // Where the aliases lead, through chains and +tags: targets that exist, no loops, every
    // alias reaching a mailbox or an outside address.
    if let Err(problems) = crate::aliases::resolve(a) {
        out.extend(problems);
    }
    settings(a, &mut out);
    if out.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::new("answers", out))
    }
}

/// `hostname`, `admin_email`, and that there is a domain.
fn identity(a: &Answers, out: &mut Vec<Problem>) {
    if let Err((msg, fix)) = check_fqdn(&a.hostname) {
        out.push(Problem::new(
            "hostname",
            format!("{} {msg}", show(&a.hostname)),
            fix,
        ));
    }
    if let Err((msg, fix)) = check_address(&a.admin_email, false) {
        out.push(Problem::new(
            "admin_email",
            format!("{} {msg}", show(&a.admin_email)),
            fix,
        ));
    }

    if a.domains.is_empty() {
        out.push(Problem::new(
            "domains",
            "no domain is configured",
            "add one: `domains: [{name: example.test, mailboxes: [...]}]`",
        ));
    }
}

/// The first field path of each address a mailbox or alias takes, for duplicate reports.
#[derive(Default)]
struct Claims(HashMap<String, String>);

impl Claims {
    /// Take `addr` for the field `path`; a problem if another field took it first.
    fn claim(&mut self, addr: &str, path: &str, out: &mut Vec<Problem>) {
        let key = addr.to_lowercase();
        if let Some(first) = self.0.get(&key) {
            out.push(Problem::new(
                path,
                format!("{} is already used at {first}", show(addr)),
                "each address can be one mailbox or one alias; remove or rename one of them",
            ));
        } else {
            self.0.insert(key, path.to_string());
        }
    }
}

/// Every domain: its name (once), its mailboxes and aliases (each address once overall).
fn domains(a: &Answers, out: &mut Vec<Problem>) {
    let mut domain_seen: HashMap<String, String> = HashMap::new();
    let mut claims = Claims::default();
    for (di, d) in a.domains.iter().enumerate() {
        let dp = format!("domains[{di}]");
        let np = format!("{dp}.name");
        match check_domain(&d.name) {
            Err((msg, fix)) => out.push(Problem::new(&np, format!("{} {msg}", show(&d.name)), fix)),
            Ok(()) => {
                if let Some(first) = domain_seen.get(&d.name.to_lowercase()) {
                    out.push(Problem::new(
                        &np,
                        format!("{} is already configured at {first}", show(&d.name)),
                        "list each domain once; merge their mailboxes and aliases",
                    ));
                } else {
                    domain_seen.insert(d.name.to_lowercase(), np.clone());
                }
            }
        }
        for (mi, m) in d.mailboxes.iter().enumerate() {
            mailbox(
                m,
                &format!("{dp}.mailboxes[{mi}]"),
                &d.name,
                &mut claims,
                out,
            );
        }
        for (ai, al) in d.aliases.iter().enumerate() {
            alias(
                al,
                &format!("{dp}.aliases[{ai}]"),
                &d.name,
                &mut claims,
                out,
            );
        }
    }
}

/// One mailbox at field path `mp` of the domain `domain`.
fn mailbox(m: &Mailbox, mp: &str, domain: &str, claims: &mut Claims, out: &mut Vec<Problem>) {
    let suffix = format!("@{domain}");
    let ap = format!("{mp}.address");
    match check_address(&m.address, true) {
        Err((msg, fix)) => out.push(Problem::new(
            &ap,
            format!("{} {msg}", show(&m.address)),
            fix,
        )),
        Ok(()) if !m.address.ends_with(&suffix) => out.push(Problem::new(
            &ap,
            format!("{} is not in this domain ({})", show(&m.address), domain),
            format!("write it as user{suffix}, or move it under its own domain"),
        )),
        Ok(()) => claims.claim(&m.address, &ap, out),
    }
    match (&m.password, &m.password_hash) {
        (Some(_), Some(_)) => out.push(Problem::new(
            mp,
            "has both `password` and `password_hash`",
            "keep one: `password` (mailstead hashes it) or `password_hash`",
        )),
        (None, None) => out.push(Problem::new(
            mp,
            "has no `password` or `password_hash`",
            "add `password: \"a long passphrase\"` or `password_hash: \"{SHA512-CRYPT}$6$...\"`",
        )),
        (Some(pw), None) => {
            if let Err((msg, fix)) = check_password(pw) {
                out.push(Problem::new(format!("{mp}.password"), msg, fix));
            }
        }
        (None, Some(h)) => {
            if let Err((msg, fix)) = check_password_hash(h) {
                out.push(Problem::new(format!("{mp}.password_hash"), msg, fix));
            }
        }
    }
    if let Some(q) = m.quota {
        if let Err(p) = quota(&format!("{mp}.quota"), q) {
            out.push(p);
        }
    }
}

/// One alias at field path `alp` of the domain `domain`.
fn alias(al: &Alias, alp: &str, domain: &str, claims: &mut Claims, out: &mut Vec<Problem>) {
    let suffix = format!("@{domain}");
    let fp = format!("{alp}.from");
    if al.from.starts_with('@') {
        out.push(Problem::new(
            &fp,
            format!(
                "{} is a catch-all, which mailstead does not support",
                show(&al.from)
            ),
            "list each address you want to receive, e.g. info@example.test",
        ));
    } else {
        match check_address(&al.from, true) {
            Err((msg, fix)) => {
                out.push(Problem::new(&fp, format!("{} {msg}", show(&al.from)), fix))
            }
            Ok(()) if !al.from.ends_with(&suffix) => out.push(Problem::new(
                &fp,
                format!("{} is not in this domain ({})", show(&al.from), domain),
                format!("write it as name{suffix}, or move the alias under its own domain"),
            )),
            Ok(()) => claims.claim(&al.from, &fp, out),
        }
    }
    let tp = format!("{alp}.to");
    let targets = split_targets(&al.to);
    if targets.is_empty() || targets.iter().any(|t| t.is_empty()) {
        out.push(Problem::new(
            &tp,
            format!("{} is not a list of email addresses", show(&al.to)),
            "write one address, or several separated by commas: alice@example.test, bob@example.org",
        ));
        return;
    }
    for t in &targets {
        if let Err((msg, fix)) = check_address(t, false) {
            out.push(Problem::new(&tp, format!("{} {msg}", show(t)), fix));
        }
    }
}

/// The settings: `acme`, `ssh`, sizes and limits, blocklists, `relay_host`.
fn settings(a: &Answers, out: &mut Vec<Problem>) {
    if let Some(server) = &a.acme.server {
        if let Err((msg, fix)) = check_https_url(server) {
            out.push(Problem::new(
                "acme.server",
                format!("{} {msg}", show(server)),
                fix,
            ));
        } else if a.acme.staging {
            out.push(Problem::new(
                "acme.staging",
                "is true, but `staging` only picks Let's Encrypt's staging server and `acme.server` is set",
                "remove `staging: true`, or remove `server:` to use Let's Encrypt staging",
            ));
        }
    }
    if let Some(bundle) = &a.acme.ca_bundle {
        if let Err(p) = absolute_path("acme.ca_bundle", &bundle.to_string_lossy()) {
            out.push(p);
        }
    }
    for (i, user) in a.ssh.allow_users.iter().enumerate() {
        if let Err(p) = unix_user(&format!("ssh.allow_users[{i}]"), user) {
            out.push(p);
        }
    }
    if !(MIN_MESSAGE_SIZE..=MAX_MESSAGE_SIZE).contains(&a.message_size_limit) {
        out.push(Problem::new(
            "message_size_limit",
            format!("{} bytes is outside 1 MiB .. 1 GiB", a.message_size_limit),
            format!("write a byte count between {MIN_MESSAGE_SIZE} and {MAX_MESSAGE_SIZE}, e.g. 52428800 (50 MiB)"),
        ));
    }
    if let Err(p) = quota("quota", a.quota) {
        out.push(p);
    }
    if let Err(p) = max_messages_per_hour("max_messages_per_hour", a.max_messages_per_hour) {
        out.push(p);
    }
    for (i, site) in a.postscreen_dnsbl_sites.iter().enumerate() {
        if let Err(p) = postscreen_dnsbl_site(&format!("postscreen_dnsbl_sites[{i}]"), site) {
            out.push(p);
        }
    }
    if let Err(p) =
        postscreen_dnsbl_threshold("postscreen_dnsbl_threshold", a.postscreen_dnsbl_threshold)
    {
        out.push(p);
    }
    for (i, net) in a.trusted_networks.iter().enumerate() {
        if let Err(p) = trusted_network(&format!("trusted_networks[{i}]"), net) {
            out.push(p);
        }
    }
    // relay_host: every rule lives in rules.rs.
    if let Some(r) = &a.relay_host {
        out.extend(relay("relay_host", r));
    }
}
