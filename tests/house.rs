//! The house rules of the source tree (issue 19), checked on the files themselves so they
//! cannot drift: no `#[path]` includes, no glob imports outside tests, no import cycle between
//! the modules of a crate, no file of non-test code over 800 lines, a README a newcomer reads
//! (at most 250 lines).
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file of ours (not vendor/, not target/).
fn sources() -> Vec<PathBuf> {
    rs_files(repo())
}

/// Every `.rs` file under `root`, skipping target/, vendor/ and .git/.
fn rs_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                if !matches!(name.as_str(), "target" | "vendor" | ".git") {
                    dirs.push(p);
                }
            } else if name.ends_with(".rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(repo()).unwrap().display().to_string()
}

/// The code before the first `#[cfg(test)]` (what ships).
fn non_test(text: &str) -> &str {
    match text.find("\n#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    }
}

fn is_test_file(rel: &str) -> bool {
    rel.starts_with("tests/")
        || rel.contains("/tests/")
        || rel.starts_with("benches/")
        || rel.starts_with("examples/")
        || rel.ends_with("tests.rs")
}

#[test]
fn no_path_includes() {
    let bad: Vec<String> = sources()
        .iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .any(|l| l.trim_start().starts_with("#[path"))
        })
        .map(|p| rel(p))
        .collect();
    assert!(
        bad.is_empty(),
        "#[path] includes (share code through a crate instead): {bad:?}"
    );
}

#[test]
fn no_glob_imports_outside_tests() {
    let mut bad = Vec::new();
    for p in sources() {
        let r = rel(&p);
        if is_test_file(&r) {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for l in non_test(&text).lines() {
            let t = l.trim();
            if (t.starts_with("use crate::") || t.starts_with("use super::")) && t.ends_with("::*;")
            {
                bad.push(format!("{r}: {t}"));
            }
        }
    }
    assert!(bad.is_empty(), "glob imports (name what you use): {bad:#?}");
}

#[test]
fn no_file_of_shipped_code_over_800_lines() {
    let mut bad = Vec::new();
    for p in sources() {
        let r = rel(&p);
        if is_test_file(&r) {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let n = non_test(&text).lines().count();
        if n > 800 {
            bad.push(format!("{r}: {n} lines"));
        }
    }
    assert!(bad.is_empty(), "split these by what they do: {bad:#?}");
}

#[test]
fn readme_is_short() {
    let n = std::fs::read_to_string(repo().join("README.md"))
        .unwrap()
        .lines()
        .count();
    assert!(
        n <= 250,
        "README.md is {n} lines: the reference goes in docs/"
    );
}

/// The top-level module of a crate a file belongs to: `src/ui/end.rs` → `ui`,
/// `steps/src/postfix/main_cf.rs` → `postfix`, `src/cli.rs` → `cli`; `None` for the crate
/// root.
fn top_module(src_dir: &Path, file: &Path) -> Option<String> {
    let r = file.strip_prefix(src_dir).ok()?;
    let first = r
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .to_string();
    let m = first.trim_end_matches(".rs").to_string();
    (m != "lib" && m != "main").then_some(m)
}

/// `crate::X` references in shipped code, as edges between top-level modules; a cycle
/// (`a` uses `b`, `b` uses `a`, directly or through others) is refused.
fn module_cycles(src_dir: &Path) -> Vec<Vec<String>> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in rs_files(src_dir) {
        let Some(from) = top_module(src_dir, &p) else {
            continue;
        };
        let text = std::fs::read_to_string(&p).unwrap();
        // Code only: a doc comment's [`crate::x`] link is no dependency.
        let code: String = non_test(&text)
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut rest = code.as_str();
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            // `crate::{a, b::c}` and `crate::a::b`
            let names: Vec<String> = if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                group[..end]
                    .split(',')
                    .map(|s| s.trim().split("::").next().unwrap_or("").to_string())
                    .collect()
            } else {
                vec![rest
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("")
                    .to_string()]
            };
            for to in names {
                if !to.is_empty() && to != from && to.chars().next().unwrap().is_lowercase() {
                    edges.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    // Every cycle through each module, found by a depth-first walk.
    let mut cycles = Vec::new();
    for start in edges.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, path)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    let mut c = path.clone();
                    c.push(start.clone());
                    cycles.push(c);
                } else if !path.contains(next) && next > start {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    cycles
}

#[test]
fn no_import_cycle_between_modules() {
    let mut all = Vec::new();
    for krate in ["src", "answers/src", "engine/src", "steps/src", "bed/src"] {
        let dir = repo().join(krate);
        if dir.is_dir() {
            for c in module_cycles(&dir) {
                all.push(format!("{krate}: {}", c.join(" -> ")));
            }
        }
    }
    assert!(all.is_empty(), "import cycles between modules: {all:#?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    // A negative control: two modules that use each other, in a scratch crate.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("a.rs"), "use crate::b::B;\npub struct A;\n").unwrap();
    std::fs::write(src.join("b.rs"), "use crate::{a::A, c};\npub struct B;\n").unwrap();
    std::fs::write(src.join("c.rs"), "pub struct C;\n").unwrap();
    let cycles = module_cycles(src);
    assert_eq!(cycles, vec![vec!["a".to_string(), "b".into(), "a".into()]]);
}
