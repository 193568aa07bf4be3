//! The installed Dovecot's version (ONE `dovecot --version`), `None` when not installed.
use color_eyre::eyre::Result;
use mailstead_engine::step::reads;
use mailstead_engine::{Fact, Host};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DovecotVersion(pub Option<String>);

impl Fact for DovecotVersion {
    const READS: &'static [&'static str] = &[reads::PACKAGES];
    fn probe(host: &dyn Host) -> Result<Self> {
        Ok(DovecotVersion(
            super::probe(host, "dovecot", &["--version"])
                .filter(|o| o.success())
                .map(|o| o.stdout.trim().to_string()),
        ))
    }
}
