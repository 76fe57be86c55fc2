//! The process-wide default collector and each thread's handle in it.
//!
//! Outside loom the collector is a lazily initialised static that lives for
//! the whole process. Under loom every static must be fresh for each
//! explored execution, so it is a `loom::lazy_static!` (dropped at the end
//! of each execution, after which the last thread-local handle frees it);
//! the models of `epoch` itself use their own [`Collector`] instead.

use super::{Collector, Guard, LocalHandle};
use crate::shim;

#[cfg(not(loom))]
fn collector() -> &'static Collector {
    static COLLECTOR: std::sync::OnceLock<Collector> = std::sync::OnceLock::new();
    COLLECTOR.get_or_init(Collector::new)
}

#[cfg(loom)]
fn collector() -> &'static Collector {
    loom::lazy_static! {
        static ref COLLECTOR: Collector = Collector::new();
    }
    &COLLECTOR
}

shim::thread_local! {
    /// The calling thread's registration in the default collector; dropped
    /// (unregistering the thread) when the thread exits.
    static HANDLE: LocalHandle = collector().register();
}

/// The default collector, shared by the whole process (what [`pin`] uses).
///
/// ```
/// let c = baton::epoch::default_collector();
/// let _ = c.epoch();
/// ```
pub fn default_collector() -> &'static Collector {
    collector()
}

/// Pins the calling thread in the default collector. The first call on a
/// thread registers it. Cheap (a thread-local access, a store and a fence)
/// but not free: pin once around a batch of operations rather than once
/// per pointer load.
///
/// ```
/// use baton::epoch::{self, Atomic};
/// use std::sync::atomic::Ordering::Acquire;
/// let a = Atomic::new(1);
/// let guard = epoch::pin();
/// // SAFETY: never retired while `guard` lives.
/// assert_eq!(unsafe { a.load(Acquire, &guard).deref() }, &1);
/// # drop(guard); drop(unsafe { a.into_owned() });
/// ```
#[inline]
pub fn pin() -> Guard {
    with_handle(LocalHandle::pin)
}

/// Whether the calling thread is pinned in the default collector.
///
/// ```
/// let g = baton::epoch::pin();
/// assert!(baton::epoch::is_pinned());
/// drop(g);
/// assert!(!baton::epoch::is_pinned());
/// ```
pub fn is_pinned() -> bool {
    with_handle(LocalHandle::is_pinned)
}

/// How many deferred calls are waiting in the default collector; see
/// [`Collector::pending`].
///
/// ```
/// let _waiting: usize = baton::epoch::pending();
/// ```
pub fn pending() -> usize {
    collector().pending()
}

#[inline]
fn with_handle<R>(f: fn(&LocalHandle) -> R) -> R {
    // During thread teardown the thread-local may already be gone (another
    // thread-local's destructor pinning); register a temporary handle then,
    // as crossbeam does. The guard keeps the slot until it is dropped.
    HANDLE
        .try_with(f)
        .unwrap_or_else(|_| f(&collector().register()))
}
