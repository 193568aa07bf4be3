//! Installed Debian packages: ONE `dpkg-query -W` for all of them (dpkg-query(1)).
use color_eyre::eyre::Result;
use mailstead_engine::step::reads;
use mailstead_engine::{Fact, Host};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Packages {
    /// Names whose status is `install ok installed`.
    pub installed: BTreeSet<String>,
}

/// Lines of `dpkg-query -W -f='${Package}\t${Status}\n'`.
pub fn parse(text: &str) -> Packages {
    Packages {
        installed: text
            .lines()
            .filter_map(|l| {
                let (name, status) = l.split_once('\t')?;
                (status.trim() == "install ok installed")
                    .then(|| name.split(':').next().unwrap_or(name).to_string())
            })
            .collect(),
    }
}

impl Packages {
    pub fn has(&self, name: &str) -> bool {
        self.installed.contains(name)
    }
}

impl Fact for Packages {
    const READS: &'static [&'static str] = &[reads::PACKAGES, "/var/lib/dpkg"];
    fn probe(host: &dyn Host) -> Result<Self> {
        Ok(
            match super::probe(host, "dpkg-query", &["-W", "-f=${Package}\t${Status}\n"]) {
                Some(o) if o.success() => parse(&o.stdout),
                _ => Packages::default(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_installed_count() {
        let p = super::parse(
            "postfix\tinstall ok installed\nexim4\tdeinstall ok config-files\nlibc6:amd64\tinstall ok installed\n",
        );
        assert!(p.has("postfix") && p.has("libc6") && !p.has("exim4"));
    }
}
