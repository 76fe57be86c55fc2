//! The `sync` waits that give up when a [`Context`] is done:
//! [`Semaphore::acquire_ctx`] (x/sync/semaphore's `Acquire(ctx, n)`),
//! [`WaitGroup::wait_ctx`], [`Mutex::lock_ctx`] and [`Cond::wait_ctx`].
//!
//! Each is the primitive's own wait through its wait queue, with the
//! context as an abort condition (`park::wait_queue::Until`): the caller
//! registers itself as a waiter on the context (`context/wait.rs`), so a
//! cancel unparks it; the wait queue then sees the context done and leaves
//! the queue exactly as a time-out does (a semaphore waiter at the head
//! that leaves lets those behind it go, a mutex waiter passes its wake-up
//! on). Nothing is taken when the call fails, and the registration is
//! withdrawn when the wait ends either way. They park the goroutine (or
//! the thread), as the plain waits do.
//!
//! A context that is already done fails the call before it looks at the
//! primitive, so a loop that checks nothing else still stops; a context
//! cancelled while the primitive becomes available may let the call
//! succeed (as a Go `select` with both cases ready may).
//!
//! These live here, beside the primitives, though `context` is a higher
//! layer: they are methods of the `sync` types (Go's names), and the
//! primitives themselves know nothing of contexts (only of `Until`).

use super::{Cond, Mutex, MutexGuard, Semaphore, SemaphorePermit, WaitGroup};
use crate::context::wait::{done_error, until_done};
use crate::context::{self, Context};

impl Semaphore {
    /// Takes `n` permits, waiting until they are free or `ctx` is done
    /// (x/sync/semaphore's `Acquire(ctx, n)`); on `Err` nothing was taken.
    ///
    /// # Panics
    ///
    /// If `n` exceeds the capacity.
    ///
    /// ```
    /// use std::time::Duration;
    /// use baton::{context, sync::Semaphore};
    ///
    /// let sem = Semaphore::new(1);
    /// let held = sem.acquire(1);
    /// let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(5));
    /// assert_eq!(sem.acquire_ctx(&ctx, 1).unwrap_err(), context::Error::DeadlineExceeded);
    /// drop(held);
    /// assert!(sem.acquire_ctx(&context::background(), 1).is_ok());
    /// ```
    pub fn acquire_ctx(
        &self,
        ctx: &Context,
        n: usize,
    ) -> Result<SemaphorePermit<'_>, context::Error> {
        until_done(ctx, |until| self.acquire_until(n, until))?.ok_or_else(|| done_error(ctx))
    }
}

impl WaitGroup {
    /// Waits until the counter is zero or `ctx` is done.
    ///
    /// ```
    /// use baton::{context, sync::WaitGroup};
    ///
    /// let wg = WaitGroup::new();
    /// assert!(wg.wait_ctx(&context::background()).is_ok()); // zero: at once
    /// wg.add(1);
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// cancel.cancel();
    /// assert_eq!(wg.wait_ctx(&ctx), Err(context::Error::Canceled));
    /// wg.done();
    /// ```
    pub fn wait_ctx(&self, ctx: &Context) -> Result<(), context::Error> {
        if self.counter() == 0 {
            return Ok(());
        }
        if until_done(ctx, |until| self.wait_until(until))? {
            Ok(())
        } else {
            Err(done_error(ctx))
        }
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks the mutex, waiting until it is free or `ctx` is done.
    ///
    /// ```
    /// use std::time::Duration;
    /// use baton::{context, sync::Mutex};
    ///
    /// let m = Mutex::new(0);
    /// let held = m.lock();
    /// let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(5));
    /// assert!(m.lock_ctx(&ctx).is_err());
    /// drop(held);
    /// *m.lock_ctx(&context::background()).unwrap() += 1;
    /// ```
    pub fn lock_ctx(&self, ctx: &Context) -> Result<MutexGuard<'_, T>, context::Error> {
        until_done(ctx, |until| self.lock_until(until))?.ok_or_else(|| done_error(ctx))
    }
}

impl Cond {
    /// As [`wait`](Cond::wait), giving up when `ctx` is done: returns the
    /// re-locked guard, and `Err` with the context's error if the context
    /// ended the wait (at once, without unlocking, if it was done already).
    ///
    /// ```
    /// use baton::{context, sync::{Cond, Mutex}};
    ///
    /// let (m, c) = (Mutex::new(false), Cond::new());
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// std::thread::scope(|s| {
    ///     s.spawn(|| cancel.cancel());
    ///     let mut g = m.lock();
    ///     while !*g {
    ///         let (g2, r) = c.wait_ctx(&ctx, g);
    ///         g = g2;
    ///         if r.is_err() {
    ///             break; // cancelled: stop waiting for the flag
    ///         }
    ///     }
    /// });
    /// ```
    pub fn wait_ctx<'a, T: ?Sized>(
        &self,
        ctx: &Context,
        guard: MutexGuard<'a, T>,
    ) -> (MutexGuard<'a, T>, Result<(), context::Error>) {
        if let Some(e) = ctx.err() {
            return (guard, Err(e));
        }
        // The guard moves into the wait; `until_done` only fails before
        // calling it, which the check above makes (nearly) impossible: a
        // cancel in between is caught by the wait's own first look.
        let mut guard = Some(guard);
        let r = until_done(ctx, |until| {
            self.wait_until(guard.take().expect("the guard is used once"), until)
        });
        match r {
            Ok((g, false)) => (g, Ok(())),
            Ok((g, true)) => (g, Err(done_error(ctx))),
            Err(e) => (
                guard.take().expect("not waited: the guard is still here"),
                Err(e),
            ),
        }
    }
}
