//! `mailstead dkim rotate DOMAIN [--published]`: phase 1 makes the next key and says which
//! record to publish; phase 2 (a newer key waits) looks the record up in DNS (or takes
//! `--published`) and switches signing to it. Both phases are runs of the engine ([`Rotate`]),
//! which the CLI applies between [`prepare`] and [`finish`]. Returns data and the lines to
//! show; never prints.
use super::{rotate_state, today_selector, Rotate, RotateState};
use crate::facts::dkim::{dkim_seen, DkimSeen};
use crate::facts::resolver::Dns;
use crate::facts::{dkim_txt, DkimKeys};
use crate::layout::DKIM_KEY_DIR;
use crate::support::shown;
use color_eyre::eyre::Report;
use mailstead_answers::Answers;
use mailstead_engine::{Fact, Host};

/// Why nothing was rotated.
#[derive(Debug)]
pub enum RotateError {
    /// `DOMAIN` is not one of the answers' domains (bad input): its normalized name.
    UnknownDomain(String),
    /// The keys or DNS could not be read.
    Probe(Report),
}

impl RotateError {
    /// The bad-input message and its fix, for [`RotateError::UnknownDomain`].
    pub fn unknown_domain(domain: &str) -> (String, &'static str) {
        (
            format!("DOMAIN: {domain:?} is not a configured domain; nothing was changed"),
            "give one of the domains of the answers file (add it first with add-domain)",
        )
    }
}

/// What to do next.
pub enum Prepared {
    /// Apply `step`, after showing `said`; then [`finish`] with `state`.
    Apply {
        step: Rotate,
        state: RotateState,
        said: Vec<String>,
    },
    /// The new key's record is not in DNS (or DNS could not be asked): show `said` and stop
    /// (bad input: nothing changed).
    Publish { said: String },
}

/// Where the rotation of `domain` stands, and whether the run may go ahead: in phase 2 the
/// new key's record must be in DNS (`published`: the admin says it is).
pub fn prepare(
    host: &dyn Host,
    answers: &Answers,
    domain: &str,
    published: bool,
) -> Result<Prepared, RotateError> {
    let domain = domain.trim().to_ascii_lowercase();
    if !answers
        .domains
        .iter()
        .any(|d| d.name.trim().eq_ignore_ascii_case(&domain))
    {
        return Err(RotateError::UnknownDomain(domain));
    }
    let keys = DkimKeys::probe(host).map_err(RotateError::Probe)?;
    let state = rotate_state(&keys, &domain, &today_selector());
    let mut confirmed = published;
    let mut said = Vec::new();
    if let RotateState::Waiting {
        next, public_key, ..
    } = &state
    {
        let name = format!("{next}._domainkey.{domain}");
        if !confirmed {
            let dns = Dns::probe(host).map_err(RotateError::Probe)?;
            let txts = dns
                .resolver()
                .map_err(str::to_string)
                .and_then(|r| r.txt(&name).records());
            let seen = txts.as_ref().map(|txts| {
                txts.iter()
                    .map(|t| dkim_seen(t, public_key))
                    .min()
                    .unwrap_or(DkimSeen::NoKey)
            });
            match seen {
                Ok(DkimSeen::Matches) => {
                    said.push(format!("{name}: the new key's record is in DNS."));
                    confirmed = true;
                }
                Ok(DkimSeen::NoKey) => {
                    return Ok(Prepared::Publish {
                        said: format!(
                            "{name} does not show the new key in DNS yet. Publish this TXT record:\n\n  {name}.  TXT  \"{}\"\n\nthen run `mailstead dkim rotate {domain}` again (or add --published if this server cannot see your DNS).",
                            dkim_txt(public_key)
                        ),
                    });
                }
                Ok(seen) => {
                    return Ok(Prepared::Publish {
                        said: format!(
                            "{}. Publish this TXT record:\n\n  {name}.  TXT  \"{}\"\n\nthen run `mailstead dkim rotate {domain}` again (or add --published if this server cannot see your DNS).",
                            seen.problem(&name).unwrap_or_default(),
                            dkim_txt(public_key)
                        ),
                    });
                }
                Err(e) => {
                    return Ok(Prepared::Publish {
                        said: format!(
                            "could not look {name} up in DNS ({}). Publish this TXT record:\n\n  {name}.  TXT  \"{}\"\n\nthen run `mailstead dkim rotate {domain} --published` once it is.",
                            shown(e),
                            dkim_txt(public_key)
                        ),
                    });
                }
            }
        }
    }
    Ok(Prepared::Apply {
        step: Rotate {
            domain,
            published: confirmed,
        },
        state,
        said,
    })
}

/// After the run: what to tell the admin (the record to publish in phase 1; which key signs
/// now in phase 2). `state` is [`Prepared::Apply`]'s.
pub fn finish(
    host: &dyn Host,
    domain: &str,
    state: &RotateState,
) -> Result<Option<String>, Report> {
    let domain = domain.trim().to_ascii_lowercase();
    let after = DkimKeys::probe(host)?;
    Ok(match (state, after.newest(&domain)) {
        (RotateState::Start { current, .. }, Some(new)) => {
            let name = format!("{}._domainkey.{domain}", new.selector);
            Some(format!(
                "\nNew DKIM key for {domain}: selector {} (not signing yet; {current} still signs).\n\
                 Publish this TXT record, keeping {current}'s:\n\n  {name}.  TXT  \"{}\"\n\n\
                 Once it is in DNS, run `mailstead dkim rotate {domain}` again to sign with it.",
                new.selector,
                dkim_txt(&new.public_key)
            ))
        }
        (RotateState::Waiting { current, next, .. }, _) => Some(format!(
            "\n{domain} now signs with selector {next}. Keep {current}._domainkey.{domain} \
             published for a few days (mail signed with it may still be in transit); its key \
             stays in {DKIM_KEY_DIR}."
        )),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use crate::facts::dkim::{dkim_p, dkim_seen, DkimSeen};

    /// A record `mailstead check` (dns-records) accepts is one `dkim rotate` accepts: both
    /// read `p=` with this one function, spaces and all. A record pasted with its zone-file
    /// quotes is not accepted by either (receivers cannot read it): it is `Quoted`.
    #[test]
    fn a_record_that_passes_check_passes_rotate() {
        let key = "MIIBIjANBgkq";
        for txt in [
            "v=DKIM1; k=rsa; p=MIIBIjANBgkq",
            "v=DKIM1; k=rsa; p=MIIB IjAN Bgkq",
            "v=DKIM1;k=rsa;p=MIIBIjANBgkq;",
            "v=DKIM1; k=rsa; p = MIIBIjANBgkq ",
            "v=DKIM1; k=rsa; p=MIIBIjAN\r\n\tBgkq",
        ] {
            assert_eq!(dkim_p(txt).as_deref(), Some(key), "{txt:?}");
            assert_eq!(dkim_seen(txt, key), DkimSeen::Matches, "{txt:?}");
        }
        assert_eq!(
            dkim_seen("\"v=DKIM1; k=rsa; \" \"p=MIIBIjANBgkq\"", key),
            DkimSeen::Quoted { truncated: false }
        );
        assert_eq!(dkim_p("v=DKIM1; k=rsa"), None);
        assert_eq!(dkim_p("v=DKIM1; pp=abc"), None);
        assert_eq!(dkim_p("v=DKIM1; p="), Some(String::new()), "revoked key");
    }
}
