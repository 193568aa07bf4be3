//! The registry's guards: no capability imports another, and nothing that lists capabilities
//! by hand can drift from [`crate::CAPABILITIES`].
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Modules anything may import: shared, not capabilities.
const SHARED: &[&str] = &[
    "facts",
    "layout",
    "support",
    "capability",
    "records",
    "testing",
    // The registry itself (a step that assembles contributions gets it as an argument; tests
    // build such steps from it).
    "CAPABILITIES",
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// The folders under `src/` that hold a module (`mod.rs`): the capabilities and `facts`.
fn module_folders() -> BTreeSet<String> {
    std::fs::read_dir(src())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("mod.rs").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// The first segment of every `crate::` path in `text`, braces expanded
/// (`crate::{a::b, c}` gives `a` and `c`), and whether it climbs out with `super::super`.
fn crate_roots(text: &str) -> BTreeSet<String> {
    let mut roots = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: split at commas outside nested braces.
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        roots.insert(first_segment(&group[start..j]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        roots.insert(first_segment(&group[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            roots.insert(first_segment(rest));
        }
    }
    roots.remove("");
    roots
}

fn first_segment(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// A capability (its code and its tests) imports only shared modules and itself; `facts`
/// imports no capability; the standalone steps (`answers`, `demo`) none either.
#[test]
fn no_capability_imports_another() {
    let caps: BTreeSet<&str> = crate::CAPABILITIES.iter().map(|c| c.name()).collect();
    let mut owners: Vec<(String, PathBuf)> = Vec::new();
    for folder in module_folders() {
        for f in rust_files(&src().join(&folder)) {
            owners.push((folder.clone(), f));
        }
    }
    for standalone in ["answers", "demo"] {
        owners.push((standalone.into(), src().join(format!("{standalone}.rs"))));
    }
    for (owner, file) in owners {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("super::super::"),
            "{} climbs out of its capability with super::super",
            file.display()
        );
        for root in crate_roots(&text) {
            let ok = root == owner || SHARED.contains(&root.as_str());
            assert!(
                ok || !caps.contains(root.as_str()),
                "{} (capability {owner}) imports capability {root}: hand it over through the \
                 Capability trait instead",
                file.display()
            );
            assert!(
                ok,
                "{} ({owner}) imports crate::{root}, which is neither shared nor its own",
                file.display()
            );
        }
    }
}

/// Every folder under `src/` with a `mod.rs` is a registered capability (or `facts`), every
/// registered capability has its folder, named as the capability.
#[test]
fn every_capability_folder_is_in_the_registry() {
    let folders = module_folders();
    let mut registered: BTreeSet<String> = crate::CAPABILITIES
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(
        registered.len(),
        crate::CAPABILITIES.len(),
        "a capability is registered twice"
    );
    registered.insert("facts".into());
    assert_eq!(folders, registered);
}

/// The bed's fault matrix (`tests/mailstack.rs`) injects a failure in every step of the
/// registry: a step missing there is never proven to roll back.
#[test]
fn every_step_has_a_failpoint_in_the_fault_matrix() {
    let matrix = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/mailstack.rs"),
    )
    .unwrap();
    let start = matrix
        .find("FAILPOINTS={step}.mid=return")
        .expect("the fault matrix");
    let list_start = matrix[..start]
        .rfind("let steps = [")
        .expect("its step list");
    let list = &matrix[list_start..start];
    for step in crate::install_steps() {
        assert!(
            list.contains(&format!("\"{}\",", step.name())),
            "step {} has no failpoint in tests/mailstack.rs's fault matrix",
            step.name()
        );
    }
}

/// Names are unique: steps (journals, failpoints, `--only`) and checks (`mailstead check`).
#[test]
fn step_and_check_names_are_unique() {
    let steps: Vec<&str> = crate::install_steps().iter().map(|s| s.name()).collect();
    let unique: BTreeSet<&&str> = steps.iter().collect();
    assert_eq!(unique.len(), steps.len(), "{steps:?}");
    let checks: Vec<&str> = crate::server_checks().iter().map(|c| c.name()).collect();
    let unique: BTreeSet<&&str> = checks.iter().collect();
    assert_eq!(unique.len(), checks.len(), "{checks:?}");
}

/// The packages step installs what the capabilities ask for, nothing typed twice.
#[test]
fn packages_are_the_capabilities() {
    let mut a = crate::testing::mail_answers();
    a.pop3 = true;
    a.firewall.enabled = true;
    let wanted = crate::packages::wanted(crate::CAPABILITIES, &a);
    let from_caps: BTreeSet<&str> = crate::CAPABILITIES
        .iter()
        .flat_map(|c| c.packages(&a))
        .collect();
    assert_eq!(wanted.len(), from_caps.len(), "a package asked for twice");
    assert!(wanted.iter().all(|p| from_caps.contains(p.as_str())));
}

#[test]
fn crate_roots_expand_groups() {
    let roots = crate_roots(
        "use crate::{facts::{A, B}, layout::X};\nuse crate::dns::Record;\nlet x = crate::signer::f();",
    );
    assert_eq!(
        roots.into_iter().collect::<Vec<_>>(),
        ["dns", "facts", "layout", "signer"]
    );
}

/// `mailstead check` runs the install checks, then the deliverability checks, in the order
/// they ran before the capabilities had folders (the phases keep it).
#[test]
fn server_checks_keep_their_order() {
    let names: Vec<&str> = crate::server_checks().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "services",
            "ports",
            "config",
            "certificate",
            "signer",
            "delivery",
            "relay",
            "quota",
            "limits",
            "bans",
            "reverse-dns",
            "blocklists",
            "tls-served",
            "renewal-hook",
            "queue",
            "disk",
            "dns-records"
        ]
    );
}
