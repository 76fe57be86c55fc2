//! The one shim between baton and its atomics, cells and threads.
//!
//! Every atomic, `UnsafeCell`, spin hint and thread-local in the library goes
//! through this module, so that building with `RUSTFLAGS="--cfg loom"` swaps in
//! [loom](https://docs.rs/loom)'s model-checked versions everywhere at once
//! (the habit of tokio's `src/loom/mod.rs`). Code outside this module never
//! names `std::sync::atomic` or `std::cell::UnsafeCell` directly.
//!
//! Under loom, spin hints become `loom::thread::yield_now()` so that a spinning
//! model thread lets the others run instead of exploring an infinite loop.

#[cfg(loom)]
pub(crate) mod atomic {
    #[allow(unused_imports)] // layers above use the rest
    pub(crate) use loom::sync::atomic::{
        fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };
}
#[cfg(not(loom))]
pub(crate) mod atomic {
    #[allow(unused_imports)] // layers above use the rest
    pub(crate) use std::sync::atomic::{
        fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };
}

#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::Arc;
#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::Arc;

/// `UnsafeCell` with loom's closure API (`with`, `with_mut`), so loom can
/// check every access to the cell's contents for data races.
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::cell::UnsafeCell;

/// `UnsafeCell` with loom's closure API (`with`, `with_mut`); the closures
/// compile to plain pointer accesses outside loom.
#[cfg(not(loom))]
#[derive(Debug, Default)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
#[allow(dead_code)] // not every method is used by every layer yet
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(not(loom))]
#[allow(dead_code)]
impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a shared pointer to the contents.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with an exclusive pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// A hint that the caller is spinning; under loom, a yield to the model.
#[inline(always)]
pub(crate) fn spin_loop() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}

/// Gives up the rest of the time slice (the OS thread's, or the model's turn).
#[inline]
pub(crate) fn yield_now() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::thread::yield_now();
}

/// Declares a thread-local through the shim (loom's under `cfg(loom)`).
macro_rules! shim_thread_local {
    ($($tt:tt)*) => {
        #[cfg(loom)]
        loom::thread_local!($($tt)*);
        #[cfg(not(loom))]
        std::thread_local!($($tt)*);
    };
}
pub(crate) use shim_thread_local as thread_local;

/// A mutex through the shim (loom's under `cfg(loom)`); see [`lock`].
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{Mutex, MutexGuard};
/// A mutex through the shim (loom's under `cfg(loom)`); see [`lock`].
#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use std::sync::{Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning: baton's own critical sections never panic
/// half-way (they only move values in and out of collections), so a poisoned
/// lock holds consistent data.
#[allow(dead_code)]
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// OS thread operations through the shim: park/unpark, handles and spawning
/// (loom's under `cfg(loom)`, where timeouts are not modelled and
/// `park_timeout` parks like `park`).
#[allow(unused_imports, dead_code)]
pub(crate) mod thread {
    #[cfg(loom)]
    pub(crate) use loom::thread::{current, park, spawn, JoinHandle, Thread};
    #[cfg(not(loom))]
    pub(crate) use std::thread::{
        available_parallelism, current, park, park_timeout, sleep, spawn, Builder, JoinHandle,
        Thread, ThreadId,
    };

    /// Loom does not model time: a timed park is a park (callers re-check
    /// their condition and deadline after every wake-up anyway).
    #[cfg(loom)]
    pub(crate) fn park_timeout(_dur: std::time::Duration) {
        loom::thread::park();
    }
}
