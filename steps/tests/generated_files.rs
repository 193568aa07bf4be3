//! Property test (proptest, 2,000 cases): for ANY answers that `validate` accepts — including
//! ones built from hostile pieces (`\n`, `\r`, `:`, spaces, `#`, `,`, non-ASCII, hashes with
//! junk in their `rounds=` or Argon2 parameters) — the generated `/etc/dovecot/users` and the
//! Postfix maps, read back with a strict parser of each file's grammar, hold exactly the
//! accounts and aliases that were asked for: no more, no fewer, no other targets.
//!
//! Answers that do not validate are skipped (the installer refuses them before writing);
//! the test asserts that enough cases were accepted to mean something.
use mailstead_answers::{validate, Alias, Answers, Domain, Mailbox, Secret};
use mailstead_steps::mailboxes::{maps, users_file, verifies};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

const CASES: u32 = 2_000;

/// Pieces hostile to one file format or another, mixed into otherwise good values.
const HOSTILE: &[&str] = &[
    "\n",
    "\r",
    "\r\n",
    ":",
    " ",
    "\t",
    "#",
    ",",
    ", ",
    "ü",
    "\u{2028}",
    "\u{85}",
    "\0",
    "$",
    "/",
    "@",
    "=",
    "A",
    "..",
    "-",
    "xn--",
    "\nmallory@ex.test:{PLAIN}x",
];

const HASHES: &[&str] = &[
    "{SHA512-CRYPT}$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/",
    "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.",
    "{SHA512-CRYPT}$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0",
    "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$3Jzh1qJTt3WmyWk0bkEY9wWtpVHuIwHLLxmvlIpoSBA",
];

/// `good`, or `good` with a hostile piece inserted at some character boundary.
fn spoil(good: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    // One value in eight is spoiled: answers have dozens of values, and enough of them must
    // still validate (spoiled ones that validate anyway are the interesting cases).
    (
        good,
        prop::bool::weighted(0.125),
        any::<prop::sample::Index>(),
        0..HOSTILE.len(),
    )
        .prop_map(|(g, spoil, at, h)| {
            if !spoil {
                return g;
            }
            let bounds: Vec<usize> = g.char_indices().map(|(i, _)| i).chain([g.len()]).collect();
            let i = bounds[at.index(bounds.len())];
            format!("{}{}{}", &g[..i], HOSTILE[h], &g[i..])
        })
}

fn local() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "alice",
        "bob",
        "carol",
        "info",
        "team",
        "postmaster",
        "abuse",
        "a.b",
        "x_y",
        "z-9",
    ])
    .prop_map(str::to_string)
}

fn domain_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "example.test",
        "other.test",
        "mail.example.test",
        "xn--bcher-kva.example",
        "a-b.test",
    ])
    .prop_map(str::to_string)
}

fn credentials() -> impl Strategy<Value = (Option<Secret>, Option<String>)> {
    prop_oneof![
        // Mostly hashes: a plaintext password costs a SHA512-CRYPT hash per case in debug.
        39 => spoil(prop::sample::select(HASHES.to_vec()).prop_map(str::to_string))
            .prop_map(|h| (None, Some(h))),
        1 => spoil(Just("a long passphrase: #1, ok".to_string()))
            .prop_map(|p| (Some(Secret::new(p)), None)),
    ]
}

/// A raw domain: its name, mailboxes (local part, credentials) and aliases (local part,
/// targets as (local, domain-index-or-elsewhere), separator, trailing junk).
type RawDomain = (
    String,
    Vec<(String, (Option<Secret>, Option<String>))>,
    Vec<(String, Vec<(String, usize)>, bool)>,
    bool,
);

fn raw_domain() -> impl Strategy<Value = RawDomain> {
    (
        spoil(domain_name()),
        prop::collection::vec((spoil(local()), credentials()), 0..4),
        prop::collection::vec(
            (
                spoil(local()),
                prop::collection::vec((spoil(local()), 0..6usize), 1..4),
                any::<bool>(),
            ),
            0..3,
        ),
        any::<bool>(),
    )
}

fn answers() -> impl Strategy<Value = Answers> {
    prop::collection::vec(raw_domain(), 1..3).prop_map(|raw| {
        let names: Vec<String> = raw.iter().map(|d| d.0.clone()).collect();
        let domains = raw
            .into_iter()
            .map(|(name, mailboxes, aliases, default_aliases)| Domain {
                mailboxes: mailboxes
                    .into_iter()
                    .map(|(l, (password, password_hash))| Mailbox {
                        address: format!("{l}@{name}"),
                        password,
                        password_hash,
                        quota: None,
                    })
                    .collect(),
                aliases: aliases
                    .into_iter()
                    .map(|(from, targets, spaced)| Alias {
                        from: format!("{from}@{name}"),
                        to: targets
                            .into_iter()
                            .map(|(l, d)| match names.get(d) {
                                Some(n) => format!("{l}@{n}"),
                                None => format!("{l}@elsewhere.test"),
                            })
                            .collect::<Vec<_>>()
                            .join(if spaced { ", " } else { "," }),
                    })
                    .collect(),
                default_aliases,
                name,
            })
            .collect();
        let mut a = Answers::new("mail.example.test", "admin@example.test");
        a.domains = domains;
        a
    })
}

/// A word of a Postfix map or passwd-file: non-empty, printable, no separators.
fn plain_word(s: &str, extra_separators: &[char]) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || extra_separators.contains(&c))
}

/// Dovecot's passwd-file, strictly: `#` comment lines, then `user:hash` lines, every line
/// ended by `\n`, no other fields, nothing else.
fn parse_users(text: &str) -> Result<Vec<(String, String)>, String> {
    let body = text.strip_suffix('\n').ok_or("no final newline")?;
    let mut out = Vec::new();
    for line in body.split('\n') {
        if line.starts_with('#') {
            if !out.is_empty() {
                return Err(format!("comment after entries: {line:?}"));
            }
            continue;
        }
        // user:hash:uid:gid:gecos:home:shell:extra, the five middle fields empty (the userdb's
        // defaults) and no extra fields (the generator gives no mailbox its own quota).
        let f: Vec<&str> = line.splitn(8, ':').collect();
        let [user, hash, rest @ ..] = &f[..] else {
            return Err(format!("no `:` in {line:?}"));
        };
        if rest.len() != 6 || rest.iter().any(|x| !x.is_empty()) {
            return Err(format!(
                "not seven empty-tailed passwd-file fields: {line:?}"
            ));
        }
        let (user, hash) = (*user, *hash);
        if !plain_word(user, &[':']) || !plain_word(hash, &[':']) {
            return Err(format!("bad passwd-file line {line:?}"));
        }
        out.push((user.to_string(), hash.to_string()));
    }
    Ok(out)
}

/// A Postfix lookup table source, strictly: `#` comment lines, then `key value` lines with a
/// single-word key and a value of single words joined by `, `.
fn parse_map(text: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let body = text.strip_suffix('\n').ok_or("no final newline")?;
    let mut out = Vec::new();
    for line in body.split('\n') {
        if line.starts_with('#') {
            if !out.is_empty() {
                return Err(format!("comment after entries: {line:?}"));
            }
            continue;
        }
        let (key, value) = line
            .split_once(' ')
            .ok_or(format!("no value in {line:?}"))?;
        if !plain_word(key, &[',']) || key.starts_with('#') {
            return Err(format!("bad key in {line:?}"));
        }
        let words: Vec<String> = value.split(", ").map(str::to_string).collect();
        if !words.iter().all(|w| plain_word(w, &[','])) {
            return Err(format!("bad value in {line:?}"));
        }
        out.push((key.to_string(), words));
    }
    Ok(out)
}

fn targets(to: &str) -> Vec<String> {
    to.split(',').map(|t| t.trim().to_string()).collect()
}

#[test]
fn generated_users_file_and_maps_hold_exactly_what_was_asked_2000_cases() {
    let accepted = AtomicUsize::new(0);
    let with_aliases = AtomicUsize::new(0);
    let with_password = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&answers(), |a| {
        if validate(&a).is_err() {
            return Ok(());
        }
        accepted.fetch_add(1, Ordering::Relaxed);
        if a.domains.iter().any(|d| !d.aliases.is_empty()) {
            with_aliases.fetch_add(1, Ordering::Relaxed);
        }
        if a.has_plaintext_password() {
            with_password.fetch_add(1, Ordering::Relaxed);
        }

        // Accounts: exactly the mailboxes, in order, each with its own credentials.
        let users = users_file(&a, "").map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let parsed = parse_users(&users).map_err(TestCaseError::fail)?;
        let mailboxes: Vec<&Mailbox> = a.all_mailboxes().collect();
        prop_assert_eq!(parsed.len(), mailboxes.len(), "{}", users);
        for ((user, hash), m) in parsed.iter().zip(&mailboxes) {
            prop_assert_eq!(user, &m.address);
            match (&m.password, &m.password_hash) {
                (_, Some(h)) => prop_assert!(
                    hash == h || *hash == format!("{{SHA512-CRYPT}}{h}"),
                    "hash of {} changed",
                    user
                ),
                (Some(pw), None) => prop_assert!(verifies(pw.expose(), hash)),
                (None, None) => prop_assert!(false, "validated without credentials"),
            }
        }

        let files = maps(&a).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        let parsed: Vec<Vec<(String, Vec<String>)>> = files
            .iter()
            .map(|(_, text)| parse_map(text))
            .collect::<Result<_, _>>()
            .map_err(TestCaseError::fail)?;
        let [domains, boxes, aliases, senders] = &parsed[..] else {
            return Err(TestCaseError::fail("four maps"));
        };
        // Domains: exactly the names asked.
        let want: Vec<(String, Vec<String>)> = a
            .domains
            .iter()
            .map(|d| (d.name.clone(), vec!["OK".to_string()]))
            .collect();
        prop_assert_eq!(domains, &want);
        // Mailboxes: exactly the addresses asked, each to its own directory.
        let want: Vec<(String, Vec<String>)> = mailboxes
            .iter()
            .map(|m| {
                let (user, domain) = m.address.rsplit_once('@').unwrap();
                (m.address.clone(), vec![format!("{domain}/{user}/")])
            })
            .collect();
        prop_assert_eq!(boxes, &want);
        // Aliases: exactly the ones asked (each to exactly its targets), plus postmaster@ and
        // abuse@ to the first mailbox where asked for and not taken.
        let mut want: Vec<(String, Vec<String>)> = Vec::new();
        for d in &a.domains {
            for al in &d.aliases {
                want.push((al.from.clone(), targets(&al.to)));
            }
            if d.default_aliases {
                // To the first mailbox; a domain without one: to admin_email.
                let to = match d.mailboxes.first() {
                    Some(m) => m.address.clone(),
                    None => {
                        // A domain without mailboxes: admin_email when it can receive,
                        // else the server's first mailbox; none at all: no defaults.
                        let admin_dom = a.admin_email.rsplit_once('@').map(|(_, d)| d);
                        let ours = a.domains.iter().any(|x| Some(x.name.as_str()) == admin_dom);
                        let here = a.domains.iter().any(|x| {
                            x.mailboxes.iter().any(|m| m.address == a.admin_email)
                                || x.aliases.iter().any(|al| al.from == a.admin_email)
                        });
                        if !ours || here {
                            a.admin_email.clone()
                        } else if let Some(m) = a.domains.iter().flat_map(|x| &x.mailboxes).next() {
                            m.address.clone()
                        } else {
                            continue;
                        }
                    }
                };
                for l in ["postmaster", "abuse"] {
                    let from = format!("{l}@{}", d.name);
                    let taken = d.mailboxes.iter().any(|m| m.address == from)
                        || d.aliases.iter().any(|x| x.from == from);
                    if !taken {
                        want.push((from, vec![to.clone()]));
                    }
                }
            }
        }
        prop_assert_eq!(aliases, &want);
        // Senders: the mailboxes, and the aliases that finally reach a mailbox (an alias that
        // only forwards outside has no login that may send as it), nothing else.
        let graph = mailstead_answers::resolve(&a).expect("validated answers resolve");
        let keys: BTreeSet<&String> = senders.iter().map(|(k, _)| k).collect();
        let want: BTreeSet<&String> = mailboxes
            .iter()
            .map(|m| &m.address)
            .chain(
                want.iter()
                    .map(|(f, _)| f)
                    .filter(|f| !graph.logins(f).is_empty()),
            )
            .collect();
        prop_assert_eq!(keys, want);
        Ok(())
    });
    let n = accepted.load(Ordering::Relaxed);
    println!(
        "{CASES} cases, {n} validated and were checked ({} with aliases, {} with a plaintext password)",
        with_aliases.load(Ordering::Relaxed),
        with_password.load(Ordering::Relaxed)
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        n >= CASES as usize / 10,
        "only {n} of {CASES} generated answers validated: the generator needs tuning"
    );
}
