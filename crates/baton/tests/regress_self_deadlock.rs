//! Regression (issue 10, item 4): self-deadlocks that used to hang with no
//! output now panic with a message naming the primitive and the fix. Each
//! case runs from a plain thread and from a goroutine of a one-worker
//! runtime (where the holder is the goroutine, not the worker thread), and
//! each is guarded by the watchdog, so the old behaviour (a hang) fails
//! with a message.
//!
//! The marker-based checks (`Mutex`, `RwLock`, `ShardedRwLock`, `Rcu`, the maps) are on in
//! debug builds only, like these tests; `Once`'s check is on in release too.
//! Two goroutines sharing a worker, one holding a lock across a park while
//! the other asks for it, is an ordinary wait, not a self-deadlock: tested
//! below too.

#![cfg(not(loom))] // the runtime is not built under loom

mod common;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use baton::runtime::Builder;

/// Runs `f` on a thread and then in a goroutine of a one-worker runtime;
/// each must panic with a message containing every one of `expected`.
fn panics_with(what: &'static str, expected: &'static [&'static str], f: fn()) {
    common::within(what, 30, move || {
        let err = std::panic::catch_unwind(AssertUnwindSafe(f)).expect_err("a thread panics");
        let msg = err
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| err.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        for e in expected {
            assert!(msg.contains(e), "{what} (thread): {msg:?} lacks {e:?}");
        }
        let rt = Builder::new().workers(1).build();
        let panic = rt.go(f).join().expect_err("a goroutine panics");
        let msg = panic.message().unwrap_or_default().to_string();
        for e in expected {
            assert!(msg.contains(e), "{what} (goroutine): {msg:?} lacks {e:?}");
        }
    });
}

#[cfg(debug_assertions)]
#[test]
fn mutex_locked_twice() {
    panics_with(
        "Mutex locked twice",
        &["baton::sync::Mutex locked twice", "drop the first guard"],
        || {
            let m = baton::sync::Mutex::new(0);
            let _a = m.lock();
            let _b = m.lock();
        },
    );
}

#[cfg(debug_assertions)]
#[test]
fn mutex_relocked_after_cond_wait_is_fine_and_then_detected() {
    // `Cond::wait` forgets and re-makes the guard: the marker must follow.
    panics_with(
        "Mutex locked twice after Cond::wait",
        &["baton::sync::Mutex locked twice"],
        || {
            let m = baton::sync::Mutex::new(0);
            let c = baton::sync::Cond::new();
            let g = m.lock();
            let (g, timed_out) = c.wait_timeout(g, Duration::from_millis(1));
            assert!(timed_out);
            drop(g);
            let _a = m.lock(); // fine: the first guard is gone
            let _b = m.lock();
        },
    );
}

#[cfg(debug_assertions)]
#[test]
fn rwlock_write_then_read_and_read_then_write() {
    panics_with(
        "RwLock write then read",
        &["RwLock::read", "holds the write lock"],
        || {
            let l = baton::sync::RwLock::new(0);
            let _w = l.write();
            let _r = l.read();
        },
    );
    panics_with(
        "RwLock read then write",
        &["RwLock::write", "holds a read lock"],
        || {
            let l = baton::sync::RwLock::new(0);
            let _r = l.read();
            let _w = l.write();
        },
    );
    panics_with(
        "RwLock write then write",
        &["RwLock::write", "holds the write lock"],
        || {
            let l = baton::sync::RwLock::new(0);
            let _w = l.write();
            let _w2 = l.write();
        },
    );
}

/// `ShardedRwLock` (issue 10's note: its guards were not recorded, so
/// these hung for ever instead of panicking).
#[cfg(debug_assertions)]
#[test]
fn sharded_rwlock_write_then_read_and_read_then_write() {
    panics_with(
        "ShardedRwLock write then read",
        &["ShardedRwLock::read", "holds the write lock"],
        || {
            let l = baton::sync::ShardedRwLock::new(0);
            let _w = l.write();
            let _r = l.read();
        },
    );
    panics_with(
        "ShardedRwLock read then write",
        &["ShardedRwLock::write", "holds a read lock"],
        || {
            let l = baton::sync::ShardedRwLock::new(0);
            let _r = l.read();
            let _w = l.write();
        },
    );
    panics_with(
        "ShardedRwLock write then write",
        &["ShardedRwLock::write", "holds the write lock"],
        || {
            let l = baton::sync::ShardedRwLock::new(0);
            let _w = l.write();
            let _w2 = l.write();
        },
    );
    // Not a self-deadlock: two reads, then (after both are dropped) a write.
    let l = baton::sync::ShardedRwLock::new(1);
    {
        let (a, b) = (l.read(), l.read());
        assert_eq!(*a + *b, 2);
    }
    *l.write() += 1;
    assert_eq!(*l.read(), 2);
}

/// Read inside read is fine until a writer waits; then it would hang.
#[cfg(debug_assertions)]
#[test]
fn rwlock_read_inside_read_while_a_writer_waits() {
    panics_with(
        "RwLock read inside read with a waiting writer",
        &["RwLock::read", "a read lock while a writer waits"],
        || {
            let l = Arc::new(baton::sync::RwLock::new(0));
            let r1 = l.read();
            let writer = {
                let l = l.clone();
                std::thread::spawn(move || *l.write() += 1)
            };
            // Wait until the writer has claimed the lock (new reads fail).
            while let Some(r) = l.try_read() {
                drop(r);
                std::thread::sleep(Duration::from_millis(1));
            }
            // Drop the first read lock while unwinding, so the writer ends.
            let _r1 = r1;
            let _ = &writer;
            let _r2 = l.read();
        },
    );
}

#[test]
fn once_called_from_its_own_action() {
    panics_with(
        "recursive Once",
        &["Once::call_once", "from inside its own initialiser"],
        || {
            let once = baton::sync::Once::new();
            once.call_once(|| once.call_once(|| ()));
        },
    );
    panics_with(
        "recursive OnceCell",
        &["from inside its own initialiser"],
        || {
            let cell = baton::sync::OnceCell::new();
            cell.get_or_init(|| *cell.get_or_init(|| 1) + 1);
        },
    );
}

#[cfg(debug_assertions)]
#[test]
fn rcu_synchronize_under_its_own_guard() {
    panics_with(
        "Rcu::synchronize under its own guard",
        &["Rcu::synchronize", "drop the guard first"],
        || {
            let rcu = baton::atomic::Rcu::new(1);
            let _g = rcu.load();
            rcu.store(2);
            rcu.synchronize();
        },
    );
}

#[cfg(debug_assertions)]
#[test]
fn seqlock_written_from_inside_its_own_update() {
    panics_with(
        "SeqLock write inside update",
        &[
            "SeqLock::write",
            "from inside an update of the same SeqLock",
        ],
        || {
            let lock = baton::atomic::SeqLock::new(0u32);
            lock.update(|v| {
                *v += 1;
                lock.write(5);
            });
        },
    );
}

#[cfg(debug_assertions)]
#[test]
fn sharded_map_reentered_from_its_closure() {
    panics_with(
        "ShardedMap re-entry",
        &[
            "baton::collections::ShardedMap re-entered",
            "copy what you need out",
        ],
        || {
            // One shard: both keys are in it.
            let m = baton::collections::ShardedMap::with_shards(1);
            m.insert(1, 1);
            m.with(&1, |_| m.insert(2, 2));
        },
    );
    panics_with(
        "ShardedMap read inside read",
        &["baton::collections::ShardedMap re-entered"],
        || {
            let m = baton::collections::ShardedMap::with_shards(1);
            m.insert(1, 1);
            m.with(&1, |_| m.get_cloned(&1));
        },
    );
}

#[cfg(debug_assertions)]
#[test]
fn handle_map_insert_from_with() {
    panics_with(
        "HandleMap re-entry",
        &["baton::collections::HandleMap re-entered"],
        || {
            let m = baton::collections::HandleMap::with_shards(1);
            let h = m.insert(1);
            let _ = m.with(h, |_| m.insert(2));
        },
    );
}

/// Not a self-deadlock: two goroutines on one worker, the first holding
/// each lock across a park, the second asking for it. The second must
/// wait (no panic), and get it once the first lets go.
#[test]
fn a_lock_held_across_a_park_by_another_goroutine_on_the_worker_is_waited_for() {
    common::within("locks shared by goroutines of one worker", 30, || {
        let rt = Builder::new().workers(1).build();
        rt.run(|| {
            let m = Arc::new(baton::sync::Mutex::new(0));
            let l = Arc::new(baton::sync::RwLock::new(0));
            let rcu = Arc::new(baton::atomic::Rcu::new(0));
            let holder = {
                let (m, l, rcu) = (m.clone(), l.clone(), rcu.clone());
                baton::go(move || {
                    let _g = m.lock();
                    let _w = l.write();
                    let _r = rcu.load();
                    baton::time::sleep(Duration::from_millis(30));
                })
            };
            baton::time::sleep(Duration::from_millis(5));
            *m.lock() += 1;
            *l.write() += 1;
            rcu.store(1);
            rcu.synchronize();
            holder.join().unwrap();
            assert_eq!((*m.lock(), *l.read()), (1, 1));
        });
    });
}
