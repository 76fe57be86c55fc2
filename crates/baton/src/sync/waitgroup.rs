//! [`WaitGroup`]: Go's `sync.WaitGroup`, waiting for a set of tasks.
//!
//! # The state word
//!
//! One `u64`, as in Go: the counter in the high 32 bits, the number of
//! queued waiters in the low 32.
//!
//! | bits   | field    | changed by                                               |
//! |--------|----------|----------------------------------------------------------|
//! | 63..32 | counter  | `add`/`done` (CAS, never below zero: misuse panics first) |
//! | 31..0  | waiters  | `wait` (+1 when it queues), time-outs and the waker (-1, -n), all under the wait queue's lock, so it equals the queue's length whenever that lock is free |
//!
//! Keeping both in one word is what makes wake-ups impossible to lose: a
//! waiter queues only in a CAS that still sees a non-zero counter, and
//! the `add` that brings the counter to zero sees, in the same word, whether
//! anyone queued; if so it wakes them all.
//!
//! # Orderings
//!
//! `add`/`done` CAS with `AcqRel`: `Release` publishes each task's work; the
//! `Acquire` half lets the thread that reaches zero (and then wakes the
//! waiters through the queue's `Release` token) carry every earlier task's
//! work along. `wait` reads the counter with `Acquire` (its fast path and
//! its re-check under the queue lock), so seeing zero means seeing all the
//! work. The waiter-count updates are `Relaxed`: they only pair with the
//! queue's own lock.
//!
//! # The idiom that cannot forget
//!
//! A task that panics before its `done` leaves `wait` hanging forever (Go
//! crashes the whole program instead). [`WaitGroup::add_guard`] returns a
//! [`WaitGroupGuard`] whose drop calls `done`, also during an unwind, and
//! `WaitGroup::go` (Go 1.25's `WaitGroup.Go`, on an `Arc<WaitGroup>`;
//! defined in the runtime layer, which spawns) adds, spawns, and calls
//! `done` when the goroutine ends however it ends. Prefer them to a bare
//! `add`/`done` pair.
//!
//! # Reuse
//!
//! As in Go, a group may be reused once every `wait` of the previous round
//! has returned; an `add` from zero while waiters of the previous round are
//! still being woken panics (`sync: WaitGroup misuse: Add called
//! concurrently with Wait`), because those waiters could not tell the
//! rounds apart.

use core::fmt;
use core::time::Duration;
use std::time::Instant;

use crate::park::wait_queue::{Token, Until, WaitQueue, Waited};
use crate::shim::atomic::{AtomicU64, Ordering};

const WAITERS_MASK: u64 = 0xFFFF_FFFF;
const COUNTER_SHIFT: u32 = 32;

/// Waits for a collection of tasks to finish, as Go's `sync.WaitGroup`.
///
/// Share it by reference (scoped threads) or in an `Arc`; there is no
/// separate handle type.
///
/// ```
/// use baton::sync::WaitGroup;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::thread;
///
/// let wg = WaitGroup::new();
/// let done = AtomicUsize::new(0);
/// thread::scope(|s| {
///     for _ in 0..4 {
///         wg.add(1);
///         s.spawn(|| {
///             done.fetch_add(1, Ordering::Relaxed);
///             wg.done();
///         });
///     }
///     wg.wait();
///     assert_eq!(done.load(Ordering::Relaxed), 4);
/// });
/// ```
pub struct WaitGroup {
    /// See the state table.
    state: AtomicU64,
    queue: WaitQueue,
}

impl WaitGroup {
    /// A group with a zero counter.
    ///
    /// ```
    /// let wg = baton::sync::WaitGroup::new();
    /// wg.wait(); // counter is zero: returns at once
    /// ```
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            state: AtomicU64::new(0),
            queue: WaitQueue::new(),
        }
    }

    /// A group with a zero counter.
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            state: AtomicU64::new(0),
            queue: WaitQueue::new(),
        }
    }

    /// Adds `delta` (which may be negative) to the counter; when it reaches
    /// zero, every waiter is released.
    ///
    /// # Panics
    ///
    /// `sync: negative WaitGroup counter` if the counter would go below
    /// zero; `sync: WaitGroup counter overflow` past `u32::MAX`; `sync:
    /// WaitGroup misuse: Add called concurrently with Wait` when adding
    /// from zero while a previous round's waiters are still being released.
    /// The counter is left unchanged in each case.
    ///
    /// ```
    /// let wg = baton::sync::WaitGroup::new();
    /// wg.add(2);
    /// wg.add(-2);
    /// wg.wait();
    /// ```
    pub fn add(&self, delta: isize) {
        let delta = delta as i64;
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let counter = (s >> COUNTER_SHIFT) as i64;
            let waiters = s & WAITERS_MASK;
            // `counter` is in `0..=u32::MAX`, so only a huge positive
            // `delta` can overflow the sum (`i64::MIN + counter` cannot):
            // `None` means overflow, never "negative".
            let new = counter.checked_add(delta).unwrap_or(i64::MAX);
            if new < 0 {
                panic!("sync: negative WaitGroup counter");
            }
            if new > i64::from(u32::MAX) {
                panic!("sync: WaitGroup counter overflow");
            }
            if delta > 0 && counter == 0 && waiters != 0 {
                panic!("sync: WaitGroup misuse: Add called concurrently with Wait");
            }
            let next = ((new as u64) << COUNTER_SHIFT) | waiters;
            // AcqRel: see the module docs.
            match self
                .state
                .compare_exchange_weak(s, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    if new == 0 && waiters != 0 {
                        self.release_waiters();
                    }
                    return;
                }
                Err(seen) => s = seen,
            }
        }
    }

    /// Decrements the counter by one (`add(-1)`).
    ///
    /// # Panics
    ///
    /// `sync: negative WaitGroup counter` if it is already zero.
    ///
    /// ```
    /// let wg = baton::sync::WaitGroup::new();
    /// wg.add(1);
    /// wg.done();
    /// wg.wait();
    /// ```
    #[inline]
    pub fn done(&self) {
        self.add(-1);
    }

    /// Adds one to the counter and returns a guard that calls
    /// [`done`](Self::done) when it drops: at the end of the task, and also
    /// when the task panics (the unwind drops the guard). The idiom that
    /// cannot forget `done`: a panicking worker would otherwise leave
    /// [`wait`](Self::wait) hanging forever.
    ///
    /// # Panics
    ///
    /// As [`add`](Self::add)`(1)`.
    ///
    /// ```
    /// use baton::sync::WaitGroup;
    ///
    /// let wg = WaitGroup::new();
    /// let outcome = std::panic::catch_unwind(|| {
    ///     std::thread::scope(|s| {
    ///         for i in 0..4 {
    ///             let done = wg.add_guard(); // taken before the task starts
    ///             s.spawn(move || {
    ///                 let _done = done; // `done()` when this closure ends, however it ends
    ///                 if i == 2 {
    ///                     panic!("worker {i} failed");
    ///                 }
    ///             });
    ///         }
    ///         wg.wait(); // returns although worker 2 panicked
    ///         assert_eq!(wg.counter(), 0);
    ///     }) // the scope then re-raises the worker's panic
    /// });
    /// assert!(outcome.is_err());
    /// ```
    #[must_use = "dropping the guard calls `done` at once"]
    pub fn add_guard(&self) -> WaitGroupGuard<'_> {
        self.add(1);
        WaitGroupGuard { wg: self }
    }

    /// A guard for a count the caller has already added (for
    /// `WaitGroup::go`, which adds before it spawns and guards inside the
    /// goroutine). Unused under loom, which does not build the spawner.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn adopt_guard(&self) -> WaitGroupGuard<'_> {
        WaitGroupGuard { wg: self }
    }

    /// Waits until the counter is zero.
    ///
    /// ```
    /// let wg = baton::sync::WaitGroup::new();
    /// wg.add(1);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| wg.done());
    ///     wg.wait();
    /// });
    /// ```
    pub fn wait(&self) {
        if self.counter_is_zero() {
            return;
        }
        self.wait_slow(None);
    }

    /// Waits until the counter is zero or `until` says to give up (a
    /// deadline or an abort condition: `wait_ctx` in `sync/ctx.rs`);
    /// `true` if the counter reached zero.
    #[cfg(not(loom))]
    pub(crate) fn wait_until(&self, until: Until<'_>) -> bool {
        self.counter_is_zero() || self.wait_slow(until)
    }

    /// Waits until the counter is zero or `timeout` passes; `true` if the
    /// counter reached zero, `false` if it timed out.
    ///
    /// ```
    /// use std::time::Duration;
    /// let wg = baton::sync::WaitGroup::new();
    /// wg.add(1);
    /// assert!(!wg.wait_timeout(Duration::from_millis(5)));
    /// wg.done();
    /// assert!(wg.wait_timeout(Duration::from_millis(5)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        if self.counter_is_zero() {
            return true;
        }
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.wait_slow(Some(deadline)),
            None => self.wait_slow(None),
        }
    }

    /// The counter now (a snapshot, for diagnostics and tests).
    ///
    /// ```
    /// let wg = baton::sync::WaitGroup::new();
    /// wg.add(3);
    /// assert_eq!(wg.counter(), 3);
    /// ```
    pub fn counter(&self) -> usize {
        (self.state.load(Ordering::Relaxed) >> COUNTER_SHIFT) as usize
    }

    #[inline]
    fn counter_is_zero(&self) -> bool {
        // Acquire: see the module docs.
        self.state.load(Ordering::Acquire) >> COUNTER_SHIFT == 0
    }

    #[cold]
    fn wait_slow<'u>(&self, until: impl Into<Until<'u>>) -> bool {
        let _reason = crate::park::wait_reason(crate::park::WaitReason::WaitGroup);
        let waited = self.queue.wait(
            (),
            until,
            |_| self.enqueue_if_counting(),
            || {},
            |_| {
                self.state.fetch_sub(1, Ordering::Relaxed);
            },
        );
        // Woken: the counter reached zero after we queued (Go returns then
        // too, even if a new round has already started).
        waited != Waited::TimedOut
    }

    /// Under the queue lock: count ourselves in if the counter is non-zero.
    fn enqueue_if_counting(&self) -> bool {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s >> COUNTER_SHIFT == 0 {
                return false;
            }
            assert!(
                s & WAITERS_MASK != WAITERS_MASK,
                "sync: too many WaitGroup waiters"
            );
            match self
                .state
                .compare_exchange_weak(s, s + 1, Ordering::Relaxed, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(seen) => s = seen,
            }
        }
    }

    /// The counter reached zero with waiters queued: release them all.
    #[cold]
    fn release_waiters(&self) {
        let mut q = self.queue.lock();
        let n = q.wake_all(Token::WAKE) as u64;
        self.state.fetch_sub(n, Ordering::Relaxed);
    }
}

/// One count of a [`WaitGroup`], from [`WaitGroup::add_guard`]: calls
/// [`done`](WaitGroup::done) when dropped, also during a panic's unwind.
/// It may be sent to the thread or goroutine that does the work.
///
/// ```
/// let wg = baton::sync::WaitGroup::new();
/// let guard = wg.add_guard();
/// assert_eq!(wg.counter(), 1);
/// drop(guard);
/// assert_eq!(wg.counter(), 0);
/// ```
#[must_use = "dropping the guard calls `done` at once"]
pub struct WaitGroupGuard<'a> {
    wg: &'a WaitGroup,
}

impl Drop for WaitGroupGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.wg.done();
    }
}

impl fmt::Debug for WaitGroupGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroupGuard").finish_non_exhaustive()
    }
}

// Every panic here happens before the state changes, so a group observed
// after a caught panic is consistent.
impl core::panic::RefUnwindSafe for WaitGroup {}
impl core::panic::UnwindSafe for WaitGroup {}

impl Default for WaitGroup {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("WaitGroup")
            .field("counter", &(s >> COUNTER_SHIFT))
            .field("waiters", &(s & WAITERS_MASK))
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "sync: negative WaitGroup counter")]
    fn negative_counter_panics() {
        let wg = WaitGroup::new();
        wg.add(1);
        wg.done();
        wg.done();
    }

    #[test]
    fn panic_leaves_counter_unchanged() {
        let wg = WaitGroup::new();
        wg.add(2);
        let r = std::panic::catch_unwind(|| wg.add(-3));
        assert!(r.is_err());
        assert_eq!(wg.counter(), 2);
    }

    #[test]
    #[should_panic(expected = "sync: WaitGroup misuse: Add called concurrently with Wait")]
    fn add_from_zero_while_waiters_are_released_panics() {
        let wg = WaitGroup::new();
        // The window between the `done` that reached zero and the release
        // of its waiters: counter 0, one waiter still counted.
        wg.state.store(1, Ordering::SeqCst);
        wg.add(1);
    }

    #[test]
    fn timed_out_waiter_is_uncounted() {
        let wg = WaitGroup::new();
        wg.add(1);
        assert!(!wg.wait_timeout(Duration::from_millis(2)));
        assert_eq!(wg.state.load(Ordering::SeqCst) & WAITERS_MASK, 0);
        wg.done();
        wg.add(1); // reuse: no waiters left, so no misuse panic
        wg.done();
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::shim::atomic::AtomicUsize;
    use crate::shim::Arc;

    /// Two tasks finish while the main thread waits: the wait returns, and
    /// only after both tasks' work is visible.
    #[test]
    fn loom_waitgroup_wait_sees_all_work() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(2);
        b.check(|| {
            let wg = Arc::new(WaitGroup::new());
            let work = Arc::new(AtomicUsize::new(0));
            wg.add(2);
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let (wg, work) = (wg.clone(), work.clone());
                    loom::thread::spawn(move || {
                        work.fetch_add(1, Ordering::Relaxed);
                        wg.done();
                    })
                })
                .collect();
            wg.wait();
            assert_eq!(work.load(Ordering::Relaxed), 2);
            for h in hs {
                h.join().unwrap();
            }
        });
    }

    /// A waiter that may time out (loom decides) never leaves the waiter
    /// count wrong: a second, patient waiter is still released.
    #[test]
    fn loom_waitgroup_timeout_and_wait() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(2);
        b.check(|| {
            let wg = Arc::new(WaitGroup::new());
            wg.add(1);
            let wg1 = wg.clone();
            let impatient = loom::thread::spawn(move || wg1.wait_timeout(Duration::ZERO));
            let wg2 = wg.clone();
            let patient = loom::thread::spawn(move || wg2.wait());
            wg.done();
            impatient.join().unwrap();
            patient.join().unwrap();
            assert_eq!(
                wg.state.load(Ordering::Relaxed),
                0,
                "counter and waiters back to zero"
            );
        });
    }
}
