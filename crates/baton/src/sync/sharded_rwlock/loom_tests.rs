//! Loom models of the sharded lock: two slots, readers on their own
//! slots, writers sweeping both. The value is a loom cell, so a reader and
//! a writer inside at once is reported as a data race; a lost wake-up as a
//! deadlock.

use super::*;
use crate::shim::Arc;
use loom::cell::UnsafeCell as LoomUnsafeCell;

/// Loom with `LOOM_MAX_PREEMPTIONS` if set (CI sets 2), else a bound of 2.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound.get_or_insert(2);
    b.check(f);
}

fn peek(lock: &ShardedRwLock<LoomUnsafeCell<usize>>) -> usize {
    let g = lock.read();
    // SAFETY: a read lock on our slot excludes writers (what loom checks).
    g.with(|p| unsafe { *p })
}

/// A reader on another thread, and a writer here: the writer waits for the
/// reader's slot and the reader for the writer, never both inside.
#[test]
fn loom_sharded_rwlock_reader_and_writer() {
    model(|| {
        let lock = Arc::new(ShardedRwLock::with_slots(LoomUnsafeCell::new(0), 2));
        let l = lock.clone();
        let reader = loom::thread::spawn(move || peek(&l));
        {
            let g = lock.write();
            // SAFETY: every slot is write-locked.
            g.with_mut(|p| unsafe { *p += 1 });
        }
        assert!(reader.join().unwrap() <= 1);
        assert_eq!(peek(&lock), 1);
    });
}

/// A writer that may time out while a reader holds its slot: it releases
/// the slots it claimed, and the lock ends free.
#[test]
fn loom_sharded_rwlock_write_timeout_releases_all() {
    model(|| {
        let lock = Arc::new(ShardedRwLock::with_slots(LoomUnsafeCell::new(0), 2));
        let l = lock.clone();
        let writer = loom::thread::spawn(move || {
            if let Some(g) = l.write_timeout(Duration::from_millis(1)) {
                // SAFETY: every slot is write-locked.
                g.with_mut(|p| unsafe { *p += 1 });
            }
        });
        let seen = peek(&lock);
        writer.join().unwrap();
        assert!(seen <= 1);
        assert!(lock.try_write().is_some(), "a slot was left locked");
    });
}
