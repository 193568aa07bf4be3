//! How a line of a run's report reads (good news, bad news, a quiet detail …): decided once
//! by what writes the line (`end`, the dashboard's log), painted by each printer in its own
//! way (anstyle for text, ratatui for the dashboard).

/// The tone of one line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Info,
    Good,
    Quiet,
    Bad,
    Undo,
    Warn,
}
