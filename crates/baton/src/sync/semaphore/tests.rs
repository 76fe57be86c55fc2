use super::*;
use crate::sync::test_util::{wait_until, within};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex as StdMutex;

#[test]
fn grants_in_arrival_order() {
    let sem = Semaphore::new(3);
    let order = StdMutex::new(Vec::new());
    within("Semaphore FIFO", 60, || {
        let all = sem.acquire(3);
        std::thread::scope(|s| {
            // Requests of 3, 1, 3, 1, none of which fits beside the next:
            // grants are strictly one after another, and the last request
            // (1) must not overtake the 3 before it, though it would fit.
            for (id, n) in [(0, 3), (1, 1), (2, 3), (3, 1)] {
                let (sem, order) = (&sem, &order);
                s.spawn(move || {
                    let _p = sem.acquire(n);
                    order.lock().unwrap().push(id);
                });
                wait_until("waiter queues", 30, || sem.queued() == id + 1);
            }
            drop(all);
        });
    });
    assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
    assert_eq!(sem.available(), 3);
}

#[test]
fn large_head_request_is_not_overtaken() {
    let sem = Semaphore::new(4);
    within("Semaphore large head", 60, || {
        let small = sem.acquire(1);
        std::thread::scope(|s| {
            let big = s.spawn(|| sem.acquire(4).permits());
            wait_until("big queues", 30, || sem.queued() == 1);
            // 3 permits are free, but the big request waits at the head.
            assert!(
                sem.try_acquire(1).is_none(),
                "a newcomer barged past the head"
            );
            assert!(sem.acquire_timeout(1, Duration::from_millis(2)).is_none());
            drop(small);
            assert_eq!(big.join().unwrap(), 4);
        });
    });
    assert_eq!(sem.available(), 4);
}

#[test]
fn head_timing_out_wakes_the_waiters_behind_it() {
    // x/sync's TestAllocCancelDoesntStarve, with the waits made explicit.
    let sem = Semaphore::new(10);
    within("Semaphore head timeout", 60, || {
        let one = sem.acquire(1);
        std::thread::scope(|s| {
            let big = s.spawn(|| {
                sem.acquire_timeout(10, Duration::from_millis(300))
                    .is_none()
            });
            wait_until("big queues", 30, || sem.queued() == 1);
            let small = s.spawn(|| sem.acquire(1).permits());
            wait_until("small queues behind", 30, || sem.queued() == 2);
            assert!(
                big.join().unwrap(),
                "the big request cannot fit while `one` is held"
            );
            assert_eq!(small.join().unwrap(), 1, "woken when the head gave up");
            drop(one);
        });
    });
    assert_eq!(sem.available(), 10);
    assert_eq!(sem.queued(), 0);
}

#[test]
fn a_failed_try_acquire_releases_nothing() {
    // Regression: a permit built eagerly for the `None` case was dropped,
    // releasing permits that were never taken.
    let sem = Semaphore::new(1);
    let p = sem.acquire(1);
    assert!(sem.try_acquire(1).is_none());
    assert_eq!(sem.available(), 0);
    drop(p);
}

#[test]
fn zero_permits() {
    let sem = Semaphore::new(0);
    assert_eq!(sem.acquire(0).permits(), 0);
    assert!(sem.try_acquire(0).is_some());
    assert!(sem.try_acquire(1).is_none());
    sem.release(0);
}

#[test]
fn forget_and_release() {
    let sem = Semaphore::new(3);
    sem.acquire(2).forget();
    assert_eq!(sem.available(), 1);
    sem.release(1);
    sem.release(1);
    assert_eq!(sem.available(), 3);
}

#[test]
#[should_panic(
    expected = "Semaphore::release(1): released more permits than were acquired (1 of 1 are already free)"
)]
fn over_release_panics() {
    Semaphore::new(1).release(1); // x/sync's TestWeightedPanic
}

#[test]
fn over_release_changes_nothing() {
    let sem = Semaphore::new(4);
    let p = sem.acquire(1);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sem.release(2)));
    assert!(r.is_err());
    assert_eq!(sem.available(), 3);
    drop(p);
    assert_eq!(sem.available(), 4);
}

#[test]
#[should_panic(
    expected = "Semaphore::acquire(3): more permits than the capacity (2); the wait could never end"
)]
fn acquire_over_capacity_panics() {
    let _ = Semaphore::new(2).acquire(3);
}

#[test]
#[should_panic(expected = "Semaphore::acquire_timeout(3): more permits than the capacity (2)")]
fn acquire_timeout_over_capacity_panics() {
    let _ = Semaphore::new(2).acquire_timeout(3, Duration::from_secs(1));
}

#[test]
fn debug_and_capacity() {
    let sem = Semaphore::new(2);
    let p = sem.acquire(1);
    assert_eq!(
        format!("{sem:?}"),
        "Semaphore { available: 1, capacity: 2, waiters: false }"
    );
    assert_eq!(format!("{p:?}"), "SemaphorePermit { permits: 1 }");
    assert_eq!(sem.capacity(), 2);
}

#[test]
fn auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Semaphore>();
    send_sync::<SemaphorePermit<'static>>();
}

/// 8 threads on 2 cores with weights 1..=4 on a capacity of 6, mixing every
/// entry point: the permits in use never exceed the capacity, and all come
/// back.
#[test]
fn stress_weighted_8_threads() {
    let sem = Semaphore::new(6);
    let in_use = AtomicUsize::new(0);
    within("Semaphore stress", 120, || {
        std::thread::scope(|s| {
            for t in 0..8usize {
                let (sem, in_use) = (&sem, &in_use);
                s.spawn(move || {
                    let mut x = t as u64 * 7 + 1;
                    for _ in 0..3_000 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let n = (x % 4) as usize + 1;
                        let p = match x % 5 {
                            0 => sem.try_acquire(n),
                            1 => sem.acquire_timeout(n, Duration::from_micros(x % 300)),
                            _ => Some(sem.acquire(n)),
                        };
                        if let Some(p) = p {
                            let now = in_use.fetch_add(n, SeqCst) + n;
                            assert!(now <= 6, "{now} permits in use of 6");
                            in_use.fetch_sub(n, SeqCst);
                            if x % 7 == 0 {
                                p.forget();
                                sem.release(n);
                            }
                        }
                    }
                });
            }
        });
    });
    assert_eq!(sem.available(), 6);
    assert_eq!(sem.queued(), 0);
}

/// An owned permit moves into another thread, releases there on drop, and
/// the timeout and try forms behave as the borrowed ones.
#[test]
fn owned_permits_move_release_and_time_out() {
    let sem = Arc::new(Semaphore::new(3));
    within("owned permits", 60, || {
        let p = sem.acquire_owned(2);
        assert_eq!((p.permits(), sem.available()), (2, 1));
        let q = sem.try_acquire_owned(1).expect("one permit left");
        assert!(sem.try_acquire_owned(1).is_none());
        assert!(sem
            .acquire_timeout_owned(1, Duration::from_millis(2))
            .is_none());
        assert_eq!(sem.queued(), 0, "the timed-out waiter left the queue");
        std::thread::spawn(move || drop(p)).join().unwrap();
        assert_eq!(sem.available(), 2);
        q.forget();
        assert_eq!(sem.available(), 2, "a forgotten permit stays taken");
        sem.release(1);
        let r = sem
            .acquire_timeout_owned(3, Duration::from_secs(10))
            .expect("all three free");
        assert_eq!(sem.available(), 0);
        drop(r);
        assert_eq!(sem.available(), 3);
        assert_eq!(Arc::strong_count(&sem), 1, "no permit kept the Arc");
    });
}

/// A waiter blocked in `acquire_owned` is granted when an owned permit is
/// dropped on another thread.
#[test]
fn owned_permit_drop_wakes_a_waiter() {
    let sem = Arc::new(Semaphore::new(1));
    within("owned permit wake", 60, || {
        let held = sem.acquire_owned(1);
        let s2 = sem.clone();
        let waiter = std::thread::spawn(move || s2.acquire_owned(1).permits());
        wait_until("waiter queued", 30, || sem.queued() == 1);
        drop(held);
        assert_eq!(waiter.join().unwrap(), 1);
        assert_eq!(sem.available(), 1);
    });
}
