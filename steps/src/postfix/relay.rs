//! The relay host (smarthost): its `main.cf` settings and its 0600 password map.
use super::paths::{RELAY_PASSWORD_MAP, SYSTEM_CA_FILE};
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::{rules, Answers, IMPLICIT_TLS_PORT};
use mailstead_engine::host::{Cmd, Host};
use mailstead_engine::{Change, Perms};
use std::path::Path;

// ---- relay host (smarthost) -----------------------------------------------------------------
// With `relay_host` in the answers, every outgoing message goes to it, over TLS that must
// encrypt AND verify the relay's certificate against its name, with SMTP AUTH from a 0600
// password map. Without it, the same keys hold Postfix's defaults (what a fresh Debian has), so
// an install without a relay changes nothing here and removing the relay puts them back.
// Sources: postconf(5), Postfix SASL_README ("Enabling SASL authentication in the Postfix SMTP
// client") and TLS_README ("TLS policy table").

/// `relayhost`: `[host]:port` (brackets: no MX lookup), or empty for direct delivery.
pub fn relayhost(a: &Answers) -> String {
    a.relay_host
        .as_ref()
        .map(|r| r.nexthop())
        .unwrap_or_default()
}

/// The main.cf keys of the relay host, always all of them (defaults without a relay).
///
/// - `smtp_sasl_auth_enable`, `smtp_sasl_password_maps`: AUTH with the map's `user:password`
///   for the `[host]:port` key.
/// - `smtp_sasl_security_options = noplaintext, noanonymous` (Postfix's default, written so it
///   cannot drift): outside TLS no password mechanism is ever used;
///   `smtp_sasl_tls_security_options = noanonymous`: inside TLS, PLAIN/LOGIN are allowed (what
///   relays offer), anonymous never.
/// - `smtp_tls_policy_maps`: `secure match=hostname` for the relay's next hop only: TLS is
///   required (no fallback to clear text) and the certificate must chain to a trusted CA and
///   name the host; any other destination keeps `smtp_tls_security_level`.
/// - `smtp_tls_CAfile`: the system bundle as one file, loaded before Debian's smtp chroot
///   (a CApath directory is looked up inside the chroot, where it is missing).
/// - `smtp_tls_wrappermode = yes` for port 465 (implicit TLS, RFC 8314), else STARTTLS.
pub fn relay_settings(a: &Answers) -> Vec<(&'static str, String)> {
    let s = |v: &str| v.to_string();
    match &a.relay_host {
        Some(r) => vec![
            ("smtp_sasl_auth_enable", s("yes")),
            (
                "smtp_sasl_password_maps",
                format!("hash:{RELAY_PASSWORD_MAP}"),
            ),
            ("smtp_sasl_security_options", s("noplaintext, noanonymous")),
            ("smtp_sasl_tls_security_options", s("noanonymous")),
            (
                "smtp_tls_policy_maps",
                format!("inline:{{ {{ {} = secure match=hostname }} }}", r.nexthop()),
            ),
            ("smtp_tls_CAfile", s(SYSTEM_CA_FILE)),
            (
                "smtp_tls_wrappermode",
                s(if r.port == IMPLICIT_TLS_PORT {
                    "yes"
                } else {
                    "no"
                }),
            ),
        ],
        None => vec![
            ("smtp_sasl_auth_enable", s("no")),
            ("smtp_sasl_password_maps", s("")),
            ("smtp_sasl_security_options", s("noplaintext, noanonymous")),
            (
                "smtp_sasl_tls_security_options",
                s("$smtp_sasl_security_options"),
            ),
            ("smtp_tls_policy_maps", s("")),
            ("smtp_tls_CAfile", s("")),
            ("smtp_tls_wrappermode", s("no")),
        ],
    }
}

/// The password map's content: one `[host]:port username:password` line (postconf(5)
/// `smtp_sasl_password_maps`), or `None` without a relay host. Validation refused every value
/// that would break the line ([`rules::relay_username`], [`rules::relay_password`]); this
/// refuses them again with the same rules.
pub fn relay_password_map(a: &Answers) -> Result<Option<Vec<u8>>> {
    let Some(r) = &a.relay_host else {
        return Ok(None);
    };
    let pw = r.password.expose();
    // The answers' own rules, applied again at the point of writing.
    if rules::relay_username("relay_host.username", &r.username).is_err()
        || rules::relay_password("relay_host.password", &r.password).is_err()
    {
        return Err(eyre!(
            "the relay host's username or password cannot be written to {RELAY_PASSWORD_MAP} (empty, a `:` in the username, a line break, or spaces at either end)"
        ));
    }
    Ok(Some(
        format!(
            "# Managed by mailstead from its answers file (relay_host): edits here are overwritten.\n{} {}:{pw}\n",
            r.nexthop(),
            r.username
        )
        .into_bytes(),
    ))
}

/// The changes that put the password map in place (before main.cf names it) or take it away
/// (after main.cf stops naming it): `(before, after)`.
///
/// The map and its `.db` are 0600 root:root. `postmap` runs only when the map changed or the
/// `.db` is missing. The `.db` holds the password too: postmap gives a new one the map's mode
/// (measured in the bed: 0600 from a 0600 map under umask 022), and the `umask 077` and
/// `chmod 0600` around it keep that true whatever an older `.db` or the umask say (`verify`
/// refuses a `.db` others can read). The map is a secret `WriteFile`: plans, diffs and logs
/// never show its content.
pub(super) fn relay_map_changes(
    a: &Answers,
    host: &dyn Host,
) -> Result<(Vec<Change>, Vec<Change>)> {
    let db = format!("{RELAY_PASSWORD_MAP}.db");
    match relay_password_map(a)? {
        Some(content) => Ok((
            vec![
                Change::write_secret(RELAY_PASSWORD_MAP, content, Perms::root(0o600)),
                Change::run_when_changed(
                    format!("postmap {RELAY_PASSWORD_MAP} (0600)"),
                    Cmd::new(
                        "sh",
                        [
                            "-c".to_string(),
                            format!(
                                "umask 077 && postmap hash:{RELAY_PASSWORD_MAP} && chmod 0600 {db}"
                            ),
                        ],
                    )
                    .files_only(),
                    &[&db],
                    &[RELAY_PASSWORD_MAP],
                    &[&db],
                ),
            ],
            vec![],
        )),
        // Only what is there: a server that never had a relay plans no removal.
        None => Ok((
            vec![],
            [RELAY_PASSWORD_MAP, db.as_str()]
                .into_iter()
                .filter(|p| host.exists(Path::new(p)))
                .map(|p| Change::RemoveFile { path: p.into() })
                .collect(),
        )),
    }
}
