//! Helpers shared by the integration tests.

#![allow(dead_code)] // each test file uses its own subset

#[cfg(not(loom))]
pub(crate) mod child;

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

/// As [`within`], for a body that borrows from the caller or is not
/// `Send`: `body` runs on the caller's thread while a watchdog thread
/// waits; if it has not returned within `secs` seconds the watchdog prints
/// a message naming `what` and aborts the process (a hung thread cannot be
/// unwound from outside).
pub(crate) fn within_scoped<R>(what: &str, secs: u64, body: impl FnOnce() -> R) -> R {
    let (done, wait) = channel::<()>();
    let what = what.to_owned();
    let watchdog = std::thread::spawn(move || {
        if let Err(RecvTimeoutError::Timeout) = wait.recv_timeout(Duration::from_secs(secs)) {
            // Straight to the stderr handle, not `eprintln!`: the test
            // harness captures the macros' output (in threads spawned by a
            // test too) and prints it only when the test ends, which an
            // abort never lets it do, so the message would be lost.
            let msg = format!("{what}: no progress within {secs} s (a lost wake-up?); aborting\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
            std::process::abort();
        }
    });
    let r = body();
    drop(done);
    watchdog.join().unwrap();
    r
}

/// The OS thread id of the caller (`gettid`).
pub(crate) fn tid() -> i64 {
    // SAFETY: `gettid` has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) }
}

#[cfg(not(loom))]
/// Starts `f` the way the caller runs: as a goroutine when called from
/// one, as a thread otherwise (Go's `go f()`, detached).
pub(crate) fn spawn(f: impl FnOnce() + Send + 'static) {
    if baton::runtime::current().is_some() {
        drop(baton::go(f));
    } else {
        std::thread::spawn(f);
    }
}

#[cfg(not(loom))]
/// Runs `body` from plain threads, then as the main goroutine of a
/// one-worker runtime (every goroutine it spawns shares that worker, so a
/// blocked goroutine that held its worker would hang the test), then of a
/// two-worker runtime; each under `within`'s hang timeout.
pub(crate) fn both(what: &str, secs: u64, body: fn()) {
    within(&format!("{what} (threads)"), secs, body);
    for workers in [1, 2] {
        within(
            &format!("{what} (goroutines, {workers} worker(s))"),
            secs,
            move || {
                let rt = baton::runtime::Builder::new().workers(workers).build();
                rt.run(body);
            },
        );
    }
}
