//! The menu `mailstead` shows on a terminal once the server is set up, and the prompts the
//! CLI uses when a subcommand is missing values.
pub use super::wizard::ask_password;
use super::wizard::{
    check_address_in, complete_address, input_rules as rules, need_terminal, rule_message,
    WizardError,
};
use inquire::validator::Validation;
use inquire::{Select, Text};
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

fn check(
    f: impl Fn(&str) -> Result<(), String> + Clone + 'static,
) -> impl Fn(&str) -> Result<Validation, inquire::CustomUserError> + Clone + 'static {
    move |s: &str| {
        Ok(match f(s.trim()) {
            Ok(()) => Validation::Valid,
            Err(e) => Validation::Invalid(e.into()),
        })
    }
}

/// A new mail domain (`example.org`), lowercased.
pub fn ask_domain() -> Result<String, WizardError> {
    need_terminal()?;
    let d = Text::new("Domain to add:")
        .with_help_message("the part after the @, e.g. example.org")
        .with_validator(check(|s: &str| rule_message(rules::domain("NAME", s))))
        .prompt()?;
    Ok(d.trim().to_string())
}

/// A new mailbox in one of `domains` (any domain when empty), and its password typed twice.
pub fn ask_mailbox(domains: &[String]) -> Result<(String, Secret), WizardError> {
    need_terminal()?;
    let doms = domains.to_vec();
    let help = match domains {
        [] => "e.g. alice@example.org".to_string(),
        [one] => format!("e.g. alice@{one} (a name alone is completed with @{one})"),
        many => format!("an address in {}", many.join(", ")),
    };
    let shown = |s: &str| complete_address(s, domains);
    let address = Text::new("Mailbox address:")
        .with_help_message(&help)
        .with_formatter(&shown)
        .with_validator(check(move |s| {
            check_address_in("ADDRESS", &complete_address(s, &doms), &doms)
        }))
        .prompt()?;
    let address = complete_address(&address, domains);
    let password = ask_password(&address)?;
    Ok((address, password))
}

/// An alias: `(from, to)`; `to` may be any address, also on another server.
pub fn ask_alias() -> Result<(String, String), WizardError> {
    need_terminal()?;
    let from = Text::new("Alias address (mail sent here…):")
        .with_help_message("e.g. info@example.org, on a domain of this server")
        .with_validator(check(|s: &str| {
            rule_message(rules::mailbox_address("FROM", s))
        }))
        .prompt()?;
    let from = from.trim().to_string();
    let own = from.clone();
    let to = Text::new("…is delivered to:")
        .with_help_message("a mailbox here or any address elsewhere")
        .with_validator(check(move |s: &str| {
            rule_message(rules::alias_targets("TO", s))?;
            if s.eq_ignore_ascii_case(&own) {
                return Err("an alias cannot point at itself".into());
            }
            Ok(())
        }))
        .prompt()?;
    Ok((from, to.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finishing_comes_first_only_when_unfinished() {
        assert_eq!(choices(true)[0], MenuChoice::FinishInstall);
        assert_eq!(choices(true)[0].to_string(), "Finish the installation");
        assert!(!choices(false).contains(&MenuChoice::FinishInstall));
        assert_eq!(choices(false).len(), MenuChoice::ALL.len());
        assert!(MenuChoice::AddDomain.to_string().contains("first mailbox"));
    }
}
