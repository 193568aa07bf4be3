//! The flags several commands share, each group with the words that fit the commands it is
//! on. A command takes only the groups that act on it, so its `--help` lists nothing that
//! does nothing there; the session merges them with the top level's.
use std::path::PathBuf;

/// `--config FILE`: for every command that reads the answers file.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Config {
    /// The answers file, YAML [default: /etc/mailstead/mailstead.yaml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// How a run shows itself: for every command that runs the engine.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Output {
    /// Plain line-by-line output instead of the live dashboard.
    #[arg(long)]
    pub plain: bool,
    /// Show every detail (notes, commands).
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

/// The flags of a command that applies changes: install, the add-/remove- commands,
/// retry-certificate, dkim rotate.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Apply {
    #[command(flatten)]
    pub config: Config,
    /// Ask nothing: refuse to overwrite hand-edited files, roll back interrupted runs.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// With --yes: overwrite files edited by hand since mailstead wrote them.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub output: Output,
}
