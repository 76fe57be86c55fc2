//! `KeyedLimiter` under contention: many threads and goroutines on shared
//! and distinct keys never get more than each key's burst plus refill, and
//! the map forgets keys that went idle.

#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::rate::{KeyedLimiter, Limit, MIN_SWEEP_INTERVAL};
use common::within;

#[test]
fn each_key_keeps_its_own_limit_under_contention() {
    within("keyed contention", 60, || {
        // 1 token a minute per key, burst 3: in this test each key gets 3.
        let lim = Arc::new(KeyedLimiter::new(Limit::every(Duration::from_secs(60)), 3));
        let counts: Arc<Vec<AtomicU32>> = Arc::new((0..64).map(|_| AtomicU32::new(0)).collect());
        let work = {
            let (lim, counts) = (lim.clone(), counts.clone());
            move || {
                for i in 0..2_000u32 {
                    let k = i % 64;
                    if lim.allow(&k) {
                        counts[k as usize].fetch_add(1, Relaxed);
                    }
                }
            }
        };
        let threads: Vec<_> = (0..6).map(|_| std::thread::spawn(work.clone())).collect();
        let goroutines: Vec<_> = (0..6).map(|_| baton::go(work.clone())).collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        goroutines.into_iter().for_each(|g| g.join().unwrap());
        for (k, c) in counts.iter().enumerate() {
            assert_eq!(c.load(Relaxed), 3, "key {k}");
        }
        assert_eq!(lim.len(), 64);
    });
}

#[test]
fn memory_follows_the_active_keys() {
    // 100k distinct keys, each used once, over simulated time: the map never
    // holds much more than the keys of the last two sweep windows.
    let lim = KeyedLimiter::new(Limit::per_second(1000.0), 1); // refills in 1 ms
    let t0 = Instant::now();
    let step = MIN_SWEEP_INTERVAL / 100; // 100 keys per sweep interval
    let mut most = 0;
    for k in 0..100_000u64 {
        assert!(lim.allow_n(&k, t0 + step * k as u32, 1));
        most = most.max(lim.len());
    }
    assert!(most <= 2 * 100 + 2, "the map grew to {most} keys");
}
