//! A tiny test-and-test-and-set spin lock for wait-queue bookkeeping.
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

#[cfg(not(loom))]
use crate::atomic::Backoff;
#[cfg(not(loom))]
use crate::shim::atomic::{AtomicBool, Ordering};

/// See the module docs.
#[derive(Debug)]
pub(crate) struct SpinLock {
    /// `true` while held.
    #[cfg(not(loom))]
    locked: AtomicBool,
    #[cfg(loom)]
    lock: crate::shim::ModelMutex<()>,
}

/// Holds the lock; releases it on drop.
#[derive(Debug)]
pub(crate) struct SpinGuard<'a> {
    #[cfg(not(loom))]
    lock: &'a SpinLock,
    #[cfg(loom)]
    _guard: crate::shim::ModelMutexGuard<'a, ()>,
}

#[cfg(not(loom))]
impl SpinLock {
    pub(crate) const fn new() -> Self {
        Self {
            locked: AtomicBool::new(false),
        }
    }

    /// Takes the lock, spinning (then yielding) until it is free.
    #[inline]
    pub(crate) fn lock(&self) -> SpinGuard<'_> {
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
    /// holder, which `snooze`'s yields cover.
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
impl Drop for SpinGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(loom)]
impl SpinLock {
    pub(crate) fn new() -> Self {
        Self {
            lock: crate::shim::ModelMutex::new(()),
        }
    }

    pub(crate) fn lock(&self) -> SpinGuard<'_> {
        SpinGuard {
            _guard: self.lock.lock().expect("the model lock is never poisoned"),
        }
    }
}
