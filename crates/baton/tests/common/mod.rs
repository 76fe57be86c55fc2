//! Helpers shared by the integration tests.

#![allow(dead_code)] // each test file uses its own subset

use std::sync::mpsc::{channel, RecvTimeoutError};
use std::time::Duration;

/// Runs `body` on its own thread and fails the test, naming `what`, if it
/// has not finished within `secs` seconds: a lost wake-up shows up as this
/// message instead of a hung test run. A panic in `body` propagates.
pub(crate) fn within<T: Send + 'static>(
    what: &str,
    secs: u64,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = channel();
    let handle = std::thread::Builder::new()
        .name(what.to_string())
        .spawn(move || {
            let out = body();
            let _ = tx.send(());
            out
        })
        .expect("spawn test body");
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => handle.join().expect("body finished"),
        Err(RecvTimeoutError::Timeout) => {
            panic!("{what} hung: no progress within {secs} s (a lost wake-up?)")
        }
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(_) => unreachable!("the body sends before it returns"),
        },
    }
}

/// The OS thread id of the caller (`gettid`).
pub(crate) fn tid() -> i64 {
    // SAFETY: `gettid` has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) }
}
