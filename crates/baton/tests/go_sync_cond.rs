//! Go's `src/sync/cond_test.go`, rewritten for `baton::sync::Cond`.
//!
//! Go's `Cond` carries its locker (`c.L`); here the data lives in a baton
//! `Mutex` next to the `Cond`. Goroutines become OS threads, so the
//! thread counts are smaller than Go's goroutine counts where noted.
//! Not ported: `TestCondCopy` (copying a `Cond` is a move in Rust, and a
//! move while borrowed does not compile).

mod common;

use baton::sync::{Cond, Mutex};
use common::within;
use std::sync::mpsc::{channel, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

struct Shared<T> {
    m: Mutex<T>,
    c: Cond,
}

fn shared<T>(v: T) -> Arc<Shared<T>> {
    Arc::new(Shared {
        m: Mutex::new(v),
        c: Cond::new(),
    })
}

#[test]
fn test_cond_signal() {
    within("Cond (TestCondSignal)", 30, || {
        let s = shared(());
        let mut n = 2;
        let (running_tx, running) = channel();
        let (awake_tx, awake) = channel();
        for _ in 0..n {
            let (s, running_tx, awake_tx) = (s.clone(), running_tx.clone(), awake_tx.clone());
            std::thread::spawn(move || {
                let g = s.m.lock();
                running_tx.send(()).unwrap();
                let g = s.c.wait(g);
                awake_tx.send(()).unwrap();
                drop(g);
            });
        }
        for _ in 0..n {
            running.recv().unwrap(); // wait for everyone to run
        }
        while n > 0 {
            assert_eq!(
                awake.try_recv(),
                Err(TryRecvError::Empty),
                "goroutine not asleep"
            );
            {
                let _g = s.m.lock();
                s.c.signal();
            }
            awake.recv().unwrap(); // hangs (and `within` fails) if no one wakes
            std::thread::sleep(Duration::from_millis(1));
            assert_eq!(
                awake.try_recv(),
                Err(TryRecvError::Empty),
                "too many goroutines awake"
            );
            n -= 1;
        }
        s.c.signal();
    });
}

#[test]
fn test_cond_signal_generations() {
    within("Cond (TestCondSignalGenerations)", 60, || {
        let s = shared(());
        let n = 100;
        let (running_tx, running) = channel();
        let (awake_tx, awake) = channel();
        for i in 0..n {
            let (s2, running_tx, awake_tx) = (s.clone(), running_tx.clone(), awake_tx.clone());
            std::thread::spawn(move || {
                let g = s2.m.lock();
                running_tx.send(()).unwrap();
                let g = s2.c.wait(g);
                awake_tx.send(i).unwrap();
                drop(g);
            });
            if i > 0 {
                let a = awake.recv().unwrap();
                assert_eq!(a, i - 1, "wrong goroutine woke up");
            }
            running.recv().unwrap();
            let _g = s.m.lock();
            s.c.signal();
        }
    });
}

#[test]
fn test_cond_broadcast() {
    // Go runs 200 goroutines; 48 threads keep the same shape on 2 cores.
    within("Cond (TestCondBroadcast)", 120, || {
        let n = 48;
        let s = shared(false); // exit
        let (running_tx, running) = channel();
        let (awake_tx, awake) = channel();
        for g in 0..n {
            let (s, running_tx, awake_tx) = (s.clone(), running_tx.clone(), awake_tx.clone());
            std::thread::spawn(move || {
                let mut guard = s.m.lock();
                while !*guard {
                    running_tx.send(g).unwrap();
                    guard = s.c.wait(guard);
                    awake_tx.send(g).unwrap();
                }
            });
        }
        for i in 0..n {
            for _ in 0..n {
                running.recv().unwrap(); // hangs unless n are running
            }
            if i == n - 1 {
                *s.m.lock() = true;
            }
            assert_eq!(
                awake.try_recv(),
                Err(TryRecvError::Empty),
                "goroutine not asleep"
            );
            {
                let _g = s.m.lock();
                s.c.broadcast();
            }
            let mut seen = vec![false; n];
            for _ in 0..n {
                let g = awake.recv().unwrap();
                assert!(!seen[g], "goroutine woke up twice");
                seen[g] = true;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(
            running.try_recv(),
            Err(TryRecvError::Empty),
            "goroutine did not exit"
        );
        s.c.broadcast();
    });
}

#[test]
fn test_race() {
    within("Cond (TestRace)", 30, || {
        let s = shared(0);
        let (done_tx, done) = channel();
        let (s1, d1) = (s.clone(), done_tx.clone());
        std::thread::spawn(move || {
            let mut x = s1.m.lock();
            *x = 1;
            x = s1.c.wait(x);
            assert_eq!(*x, 2, "want 2");
            *x = 3;
            s1.c.signal();
            drop(x);
            d1.send(()).unwrap();
        });
        let (s2, d2) = (s.clone(), done_tx.clone());
        std::thread::spawn(move || {
            let mut x = s2.m.lock();
            loop {
                if *x == 1 {
                    *x = 2;
                    s2.c.signal();
                    break;
                }
                drop(x);
                std::thread::yield_now();
                x = s2.m.lock();
            }
            drop(x);
            d2.send(()).unwrap();
        });
        let (s3, d3) = (s.clone(), done_tx);
        std::thread::spawn(move || {
            let mut x = s3.m.lock();
            loop {
                if *x == 2 {
                    x = s3.c.wait(x);
                    assert_eq!(*x, 3, "want 3");
                    break;
                }
                if *x == 3 {
                    break;
                }
                drop(x);
                std::thread::yield_now();
                x = s3.m.lock();
            }
            drop(x);
            d3.send(()).unwrap();
        });
        for _ in 0..3 {
            done.recv().unwrap();
        }
    });
}

#[test]
fn test_cond_signal_stealing() {
    // Go runs 1000 iterations; 200 keep it under a second here.
    within("Cond (TestCondSignalStealing)", 60, || {
        for _ in 0..200 {
            let s = shared(false); // done
            let (ch_tx, ch) = channel();
            let (s1, tx1) = (s.clone(), ch_tx.clone());
            std::thread::spawn(move || {
                let g = s1.m.lock();
                tx1.send(()).unwrap();
                let g = s1.c.wait(g);
                drop(g);
                tx1.send(()).unwrap();
            });
            ch.recv().unwrap();
            drop(s.m.lock());
            // The first waiter is inside `wait` now. Race a broadcast with
            // a new waiter: the new one may or may not be woken, the first
            // must be.
            let s2 = s.clone();
            std::thread::spawn(move || s2.c.broadcast());
            let s3 = s.clone();
            let second = std::thread::spawn(move || {
                let mut g = s3.m.lock();
                while !*g {
                    g = s3.c.wait(g);
                }
            });
            ch.recv_timeout(Duration::from_secs(2))
                .expect("first waiter didn't get broadcast");
            *s.m.lock() = true;
            s.c.broadcast();
            second.join().unwrap();
        }
    });
}
