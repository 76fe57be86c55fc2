//! Go's idioms that cannot forget (issue 10, item 5): a `WaitGroup` count
//! released by a guard or by `WaitGroup::go` even when the worker panics,
//! and a `Semaphore` permit owned by the goroutine it was acquired for
//! ("acquire, then `go`"). Each runs from threads and from one- and
//! two-worker runtimes, under a hang watchdog: a forgotten `done` shows up
//! as the watchdog's message, not a hung test.

#![cfg(not(loom))] // the runtime is not built under loom (only its lock-free parts)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use baton::sync::{Semaphore, WaitGroup};

/// Silences the expected panics' messages (they are the point of the test).
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(|s| s.as_str()))
                .unwrap_or("");
            if !msg.starts_with("expected:") {
                default(info);
            }
        }));
    });
}

/// Workers that panic before finishing still release their count: `wait`
/// returns, and each panic reaches the joiner.
#[test]
fn waitgroup_go_survives_panicking_workers() {
    quiet_panics();
    common::both("WaitGroup::go with panics", 60, || {
        let wg = Arc::new(WaitGroup::new());
        let finished = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let finished = finished.clone();
                wg.go(move || {
                    baton::yield_now();
                    if i % 3 == 0 {
                        panic!("expected: worker {i} fails");
                    }
                    finished.fetch_add(1, SeqCst);
                    i
                })
            })
            .collect();
        wg.wait();
        assert_eq!(wg.counter(), 0);
        assert_eq!(finished.load(SeqCst), 10);
        let panicked = handles
            .into_iter()
            .map(|h| h.join())
            .filter(Result::is_err)
            .count();
        assert_eq!(panicked, 6, "0, 3, 6, 9, 12, 15");
        // The group is reusable afterwards.
        wg.go(|| ()).join().unwrap();
        wg.wait();
    });
}

/// A guard taken by the spawner and moved into a scoped goroutine calls
/// `done` during the goroutine's unwind; joining the handle consumes the
/// panic.
#[test]
fn waitgroup_guard_survives_a_panicking_goroutine() {
    quiet_panics();
    common::both("WaitGroup::add_guard with a panic", 60, || {
        let wg = WaitGroup::new();
        let failed = baton::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let done = wg.add_guard();
                    s.go(move || {
                        let _done = done;
                        baton::yield_now();
                        if i % 2 == 1 {
                            panic!("expected: worker {i} fails before done");
                        }
                    })
                })
                .collect();
            wg.wait();
            assert_eq!(wg.counter(), 0);
            handles
                .into_iter()
                .map(|h| h.join())
                .filter(Result::is_err)
                .count()
        });
        assert_eq!(failed, 4);
    });
}

/// The plain scoped form: the guard taken by the spawner, moved into the
/// worker, released by the unwind.
#[test]
fn waitgroup_scoped_guard_and_panic() {
    quiet_panics();
    common::within("scoped guard", 60, || {
        let wg = WaitGroup::new();
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::thread::scope(|s| {
                for i in 0..4 {
                    let done = wg.add_guard();
                    s.spawn(move || {
                        let _done = done;
                        if i == 1 {
                            panic!("expected: scoped worker fails");
                        }
                    });
                }
                wg.wait();
                assert_eq!(wg.counter(), 0);
            });
        }));
        assert!(r.is_err(), "the scope re-raises the worker's panic");
    });
}

/// Go's "acquire, then go": the loop acquires (and so waits for a slot),
/// the goroutine owns the permit and releases it when it ends, even by a
/// panic. At most `LIMIT` run at once.
#[test]
fn semaphore_acquire_owned_then_go() {
    quiet_panics();
    common::both("acquire_owned then go", 60, || {
        const LIMIT: usize = 3;
        let sem = Arc::new(Semaphore::new(LIMIT));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut handles = Vec::new();
        for i in 0..40 {
            let permit = sem.acquire_owned(1);
            let (running, most) = (running.clone(), most.clone());
            handles.push(baton::go(move || {
                let _permit = permit;
                let now = running.fetch_add(1, SeqCst) + 1;
                most.fetch_max(now, SeqCst);
                baton::yield_now();
                running.fetch_sub(1, SeqCst);
                if i % 10 == 9 {
                    panic!("expected: job {i} fails holding its permit");
                }
            }));
        }
        let failed = handles
            .into_iter()
            .map(|h| h.join())
            .filter(Result::is_err)
            .count();
        assert_eq!(failed, 4);
        assert!(
            most.load(SeqCst) <= LIMIT,
            "{} ran at once",
            most.load(SeqCst)
        );
        assert_eq!(sem.available(), LIMIT, "every permit came back");
        assert_eq!(Arc::strong_count(&sem), 1, "no permit outlived its job");
    });
}
