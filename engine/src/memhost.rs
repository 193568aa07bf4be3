//! An in-memory Host. Two uses, one mechanism:
//! - `MemHost::fake()`: a fake server for unit tests, with scripted commands and injected faults;
//! - `MemHost::overlay(real)`: plan mode. Reads fall through to the real host, writes stay in
//!   memory, and only read-only probes run, so planning is the same code as applying.
use crate::host::{Cmd, Host, Kind, LockGuard, Meta, Output, Stat, UNTRUSTED_READ_CAP};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Clone)]
enum Node {
    File { content: Vec<u8>, meta: Meta },
    Dir { meta: Meta },
    Symlink { target: PathBuf, meta: Meta },
}

/// How the fake answers a command: return `Some(output)` to handle it.
pub type CmdHandler = dyn Fn(&Cmd) -> Option<Output> + Send + Sync;

pub struct MemHost<'a> {
    base: Option<&'a dyn Host>,
    /// `None` marks a path removed on top of the base.
    nodes: Mutex<BTreeMap<PathBuf, Option<Node>>>,
    ran: Mutex<Vec<String>>,
    /// Read-only probes only (what planning really ran on the base host).
    probed: Mutex<Vec<String>>,
    handlers: Mutex<Vec<Box<CmdHandler>>>,
    failing_writes: Mutex<BTreeSet<PathBuf>>,
    root: PathBuf,
}

struct NoLock;
impl LockGuard for NoLock {}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: not found", path.display()),
    )
}

impl<'a> MemHost<'a> {
    /// An empty fake server with `/` and the usual top-level directories.
    pub fn fake() -> MemHost<'static> {
        let h = MemHost {
            base: None,
            nodes: Mutex::default(),
            ran: Mutex::default(),
            probed: Mutex::default(),
            handlers: Mutex::default(),
            failing_writes: Mutex::default(),
            root: PathBuf::from("/"),
        };
        h.put(
            Path::new("/"),
            Node::Dir {
                meta: Meta::root(0o755),
            },
        );
        for d in ["/etc", "/var", "/var/lib", "/usr", "/tmp"] {
            h.put(
                Path::new(d),
                Node::Dir {
                    meta: Meta::root(0o755),
                },
            );
        }
        h
    }

    /// Plan mode over a real host: nothing reaches it but reads and probes.
    pub fn overlay(base: &'a dyn Host) -> MemHost<'a> {
        MemHost {
            root: base.root().to_path_buf(),
            base: Some(base),
            nodes: Mutex::default(),
            ran: Mutex::default(),
            probed: Mutex::default(),
            handlers: Mutex::default(),
            failing_writes: Mutex::default(),
        }
    }

    fn put(&self, path: &Path, node: Node) {
        self.nodes
            .lock()
            .unwrap()
            .insert(path.to_path_buf(), Some(node));
    }

    fn get(&self, path: &Path) -> io::Result<Option<Node>> {
        if let Some(entry) = self.nodes.lock().unwrap().get(path) {
            return Ok(entry.clone());
        }
        let Some(base) = &self.base else {
            return Ok(None);
        };
        // Below a removed directory nothing of the base shows through.
        if path
            .ancestors()
            .skip(1)
            .any(|a| matches!(self.nodes.lock().unwrap().get(a), Some(None)))
        {
            return Ok(None);
        }
        Ok(match base.stat(path)? {
            None => None,
            Some(st) => Some(match st.kind {
                Kind::Dir => Node::Dir { meta: st.meta },
                Kind::Symlink => Node::Symlink {
                    target: base.read_link(path)?,
                    meta: st.meta,
                },
                _ => Node::File {
                    content: base.read(path)?.unwrap_or_default(),
                    meta: st.meta,
                },
            }),
        })
    }

    fn parent_must_be_dir(&self, path: &Path) -> io::Result<()> {
        match path.parent() {
            None => Ok(()),
            Some(p) => match self.get(p)? {
                Some(Node::Dir { .. }) => Ok(()),
                _ => Err(not_found(p)),
            },
        }
    }

    // ---- test conveniences ----

    /// Puts a file (and its parent directories) in place, as a test fixture.
    pub fn add_file(&self, path: &str, content: &str, meta: Meta) {
        let p = Path::new(path);
        if let Some(parent) = p.parent() {
            self.create_dir_all(parent, Meta::root(0o755)).unwrap();
        }
        self.put(
            p,
            Node::File {
                content: content.as_bytes().to_vec(),
                meta,
            },
        );
    }

    /// Makes every write to `path` fail, as a full disk would.
    pub fn fail_writes_to(&self, path: &str) {
        self.failing_writes
            .lock()
            .unwrap()
            .insert(PathBuf::from(path));
    }

    /// Answers commands with `handler` (first handler that returns Some wins).
    pub fn on_command(&self, handler: impl Fn(&Cmd) -> Option<Output> + Send + Sync + 'static) {
        self.handlers.lock().unwrap().push(Box::new(handler));
    }

    /// Every command run so far, as displayed (stdin never shown).
    pub fn commands(&self) -> Vec<String> {
        self.ran.lock().unwrap().clone()
    }

    /// Every read-only probe run so far (commands a plan really runs).
    pub fn probes(&self) -> Vec<String> {
        self.probed.lock().unwrap().clone()
    }

    /// Every path with its kind, meta and content: equal dumps mean equal trees.
    pub fn dump(&self) -> BTreeMap<PathBuf, String> {
        let mut out = BTreeMap::new();
        for (p, n) in self.nodes.lock().unwrap().iter() {
            if let Some(n) = n {
                let v = match n {
                    Node::File { content, meta } => {
                        format!("file {meta} {}", String::from_utf8_lossy(content))
                    }
                    Node::Dir { meta } => format!("dir {meta}"),
                    Node::Symlink { target, meta } => {
                        format!("link {}:{} -> {}", meta.uid, meta.gid, target.display())
                    }
                };
                out.insert(p.clone(), v);
            }
        }
        out
    }
}

impl Host for MemHost<'_> {
    fn root(&self) -> &Path {
        &self.root
    }

    fn stat(&self, path: &Path) -> io::Result<Option<Stat>> {
        Ok(self.get(path)?.map(|n| match n {
            Node::File { meta, .. } => Stat {
                kind: Kind::File,
                meta,
            },
            Node::Dir { meta } => Stat {
                kind: Kind::Dir,
                meta,
            },
            Node::Symlink { meta, .. } => Stat {
                kind: Kind::Symlink,
                meta,
            },
        }))
    }

    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match self.get(path)? {
            Some(Node::File { content, .. }) => Ok(Some(content)),
            Some(Node::Symlink { target, .. }) => {
                let t = if target.is_absolute() {
                    target
                } else {
                    path.parent().unwrap_or(Path::new("/")).join(target)
                };
                self.read(&t)
            }
            Some(Node::Dir { .. }) => Err(io::Error::other(format!(
                "{}: is a directory",
                path.display()
            ))),
            None => Ok(None),
        }
    }

    /// What this host holds itself is checked as the default does; what an overlay falls
    /// through to is read by the base host's own [`Host::read_untrusted`] (never through
    /// [`MemHost::get`], which would read a FIFO or a device in full).
    fn read_untrusted(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        let own = self.nodes.lock().unwrap().get(path).cloned();
        let refused = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {why}; not read", path.display()),
            )
        };
        match own {
            Some(None) => Ok(None),
            Some(Some(Node::Symlink { .. })) => Err(refused("a symbolic link")),
            Some(Some(Node::Dir { .. })) => Err(refused("not a regular file")),
            Some(Some(Node::File { content, .. })) => {
                if content.len() as u64 > UNTRUSTED_READ_CAP {
                    Err(refused(&format!(
                        "{} bytes, more than the {UNTRUSTED_READ_CAP} allowed",
                        content.len()
                    )))
                } else {
                    Ok(Some(content))
                }
            }
            None => match self.base {
                Some(base)
                    if !path
                        .ancestors()
                        .skip(1)
                        .any(|a| matches!(self.nodes.lock().unwrap().get(a), Some(None))) =>
                {
                    base.read_untrusted(path)
                }
                _ => Ok(None),
            },
        }
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        match self.get(path)? {
            Some(Node::Symlink { target, .. }) => Ok(target),
            _ => Err(io::Error::other(format!(
                "{}: not a symlink",
                path.display()
            ))),
        }
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        if !matches!(self.get(path)?, Some(Node::Dir { .. })) {
            return Err(not_found(path));
        }
        let mut names = BTreeSet::new();
        if let Some(base) = &self.base {
            if let Ok(base_names) = base.list_dir(path) {
                names.extend(base_names);
            }
        }
        for (p, n) in self.nodes.lock().unwrap().iter() {
            if p.parent() == Some(path) {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if n.is_some() {
                    names.insert(name);
                } else {
                    names.remove(&name);
                }
            }
        }
        Ok(names.into_iter().collect())
    }

    fn write_atomic(&self, path: &Path, content: &[u8], meta: Meta) -> io::Result<()> {
        if self.failing_writes.lock().unwrap().contains(path) {
            return Err(io::Error::other(format!(
                "{}: no space left on device (injected)",
                path.display()
            )));
        }
        self.parent_must_be_dir(path)?;
        self.put(
            path,
            Node::File {
                content: content.to_vec(),
                meta,
            },
        );
        Ok(())
    }

    fn append_sync(&self, path: &Path, content: &[u8]) -> io::Result<()> {
        self.parent_must_be_dir(path)?;
        let (mut existing, meta) = match self.get(path)? {
            Some(Node::File { content, meta }) => (content, meta),
            _ => (Vec::new(), Meta::root(0o600)),
        };
        existing.extend_from_slice(content);
        self.put(
            path,
            Node::File {
                content: existing,
                meta,
            },
        );
        Ok(())
    }

    fn create_dir(&self, path: &Path, meta: Meta) -> io::Result<()> {
        if self.get(path)?.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: exists", path.display()),
            ));
        }
        self.parent_must_be_dir(path)?;
        self.put(path, Node::Dir { meta });
        Ok(())
    }

    fn symlink(&self, target: &Path, path: &Path, uid: u32, gid: u32) -> io::Result<()> {
        self.parent_must_be_dir(path)?;
        self.put(
            path,
            Node::Symlink {
                target: target.to_path_buf(),
                meta: Meta {
                    mode: 0o777,
                    uid,
                    gid,
                },
            },
        );
        Ok(())
    }

    fn set_meta(&self, path: &Path, meta: Meta) -> io::Result<()> {
        let node = match self.get(path)? {
            Some(Node::File { content, .. }) => Node::File { content, meta },
            Some(Node::Dir { .. }) => Node::Dir { meta },
            Some(Node::Symlink { target, .. }) => Node::Symlink { target, meta },
            None => return Err(not_found(path)),
        };
        self.put(path, node);
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        match self.get(path)? {
            None => Err(not_found(path)),
            Some(Node::Dir { .. }) if !self.list_dir(path)?.is_empty() => Err(io::Error::other(
                format!("{}: directory not empty", path.display()),
            )),
            Some(_) => {
                let mut nodes = self.nodes.lock().unwrap();
                if self.base.is_some() {
                    nodes.insert(path.to_path_buf(), None);
                } else {
                    nodes.remove(path);
                }
                Ok(())
            }
        }
    }

    fn run(&self, cmd: &Cmd) -> io::Result<Output> {
        self.ran.lock().unwrap().push(cmd.to_string());
        if cmd.probe {
            self.probed.lock().unwrap().push(cmd.to_string());
        }
        for h in self.handlers.lock().unwrap().iter() {
            if let Some(out) = h(cmd) {
                return Ok(out);
            }
        }
        match &self.base {
            // Plan mode: probes see the real system; changes are only recorded.
            Some(base) if cmd.probe => base.run(cmd),
            Some(_) => Ok(Output::default()),
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{}: command not found (fake host)", cmd.program),
            )),
        }
    }

    /// Replays the lines of the scripted output (stdout, then stderr), as if printed live.
    fn run_streaming(&self, cmd: &Cmd, on_line: &mut dyn FnMut(&str)) -> io::Result<Output> {
        let out = self.run(cmd)?;
        crate::host::replay(&out, on_line);
        Ok(out)
    }

    fn lock(&self, _path: &Path) -> io::Result<Box<dyn LockGuard>> {
        Ok(Box::new(NoLock))
    }
}
