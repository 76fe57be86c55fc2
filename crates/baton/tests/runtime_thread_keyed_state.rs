//! Goroutines of one worker share thread-keyed state (issue 10, item 5):
//! inherent to M:N scheduling over Rust's thread-locals, and documented in
//! the `runtime` module docs ("Thread-keyed state") and the README's
//! limits. These tests pin the documented behaviour on a one-worker
//! runtime, where every goroutine runs on the same OS thread, and check
//! the safe patterns the docs recommend.

#![cfg(not(loom))] // the runtime is not built under loom (only its lock-free parts)

mod common;

use std::cell::Cell;
use std::io::Write;

use baton::chan;
use baton::runtime::{Builder, WorkerLocal};

thread_local! {
    static TAG: Cell<u32> = const { Cell::new(0) };
}

/// One goroutine sets a thread-local and parks; another, on the same
/// worker, sees that value and the same thread identity.
#[test]
fn goroutines_of_one_worker_see_one_thread_local_and_one_thread() {
    common::within("thread-locals shared on one worker", 60, || {
        let rt = Builder::new().workers(1).build();
        rt.run(|| {
            let (to_b, b_rx) = chan::bounded::<()>(0);
            let (to_a, a_rx) = chan::bounded::<()>(0);
            let a = baton::go(move || {
                TAG.with(|t| t.set(42));
                let me = std::thread::current().id();
                to_b.send(()).unwrap(); // B runs while A is parked
                a_rx.recv().unwrap();
                (me, TAG.with(Cell::get))
            });
            let b = baton::go(move || {
                b_rx.recv().unwrap();
                let seen = TAG.with(Cell::get);
                TAG.with(|t| t.set(7));
                to_a.send(()).unwrap();
                (std::thread::current().id(), seen)
            });
            let (a_thread, a_sees_after) = a.join().unwrap();
            let (b_thread, b_saw) = b.join().unwrap();
            assert_eq!(a_thread, b_thread, "one worker: one OS thread");
            assert_eq!(b_saw, 42, "B sees the value A set: one thread-local");
            assert_eq!(a_sees_after, 7, "A sees B's write after its park");
        });
    });
}

/// std's `stdout().lock()` is reentrant per thread: a goroutine that holds
/// it across a park does not keep another goroutine of the same worker
/// out. (The documented hazard: never hold it across a park.)
#[test]
fn stdout_lock_held_across_a_park_admits_another_goroutine() {
    common::within("stdout lock on one worker", 60, || {
        let rt = Builder::new().workers(1).build();
        rt.run(|| {
            let (to_b, b_rx) = chan::bounded::<()>(0);
            let (to_a, a_rx) = chan::bounded::<()>(0);
            let a = baton::go(move || {
                let mut out = std::io::stdout().lock();
                to_b.send(()).unwrap(); // parks while holding the lock
                a_rx.recv().unwrap();
                out.flush().unwrap();
            });
            let b = baton::go(move || {
                b_rx.recv().unwrap();
                // Would deadlock the worker if the lock were per goroutine
                // and not reentrant; with std's lock it is granted at once.
                let got_it = std::io::stdout().lock().flush().is_ok();
                to_a.send(()).unwrap();
                got_it
            });
            assert!(b.join().unwrap(), "B locked stdout while A held it");
            a.join().unwrap();
        });
    });
}

/// The safe patterns: a thread-local touched only between parks, and
/// per-goroutine state in values the goroutine owns, give each goroutine
/// the right answer even though they share the thread.
#[test]
fn safe_patterns_keep_goroutines_apart() {
    common::within("safe patterns on one worker", 60, || {
        let rt = Builder::new().workers(1).build();
        let cache = std::sync::Arc::new(WorkerLocal::<Cell<u64>>::new());
        rt.run(move || {
            let handles: Vec<_> = (0..8u64)
                .map(|i| {
                    let cache = cache.clone();
                    baton::go(move || {
                        let mut mine = i; // owned state, not a thread-local
                        for _ in 0..10 {
                            // A per-worker counter touched without parking.
                            let c = cache.get_or_default();
                            c.set(c.get() + 1);
                            baton::yield_now();
                            mine += 100;
                        }
                        mine
                    })
                })
                .collect();
            for (i, h) in handles.into_iter().enumerate() {
                assert_eq!(h.join().unwrap(), i as u64 + 1000);
            }
            assert_eq!(cache.get_or_default().get(), 80, "one worker, one cache");
        });
    });
}
