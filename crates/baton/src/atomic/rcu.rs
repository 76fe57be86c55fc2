//! [`Rcu`]: a read-copy-update cell for read-mostly values (configuration,
//! routing tables) that many threads read and few replace.
//!
//! A reader [`load`](Rcu::load)s the current version and gets a guard that
//! derefs to it; the load never waits and never loops. A writer builds a new
//! version and swaps it in ([`store`](Rcu::store), or
//! [`update`](Rcu::update), which retries with compare-and-swap when another
//! writer got there first). The old version is *retired*: freed later, once
//! no reader can still see it.
//!
//! ## How it works
//!
//! Versions live in [`Arc`]s; the cell holds one strong count of the current
//! version as a raw pointer. Each `Rcu` has an array of [`CachePadded`]
//! reader *slots* (a power of two, at least four per core), and each slot two
//! counters, one per epoch *parity*. A global (per-`Rcu`) epoch number `E`
//! only grows.
//!
//! - **Reader** (`load`): `e = E`; increment `slot.active[e & 1]`, where
//!   `slot` is picked by the calling thread's index; load the pointer. The
//!   guard remembers the counter; dropping it decrements the counter. Two
//!   RMWs and two loads, no loop, and the only line written is the slot's,
//!   which threads running at the same time rarely share.
//! - **Writer**: swap (or CAS) the pointer; read `t = E`; push the old
//!   version on a lock-free stack of retired versions tagged `t`; then make
//!   one non-blocking reclamation pass.
//! - **Reclamation pass** (one thread at a time, by a try-lock flag; a pass
//!   that finds the flag taken is skipped, never waited for): move the
//!   retired stack into buckets by tag, private to the pass holder; advance
//!   `E` from `k` to `k + 1` while `active[(k + 1) & 1]` is zero in every
//!   slot (and until everything retired could be freed); drop every version
//!   tagged `t` with `E >= t + GRACE`, where `GRACE = 3`. The retired
//!   versions and the flag live in `rcu/garbage.rs`, the guard in
//!   `rcu/guard.rs`.
//!
//! ## Invariants
//!
//! - `ptr` always holds one strong count of the current version (never null).
//! - A retired version is held, with its tag, in exactly one place: the
//!   incoming stack or the pass holder's buckets; `pending` counts them.
//! - `E` is written only by the holder of the reclamation flag, and only
//!   grows (64 bits: it never wraps).
//! - `slot.active[p]` is the number of live guards that incremented it (a
//!   guard decrements the very counter it incremented).
//!
//! ## Why a version is freed only when no reader can see it
//!
//! The argument uses `S`, the single total order of all `SeqCst` operations
//! in the Rust (C++20) memory model, which agrees with program order and
//! with "reads an older value than" (coherence-ordered-before).
//!
//! Take a reader `R` that holds version `p`, and the writer `W` that
//! replaced `p` by swapping the pointer and then read `E = t`.
//!
//! 1. `R` loaded `p`, so its pointer load read the value `W`'s swap
//!    overwrote: the load precedes the swap in `S`.
//! 2. `R` incremented its counter before that load, so `inc <S load <S swap`.
//! 3. `W` read `E = t` after the swap, and the store of `t + 1` comes later
//!    in `E`'s modification order, so `swap <S (W reads E) <S (store E = t+1)`.
//! 4. Freeing `p` needs `E >= t + 3`, so the advances `t+1 -> t+2` and
//!    `t+2 -> t+3` both happened, and each checked its counters *after*
//!    storing or reading `E = t + 1` (same thread, or through the flag's
//!    release/acquire): both checks come after `R`'s increment in `S`.
//! 5. Those two checks cover both parities. A `SeqCst` load that comes
//!    after an RMW in `S` reads that RMW's value or a later one; the counter
//!    only reads zero once `R`'s own decrement is in, and that decrement
//!    (`Release`) is read by the check's load (acquire), so everything `R`
//!    did with `p` happens before `p` is freed.
//!
//! The argument never uses the parity `R` chose: the parity only decides
//! *which* check waits for `R`, so the epoch load in `load` is `Relaxed`.
//! The parity is what makes progress possible: readers that arrive after an
//! advance count on the other parity, so a stream of short readers never
//! blocks the next advance.
//!
//! **Why `GRACE` is 3, not 2.** With `t + 2`, only one check is guaranteed
//! to follow the swap: the check for `t -> t+1` can run *before* the swap
//! (the pass holder checks, then `W` swaps and reads `E = t` before the pass
//! stores `t + 1`). A reader that read `E = t - 1` long before, and
//! incremented parity `(t+1) & 1` just after that check, would then be
//! missed by both `t -> t+1` (too early) and `t+1 -> t+2` (other parity),
//! and `p` would be freed under it. The loom model
//! `loom_rcu_straggler_reader_is_waited_for` replays that schedule.
//!
//! ## Orderings
//!
//! | operation | ordering | why |
//! |---|---|---|
//! | reader: load `E` | `Relaxed` | only picks a parity (progress, not safety; see above) |
//! | reader: `active[p] += 1` | `SeqCst` | step 2: must precede the pointer load in `S` (store-load order; no weaker ordering forbids the reorder) |
//! | reader: load pointer | `SeqCst` | steps 1-2; it is also an acquire, so the version's contents are visible |
//! | guard drop: `active[p] -= 1` | `Release` | the reader's uses of the version happen before the free (step 5) |
//! | writer: swap / CAS pointer | `SeqCst` | step 1, and a release that publishes the new version's contents |
//! | writer: load `E` for the tag | `SeqCst` | step 3 |
//! | writer: push retired | `Release` / `Acquire` on drain | the node's fields reach the pass holder |
//! | pass: store `E` | `SeqCst` | step 3 (`W`'s read of `E` is before it in `S`) |
//! | pass: load counters | `SeqCst` | steps 4-5 |
//! | reclamation flag | `Acquire` / `Release` | a lock: the private list and `E`'s latest value pass from holder to holder |
//! | `pending` | `Relaxed` inc, `Release` dec, `Acquire` read | [`synchronize`](Rcu::synchronize) returns early on zero and must see the frees |
//!
//! On x86-64 the `SeqCst` RMWs are the same `lock` instructions any RMW
//! uses and `SeqCst` loads are plain loads, so the reader pays nothing
//! extra for `SeqCst`. No `fence(SeqCst)` is needed outside loom: the
//! accesses in the pattern are themselves `SeqCst`. Loom models `SeqCst`
//! accesses as if they were `AcqRel`, so under `cfg(loom)` (only) a
//! `SeqCst` fence sits between the two accesses on each side of the pattern
//! (see `shim::seqcst_fence_under_loom`).
//!
//! ## Alternatives rejected
//!
//! - **`RwLock<Arc<T>>`**: every read writes the lock word, one cache line
//!   shared by all readers, which bounces between cores.
//! - **One reader counter per parity** (no slots): the same shared line.
//! - **Hazard pointers**: the reader publishes the pointer and re-checks that
//!   it is still current, a loop that another writer can make repeat: not
//!   wait-free.
//! - **arc-swap's debts**: per-thread debt slots registered in a global list,
//!   with writers "paying" debts of readers they race with. As fast on the
//!   read side, but far more machinery; our slots reuse the crate's thread
//!   index and cost `slots * 128` bytes per `Rcu`, which is fine for the few
//!   cells a program has.
//! - **Global epoch-based reclamation** (crossbeam-epoch, `baton::epoch`):
//!   needs thread registration and a shared epoch whose laggards delay every
//!   structure's garbage; and `baton::epoch` sits above this layer.
//! - **Quiescent-state RCU** (userspace-rcu's QSBR): readers cost nothing,
//!   but every thread must announce quiescent states, which a library cannot
//!   demand of its callers.
//! - **A blocking `synchronize` in every store** (flip the parity, wait for
//!   the old parity to drain): writers would wait for readers; here a store
//!   never waits, and the garbage it leaves is freed by a later pass.
//!
//! ## Usage rules
//!
//! - Keep guards short. A guard keeps its version alive, and also holds up
//!   every advance that checks its parity, so *every* version retired while
//!   it lives waits until it is dropped ([`pending`](Rcu::pending) grows).
//!   For a version to keep, use [`load_full`](Rcu::load_full) and drop the
//!   guard; an `Arc` delays nothing.
//! - A guard held across a preemption counts as held: when threads
//!   outnumber cores, a reader descheduled between `load` and the guard's
//!   drop holds back reclamation for its whole time off the CPU, and the
//!   versions stored meanwhile pile up (the 2-core stress test with 8
//!   threads has seen thousands pending at once). They are all freed by the
//!   first pass after it runs again. This is the price of a reader that
//!   writes only its own slot; arc-swap bounds garbage per reader instead,
//!   at the cost of writers helping readers.
//! - `mem::forget` on a guard leaks every later version of that `Rcu` until
//!   the `Rcu` is dropped (safe, but a leak).
//! - Never call [`synchronize`](Rcu::synchronize) while the calling thread
//!   (or goroutine) holds a guard of the same `Rcu`: it would wait for
//!   itself forever. Debug builds panic with a message instead.
//! - Old versions are dropped on whichever thread runs the pass that frees
//!   them (a writer, or `synchronize`).
//!
//! ## How `synchronize` waits
//!
//! A grace period waits for readers, and a reader may be a goroutine that
//! holds its guard across a park (a `sleep`, a channel receive) on the same
//! worker as the caller. So `synchronize` must never spin or yield the OS
//! thread without end (issue 10: on a one-worker runtime it hung, because
//! the reader never got the worker back;
//! `tests/regress_rcu_synchronize_parked_reader.rs`). It runs passes; on an
//! OS thread it spins a little between them (a reader about to drop is
//! the common case); then it parks with a time-out that doubles from
//! 50 us to 10 ms: a goroutine's park lets its worker run the reader, a
//! thread's sleeps without burning CPU.
//!
//! Rejected: readers waking the writer. A guard's drop would have to read
//! a "writer waiting" word after its decrement (with `SeqCst` on both
//! sides, Dekker's pattern), putting a second shared line and a branch on
//! the wait-free read path, which is what the cell is for. `synchronize`
//! is rare and already slow (it waits for every reader), so polling with a
//! bounded nap is the better trade.
//!
//! In debug builds a guard marks its cell as held by its goroutine or
//! thread (`park::held`), and `synchronize` panics instead of waiting for
//! the caller's own guard.

mod garbage;
mod guard;

use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::atomic::thread_index::thread_index;
use crate::atomic::{Backoff, CachePadded};
use crate::park::held::{self, Kind};
use crate::park::spin::ThreadSpin;
use crate::park::{self, wait_reason, WaitReason};
use crate::shim::atomic::Ordering::{Relaxed, SeqCst};
use crate::shim::atomic::{AtomicPtr, AtomicU64, AtomicUsize};
use crate::shim::{self, Arc};
use std::time::Duration;

use garbage::Garbage;
pub use guard::RcuGuard;

/// A retired version tagged `t` is freed once the epoch is `t + GRACE` or
/// more: then two advances, one per parity, have checked the reader counters
/// after the version was unlinked. Why 2 is not enough is in the module docs.
const GRACE: u64 = 3;

/// Reader slots per core: more slots than running threads make two threads
/// that run at once unlikely to share a slot's line, including when the
/// machine is oversubscribed (the lab runs 8 threads on 2 cores).
const SLOTS_PER_CORE: usize = 4;

/// The most slots [`Rcu::new`] picks: 1024 slots are 128 KiB per cell.
const MAX_DEFAULT_SLOTS: usize = 1024;

/// `synchronize`'s first park once its spin is over: about one wake-up's
/// cost, so a reader that drops its guard soon costs the writer little.
const SYNC_NAP_MIN: Duration = Duration::from_micros(50);

/// `synchronize`'s longest park: a reader that holds its guard for long
/// (across a `sleep`) is polled about a hundred times a second, which
/// costs nothing measurable, and delays `synchronize` by at most this much
/// after the guard drops.
const SYNC_NAP_MAX: Duration = Duration::from_millis(10);

/// A read-copy-update cell: wait-free reads of a shared value that writers
/// replace as a whole.
///
/// ```
/// use baton::atomic::Rcu;
/// use std::collections::HashMap;
///
/// let routes = Rcu::new(HashMap::from([("/", "index")]));
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             let table = routes.load(); // wait-free; keep it short
///             assert!(table.contains_key("/"));
///         });
///     }
///     s.spawn(|| {
///         routes.update(|old| {
///             let mut new = old.clone();
///             new.insert("/about", "about");
///             new
///         });
///     });
/// });
/// assert_eq!(routes.load()["/about"], "about");
/// routes.synchronize(); // wait until every old table is freed
/// assert_eq!(routes.pending(), 0);
/// ```
pub struct Rcu<T> {
    /// Read by every load; `ptr` written by writers, `epoch` by pass holders.
    head: CachePadded<Head<T>>,
    /// Reader counters; each written by the readers whose thread index maps
    /// to it, read by pass holders.
    slots: Box<[CachePadded<Slot>]>,
    /// `slots.len() - 1`; the length is a power of two.
    mask: usize,
    /// Writer-side state: retired versions and the reclamation flag.
    garbage: CachePadded<Garbage<T>>,
    /// The cell owns `Arc<T>`s (for drop check and auto traits).
    _owns: PhantomData<Arc<T>>,
}

struct Head<T> {
    /// The current version, from `Arc::into_raw`; holds one strong count.
    ptr: AtomicPtr<T>,
    /// The epoch `E`; only grows; written only by the pass holder.
    epoch: AtomicU64,
}

struct Slot {
    /// `active[p]`: live guards that counted themselves on parity `p`.
    active: [AtomicUsize; 2],
}

// SAFETY: the cell hands out `&T` to many threads (needs `T: Sync`) and
// drops `T`s on whichever thread frees them (needs `T: Send`), exactly like
// the `Arc<T>`s it holds; every other field is atomic or guarded by the
// reclamation flag.
unsafe impl<T: Send + Sync> Send for Rcu<T> {}
// SAFETY: as for `Send`: shared use only reads `T` through `&T` and moves
// `Arc<T>` between threads.
unsafe impl<T: Send + Sync> Sync for Rcu<T> {}

impl<T> Rcu<T> {
    /// A cell holding `value`, with the default number of reader slots
    /// (four per core, a power of two, at most 1024).
    ///
    /// ```
    /// let cell = baton::atomic::Rcu::new(5);
    /// assert_eq!(*cell.load(), 5);
    /// assert!(cell.slots().is_power_of_two());
    /// ```
    pub fn new(value: T) -> Self {
        Self::from_arc(Arc::new(value))
    }

    /// A cell holding the version `value` (no copy is made).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let v = Arc::new(String::from("v1"));
    /// let cell = baton::atomic::Rcu::from_arc(v.clone());
    /// assert!(Arc::ptr_eq(&cell.load_full(), &v));
    /// ```
    pub fn from_arc(value: Arc<T>) -> Self {
        Self::with_slots_arc(value, default_slots())
    }

    /// A cell holding `value` with `slots` reader slots (rounded up to a
    /// power of two). More slots spread readers further; each costs a
    /// cache line pair (128 bytes on x86-64).
    ///
    /// # Panics
    ///
    /// If `slots` is 0 or above `2^16`.
    ///
    /// ```
    /// let cell = baton::atomic::Rcu::with_slots(1, 3);
    /// assert_eq!(cell.slots(), 4);
    /// ```
    pub fn with_slots(value: T, slots: usize) -> Self {
        Self::with_slots_arc(Arc::new(value), slots)
    }

    fn with_slots_arc(value: Arc<T>, slots: usize) -> Self {
        assert!(
            (1..=1 << 16).contains(&slots),
            "Rcu::with_slots(_, {slots}): the slot count must be in 1..=65536"
        );
        let n = slots.next_power_of_two();
        Self {
            head: CachePadded::new(Head {
                ptr: AtomicPtr::new(Arc::into_raw(value).cast_mut()),
                epoch: AtomicU64::new(0),
            }),
            slots: (0..n)
                .map(|_| {
                    CachePadded::new(Slot {
                        active: [AtomicUsize::new(0), AtomicUsize::new(0)],
                    })
                })
                .collect(),
            mask: n - 1,
            garbage: CachePadded::new(Garbage::new()),
            _owns: PhantomData,
        }
    }

    /// The number of reader slots.
    ///
    /// ```
    /// assert_eq!(baton::atomic::Rcu::with_slots((), 8).slots(), 8);
    /// ```
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// The current version, behind a guard. Wait-free: a fixed handful of
    /// instructions whatever other threads do.
    ///
    /// While the guard lives, its version is not freed, and neither is any
    /// version retired after the guard was taken: drop guards soon (see the
    /// module's usage rules), or use [`load_full`](Self::load_full) to keep a
    /// version for long.
    ///
    /// ```
    /// let cell = baton::atomic::Rcu::new(vec![1, 2, 3]);
    /// let guard = cell.load();
    /// cell.store(vec![4]);
    /// assert_eq!(*guard, [1, 2, 3]); // the old version stays valid
    /// drop(guard);
    /// assert_eq!(*cell.load(), [4]);
    /// ```
    #[inline]
    pub fn load(&self) -> RcuGuard<'_, T> {
        let slot = &self.slots[thread_index() & self.mask];
        // Relaxed: the parity only steers progress (module docs, "Why ...").
        let parity = (self.head.epoch.load(Relaxed) & 1) as usize;
        let active = &slot.active[parity];
        // SeqCst: this increment must precede the pointer load in `S`
        // (step 2 of the proof), a store-then-load order only SeqCst keeps.
        active.fetch_add(1, SeqCst);
        shim::seqcst_fence_under_loom();
        // SeqCst: ordered after the increment in `S` (step 1); also an
        // acquire of the writer's swap, so the version's contents are visible.
        let ptr = self.head.ptr.load(SeqCst);
        RcuGuard {
            // SAFETY: `ptr` always holds a pointer from `Arc::into_raw`,
            // never null (invariant).
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            active,
            _mark: held::Mark::new(self.id(), Kind::RcuGuard),
        }
    }

    /// The current version as an `Arc`: one reference-count increment. Keep
    /// it as long as you like; it delays no reclamation.
    ///
    /// ```
    /// let cell = baton::atomic::Rcu::new(String::from("v1"));
    /// let v1 = cell.load_full();
    /// cell.store(String::from("v2"));
    /// cell.synchronize();
    /// assert_eq!(*v1, "v1"); // still ours
    /// ```
    #[inline]
    pub fn load_full(&self) -> Arc<T> {
        self.load().to_arc()
    }

    /// Replaces the current version with `value`. The old version is freed
    /// once no reader can see it. Never waits for readers.
    ///
    /// ```
    /// let cell = baton::atomic::Rcu::new(1);
    /// cell.store(2);
    /// assert_eq!(*cell.load(), 2);
    /// ```
    pub fn store(&self, value: T) {
        self.store_arc(Arc::new(value));
    }

    /// Replaces the current version with the version `value` (no copy).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cell = baton::atomic::Rcu::new(1);
    /// let v = Arc::new(2);
    /// cell.store_arc(v.clone());
    /// assert!(Arc::ptr_eq(&cell.load_full(), &v));
    /// ```
    pub fn store_arc(&self, value: Arc<T>) {
        let old = self.replace(value);
        self.retire(old);
    }

    /// Replaces the current version with `value` and returns the old one.
    ///
    /// ```
    /// let cell = baton::atomic::Rcu::new("old");
    /// let old = cell.swap("new");
    /// assert_eq!(*old, "old");
    /// assert_eq!(*cell.load(), "new");
    /// ```
    pub fn swap(&self, value: T) -> Arc<T> {
        self.swap_arc(Arc::new(value))
    }

    /// Replaces the current version with the version `value` and returns the
    /// old one.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cell = baton::atomic::Rcu::new(1);
    /// assert_eq!(*cell.swap_arc(Arc::new(2)), 1);
    /// ```
    pub fn swap_arc(&self, value: Arc<T>) -> Arc<T> {
        let old = self.replace(value);
        let ret = old.clone();
        self.retire(old);
        ret
    }

    /// Swaps `value` in; returns the old version with the cell's strong
    /// count, to be retired.
    fn replace(&self, value: Arc<T>) -> Arc<T> {
        let new = Arc::into_raw(value).cast_mut();
        // SeqCst: step 1 of the proof (readers' pointer loads that read the
        // old value precede this in `S`); also the release that publishes
        // the new version's contents.
        let old = self.head.ptr.swap(new, SeqCst);
        // SAFETY: `old` came from `Arc::into_raw` and carried the cell's
        // strong count, which the swap handed to us.
        unsafe { Arc::from_raw(old) }
    }

    /// Replaces the current version with `f(current)`, retrying (with `f`
    /// called again on the newer version) when another writer replaced it
    /// first; returns the version it stored. `f` may run several times, so
    /// it should have no side effects.
    ///
    /// ```
    /// let hits = baton::atomic::Rcu::new(0u64);
    /// std::thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| for _ in 0..100 { hits.update(|n| n + 1); });
    ///     }
    /// });
    /// assert_eq!(*hits.load(), 400);
    /// ```
    pub fn update(&self, mut f: impl FnMut(&T) -> T) -> Arc<T> {
        let backoff = Backoff::new();
        loop {
            // The guard keeps `current` alive, so its address cannot be
            // reused by a newer version while we compare against it (no ABA).
            let guard = self.load();
            let current = guard.ptr.as_ptr();
            let ret = Arc::new(f(&guard));
            // The cell's strong count is taken *before* the CAS publishes the
            // pointer: once published, another writer may swap it out and a
            // pass free it while this thread is preempted (we hold no guard on
            // it), so a count taken after the CAS could land on freed memory.
            // (It did: `tests/regress_rcu_update_publish_before_count.rs`.)
            let new_ptr = Arc::into_raw(Arc::clone(&ret)).cast_mut();
            // SeqCst on success: as the swap in `swap_arc`. Relaxed on
            // failure: we only retry, with a fresh `load`.
            match self
                .head
                .ptr
                .compare_exchange(current, new_ptr, SeqCst, Relaxed)
            {
                Ok(_) => {
                    drop(guard);
                    // SAFETY: `current` came from `Arc::into_raw` and carried
                    // the cell's strong count, which the CAS handed to us.
                    self.retire(unsafe { Arc::from_raw(current) });
                    return ret;
                }
                Err(_) => {
                    // SAFETY: `new_ptr` was never published; it holds the
                    // count taken for the cell above, which we take back.
                    drop(unsafe { Arc::from_raw(new_ptr) });
                    drop(guard);
                    // Spin audit (issue 10): a lost CAS means another writer
                    // stored; a retry loop, never a wait for anyone.
                    backoff.spin();
                }
            }
        }
    }

    /// The number of retired versions not yet freed: a snapshot, exact
    /// when no other thread is writing.
    ///
    /// ```
    /// let cell = baton::atomic::Rcu::new(1);
    /// let guard = cell.load();
    /// cell.store(2);
    /// assert_eq!(cell.pending(), 1); // `guard` may still read version 1
    /// drop(guard);
    /// cell.synchronize();
    /// assert_eq!(cell.pending(), 0);
    /// ```
    pub fn pending(&self) -> usize {
        // Acquire (inside): a caller that reads 0 sees the frees done
        // (`synchronize` relies on it).
        self.garbage.pending()
    }

    /// Frees what can be freed now, without waiting: one reclamation pass,
    /// skipped if another thread is running one. Writers already do this
    /// after every store; call it after dropping a long-held guard to free
    /// the versions it held up.
    ///
    /// ```
    /// let cell = baton::atomic::Rcu::new(1);
    /// let guard = cell.load();
    /// cell.store(2);
    /// drop(guard);
    /// cell.try_reclaim();
    /// assert_eq!(cell.pending(), 0);
    /// ```
    pub fn try_reclaim(&self) {
        self.reclaim_pass(0);
    }

    /// Waits until every version retired before this call is freed. It
    /// waits for the readers that still hold guards: a short spin on an OS
    /// thread, then parking with a growing time-out (module docs, "How
    /// `synchronize` waits"), so a reader that is a parked goroutine gets
    /// its worker back. It must not be called while the caller holds a
    /// guard of this cell: it would wait for itself forever.
    ///
    /// # Panics
    ///
    /// In debug builds, if the calling goroutine or thread holds a guard of
    /// this cell (that wait could never end).
    ///
    /// ```
    /// let cell = baton::atomic::Rcu::new(String::from("a"));
    /// for s in ["b", "c", "d"] {
    ///     cell.store(s.to_string());
    /// }
    /// cell.synchronize();
    /// assert_eq!(cell.pending(), 0);
    /// ```
    pub fn synchronize(&self) {
        if self.pending() == 0 {
            return;
        }
        // Everything retired before this call has a tag <= the epoch we
        // read now (its writer read `E` before our read, in happens-before
        // order), so it is freed once a pass runs at `E >= goal`.
        // Relaxed: coherence with that earlier read is all we need.
        let goal = self.head.epoch.load(Relaxed) + GRACE;
        if let Some(Kind::RcuGuard) = held::held(self.id()) {
            panic!(
                "baton::atomic::Rcu::synchronize called while this goroutine or thread holds \
                 a guard (from `load`) of the same Rcu: it would wait for itself forever; \
                 drop the guard first, or keep the value with `load_full`"
            );
        }
        let spin = ThreadSpin::new();
        let mut nap = SYNC_NAP_MIN;
        let mut reason = None;
        loop {
            if let Some(epoch) = self.reclaim_pass(goal) {
                if epoch >= goal {
                    return;
                }
            }
            if spin.spin() {
                continue;
            }
            // The readers we wait for may be goroutines parked on this very
            // worker: park (a goroutine lets its worker run them; a thread
            // sleeps), never yield in a loop. Readers do not wake us (their
            // drop is one decrement, kept free of a waker check), so the
            // park has a time-out that grows to `SYNC_NAP_MAX`.
            reason.get_or_insert_with(|| wait_reason(WaitReason::RcuSynchronize));
            park::park_timeout(nap);
            // Under loom a timed park never blocks (no clock): yield, so
            // the model runs the readers instead of this loop.
            if cfg!(loom) {
                shim::spin_loop();
            }
            nap = (nap * 2).min(SYNC_NAP_MAX);
        }
    }

    /// This cell's identity for the held-guard marker.
    fn id(&self) -> *const () {
        (self as *const Self).cast()
    }

    /// Retires an unlinked version and runs a pass.
    fn retire(&self, old: Arc<T>) {
        shim::seqcst_fence_under_loom();
        // SeqCst: step 3 of the proof; after the swap in `S`.
        let tag = self.head.epoch.load(SeqCst);
        self.garbage.push(old, tag);
        self.reclaim_pass(0);
    }

    /// One reclamation pass: advances the epoch towards `goal` (and as far
    /// as the retired versions need) while the readers allow, and frees
    /// what can be freed. Returns the epoch it left, or `None` if another
    /// pass was running.
    #[cold]
    fn reclaim_pass(&self, goal: u64) -> Option<u64> {
        self.garbage.try_pass(|pass| {
            // Relaxed: only pass holders store `E`, and taking the flag
            // made the last store visible.
            let mut epoch = self.head.epoch.load(Relaxed);
            let needed = pass.newest_tag().map_or(0, |t| t + GRACE);
            while epoch < goal.max(needed) && self.no_readers_on((epoch + 1) & 1) {
                epoch += 1;
                // SeqCst: step 3 (a writer's tag read of `epoch - 1`
                // precedes this store in `S`).
                self.head.epoch.store(epoch, SeqCst);
            }
            // Freed under the flag, so that `synchronize` knows a finished
            // pass left nothing half-freed.
            if let Some(limit) = epoch.checked_sub(GRACE) {
                pass.free_through(limit);
            }
            epoch
        })
    }

    /// Whether no guard counts itself on `parity` in any slot. Steps 4-5.
    fn no_readers_on(&self, parity: u64) -> bool {
        shim::seqcst_fence_under_loom();
        self.slots
            .iter()
            // SeqCst: after the readers' increments in `S` (step 5); the
            // acquire half pairs with the guards' Release decrements.
            .all(|slot| slot.active[parity as usize].load(SeqCst) == 0)
    }
}

impl<T> Drop for Rcu<T> {
    fn drop(&mut self) {
        // `&mut self`: no guard or other thread can see the cell. Relaxed
        // is enough under exclusive access. The retired versions go when
        // `garbage` is dropped.
        let current = self.head.ptr.load(Relaxed);
        // SAFETY: `ptr` holds the cell's strong count of the current version.
        drop(unsafe { Arc::from_raw(current) });
    }
}

impl<T: Default> Default for Rcu<T> {
    /// A cell holding `T::default()`.
    ///
    /// ```
    /// let cell: baton::atomic::Rcu<Vec<u8>> = Default::default();
    /// assert!(cell.load().is_empty());
    /// ```
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for Rcu<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for Rcu<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rcu")
            .field("value", &*self.load())
            .field("pending", &self.pending())
            .field("slots", &self.slots.len())
            .finish()
    }
}

/// Four slots per core, rounded up to a power of two and capped; under
/// loom, two (enough to model readers on different slots, and small).
fn default_slots() -> usize {
    if cfg!(loom) {
        return 2;
    }
    let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
    (cores * SLOTS_PER_CORE)
        .next_power_of_two()
        .min(MAX_DEFAULT_SLOTS)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    use std::sync::atomic::Ordering::SeqCst as StdSeqCst;

    /// Counts its drops in a shared counter.
    struct Counted(std::sync::Arc<StdAtomicUsize>, u64);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, StdSeqCst);
        }
    }

    fn counter() -> std::sync::Arc<StdAtomicUsize> {
        std::sync::Arc::new(StdAtomicUsize::new(0))
    }

    #[test]
    fn store_with_no_readers_frees_at_once() {
        let drops = counter();
        let cell = Rcu::new(Counted(drops.clone(), 0));
        for i in 1..=10 {
            cell.store(Counted(drops.clone(), i));
            assert_eq!(cell.pending(), 0, "no reader: the pass frees it");
            assert_eq!(drops.load(StdSeqCst), i as usize);
        }
        assert_eq!(cell.load().1, 10);
        drop(cell);
        assert_eq!(drops.load(StdSeqCst), 11, "drop frees the current one");
    }

    #[test]
    fn a_held_guard_holds_its_version_and_later_ones() {
        let drops = counter();
        let cell = Rcu::new(Counted(drops.clone(), 0));
        let guard = cell.load();
        for i in 1..=3 {
            cell.store(Counted(drops.clone(), i));
        }
        assert_eq!(guard.1, 0, "the guard still reads its version");
        assert_eq!(cell.pending(), 3);
        assert_eq!(drops.load(StdSeqCst), 0);
        drop(guard);
        cell.try_reclaim();
        assert_eq!(cell.pending(), 0);
        assert_eq!(drops.load(StdSeqCst), 3);
    }

    /// Readers that come and go, always overlapping (there is never a
    /// moment without a guard), must not stop reclamation: the parity lets
    /// each store's pass advance past the older reader.
    #[test]
    fn overlapping_readers_do_not_stop_reclamation() {
        let drops = counter();
        let cell = Rcu::new(Counted(drops.clone(), 0));
        let mut guard = cell.load();
        let mut most = 0;
        for i in 1..=1000 {
            cell.store(Counted(drops.clone(), i));
            let next = cell.load();
            drop(guard);
            guard = next;
            most = most.max(cell.pending());
        }
        assert!(most <= GRACE as usize, "garbage grew to {most}");
        drop(guard);
        cell.synchronize();
        assert_eq!(drops.load(StdSeqCst), 1000);
    }

    #[test]
    fn load_full_and_swap_keep_versions_alive() {
        let cell = Rcu::new(String::from("a"));
        let a = cell.load_full();
        let old = cell.swap(String::from("b"));
        assert!(Arc::ptr_eq(&a, &old));
        cell.store(String::from("c"));
        cell.synchronize();
        assert_eq!((a.as_str(), old.as_str()), ("a", "a"));
        assert_eq!(Arc::strong_count(&a), 2, "the cell let go of it");
        assert_eq!(*cell.load(), "c");
    }

    #[test]
    fn update_retries_and_loses_nothing_at_8_threads() {
        let cell = Rcu::with_slots(0u64, 2);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..500 {
                        let stored = cell.update(|n| n + 1);
                        assert!(*stored >= 1);
                    }
                });
            }
        });
        assert_eq!(*cell.load(), 4000);
        cell.synchronize();
        assert_eq!(cell.pending(), 0);
    }

    #[test]
    fn synchronize_waits_for_a_reader_on_another_thread() {
        let drops = counter();
        let cell = Rcu::new(Counted(drops.clone(), 0));
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let (cell, drops_ref) = (&cell, &drops);
        std::thread::scope(|s| {
            s.spawn(move || {
                let guard = cell.load();
                tx.send(()).unwrap();
                // Hold the guard until the main thread has stored.
                done_rx.recv().unwrap();
                assert_eq!(guard.1, 0, "still readable");
                assert_eq!(drops_ref.load(StdSeqCst), 0, "not freed under us");
            });
            rx.recv().unwrap();
            cell.store(Counted(drops.clone(), 1));
            done_tx.send(()).unwrap();
            cell.synchronize(); // returns once the reader has dropped
            assert_eq!(drops.load(StdSeqCst), 1);
        });
    }

    /// A panicking `T::drop` inside a pass releases the reclamation flag,
    /// so later passes still run.
    #[test]
    fn a_panicking_drop_does_not_wedge_reclamation() {
        struct Bomb(bool);
        impl Drop for Bomb {
            fn drop(&mut self) {
                if self.0 && !std::thread::panicking() {
                    panic!("boom");
                }
            }
        }
        let cell = Rcu::new(Bomb(true));
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cell.store(Bomb(false));
        }));
        assert!(r.is_err(), "the pass dropped the bomb");
        cell.store(Bomb(false));
        assert_eq!(cell.pending(), 1, "the lost one is still counted");
        cell.try_reclaim();
        assert!(cell.garbage.try_pass(|_| ()).is_some(), "flag released");
        assert!(!cell.load().0);
    }

    #[test]
    fn debug_shows_the_value() {
        let cell = Rcu::new(5);
        assert!(format!("{cell:?}").contains("value: 5"));
        assert_eq!(format!("{:?}", cell.load()), "5");
    }

    #[test]
    #[should_panic(expected = "slot count must be in 1..=65536")]
    fn zero_slots_is_rejected() {
        Rcu::with_slots((), 0);
    }
}

/// Compile-time checks of the `Send`/`Sync` bounds.
///
/// A `Cell` is not `Sync`, so an `Rcu` of it cannot be shared:
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// sync::<baton::atomic::Rcu<std::cell::Cell<u8>>>();
/// ```
/// An `Rc` is neither, so an `Rcu` of it cannot even be sent:
/// ```compile_fail
/// fn send<T: Send>() {}
/// send::<baton::atomic::Rcu<std::rc::Rc<u8>>>();
/// ```
/// A guard cannot outlive its cell:
/// ```compile_fail
/// let guard = {
///     let cell = baton::atomic::Rcu::new(1);
///     cell.load()
/// };
/// ```
/// While plain data is both:
/// ```
/// fn both<T: Send + Sync>() {}
/// both::<baton::atomic::Rcu<Vec<u8>>>();
/// both::<baton::atomic::RcuGuard<'static, Vec<u8>>>();
/// ```
#[cfg(doctest)]
pub struct RcuBoundsDoctests;

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::thread;

    /// A pair whose halves are always equal while it is alive. Reads go
    /// through a loom cell, and the drop writes the cell: loom reports a
    /// causality violation if a read is not ordered before the free, which
    /// is how these models see a use-after-free.
    struct Pair(loom::cell::UnsafeCell<(u64, u64)>);

    // SAFETY: test-only; loom checks every access to the cell for races.
    unsafe impl Sync for Pair {}

    impl Pair {
        fn new(n: u64) -> Self {
            Self(loom::cell::UnsafeCell::new((n, n)))
        }

        /// Reads the pair and checks it is whole; returns `n`.
        fn check(&self) -> u64 {
            // SAFETY: loom tracks this read against the drop's write.
            let (a, b) = self.0.with(|p| unsafe { *p });
            assert_eq!(a, b, "a reader saw a torn or freed pair");
            a
        }
    }

    impl Drop for Pair {
        fn drop(&mut self) {
            // SAFETY: `&mut self`; loom checks it against earlier reads.
            self.0.with_mut(|p| unsafe { *p = (u64::MAX, 0) });
        }
    }

    /// A reader loads while the writer stores twice and then waits for the
    /// old versions: the reader sees a whole value, nothing is freed under
    /// it, and (loom's leak check) everything is freed in the end.
    #[test]
    fn loom_rcu_reader_sees_whole_value_and_no_use_after_free() {
        loom::model(|| {
            let rcu = Arc::new(Rcu::new(Pair::new(0)));
            let reader = {
                let rcu = rcu.clone();
                thread::spawn(move || {
                    let guard = rcu.load();
                    let n = guard.check();
                    assert!(n <= 2);
                })
            };
            rcu.store(Pair::new(1));
            rcu.store(Pair::new(2));
            rcu.synchronize();
            assert_eq!(rcu.pending(), 0);
            reader.join().unwrap();
            assert_eq!(rcu.load().check(), 2);
        });
    }

    /// The schedule that makes `GRACE = 2` unsafe (module docs): a reader
    /// reads the epoch, a pass checks its parity before it counts itself,
    /// a second writer retires the version the reader then holds while
    /// that pass is half done, and a later pass frees it. With `GRACE = 3`
    /// the later pass must wait for the reader.
    #[test]
    fn loom_rcu_straggler_reader_is_waited_for() {
        loom::model(|| {
            let rcu = Arc::new(Rcu::with_slots(Pair::new(0), 1));
            let reader = {
                let rcu = rcu.clone();
                thread::spawn(move || {
                    rcu.load().check();
                })
            };
            let writer = {
                let rcu = rcu.clone();
                thread::spawn(move || rcu.store(Pair::new(1)))
            };
            rcu.store(Pair::new(2));
            writer.join().unwrap();
            rcu.try_reclaim();
            reader.join().unwrap();
        });
    }

    /// Two updaters race (one CAS must retry) while a reader keeps a
    /// version with `load_full`: no update is lost, the kept version
    /// stays valid after `synchronize`, and nothing leaks.
    #[test]
    fn loom_rcu_updates_race_and_load_full_outlives_reclaim() {
        loom::model(|| {
            let rcu = Arc::new(Rcu::with_slots(0u64, 1));
            let updaters: Vec<_> = (0..2)
                .map(|_| {
                    let rcu = rcu.clone();
                    thread::spawn(move || {
                        rcu.update(|n| n + 1);
                    })
                })
                .collect();
            let kept = rcu.load_full();
            for u in updaters {
                u.join().unwrap();
            }
            rcu.synchronize();
            assert!(*kept <= 2);
            assert_eq!(*rcu.load(), 2);
            assert_eq!(rcu.pending(), 0);
        });
    }
}
