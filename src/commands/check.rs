//! `mailstead check`: pending changes, hand edits, then every check of the server.
use super::flags;
use super::run::warn_interrupted;
use super::session::Session;
use crate::error::CliResult;
use crate::exit;
use crate::ui::out;
use color_eyre::eyre::eyre;
use mailstead_answers::Answers;
use mailstead_engine::{Check, Engine, Finding, Status, Step};

/// Check services, mail flow, defences and deliverability
///
/// Pending changes, hand edits, services, ports, the certificate, DKIM signing, delivery,
/// the relay, the defences (quotas, sending limits, bans), and deliverability (reverse DNS, blocklists, served certificate, renewal hook, queue, disk,
/// the published DNS records). Exit 0 all pass, 5 warnings only, 1 a failure.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  mailstead check
  mailstead check --json | jq '.[] | select(.status != \"pass\")'

DNS is asked of /etc/resolv.conf's nameservers, or of MAILSTEAD_RESOLVER=IP[:PORT] when set.")]
pub struct Args {
    #[command(flatten)]
    pub config: flags::Config,
    /// Print the results as a JSON array of {name, status, detail, fix} (status: pass,
    /// warn or fail; fix: null when it passed), nothing else.
    #[arg(long)]
    pub json: bool,
    // The results are always plain lines; accepted so scripts may pass it as to a run.
    #[arg(long, hide = true)]
    pub plain: bool,
}

pub fn run(s: &Session, json: bool) -> CliResult {
    if !json {
        warn_interrupted(s);
    }
    let answers = s.load_answers()?;
    let owned = s.steps();
    let steps: Vec<&dyn Step<Answers>> = owned.iter().map(|b| b.as_ref()).collect();
    let mut obs = mailstead_engine::event::Recorder::default();
    let plan = Engine::new(&s.host, &mut obs, s.options()).plan(&steps, &answers)?;
    let mut findings: Vec<(String, Finding)> = Vec::new();
    if plan.total() > 0 {
        findings.push((
            "pending".into(),
            Finding::fail(
                format!("{} changes pending", plan.total()),
                "see `mailstead plan`, then `mailstead install`",
            ),
        ));
    }
    for c in plan.drifted() {
        findings.push((
            "hand-edit".into(),
            Finding::warn(
                format!("edited by hand since mailstead wrote it: {}", c.summary),
                "see `mailstead plan`",
            ),
        ));
    }
    // The install's checks, then deliverability (DNS, blocklists, served certificate, queue,
    // disk), which only `check` runs.
    let owned_checks = mailstead_steps::server_checks();
    let checks: Vec<&dyn Check<Answers>> = owned_checks.iter().map(|b| b.as_ref()).collect();
    findings.extend(Engine::new(&s.host, &mut obs, s.options()).check(&checks, &answers));
    if json {
        let list: Vec<serde_json::Value> = findings
            .iter()
            .map(|(name, f)| {
                serde_json::json!({
                    "name": name,
                    "status": status_word(f.status),
                    "detail": f.detail,
                    "fix": f.fix,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&list).map_err(|e| eyre!(e))?;
        out::data(format!("{text}\n").as_bytes())?;
    } else {
        for (name, f) in &findings {
            let mark = match f.status {
                Status::Pass => "✓",
                Status::Warn => "!",
                Status::Fail => "✗",
            };
            match &f.fix {
                Some(fix) => out::line(format_args!("{mark} {name}: {}\n    fix: {fix}", f.detail)),
                None => out::line(format_args!("{mark} {name}: {}", f.detail)),
            }
        }
    }
    let worst = findings.iter().map(|(_, f)| f.status).max();
    Ok(exit::for_check(worst))
}

/// `pass`, `warn` or `fail`: how `check --json` spells a status.
fn status_word(s: Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Warn => "warn",
        Status::Fail => "fail",
    }
}
