//! Go's `src/sync/once_test.go`, rewritten for `baton::sync::Once`.
//!
//! One deliberate difference: Go's `Once` is done after a panicking `f`,
//! baton's lets the next caller retry (see `baton::sync::Once`), so
//! `TestOncePanic` checks the retry instead.

mod common;

use baton::sync::Once;
use common::within;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;

#[test]
fn test_once() {
    within("Once (TestOnce)", 30, || {
        let o = Arc::new(AtomicUsize::new(0));
        let once = Arc::new(Once::new());
        let (c_tx, c) = channel();
        const N: usize = 10;
        for _ in 0..N {
            let (o, once, c_tx) = (o.clone(), once.clone(), c_tx.clone());
            std::thread::spawn(move || {
                once.call_once(|| {
                    o.fetch_add(1, Ordering::Relaxed);
                });
                let v = o.load(Ordering::Relaxed);
                assert_eq!(v, 1, "once failed inside run: {v} is not 1");
                c_tx.send(()).unwrap();
            });
        }
        for _ in 0..N {
            c.recv().unwrap();
        }
        assert_eq!(o.load(Ordering::Relaxed), 1, "once failed outside run");
    });
}

#[test]
fn test_once_panic() {
    let once = Once::new();
    for i in 0..2 {
        let r = std::panic::catch_unwind(|| once.call_once(|| panic!("failed")));
        // Go: only the first iteration panics. baton: the action is retried,
        // so both do.
        assert!(r.is_err(), "iteration {i}: the retried action panics again");
    }
    once.call_once(|| {});
    once.call_once(|| panic!("Once called twice"));
}
