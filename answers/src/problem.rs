//! What is wrong with answers: one [`Problem`] per field, all of them in a [`ConfigError`].
use serde_saphyr::Location;
use std::fmt;

/// One thing wrong with the answers file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Field path such as `domains[0].mailboxes[1].address`; empty for whole-file problems
    /// (YAML syntax, empty file, file mode).
    pub field: String,
    /// What is wrong, quoting the offending value (never a password).
    pub message: String,
    /// What to do about it.
    pub fix: String,
    /// 1-based line and column in the file, when known.
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// Source lines around a YAML syntax error, already redacted.
    pub snippet: Option<String>,
}

impl Problem {
    pub(crate) fn new(
        field: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Problem {
            field: field.into(),
            message: message.into(),
            fix: fix.into(),
            line: None,
            column: None,
            snippet: None,
        }
    }

    pub(crate) fn at(mut self, loc: Option<Location>) -> Self {
        if let Some(loc) = loc.filter(|l| l.line() > 0) {
            self.line = Some(loc.line());
            self.column = Some(loc.column());
        }
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{} ({})", self.message, self.fix)
    }
}

/// Everything wrong with an answers file; nothing has been changed when you hold one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file (or other source) the answers came from, for messages.
    pub origin: String,
    /// All problems found, in file order where known.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    pub(crate) fn new(origin: &str, problems: Vec<Problem>) -> Self {
        ConfigError {
            origin: origin.to_string(),
            problems,
        }
    }
}

impl fmt::Display for ConfigError {
    /// One problem per line, compiler style: `FILE:LINE:COL: field: message (fix)`; a syntax
    /// error's snippet follows on indented lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match (p.line, p.column) {
                (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {p}", self.origin)?,
                (Some(l), None) => write!(f, "{}:{l}: {p}", self.origin)?,
                _ => write!(f, "{}: {p}", self.origin)?,
            }
            if let Some(snippet) = &p.snippet {
                for line in snippet.lines() {
                    write!(f, "\n    {line}")?;
                }
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
