//! A one-shot completion flag with room for one waiter: how a
//! [`JoinHandle`](crate::runtime::JoinHandle) waits for its goroutine.
//!
//! The goroutine stores its result, then calls [`JoinCell::complete`]; the
//! one joiner calls [`JoinCell::register`] with a way to wake it, then parks
//! until [`JoinCell::is_done`]. Parking is the caller's business (a goroutine
//! and a thread park differently), so the cell works for both.
//!
//! ## States
//!
//! | state | meaning | next |
//! |---|---|---|
//! | `EMPTY` | not done, no waiter | `register` → `WAITING`; `complete` → `DONE` |
//! | `WAITING` | not done; the waiter slot holds the joiner's waker | `complete` → `DONE`, and wakes it |
//! | `DONE` | done; the result may be read | final |
//!
//! ## Invariants
//!
//! - The waiter slot is written only by the joiner, while the state is
//!   `EMPTY` (before its CAS to `WAITING`), and read only by the completer
//!   after it swapped `WAITING` out — never by both at once. A joiner whose
//!   CAS fails (the state became `DONE`) takes its waker back itself: the
//!   completer saw `EMPTY` and left the slot alone.
//! - `register` is called at most once per cell (joining consumes the handle).
//! - The slot holds a waker exactly when the state is `WAITING` (or the
//!   joiner is between writing it and its CAS): it is a `MaybeUninit`, not
//!   an `Option`, because the state already says whether it is filled, and
//!   an `Option<Unparker>` is 8 bytes larger (the unparker has no niche
//!   left): the cell is part of every goroutine's header (see
//!   `goroutine.rs`, "Size"). Dropping a cell still `WAITING` drops the
//!   waker.
//!
//! ## Orderings
//!
//! - `complete`: `swap(AcqRel)` — `Release` publishes the result written
//!   before it to the joiner's `Acquire` load in `is_done`; `Acquire` pairs
//!   with the joiner's `Release` CAS so the completer sees the waker.
//! - `register`: CAS `Release` on success (publishes the waker), `Acquire`
//!   on failure (it found `DONE`: the result is then visible).

use crate::shim::atomic::{AtomicU32, Ordering::*};
use crate::shim::UnsafeCell;
use core::mem::MaybeUninit;

const EMPTY: u32 = 0;
const WAITING: u32 = 1;
const DONE: u32 = 2;

/// Something that wakes a parked joiner.
pub(crate) trait Wake {
    fn wake(self);
}

/// See the module docs.
pub(crate) struct JoinCell<W> {
    state: AtomicU32,
    /// Initialised exactly when the state is `WAITING` (see the module docs).
    waiter: UnsafeCell<MaybeUninit<W>>,
}

// SAFETY: the waiter slot is accessed by one party at a time, handed over
// through `state` with release/acquire (see the module docs); the waker
// itself moves from the joiner's thread to the completer's, hence `W: Send`.
unsafe impl<W: Send> Sync for JoinCell<W> {}

impl<W> core::fmt::Debug for JoinCell<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JoinCell")
            .field("state", &self.state.load(Relaxed))
            .finish()
    }
}

impl<W: Wake> JoinCell<W> {
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicU32::new(EMPTY),
            waiter: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Whether `complete` has run; `Acquire`, so a `true` makes the result
    /// visible.
    #[inline]
    pub(crate) fn is_done(&self) -> bool {
        self.state.load(Acquire) == DONE
    }

    /// Registers the joiner's waker. `false`: already done (nothing to wait
    /// for, and the waker is dropped here).
    pub(crate) fn register(&self, waker: W) -> bool {
        if self.is_done() {
            return false;
        }
        // SAFETY: the state is not `WAITING` (we are the only registrant and
        // have not registered), so the completer does not touch the slot.
        self.waiter.with_mut(|w| unsafe { (*w).write(waker) });
        match self
            .state
            .compare_exchange(EMPTY, WAITING, Release, Acquire)
        {
            Ok(_) => true,
            Err(actual) => {
                debug_assert_eq!(actual, DONE, "JoinCell registered twice");
                // SAFETY: the completer found `EMPTY`, so it never reads the
                // slot; it is still ours, initialised just above, and read
                // once here (the state stays `DONE`, so nobody reads it again).
                drop(self.waiter.with_mut(|w| unsafe { (*w).assume_init_read() }));
                false
            }
        }
    }

    /// Marks the cell done and wakes the waiter, if one registered.
    pub(crate) fn complete(&self) {
        // AcqRel: see the module docs.
        if self.state.swap(DONE, AcqRel) == WAITING {
            // SAFETY: the joiner wrote the slot before its CAS to `WAITING`,
            // which our swap acquired; the joiner no longer touches it, and
            // the state is now `DONE`, so this is the one read.
            let waker = self.waiter.with_mut(|w| unsafe { (*w).assume_init_read() });
            waker.wake();
        }
    }
}

impl<W> Drop for JoinCell<W> {
    fn drop(&mut self) {
        // `&mut self`: no other party; Relaxed is enough. Only `WAITING`
        // means the slot holds a waker nobody took.
        if self.state.load(Relaxed) == WAITING {
            // SAFETY: `WAITING` means the joiner's write is in the slot and
            // no completer took it (see the module docs); read once.
            drop(self.waiter.with_mut(|w| unsafe { (*w).assume_init_read() }));
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    struct Flag(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Wake for Flag {
        fn wake(self) {
            self.0.store(true, SeqCst);
        }
    }

    #[test]
    fn complete_wakes_registered_waiter() {
        let woke = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cell = JoinCell::new();
        assert!(cell.register(Flag(woke.clone())));
        assert!(!cell.is_done());
        cell.complete();
        assert!(cell.is_done());
        assert!(woke.load(SeqCst));
    }

    /// Counts its drops: a waker is dropped exactly once on every path.
    struct Counted(std::sync::Arc<std::sync::atomic::AtomicUsize>);
    impl Wake for Counted {
        fn wake(self) {}
    }
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn a_waker_is_dropped_once_on_every_path() {
        let drops = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // Registered, then the cell dropped undone: the cell drops it.
        let cell = JoinCell::new();
        assert!(cell.register(Counted(drops.clone())));
        drop(cell);
        assert_eq!(drops.load(SeqCst), 1);
        // Registered, then completed: woken (consumed) once, not again on drop.
        let cell = JoinCell::new();
        assert!(cell.register(Counted(drops.clone())));
        cell.complete();
        drop(cell);
        assert_eq!(drops.load(SeqCst), 2);
        // Refused (already done): dropped by `register`, not by the cell.
        let cell = JoinCell::new();
        cell.complete();
        assert!(!cell.register(Counted(drops.clone())));
        drop(cell);
        assert_eq!(drops.load(SeqCst), 3);
        // Never registered: nothing to drop.
        drop(JoinCell::<Counted>::new());
        assert_eq!(drops.load(SeqCst), 3);
    }

    #[test]
    fn register_after_complete_refuses() {
        let woke = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cell = JoinCell::new();
        cell.complete();
        assert!(!cell.register(Flag(woke.clone())));
        assert!(!woke.load(SeqCst));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::shim::atomic::AtomicUsize;
    use crate::shim::Arc;
    use loom::thread;

    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self) {
            self.0.unpark();
        }
    }

    /// The completer races the joiner's registration: the joiner always
    /// wakes (loom reports a deadlock otherwise) and sees the result.
    #[test]
    fn loom_join_cell_no_lost_wakeup() {
        loom::model(|| {
            let cell = Arc::new(JoinCell::new());
            let result = Arc::new(AtomicUsize::new(0));
            let completer = {
                let (cell, result) = (cell.clone(), result.clone());
                thread::spawn(move || {
                    result.store(7, Relaxed);
                    cell.complete();
                })
            };
            if cell.register(Unpark(thread::current())) {
                while !cell.is_done() {
                    thread::park();
                }
            }
            assert_eq!(result.load(Relaxed), 7);
            completer.join().unwrap();
        });
    }
}
