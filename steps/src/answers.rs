//! Step `answers`: writes the answers file (0600 root) when a command changed it
//! (add-domain, add-mailbox, the wizard), as part of the same run, so a failed run or a
//! `mailstead rollback` restores it with everything else.
use color_eyre::eyre::Result;
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
        Ok(Planned::changes(vec![Change::WriteFile {
            path: self.path.clone(),
            content: if self.yaml.ends_with('\n') {
                self.yaml.clone().into_bytes()
            } else {
                format!("{}\n", self.yaml).into_bytes()
            },
            meta: Perms::root(0o600),
            // It may hold passwords (when the admin wrote them in plain text).
            secret: true,
        }]))
    }
}
