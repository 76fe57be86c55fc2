//! [`RcuGuard`]: a reader's hold on one version of an
//! [`Rcu`](super::Rcu)'s value.
//!
//! The guard is the reader's half of the protocol in the `Rcu` module
//! docs: it was counted on a slot's parity counter before the pointer was
//! loaded, and it uncounts itself when dropped.

use core::fmt;
use core::ops::Deref;
use core::ptr::NonNull;

use crate::shim::atomic::AtomicUsize;
use crate::shim::atomic::Ordering::Release;
use crate::shim::Arc;

/// A version of an [`Rcu`](super::Rcu)'s value, kept alive while the guard
/// lives. Derefs to the value. Made by [`Rcu::load`](super::Rcu::load).
///
/// ```
/// let cell = baton::atomic::Rcu::new((1, 2));
/// let guard = cell.load();
/// assert_eq!(guard.0 + guard.1, 3);
/// ```
#[must_use = "a guard that is dropped at once reads nothing"]
pub struct RcuGuard<'a, T> {
    /// The version; valid while `active` counts this guard.
    pub(super) ptr: NonNull<T>,
    /// The counter this guard incremented, and decrements on drop.
    pub(super) active: &'a AtomicUsize,
    /// Debug builds: marks the cell as held by the loading goroutine or
    /// thread, for `synchronize`'s self-deadlock check. Zero-sized in
    /// release builds.
    pub(super) _mark: crate::park::held::Mark,
}

// SAFETY: a guard is a shared borrow of a `T` plus a counter that any thread
// may decrement; sending it is sending a `&T` (needs `T: Sync`), and the
// borrowed `Rcu<T>` is only usable across threads when `T: Send + Sync`.
unsafe impl<T: Send + Sync> Send for RcuGuard<'_, T> {}
// SAFETY: sharing a guard shares only `&T`.
unsafe impl<T: Send + Sync> Sync for RcuGuard<'_, T> {}

impl<T> RcuGuard<'_, T> {
    /// The guarded version as an `Arc` (one reference-count increment), to
    /// keep after the guard is dropped.
    ///
    /// ```
    /// let cell = baton::atomic::Rcu::new(7);
    /// let kept = cell.load().to_arc();
    /// cell.store(8);
    /// assert_eq!(*kept, 7);
    /// ```
    pub fn to_arc(&self) -> Arc<T> {
        let ptr = self.ptr.as_ptr().cast_const();
        // SAFETY: `ptr` came from `Arc::into_raw` and the version is alive
        // (the guard counts), so its strong count is at least 1.
        unsafe {
            Arc::increment_strong_count(ptr);
            Arc::from_raw(ptr)
        }
    }
}

impl<T> Deref for RcuGuard<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the version is not freed while this guard's increment is
        // counted (module docs, "Why a version is freed ...").
        unsafe { self.ptr.as_ref() }
    }
}

impl<T> Drop for RcuGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        // Release: our reads of the version happen before a pass that
        // reads this counter at zero frees it.
        self.active.fetch_sub(1, Release);
    }
}

impl<T: fmt::Debug> fmt::Debug for RcuGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
