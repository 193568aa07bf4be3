//! Postfix's settings as Postfix reads them: ONE `postconf` for main.cf (every parameter,
//! defaults included) and ONE `postconf -M` for master.cf (postconf(1)).
use color_eyre::eyre::{eyre, Result};
use mailstead_engine::step::reads;
use mailstead_engine::system::failure;
use mailstead_engine::{Cmd, Fact, Host};
use std::collections::BTreeMap;

/// Whitespace runs as one space: how values compare (Postfix folds continuation lines).
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// main.cf as Postfix sees it; `None` when postconf cannot run (Postfix not installed yet).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostconfMain(pub Option<BTreeMap<String, String>>);

/// master.cf entries (`name/type` → the whole entry on one line, squashed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostconfMaster(pub Option<BTreeMap<String, String>>);

/// `key = value` lines of `postconf`.
pub fn parse_main(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(" =")?;
            Some((k.trim().to_string(), squash(v)))
        })
        .collect()
}

/// Lines of `postconf -M`: `name type private unpriv chroot wakeup maxproc command...`.
pub fn parse_master(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let key = format!("{}/{}", f.next()?, f.next()?);
            Some((key, squash(l)))
        })
        .collect()
}

fn run(host: &dyn Host, args: &[&str]) -> Result<Option<String>> {
    let cmd = Cmd::probe("postconf", args.iter().copied());
    match host.run(&cmd) {
        Ok(out) if out.success() => Ok(Some(out.stdout)),
        Ok(out) => Err(eyre!("reading Postfix settings: {}", failure(&cmd, &out))),
        Err(_) => Ok(None),
    }
}

impl PostconfMain {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.as_ref()?.get(key).map(String::as_str)
    }
}

impl PostconfMaster {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.as_ref()?.get(key).map(String::as_str)
    }
}

impl Fact for PostconfMain {
    const READS: &'static [&'static str] = &["/etc/postfix", reads::PACKAGES];
    fn probe(host: &dyn Host) -> Result<Self> {
        Ok(PostconfMain(run(host, &[])?.map(|t| parse_main(&t))))
    }
}

impl Fact for PostconfMaster {
    const READS: &'static [&'static str] = &["/etc/postfix", reads::PACKAGES];
    fn probe(host: &dyn Host) -> Result<Self> {
        Ok(PostconfMaster(
            run(host, &["-M"])?.map(|t| parse_master(&t)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_main_and_master() {
        let m = parse_main(
            "mynetworks = 127.0.0.0/8 [::1]/128\nrelayhost =\nsmtpd_tls_protocols = >=TLSv1.2\n",
        );
        assert_eq!(m["mynetworks"], "127.0.0.0/8 [::1]/128");
        assert_eq!(m["relayhost"], "");
        assert_eq!(m["smtpd_tls_protocols"], ">=TLSv1.2");
        let m = parse_master("smtp      inet  n       -       y       -       -       smtpd\nsubmission inet n - y - - smtpd -o syslog_name=postfix/submission\n");
        assert_eq!(m["smtp/inet"], "smtp inet n - y - - smtpd");
        assert!(m.contains_key("submission/inet"));
    }
}
