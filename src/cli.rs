//! The commands. Each: load and validate the answers (bad input exits 2 before anything is
//! touched), take the lock, recover an interrupted run, then let the engine work.
use crate::error::{self, CliError, CliResult};
use crate::ui;
use clap::{Parser, Subcommand};
use color_eyre::eyre::{eyre, Result, WrapErr};
use mailstead_answers::{self as config, rules, Answers};
use mailstead_engine::journal::{self, Record, RunDir, RunId};
use mailstead_engine::{Check, Engine, Host, Observer, Options, RealHost, Secret, Step};
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use crate::exit;

#[derive(Parser, Debug)]
#[command(
    name = "mailstead",
    version,
    about = "Turns a fresh Debian server into a working, secure mail server (Postfix, Dovecot, rspamd).",
    long_about = "Turns a fresh Debian 12 or 13 server into a working, secure mail server \
(Postfix, Dovecot, rspamd, fail2ban), and adds domains, mailboxes and aliases later. Without a command: the \
wizard on a fresh server, a menu on a configured one.",
    after_help = "Examples:
  mailstead                                   wizard (fresh server) or menu (configured one)
  mailstead plan                              show what a run would change, as diffs
  mailstead install --config answers.yaml --yes
                                              unattended install from an answers file
  mailstead add-domain example.org
  mailstead add-mailbox alice@example.org --password-stdin < pw.txt
  mailstead add-alias info@example.org alice@example.org,bob@example.org
  mailstead rollback                          undo the newest run
  mailstead completions bash > /usr/share/bash-completion/completions/mailstead
  mailstead man | man -l -

Exit codes: 0 done, 1 a step failed and was rolled back, 2 bad input or refused (nothing \
changed), 3 a rollback could not restore everything, 4 interrupted; `check`: 0 all pass, \
5 warnings only, 1 a failure."
)]
pub struct Args {
    /// Act on a directory tree instead of / (tests): every path lives under DIR and
    /// commands run through `chroot DIR`.
    #[arg(long, global = true, value_name = "DIR", hide = true)]
    pub root: Option<PathBuf>,
    /// The answers file, YAML [default: /etc/mailstead/mailstead.yaml].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ask nothing: refuse to overwrite hand-edited files, roll back interrupted runs.
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// With --yes: overwrite files edited by hand since mailstead wrote them.
    #[arg(long, global = true)]
    pub force: bool,
    /// Plain line-by-line output instead of the live dashboard.
    #[arg(long, global = true)]
    pub plain: bool,
    /// Show every detail (notes, commands).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    /// Run the engine's demo steps (they touch only /etc/demo); for the engine's own tests.
    #[arg(long, global = true, hide = true)]
    pub demo: bool,
    /// Run only these steps (comma-separated names); for tests and debugging.
    #[arg(long, global = true, hide = true, value_delimiter = ',')]
    pub only: Vec<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Configure the server as the answers file says. On a terminal with no answers file (and
    /// neither --config nor --yes), the wizard asks the questions and writes it first.
    #[command(after_help = "Examples:
  mailstead install --config /etc/mailstead/mailstead.yaml --yes
  mailstead install --plain --verbose")]
    Install,
    /// Show every change a run would make, files as diffs. Changes nothing.
    Plan,
    /// Add a mail domain (updates the answers file, then applies).
    #[command(after_help = "Examples:
  mailstead add-domain example.org")]
    AddDomain {
        /// The domain name, e.g. example.org (a DNS name, in lowercase).
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Add a mailbox; the password is asked twice on a terminal, or read from stdin.
    #[command(after_help = "Examples:
  mailstead add-mailbox alice@example.org
  mailstead add-mailbox alice@example.org --password-stdin < pw.txt
  printf '%s\\n' \"$PASSWORD\" | mailstead add-mailbox alice@example.org --password-stdin --yes")]
    AddMailbox {
        /// The mailbox's email address, user@domain (e.g. alice@example.org); the domain
        /// must already be configured (add-domain).
        #[arg(value_name = "ADDRESS")]
        address: String,
        /// Read the password from stdin (one line, at least 12 characters) instead of
        /// asking; it is never taken from the command line. Only its hash is stored.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Add an alias: mail to FROM goes to TO.
    #[command(after_help = "Examples:
  mailstead add-alias info@example.org alice@example.org
  mailstead add-alias team@example.org alice@example.org,bob@example.net")]
    AddAlias {
        /// The alias address, user@domain on a configured domain (e.g. info@example.org);
        /// catch-alls (@example.org) are not supported.
        #[arg(value_name = "FROM")]
        from: String,
        /// Where its mail goes: one address, or several separated by commas
        /// (e.g. alice@example.org,bob@example.net).
        #[arg(value_name = "TO")]
        to: String,
    },
    /// Remove a mail domain (its mail on disk is kept).
    #[command(after_help = "Examples:
  mailstead remove-domain example.org")]
    RemoveDomain {
        /// The configured domain to remove, e.g. example.org.
        #[arg(value_name = "NAME")]
        name: String,
    },
    /// Remove a mailbox (its mail on disk is kept).
    #[command(after_help = "Examples:
  mailstead remove-mailbox alice@example.org")]
    RemoveMailbox {
        /// The mailbox's email address, user@domain (e.g. alice@example.org).
        #[arg(value_name = "ADDRESS")]
        address: String,
    },
    /// Remove an alias.
    #[command(after_help = "Examples:
  mailstead remove-alias info@example.org")]
    RemoveAlias {
        /// The alias address, user@domain (e.g. info@example.org).
        #[arg(value_name = "FROM")]
        from: String,
    },
    /// List runs, newest last: id, status, changes, steps, command line.
    Runs,
    /// Undo a whole run (the newest by default), newest step first.
    #[command(after_help = "Examples:
  mailstead rollback
  mailstead rollback 20261124T211500Z-1234 --purge-packages")]
    Rollback {
        /// The run's id as `mailstead runs` lists it, e.g. 20261124T211500Z-1234
        /// (UTC start time, then the process id) [default: the newest run].
        #[arg(value_name = "RUN")]
        run: Option<String>,
        /// Also purge the packages the run installed.
        #[arg(long)]
        purge_packages: bool,
    },
    /// Roll back what an interrupted run left half-done, and nothing else.
    Recover,
    /// Check the server: pending changes, hand edits, services, ports, the certificate, DKIM
    /// signing, delivery, the relay, the defences (quotas, sending limits, bans), and
    /// deliverability (reverse DNS, blocklists, served certificate, renewal hook, queue, disk,
    /// the published DNS records).
    /// Exit 0 all pass, 5 warnings only, 1 a failure.
    #[command(after_help = "Examples:
  mailstead check
  mailstead check --json | jq '.[] | select(.status != \"pass\")'

DNS is asked of /etc/resolv.conf's nameservers, or of MAILSTEAD_RESOLVER=IP[:PORT] when set.")]
    Check {
        /// Print the results as a JSON array of {name, status, detail, fix} (status: pass,
        /// warn or fail; fix: null when it passed), nothing else.
        #[arg(long)]
        json: bool,
    },
    /// Lift a ban: let ADDRESS reach the mail ports again now (fail2ban bans an address
    /// for an hour after 5 failed IMAP/POP3 logins, or 10 failed SMTP AUTH attempts, within
    /// 10 minutes: Postfix logs each mechanism a client tries, and most try PLAIN then LOGIN,
    /// so that is 5 wrong passwords too; `mailstead check` lists the bans). Exit 2 when
    /// ADDRESS is not an IP address or is not banned.
    #[command(after_help = "Examples:
  mailstead unban 192.0.2.7
  mailstead unban 2001:db8::7")]
    Unban {
        /// The banned address, IPv4 or IPv6, as `mailstead check` lists it (e.g. 192.0.2.7).
        #[arg(value_name = "ADDRESS")]
        address: String,
    },
    /// Print every DNS record to publish for the mail domains (MX, SPF, DKIM, DMARC,
    /// TLS-RPT, SRV, the hostname's A/AAAA and CAA) and the reverse DNS to ask for. Reads only.
    #[command(after_help = "Examples:
  mailstead dns                               every domain, for reading
  mailstead dns example.org --format zone     zone-file lines to paste into a zone
  mailstead dns --format json                 for scripts: {records, ptr, notes}")]
    Dns {
        /// Only this mail domain's records (and the server's own, which every domain needs)
        /// [default: every configured domain].
        #[arg(value_name = "DOMAIN")]
        domain: Option<String>,
        /// zone: RFC 1035 zone-file lines (long TXT split into 255-byte strings);
        /// table: for reading (values whole on one line, for web forms);
        /// json: for scripts.
        #[arg(long, value_enum, default_value_t = DnsFormat::Table)]
        format: DnsFormat,
    },
    /// Try again to get the TLS certificate from the CA, while a temporary self-signed one is
    /// served; once issued, switch Postfix and Dovecot to it (what mailstead-certificate.timer
    /// runs every 15 minutes).
    #[command(after_help = "Examples:
  mailstead retry-certificate --yes --plain
  systemctl start mailstead-certificate          (the same, as the timer runs it)")]
    RetryCertificate,
    /// DKIM keys: `mailstead dkim rotate DOMAIN`.
    #[command(subcommand)]
    Dkim(DkimCommand),
    /// Print shell completions to stdout (prints only; changes nothing).
    #[command(after_help = "Examples:
  mailstead completions bash > /usr/share/bash-completion/completions/mailstead
  mailstead completions zsh > /usr/share/zsh/vendor-completions/_mailstead
  mailstead completions fish > /usr/share/fish/vendor_completions.d/mailstead.fish
  source <(mailstead completions bash)        (this bash session only)")]
    Completions {
        /// The shell to write completions for.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Try it safely: install a whole mail server inside a throwaway Debian server on this
    /// machine (booted in Linux namespaces, as root), then prove it from outside: a message
    /// delivered and read over IMAPS, one sent out DKIM-signed. Removes everything at the end.
    #[command(after_help = "Examples:
  sudo mailstead demo --yes                   generated answers, no questions (about 2-3 minutes)
  sudo mailstead demo                         the wizard, inside the throwaway server
  sudo mailstead demo --release bookworm --keep
  sudo mailstead demo shell                   a shell in a server kept with --keep
  sudo mailstead demo down                    remove it

It installs its host tools with apt-get (it says which first): debootstrap, socat, pebble,
dnsmasq, swaks, python3-aiosmtpd, python3-dkim... The base image is cached in
/var/cache/mailstead-bed; nothing else stays. mailstead never runs against this machine.")]
    Demo {
        /// Debian release of the throwaway server.
        #[arg(long, value_enum, default_value_t = crate::demo::Release::Trixie)]
        release: crate::demo::Release,
        /// Leave the server running at the end (`mailstead demo shell` enters it,
        /// `mailstead demo down` removes it).
        #[arg(long)]
        keep: bool,
        #[command(subcommand)]
        action: Option<crate::demo::DemoAction>,
    },
    /// Print the man page (roff) to stdout (prints only; changes nothing).
    #[command(after_help = "Examples:
  mailstead man | man -l -
  mailstead man > /usr/share/man/man1/mailstead.1")]
    Man,
}

/// `mailstead dkim ...`.
#[derive(Subcommand, Debug)]
pub enum DkimCommand {
    /// Rotate a domain's DKIM key in two runs: the first makes the new key (not signing yet)
    /// and prints its DNS record; the second, once the record is in DNS (looked up, or
    /// confirmed with --published), signs with it. The old key stays on disk: keep its
    /// record published until mail signed with it has arrived (a few days).
    #[command(after_help = "Examples:
  mailstead dkim rotate example.org              (prints the new TXT record to publish)
  mailstead dkim rotate example.org              (once published: signs with the new key)
  mailstead dkim rotate example.org --published  (DNS not visible from here: you confirm)")]
    Rotate {
        /// The configured domain, e.g. example.org.
        #[arg(value_name = "DOMAIN")]
        domain: String,
        /// The new key's record is published: switch without looking it up in DNS.
        #[arg(long)]
        published: bool,
    },
}

struct Session {
    args: Args,
    host: RealHost,
    state_dir: PathBuf,
}

pub fn run(args: Args) -> i32 {
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("/"));
    if !root.is_dir() {
        return error::report(&CliError::bad_input(format!(
            "--root {}: not a directory",
            root.display()
        )));
    }
    let s = Session {
        host: RealHost::new(root),
        state_dir: PathBuf::from(journal::STATE_DIR),
        args,
    };
    mailstead_engine::interrupt::install_handler();
    match dispatch(&s) {
        Ok(code) => code,
        Err(e) => error::report(&e),
    }
}

impl Command {
    /// Commands that only read (their output may go to `head`; a closed pipe ends them quietly).
    pub fn only_reads(&self) -> bool {
        matches!(
            self,
            Command::Plan | Command::Runs | Command::Check { .. } | Command::Dns { .. }
        )
    }
}

fn dispatch(s: &Session) -> CliResult {
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    match &s.args.command {
        None if interactive => interactive_start(s),
        None => Err(CliError::bad_input("no command and no terminal to ask on").with_fix(
            "run `mailstead install --config FILE --yes` with an answers file (see the README), \
             or `mailstead --help`",
        )),
        // On a terminal without an answers file: the wizard writes one (as `--help` says).
        Some(Command::Install)
            if !s.args.yes && !s.config_path().exists() && interactive && s.args.config.is_none() =>
        {
            wizard_install(s)
        }
        Some(Command::Install) => install(s, None, Next::Server),
        Some(Command::Plan) => plan(s),
        Some(Command::AddDomain { name }) => {
            edit_answers_then(s, |a| add_domain(a, name), Next::Domain(name.clone()))
        }
        Some(Command::AddMailbox {
            address,
            password_stdin,
        }) => {
            let password = read_new_password(address, *password_stdin)?;
            edit_answers(s, |a| add_mailbox(a, address, &password))
        }
        Some(Command::AddAlias { from, to }) => edit_answers(s, |a| add_alias(a, from, to)),
        Some(Command::RemoveDomain { name }) => edit_answers(s, |a| remove_domain(a, name)),
        Some(Command::RemoveMailbox { address }) => edit_answers(s, |a| remove_mailbox(a, address)),
        Some(Command::RemoveAlias { from }) => edit_answers(s, |a| remove_alias(a, from)),
        Some(Command::Runs) => runs(s),
        Some(Command::Rollback {
            run,
            purge_packages,
        }) => rollback(s, run.clone().map(RunId), *purge_packages),
        Some(Command::Check { json }) => check(s, *json),
        Some(Command::Unban { address }) => unban(s, address),
        Some(Command::Recover) => {
            let mut obs = s.observer();
            let _lock = Engine::new(&s.host, obs.as_mut(), s.options()).lock()?;
            if recover(s, obs.as_mut())?.is_empty() {
                println!("Nothing to recover.");
            }
            Ok(exit::DONE)
        }
        Some(Command::RetryCertificate) => retry_certificate(s),
        Some(Command::Dkim(DkimCommand::Rotate { domain, published })) => {
            dkim_rotate(s, domain, *published)
        }
        Some(Command::Completions { shell }) => crate::help::completions(*shell),
        Some(Command::Man) => crate::help::man(),
        Some(Command::Dns { domain, format }) => dns(s, domain.as_deref(), *format),
        Some(Command::Demo {
            release,
            keep,
            action,
        }) => crate::demo::run(*action, *release, s.args.yes, *keep),
    }
}

impl Session {
    /// The answers file: `--config` as given, else the default path inside `--root`.
    fn config_path(&self) -> PathBuf {
        match &self.args.config {
            Some(p) => p.clone(),
            None => self.host.real(Path::new(config::DEFAULT_PATH)),
        }
    }

    /// The same file as the Host sees it (a system path), for writing it back.
    fn config_system_path(&self) -> Result<PathBuf> {
        let real = self.config_path();
        let abs = if real.is_absolute() {
            real
        } else {
            std::env::current_dir()?.join(real)
        };
        let root = self.host.root();
        match abs.strip_prefix(root) {
            Ok(rel) => Ok(Path::new("/").join(rel)),
            Err(_) => Err(eyre!(
                "--config {} is outside --root {}; mailstead can only update an answers file inside the tree it manages",
                abs.display(),
                root.display()
            )),
        }
    }

    fn load_answers(&self) -> std::result::Result<Answers, CliError> {
        let path = self.config_path();
        if !path.exists() {
            return Err(
                CliError::bad_input(format!("no answers file at {}", path.display())).with_fix(
                    "write one (see the README's \"Answers file\"), pass --config FILE, \
                     or run `mailstead` on a terminal for the wizard",
                ),
            );
        }
        config::load(&path).map_err(|e| {
            CliError::bad_input(format!(
                "{} is not valid; nothing was changed:\n{e}",
                path.display()
            ))
        })
    }

    fn options(&self) -> Options {
        Options {
            state_dir: self.state_dir.clone(),
            yes: self.args.yes,
            force: self.args.force,
            command_line: command_line(),
            invoking_users: invoking_users(),
            unguarded: self.config_system_path().into_iter().collect(),
            atomic: false,
        }
    }

    /// The checks that run after an install and in `mailstead check`: none for the demo
    /// steps or a partial run (`--only`), whose server is not meant to work yet.
    fn checks(&self) -> Vec<Box<dyn Check<Answers>>> {
        if self.args.demo || !self.args.only.is_empty() {
            Vec::new()
        } else {
            mailstead_steps::install_checks()
        }
    }

    fn steps(&self) -> Vec<Box<dyn Step<Answers>>> {
        let all = if self.args.demo {
            mailstead_steps::demo::steps()
        } else {
            mailstead_steps::install_steps()
        };
        all.into_iter()
            .filter(|s| self.args.only.is_empty() || self.args.only.iter().any(|o| o == s.name()))
            .collect()
    }

    fn observer(&self) -> Box<dyn Observer> {
        ui::observer(self.args.plain, self.args.verbose)
    }
}

/// The command line for the journal. mailstead takes no secrets in argv, so it is safe.
fn command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// The user running mailstead and the one behind sudo: never locked out of SSH.
fn invoking_users() -> Vec<String> {
    let mut users = Vec::new();
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    if let Ok(passwd) = std::fs::read_to_string("/etc/passwd") {
        if let Some(name) = passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
        }) {
            users.push(name);
        }
    }
    if let Ok(sudo_user) = std::env::var("SUDO_USER") {
        if !sudo_user.is_empty() && !users.contains(&sudo_user) {
            users.push(sudo_user);
        }
    }
    users
}

/// Rolls back what a killed run left half-done, before anything else is touched.
/// `Ok(ids)`: the runs recovered (none: none needed); `Err`: stop, with its exit code.
fn recover(s: &Session, obs: &mut dyn Observer) -> std::result::Result<Vec<RunId>, CliError> {
    let mut engine = Engine::new(&s.host, obs, s.options());
    let reports = engine
        .recover()
        .map_err(|e| CliError::new(e, exit::BAD_INPUT))?;
    for r in &reports {
        let id = r.id.as_ref().map(|i| i.0.as_str()).unwrap_or("?");
        println!("Recovered interrupted run {id}.");
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
fn print_by_hand(commands: &[String]) {
    if commands.is_empty() {
        return;
    }
    println!(
        "Not undone by restoring files: these commands may have changed running state (a firewall \
         enabled, the hostname set, a service started); check it by hand:"
    );
    for c in commands {
        println!("  {c}");
    }
}

/// Says so when a run was interrupted, without touching anything (read-only commands).
fn warn_interrupted(s: &Session) {
    for id in journal::list_runs(&s.host, &s.state_dir) {
        if let Ok(run) = RunDir::open(&s.host, &s.state_dir, &id) {
            if let Ok(recs) = run.records() {
                if !recs.iter().any(|r| matches!(r, Record::RunEnd { .. })) {
                    error::warn(format_args!(
                        "run {id} was interrupted; the next `mailstead install` (or any change) rolls its unfinished step back first"
                    ));
                }
            }
        }
    }
}

fn install(s: &Session, answers: Option<Answers>, next: Next) -> CliResult {
    apply(
        s,
        || {
            let answers = match answers {
                Some(a) => a,
                None => s.load_answers()?,
            };
            Ok((answers, Vec::new()))
        },
        false,
        next,
    )
}

/// What the end of a run tells beyond its outcome.
#[derive(Debug, Clone, PartialEq)]
enum Next {
    /// The outcome, and after a failure the command to run next.
    Outcome,
    /// After success, also the whole server's "what next": DNS records, mail client settings.
    Server,
    /// After success, the "what next" for this new domain: its DNS records, client settings.
    Domain(String),
}

/// The answers to apply and the steps to run before the install steps (saving the answers
/// file); read only once the lock is held.
type Loaded = (Answers, Vec<Box<dyn Step<Answers>>>);

/// Takes the lock, then loads the answers (and `extra` steps) with `load`: a run that ended
/// just before is never undone by answers read before it ended. Applies and reports.
fn apply(
    s: &Session,
    load: impl FnOnce() -> std::result::Result<Loaded, CliError>,
    atomic: bool,
    next: Next,
) -> CliResult {
    apply_steps(s, load, atomic, true, next)
}

/// [`apply`], with the install steps after the loaded ones only when `with_install`
/// (`dkim rotate` runs its own step alone).
fn apply_steps(
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
    recover(s, obs.as_mut())?;
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
    drop(lock);
    if !state_existed && report.id.is_none() {
        // No run was recorded (refused, or nothing to do): take the lock and runs dir back.
        let _ = s.host.remove_all(&s.state_dir);
    }
    let code = exit::for_outcome(&report.outcome);
    let end = end_of_run(s, report, &next);
    ui::print_end(&end, s.args.plain);
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
        (_, mailstead_engine::Outcome::Done) if !s.args.demo && s.args.only.is_empty() => {
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
        dns: dns
            .map(|p| mailstead_steps::dns::render_summary(&p, ui::dns_width().saturating_sub(3))),
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
    if s.args.command.is_none() {
        let mut cmd = "mailstead install".to_string();
        if let Some(c) = &s.args.config {
            cmd.push_str(&format!(" --config {}", quote(&c.display().to_string())));
        }
        return cmd;
    }
    std::iter::once("mailstead".to_string())
        .chain(args.iter().map(|a| quote(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// certbot alone first (no run is recorded for an attempt that fails: the timer tries every
/// 15 minutes); once the certificate exists, the install again, which switches Postfix and
/// Dovecot to it (one reload each) and removes the timer.
fn retry_certificate(s: &Session) -> CliResult {
    use mailstead_steps::tls::retry::{obtain, RetryError};
    let answers = s.load_answers()?;
    match obtain(&s.host, &answers, &mut |line| println!("{line}")) {
        Ok(_) => {}
        Err(RetryError::Probe(e)) => return Err(e.into()),
        Err(RetryError::NoChallenge(why)) => return Err(CliError::bad_input(why).nothing_changed()),
        Err(RetryError::Start { cmd, error }) => {
            return Err(color_eyre::Report::new(error)
                .wrap_err(format!("starting `{cmd}`"))
                .into())
        }
        Err(RetryError::Failed(why)) => {
            return Err(CliError::new(eyre!("{why}"), exit::FAILED_ROLLED_BACK).nothing_changed())
        }
    }
    install(s, Some(answers), Next::Outcome)
}

/// `mailstead unban ADDRESS`: `fail2ban-client unban ADDRESS` (fail2ban-client(1)), which
/// lifts the address's bans in every jail and prints in how many. Bad input (not one IP
/// address) and an address no jail bans exit 2, changing nothing.
fn unban(s: &Session, address: &str) -> CliResult {
    use mailstead_steps::bans::unban::{unban, UnbanError};
    let ip = rules::ip_address("ADDRESS", address).map_err(|p| {
        CliError::bad_input(format!("{}: {}", p.field, p.message))
            .with_fix(p.fix)
            .nothing_changed()
    })?;
    let e = match unban(&s.host, ip) {
        Ok(done) => {
            println!("{}", done.message());
            return Ok(exit::DONE);
        }
        Err(e) => e,
    };
    let (message, fix) = (e.message(), e.fix());
    Err(match e {
        UnbanError::Start(error) => color_eyre::Report::new(error).wrap_err(message).into(),
        UnbanError::NotBanned(_) => CliError::bad_input(message)
            .with_fix(fix.unwrap_or_default())
            .nothing_changed(),
        UnbanError::Failed { .. } | UnbanError::Unexpected { .. } => {
            let err = CliError::failed(eyre!("{message}"));
            match fix {
                Some(fix) => err.with_fix(fix),
                None => err,
            }
        }
    })
}

fn plan(s: &Session) -> CliResult {
    warn_interrupted(s);
    let answers = s.load_answers()?;
    let owned = s.steps();
    let steps: Vec<&dyn Step<Answers>> = owned.iter().map(|b| b.as_ref()).collect();
    let mut obs = mailstead_engine::event::Recorder::default();
    let plan = Engine::new(&s.host, &mut obs, s.options()).plan(&steps, &answers)?;
    ui::print_plan(&plan, ui::color_wanted());
    if s.args.verbose {
        print!("{}", ui::render_probes(&plan));
    }
    Ok(exit::DONE)
}

fn check(s: &Session, json: bool) -> CliResult {
    use mailstead_engine::{Finding, Status};
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
        println!(
            "{}",
            serde_json::to_string_pretty(&list).map_err(|e| eyre!(e))?
        );
    } else {
        for (name, f) in &findings {
            let mark = match f.status {
                Status::Pass => "✓",
                Status::Warn => "!",
                Status::Fail => "✗",
            };
            match &f.fix {
                Some(fix) => println!("{mark} {name}: {}\n    fix: {fix}", f.detail),
                None => println!("{mark} {name}: {}", f.detail),
            }
        }
    }
    let worst = findings.iter().map(|(_, f)| f.status).max();
    Ok(exit::for_check(worst))
}

/// `pass`, `warn` or `fail`: how `check --json` spells a status.
fn status_word(s: mailstead_engine::Status) -> &'static str {
    match s {
        mailstead_engine::Status::Pass => "pass",
        mailstead_engine::Status::Warn => "warn",
        mailstead_engine::Status::Fail => "fail",
    }
}

fn runs(s: &Session) -> CliResult {
    let ids = journal::list_runs(&s.host, &s.state_dir);
    if ids.is_empty() {
        println!("No runs yet.");
    }
    for id in journal::list_run_dirs(&s.host, &s.state_dir) {
        if !ids.contains(&id) {
            println!("{id}  no journal: not a run mailstead can read (ignored)");
            continue;
        }
        let recs = match RunDir::open(&s.host, &s.state_dir, &id).and_then(|r| r.records()) {
            Ok(r) => r,
            Err(e) => {
                println!("{id}  unreadable journal: {e:#}");
                continue;
            }
        };
        let mut status = "in progress or interrupted".to_string();
        let mut changes = 0;
        let mut steps = Vec::new();
        let mut command = String::new();
        for r in &recs {
            match r {
                Record::RunStart { command: c, .. } => command = c.clone(),
                Record::StepDone { step, changes: n } => {
                    changes += n;
                    steps.push(step.clone());
                }
                Record::RunEnd { status: st, .. } => status = st.clone(),
                Record::RunRolledBack { .. } => status = "rolled back".into(),
                _ => {}
            }
        }
        println!(
            "{id}  {status:<12} {changes:>3} changes  steps: {}  `{command}`",
            if steps.is_empty() {
                "-".to_string()
            } else {
                steps.join(",")
            }
        );
    }
    Ok(exit::DONE)
}

fn rollback(s: &Session, id: Option<RunId>, purge: bool) -> CliResult {
    let mut obs = s.observer();
    let _lock = Engine::new(&s.host, obs.as_mut(), s.options()).lock()?;
    let recovered = recover(s, obs.as_mut())?;
    // `rollback` names the newest run: when that one was just recovered, its recovery is its
    // rollback (with whatever steps it finished), and the run before it stays as it is.
    let newest = journal::list_runs(&s.host, &s.state_dir).pop();
    let id = match (id, newest) {
        (None, Some(newest)) if recovered.contains(&newest) => {
            let recs = RunDir::open(&s.host, &s.state_dir, &newest)?.records()?;
            if !recs.iter().any(|r| matches!(r, Record::StepDone { .. })) {
                // Nothing of it is left applied: it is rolled back.
                println!("Run {newest} was interrupted and is now rolled back; no other run was touched.");
                return Ok(exit::DONE);
            }
            Some(newest)
        }
        (id, _) => id,
    };
    let report = match Engine::new(&s.host, obs.as_mut(), s.options()).rollback_run(id, purge) {
        Ok(r) => r,
        Err(e) => {
            drop(obs);
            return Err(CliError::new(
                e.wrap_err("nothing was rolled back"),
                exit::BAD_INPUT,
            ));
        }
    };
    drop(obs);
    ui::print_rollback(&report, ui::color_wanted());
    print_by_hand(&report.by_hand);
    if !report.problems.is_empty() {
        return Ok(exit::ROLLBACK_FAILED);
    }
    Ok(exit::DONE)
}

/// Changes the answers file, then applies: the file is written by a step of the same run,
/// so a failure or `rollback` puts it back too.
/// The answers file is read under the lock, so two edits never lose one another.
fn edit_answers(s: &Session, edit: impl FnOnce(&mut Answers) -> Result<()>) -> CliResult {
    edit_answers_then(s, edit, Next::Outcome)
}

/// [`edit_answers`], ending with `next`'s block after success.
fn edit_answers_then(
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
fn edited_answers(
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
    let save = mailstead_steps::answers::SaveAnswers {
        path: s.config_system_path()?,
        yaml: config::to_yaml(&answers),
    };
    Ok((answers, save))
}

/// One input rule from `mailstead_answers::rules`, as an error for `edit_answers`.
fn rule(r: std::result::Result<(), mailstead_answers::Problem>) -> Result<()> {
    r.map_err(|p| eyre!("{p}"))
}

fn find_domain<'a>(a: &'a mut Answers, name: &str) -> Result<&'a mut config::Domain> {
    let known: Vec<String> = a.domains.iter().map(|d| d.name.clone()).collect();
    a.domains
        .iter_mut()
        .find(|d| d.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| eyre!("no domain {name} (domains: {})", known.join(", ")))
}

fn domain_of(address: &str) -> Result<&str> {
    address
        .rsplit_once('@')
        .map(|(_, d)| d)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| eyre!("{address:?} is not an email address (write it as user@example.test)"))
}

fn add_domain(a: &mut Answers, name: &str) -> Result<()> {
    rule(rules::domain("NAME", name))?;
    if a.domains.iter().any(|d| d.name.eq_ignore_ascii_case(name)) {
        return Err(eyre!("domain {name} is already configured"));
    }
    a.domains.push(config::Domain {
        name: name.to_string(),
        mailboxes: vec![],
        aliases: vec![],
        default_aliases: true,
    });
    Ok(())
}

fn add_mailbox(a: &mut Answers, address: &str, password: &Secret) -> Result<()> {
    rule(rules::mailbox_address("ADDRESS", address))?;
    rule(rules::password("password", password))?;
    let domain = find_domain(a, domain_of(address)?)?;
    if domain
        .mailboxes
        .iter()
        .any(|m| m.address.eq_ignore_ascii_case(address))
    {
        return Err(eyre!("mailbox {address} already exists"));
    }
    domain.mailboxes.push(config::Mailbox {
        address: address.to_string(),
        password: None,
        // Only the hash is ever written to disk.
        password_hash: Some(mailstead_steps::mailboxes::hash_password(
            password.expose(),
        )?),
        quota: None,
    });
    Ok(())
}

fn add_alias(a: &mut Answers, from: &str, to: &str) -> Result<()> {
    rule(rules::mailbox_address("FROM", from))?;
    rule(rules::alias_targets("TO", to))?;
    let domain = find_domain(a, domain_of(from)?)?;
    if domain
        .aliases
        .iter()
        .any(|x| x.from.eq_ignore_ascii_case(from))
    {
        return Err(eyre!("alias {from} already exists (remove it first)"));
    }
    domain.aliases.push(config::Alias {
        from: from.to_string(),
        to: to.to_string(),
    });
    Ok(())
}

fn remove_domain(a: &mut Answers, name: &str) -> Result<()> {
    rule(rules::domain("NAME", name))?;
    find_domain(a, name)?;
    a.domains.retain(|d| !d.name.eq_ignore_ascii_case(name));
    Ok(())
}

fn remove_mailbox(a: &mut Answers, address: &str) -> Result<()> {
    rule(rules::mailbox_address("ADDRESS", address))?;
    let domain = find_domain(a, domain_of(address)?)?;
    let n = domain.mailboxes.len();
    domain
        .mailboxes
        .retain(|m| !m.address.eq_ignore_ascii_case(address));
    if domain.mailboxes.len() == n {
        return Err(eyre!("no mailbox {address}"));
    }
    Ok(())
}

fn remove_alias(a: &mut Answers, from: &str) -> Result<()> {
    rule(rules::mailbox_address("FROM", from))?;
    let domain = find_domain(a, domain_of(from)?)?;
    let n = domain.aliases.len();
    domain
        .aliases
        .retain(|x| !x.from.eq_ignore_ascii_case(from));
    if domain.aliases.len() == n {
        return Err(eyre!("no alias {from}"));
    }
    Ok(())
}

/// A new mailbox password: from stdin with `--password-stdin`, else asked twice on the
/// terminal. Never from argv.
fn read_new_password(address: &str, from_stdin: bool) -> std::result::Result<Secret, CliError> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_to_string(&mut line)
            .wrap_err("reading the password from stdin")?;
        let pw = line.trim_end_matches(['\n', '\r']).to_string();
        if pw.is_empty() {
            return Err(CliError::bad_input("--password-stdin: stdin was empty")
                .with_fix("pipe the password in"));
        }
        let pw = Secret::new(pw);
        // The same rule as the answers file's `password`, before anything is read or written.
        if let Err(p) = rules::password("password", &pw) {
            return Err(CliError::bad_input(p).nothing_changed());
        }
        return Ok(pw);
    }
    ui::menu::ask_password(address).map_err(|e| {
        CliError::new(e, exit::BAD_INPUT)
            .with_fix("on a terminal the password is asked twice; elsewhere use --password-stdin")
    })
}

/// No command on a terminal: the wizard on a fresh server, the menu on a configured one.
fn interactive_start(s: &Session) -> CliResult {
    let configured = s.config_path().exists();
    if !configured {
        return wizard_install(s);
    }
    interactive_menu(s)
}

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
/// its first step).
fn wizard_install(s: &Session) -> CliResult {
    {
        let probe = probe_outbound_25(s.host.root().to_path_buf());
        let mut probe = Some(probe);
        let mut blocked = move || probe.take().and_then(|h| h.join().ok()).flatten();
        let mut answers = ui::wizard::run_wizard(None, &mut blocked)?;
        // The saved answers hold hashes only; the typed passwords go no further than here.
        for d in &mut answers.domains {
            for m in &mut d.mailboxes {
                if let Some(pw) = m.password.take() {
                    m.password_hash = Some(mailstead_steps::mailboxes::hash_password(pw.expose())?);
                }
            }
        }
        let save = mailstead_steps::answers::SaveAnswers {
            path: s.config_system_path()?,
            yaml: config::to_yaml(&answers),
        };
        eprintln!("\nYour answers:\n{}", ui::wizard::summarize(&answers));
        if !plan_confirmed(s, &save, &answers)? {
            println!("Nothing was changed.");
            return Ok(exit::BAD_INPUT);
        }
        apply(
            s,
            move || Ok((answers, vec![Box::new(save) as Box<dyn Step<Answers>>])),
            false,
            Next::Server,
        )
    }
}

/// The run `save` and the install steps would make, planned (nothing changes) and shown on
/// one screen with the question (`d`: the full diffs). `Ok(true)`: the admin said apply.
fn plan_confirmed(
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

/// The menu of a configured server. It comes back after an action that went well (as a
/// menu does), and ends with the exit code of one that did not (its end block says what to
/// do next) or with Quit / Esc.
fn interactive_menu(s: &Session) -> CliResult {
    loop {
        match menu_action(s)? {
            MENU_QUIT => return Ok(exit::DONE),
            exit::DONE => eprintln!(),
            code => return Ok(code),
        }
    }
}

/// One choice of the menu, done. Quit ends the loop through [`MENU_QUIT`].
fn menu_action(s: &Session) -> CliResult {
    use ui::menu::MenuChoice;
    let unfinished = unfinished_install(s);
    match ui::menu::main_menu(unfinished.as_deref())? {
        MenuChoice::FinishInstall => install(s, None, Next::Server),
        MenuChoice::AddDomain => {
            // The domain, then its first mailbox (postmaster@ and abuse@ go to it), in one
            // run; then that domain's DNS records.
            let d = ui::menu::ask_domain()?;
            let (addr, pw) = ui::menu::ask_mailbox(std::slice::from_ref(&d))?;
            eprintln!("postmaster@{d} and abuse@{d} will go to {addr} (RFC 2142).");
            edit_answers_confirmed(
                s,
                |a| {
                    add_domain(a, &d)?;
                    add_mailbox(a, &addr, &pw)
                },
                Next::Domain(d.clone()),
            )
        }
        MenuChoice::AddMailbox => {
            let domains: Vec<String> = s
                .load_answers()?
                .domains
                .iter()
                .map(|d| d.name.clone())
                .collect();
            let (addr, pw) = ui::menu::ask_mailbox(&domains)?;
            edit_answers_confirmed(s, |a| add_mailbox(a, &addr, &pw), Next::Outcome)
        }
        MenuChoice::AddAlias => {
            let (from, to) = ui::menu::ask_alias()?;
            edit_answers_confirmed(s, |a| add_alias(a, &from, &to), Next::Outcome)
        }
        MenuChoice::Check => check(s, false).map(|_| exit::DONE),
        MenuChoice::Plan => plan(s),
        MenuChoice::Rollback => rollback(s, None, false),
        MenuChoice::Runs => runs(s),
        MenuChoice::Quit => Ok(MENU_QUIT),
    }
}

/// Not an exit code anyone sees: the menu's Quit, turned into [`exit::DONE`] by
/// [`interactive_menu`].
const MENU_QUIT: i32 = -1;

/// [`edit_answers_then`] for the menu: the edit is planned first and shown on one screen with
/// the question (`d`: the diffs), as the wizard's install is; nothing changes on `n` or Esc.
fn edit_answers_confirmed(
    s: &Session,
    edit: impl FnOnce(&mut Answers) -> Result<()>,
    next: Next,
) -> CliResult {
    let (answers, save) = edited_answers(s, edit)?;
    if !plan_confirmed(s, &save, &answers)? {
        println!("Nothing was changed.");
        return Ok(exit::DONE);
    }
    apply(
        s,
        move || Ok((answers, vec![Box::new(save) as Box<dyn Step<Answers>>])),
        true,
        next,
    )
}

/// Why the first installation has not finished, when no run has ever ended well and the
/// newest one failed or was stopped: `the last run (ID) failed in step tls`. `None` otherwise.
fn unfinished_install(s: &Session) -> Option<String> {
    let ids = journal::list_runs(&s.host, &s.state_dir);
    let mut newest: Option<(RunId, Option<String>, Option<String>)> = None;
    for id in ids {
        let recs = RunDir::open(&s.host, &s.state_dir, &id)
            .and_then(|r| r.records())
            .ok()?;
        let status = recs.iter().find_map(|r| match r {
            Record::RunEnd { status, .. } => Some(status.clone()),
            _ => None,
        });
        if status.as_deref() == Some("ok") {
            return None;
        }
        let failed_step = recs.iter().find_map(|r| match r {
            Record::StepFailed { step, .. } => Some(step.clone()),
            _ => None,
        });
        newest = Some((id, status, failed_step));
    }
    let (id, status, step) = newest?;
    let what = match status.as_deref() {
        Some("refused") => "was refused",
        Some("failed") => "failed",
        _ => "was stopped",
    };
    Some(match step {
        Some(step) => format!("the last run ({id}) {what} in step {step}"),
        None => format!("the last run ({id}) {what}"),
    })
}

// ---- `mailstead dns`: the records to publish (steps/src/dns.rs builds and renders them) ----

/// How `mailstead dns` prints the records.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsFormat {
    Zone,
    Table,
    Json,
}

/// What the records are derived from: the answers, the host's global addresses, its keys
/// (`dns::inputs`, shared with the `dns-records` check).
fn dns_published(s: &Session, answers: &Answers) -> mailstead_steps::dns::Published {
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

/// `mailstead dns [DOMAIN] [--format zone|table|json]`: prints, changes nothing.
fn dns(s: &Session, domain: Option<&str>, format: DnsFormat) -> CliResult {
    let answers = s.load_answers()?;
    let all = dns_published(s, &answers);
    let p = match domain {
        None => all,
        Some(d) => all.for_domain(d).ok_or_else(|| {
            CliError::bad_input(format!(
                "DOMAIN: {d:?} is not a configured mail domain (configured: {})",
                answers
                    .domains
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .with_fix(format!(
                "name one of them, or add it first: `mailstead add-domain {d}`"
            ))
        })?,
    };
    if format != DnsFormat::Table {
        for d in &p.missing_dkim {
            error::warn(format_args!(
                "{d}: no DKIM key yet, so its DKIM record is left out (run `mailstead install`)"
            ));
        }
    }
    let text = match format {
        DnsFormat::Zone => mailstead_steps::dns::render_zone(&p),
        DnsFormat::Table => mailstead_steps::dns::render_table(&p, ui::dns_width()),
        DnsFormat::Json => mailstead_steps::dns::render_json(&p),
    };
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Ok(exit::DONE)
}

// --- `mailstead dkim rotate DOMAIN [--published]` (the DKIM signer) ---

/// Phase 1 makes the next key and prints its record; phase 2 (a newer key waits) looks the
/// record up in DNS (or takes `--published`) and switches signing to it. Both are runs of the
/// engine (`signer::Rotate`), journaled and rolled back on failure.
fn dkim_rotate(s: &Session, domain: &str, published: bool) -> CliResult {
    use mailstead_steps::signer::rotate::{finish, prepare, Prepared, RotateError};
    let answers = s.load_answers()?;
    let prepared = match prepare(&s.host, &answers, domain, published) {
        Ok(p) => p,
        Err(RotateError::UnknownDomain(d)) => {
            let (message, fix) = RotateError::unknown_domain(&d);
            return Err(CliError::bad_input(message).with_fix(fix));
        }
        Err(RotateError::Probe(e)) => return Err(CliError::new(e, exit::FAILED_ROLLED_BACK)),
    };
    let (step, state) = match prepared {
        Prepared::Publish { said } => {
            println!("{said}");
            return Ok(exit::BAD_INPUT);
        }
        Prepared::Apply { step, state, said } => {
            for line in said {
                println!("{line}");
            }
            (step, state)
        }
    };
    let code = apply_steps(
        s,
        || Ok((answers, vec![Box::new(step) as Box<dyn Step<Answers>>])),
        true,
        false,
        Next::Outcome,
    )?;
    if code != exit::DONE {
        return Ok(code);
    }
    if let Some(said) =
        finish(&s.host, domain, &state).map_err(|e| CliError::new(e, exit::FAILED_ROLLED_BACK))?
    {
        println!("{said}");
    }
    Ok(code)
}
