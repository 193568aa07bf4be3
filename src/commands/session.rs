//! The session a command works in: the flags it was given (the top level's and its own,
//! merged), the host it acts on and mailstead's state directory, and what every command
//! derives from them: the answers file, the engine's options, the steps, the observer.
use super::flags;
use crate::error::CliError;
use crate::ui;
use color_eyre::eyre::{eyre, Result};
use mailstead_answers::{self as config, Answers};
use mailstead_engine::{Check, Host, Observer, Options, RealHost, Step};
use std::path::{Path, PathBuf};

/// The flags that shape a command's work, whether written before the command
/// (`mailstead --yes install`) or after it (`mailstead install --yes`).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// The answers file (`--config`); `None`: the default path inside the root.
    pub config: Option<PathBuf>,
    pub yes: bool,
    pub force: bool,
    pub plain: bool,
    pub verbose: bool,
    /// The engine's demo steps instead of the install (`--demo`, tests only).
    pub demo: bool,
    /// Only these steps (`--only`, tests and debugging).
    pub only: Vec<String>,
    /// No command was given: the wizard or the menu is what runs.
    pub no_command: bool,
}

impl Flags {
    /// Adds a command's `--config` (it wins over the top level's).
    pub fn config(&mut self, c: &flags::Config) -> &mut Flags {
        if c.config.is_some() {
            self.config = c.config.clone();
        }
        self
    }

    /// Adds a command's `--plain` and `--verbose`.
    pub fn output(&mut self, o: &flags::Output) -> &mut Flags {
        self.plain |= o.plain;
        self.verbose |= o.verbose;
        self
    }

    /// Adds a changing command's `--config`, `--yes`, `--force`, `--plain`, `--verbose`.
    pub fn apply(&mut self, a: &flags::Apply) -> &mut Flags {
        self.yes |= a.yes;
        self.force |= a.force;
        self.config(&a.config).output(&a.output)
    }
}

pub struct Session {
    pub flags: Flags,
    pub host: RealHost,
    pub state_dir: PathBuf,
}

impl Session {
    /// The answers file: `--config` as given, else the default path inside `--root`.
    pub fn config_path(&self) -> PathBuf {
        match &self.flags.config {
            Some(p) => p.clone(),
            None => self.host.real(Path::new(config::DEFAULT_PATH)),
        }
    }

    /// The server's own answers file inside `--root` (`/etc/mailstead/mailstead.yaml`),
    /// whatever `--config` says: the one configuration an installed server has.
    pub fn server_config_path(&self) -> PathBuf {
        self.host.real(Path::new(config::DEFAULT_PATH))
    }

    /// Whether the answers file ([`Session::config_path`]) is the server's own: no
    /// `--config`, or one naming that file (by any path: compared after resolving links).
    pub fn config_is_server_file(&self) -> bool {
        let given = self.config_path();
        let server = self.server_config_path();
        match (
            std::fs::canonicalize(&given),
            std::fs::canonicalize(&server),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => {
                let abs = |p: &Path| std::env::current_dir().map(|d| d.join(p)).ok();
                self.flags.config.is_none() || abs(&given) == abs(&server)
            }
        }
    }

    /// The same file as the Host sees it (a system path), for writing it back.
    pub fn config_system_path(&self) -> Result<PathBuf> {
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

    pub fn load_answers(&self) -> std::result::Result<Answers, CliError> {
        let path = self.config_path();
        if !path.exists() {
            return Err(
                CliError::bad_input(format!("no answers file at {}", path.display())).with_fix(
                    "write one (see the README's \"The answers file\"), pass --config FILE, \
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

    pub fn options(&self) -> Options {
        Options {
            state_dir: self.state_dir.clone(),
            yes: self.flags.yes,
            force: self.flags.force,
            command_line: command_line(),
            invoking_users: invoking_users(),
            unguarded: self.config_system_path().into_iter().collect(),
            atomic: false,
        }
    }

    /// The checks that run after an install and in `mailstead check`: none for the demo
    /// steps or a partial run (`--only`), whose server is not meant to work yet.
    pub fn checks(&self) -> Vec<Box<dyn Check<Answers>>> {
        if self.flags.demo || !self.flags.only.is_empty() {
            Vec::new()
        } else {
            mailstead_steps::install_checks()
        }
    }

    pub fn steps(&self) -> Vec<Box<dyn Step<Answers>>> {
        let all = if self.flags.demo {
            mailstead_steps::demo::steps()
        } else {
            mailstead_steps::install_steps()
        };
        all.into_iter()
            .filter(|s| self.flags.only.is_empty() || self.flags.only.iter().any(|o| o == s.name()))
            .collect()
    }

    pub fn observer(&self) -> Box<dyn Observer> {
        ui::observer(self.flags.plain, self.flags.verbose)
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
