//! [`Guard`]: proof that the current thread is pinned.

use core::fmt;
use core::ptr;

use super::bag::Deferred;
use super::local::Local;
use super::pointers::Shared;

/// A pinned critical section. While it lives, nothing retired by any thread
/// after the pin (or not yet expired when it pinned) is freed, so pointers
/// loaded under it stay valid; dropping it unpins.
///
/// Guards nest (pinning twice just counts) and are `!Send`: a guard belongs
/// to the thread that pinned. Keep them short: a thread that stays pinned
/// holds back reclamation for every thread (see the module docs on memory).
///
/// ```
/// use baton::epoch;
///
/// let guard = epoch::pin();
/// guard.defer(|| println!("runs once no pinned thread can see the garbage"));
/// drop(guard); // unpin
/// ```
///
/// A guard cannot move to another thread (it is the *calling* thread that
/// is pinned):
///
/// ```compile_fail
/// let guard = baton::epoch::pin();
/// std::thread::spawn(move || drop(guard));
/// ```
///
/// and a pointer loaded under a guard cannot outlive it:
///
/// ```compile_fail
/// use baton::epoch::{self, Atomic};
/// use std::sync::atomic::Ordering::Acquire;
/// let a = Atomic::new(1);
/// let p = {
///     let guard = epoch::pin();
///     a.load(Acquire, &guard)
/// };
/// let _ = p;
/// ```
pub struct Guard {
    /// The owner's slot, or null for [`unprotected`].
    local: *const Local,
}

impl Guard {
    pub(super) fn new(local: &Local) -> Self {
        Self { local }
    }

    /// Schedules `f` to run once no thread that is pinned now (or pins
    /// before the garbage is unreachable) is still pinned. It runs on
    /// whichever thread collects, hence `Send + 'static`.
    ///
    /// With the [`unprotected`] guard, `f` runs at once. A deferred call
    /// should not panic: the panic unwinds out of whichever `pin` or
    /// `flush` was collecting, and the rest of that batch of garbage is
    /// leaked (never freed, never run).
    ///
    /// ```
    /// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
    /// let ran = Arc::new(AtomicBool::new(false));
    /// let r = ran.clone();
    /// let collector = baton::epoch::Collector::new();
    /// let handle = collector.register();
    /// handle.pin().defer(move || r.store(true, Ordering::Relaxed));
    /// for _ in 0..3 { handle.pin().flush(); } // let the epoch advance twice
    /// assert!(ran.load(Ordering::Relaxed));
    /// ```
    #[inline]
    pub fn defer<F: FnOnce() + Send + 'static>(&self, f: F) {
        self.defer_deferred(Deferred::from_fn(f));
    }

    /// Schedules the pointee of `ptr` to be dropped and freed (as a `Box`)
    /// once no pinned thread can still reach it.
    ///
    /// # Safety
    ///
    /// - `ptr` is non-null, came from an [`Owned`](super::Owned) (a `Box`),
    ///   and is retired exactly once;
    /// - it is already unreachable: no [`Atomic`](super::Atomic) points to
    ///   it any more, so that a thread that pins from now on cannot load it;
    /// - `T` may be dropped on another thread (as if `T: Send`).
    ///
    /// ```
    /// use baton::epoch::{self, Atomic, Owned};
    /// use std::sync::atomic::Ordering::AcqRel;
    /// let a = Atomic::new(String::from("old"));
    /// let guard = epoch::pin();
    /// let old = a.swap(Owned::new(String::from("new")), AcqRel, &guard);
    /// // SAFETY: `old` is unlinked by the swap and retired once.
    /// unsafe { guard.defer_destroy(old) };
    /// # drop(guard); drop(unsafe { a.into_owned() });
    /// ```
    #[inline]
    pub unsafe fn defer_destroy<T>(&self, ptr: Shared<'_, T>) {
        debug_assert!(!ptr.is_null(), "epoch: defer_destroy of a null pointer");
        // SAFETY: the caller guarantees a `Box` retired exactly once.
        self.defer_deferred(unsafe { Deferred::destroy(ptr.as_raw() as *mut T) });
    }

    /// Schedules `call(data)` to run once no pinned thread can still reach
    /// `data`: [`defer_destroy`](Self::defer_destroy) with a caller-chosen
    /// release function and no allocation (the lock-free stack hands its
    /// nodes back to a per-thread cache this way instead of freeing them).
    ///
    /// # Safety
    ///
    /// - `data` is already unreachable, as for `defer_destroy`, and retired
    ///   exactly once;
    /// - `call(data)` is sound to run once, on any thread, at any later
    ///   time (as if `data` were `Send`).
    #[inline]
    pub(crate) unsafe fn defer_call(&self, call: unsafe fn(*mut ()), data: *mut ()) {
        // SAFETY: the caller's contract is `Deferred::from_raw`'s.
        self.defer_deferred(unsafe { Deferred::from_raw(call, data) });
    }

    #[inline]
    fn defer_deferred(&self, d: Deferred) {
        // SAFETY: a non-null `local` is the calling thread's own slot (a
        // guard is `!Send`), valid while the guard lives.
        match unsafe { self.local.as_ref() } {
            // SAFETY: as above, we are the slot's owner.
            Some(local) => unsafe { local.defer(d) },
            None => d.run(),
        }
    }

    /// Hands this thread's garbage to the collector and tries to advance
    /// the epoch and run expired garbage now, instead of waiting for the
    /// periodic collection. Useful before measuring
    /// [`pending`](super::pending), or when a thread is about to idle.
    ///
    /// ```
    /// let guard = baton::epoch::pin();
    /// guard.defer(|| ());
    /// guard.flush();
    /// ```
    pub fn flush(&self) {
        // SAFETY: as in `defer_deferred`.
        if let Some(local) = unsafe { self.local.as_ref() } {
            // SAFETY: we are the slot's owner.
            unsafe { local.flush() };
        }
    }
}

impl Drop for Guard {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: as in `defer_deferred`.
        if let Some(local) = unsafe { self.local.as_ref() } {
            // SAFETY: we are the owner, giving up this guard.
            unsafe { local.unpin() };
        }
    }
}

impl fmt::Debug for Guard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("unprotected", &self.local.is_null())
            .finish()
    }
}

/// A `Guard` that may live in a static: the unprotected guard never points
/// to a slot, so sharing it between threads shares nothing.
struct StaticGuard(Guard);
// SAFETY: its `local` is always null; no thread can reach any slot through it.
unsafe impl Sync for StaticGuard {}

static UNPROTECTED: StaticGuard = StaticGuard(Guard { local: ptr::null() });

/// A guard that protects nothing: loads through it are not protected and
/// garbage deferred on it is freed at once. For code that has exclusive
/// access anyway, such as a data structure's `Drop` or constructor.
///
/// # Safety
///
/// Everything loaded through it must be known not to be freed concurrently
/// (no other thread can reach the data structure), and anything deferred on
/// it must be safe to run immediately.
///
/// ```
/// use baton::epoch::{self, Atomic};
/// use std::sync::atomic::Ordering::Relaxed;
/// let a = Atomic::new(3);
/// // SAFETY: `a` is ours alone.
/// let guard = unsafe { epoch::unprotected() };
/// let p = a.load(Relaxed, guard);
/// // SAFETY: `p` is unreachable by anyone else; freed at once.
/// unsafe { guard.defer_destroy(p) };
/// ```
#[inline]
pub unsafe fn unprotected() -> &'static Guard {
    &UNPROTECTED.0
}
