//! [`Mutex<T>`]: Go's `sync.Mutex` with Rust's ownership: the data lives
//! inside, and a guard gives access.
//!
//! The lock itself is [`RawMutex`] (state table, fairness policy and memory
//! orderings are documented there): an uncontended `lock` and `unlock` are
//! one compare-and-swap each, inlined; a contended `lock` spins briefly,
//! then parks through the wait queue (a goroutine parks, never its worker
//! thread); a waiter that has waited over 1 ms gets the lock handed to it
//! directly (Go's starvation mode).
//!
//! # No poisoning
//!
//! A panic while the guard is held unlocks the mutex as the guard drops,
//! and the next `lock` succeeds as usual: Go has no poisoning, nor has
//! `parking_lot`. std's poisoning forces an `unwrap` on every `lock` to
//! catch a rare case that a caller who cares can handle with
//! `catch_unwind` around the critical section. The data may be left
//! half-updated by such a panic; keep critical sections short and their
//! invariants simple.
//!
//! # Locking twice
//!
//! A `Mutex` is not re-entrant: a second `lock` by the goroutine (or, outside
//! a goroutine, the thread) that holds it would wait forever. In debug
//! builds each guard marks its mutex as held by its goroutine or thread
//! (`park::held`, a thread-local list keyed by holder; goroutines never
//! change threads), and `lock` panics with a message instead of hanging.
//! Release builds compile the marker away, so the fast path is unchanged;
//! there, such a hang inside a runtime shows in the deadlock report's dump
//! as a goroutine waiting in `mutex`. Another goroutine on the same worker
//! asking for a mutex held across a park is an ordinary wait, not a panic.

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::time::Duration;
use std::time::Instant;

use super::raw_mutex::RawMutex;
use crate::park::held::{self, Kind};
#[cfg(not(loom))]
use crate::park::wait_queue::Until;
use crate::shim::UnsafeCell;

/// A mutual-exclusion lock protecting a `T`, as Go's `sync.Mutex`.
///
/// ```
/// use baton::sync::Mutex;
/// use std::thread;
///
/// let hits = Mutex::new(0);
/// thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             for _ in 0..1000 {
///                 *hits.lock() += 1;
///             }
///         });
///     }
/// });
/// assert_eq!(hits.into_inner(), 4000);
/// ```
pub struct Mutex<T: ?Sized> {
    raw: RawMutex,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex owns its `T`; sending it sends the `T`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: the lock admits one guard at a time, and a guard hands out
// `&mut T`; so sharing the mutex shares `T` only by moving access between
// threads, which `T: Send` allows (as std's `Mutex`).
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Grants access to the data of a locked [`Mutex`]; unlocks on drop.
///
/// It is not `Send`: the thread (or goroutine) that locked is the one that
/// unlocks. Goroutines never migrate between threads, so holding a guard
/// across a park inside a goroutine is fine.
///
/// ```
/// let m = baton::sync::Mutex::new(vec![1]);
/// let mut g = m.lock();
/// g.push(2);
/// assert_eq!(*g, [1, 2]);
/// ```
///
/// Sending a guard to another thread does not compile:
///
/// ```compile_fail
/// static M: baton::sync::Mutex<u8> = baton::sync::Mutex::new(0);
/// let g = M.lock();
/// std::thread::spawn(move || drop(g));
/// ```
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T: ?Sized> {
    pub(super) mutex: &'a Mutex<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared guard only gives `&T`, which is fine to share when
// `T: Sync` (as std's `MutexGuard`).
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// A new, unlocked mutex holding `value`. `const`, so it can be a
    /// `static`.
    ///
    /// ```
    /// use baton::sync::Mutex;
    /// static NAMES: Mutex<Vec<&str>> = Mutex::new(Vec::new());
    /// NAMES.lock().push("gopher");
    /// assert_eq!(NAMES.lock().len(), 1);
    /// ```
    #[cfg(not(loom))]
    pub const fn new(value: T) -> Self {
        Self {
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// A new, unlocked mutex holding `value`.
    #[cfg(loom)]
    pub fn new(value: T) -> Self {
        Self {
            raw: RawMutex::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// A mutex with a forced starvation policy, for tests and models.
    #[cfg(test)]
    pub(crate) fn with_policy(value: T, policy: super::raw_mutex::StarvePolicy) -> Self {
        Self {
            raw: RawMutex::with_policy(policy),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns the data (no locking needed: nobody
    /// else can hold it).
    ///
    /// ```
    /// let m = baton::sync::Mutex::new(String::from("go"));
    /// assert_eq!(m.into_inner(), "go");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, waiting as long as it takes, and returns the guard.
    ///
    /// Locking a mutex the caller already holds deadlocks, as in Go.
    ///
    /// # Panics
    ///
    /// In debug builds, if the calling goroutine (or thread, outside a
    /// goroutine) already holds this mutex: that wait could never end, so
    /// it panics with a message instead of hanging silently.
    ///
    /// ```
    /// let m = baton::sync::Mutex::new(1);
    /// *m.lock() += 1;
    /// assert_eq!(*m.lock(), 2);
    /// ```
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        if cfg!(debug_assertions) {
            self.check_not_held();
        }
        self.raw.lock();
        MutexGuard::new(self)
    }

    /// Debug builds: panics if the caller already holds this mutex.
    #[cold]
    #[inline(never)]
    fn check_not_held(&self) {
        if held::held(self.id()) == Some(Kind::Exclusive) {
            panic!(
                "baton::sync::Mutex locked twice by the same goroutine or thread: the second \
                 lock would wait for the first forever (Mutex is not reentrant); drop the \
                 first guard before locking again, or pass the guard (or `&mut T`) down"
            );
        }
    }

    /// This mutex's identity for the held marker (`park::held`).
    fn id(&self) -> *const () {
        (self as *const Self).cast()
    }

    /// Locks if the mutex is free right now; never waits. Like Go's
    /// `TryLock`, it also fails while the lock is being handed to a starving
    /// waiter.
    ///
    /// ```
    /// let m = baton::sync::Mutex::new(());
    /// let g = m.try_lock().expect("free");
    /// assert!(m.try_lock().is_none());
    /// drop(g);
    /// assert!(m.try_lock().is_some());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.raw.try_lock().then(|| MutexGuard::new(self))
    }

    /// Locks, giving up after `timeout`; `None` if it timed out.
    ///
    /// ```
    /// use std::time::Duration;
    /// let m = baton::sync::Mutex::new(0);
    /// let g = m.lock();
    /// assert!(m.lock_timeout(Duration::from_millis(10)).is_none());
    /// drop(g);
    /// assert!(m.lock_timeout(Duration::from_millis(10)).is_some());
    /// ```
    pub fn lock_timeout(&self, timeout: Duration) -> Option<MutexGuard<'_, T>> {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.lock_deadline(deadline),
            None => Some(self.lock()),
        }
    }

    /// Locks, giving up at `deadline`; `None` if it passed first.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let m = baton::sync::Mutex::new(0);
    /// assert!(m.lock_deadline(Instant::now() + Duration::from_secs(1)).is_some());
    /// ```
    pub fn lock_deadline(&self, deadline: Instant) -> Option<MutexGuard<'_, T>> {
        self.raw
            .lock_deadline(deadline)
            .then(|| MutexGuard::new(self))
    }

    /// Locks unless `until` says to give up first (a deadline or an abort
    /// condition: the context-taking `lock_ctx` in `sync/ctx.rs`).
    #[cfg(not(loom))]
    pub(crate) fn lock_until(&self, until: Until<'_>) -> Option<MutexGuard<'_, T>> {
        self.raw.lock_until(until).then(|| MutexGuard::new(self))
    }

    /// Whether the mutex is locked right now (a snapshot that may be stale
    /// by the time it returns; for diagnostics, not synchronisation).
    ///
    /// ```
    /// let m = baton::sync::Mutex::new(());
    /// let g = m.lock();
    /// assert!(m.is_locked());
    /// drop(g);
    /// assert!(!m.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        self.raw.is_locked()
    }

    /// Mutable access without locking: `&mut self` proves nobody else can
    /// hold the lock.
    ///
    /// ```
    /// let mut m = baton::sync::Mutex::new(1);
    /// *m.get_mut() = 5;
    /// assert_eq!(*m.lock(), 5);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` is exclusive, so no guard exists.
        self.data.with_mut(|p| unsafe { &mut *p })
    }

    pub(super) fn raw(&self) -> &RawMutex {
        &self.raw
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Wraps a lock the caller has just acquired.
    pub(super) fn new(mutex: &'a Mutex<T>) -> Self {
        held::mark(mutex.id(), Kind::Exclusive);
        Self {
            mutex,
            _not_send: PhantomData,
        }
    }

    /// Removes the held marker, for a caller that forgets the guard and
    /// unlocks through the raw lock (`Cond::wait`).
    pub(super) fn unmark(&self) {
        held::unmark(self.mutex.id(), Kind::Exclusive);
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so no `&mut T` exists elsewhere.
        self.mutex.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock and is borrowed mutably, so this
        // is the only access to the data.
        self.mutex.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        held::unmark(self.mutex.id(), Kind::Exclusive);
        // SAFETY: a guard exists only while its lock is held, and each
        // guard unlocks once.
        unsafe { self.mutex.raw.unlock() };
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized + fmt::Display> fmt::Display for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&**self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
