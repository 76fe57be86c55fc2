//! Loom models of the semaphore: no lost permits, FIFO grants, and the
//! head's time-out passing the turn on. A lost wake-up shows as a deadlock.

use super::*;
use crate::shim::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::shim::Arc;

/// Loom with `LOOM_MAX_PREEMPTIONS` if set (CI sets 2), else a bound of 2.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound.get_or_insert(2);
    b.check(f);
}

/// Three threads take and return permits of different weights, one of
/// them with a time-out: every permit comes back, and the permits in use
/// never exceed the capacity.
#[test]
fn loom_semaphore_no_lost_permits() {
    model(|| {
        let sem = Arc::new(Semaphore::new(2));
        let in_use = Arc::new(AtomicUsize::new(0));
        let ts: Vec<_> = [(1, false), (2, true)]
            .into_iter()
            .map(|(n, timed)| {
                let (sem, in_use) = (sem.clone(), in_use.clone());
                loom::thread::spawn(move || {
                    let p = if timed {
                        sem.acquire_timeout(n, Duration::from_millis(1))
                    } else {
                        Some(sem.acquire(n))
                    };
                    if p.is_some() {
                        assert!(in_use.fetch_add(n, SeqCst) + n <= 2);
                        in_use.fetch_sub(n, SeqCst);
                    }
                })
            })
            .collect();
        {
            let _p = sem.acquire(1);
            assert!(in_use.fetch_add(1, SeqCst) < 2);
            in_use.fetch_sub(1, SeqCst);
        }
        for t in ts {
            t.join().unwrap();
        }
        assert_eq!(sem.available(), 2);
        assert!(sem.try_acquire(2).is_some(), "QUEUED left set");
    });
}

/// A request of 2 queued at the head is served before a later request of
/// 1, although the 1 would fit first: grants follow arrival order.
#[test]
fn loom_semaphore_fifo_grants() {
    model(|| {
        let sem = Arc::new(Semaphore::new(2));
        let order = Arc::new(AtomicUsize::new(0));
        let first = sem.acquire(1);
        let second = sem.acquire(1);
        let (s, o) = (sem.clone(), order.clone());
        let big = loom::thread::spawn(move || {
            let _p = s.acquire(2);
            o.fetch_add(1, SeqCst) // 0 if first
        });
        while sem.queued() == 0 {
            loom::thread::yield_now();
        }
        // One permit back: the head (2) does not fit yet, and a request
        // of 1 must not take it.
        drop(first);
        assert!(sem.try_acquire(1).is_none(), "barged past the head");
        let (s, o) = (sem.clone(), order.clone());
        let small = loom::thread::spawn(move || {
            let _p = s.acquire(1);
            o.fetch_add(1, SeqCst)
        });
        drop(second);
        assert_eq!(big.join().unwrap(), 0, "the later small request went first");
        assert_eq!(small.join().unwrap(), 1);
        assert_eq!(sem.available(), 2);
    });
}

/// The head gives up (loom explores the time-out and the grant racing):
/// the waiter behind it, which fits, must be woken by that departure, since
/// nobody else releases.
#[test]
fn loom_semaphore_head_timeout_wakes_the_next() {
    model(|| {
        let sem = Arc::new(Semaphore::new(2));
        let held = sem.acquire(1);
        let s = sem.clone();
        let big =
            loom::thread::spawn(move || s.acquire_timeout(2, Duration::from_millis(1)).is_some());
        let s = sem.clone();
        let small = loom::thread::spawn(move || s.acquire(1).permits());
        assert_eq!(small.join().unwrap(), 1);
        drop(held);
        let _ = big.join().unwrap();
        assert_eq!(sem.available(), 2);
    });
}
