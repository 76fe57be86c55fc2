//! [`Backoff`]: exponential backoff for spin loops and CAS retry loops.
//!
//! Under contention a thread that retries a failed compare-and-swap at once
//! mostly makes the cache line bounce again. Waiting a little, and longer
//! each time, lets the winner finish. Past a few rounds spinning wastes the
//! core, so [`Backoff::snooze`] starts yielding the time slice, and
//! [`Backoff::is_completed`] tells a blocking caller that it is time to park
//! instead (which is what every blocking primitive in baton does).
//!
//! Policy: step `k` spins `2^k` times; [`spin`](Backoff::spin) stops growing
//! at `2^SPIN_LIMIT` and [`snooze`](Backoff::snooze) yields once past
//! `SPIN_LIMIT`; after `YIELD_LIMIT` steps the backoff is completed. These
//! are crossbeam's numbers: 2^6 = 64 pause instructions is about the cost of
//! one uncontended cache miss on current x86, and ten steps spend a few
//! microseconds in all, about what one futex wake-up costs on these machines.
//!
//! `Backoff` is one of baton's spin policies, the one for lock-free retry
//! loops and short waits; `park/spin.rs` lists them all with the
//! measurements that chose them, and builds two of them on this one.

use core::cell::Cell;
use core::fmt;

use crate::shim;

/// Past this step `spin` stops growing and `snooze` yields instead of spinning.
const SPIN_LIMIT: u32 = 6;
/// Past this step the backoff is completed: a blocking caller should park.
const YIELD_LIMIT: u32 = 10;

/// Exponential backoff for spin loops.
///
/// Use [`spin`](Self::spin) in a lock-free retry loop (after a failed CAS),
/// and [`snooze`](Self::snooze) while waiting for another thread to make
/// progress; check [`is_completed`](Self::is_completed) to know when to park
/// instead.
///
/// ```
/// use baton::atomic::Backoff;
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// // A CAS retry loop: multiply a shared value by 3.
/// fn triple(a: &AtomicU64) -> u64 {
///     let backoff = Backoff::new();
///     let mut cur = a.load(Ordering::Relaxed);
///     loop {
///         match a.compare_exchange_weak(cur, cur * 3, Ordering::AcqRel, Ordering::Relaxed) {
///             Ok(_) => return cur * 3,
///             Err(seen) => { cur = seen; backoff.spin(); }
///         }
///     }
/// }
/// assert_eq!(triple(&AtomicU64::new(5)), 15);
///
/// // Waiting for a flag: spin a little, yield, then give up and block.
/// let ready = std::sync::atomic::AtomicBool::new(false);
/// let backoff = Backoff::new();
/// while !ready.load(Ordering::Acquire) {
///     if backoff.is_completed() {
///         break; // a real caller would park here until woken
///     }
///     backoff.snooze();
/// }
/// ```
pub struct Backoff {
    step: Cell<u32>,
}

impl Backoff {
    /// A fresh backoff at step 0.
    ///
    /// ```
    /// assert!(!baton::atomic::Backoff::new().is_completed());
    /// ```
    #[inline]
    pub const fn new() -> Self {
        Self { step: Cell::new(0) }
    }

    /// Starts again from step 0, e.g. after progress was made.
    ///
    /// ```
    /// let b = baton::atomic::Backoff::new();
    /// for _ in 0..20 { b.snooze(); }
    /// assert!(b.is_completed());
    /// b.reset();
    /// assert!(!b.is_completed());
    /// ```
    #[inline]
    pub fn reset(&self) {
        self.step.set(0);
    }

    /// Backs off in a lock-free retry loop: spins `2^step` times (capped),
    /// never yields. Call it after a failed compare-and-swap.
    ///
    /// ```
    /// let b = baton::atomic::Backoff::new();
    /// b.spin(); // 1 pause
    /// b.spin(); // 2 pauses
    /// ```
    #[inline]
    pub fn spin(&self) {
        let step = self.step.get().min(SPIN_LIMIT);
        for _ in 0..1u32 << step {
            shim::spin_loop();
        }
        if self.step.get() <= SPIN_LIMIT {
            self.step.set(self.step.get() + 1);
        }
    }

    /// Backs off while waiting for another thread: spins while the wait is
    /// short, then yields the time slice. Call it in a loop that waits for a
    /// condition another thread will make true.
    ///
    /// ```
    /// let b = baton::atomic::Backoff::new();
    /// while !b.is_completed() {
    ///     b.snooze();
    /// }
    /// ```
    #[inline]
    pub fn snooze(&self) {
        let step = self.step.get();
        if step <= SPIN_LIMIT {
            for _ in 0..1u32 << step {
                shim::spin_loop();
            }
        } else {
            shim::yield_now();
        }
        if step <= YIELD_LIMIT {
            self.step.set(step + 1);
        }
    }

    /// Whether [`spin`](Self::spin) has reached its longest step: a waiter
    /// that spins before parking (never yielding) parks from here on.
    #[inline]
    pub(crate) fn spin_is_completed(&self) -> bool {
        self.step.get() > SPIN_LIMIT
    }

    /// Whether backing off has gone on long enough that a blocking caller
    /// should park (or otherwise sleep) instead of snoozing further.
    ///
    /// ```
    /// let b = baton::atomic::Backoff::new();
    /// let mut rounds = 0;
    /// while !b.is_completed() { b.snooze(); rounds += 1; }
    /// assert_eq!(rounds, 11);
    /// ```
    #[inline]
    pub fn is_completed(&self) -> bool {
        self.step.get() > YIELD_LIMIT
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Backoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backoff")
            .field("step", &self.step.get())
            .field("is_completed", &self.is_completed())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spin_alone_never_completes() {
        let b = Backoff::new();
        for _ in 0..100 {
            b.spin();
        }
        assert!(
            !b.is_completed(),
            "spin is for retry loops; it never asks to park"
        );
    }

    #[test]
    fn snooze_completes_after_yield_limit() {
        let b = Backoff::new();
        for _ in 0..=YIELD_LIMIT {
            assert!(!b.is_completed());
            b.snooze();
        }
        assert!(b.is_completed());
        b.snooze();
        assert!(b.is_completed(), "stays completed");
    }
}
