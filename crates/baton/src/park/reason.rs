//! Wait reasons: why a goroutine is parked, shown by `runtime::dump` (as Go
//! shows `[chan receive]` or `[semacquire]` in its goroutine dumps).
//!
//! A primitive labels its slow path with [`wait_reason`] before it parks:
//!
//! ```text
//! let _reason = park::wait_reason(WaitReason::Mutex);
//! queue.wait(...); // every park inside carries the label
//! ```
//!
//! The label lives in the running goroutine's header (through the park
//! hook), not in a thread-local: goroutines sharing a worker thread
//! interleave their waits, and each keeps its own label. The guard restores
//! the previous label when it drops, so nested waits (a `Cond` re-locking its
//! mutex) show the innermost one while it lasts. On a plain thread it does
//! nothing: dumps list goroutines only.

// Under loom only the park layer is built, not the runtime that reads the
// reasons.
#![cfg_attr(loom, allow(dead_code))]

use core::fmt;
use core::marker::PhantomData;

use super::hook;

/// Why a goroutine waits. The names are what a dump prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum WaitReason {
    /// Parked without a label.
    Unknown = 0,
    /// `sync::Mutex::lock`.
    Mutex,
    /// `sync::Cond::wait`.
    Cond,
    /// `sync::WaitGroup::wait`.
    WaitGroup,
    /// `sync::Once` / `OnceCell`, while another caller initialises.
    Once,
    /// `JoinHandle::join`.
    Join,
    /// The end of a `scope`, waiting for its goroutines.
    Scope,
    /// `time::sleep`.
    Sleep,
    /// `runtime::blocking`, while the pool runs the call.
    Blocking,
    /// Sending on a channel.
    ChanSend,
    /// Receiving from a channel.
    ChanReceive,
    /// Receiving from a channel that never delivers (`chan::never()`, Go's
    /// nil channel).
    ChanReceiveNil,
    /// `select!` with no ready case.
    Select,
    /// `select!` with no arm at all (Go's `select {}`): waits forever.
    SelectNoCases,
    /// `runtime::dump`, waiting for the workers' answers.
    Dump,
    /// `atomic::SeqLock::write`/`update`, while another writer holds it.
    SeqLockWrite,
    /// `atomic::Rcu::synchronize`, waiting for readers' guards.
    RcuSynchronize,
    /// A `net` socket operation, until its socket is ready (Go's `[IO wait]`).
    IoWait,
}

impl WaitReason {
    const ALL: [WaitReason; 18] = [
        WaitReason::Unknown,
        WaitReason::Mutex,
        WaitReason::Cond,
        WaitReason::WaitGroup,
        WaitReason::Once,
        WaitReason::Join,
        WaitReason::Scope,
        WaitReason::Sleep,
        WaitReason::Blocking,
        WaitReason::ChanSend,
        WaitReason::ChanReceive,
        WaitReason::ChanReceiveNil,
        WaitReason::Select,
        WaitReason::SelectNoCases,
        WaitReason::Dump,
        WaitReason::SeqLockWrite,
        WaitReason::RcuSynchronize,
        WaitReason::IoWait,
    ];

    /// What a dump prints.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            WaitReason::Unknown => "parked",
            WaitReason::Mutex => "mutex",
            WaitReason::Cond => "cond wait",
            WaitReason::WaitGroup => "waitgroup wait",
            WaitReason::Once => "once",
            WaitReason::Join => "join",
            WaitReason::Scope => "scope",
            WaitReason::Sleep => "sleep",
            WaitReason::Blocking => "blocking",
            WaitReason::ChanSend => "chan send",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanReceiveNil => "chan receive (nil chan)",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Dump => "dump",
            WaitReason::SeqLockWrite => "seqlock write",
            WaitReason::RcuSynchronize => "rcu synchronize",
            WaitReason::IoWait => "IO wait",
        }
    }

    /// The reason stored as `u8` (for an atomic field).
    pub(crate) fn from_u8(v: u8) -> WaitReason {
        Self::ALL
            .get(usize::from(v))
            .copied()
            .unwrap_or(WaitReason::Unknown)
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Labels the running goroutine's waits with `reason` until the guard
/// drops (a no-op on plain threads). See the module docs.
#[inline]
pub(crate) fn wait_reason(reason: WaitReason) -> ReasonGuard {
    let hook = hook::current();
    let previous = hook.map(|h| h.set_wait_reason(reason));
    ReasonGuard {
        hook,
        previous,
        _not_send: PhantomData,
    }
}

/// Restores the previous label on drop; tied to its goroutine's thread.
pub(crate) struct ReasonGuard {
    hook: Option<&'static dyn hook::ParkHook>,
    previous: Option<WaitReason>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for ReasonGuard {
    /// Always inlined: it runs right after a parked goroutine resumes, on
    /// its cold stack, and an out-of-line call there costs the ring case of
    /// the lab measurably (see `WaitQueue::wait`).
    #[inline(always)]
    fn drop(&mut self) {
        // The hook acts on whatever goroutine runs on this thread: the one
        // that made the guard, since goroutines never change thread and the
        // guard lives on its stack.
        if let (Some(h), Some(p)) = (self.hook, self.previous) {
            h.set_wait_reason(p);
        }
    }
}

impl fmt::Debug for ReasonGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReasonGuard")
            .field("previous", &self.previous)
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_u8() {
        for r in WaitReason::ALL {
            assert_eq!(WaitReason::from_u8(r as u8), r);
        }
        assert_eq!(WaitReason::from_u8(200), WaitReason::Unknown);
        assert_eq!(WaitReason::ChanReceive.to_string(), "chan receive");
    }

    #[test]
    fn a_plain_thread_ignores_labels() {
        let g = wait_reason(WaitReason::Mutex);
        assert_eq!(g.previous, None);
    }
}
