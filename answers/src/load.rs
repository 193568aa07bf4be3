//! Stage 1 and 3: reading YAML (the one place it is read) and writing it back.
use crate::model::{Answers, MAX_FILE_BYTES};
use crate::problem::{ConfigError, Problem};
use crate::schema::ANSWERS_SCHEMA;
use crate::shape::{check_shape, is_secret_path, join, locate, path_at, Node};
use crate::validate::validate;
use serde_saphyr::Location;
use serde_saphyr::Spanned;
use std::path::Path;

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

pub(crate) fn check_file_mode_of(
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
pub(crate) fn mentions_plain_password(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim_start().trim_start_matches("- ").trim_start();
        l.starts_with("password:") || l.starts_with("password :")
    })
}

pub(crate) fn yaml_options() -> serde_saphyr::Options {
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

    // Stage 2: shape, and secrets written so that YAML keeps them as they are.
    let mut problems = Vec::new();
    check_shape(&tree, &ANSWERS_SCHEMA, "", &mut problems);
    check_secrets_quoted(&tree, &Source::new(text), "", &mut problems);
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
                scrub_secrets(render_plain(&e), text)
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

pub(crate) fn render_plain(e: &serde_saphyr::Error) -> String {
    e.without_snippet()
        .render_with_options(serde_saphyr::render_options! {
            snippets: serde_saphyr::SnippetMode::Off,
        })
}

/// A YAML-level error (syntax, budget, duplicate key) as a problem with a redacted snippet.
pub(crate) fn yaml_problem(e: &serde_saphyr::Error, text: &str) -> Problem {
    let loc = e.without_snippet().location();
    let mut message = scrub_secrets(render_plain(e), text);
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
pub(crate) fn unbalanced_quote_line(text: &str, upto: u64) -> Option<usize> {
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
/// replaced by `***` so a syntax error cannot leak one (see [`redacted_lines`]).
pub(crate) fn snippet(text: &str, line: u64, column: u64) -> String {
    let line = usize::try_from(line).unwrap_or(usize::MAX);
    let first = line.saturating_sub(2).max(1);
    let mut out = String::new();
    for (i, l) in redacted_lines(text)
        .into_iter()
        .enumerate()
        .skip(first - 1)
        .take(line + 1 - first)
    {
        out.push_str(&format!("{:>4} | {l}\n", i + 1));
    }
    let col = usize::try_from(column).unwrap_or(1).max(1);
    out.push_str(&format!("     | {}^", " ".repeat(col - 1)));
    out
}

/// Where a line's key starts: its indentation, past any `- ` list markers.
fn key_column(line: &str) -> usize {
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start();
        match trimmed.strip_prefix('-') {
            Some(after) if after.is_empty() || after.starts_with([' ', '\t']) => rest = after,
            _ => return line.len() - trimmed.len(),
        }
    }
}

/// Every line of `text`, with what could be a password or password hash hidden: the value of a
/// `password:`/`password_hash:` key (whatever follows: quotes, tags, anchors, comments), any
/// other line mentioning a password (flow mappings), and the lines that continue such a value
/// (a multi-line quoted or block scalar: every line indented deeper than its key).
pub(crate) fn redacted_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // The key column of the secret whose continuation lines are being hidden.
    let mut hiding: Option<usize> = None;
    for line in text.lines() {
        if let Some(col) = hiding {
            if line.trim().is_empty() {
                out.push(String::new());
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if indent > col {
                out.push("*** (line hidden: it continues a password)".to_string());
                continue;
            }
            hiding = None;
        }
        let shown = redact_line(line);
        if shown != line {
            hiding = Some(key_column(line));
        }
        out.push(shown);
    }
    out
}

pub(crate) fn redact_line(line: &str) -> String {
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

/// The text of the lines [`redacted_lines`] hides, as fragments that must not appear in a
/// message (a parser error may quote the scalar it stopped at).
fn secret_fragments(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (orig, shown) in text.lines().zip(redacted_lines(text)) {
        if orig == shown {
            continue;
        }
        let value = match orig.find("password") {
            Some(i) => orig[i..]
                .split_once(':')
                .map_or(orig.trim(), |(_, v)| v.trim()),
            None => orig.trim(),
        };
        for piece in [value, value.trim_matches(['"', '\'', ' ', '}', ','])] {
            if piece.len() >= 3 {
                out.push(piece.to_string());
            }
        }
        // A quoted value's words may be quoted back one at a time, or its first line alone.
        for word in value.split([' ', '"', '\'', ',', '}', '{', '[', ']', '#', '&', '!', '*']) {
            if word.len() >= 4 {
                out.push(word.to_string());
            }
        }
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.len()));
    out
}

/// `message` with anything that came from a password line replaced by `***`.
pub(crate) fn scrub_secrets(message: String, text: &str) -> String {
    let mut message = message;
    for fragment in secret_fragments(text) {
        if message.contains(&fragment) {
            message = message.replace(&fragment, "***");
        }
    }
    message
}

/// The secret keys, whose values must be quoted strings.
const SECRET_KEYS: [&str; 2] = ["password", "password_hash"];

/// Refuse a `password` or `password_hash` whose YAML form is not a quoted string. Unquoted,
/// YAML changes what it reads without a word: ` #` starts a comment (`correct horse #battery`
/// becomes `correct horse`), a leading `!tag`, `&anchor` or `*alias` is syntax, and digits,
/// `true` or `null` are not text at all. The value is never shown, only where it is.
/// The answers' text with where each line starts: positions become offsets in O(log n), not
/// by re-reading the text for every secret (10,000 mailboxes stay fast).
pub(crate) struct Source<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(text: &'a str) -> Source<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source { text, line_starts }
    }
}

pub(crate) fn check_secrets_quoted(
    node: &Spanned<Node>,
    text: &Source,
    path: &str,
    out: &mut Vec<Problem>,
) {
    match &node.value {
        Node::Map(entries) => {
            for (key, value) in entries {
                let name = match &key.value {
                    Node::Str(s) => s.clone(),
                    _ => continue,
                };
                let field = join(path, &name);
                let scalar = matches!(
                    value.value,
                    Node::Str(_) | Node::Int(_) | Node::Float | Node::Bool(_)
                );
                if SECRET_KEYS.contains(&name.as_str()) && scalar {
                    if let Err((message, fix)) = quoted_at(text, value.referenced, &name) {
                        out.push(Problem::new(field, message, fix).at(Some(value.referenced)));
                    }
                } else {
                    check_secrets_quoted(value, text, &field, out);
                }
            }
        }
        Node::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                check_secrets_quoted(item, text, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Byte offset of a location in the text: the parser's, else from line and column.
fn offset_of(src: &Source, loc: Location) -> Option<usize> {
    let text = src.text;
    if let Some(o) = loc.span().byte_offset() {
        return usize::try_from(o).ok().filter(|o| *o <= text.len());
    }
    let line = usize::try_from(loc.line()).ok()?.checked_sub(1)?;
    let col = usize::try_from(loc.column()).ok()?.checked_sub(1)?;
    let start = *src.line_starts.get(line)?;
    let rest = text.get(start..)?;
    Some(start + rest.char_indices().nth(col).map_or(rest.len(), |(i, _)| i))
}

/// The scalar at `loc` starts with a quote and nothing but spaces stand between it and its
/// key's `:` (no tag, no anchor).
fn quoted_at(src: &Source, loc: Location, key: &str) -> Result<(), (String, String)> {
    let text = src.text;
    let example = if key == "password" {
        "'your long passphrase'"
    } else {
        "'{SHA512-CRYPT}$6$...'"
    };
    let fix = format!(
        "write it in single quotes: `{key}: {example}`; a ' inside is written twice, as in 'it''s'"
    );
    let Some(at) = offset_of(src, loc) else {
        return Ok(());
    };
    let value = &text[at..];
    let before = text[..at].trim_end_matches([' ', '\t', '\n', '\r']);
    if !value.starts_with(['"', '\'']) {
        return Err((
            "is not in quotes, so YAML may read it differently from what is written (` #` starts a comment, a leading `!`, `&` or `*` is YAML syntax, digits become a number)".into(),
            fix,
        ));
    }
    if !before.ends_with(':') {
        return Err((
            "has a YAML tag (`!...`) or anchor (`&...`) before its quotes, which YAML takes as syntax, not as part of the value".into(),
            fix,
        ));
    }
    Ok(())
}
