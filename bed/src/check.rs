//! `mailstead check --json` as the bed tests read it.
use crate::Bed;

impl Bed {
    /// `mailstead check --json` in the bed: its exit code and findings. Panics, showing the
    /// output, when it is not JSON.
    pub fn check_json(&self) -> (i32, Vec<serde_json::Value>) {
        let run = self.mailstead(&["check", "--json"]);
        let list: Vec<serde_json::Value> = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("check --json is not JSON ({e}):\n{}", run.text()));
        (run.code, list)
    }
}

/// The finding called `name` in a `check --json` list; panics, showing the list, without one.
pub fn finding<'a>(list: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    list.iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list:#?}"))
}
