//! What an everyday edit costs the engine, against the in-memory fake host: a run probes each
//! fact planning probed once (unless a change touched what it reads), verifies only the steps
//! that changed something (all of them after packages came), and a reload for lookup tables
//! alone does not repeat the checks of configuration.
use color_eyre::eyre::{bail, Result};
use mailstead_engine::event::Recorder;
use mailstead_engine::{
    Change, Check, Cmd, Ctx, Engine, Fact, Finding, Host, MemHost, Meta, Options, Outcome, Output,
    Perms, Planned, Step,
};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

struct Answers;

const NO_CHECKS: &[&dyn Check<Answers>] = &[];
const CONF: &str = "/etc/app/app.conf";

fn yes() -> Options {
    Options {
        yes: true,
        ..Options::default()
    }
}

/// A fake server with systemd "running" (reloads go through systemctl) and an app.conf.
fn server(conf: &str) -> MemHost<'static> {
    let h = MemHost::fake();
    h.add_file(
        "/etc/passwd",
        "root:x:0:0::/root:/bin/sh\n",
        Meta::root(0o644),
    );
    h.add_file("/etc/group", "root:x:0:\n", Meta::root(0o644));
    h.create_dir_all("/run/systemd/system".as_ref(), Meta::root(0o755))
        .unwrap();
    h.add_file(CONF, conf, Meta::root(0o644));
    h.on_command(|c: &Cmd| (c.program == "systemctl").then(Output::default));
    h
}

/// The `v = N` of app.conf; counts its probes (one test at a time uses it: `_serial`).
struct Version(u32);
static VERSION_PROBES: AtomicUsize = AtomicUsize::new(0);
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Fact for Version {
    const READS: &'static [&'static str] = &[CONF];
    fn probe(host: &dyn Host) -> Result<Self> {
        VERSION_PROBES.fetch_add(1, Ordering::SeqCst);
        let text = host.read_string(Path::new(CONF))?.unwrap_or_default();
        Ok(Version(
            text.trim()
                .strip_prefix("v = ")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        ))
    }
}

/// Brings app.conf to `v = 2` when the fact says it is older (as a step that migrates a
/// setting decides from what it reads), and writes what it saw.
struct Migrate;
impl Step<Answers> for Migrate {
    fn name(&self) -> &'static str {
        "migrate"
    }
    fn about(&self) -> &'static str {
        "moves app.conf to v = 2"
    }
    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let v = ctx.fact::<Version>()?.0;
        let mut changes = vec![Change::write(
            "/etc/app/seen",
            format!("migrate saw v = {v}\n"),
            Perms::root(0o644),
        )];
        if v < 2 {
            changes.push(Change::write(CONF, "v = 2\n", Perms::root(0o644)));
        }
        Ok(changes.into())
    }
}

/// Reads the fact after `migrate` and writes a map from it.
struct Reader;
impl Step<Answers> for Reader {
    fn name(&self) -> &'static str {
        "reader"
    }
    fn about(&self) -> &'static str {
        "writes a map from app.conf"
    }
    fn plan(&self, ctx: &Ctx<Answers>) -> Result<Planned> {
        let v = ctx.fact::<Version>()?.0;
        Ok(vec![Change::write(
            "/etc/app/users.map",
            format!("alice {v}\n"),
            Perms::root(0o644),
        )]
        .into())
    }
}

/// A step that reads the fact and changes something else: planning's probe is the run's.
#[test]
fn a_run_probes_what_planning_probed_once() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = server("v = 2\n");
    VERSION_PROBES.store(0, Ordering::SeqCst);
    let steps: Vec<&dyn Step<Answers>> = vec![&Reader];
    let r = Engine::new(&h, &mut Recorder::default(), yes())
        .apply(&steps, NO_CHECKS, &Answers)
        .unwrap();
    assert_eq!(r.outcome, Outcome::Done);
    assert_eq!(
        h.read_string("/etc/app/users.map".as_ref())
            .unwrap()
            .unwrap(),
        "alice 2\n"
    );
    assert_eq!(
        VERSION_PROBES.load(Ordering::SeqCst),
        1,
        "planned and applied on one probe"
    );
}

/// A fact a later step probed while planning, after a planned change to what it reads, saw
/// the plan's overlay: the run must not take it for the host. `migrate` sees v = 1 when it
/// applies and moves it to 2; `reader` then sees 2.
#[test]
fn a_fact_probed_after_a_planned_change_is_probed_again_when_applied() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = server("v = 1\n");
    let steps: Vec<&dyn Step<Answers>> = vec![&Migrate, &Reader];
    let r = Engine::new(&h, &mut Recorder::default(), yes())
        .apply(&steps, NO_CHECKS, &Answers)
        .unwrap();
    assert_eq!(r.outcome, Outcome::Done);
    let read = |p: &str| h.read_string(p.as_ref()).unwrap().unwrap();
    assert_eq!(read(CONF), "v = 2\n");
    assert_eq!(read("/etc/app/seen"), "migrate saw v = 1\n");
    assert_eq!(read("/etc/app/users.map"), "alice 2\n");
}

/// Changes nothing itself; counts its verifications.
struct Idle {
    verified: AtomicUsize,
}
impl Step<Answers> for Idle {
    fn name(&self) -> &'static str {
        "idle"
    }
    fn about(&self) -> &'static str {
        "already as wanted"
    }
    fn plan(&self, _ctx: &Ctx<Answers>) -> Result<Planned> {
        Ok(Planned::default())
    }
    fn verify(&self, _ctx: &Ctx<Answers>) -> Result<()> {
        self.verified.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Installs one package (the fake's apt installs it).
struct Packages;
impl Step<Answers> for Packages {
    fn name(&self) -> &'static str {
        "packages"
    }
    fn about(&self) -> &'static str {
        "installs app-core"
    }
    fn plan(&self, _ctx: &Ctx<Answers>) -> Result<Planned> {
        Ok(vec![Change::Install {
            packages: vec!["app-core".into()],
            debconf: vec![],
        }]
        .into())
    }
}

/// A step that changed nothing was proved by the run that made it so; a run that brought
/// packages (a new daemon version reading the same files) proves it again.
#[test]
fn an_unchanged_step_is_verified_only_after_packages_came() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = server("v = 2\n");
    let installed = Arc::new(AtomicBool::new(false));
    let i = installed.clone();
    h.on_command(move |c: &Cmd| match c.program.as_str() {
        "dpkg-query" if i.load(Ordering::SeqCst) => Some(Output {
            status: 0,
            stdout: "install ok installed".into(),
            stderr: String::new(),
        }),
        "dpkg-query" => Some(Output {
            status: 1,
            ..Output::default()
        }),
        "apt-get" => {
            i.store(true, Ordering::SeqCst);
            Some(Output::default())
        }
        _ => None,
    });
    let idle = Idle {
        verified: AtomicUsize::new(0),
    };
    let verified = || idle.verified.load(Ordering::SeqCst);
    let steps: Vec<&dyn Step<Answers>> = vec![&Reader, &idle];
    let r = Engine::new(&h, &mut Recorder::default(), yes())
        .apply(&steps, NO_CHECKS, &Answers)
        .unwrap();
    assert_eq!(r.outcome, Outcome::Done);
    assert_eq!(
        verified(),
        0,
        "an edit elsewhere verified the unchanged step"
    );

    let steps: Vec<&dyn Step<Answers>> = vec![&Packages, &idle];
    let r = Engine::new(&h, &mut Recorder::default(), yes())
        .apply(&steps, NO_CHECKS, &Answers)
        .unwrap();
    assert_eq!(r.outcome, Outcome::Done);
    assert!(installed.load(Ordering::SeqCst));
    assert_eq!(
        verified(),
        1,
        "new packages, the unchanged step proved again"
    );
}

/// Writes a domain table, and app.conf when `conf` differs; the daemon is told to read the
/// table again (a tables-only reload), and reloaded for its configuration.
struct Domains {
    table: &'static str,
    conf: &'static str,
}
impl Step<Answers> for Domains {
    fn name(&self) -> &'static str {
        "domains"
    }
    fn about(&self) -> &'static str {
        "writes the domain table"
    }
    fn plan(&self, _ctx: &Ctx<Answers>) -> Result<Planned> {
        Ok(vec![
            Change::write(CONF, self.conf, Perms::root(0o644)),
            Change::write("/etc/app/domains", self.table, Perms::root(0o644)),
            Change::reload_for_tables("app", &["/etc/app/domains"]),
            Change::reload_after("app", &[CONF]),
        ]
        .into())
    }
}

/// Counts its runs; `reload`: what it proves changes only with a reload.
struct Counted {
    reload: bool,
    runs: AtomicUsize,
}
impl Check<Answers> for Counted {
    fn name(&self) -> &'static str {
        if self.reload {
            "config"
        } else {
            "delivery"
        }
    }
    fn run(&self, _ctx: &Ctx<Answers>) -> Finding {
        self.runs.fetch_add(1, Ordering::SeqCst);
        Finding::pass("fine")
    }
    fn only_after_reload(&self) -> bool {
        self.reload
    }
}

/// A new domain in a table the daemon caches: it is reloaded, but its configuration is as
/// proved, so the configuration checks are left out; a configuration change runs them.
#[test]
fn a_reload_for_tables_alone_skips_the_configuration_checks() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = server("v = 2\n");
    let data = Counted {
        reload: false,
        runs: AtomicUsize::new(0),
    };
    let conf = Counted {
        reload: true,
        runs: AtomicUsize::new(0),
    };
    let checks: Vec<&dyn Check<Answers>> = vec![&data, &conf];
    let runs = |c: &Counted| c.runs.load(Ordering::SeqCst);
    let apply = |step: &Domains| {
        let steps: Vec<&dyn Step<Answers>> = vec![step];
        let r = Engine::new(&h, &mut Recorder::default(), yes())
            .apply(&steps, &checks, &Answers)
            .unwrap();
        if r.outcome != Outcome::Done {
            bail!("{:?}", r.outcome);
        }
        Ok(h.commands()
            .iter()
            .filter(|c| c.contains("reload-or-restart app"))
            .count())
    };
    let reloads = apply(&Domains {
        table: "example.test OK\nother.test OK\n",
        conf: "v = 2\n",
    })
    .unwrap();
    assert_eq!(reloads, 1, "{:?}", h.commands());
    assert_eq!((runs(&data), runs(&conf)), (1, 0));

    let reloads = apply(&Domains {
        table: "example.test OK\nother.test OK\nthird.test OK\n",
        conf: "v = 3\n",
    })
    .unwrap();
    assert_eq!(reloads, 2, "one reload a run: {:?}", h.commands());
    assert_eq!((runs(&data), runs(&conf)), (2, 1));
}
