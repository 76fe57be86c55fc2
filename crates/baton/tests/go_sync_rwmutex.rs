//! Go's `sync.RWMutex` tests, rewritten for `baton::sync::RwLock` and
//! `baton::sync::ShardedRwLock`.
//!
//! Ported from Go's `src/sync/rwmutex_test.go` (BSD-style licence, The Go
//! Authors). Goroutines become threads and channels become std channels;
//! `GOMAXPROCS` has no counterpart (these machines have 2 cores, so every
//! case with more threads is oversubscribed). The benchmarks live in the
//! lab (`baton-lab run rwlock`), not here. Each test runs under a watchdog
//! that fails it, naming the lock, instead of hanging.

use std::sync::atomic::{AtomicI32, Ordering::SeqCst};
use std::sync::mpsc;
use std::time::Duration;

use baton::sync::{RwLock, ShardedRwLock};

mod common;
use common::within_scoped;

/// The operations the tests need, for both lock types.
trait RwMutex: Sync {
    fn with_read(&self, f: &mut dyn FnMut());
    fn with_write(&self, f: &mut dyn FnMut());
    fn name(&self) -> &'static str;
}

impl RwMutex for RwLock<()> {
    fn with_read(&self, f: &mut dyn FnMut()) {
        let _g = self.read();
        f();
    }
    fn with_write(&self, f: &mut dyn FnMut()) {
        let _g = self.write();
        f();
    }
    fn name(&self) -> &'static str {
        "RwLock"
    }
}

impl RwMutex for ShardedRwLock<()> {
    fn with_read(&self, f: &mut dyn FnMut()) {
        let _g = self.read();
        f();
    }
    fn with_write(&self, f: &mut dyn FnMut()) {
        let _g = self.write();
        f();
    }
    fn name(&self) -> &'static str {
        "ShardedRwLock"
    }
}

fn locks() -> Vec<Box<dyn RwMutex>> {
    vec![
        Box::new(RwLock::new(())),
        Box::new(ShardedRwLock::with_slots((), 4)),
    ]
}

// func parallelReader / doTestParallelReaders / TestParallelReaders:
// every reader must hold the read lock at the same time.
fn do_test_parallel_readers(m: &dyn RwMutex, num_readers: usize) {
    let (clocked_tx, clocked) = mpsc::channel();
    let (cdone_tx, cdone) = mpsc::channel();
    let mut unlocks = Vec::new();
    std::thread::scope(|s| {
        for _ in 0..num_readers {
            let (unlock_tx, cunlock) = mpsc::channel::<()>();
            unlocks.push(unlock_tx);
            let (clocked_tx, cdone_tx) = (clocked_tx.clone(), cdone_tx.clone());
            s.spawn(move || {
                m.with_read(&mut || {
                    clocked_tx.send(()).unwrap();
                    cunlock.recv().unwrap();
                });
                cdone_tx.send(()).unwrap();
            });
        }
        // Wait for all parallel read locks to succeed.
        for _ in 0..num_readers {
            clocked.recv().unwrap();
        }
        for u in &unlocks {
            u.send(()).unwrap();
        }
        for _ in 0..num_readers {
            cdone.recv().unwrap();
        }
    });
}

#[test]
fn test_parallel_readers() {
    for m in locks() {
        within_scoped(m.name(), 60, || {
            do_test_parallel_readers(&*m, 1);
            do_test_parallel_readers(&*m, 3);
            do_test_parallel_readers(&*m, 4);
            do_test_parallel_readers(&*m, 10);
        });
    }
}

// func reader / writer / HammerRWMutex: `activity` is the number of active
// readers plus 10000 per active writer; each checks what it sees.
fn reader(m: &dyn RwMutex, iterations: usize, activity: &AtomicI32) {
    for _ in 0..iterations {
        m.with_read(&mut || {
            let n = activity.fetch_add(1, SeqCst) + 1;
            assert!((1..10000).contains(&n), "wlock({n})");
            for i in 0..100 {
                std::hint::black_box(i);
            }
            activity.fetch_sub(1, SeqCst);
        });
    }
}

fn writer(m: &dyn RwMutex, iterations: usize, activity: &AtomicI32) {
    for _ in 0..iterations {
        m.with_write(&mut || {
            let n = activity.fetch_add(10000, SeqCst) + 10000;
            assert_eq!(n, 10000, "wlock({n})");
            for i in 0..100 {
                std::hint::black_box(i);
            }
            activity.fetch_sub(10000, SeqCst);
        });
    }
}

fn hammer_rw_mutex(m: &dyn RwMutex, num_readers: usize, iterations: usize) {
    let activity = AtomicI32::new(0);
    std::thread::scope(|s| {
        let activity = &activity;
        s.spawn(move || writer(m, iterations, activity));
        let mut i = 0;
        while i < num_readers / 2 {
            s.spawn(move || reader(m, iterations, activity));
            i += 1;
        }
        s.spawn(move || writer(m, iterations, activity));
        while i < num_readers {
            s.spawn(move || reader(m, iterations, activity));
            i += 1;
        }
    });
}

#[test]
fn test_rw_mutex() {
    let n = 1000;
    for m in locks() {
        within_scoped(m.name(), 120, || {
            // Go runs each at GOMAXPROCS 1, 4 and 10; threads here.
            for readers in [1, 3, 10, 5] {
                hammer_rw_mutex(&*m, readers, n);
            }
        });
    }
}

// func TestRLocker: a read lock taken twice keeps a writer out until both
// are released, and a writer keeps the readers out. In Go one goroutine
// takes both read locks and then blocks in `wl.Lock()`; the test goroutine
// unlocks the read locks through `RLocker` (and the write lock). Guards
// here are `!Send`, so a reader thread holds the read locks and a writer
// thread the write lock, each releasing on command, and the hand-shakes
// keep Go's order: the writer starts waiting only once both read locks are
// held (`wgo` after `rlocked`), and the reader starts its next read only
// once the writer holds the lock (`rgo` after `wlocked`).
//
// Without `rgo` (as this port first was) the test deadlocks whenever the
// writer thread is descheduled between `wgo.recv()` and its claim for
// longer than the main thread's 1 ms sleep (seen beside 3-4 busy loops on
// 2 cores): the reader releases both read locks, immediately takes both
// again for the next round and waits for `runlock`, the writer then claims
// and waits for those readers, and the main thread waits for `wlocked`
// (state word `WRITER | DRAIN_PARKED | 2 readers`). Go's `RWMutex` would
// hang the same way; in Go's test the re-lock cannot overtake the writer
// because one goroutine does both.
#[test]
fn test_rlocker() {
    for m in locks() {
        let m = &*m;
        within_scoped(m.name(), 60, || {
            let n = 10;
            let (rlocked_tx, rlocked) = mpsc::sync_channel::<()>(1);
            let (wlocked_tx, wlocked) = mpsc::sync_channel::<()>(1);
            let (runlock_tx, runlock) = mpsc::channel::<()>();
            let (rgo_tx, rgo) = mpsc::channel::<()>();
            let (wgo_tx, wgo) = mpsc::channel::<()>();
            let (wunlock_tx, wunlock) = mpsc::channel::<()>();
            std::thread::scope(|s| {
                s.spawn(move || {
                    for i in 0..n {
                        if i > 0 {
                            rgo.recv().unwrap(); // the writer holds the lock
                        }
                        m.with_read(&mut || {
                            m.with_read(&mut || {
                                rlocked_tx.send(()).unwrap();
                                runlock.recv().unwrap();
                            });
                            runlock.recv().unwrap();
                        });
                    }
                });
                s.spawn(move || {
                    for _ in 0..n {
                        wgo.recv().unwrap();
                        m.with_write(&mut || {
                            wlocked_tx.send(()).unwrap();
                            wunlock.recv().unwrap();
                        });
                    }
                });
                for i in 0..n {
                    rlocked.recv().unwrap();
                    wgo_tx.send(()).unwrap(); // the writer starts waiting
                    runlock_tx.send(()).unwrap(); // release one read lock
                    std::thread::sleep(Duration::from_millis(1));
                    assert!(
                        wlocked.try_recv().is_err(),
                        "{}: the read lock did not keep the writer out",
                        m.name()
                    );
                    runlock_tx.send(()).unwrap(); // release the other
                    wlocked.recv().unwrap();
                    if i + 1 < n {
                        rgo_tx.send(()).unwrap(); // the reader starts waiting
                    }
                    std::thread::sleep(Duration::from_millis(1));
                    assert!(
                        rlocked.try_recv().is_err(),
                        "{}: the write lock did not keep the reader out",
                        m.name()
                    );
                    wunlock_tx.send(()).unwrap();
                }
            });
        });
    }
}
