//! The answers file: what the admin wants, as YAML (see issue 3, section 8).
//!
//! [`load`]/[`parse`] are the ONE place YAML is read. Parsing runs in stages so that a bad file
//! yields every problem at once, each naming its field, its value and the fix:
//!
//! 1. YAML syntax, into an untyped tree with source positions (serde-saphyr, with a budget so
//!    an alias bomb is refused instead of expanded).
//! 2. Shape: the tree is checked against a schema table — unknown keys (with a "did you mean"),
//!    missing required keys, wrong types — collecting all problems.
//! 3. Typed deserialization into [`Answers`] (serde derive stays the source of truth; the schema
//!    table is cross-checked against it in tests).
//! 4. Meaning: [`validate`] (FQDNs, addresses, passwords, uniqueness, ...).
//!
//! Decisions, written down:
//! - Names are lowercase only. Uppercase in `hostname`, domain names and mailbox/alias addresses
//!   is rejected (not silently lowered): DNS ignores case but Postfix maps, Dovecot user lookups,
//!   mail directories and certificates compare bytes, and one spelling means `Alice@` and
//!   `alice@` can never become two mailboxes. Rejecting keeps what is in the file exactly what
//!   runs.
//! - Booleans are strict YAML 1.2 (`true`/`false`); `yes`/`no`/`on`/`off` are rejected with a fix.
//! - An alias `to` is one address or a comma-separated list (`a@x.test, b@y.test`).
//! - An alias `from` must be inside the domain it is listed under (like mailboxes); catch-all
//!   `@domain` aliases are not supported.
//! - Mailbox and alias-from local parts allow `a-z 0-9 . _ -` only: they become Postfix map keys,
//!   Dovecot user names and directory names; `+` is left out because it is the sub-address
//!   delimiter (`alice+tag@` reaches `alice@`). Alias targets may be any ordinary address.
//! - Password values never appear in any message: not in problems, not in YAML snippets.
use crate::secret::Secret;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_saphyr::{Location, Spanned};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the answers live unless `--config` says otherwise.
pub const DEFAULT_PATH: &str = "/etc/mailstead/mailstead.yaml";

/// Let's Encrypt's production ACME directory, used when `acme.server` is absent.
pub const LETSENCRYPT_PRODUCTION: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging ACME directory, used with `acme.staging: true`.
pub const LETSENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";

/// Smallest and largest accepted `message_size_limit`.
pub const MIN_MESSAGE_SIZE: u64 = 1024 * 1024;
pub const MAX_MESSAGE_SIZE: u64 = 1024 * 1024 * 1024;

/// Shortest accepted plaintext password. IMAP and SMTP AUTH face the internet and are
/// brute-forced around the clock; 12 characters puts guessing out of reach of those bots.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Largest answers file `load` reads: 1,000 domains × 10 mailboxes is ~1 MiB, so this is
/// generous, and it stops a stray huge file from being read into memory.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    pub hostname: String,
    pub admin_email: String,
    #[serde(default)]
    pub domains: Vec<Domain>,
    #[serde(default)]
    pub acme: Acme,
    #[serde(default)]
    pub ssh: Ssh,
    #[serde(default)]
    pub firewall: Firewall,
    /// Offer POP3 (995) too; IMAP only by default.
    #[serde(default)]
    pub pop3: bool,
    /// Largest message accepted, in bytes.
    #[serde(default = "default_message_size_limit")]
    pub message_size_limit: u64,
}

pub fn default_message_size_limit() -> u64 {
    50 * 1024 * 1024
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    pub name: String,
    #[serde(default)]
    pub mailboxes: Vec<Mailbox>,
    #[serde(default)]
    pub aliases: Vec<Alias>,
    /// postmaster@ and abuse@ pointing at the first mailbox unless the admin set them.
    #[serde(default = "yes")]
    pub default_aliases: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mailbox {
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Alias {
    pub from: String,
    /// One address, or several separated by commas.
    pub to: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Acme {
    /// ACME directory URL; Let's Encrypt when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Extra trust for a private ACME server (a PEM file on the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<PathBuf>,
    #[serde(default)]
    pub staging: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Ssh {
    /// Users allowed to log in over SSH; the user running mailstead is always added.
    #[serde(default)]
    pub allow_users: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl Default for Firewall {
    fn default() -> Self {
        Firewall { enabled: true }
    }
}

fn yes() -> bool {
    true
}

impl Answers {
    /// Every mailbox of every domain, in file order.
    pub fn all_mailboxes(&self) -> impl Iterator<Item = &Mailbox> {
        self.domains.iter().flat_map(|d| d.mailboxes.iter())
    }

    /// Whether any mailbox carries a plaintext password (decides how private the file must be).
    pub fn has_plaintext_password(&self) -> bool {
        self.all_mailboxes().any(|m| m.password.is_some())
    }

    /// The ACME directory to use: `acme.server`, else Let's Encrypt (staging if asked).
    pub fn acme_server_url(&self) -> &str {
        match &self.acme.server {
            Some(url) => url,
            None if self.acme.staging => LETSENCRYPT_STAGING,
            None => LETSENCRYPT_PRODUCTION,
        }
    }
}

impl Domain {
    /// The aliases to install: the explicit ones, plus (when `default_aliases`) postmaster@ and
    /// abuse@ pointing at the first mailbox, unless that address is already a mailbox or an
    /// alias. RFC 5321/2142 expect both to exist. A domain without mailboxes gets no defaults.
    pub fn effective_aliases(&self) -> Vec<Alias> {
        let mut out = self.aliases.clone();
        let Some(first) = self.mailboxes.first() else {
            return out;
        };
        if !self.default_aliases {
            return out;
        }
        for local in ["postmaster", "abuse"] {
            let addr = format!("{local}@{}", self.name);
            let taken = self.mailboxes.iter().any(|m| m.address == addr)
                || self.aliases.iter().any(|a| a.from == addr);
            if !taken {
                out.push(Alias {
                    from: addr,
                    to: first.address.clone(),
                });
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// One thing wrong with the answers file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Field path such as `domains[0].mailboxes[1].address`; empty for whole-file problems
    /// (YAML syntax, empty file, file mode).
    pub field: String,
    /// What is wrong, quoting the offending value (never a password).
    pub message: String,
    /// What to do about it.
    pub fix: String,
    /// 1-based line and column in the file, when known.
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// Source lines around a YAML syntax error, already redacted.
    pub snippet: Option<String>,
}

impl Problem {
    fn new(field: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Problem {
            field: field.into(),
            message: message.into(),
            fix: fix.into(),
            line: None,
            column: None,
            snippet: None,
        }
    }

    fn at(mut self, loc: Option<Location>) -> Self {
        if let Some(loc) = loc.filter(|l| l.line() > 0) {
            self.line = Some(loc.line());
            self.column = Some(loc.column());
        }
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{} ({})", self.message, self.fix)
    }
}

/// Everything wrong with an answers file; nothing has been changed when you hold one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or other source) the answers came from, for messages.
    pub origin: String,
    /// All problems found, in file order where known.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    fn new(origin: &str, problems: Vec<Problem>) -> Self {
        ConfigError {
            origin: origin.to_string(),
            problems,
        }
    }
}

impl fmt::Display for ConfigError {
    /// One problem per line, compiler style: `FILE:LINE:COL: field: message (fix)`; a syntax
    /// error's snippet follows on indented lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match (p.line, p.column) {
                (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {p}", self.origin)?,
                (Some(l), None) => write!(f, "{}:{l}: {p}", self.origin)?,
                _ => write!(f, "{}: {p}", self.origin)?,
            }
            if let Some(snippet) = &p.snippet {
                for line in snippet.lines() {
                    write!(f, "\n    {line}")?;
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

// ---------------------------------------------------------------------------------------------
// Loading and parsing
// ---------------------------------------------------------------------------------------------

/// Read, parse and validate the answers file at `path` (a real filesystem path: the caller maps
/// `--root`), and refuse plaintext passwords in a file others can read.
pub fn load(path: &Path) -> Result<Answers, ConfigError> {
    use std::os::unix::fs::PermissionsExt;
    let origin = path.display().to_string();
    let fail = |message: String, fix: &str| {
        Err(ConfigError::new(
            &origin,
            vec![Problem::new("", message, fix)],
        ))
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return fail(
                "the answers file does not exist".into(),
                "create it (see the README for an example), or point --config at it",
            )
        }
        Err(e) => {
            return fail(
                format!("cannot read the answers file: {e}"),
                "check its path and permissions",
            )
        }
    };
    if !meta.is_file() {
        return fail(
            "is not a regular file".into(),
            "point --config at the answers file",
        );
    }
    if meta.len() > MAX_FILE_BYTES {
        return fail(
            format!(
                "is {} bytes, more than the {MAX_FILE_BYTES} an answers file can be",
                meta.len()
            ),
            "check that --config names the answers file",
        );
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return fail(
                format!("cannot read the answers file: {e}"),
                "check its permissions",
            )
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return fail("is not UTF-8 text".into(), "save the file as UTF-8");
    };
    let mode = meta.permissions().mode();
    match parse(&text, &origin) {
        Ok(answers) => {
            check_file_mode_of(&origin, mode, answers.has_plaintext_password())?;
            Ok(answers)
        }
        Err(mut err) => {
            // Report the mode too, so one edit round fixes everything.
            if let Err(mode_err) = check_file_mode_of(&origin, mode, mentions_plain_password(&text))
            {
                err.problems.extend(mode_err.problems);
            }
            Err(err)
        }
    }
}

/// Refuse plaintext passwords in a file that group or others can read. The error's fix names
/// `chmod 600 FILE`; [`load`] applies this with the real file name.
pub fn check_file_mode(mode: u32, has_plaintext_password: bool) -> Result<(), ConfigError> {
    check_file_mode_of("FILE", mode, has_plaintext_password)
}

fn check_file_mode_of(
    origin: &str,
    mode: u32,
    has_plaintext_password: bool,
) -> Result<(), ConfigError> {
    if has_plaintext_password && mode & 0o077 != 0 {
        return Err(ConfigError::new(
            origin,
            vec![Problem::new(
                "",
                format!(
                    "holds plaintext passwords but its mode is {:04o}, so other users can read it",
                    mode & 0o7777
                ),
                format!("run `chmod 600 {origin}`, or replace `password:` with `password_hash:`"),
            )],
        ));
    }
    Ok(())
}

/// Cheap look for a `password:` key, used only when the file did not parse.
fn mentions_plain_password(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start().trim_start_matches("- ").trim_start();
        l.starts_with("password:") || l.starts_with("password :")
    })
}

fn yaml_options() -> serde_saphyr::Options {
    // Budgets: a real answers file (even 1,000 domains × 10 mailboxes) needs a few hundred
    // thousand events and rarely any alias; these limits refuse alias bombs and deep nesting
    // long before they cost memory or time.
    serde_saphyr::options! {
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_documents: 1,
            max_depth: 16,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_events: 2_000_000,
            max_nodes: 1_000_000,
            max_total_scalar_bytes: 32 * 1024 * 1024,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 10_000,
            max_replay_stack_depth: 8,
            max_alias_expansions_per_anchor: 1_000,
        },
    }
}

/// Parse and validate answers from `text`; `origin` names the source in messages (a path).
pub fn parse(text: &str, origin: &str) -> Result<Answers, ConfigError> {
    // Stage 1: syntax, into a positioned tree.
    let tree: Spanned<Node> = match serde_saphyr::from_str_with_options(text, yaml_options()) {
        Ok(t) => t,
        Err(e) => return Err(ConfigError::new(origin, vec![yaml_problem(&e, text)])),
    };
    if matches!(tree.value, Node::Null) {
        return Err(ConfigError::new(
            origin,
            vec![Problem::new(
                "",
                "the answers file is empty",
                "write at least `hostname:`, `admin_email:` and `domains:`; the README has an example",
            )],
        ));
    }

    // Stage 2: shape.
    let mut problems = Vec::new();
    check_shape(&tree, &ANSWERS_SCHEMA, "", &mut problems);
    if !problems.is_empty() {
        return Err(ConfigError::new(origin, problems));
    }

    // Stage 3: typed. The shape check should have caught anything serde rejects; if not, map
    // the error's position back to a field path.
    let answers: Answers = match serde_saphyr::from_str_with_options(text, yaml_options()) {
        Ok(a) => a,
        Err(e) => {
            let loc = e.without_snippet().location();
            let field = loc.map(|l| path_at(&tree, l)).unwrap_or_default();
            let message = if is_secret_path(&field) {
                "has a value that cannot be read".to_string()
            } else {
                render_plain(&e)
            };
            return Err(ConfigError::new(
                origin,
                vec![Problem::new(field, message, "fix the value's type").at(loc)],
            ));
        }
    };

    // Stage 4: meaning. Problems get the position of their field when it exists in the file.
    if let Err(mut err) = validate(&answers) {
        for p in &mut err.problems {
            if p.line.is_none() {
                let loc = locate(&tree, &p.field);
                *p = p.clone().at(loc);
            }
        }
        err.origin = origin.to_string();
        return Err(err);
    }
    Ok(answers)
}

/// Serialize answers as YAML that [`parse`] reads back to equal answers. Plaintext passwords
/// are written as they are; callers that persist a file should store `password_hash` instead.
pub fn to_yaml(answers: &Answers) -> String {
    match serde_saphyr::to_string(answers) {
        Ok(s) => s,
        // Plain structs of strings, bools and numbers always serialize; this is not reachable
        // from user input, so a panic here is a bug to report, not a bad answers file.
        Err(e) => panic!("serializing answers failed: {e}"),
    }
}

fn render_plain(e: &serde_saphyr::Error) -> String {
    e.without_snippet()
        .render_with_options(serde_saphyr::render_options! {
            snippets: serde_saphyr::SnippetMode::Off,
        })
}

/// A YAML-level error (syntax, budget, duplicate key) as a problem with a redacted snippet.
fn yaml_problem(e: &serde_saphyr::Error, text: &str) -> Problem {
    let loc = e.without_snippet().location();
    let mut message = render_plain(e);
    // The plain rendering ends with " at line L, column C"; the position is shown separately.
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    let lower = message.to_lowercase();
    let error_line = loc.map_or(0, |l| l.line());
    // A quoted value may run over several lines, so the parser complains where the quote
    // finally closes; point at the line that opened it instead.
    let open_quote = if lower.contains("quote") {
        unbalanced_quote_line(text, error_line)
    } else {
        None
    };
    let is_budget = lower.contains("budget") || lower.contains("limit exceeded");
    let fix = if is_budget {
        // Keep only the breach's name ("alias replay limit exceeded"), not its nested positions.
        let what = message
            .split(':')
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
        message = format!("the file is too large or expands too far through anchors/aliases ({what}), as a YAML alias bomb does");
        "write the values out instead of using `&anchor`/`*alias`, and keep to one document"
            .to_string()
    } else if lower.contains("duplicate") {
        "a key appears twice in the same block; keep one of them".to_string()
    } else if let Some(n) = open_quote {
        message = format!("{message} (a quote opened on line {n} is never closed)");
        format!("close the quote on line {n}, or drop it")
    } else if lower.contains("quote") {
        "close the quote on that line, or drop it".to_string()
    } else if lower.contains("tab") {
        "indent with spaces, not tabs".to_string()
    } else if lower.contains("mapping values are not allowed")
        || lower.contains("indent")
        || lower.contains("did not find expected")
    {
        "check the indentation: keys of one block line up, nested keys are indented further with spaces; quote values that contain `: `".to_string()
    } else {
        "fix the YAML syntax near that line".to_string()
    };
    let kind = if is_budget {
        "YAML refused"
    } else {
        "YAML syntax"
    };
    let mut p = Problem::new("", format!("{kind}: {message}"), fix).at(loc);
    match (open_quote, p.line) {
        // Point at the opening quote's line: that is where the fix goes.
        (Some(n), Some(l)) if (n as u64) < l => {
            p.line = Some(n as u64);
            p.column = None;
            p.snippet = Some(snippet(text, n as u64, 1));
        }
        (_, Some(l)) => p.snippet = Some(snippet(text, l, p.column.unwrap_or(1))),
        _ => {}
    }
    p
}

/// The first line up to `upto` with an odd number of unescaped `"` (ignoring comments after
/// ` #` outside quotes is not attempted: this only refines a hint the parser already gave).
fn unbalanced_quote_line(text: &str, upto: u64) -> Option<usize> {
    text.lines()
        .take(usize::try_from(upto).unwrap_or(usize::MAX))
        .position(|l| {
            let mut n = 0;
            let mut prev = ' ';
            for c in l.chars() {
                if c == '"' && prev != '\\' {
                    n += 1;
                }
                prev = c;
            }
            n % 2 == 1
        })
        .map(|i| i + 1)
}

/// The lines up to `line` (two of context) with a caret under `column`, password values
/// replaced by `***` so a syntax error cannot leak one.
fn snippet(text: &str, line: u64, column: u64) -> String {
    let line = usize::try_from(line).unwrap_or(usize::MAX);
    let first = line.saturating_sub(2).max(1);
    let mut out = String::new();
    for (i, l) in text
        .lines()
        .enumerate()
        .skip(first - 1)
        .take(line + 1 - first)
    {
        out.push_str(&format!("{:>4} | {}\n", i + 1, redact_line(l)));
    }
    let col = usize::try_from(column).unwrap_or(1).max(1);
    out.push_str(&format!("     | {}^", " ".repeat(col - 1)));
    out
}

fn redact_line(line: &str) -> String {
    let trimmed = line.trim_start().trim_start_matches('-').trim_start();
    for key in ["password", "password_hash"] {
        if let Some(rest) = trimmed.strip_prefix(key) {
            if rest.trim_start().starts_with(':') {
                let keep = line.len() - rest.len();
                return format!("{}: ***", &line[..keep]);
            }
        }
    }
    // A flow mapping (`{address: a, password: b}`) or anything else mentioning one: hide all.
    if line.contains("password") {
        return "*** (line hidden: it holds a password)".to_string();
    }
    line.to_string()
}

fn is_secret_path(field: &str) -> bool {
    field.ends_with("password") || field.ends_with("password_hash")
}

// ---------------------------------------------------------------------------------------------
// Stage 1/2: the untyped tree and the shape check
// ---------------------------------------------------------------------------------------------

/// Untyped YAML, each node with its position. Only used to check shape and find positions.
#[derive(Debug)]
enum Node {
    Null,
    Bool(bool),
    Int(i128),
    Float,
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Int(i128::try_from(v).unwrap_or(i128::MAX)))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Float)
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = a.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = a.next_entry()? {
            entries.push(entry);
        }
        Ok(Node::Map(entries))
    }
}

impl Node {
    fn scalar_text(&self) -> Option<String> {
        match self {
            Node::Str(s) => Some(s.clone()),
            Node::Int(i) => Some(i.to_string()),
            Node::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Node::Null => "nothing",
            Node::Bool(_) => "a true/false value",
            Node::Int(_) | Node::Float => "a number",
            Node::Str(_) => "text",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a block of keys",
        }
    }
}

/// What a key's value must look like.
#[derive(Clone, Copy)]
enum Kind {
    /// A single value (strings, and numbers/booleans serde reads as strings).
    Text,
    Bool,
    /// A whole number of bytes.
    Bytes,
    /// A list of single values.
    TextList,
    Block(&'static Schema),
    List(&'static Schema),
}

struct Field {
    name: &'static str,
    kind: Kind,
    required: bool,
    /// An example value, for "add `name: example`" fixes.
    example: &'static str,
}

/// The keys one struct level accepts. Must match the serde structs above (tested).
struct Schema {
    #[cfg_attr(not(test), allow(dead_code))]
    name: &'static str,
    fields: &'static [Field],
}

const fn f(name: &'static str, kind: Kind, required: bool, example: &'static str) -> Field {
    Field {
        name,
        kind,
        required,
        example,
    }
}

static ANSWERS_SCHEMA: Schema = Schema {
    name: "Answers",
    fields: &[
        f("hostname", Kind::Text, true, "mail.example.test"),
        f("admin_email", Kind::Text, true, "admin@example.test"),
        f(
            "domains",
            Kind::List(&DOMAIN_SCHEMA),
            false,
            "[{name: example.test}]",
        ),
        f("acme", Kind::Block(&ACME_SCHEMA), false, "{staging: false}"),
        f(
            "ssh",
            Kind::Block(&SSH_SCHEMA),
            false,
            "{allow_users: [root]}",
        ),
        f(
            "firewall",
            Kind::Block(&FIREWALL_SCHEMA),
            false,
            "{enabled: true}",
        ),
        f("pop3", Kind::Bool, false, "false"),
        f("message_size_limit", Kind::Bytes, false, "52428800"),
    ],
};
static DOMAIN_SCHEMA: Schema = Schema {
    name: "Domain",
    fields: &[
        f("name", Kind::Text, true, "example.test"),
        f(
            "mailboxes",
            Kind::List(&MAILBOX_SCHEMA),
            false,
            "[{address: alice@example.test, password: ...}]",
        ),
        f(
            "aliases",
            Kind::List(&ALIAS_SCHEMA),
            false,
            "[{from: info@example.test, to: alice@example.test}]",
        ),
        f("default_aliases", Kind::Bool, false, "true"),
    ],
};
static MAILBOX_SCHEMA: Schema = Schema {
    name: "Mailbox",
    fields: &[
        f("address", Kind::Text, true, "alice@example.test"),
        f("password", Kind::Text, false, "\"a long passphrase\""),
        f(
            "password_hash",
            Kind::Text,
            false,
            "\"{SHA512-CRYPT}$6$...\"",
        ),
    ],
};
static ALIAS_SCHEMA: Schema = Schema {
    name: "Alias",
    fields: &[
        f("from", Kind::Text, true, "info@example.test"),
        f("to", Kind::Text, true, "alice@example.test"),
    ],
};
static ACME_SCHEMA: Schema = Schema {
    name: "Acme",
    fields: &[
        f("server", Kind::Text, false, "https://acme.example/dir"),
        f("ca_bundle", Kind::Text, false, "/root/test-ca.pem"),
        f("staging", Kind::Bool, false, "false"),
    ],
};
static SSH_SCHEMA: Schema = Schema {
    name: "Ssh",
    fields: &[f("allow_users", Kind::TextList, false, "[root]")],
};
static FIREWALL_SCHEMA: Schema = Schema {
    name: "Firewall",
    fields: &[f("enabled", Kind::Bool, false, "true")],
};

/// Every schema, for the consistency test against the serde structs.
#[cfg(test)]
static SCHEMAS: [&Schema; 7] = [
    &ANSWERS_SCHEMA,
    &DOMAIN_SCHEMA,
    &MAILBOX_SCHEMA,
    &ALIAS_SCHEMA,
    &ACME_SCHEMA,
    &SSH_SCHEMA,
    &FIREWALL_SCHEMA,
];

impl Schema {
    /// The keys it accepts, in declaration order.
    fn keys(&self) -> Vec<&'static str> {
        self.fields.iter().map(|f| f.name).collect()
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Show a value in a message: quoted, one line, at most 60 characters.
fn show(value: &str) -> String {
    let mut s: String = value.chars().take(60).collect();
    if s.len() < value.len() {
        s.push('…');
    }
    format!("{s:?}")
}

fn did_you_mean(key: &str, candidates: &[&'static str]) -> Option<&'static str> {
    candidates
        .iter()
        .map(|c| {
            (
                *c,
                strsim::normalized_damerau_levenshtein(&key.to_lowercase(), c),
            )
        })
        .filter(|(_, score)| *score >= 0.6)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

fn check_shape(node: &Spanned<Node>, schema: &Schema, path: &str, out: &mut Vec<Problem>) {
    let Node::Map(entries) = &node.value else {
        let (field, message) = if path.is_empty() {
            (
                String::new(),
                format!(
                    "the answers file must be a block of `key: value` lines, found {}",
                    node.value.describe()
                ),
            )
        } else {
            (
                path.to_string(),
                format!("expected a block of keys, found {}", node.value.describe()),
            )
        };
        out.push(
            Problem::new(
                field,
                message,
                format!("write keys such as {}", schema.keys().join(", ")),
            )
            .at(Some(node.referenced)),
        );
        return;
    };
    let mut seen = HashSet::new();
    for (key, value) in entries {
        let Some(name) = key.value.scalar_text() else {
            out.push(
                Problem::new(
                    path,
                    format!("has a key that is {}", key.value.describe()),
                    "keys are plain words such as `name`",
                )
                .at(Some(key.referenced)),
            );
            continue;
        };
        let field_path = join(path, &name);
        let Some(field) = schema.fields.iter().find(|f| f.name == name) else {
            let keys = schema.keys();
            let fix = match did_you_mean(&name, &keys) {
                Some(best) => {
                    // A misspelled required key is not also "missing": one problem, one fix.
                    seen.insert(best);
                    format!(
                        "did you mean `{best}`? keys allowed here: {}",
                        keys.join(", ")
                    )
                }
                None => format!("remove it; keys allowed here: {}", keys.join(", ")),
            };
            out.push(
                Problem::new(field_path, format!("unknown key `{name}`"), fix)
                    .at(Some(key.referenced)),
            );
            continue;
        };
        seen.insert(field.name);
        check_value(value, field, &field_path, out);
    }
    for field in schema
        .fields
        .iter()
        .filter(|f| f.required && !seen.contains(f.name))
    {
        out.push(
            Problem::new(
                join(path, field.name),
                format!("missing required key `{}`", field.name),
                format!("add `{}: {}`", field.name, field.example),
            )
            .at(Some(node.referenced)),
        );
    }
}

fn check_value(value: &Spanned<Node>, field: &Field, path: &str, out: &mut Vec<Problem>) {
    let secret = is_secret_path(path);
    let found = |v: &Node| -> String {
        match v {
            Node::Str(s) if !secret => format!("found {}", show(s)),
            other => format!("found {}", other.describe()),
        }
    };
    let mut bad = |message: String, fix: String| {
        out.push(Problem::new(path, message, fix).at(Some(value.referenced)));
    };
    match (field.kind, &value.value) {
        (Kind::Text, Node::Str(_) | Node::Int(_) | Node::Float | Node::Bool(_)) => {}
        // An optional text key left empty means "not set", as serde reads it.
        (Kind::Text, Node::Null) if !field.required => {}
        (Kind::Text, Node::Null) => bad(
            "is empty".into(),
            format!("write a value, e.g. `{}: {}`", field.name, field.example),
        ),
        (Kind::Text, v) => bad(
            format!("expected a single value, {}", found(v)),
            format!("write it like `{}: {}`", field.name, field.example),
        ),
        (Kind::Bool, Node::Bool(_)) => {}
        (Kind::Bool, Node::Str(s))
            if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false") => {}
        (Kind::Bool, v) => bad(
            format!("expected true or false, {}", found(v)),
            format!("write `{}: true` or `{}: false`", field.name, field.name),
        ),
        (Kind::Bytes, Node::Int(i)) if *i >= 0 => {}
        (Kind::Bytes, v) => bad(
            format!("expected a whole number of bytes, {}", found(v)),
            format!(
                "write it in bytes, e.g. `{}: {}` for 50 MiB",
                field.name, field.example
            ),
        ),
        (Kind::TextList, Node::Seq(items)) => {
            for (i, item) in items.iter().enumerate() {
                if item.value.scalar_text().is_none() {
                    out.push(
                        Problem::new(
                            format!("{path}[{i}]"),
                            format!("expected a single value, {}", found(&item.value)),
                            format!("write the list like `{}: {}`", field.name, field.example),
                        )
                        .at(Some(item.referenced)),
                    );
                }
            }
        }
        (Kind::TextList, v) => bad(
            format!("expected a list, {}", found(v)),
            format!("write it like `{}: {}`", field.name, field.example),
        ),
        (Kind::Block(schema), Node::Map(_)) => check_shape(value, schema, path, out),
        (Kind::Block(schema), v) => bad(
            format!("expected a block of keys, {}", found(v)),
            format!(
                "indent keys ({}) under `{}:`, or remove the line",
                schema.keys().join(", "),
                field.name
            ),
        ),
        (Kind::List(schema), Node::Seq(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_shape(item, schema, &format!("{path}[{i}]"), out);
            }
        }
        (Kind::List(_), v) => bad(
            format!("expected a list, {}", found(v)),
            format!(
                "write entries starting with `- `, e.g. `{}: {}`",
                field.name, field.example
            ),
        ),
    }
}

/// Split `domains[0].mailboxes[1].address` into keys and indexes.
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Seg<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut pieces = part.split('[');
        if let Some(key) = pieces.next().filter(|k| !k.is_empty()) {
            out.push(Seg::Key(key));
        }
        for idx in pieces {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                out.push(Seg::Index(i));
            }
        }
    }
    out
}

/// Position of the deepest node along `path` (the parent block when the key itself is missing).
fn locate(root: &Spanned<Node>, path: &str) -> Option<Location> {
    let mut node = root;
    for seg in segments(path) {
        let next = match (seg, &node.value) {
            (Seg::Key(k), Node::Map(entries)) => entries
                .iter()
                .find(|(key, _)| key.value.scalar_text().as_deref() == Some(k))
                .map(|(_, v)| v),
            (Seg::Index(i), Node::Seq(items)) => items.get(i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    Some(node.referenced)
}

/// The field path of the last node starting at or before `loc`, for errors serde reports by
/// position only.
fn path_at(root: &Spanned<Node>, loc: Location) -> String {
    fn walk(node: &Spanned<Node>, path: String, target: (u64, u64), best: &mut String) {
        let here = (node.referenced.line(), node.referenced.column());
        if here <= target {
            best.clone_from(&path);
        }
        match &node.value {
            Node::Map(entries) => {
                for (k, v) in entries {
                    let key_pos = (k.referenced.line(), k.referenced.column());
                    let child = join(&path, &k.value.scalar_text().unwrap_or_default());
                    if key_pos <= target {
                        best.clone_from(&child);
                    }
                    walk(v, child, target, best);
                }
            }
            Node::Seq(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, format!("{path}[{i}]"), target, best);
                }
            }
            _ => {}
        }
    }
    let mut best = String::new();
    walk(root, String::new(), (loc.line(), loc.column()), &mut best);
    best
}

// ---------------------------------------------------------------------------------------------
// Stage 4: meaning
// ---------------------------------------------------------------------------------------------

/// Check what the answers mean: names, addresses, passwords, uniqueness, ranges. Collects
/// every problem. [`parse`] calls this; call it again after changing answers in code.
pub fn validate(a: &Answers) -> Result<(), ConfigError> {
    let mut out = Vec::new();

    if let Err((msg, fix)) = check_fqdn(&a.hostname) {
        out.push(Problem::new(
            "hostname",
            format!("{} {msg}", show(&a.hostname)),
            fix,
        ));
    }
    if let Err((msg, fix)) = check_address(&a.admin_email, false) {
        out.push(Problem::new(
            "admin_email",
            format!("{} {msg}", show(&a.admin_email)),
            fix,
        ));
    }

    if a.domains.is_empty() {
        out.push(Problem::new(
            "domains",
            "no domain is configured",
            "add one: `domains: [{name: example.test, mailboxes: [...]}]`",
        ));
    }

    // First field path of each domain name / address, for duplicate reports.
    let mut domain_seen: HashMap<String, String> = HashMap::new();
    let mut addr_seen: HashMap<String, String> = HashMap::new();
    let configured: HashSet<String> = a.domains.iter().map(|d| d.name.to_lowercase()).collect();
    let mut claim = |addr: &str, path: &str, out: &mut Vec<Problem>| {
        let key = addr.to_lowercase();
        if let Some(first) = addr_seen.get(&key) {
            out.push(Problem::new(
                path,
                format!("{} is already used at {first}", show(addr)),
                "each address can be one mailbox or one alias; remove or rename one of them",
            ));
        } else {
            addr_seen.insert(key, path.to_string());
        }
    };

    for (di, d) in a.domains.iter().enumerate() {
        let dp = format!("domains[{di}]");
        let np = format!("{dp}.name");
        match check_domain(&d.name) {
            Err((msg, fix)) => out.push(Problem::new(&np, format!("{} {msg}", show(&d.name)), fix)),
            Ok(()) => {
                if let Some(first) = domain_seen.get(&d.name.to_lowercase()) {
                    out.push(Problem::new(
                        &np,
                        format!("{} is already configured at {first}", show(&d.name)),
                        "list each domain once; merge their mailboxes and aliases",
                    ));
                } else {
                    domain_seen.insert(d.name.to_lowercase(), np.clone());
                }
            }
        }
        let suffix = format!("@{}", d.name);

        for (mi, m) in d.mailboxes.iter().enumerate() {
            let mp = format!("{dp}.mailboxes[{mi}]");
            let ap = format!("{mp}.address");
            match check_address(&m.address, true) {
                Err((msg, fix)) => out.push(Problem::new(
                    &ap,
                    format!("{} {msg}", show(&m.address)),
                    fix,
                )),
                Ok(()) if !m.address.ends_with(&suffix) => out.push(Problem::new(
                    &ap,
                    format!("{} is not in this domain ({})", show(&m.address), d.name),
                    format!("write it as user{suffix}, or move it under its own domain"),
                )),
                Ok(()) => claim(&m.address, &ap, &mut out),
            }
            match (&m.password, &m.password_hash) {
                (Some(_), Some(_)) => out.push(Problem::new(
                    &mp,
                    "has both `password` and `password_hash`",
                    "keep one: `password` (mailstead hashes it) or `password_hash`",
                )),
                (None, None) => out.push(Problem::new(
                    &mp,
                    "has no `password` or `password_hash`",
                    "add `password: \"a long passphrase\"` or `password_hash: \"{SHA512-CRYPT}$6$...\"`",
                )),
                (Some(pw), None) => {
                    if let Err((msg, fix)) = check_password(pw) {
                        out.push(Problem::new(format!("{mp}.password"), msg, fix));
                    }
                }
                (None, Some(h)) => {
                    if let Err((msg, fix)) = check_password_hash(h) {
                        out.push(Problem::new(format!("{mp}.password_hash"), msg, fix));
                    }
                }
            }
        }

        for (ai, al) in d.aliases.iter().enumerate() {
            let alp = format!("{dp}.aliases[{ai}]");
            let fp = format!("{alp}.from");
            if al.from.starts_with('@') {
                out.push(Problem::new(
                    &fp,
                    format!(
                        "{} is a catch-all, which mailstead does not support",
                        show(&al.from)
                    ),
                    "list each address you want to receive, e.g. info@example.test",
                ));
            } else {
                match check_address(&al.from, true) {
                    Err((msg, fix)) => {
                        out.push(Problem::new(&fp, format!("{} {msg}", show(&al.from)), fix))
                    }
                    Ok(()) if !al.from.ends_with(&suffix) => out.push(Problem::new(
                        &fp,
                        format!("{} is not in this domain ({})", show(&al.from), d.name),
                        format!("write it as name{suffix}, or move the alias under its own domain"),
                    )),
                    Ok(()) => claim(&al.from, &fp, &mut out),
                }
            }
            let tp = format!("{alp}.to");
            let targets = split_targets(&al.to);
            if targets.is_empty() || targets.iter().any(|t| t.is_empty()) {
                out.push(Problem::new(
                    &tp,
                    format!("{} is not a list of email addresses", show(&al.to)),
                    "write one address, or several separated by commas: alice@example.test, bob@example.org",
                ));
                continue;
            }
            for t in &targets {
                if let Err((msg, fix)) = check_address(t, false) {
                    out.push(Problem::new(&tp, format!("{} {msg}", show(t)), fix));
                } else if t.eq_ignore_ascii_case(&al.from) {
                    out.push(Problem::new(
                        &tp,
                        format!("{} points at itself", show(t)),
                        "point the alias at a mailbox or another address",
                    ));
                }
            }
        }
    }

    // Alias targets inside our own domains must exist, or mail to them bounces.
    let local: HashSet<String> = a
        .domains
        .iter()
        .flat_map(|d| {
            d.mailboxes.iter().map(|m| m.address.to_lowercase()).chain(
                d.effective_aliases()
                    .into_iter()
                    .map(|al| al.from.to_lowercase()),
            )
        })
        .collect();
    for (di, d) in a.domains.iter().enumerate() {
        for (ai, al) in d.aliases.iter().enumerate() {
            for t in split_targets(&al.to) {
                let t = t.to_lowercase();
                let in_our_domain = t
                    .rsplit_once('@')
                    .is_some_and(|(_, dom)| configured.contains(dom));
                if in_our_domain && check_address(&t, false).is_ok() && !local.contains(&t) {
                    out.push(Problem::new(
                        format!("domains[{di}].aliases[{ai}].to"),
                        format!(
                            "{} is in a domain configured here but is no mailbox or alias",
                            show(&t)
                        ),
                        "add that mailbox, or fix the address",
                    ));
                }
            }
        }
    }

    if let Some(server) = &a.acme.server {
        if let Err((msg, fix)) = check_https_url(server) {
            out.push(Problem::new(
                "acme.server",
                format!("{} {msg}", show(server)),
                fix,
            ));
        } else if a.acme.staging {
            out.push(Problem::new(
                "acme.staging",
                "is true, but `staging` only picks Let's Encrypt's staging server and `acme.server` is set",
                "remove `staging: true`, or remove `server:` to use Let's Encrypt staging",
            ));
        }
    }
    if let Some(bundle) = &a.acme.ca_bundle {
        if !bundle.is_absolute() {
            out.push(Problem::new(
                "acme.ca_bundle",
                format!(
                    "{} is not an absolute path",
                    show(&bundle.display().to_string())
                ),
                "write the full path, e.g. /root/test-ca.pem",
            ));
        }
    }
    for (i, user) in a.ssh.allow_users.iter().enumerate() {
        if !is_unix_user(user) {
            out.push(Problem::new(
                format!("ssh.allow_users[{i}]"),
                format!("{} is not a valid user name", show(user)),
                "use lowercase letters, digits, `_` and `-`, starting with a letter or `_` (at most 32)",
            ));
        }
    }
    if !(MIN_MESSAGE_SIZE..=MAX_MESSAGE_SIZE).contains(&a.message_size_limit) {
        out.push(Problem::new(
            "message_size_limit",
            format!("{} bytes is outside 1 MiB .. 1 GiB", a.message_size_limit),
            format!("write a byte count between {MIN_MESSAGE_SIZE} and {MAX_MESSAGE_SIZE}, e.g. 52428800 (50 MiB)"),
        ));
    }

    if out.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::new("answers", out))
    }
}

type Check = Result<(), (String, String)>;

fn err(msg: impl Into<String>, fix: impl Into<String>) -> Check {
    Err((msg.into(), fix.into()))
}

/// One DNS label: letters, digits, hyphens (not at either end), 1..=63 bytes (LDH rule).
fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("has an empty label (two dots in a row, or a dot at the start)".into());
    }
    if label.len() > 63 {
        return Err(format!(
            "has a label longer than 63 characters ({})",
            show(label)
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(if c.is_ascii_uppercase() {
            "has uppercase letters".into()
        } else {
            format!("contains {c:?}, which a host name cannot")
        });
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!(
            "has a label starting or ending with `-` ({})",
            show(label)
        ));
    }
    Ok(())
}

/// A domain name: ≥2 LDH labels, ≤253 characters, lowercase, no trailing dot, not an IP.
fn check_domain(name: &str) -> Check {
    check_name(name, "write a name like example.test")
}

/// A host name for this server: the same rules as a domain.
fn check_fqdn(name: &str) -> Check {
    check_name(name, "write a name like mail.example.test")
}

fn check_name(name: &str, fix_ex: &str) -> Check {
    if name.is_empty() {
        return err("is empty", fix_ex);
    }
    if name.ends_with('.') {
        return err("ends with a dot", "drop the trailing dot");
    }
    if name.len() > 253 {
        return err("is longer than 253 characters", "use a shorter name");
    }
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 2 {
        return err("is not a fully qualified name (needs a dot)", fix_ex);
    }
    for label in &labels {
        if let Err(m) = check_label(label) {
            let fix = if m.contains("uppercase") {
                format!("write it in lowercase: {}", name.to_lowercase())
            } else {
                fix_ex.to_string()
            };
            return err(m, fix);
        }
    }
    if labels
        .last()
        .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()))
    {
        return err("looks like an IP address, not a name", fix_ex);
    }
    Ok(())
}

/// An email address. `ours`: an address mailstead creates (mailbox or alias `from`), whose local
/// part becomes map keys, user names and directory names, so only `a-z 0-9 . _ -` are allowed.
/// Otherwise (admin_email, alias targets) the usual unquoted characters, minus those that mean
/// something in Postfix/Dovecot files (`,` `:` `|` `/` `"` `\` spaces).
fn check_address(addr: &str, ours: bool) -> Check {
    let fix = "write it as user@example.test";
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return err("is not an email address", fix);
    };
    if local.is_empty() || domain.is_empty() || local.contains('@') {
        return err("is not an email address", fix);
    }
    if local.len() > 64 {
        return err(
            "has a part before @ longer than 64 characters",
            "use a shorter name",
        );
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return err(
            "has a misplaced dot before the @",
            "dots cannot start, end or double up: a.b@example.test",
        );
    }
    let allowed = |c: char| {
        if ours {
            c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c)
        } else {
            c.is_ascii_alphanumeric() || "._-+=!#$%&'*?^`{}~".contains(c)
        }
    };
    if let Some(c) = local.chars().find(|c| !allowed(*c)) {
        return if c.is_ascii_uppercase() {
            err(
                "has uppercase letters",
                format!("write it in lowercase: {}", addr.to_lowercase()),
            )
        } else if ours {
            err(
                format!("contains {c:?}"),
                "use only a-z, 0-9, `.`, `_` and `-` before the @",
            )
        } else {
            err(
                format!("contains {c:?}, which mailstead cannot put in a mail map"),
                fix,
            )
        };
    }
    check_domain(domain).map_err(|(m, f)| (format!("has a bad domain: it {m}"), f))
}

/// Alias targets: comma-separated, spaces around commas ignored.
fn split_targets(to: &str) -> Vec<&str> {
    to.split(',').map(str::trim).collect()
}

fn check_password(pw: &Secret) -> Check {
    let s = pw.expose();
    let n = s.chars().count();
    if n < MIN_PASSWORD_LEN {
        return err(
            format!("is too short ({n} characters, at least {MIN_PASSWORD_LEN} needed: mail logins face the internet and are guessed by bots all day)"),
            "use a longer passphrase, e.g. four random words",
        );
    }
    if s.chars().any(char::is_control) {
        return err(
            "contains a line break or control character",
            "use a single line of printable characters",
        );
    }
    if s.trim() != s {
        return err(
            "starts or ends with spaces, which would be part of the password",
            "remove the spaces inside the quotes",
        );
    }
    Ok(())
}

fn is_crypt_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '/'
}

fn is_b64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '+' || c == '/'
}

/// `{SHA512-CRYPT}$6$...`, bare `$6$...`, or `{ARGON2ID}$argon2id$...`. The value itself is
/// never quoted back (a hash can be cracked offline), only its scheme.
fn check_password_hash(h: &str) -> Check {
    let fix = "generate one with `doveadm pw -s SHA512-CRYPT` and paste it whole, e.g. \"{SHA512-CRYPT}$6$salt$hash\"";
    // Show only the scheme part (`{MD5}`, `$1$`), never the hash itself.
    let scheme: String = match h.find('}') {
        Some(end) if h.starts_with('{') && end < 24 => h[..=end].to_string(),
        _ => h.chars().take(3).collect(),
    };
    let bad = || {
        err(
            format!(
                "is not a supported password hash (starts with {})",
                show(&scheme)
            ),
            fix,
        )
    };
    if let Some(rest) = h.strip_prefix("{ARGON2ID}$argon2id$") {
        let parts: Vec<&str> = rest.split('$').collect();
        let ok = parts.len() == 4
            && parts[0].starts_with("v=")
            && ["m=", "t=", "p="].iter().all(|k| parts[1].contains(k))
            && [parts[2], parts[3]]
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(is_b64_char));
        return if ok {
            Ok(())
        } else {
            err(
                "is not a complete Argon2id hash",
                "generate one with `doveadm pw -s ARGON2ID` and paste it whole",
            )
        };
    }
    let Some(rest) = h
        .strip_prefix("{SHA512-CRYPT}$6$")
        .or_else(|| h.strip_prefix("$6$"))
    else {
        return bad();
    };
    let mut parts: Vec<&str> = rest.split('$').collect();
    if parts.first().is_some_and(|p| p.starts_with("rounds=")) {
        parts.remove(0);
    }
    let ok = parts.len() == 2
        && (1..=16).contains(&parts[0].len())
        && parts[0].chars().all(is_crypt_char)
        && parts[1].len() == 86
        && parts[1].chars().all(is_crypt_char);
    if ok {
        Ok(())
    } else {
        err(
            "is not a complete SHA512-CRYPT hash ($6$salt$ and 86 characters)",
            fix,
        )
    }
}

fn check_https_url(url: &str) -> Check {
    let fix = "write the ACME directory URL with https://, e.g. https://acme.example/dir";
    let Some(rest) = url.strip_prefix("https://") else {
        return if url.starts_with("http://") {
            err("is not https (ACME servers must be reached over TLS)", fix)
        } else {
            err("is not an https:// URL", fix)
        };
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return err("is not a valid URL", fix);
    }
    Ok(())
}

/// Debian's default NAME_REGEX: `^[a-z][-a-z0-9_]*$`, plus leading `_` (system users), ≤32.
fn is_unix_user(u: &str) -> bool {
    let mut chars = u.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && u.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "correct horse battery";
    const HASH: &str = "{SHA512-CRYPT}$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/";

    fn base() -> String {
        format!(
            "hostname: mail.example.test\nadmin_email: admin@example.test\ndomains:\n  - name: example.test\n    mailboxes:\n      - address: alice@example.test\n        password: \"{PW}\"\n"
        )
    }

    fn answers() -> Answers {
        parse(&base(), "t.yaml").expect("base parses")
    }

    /// Problems of `validate` after `edit`, as display lines.
    fn problems(edit: impl FnOnce(&mut Answers)) -> Vec<String> {
        let mut a = answers();
        edit(&mut a);
        match validate(&a) {
            Ok(()) => vec![],
            Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn parse_err(text: &str) -> ConfigError {
        match parse(text, "t.yaml") {
            Ok(a) => panic!("expected an error, parsed {a:?}"),
            Err(e) => e,
        }
    }

    fn assert_one(lines: &[String], needle: &str) {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "no problem contains {needle:?}: {lines:#?}"
        );
    }

    #[test]
    fn base_parses_with_defaults() {
        let a = answers();
        assert_eq!(a.hostname, "mail.example.test");
        assert!(a.firewall.enabled);
        assert!(!a.pop3);
        assert_eq!(a.message_size_limit, default_message_size_limit());
        assert!(a.domains[0].default_aliases);
        assert_eq!(a.acme_server_url(), LETSENCRYPT_PRODUCTION);
        assert!(a.has_plaintext_password());
        assert_eq!(a.all_mailboxes().count(), 1);
    }

    #[test]
    fn acme_server_url_defaults() {
        let mut a = answers();
        a.acme.staging = true;
        assert_eq!(a.acme_server_url(), LETSENCRYPT_STAGING);
        a.acme.server = Some("https://acme.example/dir".into());
        assert_eq!(a.acme_server_url(), "https://acme.example/dir");
    }

    #[test]
    fn effective_aliases_adds_postmaster_and_abuse_unless_set() {
        let mut a = answers();
        let d = &mut a.domains[0];
        let got: Vec<(String, String)> = d
            .effective_aliases()
            .into_iter()
            .map(|x| (x.from, x.to))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "postmaster@example.test".into(),
                    "alice@example.test".into()
                ),
                ("abuse@example.test".into(), "alice@example.test".into()),
            ]
        );
        d.aliases.push(Alias {
            from: "postmaster@example.test".into(),
            to: "bob@example.org".into(),
        });
        let got = d.effective_aliases();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].to, "bob@example.org");
        d.default_aliases = false;
        assert_eq!(d.effective_aliases().len(), 1);
        d.mailboxes.clear();
        d.default_aliases = true;
        assert_eq!(d.effective_aliases().len(), 1, "no mailbox: no defaults");
    }

    #[test]
    fn schema_matches_serde_structs() {
        // Ask serde which fields each struct accepts, by catching `deserialize_struct`.
        fn serde_fields<T: for<'de> Deserialize<'de>>() -> (&'static str, Vec<&'static str>) {
            struct Grab(std::cell::RefCell<Option<(&'static str, &'static [&'static str])>>);
            #[derive(Debug)]
            struct Stop;
            impl fmt::Display for Stop {
                fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("stop")
                }
            }
            impl std::error::Error for Stop {}
            impl de::Error for Stop {
                fn custom<M: fmt::Display>(_: M) -> Self {
                    Stop
                }
            }
            impl<'de> Deserializer<'de> for &Grab {
                type Error = Stop;
                fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
                    Err(Stop)
                }
                fn deserialize_struct<V: Visitor<'de>>(
                    self,
                    name: &'static str,
                    fields: &'static [&'static str],
                    _: V,
                ) -> Result<V::Value, Stop> {
                    *self.0.borrow_mut() = Some((name, fields));
                    Err(Stop)
                }
                serde::forward_to_deserialize_any! {
                    bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
                    bytes byte_buf option unit unit_struct newtype_struct seq tuple
                    tuple_struct map enum identifier ignored_any
                }
            }
            let grab = Grab(Default::default());
            let _ = T::deserialize(&grab);
            let (name, fields) = grab.0.into_inner().expect("a struct");
            (name, fields.to_vec())
        }
        let serde = [
            serde_fields::<Answers>(),
            serde_fields::<Domain>(),
            serde_fields::<Mailbox>(),
            serde_fields::<Alias>(),
            serde_fields::<Acme>(),
            serde_fields::<Ssh>(),
            serde_fields::<Firewall>(),
        ];
        for (schema, (name, fields)) in SCHEMAS.iter().zip(serde) {
            assert_eq!(schema.name, name);
            assert_eq!(schema.keys(), fields, "schema for {name} is out of date");
        }
    }

    #[test]
    fn full_example_parses() {
        let text = format!(
            r#"hostname: mail.example.test
admin_email: admin@example.test
domains:
  - name: example.test
    mailboxes:
      - address: alice@example.test
        password: "a long passphrase"
      - address: bob@example.test
        password_hash: "{HASH}"
    aliases:
      - from: postmaster@example.test
        to: alice@example.test
      - from: team@example.test
        to: alice@example.test, bob@example.test,carol@example.org
acme:
  server: https://acme.example/dir
  ca_bundle: /root/test-ca.pem
  staging: false
ssh:
  allow_users: [root, _admin, deploy-1]
firewall:
  enabled: true
pop3: true
message_size_limit: 1048576
"#
        );
        let a = parse(&text, "t.yaml").expect("full example");
        assert_eq!(
            a.domains[0].mailboxes[1].password_hash.as_deref(),
            Some(HASH)
        );
        assert_eq!(
            a.acme.ca_bundle.as_deref(),
            Some(Path::new("/root/test-ca.pem"))
        );
        assert!(a.pop3);
        // Round trip through to_yaml.
        let again = parse(&to_yaml(&a), "again.yaml").expect("round trip");
        assert_eq!(a, again);
    }

    #[test]
    fn to_yaml_round_trips_awkward_strings() {
        let mut a = answers();
        a.domains[0].mailboxes[0].password = Some(Secret::new("it's: #not \"a\" {comment} *x &y"));
        a.domains[0].mailboxes.push(Mailbox {
            address: "bob@example.test".into(),
            password: None,
            password_hash: Some(HASH.into()),
        });
        a.ssh.allow_users = vec!["root".into()];
        let yaml = to_yaml(&a);
        assert_eq!(parse(&yaml, "x").expect("round trip"), a, "{yaml}");
    }

    // --- YAML and shape --------------------------------------------------------------------

    #[test]
    fn empty_and_comment_only_files() {
        for text in ["", "\n\n", "# nothing here\n"] {
            let e = parse_err(text);
            assert!(e.to_string().contains("empty"), "{e}");
        }
    }

    #[test]
    fn syntax_error_has_line_snippet_and_fix() {
        let e = parse_err("hostname: \"mail.example.test\nadmin_email: a@b.test\n");
        let s = e.to_string();
        assert!(
            s.starts_with("t.yaml:1:11: YAML syntax: unclosed quote"),
            "{s}"
        );
        assert!(s.contains("close the quote"), "{s}");
        assert!(s.contains("   1 | hostname:"), "{s}");
    }

    #[test]
    fn syntax_error_snippet_redacts_passwords() {
        let text = base().replace(&format!("\"{PW}\""), &format!("\"{PW}\n      bad: [}}"));
        let e = parse_err(&text);
        let s = e.to_string();
        assert!(!s.contains("horse"), "{s}");
        assert!(s.contains("***"), "{s}");
    }

    #[test]
    fn bad_indentation() {
        let e = parse_err("hostname: mail.example.test\n  admin_email: a@example.test\n");
        assert!(e.to_string().contains("indentation"), "{e}");
    }

    #[test]
    fn unknown_keys_all_reported_with_suggestions() {
        let text = base()
            .replace("hostname:", "hostnme:")
            .replace("    mailboxes:", "    mailboxs:")
            + "firewal: {enabled: true}\nzzz: 1\n";
        let e = parse_err(&text);
        let s = e.to_string();
        assert!(
            s.contains("t.yaml:1:1: hostnme: unknown key `hostnme` (did you mean `hostname`?"),
            "{s}"
        );
        assert!(
            s.contains("domains[0].mailboxs: unknown key `mailboxs` (did you mean `mailboxes`?"),
            "{s}"
        );
        assert!(
            s.contains("firewal: unknown key `firewal` (did you mean `firewall`?"),
            "{s}"
        );
        assert!(
            s.contains("zzz: unknown key `zzz` (remove it; keys allowed here:"),
            "{s}"
        );
        assert!(
            !s.contains("missing required key"),
            "a typo is not also missing: {s}"
        );
        assert_eq!(e.problems.len(), 4, "{s}");
    }

    #[test]
    fn missing_required_keys() {
        let e =
            parse_err("domains:\n  - mailboxes: []\n    aliases:\n      - to: a@example.test\n");
        let s = e.to_string();
        for needle in [
            "hostname: missing required key `hostname`",
            "admin_email: missing required key `admin_email`",
            "domains[0].name: missing required key `name` (add `name: example.test`)",
            "domains[0].aliases[0].from: missing required key `from`",
        ] {
            assert!(s.contains(needle), "{needle} in {s}");
        }
    }

    #[test]
    fn wrong_types() {
        let text = base()
            + "firewall: {enabled: maybe}\npop3: yes\nmessage_size_limit: 50MB\nssh: {allow_users: root}\nacme: [x]\n";
        let s = parse_err(&text).to_string();
        for needle in [
            "firewall.enabled: expected true or false, found \"maybe\" (write `enabled: true` or `enabled: false`)",
            "pop3: expected true or false, found \"yes\"",
            "message_size_limit: expected a whole number of bytes, found \"50MB\"",
            "ssh.allow_users: expected a list, found \"root\"",
            "acme: expected a block of keys, found a list",
        ] {
            assert!(s.contains(needle), "{needle} in\n{s}");
        }
    }

    #[test]
    fn empty_blocks_and_lists_are_named() {
        let s = parse_err(
            "hostname: mail.example.test\nadmin_email: a@example.test\ndomains:\nfirewall:\n",
        )
        .to_string();
        assert!(s.contains("domains: expected a list, found nothing"), "{s}");
        assert!(
            s.contains("firewall: expected a block of keys, found nothing"),
            "{s}"
        );
    }

    #[test]
    fn top_level_must_be_a_mapping() {
        let s = parse_err("- a\n- b\n").to_string();
        assert!(
            s.contains("must be a block of `key: value` lines, found a list"),
            "{s}"
        );
    }

    #[test]
    fn duplicate_keys_rejected() {
        let s = parse_err(&(base() + "hostname: other.example.test\n")).to_string();
        assert!(s.contains("duplicate") && s.contains("keep one"), "{s}");
    }

    #[test]
    fn alias_bomb_refused_by_budget() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let s = parse_err(&text).to_string();
        assert!(
            s.contains("YAML refused") && s.contains("anchors/aliases"),
            "{s}"
        );
    }

    #[test]
    fn more_than_one_document_refused() {
        let s = parse_err(&(base() + "---\nhostname: x\n")).to_string();
        assert!(s.contains("YAML"), "{s}");
    }

    #[test]
    fn problems_carry_positions() {
        let text = base().replace("alice@example.test", "bob@");
        let e = parse_err(&text);
        assert_eq!(e.problems[0].line, Some(6), "{e}");
        assert!(e.to_string().starts_with(
            "t.yaml:6:18: domains[0].mailboxes[0].address: \"bob@\" is not an email address (write it as user@example.test)"
        ), "{e}");
    }

    // --- meaning -----------------------------------------------------------------------------

    #[test]
    fn hostname_rules() {
        for (bad, needle) in [
            ("localhost", "needs a dot"),
            (
                "Mail.Example.test",
                "write it in lowercase: mail.example.test",
            ),
            ("mail.example.test.", "drop the trailing dot"),
            ("mail..example.test", "empty label"),
            ("-mail.example.test", "starting or ending with `-`"),
            ("mail_1.example.test", "contains '_'"),
            ("10.0.0.1", "IP address"),
            ("", "is empty"),
        ] {
            let p = problems(|a| a.hostname = bad.into());
            assert_one(&p, needle);
            assert!(p[0].starts_with("hostname: "), "{p:?}");
        }
        let long = format!("{}.test", vec!["a".repeat(63); 4].join("."));
        assert_one(&problems(|a| a.hostname = long), "longer than 253");
        assert_one(
            &problems(|a| a.hostname = format!("{}.test", "a".repeat(64))),
            "longer than 63",
        );
        assert!(problems(|a| a.hostname = "mx-1.a.b.example.test".into()).is_empty());
    }

    #[test]
    fn admin_email_rules() {
        assert_one(
            &problems(|a| a.admin_email = "admin".into()),
            "admin_email: \"admin\" is not an email address",
        );
        assert_one(
            &problems(|a| a.admin_email = "admin@localhost".into()),
            "has a bad domain",
        );
        assert!(problems(|a| a.admin_email = "Some.One+mail@gmail.com".into()).is_empty());
    }

    #[test]
    fn at_least_one_domain() {
        assert_one(
            &problems(|a| a.domains.clear()),
            "domains: no domain is configured",
        );
    }

    #[test]
    fn domain_rules_and_uniqueness() {
        assert_one(
            &problems(|a| a.domains[0].name = "example".into()),
            "domains[0].name: \"example\" is not a fully qualified name",
        );
        let p = problems(|a| {
            let mut d = a.domains[0].clone();
            d.mailboxes.clear();
            a.domains.push(d);
        });
        assert_one(
            &p,
            "domains[1].name: \"example.test\" is already configured at domains[0].name",
        );
    }

    #[test]
    fn mailbox_address_rules() {
        for (bad, needle) in [
            (
                "bob@",
                "\"bob@\" is not an email address (write it as user@example.test)",
            ),
            ("@example.test", "is not an email address"),
            ("a@b@example.test", "is not an email address"),
            (
                "Alice@example.test",
                "write it in lowercase: alice@example.test",
            ),
            ("a+b@example.test", "contains '+'"),
            ("a:b@example.test", "contains ':'"),
            (".a@example.test", "misplaced dot"),
            (
                "alice@example.org",
                "\"alice@example.org\" is not in this domain (example.test)",
            ),
        ] {
            let p = problems(|a| a.domains[0].mailboxes[0].address = bad.into());
            assert_one(&p, needle);
            assert!(
                p[0].starts_with("domains[0].mailboxes[0].address: "),
                "{p:?}"
            );
        }
    }

    #[test]
    fn password_rules() {
        let set = |pw: &str| {
            let pw = pw.to_string();
            problems(move |a| a.domains[0].mailboxes[0].password = Some(Secret::new(pw)))
        };
        assert_one(
            &set("short"),
            "domains[0].mailboxes[0].password: is too short (5 characters, at least 12",
        );
        assert_one(&set("twelve chars\nlong"), "line break");
        assert_one(&set(" padded password "), "starts or ends with spaces");
        assert!(
            set("a:colon:is:fine:here").is_empty(),
            "colons are fine: only the hash is stored"
        );
        for p in [set("short"), set("twelve chars\nlong")] {
            assert!(
                !p.iter()
                    .any(|l| l.contains("short\"") || l.contains("twelve")),
                "{p:?}"
            );
        }
    }

    #[test]
    fn exactly_one_of_password_and_hash() {
        let both = problems(|a| a.domains[0].mailboxes[0].password_hash = Some(HASH.into()));
        assert_one(
            &both,
            "domains[0].mailboxes[0]: has both `password` and `password_hash`",
        );
        let neither = problems(|a| a.domains[0].mailboxes[0].password = None);
        assert_one(&neither, "has no `password` or `password_hash`");
    }

    #[test]
    fn password_hash_rules() {
        let set = |h: &str| {
            let h = h.to_string();
            problems(move |a| {
                let m = &mut a.domains[0].mailboxes[0];
                m.password = None;
                m.password_hash = Some(h);
            })
        };
        assert!(set(HASH).is_empty());
        assert!(set(HASH.trim_start_matches("{SHA512-CRYPT}")).is_empty());
        assert!(set(&HASH.replace("$6$", "$6$rounds=5000$")).is_empty());
        assert!(set("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$3Jzh1qJTt3WmyWk0bkEY9wWtpVHuIwHLLxmvlIpoSBA").is_empty());
        assert_one(
            &set("{MD5}abc"),
            "is not a supported password hash (starts with \"{MD5}\")",
        );
        assert_one(
            &set("{SHA512-CRYPT}$6$salt$short"),
            "not a complete SHA512-CRYPT hash",
        );
        assert_one(
            &set("{ARGON2ID}$argon2id$v=19$nope"),
            "not a complete Argon2id hash",
        );
        // The hash itself is never echoed.
        assert!(!set("{SHA512-CRYPT}$6$salt$secretish")
            .iter()
            .any(|l| l.contains("secretish")));
    }

    #[test]
    fn duplicate_addresses_across_mailboxes_and_aliases() {
        let p = problems(|a| {
            let m = a.domains[0].mailboxes[0].clone();
            a.domains[0].mailboxes.push(m);
            a.domains[0].aliases.push(Alias {
                from: "alice@example.test".into(),
                to: "x@example.org".into(),
            });
        });
        assert_one(&p, "domains[0].mailboxes[1].address: \"alice@example.test\" is already used at domains[0].mailboxes[0].address");
        assert_one(
            &p,
            "domains[0].aliases[0].from: \"alice@example.test\" is already used",
        );
    }

    #[test]
    fn alias_rules() {
        let alias = |from: &str, to: &str| {
            let al = Alias {
                from: from.into(),
                to: to.into(),
            };
            problems(move |a| a.domains[0].aliases.push(al))
        };
        assert!(alias(
            "info@example.test",
            "alice@example.test, someone@example.org"
        )
        .is_empty());
        assert_one(
            &alias("info@example.test", "bob@"),
            "domains[0].aliases[0].to: \"bob@\" is not an email address",
        );
        assert_one(
            &alias("info@example.test", "alice@example.test,"),
            "is not a list of email addresses",
        );
        assert_one(
            &alias("info@example.test", "a|b@example.org"),
            "contains '|'",
        );
        assert_one(
            &alias("info@example.org", "alice@example.test"),
            "domains[0].aliases[0].from: \"info@example.org\" is not in this domain",
        );
        assert_one(&alias("@example.test", "alice@example.test"), "catch-all");
        assert_one(
            &alias("info@example.test", "info@example.test"),
            "points at itself",
        );
        assert_one(
            &alias("info@example.test", "nobody@example.test"),
            "\"nobody@example.test\" is in a domain configured here but is no mailbox or alias",
        );
        assert!(
            alias("info@example.test", "postmaster@example.test").is_empty(),
            "default aliases count as local"
        );
    }

    #[test]
    fn acme_rules() {
        assert_one(
            &problems(|a| a.acme.server = Some("http://acme.example/dir".into())),
            "acme.server: \"http://acme.example/dir\" is not https",
        );
        assert_one(
            &problems(|a| a.acme.server = Some("acme.example".into())),
            "is not an https:// URL",
        );
        assert_one(
            &problems(|a| a.acme.server = Some("https:///dir".into())),
            "is not a valid URL",
        );
        assert_one(
            &problems(|a| a.acme.ca_bundle = Some("ca.pem".into())),
            "acme.ca_bundle: \"ca.pem\" is not an absolute path",
        );
        assert_one(
            &problems(|a| {
                a.acme.server = Some("https://acme.example/dir".into());
                a.acme.staging = true;
            }),
            "acme.staging",
        );
    }

    #[test]
    fn ssh_user_rules() {
        let p = problems(|a| {
            a.ssh.allow_users = vec!["root".into(), "Bob".into(), "1x".into(), "a b".into()]
        });
        assert_eq!(p.len(), 3, "{p:?}");
        assert_one(&p, "ssh.allow_users[1]: \"Bob\" is not a valid user name");
        assert_one(
            &problems(|a| a.ssh.allow_users = vec!["x".repeat(33)]),
            "is not a valid user name",
        );
    }

    #[test]
    fn message_size_limit_range() {
        assert_one(
            &problems(|a| a.message_size_limit = 1000),
            "message_size_limit: 1000 bytes is outside 1 MiB .. 1 GiB",
        );
        assert_one(
            &problems(|a| a.message_size_limit = MAX_MESSAGE_SIZE + 1),
            "outside",
        );
        assert!(problems(|a| a.message_size_limit = MIN_MESSAGE_SIZE).is_empty());
        assert!(problems(|a| a.message_size_limit = MAX_MESSAGE_SIZE).is_empty());
    }

    #[test]
    fn all_problems_are_collected() {
        let p = problems(|a| {
            a.hostname = "bad".into();
            a.admin_email = "nope".into();
            a.domains[0].mailboxes[0].address = "bob@".into();
            a.domains[0].mailboxes[0].password = Some(Secret::new("short"));
            a.acme.server = Some("http://x.test".into());
            a.message_size_limit = 1;
        });
        assert_eq!(p.len(), 6, "{p:#?}");
    }

    #[test]
    fn file_mode_check() {
        assert!(check_file_mode(0o100600, true).is_ok());
        assert!(check_file_mode(0o100400, true).is_ok());
        assert!(
            check_file_mode(0o100644, false).is_ok(),
            "hashes only: readable is allowed"
        );
        let e = check_file_mode(0o100640, true).expect_err("group-readable");
        assert!(e.to_string().contains("mode is 0640"), "{e}");
        assert!(e.to_string().contains("chmod 600 FILE"), "{e}");
        assert!(check_file_mode(0o100604, true).is_err());
    }

    #[test]
    fn load_reads_file_and_checks_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mailstead.yaml");
        std::fs::write(&path, base()).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(load(&path).is_ok());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let e = load(&path).expect_err("world-readable with a password");
        assert!(
            e.to_string()
                .contains(&format!("chmod 600 {}", path.display())),
            "{e}"
        );
        // A broken file that is also readable reports both.
        std::fs::write(&path, base().replace("hostname", "hostnme")).expect("write");
        let e = load(&path).expect_err("two problems");
        assert_eq!(e.problems.len(), 2, "{e}");
        let missing = load(&dir.path().join("nope.yaml")).expect_err("missing");
        assert!(missing.to_string().contains("does not exist"), "{missing}");
    }

    #[test]
    fn passwords_never_in_messages() {
        let secret = "hunter2hunter2-SECRET";
        let texts = [
            base().replace(PW, secret).replace("alice@", "Alice@"),
            base().replace(&format!("\"{PW}\""), &format!("[\"{secret}\"]")),
            base().replace(&format!("\"{PW}\""), &format!("{{x: \"{secret}\"}}")),
            base().replace(&format!("\"{PW}\""), &format!("\"{secret}")),
            base().replace(
                &format!("password: \"{PW}\""),
                &format!("passwrd: \"{secret}\""),
            ),
            base().replace(PW, secret) + &format!("        password_hash: \"{secret}\"\n"),
            base().replace(PW, "SECRET"),
        ];
        for t in &texts {
            let e = parse_err(t);
            let s = format!("{e}\n{e:?}");
            assert!(!s.contains("SECRET"), "leaked in:\n{s}");
        }
    }
}
