use super::*;
use crate::sync::raw_rwlock::Snapshot;
use crate::sync::test_util::{wait_until, within};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;

fn idle<T>(lock: &ShardedRwLock<T>) -> bool {
    lock.slots.iter().all(|s| s.snapshot() == Snapshot::IDLE)
}

#[test]
fn readers_on_different_slots_share_and_writers_exclude_all() {
    let lock = ShardedRwLock::with_slots(0, 4);
    let inside = Barrier::new(4);
    within("ShardedRwLock readers", 60, || {
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    let g = lock.read();
                    inside.wait(); // all four inside at once
                    assert!(lock.try_write().is_none());
                    drop(g);
                });
            }
        });
    });
    *lock.try_write().expect("free") += 1;
    assert!(idle(&lock));
}

#[test]
fn a_reader_on_any_slot_holds_the_writer_off() {
    let lock = ShardedRwLock::with_slots(0, 8);
    within("ShardedRwLock writer waits", 60, || {
        std::thread::scope(|s| {
            let r = lock.read();
            let mine = lock.my_slot();
            let w = s.spawn(|| *lock.write() += 1);
            wait_until("writer claims my slot", 30, || {
                lock.slots[mine].snapshot().writer
            });
            // Every slot is claimed before any drain: new readers wait everywhere.
            wait_until("all slots claimed", 30, || {
                lock.slots.iter().all(|s| s.snapshot().writer)
            });
            assert!(lock.try_read().is_none());
            assert_eq!(*r, 0);
            drop(r);
            w.join().unwrap();
        });
    });
    assert_eq!(*lock.read(), 1);
    assert!(idle(&lock));
}

#[test]
fn write_timeout_releases_every_slot() {
    let lock = ShardedRwLock::with_slots(0, 4);
    within("ShardedRwLock write timeout", 60, || {
        std::thread::scope(|s| {
            let r = lock.read();
            let w = s.spawn(|| lock.write_timeout(Duration::from_millis(300)).is_none());
            wait_until("writer claims", 30, || {
                lock.slots[lock.my_slot()].snapshot().writer
            });
            // A reader on another thread (maybe another slot) waits for the
            // claim, and gets in when the writer gives up.
            let r2 = s.spawn(|| *lock.read());
            assert!(w.join().unwrap());
            assert_eq!(r2.join().unwrap(), 0);
            drop(r);
        });
    });
    assert!(idle(&lock));
    assert!(lock.try_write().is_some());
}

#[test]
fn try_write_fails_cleanly_when_one_slot_is_busy() {
    let lock = ShardedRwLock::with_slots(0, 4);
    let r = lock.read();
    assert!(lock.try_write().is_none());
    drop(r);
    assert!(idle(&lock), "slots taken before the busy one were released");
}

#[test]
fn odds_and_ends() {
    let mut lock: ShardedRwLock<Vec<u8>> = ShardedRwLock::default();
    lock.get_mut().push(1);
    assert!(format!("{lock:?}").starts_with("ShardedRwLock { data: [1], slots: "));
    let w = lock.write();
    assert!(format!("{lock:?}").contains("<write-locked>"));
    drop(w);
    assert_eq!(ShardedRwLock::from(2).into_inner(), 2);
    assert_eq!(lock.into_inner(), [1]);
    let unsized_: &ShardedRwLock<[u8]> = &ShardedRwLock::new([1u8, 2]);
    assert_eq!(unsized_.read().len(), 2);
    fn send_sync<T: Send + Sync>() {}
    fn sync<T: Sync>() {}
    send_sync::<ShardedRwLock<u8>>();
    sync::<ShardedRwLockReadGuard<'static, u8>>();
    sync::<ShardedRwLockWriteGuard<'static, u8>>();
}

#[test]
#[should_panic(expected = "the slot count (0) must be in 1..=1024")]
fn zero_slots_is_rejected() {
    ShardedRwLock::with_slots((), 0);
}

/// Go's hammer on the sharded lock: 8 threads on 2 cores, 4 slots (so
/// slots are shared too), every entry point.
#[test]
fn stress_mixed_operations_8_threads() {
    let lock = ShardedRwLock::with_slots(0u64, 4);
    let activity = AtomicUsize::new(0);
    let writes = AtomicUsize::new(0);
    within("ShardedRwLock stress", 120, || {
        std::thread::scope(|s| {
            for t in 0..8usize {
                let (lock, activity, writes) = (&lock, &activity, &writes);
                s.spawn(move || {
                    let mut x = t as u64 + 11;
                    for _ in 0..2_000u32 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        let short = Duration::from_micros(x % 200);
                        let write = |mut g: ShardedRwLockWriteGuard<'_, u64>| {
                            assert_eq!(
                                activity.fetch_add(10_000, Ordering::SeqCst),
                                0,
                                "writer not alone"
                            );
                            *g += 1;
                            writes.fetch_add(1, Ordering::Relaxed);
                            activity.fetch_sub(10_000, Ordering::SeqCst);
                        };
                        let read = |g: ShardedRwLockReadGuard<'_, u64>| {
                            assert!(
                                activity.fetch_add(1, Ordering::SeqCst) < 10_000,
                                "reader beside a writer"
                            );
                            std::hint::black_box(*g);
                            activity.fetch_sub(1, Ordering::SeqCst);
                        };
                        match x % 16 {
                            0 => write(lock.write()),
                            1 => lock.try_write().map_or((), write),
                            2 => lock.write_timeout(short).map_or((), write),
                            3 => lock.read_timeout(short).map_or((), read),
                            4 => lock.try_read().map_or((), read),
                            _ => read(lock.read()),
                        }
                    }
                });
            }
        });
    });
    assert_eq!(*lock.read(), writes.load(Ordering::Relaxed) as u64);
    assert!(idle(&lock));
}
