//! Go's `src/time/sleep_test.go` and `tick_test.go`, the tests that apply
//! to baton's clock channels: `TestAfter`, `TestAfterTick`, `TestAfterStop`
//! (stop reports and nothing arrives), `TestReset`, `TestTicker` (ticks
//! arrive about once per period, and stop stops them), `TestTeardown`
//! (many timers created and dropped), and the Go 1.23 behaviours: no stale
//! value after `stop`/`reset`, and an unread ticker holds at most one tick.
//! Only lower bounds on time are asserted (the machine is shared); upper
//! bounds are hang timeouts.
#![cfg(not(loom))]

mod common;

use std::time::{Duration, Instant};

use baton::chan::{unbounded, RecvTimeoutError, TryRecvError};
use baton::select;
use baton::time::{after, tick, Ticker, Timer};
use common::both;

const MS: Duration = Duration::from_millis(1);

fn test_after() {
    let start = Instant::now();
    let end = after(20 * MS).recv().unwrap();
    let now = Instant::now();
    assert!(now - start >= 20 * MS, "after() slept too little");
    assert!(
        end >= start + 20 * MS && end <= now,
        "after() value out of range"
    );
}

fn test_after_tick() {
    let count = 10;
    let delta = 2 * MS;
    let start = Instant::now();
    for _ in 0..count {
        after(delta).recv().unwrap();
    }
    assert!(start.elapsed() >= delta * count);
}

fn test_after_stop() {
    let t0 = Timer::new(50 * MS);
    let t1 = Timer::new(2 * MS);
    assert!(!t0.stop(), "stopped before firing: reports not fired");
    let got = select! {
        recv(t0.receiver()) -> _ => "t0",
        recv(t1.receiver()) -> _ => "t1",
    };
    assert_eq!(got, "t1");
    assert!(t1.stop(), "t1 had fired");
    // t0 never delivers.
    assert_eq!(
        t0.receiver().recv_timeout(100 * MS),
        Err(RecvTimeoutError::Timeout)
    );
}

fn test_reset() {
    let t = Timer::new(10 * MS);
    baton::time::sleep(15 * MS);
    // Due but unread: reset discards it (no stale value), reports fired.
    let start = Instant::now();
    assert!(t.reset(30 * MS));
    t.receiver().recv().unwrap();
    assert!(start.elapsed() >= 30 * MS, "the stale value came through");
    assert!(t.reset(Duration::from_secs(3600)), "it had fired");
    assert!(!t.stop());
    assert_eq!(t.receiver().try_recv(), Err(TryRecvError::Empty));
}

fn test_ticker() {
    let count = 10;
    let delta = 5 * MS;
    let ticker = Ticker::new(delta);
    let start = Instant::now();
    for _ in 0..count {
        ticker.receiver().recv().unwrap();
    }
    assert!(start.elapsed() >= delta * (count - 1));
    ticker.stop();
    // Stopped: no more ticks.
    baton::time::sleep(2 * delta);
    assert_eq!(ticker.receiver().try_recv(), Err(TryRecvError::Empty));
    ticker.reset(delta);
    ticker.receiver().recv().unwrap();
}

fn test_unread_ticker_does_not_accumulate() {
    let t = tick(5 * MS);
    baton::time::sleep(100 * MS);
    // About 20 ticks were due; one is held (a second only if a period
    // boundary passed while we drain).
    let held = t.try_iter().count();
    assert!((1..=2).contains(&held), "{held} ticks held");
    let before = Instant::now();
    t.recv().unwrap();
    assert!(Instant::now() >= before);
}

fn test_teardown() {
    for _ in 0..3 {
        for _ in 0..1000 {
            drop(after(Duration::from_secs(3600)));
            drop(Timer::new(Duration::from_secs(3600)));
            drop(Ticker::new(Duration::from_secs(3600)));
        }
        let t = Timer::new(MS);
        t.receiver().recv().unwrap();
    }
}

fn test_timer_wakes_a_blocked_select_on_reset() {
    let t = Timer::new(Duration::from_secs(3600));
    let (done_tx, done) = unbounded();
    let rx = t.receiver().clone();
    common::spawn(move || {
        rx.recv().unwrap();
        done_tx.send(()).unwrap();
    });
    baton::time::sleep(5 * MS);
    t.reset(MS); // the blocked receiver must re-evaluate its deadline
    done.recv().unwrap();
}

#[test]
fn go_time_after() {
    both("TestAfter", 30, test_after);
    both("TestAfterTick", 30, test_after_tick);
    both("TestAfterStop", 30, test_after_stop);
}

#[test]
fn go_time_reset_and_ticker() {
    both("TestReset", 30, test_reset);
    both("TestTicker", 30, test_ticker);
    both("unread ticker", 30, test_unread_ticker_does_not_accumulate);
}

#[test]
fn go_time_teardown_and_wakeups() {
    both("TestTeardown", 60, test_teardown);
    both(
        "reset wakes a blocked receiver",
        30,
        test_timer_wakes_a_blocked_select_on_reset,
    );
}
