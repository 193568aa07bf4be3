//! The first-run questions. inquire draws on stderr and reads keys through crossterm, which uses
//! stdin when it is a terminal and opens /dev/tty otherwise, so the wizard works under
//! `curl … | sh` (stdin a pipe) as long as the session has a terminal. Without one it says so
//! ([`WizardError::NotTty`]) instead of hanging.
use super::out;
use inquire::validator::Validation;
use inquire::{Confirm, InquireError, Password, PasswordDisplayMode, Select, Text};
use mailstead_answers::{Acme, Answers, Domain, Mailbox, RelayHost};
use mailstead_engine::Secret;
use std::fmt;

pub use mailstead_answers::LETSENCRYPT_PRODUCTION as LETS_ENCRYPT;

#[derive(Debug)]
pub enum WizardError {
    /// No terminal to ask on (exit 2): use an answers file.
    NotTty(String),
    /// Esc: the admin backed out (exit 2, nothing changed).
    Canceled,
    /// Ctrl-C (exit 4).
    Interrupted,
    Other(String),
}

impl WizardError {
    /// The CLI's exit code for this error.
    pub fn exit_code(&self) -> i32 {
        use crate::exit;
        match self {
            WizardError::Interrupted => exit::INTERRUPTED,
            _ => exit::BAD_INPUT,
        }
    }
}

impl fmt::Display for WizardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WizardError::NotTty(why) => write!(
                f,
                "no terminal to ask on ({why}); write an answers file and run `mailstead install --config FILE --yes`"
            ),
            WizardError::Canceled => f.write_str("canceled; nothing was changed"),
            WizardError::Interrupted => f.write_str("interrupted; nothing was changed"),
            WizardError::Other(e) => write!(f, "the prompt failed: {e}"),
        }
    }
}

impl std::error::Error for WizardError {}

impl From<InquireError> for WizardError {
    fn from(e: InquireError) -> Self {
        match e {
            InquireError::NotTTY => WizardError::NotTty("the input is not a terminal".into()),
            InquireError::OperationCanceled => WizardError::Canceled,
            InquireError::OperationInterrupted => WizardError::Interrupted,
            other => WizardError::Other(other.to_string()),
        }
    }
}

pub(crate) use mailstead_answers::rules as input_rules;

/// A rule's answer as an inquire validator wants it.
pub(crate) fn rule_message(r: Result<(), mailstead_answers::Problem>) -> Result<(), String> {
    r.map_err(|p| p.to_string())
}

/// Fails early, with the reason, when there is no one to ask.
pub(crate) fn need_terminal() -> Result<(), WizardError> {
    super::can_prompt().map_err(WizardError::NotTty)
}

// ---- validation (pure) ----
// Field by field, as typed, with the ONE copy of the rules (`mailstead_answers::rules`), each
// under the answers-file field it fills; `mailstead_answers::validate` has the last word on the
// whole answers before the wizard returns them.
use mailstead_answers::rules;

fn rule(r: Result<(), mailstead_answers::Problem>) -> Result<(), String> {
    r.map_err(|p| p.to_string())
}

/// The server's own name, fully qualified (`mail.example.org`).
pub fn check_fqdn(s: &str) -> Result<(), String> {
    rule(rules::hostname("hostname", s))
}

/// A mail domain (`example.org`).
pub fn check_domain(s: &str) -> Result<(), String> {
    rule(rules::domain("domains[0].name", s))
}

/// The admin's address: any ordinary address.
pub fn check_email(s: &str) -> Result<(), String> {
    rule(rules::address("admin_email", s))
}

/// An address in one of `domains` (any domain when the list is empty).
/// `field`: what the admin knows the value as (`ADDRESS`, or the answers-file path).
pub fn check_address_in(field: &str, s: &str, domains: &[String]) -> Result<(), String> {
    rule(rules::mailbox_address(field, s))?;
    let domain = s.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    if !domains.is_empty() && !domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return Err(format!(
            "{domain} is not a domain of this server (it has: {})",
            domains.join(", ")
        ));
    }
    Ok(())
}

/// `alice` becomes `alice@<domain>` when there is a single domain to put it in.
pub fn complete_address(s: &str, domains: &[String]) -> String {
    let s = s.trim().to_ascii_lowercase();
    match domains {
        [only] if !s.contains('@') && !s.is_empty() => format!("{s}@{only}"),
        _ => s,
    }
}

/// A mailbox password (the answers file's `password` rule; never shown).
pub fn check_password(p: &str) -> Result<(), String> {
    rule(rules::password("password", &Secret::new(p)))
}

/// An ACME directory URL.
pub fn check_acme_url(s: &str) -> Result<(), String> {
    rule(rules::https_url("acme.server", s))
}

/// `relay_host.host`: the relay's DNS name (not an IP: its certificate is checked against it).
pub fn check_relay_host(s: &str) -> Result<(), String> {
    rule(rules::relay_host("relay_host.host", s))
}

/// `relay_host.port` as typed: a number 1..=65535.
pub fn parse_relay_port(s: &str) -> Result<u16, String> {
    let port: u16 = s.trim().parse().map_err(|_| {
        format!(
            "relay_host.port: {s:?} is not a port number (write 587 for STARTTLS or 465 for implicit TLS)"
        )
    })?;
    rule(rules::relay_port("relay_host.port", port))?;
    Ok(port)
}

/// `relay_host.username`: the login the relay provider gave.
pub fn check_relay_username(s: &str) -> Result<(), String> {
    rule(rules::relay_username("relay_host.username", s))
}

/// `relay_host.password` (never shown).
pub fn check_relay_password(p: &str) -> Result<(), String> {
    rule(rules::relay_password(
        "relay_host.password",
        &Secret::new(p),
    ))
}

/// Login names, separated by commas or spaces.
pub fn parse_users(s: &str) -> Result<Vec<String>, String> {
    let users: Vec<String> = s
        .split([',', ' '])
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(String::from)
        .collect();
    if users.is_empty() {
        return Err("name at least one user, or you lock yourself out of SSH".into());
    }
    for (i, u) in users.iter().enumerate() {
        rule(rules::unix_user(&format!("ssh.allow_users[{i}]"), u))?;
    }
    Ok(users)
}

/// Who runs mailstead (the sudo caller when run through sudo).
pub fn invoking_user() -> String {
    for var in ["SUDO_USER", "USER", "LOGNAME"] {
        if let Ok(u) = std::env::var(var) {
            if !u.is_empty() {
                return u;
            }
        }
    }
    "root".into()
}

fn system_fqdn() -> Option<String> {
    let out = std::process::Command::new("hostname")
        .arg("--fqdn")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let name = String::from_utf8_lossy(&out.stdout)
        .trim()
        .to_ascii_lowercase();
    check_fqdn(&name).ok().map(|_| name)
}

/// `mail.example.org` → `example.org`.
pub fn domain_of(hostname: &str) -> Option<String> {
    let (_, rest) = hostname.split_once('.')?;
    check_domain(rest).ok().map(|_| rest.to_string())
}

fn validator(
    check: impl Fn(&str) -> Result<(), String> + Clone + 'static,
) -> impl Fn(&str) -> Result<Validation, inquire::CustomUserError> + Clone + 'static {
    move |s: &str| {
        Ok(match check(s.trim()) {
            Ok(()) => Validation::Valid,
            Err(e) => Validation::Invalid(e.into()),
        })
    }
}

fn text(
    message: &str,
    help: &str,
    default: Option<&str>,
    check: impl Fn(&str) -> Result<(), String> + Clone + 'static,
) -> Result<String, WizardError> {
    let mut t = Text::new(message)
        .with_help_message(help)
        .with_validator(validator(check));
    if let Some(d) = default.filter(|d| !d.is_empty()) {
        t = t.with_default(d);
    }
    Ok(t.prompt()?.trim().to_string())
}

/// A new password for `address`, typed twice, never shown.
pub fn ask_password(address: &str) -> Result<Secret, WizardError> {
    need_terminal()?;
    let message = format!("Password for {address}:");
    let p = Password::new(&message)
        .with_display_mode(PasswordDisplayMode::Hidden)
        .with_custom_confirmation_message("Type it again:")
        .with_custom_confirmation_error_message("The two do not match; once more.")
        .with_help_message("not shown while you type")
        .with_validator(validator(check_password))
        .prompt()?;
    Ok(Secret::new(p))
}

/// Whether outbound port 25 is blocked here: `Some(why)` when it is (the relay question is
/// asked, with the reason), `None` when mail can go out directly or it could not be told (the
/// question is skipped; `relay_host` stays settable in the answers file). Called when the
/// wizard reaches the question, so the probe may run while the first questions are answered.
pub type Outbound25<'a> = &'a mut dyn FnMut() -> Option<String>;

/// Asks for the answers, each checked as it is typed, then all together by
/// `config::validate`. `defaults` (a previous answers file) fills in the suggestions and keeps
/// what the wizard does not ask about. Esc goes back one question; at the first one it asks
/// whether to quit.
pub fn run_wizard(
    defaults: Option<&Answers>,
    outbound_blocked: Outbound25,
) -> Result<Answers, WizardError> {
    need_terminal()?;
    out::err_line("mailstead: a few questions, then a summary to confirm before anything changes.");
    out::err_line("(Esc goes back a question, Ctrl-C stops; nothing changes until you confirm.)");
    // A question left with Esc shows as left for the previous one, not as "canceled".
    inquire::set_global_render_config(
        inquire::ui::RenderConfig::default_colored()
            .with_canceled_prompt_indicator(inquire::ui::Styled::new("<back>")),
    );
    let mut current = defaults.cloned();
    let mut blocked: Option<Option<String>> = None;
    let mut outbound = || blocked.get_or_insert_with(&mut *outbound_blocked).clone();
    loop {
        let answers = ask_all(current.as_ref(), &mut outbound)?;
        match mailstead_answers::validate(&answers) {
            Ok(()) => return Ok(answers),
            Err(e) => {
                out::err_line(&e);
                out::err_line("Let's go over the answers again (Esc goes back).");
                current = Some(answers);
            }
        }
    }
}

/// A question's result: go on with the answer, or back one question (Esc).
enum Flow<T> {
    Next(T),
    Back,
}

/// Esc (inquire's "canceled") is a step back, not the end of the wizard.
fn flow<T>(r: Result<T, WizardError>) -> Result<Flow<T>, WizardError> {
    match r {
        Ok(v) => Ok(Flow::Next(v)),
        Err(WizardError::Canceled) => Ok(Flow::Back),
        Err(e) => Err(e),
    }
}

/// Esc at the first question: quit? Esc or Enter here stays (No).
fn quit_wizard() -> Result<bool, WizardError> {
    match Confirm::new("Quit the wizard? Nothing has been changed.")
        .with_default(false)
        .with_help_message("y quits, n (Enter, Esc) goes on with the questions")
        .prompt()
    {
        Ok(q) => Ok(q),
        Err(InquireError::OperationCanceled) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The answers given so far; going back shows them as the suggestions.
#[derive(Default)]
struct Draft {
    hostname: Option<String>,
    domain: Option<String>,
    admin_email: Option<String>,
    address: Option<String>,
    mailbox: Option<Mailbox>,
    users: Option<String>,
    firewall: Option<bool>,
    acme: Option<Acme>,
    relay: Option<Option<RelayHost>>,
}

/// The questions in order; [`ask_all`] walks them forward and, on Esc, back.
const QUESTIONS: usize = 9;

fn ask_all(
    defaults: Option<&Answers>,
    outbound_blocked: &mut dyn FnMut() -> Option<String>,
) -> Result<Answers, WizardError> {
    let mut d = Draft::default();
    let mut i = 0;
    while i < QUESTIONS {
        let step = match i {
            0 => flow(ask_hostname(&d, defaults))?.map(|v| d.hostname = Some(v)),
            1 => flow(ask_domain(&d, defaults))?.map(|v| d.domain = Some(v)),
            2 => flow(ask_admin(&d, defaults))?.map(|v| d.admin_email = Some(v)),
            3 => flow(ask_address(&d, defaults))?.map(|v| d.address = Some(v)),
            4 => flow(ask_mailbox_password(&d, defaults))?.map(|v| d.mailbox = Some(v)),
            5 => flow(ask_users(&d, defaults))?.map(|v| d.users = Some(v)),
            6 => flow(
                Confirm::new("Turn on the firewall (only SSH and mail ports open)?")
                    .with_default(
                        d.firewall
                            .or(defaults.map(|a| a.firewall.enabled))
                            .unwrap_or(true),
                    )
                    .prompt()
                    .map_err(WizardError::from),
            )?
            .map(|v| d.firewall = Some(v)),
            7 => flow(ask_acme(d.acme.as_ref().or(defaults.map(|a| &a.acme))))?
                .map(|v| d.acme = Some(v)),
            _ => {
                let current = match &d.relay {
                    Some(r) => r.clone(),
                    None => defaults.and_then(|a| a.relay_host.clone()),
                };
                match outbound_blocked() {
                    Some(why) => {
                        out::err_line(format_args!("Note: {why}."));
                        out::err_line(
                            "Mail to other servers then has to go out through a relay host \
                             (or ask the provider to open port 25).",
                        );
                        flow(ask_relay(current.as_ref()))?.map(|v| d.relay = Some(v))
                    }
                    // Mail goes out directly: no question (the answers file can still set one).
                    None => {
                        d.relay = Some(current);
                        Flow::Next(())
                    }
                }
            }
        };
        match step {
            Flow::Next(()) => i += 1,
            Flow::Back if i == 0 => {
                if quit_wizard()? {
                    return Err(WizardError::Canceled);
                }
            }
            Flow::Back => i -= 1,
        }
    }
    Ok(assemble(d, defaults))
}

impl<T> Flow<T> {
    fn map(self, f: impl FnOnce(T)) -> Flow<()> {
        match self {
            Flow::Next(v) => {
                f(v);
                Flow::Next(())
            }
            Flow::Back => Flow::Back,
        }
    }
}

fn ask_hostname(d: &Draft, defaults: Option<&Answers>) -> Result<String, WizardError> {
    let suggested = d
        .hostname
        .clone()
        .or_else(|| defaults.map(|a| a.hostname.clone()))
        .or_else(system_fqdn);
    text(
        "Server hostname:",
        "the full name clients and other servers use, e.g. mail.example.org",
        suggested.as_deref(),
        check_fqdn,
    )
}

fn ask_domain(d: &Draft, defaults: Option<&Answers>) -> Result<String, WizardError> {
    let suggested = d
        .domain
        .clone()
        .or_else(|| defaults.and_then(|a| a.domains.first().map(|d| d.name.clone())))
        .or_else(|| d.hostname.as_deref().and_then(domain_of));
    text(
        "First mail domain:",
        "the part after the @ in your addresses, e.g. example.org",
        suggested.as_deref(),
        check_domain,
    )
}

fn ask_admin(d: &Draft, defaults: Option<&Answers>) -> Result<String, WizardError> {
    let suggested = d
        .admin_email
        .clone()
        .or_else(|| defaults.map(|a| a.admin_email.clone()));
    text(
        "Admin email:",
        "where certificate and problem notices go; best an address on another server",
        suggested.as_deref(),
        check_email,
    )
}

/// The mailbox the defaults had for `domain`, if any.
fn previous_mailbox(defaults: Option<&Answers>, domain: &str) -> Option<Mailbox> {
    defaults
        .and_then(|a| a.domains.iter().find(|d| d.name == domain))
        .and_then(|d| d.mailboxes.first().cloned())
}

fn ask_address(d: &Draft, defaults: Option<&Answers>) -> Result<String, WizardError> {
    let domain = d.domain.clone().unwrap_or_default();
    let suggested = d
        .address
        .clone()
        .filter(|a| a.ends_with(&format!("@{domain}")))
        .or_else(|| previous_mailbox(defaults, &domain).map(|m| m.address))
        .unwrap_or_else(|| format!("{}@{domain}", invoking_user_mailbox()));
    let domains = vec![domain.clone()];
    let doms = domains.clone();
    let shown = |s: &str| complete_address(s, &domains);
    let address = Text::new("First mailbox:")
        .with_help_message(&format!(
            "an address @{domain} (a name alone is completed with @{domain})"
        ))
        .with_default(&suggested)
        .with_formatter(&shown)
        .with_validator(validator(move |s| {
            check_address_in(
                "domains[0].mailboxes[0].address",
                &complete_address(s, &doms),
                &doms,
            )
        }))
        .prompt()?;
    Ok(complete_address(&address, &domains))
}

/// The first mailbox's password: kept when the defaults had one for the same address and the
/// admin says so, typed twice otherwise.
fn ask_mailbox_password(d: &Draft, defaults: Option<&Answers>) -> Result<Mailbox, WizardError> {
    let address = d.address.clone().unwrap_or_default();
    let domain = d.domain.clone().unwrap_or_default();
    let previous = previous_mailbox(defaults, &domain)
        .filter(|m| m.address == address && (m.password.is_some() || m.password_hash.is_some()));
    if let Some(m) = previous {
        let change = Confirm::new(&format!("Change the password of {address}?"))
            .with_default(false)
            .prompt()?;
        if !change {
            return Ok(m);
        }
    }
    Ok(Mailbox::with_password(
        address.clone(),
        ask_password(&address)?,
    ))
}

fn ask_users(d: &Draft, defaults: Option<&Answers>) -> Result<String, WizardError> {
    let suggested = d.users.clone().unwrap_or_else(|| {
        defaults
            .map(|a| a.ssh.allow_users.clone())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| vec![invoking_user()])
            .join(", ")
    });
    text(
        "SSH logins allowed for:",
        "user names, separated by commas; everyone else is refused by sshd",
        Some(&suggested),
        |s| parse_users(s).map(|_| ()),
    )
}

/// The answers from the draft; everything the wizard did not ask about is kept from
/// `defaults`.
fn assemble(d: Draft, defaults: Option<&Answers>) -> Answers {
    let mut answers = match defaults {
        Some(a) => a.clone(),
        // Every key at its default; the name and address are set from the draft below.
        None => Answers::new(String::new(), String::new()),
    };
    let domain = d.domain.unwrap_or_default();
    answers.hostname = d.hostname.unwrap_or_default();
    answers.admin_email = d.admin_email.unwrap_or_default();
    // Checked as typed; an empty list here fails `validate`, which asks again.
    answers.ssh.allow_users = parse_users(&d.users.unwrap_or_default()).unwrap_or_default();
    answers.firewall.enabled = d.firewall.unwrap_or(true);
    answers.acme = d.acme.unwrap_or_default();
    answers.relay_host = d.relay.unwrap_or(None);
    match answers.domains.iter().position(|x| x.name == domain) {
        Some(i) => {
            let x = answers.domains.remove(i);
            answers.domains.insert(0, x);
        }
        None => answers.domains.insert(0, Domain::new(domain)),
    }
    if let Some(mailbox) = d.mailbox {
        let first = &mut answers.domains[0];
        match first
            .mailboxes
            .iter()
            .position(|m| m.address == mailbox.address)
        {
            Some(i) => first.mailboxes[i] = mailbox,
            None => first.mailboxes.insert(0, mailbox),
        }
    }
    answers
}

/// A mailbox name to suggest: the invoking user unless that is root.
fn invoking_user_mailbox() -> String {
    match invoking_user().as_str() {
        "root" => "admin".into(),
        u => u.to_ascii_lowercase(),
    }
}

fn ask_acme(current: Option<&Acme>) -> Result<Acme, WizardError> {
    const LE: &str = "Let's Encrypt";
    const STAGING: &str = "Let's Encrypt staging (test certificates, not trusted)";
    const OTHER: &str = "Another ACME server";
    let start = match current {
        Some(a) if a.server.as_deref().is_some_and(|s| s != LETS_ENCRYPT) => 2,
        Some(a) if a.staging => 1,
        _ => 0,
    };
    let choice = Select::new("Certificates from:", vec![LE, STAGING, OTHER])
        .with_starting_cursor(start)
        .with_help_message("↑↓ to move, Enter to choose")
        .prompt()?;
    Ok(match choice {
        LE => Acme::default(),
        STAGING => Acme {
            staging: true,
            ..Acme::default()
        },
        _ => {
            let d = current.and_then(|a| a.server.clone());
            let server = text(
                "ACME directory URL:",
                "e.g. https://acme.example.org/directory",
                d.as_deref(),
                check_acme_url,
            )?;
            let d_ca = current
                .and_then(|a| a.ca_bundle.as_ref())
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let ca = Text::new("CA bundle to trust for it (empty: the system's):")
                .with_default(&d_ca)
                .with_help_message("a PEM file on this server, for a private ACME server")
                .prompt()?;
            let ca = ca.trim();
            Acme {
                server: Some(server),
                ca_bundle: (!ca.is_empty()).then(|| ca.into()),
                staging: false,
            }
        }
    })
}

/// The relay host (smarthost): one yes/no, default No (or what the answers had), then its
/// name, port, login and password (hidden, typed twice), each checked by the answers' rules.
fn ask_relay(current: Option<&RelayHost>) -> Result<Option<RelayHost>, WizardError> {
    let wanted = Confirm::new("Send outgoing mail through a relay host (smarthost)?")
        .with_default(current.is_some())
        .with_help_message(
            "yes if your provider blocks outgoing port 25; you need the relay's name, port, login and password",
        )
        .prompt()?;
    if !wanted {
        return Ok(None);
    }
    let host = text(
        "Relay host:",
        "its DNS name, as its certificate names it, e.g. smtp.relay.example",
        current.map(|r| r.host.as_str()),
        check_relay_host,
    )?;
    let d_port = current
        .map(|r| r.port)
        .unwrap_or(mailstead_answers::DEFAULT_RELAY_PORT)
        .to_string();
    let port = text(
        "Relay port:",
        "587: STARTTLS (most relays); 465: TLS from the first byte",
        Some(&d_port),
        |s| parse_relay_port(s).map(|_| ()),
    )?;
    let port = parse_relay_port(&port).map_err(WizardError::Other)?;
    let username = text(
        "Relay login:",
        "the user name your relay provider gave you",
        current.map(|r| r.username.as_str()),
        check_relay_username,
    )?;
    let keep = match current {
        Some(_) => !Confirm::new("Change the relay password?")
            .with_default(false)
            .prompt()?,
        None => false,
    };
    let password = match current {
        Some(r) if keep => r.password.clone(),
        _ => Secret::new(
            Password::new("Relay password:")
                .with_display_mode(PasswordDisplayMode::Hidden)
                .with_custom_confirmation_message("Type it again:")
                .with_custom_confirmation_error_message("The two do not match; once more.")
                .with_help_message("not shown while you type")
                .with_validator(validator(check_relay_password))
                .prompt()?,
        ),
    };
    Ok(Some(RelayHost {
        host,
        port,
        username,
        password,
    }))
}

/// A readable summary of the answers; passwords show only as set or not.
pub fn summarize(a: &Answers) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "hostname:     {}", a.hostname);
    let _ = writeln!(s, "admin email:  {}", a.admin_email);
    for d in &a.domains {
        let _ = writeln!(s, "domain:       {}", d.name);
        for m in &d.mailboxes {
            let how = if m.password.is_some() || m.password_hash.is_some() {
                "password set"
            } else {
                "no password"
            };
            let _ = writeln!(s, "  mailbox     {} ({how})", m.address);
        }
        for al in &d.aliases {
            let _ = writeln!(s, "  alias       {} → {}", al.from, al.to);
        }
    }
    let _ = writeln!(s, "ssh logins:   {}", a.ssh.allow_users.join(", "));
    let _ = writeln!(
        s,
        "firewall:     {}",
        if a.firewall.enabled { "on" } else { "off" }
    );
    let acme = match (&a.acme.server, a.acme.staging) {
        (Some(url), _) => url.clone(),
        (None, true) => "Let's Encrypt (staging)".into(),
        (None, false) => "Let's Encrypt".into(),
    };
    let _ = writeln!(s, "certificates: {acme}");
    let relay = match &a.relay_host {
        Some(r) => format!("{}:{} as {} (password set)", r.host, r.port, r.username),
        None => "none (mail goes out directly on port 25)".into(),
    };
    let _ = writeln!(s, "relay host:   {relay}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fqdn() {
        assert!(check_fqdn("mail.example.test").is_ok());
        assert!(check_fqdn("example.test").is_ok());
        assert!(check_fqdn("mail").is_err());
        assert!(check_fqdn("mail..example.test").is_err());
        assert!(check_fqdn("-mail.example.test").is_err());
        assert!(check_fqdn("mail.example.t_st").is_err());
        assert!(check_fqdn("10.0.0.1").is_err());
        assert!(check_fqdn(&format!("{}.example.test", "a".repeat(64))).is_err());
    }

    #[test]
    fn email() {
        assert!(check_email("alice@example.test").is_ok());
        assert!(check_email("a.b+tag@mail.example.test").is_ok());
        assert!(check_email("bob@").is_err());
        assert!(check_email("@example.test").is_err());
        assert!(check_email("bob").is_err());
        assert!(check_email("bo b@example.test").is_err());
        assert!(check_email(".bob@example.test").is_err());
        assert!(check_email("bob@example").is_err());
        assert!(check_email("a|b@example.test").is_err());
        assert!(check_address_in("FROM", "a+b@example.test", &[]).is_err());
        assert!(check_address_in("FROM", "a.b_c-d@example.test", &[]).is_ok());
    }

    #[test]
    fn addresses_in_domains() {
        let d = vec!["example.test".to_string()];
        assert!(check_address_in("ADDRESS", "alice@example.test", &d).is_ok());
        assert!(check_address_in("ADDRESS", "alice@other.test", &d)
            .unwrap_err()
            .contains("not a domain of this server"));
        assert!(check_address_in("ADDRESS", "alice@other.test", &[]).is_ok());
        assert_eq!(complete_address("Alice", &d), "alice@example.test");
        assert_eq!(complete_address("a@x.test", &d), "a@x.test");
        let two = vec!["a.test".to_string(), "b.test".to_string()];
        assert_eq!(complete_address("alice", &two), "alice");
    }

    #[test]
    fn passwords_users_urls() {
        assert!(check_password("short").is_err());
        assert!(check_password("a long passphrase").is_ok());
        assert!(check_password(" a long passphrase").is_err());
        assert_eq!(
            parse_users("root, alice bob").unwrap(),
            vec!["root", "alice", "bob"]
        );
        assert!(parse_users(" , ").is_err());
        assert!(parse_users("al;ice").is_err());
        assert!(parse_users("1x").is_err());
        assert!(parse_users("_admin, deploy-1").is_ok());
        assert!(check_acme_url("https://acme.example/dir").is_ok());
        assert!(check_acme_url("http://acme.example/dir").is_err());
        assert!(check_acme_url("https:///dir").is_err());
        assert_eq!(
            domain_of("mail.example.test").as_deref(),
            Some("example.test")
        );
        assert_eq!(domain_of("example.test"), None);
    }

    /// The wizard says exactly what the answers file says for the same bad value.
    #[test]
    fn same_words_as_the_answers_file() {
        let file = |yaml: &str| -> String {
            let e = mailstead_answers::parse(yaml, "test").unwrap_err();
            e.problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let yaml = |host: &str, pw: &str| {
            format!(
                "hostname: {host}\nadmin_email: admin@example.test\ndomains:\n  - name: example.test\n    mailboxes:\n      - address: alice@example.test\n        password: \"{pw}\"\n"
            )
        };
        let pw = check_password("abc").unwrap_err();
        let from_file = file(&yaml("mail.example.test", "abc"));
        let words = pw.trim_start_matches("password: ");
        assert!(from_file.contains(words), "{pw:?} vs {from_file:?}");
        assert!(!pw.contains("abc"), "the password itself is never shown");
        let host = check_fqdn("Mail.Example.test").unwrap_err();
        let from_file = file(&yaml("Mail.Example.test", "a long passphrase here"));
        assert!(from_file.contains(&host), "{host:?} vs {from_file:?}");
        assert!(host.contains("lowercase"), "{host}");
    }

    /// The relay questions use the answers file's rules, under the same field names.
    #[test]
    fn relay_questions_say_what_the_file_says() {
        let yaml = |host: &str, user: &str, pw: &str| {
            format!(
                "hostname: mail.example.test\nadmin_email: admin@example.test\ndomains:\n  - name: example.test\n    mailboxes:\n      - address: alice@example.test\n        password: \"a long passphrase\"\nrelay_host:\n  host: \"{host}\"\n  username: \"{user}\"\n  password: \"{pw}\"\n"
            )
        };
        let file = |y: String| mailstead_answers::parse(&y, "t").unwrap_err().to_string();
        let e = check_relay_host("192.0.2.7").unwrap_err();
        assert!(
            file(yaml("192.0.2.7", "me", "pw zebra")).contains(&e),
            "{e}"
        );
        let e = check_relay_username("a:b").unwrap_err();
        assert!(
            file(yaml("smtp.relay.example", "a:b", "pw zebra")).contains(&e),
            "{e}"
        );
        let e = check_relay_password(" zebra").unwrap_err();
        assert!(e.starts_with("relay_host.password: "), "{e}");
        assert!(!e.contains("zebra"), "{e}");
        assert!(check_relay_password("short").is_ok());
        assert_eq!(parse_relay_port("465"), Ok(465));
        assert!(parse_relay_port("0")
            .unwrap_err()
            .contains("relay_host.port"));
        assert!(parse_relay_port("70000").is_err());
        assert!(check_relay_host("smtp.relay.example").is_ok());
    }

    #[test]
    fn summary_hides_passwords() {
        let mut a = Answers::new("mail.example.test", "admin@example.test").with_domain(
            Domain::new("example.test").with_mailbox(Mailbox::with_password(
                "alice@example.test",
                Secret::new("correct horse battery"),
            )),
        );
        a.ssh.allow_users = vec!["root".into()];
        a.message_size_limit = 1;
        a.relay_host = Some(RelayHost {
            host: "smtp.relay.example".into(),
            port: 587,
            username: "me".into(),
            password: Secret::new("relay pass zebra"),
        });
        let s = summarize(&a);
        assert!(s.contains("alice@example.test (password set)"), "{s}");
        assert!(!s.contains("horse"));
        assert!(
            s.contains("relay host:   smtp.relay.example:587 as me (password set)"),
            "{s}"
        );
        assert!(!s.contains("zebra"), "{s}");
    }

    #[test]
    fn error_mapping() {
        assert!(matches!(
            WizardError::from(InquireError::NotTTY),
            WizardError::NotTty(_)
        ));
        assert!(matches!(
            WizardError::from(InquireError::OperationCanceled),
            WizardError::Canceled
        ));
        let i = WizardError::from(InquireError::OperationInterrupted);
        assert!(matches!(i, WizardError::Interrupted));
        assert_eq!(i.exit_code(), 4);
        assert_eq!(WizardError::Canceled.exit_code(), 2);
    }
}
