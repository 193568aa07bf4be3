//! mailstead's entry point: the panic hook, SIGPIPE for commands that only read, and
//! [`mailstead::cli::run`]. Everything else is in the library (`lib.rs`).
use clap::Parser;
use mailstead::cli;

fn main() -> std::process::ExitCode {
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    // Errors are printed as plain words by `cli::run`, never with a backtrace: none is captured
    // either. color-eyre resolves one for every error made while RUST_BACKTRACE is set, unless
    // RUST_LIB_BACKTRACE says otherwise (1.5-2 s per error in a debug build: the sandbox tests
    // paid it for each bad answers file). A panic keeps RUST_BACKTRACE's backtrace.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    // A panic (a bug) says what and where to report it, without location or span-trace
    // sections.
    let _ = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .display_location_section(false)
        .capture_span_trace_by_default(false)
        .install();
    let args = cli::Args::parse();
    if args.command.as_ref().is_some_and(cli::Command::only_reads) {
        // `mailstead runs | head -1`: end quietly when the reader goes away, as CLIs do. Only
        // for commands that change nothing: a run in progress is never cut short by a pipe.
        // SAFETY: setting a signal disposition to its default before any thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let code = cli::run(args);
    std::process::ExitCode::from(code as u8)
}
