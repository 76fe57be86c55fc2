//! Stress tests for `baton::sync` with 8-16 threads (4-8x the 2 cores of
//! the CI machines, so lock holders get preempted). Each body runs under a
//! timeout that names the primitive if it hangs: a lost wake-up fails the
//! test instead of hanging the run.

mod common;

use baton::sync::{Cond, Mutex, Once, OnceCell, WaitGroup};
use common::within;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const THREADS: usize = 16;

#[test]
fn stress_mutex_lock_try_lock_and_timeouts() {
    within("Mutex", 120, || {
        let m = Arc::new(Mutex::new((0u64, 0u64)));
        let hs: Vec<_> = (0..THREADS)
            .map(|i| {
                let m = m.clone();
                std::thread::spawn(move || {
                    let mut mine = 0u64;
                    for n in 0..4_000 {
                        let g = match (i + n) % 3 {
                            0 => Some(m.lock()),
                            1 => m.try_lock(),
                            _ => m.lock_timeout(Duration::from_micros(50)),
                        };
                        if let Some(mut g) = g {
                            // Two fields that must move together.
                            assert_eq!(g.0, g.1, "two holders at once");
                            g.0 += 1;
                            g.1 += 1;
                            mine += 1;
                        }
                    }
                    mine
                })
            })
            .collect();
        let total: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        let g = m.lock();
        assert_eq!((g.0, g.1), (total, total));
    });
}

#[test]
fn stress_cond_bounded_queue() {
    // 8 producers and 8 consumers through a 4-slot queue: `not_full` and
    // `not_empty` with `signal`, the classic lost-wake-up trap.
    within("Cond", 120, || {
        const PER: usize = 2_000;
        struct Q {
            items: Mutex<VecDeque<usize>>,
            not_full: Cond,
            not_empty: Cond,
        }
        let q = Arc::new(Q {
            items: Mutex::new(VecDeque::new()),
            not_full: Cond::new(),
            not_empty: Cond::new(),
        });
        let sum = Arc::new(AtomicUsize::new(0));
        let mut hs = Vec::new();
        for p in 0..THREADS / 2 {
            let q = q.clone();
            hs.push(std::thread::spawn(move || {
                for i in 0..PER {
                    let mut g = q.not_full.wait_while(q.items.lock(), |v| v.len() >= 4);
                    g.push_back(p * PER + i);
                    drop(g);
                    q.not_empty.signal();
                }
            }));
        }
        for _ in 0..THREADS / 2 {
            let (q, sum) = (q.clone(), sum.clone());
            hs.push(std::thread::spawn(move || {
                for _ in 0..PER {
                    let mut g = q.not_empty.wait_while(q.items.lock(), |v| v.is_empty());
                    let v = g.pop_front().unwrap();
                    drop(g);
                    q.not_full.signal();
                    sum.fetch_add(v, Ordering::Relaxed);
                }
            }));
        }
        for h in hs {
            h.join().unwrap();
        }
        let n = THREADS / 2 * PER;
        assert_eq!(sum.load(Ordering::Relaxed), n * (n - 1) / 2);
    });
}

#[test]
fn stress_waitgroup_rounds_with_many_waiters() {
    within("WaitGroup", 120, || {
        let wg = Arc::new(WaitGroup::new());
        let work = Arc::new(AtomicUsize::new(0));
        for round in 1..=100 {
            wg.add(THREADS as isize);
            let mut hs = Vec::new();
            for _ in 0..THREADS {
                let (wg, work) = (wg.clone(), work.clone());
                hs.push(std::thread::spawn(move || {
                    work.fetch_add(1, Ordering::Relaxed);
                    wg.done();
                }));
            }
            // Several waiters at once, some with a timeout.
            let waiters: Vec<_> = (0..4)
                .map(|i| {
                    let wg = wg.clone();
                    std::thread::spawn(move || {
                        if i % 2 == 0 {
                            wg.wait();
                        } else {
                            while !wg.wait_timeout(Duration::from_micros(100)) {}
                        }
                    })
                })
                .collect();
            wg.wait();
            assert_eq!(work.load(Ordering::Relaxed), round * THREADS);
            for h in hs.into_iter().chain(waiters) {
                h.join().unwrap();
            }
        }
    });
}

#[test]
fn stress_once_cell_with_failing_initialisers() {
    within("OnceCell", 120, || {
        for _ in 0..200 {
            let cell = Arc::new(OnceCell::new());
            let attempts = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..8)
                .map(|i| {
                    let (cell, attempts) = (cell.clone(), attempts.clone());
                    std::thread::spawn(move || loop {
                        // The first two attempts fail; waiters must retry.
                        let r = cell.get_or_try_init(|| {
                            if attempts.fetch_add(1, Ordering::SeqCst) < 2 {
                                Err(())
                            } else {
                                Ok(i)
                            }
                        });
                        if let Ok(v) = r {
                            return *v;
                        }
                    })
                })
                .collect();
            let vals: Vec<usize> = hs.into_iter().map(|h| h.join().unwrap()).collect();
            assert!(vals.iter().all(|v| *v == vals[0]));
            assert_eq!(attempts.load(Ordering::SeqCst), 3, "exactly one success");
        }
    });
}

#[test]
fn stress_once_many_callers() {
    within("Once", 60, || {
        for _ in 0..200 {
            let once = Arc::new(Once::new());
            let runs = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    let (once, runs) = (once.clone(), runs.clone());
                    std::thread::spawn(move || {
                        once.call_once(|| {
                            runs.fetch_add(1, Ordering::Relaxed);
                        });
                        assert!(once.is_completed());
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(runs.load(Ordering::Relaxed), 1);
        }
    });
}
