//! apt's progress as a person reads it. apt counts each phase from 0 on its own: the download
//! (`dlstatus`, "Retrieving file 3 of 11"), then dpkg's work (`pmstatus`: "Unpacking postfix",
//! "Configuring postfix"), so its one percentage goes backwards between them (27 % → 22 %).
//! Shown with its phase ("27% downloading", then "22% unpacking", "80% setting up"), and
//! within a phase it only grows.
//!
//! The phases are told apart by apt's own texts (apt-pkg/deb/dpkgpm.cc and acquire's
//! status): `Retrieving file`, `Preparing`/`Unpacking`/`Installing`, `Preparing to
//! configure`/`Configuring`/`Installed`/`Running post-installation trigger`,
//! `Removing`/`Removed`/`Preparing for removal`/`Completely removed`.

/// One progress line: the phase, its percent (0..=100), what apt does now.
#[derive(Debug, Clone, PartialEq)]
pub struct AptProgress {
    pub phase: &'static str,
    pub percent: f32,
    pub what: String,
}

/// The phase apt is in, from what it says it does (its `what` text).
pub fn phase(what: &str) -> &'static str {
    let starts = |p: &[&str]| p.iter().any(|x| what.starts_with(x));
    if starts(&["Retrieving", "Downloading", "Get:"]) {
        "downloading"
    } else if starts(&["Waiting for"]) {
        "waiting"
    } else if starts(&[
        "Preparing to configure",
        "Configuring",
        "Installed",
        "Running post-installation trigger",
    ]) {
        "setting up"
    } else if starts(&[
        "Preparing for removal",
        "Preparing to completely remove",
        "Removing",
        "Removed",
        "Completely removed",
    ]) {
        "removing"
    } else {
        // "Running dpkg", "Preparing X", "Unpacking X", "Installing X".
        "unpacking"
    }
}

impl AptProgress {
    /// The progress after apt said `percent` and `what`, following `before`: in the same
    /// phase the percent never goes back.
    pub fn next(before: Option<&AptProgress>, percent: f32, what: &str) -> AptProgress {
        let phase = phase(what);
        let percent = match before {
            Some(b) if b.phase == phase => percent.max(b.percent),
            _ => percent,
        };
        AptProgress {
            phase,
            percent,
            what: what.to_string(),
        }
    }

    /// `42% unpacking: Installing postfix (amd64)`; `width` pads the percent (the dashboard
    /// keeps it in one place with 3).
    pub fn label(&self, width: usize) -> String {
        format!("{:>width$.0}% {}: {}", self.percent, self.phase, self.what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What apt prints on its status descriptor for one install, in order (bookworm,
    /// `apt-get install -o APT::Status-Fd=3`): the download counts from 0 to 100, then dpkg's
    /// work from 0 again; a trigger's re-count once fell back (72 after 77.7).
    const APT: &str = "\
dlstatus:1:0:Retrieving file 1 of 3
dlstatus:2:27:Retrieving file 2 of 3
dlstatus:3:66.6:Retrieving file 3 of 3
pmstatus:dpkg-exec:0:Running dpkg
pmstatus:postfix:11.1:Preparing postfix (amd64)
pmstatus:postfix:22.2:Unpacking postfix (amd64)
pmstatus:dovecot-core:33.3:Preparing dovecot-core (amd64)
pmstatus:dovecot-core:44.4:Unpacking dovecot-core (amd64)
pmstatus:postfix:55.5:Preparing to configure postfix (amd64)
pmstatus:postfix:66.6:Configuring postfix (amd64)
pmstatus:postfix:77.7:Installed postfix (amd64)
pmstatus:dovecot-core:72:Configuring dovecot-core (amd64)
pmstatus:dovecot-core:88.8:Installed dovecot-core (amd64)
pmstatus:man-db:100:Running post-installation trigger man-db (amd64)
";

    #[test]
    fn apt_progress_says_its_phase_and_only_grows_within_it() {
        let mut shown: Vec<String> = Vec::new();
        let mut last: Option<AptProgress> = None;
        // As the engine passes them on (`system::apt_status`), then as the UI shows them.
        for st in APT.lines().filter_map(mailstead_engine::system::apt_status) {
            let p = AptProgress::next(last.as_ref(), st.percent, st.what);
            if let Some(l) = &last {
                assert!(
                    l.phase != p.phase || p.percent >= l.percent,
                    "{l:?} then {p:?}"
                );
            }
            shown.push(p.label(0));
            last = Some(p);
        }
        assert_eq!(
            shown,
            [
                "0% downloading: Retrieving file 1 of 3",
                "27% downloading: Retrieving file 2 of 3",
                "67% downloading: Retrieving file 3 of 3",
                "0% unpacking: Running dpkg",
                "11% unpacking: Preparing postfix (amd64)",
                "22% unpacking: Unpacking postfix (amd64)",
                "33% unpacking: Preparing dovecot-core (amd64)",
                "44% unpacking: Unpacking dovecot-core (amd64)",
                "56% setting up: Preparing to configure postfix (amd64)",
                "67% setting up: Configuring postfix (amd64)",
                "78% setting up: Installed postfix (amd64)",
                // apt's figure fell back (72): the phase's shown figure does not.
                "78% setting up: Configuring dovecot-core (amd64)",
                "89% setting up: Installed dovecot-core (amd64)",
                "100% setting up: Running post-installation trigger man-db (amd64)",
            ]
        );
    }

    #[test]
    fn phases_by_apts_words() {
        assert_eq!(phase("Removing exim4 (amd64)"), "removing");
        assert_eq!(
            phase("Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend"),
            "waiting"
        );
        assert_eq!(phase("something apt says one day"), "unpacking");
    }
}
