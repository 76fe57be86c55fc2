//! Spawning, joining, panics, yielding and parking on the goroutine runtime.
#![cfg(not(loom))] // the runtime is not built under loom (only its lock-free parts)

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use baton::runtime::{self, Builder};
use common::within;

#[test]
fn go_and_join_from_a_thread() {
    within("go/join from a thread", 20, || {
        let hs: Vec<_> = (0..100u64).map(|i| baton::go(move || i * 2)).collect();
        let sum: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, 9900);
    });
}

#[test]
fn join_from_goroutines() {
    within("join from goroutines", 20, || {
        let rt = Builder::new().workers(2).build();
        let total = rt.run(|| {
            let outer: Vec<_> = (0..50u64)
                .map(|i| {
                    baton::go(move || {
                        let inner: Vec<_> = (0..10u64).map(|j| baton::go(move || i * j)).collect();
                        inner.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
                    })
                })
                .collect();
            outer.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
        });
        assert_eq!(total, (0..50u64).sum::<u64>() * 45);
    });
}

#[test]
fn panics_are_caught_and_delivered() {
    within("panics in 10% of goroutines", 20, || {
        let rt = Builder::new().workers(3).build();
        let (ok, failed) = rt.run(|| {
            let hs: Vec<_> = (0..1000u32)
                .map(|i| {
                    baton::go(move || {
                        if i % 10 == 0 {
                            panic!("goroutine {i} fails on purpose");
                        }
                        i
                    })
                })
                .collect();
            let mut ok = 0;
            let mut failed = Vec::new();
            for h in hs {
                match h.join() {
                    Ok(_) => ok += 1,
                    Err(p) => failed.push(p.message().unwrap().to_owned()),
                }
            }
            (ok, failed)
        });
        assert_eq!(ok, 900);
        assert_eq!(failed.len(), 100);
        assert!(failed.contains(&"goroutine 370 fails on purpose".to_owned()));
    });
}

#[test]
fn unjoined_panics_do_not_disturb_others() {
    within("detached panics", 20, || {
        let rt = Builder::new().workers(2).build();
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        rt.run(move || {
            for i in 0..100 {
                let d = d.clone();
                drop(baton::go(move || {
                    d.fetch_add(1, SeqCst);
                    if i % 2 == 0 {
                        panic!("detached panic {i}");
                    }
                }));
            }
            while d.load(SeqCst) < 100 {
                baton::yield_now();
            }
        });
        assert_eq!(done.load(SeqCst), 100);
    });
}

#[test]
fn yield_interleaves_on_one_worker() {
    within("yield on one worker", 20, || {
        let rt = Builder::new().workers(1).build();
        let log = rt.run(|| {
            let log = Arc::new(std::sync::Mutex::new(Vec::new()));
            let hs: Vec<_> = (0..2)
                .map(|g| {
                    let log = log.clone();
                    baton::go(move || {
                        for step in 0..3 {
                            log.lock().unwrap().push((g, step));
                            baton::yield_now();
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            Arc::try_unwrap(log).unwrap().into_inner().unwrap()
        });
        // Both made progress before either finished: they alternated.
        let first_of_1 = log.iter().position(|e| e.0 == 1).unwrap();
        let last_of_0 = log.iter().rposition(|e| e.0 == 0).unwrap();
        assert!(first_of_1 < last_of_0, "{log:?}");
    });
}

#[test]
fn current_and_ids() {
    within("ids", 20, || {
        assert_eq!(runtime::current(), None);
        let h = baton::go(runtime::current);
        let id = h.id();
        assert_eq!(h.join().unwrap(), Some(id));
        let a = baton::go(|| ()).id();
        let b = baton::go(|| ()).id();
        assert_ne!(a, b);
    });
}

#[test]
fn sleep_in_goroutines_and_threads() {
    within("sleep", 20, || {
        let rt = Builder::new().workers(1).build();
        let start = std::time::Instant::now();
        rt.run(|| {
            // 50 goroutines sleeping 20 ms each on one worker: they overlap.
            let hs: Vec<_> = (0..50)
                .map(|_| baton::go(|| baton::time::sleep(Duration::from_millis(20))))
                .collect();
            for h in hs {
                h.join().unwrap();
            }
        });
        assert!(start.elapsed() >= Duration::from_millis(20));
        let t = std::time::Instant::now();
        baton::time::sleep(Duration::from_millis(5));
        assert!(t.elapsed() >= Duration::from_millis(5));
    });
}

#[test]
fn is_finished_and_detach() {
    within("is_finished", 20, || {
        let h = baton::go(|| 3);
        while !h.is_finished() {
            std::thread::yield_now();
        }
        assert_eq!(h.join().unwrap(), 3);
    });
}

#[test]
fn dropping_a_runtime_abandons_and_leaks() {
    within("shutdown", 20, || {
        let rt = Builder::new().workers(1).name("shutdown-test").build();
        // A goroutine parked forever: leaked at shutdown, join says so.
        let parked = rt.go(|| baton::time::sleep(Duration::from_secs(3600)));
        // Let it start and park.
        while !rt.run(|| true) {}
        std::thread::sleep(Duration::from_millis(20));
        drop(rt);
        let p = parked.join().unwrap_err();
        assert!(p.is_abandoned(), "{p}");
    });
}

#[test]
fn scope_borrows_and_joins() {
    within("scope", 20, || {
        let mut data = vec![1u64, 2, 3, 4];
        let sum = AtomicUsize::new(0);
        baton::scope(|s| {
            for x in data.iter_mut() {
                let sum = &sum;
                s.go(move || {
                    *x *= 10;
                    sum.fetch_add(*x as usize, SeqCst);
                });
            }
        });
        assert_eq!(data, [10, 20, 30, 40]);
        assert_eq!(sum.load(SeqCst), 100);
    });
}

#[test]
fn dropping_a_runtime_from_its_own_goroutine() {
    within("drop from inside", 20, || {
        let rt = Arc::new(Builder::new().workers(2).build());
        let parked = rt.go(|| baton::time::sleep(Duration::from_secs(3600)));
        let wg = Arc::new(baton::sync::WaitGroup::new());
        wg.add(1);
        let (rt2, wg2) = (rt.clone(), wg.clone());
        let dropper = rt.go(move || {
            wg2.wait();
            drop(rt2); // the last reference: shuts the runtime down from inside
            7
        });
        drop(rt);
        wg.done();
        assert_eq!(
            dropper.join().unwrap(),
            7,
            "the dropping goroutine itself finishes"
        );
        let p = parked.join().unwrap_err();
        assert!(p.is_abandoned(), "{p}");
    });
}
