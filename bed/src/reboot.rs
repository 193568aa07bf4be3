//! Booting a bed again from its own root (`bed reboot`): a clean reboot, or a power cut.
use crate::bed::Bed;

impl Bed {
    /// The same server booted again (its root, address and machine-id kept; a fresh `/run`):
    /// `systemctl reboot` inside, or with `power_cut` SIGKILL to its PID 1 first, which ends
    /// every process of the bed where it stands. Returns what `bed reboot` said (how, and the
    /// seconds); panics when the bed does not come back.
    pub fn reboot(&self, power_cut: bool) -> String {
        let args: &[&str] = if power_cut { &["--power-cut"] } else { &[] };
        let r = self.bed("reboot", args);
        eprintln!("{}", r.stderr.trim_end());
        assert!(r.ok(), "bed reboot {}:\n{}", self.name, r.text());
        r.stderr
            .lines()
            .rev()
            .find(|l| l.contains("booted again"))
            .unwrap_or_default()
            .to_string()
    }
}
