//! The scheduler's counters: written on its paths, read by `diag::stats`
//! (whose module docs say who writes each and why the orderings are
//! `Relaxed`).

use crate::atomic::ShardedCounter;
use crate::shim::atomic::{AtomicU64, Ordering::Relaxed};

/// The runtime-wide counters.
#[derive(Debug, Default)]
pub(crate) struct RuntimeCounters {
    pub(crate) spawned: ShardedCounter,
    /// Goroutines dropped unstarted (shutdown).
    pub(crate) abandoned: AtomicU64,
    /// Long-running spells found by the `monitor`.
    pub(crate) long_runs: AtomicU64,
}

/// One worker's counters; only that worker writes them.
#[derive(Debug, Default)]
pub(crate) struct WorkerCounters {
    pub(crate) switches: AtomicU64,
    pub(crate) parks: AtomicU64,
    pub(crate) steals: AtomicU64,
    /// Goroutines that finished here (or failed to start here).
    pub(crate) finished: AtomicU64,
}

/// Adds one to a counter that only the calling thread writes.
#[inline]
pub(crate) fn bump(c: &AtomicU64) {
    c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
}
