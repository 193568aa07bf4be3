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

pub fn service_active(host: &dyn Host, service: &str) -> bool {
    if systemd_running(host) {
        matches!(host.run(&Cmd::probe("systemctl", ["is-active", "--quiet", service])), Ok(o) if o.success())
    } else {
        matches!(host.run(&Cmd::probe("service", [service, "status"])), Ok(o) if o.success())
    }
}

/// Installed per dpkg (`install ok installed`).
pub fn package_installed(host: &dyn Host, name: &str) -> bool {
    matches!(
        host.run(&Cmd::probe("dpkg-query", ["-W", "-f=${Status}", name])),
        Ok(o) if o.success() && o.stdout.trim() == "install ok installed"
    )
}

/// debconf answers go on stdin: nothing in argv.
pub fn debconf_cmd(lines: &[String]) -> Cmd {
    Cmd::new("debconf-set-selections", Vec::<String>::new())
        .stdin(Secret::new(lines.join("\n") + "\n"))
}

pub fn apt_install_cmd(packages: &[String]) -> Cmd {
    let mut args = vec![
        "install".to_string(),
        "-y".into(),
        "-q".into(),
        "--no-install-recommends".into(),
        // Keep any config file the admin already has.
        "-o".into(),
        "Dpkg::Options::=--force-confdef".into(),
        "-o".into(),
        "Dpkg::Options::=--force-confold".into(),
    ];
    args.extend(packages.iter().cloned());
    Cmd::new("apt-get", args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("APT_LISTCHANGES_FRONTEND", "none")
        .timeout(Duration::from_secs(1800))
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
