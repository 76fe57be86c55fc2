//! The goroutine hook: how the runtime makes `park` suspend a goroutine
//! instead of its worker thread, without any caller changing.
//!
//! While a goroutine runs on a worker thread, the runtime keeps a
//! [`ParkHook`] installed in that thread's `HOOK` slot. [`Parker::current`](super::Parker::current)
//! (and so `park::current`, `park::park`, `park::park_deadline` and every
//! wait queue) looks there first: with a hook installed, parking means
//! "suspend this goroutine", and the [`Unparker`](super::Unparker) it hands out re-queues the
//! goroutine. With none, it is the OS thread's own parker.
//!
//! # The contract the runtime must meet
//!
//! 1. **Scope.** A hook is installed only while goroutine code runs on the
//!    thread (install when switching into a goroutine, uninstall when
//!    switching back to the scheduler): the scheduler's own idle sleep must
//!    park the OS thread, so it must see no hook. [`set_current`] sets and
//!    clears the slot (a switch loop prefers two stores to a guard); tests
//!    use `install`, a guard that restores the previous slot.
//! 2. **`park` switches to the scheduler** and returns on the same OS thread
//!    once the goroutine is resumed (goroutines never migrate after they
//!    start, see DESIGN.md). It must never block the worker thread.
//! 3. **Token semantics.** Each goroutine has one token, exactly like a
//!    thread: an `unpark` that arrives before (or while the goroutine is on
//!    its way into) `park` is remembered, and the next `park` returns at
//!    once. Several `unpark`s before one `park` leave one token. `park` may
//!    return spuriously (callers re-check), but must not lose a token.
//! 4. **`unpark` from any thread** (a plain thread, another worker, a timer)
//!    makes the goroutine runnable again on its *home* worker if it is
//!    parked, or leaves the token otherwise. It must not block for long (wait
//!    queues call it after releasing their spin lock, but it is on the wake
//!    path of every primitive) and must tolerate the goroutine having
//!    finished (a stale wake is a no-op).
//! 5. **Deadlines** come from the runtime's timers: `park_deadline` returns
//!    `true` when the deadline passed with no token consumed, and `false`
//!    when it consumed a token (even if the deadline has also passed by
//!    then). A wake racing with the timer must not be lost: either the park
//!    reports "woken" or the token stays for the next park.
//! 6. **`unparker`** is cheap to call repeatedly (every wait calls it once)
//!    and the handles it returns stay valid (harmless) after the goroutine
//!    ends.

use core::cell::Cell;
use core::fmt;
use std::time::Instant;

use crate::shim;

/// The runtime's side of parking for the goroutine running on this thread.
/// See the module docs for the contract.
pub(crate) trait ParkHook: Sync {
    /// A handle that wakes the goroutine running now on this thread.
    fn unparker(&self) -> std::sync::Arc<dyn TaskUnpark>;
    /// Suspends the running goroutine until its token is available, then
    /// consumes it. May return spuriously.
    fn park(&self);
    /// As [`park`](Self::park), giving up at `deadline`; `true` = timed out
    /// (no token consumed).
    fn park_deadline(&self, deadline: Instant) -> bool;
    /// Labels the running goroutine's waits (for dumps) and returns the
    /// previous label; see [`wait_reason`](super::wait_reason).
    fn set_wait_reason(&self, reason: super::WaitReason) -> super::WaitReason;
    /// The running goroutine's id (never zero, never reused), which
    /// [`held::holder`](super::held::holder) uses as a lock holder's id.
    fn goroutine_id(&self) -> u64;
    /// The address the handles [`unparker`](Self::unparker) hands out
    /// now point at (they wake the running goroutine), found without
    /// cloning one: a channel waiter kept in its thread's pool whose handle
    /// has that address (`Unparker::key`) can then be reused as it is
    /// (`chan::waiter`). `0` means "unknown" and matches no handle (the
    /// caller then takes a fresh one), hence the default. (Not under loom,
    /// where the pool is not built either.)
    #[cfg(not(loom))]
    fn current_key(&self) -> usize {
        0
    }
}

/// Wakes one goroutine: makes its token available and, if it is parked,
/// re-queues it on its home worker. Any thread may call it.
pub(crate) trait TaskUnpark: Send + Sync + fmt::Debug {
    /// See the trait docs and rule 4 of the module docs.
    fn unpark(&self);
}

#[cfg(not(loom))]
shim::thread_local! {
    /// The hook of the goroutine running on this thread; `None` on plain
    /// threads and in the scheduler. Written only by this thread.
    static HOOK: Cell<Option<&'static dyn ParkHook>> = const { Cell::new(None) };
}
// loom's `thread_local!` takes no `const` initialiser.
#[cfg(loom)]
shim::thread_local! {
    static HOOK: Cell<Option<&'static dyn ParkHook>> = Cell::new(None);
}

/// The hook installed on this thread, if any.
#[inline]
pub(super) fn current() -> Option<&'static dyn ParkHook> {
    // `try_with`: during thread-local destruction there is no goroutine.
    HOOK.try_with(Cell::get).ok().flatten()
}

/// Sets this thread's hook slot, returning the previous value.
#[cfg_attr(loom, allow(dead_code))] // the runtime calls it; it is not built under loom
pub(crate) fn set_current(hook: Option<&'static dyn ParkHook>) -> Option<&'static dyn ParkHook> {
    HOOK.with(|slot| slot.replace(hook))
}

/// Installs `hook` on this thread until the guard drops (which restores the
/// previous slot). Only tests install hooks this way; the runtime sets
/// the slot with [`set_current`].
#[cfg(all(test, not(loom)))]
pub(crate) fn install(hook: &'static dyn ParkHook) -> HookGuard {
    HookGuard {
        previous: set_current(Some(hook)),
        _not_send: core::marker::PhantomData,
    }
}

/// Restores the previous hook slot on drop; tied to its thread.
#[cfg(all(test, not(loom)))]
pub(crate) struct HookGuard {
    previous: Option<&'static dyn ParkHook>,
    _not_send: core::marker::PhantomData<*const ()>,
}

#[cfg(all(test, not(loom)))]
impl Drop for HookGuard {
    fn drop(&mut self) {
        set_current(self.previous);
    }
}

#[cfg(all(test, not(loom)))]
impl fmt::Debug for HookGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookGuard")
            .field("had_previous", &self.previous.is_some())
            .finish()
    }
}
