//! Checks: proof that the installed server works (they change nothing; the engine runs them
//! after a run's reloads, `mailstead check` alone).
//!
//! - `relay`: with a `relay_host`, its password map and `.db` are 0600 root-only (fail
//!   otherwise), and no outgoing mail waits in the deferred queue (warn with Postfix's reason:
//!   a wrong login, an untrusted certificate). Without one it passes at once.
use super::paths::RELAY_PASSWORD_MAP;
use crate::facts::queue::deferred;
use crate::support::probe;
use mailstead_answers::Answers;
use mailstead_engine::{Check, Ctx, Finding};

/// `relay`: see the module docs.
pub struct Relay;

impl Check<Answers> for Relay {
    fn name(&self) -> &'static str {
        "relay"
    }
    fn only_after_reload(&self) -> bool {
        true
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        let Some(r) = &ctx.answers.relay_host else {
            return Finding::pass("no relay host: mail goes out directly");
        };
        let db = format!("{RELAY_PASSWORD_MAP}.db");
        for path in [RELAY_PASSWORD_MAP, db.as_str()] {
            match ctx.host.stat(std::path::Path::new(path)) {
                Ok(Some(st)) if st.meta.mode & 0o077 == 0 && st.meta.uid == 0 => {}
                Ok(Some(st)) => {
                    return Finding::fail(
                        format!(
                            "{path} holds the relay password and is {:04o} owned by uid {}: others can read it",
                            st.meta.mode & 0o7777,
                            st.meta.uid
                        ),
                        format!("chown root:root {path} && chmod 600 {path}"),
                    )
                }
                _ => {
                    return Finding::fail(
                        format!("{path} is missing: Postfix cannot log in to the relay"),
                        "run `mailstead install` again",
                    )
                }
            }
        }
        let out = match probe(ctx.host, "postqueue", &["-j"]) {
            Ok(out) if out.success() => out,
            Ok(out) => {
                return Finding::warn(
                    format!("cannot read the mail queue: {}", out.tail(3)),
                    "look at `mailq` by hand",
                )
            }
            Err(e) => {
                return Finding::warn(
                    format!("cannot run `postqueue -j`: {e}"),
                    "look at `mailq` by hand",
                )
            }
        };
        // Outgoing = to a domain that is not ours: all of it goes through the relay.
        let ours = |addr: &str| {
            let domain = addr.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
            ctx.answers.domains.iter().any(|d| d.name == domain)
        };
        let waiting: Vec<_> = deferred(&out.stdout)
            .into_iter()
            .filter(|d| !ours(&d.address))
            .collect();
        match waiting.first() {
            None => Finding::pass(format!(
                "outgoing mail goes through {} as {}, over verified TLS; none waiting",
                r.nexthop(),
                r.username
            )),
            Some(first) => Finding::warn(
                format!(
                    "{} outgoing message(s) wait for the relay {}: {}",
                    waiting.len(),
                    r.nexthop(),
                    first.reason
                ),
                "check relay_host (host, port, username, password) with your provider; a certificate \
                 error means this server does not trust the relay's CA or the name differs; then \
                 `postqueue -f` sends the queue",
            ),
        }
    }
}
