use crate::rules::{MAX_DOMAIN, MAX_LOCAL_PART};
use crate::schema::SCHEMAS;
use crate::*;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use std::fmt;
use std::path::Path;

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
        serde_fields::<RelayHost>(),
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
        quota: None,
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
    let e = parse_err("domains:\n  - mailboxes: []\n    aliases:\n      - to: a@example.test\n");
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
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
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
    for bad in [
        "https://acme.example:99999/dir",
        "https://acme example/dir",
        "https://acme.example/d\tir",
        "https://[::1/dir",
        "https://\\acme.example/dir",
    ] {
        assert_one(
            &problems(|a| a.acme.server = Some(bad.into())),
            "is not a valid URL",
        );
    }
    assert_one(
        &problems(|a| a.acme.server = Some("https:acme.example/dir".into())),
        "is not an https:// URL",
    );
    assert!(problems(|a| a.acme.server = Some("https://[::1]:14000/dir".into())).is_empty());
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
fn trusted_networks_rules() {
    assert!(problems(|a| {
        a.trusted_networks = vec![
            "192.0.2.0/24".into(),
            "2001:db8::7".into(),
            "10.213.1.1".into(),
        ]
    })
    .is_empty());
    let p = problems(|a| {
        a.trusted_networks = vec![
            "192.0.2.0/24".into(),
            "office.example.test".into(),
            "10.0.0.0/40".into(),
        ]
    });
    assert_eq!(p.len(), 2, "{p:?}");
    assert_one(
        &p,
        "trusted_networks[1]: \"office.example.test\" is not an IP address or a CIDR network (write",
    );
    assert_one(
        &p,
        "trusted_networks[2]: \"10.0.0.0/40\" has a prefix length over 32",
    );
    // Parsed from YAML, default empty, and written back only when set.
    let a = parse(
        &(base() + "trusted_networks: [192.0.2.0/24, \"2001:db8::/32\"]\n"),
        "t.yaml",
    )
    .unwrap();
    assert_eq!(a.trusted_networks, ["192.0.2.0/24", "2001:db8::/32"]);
    assert!(answers().trusted_networks.is_empty());
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
fn quota_default_range_and_override() {
    let a = answers();
    assert_eq!(a.quota, 1 << 30, "the stated default: 1 GiB");
    assert!(problems(|a| a.quota = 0).is_empty(), "0 = unlimited");
    assert!(problems(|a| a.quota = MIN_QUOTA).is_empty());
    assert!(problems(|a| a.quota = MAX_QUOTA).is_empty());
    assert_one(
        &problems(|a| a.quota = 1000),
        "quota: \"1000\" bytes is outside 1 MiB .. 64 TiB",
    );
    assert_one(
        &problems(|a| a.domains[0].mailboxes[0].quota = Some(5)),
        "domains[0].mailboxes[0].quota: \"5\" bytes is outside",
    );
    assert!(problems(|a| a.domains[0].mailboxes[0].quota = Some(0)).is_empty());
    // The same rule for every entry point.
    assert!(crate::rules::quota("QUOTA", 1).is_err());
    // From YAML: a mailbox's own quota, and the top-level default, round trip.
    let y = to_yaml(&{
        let mut a = answers();
        a.quota = 2 << 30;
        a.domains[0].mailboxes[0].quota = Some(5 << 20);
        a
    });
    let back = parse(&y, "q.yaml").expect("round trip");
    assert_eq!(back.quota, 2 << 30);
    assert_eq!(back.domains[0].mailboxes[0].quota, Some(5 << 20));
    let bad = parse(&y.replace("quota: 5242880", "quota: 5MB"), "q.yaml").unwrap_err();
    assert!(
        format!("{bad}").contains("quota: expected a whole number of bytes"),
        "{bad}"
    );
}

#[test]
fn max_messages_per_hour_default_and_range() {
    assert_eq!(answers().max_messages_per_hour, 200, "the stated default");
    assert!(
        problems(|a| a.max_messages_per_hour = 0).is_empty(),
        "0 = no limit"
    );
    assert!(problems(|a| a.max_messages_per_hour = MAX_MESSAGES_PER_HOUR).is_empty());
    assert_one(
        &problems(|a| a.max_messages_per_hour = MAX_MESSAGES_PER_HOUR + 1),
        "max_messages_per_hour: \"100001\" is more than 100000 messages an hour",
    );
    let y = to_yaml(&{
        let mut a = answers();
        a.max_messages_per_hour = 5;
        a
    });
    assert_eq!(
        parse(&y, "m.yaml")
            .expect("round trip")
            .max_messages_per_hour,
        5
    );
    let bad = parse(
        &y.replace("max_messages_per_hour: 5", "max_messages_per_hour: many"),
        "m.yaml",
    )
    .unwrap_err();
    assert!(
        format!("{bad}").contains("max_messages_per_hour: expected a whole number"),
        "{bad}"
    );
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

// --- Values that would change the meaning of the file they land in ----------------------

#[test]
fn password_hash_cannot_smuggle_lines_or_fields_into_the_users_file() {
    let set = |h: &str| {
        let h = h.to_string();
        problems(move |a| {
            let m = &mut a.domains[0].mailboxes[0];
            m.password = None;
            m.password_hash = Some(h);
        })
    };
    let bare = HASH.trim_start_matches("{SHA512-CRYPT}");
    let argon = "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$3Jzh1qJTt3WmyWk0bkEY9wWtpVHuIwHLLxmvlIpoSBA";
    let evil = "\nmallory@example.test:{PLAIN}known-password";
    let hostile = [
        // Inside the rounds= parameter: once accepted as "starts with rounds=".
        HASH.replace("$6$", &format!("$6$rounds=5000{evil}$")),
        bare.replace("$6$", &format!("$6$rounds=5000{evil}$")),
        // Inside Argon2's parameters: once accepted because they "contained" m=, t= and p=.
        argon.replace("p=1", &format!("p=1{evil}")),
        argon.replace("m=65536", &format!("m=65536{evil},x=1")),
        // At the end, as a field, with a carriage return, a tab, a space.
        format!("{HASH}{evil}"),
        format!("{HASH}:extra"),
        format!("{HASH}\r"),
        HASH.replace("saltsalt", "salt\tsalt"),
        HASH.replace("saltsalt", "salt salt"),
        argon.replace("c2FsdHNhbHQ", "c2Fsd:HNhbHQ"),
        // Parameters the formats do not have, rounds out of range.
        HASH.replace("$6$", "$6$rounds=12$"),
        HASH.replace("$6$", "$6$rounds=5000x$"),
        HASH.replace("$6$", "$6$rounds=5000$rounds=5000$"),
        argon.replace("p=1", "p=1,q=2"),
        argon.replace("p=1", "p=x"),
        argon.replace("$v=19", ""),
    ];
    for h in &hostile {
        let p = set(h);
        assert!(!p.is_empty(), "accepted {h:?}");
        assert!(
            p.iter()
                .all(|l| !l.contains("mallory") && !l.contains("saltsalt")),
            "hash echoed: {p:?}"
        );
    }
    assert_one(&set(&hostile[0]), "line break would start another account");
    assert_one(&set(&hostile[5]), "contains `:`");
    // Real hashes still pass: glibc's own test vector with rounds=, Argon2id from Dovecot.
    assert!(set(&HASH.replace("$6$", "$6$rounds=10000$")).is_empty());
    assert!(set(argon).is_empty());
}

#[test]
fn every_value_that_reaches_a_file_refuses_line_breaks_and_spaces() {
    for bad in ["\n", "\r", "\t", " ", "\u{0}", "\u{85}", "\u{2028}"] {
        let p = problems(|a| {
            a.hostname = format!("mail.example.test{bad}");
            a.admin_email = format!("admin@example.test{bad}x");
            a.domains[0].name = format!("example.test{bad}");
            a.domains[0].mailboxes[0].address = format!("alice{bad}@example.test");
            a.domains[0].aliases.push(Alias {
                from: format!("info@example.test{bad}"),
                to: format!("alice@example.test{bad}bob@example.test"),
            });
            a.acme.server = Some(format!("https://acme.example/dir{bad}x"));
            a.acme.ca_bundle = Some(format!("/root/ca{bad}.pem").into());
            a.ssh.allow_users = vec![format!("root{bad}x")];
        });
        for field in [
            "hostname:",
            "admin_email:",
            "domains[0].name:",
            "domains[0].mailboxes[0].address:",
            "domains[0].aliases[0].from:",
            "domains[0].aliases[0].to:",
            "acme.server:",
            "acme.ca_bundle:",
            "ssh.allow_users[0]:",
        ] {
            assert!(
                p.iter().any(|l| l.starts_with(field)),
                "{bad:?} not refused in {field} {p:#?}"
            );
        }
    }
}

// --- Internationalised names and RFC 5321 lengths ------------------------------------

#[test]
fn internationalised_domains_are_refused_naming_their_xn_form() {
    let p = problems(|a| a.domains[0].name = "bücher.example".into());
    assert_one(
        &p,
        "domains[0].name: \"bücher.example\" is an internationalised name",
    );
    assert_one(&p, "write it as xn--bcher-kva.example");
    let p = problems(|a| a.hostname = "mail.bücher.example".into());
    assert_one(&p, "write it as mail.xn--bcher-kva.example");
    let p = problems(|a| a.admin_email = "admin@bücher.example".into());
    assert_one(&p, "write it as admin@xn--bcher-kva.example");
    // The one copy of the rule: the CLI and wizard get the same words.
    let e = rules::domain("DOMAIN", "Bücher.example").unwrap_err();
    assert_eq!(e.fix, "write it as xn--bcher-kva.example");
    // The xn-- form itself is fine; a broken one is not.
    assert!(problems(|a| {
        a.domains[0].name = "xn--bcher-kva.example".into();
        a.domains[0].mailboxes[0].address = "alice@xn--bcher-kva.example".into();
    })
    .is_empty());
    for broken in ["xn--a.example", "xn--bcher-kvb9.example", "xn--ab-.example"] {
        let p = problems(|a| a.hostname = format!("mail.{broken}"));
        assert!(
            p.iter().any(|l| l.starts_with("hostname:")),
            "{broken} accepted"
        );
    }
}

#[test]
fn rfc5321_length_limits_name_the_field() {
    let long_local = "a".repeat(MAX_LOCAL_PART + 1);
    let p = problems(|a| a.domains[0].mailboxes[0].address = format!("{long_local}@example.test"));
    assert_one(&p, "domains[0].mailboxes[0].address: \"aaaa");
    assert_one(&p, "longer than 64 octets (RFC 5321 §4.5.3.1.1)");
    assert!(problems(|a| {
        a.domains[0].mailboxes[0].address = format!("{}@example.test", &long_local[1..]);
    })
    .is_empty());
    // 64 + 1 + 190 = 255 octets: every part fits alone, the whole path does not.
    let domain = format!(
        "{}.{}.{}.test",
        "b".repeat(62),
        "c".repeat(62),
        "d".repeat(59)
    );
    assert_eq!(domain.len(), 190);
    let addr = format!("{}@{domain}", &long_local[1..]);
    assert_eq!(addr.len(), 255);
    let p = problems(|a| a.admin_email = addr.clone());
    assert_one(&p, "admin_email:");
    assert_one(&p, "longer than 254 octets");
    assert!(problems(|a| a.admin_email = addr[1..].to_string()).is_empty());
    let long_domain = format!("{}.{domain}", "e".repeat(63));
    assert_eq!(long_domain.len(), MAX_DOMAIN + 1);
    assert_one(
        &problems(|a| a.hostname = long_domain.clone()),
        "hostname: \"eee",
    );
    assert_one(
        &problems(|a| a.hostname = long_domain.clone()),
        "longer than 253 characters",
    );
}

// --- Secrets that YAML would silently change, and never echoing them -----------------------

#[test]
fn secrets_must_be_quoted_strings() {
    let with = |value: &str| base().replace(&format!("\"{PW}\""), value);
    // What YAML would have stored instead of what was typed.
    for (value, why) in [
        ("correct horse #battery staple", "is not in quotes"),
        ("!secret \"correct horse battery\"", "has a YAML tag"),
        ("!!str \"correct horse battery\"", "has a YAML tag"),
        ("&pw \"correct horse battery\"", "or anchor (`&...`)"),
        ("&pw correct horse battery", "is not in quotes"),
        ("123456789012345", "is not in quotes"),
        ("1.5e300", "is not in quotes"),
        ("true", "is not in quotes"),
        ("|\n          correct horse battery", "is not in quotes"),
    ] {
        let e = parse_err(&with(value));
        let s = format!("{e}\n{e:?}");
        assert!(
            s.contains("domains[0].mailboxes[0].password: ") && s.contains(why),
            "{value:?}: {s}"
        );
        assert!(s.contains("write it in single quotes"), "{s}");
        for leak in ["horse", "battery", "123456789012345", "1.5e300"] {
            assert!(!s.contains(leak), "{value:?} leaked {leak}: {s}");
        }
    }
    // Values YAML refuses before the shape check (a non-finite float) are not echoed either.
    for value in [".inf", "-.Inf", ".NaN"] {
        let e = parse_err(&with(value));
        let s = format!("{e}\n{e:?}");
        assert!(
            !s.to_lowercase().contains("inf") && !s.to_lowercase().contains("nan"),
            "{value}: {s}"
        );
    }
    // An alias to an anchored quoted value is not quoted where it is used.
    let aliased = base()
        .replace(
            "admin_email: admin@example.test",
            "admin_email: &pw \"admin@example.test\"",
        )
        .replace(&format!("\"{PW}\""), "*pw");
    assert_one(
        &parse_err(&aliased)
            .problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>(),
        "password: is not in quotes",
    );
    // Quoted either way, on the key's line or the next, in flow style: accepted as typed.
    for ok in [
        format!("'{PW} #not a comment'"),
        format!("\"{PW} #not a comment\""),
        format!("\n          '{PW} #not a comment'"),
    ] {
        let a = parse(&with(&ok), "t.yaml").unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert_eq!(
            a.domains[0].mailboxes[0]
                .password
                .as_ref()
                .unwrap()
                .expose(),
            format!("{PW} #not a comment")
        );
    }
    let flow = base().replace(
        &format!("- address: alice@example.test\n        password: \"{PW}\""),
        &format!("- {{address: alice@example.test, password: '{PW}'}}"),
    );
    parse(&flow, "t.yaml").expect("flow style, quoted");
    let hash = base().replace(
        &format!("password: \"{PW}\""),
        &format!("password_hash: {}", &HASH[14..]),
    );
    assert_one(
        &parse_err(&hash)
            .problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>(),
        "password_hash: is not in quotes",
    );
}

#[test]
fn to_yaml_quotes_secrets() {
    let mut a = answers();
    a.domains[0].mailboxes.push(Mailbox {
        address: "bob@example.test".into(),
        password: None,
        password_hash: Some(HASH[14..].to_string()),
        quota: None,
    });
    let yaml = to_yaml(&a);
    assert!(yaml.contains(&format!("password: \"{PW}\"")), "{yaml}");
    assert!(
        yaml.contains(&format!("password_hash: \"{}\"", &HASH[14..])),
        "{yaml}"
    );
    assert_eq!(parse(&yaml, "x").expect("round trip"), a);
}

#[test]
fn snippets_hide_every_line_of_a_multi_line_secret() {
    // A quoted password running over lines, then a syntax error right after it.
    let text = base().replace(
        &format!("\"{PW}\""),
        "\"first line SECRET\n          second line SECRET\n          third SECRET\"\n      bad: [}",
    );
    let e = parse_err(&text);
    let s = format!("{e}\n{e:?}");
    assert!(!s.contains("SECRET"), "{s}");
    // A block scalar, tags and anchors on the key's line.
    for value in [
        "|\n          SECRET one\n          SECRET two\n      bad: [}",
        "!tag SECRET value\n      bad: [}",
        "&anchor SECRET value\n      bad: [}",
    ] {
        let e = parse_err(&base().replace(&format!("\"{PW}\""), value));
        let s = format!("{e}\n{e:?}");
        assert!(!s.contains("SECRET"), "{value:?}: {s}");
    }
    // The lines after the secret are shown again.
    let lines = crate::load::redacted_lines(
        "      - address: a@b.test\n        password: \"x\n          y\"\n      - address: c@b.test\n",
    );
    assert_eq!(
        lines,
        [
            "      - address: a@b.test",
            "        password: ***",
            "*** (line hidden: it continues a password)",
            "      - address: c@b.test",
        ]
    );
}

#[test]
fn secret_paths_and_scrubbing() {
    use crate::load::scrub_secrets;
    use crate::shape::is_secret_path;
    for p in [
        "domains[0].mailboxes[0].password",
        "domains[0].mailboxes[0].password_hash",
        "domains[0].mailboxes[0].password[1]",
        "domains[0].mailboxes[0].password.x",
    ] {
        assert!(is_secret_path(p), "{p}");
    }
    assert!(!is_secret_path("domains[0].mailboxes[0].address"));
    let text = "x:\n  password: !t \"hunter2hunter2 xyzzy\"\n";
    let m = scrub_secrets("invalid value `hunter2hunter2` near xyzzy".into(), text);
    assert!(!m.contains("hunter2") && !m.contains("xyzzy"), "{m}");
}

/// Every mail domain accepts mail for postmaster (RFC 5321 §4.5.1): a domain without any
/// mailbox sends postmaster@ and abuse@ to admin_email.
#[test]
fn domain_without_mailboxes_sends_postmaster_to_admin() {
    let mut a = answers();
    a.domains.push(Domain {
        name: "example.org".into(),
        mailboxes: vec![],
        aliases: vec![],
        default_aliases: true,
    });
    let d = a.domains.last().unwrap();
    let got: Vec<(String, String)> = a
        .aliases_of(d)
        .into_iter()
        .map(|x| (x.from, x.to))
        .collect();
    let first = "alice@example.test".to_string();
    assert_eq!(
        got,
        vec![
            ("postmaster@example.org".to_string(), first.clone()),
            ("abuse@example.org".to_string(), first),
        ]
    );
    // admin@example.test is no mailbox here: the server's first mailbox gets them instead,
    // so adding a bare domain is never refused for it.
    validate(&a).expect("defaults reach a mailbox");
    a.admin_email = "admin@elsewhere.org".into();
    let d = a.domains.last().unwrap();
    assert!(a
        .aliases_of(d)
        .iter()
        .all(|x| x.to == "admin@elsewhere.org"));
    validate(&a).expect("admin_email is an address on another server");
}

// relay_host -----------------------------------------------------------------------------------

const RELAY_PW: &str = "relay: p@ss #1 'x'";

fn with_relay(host: &str, port: u16, user: &str, pw: &str) -> Vec<String> {
    problems(|a| {
        a.relay_host = Some(RelayHost {
            host: host.into(),
            port,
            username: user.into(),
            password: Secret::new(pw),
        })
    })
}

#[test]
fn relay_host_port_defaults_to_submission_and_round_trips_its_password() {
    let text = format!(
        "{}relay_host:\n  host: smtp.relay.example\n  username: me\n  password: \"relay: p@ss #1 'x'\"\n",
        base()
    );
    let a = parse(&text, "t").unwrap();
    let r = a.relay_host.as_ref().unwrap();
    assert_eq!(r.port, 587);
    assert_eq!(r.nexthop(), "[smtp.relay.example]:587");
    assert_eq!(r.password.expose(), RELAY_PW);
    assert!(a.has_plaintext_password());
    let again = parse(&to_yaml(&a), "round-trip").unwrap();
    assert_eq!(a, again);
    // Its Debug (logs, panics) never holds the password.
    assert!(!format!("{a:?}").contains("p@ss"));
}

#[test]
fn relay_host_rules_name_field_value_and_fix_never_the_password() {
    assert!(with_relay("smtp.relay.example", 465, "me@example.test", RELAY_PW).is_empty());
    assert_one(
        &with_relay("192.0.2.1", 587, "me", RELAY_PW),
        "relay_host.host: \"192.0.2.1\" is an IP address",
    );
    assert_one(
        &with_relay("[2001:db8::1]", 587, "me", RELAY_PW),
        "is an IP address",
    );
    assert_one(
        &with_relay("Smtp.Relay.example", 587, "me", RELAY_PW),
        "lowercase",
    );
    assert_one(
        &with_relay("smtp.relay.example", 0, "me", RELAY_PW),
        "relay_host.port",
    );
    assert_one(
        &with_relay("smtp.relay.example", 587, "", RELAY_PW),
        "relay_host.username: \"\" is empty",
    );
    assert_one(
        &with_relay("smtp.relay.example", 587, "a b", RELAY_PW),
        "contains a space",
    );
    for bad in ["", " padded", "two\nlines"] {
        let p = with_relay("smtp.relay.example", 587, "me", bad);
        assert_one(&p, "relay_host.password: ");
        if !bad.is_empty() {
            assert!(!p[0].contains(bad.trim()), "{p:?}");
        }
    }
    // The provider's password: short is fine (not ours to judge).
    assert!(with_relay("smtp.relay.example", 587, "me", "short").is_empty());
}

#[test]
fn postscreen_dnsbl_sites_and_threshold() {
    assert!(
        answers().postscreen_dnsbl_sites.is_empty(),
        "off by default"
    );
    assert_eq!(answers().postscreen_dnsbl_threshold, 1, "Postfix's default");
    assert!(problems(|a| {
        a.postscreen_dnsbl_sites = vec![
            "zen.spamhaus.org".into(),
            "zen.spamhaus.org=127.0.0.[2..11]*3".into(),
            "bl.example.test=127.0.0.2*2".into(),
            "list.dnswl.org=127.0.[0..255].[1;2;3]*-2".into(),
        ];
        a.postscreen_dnsbl_threshold = 3;
    })
    .is_empty());
    assert_one(
        &problems(|a| a.postscreen_dnsbl_sites = vec!["zen.spamhaus.org*x".into()]),
        "postscreen_dnsbl_sites[0]: \"zen.spamhaus.org*x\" has the weight \"x\"",
    );
    assert_one(
        &problems(|a| a.postscreen_dnsbl_sites = vec!["ok.test".into(), "Zen.Spamhaus.org".into()]),
        "postscreen_dnsbl_sites[1]: \"Zen.Spamhaus.org\" names a list domain that has uppercase letters",
    );
    assert_one(
        &problems(|a| a.postscreen_dnsbl_sites = vec!["bl.example.test=127.0.2*2".into()]),
        "has the reply filter \"127.0.2\"",
    );
    assert_one(
        &problems(|a| a.postscreen_dnsbl_sites = vec!["bl.example.test, other.test".into()]),
        "contains a space",
    );
    assert_one(
        &problems(|a| a.postscreen_dnsbl_threshold = 0),
        "postscreen_dnsbl_threshold: \"0\" is not from 1 to 1000",
    );
    let y = to_yaml(&{
        let mut a = answers();
        a.postscreen_dnsbl_sites = vec!["bl.example.test*2".into()];
        a.postscreen_dnsbl_threshold = 2;
        a
    });
    let back = parse(&y, "p.yaml").expect("round trip");
    assert_eq!(back.postscreen_dnsbl_sites, ["bl.example.test*2"]);
    assert_eq!(back.postscreen_dnsbl_threshold, 2);
    let bad = parse(
        &y.replace(
            "postscreen_dnsbl_threshold: 2",
            "postscreen_dnsbl_threshold: many",
        ),
        "p.yaml",
    )
    .unwrap_err();
    assert!(
        format!("{bad}").contains("postscreen_dnsbl_threshold: expected a whole number"),
        "{bad}"
    );
}

/// `greylisting`: off by default (not even written back), on with `true`; anything but a
/// boolean is refused naming the field.
#[test]
fn greylisting_is_off_by_default() {
    let a = answers();
    assert!(!a.greylisting, "the stated default");
    assert!(!to_yaml(&a).contains("greylisting"));
    let mut on = answers();
    on.greylisting = true;
    let y = to_yaml(&on);
    assert!(y.contains("greylisting: true"), "{y}");
    assert!(parse(&y, "g.yaml").expect("round trip").greylisting);
    let bad = parse(
        &y.replace("greylisting: true", "greylisting: sometimes"),
        "g.yaml",
    )
    .unwrap_err();
    assert!(
        format!("{bad}").contains("greylisting: expected true or false"),
        "{bad}"
    );
}
