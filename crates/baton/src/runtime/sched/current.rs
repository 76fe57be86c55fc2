//! What the running code knows about where it runs: the current worker and
//! the current goroutine, kept in two thread-locals of the worker's thread,
//! and the one way a goroutine switches back to its worker ([`suspend`]).
//!
//! ## Invariants
//!
//! - `WORKER` is non-null exactly while the worker loop of this thread runs;
//!   it points at the `Worker` on that loop's own (OS thread) stack frame,
//!   which outlives every goroutine resumed from it.
//! - `CURRENT` is non-null exactly while a goroutine runs on this thread; it
//!   points at that goroutine's [`GoroutineCtx`], which lives in the
//!   goroutine's entry frame on the goroutine's own stack. The goroutine sets
//!   it when it starts and again each time it comes back from [`suspend`];
//!   the worker clears it each time a resume returns.
//! - Because a started goroutine never leaves its thread, both pointers stay
//!   valid for as long as the code that read them runs, across any number of
//!   switches. (LLVM may cache a thread-local's address across a call; on a
//!   goroutine that migrated, the cached address would be another thread's.
//!   Ours never migrate, so the cache is always right.)

use core::cell::Cell;
use std::time::Instant;

use corosensei::Yielder;

use super::goroutine::Header;
use super::park_hook as hook;
use super::worker::Worker;
use crate::park::hook as park_hook;
use crate::shim::Arc;

/// Why a goroutine switched back to its worker.
#[derive(Debug)]
pub(crate) enum Suspend {
    /// `yield_now`: runnable again at once.
    Yield,
    /// Park until unparked, or until the deadline if there is one. The
    /// worker commits the park (see `park_state`).
    Park(Option<Instant>),
}

/// The running goroutine's view of itself, in its entry frame.
pub(crate) struct GoroutineCtx {
    /// The goroutine's own yielder (on its stack, owned by corosensei).
    pub(crate) yielder: *const Yielder<bool, Suspend>,
    /// The goroutine's header, held by its entry frame.
    pub(crate) header: *const Arc<Header>,
    /// Its guard page, `guard_low..guard_high` (for the overflow message).
    pub(crate) guard_low: usize,
    pub(crate) guard_high: usize,
    /// Its usable stack size in bytes.
    pub(crate) stack_size: usize,
}

/// What the stack-overflow handler needs to name a goroutine.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OverflowInfo {
    pub(crate) guard_low: usize,
    pub(crate) guard_high: usize,
    pub(crate) stack_size: usize,
    pub(crate) id: super::goroutine::GoroutineId,
    pub(crate) spawned_at: &'static core::panic::Location<'static>,
}

/// The running goroutine's guard page and name, for the `SIGSEGV` handler.
///
/// Async-signal-safe: `CURRENT` is a constant-initialised cell without a
/// destructor (no lazy initialisation, no registration), and the rest are
/// plain reads of memory that lives as long as the goroutine runs.
pub(crate) fn overflow_info() -> Option<OverflowInfo> {
    let ctx = CURRENT.try_with(Cell::get).ok()?;
    // SAFETY: non-null only while this goroutine runs (module invariants);
    // a fault on its stack happens while it runs.
    let ctx = unsafe { ctx.as_ref()? };
    // SAFETY: the entry frame holds the header `Arc` for the goroutine's life.
    let header = unsafe { &**ctx.header };
    Some(OverflowInfo {
        guard_low: ctx.guard_low,
        guard_high: ctx.guard_high,
        stack_size: ctx.stack_size,
        id: header.id,
        spawned_at: header.spawned_at,
    })
}

crate::shim::thread_local! {
    static WORKER: Cell<*const Worker> = const { Cell::new(core::ptr::null()) };
    static CURRENT: Cell<*const GoroutineCtx> = const { Cell::new(core::ptr::null()) };
}

/// Runs `f` with the worker of this thread, if it is one.
#[inline]
pub(crate) fn with_worker<R>(f: impl FnOnce(Option<&Worker>) -> R) -> R {
    let w = WORKER.with(Cell::get);
    // SAFETY: non-null only while the worker loop of this thread runs, and it
    // points at that loop's `Worker`, alive until the loop clears the
    // pointer (see the module invariants); `f` runs on this thread, inside
    // that loop (in worker code or in a goroutine it resumed).
    f(unsafe { w.as_ref() })
}

/// Marks this thread as running `worker`'s loop (null: not any more).
pub(crate) fn set_worker(worker: *const Worker) {
    WORKER.with(|c| c.set(worker));
}

/// Runs `f` with the running goroutine's header, if this is a goroutine.
#[inline]
pub(crate) fn with_goroutine<R>(f: impl FnOnce(Option<&Arc<Header>>) -> R) -> R {
    let ctx = CURRENT.with(Cell::get);
    // SAFETY: non-null only while this goroutine runs; it points at the
    // goroutine's entry frame, which holds the header `Arc` for the
    // goroutine's whole life (module invariants).
    f(unsafe { ctx.as_ref().map(|c| &*c.header) })
}

/// Whether the caller is a goroutine.
#[inline]
pub(crate) fn in_goroutine() -> bool {
    !CURRENT.with(Cell::get).is_null()
}

/// Sets the current goroutine (at its start, from its entry frame, and
/// after each switch back) and installs the park hook, so that `park`
/// suspends it (the hook contract's rule 1).
#[inline]
pub(crate) fn enter_goroutine(ctx: *const GoroutineCtx) {
    CURRENT.with(|c| c.set(ctx));
    park_hook::set_current(Some(&hook::HOOK));
}

/// Clears the current goroutine and removes the park hook (the worker,
/// after each resume returns; the goroutine, as it ends).
#[inline]
pub(crate) fn leave_goroutine() {
    CURRENT.with(|c| c.set(core::ptr::null()));
    park_hook::set_current(None);
}

/// Switches the running goroutine back to its worker, telling it `why`;
/// returns when the worker resumes it, with whether a park timed out.
///
/// # Panics
///
/// If called outside a goroutine (a bug in the runtime: callers check).
pub(crate) fn suspend(why: Suspend) -> bool {
    let ctx = CURRENT.with(Cell::get);
    assert!(!ctx.is_null(), "baton: suspend called outside a goroutine");
    // SAFETY: `ctx` is this goroutine's context (module invariants), and its
    // yielder lives on this goroutine's stack for its whole life.
    let yielder = unsafe { &*(*ctx).yielder };
    let timed_out = yielder.suspend(why);
    // Back on our own stack, on the same thread (goroutines never migrate).
    enter_goroutine(ctx);
    timed_out
}
