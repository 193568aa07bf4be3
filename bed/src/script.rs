//! Where the bed script lives and how it is run: the one runner of `bed` commands.
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a command printed and how it ended.
#[derive(Debug, Clone)]
pub struct Run {
    /// Exit code; -1 when killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// Wall-clock seconds the command took.
    pub secs: f64,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// stdout and stderr together, for assertion messages.
    pub fn text(&self) -> String {
        format!(
            "exit {} after {:.1} s\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.secs, self.stdout, self.stderr
        )
    }

    /// stdout then stderr, trimmed: what a user reads of a failed command.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
            .trim_end()
            .to_string()
    }
}

/// The run was stopped because [`Watch::interrupted`] said so (Ctrl-C, SIGTERM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted;

/// Called with each line of a watched command's output, from the threads reading it.
pub type LineHandler = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// How [`Script::run_watched`] follows a command.
#[derive(Clone, Default)]
pub struct Watch<'a> {
    /// Called with each line of stdout and stderr as it comes (the demo shows them).
    pub line: Option<LineHandler>,
    /// Polled every 100 ms: when it says yes, the command's process group gets SIGTERM, then
    /// SIGKILL after 10 s, and the run ends with [`Interrupted`].
    pub interrupted: Option<&'a dyn Fn() -> bool>,
}

/// A runnable copy of the bed script, with `smtp-sink.py` next to it (`bed sink-up` starts it
/// from the script's own directory).
#[derive(Debug)]
pub struct Script {
    path: PathBuf,
    /// The private directory of [`Script::private`], removed on drop or [`Script::close`].
    dir: Option<tempfile::TempDir>,
}

impl Script {
    /// The script in the repo (`bed/bed`): the tests drive it where it is.
    pub fn in_repo() -> Script {
        Script {
            path: Path::new(env!("CARGO_MANIFEST_DIR")).join("bed"),
            dir: None,
        }
    }

    /// The compiled-in script and receiver written to a new private directory (0700,
    /// `$TMPDIR/PREFIX*`): `mailstead demo` runs from anywhere, without the repo.
    /// Err: the directory or a file cannot be written.
    pub fn private(prefix: &str) -> std::io::Result<Script> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        // Root runs what is written here: the new directory (mkdtemp, 0700) must be root's
        // own, in a parent no other user can rename it in ($TMPDIR may point anywhere).
        // SAFETY: geteuid cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            crate::trust::private_dir(dir.path()).map_err(std::io::Error::other)?;
        }
        let write = |name: &str, text: &str, mode: u32| -> std::io::Result<PathBuf> {
            let p = dir.path().join(name);
            std::fs::write(&p, text)?;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))?;
            Ok(p)
        };
        let path = write("bed", crate::BED_SCRIPT, 0o700)?;
        write("smtp-sink.py", crate::SINK_SCRIPT, 0o600)?;
        Ok(Script {
            path,
            dir: Some(dir),
        })
    }

    /// The script's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The private directory of [`Script::private`] (None for the repo's script).
    pub fn private_dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(|d| d.path())
    }

    /// Removes the private directory now (nothing for the repo's script).
    pub fn close(&mut self) {
        if let Some(d) = self.dir.take() {
            let _ = d.close();
        }
    }

    /// `bed ARGS` as a command, with `env` added, not started.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut c = Command::new(&self.path);
        c.args(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c
    }

    /// `bed ARGS` with `env` added and `stdin` fed (none: /dev/null); output captured.
    /// Panics only when the script cannot be started at all.
    pub fn run(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Run {
        self.run_watched(args, env, stdin, Watch::default())
            .expect("no interrupt without a Watch::interrupted")
    }

    /// Like [`Script::run`], followed as `watch` says (with `interrupted`: in a process group
    /// of its own).
    /// Err(Interrupted) when `watch.interrupted` asked to stop (the group is stopped then).
    pub fn run_watched(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: Option<&[u8]>,
        watch: Watch,
    ) -> Result<Run, Interrupted> {
        let t0 = Instant::now();
        let mut c = self.command(args, env);
        if watch.interrupted.is_some() {
            // Its own group, so that stopping it stops everything it started; without a
            // Watch it stays in ours, and a Ctrl-C reaches it as it reaches us.
            c.process_group(0);
        }
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("bed: cannot start {}: {e}", self.path.display()));
        if let Some(input) = stdin {
            let mut si = child.stdin.take().expect("piped");
            let input = input.to_vec();
            // Fed from a thread so a large input cannot deadlock against full pipes.
            std::thread::spawn(move || {
                let _ = si.write_all(&input);
            });
        }
        let out = child.stdout.take().expect("piped");
        let err = child.stderr.take().expect("piped");
        let read = |r: Box<dyn Read + Send>| {
            let line = watch.line.clone();
            // Detached: an interrupted run returns at once, whoever still holds the pipe.
            std::thread::spawn(move || {
                let mut all = String::new();
                for l in BufReader::new(r).lines().map_while(Result::ok) {
                    if let Some(f) = &line {
                        f(l.trim_end_matches('\r'));
                    }
                    all.push_str(&l);
                    all.push('\n');
                }
                all
            })
        };
        let out = read(Box::new(out));
        let err = read(Box::new(err));
        let code = wait(&mut child, watch.interrupted)?;
        let (stdout, stderr) = (
            out.join().unwrap_or_default(),
            err.join().unwrap_or_default(),
        );
        Ok(Run {
            code,
            stdout,
            stderr,
            secs: t0.elapsed().as_secs_f64(),
        })
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        self.close();
    }
}

/// Waits for `child`; when `interrupted` says so, stops its process group: TERM, then KILL
/// after 10 s. Ok(exit code; -1 when killed by a signal).
fn wait(child: &mut Child, interrupted: Option<&dyn Fn() -> bool>) -> Result<i32, Interrupted> {
    let Some(interrupted) = interrupted else {
        return Ok(child.wait().map(|st| st.code().unwrap_or(-1)).unwrap_or(-1));
    };
    loop {
        if let Some(st) = child.try_wait().ok().flatten() {
            if interrupted() {
                return Err(Interrupted);
            }
            return Ok(st.code().unwrap_or(-1));
        }
        if interrupted() {
            let pg = child.id() as i32;
            // SAFETY: signals to the process group this run started (process_group(0)).
            unsafe {
                libc::kill(-pg, libc::SIGTERM);
            }
            let end = Instant::now() + Duration::from_secs(10);
            while Instant::now() < end {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            // SAFETY: as above.
            unsafe {
                libc::kill(-pg, libc::SIGKILL);
            }
            let _ = child.wait();
            return Err(Interrupted);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The KEY=VALUE lines of `bed info` (values written with printf %q), unquoted.
pub fn parse_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), unquote(v)))
        .collect()
}

/// A value `bed info` wrote with printf %q; ours never need more than backslash removal.
fn unquote(v: &str) -> String {
    let v = v.trim();
    let v = v
        .strip_prefix("$'")
        .and_then(|s| s.strip_suffix('\''))
        .unwrap_or(v);
    v.replace('\\', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_values_are_unquoted() {
        let m = parse_info("BED_IP=10.213.3.2\nSINK_DIR=/var/tmp/a\\ b\nX=$'c\\'d'\nnot a pair\n");
        assert_eq!(m["BED_IP"], "10.213.3.2");
        assert_eq!(m["SINK_DIR"], "/var/tmp/a b");
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn the_scripts_ship_inside() {
        assert!(crate::BED_SCRIPT.starts_with("#!/usr/bin/env bash"));
        assert!(crate::BED_SCRIPT.contains("cmd_dkim_verify"));
        assert!(crate::SINK_SCRIPT.contains("aiosmtpd"));
        assert!(Script::in_repo().path().is_file());
    }
}
