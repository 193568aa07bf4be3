//! The add-/remove- commands' shared run: change the answers file, check it by every rule,
//! then apply in one run whose first step saves it (so a failure or `rollback` puts the file
//! back too). And the small helpers the edits share.
use super::run::{apply, Next};
use super::session::Session;
use crate::error::{CliError, CliResult};
use crate::exit;
use color_eyre::eyre::Result;
use mailstead_answers::{self as config, Answers};
use mailstead_engine::Step;

/// Changes the answers file, then applies: the file is written by a step of the same run,
/// so a failure or `rollback` puts it back too.
/// The answers file is read under the lock, so two edits never lose one another.
pub fn edit_answers(s: &Session, edit: impl FnOnce(&mut Answers) -> Result<()>) -> CliResult {
    edit_answers_then(s, edit, Next::Outcome)
}

/// [`edit_answers`], ending with `next`'s block after success.
pub fn edit_answers_then(
    s: &Session,
    edit: impl FnOnce(&mut Answers) -> Result<()>,
    next: Next,
) -> CliResult {
    apply(
        s,
        || {
            let (answers, save) = edited_answers(s, edit)?;
            Ok((answers, vec![Box::new(save) as Box<dyn Step<Answers>>]))
        },
        true,
        next,
    )
}

/// The answers file with `edit` made, checked by every rule, and the step that saves it.
/// Errors (exit 2, nothing changed): the edit's own refusal, or a rule the result breaks.
pub fn edited_answers(
    s: &Session,
    edit: impl FnOnce(&mut Answers) -> Result<()>,
) -> std::result::Result<(Answers, mailstead_steps::answers::SaveAnswers), CliError> {
    let mut answers = s.load_answers()?;
    if let Err(e) = edit(&mut answers) {
        return Err(CliError::new(e, exit::BAD_INPUT).nothing_changed());
    }
    if let Err(e) = config::validate(&answers) {
        return Err(CliError::bad_input(format!(
            "the change would make the answers invalid; nothing was changed:\n{e}"
        )));
    }
    // The saved file holds mailbox passwords as hashes only, those written by hand too.
    config::edit::hash_passwords(&mut answers).map_err(color_eyre::eyre::Report::new)?;
    let save = mailstead_steps::answers::SaveAnswers {
        path: s.config_system_path()?,
        yaml: config::to_yaml(&answers),
    };
    Ok((answers, save))
}
