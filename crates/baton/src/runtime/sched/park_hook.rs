//! The runtime's side of the park contract (see `crate::park::hook` for
//! the rules): with this hook installed while a goroutine runs, every
//! `park::park`, `park::park_deadline` and wait queue suspends the goroutine
//! instead of blocking its worker thread, and the `Unparker` a goroutine
//! hands out re-queues it on its home worker.
//!
//! How each rule of the contract is met:
//!
//! 1. *Scope*: `current` installs the hook exactly when it marks a goroutine
//!    as running (its start, and each return from a switch) and removes it
//!    when the worker takes over; the worker's own sleep never sees it.
//! 2. *Park switches*: [`park_in_goroutine`] suspends to the worker, which
//!    resumes the goroutine on the same thread (goroutines never migrate).
//! 3. *Token semantics*: `park_state`'s `NOTIFIED` is the token; a wake
//!    before the park, or while the goroutine switches out, is kept.
//! 4. *Unpark from anywhere*: [`Header`]'s `TaskUnpark` queues a parked
//!    goroutine on its home worker (`runnext` from that worker, its inbox
//!    from anywhere else); lock-free, never blocks, and a no-op on a
//!    finished goroutine (its state is never `PARKED` again).
//! 5. *Deadlines*: the home worker's timer heap. A timer fire moves
//!    `PARKED → RUNNING` (no token); `park_deadline` then returns `true`
//!    *without* consuming a token that an unpark may have left after the
//!    timer fired, so that wake stays for the next park. A wake that beat
//!    the timer is consumed and reported as `false`.
//! 6. *`unparker` is cheap*: an `Arc` clone of the header.

use std::time::Instant;

use super::current::{self, Suspend};
use super::goroutine::Header;
use super::park_state::Wake;
use crate::park::hook::{ParkHook, TaskUnpark};
use crate::park::WaitReason;
use crate::shim::atomic::Ordering::Relaxed;
use crate::shim::Arc;

/// The hook; stateless: it acts on whatever goroutine runs on this thread.
#[derive(Debug)]
pub(crate) struct GoroutineHook;

/// The one instance, installed by `current`.
pub(crate) static HOOK: GoroutineHook = GoroutineHook;

impl ParkHook for GoroutineHook {
    fn unparker(&self) -> std::sync::Arc<dyn TaskUnpark> {
        current::with_goroutine(|g| {
            g.expect("baton: park hook used outside a goroutine")
                .clone()
        })
    }

    fn park(&self) {
        park_in_goroutine(None);
    }

    fn park_deadline(&self, deadline: Instant) -> bool {
        park_in_goroutine(Some(deadline))
    }

    fn set_wait_reason(&self, reason: WaitReason) -> WaitReason {
        current::with_goroutine(|g| {
            let g = g.expect("baton: park hook used outside a goroutine");
            // Relaxed, and a load and a store rather than a swap: only this
            // goroutine writes it (see `Header::wait_reason`).
            let previous = g.wait_reason.load(Relaxed);
            g.wait_reason.store(reason as u8, Relaxed);
            WaitReason::from_u8(previous)
        })
    }

    fn current_key(&self) -> usize {
        // The handle `unparker` hands out is the running goroutine's header
        // itself (as a trait object): its address.
        current::with_goroutine(|g| g.map_or(0, |g| Arc::as_ptr(g).cast::<()>() as usize))
    }

    fn goroutine_id(&self) -> u64 {
        current::with_goroutine(|g| {
            g.expect("baton: park hook used outside a goroutine")
                .id
                .as_u64()
        })
    }
}

impl TaskUnpark for Header {
    #[inline]
    fn unpark(&self) {
        if self.park.unpark() == Wake::Queue {
            // The common case of a ping-pong: woken by code on its own
            // worker. It goes to `runnext` by slot, with no reference count
            // traffic.
            if self.rt.try_wake_local(self) {
                return;
            }
            // SAFETY: every `Header` lives in an `Arc` (`Header::new`
            // returns one, and no other constructor exists), and `self` is
            // borrowed from a live reference to it, so the count is at least
            // one while we add ours.
            let me = unsafe {
                Arc::increment_strong_count(self);
                Arc::from_raw(self)
            };
            self.rt.schedule_woken(me);
        }
    }
}

/// Parks the running goroutine (rules 2, 3 and 5 above); `true` = the
/// deadline passed and no token was consumed.
pub(crate) fn park_in_goroutine(deadline: Option<Instant>) -> bool {
    let has_token = current::with_goroutine(|g| g.expect("in a goroutine").park.take_token());
    if has_token {
        return false;
    }
    if deadline.is_some_and(|d| d <= Instant::now()) {
        return true;
    }
    let timed_out = current::suspend(Suspend::Park(deadline));
    if !timed_out {
        // Woken by a token: consume it (with acquire, so the waker's writes
        // are visible).
        current::with_goroutine(|g| g.expect("in a goroutine").park.resumed());
    }
    timed_out
}
