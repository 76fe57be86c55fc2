//! `baton::sync` inside goroutines parks the goroutine, not its worker: on a
//! runtime with ONE worker, any primitive that blocked the worker thread
//! would deadlock these tests (and their timeouts would fail them).
#![cfg(not(loom))] // the runtime is not built under loom (only its lock-free parts)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use baton::runtime::Builder;
use baton::sync::{Cond, Mutex, WaitGroup};
use common::within;

#[test]
fn mutex_held_across_yields_on_one_worker() {
    within("mutex on one worker", 30, || {
        let rt = Builder::new().workers(1).build();
        let total = rt.run(|| {
            let m = Arc::new(Mutex::new(0u64));
            let hs: Vec<_> = (0..100)
                .map(|_| {
                    let m = m.clone();
                    baton::go(move || {
                        for _ in 0..10 {
                            let mut g = m.lock();
                            let v = *g;
                            baton::yield_now(); // others run, and block on the lock
                            *g = v + 1;
                        }
                    })
                })
                .collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
            let v = *m.lock();
            v
        });
        assert_eq!(total, 1000);
    });
}

#[test]
fn waitgroup_on_one_worker() {
    within("waitgroup on one worker", 30, || {
        let rt = Builder::new().workers(1).build();
        let done = rt.run(|| {
            let wg = Arc::new(WaitGroup::new());
            let n = Arc::new(AtomicUsize::new(0));
            for i in 0..50 {
                wg.add(1);
                let (wg, n) = (wg.clone(), n.clone());
                drop(baton::go(move || {
                    baton::time::sleep(Duration::from_micros(100 * (i % 5)));
                    n.fetch_add(1, SeqCst);
                    wg.done();
                }));
            }
            wg.wait();
            n.load(SeqCst)
        });
        assert_eq!(done, 50);
    });
}

#[test]
fn cond_ping_pong_on_one_worker() {
    within("cond ping-pong", 30, || {
        let rt = Builder::new().workers(1).build();
        let rounds = rt.run(|| {
            let state = Arc::new((Mutex::new(0u32), Cond::new()));
            let s2 = state.clone();
            let other = baton::go(move || {
                let (m, c) = &*s2;
                let mut g = m.lock();
                while *g < 1000 {
                    if *g % 2 == 1 {
                        *g += 1;
                        c.broadcast();
                    } else {
                        g = c.wait(g);
                    }
                }
            });
            let (m, c) = &*state;
            let mut g = m.lock();
            while *g < 1000 {
                if *g % 2 == 0 {
                    *g += 1;
                    c.broadcast();
                } else {
                    g = c.wait(g);
                }
            }
            drop(g);
            other.join().unwrap();
            let v = *m.lock();
            v
        });
        assert!(rounds >= 1000);
    });
}

#[test]
fn lock_timeout_in_a_goroutine_uses_the_timer() {
    within("lock_timeout", 30, || {
        let rt = Builder::new().workers(1).build();
        let (timed_out, later) = rt.run(|| {
            let m = Arc::new(Mutex::new(()));
            let held = m.lock();
            let m2 = m.clone();
            let waiter = baton::go(move || m2.lock_timeout(Duration::from_millis(20)).is_none());
            let timed_out = waiter.join().unwrap();
            drop(held);
            let m3 = m.clone();
            let later = baton::go(move || m3.lock_timeout(Duration::from_secs(5)).is_some());
            (timed_out, later.join().unwrap())
        });
        assert!(timed_out, "the lock was held: lock_timeout must time out");
        assert!(later, "the lock was free: lock_timeout must succeed");
    });
}

#[test]
fn threads_and_goroutines_share_a_mutex() {
    within("threads and goroutines", 60, || {
        let rt = Arc::new(Builder::new().workers(2).build());
        let m = Arc::new(Mutex::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        *m.lock() += 1;
                    }
                })
            })
            .collect();
        let m2 = m.clone();
        rt.run(move || {
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    let m = m2.clone();
                    baton::go(move || {
                        for i in 0..1000 {
                            *m.lock() += 1;
                            if i % 100 == 0 {
                                baton::yield_now();
                            }
                        }
                    })
                })
                .collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
        });
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(*m.lock(), 12_000);
    });
}
