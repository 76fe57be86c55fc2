//! Scoped goroutines: [`scope`] lets goroutines borrow from the caller, and
//! waits for all of them before it returns — the goroutine counterpart of
//! [`std::thread::scope`], with the same closure-scoped shape, which is what
//! makes it sound: the caller cannot skip the wait (`mem::forget` has
//! nothing to forget; the wait is code after the closure returns, and runs
//! on unwinding too).
//!
//! ## How the wait works
//!
//! `ScopeData::running` counts scoped goroutines whose *packet* (result
//! slot) still exists. A packet goes away only after the goroutine has
//! finished and its result has been taken or dropped, so when the count is
//! zero nothing that may borrow from the scope is left anywhere. The last
//! packet to go unparks the scope's owner, which loops on the count
//! (release by each decrement, acquire by the owner's load).
//!
//! Forgetting a [`ScopedJoinHandle`] leaks its packet, and the scope then
//! waits forever: a hang, never a dangling borrow (std's scoped threads
//! behave the same).

use core::marker::PhantomData;
use core::panic::{AssertUnwindSafe, Location};
use std::panic::{catch_unwind, resume_unwind};

use super::join::{JoinHandle, Panic};
use super::sched::shared::Shared;
use super::spawn::current_shared;
use super::GoroutineId;
use crate::park::{self, Unparker};
use crate::shim::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use crate::shim::Arc;

/// The count and the owner of one scope (see the module docs).
#[derive(Debug)]
pub(crate) struct ScopeData {
    running: AtomicUsize,
    a_goroutine_panicked: AtomicBool,
    owner: Unparker,
}

impl ScopeData {
    pub(crate) fn goroutine_started(&self) {
        // Relaxed: whoever spawns is inside the scope — the owner, before
        // its wait, or a scoped goroutine, before its own decrement (which
        // follows this increment in the counter's modification order) — so
        // the count cannot reach zero while this goroutine is pending.
        self.running.fetch_add(1, Relaxed);
    }

    pub(crate) fn goroutine_done(&self, unhandled_panic: bool) {
        if unhandled_panic {
            // Relaxed: published by the release decrement below.
            self.a_goroutine_panicked.store(true, Relaxed);
        }
        // Release: everything this goroutine did (including dropping its
        // result) happens-before the owner's acquire load seeing zero.
        if self.running.fetch_sub(1, Release) == 1 {
            self.owner.unpark();
        }
    }
}

/// A scope in which to spawn goroutines that borrow; see [`scope`].
pub struct Scope<'scope, 'env: 'scope> {
    data: Arc<ScopeData>,
    rt: Arc<Shared>,
    /// Invariant in `'scope`, as std's `Scope`: the goroutines cannot be
    /// made to outlive it by variance.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

impl core::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Scope")
            .field("running", &self.data.running.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// Runs `f` with a [`Scope`] to spawn goroutines that may borrow anything
/// that outlives the call; returns once `f` has returned **and** every
/// goroutine spawned in the scope has finished.
///
/// From a goroutine, the scope parks only that goroutine while it waits;
/// from a plain thread, it parks the thread. Scoped goroutines run on the
/// current runtime (the global one, from a plain thread).
///
/// # Panics
///
/// If `f` panics, after all goroutines finished, with `f`'s panic. Else, if
/// a scoped goroutine panicked and its handle was not joined, with
/// "a scoped goroutine panicked".
///
/// ```
/// let mut counts = [0u32; 4];
/// let text = "the quick brown fox";
/// baton::scope(|s| {
///     for (i, c) in counts.iter_mut().enumerate() {
///         s.go(move || *c = text.split(' ').nth(i).unwrap().len() as u32);
///     }
/// });
/// assert_eq!(counts, [3, 5, 5, 3]);
/// ```
///
/// Goroutines must be `Send`; a non-`Send` capture is rejected:
///
/// ```compile_fail
/// let rc = std::rc::Rc::new(1);
/// baton::scope(|s| {
///     s.go(move || *rc + 1);
/// });
/// ```
///
/// and a borrow cannot escape the scope:
///
/// ```compile_fail
/// let mut leaked = None;
/// baton::scope(|s| {
///     let local = 5;
///     leaked = Some(s.go(|| &local));
/// });
/// ```
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let scope = Scope {
        data: Arc::new(ScopeData {
            running: AtomicUsize::new(0),
            a_goroutine_panicked: AtomicBool::new(false),
            owner: park::current(),
        }),
        rt: current_shared(),
        scope: PhantomData,
        env: PhantomData,
    };
    let result = catch_unwind(AssertUnwindSafe(|| f(&scope)));
    // The wait that makes the borrows sound: runs whether `f` returned or
    // panicked.
    let _reason = park::wait_reason(park::WaitReason::Scope);
    while scope.data.running.load(Acquire) != 0 {
        park::park();
    }
    match result {
        Err(e) => resume_unwind(e),
        Ok(_) if scope.data.a_goroutine_panicked.load(Relaxed) => {
            panic!("a scoped goroutine panicked")
        }
        Ok(r) => r,
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Spawns a goroutine that may borrow from outside the scope; it is
    /// joined before [`scope`] returns, if not before.
    ///
    /// # Panics
    ///
    /// As [`go`](super::go), at the kernel's mapping cap.
    ///
    /// ```
    /// let v = vec![1, 2, 3];
    /// let total = baton::scope(|s| {
    ///     let h = s.go(|| v.iter().sum::<i32>());
    ///     h.join().unwrap()
    /// });
    /// assert_eq!(total, 6);
    /// ```
    #[track_caller]
    pub fn go<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.spawn(Location::caller(), &super::Options::DEFAULT, f, "go")
    }

    /// [`go`](Self::go) with per-goroutine [`Options`](super::Options).
    ///
    /// # Panics
    ///
    /// As [`go`](Self::go).
    ///
    /// ```
    /// use baton::runtime::Options;
    ///
    /// let v = vec![3u8; 1000];
    /// let sum = baton::scope(|s| {
    ///     let h = s.go_with(Options::new().stack_size(1 << 20), || {
    ///         let copy = std::hint::black_box([0u8; 128 * 1024]); // > 64 KiB
    ///         v.iter().map(|&b| u32::from(b)).sum::<u32>() + u32::from(copy[0])
    ///     });
    ///     h.join().unwrap()
    /// });
    /// assert_eq!(sum, 3000);
    /// ```
    #[track_caller]
    pub fn go_with<F, T>(&'scope self, opts: super::Options, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        self.spawn(Location::caller(), &opts, f, "go_with")
    }

    /// What `go` and `go_with` do; `what` names the caller in a panic.
    fn spawn<F, T>(
        &'scope self,
        site: &'static Location<'static>,
        opts: &super::Options,
        f: F,
        what: &str,
    ) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        // SAFETY: `f` and `T` live for `'scope`, and `scope` does not return
        // (nor unwind past its wait) before every packet of this scope has
        // been dropped — which happens only after the goroutine finished
        // and its result was dropped or taken (see the module docs).
        let spawned = unsafe {
            super::spawn::spawn_with_unchecked(&self.rt, f, site, Some(self.data.clone()), opts)
        };
        match spawned {
            Ok(inner) => ScopedJoinHandle {
                inner,
                _scope: PhantomData,
            },
            Err(e) => panic!("baton::Scope::{what}: {e}"),
        }
    }
}

/// A handle to join a scoped goroutine; see [`Scope::go`].
pub struct ScopedJoinHandle<'scope, T> {
    inner: JoinHandle<T>,
    _scope: PhantomData<&'scope ()>,
}

impl<T> core::fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.inner.fmt(f)
    }
}

impl<T> ScopedJoinHandle<'_, T> {
    /// Waits for the goroutine and returns its value or its [`Panic`].
    ///
    /// ```
    /// let x = 2;
    /// baton::scope(|s| assert_eq!(s.go(|| x * 3).join().unwrap(), 6));
    /// ```
    pub fn join(self) -> Result<T, Panic> {
        self.inner.join()
    }

    /// Whether the goroutine has finished.
    ///
    /// ```
    /// baton::scope(|s| {
    ///     let h = s.go(|| ());
    ///     while !h.is_finished() {
    ///         baton::yield_now();
    ///     }
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The goroutine's id.
    ///
    /// ```
    /// baton::scope(|s| {
    ///     let h = s.go(baton::runtime::current);
    ///     let id = h.id();
    ///     assert_eq!(h.join().unwrap(), Some(id));
    /// });
    /// ```
    pub fn id(&self) -> GoroutineId {
        self.inner.id()
    }
}
