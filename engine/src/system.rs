//! Services and packages, as commands through the Host.
use crate::host::{Cmd, Host, Kind, Output};
use crate::secret::Secret;
use std::path::Path;
use std::time::Duration;

/// systemd is PID 1 (its runtime directory exists).
pub fn systemd_running(host: &dyn Host) -> bool {
    matches!(host.stat(Path::new("/run/systemd/system")), Ok(Some(s)) if s.kind == Kind::Dir)
}

/// The command that reloads a service: systemctl where systemd runs, else the init script.
pub fn reload_cmd(host: &dyn Host, service: &str) -> Option<Cmd> {
    if systemd_running(host) {
        // Starts it when stopped, so a reload after install also brings it up.
        Some(
            Cmd::new("systemctl", ["reload-or-restart", service]).timeout(Duration::from_secs(120)),
        )
    } else if host.exists(&Path::new("/etc/init.d").join(service)) {
        // Init scripts refuse to reload a stopped service: start it instead.
        let action = if service_active(host, service) {
            "reload"
        } else {
            "start"
        };
        Some(Cmd::new("service", [service, action]).timeout(Duration::from_secs(120)))
    } else {
        None
    }
}

/// The command that restarts a service (starting it when stopped).
pub fn restart_cmd(host: &dyn Host, service: &str) -> Option<Cmd> {
    if systemd_running(host) {
        Some(Cmd::new("systemctl", ["restart", service]).timeout(Duration::from_secs(120)))
    } else if host.exists(&Path::new("/etc/init.d").join(service)) {
        Some(Cmd::new("service", [service, "restart"]).timeout(Duration::from_secs(120)))
    } else {
        None
    }
}

pub fn service_active(host: &dyn Host, service: &str) -> bool {
    if systemd_running(host) {
        matches!(host.run(&Cmd::probe("systemctl", ["is-active", "--quiet", service])), Ok(o) if o.success())
    } else {
        matches!(host.run(&Cmd::probe("service", [service, "status"])), Ok(o) if o.success())
    }
}

/// A service's state as `systemctl is-active` prints it (`active`, `activating`, `reloading`,
/// `deactivating`, `inactive`, `failed`...); without systemd, `active` or `inactive` by its init
/// script's `status`. Empty when systemctl printed nothing.
pub fn service_state(host: &dyn Host, service: &str) -> String {
    if systemd_running(host) {
        host.run(&Cmd::probe("systemctl", ["is-active", service]))
            .map(|o| o.stdout.trim().to_string())
            .unwrap_or_default()
    } else if service_active(host, service) {
        "active".to_string()
    } else {
        "inactive".to_string()
    }
}

/// A state of [`service_state`] on its way somewhere (a start, reload or stop under way): worth
/// waiting for, unlike `inactive` or `failed`.
pub fn state_in_transition(state: &str) -> bool {
    matches!(
        state,
        "activating" | "reloading" | "deactivating" | "refreshing"
    )
}

/// Installed per dpkg (`install ok installed`).
pub fn package_installed(host: &dyn Host, name: &str) -> bool {
    matches!(
        host.run(&Cmd::probe("dpkg-query", ["-W", "-f=${Status}", name])),
        Ok(o) if o.success() && o.stdout.trim() == "install ok installed"
    )
}

/// dpkg's status of each package (`install ok installed`, `install ok half-configured`,
/// `install ok unpacked`, ...), or `not installed`. One `dpkg-query` for all.
pub fn package_states(host: &dyn Host, names: &[String]) -> Vec<(String, String)> {
    let mut args = vec!["-W".to_string(), "-f=${Package}\t${Status}\n".to_string()];
    args.extend(names.iter().cloned());
    let out = host.run(&Cmd::probe("dpkg-query", args)).ok();
    names
        .iter()
        .map(|n| {
            let status = out
                .as_ref()
                .and_then(|o| {
                    o.stdout.lines().find_map(|l| {
                        let (p, s) = l.split_once('\t')?;
                        (p.split(':').next() == Some(n.as_str())).then(|| s.trim().to_string())
                    })
                })
                .filter(|s| !s.ends_with("not-installed"))
                .unwrap_or_else(|| "not installed".to_string());
            (n.clone(), status)
        })
        .collect()
}

/// debconf answers go on stdin: nothing in argv.
pub fn debconf_cmd(lines: &[String]) -> Cmd {
    Cmd::new("debconf-set-selections", Vec::<String>::new())
        .stdin(Secret::new(lines.join("\n") + "\n"))
}

/// How long apt waits for another apt or dpkg to release its lock (seconds).
pub const LOCK_WAIT_SECS: u32 = 600;

pub fn apt_install_cmd(packages: &[String]) -> Cmd {
    let mut args = vec![
        "install".to_string(),
        "-y".into(),
        "-q".into(),
        "--no-install-recommends".into(),
        // Another apt (unattended-upgrades on a new server) may hold the lock: wait for it,
        // apt saying "Waiting for cache lock ... held by process N (NAME)" as it does.
        "-o".into(),
        format!("DPkg::Lock::Timeout={}", LOCK_WAIT_SECS),
        // Keep any config file the admin already has.
        "-o".into(),
        "Dpkg::Options::=--force-confdef".into(),
        "-o".into(),
        "Dpkg::Options::=--force-confold".into(),
        // apt's own progress as `pmstatus:`/`dlstatus:` lines on descriptor 3, a pipe of its
        // own (see [`Cmd::status_fd`] and [`apt_status`]); dpkg without a pty, so its output
        // comes as plain lines.
        "-o".into(),
        "APT::Status-Fd=3".into(),
        "-o".into(),
        "Dpkg::Use-Pty=0".into(),
    ];
    args.extend(packages.iter().cloned());
    Cmd::new("apt-get", args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("APT_LISTCHANGES_FRONTEND", "none")
        .timeout(Duration::from_secs(1800))
        .status_fd(3)
}

/// A progress line of apt's status file descriptor (`APT::Status-Fd`).
#[derive(Debug, Clone, PartialEq)]
pub struct AptStatus<'a> {
    /// Whatever the output line held before the status (another process's output that the
    /// status line was written into the middle of); usually empty.
    pub before: &'a str,
    /// 0..=100, of the download (`dlstatus`) or of the install (`pmstatus`).
    pub percent: f32,
    /// What apt is doing: `Installing nginx-core (amd64)`, `Retrieving file 3 of 11`.
    pub what: &'a str,
}

/// Recognises `pmstatus:PKG:PERCENT:TEXT` and `dlstatus:ID:PERCENT:TEXT` (TEXT may hold
/// colons). Anything else, `pmerror:` and `pmconffile:` included, is ordinary output: `None`.
pub fn apt_status(line: &str) -> Option<AptStatus<'_>> {
    let start = ["pmstatus:", "dlstatus:"]
        .iter()
        .filter_map(|tag| line.find(tag))
        .min()?;
    let (before, status) = line.split_at(start);
    let mut fields = status.splitn(4, ':');
    let (_tag, _item, percent, what) = (
        fields.next()?,
        fields.next()?,
        fields.next()?,
        fields.next()?,
    );
    let percent: f32 = percent.trim().parse().ok()?;
    if !percent.is_finite() {
        return None;
    }
    Some(AptStatus {
        before,
        percent: percent.clamp(0.0, 100.0),
        what: what.trim(),
    })
}

pub fn apt_purge_cmd(packages: &[String]) -> Cmd {
    let mut args = vec!["purge".to_string(), "-y".into(), "-q".into()];
    args.extend(packages.iter().cloned());
    Cmd::new("apt-get", args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .timeout(Duration::from_secs(1800))
}

/// An error message for a failed command: the command line and its stderr tail.
pub fn failure(cmd: &Cmd, out: &Output) -> String {
    format!("`{cmd}` exited with {}:\n{}", out.status, out.tail(12))
}

/// How many of a service's own journal lines [`service_failure`] quotes.
pub const SERVICE_LOG_LINES: usize = 12;

/// An error message for a service that failed to (re)load or start: [`failure`], then the
/// service's own last journal lines (`journalctl -u SERVICE -u 'SERVICE@*'`, the template
/// units some Debian services run in, like `NAME@-.service`), since systemctl only says "see
/// journalctl" while the service's words say why (`listen(::, 993) failed: Address family
/// not supported`). Each
/// quoted line is escaped ([`crate::step::shown`]). Without systemd, or when the journal has
/// nothing, it is [`failure`] alone.
pub fn service_failure(host: &dyn Host, service: &str, cmd: &Cmd, out: &Output) -> String {
    let mut text = failure(cmd, out);
    if !systemd_running(host) {
        return text;
    }
    let template = format!("{service}@*");
    let journal = Cmd::probe(
        "journalctl",
        [
            "--no-pager",
            "-o",
            "cat",
            "-n",
            &SERVICE_LOG_LINES.to_string(),
            "-u",
            service,
            "-u",
            &template,
        ],
    )
    .timeout(Duration::from_secs(20));
    if let Ok(log) = host.run(&journal) {
        let lines: Vec<String> = log
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| format!("  {}", crate::step::shown(l)))
            .collect();
        if log.success() && !lines.is_empty() {
            text.push_str(&format!(
                "\n{service}'s own last words (journalctl -u {service}):\n"
            ));
            text.push_str(&lines.join("\n"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_that_fails_to_start_says_why_in_its_own_words() {
        use crate::host::Meta;
        use crate::memhost::MemHost;
        let host = MemHost::fake();
        host.create_dir_all(Path::new("/run/systemd/system"), Meta::root(0o755))
            .unwrap();
        host.on_command(|cmd| {
            let out = |status: i32, stdout: &str, stderr: &str| Output {
                status,
                stdout: stdout.into(),
                stderr: stderr.into(),
            };
            match cmd.program.as_str() {
                "systemctl" => Some(out(
                    1,
                    "",
                    "Job for imapd.service failed because the control process exited with error code.\n\
                     See \"systemctl status imapd.service\" and \"journalctl -xeu imapd.service\" for details.",
                )),
                "journalctl" if cmd.args.contains(&"imapd@*".to_string()) => Some(out(
                    0,
                    "Starting imapd.service - Example IMAP/POP3 email server...\n\
                     Error: service(imap-login): listen(::, 993) failed: Address family not supported by protocol\n\
                     Fatal: Failed to start listeners \x1b[32mok\n",
                    "",
                )),
                _ => None,
            }
        });
        let cmd = reload_cmd(&host, "imapd").unwrap();
        let failed = host.run(&cmd).unwrap();
        let why = service_failure(&host, "imapd", &cmd, &failed);
        assert!(
            why.contains("listen(::, 993) failed: Address family not supported"),
            "{why}"
        );
        assert!(why.contains("imapd's own last words"), "{why}");
        assert!(!why.contains('\x1b'), "a quoted log line is escaped: {why}");
    }

    #[test]
    fn apt_status_lines_are_recognised() {
        // As printed by `apt-get install -o APT::Status-Fd=3 -o Dpkg::Use-Pty=0` (bookworm), both descriptors together.
        let captured = "\
Reading package lists...
dlstatus:1:0:Retrieving file 1 of 3
Get:1 http://deb.debian.org/debian bookworm/main amd64 nginx-core amd64 1.22.1-9+deb12u1 [3,347 kB]
dlstatus:2:33.3333:Retrieving file 2 of 3
pmstatus:dpkg-exec:0:Running dpkg
Selecting previously unselected package nginx-core.
pmstatus:nginx-core:14.2857:Preparing nginx-core (amd64)
pmstatus:nginx-core:42.8571:Installing nginx-core (amd64)
Setting up nginx-core (1.22.1-9+deb12u1) ...
pmconffile:/etc/nginx/nginx.conf:50:'/etc/nginx/nginx.conf' 'new'
pmerror:/var/cache/apt/archives/x.deb:60:trying to overwrite '/usr/bin/x'
pmstatus:nginx-core:100:Installed nginx-core (amd64)
";
        let found: Vec<(f32, &str)> = captured
            .lines()
            .filter_map(apt_status)
            .map(|s| (s.percent, s.what))
            .collect();
        assert_eq!(
            found,
            vec![
                (0.0, "Retrieving file 1 of 3"),
                (33.3333, "Retrieving file 2 of 3"),
                (0.0, "Running dpkg"),
                (14.2857, "Preparing nginx-core (amd64)"),
                (42.8571, "Installing nginx-core (amd64)"),
                (100.0, "Installed nginx-core (amd64)"),
            ]
        );
    }

    #[test]
    fn apt_status_keeps_colons_and_what_came_before() {
        let s = apt_status("Unpacking curlpmstatus:curl:30:Configuring curl: step 2").unwrap();
        assert_eq!(s.before, "Unpacking curl");
        assert_eq!(s.percent, 30.0);
        assert_eq!(s.what, "Configuring curl: step 2");
    }

    #[test]
    fn not_apt_status() {
        for line in [
            "",
            "pmstatus:",
            "pmstatus:x:notanumber:text",
            "pmstatus:x:NaN:text",
            "pmstatus:x:42",
            "Setting up curl (7.88.1-10+deb12u8) ...",
        ] {
            assert_eq!(apt_status(line), None, "{line}");
        }
        assert_eq!(apt_status("pmstatus:x:250:over").unwrap().percent, 100.0);
    }

    #[test]
    fn apt_install_reports_progress_without_a_pty() {
        let cmd = apt_install_cmd(&["curl".into()]);
        let args = cmd.args.join(" ");
        assert!(
            args.contains("-o APT::Status-Fd=3 -o Dpkg::Use-Pty=0"),
            "{args}"
        );
        assert_eq!(cmd.args.last().unwrap(), "curl");
    }

    /// After a half-way dpkg failure the states are read back, one query for all.
    #[test]
    fn package_states_name_what_dpkg_left() {
        let h = crate::memhost::MemHost::fake();
        h.on_command(|c| {
            (c.program == "dpkg-query").then(|| Output {
                status: 1,
                stdout: "curl\tinstall ok installed\nnginx-core\tinstall ok half-configured\nzstd:amd64\tunknown ok not-installed\n".into(),
                stderr: String::new(),
            })
        });
        let names: Vec<String> = ["curl", "nginx-core", "zstd", "jq"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            package_states(&h, &names),
            [
                ("curl".to_string(), "install ok installed".to_string()),
                (
                    "nginx-core".to_string(),
                    "install ok half-configured".to_string()
                ),
                ("zstd".to_string(), "not installed".to_string()),
                ("jq".to_string(), "not installed".to_string()),
            ]
        );
        assert_eq!(h.commands().len(), 1, "one query");
    }
}
