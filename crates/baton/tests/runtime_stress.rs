//! Stress: long chains of joins across workers, spawn storms, goroutines
//! that never change OS thread, many workers on few cores.
#![cfg(not(loom))] // the runtime is not built under loom (only its lock-free parts)

mod common;

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use baton::runtime::{Builder, JoinHandle};
use common::{tid, within};

/// Go's chain test shape: goroutine i waits for goroutine i-1 (a join,
/// woken from whichever worker ran i-1) and adds one.
fn chain(workers: usize, n: usize) {
    let rt = Builder::new().workers(workers).build();
    let end = rt.run(move || {
        let mut prev: JoinHandle<usize> = baton::go(|| 0);
        for _ in 0..n {
            let p = prev;
            prev = baton::go(move || p.join().unwrap() + 1);
        }
        prev.join().unwrap()
    });
    assert_eq!(end, n);
}

#[test]
fn chain_of_10k_on_2_workers() {
    within("chain of 10k joins, 2 workers", 120, || chain(2, 10_000));
}

#[test]
fn chain_of_10k_on_8_workers() {
    within("chain of 10k joins, 8 workers", 120, || chain(8, 10_000));
}

#[test]
fn spawn_storm_from_threads_and_goroutines() {
    within("spawn storm", 120, || {
        let rt = Arc::new(Builder::new().workers(8).build());
        let count = Arc::new(AtomicUsize::new(0));
        // Four plain threads and four goroutines each spawn waves of
        // goroutines that spawn goroutines, joining wave by wave so that the
        // number alive stays under the default mapping cap.
        let mut threads = Vec::new();
        for _ in 0..4 {
            let (rt, count) = (rt.clone(), count.clone());
            threads.push(std::thread::spawn(move || {
                for _ in 0..10 {
                    let hs: Vec<_> = (0..250)
                        .map(|_| {
                            let count = count.clone();
                            rt.go(move || {
                                let c2 = count.clone();
                                baton::go(move || c2.fetch_add(1, SeqCst)).join().unwrap();
                                count.fetch_add(1, SeqCst);
                            })
                        })
                        .collect();
                    hs.into_iter().for_each(|h| h.join().unwrap());
                }
            }));
        }
        let c = count.clone();
        rt.run(move || {
            let spawners: Vec<_> = (0..4)
                .map(|_| {
                    let c = c.clone();
                    baton::go(move || {
                        for _ in 0..10 {
                            let hs: Vec<_> = (0..250)
                                .map(|_| {
                                    let c = c.clone();
                                    baton::go(move || {
                                        c.fetch_add(2, SeqCst);
                                    })
                                })
                                .collect();
                            hs.into_iter().for_each(|h| h.join().unwrap());
                        }
                    })
                })
                .collect();
            spawners.into_iter().for_each(|h| h.join().unwrap());
        });
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(count.load(SeqCst), 4 * 10 * 250 * 2 * 2);
    });
}

thread_local! {
    static MARK: Cell<u64> = const { Cell::new(0) };
}

/// Every goroutine records its OS thread and a thread-local's address, then
/// yields, sleeps and parks in joins woken by other workers thousands of
/// times: both must never change.
#[test]
fn started_goroutines_never_migrate() {
    within("no migration", 180, || {
        let rt = Builder::new().workers(4).build();
        let moved = rt.run(|| {
            let hs: Vec<_> = (0..16)
                .map(|g| {
                    baton::go(move || {
                        let me = tid();
                        let tls = MARK.with(|m| m as *const Cell<u64> as usize);
                        let mut moved = 0u32;
                        let mut cross = 0u32;
                        for i in 0..1500u32 {
                            match i % 3 {
                                0 => baton::yield_now(),
                                1 => {
                                    // Park in a join; the child may be stolen
                                    // by another worker and wake us from there.
                                    let child = baton::go(tid);
                                    if child.join().unwrap() != me {
                                        cross += 1; // woken from another worker
                                    }
                                }
                                _ => baton::time::sleep(Duration::from_micros(50 + g)),
                            }
                            if tid() != me || MARK.with(|m| m as *const Cell<u64> as usize) != tls {
                                moved += 1;
                            }
                        }
                        (moved, cross)
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap())
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        });
        let (moved, cross) = moved;
        assert_eq!(moved, 0, "a started goroutine changed OS thread");
        // The point is to be woken from other workers: with 8000 children,
        // idle workers steal some (about a quarter in practice).
        assert!(
            cross > 0,
            "no child ran on another worker: the test exercised nothing"
        );
    });
}

#[test]
fn non_send_values_may_live_across_parks() {
    within("!Send across parks", 30, || {
        let rt = Builder::new().workers(2).build();
        let n = rt.run(|| {
            let hs: Vec<_> = (0..20)
                .map(|i| {
                    baton::go(move || {
                        let rc = std::rc::Rc::new(std::cell::RefCell::new(i));
                        for _ in 0..50 {
                            baton::go(|| ()).join().unwrap();
                            *rc.borrow_mut() += 1;
                        }
                        let v = *rc.borrow();
                        v
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum::<i32>()
        });
        assert_eq!(n, (0..20).sum::<i32>() + 20 * 50);
    });
}

#[test]
fn nested_scopes_from_goroutines() {
    within("nested scopes", 60, || {
        let rt = Builder::new().workers(3).build();
        let total = rt.run(|| {
            let counter = AtomicUsize::new(0);
            baton::scope(|s| {
                for _ in 0..8 {
                    s.go(|| {
                        baton::scope(|s2| {
                            for _ in 0..8 {
                                s2.go(|| counter.fetch_add(1, SeqCst));
                            }
                        })
                    });
                }
            });
            counter.load(SeqCst)
        });
        assert_eq!(total, 64);
    });
}

#[test]
fn scoped_panic_is_reported_after_all_finish() {
    within("scoped panic", 30, || {
        let done = AtomicUsize::new(0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            baton::scope(|s| {
                s.go(|| panic!("scoped goroutine fails"));
                for _ in 0..10 {
                    s.go(|| {
                        baton::time::sleep(Duration::from_millis(2));
                        done.fetch_add(1, SeqCst);
                    });
                }
            })
        }));
        let p = r.unwrap_err();
        assert_eq!(
            p.downcast_ref::<&str>(),
            Some(&"a scoped goroutine panicked")
        );
        assert_eq!(
            done.load(SeqCst),
            10,
            "all finished before the scope returned"
        );
    });
}

/// How many goroutines a token ring may keep alive in a runtime of
/// `workers` workers, by the kernel's mapping cap (two mappings per stack):
/// what the cap allows, less the stack pools, less room for the other tests
/// of this binary running beside it (up to 40k goroutines, or half of what
/// fits under a low cap).
fn live_goroutines_that_fit(workers: usize) -> usize {
    let cap: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65_530);
    let pools = workers * 72; // each worker's stack pool (see `stack.rs`)
    let fits = (cap.saturating_sub(12_000) / 2).saturating_sub(pools);
    fits - (fits / 2).min(40_000)
}

/// Token rings run one at a time: each takes most of the mapping budget.
static ONE_RING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The token ring: `n` goroutines, each receiving a token from its
/// predecessor over an unbuffered channel and passing it on plus one, for
/// `laps` laps; the main goroutine closes the ring.
fn token_ring(workers: usize, wanted: usize, laps: u64) {
    let _one = ONE_RING.lock().unwrap_or_else(|e| e.into_inner());
    let fits = live_goroutines_that_fit(workers);
    let n = wanted.min(fits);
    if n < wanted {
        eprintln!(
            "token ring: {n} goroutines instead of {wanted}: vm.max_map_count is too low \
             (.ci/run raises it; `sudo sysctl -w vm.max_map_count=262144`)"
        );
    }
    let rt = Builder::new().workers(workers).build();
    let hops = rt.run(move || {
        let (first_tx, mut rx) = baton::chan::rendezvous::<u64>();
        let mut members = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, next_rx) = baton::chan::rendezvous::<u64>();
            let from = std::mem::replace(&mut rx, next_rx);
            members.push(baton::go(move || {
                let mut passed = 0u64;
                // Ends when the predecessor hangs up.
                while let Ok(t) = from.recv() {
                    tx.send(t + 1).expect("successor gone");
                    passed += 1;
                }
                passed
            }));
        }
        let mut token = 0;
        for _ in 0..laps {
            first_tx.send(token).unwrap();
            token = rx.recv().unwrap();
        }
        drop(first_tx);
        let passed: u64 = members.into_iter().map(|m| m.join().unwrap()).sum();
        assert_eq!(passed, laps * n as u64, "every member passed every lap");
        token
    });
    assert_eq!(hops, laps * n as u64);
}

#[test]
fn token_ring_of_100k_on_2_workers() {
    within("token ring, 2 workers", 300, || token_ring(2, 100_000, 3));
}

#[test]
fn token_ring_of_100k_on_8_workers() {
    within("token ring, 8 workers", 300, || token_ring(8, 100_000, 3));
}

/// A spawn storm in which every tenth goroutine panics: each join returns
/// the panic with its payload or the value, on more workers than cores,
/// and the runtime goes on running goroutines after the panics.
#[test]
fn panics_in_a_tenth_of_a_storm() {
    within("panic storm", 120, || {
        // Keep the expected panics' messages out of the test output.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|info| {
            let quiet = info
                .payload()
                .downcast_ref::<String>()
                .is_some_and(|m| m.starts_with("storm "));
            if !quiet {
                eprintln!("{info}");
            }
        }));
        let rt = Builder::new().workers(8).build();
        let (ok, panicked) = rt.run(|| {
            let (mut ok, mut panicked) = (0, 0);
            for wave in 0..10u64 {
                let hs: Vec<_> = (0..2_000u64)
                    .map(|i| {
                        let n = wave * 2_000 + i;
                        baton::go(move || {
                            if n % 10 == 0 {
                                baton::yield_now();
                                panic!("storm {n}");
                            }
                            n * 2
                        })
                    })
                    .collect();
                for (i, h) in hs.into_iter().enumerate() {
                    let n = wave * 2_000 + i as u64;
                    match h.join() {
                        Ok(v) => {
                            assert_eq!(v, n * 2);
                            ok += 1;
                        }
                        Err(p) => {
                            assert_eq!(n % 10, 0, "goroutine {n} should not have panicked");
                            let msg = p.payload().downcast_ref::<String>();
                            assert_eq!(
                                msg.map(String::as_str),
                                Some(format!("storm {n}").as_str())
                            );
                            panicked += 1;
                        }
                    }
                }
            }
            (ok, panicked)
        });
        std::panic::set_hook(hook);
        assert_eq!((ok, panicked), (18_000, 2_000));
    });
}
