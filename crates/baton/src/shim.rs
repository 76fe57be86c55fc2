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
    #[allow(unused_imports)]
    pub(crate) use loom::sync::atomic::{AtomicI32, AtomicI64, AtomicU16, AtomicU8};
}
#[cfg(not(loom))]
pub(crate) mod atomic {
    #[allow(unused_imports)] // layers above use the rest
    pub(crate) use std::sync::atomic::{
        fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering,
    };
    #[allow(unused_imports)]
    pub(crate) use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU16, AtomicU8};
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
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(not(loom))]
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

/// Thread handles and the thread's own park token (loom's under `cfg(loom)`).
///
/// Only `baton::park` parks with these: under loom its thread parker blocks
/// with `thread::park` (loom has no futex), and on targets without a futex it
/// blocks with std's. Everything else in the library parks through
/// `crate::park`, never through this module. The runtime starts its worker
/// threads with `Builder` (outside loom only: the runtime's thread code is
/// not compiled under loom).
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) mod thread {
    pub(crate) use loom::thread::{current, park, spawn, JoinHandle, Thread};
}
/// Thread handles and the thread's own park token (std's outside loom).
#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) mod thread {
    pub(crate) use std::thread::{
        available_parallelism, current, park, park_timeout, spawn, Builder, JoinHandle, Thread,
    };
}

/// Loom's blocking mutex, for the one place that needs a lock loom can
/// schedule fairly: under loom, `park`'s internal spin lock is modelled as
/// this (loom explores spinners yielding to each other forever otherwise).
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::{Mutex as ModelMutex, MutexGuard as ModelMutexGuard};

/// A `SeqCst` fence that exists only in loom builds; outside loom it compiles
/// to nothing.
///
/// Loom models `SeqCst` loads, stores and read-modify-writes as if they were
/// `AcqRel` (its README, "Unsupported features", and tokio-rs/loom#180): it
/// does not put them in the single total order `S` that the C++20/Rust model
/// gives every `SeqCst` operation. A store-buffering ("Dekker") argument such
/// as [`Rcu`](crate::atomic::Rcu)'s — "my `SeqCst` increment precedes my
/// `SeqCst` load, your `SeqCst` swap precedes your `SeqCst` load, so one of us
/// sees the other" — is therefore *not* modelled by loom, which would report
/// executions the real program can never have. Loom does model
/// `fence(SeqCst)` exactly, so a caller puts this fence between the two
/// `SeqCst` accesses of each side of such a pattern: in the model the fences
/// supply the total order that the real accesses already have. Outside loom
/// the accesses themselves carry it (on x86-64 a locked RMW is already a full
/// barrier), so the fence would only cost time.
#[inline(always)]
pub(crate) fn seqcst_fence_under_loom() {
    #[cfg(loom)]
    loom::sync::atomic::fence(atomic::Ordering::SeqCst);
}

/// An atomic 8-byte chunk that may hold uninitialised bytes (padding): what
/// [`SeqLock`](crate::atomic::SeqLock) stores a value in.
///
/// Outside loom this is
/// [`atomic_maybe_uninit::AtomicMaybeUninit<u64>`](atomic_maybe_uninit::AtomicMaybeUninit),
/// which loads and stores possibly-uninitialised bytes with inline assembly,
/// so that copying padding is not undefined behaviour.
#[cfg(not(loom))]
pub(crate) use atomic_maybe_uninit::AtomicMaybeUninit as AtomicChunkCell;
#[cfg(not(loom))]
pub(crate) type AtomicChunk = AtomicChunkCell<u64>;

/// Loom's stand-in for `AtomicMaybeUninit<u64>`.
///
/// Loom atomics hold integers, and turning a `MaybeUninit<u64>` that holds
/// padding into a `u64` would be undefined behaviour. So each store appends
/// the chunk to a side table (plain bookkeeping outside the model, like
/// loom's own internals; loom runs all model threads on one OS thread and
/// never switches inside it) and publishes the table *index* through a loom
/// `AtomicUsize` with the caller's ordering. Which chunk a load returns, and
/// what it synchronises with, is thus exactly what loom decides for the
/// index, and values with padding stay sound. The table grows by one entry
/// per store, which is nothing in a model's few steps.
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct AtomicChunk {
    index: loom::sync::atomic::AtomicUsize,
    values: std::sync::Mutex<Vec<core::mem::MaybeUninit<u64>>>,
}

#[cfg(loom)]
impl AtomicChunk {
    pub(crate) fn new(v: core::mem::MaybeUninit<u64>) -> Self {
        Self {
            index: loom::sync::atomic::AtomicUsize::new(0),
            values: std::sync::Mutex::new(vec![v]),
        }
    }

    pub(crate) fn load(&self, order: atomic::Ordering) -> core::mem::MaybeUninit<u64> {
        let i = self.index.load(order);
        self.values.lock().unwrap()[i]
    }

    pub(crate) fn store(&self, v: core::mem::MaybeUninit<u64>, order: atomic::Ordering) {
        let i = {
            let mut values = self.values.lock().unwrap();
            values.push(v);
            values.len() - 1
        };
        self.index.store(i, order);
    }
}

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
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
