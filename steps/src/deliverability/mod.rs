//! Capability `deliverability`: no step; the checks of `mailstead check` that look at the
//! world outside (reverse DNS, blocklists, the certificate served, the renewal hook, the
//! queue, disk space). The probes they stand on are facts about the world
//! ([`crate::facts::deliverability`]), re-exported here for the CLI.
pub mod check;
pub mod queue;

pub use crate::facts::deliverability::{
    outbound_25, tcp_connect, Outcome, Problem, BLOCKLISTS, OUTBOUND_TIMEOUT, PROVIDERS,
};

/// The `deliverability` capability: its checks, in the order they run.
pub struct Cap;

impl crate::capability::Capability for Cap {
    fn name(&self) -> &'static str {
        "deliverability"
    }
    fn checks(&self) -> crate::capability::Checks {
        check::all()
            .into_iter()
            .map(|c| (crate::capability::Phase::World, c))
            .collect()
    }
}
