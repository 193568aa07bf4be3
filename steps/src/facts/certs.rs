//! certbot's live certificates: for each name under `/etc/letsencrypt/live`, whether chain and
//! key are there, the DNS names the certificate covers and whether it is valid for 30 more
//! days (ONE `openssl x509 -checkend -ext subjectAltName` per certificate).
use crate::layout::cert_paths;
use crate::support::shown;
use color_eyre::eyre::Result;
use mailstead_engine::{Cmd, Fact, Host};
use std::collections::BTreeMap;
use std::path::Path;

/// Re-issue when the certificate expires within 30 days (Let's Encrypt renews at 30).
pub const MIN_VALID_SECS: &str = "2592000";
const LIVE: &str = "/etc/letsencrypt/live";

#[derive(Debug, Clone, PartialEq)]
pub struct Certificate {
    /// Both fullchain.pem and privkey.pem exist.
    pub complete: bool,
    /// Lowercase DNS names of its subjectAltName.
    pub names: Vec<String>,
    /// Valid for at least 30 more days (and readable).
    pub valid_30_days: bool,
    /// The ACME directory that issued it (`server = ` in certbot's
    /// `/etc/letsencrypt/renewal/NAME.conf`), when certbot recorded one.
    pub server: Option<String>,
}

/// `server = URL` of a certbot renewal configuration.
pub fn parse_renewal_server(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "server").then(|| v.trim().to_string())
    })
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Certificates(pub BTreeMap<String, Certificate>);

/// `DNS:` names of `openssl x509 -ext subjectAltName` output.
pub fn parse_san(text: &str) -> Vec<String> {
    text.split([',', '\n', ' '])
        .filter_map(|w| w.trim().strip_prefix("DNS:"))
        .map(str::to_ascii_lowercase)
        .collect()
}

impl Certificates {
    /// Why the live certificate for `fqdn` is not good enough, or None when it is.
    pub fn problem(&self, fqdn: &str) -> Option<String> {
        let (cert, _) = cert_paths(fqdn);
        match self.0.get(fqdn) {
            None => Some(format!("no certificate for {fqdn} yet")),
            Some(c) if !c.complete => Some(format!("no certificate for {fqdn} yet")),
            Some(c) if !c.valid_30_days => Some(format!(
                "the certificate {} expires within 30 days (or cannot be read)",
                cert.display()
            )),
            Some(c) if !c.names.iter().any(|n| n == fqdn) => Some(format!(
                "the certificate {} does not cover {fqdn} (it names {})",
                cert.display(),
                // The certificate's own names (from openssl): shown in the plan's change.
                shown(&c.names.join(", "))
            )),
            Some(_) => None,
        }
    }

    /// The certificate for `fqdn` was issued by another ACME server than `wanted` (the
    /// answers' `acme.server` changed): it must be issued again.
    pub fn other_server(&self, fqdn: &str, wanted: &str) -> Option<String> {
        let issued_by = self.0.get(fqdn)?.server.as_deref()?;
        (issued_by.trim_end_matches('/') != wanted.trim_end_matches('/')).then(|| {
            format!(
                "the certificate for {fqdn} was issued by {}, the answers ask for {wanted}",
                shown(issued_by)
            )
        })
    }

    /// Chain and key files exist (what Postfix and Dovecot configurations name).
    pub fn present(&self, fqdn: &str) -> bool {
        self.0.get(fqdn).is_some_and(|c| c.complete)
    }

    /// What Postfix and Dovecot serve for `fqdn`: certbot's chain and key once issued; the
    /// interim self-signed pair while it is not and that pair exists (`tls-interim` makes it
    /// only after certbot failed). A plan (where certbot has not run) therefore shows
    /// certbot's paths, as a successful run writes them.
    pub fn serving(&self, host: &dyn Host, fqdn: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let interim = !self.present(fqdn)
            && host.exists(Path::new(crate::layout::SELF_SIGNED_CHAIN))
            && host.exists(Path::new(crate::layout::SELF_SIGNED_KEY));
        crate::layout::serving_cert(fqdn, !interim)
    }

    /// The certificate [`Certificates::serving`] names exists, or an error naming the missing
    /// chain: a configuration must never name a certificate that is not there.
    pub fn require(&self, host: &dyn Host, fqdn: &str) -> color_eyre::eyre::Result<()> {
        let (chain, key) = self.serving(host, fqdn);
        if host.exists(&chain) && host.exists(&key) {
            return Ok(());
        }
        Err(color_eyre::eyre::eyre!(
            "{} does not exist: the configuration would name a certificate that is not there",
            chain.display()
        ))
    }
}

impl Fact for Certificates {
    const READS: &'static [&'static str] = &["/etc/letsencrypt"];
    fn probe(host: &dyn Host) -> Result<Self> {
        let mut out = BTreeMap::new();
        for name in host.list_dir(Path::new(LIVE)).unwrap_or_default() {
            let (cert, key) = cert_paths(&name);
            if !host.exists(&cert) {
                continue;
            }
            let complete = host.exists(&key);
            let cmd = Cmd::probe(
                "openssl",
                [
                    "x509",
                    "-noout",
                    "-checkend",
                    MIN_VALID_SECS,
                    "-ext",
                    "subjectAltName",
                    "-in",
                    &cert.to_string_lossy(),
                ],
            );
            let (valid, names) = match host.run(&cmd) {
                Ok(o) => (o.success(), parse_san(&o.stdout)),
                Err(_) => (false, Vec::new()),
            };
            let server = host
                .read_string(&Path::new("/etc/letsencrypt/renewal").join(format!("{name}.conf")))
                .ok()
                .flatten()
                .and_then(|t| parse_renewal_server(&t));
            out.insert(
                name,
                Certificate {
                    complete,
                    names,
                    valid_30_days: valid,
                    server,
                },
            );
        }
        Ok(Certificates(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems() {
        let san = "X509v3 Subject Alternative Name: \n    DNS:mail.example.test, DNS:Other.example.test\n";
        assert_eq!(
            parse_san(san),
            vec!["mail.example.test", "other.example.test"]
        );
        let mut c = Certificates::default();
        assert!(c
            .problem("mail.example.test")
            .unwrap()
            .contains("no certificate"));
        c.0.insert(
            "mail.example.test".into(),
            Certificate {
                complete: true,
                names: parse_san(san),
                valid_30_days: true,
                server: parse_renewal_server(
                    "version = 2.1.0\nserver = https://acme.example/dir\n",
                ),
            },
        );
        assert_eq!(
            c.other_server("mail.example.test", "https://acme.example/dir/"),
            None
        );
        assert!(c
            .other_server(
                "mail.example.test",
                "https://acme-v02.api.letsencrypt.org/directory"
            )
            .unwrap()
            .contains("issued by https://acme.example/dir"));
        assert_eq!(c.problem("mail.example.test"), None);
        c.0.get_mut("mail.example.test").unwrap().valid_30_days = false;
        assert!(c.problem("mail.example.test").unwrap().contains("30 days"));
    }
}
