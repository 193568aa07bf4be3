//! Step `answers`: writes the answers file (0600 root) when a command changed it
//! (add-domain, add-mailbox, the wizard), as part of the same run, so a failed run or a
//! `mailstead rollback` restores it with everything else.
//!
//! A mailbox password is written only as its hash (issue 20): the step refuses answers that
//! still hold a plaintext `password:`, so no caller can write one back by mistake. A relay
//! host's password stays (Postfix needs it as it is); the file is 0600 root.
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::Answers;
use mailstead_engine::{Change, Ctx, Perms, Planned, Step};
use std::path::PathBuf;

pub struct SaveAnswers {
    /// System path of the answers file.
    pub path: PathBuf,
    pub yaml: String,
}

impl Step<Answers> for SaveAnswers {
    fn name(&self) -> &'static str {
        "answers"
    }
    fn about(&self) -> &'static str {
        "save the answers file"
    }
    fn plan(&self, _ctx: &Ctx<Answers>) -> Result<Planned> {
        let answers = mailstead_answers::parse(&self.yaml, &self.path.display().to_string())
            .map_err(|e| eyre!("the answers to save are not valid: {e}"))?;
        if let Some(m) = answers.all_mailboxes().find(|m| m.password.is_some()) {
            return Err(eyre!(
                "refusing to save mailbox {}'s password in plain text (a bug: it is hashed first)",
                m.address
            ));
        }
        Ok(Planned::changes(vec![Change::WriteFile {
            path: self.path.clone(),
            content: if self.yaml.ends_with('\n') {
                self.yaml.clone().into_bytes()
            } else {
                format!("{}\n", self.yaml).into_bytes()
            },
            meta: Perms::root(0o600),
            // It may hold the relay host's password.
            secret: true,
        }]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailstead_answers::{Domain, Mailbox, Secret};
    use mailstead_engine::MemHost;

    fn save(a: &Answers) -> Result<Planned> {
        let host = MemHost::fake();
        let step = SaveAnswers {
            path: "/etc/mailstead/mailstead.yaml".into(),
            yaml: mailstead_answers::to_yaml(a),
        };
        step.plan(&Ctx::new(&host, a))
    }

    #[test]
    fn refuses_a_plaintext_mailbox_password_and_saves_its_hash() {
        let mut a = Answers::new("mail.example.test", "admin@example.test").with_domain(
            Domain::new("example.test").with_mailbox(Mailbox::with_password(
                "alice@example.test",
                Secret::new("a long passphrase for alice"),
            )),
        );
        let err = save(&a).unwrap_err().to_string();
        assert!(err.contains("alice@example.test"), "{err}");
        assert!(!err.contains("passphrase"), "{err}");
        mailstead_answers::edit::hash_passwords(&mut a).unwrap();
        assert_eq!(save(&a).unwrap().changes.len(), 1);
    }
}
