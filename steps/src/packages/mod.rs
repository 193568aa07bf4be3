//! Step `packages`: installs the mail stack with one `apt-get install`.
//!
//! Preseeds debconf (`postfix/mailname` = the hostname, `postfix/main_mailer_type` = `Internet
//! Site`) so the install asks nothing, then installs what is missing of: postfix, dovecot-core,
//! dovecot-imapd, dovecot-lmtpd, dovecot-pop3d (only with `pop3: true`), certbot, rspamd (the
//! DKIM signer and spam filter, without recommends), redis-server (rspamd's Bayes statistics
//! and the sending limit's buckets), dovecot-sieve (spam to Junk, training), ufw (only with the firewall enabled),
//! fail2ban with python3-systemd and nftables (step `bans`), libsasl2-modules (only with a `relay_host`), plus openssl and iproute2 (certificate checks, `ss`), which a Debian
//! server nearly always has. The engine records which packages this run installed.
//!
//! `apt-get update` runs first only when something is missing AND the package lists are stale:
//! none downloaded yet, or none refreshed within the last day.
//!
//! Touches no file in /etc itself (the packages do; the engine keeps package config files on
//! upgrade with `--force-confold`).
use crate::capability::Registry;
use crate::facts::Packages as Installed;
use color_eyre::eyre::Result;
use mailstead_answers::Answers;
use mailstead_engine::host::{Cmd, Host};
use mailstead_engine::{Change, Ctx, Perms, Planned, Step};
use std::path::Path;
use std::time::Duration;

/// The step: one `apt-get install` of what [`wanted`] lists and is not installed yet.
pub struct Packages {
    /// The registry, whose capabilities say what they need.
    pub all: &'static Registry,
}

const LISTS: &str = "/var/lib/apt/lists";
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";
/// Exit 101, "action forbidden by policy" (Debian's policy-rc.d interface), for the
/// daemons mailstead configures only (Postfix, Dovecot, fail2ban); everything else (certbot's renewal timer) starts as
/// usual. invoke-rc.d passes `ID ACTIONS`, deb-systemd-invoke may pass options and `NAME.service`.
const POLICY_DENY: &str = "#!/bin/sh\n\
# mailstead: Postfix, Dovecot and fail2ban start only once configured; removed right after the install.\n\
while [ \"${1#-}\" != \"$1\" ]; do shift; done\n\
case \"$1\" in dovecot|dovecot.*|postfix|postfix.*|postfix@*|fail2ban|fail2ban.*) exit 101 ;; esac\n\
exit 0\n";

/// Every package the answers ask for: each capability's ([`crate::capability::Capability::packages`]), in
/// registry order, each once.
pub fn wanted(all: &Registry, answers: &Answers) -> Vec<String> {
    let mut p: Vec<String> = Vec::new();
    for name in all.iter().flat_map(|c| c.packages(answers)) {
        if !p.iter().any(|q| q == name) {
            p.push(name.to_string());
        }
    }
    p
}

/// debconf answers for a non-interactive Postfix install.
pub fn debconf(hostname: &str) -> Vec<String> {
    vec![
        format!("postfix postfix/mailname string {hostname}"),
        "postfix postfix/main_mailer_type select Internet Site".to_string(),
    ]
}

/// No `*_Packages` list at all, or none modified within the last 24 hours.
pub fn lists_stale(host: &dyn Host) -> bool {
    let names = host.list_dir(Path::new(LISTS)).unwrap_or_default();
    if !names.iter().any(|n| n.contains("_Packages")) {
        return true;
    }
    let fresh = host.run(&Cmd::probe(
        "find",
        [
            LISTS,
            "-maxdepth",
            "1",
            "-type",
            "f",
            "-name",
            "*_Packages*",
            "-mmin",
            "-1440",
            "-print",
            "-quit",
        ],
    ));
    !matches!(fresh, Ok(o) if o.success() && !o.stdout.trim().is_empty())
}

fn apt_update() -> Cmd {
    let wait = format!(
        "DPkg::Lock::Timeout={}",
        mailstead_engine::system::LOCK_WAIT_SECS
    );
    Cmd::new("apt-get", ["update", "-q", "-o", &wait])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .timeout(Duration::from_secs(600))
}

impl Packages {
    /// What [`wanted`] lists and is not installed.
    fn missing(&self, ctx: &Ctx<Answers>) -> Result<Vec<String>> {
        let installed = ctx.fact::<Installed>()?;
        Ok(wanted(self.all, ctx.answers)
            .into_iter()
            .filter(|p| !installed.has(p))
            .collect())
    }
}

impl Step<Answers> for Packages {
    fn name(&self) -> &'static str {
        "packages"
    }
    fn about(&self) -> &'static str {
        "Install Postfix, Dovecot, rspamd, certbot and ufw (one apt-get install, debconf preseeded)"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let missing = self.missing(ctx)?;
        if missing.is_empty() {
            return Ok(Planned::default());
        }
        let mut changes = Vec::new();
        if lists_stale(ctx.host) {
            changes.push(Change::run(
                "apt-get update (package lists missing or older than a day)",
                apt_update(),
                &[],
            ));
        }
        let debconf = if missing.iter().any(|p| p == "postfix") {
            debconf(ctx.answers.hostname.trim())
        } else {
            Vec::new()
        };
        // The new daemons must not start on Debian's defaults (Dovecot with PAM on 143): a
        // policy-rc.d that forbids starts (invoke-rc.d(8), deb-systemd-invoke) holds them
        // until the run's reload starts them with mailstead's configuration. A run that stops
        // half-way leaves them stopped. Only when the server has no policy of its own; it is
        // a snapshotted write, so a rollback or a recovery after a kill removes it too.
        let hold = !ctx.host.exists(Path::new(POLICY_RC_D));
        if hold {
            changes.push(Change::write(POLICY_RC_D, POLICY_DENY, Perms::root(0o755)));
        }
        changes.push(Change::Install {
            packages: missing,
            debconf,
        });
        if hold {
            changes.push(Change::RemoveFile {
                path: POLICY_RC_D.into(),
            });
        }
        Ok(changes.into())
    }

    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        let missing = self.missing(ctx)?;
        if missing.is_empty() {
            Ok(())
        } else {
            Err(color_eyre::eyre::eyre!(
                "still not installed: {}; see `apt-get install {}` and /var/log/apt/term.log",
                missing.join(" "),
                missing.join(" ")
            ))
        }
    }
}

/// The `packages` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "packages"
    }
    fn steps(&self, all: &'static crate::capability::Registry) -> crate::capability::Steps {
        vec![Box::new(Packages { all })]
    }
}

#[cfg(test)]
mod tests {
    fn step() -> Packages {
        Packages {
            all: crate::CAPABILITIES,
        }
    }
    use super::*;
    use crate::testing::{answers, ctx, dpkg, ok};
    use mailstead_engine::{MemHost, Meta};

    fn host(installed: &'static [&'static str], fresh_lists: bool) -> MemHost<'static> {
        let h = MemHost::fake();
        h.on_command(move |c| match c.program.as_str() {
            "dpkg-query" => ok(&dpkg(installed)),
            "find" if fresh_lists => ok("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages\n"),
            "find" => ok(""),
            _ => None,
        });
        h
    }

    #[test]
    fn fresh_host_updates_then_installs_once_with_debconf() {
        let h = host(&["openssl"], false);
        let a = answers();
        let changes = step().plan(&ctx(&h, &a)).unwrap().changes;
        let s: Vec<String> = changes.iter().map(Change::summary).collect();
        assert_eq!(s.len(), 4, "{s:?}");
        assert!(s[0].starts_with("apt-get update"));
        // No service starts on Debian's defaults while the packages install.
        assert_eq!(s[1], "write /usr/sbin/policy-rc.d (0755 root:root)");
        assert_eq!(s[3], "remove /usr/sbin/policy-rc.d");
        // The engine keeps the removal though the file does not exist yet: it is written
        // earlier in the same step.
        let kept = crate::testing::effective(&h, step().plan(&ctx(&h, &a)).unwrap());
        assert!(
            kept.iter()
                .any(|c| c.summary() == "remove /usr/sbin/policy-rc.d"),
            "{kept:?}"
        );
        let Change::Install { packages, debconf } = &changes[2] else {
            panic!("{changes:?}")
        };
        assert_eq!(
            packages,
            // Registry order: each capability's packages in turn.
            &[
                "certbot",
                "dovecot-core",
                "dovecot-imapd",
                "dovecot-lmtpd",
                "redis-server",
                "dovecot-sieve",
                "rspamd",
                "postfix",
                "ufw",
                "fail2ban",
                "python3-systemd",
                "nftables",
                "iproute2"
            ]
        );
        assert_eq!(
            debconf,
            &[
                "postfix postfix/mailname string mail.example.test",
                "postfix postfix/main_mailer_type select Internet Site"
            ]
        );
    }

    #[test]
    fn pop3_and_firewall_options_shape_the_list() {
        let h = host(&[], true);
        h.add_file(
            "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages",
            "",
            Meta::root(0o644),
        );
        let mut a = answers();
        a.pop3 = true;
        a.firewall.enabled = false;
        // A policy-rc.d of the server's own is left alone (and used as it is).
        h.add_file(
            "/usr/sbin/policy-rc.d",
            "#!/bin/sh\nexit 0\n",
            Meta::root(0o755),
        );
        let changes = step().plan(&ctx(&h, &a)).unwrap().changes;
        assert_eq!(changes.len(), 1, "fresh lists: no update; {changes:?}");
        let Change::Install { packages, .. } = &changes[0] else {
            panic!()
        };
        assert!(packages.contains(&"dovecot-pop3d".to_string()));
        assert!(!packages.contains(&"ufw".to_string()));
        // No sending limit: Redis all the same (rspamd's Bayes statistics are there).
        a.max_messages_per_hour = 0;
        let changes = step().plan(&ctx(&h, &a)).unwrap().changes;
        let Change::Install { packages, .. } = &changes[0] else {
            panic!()
        };
        assert!(packages.contains(&"redis-server".to_string()));
        assert!(packages.contains(&"dovecot-sieve".to_string()));
    }

    #[test]
    fn everything_installed_means_no_change_and_no_update() {
        let h = host(
            &[
                "postfix",
                "dovecot-core",
                "dovecot-imapd",
                "dovecot-lmtpd",
                "certbot",
                "rspamd",
                "redis-server",
                "dovecot-sieve",
                "ufw",
                "fail2ban",
                "python3-systemd",
                "nftables",
                "openssl",
                "iproute2",
            ],
            false,
        );
        let a = answers();
        assert!(step().plan(&ctx(&h, &a)).unwrap().changes.is_empty());
        assert!(!h.commands().iter().any(|c| c.starts_with("find")));
        step().verify(&ctx(&h, &a)).unwrap();
    }

    /// The held services are exactly Postfix and Dovecot, whatever form the name comes in.
    #[test]
    fn policy_holds_only_the_mail_daemons() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("policy-rc.d");
        std::fs::write(&f, POLICY_DENY).unwrap();
        let code = |args: &[&str]| {
            std::process::Command::new("sh")
                .arg(&f)
                .args(args)
                .status()
                .unwrap()
                .code()
        };
        assert_eq!(code(&["dovecot", "start"]), Some(101));
        assert_eq!(code(&["--quiet", "postfix.service", "start"]), Some(101));
        assert_eq!(code(&["postfix@-.service", "restart"]), Some(101));
        assert_eq!(code(&["certbot.timer", "start"]), Some(0));
        assert_eq!(code(&["ssh", "restart"]), Some(0));
    }
}
