//! Rules for secrets: passwords and password hashes (Dovecot's passwd-file schemes).
use super::{err, has_space_or_control, Check, SPACE_OR_CONTROL};
use crate::model::{Secret, MIN_PASSWORD_LEN};
use crate::shape::show;
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

/// `{SHA512-CRYPT}$6$...`, bare `$6$...`, or `{ARGON2ID}$argon2id$...`. The value itself is
/// never quoted back (a hash can be cracked offline), only its scheme.
///
/// The hash lands in `/etc/dovecot/users` as `address:hash`, one account per line, so first
/// anything that would break that line is refused (a line break would add an account, a `:`
/// would start the next field), then the hash is parsed by the crates that know its format:
/// `sha-crypt` (Modular Crypt Format, `rounds=` parameters) and `phc` (the PHC string format
/// Argon2 uses).
pub(crate) fn check_password_hash(h: &str) -> Check {
    let fix = "generate one with `doveadm pw -s SHA512-CRYPT` and paste it whole, e.g. \"{SHA512-CRYPT}$6$salt$hash\"";
    if has_space_or_control(h) {
        return err(
            format!("{SPACE_OR_CONTROL} (in /etc/dovecot/users a line break would start another account)"),
            fix,
        );
    }
    if h.contains(':') {
        return err(
            "contains `:`, which separates the fields of /etc/dovecot/users",
            fix,
        );
    }
    if !h.is_ascii() {
        return err("contains characters that no password hash has", fix);
    }
    // Show only the scheme part (`{MD5}`, `$1$`), never the hash itself.
    let scheme: String = match h.find('}') {
        Some(end) if h.starts_with('{') && end < 24 => h[..=end].to_string(),
        _ => h.chars().take(3).collect(),
    };
    if let Some(phc) = h.strip_prefix("{ARGON2ID}") {
        return if is_argon2id(phc) {
            Ok(())
        } else {
            err(
                "is not a complete Argon2id hash",
                "generate one with `doveadm pw -s ARGON2ID` and paste it whole",
            )
        };
    }
    let mcf = match h.strip_prefix("{SHA512-CRYPT}") {
        Some(rest) => rest,
        None if h.starts_with("$6$") => h,
        None => {
            return err(
                format!(
                    "is not a supported password hash (starts with {})",
                    show(&scheme)
                ),
                fix,
            )
        }
    };
    if is_sha512_crypt(mcf) {
        Ok(())
    } else {
        err(
            "is not a complete SHA512-CRYPT hash ($6$, optional rounds=N$, salt$ and 86 characters)",
            fix,
        )
    }
}

/// `$6$[rounds=N$]salt$hash` as the `sha-crypt` crate reads it: a valid MCF string with id `6`,
/// rounds (if any) in 1,000..=999,999,999, a salt of 1..=16 crypt characters and a hash that
/// decodes to the 64 bytes of SHA-512.
fn is_sha512_crypt(mcf: &str) -> bool {
    use std::str::FromStr;
    let Ok(parsed) = sha_crypt::PasswordHashRef::new(mcf) else {
        return false;
    };
    if parsed.id() != "6" {
        return false;
    }
    let mut fields = parsed.fields();
    let Some(mut next) = fields.next() else {
        return false;
    };
    if next.as_str().starts_with("rounds=") {
        if sha_crypt::Params::from_str(next.as_str()).is_err() {
            return false;
        }
        match fields.next() {
            Some(f) => next = f,
            None => return false,
        }
    }
    let salt = next.as_str();
    if !(1..=16).contains(&salt.len()) || !salt.chars().all(is_crypt_char) {
        return false;
    }
    let Some(hash) = fields.next() else {
        return false;
    };
    let mut buf = [0u8; 64];
    hash.as_str().len() == 86
        && hash.as_str().chars().all(is_crypt_char)
        && hash
            .decode_base64_into(mcf::Base64::Crypt, &mut buf)
            .is_ok_and(|out| out.len() == 64)
        && fields.next().is_none()
}

/// `$argon2id$v=19$m=...,t=...,p=...$salt$hash` as the `phc` crate reads it (the PHC string
/// format): algorithm `argon2id`, a version, exactly the numeric parameters m, t and p, a salt
/// and a hash.
fn is_argon2id(s: &str) -> bool {
    let Ok(parsed) = phc::PasswordHash::new(s) else {
        return false;
    };
    parsed.algorithm.as_str() == "argon2id"
        && parsed.version.is_some()
        && parsed.params.iter().count() == 3
        && ["m", "t", "p"]
            .iter()
            .all(|k| parsed.params.get_decimal(*k).is_some())
        && parsed.salt.is_some()
        && parsed.hash.is_some()
}
