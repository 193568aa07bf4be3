//! The wizard's install: the questions, then the plan on one screen and the question, then
//! the run (its first step saves the answers).
use super::run::{apply, plan_confirmed, Next};
use super::session::Session;
use crate::error::CliResult;
use crate::exit;
use crate::ui::{self, out};
use mailstead_answers::{self as config, Answers};
use mailstead_engine::{Host, RealHost, Step};
use std::path::PathBuf;

/// Whether outbound port 25 is blocked, probed in the background (DNS, then TCP to the big
/// providers' MX, 5 s at most: `deliverability::outbound_25`) while the first questions are
/// answered; joined when the wizard reaches the relay question.
fn probe_outbound_25(root: PathBuf) -> std::thread::JoinHandle<Option<String>> {
    std::thread::spawn(move || {
        use mailstead_engine::Fact;
        use mailstead_steps::deliverability::{self as dv, Outcome};
        let host = RealHost::new(root);
        let dns = mailstead_steps::resolver::Dns::probe(&host).ok()?;
        let r = dns.resolver().ok()?;
        match dv::outbound_25(r, dv::PROVIDERS, dv::OUTBOUND_TIMEOUT, dv::tcp_connect) {
            Outcome::Problem(p) => Some(p.detail),
            Outcome::Ok(_) | Outcome::Unknown(_) => None,
        }
    })
}

/// The wizard, then the plan on one screen and the question, then the run (answers saved by
/// its first step). `defaults`: the suggestions (`install --defaults FILE`).
pub fn install(s: &Session, defaults: Option<&Answers>) -> CliResult {
    let probe = probe_outbound_25(s.host.root().to_path_buf());
    let mut probe = Some(probe);
    let mut blocked = move || probe.take().and_then(|h| h.join().ok()).flatten();
    let mut answers = ui::wizard::run_wizard(defaults, &mut blocked)?;
    // The saved answers hold hashes only; the typed passwords go no further than here.
    mailstead_answers::edit::hash_passwords(&mut answers).map_err(color_eyre::eyre::Report::new)?;
    let save = mailstead_steps::answers::SaveAnswers {
        path: s.config_system_path()?,
        yaml: config::to_yaml(&answers),
    };
    out::err_line(format_args!(
        "\nYour answers:\n{}",
        ui::wizard::summarize(&answers)
    ));
    if !plan_confirmed(s, &save, &answers)? {
        out::line("Nothing was changed.");
        return Ok(exit::BAD_INPUT);
    }
    apply(
        s,
        move || Ok((answers, vec![Box::new(save) as Box<dyn Step<Answers>>])),
        false,
        Next::Server,
    )
}
