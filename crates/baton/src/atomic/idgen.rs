//! [`IdGen`]: unique non-zero `u64` ids from one atomic counter.
//!
//! The background's registry first guarded its next-id counter with a mutex;
//! an atomic add does the same job with no lock, and sequential ids spread
//! evenly over `id % shards`, so writers of a sharded map rarely meet.
//!
//! Many threads taking ids from one counter still share its cache line on
//! every call. [`IdGen::batch`] gives a thread a private [`IdBatch`] that
//! reserves a run of ids with one atomic add and hands them out with no
//! shared write at all until the run is spent.
//!
//! ## Invariants
//!
//! - Every id handed out is in `1..=IdGen::MAX_ID` and is handed out once.
//! - The counter only grows, except that a caller who finds it past
//!   `MAX_ID` stores `MAX_ID + 1` back (*exhausted*). Between two such
//!   stores it grows by at most one reservation per caller in flight
//!   (`MAX_BATCH` each), far less than the `2^40` headroom left above
//!   `MAX_ID`, so it can never wrap to small numbers and repeat ids.
//!
//! ## Orderings
//!
//! Every access is `Relaxed`: uniqueness comes from the atomicity of
//! `fetch_add` alone (each add reads the value the previous one wrote, in the
//! counter's single modification order), and an id publishes no data, so
//! nothing needs to happen-before anything else.

use core::fmt;
use core::ops::Range;

use crate::atomic::CachePadded;
use crate::shim::atomic::{AtomicU64, Ordering::Relaxed};

/// The first value past the id space; the counter rests here once exhausted.
const EXHAUSTED: u64 = u64::MAX - (1 << 40);

/// Hands out unique non-zero `u64` ids, from any number of threads.
///
/// ```
/// use baton::atomic::IdGen;
///
/// let ids = IdGen::new();
/// let a = ids.next();
/// let b = ids.next();
/// assert_ne!(a, b);
/// assert!(a > 0 && b > 0);
///
/// // Many threads: take a batch each so they never share a cache line.
/// let all: Vec<u64> = std::thread::scope(|s| {
///     let workers: Vec<_> = (0..4)
///         .map(|_| s.spawn(|| {
///             let mut batch = ids.batch(64);
///             (0..100).map(|_| batch.next()).collect::<Vec<_>>()
///         }))
///         .collect();
///     workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
/// });
/// let mut unique = all.clone();
/// unique.sort_unstable();
/// unique.dedup();
/// assert_eq!(unique.len(), all.len());
/// ```
pub struct IdGen {
    /// The next id to hand out. Written by every caller (one `fetch_add`
    /// each), padded so that it shares its line with nothing else.
    next: CachePadded<AtomicU64>,
}

impl IdGen {
    /// The largest id ever handed out.
    pub const MAX_ID: u64 = EXHAUSTED - 1;

    /// The largest batch [`IdGen::batch`] accepts (`2^20`).
    pub const MAX_BATCH: u64 = 1 << 20;

    /// A generator whose first id is 1.
    ///
    /// ```
    /// assert_eq!(baton::atomic::IdGen::new().next(), 1);
    /// ```
    pub fn new() -> Self {
        Self::starting_at(1)
    }

    /// A generator whose first id is `first`.
    ///
    /// # Panics
    ///
    /// If `first` is 0 (0 is never an id) or above [`IdGen::MAX_ID`].
    ///
    /// ```
    /// let ids = baton::atomic::IdGen::starting_at(1000);
    /// assert_eq!(ids.next(), 1000);
    /// ```
    pub fn starting_at(first: u64) -> Self {
        assert!(
            first != 0,
            "IdGen::starting_at(0): 0 is never an id; start at 1 or above"
        );
        assert!(
            first <= Self::MAX_ID,
            "IdGen::starting_at({first}): above IdGen::MAX_ID ({})",
            Self::MAX_ID
        );
        Self {
            next: CachePadded::new(AtomicU64::new(first)),
        }
    }

    /// The next id.
    ///
    /// # Panics
    ///
    /// When the id space is exhausted (after about `1.8 * 10^19` ids); use
    /// [`try_next`](Self::try_next) to handle that as an error.
    ///
    /// ```
    /// let ids = baton::atomic::IdGen::new();
    /// assert_eq!((ids.next(), ids.next()), (1, 2));
    /// ```
    #[inline]
    pub fn next(&self) -> u64 {
        match self.try_next() {
            Ok(id) => id,
            Err(e) => panic!("{e}"),
        }
    }

    /// The next id, or [`IdsExhausted`] once every id has been handed out.
    /// Exhaustion is permanent: ids are never repeated.
    ///
    /// ```
    /// use baton::atomic::{IdGen, IdsExhausted};
    ///
    /// let ids = IdGen::starting_at(IdGen::MAX_ID);
    /// assert_eq!(ids.try_next(), Ok(IdGen::MAX_ID));
    /// assert_eq!(ids.try_next(), Err(IdsExhausted));
    /// assert_eq!(ids.try_next(), Err(IdsExhausted));
    /// ```
    #[inline]
    pub fn try_next(&self) -> Result<u64, IdsExhausted> {
        let id = self.next.fetch_add(1, Relaxed);
        if id < EXHAUSTED {
            Ok(id)
        } else {
            self.exhausted()
        }
    }

    /// Reserves up to `n` consecutive ids with one atomic add.
    fn reserve(&self, n: u64) -> Result<Range<u64>, IdsExhausted> {
        let start = self.next.fetch_add(n, Relaxed);
        if start < EXHAUSTED {
            Ok(start..start.saturating_add(n).min(EXHAUSTED))
        } else {
            self.exhausted()
        }
    }

    #[cold]
    fn exhausted<T>(&self) -> Result<T, IdsExhausted> {
        // Pull the counter back so that callers still adding can never carry
        // it around to small numbers (see the module's invariants).
        self.next.store(EXHAUSTED, Relaxed);
        Err(IdsExhausted)
    }

    /// A private source of ids for one thread, reserving `size` ids at a
    /// time from this generator. Ids left unused in a dropped batch are
    /// never handed out (they leave gaps, nothing is repeated).
    ///
    /// # Panics
    ///
    /// If `size` is 0 or above [`IdGen::MAX_BATCH`].
    ///
    /// ```
    /// let ids = baton::atomic::IdGen::new();
    /// let mut mine = ids.batch(100);
    /// assert_eq!(mine.next(), 1);
    /// assert_eq!(mine.next(), 2);
    /// assert_eq!(ids.next(), 101, "the batch reserved 1..=100");
    /// ```
    pub fn batch(&self, size: u64) -> IdBatch<'_> {
        assert!(
            (1..=Self::MAX_BATCH).contains(&size),
            "IdGen::batch({size}): the size must be in 1..={}",
            Self::MAX_BATCH
        );
        IdBatch {
            generator: self,
            ids: 0..0,
            size,
        }
    }
}

impl Default for IdGen {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for IdGen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdGen")
            .field("next", &self.next.load(Relaxed))
            .finish()
    }
}

/// Ids reserved in runs from an [`IdGen`]; see [`IdGen::batch`].
///
/// Taking an id from a batch touches no shared memory except once per run,
/// so threads with a batch each never contend.
///
/// ```
/// let ids = baton::atomic::IdGen::new();
/// let mut a = ids.batch(10);
/// let mut b = ids.batch(10);
/// assert_eq!(a.next(), 1);
/// assert_eq!(b.next(), 11);
/// ```
pub struct IdBatch<'a> {
    generator: &'a IdGen,
    /// The reserved ids not yet handed out.
    ids: Range<u64>,
    size: u64,
}

impl IdBatch<'_> {
    /// The next id.
    ///
    /// # Panics
    ///
    /// When the generator's id space is exhausted.
    ///
    /// ```
    /// let ids = baton::atomic::IdGen::new();
    /// let mut batch = ids.batch(2);
    /// assert_eq!([batch.next(), batch.next(), batch.next()], [1, 2, 3]);
    /// ```
    #[inline]
    #[allow(clippy::should_implement_trait)] // an id source, not a finite iterator
    pub fn next(&mut self) -> u64 {
        match self.try_next() {
            Ok(id) => id,
            Err(e) => panic!("{e}"),
        }
    }

    /// The next id, or [`IdsExhausted`].
    ///
    /// ```
    /// use baton::atomic::{IdGen, IdsExhausted};
    ///
    /// let ids = IdGen::starting_at(IdGen::MAX_ID - 1);
    /// let mut batch = ids.batch(8);
    /// assert_eq!(batch.try_next(), Ok(IdGen::MAX_ID - 1));
    /// assert_eq!(batch.try_next(), Ok(IdGen::MAX_ID));
    /// assert_eq!(batch.try_next(), Err(IdsExhausted));
    /// ```
    #[inline]
    pub fn try_next(&mut self) -> Result<u64, IdsExhausted> {
        if let Some(id) = self.ids.next() {
            return Ok(id);
        }
        self.refill()
    }

    #[cold]
    fn refill(&mut self) -> Result<u64, IdsExhausted> {
        self.ids = self.generator.reserve(self.size)?;
        Ok(self
            .ids
            .next()
            .expect("IdGen::reserve returned an empty run"))
    }

    /// How many reserved ids this batch can still hand out without touching
    /// the generator.
    ///
    /// ```
    /// let ids = baton::atomic::IdGen::new();
    /// let mut batch = ids.batch(4);
    /// assert_eq!(batch.remaining(), 0);
    /// batch.next();
    /// assert_eq!(batch.remaining(), 3);
    /// ```
    pub fn remaining(&self) -> u64 {
        self.ids.end - self.ids.start
    }
}

impl fmt::Debug for IdBatch<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdBatch")
            .field("reserved", &self.ids)
            .field("size", &self.size)
            .finish()
    }
}

/// Every id of an [`IdGen`] has been handed out; none is ever repeated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdsExhausted;

impl fmt::Display for IdsExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IdGen exhausted: all ids up to {} were handed out, and ids are never repeated",
            IdGen::MAX_ID
        )
    }
}

impl std::error::Error for IdsExhausted {}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_across_threads_and_batches() {
        let ids = IdGen::new();
        let per_thread = 20_000;
        let all: Vec<u64> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|t| {
                    let ids = &ids;
                    s.spawn(move || {
                        let mut out = Vec::with_capacity(per_thread);
                        let mut batch = ids.batch(1 + t as u64 * 7);
                        for i in 0..per_thread {
                            out.push(if i % 3 == 0 { ids.next() } else { batch.next() });
                        }
                        out
                    })
                })
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let set: HashSet<u64> = all.iter().copied().collect();
        assert_eq!(set.len(), all.len(), "an id was handed out twice");
        assert!(!set.contains(&0), "0 is never an id");
    }

    #[test]
    fn exhaustion_is_sticky_and_never_repeats() {
        let ids = IdGen::starting_at(IdGen::MAX_ID - 10);
        let got: Vec<u64> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        let mut batch = ids.batch(3);
                        for _ in 0..100 {
                            if let Ok(id) = ids.try_next() {
                                mine.push(id);
                            }
                            if let Ok(id) = batch.try_next() {
                                mine.push(id);
                            }
                        }
                        mine
                    })
                })
                .collect();
            hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
        });
        let set: HashSet<u64> = got.iter().copied().collect();
        assert_eq!(set.len(), got.len());
        assert!(got
            .iter()
            .all(|&id| (IdGen::MAX_ID - 10..=IdGen::MAX_ID).contains(&id)));
        assert_eq!(ids.try_next(), Err(IdsExhausted));
    }

    #[test]
    #[should_panic(expected = "IdGen exhausted")]
    fn next_panics_with_a_clear_message_when_exhausted() {
        let ids = IdGen::starting_at(IdGen::MAX_ID);
        ids.next();
        ids.next();
    }

    #[test]
    #[should_panic(expected = "0 is never an id")]
    fn zero_start_is_rejected() {
        IdGen::starting_at(0);
    }

    #[test]
    #[should_panic(expected = "IdGen::batch(0)")]
    fn empty_batch_is_rejected() {
        IdGen::new().batch(0);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// Two threads, one taking single ids and one a batch, near exhaustion:
    /// every id is unique, and exhaustion never lets an id repeat.
    #[test]
    fn loom_idgen_unique_near_exhaustion() {
        loom::model(|| {
            let ids = Arc::new(IdGen::starting_at(IdGen::MAX_ID - 2));
            let other = {
                let ids = ids.clone();
                loom::thread::spawn(move || {
                    let mut batch = ids.batch(2);
                    [
                        batch.try_next().ok(),
                        batch.try_next().ok(),
                        batch.try_next().ok(),
                    ]
                })
            };
            let mine = [ids.try_next().ok(), ids.try_next().ok()];
            let theirs = other.join().unwrap();
            let mut all: Vec<u64> = mine
                .iter()
                .chain(theirs.iter())
                .flatten()
                .copied()
                .collect();
            let n = all.len();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), n, "duplicate id");
            assert!(all
                .iter()
                .all(|id| (IdGen::MAX_ID - 2..=IdGen::MAX_ID).contains(id)));
            assert_eq!(ids.try_next(), Err(IdsExhausted));
        });
    }
}
