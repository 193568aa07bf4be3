//! `cargo bench --bench engine`: plan and no-op re-run of the real binary on a sandbox tree
//! whose answers hold 1,000 domains × 10 mailboxes (demo steps: one file per domain).
//! Reported as times and as ratios against a baseline measured in the same run: the same
//! binary doing the least it can (`runs` on the tree: start, read nothing, exit).
use mailstead_bed::sandbox;
use std::time::{Duration, Instant};

fn answers(domains: usize, mailboxes: usize) -> String {
    let hash = mailstead_steps::mailboxes::hash_password("a long passphrase for everyone").unwrap();
    let mut y =
        String::from("hostname: mail.example.test\nadmin_email: admin@example.test\ndomains:\n");
    for d in 0..domains {
        y.push_str(&format!("  - name: d{d}.example.test\n    mailboxes:\n"));
        for m in 0..mailboxes {
            y.push_str(&format!(
                "      - address: u{m}@d{d}.example.test\n        password_hash: \"{hash}\"\n"
            ));
        }
    }
    y
}

/// Median of `n` timed runs.
fn time(n: usize, mut f: impl FnMut()) -> Duration {
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[n / 2]
}

fn main() {
    let Some(t) = sandbox::Tree::new(env!("CARGO_BIN_EXE_mailstead")) else {
        println!("engine bench skipped: needs root");
        return;
    };
    t.write_answers(&answers(1000, 10));
    let ok = |args: &[&str]| {
        let out = t.mailstead(args);
        assert_eq!(out.code, 0, "{}", out.all());
        out
    };
    let baseline = time(5, || {
        ok(&["--demo", "runs"]);
    });
    let plan = time(5, || {
        ok(&["--demo", "plan"]);
    });
    let first = Instant::now();
    ok(&["--demo", "--yes", "--plain", "install"]);
    let install = first.elapsed();
    let rerun = time(5, || {
        let out = ok(&["--demo", "--yes", "--plain", "install"]);
        assert!(out.stdout.contains("0 changes"), "{}", out.all());
    });
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("engine bench, 1000 domains x 10 mailboxes (median of 5):");
    println!("  baseline (`runs`)     {:8.1} ms", ms(baseline));
    println!(
        "  plan                  {:8.1} ms  ({:.1}x baseline)",
        ms(plan),
        ms(plan) / ms(baseline)
    );
    println!(
        "  first install         {:8.1} ms  ({:.1}x baseline)",
        ms(install),
        ms(install) / ms(baseline)
    );
    println!(
        "  no-op re-run          {:8.1} ms  ({:.1}x baseline)",
        ms(rerun),
        ms(rerun) / ms(baseline)
    );
    println!(
        "  goal: plan and no-op re-run under 1 s: {}",
        if plan < Duration::from_secs(1) && rerun < Duration::from_secs(1) {
            "met"
        } else {
            "NOT met"
        }
    );
}
