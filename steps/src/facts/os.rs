//! `/etc/os-release` (os-release(5)), falling back to `/usr/lib/os-release`.
use color_eyre::eyre::Result;
use mailstead_engine::{Fact, Host};
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsRelease {
    /// `ID` (`debian`); empty when the file is missing.
    pub id: String,
    pub version_id: String,
    pub codename: String,
    pub pretty_name: String,
    /// Neither file exists.
    pub missing: bool,
}

/// `KEY=value` of an os-release file, unquoted.
pub fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches(['"', '\'']).to_string())
    })
}

pub fn parse(text: &str) -> OsRelease {
    let id = field(text, "ID").unwrap_or_default();
    OsRelease {
        pretty_name: field(text, "PRETTY_NAME").unwrap_or_else(|| id.clone()),
        id,
        version_id: field(text, "VERSION_ID").unwrap_or_default(),
        codename: field(text, "VERSION_CODENAME").unwrap_or_default(),
        missing: false,
    }
}

impl OsRelease {
    /// The Debian major release (12 or 13), if this is one mailstead supports.
    pub fn debian_release(&self) -> Option<u32> {
        if self.id != "debian" {
            return None;
        }
        match (self.version_id.as_str(), self.codename.as_str()) {
            ("12", _) | (_, "bookworm") => Some(12),
            ("13", _) | (_, "trixie") => Some(13),
            _ => None,
        }
    }
}

impl Fact for OsRelease {
    const READS: &'static [&'static str] = &["/etc/os-release", "/usr/lib/os-release"];
    fn probe(host: &dyn Host) -> Result<Self> {
        let text = host
            .read_string(Path::new("/etc/os-release"))
            .ok()
            .flatten()
            .or_else(|| {
                host.read_string(Path::new("/usr/lib/os-release"))
                    .ok()
                    .flatten()
            });
        Ok(match text {
            Some(t) => parse(&t),
            None => OsRelease {
                missing: true,
                ..OsRelease::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases() {
        let bookworm = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n";
        assert_eq!(parse(bookworm).debian_release(), Some(12));
        let trixie = "ID=debian\nVERSION_CODENAME=trixie\n";
        assert_eq!(parse(trixie).debian_release(), Some(13));
        let ubuntu = "ID=ubuntu\nVERSION_ID=\"24.04\"\nPRETTY_NAME=\"Ubuntu 24.04\"\n";
        assert_eq!(parse(ubuntu).debian_release(), None);
        assert_eq!(parse(ubuntu).pretty_name, "Ubuntu 24.04");
        assert_eq!(parse("ID=debian\nVERSION_ID=11\n").debian_release(), None);
    }
}
