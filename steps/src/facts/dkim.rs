//! DKIM keys on disk and which of them signs: ONE `sh -c` probe that prints the selectors
//! map (`layout::DKIM_SELECTORS_MAP`) and, for each `<domain>.<selector>.key` in
//! `layout::DKIM_KEY_DIR`, its mode and owner; then each key's public half, the `p=` value of
//! the DNS record (RFC 6376 section 3.6.1), derived here ([`super::dkim_public`]) from the
//! file read as an untrusted one (the directory is rspamd's), or for a key that is not RSA by
//! `openssl pkey -pubout -outform DER | base64 -w0`. Only the public half is kept.
use crate::layout::{DKIM_KEY_DIR, DKIM_SELECTORS_MAP};
use color_eyre::eyre::Result;
use mailstead_engine::{Cmd, Fact, Host};
use std::collections::BTreeMap;
use std::path::Path;
use zeroize::Zeroizing;

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
/// `=` and the value, and ignored inside the base64 value (§3.6.1). `None`: no `p=` tag;
/// `Some("")`: a revoked key. The one reader of `p=`, through [`dkim_seen`]: `mailstead
/// check` (dns-records) and `mailstead dkim rotate` agree on every record.
pub fn dkim_p(txt: &str) -> Option<String> {
    txt.split(';').find_map(|spec| {
        let (name, value) = spec.split_once('=')?;
        (name.trim() == "p").then(|| value.chars().filter(|c| !c.is_whitespace()).collect())
    })
}

/// Characters of the base64 `p=` of an RSA-2048 public key (294 bytes of DER
/// SubjectPublicKeyInfo, RFC 4648 §4): the keys `mailstead` makes. A TXT string holds 255
/// (RFC 1035 §3.3.14), so a record cut at one string has a shorter `p=`.
pub const RSA_2048_P_CHARS: usize = 392;

/// A DKIM record in DNS read against the key this server signs with, from the best to the
/// worst of what a record can say (the order `Ord` gives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DkimSeen {
    /// `p=` is the key and the record is plain text: receivers verify.
    Matches,
    /// The key is there (whole, or `truncated`) but the record holds `"` characters: the
    /// zone-file quotes pasted as text. Receivers then read `"v=DKIM1` or `p="MIIB…"` and find
    /// no valid key (RFC 6376 §3.6.1: `p=` is base64).
    Quoted { truncated: bool },
    /// `p=` is the start of the key, `published` of its `want` characters: the record was cut
    /// at 255 characters (one string kept) or its strings were made separate records.
    Truncated { published: usize, want: usize },
    /// Another key; `short`: shorter than this server's key and than an RSA-2048 key's
    /// [`RSA_2048_P_CHARS`] (cut, or an old weaker key).
    Other { published: usize, short: bool },
    /// No `p=` tag at all.
    NoKey,
}

/// How `txt`, one TXT record at the key's name, stands against `public_key` (the `p=` value
/// this server publishes, [`DkimKey::public_key`]). Quotes are read past to tell a quoted
/// copy of the key from another key; `p=` is read by [`dkim_p`].
pub fn dkim_seen(txt: &str, public_key: &str) -> DkimSeen {
    let quoted = txt.contains('"');
    let Some(p) = dkim_p(&txt.replace('"', "")) else {
        return DkimSeen::NoKey;
    };
    let ours = p == public_key;
    let cut = !ours && !p.is_empty() && public_key.starts_with(p.as_str());
    if !(ours || cut) {
        return DkimSeen::Other {
            published: p.len(),
            // An empty `p=` is a revoked key (RFC 6376 §3.6.1), not a cut one.
            short: !p.is_empty() && p.len() < public_key.len() && p.len() < RSA_2048_P_CHARS,
        };
    }
    if quoted {
        DkimSeen::Quoted { truncated: cut }
    } else if ours {
        DkimSeen::Matches
    } else {
        DkimSeen::Truncated {
            published: p.len(),
            want: public_key.len(),
        }
    }
}

/// How to paste a DKIM record, said with every problem [`DkimSeen::problem`] names.
const HOW_TO_PASTE: &str = "publish it as ONE TXT record made of the strings `mailstead dns \
     --format zone` prints (your DNS provider's form may want the value without the quotes, \
     or split into strings of at most 255 characters, all in that one record)";

impl DkimSeen {
    /// What is wrong with the record at `name`, in words, with how to paste it; `None` when
    /// it [`DkimSeen::Matches`]. The text of `mailstead check` (dns-records) and of
    /// `mailstead dkim rotate` waiting for the new key.
    pub fn problem(&self, name: &str) -> Option<String> {
        Some(match *self {
            DkimSeen::Matches => return None,
            DkimSeen::Quoted { truncated } => format!(
                "the DKIM record at {name} holds `\"` characters{}: it was pasted with its \
                 zone-file quotes, which receivers read as part of the record, so they find no \
                 valid key; {HOW_TO_PASTE}",
                if truncated { " and is cut short" } else { "" }
            ),
            DkimSeen::Truncated { published, want } => format!(
                "the DKIM record at {name} is cut: its p= holds the first {published} of the \
                 key's {want} characters (a record longer than 255 characters was cut at one \
                 string, or its strings were published as separate records); {HOW_TO_PASTE}"
            ),
            DkimSeen::Other {
                published,
                short: true,
            } => format!(
                "the DKIM key at {name} does not match this server's private key, and at \
                 {published} characters it is shorter than a 2048-bit key's \
                 {RSA_2048_P_CHARS} (cut, or an older key); {HOW_TO_PASTE}"
            ),
            DkimSeen::Other { .. } => {
                format!("the DKIM key at {name} does not match this server's private key")
            }
            DkimSeen::NoKey => format!("no DKIM record at {name}"),
        })
    }
}

/// The probe: `map DOMAIN SELECTOR` lines, then `key FILE MODE USER:GROUP` lines.
const PROBE: &str = r#"map="$1"; dir="$2"
if [ -f "$map" ]; then grep -v '^[[:space:]]*#' "$map" | while read -r d s _; do [ -n "$s" ] && echo "map $d $s"; done; fi
for f in "$dir"/*.key; do
  [ -f "$f" ] || continue
  printf 'key %s %s\n' "${f##*/}" "$(stat -c '%a %U:%G' "$f")"
done
"#;

/// The public half of the key in `$1` by openssl (a key [`super::dkim_public`] does not read).
/// The key directory belongs to rspamd's user, not root: the file is read by `dd` with
/// `nofollow,nonblock` and at most 1 MiB of it (a symbolic link, or a FIFO swapped in, gives
/// an empty key instead of reading elsewhere or hanging the probe); issue 20, item 1.
const OPENSSL_PUBLIC: &str = r#"dd if="$1" iflag=nofollow,nonblock bs=1M count=1 status=none 2>/dev/null | openssl pkey -pubout -outform DER 2>/dev/null | base64 -w0"#;

/// The `p=` of the key file at `path`; empty when it cannot be read as a key (a symbolic link,
/// not a regular file, damaged).
fn public_key(host: &dyn Host, path: &str) -> String {
    let Ok(Some(pem)) = host.read_untrusted(Path::new(path)) else {
        return String::new();
    };
    let pem = Zeroizing::new(pem);
    if let Some(p) = super::dkim_public::rsa_public_p(&pem) {
        return p;
    }
    match host.run(&Cmd::probe("sh", ["-c", OPENSSL_PUBLIC, "sh", path])) {
        Ok(o) if o.success() => o.stdout.trim().to_string(),
        _ => String::new(),
    }
}

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
        Ok(probe_in(host, DKIM_SELECTORS_MAP, DKIM_KEY_DIR))
    }
}

/// The keys in `dir` and the selectors map at `map`: [`PROBE`], then each public key that
/// the probe did not print, from the file ([`public_key`]).
pub fn probe_in(host: &dyn Host, map: &str, dir: &str) -> DkimKeys {
    let cmd = Cmd::probe("sh", ["-c", PROBE, "sh", map, dir]);
    let mut keys = match host.run(&cmd) {
        Ok(o) if o.success() => parse(&o.stdout),
        _ => DkimKeys::default(),
    };
    for (domain, list) in keys.by_domain.iter_mut() {
        for k in list.iter_mut().filter(|k| k.public_key.is_empty()) {
            k.public_key = public_key(host, &format!("{dir}/{domain}.{}.key", k.selector));
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstead_engine::RealHost;

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

    /// A 2048-bit key's `p=`: 392 characters, the shape of a real one.
    fn key_2048(fill: char) -> String {
        let head = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA";
        let tail = "IDAQAB";
        let body: String =
            std::iter::repeat_n(fill, RSA_2048_P_CHARS - head.len() - tail.len()).collect();
        format!("{head}{body}{tail}")
    }

    /// Each way a published record can stand against the key, and what `check` says of it
    /// (issue 21 item 7: a cut or quoted record is not "another key").
    #[test]
    fn published_records_against_the_key() {
        let k = key_2048('x');
        assert_eq!(k.len(), RSA_2048_P_CHARS);
        let name = "s1._domainkey.example.test";
        // Exact match.
        assert_eq!(dkim_seen(&dkim_txt(&k), &k), DkimSeen::Matches);
        assert_eq!(DkimSeen::Matches.problem(name), None);

        // Cut at 255 characters: one string kept (or the strings made separate records,
        // the first of which is this one).
        let cut = &dkim_txt(&k)[..255];
        let seen = dkim_seen(cut, &k);
        assert_eq!(
            seen,
            DkimSeen::Truncated {
                published: 255 - "v=DKIM1; k=rsa; p=".len(),
                want: RSA_2048_P_CHARS
            }
        );
        let said = seen.problem(name).unwrap();
        assert!(
            said.starts_with(&format!(
                "the DKIM record at {name} is cut: its p= holds the first 237 of the key's 392 characters"
            )) && said.contains("ONE TXT record made of the strings `mailstead dns --format zone` prints")
                && !said.contains("does not match"),
            "{said}"
        );

        // Pasted with its zone-file quotes, whole or cut.
        let quoted = format!("\"v=DKIM1; k=rsa; \" \"p={}\" \"{}\"", &k[..200], &k[200..]);
        let seen = dkim_seen(&quoted, &k);
        assert_eq!(seen, DkimSeen::Quoted { truncated: false });
        let said = seen.problem(name).unwrap();
        assert!(
            said.starts_with(&format!("the DKIM record at {name} holds `\"` characters:"))
                && said.contains("without the quotes")
                && !said.contains("does not match"),
            "{said}"
        );
        let quoted_cut = format!("v=DKIM1; k=rsa; p=\"{}\"", &k[..200]);
        assert_eq!(
            dkim_seen(&quoted_cut, &k),
            DkimSeen::Quoted { truncated: true }
        );
        assert!(DkimSeen::Quoted { truncated: true }
            .problem(name)
            .unwrap()
            .contains("characters and is cut short"));

        // Another key, as long as ours: only "does not match".
        let other = key_2048('y');
        let seen = dkim_seen(&dkim_txt(&other), &k);
        assert_eq!(
            seen,
            DkimSeen::Other {
                published: RSA_2048_P_CHARS,
                short: false
            }
        );
        assert_eq!(
            seen.problem(name).unwrap(),
            format!("the DKIM key at {name} does not match this server's private key")
        );
        // Another key, shorter than a 2048-bit one (cut, or an old 1024-bit key).
        let seen = dkim_seen(&dkim_txt(&other[..216]), &k);
        assert_eq!(
            seen,
            DkimSeen::Other {
                published: 216,
                short: true
            }
        );
        assert!(seen
            .problem(name)
            .unwrap()
            .contains("at 216 characters it is shorter than a 2048-bit key's 392"));
        // A revoked key is another key, not a cut one; no `p=` is no key.
        assert_eq!(
            dkim_seen("v=DKIM1; p=", &k),
            DkimSeen::Other {
                published: 0,
                short: false
            }
        );
        assert_eq!(dkim_seen("v=spf1 mx -all", &k), DkimSeen::NoKey);
        // The best record at a name wins: ours among others passes.
        assert!(DkimSeen::Matches < DkimSeen::Quoted { truncated: false });
        assert!(
            DkimSeen::Truncated {
                published: 1,
                want: 2
            } < DkimSeen::Other {
                published: 1,
                short: true
            }
        );
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
        assert!(!text.contains("PRIVATE") && !text.contains("MI"), "{text}");
        let host = RealHost::new(Path::new("/"));
        let k = probe_in(&host, path(&map), path(dir.path()));
        let got = k.signing("example.test").unwrap();
        let openssl = std::process::Command::new("sh")
            .args(["-c", OPENSSL_PUBLIC, "sh"])
            .arg(&key)
            .output()
            .unwrap();
        let want = String::from_utf8(openssl.stdout).unwrap();
        // DER SPKI of an RSA key starts with SEQUENCE ... rsaEncryption: "MI...".
        assert!(want.starts_with("MI"), "{want}");
        assert_eq!(got.public_key, want.trim());
        // A key this process does not read (Ed25519): openssl's answer.
        let ed = dir.path().join("ed.test.s20261129.key");
        std::fs::write(&ed, include_str!("testdata/dkim-ed25519.key")).unwrap();
        let k = probe_in(&host, path(&map), path(dir.path()));
        assert_eq!(
            k.newest("ed.test").unwrap().public_key,
            include_str!("testdata/dkim-ed25519.p")
        );
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
        let host = RealHost::new(Path::new("/"));
        let k = probe_in(&host, path(&dir.path().join("no-map")), path(&keys));
        let linked = k.newest("linked.test").expect("the link is listed");
        assert_eq!(linked.public_key, "", "the link was followed");
        assert!(k.newest("fifo.test").is_none(), "a FIFO is no key file");
        // Nor when asked for it by name.
        let fifo = keys.join("fifo.test.s1.key");
        assert_eq!(public_key(&host, path(&fifo)), "");
    }

    fn path(p: &Path) -> &str {
        p.to_str().unwrap()
    }
}
