//! Ctrl-C: the engine stops at the next change and rolls the step back, never mid-write.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::OnceLock;

/// The flag SIGINT and SIGTERM set. An `Arc` because `signal_hook::flag::register` keeps a
/// handle to it for the life of the process.
fn flag() -> &'static Arc<AtomicBool> {
    static REQUESTED: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    REQUESTED.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

pub fn request() {
    flag().store(true, Ordering::SeqCst);
}

pub fn requested() -> bool {
    flag().load(Ordering::SeqCst)
}

pub fn reset() {
    flag().store(false, Ordering::SeqCst);
}

/// SIGINT and SIGTERM set the flag instead of killing the process mid-change. Once per
/// process; calling it again does nothing.
pub fn install_handler() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // Fails only for signals that may not be caught (SIGKILL, SIGSTOP): not these.
            let _ = signal_hook::flag::register(signal, Arc::clone(flag()));
        }
    });
}
