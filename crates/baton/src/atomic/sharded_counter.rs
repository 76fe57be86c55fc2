//! [`ShardedCounter`]: a counter that many threads bump without contending.
//!
//! One shared atomic counter serialises every increment on one cache line:
//! each `fetch_add` must own the line, so at N threads the line bounces N
//! ways and throughput falls as threads are added. A sharded counter gives
//! each thread its own slot and sums the slots on read. Each slot is
//! [`CachePadded`]: without the padding, neighbouring slots share a line and
//! the bouncing comes back (false sharing) — the lab's `counter` experiment
//! measures both effects.
//!
//! ## Invariants
//!
//! - The slot count is a power of two and at least the available
//!   parallelism, so that threads that run at the same time mostly have
//!   distinct slots; a thread keeps its slot for life (picked once from the
//!   crate's dense thread index).
//! - The value is the wrapping sum of the slots.
//!
//! ## Orderings
//!
//! All `Relaxed`. Increments only need atomicity. [`ShardedCounter::sum`]
//! reads the slots one after another, so it is not a snapshot: an add that
//! runs concurrently may or may not be counted, but once every adder has
//! been joined (or otherwise synchronised with) the sum is exact. That is the
//! contract of a statistics counter; a counter that must be exact at every
//! instant belongs on one atomic.

use core::fmt;

use crate::atomic::thread_index::thread_index;
use crate::atomic::CachePadded;
use crate::shim::atomic::{AtomicU64, Ordering::Relaxed};

/// A counter for hot statistics: each thread adds to its own padded slot,
/// [`sum`](Self::sum) adds the slots up.
///
/// ```
/// use baton::atomic::ShardedCounter;
///
/// let requests = ShardedCounter::new();
/// std::thread::scope(|s| {
///     for _ in 0..8 {
///         s.spawn(|| for _ in 0..1000 { requests.inc() });
///     }
/// });
/// assert_eq!(requests.sum(), 8000);
/// requests.add(5);
/// assert_eq!(requests.sum(), 8005);
/// ```
pub struct ShardedCounter {
    /// One slot per shard; each written by the threads whose index maps to
    /// it (usually exactly one at a time), read by `sum`.
    slots: Box<[CachePadded<AtomicU64>]>,
    /// `slots.len() - 1`; the length is a power of two.
    mask: usize,
}

impl ShardedCounter {
    /// A counter at 0 with the default slot count: the available
    /// parallelism rounded up to a power of two, times two (so that threads
    /// beyond the core count, common when oversubscribed, still spread out).
    ///
    /// ```
    /// let c = baton::atomic::ShardedCounter::new();
    /// assert_eq!(c.sum(), 0);
    /// assert!(c.slots().is_power_of_two());
    /// ```
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        Self::with_slots(cores.next_power_of_two() * 2)
    }

    /// A counter at 0 with `slots` slots, rounded up to a power of two.
    ///
    /// # Panics
    ///
    /// If `slots` is 0 or above `2^16`.
    ///
    /// ```
    /// let c = baton::atomic::ShardedCounter::with_slots(3);
    /// assert_eq!(c.slots(), 4);
    /// ```
    pub fn with_slots(slots: usize) -> Self {
        assert!(
            (1..=1 << 16).contains(&slots),
            "ShardedCounter::with_slots({slots}): the slot count must be in 1..=65536"
        );
        let n = slots.next_power_of_two();
        Self {
            slots: (0..n)
                .map(|_| CachePadded::new(AtomicU64::new(0)))
                .collect(),
            mask: n - 1,
        }
    }

    /// The number of slots.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    fn my_slot(&self) -> &AtomicU64 {
        &self.slots[thread_index() & self.mask]
    }

    /// Adds `n` (wrapping on overflow, as the sum does).
    ///
    /// ```
    /// let c = baton::atomic::ShardedCounter::new();
    /// c.add(40);
    /// c.add(2);
    /// assert_eq!(c.sum(), 42);
    /// ```
    #[inline]
    pub fn add(&self, n: u64) {
        self.my_slot().fetch_add(n, Relaxed);
    }

    /// Adds 1.
    ///
    /// ```
    /// let c = baton::atomic::ShardedCounter::new();
    /// c.inc();
    /// assert_eq!(c.sum(), 1);
    /// ```
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// The sum of all slots. Not a snapshot: adds running at the same time
    /// may or may not be included; adds that happened-before the call
    /// (joined threads, a lock released after them) always are.
    ///
    /// ```
    /// let c = baton::atomic::ShardedCounter::new();
    /// std::thread::scope(|s| { s.spawn(|| c.add(2)); s.spawn(|| c.add(3)); });
    /// assert_eq!(c.sum(), 5);
    /// ```
    pub fn sum(&self) -> u64 {
        self.slots
            .iter()
            .fold(0u64, |acc, slot| acc.wrapping_add(slot.load(Relaxed)))
    }

    /// Sets every slot to 0. Adds running at the same time may survive the
    /// reset or be wiped by it; call it when adders are quiet to get an exact
    /// zero.
    ///
    /// ```
    /// let c = baton::atomic::ShardedCounter::new();
    /// c.add(9);
    /// c.reset();
    /// assert_eq!(c.sum(), 0);
    /// ```
    pub fn reset(&self) {
        for slot in self.slots.iter() {
            slot.store(0, Relaxed);
        }
    }

    /// Returns the sum and resets the counter, slot by slot, with no add
    /// lost: each slot is swapped to 0 atomically, so an add lands either in
    /// the returned sum or in the counter afterwards.
    ///
    /// ```
    /// let c = baton::atomic::ShardedCounter::new();
    /// c.add(7);
    /// assert_eq!(c.take(), 7);
    /// assert_eq!(c.sum(), 0);
    /// ```
    pub fn take(&self) -> u64 {
        self.slots
            .iter()
            .fold(0u64, |acc, slot| acc.wrapping_add(slot.swap(0, Relaxed)))
    }
}

impl Default for ShardedCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ShardedCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShardedCounter")
            .field("sum", &self.sum())
            .field("slots", &self.slots.len())
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn sum_is_exact_after_join_with_more_threads_than_slots() {
        let c = ShardedCounter::with_slots(2);
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    for _ in 0..10_000 {
                        c.inc();
                    }
                });
            }
        });
        assert_eq!(c.sum(), 160_000);
    }

    #[test]
    fn take_loses_nothing_while_adders_run() {
        let c = ShardedCounter::new();
        let taken = std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..50_000 {
                        c.inc();
                    }
                });
            }
            let mut taken = 0;
            for _ in 0..100 {
                taken += c.take();
                std::thread::yield_now();
            }
            taken
        });
        assert_eq!(taken + c.sum(), 200_000);
    }

    #[test]
    fn wraps_like_the_sum() {
        let c = ShardedCounter::with_slots(1);
        c.add(u64::MAX);
        c.add(2);
        assert_eq!(c.sum(), 1);
    }

    #[test]
    #[should_panic(expected = "slot count must be in 1..=65536")]
    fn zero_slots_is_rejected() {
        ShardedCounter::with_slots(0);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// Adds from two threads (sharing one slot, and on separate slots) are
    /// all in the sum once the threads are joined.
    #[test]
    fn loom_sharded_counter_sum_after_join() {
        for slots in [1, 2] {
            loom::model(move || {
                let c = Arc::new(ShardedCounter::with_slots(slots));
                let hs: Vec<_> = (0..2)
                    .map(|i| {
                        let c = c.clone();
                        loom::thread::spawn(move || {
                            c.add(i + 1);
                            c.inc();
                        })
                    })
                    .collect();
                c.add(10);
                for h in hs {
                    h.join().unwrap();
                }
                assert_eq!(c.sum(), 1 + 1 + 2 + 1 + 10);
            });
        }
    }
}
