//! Ports of Go's scheduler tests (`src/runtime/proc_test.go`) that apply
//! to baton's runtime:
//!
//! - `TestGoroutineParallelism`: P goroutines take turns through a shared
//!   counter by spinning, never yielding: only possible if they really run
//!   on P threads at once (here: P workers; unstarted goroutines are stolen
//!   by idle workers, so they spread out even though one goroutine spawns
//!   them all).
//! - `TestYieldProgress`: a goroutine yielding in a loop lets the one that
//!   will end the loop run, on a single worker.
//! - `TestPingPongHog`: a goroutine that computes and yields does not starve
//!   a ping-pong pair sharing its worker, nor the reverse (Go's test also
//!   compares their shares of time; timing is not asserted here, progress
//!   is).
//! - `TestNumGoroutine`: `stats().live_goroutines` counts parked goroutines
//!   and drops back once they finish.
//!
//! Not ported: tests of `LockOSThread`, `GOMAXPROCS` changes at run time,
//! preemption (`TestPreemption*`: baton does not preempt), the garbage
//! collector, timers of the netpoller.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;

use baton::runtime::Builder;
use baton::sync::WaitGroup;
use common::within;

fn parallelism(p: u64) {
    const N: u64 = 10;
    let rt = Builder::new().workers(p as usize).build();
    rt.run(move || {
        for _ in 0..3 {
            let x = Arc::new(AtomicU64::new(0));
            let hs: Vec<_> = (0..p)
                .map(|me| {
                    let x = x.clone();
                    baton::go(move || {
                        for _ in 0..N {
                            // Spin until it is our turn: never parks or yields.
                            while x.load(SeqCst) % p != me {
                                std::hint::spin_loop();
                            }
                            x.fetch_add(1, SeqCst);
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(x.load(SeqCst), p * N);
        }
    });
}

#[test]
fn goroutine_parallelism_on_2_workers() {
    within("parallelism, 2 workers", 120, || parallelism(2));
}

#[test]
fn goroutine_parallelism_on_4_workers() {
    // More workers than this machine's cores: the OS interleaves them.
    within("parallelism, 4 workers", 120, || parallelism(4));
}

#[test]
fn yield_progress() {
    within("yield progress", 30, || {
        let rt = Builder::new().workers(1).build();
        rt.run(|| {
            let done = Arc::new(AtomicBool::new(false));
            let d = done.clone();
            let setter = baton::go(move || d.store(true, SeqCst));
            let mut yields = 0u64;
            while !done.load(SeqCst) {
                baton::yield_now();
                yields += 1;
            }
            setter.join().unwrap();
            assert!(yields >= 1, "the setter could only run after a yield");
        });
    });
}

#[test]
fn ping_pong_and_hog_share_a_worker() {
    within("ping-pong hog", 60, || {
        let rt = Builder::new().workers(1).build();
        rt.run(|| {
            let stop = Arc::new(AtomicBool::new(false));
            let hog_rounds = Arc::new(AtomicU64::new(0));
            let hog = {
                let (stop, rounds) = (stop.clone(), hog_rounds.clone());
                baton::go(move || {
                    let mut acc = 0u64;
                    while !stop.load(SeqCst) {
                        for i in 0..1_000u64 {
                            acc = acc.wrapping_mul(31).wrapping_add(i);
                        }
                        rounds.fetch_add(1, SeqCst);
                        baton::yield_now();
                    }
                    acc
                })
            };
            let (ping_tx, ping_rx) = baton::chan::rendezvous::<u64>();
            let (pong_tx, pong_rx) = baton::chan::rendezvous::<u64>();
            let ponger = baton::go(move || {
                while let Ok(v) = ping_rx.recv() {
                    pong_tx.send(v + 1).unwrap();
                }
            });
            let hog_before = hog_rounds.load(SeqCst);
            for i in 0..2_000 {
                ping_tx.send(i).unwrap();
                assert_eq!(pong_rx.recv().unwrap(), i + 1);
            }
            // The ping-pong finished despite the hog, and the hog ran
            // while the pair bounced (each hop wakes the other through
            // `runnext`, whose streak is limited so that yielders get turns).
            assert!(
                hog_rounds.load(SeqCst) > hog_before,
                "the hog never ran during 2000 round trips"
            );
            stop.store(true, SeqCst);
            drop(ping_tx);
            ponger.join().unwrap();
            hog.join().unwrap();
        });
    });
}

#[test]
fn num_goroutine() {
    within("live goroutines", 30, || {
        let rt = Builder::new().workers(2).build();
        let main_only = rt.run(|| {
            let gate = Arc::new(WaitGroup::new());
            gate.add(1);
            let started = Arc::new(WaitGroup::new());
            started.add(100);
            let hs: Vec<_> = (0..100)
                .map(|_| {
                    let (gate, started) = (gate.clone(), started.clone());
                    baton::go(move || {
                        started.done();
                        gate.wait();
                    })
                })
                .collect();
            started.wait();
            let s = baton::runtime::stats();
            assert!(s.live_goroutines >= 101, "100 parked and main: {s:?}");
            gate.done();
            for h in hs {
                h.join().unwrap();
            }
            // Finished goroutines are counted by their workers just after
            // their joiners are woken: wait for the count to settle.
            loop {
                let s = baton::runtime::stats();
                if s.live_goroutines == 1 {
                    return s.live_goroutines;
                }
                baton::yield_now();
            }
        });
        assert_eq!(main_only, 1);
    });
}
