//! The answers-editing verbs: add and remove a domain, a mailbox, an alias; hash a password.
//! `mailstead add-*`/`remove-*` and the menu call these, then check the whole result with
//! [`crate::validate`] before anything is saved.
//!
//! Every value goes through its rule in [`crate::rules`] first, under the name the command
//! line shows it by (`NAME`, `ADDRESS`, `FROM`, `TO`, `password`), so a bad value gets the same
//! message here as in the answers file and the wizard. Names are compared without case: the
//! rules allow lowercase only, and this way `Alice@` never becomes a second `alice@`.
// The rules return the Problem itself, and so does `EditError::Rule`; edits run once per
// command, so its size does not matter.
#![allow(clippy::result_large_err)]
use crate::model::{Alias, Answers, Domain, Mailbox, Secret};
use crate::problem::Problem;
use crate::rules;
use sha_crypt::{PasswordHasher, ShaCrypt};
use std::fmt;

/// The scheme prefix Dovecot needs to know how a hash was made (doveadm-pw(1)).
pub const SHA512_CRYPT_SCHEME: &str = "{SHA512-CRYPT}";

/// Why an edit was not made. The answers are unchanged when you hold one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// A value breaks its rule (see [`crate::rules`]); displays as the problem does.
    Rule(Problem),
    /// The edit does not fit the answers: what is added is there already, or what is removed
    /// (or the domain an address belongs to) is not.
    Refused(String),
    /// A password could not be hashed (no randomness for its salt).
    Hash(String),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::Rule(p) => write!(f, "{p}"),
            EditError::Refused(m) | EditError::Hash(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for EditError {}

impl From<Problem> for EditError {
    fn from(p: Problem) -> Self {
        EditError::Rule(p)
    }
}

fn refused(message: String) -> EditError {
    EditError::Refused(message)
}

/// The domain `name` of `a` (compared without case). Error: there is none; the message lists
/// the domains there are.
pub fn find_domain<'a>(a: &'a mut Answers, name: &str) -> Result<&'a mut Domain, EditError> {
    let known: Vec<String> = a.domains.iter().map(|d| d.name.clone()).collect();
    a.domains
        .iter_mut()
        .find(|d| d.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| refused(format!("no domain {name} (domains: {})", known.join(", "))))
}

/// The domain part of `address` (after the last `@`). Error: no `@`, or nothing after it.
pub fn domain_of(address: &str) -> Result<&str, EditError> {
    address
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| {
            refused(format!(
                "{address:?} is not an email address (write it as user@example.test)"
            ))
        })
}

/// The domain `name` of `a` (compared without case), read-only; the error as [`find_domain`].
fn known_domain<'a>(a: &'a Answers, name: &str) -> Result<&'a Domain, EditError> {
    a.domains
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let known: Vec<&str> = a.domains.iter().map(|d| d.name.as_str()).collect();
            refused(format!("no domain {name} (domains: {})", known.join(", ")))
        })
}

/// Whether [`add_domain`] would take `name`, without adding it: the checks a question asks
/// as the value is typed. Errors: `name` breaks [`rules::domain`] (under `NAME`); the domain
/// is configured already.
pub fn check_new_domain(a: &Answers, name: &str) -> Result<(), EditError> {
    rules::domain("NAME", name)?;
    if a.domains.iter().any(|d| d.name.eq_ignore_ascii_case(name)) {
        return Err(refused(format!("domain {name} is already configured")));
    }
    Ok(())
}

/// Whether [`add_mailbox`] would take `address` (its password aside), without adding it.
/// Errors: `address` breaks [`rules::mailbox_address`] (under `ADDRESS`); its domain is not
/// configured; the mailbox exists.
pub fn check_new_mailbox(a: &Answers, address: &str) -> Result<(), EditError> {
    rules::mailbox_address("ADDRESS", address)?;
    let domain = known_domain(a, domain_of(address)?)?;
    if domain
        .mailboxes
        .iter()
        .any(|m| m.address.eq_ignore_ascii_case(address))
    {
        return Err(refused(format!("mailbox {address} already exists")));
    }
    Ok(())
}

/// Whether [`add_alias`] would take `from` (its targets aside), without adding it. Errors:
/// `from` breaks [`rules::mailbox_address`] (under `FROM`); its domain is not configured; the
/// alias exists.
pub fn check_new_alias(a: &Answers, from: &str) -> Result<(), EditError> {
    rules::mailbox_address("FROM", from)?;
    let domain = known_domain(a, domain_of(from)?)?;
    if domain
        .aliases
        .iter()
        .any(|x| x.from.eq_ignore_ascii_case(from))
    {
        return Err(refused(format!(
            "alias {from} already exists (remove it first)"
        )));
    }
    Ok(())
}

/// Add the domain `name` (no mailbox yet, default aliases on). Errors: `name` breaks
/// [`rules::domain`]; the domain is configured already.
pub fn add_domain(a: &mut Answers, name: &str) -> Result<(), EditError> {
    check_new_domain(a, name)?;
    a.domains.push(Domain::new(name));
    Ok(())
}

/// Add the mailbox `address` to its domain, storing only the hash of `password` (see
/// [`hash_password`]). Errors: `address` breaks [`rules::mailbox_address`] or `password`
/// [`rules::password`]; its domain is not configured; the mailbox exists; no randomness.
pub fn add_mailbox(a: &mut Answers, address: &str, password: &Secret) -> Result<(), EditError> {
    check_new_mailbox(a, address)?;
    rules::password("password", password)?;
    let domain = find_domain(a, domain_of(address)?)?;
    // Only the hash is ever written to disk.
    let hash = hash_password(password.expose())?;
    domain.mailboxes.push(Mailbox::with_hash(address, hash));
    Ok(())
}

/// Add the alias `from` → `to` (one address or a comma-separated list) to `from`'s domain.
/// Errors: `from` breaks [`rules::mailbox_address`] or `to` [`rules::alias_targets`]; the
/// domain is not configured; the alias exists. Where the targets lead is checked by
/// [`crate::validate`] on the whole result.
pub fn add_alias(a: &mut Answers, from: &str, to: &str) -> Result<(), EditError> {
    check_new_alias(a, from)?;
    rules::alias_targets("TO", to)?;
    let domain = find_domain(a, domain_of(from)?)?;
    domain.aliases.push(Alias {
        from: from.to_string(),
        to: to.to_string(),
    });
    Ok(())
}

/// Remove the domain `name` with its mailboxes and aliases (from the answers; mail already
/// delivered stays on disk). Errors: `name` breaks [`rules::domain`]; no such domain.
pub fn remove_domain(a: &mut Answers, name: &str) -> Result<(), EditError> {
    rules::domain("NAME", name)?;
    find_domain(a, name)?;
    a.domains.retain(|d| !d.name.eq_ignore_ascii_case(name));
    Ok(())
}

/// Remove the mailbox `address`. Errors: it breaks [`rules::mailbox_address`]; its domain or
/// the mailbox is not there.
pub fn remove_mailbox(a: &mut Answers, address: &str) -> Result<(), EditError> {
    rules::mailbox_address("ADDRESS", address)?;
    let domain = find_domain(a, domain_of(address)?)?;
    let n = domain.mailboxes.len();
    domain
        .mailboxes
        .retain(|m| !m.address.eq_ignore_ascii_case(address));
    if domain.mailboxes.len() == n {
        return Err(refused(format!("no mailbox {address}")));
    }
    Ok(())
}

/// Remove the alias `from`. Errors: it breaks [`rules::mailbox_address`] or
/// [`rules::removable_alias`] (postmaster@ is required); its domain or the alias is not there.
///
/// The kind: a removal the answers would put back is refused rather than reported as done.
/// abuse@ (RFC 2142), which mailstead adds to every domain while its `default_aliases` is on,
/// is refused with that fix; so is any address the defaults still give after the removal.
pub fn remove_alias(a: &mut Answers, from: &str) -> Result<(), EditError> {
    rules::mailbox_address("FROM", from)?;
    rules::removable_alias("FROM", from)?;
    let domain = find_domain(a, domain_of(from)?)?;
    let mut after = domain.clone();
    after.aliases.retain(|x| !x.from.eq_ignore_ascii_case(from));
    let is = |x: &crate::Alias| x.from.eq_ignore_ascii_case(from);
    if after.effective_aliases().iter().any(is) {
        return Err(refused(format!(
            "{from} cannot be removed: mailstead adds it to domain {} by default (RFC 2142 \
             expects abuse@ to exist); fix: set `default_aliases: false` for {} in the answers \
             file (then add the aliases you want), then run `mailstead install`",
            domain.name, domain.name
        )));
    }
    if after.aliases.len() == domain.aliases.len() {
        return Err(refused(format!("no alias {from}")));
    }
    *domain = after;
    Ok(())
}

/// A fresh `{SHA512-CRYPT}$6$salt$hash` of `password` (SHA-crypt with its default 5,000
/// rounds, 96 random bits of salt from `/dev/urandom`), the form Dovecot's passwd-file and
/// [`rules::password_hash`] take. Errors: `/dev/urandom` cannot be read.
pub fn hash_password(password: &str) -> Result<String, EditError> {
    let mut salt = [0u8; 12];
    {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut salt))
            .map_err(|e| {
                EditError::Hash(format!("reading /dev/urandom for a password salt: {e}"))
            })?;
    }
    let h = ShaCrypt::SHA512
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| EditError::Hash(format!("hashing a password: {e}")))?;
    Ok(format!("{SHA512_CRYPT_SCHEME}{}", h.as_str()))
}

/// Replace every mailbox's plaintext `password` by its [`hash_password`], so the answers can
/// be saved holding hashes only. Errors: as [`hash_password`]; mailboxes before the failing
/// one are hashed already.
pub fn hash_passwords(a: &mut Answers) -> Result<(), EditError> {
    for m in a.domains.iter_mut().flat_map(|d| d.mailboxes.iter_mut()) {
        if let Some(pw) = m.password.take() {
            m.password_hash = Some(hash_password(pw.expose())?);
        }
    }
    Ok(())
}

/// Whether `hash` (`{SHA512-CRYPT}$6$…`, `{CRYPT}$6$…` or a bare `$6$…`) is a hash of
/// `password`. Any other scheme, or a malformed hash, is "no".
pub fn verifies(password: &str, hash: &str) -> bool {
    use sha_crypt::{PasswordHashRef, PasswordVerifier};
    let bare = hash
        .strip_prefix(SHA512_CRYPT_SCHEME)
        .or_else(|| hash.strip_prefix("{CRYPT}"))
        .unwrap_or(hash);
    if !bare.starts_with("$6$") {
        return false;
    }
    PasswordHashRef::new(bare)
        .map(|h| {
            ShaCrypt::SHA512
                .verify_password(password.as_bytes(), h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// [`hash_passwords`], but a mailbox whose plaintext `password` verifies against the
/// `password_hash` the same address has in `previous` (the server's answers file) keeps that
/// hash: the same file given twice is the same configuration, not a new salt each time.
/// Errors: as [`hash_password`].
pub fn hash_passwords_reusing(
    a: &mut Answers,
    previous: Option<&Answers>,
) -> Result<(), EditError> {
    for m in a.domains.iter_mut().flat_map(|d| d.mailboxes.iter_mut()) {
        let Some(pw) = m.password.take() else {
            continue;
        };
        let reused = previous
            .into_iter()
            .flat_map(|p| p.all_mailboxes())
            .filter(|old| old.address.eq_ignore_ascii_case(&m.address))
            .filter_map(|old| old.password_hash.as_deref())
            .find(|h| verifies(pw.expose(), h));
        m.password_hash = Some(match reused {
            Some(h) => h.to_string(),
            None => hash_password(pw.expose())?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::validate;

    const PW: &str = "correct horse battery";

    /// Valid answers: one domain with alice@ and an alias info@ → alice@.
    fn answers() -> Answers {
        Answers::new("mail.example.test", "admin@example.test").with_domain(
            Domain::new("example.test")
                .with_mailbox(Mailbox::with_password(
                    "alice@example.test",
                    Secret::new(PW),
                ))
                .with_alias("info@example.test", "alice@example.test"),
        )
    }

    fn refusal(r: Result<(), EditError>) -> String {
        match r {
            Ok(()) => panic!("expected a refusal"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn add_domain_adds_and_refuses() {
        let mut a = answers();
        add_domain(&mut a, "other.test").unwrap();
        assert_eq!(a.domains[1], Domain::new("other.test"));
        assert!(a.domains[1].default_aliases);
        let before = a.clone();
        assert_eq!(
            refusal(add_domain(&mut a, "other.test")),
            "domain other.test is already configured"
        );
        let bad = refusal(add_domain(&mut a, "Bad_Name"));
        assert!(bad.starts_with("NAME: \"Bad_Name\""), "{bad}");
        assert_eq!(a, before, "a refused edit changes nothing");
    }

    #[test]
    fn add_mailbox_stores_a_hash_only() {
        let mut a = answers();
        add_mailbox(&mut a, "bob@example.test", &Secret::new(PW)).unwrap();
        let bob = &a.domains[0].mailboxes[1];
        assert_eq!(bob.address, "bob@example.test");
        assert_eq!(bob.password, None);
        let hash = bob.password_hash.as_deref().unwrap();
        assert!(hash.starts_with("{SHA512-CRYPT}$6$"), "{hash}");
        assert!(rules::password_hash("h", hash).is_ok());
        validate(&a).unwrap();
    }

    #[test]
    fn add_mailbox_refuses() {
        let mut a = answers();
        let before = a.clone();
        let pw = Secret::new(PW);
        assert_eq!(
            refusal(add_mailbox(&mut a, "Alice@example.test", &pw)),
            refusal(Err(rules::mailbox_address("ADDRESS", "Alice@example.test")
                .unwrap_err()
                .into()))
        );
        assert_eq!(
            refusal(add_mailbox(&mut a, "bob@nowhere.test", &pw)),
            "no domain nowhere.test (domains: example.test)"
        );
        assert_eq!(
            refusal(add_mailbox(&mut a, "alice@example.test", &pw)),
            "mailbox alice@example.test already exists"
        );
        let short = refusal(add_mailbox(
            &mut a,
            "bob@example.test",
            &Secret::new("zebra7"),
        ));
        assert!(short.starts_with("password: "), "{short}");
        assert!(
            !short.contains("zebra7"),
            "never shows the password: {short}"
        );
        assert_eq!(a, before);
    }

    #[test]
    fn add_alias_adds_and_refuses() {
        let mut a = answers();
        add_alias(
            &mut a,
            "sales@example.test",
            "alice@example.test, x@elsewhere.test",
        )
        .unwrap();
        assert_eq!(
            a.domains[0].aliases[1].to,
            "alice@example.test, x@elsewhere.test"
        );
        validate(&a).unwrap();
        let before = a.clone();
        assert_eq!(
            refusal(add_alias(&mut a, "info@example.test", "alice@example.test")),
            "alias info@example.test already exists (remove it first)"
        );
        assert!(refusal(add_alias(&mut a, "new@example.test", "")).starts_with("TO: "));
        assert!(refusal(add_alias(&mut a, "a b@example.test", "x@y.test")).starts_with("FROM: "));
        assert_eq!(a, before);
    }

    #[test]
    fn postmaster_cannot_be_removed_explicit_or_default() {
        let mut a = answers();
        add_alias(&mut a, "postmaster@example.test", "bob@example.org").unwrap();
        let before = a.clone();
        let addr = "postmaster@example.test";
        let msg = refusal(remove_alias(&mut a, addr));
        assert!(msg.starts_with("FROM: "), "{msg}");
        assert!(msg.contains(addr), "{msg}");
        assert!(
            msg.contains("postmaster@example.test is required (RFC 5321 §4.5.1"),
            "{msg}"
        );
        assert_eq!(a, before);
        // Not explicit: still refused by the rule, not "no alias".
        let mut a = answers();
        let msg = refusal(remove_alias(&mut a, "postmaster@example.test"));
        assert!(msg.contains("is required"), "{msg}");
        let Err(EditError::Rule(p)) = remove_alias(&mut a, "postmaster@example.test") else {
            panic!()
        };
        assert!(p.fix.contains("change the `to:`"), "{}", p.fix);
    }

    /// The kind: a removal the defaults would put back. abuse@ is added to every domain while
    /// `default_aliases` is on: refused with that fix, explicit or not; with the defaults off,
    /// an explicit abuse@ goes.
    #[test]
    fn abuse_the_defaults_would_put_back_is_refused() {
        let mut a = answers();
        let before = a.clone();
        let msg = refusal(remove_alias(&mut a, "abuse@example.test"));
        assert!(
            msg.contains("adds it to domain example.test by default"),
            "{msg}"
        );
        assert!(msg.contains("default_aliases: false"), "{msg}");
        assert_eq!(a, before);
        add_alias(&mut a, "abuse@example.test", "bob@example.org").unwrap();
        let before = a.clone();
        assert!(refusal(remove_alias(&mut a, "abuse@example.test")).contains("by default"));
        assert_eq!(a, before);
        a.domains[0].default_aliases = false;
        remove_alias(&mut a, "abuse@example.test").unwrap();
        assert!(a.domains[0]
            .aliases
            .iter()
            .all(|x| x.from != "abuse@example.test"));
    }

    #[test]
    fn removes_and_refuses_what_is_not_there() {
        let mut a = answers();
        assert_eq!(
            refusal(remove_alias(&mut a, "nope@example.test")),
            "no alias nope@example.test"
        );
        assert_eq!(
            refusal(remove_mailbox(&mut a, "nope@example.test")),
            "no mailbox nope@example.test"
        );
        assert_eq!(
            refusal(remove_domain(&mut a, "nope.test")),
            "no domain nope.test (domains: example.test)"
        );
        assert!(refusal(remove_mailbox(&mut a, "Bad@example.test")).starts_with("ADDRESS: "));
        assert!(refusal(remove_alias(&mut a, "Bad@example.test")).starts_with("FROM: "));
        assert!(refusal(remove_domain(&mut a, "-bad.test")).starts_with("NAME: "));
        assert_eq!(a, answers());
        remove_alias(&mut a, "info@example.test").unwrap();
        assert!(a.domains[0].aliases.is_empty());
        remove_mailbox(&mut a, "alice@example.test").unwrap();
        assert!(a.domains[0].mailboxes.is_empty());
        remove_domain(&mut a, "example.test").unwrap();
        assert!(a.domains.is_empty());
    }

    #[test]
    fn domain_of_needs_an_at_and_a_domain() {
        assert_eq!(domain_of("a@example.test").unwrap(), "example.test");
        for bad in ["alice", "alice@"] {
            assert_eq!(
                domain_of(bad).unwrap_err().to_string(),
                format!("{bad:?} is not an email address (write it as user@example.test)")
            );
        }
    }

    #[test]
    fn hashes_are_salted_and_replace_passwords() {
        assert_ne!(hash_password(PW).unwrap(), hash_password(PW).unwrap());
        let mut a = answers();
        hash_passwords(&mut a).unwrap();
        let m = &a.domains[0].mailboxes[0];
        assert_eq!(m.password, None);
        assert!(m
            .password_hash
            .as_deref()
            .unwrap()
            .starts_with("{SHA512-CRYPT}$6$"));
        validate(&a).unwrap();
    }

    #[test]
    fn hashing_again_reuses_a_hash_that_verifies() {
        let mut first = answers();
        hash_passwords(&mut first).unwrap();
        let hash = first.domains[0].mailboxes[0].password_hash.clone().unwrap();
        assert!(verifies(PW, &hash));
        assert!(!verifies("another password", &hash));
        let mut again = answers();
        hash_passwords_reusing(&mut again, Some(&first)).unwrap();
        assert_eq!(again, first, "the same plaintext keeps the hash it has");
        let mut changed = answers();
        changed.domains[0].mailboxes[0].password = Some(Secret::new("a different passphrase"));
        hash_passwords_reusing(&mut changed, Some(&first)).unwrap();
        let new = changed.domains[0].mailboxes[0]
            .password_hash
            .clone()
            .unwrap();
        assert_ne!(new, hash);
        assert!(verifies("a different passphrase", &new));
    }

    #[test]
    fn constructors_equal_a_file_with_only_the_required_keys() {
        let text = "hostname: mail.example.test\nadmin_email: admin@example.test\n\
                    domains:\n  - name: example.test\n    mailboxes:\n      - address: alice@example.test\n        password: \"correct horse battery\"\n    aliases:\n      - from: info@example.test\n        to: alice@example.test\n";
        assert_eq!(crate::parse(text, "t.yaml").unwrap(), answers());
    }
}
