//! The installed Dovecot's version (ONE `dovecot --version`), `None` when not installed.
use color_eyre::eyre::Result;
use mailstead_engine::step::reads;
use mailstead_engine::{Fact, Host};

/// The drivers of the active passdbs in `doveconf -n` output: 2.3's `passdb { driver = X }`
/// and 2.4's `passdb NAME { driver = X }` / `passdb_driver = X` (both are named by driver
/// when no name is given).
pub fn passdb_drivers(doveconf: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_passdb = false;
    for line in doveconf.lines().map(str::trim) {
        if line.starts_with("passdb ") && line.ends_with('{') {
            in_passdb = true;
            let name = line
                .trim_start_matches("passdb")
                .trim_end_matches('{')
                .trim();
            if !name.is_empty() {
                out.push(name.to_string());
            }
            continue;
        }
        if in_passdb {
            if line == "}" {
                in_passdb = false;
            } else if let Some(d) = line
                .strip_prefix("driver = ")
                .or_else(|| line.strip_prefix("passdb_driver = "))
            {
                // 2.4 names it twice (block name and driver): keep one.
                if out.last().map(String::as_str) != Some(d) {
                    out.push(d.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

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
