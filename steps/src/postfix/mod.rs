//! Step `postfix`: Postfix as the MTA of the virtual domains, delivering to Dovecot over LMTP,
//! with submission (587, STARTTLS) and submissions (465, TLS) for authenticated users.
//!
//! Touches:
//! - `/etc/postfix/main.cf`, through ONE `postconf -e` holding only the settings whose current
//!   value differs (read with one `postconf KEY...` probe). The settings are assembled in
//!   [`main_cf::main_settings`]: Postfix's own, then what the other capabilities contribute
//!   ([`crate::capability::Capability::postfix_main`], e.g. the signer's milter), then the
//!   relay host's ([`relay`]).
//! - `/etc/postfix/master.cf`, through ONE `postconf -M` holding only the entries that differ
//!   (read with one `postconf -M` probe): port 25 through postscreen (`smtp/inet`,
//!   `smtpd/pass`, `dnsblog/unix`, `tlsproxy/unix`), `submission/inet` and `submissions/inet`.
//! - with `relay_host`: `/etc/postfix/mailstead_relay_password` and its `.db` (0600 root:root,
//!   secret: never shown in plans or logs), written before main.cf names them and removed after
//!   main.cf stops naming them when the relay host leaves the answers (see `relay_settings`).
//! - queues a Postfix reload; `postfix check` and a re-read of every setting must pass first
//!   (verify), so a configuration Postfix refuses is rolled back before any reload.
//!
//! The lookup tables it names (`virtual_*`) are written by the `mailboxes` step.
//!
//! Not repeated from the guide: `$mydomain` in `mydestination` (the domains are virtual, and
//! a domain may never be both), a LAN range in `mynetworks`, `smtpd_recipient_restrictions`
//! set twice, `reject_unknown_client_hostname` / `reject_unknown_helo_hostname` /
//! `reject_unknown_sender_domain` (they reject real senders), delivery through a pipe to
//! dovecot-lda, `smtpd_sasl_authenticated_header` (it publishes login names).
pub mod check;
pub mod main_cf;
pub mod master_cf;
pub mod paths;
pub mod relay;
use crate::capability::{self, Registry};
use crate::facts::resolver::Dns;
use crate::facts::{Certificates, PostconfMaster};
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::Answers;
use mailstead_engine::host::Cmd;
use mailstead_engine::system::failure;
use mailstead_engine::{Change, Ctx, Note, Planned, Step, When};
use paths::{MAIN_CF, MASTER_CF, RELAY_PASSWORD_MAP};
use std::path::Path;

use main_cf::{cool_main_cf, main_diff_now, MainDiff};
pub use main_cf::{dnsbl_answers, dnsbl_domain, main_settings, postscreen_access_list};
use master_cf::{master_diff, smtp_ipv4_only_change};
pub use master_cf::{master_entries, smtp_client_entry, SMTP_IPV4_ONLY};
use relay::relay_map_changes;
pub use relay::{relay_password_map, relay_settings, relayhost};

/// The step. It assembles `main.cf` from its own settings and what the registry's
/// capabilities contribute.
pub struct Postfix {
    /// The registry ([`crate::CAPABILITIES`]).
    pub all: &'static Registry,
}

impl Step<Answers> for Postfix {
    fn name(&self) -> &'static str {
        "postfix"
    }

    fn about(&self) -> &'static str {
        "Postfix: virtual domains, LMTP to Dovecot, TLS, submission ports"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        // The relay's password map exists before main.cf names it, and goes after main.cf
        // stops naming it.
        let (relay_before, relay_after) = relay_map_changes(ctx.answers, ctx.host)?;
        let mut changes = relay_before;
        let MainDiff {
            mut args,
            detail,
            dnsbl: (dnsbl, left_out),
        } = main_diff_now(ctx, self.all)?;
        // Postfix reads these only when it starts: a reload keeps the old listeners
        // (postconf(5): "specify postfix stop; postfix start" after changing them).
        let restart = args
            .iter()
            .any(|a| a.starts_with("inet_interfaces=") || a.starts_with("inet_protocols="));
        if !args.is_empty() {
            let n = args.len();
            args.insert(0, "-e".into());
            changes.push(Change::Run {
                summary: format!("postconf: set {n} main.cf setting{}", plural(n)),
                // postconf rewrites only the file it names (snapshotted): files only.
                cmd: Cmd::new("postconf", args).files_only(),
                touches: vec![MAIN_CF.into()],
                detail,
                when: When::Always,
                keep: false,
            });
            changes.push(cool_main_cf());
        }
        let (mut args, detail) = master_diff(
            &*ctx.fact::<PostconfMaster>()?,
            &capability::postfix_master(self.all, ctx.answers),
        );
        if !args.is_empty() {
            let names: Vec<&str> = args
                .iter()
                .filter_map(|a| a.split_once('/').map(|(n, _)| n))
                .collect();
            let summary = format!("postconf: master.cf entries {}", names.join(", "));
            args.insert(0, "-M".into());
            changes.push(Change::Run {
                summary,
                // postconf rewrites only the file it names (snapshotted): files only.
                cmd: Cmd::new("postconf", args).files_only(),
                touches: vec![MASTER_CF.into()],
                detail,
                when: When::Always,
                keep: false,
            });
        }
        changes.extend(relay_after);
        changes.extend(smtp_ipv4_only_change(ctx)?);
        changes.push(if restart {
            Change::restart("postfix")
        } else {
            Change::reload("postfix")
        });
        let mut planned = Planned::changes(changes);
        if !left_out.is_empty() {
            planned = planned.note(Note::warning(format!(
                "postscreen: {} not used: the list{} did not answer its test entry through \
                 this server's resolver ({}); {}. Run `mailstead install` again once the \
                 resolver reaches {}",
                left_out.join(", "),
                if left_out.len() == 1 { "" } else { "s" },
                ctx.fact::<Dns>()?
                    .resolver()
                    .map(|r| r.servers())
                    .unwrap_or_else(|why| why.to_string()),
                if dnsbl.is_empty() {
                    "DNS blocklists are off".to_string()
                } else {
                    format!("postscreen asks {}", dnsbl.join(", "))
                },
                if left_out.len() == 1 { "it" } else { "them" }
            )));
        }
        Ok(planned)
    }

    /// The certificate is in place, `postfix check` passes, and every setting reads back as
    /// written (Postfix reads the certificate only when a TLS session starts).
    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        ctx.fact::<Certificates>()?
            .require(ctx.host, &ctx.answers.hostname)?;
        if ctx.answers.relay_host.is_some() {
            let db = format!("{RELAY_PASSWORD_MAP}.db");
            match ctx.host.stat(Path::new(&db))? {
                Some(st) if st.meta.mode & 0o077 == 0 => {}
                Some(_) => {
                    return Err(eyre!(
                        "{db} holds the relay password but others can read it"
                    ))
                }
                None => return Err(eyre!("{db} is missing: postmap did not build it")),
            }
        }
        let cmd = Cmd::new("postfix", ["check"]);
        let out = ctx.host.run(&cmd)?;
        if !out.success() {
            return Err(eyre!(
                "Postfix refuses the configuration: {}",
                failure(&cmd, &out)
            ));
        }
        let main = main_diff_now(ctx, self.all)?.args;
        let (master, _) = master_diff(
            &*ctx.fact::<PostconfMaster>()?,
            &capability::postfix_master(self.all, ctx.answers),
        );
        if !main.is_empty() || !master.is_empty() {
            return Err(eyre!(
                "Postfix does not read back what was set: {}",
                main.iter()
                    .chain(&master)
                    .map(|a| a.split('=').next().unwrap_or(a))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        Ok(())
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The `postfix` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "postfix"
    }
    fn steps(&self, all: &'static crate::capability::Registry) -> crate::capability::Steps {
        vec![Box::new(Postfix { all })]
    }
    fn checks(&self) -> crate::capability::Checks {
        use crate::capability::Phase;
        vec![(Phase::Delivering, Box::new(check::Relay))]
    }
    fn packages(&self, answers: &mailstead_answers::Answers) -> Vec<&'static str> {
        let mut p = vec!["postfix"];
        // relay_host: Postfix's smtp client authenticates through Cyrus SASL, whose PLAIN and
        // LOGIN mechanisms (what relays offer) are in libsasl2-modules, a Recommends that
        // --no-install-recommends leaves out ("no worthy mechs found" without it).
        if answers.relay_host.is_some() {
            p.push("libsasl2-modules");
        }
        p
    }
}

#[cfg(test)]
mod tests;
