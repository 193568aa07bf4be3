//! Rules for names: DNS names (host names, domains) and email addresses, every problem of a
//! value at once, and the repaired value suggested only when it passes (RFC 1035 §2.3.1 LDH
//! labels, RFC 5321 §4.5.3.1 lengths).
use super::{
    err, has_space_or_control, Check, MAX_ADDRESS, MAX_DOMAIN, MAX_LOCAL_PART, SPACE_OR_CONTROL,
};
use crate::shape::show;
/// Joins a value's problems into one clause after its quoted value: `a`, `a and b`,
/// `a, b and c`, so a person reads every problem of the value at once.
pub(crate) fn all_of(problems: &[String]) -> String {
    match problems {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Pushes `p` unless it is there already (the same problem in two labels is said once).
fn push_once(problems: &mut Vec<String>, p: String) {
    if !problems.contains(&p) {
        problems.push(p);
    }
}

/// One DNS label's problems: letters, digits, hyphens (not at either end), 1..=63 bytes (LDH
/// rule). Every problem of the label, in a fixed order; empty when it is fine.
pub(crate) fn label_problems(label: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if label.is_empty() {
        problems.push("has an empty label (two dots in a row, or a dot at the start)".into());
        return problems;
    }
    if label.len() > 63 {
        problems.push(format!(
            "has a label longer than 63 characters ({})",
            show(label)
        ));
    }
    if label.chars().any(|c| c.is_ascii_uppercase()) {
        problems.push("has uppercase letters".into());
    }
    let mut bad: Vec<char> = Vec::new();
    for c in label.chars() {
        let ok = c.is_ascii_alphanumeric() || c == '-';
        if !ok && !bad.contains(&c) {
            bad.push(c);
        }
    }
    if !bad.is_empty() {
        let chars: Vec<String> = bad.iter().map(|c| format!("{c:?}")).collect();
        problems.push(format!(
            "contains {}, which a host name cannot",
            all_of(&chars)
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        problems.push(format!(
            "has a label starting or ending with `-` ({})",
            show(label)
        ));
    }
    problems
}

/// A domain name: ≥2 LDH labels, ≤253 characters, lowercase, no trailing dot, not an IP.
pub(crate) fn check_domain(name: &str) -> Check {
    check_name(name, "write a name like example.test")
}

/// A host name for this server: the same rules as a domain.
pub(crate) fn check_fqdn(name: &str) -> Check {
    check_name(name, "write a name like mail.example.test")
}

/// Every problem of a DNS name (see [`check_name`]); empty when it is fine.
pub(crate) fn name_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name.is_empty() {
        problems.push("is empty".to_string());
        return problems;
    }
    if has_space_or_control(name) {
        problems.push(SPACE_OR_CONTROL.to_string());
    }
    if !name.is_ascii() {
        // Internationalised names: Postfix maps, Dovecot and certificates use the ASCII
        // (xn--, RFC 5891) form, so the file must hold that form; the fix names it.
        let idn = idna::domain_to_ascii_strict(name)
            .is_ok_and(|ascii| ascii.is_ascii() && name_problems(&ascii).is_empty());
        problems.push(if idn {
            "is an internationalised name; mail maps, Dovecot and certificates need its ASCII (xn--) form".into()
        } else {
            "has characters that a DNS name cannot have".into()
        });
        return problems;
    }
    let bare = name.trim_end_matches('.');
    if bare.len() != name.len() {
        problems.push("ends with a dot".into());
    }
    if name.len() > MAX_DOMAIN {
        problems.push(format!(
            "is longer than {MAX_DOMAIN} characters (RFC 5321 §4.5.3.1.2)"
        ));
    }
    let labels: Vec<&str> = bare.split('.').collect();
    if labels.len() < 2 {
        problems.push("is not a fully qualified name (needs a dot)".into());
    }
    for label in &labels {
        for p in label_problems(label) {
            // A space is said once, by SPACE_OR_CONTROL.
            if !(p.starts_with("contains ") && has_space_or_control(label)) {
                push_once(&mut problems, p);
            }
        }
    }
    if labels.len() >= 2
        && labels
            .last()
            .is_some_and(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()))
    {
        problems.push("looks like an IP address, not a name".into());
    }
    // An A-label must be valid punycode that decodes to a name IDNA allows, and that is
    // written the way IDNA would write it back (RFC 5891 §5.4).
    for label in labels.iter().filter(|l| l.starts_with("xn--")) {
        let (unicode, ok) = idna::domain_to_unicode(label);
        let round_trip = idna::domain_to_ascii_strict(&unicode);
        if ok.is_err() || round_trip.as_deref().ok() != Some(*label) {
            push_once(
                &mut problems,
                format!(
                    "has an xn-- label that is not valid punycode ({})",
                    show(label)
                ),
            );
        }
    }
    problems
}

/// The name with every mechanical fix applied: its ASCII (xn--) form, lowercase, no trailing
/// dot. What is left wrong after these (an `_`, an empty label) has no mechanical fix.
fn repaired_name(name: &str) -> String {
    let ascii = if name.is_ascii() {
        name.to_string()
    } else {
        idna::domain_to_ascii_strict(name).unwrap_or_else(|_| name.to_string())
    };
    ascii.to_ascii_lowercase().trim_end_matches('.').to_string()
}

/// The fix for a bad name: its repaired form when that passes every rule (named by what was
/// repaired), else the example `fix_ex`. A suggested value is never one the rules refuse.
fn name_fix(name: &str, fix_ex: &str) -> String {
    let fixed = repaired_name(name);
    if fixed == name || !name_problems(&fixed).is_empty() {
        return fix_ex.to_string();
    }
    suggest(name, &fixed)
}

/// The words for suggesting `fixed` instead of `typed`: what the change is, when it is one.
fn suggest(typed: &str, fixed: &str) -> String {
    if !typed.is_ascii() {
        format!("write it as {fixed}")
    } else if typed.to_ascii_lowercase() == fixed {
        format!("write it in lowercase: {fixed}")
    } else if typed.trim_end_matches('.') == fixed {
        format!("drop the trailing dot: {fixed}")
    } else {
        format!("write it as {fixed}")
    }
}

/// A DNS name: ≥2 LDH labels of 1..=63 bytes, ≤253 characters, lowercase, no trailing dot,
/// not an IP address, ASCII (xn-- for internationalised names). Every problem at once; the
/// fix is the repaired name when that passes (see [`name_fix`]), else `fix_ex`.
pub(crate) fn check_name(name: &str, fix_ex: &str) -> Check {
    let problems = name_problems(name);
    if problems.is_empty() {
        return Ok(());
    }
    let fix = if problems.iter().any(|p| p.starts_with("is longer than")) {
        "use a shorter name".to_string()
    } else {
        name_fix(name, fix_ex)
    };
    err(all_of(&problems), fix)
}

/// Every problem of an address (see [`check_address`]); empty when it is fine.
fn address_problems(addr: &str, ours: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let Some((local, domain)) = addr.rsplit_once('@') else {
        problems.push("is not an email address".to_string());
        return problems;
    };
    if local.is_empty() || domain.is_empty() || local.contains('@') {
        problems.push("is not an email address".to_string());
        return problems;
    }
    if has_space_or_control(addr) {
        problems.push(SPACE_OR_CONTROL.to_string());
    }
    if local.len() > MAX_LOCAL_PART {
        problems.push(format!(
            "has a part before @ longer than {MAX_LOCAL_PART} octets (RFC 5321 §4.5.3.1.1)"
        ));
    }
    if addr.len() > MAX_ADDRESS {
        problems.push(format!(
            "is longer than {MAX_ADDRESS} octets, the most an address can be (RFC 5321 §4.5.3.1.3)"
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        problems.push("has a misplaced dot before the @".into());
    }
    let allowed = |c: char| {
        if ours {
            c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)
        } else {
            c.is_ascii_alphanumeric() || "._-+=!#$%&'*?^`{}~".contains(c)
        }
    };
    if ours && local.chars().any(|c| c.is_ascii_uppercase()) {
        problems.push("has uppercase letters".into());
    }
    let mut bad: Vec<char> = Vec::new();
    for c in local.chars() {
        let said_elsewhere = c.is_ascii_uppercase() || c.is_whitespace() || c.is_control();
        if !allowed(c) && !said_elsewhere && !bad.contains(&c) {
            bad.push(c);
        }
    }
    if !bad.is_empty() {
        let chars: Vec<String> = bad.iter().map(|c| format!("{c:?}")).collect();
        problems.push(if ours {
            format!(
                "contains {} (only a-z, 0-9, `.`, `_` and `-` go before the @)",
                all_of(&chars)
            )
        } else {
            format!(
                "contains {}, which mailstead cannot put in a mail map",
                all_of(&chars)
            )
        });
    }
    let domain_problems = name_problems(domain);
    if !domain_problems.is_empty() {
        problems.push(format!("has a bad domain: it {}", all_of(&domain_problems)));
    }
    problems
}

/// An email address. `ours`: an address mailstead creates (mailbox or alias `from`), whose local
/// part becomes map keys, user names and directory names, so only `a-z 0-9 . _ -` are allowed.
/// Otherwise (admin_email, alias targets) the usual unquoted characters, minus those that mean
/// something in Postfix/Dovecot files (`,` `:` `|` `/` `"` `\` spaces). Every problem at once;
/// the fix is the repaired address (lowercase where it must be, the domain repaired as
/// [`check_name`] does) when that passes, else an example.
pub(crate) fn check_address(addr: &str, ours: bool) -> Check {
    let problems = address_problems(addr, ours);
    if problems.is_empty() {
        return Ok(());
    }
    let example = "write it as user@example.test";
    let fix = if problems.iter().any(|p| p.contains("longer than")) {
        "use a shorter address".to_string()
    } else if problems.iter().any(|p| p.contains("misplaced dot")) {
        "dots cannot start, end or double up: a.b@example.test".to_string()
    } else {
        match repaired_address(addr, ours) {
            Some(fixed) => suggest(addr, &fixed),
            None if ours && problems.iter().any(|p| p.starts_with("contains ")) => {
                "use only a-z, 0-9, `.`, `_` and `-` before the @".to_string()
            }
            None => example.to_string(),
        }
    };
    err(all_of(&problems), fix)
}

/// The address with every mechanical fix applied (a lowercase local part where it must be, the
/// domain as [`repaired_name`]), when that differs and passes every rule; `None` otherwise.
pub(crate) fn repaired_address(addr: &str, ours: bool) -> Option<String> {
    let (local, domain) = addr.rsplit_once('@')?;
    let local = if ours {
        local.to_ascii_lowercase()
    } else {
        local.to_string()
    };
    let fixed = format!("{local}@{}", repaired_name(domain));
    (fixed != addr && address_problems(&fixed, ours).is_empty()).then_some(fixed)
}

/// Alias targets: comma-separated, spaces around commas ignored.
pub(crate) fn split_targets(to: &str) -> Vec<&str> {
    to.split(',').map(str::trim).collect()
}
