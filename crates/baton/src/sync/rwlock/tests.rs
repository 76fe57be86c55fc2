use super::*;
use crate::sync::raw_rwlock::Snapshot;
use crate::sync::test_util::{wait_until, within};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::Duration;

fn snap<T>(lock: &RwLock<T>) -> Snapshot {
    lock.raw.snapshot()
}

#[test]
fn readers_share_writers_exclude() {
    let lock = RwLock::new(1);
    let a = lock.read();
    let b = lock.try_read().expect("readers share");
    assert!(lock.try_write().is_none());
    assert_eq!(*a + *b, 2);
    drop((a, b));
    let mut w = lock.try_write().expect("free");
    *w = 2;
    assert!(lock.try_read().is_none());
    assert!(lock.try_write().is_none());
    drop(w);
    assert_eq!(*lock.read(), 2);
    assert_eq!(snap(&lock), Snapshot::IDLE);
}

#[test]
fn pending_writer_blocks_new_readers() {
    let lock = RwLock::new(0);
    within("RwLock pending writer", 60, || {
        let r1 = lock.read();
        std::thread::scope(|s| {
            let w = s.spawn(|| *lock.write() += 1);
            wait_until("writer claims", 30, || snap(&lock).writer);
            assert!(
                lock.try_read().is_none(),
                "a claiming writer blocks readers"
            );
            assert!(lock.read_timeout(Duration::from_millis(2)).is_none());
            assert_eq!(*r1, 0, "the reader inside keeps its lock");
            drop(r1);
            w.join().unwrap();
        });
    });
    assert_eq!(*lock.read(), 1);
    assert_eq!(snap(&lock), Snapshot::IDLE);
}

#[test]
fn readers_queued_behind_a_writer_enter_as_one_batch_before_the_next_writer() {
    let lock = RwLock::new(());
    let inside_together = Barrier::new(3);
    let readers_done = AtomicUsize::new(0);
    within("RwLock reader batch", 60, || {
        let w = lock.write();
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    let g = lock.read();
                    // All three hold the read lock at once, or this hangs.
                    inside_together.wait();
                    readers_done.fetch_add(1, Ordering::SeqCst);
                    drop(g);
                });
            }
            wait_until("3 readers queue", 30, || snap(&lock).queued_readers == 3);
            s.spawn(|| {
                let _g = lock.write();
                assert_eq!(
                    readers_done.load(Ordering::SeqCst),
                    3,
                    "the next writer went before the waiting readers"
                );
            });
            wait_until("the writer queues", 30, || snap(&lock).queued_writers == 1);
            drop(w);
        });
    });
    assert_eq!(snap(&lock), Snapshot::IDLE);
}

#[test]
fn writers_are_served_in_fifo_order() {
    let lock = RwLock::new(Vec::new());
    within("RwLock writer FIFO", 60, || {
        let w = lock.write();
        std::thread::scope(|s| {
            for id in 1..=4 {
                let lock = &lock;
                s.spawn(move || lock.write().push(id));
                wait_until("writer queues", 30, || snap(lock).queued_writers == id);
            }
            drop(w);
        });
    });
    assert_eq!(*lock.read(), [1, 2, 3, 4]);
    assert_eq!(snap(&lock), Snapshot::IDLE);
}

#[test]
fn writer_timing_out_on_readers_lets_the_readers_it_held_back_in() {
    let lock = RwLock::new(0);
    within("RwLock writer timeout", 60, || {
        let r1 = lock.read();
        std::thread::scope(|s| {
            let w = s.spawn(|| lock.write_timeout(Duration::from_millis(500)).is_none());
            wait_until("writer claims", 30, || snap(&lock).writer);
            let r2 = s.spawn(|| *lock.read());
            wait_until("reader queues", 30, || snap(&lock).queued_readers == 1);
            assert!(w.join().unwrap(), "the writer cannot get in while r1 reads");
            // r1 still reads: r2 got in only because the writer let go.
            assert_eq!(r2.join().unwrap(), 0);
            drop(r1);
        });
    });
    assert_eq!(snap(&lock), Snapshot::IDLE);
    *lock.try_write().expect("nothing left behind") += 1;
}

#[test]
fn queued_writer_timing_out_leaves_the_queue_intact() {
    let lock = RwLock::new(Vec::new());
    within("RwLock queued writer timeout", 60, || {
        let w = lock.write();
        std::thread::scope(|s| {
            let t = s.spawn(|| lock.write_timeout(Duration::from_millis(300)).is_none());
            wait_until("w1 queues", 30, || snap(&lock).queued_writers == 1);
            s.spawn(|| lock.write().push(2));
            wait_until("w2 queues", 30, || snap(&lock).queued_writers == 2);
            assert!(t.join().unwrap());
            assert_eq!(snap(&lock).queued_writers, 1);
            drop(w);
        });
    });
    assert_eq!(*lock.read(), [2]);
    assert_eq!(snap(&lock), Snapshot::IDLE);
}

#[test]
fn reader_timing_out_behind_a_writer_leaves_no_trace() {
    let lock = RwLock::new(0);
    let w = lock.write();
    std::thread::scope(|s| {
        s.spawn(|| assert!(lock.read_timeout(Duration::from_millis(3)).is_none()));
    });
    let sn = snap(&lock);
    assert!(sn.writer && sn.readers == 0 && sn.queued_readers == 0 && sn.bits_consistent);
    drop(w);
    assert_eq!(snap(&lock), Snapshot::IDLE);
}

#[test]
fn a_panic_inside_a_guard_releases_the_lock() {
    let lock = RwLock::new(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut g = lock.write();
        *g = 1;
        panic!("boom");
    }));
    assert!(r.is_err());
    assert_eq!(*lock.try_read().expect("released while unwinding"), 1);
}

#[test]
fn get_mut_into_inner_default_from_debug() {
    let mut lock: RwLock<Vec<u8>> = RwLock::default();
    lock.get_mut().push(1);
    assert_eq!(format!("{lock:?}"), "RwLock { data: [1], .. }");
    let w = lock.write();
    assert_eq!(format!("{lock:?}"), "RwLock { data: <write-locked>, .. }");
    assert_eq!(format!("{w:?}"), "[1]");
    drop(w);
    assert_eq!(RwLock::from(3).into_inner(), 3);
    assert_eq!(lock.into_inner(), [1]);
}

#[test]
fn unsized_values() {
    let lock: &RwLock<[u8]> = &RwLock::new([1u8, 2, 3]);
    lock.write()[0] = 9;
    assert_eq!(lock.read().len(), 3);
    assert_eq!(lock.read()[0], 9);
}

#[test]
fn auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn sync<T: Sync>() {}
    send_sync::<RwLock<Vec<u8>>>();
    // Guards are Sync but not Send (the compile_fail doc test on `RwLock`).
    sync::<RwLockReadGuard<'static, u8>>();
    sync::<RwLockWriteGuard<'static, u8>>();
}

/// Go's hammer with every entry point mixed: readers add 1 to `activity`
/// and writers 10000, each checks it is alone (writer) or among readers
/// only; 8 threads on 2 cores.
#[test]
fn stress_mixed_operations_8_threads() {
    let lock = RwLock::new(0u64);
    let activity = AtomicUsize::new(0);
    let writes = AtomicUsize::new(0);
    within("RwLock stress", 120, || {
        std::thread::scope(|s| {
            for t in 0..8usize {
                let (lock, activity, writes) = (&lock, &activity, &writes);
                s.spawn(move || {
                    let mut x = t as u64 + 1;
                    for i in 0..3_000u32 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let short = Duration::from_micros(x % 200);
                        let write = |g: RwLockWriteGuard<'_, u64>| {
                            let mut g = g;
                            let n = activity.fetch_add(10_000, Ordering::SeqCst);
                            assert_eq!(n, 0, "writer not alone");
                            *g += 1;
                            writes.fetch_add(1, Ordering::Relaxed);
                            activity.fetch_sub(10_000, Ordering::SeqCst);
                        };
                        let read = |g: RwLockReadGuard<'_, u64>| {
                            let n = activity.fetch_add(1, Ordering::SeqCst);
                            assert!(n < 10_000, "reader beside a writer");
                            std::hint::black_box(*g);
                            activity.fetch_sub(1, Ordering::SeqCst);
                        };
                        match (x % 16, i % 2) {
                            (0, _) => write(lock.write()),
                            (1, _) => lock.try_write().map_or((), write),
                            (2, _) => lock.write_timeout(short).map_or((), write),
                            (3, _) => lock.read_timeout(short).map_or((), read),
                            (4, _) => lock.try_read().map_or((), read),
                            _ => read(lock.read()),
                        }
                    }
                });
            }
        });
    });
    assert_eq!(*lock.read(), writes.load(Ordering::Relaxed) as u64);
    assert_eq!(snap(&lock), Snapshot::IDLE);
}
