//! Step `firewall`: ufw allowing SSH and the mail ports, enabled last.
//!
//! Skipped entirely with `firewall.enabled: false` (ufw is then left as it is).
//!
//! Touches `/etc/ufw` (as a whole tree: `user.rules`, `user6.rules`, `ufw.conf`), through `ufw`:
//! 1. `ufw allow <ssh port>/tcp` for every port sshd really listens on (from `ss`, plus the
//!    configured `Port`s, so a pending sshd restart cannot lock anyone out) — always FIRST;
//! 2. then 25 (SMTP), 465 (submissions), 587 (submission), 993 (IMAPS), 995 (POP3S, only with
//!    `pop3: true`) and 80 (certbot's HTTP-01 challenge);
//! 3. `ufw --force enable` LAST, only when ufw is inactive.
//!
//! Only missing rules are added (read from `/etc/ufw/user.rules`, which ufw keeps whether
//! active or not), so a re-run changes nothing.
//!
//! Lockout safety, even when the step fails: rules are added while ufw is still inactive, and
//! enabling is the very last change. A failure before it leaves ufw inactive and its files
//! restored by the engine. A failure after it (verify) restores the files (ufw.conf back to
//! ENABLED=no for the next boot) while the live ruleset, which the engine cannot unload, still
//! holds the SSH allow rule that was in place before enabling. Live rules added to an already
//! active ufw stay loaded after a rollback: they only ever allow more.
use crate::facts::{Listeners, Sshd, Ufw};
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::Answers;
use mailstead_engine::host::Cmd;
use mailstead_engine::{Change, Ctx, Note, Planned, Step};

pub struct Firewall;

/// Comment of a rule kept for a service that already listened publicly: never removed by
/// mailstead (it is the admin's service, not an option of mailstead's).
const KEPT_PREFIX: &str = "mailstead-kept: ";

/// Ports other services listen on publicly (not loopback), with what listens, that `wanted`
/// does not cover already.
pub fn kept_ports(listeners: &Listeners, wanted: &[(u16, String)]) -> Vec<(u16, String)> {
    let mut out: Vec<(u16, String)> = Vec::new();
    // The daemons mailstead configures: their ports are the mail ports it opens (Dovecot's
    // package defaults, 143 and 110, close when its configuration is loaded).
    const OURS: &[&str] = &["master", "postfix", "dovecot", "sshd"];
    for l in listeners
        .0
        .iter()
        .filter(|l| l.public && !l.process.as_deref().is_some_and(|p| OURS.contains(&p)))
    {
        if wanted.iter().any(|(p, _)| *p == l.port) || out.iter().any(|(p, _)| *p == l.port) {
            continue;
        }
        out.push((
            l.port,
            l.process.clone().unwrap_or_else(|| "a service".into()),
        ));
    }
    out.sort();
    out
}

/// The ports to open, SSH first, with the comment ufw stores for each rule.
pub fn wanted_ports(ctx: &Ctx<Answers>) -> Result<Vec<(u16, &'static str)>> {
    let mut ports: Vec<(u16, &'static str)> =
        ssh_ports(&*ctx.fact::<Listeners>()?, &*ctx.fact::<Sshd>()?)
            .into_iter()
            .map(|p| (p, "mailstead: ssh"))
            .collect();
    ports.extend([
        (25, "mailstead: smtp"),
        (465, "mailstead: submissions"),
        (587, "mailstead: submission"),
        (993, "mailstead: imaps"),
    ]);
    if ctx.answers.pop3 {
        ports.push((995, "mailstead: pop3s"));
    }
    ports.push((80, "mailstead: acme http-01"));
    let mut seen = Vec::new();
    ports.retain(|(p, _)| {
        let new = !seen.contains(p);
        seen.push(*p);
        new
    });
    Ok(ports)
}

/// Every port sshd listens on now (`ss`) or will after a restart (`sshd -T`, else the config
/// files); 22 when nothing can be told.
pub fn ssh_ports(listeners: &Listeners, sshd: &Sshd) -> Vec<u16> {
    let mut ports: Vec<u16> = listeners
        .0
        .iter()
        .filter(|l| l.process.as_deref() == Some("sshd"))
        .map(|l| l.port)
        .collect();
    ports.extend(sshd.ports());
    if ports.is_empty() {
        ports.push(22);
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

impl Step<Answers> for Firewall {
    fn name(&self) -> &'static str {
        "firewall"
    }
    fn about(&self) -> &'static str {
        "Firewall (ufw): allow SSH first, then the mail ports, enable last"
    }

    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        if !ctx.answers.firewall.enabled {
            return Ok(Planned::default().note(mailstead_engine::Note::info(
                "firewall.enabled is false: ufw is left as it is",
            )));
        }
        let ufw = ctx.fact::<Ufw>()?;
        let active = ufw.active;
        let mut changes = Vec::new();
        let mut notes = Vec::new();
        let mut ssh = Vec::new();
        let mut wanted: Vec<(u16, String)> = wanted_ports(ctx)?
            .into_iter()
            .map(|(p, c)| (p, c.to_string()))
            .collect();
        if !active {
            // Enabling ufw closes every port it does not allow: keep those that services
            // already serve to the network (a web server's 443), and say so.
            for (port, what) in kept_ports(&*ctx.fact::<Listeners>()?, &wanted) {
                notes.push(Note::info(format!(
                    "ufw: keeping port {port} open, {what} listens on it (enabling ufw would close it)"
                )));
                wanted.push((port, format!("{KEPT_PREFIX}{what}")));
            }
        }
        // Rules mailstead added for an option now off (995 after `pop3: false`) go; SSH rules
        // are never taken away.
        for rule in &ufw.rules {
            let Some(comment) = rule.comment.as_deref() else {
                continue;
            };
            let Ok(port) = rule.dports.parse::<u16>() else {
                continue;
            };
            if comment.starts_with("mailstead: ")
                && comment != "mailstead: ssh"
                && !wanted.iter().any(|(p, _)| *p == port)
            {
                let spec = format!("{port}/{}", rule.proto);
                if !changes.iter().any(|c: &Change| c.summary().contains(&spec)) {
                    changes.push(Change::run(
                        format!("ufw: delete allow {spec} ({comment}; no longer asked for)"),
                        Cmd::new("ufw", ["delete", "allow", &spec]),
                        &["/etc/ufw"],
                    ));
                }
            }
        }
        for (port, comment) in &wanted {
            let (port, comment) = (*port, comment.as_str());
            if comment == "mailstead: ssh" {
                ssh.push(port.to_string());
            }
            if ufw.allows(port) {
                continue;
            }
            changes.push(Change::run(
                format!(
                    "ufw: allow {port}/tcp ({})",
                    comment.trim_start_matches("mailstead: ")
                ),
                Cmd::new("ufw", ["allow", &format!("{port}/tcp"), "comment", comment]),
                &["/etc/ufw"],
            ));
        }
        if !active {
            changes.push(Change::run(
                format!("ufw: enable (SSH on {} allowed first)", ssh.join(", ")),
                // A rollback switches it off again (restoring /etc/ufw alone would leave the
                // live firewall on until the next boot).
                Cmd::new("ufw", ["--force", "enable"])
                    .undo(Cmd::new("ufw", ["--force", "disable"])),
                &["/etc/ufw"],
            ));
        }
        Ok(Planned {
            changes,
            notes,
            ..Planned::default()
        })
    }

    fn verify(&self, ctx: &Ctx<Answers>) -> Result<()> {
        if !ctx.answers.firewall.enabled {
            return Ok(());
        }
        let ufw = ctx.fact::<Ufw>()?;
        if !ufw.active {
            return Err(eyre!(
                "ufw is not active after enabling it; look at `ufw status verbose` and \
                 `journalctl -u ufw`"
            ));
        }
        let missing: Vec<String> = wanted_ports(ctx)?
            .into_iter()
            .filter(|(p, _)| !ufw.allows(*p))
            .map(|(p, c)| format!("{p}/tcp ({c})"))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(eyre!(
                "ufw does not allow {}; look at `ufw status verbose`",
                missing.join(", ")
            ))
        }
    }
}

/// The `firewall` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "firewall"
    }
    fn steps(&self, _all: &'static crate::capability::Registry) -> crate::capability::Steps {
        vec![Box::new(Firewall)]
    }
    fn packages(&self, answers: &mailstead_answers::Answers) -> Vec<&'static str> {
        if answers.firewall.enabled {
            vec!["ufw"]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ufw::{parse_rules, USER_RULES};
    use crate::testing::{answers, ctx, fail, ok};
    use mailstead_engine::{MemHost, Meta};

    const RULES_ALL: &str = "*filter\n\
### tuple ### allow tcp 2222 0.0.0.0/0 any 0.0.0.0/0 in comment=6d61\n\
### tuple ### allow tcp 25 0.0.0.0/0 any 0.0.0.0/0 Postfix - in\n\
### tuple ### allow tcp 465 0.0.0.0/0 any 0.0.0.0/0 in\n\
### tuple ### allow tcp 587 0.0.0.0/0 any 0.0.0.0/0 in\n\
### tuple ### allow tcp 993 0.0.0.0/0 any 0.0.0.0/0 in\n\
### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n";

    fn host(active: bool, ssh_listen: &'static str) -> MemHost<'static> {
        let h = MemHost::fake();
        h.on_command(move |c| match c.program.as_str() {
            "ss" => ok(ssh_listen),
            "sshd" => fail(255, "Missing privilege separation directory: /run/sshd"),
            // What `ufw status` tests: its chain in the kernel.
            "iptables" if c.probe && active => ok("Chain ufw-user-input (1 references)\n"),
            "iptables" if c.probe => fail(1, "iptables: No chain/target/match by that name.\n"),
            _ => None,
        });
        h.add_file("/usr/sbin/ufw", "#!/usr/bin/python3\n", Meta::root(0o755));
        h
    }

    #[test]
    fn fresh_host_allows_ssh_first_and_enables_last() {
        let h = host(
            false,
            "LISTEN 0 128 0.0.0.0:2222 0.0.0.0:* users:((\"sshd\",pid=3,fd=3))\n",
        );
        h.add_file(
            "/etc/ssh/sshd_config",
            "Include /etc/ssh/sshd_config.d/*.conf\nPort 2222\n",
            Meta::root(0o644),
        );
        let a = answers();
        let changes = Firewall.plan(&ctx(&h, &a)).unwrap().changes;
        let cmds: Vec<String> = changes
            .iter()
            .map(|c| match c {
                Change::Run { cmd, touches, .. } => {
                    assert_eq!(touches, &[std::path::PathBuf::from("/etc/ufw")]);
                    cmd.to_string()
                }
                _ => panic!("{c:?}"),
            })
            .collect();
        assert_eq!(
            cmds,
            [
                "ufw allow 2222/tcp comment 'mailstead: ssh'",
                "ufw allow 25/tcp comment 'mailstead: smtp'",
                "ufw allow 465/tcp comment 'mailstead: submissions'",
                "ufw allow 587/tcp comment 'mailstead: submission'",
                "ufw allow 993/tcp comment 'mailstead: imaps'",
                "ufw allow 80/tcp comment 'mailstead: acme http-01'",
                "ufw --force enable",
            ]
        );
    }

    #[test]
    fn ufw_not_installed_yet_plans_everything_with_port_22() {
        let h = MemHost::fake(); // no ss, no sshd, no ufw: commands fail to start
        let mut a = answers();
        a.pop3 = true;
        let changes = Firewall.plan(&ctx(&h, &a)).unwrap().changes;
        assert!(
            changes[0].summary().contains("allow 22/tcp (ssh)"),
            "{:?}",
            changes[0]
        );
        assert!(changes.iter().any(|c| c.summary().contains("995/tcp")));
        assert!(changes.last().unwrap().summary().starts_with("ufw: enable"));
    }

    #[test]
    fn configured_and_active_means_no_change() {
        let h = host(
            true,
            "LISTEN 0 128 0.0.0.0:2222 0.0.0.0:* users:((\"sshd\",pid=3,fd=3))\n",
        );
        h.add_file(USER_RULES, RULES_ALL, Meta::root(0o640));
        h.add_file("/etc/ssh/sshd_config", "Port 2222\n", Meta::root(0o644));
        let a = answers();
        assert!(Firewall.plan(&ctx(&h, &a)).unwrap().changes.is_empty());
        Firewall.verify(&ctx(&h, &a)).unwrap();
        // POP3 asked for later: only 995 is added, no enable.
        let mut a = answers();
        a.pop3 = true;
        let changes = Firewall.plan(&ctx(&h, &a)).unwrap().changes;
        assert_eq!(changes.len(), 1);
        assert!(changes[0].summary().contains("995"));
        assert!(Firewall.verify(&ctx(&h, &a)).is_err());
    }

    #[test]
    fn rules_present_but_inactive_only_enables() {
        let h = host(
            false,
            "LISTEN 0 128 0.0.0.0:2222 0.0.0.0:* users:((\"sshd\",pid=3,fd=3))\n",
        );
        h.add_file(USER_RULES, RULES_ALL, Meta::root(0o640));
        let a = answers();
        let changes = Firewall.plan(&ctx(&h, &a)).unwrap().changes;
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes[0].summary(),
            "ufw: enable (SSH on 2222 allowed first)"
        );
    }

    #[test]
    fn a_source_restricted_ssh_rule_counts_only_on_active_ufw() {
        let r = parse_rules("### tuple ### allow tcp 22 0.0.0.0/0 any 10.0.0.0/8 in\n### tuple ### limit tcp 6000:6010 0.0.0.0/0 any 0.0.0.0/0 in\n### tuple ### deny tcp 25 0.0.0.0/0 any 0.0.0.0/0 in\n### tuple ### allow any 53 0.0.0.0/0 any 0.0.0.0/0 out\n");
        assert_eq!(r.len(), 2);
        assert!(!r[0].covers(22, false));
        assert!(r[0].covers(22, true));
        assert!(r[1].covers(6005, false));
        assert!(!r[1].covers(25, true));
    }

    #[test]
    fn disabled_firewall_is_left_alone() {
        let h = MemHost::fake();
        let mut a = answers();
        a.firewall.enabled = false;
        assert!(Firewall.plan(&ctx(&h, &a)).unwrap().changes.is_empty());
        assert!(h.commands().is_empty());
        Firewall.verify(&ctx(&h, &a)).unwrap();
    }

    /// Enabling ufw keeps open what other services already serve to the network (a web
    /// server's 443), never loopback-only ports or the package defaults of the mail daemons
    /// mailstead configures itself (Dovecot's 143 before its reload).
    #[test]
    fn enabling_keeps_ports_other_services_serve_publicly() {
        let h = host(
            false,
            "LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:((\"sshd\",pid=3,fd=3))\n\
             LISTEN 0 511 0.0.0.0:443 0.0.0.0:* users:((\"nginx\",pid=9,fd=6))\n\
             LISTEN 0 511 [::]:443 [::]:* users:((\"nginx\",pid=9,fd=7))\n\
             LISTEN 0 5 127.0.0.1:631 0.0.0.0:* users:((\"cupsd\",pid=5,fd=7))\n\
             LISTEN 0 100 0.0.0.0:143 0.0.0.0:* users:((\"dovecot\",pid=7,fd=30))\n",
        );
        let a = answers();
        let planned = Firewall.plan(&ctx(&h, &a)).unwrap();
        let cmds: Vec<String> = planned
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::Run { cmd, .. } => Some(cmd.to_string()),
                _ => None,
            })
            .collect();
        assert!(
            cmds.contains(&"ufw allow 443/tcp comment 'mailstead-kept: nginx'".to_string()),
            "{cmds:?}"
        );
        assert_eq!(
            cmds.iter().filter(|c| c.contains("443")).count(),
            1,
            "{cmds:?}"
        );
        assert!(
            !cmds.iter().any(|c| c.contains("631") || c.contains("143")),
            "{cmds:?}"
        );
        assert!(
            planned
                .notes
                .iter()
                .any(|n| n.text.contains("443") && n.text.contains("nginx")),
            "{:?}",
            planned.notes
        );
        // ufw already active: the admin manages it; nothing is kept on their behalf.
        let h = host(
            true,
            "LISTEN 0 511 0.0.0.0:443 0.0.0.0:* users:((\"nginx\",pid=9,fd=6))\n",
        );
        h.add_file(USER_RULES, RULES_ALL, Meta::root(0o640));
        let planned = Firewall.plan(&ctx(&h, &a)).unwrap();
        assert!(planned.changes.iter().all(|c| !c.summary().contains("443")));
    }

    /// A rule mailstead added for an option now off goes; SSH rules and the admin's own
    /// rules never do.
    #[test]
    fn rules_for_options_turned_off_are_removed() {
        let h = host(
            true,
            "LISTEN 0 128 0.0.0.0:22 0.0.0.0:* users:((\"sshd\",pid=3,fd=3))\n",
        );
        let rules = format!(
            "{RULES_ALL}### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=6d61696c73746561643a20737368\n\
             ### tuple ### allow tcp 995 0.0.0.0/0 any 0.0.0.0/0 in comment=6d61696c73746561643a20706f703373\n\
             ### tuple ### allow tcp 4444 0.0.0.0/0 any 0.0.0.0/0 in comment=6d61696c73746561643a20737368\n\
             ### tuple ### allow tcp 8080 0.0.0.0/0 any 0.0.0.0/0 in comment=776562\n"
        );
        assert_eq!(
            parse_rules(&rules)
                .iter()
                .filter_map(|r| r.comment.as_deref())
                .collect::<Vec<_>>(),
            [
                "ma",
                "mailstead: ssh",
                "mailstead: pop3s",
                "mailstead: ssh",
                "web"
            ]
        );
        h.add_file(USER_RULES, &rules, Meta::root(0o640));
        let a = answers(); // pop3: false
        let summaries: Vec<String> = Firewall
            .plan(&ctx(&h, &a))
            .unwrap()
            .changes
            .iter()
            .map(Change::summary)
            .collect();
        assert!(
            summaries
                .iter()
                .any(|s| s.starts_with("ufw: delete allow 995/tcp")),
            "{summaries:?}"
        );
        assert!(
            !summaries
                .iter()
                .any(|s| s.contains("4444") || s.contains("8080")),
            "{summaries:?}"
        );
        let mut pop = a.clone();
        pop.pop3 = true;
        let again = Firewall.plan(&ctx(&h, &pop)).unwrap().changes;
        assert!(
            again.iter().all(|c| !c.summary().contains("delete")),
            "{again:?}"
        );
    }
}
