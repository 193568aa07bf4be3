//! Stage 2: the untyped tree and the shape check (unknown keys, missing keys, wrong types).
use crate::problem::Problem;
use crate::schema::{Field, Kind, Schema};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_saphyr::{Location, Spanned};
use std::collections::HashSet;
use std::fmt;

/// Untyped YAML, each node with its position. Only used to check shape and find positions.
#[derive(Debug)]
pub(crate) enum Node {
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

pub(crate) struct NodeVisitor;

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

pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Show a value in a message: quoted, one line, at most 60 characters.
pub(crate) fn show(value: &str) -> String {
    let mut s: String = value.chars().take(60).collect();
    if s.len() < value.len() {
        s.push('…');
    }
    format!("{s:?}")
}

pub(crate) fn did_you_mean(key: &str, candidates: &[&'static str]) -> Option<&'static str> {
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

pub(crate) fn check_shape(
    node: &Spanned<Node>,
    schema: &Schema,
    path: &str,
    out: &mut Vec<Problem>,
) {
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

pub(crate) fn check_value(
    value: &Spanned<Node>,
    field: &Field,
    path: &str,
    out: &mut Vec<Problem>,
) {
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
        (Kind::Count, Node::Int(i)) if *i >= 0 => {}
        (Kind::Count, v) => bad(
            format!("expected a whole number, {}", found(v)),
            format!("write it like `{}: {}`", field.name, field.example),
        ),
        (Kind::Port, Node::Int(i)) if (1..=65535).contains(i) => {}
        (Kind::Port, v) => bad(
            format!("expected a TCP port number from 1 to 65535, {}", found(v)),
            format!(
                "write `{}: 587` (submission, STARTTLS) or `{}: 465` (implicit TLS)",
                field.name, field.name
            ),
        ),
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
pub(crate) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

pub(crate) fn segments(path: &str) -> Vec<Seg<'_>> {
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
pub(crate) fn locate(root: &Spanned<Node>, path: &str) -> Option<Location> {
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
pub(crate) fn path_at(root: &Spanned<Node>, loc: Location) -> String {
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

/// A field path that holds a secret: `password` or `password_hash`, or anything under one.
pub(crate) fn is_secret_path(field: &str) -> bool {
    field.split('.').any(|seg| {
        let key = seg.split('[').next().unwrap_or_default();
        key == "password" || key == "password_hash"
    })
}
