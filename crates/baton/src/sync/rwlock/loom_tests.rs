//! Loom models of the reader-writer state machine (`raw_rwlock.rs`). The
//! value is a loom cell, so loom reports a reader and a writer (or two
//! writers) inside at once as a data race; a lost wake-up shows as a
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

fn bump(lock: &RwLock<LoomUnsafeCell<usize>>) {
    let g = lock.write();
    // SAFETY: the write lock excludes every other access (what loom checks).
    g.with_mut(|p| unsafe { *p += 1 });
}

fn peek(lock: &RwLock<LoomUnsafeCell<usize>>) -> usize {
    let g = lock.read();
    // SAFETY: the read lock excludes writers (what loom checks).
    g.with(|p| unsafe { *p })
}

/// A writer and a reader on other threads, and a writer here: mutual
/// exclusion, both writes counted, the reader sees a whole value.
#[test]
fn loom_rwlock_exclusion() {
    model(|| {
        let lock = Arc::new(RwLock::new(LoomUnsafeCell::new(0)));
        let l1 = lock.clone();
        let t1 = loom::thread::spawn(move || bump(&l1));
        let l2 = lock.clone();
        let t2 = loom::thread::spawn(move || peek(&l2));
        bump(&lock);
        t1.join().unwrap();
        assert!(t2.join().unwrap() <= 2);
        assert_eq!(peek(&lock), 2);
    });
}

/// Two readers racing with a writer: whoever waits is woken (no lost
/// wake-up in the read-unlock / drain hand-off or the batch admission).
#[test]
fn loom_rwlock_readers_and_writer_all_finish() {
    model(|| {
        let lock = Arc::new(RwLock::new(LoomUnsafeCell::new(0)));
        let ts: Vec<_> = (0..2)
            .map(|_| {
                let l = lock.clone();
                loom::thread::spawn(move || peek(&l))
            })
            .collect();
        bump(&lock);
        for t in ts {
            assert!(t.join().unwrap() <= 1);
        }
        assert!(lock.try_write().is_some(), "left locked");
    });
}

/// A writer that may time out while a reader is inside and another reader
/// waits behind it: whatever the outcome, nobody is stranded and the lock
/// ends free (a timed-out writer passes its claim on).
#[test]
fn loom_rwlock_write_timeout_passes_the_claim_on() {
    model(|| {
        let lock = Arc::new(RwLock::new(LoomUnsafeCell::new(0)));
        let l1 = lock.clone();
        let writer = loom::thread::spawn(move || {
            if let Some(g) = l1.write_timeout(Duration::from_millis(1)) {
                // SAFETY: write lock held.
                g.with_mut(|p| unsafe { *p += 1 });
            }
        });
        let l2 = lock.clone();
        let reader = loom::thread::spawn(move || peek(&l2));
        let r = peek(&lock);
        writer.join().unwrap();
        assert!(reader.join().unwrap() <= 1 && r <= 1);
        assert!(lock.try_write().is_some(), "left locked");
    });
}

/// A reader that may time out behind a writer: the writer's unlock and the
/// reader's departure never both count it, or neither.
#[test]
fn loom_rwlock_read_timeout_races_the_unlock() {
    model(|| {
        let lock = Arc::new(RwLock::new(LoomUnsafeCell::new(0)));
        let l1 = lock.clone();
        let reader = loom::thread::spawn(move || {
            // SAFETY: read lock held.
            l1.read_timeout(Duration::from_millis(1))
                .map(|g| g.with(|p| unsafe { *p }))
        });
        bump(&lock);
        let seen = reader.join().unwrap();
        assert!(matches!(seen, None | Some(0) | Some(1)));
        let w = lock.try_write();
        assert!(w.is_some(), "a reader was left counted in");
    });
}

/// Two writers (one may time out in the writers' queue or while draining)
/// and a reader, all at once: the claim hand-off between writers, the
/// reader batch and the time-out paths together lose no one.
#[test]
fn loom_rwlock_two_writers_and_a_reader() {
    model(|| {
        let lock = Arc::new(RwLock::new(LoomUnsafeCell::new(0)));
        let l1 = lock.clone();
        let timed = loom::thread::spawn(move || {
            l1.write_timeout(Duration::from_millis(1)).map(|g| {
                // SAFETY: write lock held.
                g.with_mut(|p| unsafe { *p += 1 })
            })
        });
        let l2 = lock.clone();
        let reader = loom::thread::spawn(move || peek(&l2));
        bump(&lock);
        let timed_in = timed.join().unwrap().is_some() as usize;
        assert!(reader.join().unwrap() <= 2);
        assert_eq!(peek(&lock), 1 + timed_in);
        assert!(lock.try_write().is_some(), "left locked");
    });
}
