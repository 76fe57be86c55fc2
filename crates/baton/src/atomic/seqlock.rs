//! [`SeqLock`]: snapshots of a small `Copy` value that readers take without
//! writing anything shared.
//!
//! A version number guards the value: even when it is stable, odd while a
//! writer is changing it. A reader reads the version, copies the value,
//! and reads the version again; if the two agree and are even, no write
//! overlapped the copy and the copy is a snapshot, otherwise it retries.
//! Readers never write, so they never contend with each other (an
//! `RwLock`'s readers all write its lock word); writers take turns by
//! setting the version's odd bit with a compare-and-swap.
//!
//! ## Soundness: no racy plain reads
//!
//! The textbook seqlock copies the value with plain (or volatile) reads
//! while a writer may be writing it. In Rust's memory model (C++'s) that
//! is a data race and undefined behaviour even if the torn copy is thrown
//! away, and volatile does not help. Here every access to the shared value
//! is atomic: the value is stored as 8-byte chunks of
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
//! Any size and alignment of `T` works: the chunks live in a buffer
//! aligned to `max(8, align_of::<T>())` and a whole number of chunks long,
//! and the reader's local buffer has the same type, so the final read of
//! `T` is aligned.
//!
//! ## States of the version word
//!
//! | version | meaning | readers | writers |
//! |---|---|---|---|
//! | even `2k` | stable: the value is what the `k`-th write stored | copy, then re-check | may CAS `2k -> 2k+1` to start writing |
//! | odd `2k+1` | a writer owns the value and may be storing chunks | back off and retry | back off and retry |
//!
//! The version only grows (wrapping at `usize::MAX`); a writer ends at
//! `2k + 2` even if its update closure panicked (then the value is
//! unchanged). A reader could mistake a torn copy for a whole one only if
//! exactly `2^(usize::BITS - 1)` writes completed during its copy.
//!
//! ## Orderings
//!
//! Writer: `CAS(2k, 2k+1, Acquire)`; `fence(Release)`; chunk stores
//! `Relaxed`; `store(2k+2, Release)`. Reader: `load(Acquire) -> s1`; chunk
//! loads `Relaxed`; `fence(Acquire)`; `load(Relaxed) -> s2`; accept if
//! `s1 == s2` and even.
//!
//! - The reader's first load is `Acquire` and pairs with the `Release`
//!   store that ended write `k`: that write's chunks happen before the
//!   reader's loads, which therefore see them or later ones.
//! - If any chunk load read a store of a later write, that store comes
//!   after the later writer's `fence(Release)`, and the reader's
//!   `fence(Acquire)` comes after the load: the fences synchronise, so the
//!   later writer's odd version happens before the reader's second load,
//!   which sees it (or later) and rejects the copy. The fences are the
//!   cheap way to order "relaxed loads, then a load" (Boehm §5): making
//!   every chunk load `Acquire`, or the second version read a
//!   read-modify-write, would cost more on ARM and POWER. On x86-64 both
//!   fences compile to nothing.
//! - The second version load may be `Relaxed`: the acquire fence before it
//!   does the ordering.
//! - The writer's CAS is `Acquire` so that the previous write's chunk
//!   stores happen before ours (our stores land later in each chunk's
//!   modification order, and `update` reads the latest value); it needs no
//!   `Release` because nothing before it is published.
//! - The final store is `Release` so that the chunk stores happen before
//!   any reader that sees `2k + 2`.
//!
//! ## Alternatives rejected
//!
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
//! - For small `Copy` values: a reader copies the whole value every try.
//! - A writer blocks readers (they spin, then yield) and other writers for
//!   as long as its write takes: keep `update` closures short, and expect
//!   readers to retry under a steady stream of writes.
//! - Writers never block in the OS: they spin with [`Backoff`] (then
//!   yield). Use a real lock if writers hold the value for long.

mod chunks;

use core::fmt;

use chunks::Chunks;

use crate::atomic::Backoff;
use crate::shim::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::shim::atomic::{fence, AtomicUsize};

/// A sequence lock: lock-free snapshot reads of a small `Copy` value,
/// writers serialised by the version number's odd bit.
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
    /// The version (see the state table). Written by writers, read by all.
    seq: AtomicUsize,
    /// The value, as atomic chunks. Stored by the writer that owns the odd
    /// version; loaded by anyone.
    data: Chunks<T>,
}

// SAFETY: a `SeqLock<T>` owns a `T`; moving it moves the `T`.
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
            data: Chunks::new(value),
        }
    }

    /// A snapshot of the value. Takes no lock and writes nothing shared;
    /// retries (spinning, then yielding) while a write overlaps it.
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
            backoff.snooze();
            if let Some(value) = self.try_read() {
                return value;
            }
        }
    }

    /// One attempt at a snapshot: `None` if a write was in progress or
    /// overlapped the copy.
    ///
    /// ```
    /// let lock = baton::atomic::SeqLock::new(5u64);
    /// assert_eq!(lock.try_read(), Some(5)); // no writer: always succeeds
    /// ```
    #[inline]
    pub fn try_read(&self) -> Option<T> {
        // Acquire: pairs with the Release that ended the write we start
        // from, so its chunks are visible.
        let s1 = self.seq.load(Acquire);
        if s1 & 1 != 0 {
            return None;
        }
        let copy = self.data.load(Relaxed);
        // Acquire fence: if a chunk load above saw a later write, that
        // writer's odd version is visible to the load below (module docs).
        fence(Acquire);
        let s2 = self.seq.load(Relaxed);
        if s1 != s2 {
            return None;
        }
        // SAFETY: the version was even and unchanged across the copy, so no
        // write overlapped it and the chunks are those of one whole `T`.
        Some(unsafe { copy.assume_init_ref().assume_init() })
    }

    /// Replaces the value. Waits (spinning, then yielding) while another
    /// writer is writing.
    ///
    /// ```
    /// let lock = baton::atomic::SeqLock::new(1u16);
    /// lock.write(2);
    /// assert_eq!(lock.read(), 2);
    /// ```
    #[inline]
    pub fn write(&self, value: T) {
        let _unlock = self.lock();
        self.data.store(&value, Relaxed);
    }

    /// Changes the value in place with `f`, with other writers excluded, so
    /// concurrent updates are never lost. Readers wait while `f` runs, so
    /// keep it short. If `f` panics the value is left unchanged.
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
        let _unlock = self.lock();
        // Relaxed: we own the odd version, so no store overlaps, and the
        // CAS's acquire made the last write's chunks visible.
        let copy = self.data.load(Relaxed);
        // SAFETY: no write is in progress but ours, which has stored nothing
        // yet: the chunks are one whole `T`.
        let mut value = unsafe { copy.assume_init_ref().assume_init() };
        f(&mut value);
        self.data.store(&value, Relaxed);
    }

    /// Takes the writer's turn: moves the version from even to odd.
    #[inline]
    fn lock(&self) -> Unlock<'_> {
        let s = self.seq.load(Relaxed);
        if s & 1 != 0
            // Acquire: the previous write's chunks happen before ours.
            || self
                .seq
                .compare_exchange_weak(s, s.wrapping_add(1), Acquire, Relaxed)
                .is_err()
        {
            return self.lock_slow();
        }
        self.locked(s)
    }

    #[cold]
    fn lock_slow(&self) -> Unlock<'_> {
        let backoff = Backoff::new();
        loop {
            let s = self.seq.load(Relaxed);
            if s & 1 == 0
                && self
                    .seq
                    .compare_exchange_weak(s, s.wrapping_add(1), Acquire, Relaxed)
                    .is_ok()
            {
                return self.locked(s);
            }
            backoff.snooze();
        }
    }

    /// After the CAS `s -> s + 1` succeeded.
    #[inline(always)]
    fn locked(&self, s: usize) -> Unlock<'_> {
        // Release fence: orders the odd version before our chunk stores for
        // any reader whose acquire fence follows a load of one of them.
        fence(Release);
        Unlock {
            seq: &self.seq,
            next: s.wrapping_add(2),
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
    /// ```
    #[cfg(not(loom))]
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// The value, consuming the lock.
    ///
    /// ```
    /// assert_eq!(baton::atomic::SeqLock::new('x').into_inner(), 'x');
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

/// Ends a write: stores the next even version when dropped (also when an
/// `update` closure panics; the value is then unchanged).
struct Unlock<'a> {
    seq: &'a AtomicUsize,
    next: usize,
}

impl Drop for Unlock<'_> {
    #[inline]
    fn drop(&mut self) {
        // Release: our chunk stores happen before any reader that sees the
        // new even version.
        self.seq.store(self.next, Release);
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
        assert_eq!(lock.seq.load(Relaxed), 4, "two writes: version 2 * 2");
        assert_eq!(lock.into_inner(), [4, 50, 6]);
    }

    #[test]
    fn try_read_fails_while_a_write_is_in_progress() {
        let lock = SeqLock::new(7u32);
        let unlock = lock.lock();
        assert_eq!(lock.try_read(), None, "odd version");
        drop(unlock);
        assert_eq!(lock.try_read(), Some(7));
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
}
