//! [`Local`]: one participant slot of a collector — the epoch word other
//! threads read, and the owner's bag of garbage and counters.
//!
//! ## The epoch word
//!
//! | word | meaning |
//! |---|---|
//! | `e << 1 \| 1` | pinned; the owner read global epoch `e` when it pinned |
//! | `e << 1 \| 0` | not pinned (`e` is stale and ignored) |
//!
//! Only the owner writes the word; `try_advance` reads it. A free slot
//! (`in_use == false`) is always unpinned.
//!
//! ## Ownership
//!
//! A slot is owned by at most one thread at a time: `register` claims it
//! (`in_use` false → true, Acquire) and `finalize` gives it back (Release),
//! so everything the previous owner did to `state` happens-before the next
//! owner's first access. `state` is touched by the owner only, never
//! re-entrantly (each access is one short closure that calls nothing
//! outside this file), which is what makes the `UnsafeCell` accesses sound.
//! Slots are never freed while the collector lives; a thread that exits
//! leaves its slot for the next thread that registers.
//!
//! ## Collecting unpinned
//!
//! Every `PINS_BETWEEN_COLLECT`-th outermost `pin` collects (tries to
//! advance the epoch and runs up to 64 expired bags of 63 calls) *before* it publishes
//! the pin, not after as crossbeam does. Collecting needs no pin: it reads
//! only the participant list (never freed while the collector lives), the
//! intake and the backlog (owned by the collector, handed over with atomics
//! and a try-lock), and bags it alone holds; an unpinned caller simply does
//! not count in `try_advance`. What it buys: a collect that runs thousands
//! of deferred frees is the longest stretch a thread spends in `pin`, and a
//! thread preempted while pinned stops the epoch for every thread until it
//! runs again. With more threads than cores that is the common case, and the
//! garbage of all threads piles up meanwhile (issue 15: at 8 threads on 2
//! cores a `Stack`'s node cache ran dry and `malloc`/`free` took about half
//! of the time). Collecting first keeps the pinned window to the caller's
//! own critical section. Garbage that pins while being run pins for itself
//! (the caller's guard is not counted yet), as it would on any thread.

use core::fmt;
use core::mem;
use core::ptr;

use super::bag::{Deferred, SealedBag};
use super::global::Global;
use super::Guard;
use crate::atomic::CachePadded;
use crate::shim::atomic::{
    fence, AtomicBool, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
};
use crate::shim::{Arc, UnsafeCell};

/// The low bit of the epoch word: set while pinned.
pub(super) const EPOCH_PINNED: usize = 1;

/// Every this many pins a participant tries to advance the epoch and run
/// expired garbage. Collecting costs a walk over the participant list (one
/// cache miss per participant), so doing it on every pin would make `pin`
/// scale with the thread count; 128 (crossbeam's figure) makes it about one
/// percent of pins while still collecting several times per sealed bag (a
/// bag fills after 63 deferred calls). Under loom it is 2, so that short
/// models collect.
#[cfg(not(loom))]
const PINS_BETWEEN_COLLECT: usize = 128;
#[cfg(loom)]
const PINS_BETWEEN_COLLECT: usize = 2;

/// The owner-only part of a slot.
struct LocalState {
    /// Garbage retired by the owner, not yet sealed.
    bag: Box<SealedBag>,
    /// An emptied bag kept for the next seal (see `SealedBag`).
    spare: Option<Box<SealedBag>>,
    /// Live `Guard`s of the owner (nested pins).
    guard_count: usize,
    /// Live `LocalHandle`s for this slot (one, or more while a thread-local
    /// handle is being torn down).
    handle_count: usize,
    /// Pins so far, for `PINS_BETWEEN_COLLECT`.
    pin_count: usize,
    /// Keeps the collector alive while the slot is in use (dropped last in
    /// `finalize`).
    collector: Option<Arc<Global>>,
}

/// A participant slot (see the module docs).
pub(super) struct Local {
    /// The epoch word; own cache line, since every `try_advance` reads it.
    epoch: CachePadded<AtomicUsize>,
    /// `state.bag.len()`, published for `pending()` (owner writes).
    bag_len: AtomicUsize,
    /// Whether a thread owns the slot.
    in_use: AtomicBool,
    /// The next (older) participant; written once before publication.
    next: *const Local,
    /// The collector the slot belongs to, for life.
    global: *const Global,
    /// Owner-only state.
    state: UnsafeCell<LocalState>,
}

impl Local {
    /// A new slot, already claimed (`in_use`) with one handle.
    pub(super) fn new_claimed(collector: Arc<Global>) -> Self {
        Self {
            epoch: CachePadded::new(AtomicUsize::new(0)),
            bag_len: AtomicUsize::new(0),
            in_use: AtomicBool::new(true),
            next: ptr::null(),
            global: Arc::as_ptr(&collector),
            state: UnsafeCell::new(LocalState {
                bag: SealedBag::new_boxed(),
                spare: None,
                guard_count: 0,
                handle_count: 1,
                pin_count: 0,
                collector: Some(collector),
            }),
        }
    }

    /// Claims the slot for the calling thread if it is free.
    pub(super) fn try_claim(&self, collector: &Arc<Global>) -> bool {
        // Relaxed pre-check avoids writing to lines of slots in use.
        // Acquire on success: pairs with the Release in `finalize`, so the
        // previous owner's accesses to `state` happen-before ours.
        if self.in_use.load(Relaxed)
            || self
                .in_use
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_err()
        {
            return false;
        }
        // SAFETY: we own the slot now; no guard or handle exists for it.
        unsafe {
            self.with_state(|s| {
                debug_assert!(s.bag.bag.is_empty() && s.guard_count == 0 && s.handle_count == 0);
                s.handle_count = 1;
                s.collector = Some(Arc::clone(collector));
            })
        };
        true
    }

    /// Runs `f` on the owner-only state.
    ///
    /// # Safety
    ///
    /// The caller is the slot's owner, and `f` does not reach `state` again.
    #[inline]
    unsafe fn with_state<R>(&self, f: impl FnOnce(&mut LocalState) -> R) -> R {
        // SAFETY: the caller is the only thread using `state`, and `f`
        // does not re-enter, so this is the only reference.
        self.state.with_mut(|s| f(unsafe { &mut *s }))
    }

    #[inline]
    pub(super) fn global(&self) -> &Global {
        // SAFETY: a slot is only used by its owner, which holds the
        // collector's `Arc` in `state.collector` until `finalize`.
        unsafe { &*self.global }
    }

    #[inline]
    pub(super) fn next(&self) -> *const Local {
        self.next
    }

    /// # Safety
    ///
    /// The slot is not yet published.
    pub(super) unsafe fn set_next(&mut self, next: *const Local) {
        self.next = next;
    }

    /// The epoch word, `Relaxed` (see `Global::try_advance`).
    #[inline]
    pub(super) fn epoch_word(&self) -> usize {
        self.epoch.load(Relaxed)
    }

    pub(super) fn bag_len(&self) -> usize {
        // Relaxed: statistics.
        self.bag_len.load(Relaxed)
    }

    pub(super) fn is_in_use(&self) -> bool {
        self.in_use.load(Relaxed)
    }

    /// Whether the owner is pinned (owner only).
    pub(super) fn is_pinned(&self) -> bool {
        self.epoch.load(Relaxed) & EPOCH_PINNED != 0
    }

    /// Pins the owner (nested pins just count). Every
    /// `PINS_BETWEEN_COLLECT`-th outermost pin first collects, *before*
    /// publishing the pin (see "Collecting unpinned" in the module docs).
    ///
    /// # Safety
    ///
    /// The caller is the slot's owner.
    #[inline]
    pub(super) unsafe fn pin(&self) -> Guard {
        // SAFETY: the caller is the owner; the closure does not re-enter.
        let (mut outer, collect) = unsafe {
            self.with_state(|s| {
                if s.guard_count != 0 {
                    s.guard_count = s
                        .guard_count
                        .checked_add(1)
                        .expect("epoch: too many nested guards");
                    return (false, false);
                }
                s.pin_count = s.pin_count.wrapping_add(1);
                if s.pin_count % PINS_BETWEEN_COLLECT == 0 {
                    // Counted after the collect (below).
                    return (true, true);
                }
                s.guard_count = 1;
                (true, false)
            })
        };
        if collect {
            // Not pinned yet (no guard counted): the garbage it runs may pin
            // for itself, as an outermost pin of its own.
            // SAFETY: the caller is the owner.
            unsafe { self.collect() };
            // SAFETY: as above. The garbage's guards are normally gone
            // again; one it leaked (`mem::forget`) left us pinned already.
            outer = unsafe {
                self.with_state(|s| {
                    let n = s.guard_count;
                    s.guard_count = n.checked_add(1).expect("epoch: too many nested guards");
                    n == 0
                })
            };
        }
        if outer {
            self.enter();
        }
        Guard::new(self)
    }

    /// The outermost pin: publish the epoch we are in, then fence.
    #[inline]
    fn enter(&self) {
        let global = self.global();
        // Relaxed: a stale epoch only makes us look older than we are,
        // which holds back advancing (safe) until we unpin; the fence below
        // is what orders the pin against everything else.
        let e = global.epoch();
        // Relaxed store + SeqCst fence: the store-load pattern. Our later
        // loads of shared pointers must not be satisfied before other
        // threads can see that we are pinned; a Release store would not
        // forbid that (it orders earlier accesses, not later loads), and
        // only a SeqCst fence orders a store before later loads. See the
        // module docs ("Why nothing is freed too early").
        self.epoch.store((e << 1) | EPOCH_PINNED, Relaxed);
        fence(SeqCst);
    }

    /// Drops one guard; the last one unpins.
    ///
    /// # Safety
    ///
    /// The caller is the slot's owner and holds a guard it gives up.
    #[inline]
    pub(super) unsafe fn unpin(&self) {
        // SAFETY: the caller is the owner; the closure does not re-enter.
        let (guards, handles) = unsafe {
            self.with_state(|s| {
                s.guard_count -= 1;
                (s.guard_count, s.handle_count)
            })
        };
        if guards == 0 {
            // Release: everything we read of shared memory while pinned
            // happens-before an advancer that sees us unpinned (its Acquire
            // fence), and so before any free that advance allows.
            self.epoch
                .store(self.epoch.load(Relaxed) & !EPOCH_PINNED, Release);
            if handles == 0 {
                // SAFETY: no guard and no handle is left; we are the owner.
                unsafe { self.finalize() };
            }
        }
    }

    /// Adds a handle (owner only).
    ///
    /// # Safety
    ///
    /// The caller is the slot's owner.
    pub(super) unsafe fn acquire_handle(&self) {
        // SAFETY: the caller is the owner.
        unsafe { self.with_state(|s| s.handle_count += 1) };
    }

    /// Drops a handle; with no guard left either, gives the slot up.
    ///
    /// # Safety
    ///
    /// The caller is the slot's owner and gives up a handle it holds.
    pub(super) unsafe fn release_handle(&self) {
        // SAFETY: the caller is the owner.
        let (guards, handles) = unsafe {
            self.with_state(|s| {
                s.handle_count -= 1;
                (s.guard_count, s.handle_count)
            })
        };
        if guards == 0 && handles == 0 {
            // SAFETY: no guard and no handle is left; we are the owner.
            unsafe { self.finalize() };
        }
    }

    /// Adds garbage to the bag, sealing the bag first if it is full.
    ///
    /// # Safety
    ///
    /// The caller is the slot's owner.
    #[inline]
    pub(super) unsafe fn defer(&self, mut d: Deferred) {
        loop {
            // SAFETY: the caller is the owner; the closure does not re-enter.
            match unsafe { self.with_state(|s| s.bag.bag.try_push(d).map(|()| s.bag.bag.len())) } {
                Ok(len) => {
                    // Relaxed: statistics.
                    self.bag_len.store(len, Relaxed);
                    return;
                }
                Err(back) => {
                    d = back;
                    // SAFETY: the caller is the owner.
                    unsafe { self.seal_bag() };
                }
            }
        }
    }

    /// Hands the bag (if not empty) to the collector.
    ///
    /// # Safety
    ///
    /// The caller is the slot's owner.
    #[cold]
    unsafe fn seal_bag(&self) {
        // SAFETY: the caller is the owner; the closure does not re-enter.
        let full = unsafe {
            self.with_state(|s| {
                if s.bag.bag.is_empty() {
                    return None;
                }
                let empty = s.spare.take().unwrap_or_else(SealedBag::new_boxed);
                Some(mem::replace(&mut s.bag, empty))
            })
        };
        if let Some(full) = full {
            self.global().push_bag(full);
            // Relaxed: statistics; cleared after the push so `pending` errs high.
            self.bag_len.store(0, Relaxed);
        }
    }

    /// Tries to advance the epoch and runs the garbage that expired,
    /// keeping one emptied bag as the spare.
    ///
    /// # Safety
    ///
    /// The caller is the slot's owner.
    #[cold]
    unsafe fn collect(&self) {
        let global = self.global();
        let mut p = global.collect();
        while !p.is_null() {
            // SAFETY: `collect` detached the chain for us alone; each bag
            // came from `Box::into_raw` in `push_bag`.
            let mut sealed = unsafe { Box::from_raw(p) };
            p = sealed.next;
            // Run outside `with_state`: the garbage may pin or defer.
            global.run_bag(&mut sealed);
            sealed.next = ptr::null_mut();
            // SAFETY: the caller is the owner; the closure does not re-enter
            // (dropping an empty bag runs nothing).
            unsafe {
                self.with_state(|s| {
                    if s.spare.is_none() {
                        s.spare = Some(sealed);
                    }
                })
            };
        }
    }

    /// Seals the bag and collects.
    ///
    /// # Safety
    ///
    /// The caller is the slot's owner.
    #[cold]
    pub(super) unsafe fn flush(&self) {
        // SAFETY: the caller is the owner.
        unsafe {
            self.seal_bag();
            self.collect();
        }
    }

    /// Gives the slot up: seal the bag, mark the slot free, drop the
    /// collector reference (last, since it may free this very slot).
    ///
    /// # Safety
    ///
    /// The caller is the owner, with no guard or handle left.
    #[cold]
    unsafe fn finalize(&self) {
        // SAFETY: the caller is the owner.
        unsafe { self.seal_bag() };
        // SAFETY: as above; the closure does not re-enter.
        let collector = unsafe { self.with_state(|s| s.collector.take()) };
        // Release: pairs with the Acquire claim in `try_claim` (the next
        // owner sees the emptied state).
        self.in_use.store(false, Release);
        // May drop the `Global`, which frees this slot: touch nothing after.
        drop(collector);
    }
}

impl fmt::Debug for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Local")
            .field("epoch_word", &self.epoch_word())
            .field("in_use", &self.is_in_use())
            .field("bag_len", &self.bag_len())
            .finish_non_exhaustive()
    }
}
