//! Step `tls-interim`: while the CA has not issued the hostname's certificate (the A record
//! has not propagated, port 80 is filtered, the CA is unreachable), mail must still work over
//! TLS: a temporary self-signed certificate, and a systemd timer that retries issuing the real
//! one every 15 minutes. Runs after `tls`, so it sees what certbot just did.
//!
//! - certbot has no certificate for the hostname: makes the self-signed pair
//!   ([`SELF_SIGNED_CHAIN`], key 0600) once, writes `mailstead-certificate.{service,timer}` and
//!   enables the timer. Postfix and Dovecot then serve the pair
//!   ([`crate::facts::Certificates::serving`]).
//! - the timer's `mailstead retry-certificate` runs certbot alone (no run, no snapshot, each
//!   15 minutes); once it succeeds, it runs the install again: Postfix and Dovecot switch to
//!   the real certificate with one reload each, and this step removes the timer.
//! - certbot has the certificate: the timer and its service are removed when present. The
//!   self-signed pair stays where it is (a rollback may point the services back at it, and
//!   removing it would copy its key into a snapshot).
use super::paths::{CERT_RETRY_SERVICE, CERT_RETRY_TIMER};
use crate::facts::Certificates;
use crate::layout::{SELF_SIGNED_CHAIN, SELF_SIGNED_KEY};
use color_eyre::eyre::Result;
use mailstead_answers::Answers;
use mailstead_engine::host::Cmd;
use mailstead_engine::{Change, Ctx, Note, Perms, Planned, Step};
use std::path::Path;

/// Where install.sh puts the binary; the timer's service runs it from there.
pub const INSTALLED_BIN: &str = "/usr/local/sbin/mailstead";
const TIMER_UNIT: &str = "mailstead-certificate.timer";
const WANTS: &str = "/etc/systemd/system/timers.target.wants";
const SERVICE_TEMPLATE: &str = include_str!("../../../assets/tls/mailstead-certificate.service");
const TIMER_TEMPLATE: &str = include_str!("../../../assets/tls/mailstead-certificate.timer");
/// Long enough never to lapse while the timer retries; clients do not trust it anyway.
const SELF_SIGNED_DAYS: &str = "365";

/// The retry service unit for `fqdn`.
pub fn service_unit(fqdn: &str) -> String {
    SERVICE_TEMPLATE
        .replace("@@HOSTNAME@@", fqdn)
        .replace("@@MAILSTEAD@@", INSTALLED_BIN)
}

/// `openssl req` in a shell with umask 077, so the key is never readable by others, not even
/// for a moment; the chain is made 0644 after. No secret in argv: openssl makes the key.
fn self_signed_cmd(fqdn: &str) -> Cmd {
    let dir = Path::new(SELF_SIGNED_CHAIN)
        .parent()
        .expect("the chain has a directory")
        .to_string_lossy()
        .into_owned();
    Cmd::new(
        "sh",
        [
            "-c",
            "umask 077 && mkdir -p \"$1\" && openssl req -x509 -newkey rsa:2048 -nodes \
             -days \"$2\" -subj \"/CN=$3\" -addext \"subjectAltName=DNS:$3\" \
             -keyout \"$4\" -out \"$5\" 2>&1 && chmod 0644 \"$5\"",
            "sh",
            &dir,
            SELF_SIGNED_DAYS,
            fqdn,
            SELF_SIGNED_KEY,
            SELF_SIGNED_CHAIN,
        ],
    )
}

pub struct TlsInterim;

impl Step<Answers> for TlsInterim {
    fn name(&self) -> &'static str {
        "tls-interim"
    }

    fn about(&self) -> &'static str {
        "A temporary self-signed certificate and a retry timer, only while the CA has not issued the real one"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let fqdn = ctx.answers.hostname.trim().to_ascii_lowercase();
        let issued = ctx.fact::<Certificates>()?.present(&fqdn);
        let host = ctx.host;
        let mut changes = Vec::new();
        let mut notes = Vec::new();
        if issued {
            if host.exists(Path::new(CERT_RETRY_TIMER))
                || host.exists(Path::new(CERT_RETRY_SERVICE))
            {
                changes.push(Change::run(
                    "stop retrying the certificate: disable mailstead-certificate.timer",
                    Cmd::new("systemctl", ["disable", "--now", TIMER_UNIT]),
                    &[WANTS],
                ));
                changes.push(Change::RemoveFile {
                    path: CERT_RETRY_TIMER.into(),
                });
                changes.push(Change::RemoveFile {
                    path: CERT_RETRY_SERVICE.into(),
                });
                changes.push(Change::run(
                    "systemd: reload units",
                    Cmd::new("systemctl", ["daemon-reload"]),
                    &[],
                ));
            }
            return Ok(Planned {
                changes,
                notes,
                ..Planned::default()
            });
        }
        changes.push(Change::run_when_changed(
            format!("temporary self-signed certificate for {fqdn} (until the CA issues one)"),
            self_signed_cmd(&fqdn),
            &[SELF_SIGNED_CHAIN, SELF_SIGNED_KEY],
            &[],
            &[SELF_SIGNED_CHAIN, SELF_SIGNED_KEY],
        ));
        changes.push(Change::write(
            CERT_RETRY_SERVICE,
            service_unit(&fqdn),
            Perms::root(0o644),
        ));
        changes.push(Change::write(
            CERT_RETRY_TIMER,
            TIMER_TEMPLATE,
            Perms::root(0o644),
        ));
        changes.push(Change::run_when_changed(
            "retry the certificate every 15 minutes: enable mailstead-certificate.timer",
            Cmd::new(
                "sh",
                [
                    "-c",
                    "systemctl daemon-reload && systemctl enable --now \"$1\"",
                    "sh",
                    TIMER_UNIT,
                ],
            )
            .undo(Cmd::new("systemctl", ["disable", "--now", TIMER_UNIT])),
            &[WANTS],
            &[CERT_RETRY_SERVICE, CERT_RETRY_TIMER],
            &[],
        ));
        notes.push(Note::warning(format!(
            "until the CA issues the certificate for {fqdn}, Postfix and Dovecot serve a \
             temporary self-signed one ({SELF_SIGNED_CHAIN}); mailstead-certificate.timer \
             retries every 15 minutes (`systemctl start mailstead-certificate` tries now)"
        )));
        // Planned before step `tls` has asked the CA (certbot does not run while planning):
        // when the CA issues the certificate at once, none of this is needed.
        let planned = Planned {
            changes,
            notes,
            ..Planned::default()
        };
        Ok(planned.contingent(
            "whether the CA issues the certificate now",
            "the CA issued the certificate at once",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{add_cert, answers, ctx, effective, group_file};
    use mailstead_engine::{Host, MemHost, Meta};

    fn summaries(h: &MemHost, a: &Answers) -> Vec<String> {
        effective(h, TlsInterim.plan(&ctx(h, a)).unwrap())
            .iter()
            .map(|c| c.summary())
            .collect()
    }

    #[test]
    fn without_a_certificate_a_self_signed_one_and_a_timer() {
        let h = MemHost::fake();
        let a = answers();
        let planned = TlsInterim.plan(&ctx(&h, &a)).unwrap();
        assert!(planned.notes[0].text.contains("self-signed"));
        // Planned before `tls` asks the CA: the summary says these may not be needed.
        let c = planned
            .contingent
            .as_ref()
            .expect("depends on the CA's answer");
        assert_eq!(c.depends_on, "whether the CA issues the certificate now");
        let s = summaries(&h, &a);
        assert_eq!(s.len(), 4, "{s:?}");
        assert!(s[0].starts_with("temporary self-signed certificate for mail.example.test"));
        assert!(s[3].contains("enable mailstead-certificate.timer"));
        let Change::Run { cmd, .. } = &planned.changes[0] else {
            panic!()
        };
        let line = cmd.to_string();
        assert!(
            line.contains("umask 077") && line.contains("chmod 0644"),
            "{line}"
        );
        assert!(
            line.contains("mail.example.test") && line.contains(SELF_SIGNED_KEY),
            "{line}"
        );
        assert!(service_unit("mail.example.test")
            .contains("ExecStart=/usr/local/sbin/mailstead retry-certificate --yes --plain"));
    }

    #[test]
    fn an_existing_pair_is_kept_and_a_re_run_changes_nothing() {
        let h = MemHost::fake();
        group_file(&h);
        let a = answers();
        h.add_file(SELF_SIGNED_CHAIN, "CHAIN", Meta::root(0o644));
        h.add_file(SELF_SIGNED_KEY, "KEY", Meta::root(0o600));
        h.add_file(
            CERT_RETRY_SERVICE,
            &service_unit("mail.example.test"),
            Meta::root(0o644),
        );
        h.add_file(CERT_RETRY_TIMER, TIMER_TEMPLATE, Meta::root(0o644));
        assert!(summaries(&h, &a).is_empty(), "{:?}", summaries(&h, &a));
    }

    #[test]
    fn once_issued_the_timer_goes_and_the_pair_stays() {
        let h = MemHost::fake();
        let a = answers();
        add_cert(&h);
        assert!(summaries(&h, &a).is_empty());
        h.add_file(SELF_SIGNED_CHAIN, "CHAIN", Meta::root(0o644));
        h.add_file(SELF_SIGNED_KEY, "KEY", Meta::root(0o600));
        h.add_file(CERT_RETRY_TIMER, TIMER_TEMPLATE, Meta::root(0o644));
        h.add_file(CERT_RETRY_SERVICE, "x", Meta::root(0o644));
        let s = summaries(&h, &a);
        assert_eq!(
            s,
            [
                "stop retrying the certificate: disable mailstead-certificate.timer",
                "remove /etc/systemd/system/mailstead-certificate.timer",
                "remove /etc/systemd/system/mailstead-certificate.service",
                "systemd: reload units"
            ]
        );
        // Certain: the certificate is there, nothing depends on the CA.
        assert_eq!(TlsInterim.plan(&ctx(&h, &a)).unwrap().contingent, None);
        assert!(h.exists(Path::new(SELF_SIGNED_KEY)));
    }
}
