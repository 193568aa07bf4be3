//! Capability `services`: no step; the checks that the mail services run, listen and parse.
//!
//! - `services`: the `postfix` and `dovecot` services are active;
//! - `ports`: 25, 465, 587, 993 (and 995 with `pop3: true`) are listening (`ss -ltn`);
//! - `config`: `postfix check` and `doveconf -n` pass;
use crate::facts::dovecot::passdb_drivers;
use crate::facts::Listeners;
use crate::layout::mail_ports;
use crate::support::probe;
use mailstead_answers::Answers;
use mailstead_engine::{system, Check, Ctx, Finding};

pub struct Services;
pub struct Ports;
pub struct Config;

impl Check<Answers> for Services {
    fn name(&self) -> &'static str {
        "services"
    }
    fn only_after_reload(&self) -> bool {
        true
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let down: Vec<&str> = ["postfix", "dovecot"]
            .into_iter()
            .filter(|svc| !system::service_active(ctx.host, svc))
            .collect();
        if down.is_empty() {
            Finding::pass("postfix and dovecot are running")
        } else {
            Finding::fail(
                format!("{} not running", down.join(" and ")),
                format!(
                    "look at `journalctl -u {} -n 50` (and /var/log/mail.log), then `systemctl start {}`",
                    down.join(" -u "),
                    down.join(" ")
                ),
            )
        }
    }
}

impl Check<Answers> for Ports {
    fn name(&self) -> &'static str {
        "ports"
    }
    fn only_after_reload(&self) -> bool {
        true
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let listeners = match ctx.fact::<Listeners>() {
            Ok(l) => l,
            Err(e) => {
                return Finding::fail(
                    format!("cannot list sockets: {e:#}"),
                    "install iproute2 (ss)",
                )
            }
        };
        let missing: Vec<(u16, &str)> = mail_ports(ctx.answers.pop3)
            .into_iter()
            // On an address other machines reach: loopback only is how a "Local only"
            // Postfix listens, and it receives nothing from outside.
            .filter(|(p, _)| !listeners.on(*p).any(|l| l.public))
            .collect();
        if missing.is_empty() {
            return Finding::pass("25, 465, 587 and 993 are listening");
        }
        let postfix = missing.iter().any(|(_, w)| w.starts_with("Postfix"));
        Finding::fail(
            format!(
                "nothing listens on a public address on {}",
                missing
                    .iter()
                    .map(|(p, w)| format!("port {p} ({w})"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            if postfix {
                "look at `postconf -M` (master.cf) and `journalctl -u postfix`"
            } else {
                "look at `doveconf -n` and `journalctl -u dovecot`"
            },
        )
    }
}

impl Check<Answers> for Config {
    fn name(&self) -> &'static str {
        "config"
    }
    fn only_after_reload(&self) -> bool {
        true
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let mut problems = Vec::new();
        for (program, args, dir) in [
            ("postfix", &["check"][..], "/etc/postfix"),
            ("doveconf", &["-n"][..], "/etc/dovecot"),
        ] {
            let line = format!("{program} {}", args.join(" "));
            match probe(ctx.host, program, args) {
                Ok(out) if out.success() => {}
                Ok(out) => problems.push((format!("`{line}` fails: {}", out.tail(5)), dir)),
                Err(e) => problems.push((format!("cannot run `{line}`: {e}"), dir)),
            }
        }
        // Only mailstead's users file may authenticate (no PAM, no system accounts).
        if let Ok(out) = probe(ctx.host, "doveconf", &["-n"]) {
            let passdbs = passdb_drivers(&out.stdout);
            if out.success() && passdbs.iter().any(|d| d != "passwd-file") {
                problems.push((
                    format!("Dovecot's active passdbs are {}: system accounts can log in", passdbs.join(", ")),
                    "/etc/dovecot/conf.d/10-auth.conf (comment out `!include auth-system.conf.ext`)",
                ));
            }
        }
        if problems.is_empty() {
            return Finding::pass(
                "postfix check and doveconf -n pass; the only passdb is the users file",
            );
        }
        let dirs: Vec<&str> = problems.iter().map(|(_, d)| *d).collect();
        Finding::fail(
            problems
                .into_iter()
                .map(|(p, _)| p)
                .collect::<Vec<_>>()
                .join("; "),
            format!("fix what it names in {}", dirs.join(" and ")),
        )
    }
}

/// The `services` capability.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "services"
    }
    fn checks(&self) -> crate::capability::Checks {
        use crate::capability::Phase;
        vec![
            (Phase::Running, Box::new(Services)),
            (Phase::Running, Box::new(Ports)),
            (Phase::Running, Box::new(Config)),
        ]
    }
    fn packages(&self, _answers: &mailstead_answers::Answers) -> Vec<&'static str> {
        // `ss`, which lists the listening sockets.
        vec!["iproute2"]
    }
}
