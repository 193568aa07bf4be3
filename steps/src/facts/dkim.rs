//! DKIM keys on disk and which of them signs: ONE `sh -c` probe that prints the selectors
//! map (`layout::DKIM_SELECTORS_MAP`) and, for each `<domain>.<selector>.key` in
//! `layout::DKIM_KEY_DIR`, its mode, owner and public key (`openssl pkey -pubout -outform
//! DER | base64 -w0`: the `p=` value of the DNS record, RFC 6376 section 3.6.1). The private
//! key never leaves its file: only the public half is printed.
use crate::layout::{DKIM_KEY_DIR, DKIM_SELECTORS_MAP};
use color_eyre::eyre::Result;
use mailstead_engine::{Cmd, Fact, Host};
use std::collections::BTreeMap;

/// Every DKIM key, by domain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DkimKeys {
    /// Keys of each domain, oldest selector first (selectors sort by date: `s20261129` <
    /// `s20261129b` < `s20261130`).
    pub by_domain: BTreeMap<String, Vec<DkimKey>>,
    /// The selectors map as it is: domain → selector (also for domains without a key file).
    pub map: BTreeMap<String, String>,
}

/// One key file, `<domain>.<selector>.key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimKey {
    pub selector: String,
    /// base64 of the DER SubjectPublicKeyInfo: the `p=` value of the DNS record. Empty when
    /// openssl could not read the file.
    pub public_key: String,
    /// The selectors map names this selector for the domain.
    pub signing: bool,
    /// Permission bits (`0o600`).
    pub mode: u32,
    /// `user:group` (`_rspamd:_rspamd`).
    pub owner: String,
}

impl DkimKeys {
    /// The key that signs for `domain` (the map's selector, when its key file exists).
    pub fn signing(&self, domain: &str) -> Option<&DkimKey> {
        self.by_domain.get(domain)?.iter().find(|k| k.signing)
    }

    /// The newest key of `domain` (by selector date).
    pub fn newest(&self, domain: &str) -> Option<&DkimKey> {
        self.by_domain.get(domain)?.last()
    }
}

/// The TXT record value that publishes `public_key` at `<selector>._domainkey.<domain>`
/// (RFC 6376 section 3.6.1: `v=DKIM1`, key type `rsa`, `p=` base64 of the public key).
pub fn dkim_txt(public_key: &str) -> String {
    format!("v=DKIM1; k=rsa; p={public_key}")
}

/// The `p=` tag of a DKIM key record (the public key, base64), as RFC 6376 §3.2 reads a
/// tag-list: `tag = value` pairs split at `;`, whitespace (FWS) allowed around the name, the
/// `=` and the value, and ignored inside the base64 value (§3.6.1). A record pasted in
/// zone-file form (`"v=DKIM1; " "p=..."`) is read as its strings joined. `None`: no `p=` tag;
/// `Some("")`: a revoked key. The one reader of `p=`: `mailstead check` (dns-records) and
/// `mailstead dkim rotate` agree on every record.
pub fn dkim_p(txt: &str) -> Option<String> {
    let joined;
    let txt = if txt.trim_start().starts_with('"') {
        // Zone-file character strings: the text between each pair of quotes.
        joined = txt.split('"').skip(1).step_by(2).collect::<String>();
        joined.as_str()
    } else {
        txt
    };
    txt.split(';').find_map(|spec| {
        let (name, value) = spec.split_once('=')?;
        (name.trim() == "p").then(|| value.chars().filter(|c| !c.is_whitespace()).collect())
    })
}

/// The probe: `map DOMAIN SELECTOR` lines, then `key FILE MODE USER:GROUP PUBKEY` lines.
///
/// The key directory belongs to rspamd's user, not root: a key file is read by `dd` with
/// `nofollow,nonblock` and at most 1 MiB of it (a symbolic link, or a FIFO swapped in after
/// the `-f` test, gives an empty key instead of reading elsewhere or hanging the probe);
/// issue 20, item 1.
const PROBE: &str = r#"map="$1"; dir="$2"
if [ -f "$map" ]; then grep -v '^[[:space:]]*#' "$map" | while read -r d s _; do [ -n "$s" ] && echo "map $d $s"; done; fi
for f in "$dir"/*.key; do
  [ -f "$f" ] || continue
  printf 'key %s %s ' "${f##*/}" "$(stat -c '%a %U:%G' "$f")"
  dd if="$f" iflag=nofollow,nonblock bs=1M count=1 status=none 2>/dev/null | openssl pkey -pubout -outform DER 2>/dev/null | base64 -w0
  echo
done
"#;

/// Parses the probe's output (see [`PROBE`]); lines it does not know are skipped.
pub fn parse(text: &str) -> DkimKeys {
    let mut keys = DkimKeys::default();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.as_slice() {
            ["map", domain, selector] => {
                keys.map.insert(domain.to_string(), selector.to_string());
            }
            ["key", file, mode, owner, rest @ ..] => {
                let Some((domain, selector)) = file
                    .strip_suffix(".key")
                    .and_then(|stem| stem.rsplit_once('.'))
                else {
                    continue;
                };
                let Ok(mode) = u32::from_str_radix(mode, 8) else {
                    continue;
                };
                keys.by_domain
                    .entry(domain.to_string())
                    .or_default()
                    .push(DkimKey {
                        selector: selector.to_string(),
                        public_key: rest.first().map(|s| s.to_string()).unwrap_or_default(),
                        signing: false,
                        mode,
                        owner: owner.to_string(),
                    });
            }
            _ => {}
        }
    }
    for (domain, list) in keys.by_domain.iter_mut() {
        list.sort_by(|a, b| a.selector.cmp(&b.selector));
        if let Some(sel) = keys.map.get(domain) {
            for k in list.iter_mut() {
                k.signing = &k.selector == sel;
            }
        }
    }
    keys
}

impl Fact for DkimKeys {
    const READS: &'static [&'static str] = &[DKIM_KEY_DIR, DKIM_SELECTORS_MAP];
    fn probe(host: &dyn Host) -> Result<Self> {
        let cmd = Cmd::probe("sh", ["-c", PROBE, "sh", DKIM_SELECTORS_MAP, DKIM_KEY_DIR]);
        Ok(match host.run(&cmd) {
            Ok(o) if o.success() => parse(&o.stdout),
            _ => DkimKeys::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from a bookworm bed after an install and a `dkim rotate` phase 1.
    const CAPTURED: &str = "map example.test s20261129\n\
key example.test.s20261129.key 600 _rspamd:_rspamd MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx1\n\
key example.test.s20261129b.key 600 _rspamd:_rspamd MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx2\n\
key other.test.s20261128.key 644 root:root MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx3\n\
key broken.test.s20261128.key 600 _rspamd:_rspamd \n\
key nodots.key 600 _rspamd:_rspamd X\n";

    #[test]
    fn parses_keys_map_and_signing() {
        let k = parse(CAPTURED);
        let ex = &k.by_domain["example.test"];
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].selector, "s20261129");
        assert!(ex[0].signing && !ex[1].signing);
        assert_eq!(ex[0].mode, 0o600);
        assert_eq!(ex[0].owner, "_rspamd:_rspamd");
        assert!(ex[1].public_key.ends_with("Ax2"));
        assert_eq!(k.signing("example.test").unwrap().selector, "s20261129");
        assert_eq!(k.newest("example.test").unwrap().selector, "s20261129b");
        // Not in the map: no key signs.
        assert!(k.signing("other.test").is_none());
        assert_eq!(k.by_domain["other.test"][0].mode, 0o644);
        // Unreadable key: present, with no public part.
        assert_eq!(k.by_domain["broken.test"][0].public_key, "");
        assert!(!k.by_domain.contains_key("nodots"));
    }

    #[test]
    fn txt_record_shape() {
        assert_eq!(dkim_txt("MIIB"), "v=DKIM1; k=rsa; p=MIIB");
    }

    /// The probe itself, run by sh on a real key: the printed public key is the DER SPKI.
    #[test]
    fn probe_script_prints_public_part_only() {
        if std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_err()
        {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("example.test.s20261129.key");
        let st = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
            ])
            .arg("-out")
            .arg(&key)
            .output()
            .unwrap();
        assert!(st.status.success());
        let map = dir.path().join("map");
        std::fs::write(&map, "# comment\nexample.test s20261129\n").unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", PROBE, "sh"])
            .arg(&map)
            .arg(dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains("PRIVATE"), "{text}");
        let k = parse(&text);
        let got = k.signing("example.test").unwrap();
        // DER SPKI of an RSA key starts with SEQUENCE ... rsaEncryption: "MI...".
        assert!(got.public_key.starts_with("MI"), "{text}");
    }

    /// rspamd's user owns the key directory: a symbolic link there is not followed (to a key
    /// root keeps elsewhere), a FIFO does not hang the probe run as root.
    #[test]
    fn probe_script_follows_no_link_and_waits_on_no_fifo() {
        if std::process::Command::new("openssl")
            .arg("version")
            .output()
            .is_err()
        {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("dkim");
        std::fs::create_dir(&keys).unwrap();
        let elsewhere = dir.path().join("root-only.key");
        let made = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
            ])
            .arg("-out")
            .arg(&elsewhere)
            .output()
            .unwrap();
        assert!(made.status.success());
        std::os::unix::fs::symlink(&elsewhere, keys.join("linked.test.s1.key")).unwrap();
        let fifo = std::process::Command::new("mkfifo")
            .arg(keys.join("fifo.test.s1.key"))
            .status()
            .unwrap();
        assert!(fifo.success());
        let out = std::process::Command::new("sh")
            .args(["-c", PROBE, "sh"])
            .arg(dir.path().join("no-map"))
            .arg(&keys)
            .output()
            .unwrap();
        let k = parse(&String::from_utf8(out.stdout).unwrap());
        let linked = k.newest("linked.test").expect("the link is listed");
        assert_eq!(linked.public_key, "", "the link was followed");
        assert!(k.newest("fifo.test").is_none(), "a FIFO is no key file");
    }
}
