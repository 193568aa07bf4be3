//! The tests' handle on a bed (the script `bed/bed`, see bed/README.md).
//!
//! A [`Bed`] is a fresh Debian root booted with systemd as PID 1 in its own namespaces, reachable
//! from the host at [`Bed::ip`]; pebble (ACME) listens on the host end at [`Bed::acme_url`].
//! Dropping a `Bed` (or the test process dying) takes it down.
//!
//! ```ignore
//! let bed = Bed::up("install", "trixie");          // panics loudly if the bed cannot start
//! bed.install_mailstead();                          // MAILSTEAD_BIN -> /usr/local/sbin/mailstead
//! bed.write_answers(&bed.default_answers());        // /etc/mailstead/mailstead.yaml, 0600
//! let before = bed.etc_snapshot();
//! let run = bed.mailstead(&["install", "--yes", "--plain"]);
//! assert_eq!(run.code, 0, "{}", run.text());
//! bed.smtp_deliver("alice@example.test", "hello").unwrap();
//! bed.imaps_fetch("alice@example.test", PASSWORD, Some("hello"), 20).unwrap();
//! bed.relay_check().unwrap();                       // Err("open relay detected (250) ...")
//! bed.plaintext_auth_check(&[25, 587]).unwrap();    // Err("plaintext AUTH offered ...")
//! for port in [993, 465, 587] { bed.tls_verify(port).unwrap(); }
//! let diff = before.diff(&bed.etc_snapshot());      // lines "+ path", "- path", "~ path: ..."
//! ```
//!
//! Client checks return `Check` = `Result<String, String>`: `Ok(transcript)` when the server
//! behaved as a secure server must, `Err(reason and transcript)` otherwise.
use crate::script::{parse_info, Run, Script};
use crate::trust::beds_dir;
use crate::EtcSnapshot;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// The result of a client check: transcript on success, reason + transcript on failure.
pub type Check = Result<String, String>;

/// The repo's bed script, which the tests drive.
fn script() -> &'static Script {
    static SCRIPT: OnceLock<Script> = OnceLock::new();
    SCRIPT.get_or_init(Script::in_repo)
}

/// The mailstead binary to test: `$MAILSTEAD_BIN`, else `target/release/mailstead`.
pub fn mailstead_bin() -> PathBuf {
    match std::env::var_os("MAILSTEAD_BIN") {
        Some(p) => PathBuf::from(p),
        // This crate sits one level below the workspace, whose target/ holds the build.
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/mailstead"),
    }
}

/// Where the answers file goes inside the bed.
pub const ANSWERS_PATH: &str = "/etc/mailstead/mailstead.yaml";
/// Where `install_mailstead` puts the binary inside the bed.
pub const MAILSTEAD_IN_BED: &str = "/usr/local/sbin/mailstead";

/// Runs a host command to its end, output captured (no stdin).
fn run_cmd(mut cmd: Command) -> Run {
    let t0 = Instant::now();
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("bed: cannot start {cmd:?}: {e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        secs: t0.elapsed().as_secs_f64(),
    }
}

/// Run `bed ARGS...` on the host (extra environment in `env`).
pub fn bed_cmd(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
    script().run(args, env, stdin)
}

/// Run a bash script on the host (an outside client against a bed: openssl, swaks...).
pub fn host_sh(script: &str) -> Run {
    let mut cmd = Command::new("bash");
    cmd.args(["-c", script]);
    run_cmd(cmd)
}

/// Panics (a test failure, never a skip) unless beds can run here: root, Linux namespaces.
pub fn require_bed() {
    let r = bed_cmd(&["check"], &[], None);
    assert!(
        r.ok(),
        "the booted-Debian bed cannot run here:\n{}",
        r.text()
    );
}

/// A booted Debian server. Dropping it runs `bed down`.
pub struct Bed {
    /// The bed's name as the script knows it (the test's name plus this process id).
    pub name: String,
    pub release: String,
    /// The server's address (veth, 10.213.N.2).
    pub ip: String,
    /// The host end of the veth (10.213.N.1): pebble and the apt forward listen here.
    pub host_ip: String,
    /// pebble's directory URL, e.g. `https://10.213.N.1:14000/dir`.
    pub acme_url: String,
    /// pebble's issuing root on the host: clients verify the server's chain against it.
    pub pebble_root: PathBuf,
    /// Every KEY=VALUE of `bed info`.
    pub info: BTreeMap<String, String>,
    /// What `bed up` printed (timings, failed units when degraded).
    pub up_log: String,
    down: bool,
}

impl Bed {
    /// Boot a fresh bed of `release` (`bookworm` or `trixie`). Panics with the reason when it
    /// cannot (no network for debootstrap, boot failure, ...).
    pub fn up(name: &str, release: &str) -> Bed {
        Bed::try_up(name, release).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn try_up(name: &str, release: &str) -> Result<Bed, String> {
        Bed::start(name, release, None)
    }

    /// Boot a fork of `snapshot`: a copy of its installed root, booted again with its own
    /// address, pebble and DNS (see [`Snapshot`]). Prints how long the fork took to start.
    /// Panics with the reason when it cannot.
    pub fn fork(name: &str, snapshot: &Snapshot) -> Bed {
        let t0 = Instant::now();
        let bed = Bed::start(name, &snapshot.release, Some(&snapshot.dir))
            .unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "bed: fork {} of {} ({}) started in {:.1} s",
            bed.name,
            snapshot.of,
            snapshot.release,
            t0.elapsed().as_secs_f64()
        );
        bed
    }

    /// A working server of `release` in seconds: a fork of the installed bed this test run
    /// shares ([`installed_snapshot`]), where `mailstead install --yes --plain` has run again
    /// (what follows the address). Prints the fork's start and the run's seconds; panics
    /// when either fails.
    pub fn installed(name: &str, release: &str) -> Bed {
        let snapshot = installed_snapshot(release);
        let t0 = Instant::now();
        let bed = Bed::fork(name, &snapshot);
        let run = bed.mailstead(&["install", "--yes", "--plain"]);
        assert!(
            run.ok(),
            "install again on the fork {}:\n{}",
            bed.name,
            run.text()
        );
        eprintln!(
            "bed: {} ready in {:.1} s (install again {:.1} s)",
            bed.name,
            t0.elapsed().as_secs_f64(),
            run.secs
        );
        bed
    }

    /// A copy of this bed's root as it is now (its processes frozen while it is copied), to
    /// [`Bed::fork`] from. Panics when it cannot (a bed booted without cgroup2).
    pub fn snapshot(&self, label: &str) -> Snapshot {
        let dir = beds_dir()
            .join(".snapshots")
            .join(format!("{label}-{}", std::process::id()));
        snapshots_dir();
        let _ = std::fs::remove_dir_all(&dir);
        let r = self.bed("snapshot", &[&dir.display().to_string()]);
        eprintln!("{}", r.stderr.trim_end());
        assert!(r.ok(), "bed snapshot {} failed:\n{}", self.name, r.text());
        Snapshot {
            dir,
            release: self.release.clone(),
            of: self.name.clone(),
            secs: r.secs,
            keep: false,
        }
    }

    fn start(name: &str, release: &str, from: Option<&Path>) -> Result<Bed, String> {
        require_bed();
        let name = format!("{name}-{}", std::process::id());
        let pid = std::process::id().to_string();
        let from = from.map(|f| f.display().to_string());
        let mut args = vec!["up", &name, release];
        if let Some(f) = &from {
            args.extend_from_slice(&["--from", f]);
        }
        // BED_OWNER_PID: the bed goes down by itself if this test process dies (Ctrl-C).
        let r = bed_cmd(&args, &[("BED_OWNER_PID", &pid)], None);
        eprintln!("{}", r.stderr.trim_end());
        if !r.ok() {
            return Err(format!("bed up {name} {release} FAILED:\n{}", r.text()));
        }
        let info_run = bed_cmd(&["info", &name], &[], None);
        if !info_run.ok() {
            bed_cmd(&["down", &name], &[], None);
            return Err(format!("bed info {name} failed:\n{}", info_run.text()));
        }
        let info = parse_info(&info_run.stdout);
        let get = |k: &str| info.get(k).cloned().unwrap_or_default();
        // A resolver that answers (NXDOMAIN for every name until a test adds records), as on
        // any real server: without one, every lookup waits out its timeout (rspamd spends ~5 s
        // per lookup at each start and reload).
        let dns = bed_cmd(&["dns", &name], &[], None);
        if !dns.ok() {
            bed_cmd(&["down", &name], &[], None);
            return Err(format!("bed dns {name} failed:\n{}", dns.text()));
        }
        Ok(Bed {
            release: release.to_string(),
            ip: get("BED_IP"),
            host_ip: get("HOST_IP"),
            acme_url: get("ACME_URL"),
            pebble_root: PathBuf::from(get("PEBBLE_ROOT")),
            up_log: r.stderr.clone(),
            info,
            name,
            down: false,
        })
    }

    /// `bed SUBCOMMAND NAME ARGS...`
    pub fn bed(&self, sub: &str, args: &[&str]) -> Run {
        self.bed_env(sub, args, &[], None)
    }

    fn bed_env(&self, sub: &str, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
        let mut all = vec![sub, self.name.as_str()];
        all.extend_from_slice(args);
        bed_cmd(&all, env, stdin)
    }

    /// Run a command inside the bed (clean environment, PATH set, no stdin).
    pub fn exec(&self, cmd: &[&str]) -> Run {
        self.bed("exec", cmd)
    }

    /// Run a command inside, killed after `secs` seconds (exit 124, as coreutils `timeout`).
    pub fn exec_timeout(&self, secs: u32, cmd: &[&str]) -> Run {
        let secs = secs.to_string();
        let mut all = vec!["timeout", "--kill-after=10", secs.as_str()];
        all.extend_from_slice(cmd);
        self.exec(&all)
    }

    /// Run a command inside with `stdin` as its standard input.
    pub fn exec_stdin(&self, cmd: &[&str], stdin: &[u8]) -> Run {
        self.bed_env("exec", cmd, &[], Some(stdin))
    }

    /// Run a command inside on a pseudo-terminal (output has CRLF line ends).
    pub fn exec_tty(&self, cmd: &[&str]) -> Run {
        self.bed("exec-tty", cmd)
    }

    /// `bash -c SCRIPT` inside the bed.
    pub fn sh(&self, script: &str) -> Run {
        self.exec(&["bash", "-c", script])
    }

    /// `bash -c SCRIPT` inside; panics with the output unless it exits 0. Returns stdout.
    pub fn sh_ok(&self, script: &str) -> String {
        let r = self.sh(script);
        assert!(
            r.ok(),
            "in bed {}: `{script}` failed:\n{}",
            self.name,
            r.text()
        );
        r.stdout
    }

    /// Copy a host file or directory into the bed (file mode kept; DEST ending in / = dir).
    pub fn cp_in(&self, src: &Path, dest: &str) {
        let r = self.bed("cp-in", &[&src.to_string_lossy(), dest]);
        assert!(
            r.ok(),
            "bed cp-in {} {dest} failed:\n{}",
            src.display(),
            r.text()
        );
    }

    /// Copy a file or directory out of the bed to a host path.
    pub fn cp_out(&self, src: &str, dest: &Path) -> Result<(), String> {
        let r = self.bed("cp-out", &[src, &dest.to_string_lossy()]);
        if r.ok() {
            Ok(())
        } else {
            Err(r.text())
        }
    }

    /// Write `content` to `path` inside the bed with `mode` (owner root), creating parents.
    pub fn write_file(&self, path: &str, mode: u32, content: &[u8]) {
        let mode = format!("{mode:o}");
        let r = self.exec_stdin(
            &[
                "sh",
                "-c",
                r#"umask 077; mkdir -p "$(dirname "$1")" && cat >"$1.bed-tmp" && chmod "$2" "$1.bed-tmp" && mv -f "$1.bed-tmp" "$1""#,
                "sh",
                path,
                &mode,
            ],
            content,
        );
        assert!(r.ok(), "bed: writing {path} failed:\n{}", r.text());
    }

    /// Read a file inside the bed.
    pub fn read_file(&self, path: &str) -> Result<String, String> {
        let r = self.exec(&["cat", path]);
        if r.ok() {
            Ok(r.stdout)
        } else {
            Err(r.text())
        }
    }

    /// `systemctl is-system-running` and the failed units (`systemctl --failed`).
    pub fn system_state(&self) -> (String, String) {
        let st = self.exec(&["systemctl", "is-system-running"]);
        let failed = self.exec(&["systemctl", "--failed", "--no-legend", "--plain"]);
        (st.stdout.trim().to_string(), failed.stdout)
    }

    /// The last `lines` journal lines of `unit` (for failure messages).
    pub fn journal(&self, unit: &str, lines: u32) -> String {
        let n = lines.to_string();
        let r = self.exec(&[
            "journalctl",
            "--no-pager",
            "-o",
            "short-monotonic",
            "-n",
            &n,
            "-u",
            unit,
        ]);
        r.stdout + &r.stderr
    }

    /// systemd's InvocationID of each unit: it changes when a unit (re)starts, not on reload.
    /// Compare before/after a run to prove "no service restarted" (Postfix's daemon is
    /// `postfix@-.service`; `postfix.service` is a wrapper).
    pub fn invocation_ids(&self, units: &[&str]) -> BTreeMap<String, String> {
        units
            .iter()
            .map(|u| {
                let r = self.exec(&["systemctl", "show", "--value", "-p", "InvocationID", u]);
                (u.to_string(), r.stdout.trim().to_string())
            })
            .collect()
    }

    /// Copy the mailstead binary ([`mailstead_bin`]) to /usr/local/sbin/mailstead inside.
    pub fn install_mailstead(&self) {
        self.install_binary(&mailstead_bin());
    }

    /// Copy another mailstead binary (one built with failpoints) to /usr/local/sbin/mailstead
    /// inside: for this bed only, where setting `MAILSTEAD_BIN` would change the binary of
    /// every later test of the process (and the hash of the run's installed snapshot).
    pub fn install_binary(&self, bin: &Path) {
        assert!(
            bin.is_file(),
            "no mailstead binary at {} (build it: cargo build --release -p mailstead, or set MAILSTEAD_BIN)",
            bin.display()
        );
        self.cp_in(bin, MAILSTEAD_IN_BED);
        let r = self.exec(&["chmod", "0755", MAILSTEAD_IN_BED]);
        assert!(r.ok(), "{}", r.text());
    }

    /// Run the installed mailstead with `args` (no TTY, stdin empty).
    pub fn mailstead(&self, args: &[&str]) -> Run {
        let mut cmd = vec![MAILSTEAD_IN_BED];
        cmd.extend_from_slice(args);
        self.exec(&cmd)
    }

    /// Run the installed mailstead on a pseudo-terminal.
    pub fn mailstead_tty(&self, args: &[&str]) -> Run {
        let mut cmd = vec![MAILSTEAD_IN_BED];
        cmd.extend_from_slice(args);
        self.exec_tty(&cmd)
    }

    /// The answers file for this bed: example.test with alice, the postmaster alias, pebble.
    pub fn default_answers(&self) -> String {
        crate::default_answers(&self.acme_url, crate::ALICE_PASSWORD)
    }

    /// Write the answers file at /etc/mailstead/mailstead.yaml, mode 0600.
    pub fn write_answers(&self, yaml: &str) {
        self.write_file(ANSWERS_PATH, 0o600, yaml.as_bytes());
    }

    /// Every file under /etc: type, mode, owner, sha256 or link target.
    pub fn etc_snapshot(&self) -> EtcSnapshot {
        let r = self.bed("etc-snapshot", &["-"]);
        assert!(r.ok(), "bed etc-snapshot failed:\n{}", r.text());
        EtcSnapshot::parse(&r.stdout)
    }

    // ---- outside clients (host side, against self.ip) ----

    /// The SSH-2.0 banner on port 22.
    pub fn ssh_banner(&self) -> Check {
        check(self.bed("ssh-banner", &[]))
    }

    /// Send a message to port 25 (`subject` to find it again); Ok when `250 ... queued`.
    pub fn smtp_deliver(&self, to: &str, subject: &str) -> Check {
        check(self.bed("smtp-deliver", &[to, "--subject", subject]))
    }

    /// Like [`Bed::smtp_deliver`], with the envelope sender `from`.
    pub fn smtp_deliver_from(&self, to: &str, from: &str, subject: &str) -> Check {
        check(self.bed("smtp-deliver", &[to, "--from", from, "--subject", subject]))
    }

    /// Relay attempt to an outside domain without AUTH. Ok only for a permanent refusal
    /// (5xx); Err("open relay detected (250)") or Err("relay deferred ... (454)").
    pub fn relay_check(&self) -> Check {
        check(self.bed("smtp-relay", &[]))
    }

    /// AUTH without TLS on `ports`. Ok when refused everywhere; Err("plaintext AUTH offered
    /// on port(s) ...") when advertised or processed on a cleartext connection.
    pub fn plaintext_auth_check(&self, ports: &[u16]) -> Check {
        let ports: Vec<String> = ports.iter().map(|p| p.to_string()).collect();
        let refs: Vec<&str> = ports.iter().map(|s| s.as_str()).collect();
        check(self.bed("smtp-plain-auth-check", &refs))
    }

    /// AUTH as `user` on `port` (Ok when 235). The password travels in the environment.
    pub fn smtp_auth(&self, port: u16, user: &str, pass: &str, tls: Security) -> Check {
        let port = port.to_string();
        check(self.bed_env(
            "smtp-auth",
            &[&port, user, tls.flag()],
            &[("BED_PASS", pass)],
            None,
        ))
    }

    /// AUTH, then submit a message to `to` with `subject` (Ok when authenticated and queued).
    pub fn smtp_submit(
        &self,
        port: u16,
        user: &str,
        pass: &str,
        tls: Security,
        to: &str,
        subject: &str,
    ) -> Check {
        let port = port.to_string();
        check(self.bed_env(
            "smtp-auth",
            &[&port, user, tls.flag(), "--to", to, "--subject", subject],
            &[("BED_PASS", pass)],
            None,
        ))
    }

    /// Like [`Bed::smtp_submit`], with the envelope sender `from` (`<>`: the null sender).
    #[allow(clippy::too_many_arguments)]
    pub fn smtp_submit_from(
        &self,
        port: u16,
        user: &str,
        pass: &str,
        tls: Security,
        from: &str,
        to: &str,
        subject: &str,
    ) -> Check {
        let port = port.to_string();
        check(self.bed_env(
            "smtp-auth",
            &[
                &port,
                user,
                tls.flag(),
                "--from",
                from,
                "--to",
                to,
                "--subject",
                subject,
            ],
            &[("BED_PASS", pass)],
            None,
        ))
    }

    /// IMAPS login on 993 and search INBOX (for `subject`, waiting up to `wait_secs` for it);
    /// Ok(the newest matching message).
    pub fn imaps_fetch(
        &self,
        user: &str,
        pass: &str,
        subject: Option<&str>,
        wait_secs: u32,
    ) -> Check {
        let wait = wait_secs.to_string();
        let mut args = vec![user, "--wait", wait.as_str()];
        if let Some(s) = subject {
            args.extend_from_slice(&["--subject", s]);
        }
        check(self.bed_env("imaps-fetch", &args, &[("BED_PASS", pass)], None))
    }

    /// The certificate chain on `port` verifies against pebble's root for mail.example.test
    /// (STARTTLS on 25/587/143).
    pub fn tls_verify(&self, port: u16) -> Check {
        check(self.bed("tls-verify", &[&port.to_string()]))
    }

    /// `ufw status verbose` inside the bed.
    pub fn ufw_status(&self) -> Check {
        check(self.bed("ufw-status", &[]))
    }

    /// Serve DNS to the bed (dnsmasq on the host end, which the bed's resolv.conf uses) with
    /// these records added, as dnsmasq lines: `address=/mail.example.test/10.213.N.2`,
    /// `mx-host=example.test,mail.example.test,10`, `txt-record=example.test,"v=spf1 mx -all"`,
    /// `ptr-record=2.N.213.10.in-addr.arpa,mail.example.test`. Other names: NXDOMAIN.
    pub fn dns(&self, records: &[&str]) {
        let world = crate::blocklists_answering();
        let mut args: Vec<&str> = world.iter().map(String::as_str).collect();
        args.extend_from_slice(records);
        let r = self.bed("dns", &args);
        assert!(r.ok(), "bed dns failed:\n{}", r.text());
    }

    /// Serve DNS with ONLY these records (the ones added before are dropped), and the
    /// blocklists' test entries, as the internet has them.
    pub fn dns_reset(&self, records: &[&str]) {
        let world = crate::blocklists_answering();
        let mut args = vec!["--reset"];
        args.extend(world.iter().map(String::as_str));
        args.extend_from_slice(records);
        let r = self.bed("dns", &args);
        assert!(r.ok(), "bed dns --reset failed:\n{}", r.text());
    }

    /// `mailstead [--config CONFIG] dns --format json` inside the bed, parsed. Panics when it
    /// fails or prints no JSON.
    pub fn published_json(&self, config: Option<&str>) -> serde_json::Value {
        let mut args = vec![];
        if let Some(c) = config {
            args.extend_from_slice(&["--config", c]);
        }
        args.extend_from_slice(&["dns", "--format", "json"]);
        let r = self.mailstead(&args);
        assert!(r.ok(), "mailstead dns --format json failed:\n{}", r.text());
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
            panic!(
                "mailstead dns --format json is not JSON ({e}):\n{}",
                r.text()
            )
        })
    }

    /// Serve exactly what `published` (`mailstead dns --format json`) lists, records and
    /// PTRs, through the bed's DNS ([`Bed::dns_reset`]). Returns the dnsmasq lines served;
    /// panics on a record dnsmasq cannot serve.
    pub fn serve_json(&self, published: &serde_json::Value) -> Vec<String> {
        let lines = crate::dnsmasq::dnsmasq_lines(&published.to_string())
            .unwrap_or_else(|e| panic!("mailstead dns printed a record the bed cannot serve: {e}"));
        let refs: Vec<&str> = lines.iter().map(|s| s.as_str()).collect();
        self.dns_reset(&refs);
        lines
    }

    /// Run `mailstead dns --format json` inside the bed and serve EVERY record it printed.
    pub fn serve_published(&self) -> serde_json::Value {
        let p = self.published_json(None);
        self.serve_json(&p);
        p
    }

    /// Start the outside world's SMTP server on `host_ip:port` (bed/smtp-sink.py).
    /// `auth`: `Some((user, password))` requires AUTH after STARTTLS (implies `tls`); `tls`
    /// offers STARTTLS with a certificate for `relay.outside.test` signed by the bed's own CA
    /// (its path in `bed info` as `SINK_CA`). Returns the directory where each accepted
    /// message lands as `NNNN.eml` (raw) + `NNNN.json` (peer, envelope, tls, login).
    pub fn sink_up(&self, port: u16, tls: bool, auth: Option<(&str, &str)>) -> PathBuf {
        let port_s = port.to_string();
        let mut args = vec!["--port", port_s.as_str()];
        if tls || auth.is_some() {
            args.push("--tls");
        }
        let mut env = vec![];
        if let Some((user, pass)) = auth {
            args.extend_from_slice(&["--auth", user]);
            env.push(("BED_PASS", pass));
        }
        let r = self.bed_env("sink-up", &args, &env, None);
        assert!(r.ok(), "bed sink-up failed:\n{}", r.text());
        self.state("SINK_DIR").into()
    }

    /// Stop the outside SMTP server (its messages stay).
    pub fn sink_down(&self) {
        let r = self.bed("sink-down", &[]);
        assert!(r.ok(), "bed sink-down failed:\n{}", r.text());
    }

    /// One KEY of `bed info`, read now (state set after `up`, such as SINK_DIR or SINK_CA).
    pub fn state(&self, key: &str) -> String {
        let r = self.bed("info", &[]);
        parse_info(&r.stdout).remove(key).unwrap_or_default()
    }

    /// dkimpy's verdict on a raw message (a `.eml` as the outside SMTP server received it),
    /// keys looked up at the bed's DNS (dnsmasq on `host_ip`:53) through dnspython:
    /// `Ok("verified d=D s=S")`, or `Err(report)`.
    pub fn dkim_verify(&self, eml: &Path) -> Result<String, String> {
        // `bed dkim-verify`: the one copy of the verifier, shared with `mailstead demo`.
        let r = self.bed("dkim-verify", &[&eml.display().to_string()]);
        let text = format!("{}{}", r.stdout, r.stderr).trim().to_string();
        if r.ok() {
            Ok(text)
        } else {
            Err(text)
        }
    }

    /// Take the bed down now (Drop does it otherwise).
    pub fn down(mut self) {
        self.take_down();
    }

    fn take_down(&mut self) {
        if self.down {
            return;
        }
        self.down = true;
        let r = bed_cmd(&["down", &self.name], &[], None);
        eprintln!("{}", r.stderr.trim_end());
        if !r.ok() {
            eprintln!("bed down {} FAILED:\n{}", self.name, r.text());
        }
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        self.take_down();
    }
}

/// `$MAILSTEAD_BED_DIR/.snapshots`, made private (root's, 0700) with the beds directory when
/// missing. Panics when either is not root's own (a user could plant a snapshot or a lock).
fn snapshots_dir() -> PathBuf {
    let snapshots = beds_dir().join(".snapshots");
    for d in [beds_dir(), snapshots.clone()] {
        crate::trust::private_dir(&d).unwrap_or_else(|e| panic!("{e}"));
    }
    snapshots
}

/// A bed's root copied while quiescent (`bed snapshot`), under
/// `$MAILSTEAD_BED_DIR/.snapshots/LABEL-PID`; removed on drop. Each [`Bed::fork`] of it boots
/// a copy (reflinks where the file system has them) with its own N and address: the script
/// writes the fork's `/etc/hosts`, resolver, machine-id and pebble listener certificate
/// (`/root/pebble-ca.pem`) and moves the ACME URL in the answers and certbot's renewal files
/// to the fork's pebble; clients trust the snapshot's pebble root too (the certificate in the
/// copy was issued by it). What mailstead derived from the old address (postscreen's allow
/// list, fail2ban's ignoreip) follows once `mailstead install` runs again in the fork.
pub struct Snapshot {
    pub dir: PathBuf,
    pub release: String,
    /// The bed it was taken of.
    pub of: String,
    /// Seconds the copy took (the bed frozen meanwhile).
    pub secs: f64,
    /// Kept on drop (the run's shared installed bed).
    keep: bool,
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The installed bed of `release` that every test of this run may fork: a bed where the
/// mailstead under test ([`mailstead_bin`]) ran `install --yes --plain` with
/// [`Bed::default_answers`], snapshotted once and kept on disk
/// (`$MAILSTEAD_BED_DIR/.snapshots/installed-RELEASE.HASH`, HASH from the binary's sha256:
/// another build installs anew) for the other test binaries of the run; `tests/run` removes
/// them at its end. Made under a lock: two tests asking at once install once.
pub fn installed_snapshot(release: &str) -> Snapshot {
    use sha2::{Digest, Sha256};
    use std::os::fd::AsRawFd;
    let bin = std::fs::read(mailstead_bin())
        .unwrap_or_else(|e| panic!("no mailstead binary at {} ({e})", mailstead_bin().display()));
    let hash = format!("{:x}", Sha256::digest(&bin));
    let snapshots = snapshots_dir();
    let dir = snapshots.join(format!("installed-{release}.{}", &hash[..12]));
    let lock = crate::trust::open_lock(&snapshots.join(format!("installed-{release}.lock")))
        .expect("snapshot lock");
    // SAFETY: flock on a file this function keeps open until it returns.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    if !dir.join("meta").is_file() {
        let t0 = Instant::now();
        let bed = Bed::up(&format!("installed-{release}"), release);
        bed.install_mailstead();
        bed.write_answers(&bed.default_answers());
        let run = bed.mailstead(&["install", "--yes", "--plain"]);
        assert!(
            run.ok(),
            "install for the shared installed bed:\n{}",
            run.text()
        );
        let mut snap = bed.snapshot(&format!("installed-{release}"));
        std::fs::rename(&snap.dir, &dir).expect("the snapshot in its place");
        snap.dir = dir.clone();
        snap.keep = true;
        eprintln!(
            "bed: the installed {release} bed, once for this run: {:.1} s (install {:.1} s)",
            t0.elapsed().as_secs_f64(),
            run.secs
        );
    }
    let of = std::fs::read_to_string(dir.join("meta"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("FROM=").map(str::to_string))
        .unwrap_or_default();
    Snapshot {
        dir,
        release: release.to_string(),
        of,
        secs: 0.0,
        keep: true,
    }
}

/// How `smtp_auth` protects the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// STARTTLS first (587, 25).
    StartTls,
    /// TLS from the first byte (465).
    Implicit,
    /// No TLS at all: a secure server must refuse AUTH.
    Plain,
}

impl Security {
    fn flag(self) -> &'static str {
        match self {
            Security::StartTls => "--starttls",
            Security::Implicit => "--tls",
            Security::Plain => "--plain",
        }
    }
}

/// Ok(stdout) on exit 0; Err(the RESULT line, then the whole transcript) otherwise.
fn check(r: Run) -> Check {
    if r.ok() {
        return Ok(r.stdout);
    }
    let result = r
        .stdout
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("RESULT: "))
        .map(str::to_string)
        .unwrap_or_else(|| {
            r.stderr
                .trim()
                .lines()
                .last()
                .unwrap_or("failed")
                .to_string()
        });
    Err(format!("{result}\n{}", r.text()))
}
