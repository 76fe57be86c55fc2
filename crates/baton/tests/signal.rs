//! `baton::signal` with real signals, each scenario in a child process (this
//! test binary, re-run with an environment variable naming the scenario),
//! since a signal acts on the whole process: the first `SIGINT`/`SIGTERM`
//! cancels `shutdown_context()` and the second ends the process with 130 /
//! 143; `notify_context`'s stop and `Notify`'s drop give a signal its
//! default action back; `SIGQUIT` keeps the runtime's goroutine dump.
//!
//! The child prints marker lines on standard output (`READY`, ...); the
//! parent reads them as they come and sends the next signal only after the
//! marker that says the child is in the state to be tested.
#![cfg(not(loom))]

mod common;

use std::os::unix::process::ExitStatusExt;
use std::time::Duration;

use common::child::{child, say, Child};

use baton::context;
use baton::signal::{self, Signal, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1};

/// How long a child waits for what the parent should do before it gives up
/// (a hang guard; the parent's watchdog is longer).
const CHILD_PATIENCE: Duration = Duration::from_secs(30);

// --- shutdown_context: first signal cancels, second exits 128 + n --------

fn shutdown_child() {
    let ctx = signal::shutdown_context();
    assert!(!ctx.is_done());
    say("READY");
    if baton::time::sleep_ctx(&ctx, CHILD_PATIENCE).is_ok() {
        say("NO FIRST SIGNAL");
        std::process::exit(3);
    }
    let cause = context::cause(&ctx).unwrap();
    say(&format!("CANCELLED {cause}"));
    assert!(
        signal::shutdown_context().is_done(),
        "one context for the process"
    );
    // Draining, slowly: only a second signal ends this early.
    std::thread::sleep(CHILD_PATIENCE);
    say("NO SECOND SIGNAL");
    std::process::exit(4);
}

#[test]
fn shutdown_child_entry() {
    child("shutdown_child_entry", shutdown_child);
}

fn second_signal_exits(first: Signal, second: Signal, status: i32) {
    let what = format!("shutdown_context: {first:?} then {second:?}");
    common::within(&what, 90, move || {
        let mut c = Child::start("shutdown_child_entry");
        c.expect("READY");
        c.kill(first);
        let line = c.expect("CANCELLED");
        assert_eq!(line, format!("CANCELLED {first} signal received"));
        c.kill(second);
        let (st, stderr) = c.finish();
        assert_eq!(st.code(), Some(status), "{st:?}; stderr: {stderr}");
        assert!(
            stderr.contains("during shutdown: exiting with status"),
            "says why: {stderr}"
        );
    });
}

#[test]
fn shutdown_context_sigint_twice_exits_130() {
    second_signal_exits(SIGINT, SIGINT, 130);
}

#[test]
fn shutdown_context_sigterm_twice_exits_143() {
    second_signal_exits(SIGTERM, SIGTERM, 143);
}

#[test]
fn shutdown_context_sigterm_then_sigint_exits_130() {
    second_signal_exits(SIGTERM, SIGINT, 130);
}

// --- notify_context: stop gives SIGTERM its default action back ----------

fn notify_context_child() {
    let (ctx, stop) = signal::notify_context(&context::background(), &[SIGTERM]);
    say("READY");
    if baton::time::sleep_ctx(&ctx, CHILD_PATIENCE).is_ok() {
        say("NO SIGNAL");
        std::process::exit(3);
    }
    say(&format!("CANCELLED {}", context::cause(&ctx).unwrap()));
    stop.stop();
    say("STOPPED");
    std::thread::sleep(CHILD_PATIENCE);
    say("STILL ALIVE");
    std::process::exit(4);
}

#[test]
fn notify_context_child_entry() {
    child("notify_context_child_entry", notify_context_child);
}

#[test]
fn notify_context_stop_restores_the_default_action() {
    common::within("notify_context stop", 90, || {
        let mut c = Child::start("notify_context_child_entry");
        c.expect("READY");
        c.kill(SIGTERM); // caught: cancels the context
        assert_eq!(
            c.expect("CANCELLED"),
            "CANCELLED terminated signal received"
        );
        c.expect("STOPPED");
        c.kill(SIGTERM); // the default again: ends the process
        let (st, stderr) = c.finish();
        assert_eq!(st.signal(), Some(libc::SIGTERM), "{st:?}; stderr: {stderr}");
    });
}

// --- notify: relays on a channel; dropping restores the default ----------

fn notify_child() {
    // The test expects `SIGHUP` to end the process once the subscription is
    // dropped, i.e. that its action before baton was the default. A test
    // run started under `nohup` inherits it ignored (and baton then rightly
    // restores "ignored"), so make the starting point explicit.
    // SAFETY: setting a signal's disposition to the default before any
    // other thread of this child uses signals; no handler is involved.
    unsafe { libc::signal(libc::SIGHUP, libc::SIG_DFL) };
    let (tx, rx) = baton::chan::bounded(4);
    let sub = signal::notify(&tx, &[SIGHUP, SIGUSR1]);
    say("READY");
    for _ in 0..2 {
        match rx.recv_timeout(CHILD_PATIENCE) {
            Ok(s) => say(&format!("GOT {s:?}")),
            Err(_) => std::process::exit(3),
        }
    }
    drop(sub);
    say("DROPPED");
    std::thread::sleep(CHILD_PATIENCE);
    say("STILL ALIVE");
    std::process::exit(4);
}

#[test]
fn notify_child_entry() {
    child("notify_child_entry", notify_child);
}

#[test]
fn notify_relays_and_its_drop_restores_the_default_action() {
    common::within("notify", 90, || {
        let mut c = Child::start("notify_child_entry");
        c.expect("READY");
        c.kill(SIGHUP);
        assert_eq!(c.expect("GOT"), "GOT SIGHUP");
        c.kill(SIGUSR1);
        assert_eq!(c.expect("GOT"), "GOT SIGUSR1");
        c.expect("DROPPED");
        c.kill(SIGHUP);
        let (st, stderr) = c.finish();
        assert_eq!(st.signal(), Some(libc::SIGHUP), "{st:?}; stderr: {stderr}");
    });
}

// --- SIGQUIT keeps the goroutine dump beside shutdown_context -----------

fn sigquit_child() {
    let rt = baton::runtime::Builder::new()
        .workers(1)
        .name("drainer")
        .build();
    rt.run(|| {
        let ctx = signal::shutdown_context();
        let (quit_tx, quit_rx) = baton::chan::bounded(1);
        let _sub = signal::notify(&quit_tx, &[SIGQUIT]);
        say("READY");
        // The dump (printed by the runtime) and our own delivery, both.
        match quit_rx.recv_timeout(CHILD_PATIENCE) {
            Ok(s) => say(&format!("GOT {s:?}")),
            Err(_) => std::process::exit(3),
        }
        if baton::time::sleep_ctx(&ctx, CHILD_PATIENCE).is_ok() {
            std::process::exit(4);
        }
        say("CANCELLED");
    });
    // The dump is printed by the runtime's `baton-sigquit` thread, which
    // asks the (still running) worker and writes when it answers: on a
    // loaded machine that can come after our own delivery above, so give
    // it time before the process ends (seen failing under load without).
    std::thread::sleep(std::time::Duration::from_secs(1));
    std::process::exit(0);
}

#[test]
fn sigquit_child_entry() {
    child("sigquit_child_entry", sigquit_child);
}

#[test]
fn sigquit_still_dumps_goroutines() {
    common::within("sigquit beside shutdown_context", 90, || {
        let mut c = Child::start("sigquit_child_entry");
        c.expect("READY");
        c.kill(SIGQUIT);
        assert_eq!(c.expect("GOT"), "GOT SIGQUIT");
        c.kill(SIGINT);
        c.expect("CANCELLED");
        let (st, stderr) = c.finish();
        assert!(st.success(), "{st:?}; stderr: {stderr}");
        assert!(
            stderr.contains("SIGQUIT: goroutine dump"),
            "stderr: {stderr}"
        );
        assert!(stderr.contains("runtime `drainer`"), "stderr: {stderr}");
    });
}
