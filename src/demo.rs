//! `mailstead demo`: a whole mail server installed inside a throwaway Debian on this machine,
//! then proven from outside as a user would: a message delivered to the new mailbox and read
//! back over IMAPS, one submitted on 587 that arrives DKIM-signed at a test receiver.
//!
//! The throwaway server is the project's booted-Debian bed (crate `mailstead-bed`, see
//! bed/README.md): systemd as PID 1 in its own namespaces, a veth link (10.213.N.0/24),
//! apt through a forward to deb.debian.org only, pebble as the ACME server and dnsmasq as the DNS
//! server on the host end, and an aiosmtpd receiver (`bed/smtp-sink.py`) as the outside
//! world's MX. Both scripts are compiled into the bed crate and written to a private directory
//! (0700) for the run ([`Script::private`]); the tests drive the very same files.
//!
//! Nothing of mailstead runs against this machine: the binary is copied into the bed and runs
//! there. On the host the demo installs the bed's tools with apt-get (saying which first) and
//! keeps the cached base image (`/var/cache/mailstead-bed`); everything else it makes (mounts,
//! the veth link, socat, pebble, dnsmasq, the receiver, the bed's cgroup and files) is removed
//! on every way out: the end, an error, Ctrl-C or SIGTERM, a panic; and, when this process is
//! killed outright, by the bed's own watcher (`BED_OWNER_PID`).
use crate::error::{CliError, CliResult};
use crate::exit;
use color_eyre::eyre::eyre;
use mailstead_bed::dnsmasq::{bare, dnsmasq_lines};
use mailstead_bed::{
    blocklists_answering, check_private_dir, default_answers, parse_info, same_process,
    wait_for_message, Interrupted, Run, Script, Watch, DEMO_CAPS, DOMAIN, HOSTNAME, MAILBOX,
};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

/// The demo's bed: one at a time on a machine.
pub const BED_NAME: &str = "mailstead-demo";
/// Where the generated mailbox password is kept inside the server (0600, root).
pub const PASSWORD_FILE: &str = "/root/demo-mailbox-password";
/// The demo's answers inside the server, the wizard's suggestions (`install --defaults`).
pub const PRESETS_FILE: &str = "/root/demo-answers.yaml";
/// The outside address the submitted message goes to; its MX is the receiver on the host end.
pub const OUTSIDE_RCPT: &str = "bob@outside.test";

/// `mailstead demo [down|shell]`.
#[derive(clap::Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoAction {
    /// Remove a demo server left running with --keep.
    Down,
    /// A shell inside a demo server left running with --keep.
    Shell,
}

/// Debian releases the bed boots.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Debian 12.
    Bookworm,
    /// Debian 13.
    Trixie,
}

impl Release {
    fn name(self) -> &'static str {
        match self {
            Release::Bookworm => "bookworm",
            Release::Trixie => "trixie",
        }
    }
}

mod hints;
mod host;
mod term;
use hints::{invoked_as, password_note, shell_next_time, stage_line};
pub use host::refusal;
use host::{check_host, tools_consent};
use term::{gutter, Keys, Spinner};

/// The entry point: `mailstead demo [--release R] [--yes] [--keep]`, `demo down`, `demo shell`.
pub fn run(action: Option<DemoAction>, release: Release, yes: bool, keep: bool) -> CliResult {
    check_host()?;
    match action {
        Some(DemoAction::Down) => {
            let mut demo = Demo::new()?;
            if !demo.exists() {
                println!("No demo server is running.");
                return Ok(exit::DONE);
            }
            demo.take_down();
            Ok(exit::DONE)
        }
        Some(DemoAction::Shell) => {
            let demo = Demo::new()?;
            if !demo.exists() {
                return Err(CliError::bad_input("no demo server is running")
                    .with_fix(hints::start_one_that_stays(&invoked_as())));
            }
            let code = demo.tty(&["exec-tty", BED_NAME, "bash", "-l"])?;
            Ok(if code == 0 { exit::DONE } else { code })
        }
        None => {
            // The wizard needs keys from a terminal; its output may go anywhere (`| tee`).
            let keys = match (term::keys(), yes) {
                (Ok(k), _) => Some(k),
                (Err(_), true) => None,
                (Err(why), false) => {
                    return Err(CliError::bad_input(format!(
                        "no terminal to read the wizard's keys from: {why}"
                    ))
                    .with_fix(format!(
                        "run it from a terminal (its output may go to a pipe: `{me} demo | tee \
                         demo.log`), or `{me} demo --yes` (generated answers, no questions)",
                        me = invoked_as()
                    ))
                    .nothing_changed())
                }
            };
            let mut demo = Demo::new()?;
            demo.keys = keys;
            if demo.exists() {
                return Err(CliError::bad_input(format!(
                    "a demo server is already running (bed {BED_NAME}, kept with --keep)"
                ))
                .with_fix(format!(
                    "enter it with `{me} demo shell`, remove it with `{me} demo down`",
                    me = invoked_as()
                ))
                .nothing_changed());
            }
            let r = demo.full(release, yes, keep);
            if r.is_err() || !keep {
                demo.take_down();
            }
            match r {
                Ok(()) => Ok(exit::DONE),
                Err(Stop::Interrupted) => {
                    eprintln!(
                        "Interrupted: the demo server was taken down; nothing is left on this machine."
                    );
                    Ok(exit::INTERRUPTED)
                }
                Err(Stop::Declined { why, fix }) => {
                    Err(CliError::bad_input(why).with_fix(fix).nothing_changed())
                }
                Err(Stop::Failed(e)) => Err(CliError::failed(eyre!("{e}")).with_fix(
                    "the demo server was taken down; the lines above say what failed \
                     (run it again, or report it with that output)",
                )),
            }
        }
    }
}

/// How a stage ended early.
enum Stop {
    Interrupted,
    Failed(String),
    /// The person said no to a question; nothing was done (exit 2).
    Declined {
        why: String,
        fix: String,
    },
}

type Stage<T> = Result<T, Stop>;

impl From<Interrupted> for Stop {
    fn from(_: Interrupted) -> Stop {
        Stop::Interrupted
    }
}

/// How a command's output is handled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Show {
    /// Kept, shown only when it fails.
    Quiet,
    /// Each line shown as it comes, indented under the stage.
    Lines,
}

struct Demo {
    /// The bed script and the receiver, in a private directory (0700).
    script: Script,
    t0: Instant,
    /// The bed was started by this run (so it is this run's to take down).
    started: bool,
    beds_dir: PathBuf,
    /// Where keys come from for the wizard and a shell inside; `None`: no terminal (--yes).
    keys: Option<Keys>,
}

impl Demo {
    fn new() -> Result<Demo, CliError> {
        let beds_dir = mailstead_bed::trust::beds_dir();
        beds_dir_refusal(&beds_dir)?;
        let script = Script::private("mailstead-demo-")
            .map_err(|e| CliError::failed(eyre!("cannot write the bed script: {e}")))?;
        Ok(Demo {
            script,
            t0: Instant::now(),
            started: false,
            beds_dir,
            keys: term::keys().ok(),
        })
    }

    /// A bed of the demo's name is there (as anything: a planted link counts too, and the
    /// script refuses it).
    fn exists(&self) -> bool {
        std::fs::symlink_metadata(self.beds_dir.join(BED_NAME)).is_ok()
    }

    /// One line per stage, with the seconds since the start.
    fn say(&self, what: impl std::fmt::Display) {
        let (secs, what) = (self.t0.elapsed().as_secs_f64(), what.to_string());
        println!("{}", stage_line(secs, &what, term::width()));
        let _ = std::io::stdout().flush();
    }

    /// `bed ARGS`, in a process group of its own: Ctrl-C and SIGTERM reach this process (the
    /// engine's handler sets a flag), which then stops the command's whole group and returns
    /// [`Stop::Interrupted`].
    fn bed(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: Option<&[u8]>,
        show: Show,
    ) -> Stage<Run> {
        let spinner = (show == Show::Lines).then(Spinner::start);
        let watch = Watch {
            line: spinner.as_ref().map(Spinner::line_handler),
            interrupted: Some(&mailstead_engine::interrupt::requested),
        };
        Ok(self.script.run_watched(args, env, stdin, watch)?)
    }

    /// `bed ARGS`, Ok(stdout) when it exits 0.
    fn bed_ok(
        &self,
        what: &str,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: Option<&[u8]>,
        show: Show,
    ) -> Stage<String> {
        let o = self.bed(args, env, stdin, show)?;
        if o.code == 0 {
            Ok(o.stdout)
        } else {
            Err(Stop::Failed(format!(
                "{what} failed (exit {}):\n{}",
                o.code,
                o.output()
            )))
        }
    }

    /// `bed ARGS` on this terminal, in the foreground (the wizard, a shell). Ok(exit code).
    fn tty(&self, args: &[&str]) -> Result<i32, CliError> {
        let keys = self.keys.ok_or_else(|| {
            CliError::bad_input("no terminal to read keys from (stdin, /dev/tty)")
        })?;
        let stdin = keys
            .stdin()
            .map_err(|e| CliError::failed(eyre!("cannot open /dev/tty: {e}")))?;
        let mut cmd = self.script.command(args, &[]);
        cmd.stdin(stdin);
        term::screens_on_terminal(&mut cmd, &args[2..]);
        let status = cmd
            .status()
            .map_err(|e| CliError::failed(eyre!("cannot run the bed script: {e}")))?;
        Ok(status.code().unwrap_or(exit::INTERRUPTED))
    }

    fn info(&self) -> Stage<BTreeMap<String, String>> {
        let out = self.bed_ok("bed info", &["info", BED_NAME], &[], None, Show::Quiet)?;
        Ok(parse_info(&out))
    }

    /// `mailstead ARGS` inside the server.
    fn mailstead(&self, args: &[&str], stdin: Option<&[u8]>, show: Show) -> Stage<Run> {
        let mut all = vec!["exec", BED_NAME, "/usr/local/sbin/mailstead"];
        all.extend_from_slice(args);
        self.bed(&all, &[], stdin, show)
    }

    /// `bed down`: power off, kill socat, pebble, dnsmasq and the receiver, remove the veth
    /// link, the cgroup and the files. Then the private script directory.
    fn take_down(&mut self) {
        if self.exists() {
            // Not interruptible: a second Ctrl-C must not leave half a bed.
            let r = self
                .script
                .command(&["down", BED_NAME], &[])
                .stdin(Stdio::null())
                .output();
            match r {
                Ok(o) if o.status.success() => {
                    println!(
                        "{}",
                        gutter(String::from_utf8_lossy(&o.stderr).trim_end(), term::width())
                    );
                    self.say("the demo server is removed");
                }
                Ok(o) => eprintln!(
                    "warning: bed down {BED_NAME} failed:\n{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => eprintln!("warning: cannot run bed down {BED_NAME}: {e}"),
            }
        }
        self.script.close();
    }

    fn full(&mut self, release: Release, yes: bool, keep: bool) -> Stage<()> {
        let interactive = self.keys.is_some();
        let rel = release.name();
        self.say(format!(
            "mailstead demo: a mail server inside a throwaway Debian {rel} on this machine"
        ));

        // ---- host tools ----
        let mut check = vec!["deps", "--check"];
        check.extend_from_slice(DEMO_CAPS);
        let o = self.bed(&check, &[], None, Show::Quiet)?;
        if o.code != 0 {
            let text = o.output();
            let pkgs = text
                .lines()
                .find_map(|l| l.split_once("`bed deps` installs: ").map(|(_, p)| p.trim()))
                .unwrap_or("(see below)")
                .to_string();
            self.say(format!(
                "the test bed needs host tools this machine lacks; apt-get install --no-install-recommends: {pkgs}"
            ));
            tools_consent(yes, &pkgs, || {
                inquire::Confirm::new("Install them now?")
                    .with_default(true)
                    .with_help_message(
                        "n: nothing is installed and the demo stops (--yes installs without asking)",
                    )
                    .prompt()
            })?;
            self.say("installing the host tools");
            let mut deps = vec!["deps"];
            deps.extend_from_slice(DEMO_CAPS);
            self.bed_ok("installing the host tools", &deps, &[], None, Show::Lines)?;
        } else {
            self.say(
                "host tools: all present (debootstrap, socat, pebble, dnsmasq, swaks, dkimpy, ...)",
            );
        }

        // ---- the server ----
        let cached = Path::new(
            &std::env::var("MAILSTEAD_BED_CACHE").unwrap_or("/var/cache/mailstead-bed".into()),
        )
        .join(format!("{rel}.tar.zst"))
        .exists();
        self.say(format!(
            "booting a throwaway Debian {rel} server (systemd in its own namespaces){}",
            if cached {
                ""
            } else {
                "; first building its base image with debootstrap (about 1-2 minutes, once a week)"
            }
        ));
        let owner = std::process::id().to_string();
        let tmp = self
            .script
            .private_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let caps = DEMO_CAPS.join(" ");
        self.started = true;
        self.bed_ok(
            "booting the server",
            &["up", BED_NAME, rel],
            &[
                ("BED_OWNER_PID", &owner),
                ("BED_OWNER_TMPDIR", &tmp),
                ("MAILSTEAD_BED_CAPS", &caps),
                // debootstrap's and apt's lines, for the spinner: a first build takes minutes.
                ("BED_PROGRESS", "1"),
            ],
            None,
            Show::Lines,
        )?;
        let info = self.info()?;
        let get = |k: &str| info.get(k).cloned().unwrap_or_default();
        let (ip, host_ip, acme) = (get("BED_IP"), get("HOST_IP"), get("ACME_URL"));
        self.say(format!(
            "server up at {ip} (host end {host_ip}, link {}; ACME server {acme})",
            get("VETH")
        ));
        // A resolver that answers, as on a real server: the host name's address and reverse
        // DNS, as a provider would have them before an install, and the blocklists' test
        // entries (RFC 5782 §5) as on the internet, so the install's preflight warns of nothing
        // the demo itself left out; the rest once printed.
        let mut first = vec!["dns".to_string(), BED_NAME.into()];
        first.push(format!("host-record={HOSTNAME},{ip}"));
        first.extend(blocklists_answering());
        self.bed_ok(
            "starting DNS",
            &first.iter().map(String::as_str).collect::<Vec<_>>(),
            &[],
            None,
            Show::Quiet,
        )?;

        let exe = std::env::current_exe()
            .map_err(|e| Stop::Failed(format!("cannot find this mailstead binary: {e}")))?;
        let exe = exe.display().to_string();
        self.bed_ok(
            "copying mailstead into the server",
            &["cp-in", BED_NAME, &exe, "/usr/local/sbin/mailstead"],
            &[],
            None,
            Show::Quiet,
        )?;
        self.say(format!(
            "copied this mailstead ({exe}) to /usr/local/sbin/mailstead inside"
        ));

        // ---- the install ----
        let password =
            new_password().map_err(|e| Stop::Failed(format!("cannot make a password: {e}")))?;
        // --yes: the server's answers file; the wizard: its suggestions (Enter takes each).
        let answers_at = if yes {
            "/etc/mailstead/mailstead.yaml"
        } else {
            PRESETS_FILE
        };
        self.bed_ok(
            "writing the answers",
            &[
                "exec",
                BED_NAME,
                "sh",
                "-c",
                r#"umask 077; mkdir -p "$(dirname "$1")" && cat >"$1""#,
                "sh",
                answers_at,
            ],
            &[],
            Some(answers(&acme, &password).as_bytes()),
            Show::Quiet,
        )?;
        let mailbox = if yes {
            self.say(format!(
                "wrote generated answers: domain {DOMAIN}, host {HOSTNAME}, mailbox {MAILBOX}, \
                 certificates from the local ACME server"
            ));
            self.say("installing the mail server inside: mailstead install --yes (started)");
            let t = Instant::now();
            let o = self.mailstead(&["install", "--yes", "--plain"], None, Show::Lines)?;
            if o.code != 0 {
                return Err(Stop::Failed(format!(
                    "mailstead install inside the server failed (exit {})",
                    o.code
                )));
            }
            self.say(format!(
                "installed in {:.0} s: Postfix, Dovecot, rspamd (DKIM), certificate, firewall",
                t.elapsed().as_secs_f64()
            ));
            MAILBOX.to_string()
        } else {
            self.say(format!(
                "the wizard runs inside the server on this terminal, the demo's answers suggested: \
                 Enter takes each (domain {DOMAIN}, mailbox {MAILBOX}, certificates from the \
                 local ACME server {acme}), y confirms the plan"
            ));
            let wizard = [
                "exec-tty",
                BED_NAME,
                "/usr/local/sbin/mailstead",
                "install",
                "--defaults",
                PRESETS_FILE,
            ];
            let code = self
                .tty(&wizard)
                .map_err(|e| Stop::Failed(format!("{:?}", e.error)))?;
            if mailstead_engine::interrupt::requested() {
                return Err(Stop::Interrupted);
            }
            if code != 0 {
                return Err(Stop::Failed(format!(
                    "the wizard inside the server ended with exit {code}"
                )));
            }
            // A mailbox of the demo's own, with a password it knows, on the first domain.
            let o = self.mailstead(&["dns", "--format", "json"], None, Show::Quiet)?;
            let domain = first_domain(&o.stdout).ok_or_else(|| {
                Stop::Failed(format!(
                    "no mail domain in `mailstead dns`:\n{}",
                    o.output()
                ))
            })?;
            let mailbox = format!("demo-check@{domain}");
            let o = self.mailstead(
                &[
                    "add-mailbox",
                    &mailbox,
                    "--password-stdin",
                    "--yes",
                    "--plain",
                ],
                Some(format!("{password}\n").as_bytes()),
                Show::Quiet,
            )?;
            if o.code != 0 {
                return Err(Stop::Failed(format!(
                    "adding {mailbox} failed:\n{}",
                    o.output()
                )));
            }
            self.say(format!("added the mailbox {mailbox} for the checks below"));
            mailbox
        };
        // Whom the password file is for: the answers' mailbox (its suggested password, kept
        // when the domain is the suggested one) and the demo's own.
        let mut mailboxes = vec![MAILBOX.to_string()];
        if mailbox != MAILBOX {
            if !mailbox.ends_with(&format!("@{DOMAIN}")) {
                mailboxes.clear();
            }
            mailboxes.push(mailbox.clone());
        }
        self.bed_ok(
            "keeping the password",
            &[
                "exec",
                BED_NAME,
                "sh",
                "-c",
                &format!("umask 077; cat >{PASSWORD_FILE}"),
            ],
            &[],
            Some(password.as_bytes()),
            Show::Quiet,
        )?;
        let domain = mailbox.split('@').nth(1).unwrap_or(DOMAIN).to_string();

        // ---- DNS: what `mailstead dns` prints, served ----
        let o = self.mailstead(&["dns", "--format", "json"], None, Show::Quiet)?;
        let mut lines = dnsmasq_lines(&o.stdout).map_err(|e| {
            Stop::Failed(format!(
                "`mailstead dns --format json`: {e}:\n{}",
                o.output()
            ))
        })?;
        let served = lines.len();
        // The outside world: outside.test's MX is the receiver on the host end.
        lines.push("mx-host=outside.test,mx.outside.test,10".into());
        lines.push(format!("host-record=mx.outside.test,{host_ip}"));
        // The blocklists `check` asks answer their test entry (RFC 5782 §5), as on the
        // internet: the address is "not listed" rather than "could not check".
        lines.extend(blocklists_answering());
        let mut args = vec!["dns", BED_NAME, "--reset"];
        args.extend(lines.iter().map(String::as_str));
        self.bed_ok("serving the DNS records", &args, &[], None, Show::Quiet)?;
        self.say(format!(
            "DNS: serving the {served} records `mailstead dns` printed (dnsmasq on {host_ip})"
        ));

        // ---- proof from outside ----
        let subject = format!("mailstead demo {}", std::process::id());
        self.bed_ok(
            "delivering a message on port 25",
            &["smtp-deliver", BED_NAME, &mailbox, "--subject", &subject],
            &[],
            None,
            Show::Quiet,
        )?;
        self.say(format!(
            "delivered: a message to {mailbox} on {ip}:25 (swaks from this machine)"
        ));
        let pass = [("BED_PASS", password.as_str())];
        let o = self.bed_ok(
            "reading it back over IMAPS",
            &[
                "imaps-fetch",
                BED_NAME,
                &mailbox,
                "--subject",
                &subject,
                "--wait",
                "60",
            ],
            &pass,
            None,
            Show::Quiet,
        )?;
        let tls = o
            .lines()
            .find_map(|l| {
                l.split_once("over TLS (")
                    .map(|(_, v)| v.trim_end_matches(')').to_string())
            })
            .unwrap_or_default();
        self.say(format!(
            "read over IMAPS: logged in to {ip}:993 as {mailbox} ({tls}), the message is in INBOX"
        ));

        let o = self.bed_ok(
            "starting the test receiver",
            &["sink-up", BED_NAME, "--port", "25"],
            &[],
            None,
            Show::Quiet,
        )?;
        let _ = o;
        let sink = PathBuf::from(self.info()?.get("SINK_DIR").cloned().unwrap_or_default());
        let out_subject = format!("{subject} outbound");
        self.bed_ok(
            "submitting a message on port 587",
            &[
                "smtp-auth",
                BED_NAME,
                "587",
                &mailbox,
                "--starttls",
                "--to",
                OUTSIDE_RCPT,
                "--subject",
                &out_subject,
            ],
            &pass,
            None,
            Show::Quiet,
        )?;
        self.say(format!(
            "submitted: {mailbox} to {OUTSIDE_RCPT} on {ip}:587 (STARTTLS, AUTH)"
        ));
        let eml = wait_for_message(
            &sink,
            &format!("Subject: {out_subject}"),
            90,
            &mailstead_engine::interrupt::requested,
        )?
        .ok_or_else(|| {
            Stop::Failed(format!(
                "the submitted message did not reach the test receiver ({}) in 90 s",
                sink.display()
            ))
        })?;
        self.say(format!(
            "arrived at the test receiver on {host_ip}:25 (outside.test's MX)"
        ));
        let verdict = self.bed(
            &["dkim-verify", BED_NAME, &eml.display().to_string()],
            &[],
            None,
            Show::Quiet,
        )?;
        if verdict.code != 0 {
            return Err(Stop::Failed(format!(
                "DKIM did not verify (dkimpy, keys from the served DNS):\n{}",
                verdict.output()
            )));
        }
        self.say(format!(
            "DKIM verified: {} (dkimpy on this machine, key from the served DNS)",
            verdict.stdout.trim()
        ));

        // ---- what an admin reads ----
        let o = self.mailstead(&["dns", &domain], None, Show::Quiet)?;
        self.say("mailstead dns (inside the server):");
        println!("{}", gutter(&o.output(), term::width()));
        let o = self.mailstead(&["check"], None, Show::Quiet)?;
        self.say(format!(
            "mailstead check (inside the server, exit {}):",
            o.code
        ));
        println!("{}", gutter(&o.output(), term::width()));
        self.say(format!(
            "demo done in {:.0} s: delivered, read over IMAPS, DKIM verified",
            self.t0.elapsed().as_secs_f64()
        ));

        // ---- a shell, or keep: --yes asks nothing ----
        let note = password_note(&mailboxes);
        let mut opened = false;
        if hints::asks_for_a_shell(interactive, yes) {
            let leave = if keep {
                "leave (the server stays)"
            } else {
                "remove the server"
            };
            opened = inquire::Confirm::new("Open a shell inside the demo server?")
                .with_default(true)
                .with_help_message(&format!("{note}; exit the shell to {leave}"))
                .prompt()
                .unwrap_or(false);
            if opened {
                let _ = self.tty(&["exec-tty", BED_NAME, "bash", "-l"]);
            }
        }
        let me = invoked_as();
        if keep {
            self.keep()?;
            println!(
                "The demo server keeps running at {ip}.\n  enter it:   {me} demo shell\n  \
                 remove it:  {me} demo down\n  {note}"
            );
        } else {
            if !opened {
                println!("{}", shell_next_time(&me, &mailboxes));
            }
            self.say("removing the demo server (bed down)");
        }
        Ok(())
    }

    /// With --keep: the watcher that takes the bed down when this process ends is stopped.
    fn keep(&self) -> Stage<()> {
        let info = self.info()?;
        if let Some(pid) = info.get("WATCH_PID").and_then(|p| p.parse::<i32>().ok()) {
            // The number alone may name another process by now: the recorded start time and
            // boot must match too (issue 20 item 2).
            let id = info
                .get("WATCH_PID_ID")
                .map(String::as_str)
                .unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if same_process(pid, id) && String::from_utf8_lossy(&cmdline).contains("__watch") {
                // SAFETY: a signal to a process we checked is the bed's watcher.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
        }
        Ok(())
    }
}

impl Drop for Demo {
    /// A panic (or any early return) still takes the bed down.
    fn drop(&mut self) {
        if self.started && std::thread::panicking() {
            self.take_down();
        }
        self.script.close();
    }
}

/// Err when `beds_dir` is there but not root's own private directory: what root later reads,
/// runs and signals by lives there (issue 20 item 1). Missing is fine: `bed up` makes it
/// private. The error names the path, the fix, and that nothing was changed.
fn beds_dir_refusal(beds_dir: &Path) -> Result<(), CliError> {
    check_private_dir(beds_dir).map(|_| ()).map_err(|e| {
        CliError::bad_input(format!("the demo cannot keep its state safely: {e}"))
            .with_fix(format!(
                "remove {} (after checking what is in it), or set MAILSTEAD_BED_DIR to a \
                 directory only root can write",
                beds_dir.display()
            ))
            .nothing_changed()
    })
}

/// A password of 24 letters and digits (about 143 bits) from /dev/urandom.
fn new_password() -> std::io::Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut f = std::fs::File::open("/dev/urandom")?;
    let mut out = String::new();
    let mut b = [0u8; 1];
    while out.len() < 24 {
        f.read_exact(&mut b)?;
        // Rejection sampling: no bias towards the first letters.
        let limit = 256 - 256 % ALPHABET.len();
        if (b[0] as usize) < limit {
            out.push(ALPHABET[b[0] as usize % ALPHABET.len()] as char);
        }
    }
    Ok(out)
}

/// The answers of `--yes`: those the booted tests install a bed with
/// ([`mailstead_bed::default_answers`]), with a generated password.
pub fn answers(acme_url: &str, password: &str) -> String {
    default_answers(acme_url, password)
}

fn first_domain(dns_json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(dns_json).ok()?;
    v["records"].as_array()?.iter().find_map(|r| {
        (r["type"] == "MX").then(|| bare(r["name"].as_str().unwrap_or_default()).to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::render;

    #[test]
    fn refuses_off_linux_without_root_and_without_namespaces() {
        let never = || -> Result<(), String> { panic!("namespaces asked before the rest") };
        let e = refusal("mailstead", "macos", 0, never).expect("refused");
        let t = render(&e, false);
        assert!(
            t.contains("this is macos") && t.contains("Linux namespaces"),
            "{t}"
        );
        assert!(
            t.contains("fix:") && t.contains("Nothing was changed."),
            "{t}"
        );
        assert_eq!(e.code, exit::BAD_INPUT);

        let t = render(
            &refusal("target/release/mailstead", "linux", 1000, never).expect("refused"),
            false,
        );
        assert!(
            t.contains("not running as root") && t.contains("sudo target/release/mailstead demo"),
            "{t}"
        );

        let e = refusal("mailstead", "linux", 0, || {
            Err("unshare failed: Operation not permitted".into())
        });
        let t = render(&e.expect("refused"), false);
        assert!(
            t.contains("does not allow new namespaces") && t.contains("Operation not permitted"),
            "{t}"
        );

        assert!(refusal("mailstead", "linux", 0, || Ok(())).is_none());
    }

    #[test]
    fn the_first_mail_domain_is_the_first_mx_name() {
        let json = r#"{"records": [
            {"type": "A", "name": "mail.example.test.", "value": "10.213.7.2"},
            {"type": "MX", "name": "example.test.", "value": "10 mail.example.test."}
          ], "ptr": []}"#;
        assert_eq!(first_domain(json).as_deref(), Some("example.test"));
    }

    #[test]
    fn the_beds_dir_must_be_roots_own() {
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED: needs root (owner checks)");
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let beds = t.path().join("beds");
        assert!(beds_dir_refusal(&beds).is_ok(), "missing: bed up makes it");
        std::fs::create_dir(&beds).unwrap();
        assert!(beds_dir_refusal(&beds).is_ok());

        std::os::unix::fs::chown(&beds, Some(65534), None).unwrap();
        let e = beds_dir_refusal(&beds).expect_err("another user's directory");
        let text = render(&e, false);
        assert!(
            text.contains(&beds.display().to_string())
                && text.contains("owner uid 65534")
                && text.contains("MAILSTEAD_BED_DIR")
                && text.contains("Nothing was changed."),
            "{text}"
        );
        assert_eq!(e.code, exit::BAD_INPUT);

        let link = t.path().join("link");
        std::os::unix::fs::symlink(t.path(), &link).unwrap();
        let text = render(&beds_dir_refusal(&link).expect_err("a symlink"), false);
        assert!(text.contains("a symlink"), "{text}");
    }

    #[test]
    fn passwords_are_long_and_differ() {
        let (a, b) = (new_password().unwrap(), new_password().unwrap());
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(answers("https://10.213.1.1:14000/dir", &a).contains(&format!("password: \"{a}\"")));
    }
}
