//! The `certificate` check: which certificate is live.
use mailstead_answers::Answers;
use mailstead_engine::{Check, Ctx, Finding};

/// Which certificate is live: the CA's, or the interim self-signed one (a warning: clients
/// warn, and the retry timer has not succeeded yet).
pub struct Certificate;

impl Check<Answers> for Certificate {
    fn name(&self) -> &'static str {
        "certificate"
    }
    fn only_after_reload(&self) -> bool {
        true
    }
    fn run(&self, ctx: &Ctx<Answers>) -> Finding {
        use crate::facts::Certificates;
        let fqdn = ctx.answers.hostname.trim().to_ascii_lowercase();
        let certs = match ctx.fact::<Certificates>() {
            Ok(c) => c,
            Err(e) => {
                return Finding::fail(
                    format!("cannot read the certificates: {e:#}"),
                    "look at `certbot certificates`",
                )
            }
        };
        let (chain, _) = certs.serving(ctx.host, &fqdn);
        if certs.present(&fqdn) {
            return Finding::pass(format!(
                "the CA's certificate for {fqdn} is live ({})",
                chain.display()
            ));
        }
        if let Err(e) = certs.require(ctx.host, &fqdn) {
            return Finding::fail(
                format!("no certificate for {fqdn}: {e:#}"),
                "run `mailstead install` again",
            );
        }
        Finding::warn(
            format!(
                "a temporary self-signed certificate is live for {fqdn} ({}): the CA has not issued one yet",
                chain.display()
            ),
            "publish the DNS records (`mailstead dns`) and open port 80; the timer retries every 15 \
             minutes (`journalctl -u mailstead-certificate` says why it failed; \
             `systemctl start mailstead-certificate` tries now)",
        )
    }
}
