//! Who holds what: the caller's identity as a lock holder (its goroutine,
//! or its OS thread outside a goroutine), and, in debug builds, a marker of
//! the locks and guards each holder has, so that a primitive can turn a
//! certain self-deadlock into a panic that says what was wrong (issue 10,
//! item 4): a `Mutex` locked twice, an `RwLock` written while read, a
//! `SeqLock` written inside its own update, `Rcu::synchronize` under its
//! own guard, a map re-entered from its own closure. (`Once` keeps its
//! runner's [`holder`] in a field instead: its check is on a slow path, so
//! it runs in release builds too.)
//!
//! # Why the identity is the goroutine, not the thread
//!
//! Many goroutines share one worker thread, and a goroutine may hold a lock
//! across a park while another goroutine on its worker asks for it: that is
//! an ordinary wait, not a self-deadlock. So a holder is the running
//! goroutine when there is one ([`holder`]), and the OS thread otherwise.
//! Goroutines never change threads once started, so a thread-local table
//! keyed by holder sees every mark its holder made.
//!
//! # The marker (debug builds only)
//!
//! [`mark`] records `(holder, address, kind)` in a thread-local list when a
//! lock or guard is taken, [`unmark`] removes it when released, and
//! [`held`] answers "does the caller hold this address, and how?". The
//! list holds what one holder has at once (a handful), so a linear scan is
//! cheapest. Release builds compile all three to nothing, so the fast
//! paths of the primitives pay nothing; under loom too (the models check
//! orderings, not misuse).
//!
//! A guard that may move to another thread ([`RcuGuard`](crate::atomic::RcuGuard)
//! is `Send`) marks with a [`Mark`] whose drop clears a shared flag, so a
//! guard dropped on another thread leaves no stale mark: [`held`] skips
//! (and prunes) cleared entries.
//!
//! # Invariants
//!
//! - A mark is made and removed by its holder's own thread (a guard sent
//!   away clears its flag instead); the table is never shared.
//! - A holder id is never reused while the process lives: goroutine ids are
//!   unique, thread ids come from a process-wide counter.

#![cfg_attr(loom, allow(dead_code))]

use core::num::NonZeroU64;

use super::hook;

/// A holder's identity: a goroutine's id times two, or an OS thread's
/// process-unique number times two plus one (so the two never collide).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct HolderId(NonZeroU64);

impl HolderId {
    /// The raw value (never zero), for an atomic field.
    pub(crate) fn get(self) -> u64 {
        self.0.get()
    }

    /// Whether this holder is a goroutine (not a plain thread).
    #[allow(dead_code)]
    pub(crate) fn is_goroutine(self) -> bool {
        self.0.get() & 1 == 0
    }
}

/// The caller's holder id: the running goroutine, or this OS thread.
#[inline]
pub(crate) fn holder() -> HolderId {
    let raw = match hook::current() {
        Some(h) => h.goroutine_id() << 1,
        None => (thread_number() << 1) | 1,
    };
    HolderId(NonZeroU64::new(raw).expect("holder ids are never zero"))
}

/// This thread's process-unique number, from 1.
#[cfg(not(loom))]
fn thread_number() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    // Relaxed: a counter that only has to hand out distinct values.
    static NEXT: AtomicU64 = AtomicU64::new(1);
    std::thread_local! {
        static NUMBER: u64 = NEXT.fetch_add(1, Relaxed);
    }
    // During thread-local destruction: a fresh number, distinct from
    // every holder's (such a caller holds nothing marked).
    NUMBER
        .try_with(|n| *n)
        .unwrap_or_else(|_| NEXT.fetch_add(1, Relaxed))
}

#[cfg(loom)]
fn thread_number() -> u64 {
    1
}

/// How a holder has the thing at an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An exclusive lock (`Mutex`, `RwLock::write`).
    Exclusive,
    /// A shared lock (`RwLock::read`).
    Shared,
    /// An `Rcu` read guard.
    RcuGuard,
}

#[cfg(all(debug_assertions, not(loom)))]
mod table {
    use super::{holder, HolderId, Kind};
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    use std::sync::Arc;

    struct Entry {
        holder: HolderId,
        addr: usize,
        kind: Kind,
        /// For marks whose guard may move threads: cleared when it drops.
        live: Option<Arc<AtomicBool>>,
    }

    impl Entry {
        fn is_live(&self) -> bool {
            // Relaxed: the flag is only a hint to skip a mark whose guard
            // was dropped elsewhere; a stale read errs towards "held",
            // which is harmless because the holder that reads it is the one
            // that made the mark and sent the guard away before the drop
            // it would have to see.
            self.live.as_ref().map_or(true, |l| l.load(Relaxed))
        }
    }

    std::thread_local! {
        static TABLE: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) fn mark(addr: usize, kind: Kind, live: Option<Arc<AtomicBool>>) {
        let holder = holder();
        let _ = TABLE.try_with(|t| {
            if let Ok(mut t) = t.try_borrow_mut() {
                t.retain(Entry::is_live);
                t.push(Entry {
                    holder,
                    addr,
                    kind,
                    live,
                });
            }
        });
    }

    pub(crate) fn unmark(addr: usize, kind: Kind) {
        let holder = holder();
        let _ = TABLE.try_with(|t| {
            if let Ok(mut t) = t.try_borrow_mut() {
                // The newest matching mark: guards drop in any order, but
                // all marks of one (holder, addr, kind) are interchangeable.
                if let Some(i) = t
                    .iter()
                    .rposition(|e| e.holder == holder && e.addr == addr && e.kind == kind)
                {
                    t.swap_remove(i);
                }
            }
        });
    }

    pub(crate) fn held(addr: usize) -> Option<Kind> {
        let holder = holder();
        TABLE
            .try_with(|t| {
                let t = t.try_borrow().ok()?;
                // An exclusive mark first: it explains the most.
                let mut found = None;
                for e in t.iter().filter(|e| e.holder == holder && e.addr == addr) {
                    if !e.is_live() {
                        continue;
                    }
                    match e.kind {
                        Kind::Exclusive => return Some(e.kind),
                        k => found = Some(k),
                    }
                }
                found
            })
            .ok()
            .flatten()
    }
}

/// Records that the caller now holds `addr` as `kind` (debug builds only;
/// a no-op otherwise). Pair with [`unmark`].
#[inline]
#[allow(unused_variables)]
pub(crate) fn mark(addr: *const (), kind: Kind) {
    #[cfg(all(debug_assertions, not(loom)))]
    table::mark(addr as usize, kind, None);
}

/// Removes one mark of `addr` as `kind` made by the caller (debug builds).
#[inline]
#[allow(unused_variables)]
pub(crate) fn unmark(addr: *const (), kind: Kind) {
    #[cfg(all(debug_assertions, not(loom)))]
    table::unmark(addr as usize, kind);
}

/// How the caller holds `addr`, if it does (debug builds; always `None`
/// in release builds). An exclusive mark wins over the others.
#[inline]
#[allow(unused_variables)]
pub(crate) fn held(addr: *const ()) -> Option<Kind> {
    #[cfg(all(debug_assertions, not(loom)))]
    return table::held(addr as usize);
    #[cfg(not(all(debug_assertions, not(loom))))]
    None
}

/// A mark owned by a guard that may be dropped on another thread: its drop
/// removes the mark (same thread) or clears its flag (another thread).
/// Zero-sized in release builds.
pub(crate) struct Mark {
    #[cfg(all(debug_assertions, not(loom)))]
    inner: Option<(
        usize,
        Kind,
        HolderId,
        std::sync::Arc<std::sync::atomic::AtomicBool>,
    )>,
}

impl Mark {
    /// Marks `addr` as held by the caller as `kind` until the `Mark` drops.
    #[inline]
    #[allow(unused_variables)]
    pub(crate) fn new(addr: *const (), kind: Kind) -> Self {
        #[cfg(all(debug_assertions, not(loom)))]
        {
            let live = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
            table::mark(addr as usize, kind, Some(live.clone()));
            Self {
                inner: Some((addr as usize, kind, holder(), live)),
            }
        }
        #[cfg(not(all(debug_assertions, not(loom))))]
        Self {}
    }
}

impl Drop for Mark {
    #[inline]
    fn drop(&mut self) {
        #[cfg(all(debug_assertions, not(loom)))]
        if let Some((addr, kind, owner, live)) = self.inner.take() {
            // Relaxed: see `Entry::is_live`.
            live.store(false, std::sync::atomic::Ordering::Relaxed);
            if holder() == owner {
                table::unmark(addr, kind);
            }
        }
    }
}

#[cfg(all(test, debug_assertions, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn marks_are_per_holder_and_removed() {
        let x = 5u8;
        let a = &x as *const u8 as *const ();
        assert_eq!(held(a), None);
        mark(a, Kind::Shared);
        assert_eq!(held(a), Some(Kind::Shared));
        mark(a, Kind::Exclusive);
        assert_eq!(held(a), Some(Kind::Exclusive), "exclusive wins");
        std::thread::scope(|s| {
            let addr = a as usize;
            s.spawn(move || {
                let a = addr as *const ();
                assert_eq!(held(a), None, "another thread holds nothing");
            });
        });
        unmark(a, Kind::Exclusive);
        unmark(a, Kind::Shared);
        assert_eq!(held(a), None);
    }

    #[test]
    fn a_mark_dropped_on_another_thread_is_not_held() {
        let x = 5u8;
        let a = &x as *const u8 as *const ();
        let m = Mark::new(a, Kind::RcuGuard);
        assert_eq!(held(a), Some(Kind::RcuGuard));
        std::thread::scope(|s| {
            s.spawn(move || drop(m));
        });
        assert_eq!(held(a), None);
    }

    #[test]
    fn thread_and_goroutine_ids_differ() {
        let me = holder();
        assert!(!me.is_goroutine());
        let other = std::thread::spawn(holder).join().unwrap();
        assert_ne!(me, other);
    }
}
