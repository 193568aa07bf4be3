//! The first-run questions. inquire draws on stderr and reads keys through crossterm, which uses
//! stdin when it is a terminal and opens /dev/tty otherwise, so the wizard works under
//! `curl … | sh` (stdin a pipe) as long as the session has a terminal. Without one it says so
//! ([`WizardError::NotTty`]) instead of hanging.
use super::out;
use inquire::validator::Validation;
use inquire::{Confirm, InquireError, Password, PasswordDisplayMode, Text};
use mailstead_answers::{Acme, Answers, Domain, Mailbox, RelayHost};
use mailstead_engine::Secret;
use std::fmt;

pub use mailstead_answers::LETSENCRYPT_PRODUCTION as LETS_ENCRYPT;

mod acme;
use acme::ask_acme;
pub use acme::{acme_suggestion, AcmeSuggestion};

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

/// A rule's problem as a sentence for a person, with `what` as its subject (`the host
/// name`): `The host name "Mail.Example.test" has uppercase letters; write it in lowercase:
/// mail.example.test`. The rule's message and fix are the answers file's words; only the
/// answers-file field name (`domains[0].name:`) or CLI argument (`ADDRESS:`) is left out.
pub(crate) fn sentence(what: &str, p: &mailstead_answers::Problem) -> String {
    format!("{} {}; {}", capitalized(what), p.message, p.fix)
}

/// A refusal of an edit (`domain example.test is already configured`) or a rule's problem,
/// as a sentence for a person; see [`sentence`].
pub(crate) fn edit_sentence(what: &str, e: &mailstead_answers::edit::EditError) -> String {
    use mailstead_answers::edit::EditError;
    match e {
        EditError::Rule(p) => sentence(what, p),
        other => capitalized(&other.to_string()),
    }
}

/// `text` with its first letter in uppercase, as a sentence starts.
pub(crate) fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Fails early, with the reason, when there is no one to ask.
/// Every prompt's first call, so the look of [`set_render_config`] (no `#` before an error)
/// is set before any question; set once, so the wizard's own setting stays.
pub(crate) fn need_terminal() -> Result<(), WizardError> {
    static LOOK: std::sync::Once = std::sync::Once::new();
    LOOK.call_once(|| set_render_config(false));
    super::can_prompt().map_err(WizardError::NotTty)
}

/// How the prompts look: a refused value's message shows behind `✗`, not inquire's default
/// `#` (which reads as a comment); `back`: Esc steps back a question (the wizard) rather than
/// leaving it (the menu's questions), and the left question says so.
pub(crate) fn set_render_config(back: bool) {
    let mut config = inquire::ui::RenderConfig::default_colored();
    config.error_message = config
        .error_message
        .with_prefix(inquire::ui::Styled::new("✗").with_fg(inquire::ui::Color::LightRed));
    if back {
        config = config.with_canceled_prompt_indicator(inquire::ui::Styled::new("<back>"));
    }
    inquire::set_global_render_config(config);
}

// ---- validation (pure) ----
// Field by field, as typed, with the ONE copy of the rules (`mailstead_answers::rules`), said
// as sentences naming the value (`The host name …`); `mailstead_answers::validate` has the
// last word on the whole answers before the wizard returns them.
use mailstead_answers::rules;

fn rule(what: &str, r: Result<(), mailstead_answers::Problem>) -> Result<(), String> {
    r.map_err(|p| sentence(what, &p))
}

/// The server's own name, fully qualified (`mail.example.org`).
pub fn check_fqdn(s: &str) -> Result<(), String> {
    rule("the host name", rules::hostname("hostname", s))
}

/// A mail domain (`example.org`).
pub fn check_domain(s: &str) -> Result<(), String> {
    rule("the domain", rules::domain("domains[0].name", s))
}

/// The admin's address: any ordinary address.
pub fn check_email(s: &str) -> Result<(), String> {
    rule("the address", rules::address("admin_email", s))
}

/// An address in one of `domains` (any domain when the list is empty).
pub fn check_address_in(s: &str, domains: &[String]) -> Result<(), String> {
    rule(
        "the address",
        rules::mailbox_address("domains[0].mailboxes[0].address", s),
    )?;
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
    rule("the password", rules::password("password", &Secret::new(p)))
}

/// An ACME directory URL.
pub fn check_acme_url(s: &str) -> Result<(), String> {
    rule("the URL", rules::https_url("acme.server", s))
}

/// `relay_host.host`: the relay's DNS name (not an IP: its certificate is checked against it).
pub fn check_relay_host(s: &str) -> Result<(), String> {
    rule("the relay host", rules::relay_host("relay_host.host", s))
}

/// `relay_host.port` as typed: a number 1..=65535.
pub fn parse_relay_port(s: &str) -> Result<u16, String> {
    let port: u16 = s.trim().parse().map_err(|_| {
        format!(
            "The relay port {s:?} is not a port number; write 587 for STARTTLS or 465 for implicit TLS"
        )
    })?;
    rule("the relay port", rules::relay_port("relay_host.port", port))?;
    Ok(port)
}

/// `relay_host.username`: the login the relay provider gave.
pub fn check_relay_username(s: &str) -> Result<(), String> {
    rule(
        "the relay login",
        rules::relay_username("relay_host.username", s),
    )
}

/// `relay_host.password` (never shown).
pub fn check_relay_password(p: &str) -> Result<(), String> {
    rule(
        "the relay password",
        rules::relay_password("relay_host.password", &Secret::new(p)),
    )
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
        return Err("Name at least one user, or you lock yourself out of SSH".into());
    }
    // Every bad name at once, not one per try.
    let bad: Vec<(&String, mailstead_answers::Problem)> = users
        .iter()
        .enumerate()
        .filter_map(|(i, u)| {
            rules::unix_user(&format!("ssh.allow_users[{i}]"), u)
                .err()
                .map(|p| (u, p))
        })
        .collect();
    match bad.as_slice() {
        [] => {}
        [(_, p)] => return Err(sentence("the user name", p)),
        [.., (_, p)] => {
            let names: Vec<String> = bad.iter().map(|(u, _)| format!("{u:?}")).collect();
            return Err(format!(
                "The user names {} are not valid user names; {}",
                names.join(", "),
                p.fix
            ));
        }
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
    set_render_config(true);
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

/// The firewall question, naming the ports it leaves open: SSH, the mail ports
/// (`mailstead_steps::layout::mail_ports`, 995 with `pop3`) and 80 for the certificate's
/// HTTP-01 challenge, in order: `… (open only SSH, 25, 80 for the certificate, 465, 587 and
/// 993)?`.
pub fn firewall_question(pop3: bool) -> String {
    let mut ports: Vec<u16> = mailstead_steps::layout::mail_ports(pop3)
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    ports.push(80);
    ports.sort_unstable();
    ports.dedup();
    let mut open = vec!["SSH".to_string()];
    open.extend(ports.iter().map(|p| match p {
        80 => "80 for the certificate".to_string(),
        p => p.to_string(),
    }));
    let last = open.pop().unwrap_or_default();
    format!(
        "Turn on the firewall (open only {} and {last})?",
        open.join(", ")
    )
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
                Confirm::new(&firewall_question(defaults.is_some_and(|a| a.pop3)))
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
            check_address_in(&complete_address(s, &doms), &doms)
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
        assert!(check_address_in("a+b@example.test", &[]).is_err());
        assert!(check_address_in("a.b_c-d@example.test", &[]).is_ok());
    }

    #[test]
    fn addresses_in_domains() {
        let d = vec!["example.test".to_string()];
        assert!(check_address_in("alice@example.test", &d).is_ok());
        assert!(check_address_in("alice@other.test", &d)
            .unwrap_err()
            .contains("not a domain of this server"));
        assert!(check_address_in("alice@other.test", &[]).is_ok());
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
        // The rule's message and fix, word for word, in the wizard's sentence and the file's
        // report; only the field name differs (a sentence's subject, the file's path).
        let same = |said: &str, p: mailstead_answers::Problem, from_file: &str| {
            for words in [&p.message, &p.fix] {
                assert!(said.contains(words.as_str()), "{said:?} lacks {words:?}");
                assert!(
                    from_file.contains(words.as_str()),
                    "{from_file:?} lacks {words:?}"
                );
            }
        };
        let pw = check_password("abc").unwrap_err();
        assert!(pw.starts_with("The password is too short"), "{pw}");
        let rule = rules::password("password", &Secret::new("abc")).unwrap_err();
        same(&pw, rule, &file(&yaml("mail.example.test", "abc")));
        assert!(!pw.contains("abc"), "the password itself is never shown");
        let host = check_fqdn("Mail.Example.test").unwrap_err();
        let rule = rules::hostname("hostname", "Mail.Example.test").unwrap_err();
        let from_file = file(&yaml("Mail.Example.test", "a long passphrase here"));
        same(&host, rule, &from_file);
        assert_eq!(
            host,
            "The host name \"Mail.Example.test\" has uppercase letters; write it in lowercase: mail.example.test"
        );
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
        // The rule's message and fix, word for word, in the sentence and the file's report.
        let same = |said: &str, p: mailstead_answers::Problem, from_file: &str| {
            for words in [&p.message, &p.fix] {
                assert!(said.contains(words.as_str()), "{said:?} lacks {words:?}");
                assert!(
                    from_file.contains(words.as_str()),
                    "{from_file:?} lacks {words:?}"
                );
            }
        };
        let e = check_relay_host("192.0.2.7").unwrap_err();
        assert!(
            e.starts_with("The relay host \"192.0.2.7\" is an IP address"),
            "{e}"
        );
        same(
            &e,
            rules::relay_host("h", "192.0.2.7").unwrap_err(),
            &file(yaml("192.0.2.7", "me", "pw zebra")),
        );
        let e = check_relay_username("a:b").unwrap_err();
        same(
            &e,
            rules::relay_username("u", "a:b").unwrap_err(),
            &file(yaml("smtp.relay.example", "a:b", "pw zebra")),
        );
        let e = check_relay_password(" zebra").unwrap_err();
        assert!(e.starts_with("The relay password "), "{e}");
        assert!(!e.contains("zebra"), "{e}");
        assert!(check_relay_password("short").is_ok());
        assert_eq!(parse_relay_port("465"), Ok(465));
        assert!(parse_relay_port("0")
            .unwrap_err()
            .starts_with("The relay port \"0\""));
        assert!(parse_relay_port("x")
            .unwrap_err()
            .starts_with("The relay port \"x\" is not a port number"));
        assert!(parse_relay_port("70000").is_err());
        assert!(check_relay_host("smtp.relay.example").is_ok());
    }

    /// A value's problems come at once, as a sentence naming the value, never starting with
    /// `#` or a field name; a suggested value passes the same question.
    #[test]
    fn all_problems_at_once_and_suggestions_accepted() {
        let e = check_fqdn("Mail_1.Example.test").unwrap_err();
        assert_eq!(
            e,
            "The host name \"Mail_1.Example.test\" has uppercase letters and contains '_', \
             which a host name cannot; write a name like mail.example.test"
        );
        let e = check_domain("Example.Test.").unwrap_err();
        assert!(e.ends_with("write it as example.test"), "{e}");
        assert!(check_domain("example.test").is_ok());
        let e = check_email("bob@Example.test").unwrap_err();
        assert!(
            e.ends_with("write it in lowercase: bob@example.test"),
            "{e}"
        );
        assert!(check_email("bob@example.test").is_ok());
        let e = parse_users("1x, al;ice, bob").unwrap_err();
        assert!(
            e.starts_with("The user names \"1x\", \"al;ice\" are not valid"),
            "{e}"
        );
        for bad in [
            check_fqdn("Mail_1.Example.test"),
            check_domain(""),
            check_email("x"),
            check_password("x"),
            check_acme_url("http://x"),
            parse_users("").map(|_| ()),
            parse_relay_port("x").map(|_| ()),
        ] {
            let e = bad.unwrap_err();
            assert!(e.starts_with(char::is_uppercase), "{e}");
            assert!(!e.contains("]: ") && !e.starts_with('#'), "{e}");
        }
    }

    #[test]
    fn the_firewall_question_names_what_it_opens() {
        assert_eq!(
            firewall_question(false),
            "Turn on the firewall (open only SSH, 25, 80 for the certificate, 465, 587 and 993)?"
        );
        assert!(firewall_question(true).ends_with("587, 993 and 995)?"));
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
