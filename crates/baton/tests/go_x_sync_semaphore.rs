//! The `golang.org/x/sync/semaphore` tests, rewritten for
//! `baton::sync::Semaphore`.
//!
//! Ported from `semaphore/semaphore_test.go` in the `golang/sync` repository
//! (BSD-style licence, The Go Authors). Goroutines become threads; a
//! `context.WithTimeout` becomes `acquire_timeout`. Where baton differs on
//! purpose the test says so: asking for more than the capacity panics here
//! (x/sync blocks until the context is done). Each test runs under a
//! watchdog that fails it, naming the semaphore, instead of hanging.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::mpsc;
use std::time::Duration;

use baton::sync::Semaphore;

mod common;
use common::within_scoped;

const MAX_SLEEP: Duration = Duration::from_millis(1);

/// A small xorshift, for the random sleeps.
fn rand_below(state: &mut u64, n: u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state % n
}

// func HammerWeighted
fn hammer_weighted(sem: &Semaphore, n: usize, loops: usize, seed: u64) {
    let mut r = seed | 1;
    for _ in 0..loops {
        let p = sem.acquire(n);
        std::thread::sleep(Duration::from_nanos(rand_below(
            &mut r,
            MAX_SLEEP.as_nanos() as u64,
        )));
        drop(p);
    }
}

// func TestWeighted: n goroutines acquire 0..n permits of a semaphore of n.
// Go uses n = GOMAXPROCS; 8 here, so 2 cores are oversubscribed.
#[test]
fn test_weighted() {
    let n = 8;
    let loops = 10000 / n / 4; // a quarter of Go's, to keep the suite quick
    let sem = Semaphore::new(n);
    within_scoped("Semaphore TestWeighted", 120, || {
        std::thread::scope(|s| {
            for i in 0..n {
                let sem = &sem;
                s.spawn(move || hammer_weighted(sem, i, loops, i as u64 + 1));
            }
        });
    });
    assert_eq!(sem.available(), n);
}

// func TestWeightedPanic
#[test]
#[should_panic(expected = "released more permits than were acquired")]
fn test_weighted_panic() {
    let w = Semaphore::new(1);
    w.release(1);
}

// func TestWeightedTryAcquire
#[test]
fn test_weighted_try_acquire() {
    let sem = Semaphore::new(2);
    let mut tries = Vec::new();
    sem.acquire(1).forget();
    tries.push(sem.try_acquire(1).map(|p| p.forget()).is_some());
    tries.push(sem.try_acquire(1).map(|p| p.forget()).is_some());

    sem.release(2);

    tries.push(sem.try_acquire(1).map(|p| p.forget()).is_some());
    sem.acquire(1).forget();
    tries.push(sem.try_acquire(1).map(|p| p.forget()).is_some());

    assert_eq!(tries, [true, false, true, false]);
}

// func TestWeightedAcquire: as above with 10 ms timeouts.
#[test]
fn test_weighted_acquire() {
    let sem = Semaphore::new(2);
    let try_acquire = |n| {
        sem.acquire_timeout(n, Duration::from_millis(10))
            .map(|p| p.forget())
            .is_some()
    };
    let mut tries = Vec::new();
    sem.acquire(1).forget();
    tries.push(try_acquire(1));
    tries.push(try_acquire(1));

    sem.release(2);

    tries.push(try_acquire(1));
    sem.acquire(1).forget();
    tries.push(try_acquire(1));

    assert_eq!(tries, [true, false, true, false]);
}

// func TestWeightedDoesntBlockIfTooBig. baton differs: the too-big request
// panics instead of waiting for its context; what carries over is that it
// blocks no one else.
#[test]
fn test_weighted_doesnt_block_if_too_big() {
    const N: usize = 2;
    let sem = Semaphore::new(N);
    within_scoped("Semaphore TestWeightedDoesntBlockIfTooBig", 60, || {
        std::thread::scope(|s| {
            let too_big = s.spawn(|| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let _ = sem.acquire(N + 1);
                }))
                .is_err()
            });
            for _ in 0..N * 3 {
                s.spawn(|| {
                    let _p = sem.acquire(1);
                    std::thread::sleep(Duration::from_millis(1));
                });
            }
            assert!(too_big.join().unwrap(), "acquire(N + 1) must panic");
        });
    });
    assert_eq!(sem.available(), N);
}

// func TestLargeAcquireDoesntStarve: times out if a large acquire starves.
// Merely returning indicates success.
#[test]
fn test_large_acquire_doesnt_starve() {
    let n = 8;
    let sem = Semaphore::new(n);
    let running = AtomicBool::new(true);
    within_scoped("Semaphore TestLargeAcquireDoesntStarve", 60, || {
        std::thread::scope(|s| {
            for _ in 0..n {
                sem.acquire(1).forget();
                let (sem, running) = (&sem, &running);
                s.spawn(move || {
                    while running.load(SeqCst) {
                        std::thread::sleep(Duration::from_millis(1));
                        sem.release(1);
                        sem.acquire(1).forget();
                    }
                    sem.release(1);
                });
            }
            sem.acquire(n).forget();
            running.store(false, SeqCst);
            sem.release(n);
        });
    });
    assert_eq!(sem.available(), n);
}

// func TestAllocCancelDoesntStarve (translated in x/sync from
// zhiqiangxu/util's crwmutex test): a big request that gives up at the head
// of the queue must let the small request queued behind it in.
#[test]
fn test_alloc_cancel_doesnt_starve() {
    let sem = Semaphore::new(10);
    // Hold 1 "read lock".
    let held = sem.acquire(1);
    within_scoped("Semaphore TestAllocCancelDoesntStarve", 60, || {
        std::thread::scope(|s| {
            // A "write lock" request that gives up after 300 ms.
            s.spawn(|| {
                assert!(
                    sem.acquire_timeout(10, Duration::from_millis(300))
                        .is_none(),
                    "the big request cannot succeed while 1 is held"
                );
            });
            // Long enough for the big request to be queued.
            std::thread::sleep(Duration::from_millis(100));
            let (done_tx, done) = mpsc::channel();
            let sem = &sem;
            s.spawn(move || {
                // Queued behind the big request; woken when it gives up.
                let p = sem.acquire(1);
                drop(p);
                done_tx.send(()).unwrap();
            });
            done.recv_timeout(Duration::from_secs(1))
                .expect("the small request starved behind a cancelled big one");
        });
    });
    drop(held);
    assert_eq!(sem.available(), 10);
}
