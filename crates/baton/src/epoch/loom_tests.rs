//! Loom models of epoch reclamation. Each model makes its own `Collector`
//! (loom needs fresh state per explored execution). Under loom a bag holds
//! 2 calls and a participant collects every 2 pins, so the models reach
//! sealing and collection in a few operations.
//!
//! How loom treats what the proof rests on: `fence(SeqCst)` is modelled
//! (each SeqCst fence joins a global causality, which orders the fences in
//! execution order; that is somewhat stronger than C++, where SC fences
//! order each other without creating happens-before), while SeqCst loads,
//! stores and RMWs are checked as if they were AcqRel. The epoch code uses
//! SeqCst fences only, so loom checks its argument as written. The models
//! were checked to fail when any one ordering is weakened: the pin fence,
//! the seal fence, the unpin Release, the scan's Acquire fence, the
//! participant check in `try_advance`, or the "two epochs" expiry rule.
//! They also pass with `LOOM_MAX_PREEMPTIONS=3`.

use super::*;
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering::*};
use loom::sync::Arc;
use loom::thread;

/// Runs `f` under loom with at most two preemptions unless the environment
/// asks for another bound.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(2);
    }
    b.check(f);
}

const POISON: u64 = 0xdead;

/// A value whose destructor writes to its own cell: loom reports any read
/// of the cell that is not ordered before the destructor (a use after
/// free), and the poison value catches the rest.
struct Canary {
    value: UnsafeCell<u64>,
}

impl Canary {
    fn new(v: u64) -> Self {
        Self {
            value: UnsafeCell::new(v),
        }
    }
    fn read(&self) -> u64 {
        // SAFETY: reads race only with the destructor, which loom checks.
        self.value.with(|p| unsafe { *p })
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: loom checks no read is concurrent.
        self.value.with_mut(|p| unsafe { *p = POISON });
    }
}

/// A reader pinned while it loads and reads a value; a writer that swaps
/// the value out, retires it, and collects as hard as it can. The reader
/// never sees a dropped value, whatever the interleaving.
#[test]
fn loom_nothing_is_freed_while_a_guard_can_see_it() {
    model(|| {
        let c = Collector::new();
        let shared = Arc::new(Atomic::new(Canary::new(1)));

        let writer = {
            let c = c.clone();
            let shared = shared.clone();
            thread::spawn(move || {
                let h = c.register();
                {
                    let g = h.pin();
                    let old = shared.swap(Owned::new(Canary::new(2)), AcqRel, &g);
                    // SAFETY: unlinked by the swap, retired once.
                    unsafe { g.defer_destroy(old) };
                    // Seal at once (the earliest stamp possible), advance.
                    g.flush();
                }
                // One more advance would expire the old value: try for it.
                h.pin().flush();
            })
        };

        let h = c.register();
        {
            let g = h.pin();
            let p = shared.load(Acquire, &g);
            // SAFETY: loaded under `g`; retired values stay alive while
            // `g` lives (what this model checks).
            let v = unsafe { p.deref() }.read();
            assert!(v == 1 || v == 2, "read a dropped value: {v:#x}");
        }
        writer.join().unwrap();
        drop(h);

        let last = Arc::try_unwrap(shared).unwrap_or_else(|_| panic!("one owner left"));
        // SAFETY: no thread can reach the value any more.
        drop(unsafe { last.into_owned() });
        drop(c); // runs whatever garbage is left
    });
}

/// Two threads retire garbage and exit; once nobody is pinned, a few
/// collections run all of it.
#[test]
fn loom_garbage_is_freed_after_all_unpin() {
    model(|| {
        let c = Collector::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let c = c.clone();
                let runs = runs.clone();
                thread::spawn(move || {
                    let h = c.register();
                    h.pin().defer(move || {
                        runs.fetch_add(1, Relaxed);
                    });
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let h = c.register();
        h.pin().flush();
        h.pin().flush();
        assert_eq!(runs.load(Relaxed), 2, "garbage left after all unpinned");
        assert_eq!(c.pending(), 0);
    });
}

/// Two threads flushing at once while one of them holds a value: the
/// epoch never runs backwards and the value is not freed early.
#[test]
fn loom_concurrent_collectors_respect_a_pinned_reader() {
    model(|| {
        let c = Collector::new();
        let shared = Arc::new(Atomic::new(Canary::new(1)));
        let h = c.register();
        let g = h.pin();
        let p = shared.load(Acquire, &g);

        let writer = {
            let c = c.clone();
            let shared = shared.clone();
            thread::spawn(move || {
                let h = c.register();
                let g = h.pin();
                let old = shared.swap(Shared::null(), AcqRel, &g);
                // SAFETY: unlinked by the swap, retired once.
                unsafe { g.defer_destroy(old) };
                drop(g);
                h.pin().flush();
            })
        };
        // Collect concurrently from the pinned thread too.
        g.flush();
        let before = c.epoch();
        g.flush();
        assert!(c.epoch() >= before, "the epoch went backwards");
        // SAFETY: loaded under `g`, which is still alive.
        assert_eq!(unsafe { p.deref() }.read(), 1);
        drop(g);
        writer.join().unwrap();
        drop(h);
        drop(c);
    });
}
