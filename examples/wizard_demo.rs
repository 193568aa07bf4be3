//! Runs the wizard and the prompts in a real terminal. Never prints the password.
//!
//! `cargo run --example wizard_demo [-- menu|mailbox|alias|confirm]`
use mailstead::ui;

/// The answers the menu's questions are checked against: example.test with alice@.
fn demo_answers() -> mailstead_answers::Answers {
    let yaml = "hostname: mail.example.test\nadmin_email: admin@elsewhere.test\ndomains:\n  - name: example.test\n    mailboxes:\n      - address: alice@example.test\n        password: \"an old long passphrase\"\n";
    mailstead_answers::parse(yaml, "demo").expect("demo answers")
}

fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "wizard".into());
    let result: Result<String, ui::wizard::WizardError> = match what.as_str() {
        "menu" => ui::menu::main_menu(std::env::var("DEMO_UNFINISHED").ok().as_deref())
            .map(|c| format!("menu: {c:?}")),
        "domain" => ui::menu::ask_domain(&demo_answers()).map(|d| format!("domain: {d}")),
        "mailbox" => ui::menu::ask_mailbox(&demo_answers(), &[])
            .map(|(a, p)| format!("mailbox: {a} password: {p} ({} chars)", p.expose().len())),
        "alias" => ui::menu::ask_alias(&demo_answers()).map(|(f, t)| format!("alias: {f} -> {t}")),
        "confirm" => ui::summary::ask("Apply these 12 changes?").map(|a| format!("confirm: {a}")),
        "defaults" => {
            let yaml = "hostname: mail.example.test\nadmin_email: admin@elsewhere.test\ndomains:\n  - name: example.test\n    mailboxes:\n      - address: alice@example.test\n        password: \"an old long passphrase\"\n  - name: second.test\nssh:\n  allow_users: [root, alice]\nfirewall:\n  enabled: false\nacme:\n  staging: true\n";
            let defaults = mailstead_answers::parse(yaml, "demo").expect("demo answers");
            ui::wizard::run_wizard(Some(&defaults), &mut || None).map(|a| {
                let pw = a.domains[0].mailboxes[0]
                    .password
                    .as_ref()
                    .map(|p| p.expose() == "an old long passphrase");
                format!("{}kept old password: {pw:?}", ui::wizard::summarize(&a))
            })
        }
        _ => ui::wizard::run_wizard(None, &mut || std::env::var("DEMO_PORT25_BLOCKED").ok()).map(
            |a| {
                let pw = a.domains[0].mailboxes[0]
                    .password
                    .as_ref()
                    .map(|p| p.expose().len());
                format!("{}password length: {pw:?}", ui::wizard::summarize(&a))
            },
        ),
    };
    match result {
        Ok(s) => println!("{s}"),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
