//! A tiny test-and-test-and-set spin lock for wait-queue bookkeeping,
//! optionally guarding a value `T` (the wait queue's links), reached only
//! through the guard.
//!
//! It guards a few pointer updates (link or unlink one waiter), never user
//! code and never a park, so holders keep it for tens of nanoseconds. It must
//! not block in the OS: the wait queue is what blocking primitives are built
//! from, and inside a goroutine a blocking OS lock would stall the worker.
//! A waiter spins with [`Backoff::snooze`], which yields the time slice once
//! spinning stops paying, so a holder preempted on an oversubscribed core
//! gets the CPU back.
//!
//! Orderings: `Acquire` on taking the lock and `Release` on giving it back
//! make each holder see everything the previous holder wrote; the plain load
//! in the wait loop is `Relaxed` (it only decides when to retry the CAS,
//! which is the synchronising operation).
//!
//! Under loom the lock is loom's mutex instead: with two or more spinners
//! loom explores them yielding to each other forever (its "maximum number of
//! branches" failure), and a spin lock's correctness is not what the models
//! are about. The wait queue's protocol above the lock is still checked.

use core::fmt;
use core::ops::{Deref, DerefMut};

#[cfg(not(loom))]
use crate::atomic::Backoff;
#[cfg(not(loom))]
use crate::shim::atomic::{AtomicBool, Ordering};
#[cfg(not(loom))]
use crate::shim::UnsafeCell;

/// See the module docs. `T` is the guarded value (none by default).
pub(crate) struct SpinLock<T = ()> {
    /// `true` while held.
    #[cfg(not(loom))]
    locked: AtomicBool,
    /// Guarded by `locked`.
    #[cfg(not(loom))]
    value: UnsafeCell<T>,
    #[cfg(loom)]
    lock: crate::shim::ModelMutex<T>,
}

// SAFETY: as `std::sync::Mutex<T>`: the value is only reached under the
// lock, so sharing the lock moves `T` between threads, which needs
// `T: Send`. (Under loom the model mutex gives the same bounds itself.)
#[cfg(not(loom))]
unsafe impl<T: Send> Send for SpinLock<T> {}
// SAFETY: as above.
#[cfg(not(loom))]
unsafe impl<T: Send> Sync for SpinLock<T> {}

/// Holds the lock and gives access to the value; releases it on drop.
pub(crate) struct SpinGuard<'a, T = ()> {
    #[cfg(not(loom))]
    lock: &'a SpinLock<T>,
    #[cfg(loom)]
    guard: crate::shim::ModelMutexGuard<'a, T>,
}

#[cfg(not(loom))]
impl SpinLock {
    pub(crate) const fn new() -> Self {
        Self::with_value(())
    }
}

#[cfg(not(loom))]
impl<T> SpinLock<T> {
    /// An unlocked lock guarding `value`.
    pub(crate) const fn with_value(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock, spinning (then yielding) until it is free.
    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        if self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    /// Spin audit (issue 10): this loop cannot wait for a parked goroutine.
    /// The lock is held only across short critical sections that never
    /// park, block or run user code (a wait queue's link updates and its
    /// primitive's state; wakes are delivered after it is released), and
    /// goroutines are not preempted, so a holder finishes its section
    /// before its worker runs anything else. Only the OS can delay a
    /// holder, which `snooze`'s yields cover. (The policy is `Backoff`, see
    /// `park::spin`; it snoozes without end, as a spin lock must.)
    #[cold]
    fn lock_contended(&self) {
        let backoff = Backoff::new();
        loop {
            while self.locked.load(Ordering::Relaxed) {
                backoff.snooze();
            }
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
    }
}

#[cfg(not(loom))]
impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(not(loom))]
impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: we hold the lock, so nobody mutates the value; the borrow
        // is tied to the guard.
        self.lock.value.with(|p| unsafe { &*p })
    }
}

#[cfg(not(loom))]
impl<T> DerefMut for SpinGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the lock, so this is the only access; the borrow
        // is tied to the (exclusively borrowed) guard.
        self.lock.value.with_mut(|p| unsafe { &mut *p })
    }
}

#[cfg(loom)]
impl SpinLock {
    pub(crate) fn new() -> Self {
        Self::with_value(())
    }
}

#[cfg(loom)]
impl<T> SpinLock<T> {
    /// An unlocked lock guarding `value`.
    pub(crate) fn with_value(value: T) -> Self {
        Self {
            lock: crate::shim::ModelMutex::new(value),
        }
    }

    pub(crate) fn lock(&self) -> SpinGuard<'_, T> {
        SpinGuard {
            guard: self.lock.lock().expect("the model lock is never poisoned"),
        }
    }
}

#[cfg(loom)]
impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard
    }
}

#[cfg(loom)]
impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> fmt::Debug for SpinLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpinLock").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for SpinGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpinGuard").finish_non_exhaustive()
    }
}
