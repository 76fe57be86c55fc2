//! Unit tests of `Mutex` (Go's own tests are in `tests/go_sync_mutex.rs`).

use super::*;
use crate::sync::raw_mutex::StarvePolicy;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

fn hammer(m: &Mutex<usize>, threads: usize, iters: usize) {
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..iters {
                    let mut g = m.lock();
                    let v = *g;
                    // A read-modify-write split in two: lost updates show
                    // up if two threads are ever inside at once.
                    std::hint::black_box(&mut *g);
                    *g = v + 1;
                }
            });
        }
    });
}

#[test]
fn exclusive_under_contention_every_policy() {
    for policy in [
        StarvePolicy::Clock,
        StarvePolicy::Always,
        StarvePolicy::Never,
    ] {
        let m = Mutex::with_policy(0usize, policy);
        hammer(&m, 8, 5_000);
        assert_eq!(*m.lock(), 40_000, "policy {policy:?}");
        assert!(!m.is_locked());
    }
}

#[test]
fn lock_timeout_gives_up_and_loses_nothing() {
    let m = Arc::new(Mutex::new(0));
    let g = m.lock();
    let m2 = m.clone();
    let t = std::thread::spawn(move || m2.lock_timeout(Duration::from_millis(10)).is_none());
    assert!(t.join().unwrap(), "timed out while held");
    drop(g);
    // The timed-out waiter left no trace: the lock is free and fast again.
    assert!(m.try_lock().is_some());
    assert_eq!(
        format!("{:?}", m.raw()),
        "RawMutex { locked: false, parked: false, woken: false, starving: false }"
    );
}

#[test]
fn timeouts_racing_with_unlocks_never_strand_a_waiter() {
    let m = Arc::new(Mutex::new(0usize));
    let stop = Arc::new(AtomicBool::new(false));
    let got = Arc::new(AtomicUsize::new(0));
    let mut hs = Vec::new();
    for i in 0..8 {
        let (m, stop, got) = (m.clone(), stop.clone(), got.clone());
        hs.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let g = if i % 2 == 0 {
                    m.lock_timeout(Duration::from_micros(20))
                } else {
                    Some(m.lock())
                };
                if let Some(mut g) = g {
                    *g += 1;
                    got.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let start = Instant::now();
    while got.load(Ordering::Relaxed) < 50_000 {
        assert!(start.elapsed() < Duration::from_secs(60), "mutex stalled");
        std::thread::sleep(Duration::from_millis(1));
    }
    stop.store(true, Ordering::Relaxed);
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(*m.lock(), got.load(Ordering::Relaxed));
}

#[test]
fn starving_waiter_gets_the_lock_handed_over() {
    // Go's TestMutexFairness, with the hand-off forced: a thread that
    // re-locks in a tight loop cannot keep the lock from a waiter.
    let m = Arc::new(Mutex::with_policy((), StarvePolicy::Always));
    let stop = Arc::new(AtomicBool::new(false));
    let (m2, stop2) = (m.clone(), stop.clone());
    let hog = std::thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            let _g = m2.lock();
            std::hint::spin_loop();
        }
    });
    for _ in 0..100 {
        drop(m.lock());
    }
    stop.store(true, Ordering::Relaxed);
    hog.join().unwrap();
}

#[test]
fn guard_is_sync_when_t_is() {
    fn sync<T: Sync>(_: &T) {}
    let m = Mutex::new(1);
    let g = m.lock();
    sync(&g);
    assert_eq!(format!("{g:?} {g}"), "1 1");
}

#[test]
fn unsized_data() {
    let m: &Mutex<[u8]> = &Mutex::new([1, 2, 3]);
    m.lock()[0] = 9;
    assert_eq!(&*m.lock(), &[9, 2, 3]);
}

#[test]
fn debug_shows_data_or_locked() {
    let m = Mutex::new(5);
    assert!(format!("{m:?}").contains('5'));
    let _g = m.lock();
    assert!(format!("{m:?}").contains("<locked>"));
}
