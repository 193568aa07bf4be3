//! A run of the engine, as every changing command makes one: take the lock, recover an
//! interrupted run, load the answers under the lock, apply, then print the end block. Also the pieces the
//! read-only commands share (the interrupted-run warning, the records to publish).
use super::install;
use super::session::Session;
use crate::error::{self, CliError, CliResult};
use crate::exit;
use crate::ui::{self, out};
use mailstead_answers::Answers;
use mailstead_engine::journal::{self, Record, RunDir, RunId};
use mailstead_engine::{Check, Engine, Host, Observer, Options, Step};

/// Rolls back what a killed run left half-done, before anything else is touched.
/// `Ok(ids)`: the runs recovered (none: none needed); `Err`: stop, with its exit code.
pub fn recover(s: &Session, obs: &mut dyn Observer) -> std::result::Result<Vec<RunId>, CliError> {
    let mut engine = Engine::new(&s.host, obs, s.options());
    let reports = engine
        .recover()
        .map_err(|e| CliError::new(e, exit::BAD_INPUT))?;
    for r in &reports {
        let id = r.id.as_ref().map(|i| i.0.as_str()).unwrap_or("?");
        out::line(format_args!("Recovered interrupted run {id}."));
        ui::print_rollback(r, ui::color_wanted());
        print_by_hand(&r.by_hand);
        if !r.problems.is_empty() {
            // The rollback report above says what needs hand care.
            return Err(CliError::code(exit::ROLLBACK_FAILED));
        }
    }
    Ok(reports.into_iter().filter_map(|r| r.id).collect())
}

/// The commands a rollback's restored steps ran: restoring files does not undo live state.
pub fn print_by_hand(commands: &[String]) {
    if commands.is_empty() {
        return;
    }
    out::line(
        "Not undone by restoring files: these commands may have changed running state (a firewall \
         enabled, the hostname set, a service started); check it by hand:",
    );
    for c in commands {
        out::line(format_args!("  {c}"));
    }
}

/// Says so when a run was interrupted, without touching anything (read-only commands).
pub fn warn_interrupted(s: &Session) {
    for id in journal::list_runs(&s.host, &s.state_dir) {
        if let Ok(run) = RunDir::open(&s.host, &s.state_dir, &id) {
            if let Ok(recs) = run.records() {
                if !recs.iter().any(|r| matches!(r, Record::RunEnd { .. })) {
                    error::warn(format_args!(
                        "run {id} was interrupted; the next `mailstead install` (or any change) rolls back its unfinished step first (all of it for an add-* or remove-* run)"
                    ));
                }
            }
        }
    }
}

/// The install run: the answers given, or (`None`) the answers file read under the lock,
/// which becomes the server's own answers file ([`install::server_answers`]); after the run,
/// says what became of it.
pub fn install(s: &Session, answers: Option<Answers>, next: Next) -> CliResult {
    if let Some(answers) = answers {
        return apply(s, || Ok((answers, Vec::new())), false, next);
    }
    let mut adopted = None;
    let code = apply(
        s,
        || {
            let (loaded, how, saved) = install::server_answers(s)?;
            adopted = Some((how, saved));
            Ok(loaded)
        },
        false,
        next,
    )?;
    if let Some((how, saved)) = &adopted {
        install::say_adopted(s, how, saved.as_deref());
    }
    Ok(code)
}

/// What the end of a run tells beyond its outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// The outcome, and after a failure the command to run next.
    Outcome,
    /// After success, also the whole server's "what next": DNS records, mail client settings.
    Server,
    /// After success, the "what next" for this new domain: its DNS records, client settings.
    Domain(String),
}

/// The answers to apply and the steps to run before the install steps (saving the answers
/// file); read only once the lock is held.
pub type Loaded = (Answers, Vec<Box<dyn Step<Answers>>>);

/// Takes the lock, recovers a killed run, then loads the answers (and `extra` steps) with
/// `load`: a run that ended just before is never undone by answers read before it ended, and
/// a killed run's answers are never applied again. Applies and reports.
pub fn apply(
    s: &Session,
    load: impl FnOnce() -> std::result::Result<Loaded, CliError>,
    atomic: bool,
    next: Next,
) -> CliResult {
    apply_steps(s, load, atomic, true, next)
}

/// [`apply`], with the install steps after the loaded ones only when `with_install`
/// (`dkim rotate` runs its own step alone).
pub fn apply_steps(
    s: &Session,
    load: impl FnOnce() -> std::result::Result<Loaded, CliError>,
    atomic: bool,
    with_install: bool,
    next: Next,
) -> CliResult {
    let mut obs = s.observer();
    // Bad input and refusals change nothing, not even mailstead's own state directory.
    let state_existed = s.host.exists(&s.state_dir);
    // Tests widen the window before the lock here (`cli.before_lock=sleep(MS)`).
    fail::fail_point!("cli.before_lock");
    let lock = Engine::new(&s.host, obs.as_mut(), s.options()).lock()?;
    // A killed run is rolled back before the answers are read: its answers file restored, so
    // this run never applies what the killed one was adding (nor saves it again in an edit).
    recover(s, obs.as_mut())?;
    let (answers, extra) = match load() {
        Ok(loaded) => loaded,
        Err(e) => {
            drop(lock);
            if !state_existed {
                let _ = s.host.remove_all(&s.state_dir);
            }
            return Err(e);
        }
    };
    let answers = &answers;
    let install = if with_install { s.steps() } else { Vec::new() };
    let owned: Vec<Box<dyn Step<Answers>>> = extra.into_iter().chain(install).collect();
    let steps: Vec<&dyn Step<Answers>> = owned.iter().map(|b| b.as_ref()).collect();
    let owned_checks = s.checks();
    let checks: Vec<&dyn Check<Answers>> = owned_checks.iter().map(|b| b.as_ref()).collect();
    let opts = Options {
        atomic,
        ..s.options()
    };
    let report = Engine::new(&s.host, obs.as_mut(), opts).apply(&steps, &checks, answers)?;
    drop(obs);
    if report.id.is_some() {
        // Still under the lock: old runs, and secrets no rollback can use (docs/user/runs.md).
        if let Err(e) = journal::prune(&s.host, &s.state_dir, journal::KEEP_RUNS) {
            error::warn(format_args!("pruning old runs: {e:#}"));
        }
    }
    drop(lock);
    if !state_existed && report.id.is_none() {
        // No run was recorded (refused, or nothing to do): take the lock and runs dir back.
        let _ = s.host.remove_all(&s.state_dir);
    }
    let code = exit::for_outcome(&report.outcome);
    let end = end_of_run(s, report, &next);
    ui::print_end(&end, s.flags.plain);
    Ok(code)
}

/// The end block of a run: the outcome, what stays applied and what was rolled back (from the
/// run's journal), the log, the next command, and after success what to do next.
fn end_of_run(
    s: &Session,
    report: mailstead_engine::engine::RunReport,
    next: &Next,
) -> ui::end::End {
    let mut applied: Vec<(String, usize)> = Vec::new();
    let mut rolled_back: Vec<String> = Vec::new();
    let mut log = None;
    if let Some(id) = &report.id {
        if let Ok(recs) = RunDir::open(&s.host, &s.state_dir, id).and_then(|r| r.records()) {
            for r in recs {
                match r {
                    Record::StepDone { step, changes } => applied.push((step, changes)),
                    Record::StepRolledBack { step, .. } if !rolled_back.contains(&step) => {
                        rolled_back.push(step)
                    }
                    _ => {}
                }
            }
        }
        applied.retain(|(step, _)| !rolled_back.contains(step));
        log = Some(journal::runs_dir(&s.state_dir).join(&id.0).join("log.txt"));
    }
    let what_next = match (next, &report.outcome) {
        (Next::Outcome, _) => None,
        (_, mailstead_engine::Outcome::Done) if !s.flags.demo && s.flags.only.is_empty() => {
            what_next(s, next)
        }
        _ => None,
    };
    ui::end::End {
        report,
        applied,
        rolled_back,
        log,
        next_command: next_command(s),
        what_next,
        planned: ui::summary::take_remembered(),
    }
}

/// The DNS records to publish (all domains, or the new one) and a mailbox for the client
/// settings; `None` when the answers cannot be read after the run.
fn what_next(s: &Session, next: &Next) -> Option<ui::end::WhatNext> {
    let answers = s.load_answers().ok()?;
    let all = dns_published(s, &answers);
    let (dns, domain) = match next {
        Next::Domain(d) => (all.for_domain(d), Some(d.as_str())),
        _ => (Some(all), None),
    };
    let user = answers
        .domains
        .iter()
        .filter(|d| domain.is_none_or(|x| d.name.eq_ignore_ascii_case(x)))
        .flat_map(|d| d.mailboxes.iter())
        .map(|m| m.address.clone())
        .next();
    Some(ui::end::WhatNext {
        dns,
        dns_command: domain.map_or("mailstead dns".into(), |d| format!("mailstead dns {d}")),
        hostname: answers.hostname.clone(),
        user,
        pop3: answers.pop3,
    })
}

/// The one command to run after a failure: the same command again (it picks up where the run
/// stopped; re-running is safe), or `mailstead install` after the wizard saved the answers.
fn next_command(s: &Session) -> String {
    let quote = |a: &str| {
        if !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=@:,+%".contains(c))
        {
            a.to_string()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if s.flags.no_command {
        let mut cmd = "mailstead install".to_string();
        if let Some(c) = &s.flags.config {
            cmd.push_str(&format!(" --config {}", quote(&c.display().to_string())));
        }
        return cmd;
    }
    std::iter::once("mailstead".to_string())
        .chain(args.iter().map(|a| quote(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The run `save` and the install steps would make, planned (nothing changes) and shown on
/// one screen with the question (`d`: the full diffs). `Ok(true)`: the admin said apply.
pub fn plan_confirmed(
    s: &Session,
    save: &mailstead_steps::answers::SaveAnswers,
    answers: &Answers,
) -> std::result::Result<bool, CliError> {
    let owned = s.steps();
    let steps: Vec<&dyn Step<Answers>> = std::iter::once(save as &dyn Step<Answers>)
        .chain(owned.iter().map(|b| b.as_ref()))
        .collect();
    let mut rec = mailstead_engine::event::Recorder::default();
    let plan = Engine::new(&s.host, &mut rec, s.options()).plan(&steps, answers)?;
    Ok(ui::confirm_plan(&plan, answers)?)
}

/// What the records are derived from: the answers, the host's global addresses, its keys
/// (`dns::inputs`, shared with the `dns-records` check).
pub fn dns_published(s: &Session, answers: &Answers) -> mailstead_steps::dns::Published {
    use mailstead_steps::facts::{DkimKeys, PublicAddresses};
    let facts = mailstead_engine::Facts::default();
    let public = facts
        .get::<PublicAddresses>(&s.host)
        .map(|p| (*p).clone())
        .unwrap_or_default();
    let keys = facts.get::<DkimKeys>(&s.host).ok();
    mailstead_steps::dns::published(&mailstead_steps::dns::inputs(
        answers,
        &public,
        keys.as_deref(),
    ))
}
