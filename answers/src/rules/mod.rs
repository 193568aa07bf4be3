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
use crate::model::{
    RelayHost, Secret, MAX_DNSBL_THRESHOLD, MAX_DNSBL_WEIGHT, MAX_MESSAGES_PER_HOUR, MAX_QUOTA,
    MIN_QUOTA,
};
use crate::problem::Problem;
use crate::shape::show;

pub(crate) type Check = Result<(), (String, String)>;

/// Longest local part (before the `@`): 64 octets, RFC 5321 §4.5.3.1.1.
pub const MAX_LOCAL_PART: usize = 64;
/// Longest domain name: RFC 5321 §4.5.3.1.2 allows 255 octets on the wire, which is 253
/// characters written out (RFC 1035 §2.3.4: two octets go to the first length byte and the root).
pub const MAX_DOMAIN: usize = 253;
/// Longest address: a path (`<local@domain>`) is at most 256 octets, RFC 5321 §4.5.3.1.3, so
/// the address inside the angle brackets is at most 254.
pub const MAX_ADDRESS: usize = 254;

/// A space, tab, line break or other control character: none of the files mailstead writes
/// (Postfix maps and main.cf, Dovecot's passwd-file, sshd drop-ins) can hold one inside a value
/// without it meaning something else (a new line is a new entry, a space ends a map key).
pub(crate) fn has_space_or_control(s: &str) -> bool {
    s.chars().any(|c| c.is_whitespace() || c.is_control())
}

const SPACE_OR_CONTROL: &str = "contains a space, line break or control character";

pub(crate) fn err(msg: impl Into<String>, fix: impl Into<String>) -> Check {
    Err((msg.into(), fix.into()))
}

mod names;
mod secrets;
pub(crate) use names::{
    check_address, check_domain, check_fqdn, check_name, repaired_address, split_targets,
};
pub(crate) use secrets::{check_password, check_password_hash};

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

/// A file path mailstead passes on (`acme.ca_bundle`): absolute, and free of spaces, line
/// breaks and control characters, which would split or end it in the files and command lines
/// it lands in.
pub(crate) fn check_abs_path(p: &str) -> Check {
    let fix = "write the full path, e.g. /root/test-ca.pem";
    if has_space_or_control(p) {
        return err(SPACE_OR_CONTROL, fix);
    }
    if !p.starts_with('/') {
        return err("is not an absolute path", fix);
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

/// An alias address that may be removed: not `postmaster@DOMAIN`, which every mail domain
/// must accept (RFC 5321 §4.5.1; the DMARC and TLS-RPT reports `mailstead dns` publishes go to
/// it). mailstead adds it to the first mailbox when it is no explicit alias, so removing an
/// explicit one only points it back there; pointing it elsewhere is changing its `to`.
pub fn removable_alias(field: &str, value: &str) -> Result<(), Problem> {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return Ok(());
    };
    if !local.eq_ignore_ascii_case("postmaster") {
        return Ok(());
    }
    problem(
        field,
        Some(value),
        Err((
            format!(
                "cannot be removed: postmaster@{domain} is required (RFC 5321 §4.5.1; DMARC and \
                 TLS-RPT reports go to it)"
            ),
            format!(
                "point it elsewhere instead: change the `to:` of alias postmaster@{domain} in the \
                 answers file (or add it there), then run `mailstead install`"
            ),
        )),
    )
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

/// An absolute file path without spaces, line breaks or control characters (`acme.ca_bundle`).
pub fn absolute_path(field: &str, value: &str) -> Result<(), Problem> {
    problem(field, Some(value), check_abs_path(value))
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

/// An alias's targets: one [`address`] or a comma-separated list of them (spaces around the
/// commas ignored), as the answers file's `to` takes them. Each is checked on its own.
pub fn alias_targets(field: &str, value: &str) -> Result<(), Problem> {
    if value.trim().is_empty() {
        return problem(
            field,
            Some(value),
            err(
                "is empty",
                "write one address, or several separated by commas",
            ),
        );
    }
    let targets = split_targets(value);
    let bad: Vec<(&str, (String, String))> = targets
        .iter()
        .filter_map(|t| check_address(t, false).err().map(|e| (*t, e)))
        .collect();
    match bad.as_slice() {
        [] => Ok(()),
        // One target, as the whole value: its own message and fix.
        [(t, e)] if targets.len() == 1 => problem(field, Some(t), Err(e.clone())),
        _ => {
            let message = bad
                .iter()
                .map(|(t, (m, _))| format!("{} {m}", show(t)))
                .collect::<Vec<_>>()
                .join("; ");
            // Every target repaired, when each bad one has a repair: the whole list to write.
            let fixed: Option<Vec<String>> = targets
                .iter()
                .map(|t| match check_address(t, false) {
                    Ok(()) => Some(t.to_string()),
                    Err(_) => repaired_address(t, false),
                })
                .collect();
            let fix = match fixed {
                Some(list) => format!("write them as {}", list.join(", ")),
                None => match bad.as_slice() {
                    [(_, (_, f))] => f.clone(),
                    _ => "write each as user@example.test, separated by commas".to_string(),
                },
            };
            Err(Problem::new(field, message, fix))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// relay_host: sending through a smarthost (see `RelayHost` for the decisions)
// ---------------------------------------------------------------------------------------------

/// Longest relay user name or password: Postfix reads one map line of `user:password`, and
/// SASL PLAIN (RFC 4616) allows 255 octets for each part.
pub const MAX_RELAY_CREDENTIAL: usize = 255;

pub(crate) fn check_relay_host(host: &str) -> Check {
    let fix = "write the relay's DNS name, as its certificate names it, e.g. smtp.relay.example";
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<std::net::IpAddr>().is_ok() {
        return err(
            "is an IP address; the relay's TLS certificate is verified against a host name",
            fix,
        );
    }
    if host.contains(':') {
        return err("contains `:`", "put the port in `port:`, e.g. `port: 587`");
    }
    check_name(host, fix)
}

pub(crate) fn check_relay_port(port: u16) -> Check {
    if port == 0 {
        return err(
            "is 0, which is no port",
            "write 587 (submission, STARTTLS) or 465 (implicit TLS)",
        );
    }
    Ok(())
}

/// The relay login: one word of printable characters, no `:` (the map line is
/// `user:password`, split at the first `:`).
pub(crate) fn check_relay_username(user: &str) -> Check {
    let fix = "write the login your relay provider gave you";
    if user.is_empty() {
        return err(
            "is empty (the relay must require a login: AUTH is how it knows you)",
            fix,
        );
    }
    if has_space_or_control(user) {
        return err(SPACE_OR_CONTROL, fix);
    }
    if user.contains(':') {
        return err(
            "contains `:`, which separates the login from the password in Postfix's password map",
            fix,
        );
    }
    if user.len() > MAX_RELAY_CREDENTIAL {
        return err(format!("is longer than {MAX_RELAY_CREDENTIAL} bytes"), fix);
    }
    Ok(())
}

/// The relay password: the provider's, so no minimum length; one line, no control characters,
/// no spaces at either end (Postfix trims them from a map value).
pub(crate) fn check_relay_password(pw: &Secret) -> Check {
    let s = pw.expose();
    let fix = "write the password your relay provider gave you, in quotes";
    if s.is_empty() {
        return err("is empty", fix);
    }
    if s.chars().any(char::is_control) {
        return err(
            "contains a line break or control character, which would end the line of Postfix's password map",
            fix,
        );
    }
    if s.trim() != s {
        return err(
            "starts or ends with spaces, which Postfix would drop from its password map",
            "remove the spaces inside the quotes",
        );
    }
    if s.len() > MAX_RELAY_CREDENTIAL {
        return err(format!("is longer than {MAX_RELAY_CREDENTIAL} bytes"), fix);
    }
    Ok(())
}

/// `relay_host.host`: a DNS name by the [`hostname`] rules, not an IP address (the relay's
/// certificate is verified against the name: postconf(5) `smtp_tls_security_level = secure`).
pub fn relay_host(field: &str, value: &str) -> Result<(), Problem> {
    problem(field, Some(value), check_relay_host(value))
}

/// `relay_host.port`: 1..=65535; 465 means implicit TLS (RFC 8314), others STARTTLS.
pub fn relay_port(field: &str, value: u16) -> Result<(), Problem> {
    problem(field, Some(&value.to_string()), check_relay_port(value))
}

/// `relay_host.username`: not empty, at most [`MAX_RELAY_CREDENTIAL`] bytes, no space, control
/// character or `:` (smtp_sasl_password_maps values are `username:password`, postconf(5)).
pub fn relay_username(field: &str, value: &str) -> Result<(), Problem> {
    problem(field, Some(value), check_relay_username(value))
}

/// `relay_host.password`: not empty, one line, no spaces at either end, at most
/// [`MAX_RELAY_CREDENTIAL`] bytes. The value is never shown.
pub fn relay_password(field: &str, value: &Secret) -> Result<(), Problem> {
    problem(field, None, check_relay_password(value))
}

/// Every rule of a `relay_host` block, each problem under `path.<key>`.
pub fn relay(path: &str, r: &RelayHost) -> Vec<Problem> {
    [
        relay_host(&format!("{path}.host"), &r.host),
        relay_port(&format!("{path}.port"), r.port),
        relay_username(&format!("{path}.username"), &r.username),
        relay_password(&format!("{path}.password"), &r.password),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect()
}

// quota: mailbox size limits (Dovecot quota plugin, storage limit)

pub(crate) fn check_quota(bytes: u64) -> Check {
    if bytes == 0 || (MIN_QUOTA..=MAX_QUOTA).contains(&bytes) {
        return Ok(());
    }
    Err((
        "bytes is outside 1 MiB .. 64 TiB".to_string(),
        format!(
            "write 0 (unlimited) or a byte count between {MIN_QUOTA} and {MAX_QUOTA}, \
             e.g. 1073741824 (1 GiB)"
        ),
    ))
}

/// `quota` and `domains[].mailboxes[].quota`: a mailbox size limit in bytes, `0` = unlimited,
/// else [`MIN_QUOTA`]..=[`MAX_QUOTA`] (Dovecot quota plugin: a storage limit, which counts
/// the messages' sizes).
pub fn quota(field: &str, bytes: u64) -> Result<(), Problem> {
    problem(field, Some(&bytes.to_string()), check_quota(bytes))
}

pub(crate) fn check_max_messages_per_hour(n: u32) -> Check {
    if n <= MAX_MESSAGES_PER_HOUR {
        return Ok(());
    }
    Err((
        format!("is more than {MAX_MESSAGES_PER_HOUR} messages an hour"),
        "write 0 (no limit) or a count up to 100000, e.g. 200".to_string(),
    ))
}

/// `max_messages_per_hour`: messages an hour a logged-in user may send, `0` = no limit, at
/// most [`MAX_MESSAGES_PER_HOUR`].
pub fn max_messages_per_hour(field: &str, n: u32) -> Result<(), Problem> {
    problem(field, Some(&n.to_string()), check_max_messages_per_hour(n))
}

/// One filter octet of a DNSBL site: `0`..`255`, or `[a..b]` / `[a;b;c]` of such numbers.
fn dnsbl_octet(o: &str) -> bool {
    let num = |n: &str| !n.is_empty() && n.len() <= 3 && n.parse::<u8>().is_ok();
    match o.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        Some(inner) => match inner.split_once("..") {
            Some((a, b)) => num(a) && num(b),
            None => inner.split(';').all(num),
        },
        None => num(o),
    }
}

pub(crate) fn check_postscreen_dnsbl_site(site: &str) -> Check {
    let fix = "write `domain[=filter][*weight]`, e.g. zen.spamhaus.org=127.0.0.[2..11]*3";
    if has_space_or_control(site) {
        return err(SPACE_OR_CONTROL, fix);
    }
    let (rest, weight) = match site.rsplit_once('*') {
        Some((r, w)) => (r, Some(w)),
        None => (site, None),
    };
    if let Some(w) = weight {
        match w.parse::<i32>() {
            Ok(n) if n != 0 && n.abs() <= MAX_DNSBL_WEIGHT => {}
            _ => {
                return err(
                    format!(
                        "has the weight {}, not a whole number from -1000 to 1000 other than 0",
                        show(w)
                    ),
                    fix,
                )
            }
        }
    }
    let (domain, filter) = match rest.split_once('=') {
        Some((d, f)) => (d, Some(f)),
        None => (rest, None),
    };
    if let Err((msg, _)) = check_domain(domain) {
        return err(format!("names a list domain that {msg}"), fix);
    }
    if let Some(f) = filter {
        // Dots inside `[a..b]` belong to the range, not between octets.
        let mut octets = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, c) in f.char_indices() {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                '.' if depth == 0 => {
                    octets.push(&f[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        octets.push(&f[start..]);
        if octets.len() != 4 || !octets.iter().all(|o| dnsbl_octet(o)) {
            return err(
                format!(
                    "has the reply filter {}, not four numbers or [ranges] joined by dots",
                    show(f)
                ),
                fix,
            );
        }
    }
    Ok(())
}

/// `postscreen_dnsbl_sites[i]`: `domain[=filter][*weight]` as Postfix's postscreen_dnsbl_sites
/// (postconf(5)): a [`domain`], an optional reply filter of four octets each a number, a range
/// `[a..b]` or a list `[a;b]`, and an optional non-zero weight from -1000 to 1000 (negative
/// weights are allow lists).
pub fn postscreen_dnsbl_site(field: &str, site: &str) -> Result<(), Problem> {
    problem(field, Some(site), check_postscreen_dnsbl_site(site))
}

pub(crate) fn check_postscreen_dnsbl_threshold(n: u32) -> Check {
    if (1..=MAX_DNSBL_THRESHOLD).contains(&n) {
        return Ok(());
    }
    err(
        "is not from 1 to 1000",
        "write the sum of weights that refuses a client, e.g. 3",
    )
}

/// `postscreen_dnsbl_threshold`: 1 to [`MAX_DNSBL_THRESHOLD`].
pub fn postscreen_dnsbl_threshold(field: &str, n: u32) -> Result<(), Problem> {
    problem(
        field,
        Some(&n.to_string()),
        check_postscreen_dnsbl_threshold(n),
    )
}

/// One IP address, IPv4 (dotted quad) or IPv6 (RFC 4291 §2.2 text forms), as `mailstead
/// unban` takes it: no network (`/24`), no host name, nothing around it. Returns the address.
pub fn ip_address(field: &str, value: &str) -> Result<std::net::IpAddr, Problem> {
    value.parse().map_err(|_| {
        Problem::new(
            field,
            format!("{} is not an IP address", show(value)),
            "give one IPv4 or IPv6 address as `mailstead check` lists it, e.g. 192.0.2.7",
        )
    })
}

pub(crate) fn check_trusted_network(net: &str) -> Check {
    let fix = "write an IPv4 or IPv6 address or a network in CIDR form, e.g. 192.0.2.0/24 or \
               2001:db8::/32";
    let (addr, prefix) = match net.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (net, None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return err("is not an IP address or a CIDR network", fix);
    };
    if let Some(p) = prefix {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        // Digits only: `parse` alone would take `+24`.
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return err("has a prefix length that is not a number", fix);
        }
        if p.parse::<u8>().map_or(true, |n| n > max) {
            return err(format!("has a prefix length over {max}"), fix);
        }
    }
    Ok(())
}

/// `trusted_networks[i]`: one IPv4 or IPv6 address (as [`ip_address`]) or a CIDR network
/// `ADDRESS/PREFIX` (RFC 4632, RFC 4291 §2.3; prefix 0..=32 for IPv4, 0..=128 for IPv6),
/// written into fail2ban's `ignoreip`. Nothing else: no host name (fail2ban would resolve it
/// at every start), no space, no separator that would smuggle a second value in.
pub fn trusted_network(field: &str, value: &str) -> Result<(), Problem> {
    problem(field, Some(value), check_trusted_network(value))
}

#[cfg(test)]
mod ip_tests {
    #[test]
    fn one_ip_address() {
        assert_eq!(
            super::ip_address("ADDRESS", "192.0.2.7")
                .unwrap()
                .to_string(),
            "192.0.2.7"
        );
        assert!(super::ip_address("ADDRESS", "2001:db8::1").is_ok());
        for bad in [
            "",
            " 192.0.2.7",
            "192.0.2.0/24",
            "mail.example.test",
            "192.0.2.7; reboot",
            "1.2.3",
            "256.1.1.1",
        ] {
            let p = super::ip_address("ADDRESS", bad).unwrap_err();
            assert_eq!(p.field, "ADDRESS");
            assert!(p.message.contains("is not an IP address"), "{p}");
            assert!(p.fix.contains("e.g. 192.0.2.7"), "{p}");
        }
    }

    #[test]
    fn trusted_networks_are_addresses_or_cidr_networks() {
        for good in [
            "192.0.2.7",
            "192.0.2.0/24",
            "10.0.0.0/8",
            "0.0.0.0/0",
            "2001:db8::7",
            "2001:db8::/32",
            "::1/128",
        ] {
            assert!(
                super::trusted_network("trusted_networks[0]", good).is_ok(),
                "{good}"
            );
        }
        for (bad, says) in [
            ("", "is not an IP address or a CIDR network"),
            (
                "office.example.test",
                "is not an IP address or a CIDR network",
            ),
            (
                "192.0.2.0/24 10.0.0.1",
                "has a prefix length that is not a number",
            ),
            (
                "192.0.2.7 10.0.0.1",
                "is not an IP address or a CIDR network",
            ),
            ("192.0.2.0/33", "has a prefix length over 32"),
            ("2001:db8::/129", "has a prefix length over 128"),
            ("192.0.2.0/", "has a prefix length that is not a number"),
            ("192.0.2.0/+8", "has a prefix length that is not a number"),
            (
                "192.0.2.0/24\nbantime = 1",
                "has a prefix length that is not a number",
            ),
            ("256.0.0.1", "is not an IP address or a CIDR network"),
            ("192.0.2.*", "is not an IP address or a CIDR network"),
        ] {
            let p = super::trusted_network("trusted_networks[1]", bad).unwrap_err();
            assert_eq!(p.field, "trusted_networks[1]");
            assert!(p.message.contains(says), "{bad}: {p}");
            assert!(p.fix.contains("e.g. 192.0.2.0/24"), "{p}");
        }
    }
}

#[cfg(test)]
mod suggestion_tests {
    use crate::problem::Problem;

    /// The value a fix suggests, when it suggests one (`write it as X`, `write it in
    /// lowercase: X`, `drop the trailing dot: X`, `write them as X`).
    fn suggested(fix: &str) -> Option<&str> {
        [
            "write it as ",
            "write it in lowercase: ",
            "drop the trailing dot: ",
            "write them as ",
        ]
        .iter()
        .find_map(|p| fix.strip_prefix(p))
    }

    /// Names made from good parts with bad pieces put in: every pair of pieces in every spot.
    fn nasty_names() -> Vec<String> {
        let pieces = [
            "", "A", "Mail", "_", "-", ".", "..", " ", "\t", "é", "ü", "1", "xn--", "xn--zz",
            "EXAMPLE", "@", "!", "*", "ß", "Ⅸ", "\u{200b}",
        ];
        let mut out = vec![
            "Mail_1.Example.test".to_string(),
            "MAIL.EXAMPLE.TEST.".into(),
            "Bücher.Example".into(),
            "bücher.example.".into(),
            "mail..Example.test".into(),
            "-Mail.example.test".into(),
            "10.0.0.1".into(),
            "Mail.10".into(),
            "localhost".into(),
            "Localhost.".into(),
            format!("{}.Example.test", "A".repeat(64)),
            format!("{}.test", vec!["A".repeat(63); 4].join(".")),
        ];
        for a in pieces {
            for b in pieces {
                out.push(format!("{a}mail{b}.example.test"));
                out.push(format!("mail.{a}Example{b}.test"));
                out.push(format!("mail.example.{a}test{b}"));
                out.push(format!("{a}{b}"));
            }
        }
        out
    }

    fn nasty_addresses() -> Vec<String> {
        let locals = [
            "alice", "Alice", "ALICE", "a.b", ".a", "a.", "a..b", "a+b", "A+B", "a b", "a_b",
            "A_b", "é", "a:b", "a/b", "", "a@b", "Ä",
        ];
        let mut out = Vec::new();
        for l in locals {
            for d in nasty_names().iter().step_by(7) {
                out.push(format!("{l}@{d}"));
            }
            out.push(l.to_string());
            out.push(format!("{}@example.test", l.repeat(40)));
        }
        out
    }

    /// Whenever a rule's fix suggests a value, that value passes the same rule: a person who
    /// takes the suggestion is never refused for it.
    fn suggestions_pass(
        name: &str,
        rule: impl Fn(&str) -> Result<(), Problem>,
        inputs: &[String],
    ) -> usize {
        let mut suggestions = 0;
        for input in inputs {
            let Err(p) = rule(input) else { continue };
            if let Some(value) = suggested(&p.fix) {
                suggestions += 1;
                assert!(
                    rule(value).is_ok(),
                    "{name}: {input:?} → suggested {value:?}, refused: {}",
                    rule(value).unwrap_err()
                );
            }
        }
        suggestions
    }

    #[test]
    fn every_suggested_value_passes_its_rule() {
        let names = nasty_names();
        let addresses = nasty_addresses();
        let mut targets: Vec<String> = addresses.iter().step_by(3).cloned().collect();
        for pair in addresses.chunks(2).step_by(5) {
            targets.push(pair.join(", "));
            targets.push(format!("ok@example.test,{}", pair.join(",")));
        }
        let n = suggestions_pass("hostname", |v| super::hostname("f", v), &names)
            + suggestions_pass("domain", |v| super::domain("f", v), &names)
            + suggestions_pass("relay_host", |v| super::relay_host("f", v), &names)
            + suggestions_pass(
                "mailbox_address",
                |v| super::mailbox_address("f", v),
                &addresses,
            )
            + suggestions_pass("address", |v| super::address("f", v), &addresses)
            + suggestions_pass("alias_targets", |v| super::alias_targets("f", v), &targets);
        // The table exercises suggestions, not only refusals.
        assert!(n > 100, "only {n} suggestions");
    }

    /// A value's problems come all at once, not one per try.
    #[test]
    fn all_problems_of_a_value_at_once() {
        let p = super::hostname("hostname", "Mail_1.Example.test.").unwrap_err();
        for needle in ["uppercase", "'_'", "ends with a dot"] {
            assert!(p.message.contains(needle), "{needle}: {p}");
        }
        // `_` has no mechanical fix, so no value is suggested (it would be refused).
        assert_eq!(p.fix, "write a name like mail.example.test");
        let p = super::mailbox_address("a", "A+b@Example.test").unwrap_err();
        assert!(p.message.contains("uppercase"), "{p}");
        assert!(p.message.contains("'+'"), "{p}");
        assert!(p.message.contains("bad domain"), "{p}");
        let p = super::hostname("hostname", "Mail.Example.test.").unwrap_err();
        assert_eq!(p.fix, "write it as mail.example.test");
        let p = super::alias_targets("to", "A@Example.test, b@x.test, C@Y.test").unwrap_err();
        assert!(p.message.contains("\"A@Example.test\""), "{p}");
        assert!(p.message.contains("\"C@Y.test\""), "{p}");
        assert_eq!(p.fix, "write them as A@example.test, b@x.test, C@y.test");
    }
}
