//! The rules for single values: the ONE copy. The answers file ([`crate::validate`]), the
//! wizard, the menu, `add-*` (arguments and `--password-stdin`) and preflight all call the
//! public functions here, so the same bad value gets the same message everywhere.
//!
//! Each public rule takes the field name it reports under (`hostname`,
//! `domains[0].mailboxes[1].address`, or a CLI argument like `ADDRESS`) and returns a
//! [`Problem`] naming the field, the value (never a secret's) and the fix.
// The rules return the Problem itself (its Display is the message everyone prints); they run
// once per typed value, so its size does not matter.
#![allow(clippy::result_large_err)]
use crate::shape::*;
use crate::*;

pub(crate) type Check = Result<(), (String, String)>;

pub(crate) fn err(msg: impl Into<String>, fix: impl Into<String>) -> Check {
    Err((msg.into(), fix.into()))
}

/// One DNS label: letters, digits, hyphens (not at either end), 1..=63 bytes (LDH rule).
pub(crate) fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("has an empty label (two dots in a row, or a dot at the start)".into());
    }
    if label.len() > 63 {
        return Err(format!(
            "has a label longer than 63 characters ({})",
            show(label)
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(if c.is_ascii_uppercase() {
            "has uppercase letters".into()
        } else {
            format!("contains {c:?}, which a host name cannot")
        });
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!(
            "has a label starting or ending with `-` ({})",
            show(label)
        ));
    }
    Ok(())
}

/// A domain name: ≥2 LDH labels, ≤253 characters, lowercase, no trailing dot, not an IP.
pub(crate) fn check_domain(name: &str) -> Check {
    check_name(name, "write a name like example.test")
}

/// A host name for this server: the same rules as a domain.
pub(crate) fn check_fqdn(name: &str) -> Check {
    check_name(name, "write a name like mail.example.test")
}

pub(crate) fn check_name(name: &str, fix_ex: &str) -> Check {
    if name.is_empty() {
        return err("is empty", fix_ex);
    }
    if name.ends_with('.') {
        return err("ends with a dot", "drop the trailing dot");
    }
    if name.len() > 253 {
        return err("is longer than 253 characters", "use a shorter name");
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return err("is not a fully qualified name (needs a dot)", fix_ex);
    }
    for label in &labels {
        if let Err(m) = check_label(label) {
            let fix = if m.contains("uppercase") {
                format!("write it in lowercase: {}", name.to_lowercase())
            } else {
                fix_ex.to_string()
            };
            return err(m, fix);
        }
    }
    if labels
        .last()
        .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()))
    {
        return err("looks like an IP address, not a name", fix_ex);
    }
    Ok(())
}

/// An email address. `ours`: an address mailstead creates (mailbox or alias `from`), whose local
/// part becomes map keys, user names and directory names, so only `a-z 0-9 . _ -` are allowed.
/// Otherwise (admin_email, alias targets) the usual unquoted characters, minus those that mean
/// something in Postfix/Dovecot files (`,` `:` `|` `/` `"` `\` spaces).
pub(crate) fn check_address(addr: &str, ours: bool) -> Check {
    let fix = "write it as user@example.test";
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return err("is not an email address", fix);
    };
    if local.is_empty() || domain.is_empty() || local.contains('@') {
        return err("is not an email address", fix);
    }
    if local.len() > 64 {
        return err(
            "has a part before @ longer than 64 characters",
            "use a shorter name",
        );
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return err(
            "has a misplaced dot before the @",
            "dots cannot start, end or double up: a.b@example.test",
        );
    }
    let allowed = |c: char| {
        if ours {
            c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)
        } else {
            c.is_ascii_alphanumeric() || "._-+=!#$%&'*?^`{}~".contains(c)
        }
    };
    if let Some(c) = local.chars().find(|c| !allowed(*c)) {
        return if c.is_ascii_uppercase() {
            err(
                "has uppercase letters",
                format!("write it in lowercase: {}", addr.to_lowercase()),
            )
        } else if ours {
            err(
                format!("contains {c:?}"),
                "use only a-z, 0-9, `.`, `_` and `-` before the @",
            )
        } else {
            err(
                format!("contains {c:?}, which mailstead cannot put in a mail map"),
                fix,
            )
        };
    }
    check_domain(domain).map_err(|(m, f)| (format!("has a bad domain: it {m}"), f))
}

/// Alias targets: comma-separated, spaces around commas ignored.
pub(crate) fn split_targets(to: &str) -> Vec<&str> {
    to.split(',').map(str::trim).collect()
}

pub(crate) fn check_password(pw: &Secret) -> Check {
    let s = pw.expose();
    let n = s.chars().count();
    if n < MIN_PASSWORD_LEN {
        return err(
            format!("is too short ({n} characters, at least {MIN_PASSWORD_LEN} needed: mail logins face the internet and are guessed by bots all day)"),
            "use a longer passphrase, e.g. four random words",
        );
    }
    if s.chars().any(char::is_control) {
        return err(
            "contains a line break or control character",
            "use a single line of printable characters",
        );
    }
    if s.trim() != s {
        return err(
            "starts or ends with spaces, which would be part of the password",
            "remove the spaces inside the quotes",
        );
    }
    Ok(())
}

pub(crate) fn is_crypt_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '/'
}

pub(crate) fn is_b64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '+' || c == '/'
}

/// `{SHA512-CRYPT}$6$...`, bare `$6$...`, or `{ARGON2ID}$argon2id$...`. The value itself is
/// never quoted back (a hash can be cracked offline), only its scheme.
pub(crate) fn check_password_hash(h: &str) -> Check {
    let fix = "generate one with `doveadm pw -s SHA512-CRYPT` and paste it whole, e.g. \"{SHA512-CRYPT}$6$salt$hash\"";
    // Show only the scheme part (`{MD5}`, `$1$`), never the hash itself.
    let scheme: String = match h.find('}') {
        Some(end) if h.starts_with('{') && end < 24 => h[..=end].to_string(),
        _ => h.chars().take(3).collect(),
    };
    let bad = || {
        err(
            format!(
                "is not a supported password hash (starts with {})",
                show(&scheme)
            ),
            fix,
        )
    };
    if let Some(rest) = h.strip_prefix("{ARGON2ID}$argon2id$") {
        let parts: Vec<&str> = rest.split('$').collect();
        let ok = parts.len() == 4
            && parts[0].starts_with("v=")
            && ["m=", "t=", "p="].iter().all(|k| parts[1].contains(k))
            && [parts[2], parts[3]]
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(is_b64_char));
        return if ok {
            Ok(())
        } else {
            err(
                "is not a complete Argon2id hash",
                "generate one with `doveadm pw -s ARGON2ID` and paste it whole",
            )
        };
    }
    let Some(rest) = h
        .strip_prefix("{SHA512-CRYPT}$6$")
        .or_else(|| h.strip_prefix("$6$"))
    else {
        return bad();
    };
    let mut parts: Vec<&str> = rest.split('$').collect();
    if parts.first().is_some_and(|p| p.starts_with("rounds=")) {
        parts.remove(0);
    }
    let ok = parts.len() == 2
        && (1..=16).contains(&parts[0].len())
        && parts[0].chars().all(is_crypt_char)
        && parts[1].len() == 86
        && parts[1].chars().all(is_crypt_char);
    if ok {
        Ok(())
    } else {
        err(
            "is not a complete SHA512-CRYPT hash ($6$salt$ and 86 characters)",
            fix,
        )
    }
}

pub(crate) fn check_https_url(text: &str) -> Check {
    let fix = "write the ACME directory URL with https://, e.g. https://acme.example/dir";
    let parsed = url::Url::parse(text);
    let scheme = match &parsed {
        Ok(u) => u.scheme().to_string(),
        // Unparsable: judge the scheme as written, so `http://` still hears "not https".
        Err(_) => text
            .split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default(),
    };
    // The url crate forgives what the ACME client may not: it reads `https:host` as
    // `https://host` and `https:///dir` as host `dir`, and drops tabs and newlines silently.
    // The text must already be what it means: `https://`, a host, no whitespace or control.
    let prefix = text.get(..8).filter(|p| p.eq_ignore_ascii_case("https://"));
    match scheme.as_str() {
        "https" if prefix.is_some() => {}
        "http" => return err("is not https (ACME servers must be reached over TLS)", fix),
        _ => return err("is not an https:// URL", fix),
    }
    let host = parsed.as_ref().ok().and_then(|u| u.host_str());
    if text[8..].starts_with(['/', '\\'])
        || host.is_none_or(str::is_empty)
        || text.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return err("is not a valid URL", fix);
    }
    Ok(())
}

/// Debian's default NAME_REGEX: `^[a-z][-a-z0-9_]*$`, plus leading `_` (system users), ≤32.
pub(crate) fn is_unix_user(u: &str) -> bool {
    let mut chars = u.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && u.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

// ---------------------------------------------------------------------------------------------
// The public rules
// ---------------------------------------------------------------------------------------------

fn problem(field: &str, value: Option<&str>, check: Check) -> Result<(), Problem> {
    check.map_err(|(msg, fix)| match value {
        Some(v) => Problem::new(field, format!("{} {msg}", show(v)), fix),
        None => Problem::new(field, msg, fix),
    })
}

/// This server's host name: a fully qualified DNS name (RFC 1035 LDH labels of 1..=63
/// bytes, at least two labels, at most 253 characters), lowercase, no trailing dot, not an
/// IP address. Postfix's `myhostname` and the certificate name.
pub fn hostname(field: &str, value: &str) -> Result<(), Problem> {
    problem(field, Some(value), check_fqdn(value))
}

/// A mail domain: the same DNS name rules as [`hostname`].
pub fn domain(field: &str, value: &str) -> Result<(), Problem> {
    problem(field, Some(value), check_domain(value))
}

/// An address mailstead creates (a mailbox, an alias `from`): local part of `a-z 0-9 . _ -`
/// (it becomes a Postfix map key, a Dovecot user name and a directory name), at most 64
/// characters (RFC 5321 §4.5.3.1.1), then `@` and a [`domain`].
pub fn mailbox_address(field: &str, value: &str) -> Result<(), Problem> {
    problem(field, Some(value), check_address(value, true))
}

/// Any ordinary address (`admin_email`, alias targets): RFC 5322 atext in the local part,
/// minus the characters that mean something in Postfix and Dovecot files.
pub fn address(field: &str, value: &str) -> Result<(), Problem> {
    problem(field, Some(value), check_address(value, false))
}

/// A plain password: at least [`MIN_PASSWORD_LEN`] characters, one line, no control
/// characters, no spaces at either end. The value is never shown.
pub fn password(field: &str, value: &Secret) -> Result<(), Problem> {
    problem(field, None, check_password(value))
}

/// A password hash Dovecot verifies: `{SHA512-CRYPT}$6$...` (or bare `$6$...`) or
/// `{ARGON2ID}$argon2id$...` (Dovecot's password schemes). Only its scheme is ever shown.
pub fn password_hash(field: &str, value: &str) -> Result<(), Problem> {
    problem(field, None, check_password_hash(value))
}

/// An `https://` URL with a host (an ACME directory; RFC 8555 requires TLS).
pub fn https_url(field: &str, value: &str) -> Result<(), Problem> {
    problem(field, Some(value), check_https_url(value))
}

/// A Unix user name as Debian's `adduser` accepts it (`NAME_REGEX`
/// `^[a-z][-a-z0-9_]*$`, or a leading `_`), at most 32 characters.
pub fn unix_user(field: &str, value: &str) -> Result<(), Problem> {
    let ok = is_unix_user(value);
    problem(
        field,
        Some(value),
        if ok {
            Ok(())
        } else {
            err(
                "is not a valid user name",
                "use lowercase letters, digits, `_` and `-`, starting with a letter or `_` (at most 32)",
            )
        },
    )
}
