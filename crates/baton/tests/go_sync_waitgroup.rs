//! Go's `src/sync/waitgroup_test.go`, rewritten for
//! `baton::sync::WaitGroup`.
//!
//! Not ported: `TestWaitGroupMisuse2`/`3` (they hunt, over a million
//! rounds, for a panic Go raises only opportunistically; baton's reuse
//! check is in `add` and tested in the unit tests), and the benchmarks.

mod common;

use baton::sync::WaitGroup;
use common::within;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{channel, TryRecvError};
use std::sync::Arc;

fn run_wait_group(wg1: &Arc<WaitGroup>, wg2: &Arc<WaitGroup>) {
    let n = 16;
    wg1.add(n);
    wg2.add(n);
    let (exited_tx, exited) = channel();
    for _ in 0..n {
        let (wg1, wg2, exited_tx) = (wg1.clone(), wg2.clone(), exited_tx.clone());
        std::thread::spawn(move || {
            wg1.done();
            wg2.wait();
            exited_tx.send(()).unwrap();
        });
    }
    wg1.wait();
    for _ in 0..n {
        assert_eq!(
            exited.try_recv(),
            Err(TryRecvError::Empty),
            "WaitGroup released group too soon"
        );
        wg2.done();
    }
    for _ in 0..n {
        exited.recv().unwrap(); // blocks if the barrier fails to unlock someone
    }
}

#[test]
fn test_wait_group() {
    within("WaitGroup (TestWaitGroup)", 60, || {
        let wg1 = Arc::new(WaitGroup::new());
        let wg2 = Arc::new(WaitGroup::new());
        // Run the same test a few times to ensure the barrier is in a proper state.
        for _ in 0..8 {
            run_wait_group(&wg1, &wg2);
        }
    });
}

#[test]
#[should_panic(expected = "sync: negative WaitGroup counter")]
fn test_wait_group_misuse() {
    let wg = WaitGroup::new();
    wg.add(1);
    wg.done();
    wg.done();
}

#[test]
fn test_wait_group_race() {
    within("WaitGroup (TestWaitGroupRace)", 60, || {
        for _ in 0..1000 {
            let wg = Arc::new(WaitGroup::new());
            let n = Arc::new(AtomicI32::new(0));
            for _ in 0..2 {
                wg.add(1);
                let (wg, n) = (wg.clone(), n.clone());
                std::thread::spawn(move || {
                    n.fetch_add(1, Ordering::Relaxed);
                    wg.done();
                });
            }
            wg.wait();
            assert_eq!(n.load(Ordering::Relaxed), 2, "spurious wakeup from Wait");
        }
    });
}

#[test]
fn test_wait_group_align() {
    struct X {
        _x: u8,
        wg: WaitGroup,
    }
    let x = X {
        _x: 0,
        wg: WaitGroup::new(),
    };
    x.wg.add(1);
    std::thread::scope(|s| {
        s.spawn(|| x.wg.done());
        x.wg.wait();
    });
}
