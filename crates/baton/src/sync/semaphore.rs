//! [`Semaphore`]: a weighted semaphore with FIFO grants, Go's
//! `golang.org/x/sync/semaphore.Weighted`.
//!
//! A semaphore holds `capacity` permits; `acquire(n)` takes `n` of them,
//! waiting until they are free, and the returned [`SemaphorePermit`] gives
//! them back when dropped; on an `Arc<Semaphore>`, `acquire_owned` returns
//! an [`OwnedSemaphorePermit`] that owns the `Arc`, so it can move into the
//! goroutine doing the work (Go's "acquire, then `go`"). Use it to bound concurrent access to a resource
//! (at most 8 downloads at once; at most 1 GiB of buffers, each request
//! weighted by its size).
//!
//! The semantics (x/sync's, with FIFO grants) and what FIFO costs are on
//! [`Semaphore`].
//!
//! # The state word
//!
//! | bits | name | meaning |
//! |---|---|---|
//! | 0 | `QUEUED` | the wait queue is non-empty: new requests must queue (no barging), releases must hand permits to the head |
//! | 1.. | available | free permits, `0..=capacity` |
//!
//! # Invariants
//!
//! 1. `QUEUED` is set iff the wait queue is non-empty; it only changes
//!    under the queue's lock.
//! 2. Permits are only taken by a compare-and-swap that checks both
//!    `QUEUED` (clear, or we hold the queue lock and serve the head) and the
//!    count, so no request overtakes a waiter.
//! 3. After every release and every departure of the head, the head waiter
//!    does not fit (it is granted otherwise), or the queue is empty.
//!    Granted permits are subtracted from the word *before* the waiter is
//!    woken, so a timed-out waiter that was granted at the last moment
//!    keeps them (the wait queue reports it as woken), and nothing is lost.
//! 4. `available + held (by permits and forgotten permits) == capacity`.
//!
//! # Orderings
//!
//! Taking permits is `Acquire` and returning them `Release`, so a semaphore
//! of capacity 1 orders its holders like a lock. The grant path takes the
//! waiter's permits with `Acquire` (so the releaser that grants has seen
//! every earlier release) and hands them over through the wait queue's
//! token (`Release` store, `Acquire` load), so the woken waiter sees
//! everything before every release it was granted from. `QUEUED` changes
//! are `Relaxed`: decisions based on the bit are made under the lock or
//! re-checked by a compare-and-swap on the whole word.

use core::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::park::spin::SnoozeSpin;
use crate::park::wait_queue::{Locked, Token, Until, WaitQueue, Waited};
use crate::shim::atomic::{AtomicUsize, Ordering};

const QUEUED: usize = 1;
/// One permit in the word.
const ONE: usize = 2;
/// The largest capacity: the count must fit above the `QUEUED` bit.
const MAX_CAPACITY: usize = usize::MAX >> 1;

/// Token for a waiter whose permits were taken for it.
const GRANTED: Token = Token::new(1);

/// A weighted semaphore with FIFO grants, Go's
/// `golang.org/x/sync/semaphore.Weighted`.
///
/// # Semantics (x/sync's)
///
/// - **FIFO, no barging.** Waiters are served in arrival order, and while
///   anyone waits, newcomers queue too, even if their request would fit.
///   So a large request at the head is not starved by a stream of small
///   ones: permits accumulate until it fits. (x/sync: "under load that
///   could cause starvation for large requests; instead, we leave all
///   remaining waiters blocked.")
/// - **A waiter that times out at the head wakes those behind it** if they
///   now fit (x/sync's `notifyWaiters` on cancel): its departure can only
///   free the queue, never stall it.
/// - **Asking for more than the capacity is a bug**: [`acquire`] and
///   [`acquire_timeout`] panic (the wait could never end; x/sync blocks
///   until its context is done), [`try_acquire`] returns `None` (it can
///   never succeed, which is an answer, not a hang).
/// - **Releasing more than was acquired panics**, as x/sync does
///   ("semaphore: released more than held"), and changes nothing.
/// - `acquire(0)` succeeds at once when no one waits, and otherwise waits
///   for its turn like any request (x/sync the same).
/// - Acquiring with a `context` (cancellation) comes with `baton::context`;
///   until then, [`acquire_timeout`] bounds a wait.
///
/// [`acquire`]: Semaphore::acquire
/// [`acquire_timeout`]: Semaphore::acquire_timeout
/// [`try_acquire`]: Semaphore::try_acquire
///
/// # What FIFO costs
///
/// No barging means that once permits run short, every permit goes to the
/// longest waiter, which must be woken before it can use it, while a
/// running thread that could have used it at once queues instead. The
/// lab's `semaphore` experiment shows the price (one run, 2-core guest
/// under load from other builds, `baton-lab run semaphore --rounds 7`):
/// with permits to spare the two are even (1.02-1.19x a Mutex + Condvar
/// semaphore that only notifies when someone waits); with 2 permits for 8
/// threads baton's FIFO semaphore does 0.39x the barging Mutex + Condvar
/// one (4.7 against 12.2 M acquire/release per second). That is the
/// x/sync trade, taken on purpose: no request is starved.
///
/// ```
/// use baton::sync::Semaphore;
///
/// // At most 4 units of work in flight; each job weighs 1 or 2.
/// let sem = Semaphore::new(4);
/// std::thread::scope(|s| {
///     for job in 0..8usize {
///         let sem = &sem;
///         s.spawn(move || {
///             let _permit = sem.acquire(1 + job % 2); // released on drop
///             assert!(sem.available() <= 3);
///         });
///     }
/// });
/// assert_eq!(sem.available(), 4);
/// ```
pub struct Semaphore {
    /// See the state table.
    state: AtomicUsize,
    /// Fixed at construction.
    capacity: usize,
    /// Waiters, each with its request (a number of permits) as payload.
    waiters: WaitQueue<usize>,
}

impl Semaphore {
    /// A semaphore with `capacity` permits, all free. `const` (outside
    /// loom), so it can be a `static`.
    ///
    /// # Panics
    ///
    /// If `capacity` exceeds `usize::MAX / 2`.
    ///
    /// ```
    /// static DOWNLOADS: baton::sync::Semaphore = baton::sync::Semaphore::new(8);
    /// let _slot = DOWNLOADS.acquire(1);
    /// assert_eq!(DOWNLOADS.available(), 7);
    /// ```
    #[cfg(not(loom))]
    pub const fn new(capacity: usize) -> Self {
        assert!(
            capacity <= MAX_CAPACITY,
            "Semaphore::new: the capacity must be at most usize::MAX / 2"
        );
        Self {
            state: AtomicUsize::new(capacity * ONE),
            capacity,
            waiters: WaitQueue::new(),
        }
    }

    /// A semaphore with `capacity` permits, all free.
    #[cfg(loom)]
    pub fn new(capacity: usize) -> Self {
        assert!(
            capacity <= MAX_CAPACITY,
            "Semaphore::new: the capacity must be at most usize::MAX / 2"
        );
        Self {
            state: AtomicUsize::new(capacity * ONE),
            capacity,
            waiters: WaitQueue::new(),
        }
    }

    /// The number of permits, fixed at construction.
    ///
    /// ```
    /// assert_eq!(baton::sync::Semaphore::new(3).capacity(), 3);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Permits free at this instant (a snapshot).
    ///
    /// ```
    /// let sem = baton::sync::Semaphore::new(3);
    /// let p = sem.acquire(2);
    /// assert_eq!(sem.available(), 1);
    /// drop(p);
    /// assert_eq!(sem.available(), 3);
    /// ```
    pub fn available(&self) -> usize {
        self.state.load(Ordering::Relaxed) >> 1
    }

    /// Takes `n` permits, waiting (FIFO) until they are free; they are
    /// released when the returned permit drops. Blocks by parking through
    /// baton's park layer.
    ///
    /// # Panics
    ///
    /// If `n` exceeds the capacity: the wait could never end.
    ///
    /// ```
    /// let sem = baton::sync::Semaphore::new(2);
    /// let p = sem.acquire(2);
    /// assert_eq!(p.permits(), 2);
    /// assert!(sem.try_acquire(1).is_none());
    /// ```
    #[inline]
    pub fn acquire(&self, n: usize) -> SemaphorePermit<'_> {
        if !self.try_take(n) {
            self.check_request(n, "acquire");
            self.acquire_slow(n, None);
        }
        SemaphorePermit { sem: self, n }
    }

    /// Takes `n` permits if they are free and no one is waiting (FIFO: a
    /// request never overtakes a waiter); never blocks. `None` also when
    /// `n` exceeds the capacity (it could never succeed).
    ///
    /// ```
    /// let sem = baton::sync::Semaphore::new(2);
    /// let a = sem.try_acquire(1).unwrap();
    /// assert!(sem.try_acquire(2).is_none());
    /// assert!(sem.try_acquire(3).is_none(), "more than the capacity");
    /// drop(a);
    /// assert!(sem.try_acquire(2).is_some());
    /// ```
    #[inline]
    pub fn try_acquire(&self, n: usize) -> Option<SemaphorePermit<'_>> {
        (n <= self.capacity && self.try_take(n)).then(|| SemaphorePermit { sem: self, n })
    }

    /// As [`acquire`](Self::acquire), giving up after about `timeout`:
    /// `None` if the permits were not granted by then, and the semaphore is
    /// as if it had never been asked (a waiter at the head that gives up
    /// lets those behind it go if they fit). A timeout too large to
    /// represent waits forever.
    ///
    /// # Panics
    ///
    /// If `n` exceeds the capacity.
    ///
    /// ```
    /// use std::time::Duration;
    /// let sem = baton::sync::Semaphore::new(1);
    /// let held = sem.acquire(1);
    /// assert!(sem.acquire_timeout(1, Duration::from_millis(5)).is_none());
    /// drop(held);
    /// assert!(sem.acquire_timeout(1, Duration::from_millis(5)).is_some());
    /// ```
    #[inline]
    pub fn acquire_timeout(&self, n: usize, timeout: Duration) -> Option<SemaphorePermit<'_>> {
        if !self.try_take(n) {
            self.check_request(n, "acquire_timeout");
            if !self.acquire_slow(n, Instant::now().checked_add(timeout)) {
                return None;
            }
        }
        Some(SemaphorePermit { sem: self, n })
    }

    /// As [`acquire`](Self::acquire), but the permit owns a clone of the
    /// `Arc` instead of borrowing the semaphore: it is `Send + 'static`, so
    /// Go's "acquire, then `go`" can move it into the goroutine, which
    /// releases the permits when it drops it (tokio's `acquire_owned`).
    ///
    /// # Panics
    ///
    /// If `n` exceeds the capacity: the wait could never end.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use baton::sync::Semaphore;
    ///
    /// // At most 2 jobs at once: acquire in the loop (so the loop waits for
    /// // a free slot), release in the goroutine.
    /// let sem = Arc::new(Semaphore::new(2));
    /// let handles: Vec<_> = (0..6)
    ///     .map(|i| {
    ///         let permit = sem.acquire_owned(1);
    ///         baton::go(move || {
    ///             let _permit = permit; // released when the job ends
    ///             i * 10
    ///         })
    ///     })
    ///     .collect();
    /// let sum: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    /// assert_eq!(sum, 150);
    /// assert_eq!(sem.available(), 2);
    /// ```
    pub fn acquire_owned(self: &Arc<Self>, n: usize) -> OwnedSemaphorePermit {
        self.acquire(n).forget();
        OwnedSemaphorePermit::new(self.clone(), n)
    }

    /// As [`try_acquire`](Self::try_acquire), with an owned permit (see
    /// [`acquire_owned`](Self::acquire_owned)); never blocks.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(baton::sync::Semaphore::new(1));
    /// let p = sem.try_acquire_owned(1).unwrap();
    /// assert!(sem.try_acquire_owned(1).is_none());
    /// drop(p);
    /// assert!(sem.try_acquire_owned(1).is_some());
    /// ```
    pub fn try_acquire_owned(self: &Arc<Self>, n: usize) -> Option<OwnedSemaphorePermit> {
        let p = self.try_acquire(n)?;
        p.forget();
        Some(OwnedSemaphorePermit::new(self.clone(), n))
    }

    /// As [`acquire_timeout`](Self::acquire_timeout), with an owned permit
    /// (see [`acquire_owned`](Self::acquire_owned)): `None` if the permits
    /// were not granted within about `timeout`.
    ///
    /// # Panics
    ///
    /// If `n` exceeds the capacity.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// let sem = Arc::new(baton::sync::Semaphore::new(1));
    /// let held = sem.acquire_owned(1);
    /// assert!(sem.acquire_timeout_owned(1, Duration::from_millis(5)).is_none());
    /// drop(held);
    /// assert!(sem.acquire_timeout_owned(1, Duration::from_millis(5)).is_some());
    /// ```
    pub fn acquire_timeout_owned(
        self: &Arc<Self>,
        n: usize,
        timeout: Duration,
    ) -> Option<OwnedSemaphorePermit> {
        let p = self.acquire_timeout(n, timeout)?;
        p.forget();
        Some(OwnedSemaphorePermit::new(self.clone(), n))
    }

    /// Returns `n` permits: for permits kept with
    /// [`SemaphorePermit::forget`] (a permit guard releases its own).
    /// Wakes waiters, in order, while the head's request fits.
    ///
    /// # Panics
    ///
    /// If that would make more permits free than the capacity ("released
    /// more than held"); the semaphore is left unchanged.
    ///
    /// ```
    /// let sem = baton::sync::Semaphore::new(2);
    /// sem.acquire(2).forget(); // e.g. handed to another part of the program
    /// assert_eq!(sem.available(), 0);
    /// sem.release(2);
    /// assert_eq!(sem.available(), 2);
    /// ```
    #[inline]
    pub fn release(&self, n: usize) {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if n > self.capacity - (s >> 1) {
                self.over_release(n, s >> 1);
            }
            // Release: the holder's accesses happen-before the next taker's.
            match self.state.compare_exchange_weak(
                s,
                s + n * ONE,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(seen) => s = seen,
            }
        }
        if s & QUEUED != 0 {
            self.release_slow();
        }
    }

    /// Takes `n` permits if free and nobody waits.
    #[inline]
    fn try_take(&self, n: usize) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & QUEUED != 0 || (s >> 1) < n {
                return false;
            }
            // Acquire: see what the releasers did before releasing.
            match self.state.compare_exchange_weak(
                s,
                s - n * ONE,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => s = seen,
            }
        }
    }

    #[cold]
    fn check_request(&self, n: usize, op: &str) {
        assert!(
            n <= self.capacity,
            "Semaphore::{op}({n}): more permits than the capacity ({}); the wait could never end",
            self.capacity
        );
    }

    #[cold]
    #[inline(never)]
    fn over_release(&self, n: usize, available: usize) -> ! {
        panic!(
            "Semaphore::release({n}): released more permits than were acquired \
             ({available} of {} are already free)",
            self.capacity
        );
    }

    /// As [`acquire`](Self::acquire), giving up when `until` says (a
    /// deadline or an abort condition: `acquire_ctx` in `sync/ctx.rs`).
    ///
    /// # Panics
    ///
    /// If `n` exceeds the capacity.
    #[cfg(not(loom))]
    pub(crate) fn acquire_until(&self, n: usize, until: Until<'_>) -> Option<SemaphorePermit<'_>> {
        if !self.try_take(n) {
            self.check_request(n, "acquire_ctx");
            if !self.acquire_slow(n, until) {
                return None;
            }
        }
        Some(SemaphorePermit { sem: self, n })
    }

    /// Spin while nobody is queued (the permits may come back soon), then
    /// queue. `true` once the permits are ours.
    #[cold]
    fn acquire_slow<'u>(&self, n: usize, until: impl Into<Until<'u>>) -> bool {
        let until = until.into();
        let spin = SnoozeSpin::new();
        while spin.spinning() && self.state.load(Ordering::Relaxed) & QUEUED == 0 {
            spin.snooze();
            if self.try_take(n) {
                return true;
            }
        }
        let waited = self.waiters.wait(
            n,
            until,
            |_| self.take_or_mark(n),
            || {},
            // The head leaving may let the next ones fit (x/sync's
            // notifyWaiters on cancel); elsewhere this finds nothing to do.
            |q| self.grant_waiters(q),
        );
        match waited {
            Waited::NotQueued => true,
            Waited::Woken(token) => {
                debug_assert_eq!(token, GRANTED);
                true
            }
            Waited::TimedOut => false,
        }
    }

    /// Under the queue lock: take `n` permits if free and nobody waits
    /// (`false`: do not queue), else set `QUEUED` (`true`: queue). One
    /// compare-and-swap decides, so no release slips between.
    fn take_or_mark(&self, n: usize) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let (new, queue) = if s & QUEUED == 0 && (s >> 1) >= n {
                (s - n * ONE, false)
            } else {
                (s | QUEUED, true)
            };
            // Acquire: when taking, as in `try_take`.
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return queue,
                Err(seen) => s = seen,
            }
        }
    }

    #[cold]
    fn release_slow(&self) {
        let mut q = self.waiters.lock();
        self.grant_waiters(&mut q);
    }

    /// Under the queue lock: grant waiters from the head while the head's
    /// request fits (invariant 3), then clear `QUEUED` if none is left.
    fn grant_waiters(&self, q: &mut Locked<'_, usize>) {
        q.wake_while(|n| {
            let mut s = self.state.load(Ordering::Relaxed);
            loop {
                if (s >> 1) < n {
                    return None; // FIFO: nobody overtakes the head
                }
                // Acquire: see the module docs (the granter has seen every
                // release it grants from).
                match self.state.compare_exchange_weak(
                    s,
                    s - n * ONE,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Some(GRANTED),
                    Err(seen) => s = seen,
                }
            }
        });
        if q.is_empty() {
            self.state.fetch_and(!QUEUED, Ordering::Relaxed);
        }
    }

    /// How many wait, for tests.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.waiters.lock().len()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("Semaphore")
            .field("available", &(s >> 1))
            .field("capacity", &self.capacity)
            .field("waiters", &(s & QUEUED != 0))
            .finish()
    }
}

/// Permits taken from a [`Semaphore`]; released when dropped.
///
/// Unlike lock guards, a permit is `Send`: a semaphore's permits may be
/// released by any thread, as in Go.
///
/// ```
/// let sem = baton::sync::Semaphore::new(2);
/// let permit = sem.acquire(1);
/// std::thread::scope(|s| {
///     s.spawn(move || drop(permit)); // released on another thread
/// });
/// assert_eq!(sem.available(), 2);
/// ```
#[must_use = "dropping the permit releases it at once"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

impl SemaphorePermit<'_> {
    /// How many permits this holds.
    ///
    /// ```
    /// let sem = baton::sync::Semaphore::new(5);
    /// assert_eq!(sem.acquire(3).permits(), 3);
    /// ```
    pub fn permits(&self) -> usize {
        self.n
    }

    /// Keeps the permits taken: they are not released on drop. Give them
    /// back later with [`Semaphore::release`].
    ///
    /// ```
    /// let sem = baton::sync::Semaphore::new(1);
    /// sem.acquire(1).forget();
    /// assert_eq!(sem.available(), 0);
    /// sem.release(1);
    /// ```
    pub fn forget(self) {
        core::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.n != 0 {
            self.sem.release(self.n);
        }
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

/// Permits taken from a [`Semaphore`] in an `Arc`, by
/// [`Semaphore::acquire_owned`] and its siblings; released when dropped.
/// `Send + 'static`: it can move into a goroutine or thread.
///
/// ```
/// use std::sync::Arc;
/// let sem = Arc::new(baton::sync::Semaphore::new(3));
/// let permit = sem.acquire_owned(2);
/// assert_eq!(permit.permits(), 2);
/// assert_eq!(sem.available(), 1);
/// std::thread::spawn(move || drop(permit)).join().unwrap();
/// assert_eq!(sem.available(), 3);
/// ```
#[must_use = "dropping the permit releases it at once"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    n: usize,
}

impl OwnedSemaphorePermit {
    /// Wraps `n` permits already taken from `sem`.
    fn new(sem: Arc<Semaphore>, n: usize) -> Self {
        Self { sem, n }
    }

    /// How many permits this holds.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(baton::sync::Semaphore::new(5));
    /// assert_eq!(sem.acquire_owned(3).permits(), 3);
    /// ```
    pub fn permits(&self) -> usize {
        self.n
    }

    /// The semaphore the permits came from.
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(baton::sync::Semaphore::new(1));
    /// let p = sem.acquire_owned(1);
    /// assert!(Arc::ptr_eq(p.semaphore(), &sem));
    /// ```
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Keeps the permits taken: they are not released on drop. Give them
    /// back later with [`Semaphore::release`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// let sem = Arc::new(baton::sync::Semaphore::new(1));
    /// sem.acquire_owned(1).forget();
    /// assert_eq!(sem.available(), 0);
    /// sem.release(1);
    /// ```
    pub fn forget(mut self) {
        // Zero permits: the drop below releases nothing and only drops
        // the `Arc`.
        self.n = 0;
    }
}

impl Drop for OwnedSemaphorePermit {
    #[inline]
    fn drop(&mut self) {
        if self.n != 0 {
            self.sem.release(self.n);
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
