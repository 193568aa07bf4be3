//! The Step contract: read the current state through facts, return the changes needed as data
//! with notes for the admin, or refuse. Steps never change the system themselves; the engine
//! applies what they return. Checks prove the result and run on their own too.
//!
//! The engine is generic over the answers type `A`: it knows nothing of what is configured.
use crate::change::Change;
use crate::host::Host;
use color_eyre::Result;
use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What a step sees: the host (the real one, or plan mode's overlay), the answers, and the
/// run's fact cache.
pub struct Ctx<'a, A: ?Sized> {
    pub host: &'a dyn Host,
    pub answers: &'a A,
    /// The user running mailstead (and `$SUDO_USER`): never locked out of SSH.
    pub invoking_users: Vec<String>,
    pub facts: Facts,
}

impl<'a, A: ?Sized> Ctx<'a, A> {
    /// A context with an empty fact cache, on behalf of no particular user.
    pub fn new(host: &'a dyn Host, answers: &'a A) -> Ctx<'a, A> {
        Ctx {
            host,
            answers,
            invoking_users: Vec::new(),
            facts: Facts::default(),
        }
    }

    /// The fact `F` as the host is now: probed at most once until a change touches what it
    /// reads.
    pub fn fact<F: Fact>(&self) -> Result<Arc<F>> {
        self.facts.get::<F>(self.host)
    }
}

/// Something known about the host, probed once per run and parsed in one place
/// (listening sockets, os-release, passwd, `postconf`, `sshd -T`, ufw rules, ...).
pub trait Fact: Any + Send + Sync + Sized {
    /// What the probe reads: file or directory paths (a directory covers all below it), or
    /// one of [`reads::SERVICES`] / [`reads::PACKAGES`]. A change that touches one of them
    /// makes the cached value stale.
    const READS: &'static [&'static str];
    fn probe(host: &dyn Host) -> Result<Self>;
}

/// Pseudo-paths for [`Fact::READS`] that are not files.
pub mod reads {
    /// Running services and their sockets: stale after a reload or any command.
    pub const SERVICES: &str = "@services";
    /// The package database: stale after an install.
    pub const PACKAGES: &str = "@packages";
}

#[derive(Clone)]
struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    reads: &'static [&'static str],
}

/// What changes made (or planned) so far have touched: the reads a later probe may have seen
/// changed.
#[derive(Default)]
struct Touched {
    everything: bool,
    paths: Vec<PathBuf>,
}

impl Touched {
    fn covers(&self, reads: &[&str]) -> bool {
        self.everything || reads.iter().any(|r| overlaps(&self.paths, Path::new(r)))
    }
}

/// `r` is one of `paths`, below or above one of them.
fn overlaps<P: AsRef<Path>>(paths: &[P], r: &Path) -> bool {
    paths
        .iter()
        .any(|p| p.as_ref().starts_with(r) || r.starts_with(p.as_ref()))
}

/// The per-run cache of facts. Cloning shares the cache.
#[derive(Clone, Default)]
pub struct Facts {
    cache: Arc<Mutex<HashMap<TypeId, Entry>>>,
    probes: Arc<Mutex<usize>>,
    touched: Arc<Mutex<Touched>>,
    /// Every fact probed before any change touched what it reads (kept when a later change
    /// drops it from `cache`): true of the host as it was when the cache began.
    pristine: Arc<Mutex<HashMap<TypeId, Entry>>>,
}

impl fmt::Debug for Facts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.cache.lock().map(|c| c.len()).unwrap_or(0);
        write!(f, "Facts({n} cached, {} probes)", self.probes())
    }
}

impl Facts {
    pub fn get<F: Fact>(&self, host: &dyn Host) -> Result<Arc<F>> {
        let id = TypeId::of::<F>();
        if let Some(e) = self.cache.lock().expect("fact cache").get(&id) {
            if let Ok(v) = e.value.clone().downcast::<F>() {
                return Ok(v);
            }
        }
        let value = Arc::new(F::probe(host)?);
        *self.probes.lock().expect("fact counter") += 1;
        self.put(id, value.clone(), F::READS);
        Ok(value)
    }

    fn put(&self, id: TypeId, value: Arc<dyn Any + Send + Sync>, reads: &'static [&'static str]) {
        let entry = Entry { value, reads };
        if !self.touched.lock().expect("fact cache").covers(reads) {
            self.pristine
                .lock()
                .expect("fact cache")
                .insert(id, entry.clone());
        }
        self.cache.lock().expect("fact cache").insert(id, entry);
    }

    /// A new cache holding the facts probed before any change touched what they read (also
    /// those a later change dropped): what planning learnt that still holds of the host while
    /// nothing has been applied (planning probes the real host; only a fact probed after a
    /// planned change may have seen that change on the plan's overlay). Its probe count
    /// starts at 0.
    pub fn pristine(&self) -> Facts {
        let pristine = self.pristine.lock().expect("fact cache").clone();
        Facts {
            cache: Arc::new(Mutex::new(pristine.clone())),
            pristine: Arc::new(Mutex::new(pristine)),
            ..Facts::default()
        }
    }

    /// Puts a value in the cache as if probed (a fact that cannot be probed in a test, or
    /// one the caller built another way). Counts as no probe.
    pub fn insert<F: Fact>(&self, value: F) {
        self.put(TypeId::of::<F>(), Arc::new(value), F::READS);
    }

    /// How many probes ran (for tests and benchmarks).
    pub fn probes(&self) -> usize {
        *self.probes.lock().expect("fact counter")
    }

    /// Drops every fact that reads one of `paths` (or a path below or above one).
    pub fn invalidate(&self, paths: &[&Path]) {
        self.touched
            .lock()
            .expect("fact cache")
            .paths
            .extend(paths.iter().map(|p| p.to_path_buf()));
        self.cache
            .lock()
            .expect("fact cache")
            .retain(|_, e| !e.reads.iter().any(|r| overlaps(paths, Path::new(r))));
    }

    /// Drops every fact that reads the pseudo-path `key` ([`reads`]).
    pub fn invalidate_key(&self, key: &str) {
        self.invalidate(&[Path::new(key)]);
    }

    pub fn clear(&self) {
        self.touched.lock().expect("fact cache").everything = true;
        self.cache.lock().expect("fact cache").clear();
    }

    /// What a change makes stale: its paths; an install or a command also any service state
    /// (not a command declared [`crate::Cmd::files_only`]), and an install everything
    /// (packages bring users, files and services). A reload, queued until the run's end,
    /// nothing yet.
    pub fn invalidate_for(&self, change: &Change) {
        match change {
            Change::Install { .. } => self.clear(),
            // Queued: services reload once, at the end of the run, where the engine drops
            // what they make stale.
            Change::Reload { .. } => {}
            Change::Run { touches, cmd, .. } => {
                let mut paths: Vec<&Path> = touches.iter().map(PathBuf::as_path).collect();
                // A command that writes only its declared files (`postmap`, `postconf -e`)
                // leaves running services as they were.
                if !cmd.files_only {
                    paths.push(Path::new(reads::SERVICES));
                }
                self.invalidate(&paths);
            }
            other => self.invalidate(&other.paths()),
        }
    }
}

/// How much a note matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Level {
    Info,
    Warning,
}

/// Something worth telling the admin that is not a change (a skipped part, a fallback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub level: Level,
    pub text: String,
}

/// `text` as it may be shown on a terminal: every character that could move the cursor, change
/// colours or reorder what is displayed is replaced by a visible escape, so a string from
/// outside (a DNS answer, an SMTP reply, a certificate field, a log line) cannot draw a fake
/// line (issue 20 item 5). Escaped: C0 controls and DEL (`\x1b`, `\x07`, `\x7f`; `\n`, `\r`,
/// `\t` by name), C1 controls U+0080–U+009F (`\u{9b}`), bidi marks, embeddings, overrides and
/// isolates (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069: `\u{202e}`) and the
/// line/paragraph separators U+2028/U+2029. Everything else, backslashes included, is kept, so
/// `shown(shown(s)) == shown(s)`. Borrowed when nothing needed escaping.
pub fn shown(text: &str) -> Cow<'_, str> {
    fn hidden(c: char) -> bool {
        c.is_control()
            || matches!(
                c,
                '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
            )
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    }
    if !text.chars().any(hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if hidden(c) && (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if hidden(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`shown`] for an owned string, reusing it when nothing needed escaping.
fn shown_owned(text: String) -> String {
    match shown(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(escaped) => escaped,
    }
}

/// Notes and findings are shown on the admin's terminal: their constructors pass the text
/// through [`shown`], the last line of defence for outside data a step or check quotes.
impl Note {
    pub fn info(text: impl Into<String>) -> Note {
        Note {
            level: Level::Info,
            text: shown_owned(text.into()),
        }
    }
    pub fn warning(text: impl Into<String>) -> Note {
        Note {
            level: Level::Warning,
            text: shown_owned(text.into()),
        }
    }
}

/// What a step plans: its changes and its notes, from one look at the host.
#[derive(Debug, Clone, Default)]
pub struct Planned {
    pub changes: Vec<Change>,
    pub notes: Vec<Note>,
    /// Set when these changes depend on what an earlier step's run brings (each step is
    /// planned again at run time, on the host as the earlier ones left it): the count a plan
    /// shows may then differ from what the run does.
    pub contingent: Option<Contingency>,
}

/// What a step's planned changes depend on, in words a summary completes: "N changes depend on
/// {depends_on}" and, after the run, "they were not needed because {not_needed_because}".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contingency {
    pub depends_on: String,
    pub not_needed_because: String,
}

impl Planned {
    pub fn changes(changes: Vec<Change>) -> Planned {
        Planned {
            changes,
            ..Planned::default()
        }
    }
    pub fn note(mut self, note: Note) -> Planned {
        self.notes.push(note);
        self
    }
    /// Marks these changes as depending on the run ([`Contingency`]).
    pub fn contingent(
        mut self,
        depends_on: impl Into<String>,
        not_needed_because: impl Into<String>,
    ) -> Planned {
        self.contingent = Some(Contingency {
            depends_on: depends_on.into(),
            not_needed_because: not_needed_because.into(),
        });
        self
    }
}

impl From<Vec<Change>> for Planned {
    fn from(changes: Vec<Change>) -> Planned {
        Planned::changes(changes)
    }
}

/// A step's "no": the server is not ready for what the answers ask (a port taken by another
/// program, a hostname that does not resolve). Not a failure: nothing was changed, exit 2.
/// Return it from `plan` as `Err(Refusal::new(..).into())`; the engine finds it by type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// What is wrong, in plain words, one problem a line.
    pub reasons: Vec<String>,
}

impl Refusal {
    /// Each reason passed through [`shown`] (a reason may quote what a probe saw).
    pub fn new(reasons: Vec<String>) -> Refusal {
        Refusal {
            reasons: reasons.into_iter().map(shown_owned).collect(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reasons.join("\n"))
    }
}

impl std::error::Error for Refusal {}

pub trait Step<A: ?Sized>: Send + Sync {
    /// Short, stable name: journals, failpoints (`<name>.before|mid|after`), `--only`.
    fn name(&self) -> &'static str;
    /// One line for the dashboard.
    fn about(&self) -> &'static str;
    /// The changes that bring the host to what the answers ask for (none when it is there),
    /// with notes; or a [`Refusal`].
    fn plan(&self, ctx: &Ctx<A>) -> Result<Planned>;
    /// Checks this step's own result right after it applied (its configuration parses); an
    /// error rolls the step back. Cheap and local: end-to-end proof belongs to [`Check`]s.
    fn verify(&self, _ctx: &Ctx<A>) -> Result<()> {
        Ok(())
    }
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

/// A check's finding: what it saw and, unless it passed, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub status: Status,
    pub detail: String,
    pub fix: Option<String>,
}

/// Text passed through [`shown`] (see [`Note`]'s constructors for why).
impl Finding {
    pub fn pass(detail: impl Into<String>) -> Finding {
        Finding {
            status: Status::Pass,
            detail: shown_owned(detail.into()),
            fix: None,
        }
    }
    pub fn warn(detail: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            status: Status::Warn,
            detail: shown_owned(detail.into()),
            fix: Some(shown_owned(fix.into())),
        }
    }
    pub fn fail(detail: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            status: Status::Fail,
            detail: shown_owned(detail.into()),
            fix: Some(shown_owned(fix.into())),
        }
    }
}

/// Proves something about the running server. The engine runs every check after a run's
/// reloads (a failure rolls the run back); `mailstead check` runs them alone.
pub trait Check<A: ?Sized>: Send + Sync {
    fn name(&self) -> &'static str;
    fn run(&self, ctx: &Ctx<A>) -> Finding;
    /// What this check proves changes only with a reload or restart (a service's
    /// configuration, its sockets, its certificate): after a run that installed nothing and
    /// reloaded no configuration (an edit of lookup tables and keys the daemons re-read by
    /// themselves, or are told to with [`Change::reload_for_tables`](crate::Change::reload_for_tables))
    /// the engine leaves it out. `mailstead check` runs it always.
    fn only_after_reload(&self) -> bool {
        false
    }
}
