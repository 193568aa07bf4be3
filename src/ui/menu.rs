//! The menu `mailstead` shows on a terminal once the server is set up, and the prompts the
//! CLI uses when a subcommand is missing values.
pub use super::wizard::ask_password;
use super::wizard::{
    capitalized, complete_address, edit_sentence, need_terminal, sentence, WizardError,
};
use inquire::validator::Validation;
use inquire::{Select, Text};
use mailstead_answers::{edit, rules, Answers};
use mailstead_engine::Secret;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MenuChoice {
    /// Offered first when the first install has not finished (a run failed or was stopped).
    FinishInstall,
    AddDomain,
    AddMailbox,
    AddAlias,
    Check,
    Plan,
    Rollback,
    Runs,
    Quit,
}

impl MenuChoice {
    pub const ALL: [MenuChoice; 8] = [
        MenuChoice::AddDomain,
        MenuChoice::AddMailbox,
        MenuChoice::AddAlias,
        MenuChoice::Check,
        MenuChoice::Plan,
        MenuChoice::Rollback,
        MenuChoice::Runs,
        MenuChoice::Quit,
    ];
}

impl fmt::Display for MenuChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MenuChoice::FinishInstall => "Finish the installation",
            MenuChoice::AddDomain => "Add a domain (and its first mailbox)",
            MenuChoice::AddMailbox => "Add a mailbox",
            MenuChoice::AddAlias => "Add an alias",
            MenuChoice::Check => "Check the server (services, ports, DNS)",
            MenuChoice::Plan => "Show what a re-run would change",
            MenuChoice::Rollback => "Roll back the last run",
            MenuChoice::Runs => "List past runs",
            MenuChoice::Quit => "Quit",
        })
    }
}

/// The choices, in order: "Finish the installation" first when `unfinished` (the first
/// install has not completed), then [`MenuChoice::ALL`].
pub fn choices(unfinished: bool) -> Vec<MenuChoice> {
    let mut all = Vec::new();
    if unfinished {
        all.push(MenuChoice::FinishInstall);
    }
    all.extend(MenuChoice::ALL);
    all
}

/// The main menu. `unfinished`: why the installation is not finished yet (said above the
/// menu, which then offers to finish it first). Esc quits; Ctrl-C is
/// [`WizardError::Interrupted`].
pub fn main_menu(unfinished: Option<&str>) -> Result<MenuChoice, WizardError> {
    need_terminal()?;
    if let Some(why) = unfinished {
        super::out::err_line(format_args!("The installation has not finished: {why}."));
    }
    let options = choices(unfinished.is_some());
    let n = options.len();
    match Select::new("What would you like to do?", options)
        .with_page_size(n)
        .with_help_message("↑↓ to move, Enter to choose, Esc to quit")
        .prompt()
    {
        Ok(c) => Ok(c),
        Err(inquire::InquireError::OperationCanceled) => Ok(MenuChoice::Quit),
        Err(e) => Err(e.into()),
    }
}

// ---- validation (pure) ----
// Each value is checked at its question by the ONE rule: `mailstead_answers::rules` and
// `mailstead_answers::edit`'s checks against the current answers (an existing domain, an
// existing mailbox or alias, a domain this server does not have), so the person is told there
// and asked again, never after the last question. Said as sentences, not CLI words.

/// A domain to add to `answers`: a good name, not configured already.
pub fn check_new_domain(answers: &Answers, s: &str) -> Result<(), String> {
    edit::check_new_domain(answers, s).map_err(|e| edit_sentence("the domain", &e))
}

/// A mailbox to add to `answers`, in one of `domains` (any of the answers' domains when
/// empty): a good address, on a configured domain, not there already.
pub fn check_new_mailbox(answers: &Answers, domains: &[String], s: &str) -> Result<(), String> {
    let said = |e: edit::EditError| edit_sentence("the address", &e);
    rules::mailbox_address("ADDRESS", s).map_err(|p| said(p.into()))?;
    // The domain asked for first: a mailbox elsewhere is the wrong answer, existing or not.
    let domain = s.rsplit_once('@').map_or("", |(_, d)| d);
    if !domains.is_empty() && !domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return Err(format!(
            "The address must be @{}; {domain} is another domain",
            domains.join(" or @")
        ));
    }
    edit::check_new_mailbox(answers, s).map_err(said)
}

/// An alias address to add to `answers`: a good address, on a configured domain, no alias yet.
pub fn check_new_alias(answers: &Answers, from: &str) -> Result<(), String> {
    edit::check_new_alias(answers, from).map_err(|e| edit_sentence("the alias address", &e))
}

/// Where the alias `from` delivers: good addresses, not the alias itself, and the whole
/// answers with the alias still valid (`mailstead_answers::validate`: a loop, a target that is
/// a missing mailbox of this server).
pub fn check_alias_targets(answers: &Answers, from: &str, to: &str) -> Result<(), String> {
    rules::alias_targets("TO", to).map_err(|p| sentence("the target", &p))?;
    if to.eq_ignore_ascii_case(from) {
        return Err("An alias cannot point at itself".into());
    }
    let mut after = answers.clone();
    edit::add_alias(&mut after, from, to).map_err(|e| edit_sentence("the target", &e))?;
    mailstead_answers::validate(&after).map_err(|e| {
        e.problems
            .iter()
            .map(|p| capitalized(&format!("{}; {}", p.message, p.fix)))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// A question checked by `check` as typed; the text lowercased and trimmed.
fn ask(
    message: &str,
    help: &str,
    complete: impl Fn(&str) -> String + Clone + 'static,
    check: impl Fn(&str) -> Result<(), String> + Clone + 'static,
) -> Result<String, WizardError> {
    need_terminal()?;
    let shown = complete.clone();
    let formatter = move |s: &str| shown(s);
    let done = complete.clone();
    let answer = Text::new(message)
        .with_help_message(help)
        .with_formatter(&formatter)
        .with_validator(move |s: &str| {
            Ok(match check(&complete(s)) {
                Ok(()) => Validation::Valid,
                Err(e) => Validation::Invalid(e.into()),
            })
        })
        .prompt()?;
    Ok(done(&answer))
}

/// A new mail domain (`example.org`) for `answers`, checked at the question.
pub fn ask_domain(answers: &Answers) -> Result<String, WizardError> {
    let a = answers.clone();
    ask(
        "Domain to add:",
        "the part after the @, e.g. example.org",
        |s| s.trim().to_string(),
        move |s| check_new_domain(&a, s),
    )
}

/// A new mailbox of `answers` in one of `domains` (any of its domains when empty), checked at
/// the question, and its password typed twice.
pub fn ask_mailbox(answers: &Answers, domains: &[String]) -> Result<(String, Secret), WizardError> {
    let all: Vec<String> = answers.domains.iter().map(|d| d.name.clone()).collect();
    let offered = if domains.is_empty() {
        all
    } else {
        domains.to_vec()
    };
    let help = match offered.as_slice() {
        [] => "e.g. alice@example.org".to_string(),
        [one] => format!("e.g. alice@{one} (a name alone is completed with @{one})"),
        many => format!("an address in {}", many.join(", ")),
    };
    let (a, doms, complete_in) = (answers.clone(), domains.to_vec(), offered.clone());
    let address = ask(
        "Mailbox address:",
        &help,
        move |s| complete_address(s, &complete_in),
        move |s| check_new_mailbox(&a, &doms, s),
    )?;
    let password = ask_password(&address)?;
    Ok((address, password))
}

/// An alias of `answers`: `(from, to)`; `to` may be any address, also on another server.
/// Both checked at their question.
pub fn ask_alias(answers: &Answers) -> Result<(String, String), WizardError> {
    let a = answers.clone();
    let from = ask(
        "Alias address (mail sent here…):",
        "e.g. info@example.org, on a domain of this server",
        |s| s.trim().to_string(),
        move |s| check_new_alias(&a, s),
    )?;
    let (a, own) = (answers.clone(), from.clone());
    let to = ask(
        "…is delivered to:",
        "a mailbox here or any address elsewhere; several separated by commas",
        |s| s.trim().to_string(),
        move |s| check_alias_targets(&a, &own, s),
    )?;
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One domain with alice@ and the alias info@ → alice@.
    fn answers() -> Answers {
        use mailstead_answers::{Domain, Mailbox};
        Answers::new("mail.example.test", "admin@example.test").with_domain(
            Domain::new("example.test")
                .with_mailbox(Mailbox::with_password(
                    "alice@example.test",
                    Secret::new("correct horse battery"),
                ))
                .with_alias("info@example.test", "alice@example.test"),
        )
    }

    /// Each value is refused at its question, against the current answers, in a sentence.
    #[test]
    fn values_are_checked_at_their_question() {
        let a = answers();
        assert_eq!(
            check_new_domain(&a, "example.test").unwrap_err(),
            "Domain example.test is already configured"
        );
        assert_eq!(
            check_new_domain(&a, "Other_1.Test").unwrap_err(),
            "The domain \"Other_1.Test\" has uppercase letters and contains '_', which a host \
             name cannot; write a name like example.test"
        );
        assert!(check_new_domain(&a, "other.test").is_ok());
        assert_eq!(
            check_new_mailbox(&a, &[], "alice@example.test").unwrap_err(),
            "Mailbox alice@example.test already exists"
        );
        assert_eq!(
            check_new_mailbox(&a, &[], "bob@nowhere.test").unwrap_err(),
            "No domain nowhere.test (domains: example.test)"
        );
        let e = check_new_mailbox(&a, &[], "b+b@example.test").unwrap_err();
        assert!(
            e.starts_with("The address \"b+b@example.test\" contains '+'"),
            "{e}"
        );
        assert!(check_new_mailbox(&a, &[], "bob@example.test").is_ok());
        // The first mailbox of a domain being added: in that domain.
        let mut with = a.clone();
        edit::add_domain(&mut with, "other.test").unwrap();
        let only = ["other.test".to_string()];
        assert!(check_new_mailbox(&with, &only, "bob@other.test").is_ok());
        assert_eq!(
            check_new_mailbox(&with, &only, "alice@example.test").unwrap_err(),
            "The address must be @other.test; example.test is another domain"
        );
        assert_eq!(
            check_new_mailbox(&with, &only, "bob@example.test").unwrap_err(),
            "The address must be @other.test; example.test is another domain"
        );
        assert_eq!(
            check_new_alias(&a, "info@example.test").unwrap_err(),
            "Alias info@example.test already exists (remove it first)"
        );
        assert!(check_new_alias(&a, "sales@example.test").is_ok());
        assert_eq!(
            check_alias_targets(&a, "sales@example.test", "sales@example.test").unwrap_err(),
            "An alias cannot point at itself"
        );
        let e = check_alias_targets(&a, "sales@example.test", "Bob@Example.test").unwrap_err();
        assert!(e.ends_with("write it as Bob@example.test"), "{e}");
        assert!(check_alias_targets(&a, "sales@example.test", "alice@example.test").is_ok());
        for e in [
            check_new_domain(&a, "example.test"),
            check_new_mailbox(&a, &[], "ALICE"),
            check_new_alias(&a, "x"),
        ] {
            let e = e.unwrap_err();
            for cli in ["NAME:", "ADDRESS:", "FROM:", "TO:"] {
                assert!(!e.contains(cli), "{e}");
            }
        }
    }

    #[test]
    fn finishing_comes_first_only_when_unfinished() {
        assert_eq!(choices(true)[0], MenuChoice::FinishInstall);
        assert_eq!(choices(true)[0].to_string(), "Finish the installation");
        assert!(!choices(false).contains(&MenuChoice::FinishInstall));
        assert_eq!(choices(false).len(), MenuChoice::ALL.len());
        assert!(MenuChoice::AddDomain.to_string().contains("first mailbox"));
    }
}
