//! Step `tls`: a certificate for the hostname from certbot, and a renewal hook that loads it.
//!
//! Touches `/etc/letsencrypt` (snapshotted as a whole tree around `certbot certonly`) and writes
//! `/etc/letsencrypt/renewal-hooks/deploy/mailstead-reload` (0755): after every renewal it
//! reloads Postfix and Dovecot, which read certificates only at start or reload (the guide's
//! standalone certbot had no hook, so renewed certificates were never loaded).
//!
//! - Standalone on port 80, or `--webroot /var/www/html` when a web server holds port 80;
//! - `--server` and the CA bundle (`REQUESTS_CA_BUNDLE`) for a private ACME server, `--staging`;
//! - never re-issues a certificate that covers the hostname and is valid for 30 more days;
//! - keys stay root-only: `live/` and `archive/` are 0700 (certbot's own modes, enforced);
//! - reloads Postfix and Dovecot when the certificate changed;
//! - a failed issuance does not stop the run (DNS is often published after the install): the
//!   failure is explained in plain words ([`explain_certbot`]) and the `tls-interim` step
//!   serves a self-signed certificate and retries on a timer until the CA issues the real one.
pub mod check;
pub mod interim;
pub mod paths;
pub mod retry;
use crate::facts::{challenge_for, Certificates, Challenge, Listeners};
use crate::layout::{cert_paths, DEPLOY_HOOK, WEBROOT};
use crate::support::shown;
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::Answers;
use mailstead_engine::host::{Cmd, Host, Kind, Meta};
use mailstead_engine::{Change, Ctx, Perms, Planned, Refusal, Step};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Tls;

const HOOK_SCRIPT: &str = include_str!("../../../assets/tls/mailstead-reload");

/// certbot's command for `fqdn`, as the step runs it and as `mailstead retry-certificate` (the
/// timer) runs it again.
pub fn certbot_cmd(a: &Answers, fqdn: &str, challenge: &Challenge, renew: bool) -> Cmd {
    let mut args: Vec<String> = [
        "certonly",
        "--non-interactive",
        "--agree-tos",
        "--no-eff-email",
        "--email",
        a.admin_email.trim(),
        "--cert-name",
        fqdn,
        "-d",
        fqdn,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    match challenge {
        Challenge::Standalone => args.push("--standalone".into()),
        Challenge::Webroot(_) => {
            args.extend(["--webroot".into(), "--webroot-path".into(), WEBROOT.into()])
        }
    }
    match &a.acme.server {
        Some(server) => args.extend(["--server".into(), server.clone()]),
        // --staging with --server is a certbot error; an explicit server wins.
        None if a.acme.staging => args.push("--staging".into()),
        None => {}
    }
    if renew {
        args.push("--force-renewal".into());
    }
    let mut cmd = Cmd::new("certbot", args)
        .timeout(Duration::from_secs(600))
        .tolerate_failure(explain_certbot);
    if let Some(bundle) = &a.acme.ca_bundle {
        // Trust for a private ACME server (the bed's pebble). certbot's renewals from its
        // timer do not get it: fine for a test CA, irrelevant for Let's Encrypt.
        cmd = cmd.env("REQUESTS_CA_BUNDLE", &bundle.to_string_lossy());
    }
    cmd
}

/// Why the CA could not issue the certificate, in plain words, from certbot's output, with what
/// happens meanwhile. certbot's messages (certbot 2.x/4.x, ACME problem types of RFC 8555 §6.7):
/// `DNS problem: NXDOMAIN looking up A for NAME`, `Timeout during connect (likely firewall
/// problem)`, `Connection refused` / `Invalid response from` (the name points at another
/// server), `Failed to establish a new connection` (the ACME server itself is unreachable).
pub fn explain_certbot(out: &mailstead_engine::Output) -> String {
    let text = format!("{}\n{}", out.stdout, out.stderr);
    let detail = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("Detail:"))
        .map(|l| l.trim_start_matches("Detail:").trim().to_string());
    let has = |s: &str| text.contains(s);
    let why = if has("NXDOMAIN") || has("DNS problem") {
        "the hostname does not resolve yet: publish its A/AAAA records (`mailstead dns`)"
            .to_string()
    } else if has("Timeout during connect") || has("likely firewall problem") {
        "the CA could not reach port 80 of this server: open port 80 in the provider's firewall"
            .to_string()
    } else if has("Invalid response from") || has("unauthorized") {
        let addr = detail
            .as_deref()
            .and_then(|d| d.split(':').next())
            .filter(|a| a.parse::<std::net::IpAddr>().is_ok());
        match addr {
            Some(a) => format!(
                "the hostname resolves to {a}, which did not answer the challenge: point its \
                 A/AAAA records at this server (`mailstead dns`)"
            ),
            None => "the hostname points at a server that did not answer the challenge: point \
                     its A/AAAA records at this server (`mailstead dns`)"
                .to_string(),
        }
    } else if has("Failed to establish a new connection")
        || has("Max retries exceeded")
        || has("Connection refused")
    {
        "the ACME server cannot be reached from this server (network, proxy or firewall)"
            .to_string()
    } else if has("too many certificates") || has("rateLimited") {
        "the CA's rate limit was hit: it lifts by itself (Let's Encrypt: within a week)".to_string()
    } else {
        format!(
            "certbot failed (exit {}): {}",
            out.status,
            out.tail(2).replace('\n', " / ")
        )
    };
    let detail = detail.map(|d| format!(" (CA: {d})")).unwrap_or_default();
    // certbot's output quotes the CA, and the CA quotes what it fetched from the network: the
    // boundary where it reaches the admin's terminal.
    let explained = format!(
        "no certificate from the CA yet: {why}{detail}. Mail works meanwhile on a temporary \
         self-signed certificate (clients will warn once); a timer retries every 15 minutes and \
         switches to the real certificate with one reload. `mailstead check` shows which one is \
         live; certbot's log: /var/log/letsencrypt/letsencrypt.log"
    );
    shown(&explained).into_owned()
}

/// `live/` and `archive/` must not be readable by anyone but root (they hold the keys).
fn private_dirs(host: &dyn Host) -> Vec<(PathBuf, Meta)> {
    ["/etc/letsencrypt/live", "/etc/letsencrypt/archive"]
        .iter()
        .filter_map(|d| {
            let st = host.stat(Path::new(d)).ok().flatten()?;
            (st.kind == Kind::Dir).then(|| (PathBuf::from(d), st.meta))
        })
        .collect()
}

impl Step<Answers> for Tls {
    fn name(&self) -> &'static str {
        "tls"
    }
    fn about(&self) -> &'static str {
        "Get a certificate for the hostname (certbot) with a renewal hook that reloads the mail services"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let host = ctx.host;
        let fqdn = ctx.answers.hostname.trim().to_ascii_lowercase();
        let mut changes = Vec::new();
        let certs = ctx.fact::<Certificates>()?;
        let problem = certs
            .problem(&fqdn)
            .or_else(|| certs.other_server(&fqdn, ctx.answers.acme_server_url()));
        if problem.is_some() {
            let challenge =
                challenge_for(&*ctx.fact::<Listeners>()?).map_err(|e| Refusal::new(vec![e]))?;
            if let Some(bundle) = &ctx.answers.acme.ca_bundle {
                if !host.exists(bundle) {
                    return Err(eyre!(
                        "acme.ca_bundle {} does not exist on this server; fix: copy the ACME \
                         server's CA certificate there, or remove ca_bundle from the answers",
                        bundle.display()
                    ));
                }
            }
            let renew = host.exists(&cert_paths(&fqdn).0);
            // A certificate, once issued, outlives a rollback: issuing it again on every retry
            // would run into the CA's duplicate-certificate limit, and unused it is harmless.
            let mut change = Change::run(
                format!("certbot: certificate for {fqdn}"),
                certbot_cmd(ctx.answers, &fqdn, &challenge, renew),
                &["/etc/letsencrypt"],
            )
            .kept_on_rollback();
            if let (Change::Run { detail, .. }, Some(why)) = (&mut change, &problem) {
                detail.push(why.clone());
            }
            changes.push(change);
        }
        // After certbot: the whole tree is then already in the step's snapshot.
        changes.push(Change::write(DEPLOY_HOOK, HOOK_SCRIPT, Perms::root(0o755)));
        for (dir, meta) in private_dirs(host) {
            if meta.mode & 0o077 != 0 || meta.uid != 0 {
                changes.push(Change::EnsureDir {
                    path: dir,
                    meta: Perms::root(0o700),
                });
            }
        }
        if problem.is_some() {
            changes.push(Change::reload("postfix"));
            changes.push(Change::reload("dovecot"));
        }
        Ok(changes.into())
    }

    /// A missing certificate is not an error here (the CA may not be able to issue it yet:
    /// `tls-interim` covers that); keys readable by others and a missing hook are.
    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        for (dir, meta) in private_dirs(ctx.host) {
            if meta.mode & 0o077 != 0 {
                return Err(eyre!(
                    "{} is {meta}: private keys would be readable by others; fix: chmod 0700 {}",
                    dir.display(),
                    dir.display()
                ));
            }
        }
        match ctx.host.stat(Path::new(DEPLOY_HOOK))? {
            Some(st) if st.meta.mode & 0o100 != 0 => Ok(()),
            _ => Err(eyre!("{DEPLOY_HOOK} is missing or not executable")),
        }
    }
}

/// The `tls` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "tls"
    }
    fn steps(&self, _all: &'static crate::capability::Registry) -> crate::capability::Steps {
        vec![Box::new(Tls), Box::new(interim::TlsInterim)]
    }
    fn checks(&self) -> crate::capability::Checks {
        use crate::capability::Phase;
        vec![(Phase::Serving, Box::new(check::Certificate))]
    }
    fn packages(&self, _answers: &mailstead_answers::Answers) -> Vec<&'static str> {
        // certbot issues the certificate; openssl makes the interim self-signed one (and
        // reads certificates for the checks).
        vec!["certbot", "openssl"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{answers, ctx, effective, fail, group_file, ok};
    use mailstead_engine::{Host, MemHost, Meta};

    fn host_with(ss: &'static str) -> MemHost<'static> {
        let h = MemHost::fake();
        h.on_command(move |c| (c.program == "ss").then(|| ok(ss)).flatten());
        h
    }

    #[test]
    fn fresh_host_gets_a_certificate_hook_and_reloads() {
        let h = host_with("");
        let mut a = answers();
        a.acme.server = Some("https://127.0.0.1:14000/dir".into());
        a.acme.ca_bundle = Some("/etc/pebble/ca.pem".into());
        h.add_file("/etc/pebble/ca.pem", "x", Meta::root(0o644));
        let changes = Tls.plan(&ctx(&h, &a)).unwrap().changes;
        let s: Vec<String> = changes.iter().map(|c| c.summary()).collect();
        assert_eq!(
            s,
            [
                "certbot: certificate for mail.example.test",
                "write /etc/letsencrypt/renewal-hooks/deploy/mailstead-reload (0755 root:root)",
                "reload postfix",
                "reload dovecot"
            ]
        );
        let Change::Run { cmd, touches, .. } = &changes[0] else {
            panic!()
        };
        let line = cmd.to_string();
        assert!(line.contains("--standalone"), "{line}");
        assert!(
            line.contains("--server https://127.0.0.1:14000/dir"),
            "{line}"
        );
        assert!(line.contains("--email admin@example.test"), "{line}");
        assert!(
            !line.contains("--force-renewal") && !line.contains("--staging"),
            "{line}"
        );
        assert_eq!(
            cmd.env,
            [(
                "REQUESTS_CA_BUNDLE".to_string(),
                "/etc/pebble/ca.pem".to_string()
            )]
        );
        assert_eq!(touches, &[PathBuf::from("/etc/letsencrypt")]);
    }

    #[test]
    fn webroot_when_a_web_server_holds_80_and_refusal_for_others() {
        let h = host_with("LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:((\"apache2\",pid=9,fd=4))\n");
        let mut a = answers();
        a.acme.staging = true;
        let changes = Tls.plan(&ctx(&h, &a)).unwrap().changes;
        let line = changes[0].render(&h);
        assert!(
            line.contains("--webroot --webroot-path /var/www/html"),
            "{line}"
        );
        assert!(line.contains("--staging"), "{line}");
        let h = host_with("LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:((\"python3\",pid=9,fd=4))\n");
        let e = Tls.plan(&ctx(&h, &a)).unwrap_err();
        assert!(e.downcast_ref::<Refusal>().is_some(), "{e:#}");
        let e = e.to_string();
        assert!(e.contains("python3 (pid 9)") && e.contains("fix"), "{e}");
    }

    fn with_cert(checkend_ok: bool, san: &'static str) -> MemHost<'static> {
        let h = MemHost::fake();
        group_file(&h);
        let (cert, key) = cert_paths("mail.example.test");
        h.add_file(&cert.to_string_lossy(), "CERT", Meta::root(0o644));
        h.add_file(&key.to_string_lossy(), "KEY", Meta::root(0o600));
        h.add_file(DEPLOY_HOOK, HOOK_SCRIPT, Meta::root(0o755));
        h.create_dir(Path::new("/etc/letsencrypt/archive"), Meta::root(0o700))
            .unwrap();
        h.set_meta(Path::new("/etc/letsencrypt/live"), Meta::root(0o700))
            .unwrap();
        h.on_command(move |c| match c.program.as_str() {
            "openssl" if checkend_ok => ok(&format!(
                "X509v3 Subject Alternative Name: \n    {san}\nCertificate will not expire\n"
            )),
            "openssl" => fail(1, ""),
            "ss" => ok(""),
            _ => None,
        });
        h
    }

    #[test]
    fn valid_certificate_is_not_reissued() {
        let h = with_cert(true, "DNS:mail.example.test, DNS:other.example.test");
        let a = answers();
        let changes = effective(&h, Tls.plan(&ctx(&h, &a)).unwrap());
        assert!(changes.is_empty(), "{changes:?}");
        Tls.verify(&ctx(&h, &a)).unwrap();
    }

    #[test]
    fn expiring_or_foreign_certificate_is_renewed() {
        let a = answers();
        let h = with_cert(false, "");
        let changes = Tls.plan(&ctx(&h, &a)).unwrap().changes;
        assert!(changes[0].render(&h).contains("--force-renewal"));
        // certbot failing is tolerated (tls-interim covers it): the step itself verifies.
        let Change::Run { cmd, .. } = &changes[0] else {
            panic!()
        };
        assert!(cmd.tolerated.is_some());
        Tls.verify(&ctx(&h, &a)).unwrap();
        let h = with_cert(true, "DNS:www.example.test");
        let changes = Tls.plan(&ctx(&h, &a)).unwrap().changes;
        assert!(changes[0].summary().starts_with("certbot"));
    }

    #[test]
    fn readable_key_directories_are_closed() {
        let h = with_cert(true, "DNS:mail.example.test");
        h.set_meta(Path::new("/etc/letsencrypt/archive"), Meta::root(0o755))
            .unwrap();
        let a = answers();
        let changes = Tls.plan(&ctx(&h, &a)).unwrap().changes;
        assert!(changes
            .iter()
            .any(|c| c.summary() == "directory /etc/letsencrypt/archive (0700 root:root)"));
        assert!(!changes.iter().any(|c| matches!(c, Change::Reload { .. })));
        assert!(Tls.verify(&ctx(&h, &a)).is_err());
    }

    fn certbot(status: i32, stdout: &str, stderr: &str) -> mailstead_engine::Output {
        mailstead_engine::Output {
            status,
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    /// certbot's own words (2.x and 4.x) for the ways issuance fails before DNS is ready.
    #[test]
    fn certbot_failures_are_explained_with_the_way_forward() {
        let cases = [
            (
                "Certbot failed to authenticate some domains (authenticator: standalone). The Certificate Authority reported these problems:\n  Domain: mail.example.org\n  Type:   dns\n  Detail: DNS problem: NXDOMAIN looking up A for mail.example.org - check that a DNS record exists for this domain\n",
                "does not resolve yet",
            ),
            (
                "  Domain: mail.example.org\n  Type:   connection\n  Detail: 203.0.113.9: Fetching http://mail.example.org/.well-known/acme-challenge/x: Timeout during connect (likely firewall problem)\n",
                "port 80",
            ),
            (
                "  Domain: mail.example.org\n  Type:   unauthorized\n  Detail: 198.51.100.7: Invalid response from http://mail.example.org/.well-known/acme-challenge/x: 404\n",
                "resolves to 198.51.100.7",
            ),
            (
                "An unexpected error occurred:\nrequests.exceptions.ConnectionError: HTTPSConnectionPool(host='10.213.1.1', port=14000): Max retries exceeded with url: /dir (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object>: Failed to establish a new connection: [Errno 111] Connection refused'))\n",
                "ACME server cannot be reached",
            ),
        ];
        for (stderr, want) in cases {
            let text = explain_certbot(&certbot(1, "", stderr));
            assert!(text.contains(want), "{want}: {text}");
            assert!(text.contains("self-signed") && text.contains("mailstead check"));
        }
        let other = explain_certbot(&certbot(2, "", "something new\nand odd\n"));
        assert!(
            other.contains("exit 2") && other.contains("and odd"),
            "{other}"
        );
    }

    #[test]
    fn hook_reloads_both_services() {
        assert!(HOOK_SCRIPT.starts_with("#!/bin/sh"));
        assert!(HOOK_SCRIPT.contains("for service in postfix dovecot"));
        assert!(HOOK_SCRIPT.contains("try-reload-or-restart"));
    }

    /// A changed `acme.server` issues the certificate again from the new CA; the issued
    /// certificate is kept if the run is rolled back (no snapshot of what certbot makes).
    #[test]
    fn changed_acme_server_reissues_and_the_certificate_outlives_a_rollback() {
        let h = with_cert(true, "DNS:mail.example.test");
        h.add_file(
            "/etc/letsencrypt/renewal/mail.example.test.conf",
            "version = 2.1.0\narchive_dir = /etc/letsencrypt/archive/mail.example.test\n[renewalparams]\nserver = https://acme-staging-v02.api.letsencrypt.org/directory\n",
            Meta::root(0o644),
        );
        let a = answers(); // Let's Encrypt production
        let changes = Tls.plan(&ctx(&h, &a)).unwrap().changes;
        let Change::Run {
            cmd, detail, keep, ..
        } = &changes[0]
        else {
            panic!("{changes:?}")
        };
        assert!(cmd.args.contains(&"--force-renewal".to_string()), "{cmd}");
        assert!(
            detail.iter().any(|d| d.contains("acme-staging")),
            "{detail:?}"
        );
        assert!(*keep, "certbot's result must outlive a rollback");
        // Same server: nothing to do.
        let mut staging = a.clone();
        staging.acme.staging = true;
        assert!(effective(&h, Tls.plan(&ctx(&h, &staging)).unwrap()).is_empty());
    }
}
