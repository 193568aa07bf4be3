//! The certificate questions: Let's Encrypt, its staging, or another ACME server (its URL and
//! the CA bundle to trust for it), with what the answers so far or the presets suggest.
use super::{check_acme_url, text, WizardError, LETS_ENCRYPT};
use inquire::{Select, Text};
use mailstead_answers::Acme;

/// What the certificate questions suggest from `current` (the answers so far, or the
/// presets): the choice the cursor starts on (0 Let's Encrypt, 1 staging, 2 another server),
/// and for another server its URL and CA bundle. `None` shows no suggestion at all (never an
/// empty `()`).
#[derive(Debug, PartialEq, Eq)]
pub struct AcmeSuggestion {
    pub cursor: usize,
    pub url: Option<String>,
    pub ca_bundle: Option<String>,
}

pub fn acme_suggestion(current: Option<&Acme>) -> AcmeSuggestion {
    let cursor = match current {
        Some(a) if a.server.as_deref().is_some_and(|s| s != LETS_ENCRYPT) => 2,
        Some(a) if a.staging => 1,
        _ => 0,
    };
    let some = |s: String| (!s.trim().is_empty()).then_some(s);
    AcmeSuggestion {
        cursor,
        url: current.and_then(|a| a.server.clone()).and_then(some),
        ca_bundle: current
            .and_then(|a| a.ca_bundle.as_ref())
            .map(|p| p.display().to_string())
            .and_then(some),
    }
}

pub(super) fn ask_acme(current: Option<&Acme>) -> Result<Acme, WizardError> {
    const LE: &str = "Let's Encrypt";
    const STAGING: &str = "Let's Encrypt staging (test certificates, not trusted)";
    const OTHER: &str = "Another ACME server";
    let suggested = acme_suggestion(current);
    let choice = Select::new("Certificates from:", vec![LE, STAGING, OTHER])
        .with_starting_cursor(suggested.cursor)
        .with_help_message("↑↓ to move, Enter to choose")
        .prompt()?;
    Ok(match choice {
        LE => Acme::default(),
        STAGING => Acme {
            staging: true,
            ..Acme::default()
        },
        _ => {
            let server = text(
                "ACME directory URL:",
                "e.g. https://acme.example.org/directory",
                suggested.url.as_deref(),
                check_acme_url,
            )?;
            let mut q = Text::new("CA bundle to trust for it (empty: the system's):")
                .with_help_message("a PEM file on this server, for a private ACME server");
            if let Some(ca) = &suggested.ca_bundle {
                q = q.with_default(ca);
            }
            let ca = q.prompt()?;
            let ca = ca.trim();
            Acme {
                server: Some(server),
                ca_bundle: (!ca.is_empty()).then(|| ca.into()),
                staging: false,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_questions_suggest_the_presets_and_never_an_empty_default() {
        // Nothing known: Let's Encrypt, and no suggested URL or CA bundle (no empty `()`).
        let none = acme_suggestion(None);
        assert_eq!(
            none,
            AcmeSuggestion {
                cursor: 0,
                url: None,
                ca_bundle: None
            }
        );
        // The demo's presets: another server, its URL and pebble's CA bundle, Enter on each.
        let pebble = Acme {
            server: Some("https://10.213.1.1:14000/dir".into()),
            ca_bundle: Some("/root/pebble-ca.pem".into()),
            staging: false,
        };
        assert_eq!(
            acme_suggestion(Some(&pebble)),
            AcmeSuggestion {
                cursor: 2,
                url: Some("https://10.213.1.1:14000/dir".into()),
                ca_bundle: Some("/root/pebble-ca.pem".into())
            }
        );
        // Another server with the system's CAs: no CA suggestion, not an empty one.
        let other = Acme {
            ca_bundle: None,
            ..pebble
        };
        assert_eq!(acme_suggestion(Some(&other)).ca_bundle, None);
        let staging = Acme {
            staging: true,
            ..Acme::default()
        };
        assert_eq!(acme_suggestion(Some(&staging)).cursor, 1);
    }
}
