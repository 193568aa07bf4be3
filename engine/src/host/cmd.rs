//! A command as data (program, arguments, environment, stdin, timeout) and what it printed.
use crate::secret::Secret;
use std::fmt;
use std::time::Duration;

/// A command to run. Secrets go on stdin, never in `args`.
#[derive(Clone, Default)]
pub struct Cmd {
    pub program: String,
    pub args: Vec<String>,
    pub stdin: Option<Secret>,
    pub env: Vec<(String, String)>,
    pub timeout: Option<Duration>,
    /// A read-only probe: safe to run while planning. Anything else runs only on apply.
    pub probe: bool,
    /// The command that takes back what this one did to running state (`ufw --force
    /// disable` for `ufw --force enable`, `userdel` for `useradd`). A rollback runs it after
    /// restoring files, newest first. Never given stdin.
    pub undo: Option<Box<Cmd>>,
    /// An extra descriptor the program writes status lines to (apt's `APT::Status-Fd`): it
    /// gets a pipe of its own, whose lines are streamed like output. Never the output pipe
    /// itself: apt makes its status descriptor non-blocking, and maintainer scripts writing
    /// to a shared, full pipe then fail (`echo: I/O error` in a package's postinst).
    pub status_fd: Option<i32>,
    /// Its failure does not fail the step: the engine reports it as a warning made of this
    /// explanation (`explain(output)`), and the run goes on. For an attempt whose failure has a
    /// fallback planned by a later step (a certificate the CA cannot issue yet).
    pub tolerated: Option<Explain>,
    /// Its whole effect is on files: the `touches` its [`crate::Change::Run`] declares (postmap
    /// writes only its `.db`). A rollback restores those snapshots, which undoes it, so it is not
    /// among the commands to check by hand. Set with [`Cmd::files_only`].
    pub files_only: bool,
}

/// Turns a tolerated command's failed output into the warning a user reads.
pub type Explain = fn(&Output) -> String;

impl Cmd {
    pub fn new<I, S>(program: &str, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd {
            program: program.to_string(),
            args: args.into_iter().map(Into::into).collect(),
            ..Cmd::default()
        }
    }
    /// Declares that this command changes nothing but the paths its change declares (see the
    /// `files_only` field): restoring their snapshots undoes it.
    pub fn files_only(mut self) -> Cmd {
        self.files_only = true;
        self
    }
    /// A read-only command that plan mode may run.
    pub fn probe<I, S>(program: &str, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Cmd {
            probe: true,
            ..Cmd::new(program, args)
        }
    }
    pub fn stdin(mut self, input: Secret) -> Cmd {
        self.stdin = Some(input);
        self
    }
    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
    pub fn timeout(mut self, t: Duration) -> Cmd {
        self.timeout = Some(t);
        self
    }
    /// See [`Cmd::undo`].
    pub fn undo(mut self, undo: Cmd) -> Cmd {
        self.undo = Some(Box::new(undo));
        self
    }
    /// See [`Cmd::status_fd`].
    pub fn status_fd(mut self, fd: i32) -> Cmd {
        self.status_fd = Some(fd);
        self
    }
    /// See [`Cmd::tolerated`].
    pub fn tolerate_failure(mut self, explain: Explain) -> Cmd {
        self.tolerated = Some(explain);
        self
    }
}

/// Shows the command line as a user would type it; stdin is never shown.
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // POSIX shell quoting (shlex), so a plan's command can be pasted into a shell as is:
        // `postconf -e 'smtpd_tls_protocols=>=TLSv1.2'`.
        let words = std::iter::once(&self.program).chain(&self.args);
        let line = shlex::try_join(words.map(String::as_str))
            .unwrap_or_else(|_| format!("{} <args with NUL>", self.program));
        f.write_str(&line)?;
        if self.stdin.is_some() {
            f.write_str(" <(stdin)")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cmd({self})")
    }
}

#[derive(Debug, Clone, Default)]
pub struct Output {
    /// Exit code; -1 when killed by a signal or the timeout.
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == 0
    }
    /// The last lines of stderr (or stdout when stderr is empty), for error reports.
    pub fn tail(&self, lines: usize) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let all: Vec<&str> = text.trim_end().lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}
