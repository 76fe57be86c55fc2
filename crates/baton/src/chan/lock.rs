//! [`SpinMutex`]: the park layer's spin lock with the data it guards.
//!
//! Channels keep only tiny critical sections under it (link or unlink a
//! waiter, pair a sender with a receiver), never a park, a user callback or
//! a syscall: wakes are collected under the lock and delivered after it is
//! released. A spin lock, not an OS mutex, because inside a goroutine an OS
//! mutex held by a preempted thread would block the whole worker; the spin
//! lock yields the time slice once spinning stops paying (see
//! `park::spin_lock`).
//!
//! Its wait cannot be one for a parked goroutine (issue 10, item 2): no
//! holder parks or yields to the scheduler inside a section, and baton
//! does not preempt goroutines, so a holder is always running (or, on
//! another worker thread, preempted by the OS, which the waiter's yield
//! lets run); a waiter is never waiting for a goroutine queued behind it
//! on its own worker.

use core::fmt;
use core::ops::{Deref, DerefMut};

use crate::park::spin_lock::{SpinGuard, SpinLock};
use crate::shim::UnsafeCell;

/// A value guarded by a spin lock.
pub(crate) struct SpinMutex<T> {
    lock: SpinLock,
    /// Guarded by `lock`.
    value: UnsafeCell<T>,
}

// SAFETY: as `std::sync::Mutex<T>`: the value is only reached under the lock,
// so sharing the mutex moves `T` between threads, which needs `T: Send`.
unsafe impl<T: Send> Send for SpinMutex<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for SpinMutex<T> {}

impl<T> SpinMutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            lock: SpinLock::new(),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock.
    #[inline]
    pub(crate) fn lock(&self) -> SpinMutexGuard<'_, T> {
        let guard = self.lock.lock();
        SpinMutexGuard {
            mutex: self,
            _guard: guard,
        }
    }
}

impl<T> fmt::Debug for SpinMutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpinMutex").finish_non_exhaustive()
    }
}

/// Access to the guarded value; releases the lock on drop.
pub(crate) struct SpinMutexGuard<'a, T> {
    mutex: &'a SpinMutex<T>,
    _guard: SpinGuard<'a>,
}

impl<T> Deref for SpinMutexGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: we hold the lock, so nobody mutates the value; the borrow
        // is tied to the guard.
        self.mutex.value.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for SpinMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the lock, so this is the only access; the borrow is
        // tied to the exclusively borrowed guard.
        self.mutex.value.with_mut(|p| unsafe { &mut *p })
    }
}
