//! [`Global`]: the state every participant of one collector shares — the
//! global epoch, the participant list, and the sealed garbage.
//!
//! ## Fields and who touches them
//!
//! | field | written by | read by | guarded by |
//! |---|---|---|---|
//! | `epoch` | `try_advance` (CAS) | every `pin`, `push_bag`, `collect` | atomic |
//! | `participants` | `register` (CAS push; nodes never removed) | `try_advance`, `register`, `pending` | atomic; nodes live until `Global` drops |
//! | `intake` | `push_bag` (CAS push), `collect` (swap to null) | — | atomic |
//! | `collecting` | `collect` | `collect` | a try-lock: whoever sets it owns `backlog` |
//! | `backlog` | `collect` | `collect` | `collecting` |
//! | `sealed_items` | `push_bag` (+), `run_bag` (-) | `pending` | atomic, statistics only |
//!
//! ## Why the intake is a push-only stack
//!
//! Any thread seals a bag at any time, so the hand-over must be lock-free.
//! A Treiber *push* has no ABA problem (a CAS that succeeds because the head
//! was freed and reallocated at the same address still links the new bag in
//! front of the current head, which is correct); only single-item *pop* does,
//! and the collector never pops single items: it takes the whole stack with
//! one `swap(null)`. The backlog behind the try-lock then keeps bags oldest
//! first, so expiry is checked at the front only. crossbeam instead keeps a
//! Michael–Scott queue of bags that is itself reclaimed by epochs; the
//! try-lock is simpler, and contention on it is harmless: a thread that
//! finds it taken skips collecting (someone is already doing it), and the
//! expired bags are run *after* the lock is released, so freeing proceeds
//! on several threads at once.

use core::fmt;
use core::ptr;

use super::bag::SealedBag;
use super::local::{Local, EPOCH_PINNED};
use crate::atomic::CachePadded;
use crate::shim::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicUsize,
    Ordering::{Acquire, Relaxed, Release, SeqCst},
};
use crate::shim::UnsafeCell;

/// At most this many expired bags (63 calls each) are run by one `collect`,
/// so that one unlucky `pin` does not pay for a whole backlog at once (after
/// a long-pinned thread lets go, thousands of bags may expire together).
/// Every participant collects every `PINS_BETWEEN_COLLECT` pins and seals
/// at most one bag per 63 deferred calls, so 64 bags per collect keeps well
/// ahead of any realistic rate of retirement.
const MAX_BAGS_PER_COLLECT: usize = 64;

/// Whether a bag stamped `stamp` may run, given that the global epoch has
/// reached `now`. The difference is taken as signed: a bag stamped *after*
/// the caller read `now` (another thread advanced and sealed meanwhile) has
/// `stamp > now`, and an unsigned `now - stamp` would wrap to a huge value
/// and free it early (loom found this: `loom_concurrent_collectors_*`).
#[inline]
fn is_expired(stamp: usize, now: usize) -> bool {
    (now.wrapping_sub(stamp) as isize) >= 2
}

/// Expired bags, oldest first; owned by whoever holds `Global::collecting`.
struct Backlog {
    head: *mut SealedBag,
    tail: *mut SealedBag,
}

/// The shared half of a collector (see the module docs for field ownership).
pub(super) struct Global {
    /// The global epoch: a plain counter, advanced by one at a time.
    epoch: CachePadded<AtomicUsize>,
    /// Head of the participant list; nodes are pushed, never removed.
    participants: AtomicPtr<Local>,
    /// Sealed bags handed over by any thread, newest first.
    intake: AtomicPtr<SealedBag>,
    /// The try-lock over `backlog`.
    collecting: AtomicBool,
    /// Bags waiting for their epoch to expire, oldest first.
    backlog: UnsafeCell<Backlog>,
    /// Deferred calls in sealed bags (intake and backlog) not yet run.
    sealed_items: AtomicUsize,
}

// SAFETY: the raw pointers in `backlog` are owned bags reached only under
// the `collecting` lock; `participants` and `intake` are atomics; bags are
// `Send` (see `Deferred`). Every field is safe to use from any thread.
unsafe impl Send for Global {}
// SAFETY: as above: all shared access goes through atomics or the lock.
unsafe impl Sync for Global {}

impl Global {
    pub(super) fn new() -> Self {
        Self {
            epoch: CachePadded::new(AtomicUsize::new(0)),
            participants: AtomicPtr::new(ptr::null_mut()),
            intake: AtomicPtr::new(ptr::null_mut()),
            collecting: AtomicBool::new(false),
            backlog: UnsafeCell::new(Backlog {
                head: ptr::null_mut(),
                tail: ptr::null_mut(),
            }),
            sealed_items: AtomicUsize::new(0),
        }
    }

    /// The global epoch, `Relaxed` (see `Local::enter` for why that suffices).
    #[inline]
    pub(super) fn epoch(&self) -> usize {
        self.epoch.load(Relaxed)
    }

    /// The participant list, newest first. Nodes are never freed while
    /// `self` lives, so the references are valid for `&self`.
    pub(super) fn participants(&self) -> impl Iterator<Item = &Local> {
        // Acquire: pairs with the Release CAS in `add_participant`, so the
        // node's fields (and, through the release sequence of CASes, every
        // older node's) are visible.
        let mut p = self.participants.load(Acquire);
        core::iter::from_fn(move || {
            // SAFETY: participant nodes are freed only in `Drop for Global`.
            let local = unsafe { p.as_ref() }?;
            p = local.next() as *mut Local;
            Some(local)
        })
    }

    /// Publishes a new participant node (owned by `self` from now on).
    pub(super) fn add_participant(&self, local: *mut Local) {
        let mut head = self.participants.load(Relaxed);
        loop {
            // SAFETY: `local` is not published yet; we are its only user.
            unsafe { (*local).set_next(head) };
            // Release: publishes the node's fields. Relaxed on failure: we
            // only retry with the fresh head.
            match self
                .participants
                .compare_exchange_weak(head, local, Release, Relaxed)
            {
                Ok(_) => return,
                Err(seen) => head = seen,
            }
        }
    }

    /// Seals `sealed` (a non-empty bag, boxed by its participant) with the
    /// current epoch and hands it to the collector.
    pub(super) fn push_bag(&self, sealed: Box<SealedBag>) {
        let n = sealed.bag.len();
        debug_assert!(n > 0, "epoch: sealing an empty bag");
        // SeqCst fence: the garbage in the bag was unlinked (by stores
        // sequenced before this point); the epoch we stamp must be read
        // after those stores in the single order of SeqCst fences, so that
        // a thread that pins later in that order cannot reach the garbage,
        // and one that pinned earlier is seen pinned by the advances that
        // would expire the stamp. See "Why nothing is freed too early" in
        // the module docs.
        fence(SeqCst);
        let epoch = self.epoch.load(Relaxed);
        let sealed = Box::into_raw(sealed);
        // SAFETY: not published yet; we own it.
        unsafe { (*sealed).epoch = epoch };
        // Relaxed: statistics; it is sequenced before the Release push below,
        // so the collector's subtraction always comes after this addition.
        self.sealed_items.fetch_add(n, Relaxed);
        let mut head = self.intake.load(Relaxed);
        loop {
            // SAFETY: `sealed` is not published yet; we own it.
            unsafe { (*sealed).next = head };
            // Release: the collector's Acquire swap must see the bag's
            // contents (the deferred calls and what they free).
            match self
                .intake
                .compare_exchange_weak(head, sealed, Release, Relaxed)
            {
                Ok(_) => return,
                Err(seen) => head = seen,
            }
        }
    }

    /// Advances the global epoch if every pinned participant is pinned in
    /// it; returns the epoch this call knows to be current (the new one if
    /// it advanced).
    #[cold]
    pub(super) fn try_advance(&self) -> usize {
        let global = self.epoch.load(Relaxed);
        // SeqCst fence: pairs with the fence in `Local::enter` (store-load
        // in both directions): either the scan below sees a participant's
        // pinned word, or that participant's later loads see everything
        // sequenced before this fence. It also acquires the store of
        // `global` we just read (a fence after a load acts as acquire).
        fence(SeqCst);
        for local in self.participants() {
            let word = local.epoch_word();
            if word & EPOCH_PINNED != 0 && word >> 1 != global {
                return global;
            }
        }
        // Acquire fence: the Relaxed loads above that saw a participant
        // unpinned read its Release unpin store; this fence makes that
        // participant's whole critical section happen-before our advance,
        // and so before any free that the advance allows.
        fence(Acquire);
        // A CAS rather than crossbeam's plain store: a stale advancer must
        // not move the epoch backwards, and the CAS makes that hold even
        // when the caller is not pinned (flush, thread exit). Release: the
        // collector that reads the new epoch must see our scan's acquired
        // critical sections (see above). On failure somebody else advanced.
        match self
            .epoch
            .compare_exchange(global, global.wrapping_add(1), Release, Relaxed)
        {
            Ok(_) => global.wrapping_add(1),
            Err(_) => global,
        }
    }

    /// Tries to advance the epoch, then detaches the expired garbage (at
    /// most `MAX_BAGS_PER_COLLECT` bags) for the caller to run (with
    /// [`run_bag`](Self::run_bag)) after the lock is released. Returns null
    /// if nothing expired or another thread is collecting.
    #[cold]
    pub(super) fn collect(&self) -> *mut SealedBag {
        let epoch = self.try_advance();
        // A plain load first, so that threads that would lose the race do
        // not pull the line over just to fail. Acquire on the CAS: pairs
        // with the Release that unlocks, so the backlog is ours to edit. A
        // CAS rather than `swap(true)` (the same lock on hardware, where
        // both are one RMW ordered after the previous holder's Release
        // store): with `swap`, loom 0.7.3 reported two collectors writing
        // the backlog unordered once `pin` collected before pinning (issue
        // 15), though each had swapped `false` -> `true` after the other's
        // unlock (traced). tokio-rs/loom#389 reports `swap` on an
        // `AtomicBool` misbehaving where a CAS does not; with the CAS loom
        // checks the lock as written and finds no race.
        if self.collecting.load(Relaxed)
            || self
                .collecting
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_err()
        {
            return ptr::null_mut();
        }
        // SAFETY: we hold the `collecting` lock, which owns the backlog.
        let expired = self
            .backlog
            .with_mut(|b| unsafe { self.take_expired(&mut *b, epoch) });
        self.collecting.store(false, Release);
        expired
    }

    /// Moves the intake into the backlog and detaches the expired prefix.
    ///
    /// # Safety
    ///
    /// The caller holds the `collecting` lock.
    unsafe fn take_expired(&self, backlog: &mut Backlog, epoch: usize) -> *mut SealedBag {
        // Acquire: pairs with the Release CAS in `push_bag`.
        let mut newest_first = self.intake.swap(ptr::null_mut(), Acquire);
        // Reverse into oldest-first order and append to the backlog.
        let mut chain: *mut SealedBag = ptr::null_mut();
        let chain_tail = newest_first;
        while !newest_first.is_null() {
            // SAFETY: bags in the intake are owned by the collector now.
            let next = unsafe { (*newest_first).next };
            // SAFETY: as above.
            unsafe { (*newest_first).next = chain };
            chain = newest_first;
            newest_first = next;
        }
        if !chain.is_null() {
            if backlog.tail.is_null() {
                backlog.head = chain;
            } else {
                // SAFETY: the backlog's bags are ours under the lock.
                unsafe { (*backlog.tail).next = chain };
            }
            backlog.tail = chain_tail;
        }
        // Detach the expired prefix: a bag stamped `s` expires once the
        // global epoch is `s + 2` (see the module docs).
        let expired = backlog.head;
        let mut last: *mut SealedBag = ptr::null_mut();
        let mut p = backlog.head;
        let mut taken = 0;
        while taken < MAX_BAGS_PER_COLLECT && !p.is_null() {
            // SAFETY: backlog bags are ours under the lock.
            let bag = unsafe { &*p };
            if !is_expired(bag.epoch, epoch) {
                break;
            }
            last = p;
            p = bag.next;
            taken += 1;
        }
        if last.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: `last` is a backlog bag; cut the chain after it.
        unsafe { (*last).next = ptr::null_mut() };
        backlog.head = p;
        if p.is_null() {
            backlog.tail = ptr::null_mut();
        }
        expired
    }

    /// Runs the garbage in a bag detached by `collect`, leaving it empty.
    pub(super) fn run_bag(&self, sealed: &mut SealedBag) {
        let n = sealed.bag.len();
        sealed.bag.run_all();
        // Relaxed: statistics only.
        self.sealed_items.fetch_sub(n, Relaxed);
    }

    /// Runs and frees a detached chain of bags (used when dropping).
    fn run_chain(&self, mut p: *mut SealedBag) {
        while !p.is_null() {
            // SAFETY: a detached chain is owned by us alone; each bag came
            // from `Box::into_raw` in `push_bag`.
            let mut sealed = unsafe { Box::from_raw(p) };
            p = sealed.next;
            self.run_bag(&mut sealed);
        }
    }

    /// Deferred calls waiting: those in sealed bags plus those in the
    /// participants' own bags. Not a snapshot (each count is read on its
    /// own), exact once the participants are quiescent.
    pub(super) fn pending(&self) -> usize {
        // Relaxed throughout: a statistic; callers that need an exact
        // figure synchronise with the participants first (e.g. join them).
        let local: usize = self.participants().map(Local::bag_len).sum();
        self.sealed_items.load(Relaxed) + local
    }
}

impl Drop for Global {
    fn drop(&mut self) {
        // `&mut self`: no participant holds the collector any more (each
        // registered participant keeps an `Arc<Global>`), so every
        // guard is gone and all garbage is safe to run.
        let mut backlog_head = self.backlog.with_mut(|b| {
            // SAFETY: exclusive access (`&mut self`).
            let b = unsafe { &mut *b };
            core::mem::replace(&mut b.head, ptr::null_mut())
        });
        self.run_chain(core::mem::replace(&mut backlog_head, ptr::null_mut()));
        let intake = self.intake.swap(ptr::null_mut(), Acquire);
        self.run_chain(intake);
        let mut p = self.participants.swap(ptr::null_mut(), Acquire);
        while !p.is_null() {
            // SAFETY: participant nodes came from `Box::into_raw` in
            // `Collector::register` and are freed only here.
            let local = unsafe { Box::from_raw(p) };
            debug_assert!(
                !local.is_in_use(),
                "epoch: collector dropped while a participant is registered"
            );
            p = local.next() as *mut Local;
        }
    }
}

impl fmt::Debug for Global {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Global")
            .field("epoch", &self.epoch())
            .field("pending", &self.pending())
            .finish_non_exhaustive()
    }
}
