//! Helpers shared by the runtime's integration tests.
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on a fresh thread and fails the test if it has not finished
/// within `secs` seconds: a hang (a lost wake-up, a deadlock) becomes a
/// failure naming `what`, not a stuck CI job. A panic in `f` is re-raised.
pub(crate) fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let t = std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(());
        r
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => match t.join().unwrap() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        },
        Err(_) => panic!("timed out after {secs} s: {what} (hang or lost wake-up)"),
    }
}

/// The OS thread id of the caller (`gettid`).
pub(crate) fn tid() -> i64 {
    // SAFETY: `gettid` has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) }
}
