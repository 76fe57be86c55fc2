//! Helpers for the `sync` tests.

use std::sync::mpsc;
use std::time::Duration;

/// Runs `f`, aborting the test process with a message naming `what` if it
/// has not returned within `secs` seconds: a stress test that would hang on
/// a lost wake-up fails by its own timeout and says which primitive hung,
/// even when the stuck threads are scoped and cannot be abandoned.
pub(crate) fn within<R>(what: &str, secs: u64, f: impl FnOnce() -> R) -> R {
    let (done, wait) = mpsc::channel::<()>();
    let what = what.to_owned();
    let watchdog = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(Duration::from_secs(secs)) {
            eprintln!("{what}: no progress within {secs} s (a lost wake-up?); aborting");
            std::process::abort();
        }
    });
    let r = f();
    drop(done);
    watchdog.join().unwrap();
    r
}

/// Polls `cond` (yielding) until it holds, aborting like [`within`] if it
/// does not within `secs` seconds. For waiting until another thread has
/// reached a known state (queued, say), never for timing.
pub(crate) fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        if start.elapsed() > Duration::from_secs(secs) {
            eprintln!("{what}: condition not reached within {secs} s; aborting");
            std::process::abort();
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}
