//! [`SeqLock`]: snapshots of a small `Copy` value that readers take without
//! writing anything shared, and without ever waiting for a writer.
//!
//! A version number guards the value. A reader reads the version, copies
//! the value, and reads the version again; if the version did not change,
//! no write overlapped the copy and the copy is a snapshot, otherwise it
//! retries. Readers never write, so they never contend with each other (an
//! `RwLock`'s readers all write its lock word); writers take turns by
//! setting a lock bit in the version word with a compare-and-swap.
//!
//! ## Two copies: readers never wait for a writer
//!
//! The textbook seqlock keeps one copy and makes the version odd while a
//! writer changes it; readers that find it odd must wait. A writer that is
//! preempted mid-write (likely when threads outnumber cores) then stalls
//! every reader for a whole time slice, and a writer that writes in a loop
//! leaves readers almost no window: on the 2-core CI machine, 8 readers of
//! a 64-byte record beside a looping writer ran at 0.2-0.3x `RwLock`.
//!
//! So this seqlock keeps **two copies**, as Linux's `seqcount_latch` does
//! (`raw_write_seqcount_latch`, used by timekeeping so that even an NMI can
//! read the clock). Readers read the copy the version points at; a writer
//! first writes the *other* copy, then flips the version to point at it,
//! then brings the first copy up to date. Whatever the writer is doing,
//! the copy readers are sent to is not being written, so a reader only
//! retries when a flip happened during its own copy, and it never waits.
//! The cost is twice the memory and two copies per write; writes are the
//! rare operation.
//!
//! ## Soundness: no racy plain reads
//!
//! A reader may still copy a value while it is being written (a slow reader
//! whose copy gets overwritten after the writer's next flip). In the
//! textbook seqlock that copy is made with plain (or volatile) reads, which
//! in Rust's memory model (C++'s) is a data race and undefined behaviour
//! even if the torn copy is thrown away; volatile does not help. Here every
//! access to the shared copies is atomic: each copy is stored as 8-byte
//! chunks of
//! [`AtomicMaybeUninit<u64>`](atomic_maybe_uninit::AtomicMaybeUninit),
//! which loads and stores bytes that may be uninitialised (padding) with
//! inline assembly, so even a `T` with padding is copied soundly. A reader
//! copies the chunks with `Relaxed` loads into a local buffer and turns the
//! buffer into a `T` only after the second version check says it is whole,
//! so no torn `T` (an invalid `bool`, say) ever exists. This is the design
//! Hans Boehm proposes in "Can seqlocks get along with programming language
//! memory models?" (MSPC 2012), with his preferred reader: relaxed data
//! loads followed by an acquire fence.
//!
//! Any size and alignment of `T` works: each copy lives in a buffer aligned
//! to `max(8, align_of::<T>())` and a whole number of chunks long, and the
//! reader's local buffer has the same type, so the final read of `T` is
//! aligned.
//!
//! ## The version word
//!
//! `seq = (v << 2) | parked << 1 | locked`: `v` counts completed flips
//! (each write flips once), and readers read copy `v & 1`; `locked` is the
//! writers' lock; `parked` says a writer may be parked in `waiters`, so the
//! unlocking writer must wake one.
//!
//! | `v & 1` | `locked` | `parked` | readers | writers |
//! |---|---|---|---|---|
//! | `i` | 0 | 0 | read copy `i` (both copies hold the value) | may CAS `locked` to 1 |
//! | `i` | 0 | 1 | as above | may CAS `locked` to 1 (a woken writer is on its way) |
//! | `i` | 1 | 0 | read copy `i`; the owner may be writing copy `1 - i` | spin briefly (threads only), then set `parked` and park |
//! | `i` | 1 | 1 | as above | park (the owner's unlock wakes the queue's front) |
//!
//! A write, by the lock owner, with `v & 1 == i`: write copy `1 - i`; add
//! one flip to `v` (still locked; an RMW, so a `parked` bit set meanwhile
//! is kept): readers move to copy `1 - i`; write copy `i`; clear `locked`
//! and `parked` in one RMW, and if `parked` was set, wake the front waiter
//! (and set `parked` again if others remain). Readers compare only `v`, so
//! taking or releasing the lock, or parking, never makes them retry. `v`
//! wraps at `usize::MAX / 4`; a reader could mistake a torn copy for a
//! whole one only if exactly `2^(usize::BITS - 2)` writes completed during
//! its copy.
//!
//! ## Writers wait by parking
//!
//! A writer may hold the lock for as long as an [`update`](SeqLock::update)
//! closure runs, and that closure may block (receive from a channel, say):
//! a waiting writer must not spin or yield the OS thread without end, or
//! on a one-worker runtime the goroutine holding the lock never gets its
//! worker back (issue 10, `tests/regress_seqlock_write_parked_updater.rs`).
//! So a writer that finds the lock taken spins a little (only on an OS
//! thread: a spinning goroutine keeps its worker from the holder) and then
//! parks in a [`WaitQueue`], like `sync::Mutex`. The `parked` bit is set
//! under the queue's lock by a waiter that saw `locked`, and the unlocking
//! writer's RMW reads it, so a wake is never lost: either the unlock comes
//! first (the waiter's validation sees `locked` clear and retries) or the
//! bit is in place when the unlock reads it (and the waiter is queued,
//! both having happened in one critical section of the queue's lock).
//!
//! ## Orderings
//!
//! Writer: `CAS(s, s | LOCKED, Acquire)`; `fence(Release)`; chunk stores
//! to copy `1 - i` (`Relaxed`); `fetch_add(FLIP, Release)` (the flip);
//! `fence(Release)`; chunk stores to copy `i` (`Relaxed`);
//! `fetch_and(!(LOCKED | PARKED), Release)` (the unlock). Waiters set
//! `parked` with `Relaxed` RMWs. Reader: `load(Acquire) -> s1`; chunk
//! loads from copy `v1 & 1` (`Relaxed`); `fence(Acquire)`;
//! `load(Relaxed) -> s2`; accept if `v1 == v2`.
//!
//! The flip and the unlock are RMWs, not stores, so that a `parked` bit a
//! waiter sets meanwhile is neither lost nor missed; every write to the
//! word is an RMW, so each continues the release sequences before it.
//!
//! - **Reader's first load, `Acquire`**: it reads `v1` from the flip
//!   that set it, from that writer's unlock, or from a later lock CAS or
//!   `parked` RMW (which continue the unlock's release sequence); the
//!   flip and unlock are `Release` RMWs made after the flipping writer
//!   finished copy `v1 & 1`, so that copy's chunks happen before the
//!   reader's loads, which therefore see them or later ones.
//! - **The fences.** After `v1` is published, copy `v1 & 1` is written only
//!   by the write that starts at `v1` (after its flip to `v1 + 1`) and by
//!   the one that starts at `v1 + 1` (after its lock CAS, which stores
//!   `v1 + 1` with the lock bit). Each such chunk store follows, in its
//!   writer, a `fence(Release)` that follows a store of a version above
//!   `v1`. If a reader's chunk load reads one of them, the reader's
//!   `fence(Acquire)` synchronises with that writer fence, so the higher
//!   version happens before the reader's second load, which sees it (or
//!   later) and rejects the copy. The fences are the cheap way to order
//!   "relaxed loads, then a load" (Boehm §5): making every chunk load
//!   `Acquire`, or the second version read a read-modify-write, would cost
//!   more on ARM and POWER. On x86-64 both fences compile to nothing.
//! - **The reader's second load** may be `Relaxed`: the acquire fence
//!   before it does the ordering.
//! - **The writer's CAS, `Acquire`**: the previous write's chunk stores
//!   happen before ours (ours land later in each chunk's modification
//!   order, and `update` reads the latest value). The first
//!   `fence(Release)` orders the CAS's store before our stores to copy
//!   `1 - i`, for a stale reader still copying it.
//! - **The flip, `Release`**: our stores to copy `1 - i` happen before any
//!   reader that sees `v + 1`. The second `fence(Release)` orders the flip
//!   before our stores to copy `i`, for readers still copying it.
//! - **The unlock, `Release`**: our stores to copy `i` happen before the
//!   next writer's CAS, and so before its flip back to copy `i`.
//! - **`parked`, `Relaxed`**: set under the wait queue's lock, whose
//!   acquire/release orders it with the unlocker's wake; the unlock's RMW
//!   reads it (or the waiter's validation sees the unlock), which is all
//!   the no-lost-wake argument above needs.
//!
//! ## Alternatives rejected
//!
//! - **One copy with an odd "writing" version** (the textbook seqlock, and
//!   this module's first version): readers wait for writers; measured above.
//! - **Plain or `read_volatile` copies** (the C seqlock, crossbeam's
//!   `AtomicCell` fallback): a data race, undefined behaviour in Rust's
//!   model even when the copy is discarded.
//! - **`AtomicU64` chunks filled by transmuting `T`**: sound only for types
//!   with no padding; turning padding bytes into integers is undefined
//!   behaviour. `AtomicMaybeUninit` lifts that restriction.
//! - **`RwLock`/`Mutex`**: every reader writes the lock word, so readers
//!   contend with each other; the lab's `seqlock` experiment measures it.
//! - **[`Rcu`](super::Rcu)**: suits large values; for a few cache lines of
//!   `Copy` data, copying is cheaper than allocating a version per write.
//!
//! ## Usage rules
//!
//! - For small `Copy` values: a reader copies the whole value every try,
//!   and the lock holds two copies.
//! - Readers never wait, but under a steady stream of writes a reader
//!   retries whenever a flip lands inside its copy.
//! - Writers serialise on a lock bit: a writer that finds it taken spins
//!   briefly and then parks until the holder unlocks (see above). Keep
//!   `update` closures short all the same: readers do not wait, but every
//!   other writer does.

mod chunks;

use core::fmt;

use chunks::Chunks;

use crate::atomic::Backoff;
use crate::park::held::{self, Kind};
use crate::park::spin::ThreadSpin;
use crate::park::wait_queue::{Token, WaitQueue, Waited};
use crate::park::{wait_reason, WaitReason};
use crate::shim::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::shim::atomic::{fence, AtomicUsize};

/// The writers' lock bit in the version word.
const LOCKED: usize = 1;
/// A writer may be parked in `waiters`: the unlock must wake one.
const PARKED: usize = 2;
/// One flip: the version `v` sits above the lock and parked bits.
const FLIP: usize = 4;
/// The bits readers ignore when comparing versions.
const NOT_VERSION: usize = LOCKED | PARKED;
/// The token a woken writer gets: "the lock was released, try again".
const TRY_AGAIN: Token = Token::WAKE;

/// A sequence lock: lock-free snapshot reads of a small `Copy` value that
/// never wait for a writer; writers serialised by a lock bit.
///
/// ```
/// use baton::atomic::SeqLock;
///
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// struct Quote { bid: u64, ask: u64 }
///
/// let quote = SeqLock::new(Quote { bid: 100, ask: 101 });
/// std::thread::scope(|s| {
///     s.spawn(|| for i in 0..1000 {
///         quote.write(Quote { bid: 100 + i, ask: 101 + i });
///     });
///     for _ in 0..4 {
///         s.spawn(|| for _ in 0..1000 {
///             let q = quote.read(); // never torn
///             assert_eq!(q.ask, q.bid + 1);
///         });
///     }
/// });
/// assert_eq!(quote.read(), Quote { bid: 1099, ask: 1100 });
/// ```
pub struct SeqLock<T> {
    /// `(v << 2) | parked << 1 | locked` (see the state table). Read by
    /// all; `v` and `locked` written by the writer that holds `locked` (and
    /// the CAS that takes it), `parked` set by waiters under `waiters`' lock.
    seq: AtomicUsize,
    /// The two copies; readers read copy `v & 1`. Stored only by the lock
    /// holder, loaded by anyone.
    copies: [Chunks<T>; 2],
    /// Writers parked until the lock is released.
    waiters: WaitQueue,
}

// SAFETY: a `SeqLock<T>` owns `T`s; moving it moves them.
unsafe impl<T: Copy + Send> Send for SeqLock<T> {}
// SAFETY: shared use only copies `T`s in and out (atomically, chunk by
// chunk): each reader gets its own copy, as if it had been sent one; no
// `&T` is ever shared between threads.
unsafe impl<T: Copy + Send> Sync for SeqLock<T> {}

impl<T: Copy> SeqLock<T> {
    /// A seqlock holding `value`.
    ///
    /// ```
    /// let lock = baton::atomic::SeqLock::new([0u8; 3]);
    /// assert_eq!(lock.read(), [0, 0, 0]);
    /// ```
    pub fn new(value: T) -> Self {
        Self {
            seq: AtomicUsize::new(0),
            copies: [Chunks::new(value), Chunks::new(value)],
            waiters: WaitQueue::new(),
        }
    }

    /// A snapshot of the value. Takes no lock, writes nothing shared, and
    /// never waits for a writer; retries only if a writer's flip lands
    /// inside its copy.
    ///
    /// ```
    /// let lock = baton::atomic::SeqLock::new((1u32, 2.5f64));
    /// assert_eq!(lock.read(), (1, 2.5));
    /// ```
    #[inline]
    pub fn read(&self) -> T {
        match self.try_read() {
            Some(value) => value,
            None => self.read_slow(),
        }
    }

    #[cold]
    fn read_slow(&self) -> T {
        let backoff = Backoff::new();
        loop {
            // A failed try means a writer made progress, so a short spin
            // (never a yield) is enough before trying again. Spin audit
            // (issue 10): a reader never waits for a writer (two copies),
            // so this cannot wait for a parked goroutine.
            backoff.spin();
            if let Some(value) = self.try_read() {
                return value;
            }
        }
    }

    /// One attempt at a snapshot: `None` only if a writer flipped to a new
    /// value during the copy (a writer merely holding the lock does not
    /// make it fail).
    ///
    /// ```
    /// let lock = baton::atomic::SeqLock::new(5u64);
    /// assert_eq!(lock.try_read(), Some(5)); // no writer: always succeeds
    /// ```
    #[inline]
    pub fn try_read(&self) -> Option<T> {
        // Acquire: the copy we are sent to is complete as of this version.
        let s1 = self.seq.load(Acquire);
        let copy = self.copies[(s1 / FLIP) & 1].load(Relaxed);
        // Acquire fence: if a chunk load above saw a later write, that
        // writer's later version is visible to the load below (module docs).
        fence(Acquire);
        let s2 = self.seq.load(Relaxed);
        if (s1 ^ s2) & !NOT_VERSION != 0 {
            return None;
        }
        // SAFETY: no flip happened during the copy, so no write touched the
        // copy we read, and its chunks are those of one whole `T`.
        Some(unsafe { copy.assume_init_ref().assume_init() })
    }

    /// Replaces the value. Waits (a short spin on an OS thread, then
    /// parking) while another writer is writing; readers never wait for it.
    ///
    /// ```
    /// let lock = baton::atomic::SeqLock::new(1u16);
    /// lock.write(2);
    /// assert_eq!(lock.read(), 2);
    /// ```
    #[inline]
    pub fn write(&self, value: T) {
        self.lock().publish(&value);
    }

    /// Changes the value in place with `f`, with other writers excluded, so
    /// concurrent updates are never lost. Readers do not wait while `f`
    /// runs (they read the current value), but other writers do: keep it
    /// short. If `f` panics the value is left unchanged.
    ///
    /// `f` must not write to this lock (it holds the writers' lock); debug
    /// builds panic with a message if it tries.
    ///
    /// ```
    /// let hits = baton::atomic::SeqLock::new([0u64; 2]);
    /// std::thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| for _ in 0..100 { hits.update(|h| h[0] += 1) });
    ///     }
    /// });
    /// assert_eq!(hits.read(), [400, 0]);
    /// ```
    pub fn update(&self, f: impl FnOnce(&mut T)) {
        let write = self.lock();
        // Relaxed: we hold the lock, so no store to the current copy can
        // overlap, and the CAS's acquire made the last write's chunks
        // visible.
        let copy = self.copies[write.current].load(Relaxed);
        // SAFETY: the current copy is written only after a flip, and only
        // by the lock holder, which is us: it holds one whole `T`.
        let mut value = unsafe { copy.assume_init_ref().assume_init() };
        f(&mut value);
        write.publish(&value);
    }

    /// Takes the writers' lock bit.
    #[inline]
    fn lock(&self) -> Write<'_, T> {
        let s = self.seq.load(Relaxed);
        if s & LOCKED != 0
            // Acquire: the previous write's chunks happen before ours.
            || self
                .seq
                .compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed)
                .is_err()
        {
            return self.lock_slow();
        }
        self.locked(s)
    }

    /// Waits for the lock: spins while the holder is likely to finish soon
    /// (OS threads only), then parks in `waiters` (module docs, "Writers
    /// wait by parking"). The holder may be a parked goroutine, so the wait
    /// must end in a park, never in a yield loop.
    #[cold]
    fn lock_slow(&self) -> Write<'_, T> {
        if held::held(self.id()).is_some() {
            panic!(
                "baton::atomic::SeqLock::write (or update) called from inside an update of the \
                 same SeqLock, on the same goroutine or thread: it would wait for itself \
                 forever; change the value through the update closure's `&mut T` instead"
            );
        }
        let spin = ThreadSpin::new();
        let _reason = wait_reason(WaitReason::SeqLockWrite);
        loop {
            let s = self.seq.load(Relaxed);
            if s & LOCKED == 0 {
                // Keeps `parked`: other writers may still be queued.
                // Acquire: the previous write's chunks happen before ours.
                if self
                    .seq
                    .compare_exchange_weak(s, s | LOCKED, Acquire, Relaxed)
                    .is_ok()
                {
                    return self.locked(s);
                }
                continue;
            }
            if spin.spin() {
                continue;
            }
            let waited = self.waiters.wait(
                (),
                None,
                // Under the queue's lock: queue only while the lock is held
                // and `parked` is set, so the holder's unlock will wake us.
                |_| loop {
                    let s = self.seq.load(Relaxed);
                    if s & LOCKED == 0 {
                        return false;
                    }
                    if s & PARKED != 0
                        || self
                            .seq
                            .compare_exchange_weak(s, s | PARKED, Relaxed, Relaxed)
                            .is_ok()
                    {
                        return true;
                    }
                },
                || {},
                |_| {},
            );
            debug_assert!(matches!(
                waited,
                Waited::NotQueued | Waited::Woken(TRY_AGAIN)
            ));
            spin.reset();
        }
    }

    /// After the CAS `s -> s | LOCKED` succeeded.
    #[inline(always)]
    fn locked(&self, s: usize) -> Write<'_, T> {
        // Debug builds: the held marker, for `lock_slow`'s self-deadlock
        // check (compiled away in release builds).
        held::mark(self.id(), Kind::Exclusive);
        Write {
            lock: self,
            current: (s / FLIP) & 1,
        }
    }

    /// The value, from an exclusive borrow (no synchronisation needed).
    ///
    /// Not available when building with `cfg(loom)`, where the value is held
    /// in loom's atomics rather than in place.
    ///
    /// ```
    /// let mut lock = baton::atomic::SeqLock::new(1u8);
    /// *lock.get_mut() += 1;
    /// assert_eq!(lock.read(), 2);
    /// lock.write(7); // both copies are rewritten, so nothing stale shows
    /// assert_eq!(lock.read(), 7);
    /// ```
    #[cfg(not(loom))]
    pub fn get_mut(&mut self) -> &mut T {
        // The other copy may go stale; that is fine, because a write
        // rewrites the other copy before sending readers to it.
        let current = (self.seq.load(Relaxed) / FLIP) & 1;
        self.copies[current].get_mut()
    }

    /// The value, consuming the lock.
    ///
    /// ```
    /// assert_eq!(baton::atomic::SeqLock::new('x').into_inner(), 'x');
    /// ```
    pub fn into_inner(self) -> T {
        let current = (self.seq.load(Relaxed) / FLIP) & 1;
        let [a, b] = self.copies;
        if current == 0 { a } else { b }.into_inner()
    }
}

impl<T> SeqLock<T> {
    /// This lock's identity for the held marker (`park::held`).
    fn id(&self) -> *const () {
        (self as *const Self).cast()
    }

    /// Wakes the front parked writer after an unlock that cleared `parked`;
    /// sets `parked` again if more remain, so that the next unlock wakes
    /// the next one.
    #[cold]
    fn wake_writer(&self) {
        let mut q = self.waiters.lock();
        q.wake_front(TRY_AGAIN);
        if !q.is_empty() {
            // Relaxed: ordered by the queue's lock with the waiters'
            // validation; the woken writer retries the lock regardless.
            self.seq.fetch_or(PARKED, Relaxed);
        }
    }
}

/// A held writers' lock. [`publish`](Write::publish) writes a value;
/// dropping it unpublished (an `update` closure panicked) just unlocks,
/// leaving the value unchanged.
struct Write<'a, T> {
    lock: &'a SeqLock<T>,
    /// The copy readers read when we locked: `(v / FLIP) & 1`.
    current: usize,
}

impl<T: Copy> Write<'_, T> {
    /// Writes `value` to the other copy, flips readers to it, and brings
    /// the first copy up to date; the drop then unlocks.
    #[inline]
    fn publish(self, value: &T) {
        let lock = self.lock;
        let other = self.current ^ 1;
        // Release fence: orders our lock CAS before these stores, for a
        // stale reader still copying `other` (module docs, "The fences").
        fence(Release);
        lock.copies[other].store(value, Relaxed);
        // Release: the stores above happen before any reader sent here.
        // An RMW, not a store: a waiter may have set `parked` meanwhile.
        // (The add wraps `v` at the top of the word, as intended.)
        lock.seq.fetch_add(FLIP, Release);
        // Release fence: orders the flip before the stores below, for
        // readers still copying the old current copy.
        fence(Release);
        lock.copies[self.current].store(value, Relaxed);
        // `drop` unlocks.
    }
}

impl<T> Drop for Write<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Release: our stores happen before the next writer's CAS (and so
        // before its flip back to the copy we wrote last). An RMW: it must
        // read a `parked` bit set by a waiter, and clear it with the lock.
        held::unmark(self.lock.id(), Kind::Exclusive);
        let prev = self.lock.seq.fetch_and(!NOT_VERSION, Release);
        if prev & PARKED != 0 {
            self.lock.wake_writer();
        }
    }
}

impl<T: Copy + Default> Default for SeqLock<T> {
    /// A seqlock holding `T::default()`.
    ///
    /// ```
    /// let lock: baton::atomic::SeqLock<(u8, bool)> = Default::default();
    /// assert_eq!(lock.read(), (0, false));
    /// ```
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: Copy> From<T> for SeqLock<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: Copy + fmt::Debug> fmt::Debug for SeqLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeqLock")
            .field("value", &self.read())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn read_write_update_round_trip() {
        let lock = SeqLock::new([1u64, 2, 3]);
        assert_eq!(lock.read(), [1, 2, 3]);
        lock.write([4, 5, 6]);
        assert_eq!(lock.try_read(), Some([4, 5, 6]));
        lock.update(|v| v[1] = 50);
        assert_eq!(lock.read(), [4, 50, 6]);
        assert_eq!(
            lock.seq.load(Relaxed),
            2 * FLIP,
            "two writes, two flips, unlocked"
        );
        assert_eq!(lock.into_inner(), [4, 50, 6]);
    }

    #[test]
    fn readers_do_not_wait_for_a_writer_holding_the_lock() {
        let lock = SeqLock::new(7u32);
        let write = lock.lock();
        assert_eq!(lock.try_read(), Some(7), "the current copy is untouched");
        write.publish(&8);
        assert_eq!(lock.try_read(), Some(8));
        assert_eq!(lock.seq.load(Relaxed) & LOCKED, 0, "publish unlocks");
    }

    #[test]
    fn a_flip_during_a_copy_is_detected() {
        let lock = SeqLock::new(1u64);
        let s1 = lock.seq.load(Acquire);
        lock.write(2);
        let s2 = lock.seq.load(Relaxed);
        assert_ne!((s1 ^ s2) & !LOCKED, 0, "a reader spanning it would retry");
    }

    #[test]
    fn any_size_and_alignment() {
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[repr(align(64))]
        struct Wide {
            a: u8,
            b: u128,
        }
        #[derive(Clone, Copy, Debug, PartialEq)]
        struct Padded {
            a: u8,
            b: u64,
            c: u16,
        }
        fn check<T: Copy + PartialEq + core::fmt::Debug>(a: T, b: T) {
            let lock = SeqLock::new(a);
            assert_eq!(lock.read(), a);
            lock.write(b);
            assert_eq!(lock.read(), b);
            lock.update(|v| *v = a);
            assert_eq!(lock.read(), a);
        }
        check((), ());
        check(true, false);
        check([1u8, 2, 3], [4, 5, 6]);
        check(u128::MAX, 1);
        check(Padded { a: 1, b: 2, c: 3 }, Padded { a: 4, b: 5, c: 6 });
        check(Wide { a: 1, b: 2 }, Wide { a: 3, b: u128::MAX });
        check(Some('x'), None);
        check(&"borrowed", &"data");
    }

    #[test]
    fn get_mut_changes_the_value() {
        let mut lock = SeqLock::new((1u8, 2u64));
        lock.get_mut().1 = 20;
        assert_eq!(lock.read(), (1, 20));
    }

    #[test]
    fn a_panicking_update_changes_nothing_and_unlocks() {
        let lock = SeqLock::new([1u64, 1]);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            lock.update(|v| {
                v[0] = 99;
                panic!("boom");
            })
        }));
        assert!(r.is_err());
        assert_eq!(lock.try_read(), Some([1, 1]), "unchanged and unlocked");
        lock.write([2, 2]);
        assert_eq!(lock.read(), [2, 2]);
    }

    #[test]
    fn updates_from_8_threads_are_all_kept() {
        let lock = SeqLock::new([0u64; 4]);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..2000 {
                        lock.update(|v| v.iter_mut().for_each(|x| *x += 1));
                    }
                });
            }
        });
        assert_eq!(lock.read(), [16_000; 4]);
    }

    #[test]
    fn debug_and_default() {
        let lock: SeqLock<u8> = SeqLock::default();
        assert_eq!(format!("{lock:?}"), "SeqLock { value: 0 }");
        assert_eq!(SeqLock::from(3u8).read(), 3);
    }
}

/// Compile-time checks of the bounds.
///
/// A `&Cell` is `Copy` but not `Send`, so a seqlock of it cannot be shared
/// (each reader would get its own `&Cell` to the same cell):
/// ```compile_fail
/// fn sync<T: Sync>() {}
/// sync::<baton::atomic::SeqLock<&'static std::cell::Cell<u8>>>();
/// ```
/// Only `Copy` values (readers copy them out, possibly torn, and drop
/// nothing):
/// ```compile_fail
/// baton::atomic::SeqLock::new(String::new()).read();
/// ```
/// ```
/// fn both<T: Send + Sync>() {}
/// both::<baton::atomic::SeqLock<[u64; 8]>>();
/// ```
#[cfg(doctest)]
pub struct SeqLockBoundsDoctests;

#[cfg(all(test, loom))]
mod loom_tests {
    // Loom's chunk stand-in is sound for any `T`, but these models use
    // padding-free `[u64; 2]` so that each half is exactly one chunk.
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// A writer stores `[1, 1]` then `[2, 2]`; a reader's `read` and
    /// `try_read` never return a torn pair, and never go backwards.
    #[test]
    fn loom_seqlock_reader_never_returns_torn() {
        loom::model(|| {
            let lock = Arc::new(SeqLock::new([0u64; 2]));
            let writer = {
                let lock = lock.clone();
                thread::spawn(move || {
                    lock.write([1, 1]);
                    lock.write([2, 2]);
                })
            };
            let first = lock.read();
            assert_eq!(first[0], first[1], "torn read");
            if let Some(second) = lock.try_read() {
                assert_eq!(second[0], second[1], "torn try_read");
                assert!(second[0] >= first[0], "went backwards");
            }
            writer.join().unwrap();
            assert_eq!(lock.read(), [2, 2]);
        });
    }

    /// Two updaters serialise on the odd bit: neither update is lost, and
    /// a concurrent reader sees only whole values.
    #[test]
    fn loom_seqlock_updates_serialise() {
        loom::model(|| {
            let lock = Arc::new(SeqLock::new([0u64; 2]));
            let updaters: Vec<_> = (0..2)
                .map(|_| {
                    let lock = lock.clone();
                    thread::spawn(move || {
                        lock.update(|v| {
                            v[0] += 1;
                            v[1] += 1;
                        })
                    })
                })
                .collect();
            let seen = lock.read();
            assert_eq!(seen[0], seen[1], "torn read");
            for u in updaters {
                u.join().unwrap();
            }
            assert_eq!(lock.read(), [2, 2]);
        });
    }

    /// Three writers contend, so two may park at once: every unlock that
    /// finds `parked` wakes one, re-arms the bit while others remain, and
    /// no writer sleeps through the last unlock (loom reports a deadlock
    /// if one does). No update is lost.
    #[test]
    fn loom_seqlock_parked_writers_are_all_woken() {
        loom::model(|| {
            let lock = Arc::new(SeqLock::new(0u64));
            let writers: Vec<_> = (0..2)
                .map(|_| {
                    let lock = lock.clone();
                    thread::spawn(move || lock.update(|v| *v += 1))
                })
                .collect();
            lock.update(|v| *v += 1);
            for w in writers {
                w.join().unwrap();
            }
            assert_eq!(lock.read(), 3);
            assert_eq!(
                lock.seq.load(Relaxed) & NOT_VERSION,
                0,
                "unlocked, nobody parked"
            );
        });
    }

    /// A reader that is still copying while two *different* writers each
    /// finish a write: the second writer rewrites the very copy the reader
    /// is on before flipping, and the reader must still reject the mix.
    /// (With one writer thread the first write's fences also cover the
    /// second write's stores, so this needs two.) Three preemptions reach
    /// the schedule; the model stays small enough for that.
    #[test]
    fn loom_seqlock_stale_reader_two_writers() {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(|| {
            let lock = Arc::new(SeqLock::new([0u64; 2]));
            let writers: Vec<_> = [1, 2]
                .into_iter()
                .map(|n| {
                    let lock = lock.clone();
                    thread::spawn(move || lock.write([n, n]))
                })
                .collect();
            if let Some(seen) = lock.try_read() {
                assert_eq!(seen[0], seen[1], "torn read");
            }
            for w in writers {
                w.join().unwrap();
            }
        });
    }
}
