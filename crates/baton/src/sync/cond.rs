//! [`Cond`]: Go's `sync.Cond`, a condition variable for data guarded by a
//! baton [`Mutex`].
//!
//! # Algorithm
//!
//! A FIFO [`WaitQueue`] of waiters. `wait` joins the queue *while still
//! holding the mutex*, and unlocks it only then (the queue's `before_sleep`
//! step); `signal` wakes the front waiter, `broadcast` all of them.
//!
//! Invariant (no lost signal): a waiter is in the queue from before it
//! releases the mutex until it is woken or times out. So any `signal` that
//! happens after the waiter's unlock (in particular one made by a thread
//! that changed the condition under the mutex) finds it, exactly as Go's
//! `notifyList` takes its ticket before unlocking.
//!
//! `waiters` mirrors the queue's length (changed only under the queue's
//! lock) so that `signal`/`broadcast` with nobody waiting cost one load,
//! not a lock. The load is `Relaxed`: a waiter increments it before
//! releasing the mutex, and a signaller that changed the condition under the
//! mutex acquired it after that release, so it sees the increment. A
//! signaller that changes the condition *without* the mutex races with
//! waiters in Go too ("the caller may hold c.L", but then the usual lost
//! wake-up applies); hold the mutex while changing the condition.
//!
//! Unlike `std::sync::Condvar`, `wait` does not return spuriously (as in Go:
//! "Wait cannot return unless awoken by Broadcast or Signal"); the wait queue
//! absorbs the park layer's spurious wake-ups. Still re-check the condition
//! in a loop ([`wait_while`](Cond::wait_while) does it): another thread may
//! have changed it again between the signal and the re-lock.

use core::fmt;
use core::time::Duration;
use std::time::Instant;

use super::mutex::{Mutex, MutexGuard};
use super::raw_mutex::RawMutex;
use crate::park::wait_queue::{Token, Until, WaitQueue, Waited};
use crate::shim::atomic::{AtomicUsize, Ordering};

/// A condition variable, as Go's `sync.Cond`, used with a baton [`Mutex`].
///
/// ```
/// use baton::sync::{Cond, Mutex};
/// use std::thread;
///
/// let ready = Mutex::new(false);
/// let cond = Cond::new();
/// thread::scope(|s| {
///     s.spawn(|| {
///         *ready.lock() = true;
///         cond.signal();
///     });
///     let mut g = ready.lock();
///     while !*g {
///         g = cond.wait(g);
///     }
/// });
/// ```
pub struct Cond {
    queue: WaitQueue,
    /// The queue's length; written only under the queue's lock.
    waiters: AtomicUsize,
}

impl Cond {
    /// A condition variable with no waiters.
    ///
    /// ```
    /// static C: baton::sync::Cond = baton::sync::Cond::new();
    /// C.broadcast(); // nobody waits: nothing happens
    /// ```
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            queue: WaitQueue::new(),
            waiters: AtomicUsize::new(0),
        }
    }

    /// A condition variable with no waiters.
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            queue: WaitQueue::new(),
            waiters: AtomicUsize::new(0),
        }
    }

    /// Unlocks the guard's mutex, waits for a [`signal`](Self::signal) or
    /// [`broadcast`](Self::broadcast), and locks it again before returning.
    ///
    /// ```
    /// use baton::sync::{Cond, Mutex};
    /// let (m, c) = (Mutex::new(0), Cond::new());
    /// std::thread::scope(|s| {
    ///     s.spawn(|| { *m.lock() = 7; c.broadcast(); });
    ///     let mut g = m.lock();
    ///     while *g == 0 { g = c.wait(g); }
    ///     assert_eq!(*g, 7);
    /// });
    /// ```
    pub fn wait<'a, T: ?Sized>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        let mutex = Self::release_guard(guard);
        self.wait_raw(mutex.raw(), None);
        MutexGuard::new(mutex)
    }

    /// As [`wait`](Self::wait), giving up after `timeout`. Returns the
    /// re-locked guard and whether it timed out.
    ///
    /// ```
    /// use baton::sync::{Cond, Mutex};
    /// use std::time::Duration;
    /// let (m, c) = (Mutex::new(()), Cond::new());
    /// let (_g, timed_out) = c.wait_timeout(m.lock(), Duration::from_millis(5));
    /// assert!(timed_out);
    /// ```
    pub fn wait_timeout<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T>, bool) {
        let deadline = Instant::now().checked_add(timeout);
        let mutex = Self::release_guard(guard);
        let timed_out = self.wait_raw(mutex.raw(), deadline);
        (MutexGuard::new(mutex), timed_out)
    }

    /// Waits for a signal unless `until` says to give up first (a deadline
    /// or an abort condition: `wait_ctx` in `sync/ctx.rs`); returns the
    /// re-locked guard and whether it gave up.
    #[cfg(not(loom))]
    pub(crate) fn wait_until<'a, T: ?Sized>(
        &self,
        guard: MutexGuard<'a, T>,
        until: Until<'_>,
    ) -> (MutexGuard<'a, T>, bool) {
        let mutex = Self::release_guard(guard);
        let gave_up = self.wait_raw(mutex.raw(), until);
        (MutexGuard::new(mutex), gave_up)
    }

    /// Waits while `condition` holds for the guarded data, re-checking it
    /// after every wake-up.
    ///
    /// ```
    /// use baton::sync::{Cond, Mutex};
    /// let (m, c) = (Mutex::new(Vec::<u32>::new()), Cond::new());
    /// std::thread::scope(|s| {
    ///     s.spawn(|| { m.lock().push(1); c.signal(); });
    ///     let g = c.wait_while(m.lock(), |q| q.is_empty());
    ///     assert_eq!(*g, [1]);
    /// });
    /// ```
    pub fn wait_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T> {
        while condition(&mut *guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// As [`wait_while`](Self::wait_while), giving up after `timeout` in
    /// all. Returns the guard and whether it timed out (with `condition`
    /// still true).
    ///
    /// ```
    /// use baton::sync::{Cond, Mutex};
    /// use std::time::Duration;
    /// let (m, c) = (Mutex::new(0), Cond::new());
    /// let (g, timed_out) = c.wait_timeout_while(m.lock(), Duration::from_millis(5), |n| *n == 0);
    /// assert!(timed_out && *g == 0);
    /// ```
    pub fn wait_timeout_while<'a, T: ?Sized>(
        &self,
        mut guard: MutexGuard<'a, T>,
        timeout: Duration,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> (MutexGuard<'a, T>, bool) {
        let deadline = Instant::now().checked_add(timeout);
        while condition(&mut *guard) {
            let mutex = Self::release_guard(guard);
            let timed_out = self.wait_raw(mutex.raw(), deadline);
            guard = MutexGuard::new(mutex);
            if timed_out {
                let still = condition(&mut *guard);
                return (guard, still);
            }
        }
        (guard, false)
    }

    /// Wakes the waiter that has waited longest, if any.
    ///
    /// ```
    /// baton::sync::Cond::new().signal(); // no waiter: no effect
    /// ```
    pub fn signal(&self) {
        // Relaxed: see the module docs.
        if self.waiters.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut q = self.queue.lock();
        if q.wake_front(Token::WAKE).is_some() {
            self.waiters.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Wakes every waiter.
    ///
    /// ```
    /// baton::sync::Cond::new().broadcast(); // no waiter: no effect
    /// ```
    pub fn broadcast(&self) {
        if self.waiters.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut q = self.queue.lock();
        let n = q.wake_all(Token::WAKE);
        self.waiters.fetch_sub(n, Ordering::Relaxed);
    }

    /// Gives up the guard without unlocking (the wait unlocks).
    fn release_guard<T: ?Sized>(guard: MutexGuard<'_, T>) -> &Mutex<T> {
        let mutex = guard.mutex;
        // The wait unlocks it: no longer held (debug marker; the guard
        // made again after the wait marks it again).
        guard.unmark();
        core::mem::forget(guard);
        mutex
    }

    /// Queues, unlocks `raw`, parks, re-locks; `true` = timed out.
    fn wait_raw<'u>(&self, raw: &RawMutex, until: impl Into<Until<'u>>) -> bool {
        let _reason = crate::park::wait_reason(crate::park::WaitReason::Cond);
        let waited = self.queue.wait(
            (),
            until,
            |_| {
                self.waiters.fetch_add(1, Ordering::Relaxed);
                true
            },
            // SAFETY: the caller's guard was forgotten by `release_guard`,
            // so we own the lock, and unlock it exactly once here.
            || unsafe { raw.unlock() },
            |_| {
                self.waiters.fetch_sub(1, Ordering::Relaxed);
            },
        );
        raw.lock();
        waited == Waited::TimedOut
    }
}

// A `Cond` holds no user data, and its queue is consistent whenever its
// lock is free.
impl core::panic::RefUnwindSafe for Cond {}
impl core::panic::UnwindSafe for Cond {}

impl Default for Cond {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cond")
            .field("waiters", &self.waiters.load(Ordering::Relaxed))
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn signal_wakes_longest_waiter_first() {
        let m = Arc::new(Mutex::new(Vec::new()));
        let c = Arc::new(Cond::new());
        let mut hs = Vec::new();
        for i in 0..3 {
            let (m2, c2) = (m.clone(), c.clone());
            hs.push(std::thread::spawn(move || {
                let g = m2.lock();
                let mut g = c2.wait(g);
                g.push(i);
            }));
            // Wait until waiter i is queued, so arrival order is known.
            while c.waiters.load(Ordering::SeqCst) != i + 1 {
                std::thread::yield_now();
            }
        }
        for n in 1..=3 {
            c.signal();
            while m.lock().len() != n {
                std::thread::yield_now();
            }
        }
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*m.lock(), [0, 1, 2]);
    }

    #[test]
    fn timeout_leaves_no_waiter_behind() {
        let m = Mutex::new(());
        let c = Cond::new();
        let (g, timed_out) = c.wait_timeout(m.lock(), Duration::from_millis(2));
        assert!(timed_out);
        assert!(m.is_locked(), "the guard comes back locked");
        drop(g);
        assert_eq!(c.waiters.load(Ordering::SeqCst), 0);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::shim::Arc;

    /// A signal sent after the condition is set is never lost, wherever
    /// the waiter is (before its check, queued, or parked).
    #[test]
    fn loom_cond_no_lost_signal() {
        loom::model(|| {
            let pair = Arc::new((Mutex::new(false), Cond::new()));
            let p2 = pair.clone();
            let t = loom::thread::spawn(move || {
                *p2.0.lock() = true;
                p2.1.signal();
            });
            let (m, c) = &*pair;
            let g = c.wait_while(m.lock(), |ready| !*ready);
            assert!(*g);
            drop(g);
            t.join().unwrap();
        });
    }

    /// Broadcast reaches both of two waiters.
    #[test]
    fn loom_cond_broadcast_reaches_all() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(2);
        b.check(|| {
            let pair = Arc::new((Mutex::new(false), Cond::new()));
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let p = pair.clone();
                    loom::thread::spawn(move || {
                        let g = p.1.wait_while(p.0.lock(), |ready| !*ready);
                        assert!(*g);
                    })
                })
                .collect();
            *pair.0.lock() = true;
            pair.1.broadcast();
            for w in waiters {
                w.join().unwrap();
            }
        });
    }
}
