//! Regression (issue 10, item 0b): a non-blocking select could report
//! "nothing ready" while some arm held a value the whole time.
//!
//! One side moves a value from channel A to channel B, filling B before it
//! empties A, so at every instant A or B holds it; the other side runs a
//! non-blocking select over both. `try_select`, `select!` with `default`,
//! `select_timeout(0)`, `default(Duration::ZERO)`, `try_ready` and
//! `ready_timeout(0)` looked at the shuffled arms once: checking B (empty),
//! then A (just emptied) missed the value. A first fix looked twice more
//! (as crossbeam's `run_select` does, in effect); the fix now is a snapshot
//! (`select/run.rs`, "Nothing ready"): "nothing ready" only when two
//! consecutive looks at every arm find each not ready in the same version.
//! These tests, ported from crossbeam-channel's `linearizable_*` tests
//! (`tests/select.rs`, `tests/ready.rs`, `tests/select_macro.rs`), pin it
//! down. The mover waits a random few hundred nanoseconds so that its move
//! lands anywhere in the select's pass.
//!
//! The window is a few nanoseconds wide: on the shared 2-core machine the
//! single pass missed 5-49 of 50,000 selects per case in a **release**
//! build (`cargo test --release -p baton --test
//! regress_nonblocking_select_misses_ready_value`), while a debug build is
//! too slow to hit it (0 misses in 400,000). (The first fix's notes said
//! that one extra pass still missed about 4 in 10,000 in release; that did
//! not reproduce, at that commit or later: 0 in 2.4 million each, and no flavour
//! reports a false empty: see the flavours' `start_recv` and `probe_*`.)
//! The tests at the end of the file, with a mover that goes back and forth,
//! are the ones that catch a fixed number of passes, in debug builds too.
//!
//! Each test runs `ROUNDS` selects per channel flavour (bounded(1) and
//! unbounded) from two threads, then from two goroutines of a two-worker
//! runtime (one worker would run them in turn, never during a select).
//! `BATON_LINEARIZABLE_ROUNDS` scales it: the default keeps a debug run to
//! a few seconds; `BATON_LINEARIZABLE_ROUNDS=200000` in release makes
//! millions of selects in all.
#![cfg(not(loom))] // the runtime is not built under loom

mod common;

use baton::chan::{bounded, unbounded, Receiver, Select, Sender};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Selects per flavour and per way of running.
fn rounds() -> usize {
    std::env::var("BATON_LINEARIZABLE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            5_000
        } else {
            50_000
        })
}

/// The mover's largest pause, in spin-loop hints.
fn jitter() -> u64 {
    std::env::var("BATON_LINEARIZABLE_JITTER")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 64 } else { 256 })
}

/// A non-blocking select over `r1` and `r2`; `true` if it found one of them
/// ready (and, for the selecting variants, received from it).
type Probe = fn(&Receiver<i32>, &Receiver<i32>) -> bool;

type Pair = (Sender<i32>, Receiver<i32>);

/// crossbeam's `linearizable_*` scenario for `ROUNDS` rounds: the prober
/// puts a value in A and probes; the mover fills B, then empties A, during
/// the probe. The probe must always find a value.
fn scenario(
    what: &str,
    probe: Probe,
    (s1, r1): Pair,
    (s2, r2): Pair,
    spawn: fn(Box<dyn FnOnce() + Send>),
) {
    let n = rounds();
    let (start_s, start_r) = bounded::<()>(0);
    let (end_s, end_r) = bounded::<()>(0);
    let (done_s, done_r) = bounded::<usize>(1);
    let mover_r1 = r1.clone();
    // The mover raises it right before its (jittered) move; the prober
    // waits a bounded while for it, so the two usually overlap.
    let moving = Arc::new(AtomicBool::new(false));
    let prober_moving = Arc::clone(&moving);
    spawn(Box::new(move || {
        let mut missed = 0;
        for _ in 0..n {
            start_s.send(()).unwrap();
            s1.send(1).unwrap();
            // Bounded: two goroutines on one worker never overlap, and the
            // round goes on without it.
            for _ in 0..2_000 {
                if prober_moving.swap(false, Ordering::Acquire) {
                    break;
                }
                std::hint::spin_loop();
            }
            if !probe(&r1, &r2) {
                missed += 1;
            }
            end_s.send(()).unwrap();
            // Empty both for the next round (the ready probes consume
            // nothing; the mover took A's value unless we did).
            let _ = r1.try_recv();
            let _ = r2.try_recv();
        }
        done_s.send(missed).unwrap();
    }));
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..n {
        start_r.recv().unwrap();
        moving.store(true, Ordering::Release);
        // A random pause (up to a few hundred nanoseconds), so the move
        // lands at every point of the prober's pass, not always before it.
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        for _ in 0..rng % jitter() {
            std::hint::spin_loop();
        }
        s2.send(1).unwrap();
        let _ = mover_r1.try_recv();
        end_r.recv().unwrap();
    }
    let missed = done_r.recv().unwrap();
    assert_eq!(
        missed, 0,
        "{what}: {missed} of {n} non-blocking selects answered \"nothing ready\" while A or B \
         held a value"
    );
}

/// Runs `f` on a new thread.
fn thread(f: Box<dyn FnOnce() + Send>) {
    std::thread::spawn(f);
}

/// Runs `f` in a new goroutine.
fn goroutine(f: Box<dyn FnOnce() + Send>) {
    drop(baton::go(f));
}

/// Runs the scenario for `probe` on both flavours, from threads and from
/// goroutines, under a hang guard.
fn check(what: &'static str, probe: Probe) {
    common::within(&format!("{what} (threads)"), 120, move || {
        scenario(
            &format!("{what}, bounded(1), threads"),
            probe,
            bounded(1),
            bounded(1),
            thread,
        );
        scenario(
            &format!("{what}, unbounded, threads"),
            probe,
            unbounded(),
            unbounded(),
            thread,
        );
    });
    common::within(&format!("{what} (goroutines)"), 120, move || {
        let rt = baton::runtime::Builder::new().workers(2).build();
        rt.run(move || {
            scenario(
                &format!("{what}, bounded(1), goroutines"),
                probe,
                bounded(1),
                bounded(1),
                goroutine,
            );
            scenario(
                &format!("{what}, unbounded, goroutines"),
                probe,
                unbounded(),
                unbounded(),
                goroutine,
            );
        });
    });
}

/// Completes a selected operation (one of the two receives).
fn complete(op: baton::chan::SelectedOperation<'_>, r1: &Receiver<i32>, r2: &Receiver<i32>) {
    let r = if op.index() == 0 { r1 } else { r2 };
    assert_eq!(op.recv(r), Ok(1));
}

#[test]
fn try_select_is_linearizable() {
    check("try_select", |r1, r2| {
        let mut sel = Select::new();
        sel.recv(r1);
        sel.recv(r2);
        match sel.try_select() {
            Ok(op) => {
                complete(op, r1, r2);
                true
            }
            Err(_) => false,
        }
    });
}

#[test]
fn select_timeout_zero_is_linearizable() {
    check("select_timeout(0)", |r1, r2| {
        let mut sel = Select::new();
        sel.recv(r1);
        sel.recv(r2);
        match sel.select_timeout(Duration::ZERO) {
            Ok(op) => {
                complete(op, r1, r2);
                true
            }
            Err(_) => false,
        }
    });
}

#[test]
fn select_macro_with_default_is_linearizable() {
    check("select! with default", |r1, r2| {
        baton::select! {
            recv(r1) -> v => { assert_eq!(v, Ok(1)); true }
            recv(r2) -> v => { assert_eq!(v, Ok(1)); true }
            default => false,
        }
    });
}

#[test]
fn select_macro_with_zero_default_is_linearizable() {
    check("select! with default(Duration::ZERO)", |r1, r2| {
        baton::select! {
            recv(r1) -> v => { assert_eq!(v, Ok(1)); true }
            recv(r2) -> v => { assert_eq!(v, Ok(1)); true }
            default(Duration::ZERO) => false,
        }
    });
}

#[test]
fn try_ready_is_linearizable() {
    check("try_ready", |r1, r2| {
        let mut sel = Select::new();
        sel.recv(r1);
        sel.recv(r2);
        sel.try_ready().is_ok()
    });
}

#[test]
fn ready_timeout_zero_is_linearizable() {
    check("ready_timeout(0)", |r1, r2| {
        let mut sel = Select::new();
        sel.recv(r1);
        sel.recv(r2);
        sel.ready_timeout(Duration::ZERO).is_ok()
    });
}

// ---------------------------------------------------------------------------
// A mover that goes back and forth.
//
// The tests above move the value once per select, so a select that looks at
// the arms a fixed number of times more (the first fix: two blind passes)
// passes them. A mover that keeps moving the value A -> B -> A -> ... (each
// move fills the other channel before it empties its own, so one of them
// always holds the value) beats any fixed number of passes: with k passes
// it needs 2k - 1 well-timed moves during the select. The select here has
// `EXTRA_ARMS` more arms on channels that stay empty, so that each pass
// takes long enough for several moves, in debug builds as in release. Only
// a snapshot answers right every time (`select/run.rs`, "Nothing ready").
// The probes are `try_ready` and `ready_timeout(0)`, which consume nothing,
// so the mover never has to stop; the consuming selects share the snapshot
// (`collect`) with them.
//
// Measured on the loaded 2-core machine with the two blind extra passes:
// in a debug build each run failed 3 or 4 of these 4 tests (1-20 "nothing
// ready" per 30,000-50,000 probes; four runs), in release 2 of 4 (1 in
// 200,000; one run): probabilistic, but the file failed every time. With
// the snapshot, none missed (debug and release, several runs).

/// Arms on always-empty channels beside A and B.
const EXTRA_ARMS: usize = 126;

/// Probes per flavour and per way of running; `BATON_LINEARIZABLE_PROBES`
/// scales it.
fn probes() -> usize {
    std::env::var("BATON_LINEARIZABLE_PROBES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            50_000
        } else {
            200_000
        })
}

/// A non-blocking probe over every receiver: `None` if it answered
/// "nothing ready", else `Some` of the index of the arm it took the value
/// from (a consuming probe), or `Some(None)` (a non-consuming one).
type ManyProbe = fn(&[Receiver<i32>]) -> Option<Option<usize>>;

/// `probes()` probes over A, B and the empty arms while a mover keeps
/// moving one value between A and B; returns how many answered "nothing
/// ready".
fn back_and_forth(
    probe: ManyProbe,
    (s1, r1): Pair,
    (s2, r2): Pair,
    spawn: fn(Box<dyn FnOnce() + Send>),
    in_goroutine: bool,
) -> usize {
    s1.send(1).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mover_stop = Arc::clone(&stop);
    let (s1m, r1m, s2m, r2m) = (s1.clone(), r1.clone(), s2.clone(), r2.clone());
    let (done_s, done_r) = bounded::<()>(1);
    spawn(Box::new(move || {
        let mut moves = 0u64;
        while !mover_stop.load(Ordering::Relaxed) {
            // Fill the other side (a full one holds a value already, or
            // one the prober is taking, which it puts back before its next
            // probe), then empty this one: never both empty when the
            // prober looks.
            let _ = s2m.try_send(1);
            let _ = r1m.try_recv();
            let _ = s1m.try_send(1);
            let _ = r2m.try_recv();
            moves += 1;
            // Two goroutines on one worker: let the prober run.
            if in_goroutine && moves % 64 == 0 {
                baton::yield_now();
            }
        }
        done_s.send(()).unwrap();
    }));
    // The empty arms' senders stay alive: empty, not closed.
    let (empty_s, empty_r): (Vec<_>, Vec<_>) = (0..EXTRA_ARMS).map(|_| bounded(1)).unzip();
    let mut arms = vec![r1, r2];
    arms.extend(empty_r);
    let senders = [&s1, &s2];
    let mut missed = 0;
    for i in 0..probes() {
        match probe(&arms) {
            None => missed += 1,
            Some(Some(taken)) => {
                // Put the value back where it was taken from (unless the
                // mover filled that side meanwhile): from here on that
                // side holds a value until the mover has filled the other.
                // (Refilling the other side instead would not do: a send
                // the mover tried on this side while the prober's receive
                // was between its phases found it full, so the mover may
                // empty the other side next.)
                let _ = senders[taken].try_send(1);
            }
            Some(None) => {}
        }
        if in_goroutine && i % 64 == 0 {
            baton::yield_now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    done_r.recv().unwrap();
    drop(empty_s);
    missed
}

/// Runs [`back_and_forth`] for `probe` on both flavours, from threads and
/// from goroutines, under a hang guard; every probe must find the value.
fn check_back_and_forth(what: &'static str, probe: ManyProbe) {
    let run = move |how: &str, spawn: fn(Box<dyn FnOnce() + Send>), in_goroutine| {
        for (flavour, a, b) in [
            ("bounded(1)", bounded(1), bounded(1)),
            ("unbounded", unbounded(), unbounded()),
        ] {
            let missed = back_and_forth(probe, a, b, spawn, in_goroutine);
            assert_eq!(
                missed,
                0,
                "{what}, {flavour}, {how}: {missed} of {} probes answered \"nothing ready\" \
                 while a value moved back and forth between A and B",
                probes()
            );
        }
    };
    common::within(
        &format!("{what} back and forth (threads)"),
        120,
        move || run("threads", thread, false),
    );
    common::within(
        &format!("{what} back and forth (goroutines)"),
        120,
        move || {
            let rt = baton::runtime::Builder::new().workers(2).build();
            rt.run(move || run("goroutines", goroutine, true));
        },
    );
}

#[test]
fn try_ready_is_linearizable_against_a_mover_going_back_and_forth() {
    check_back_and_forth("try_ready", |arms| {
        let mut sel = Select::new();
        for r in arms {
            sel.recv(r);
        }
        sel.try_ready().is_ok().then_some(None)
    });
}

#[test]
fn ready_timeout_zero_is_linearizable_against_a_mover_going_back_and_forth() {
    check_back_and_forth("ready_timeout(0)", |arms| {
        let mut sel = Select::new();
        for r in arms {
            sel.recv(r);
        }
        sel.ready_timeout(Duration::ZERO).is_ok().then_some(None)
    });
}

#[test]
fn try_select_is_linearizable_against_a_mover_going_back_and_forth() {
    check_back_and_forth("try_select", |arms| {
        let mut sel = Select::new();
        for r in arms {
            sel.recv(r);
        }
        match sel.try_select() {
            Ok(op) => {
                let i = op.index();
                assert_eq!(op.recv(&arms[i]), Ok(1));
                Some(Some(i))
            }
            Err(_) => None,
        }
    });
}

#[test]
fn select_timeout_zero_is_linearizable_against_a_mover_going_back_and_forth() {
    check_back_and_forth("select_timeout(0)", |arms| {
        let mut sel = Select::new();
        for r in arms {
            sel.recv(r);
        }
        match sel.select_timeout(Duration::ZERO) {
            Ok(op) => {
                let i = op.index();
                assert_eq!(op.recv(&arms[i]), Ok(1));
                Some(Some(i))
            }
            Err(_) => None,
        }
    });
}
