//! Go's `src/sync/mutex_test.go`, rewritten for `baton::sync::Mutex`.
//!
//! Not ported: `TestSemaphore` (Go's runtime semaphore has no baton
//! counterpart) and `TestMutexMisuse` (unlocking an unlocked mutex: baton's
//! guards make it unrepresentable), and the benchmarks (see `baton-lab run
//! mutex`).

mod common;

use baton::sync::Mutex;
use common::within;
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::Duration;

fn hammer_mutex(m: &Mutex<u64>, loops: usize) {
    for _ in 0..loops {
        *m.lock() += 1;
    }
}

#[test]
fn test_mutex() {
    within("Mutex (TestMutex)", 60, || {
        let m = Arc::new(Mutex::new(0));
        let (tx, rx) = channel();
        for _ in 0..10 {
            let (m, tx) = (m.clone(), tx.clone());
            std::thread::spawn(move || {
                hammer_mutex(&m, 1000);
                tx.send(true).unwrap();
            });
        }
        for _ in 0..10 {
            rx.recv().unwrap();
        }
        assert_eq!(*m.lock(), 10_000);
    });
}

/// A goroutine that holds the lock nearly all the time must not keep it
/// from another for long: this is what starvation mode is for.
#[test]
fn test_mutex_fairness() {
    within("Mutex (TestMutexFairness)", 10, || {
        let mu = Arc::new(Mutex::new(()));
        let (stop_tx, stop_rx) = channel::<()>();
        let m = mu.clone();
        let hog = std::thread::spawn(move || loop {
            {
                let _g = m.lock();
                std::thread::sleep(Duration::from_micros(100));
            }
            if stop_rx.try_recv().is_ok() {
                return;
            }
        });
        for _ in 0..10 {
            std::thread::sleep(Duration::from_micros(100));
            drop(mu.lock());
        }
        stop_tx.send(()).unwrap();
        hog.join().unwrap();
    });
}

#[test]
fn test_mutex_try_lock() {
    let mu = Mutex::new(());
    let g = mu
        .try_lock()
        .expect("TryLock on an unlocked mutex succeeds");
    assert!(mu.try_lock().is_none(), "TryLock on a locked mutex fails");
    drop(g);
    assert!(mu.try_lock().is_some());
}
