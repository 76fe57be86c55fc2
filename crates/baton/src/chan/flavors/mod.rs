//! The channel flavours, one file each, and the token their two-phase
//! operations share (habit 13: `start_send`/`start_recv` claim, then
//! `write`/`read` complete; a plain send or receive and `select` use the
//! same pair).
//!
//! | flavour | file | made by |
//! |---|---|---|
//! | bounded ring | `array.rs` | `bounded(n)`, `n >= 1` |
//! | linked blocks | `list.rs` | `unbounded()` |
//! | rendezvous | `zero.rs` | `rendezvous()`, `bounded(0)` |
//! | clock | `timer.rs` | `time::after`, `time::tick`, `Timer`, `Ticker` |
//! | never ready | `never.rs` | `never()` |
//!
//! The queue flavours (`array`, `list`) share their blocking operations:
//! [`TwoPhase`] is what a flavour provides, and [`send`], [`recv`],
//! [`try_send`], [`try_recv`] and [`block_on`] are the loops written once
//! over it — claim, or spin a little ([`Spin`]), or register with the
//! waker, re-check, and park. `zero` rendezvouses through its own waiter
//! lists and `timer`/`never` never block senders, so they have their own.

pub(crate) mod array;
pub(crate) mod list;
pub(crate) mod never;
pub(crate) mod timer;
pub(crate) mod zero;

use std::time::Instant;

use super::context::{Context, Operation, Selected, Spin};
use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::waker::SyncWaker;
use crate::park::{self, WaitReason};

/// What phase 1 of an operation claimed, for phase 2; each flavour uses its
/// own field.
#[derive(Debug, Default)]
pub(crate) struct Token {
    pub(crate) array: array::ArrayToken,
    pub(crate) list: list::ListToken,
    pub(crate) zero: zero::ZeroToken,
    pub(crate) timer: Option<Instant>,
}

/// The two phases of a queue flavour's operations, and how a waiter parks
/// until the channel may be ready.
///
/// Safe code may abandon an operation between its phases (a dropped,
/// unwound or forgotten `SelectedOperation`): the flavours also offer
/// `abandon_send`/`abandon_recv`, which `select` calls instead of phase 2
/// when it can, and never trust a claimed slot to be written (module docs
/// of `chan`).
pub(crate) trait TwoPhase {
    /// The message type.
    type Msg;

    /// Phase 1 of a send: claims a slot; `false` when full (try again
    /// later). A closed channel claims a null slot, which `write` refuses.
    fn start_send(&self, token: &mut Token) -> bool;

    /// Phase 2 of a send: the message back when the channel is closed.
    ///
    /// # Safety
    ///
    /// `token` came from a successful `start_send` on this channel and is
    /// used once.
    unsafe fn write(&self, token: &mut Token, msg: Self::Msg) -> Result<(), Self::Msg>;

    /// Phase 1 of a receive: claims a message; `false` when empty.
    fn start_recv(&self, token: &mut Token) -> bool;

    /// Phase 2 of a receive: `Err` when the channel is closed and drained.
    ///
    /// # Safety
    ///
    /// `token` came from a successful `start_recv` on this channel and is
    /// used once.
    unsafe fn read(&self, token: &mut Token) -> Result<Self::Msg, ()>;

    /// Parks a sender (`send`) or a receiver until its side may be ready;
    /// returns whether the wait ended because `deadline` passed. Usually
    /// [`block_on`] with the side's waker and [`reason`].
    fn block(&self, token: &mut Token, deadline: Option<Instant>, send: bool) -> bool;
}

/// The four phase methods of a [`TwoPhase`] impl, forwarded to the
/// flavour's inherent methods of the same names (which `select` calls too);
/// the impl adds `block`.
macro_rules! forward_two_phase {
    () => {
        #[inline]
        fn start_send(&self, token: &mut Token) -> bool {
            Channel::start_send(self, token)
        }

        #[inline]
        unsafe fn write(&self, token: &mut Token, msg: T) -> Result<(), T> {
            // SAFETY: the caller's contract is `Channel::write`'s.
            unsafe { Channel::write(self, token, msg) }
        }

        #[inline]
        fn start_recv(&self, token: &mut Token) -> bool {
            Channel::start_recv(self, token)
        }

        #[inline]
        unsafe fn read(&self, token: &mut Token) -> Result<T, ()> {
            // SAFETY: the caller's contract is `Channel::read`'s.
            unsafe { Channel::read(self, token) }
        }
    };
}
pub(crate) use forward_two_phase;

/// A send that never waits.
#[inline]
pub(crate) fn try_send<C: TwoPhase>(chan: &C, msg: C::Msg) -> Result<(), TrySendError<C::Msg>> {
    let token = &mut Token::default();
    if chan.start_send(token) {
        // SAFETY: just claimed.
        unsafe { chan.write(token, msg) }.map_err(TrySendError::Closed)
    } else {
        Err(TrySendError::Full(msg))
    }
}

/// A send that waits for room until `deadline` (forever with `None`):
/// claim, else spin briefly, else park and try again.
#[inline]
pub(crate) fn send<C: TwoPhase>(
    chan: &C,
    msg: C::Msg,
    deadline: Option<Instant>,
) -> Result<(), SendTimeoutError<C::Msg>> {
    let token = &mut Token::default();
    let mut timed_out = false;
    loop {
        let mut spin = Spin::new(deadline);
        loop {
            if chan.start_send(token) {
                // SAFETY: just claimed.
                return unsafe { chan.write(token, msg) }.map_err(SendTimeoutError::Closed);
            }
            if !spin.next() {
                break;
            }
        }
        if timed_out || deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(SendTimeoutError::Timeout(msg));
        }
        timed_out = chan.block(token, deadline, true);
    }
}

/// A receive that never waits.
#[inline]
pub(crate) fn try_recv<C: TwoPhase>(chan: &C) -> Result<C::Msg, TryRecvError> {
    let token = &mut Token::default();
    if chan.start_recv(token) {
        // SAFETY: just claimed.
        unsafe { chan.read(token) }.map_err(|()| TryRecvError::Closed)
    } else {
        Err(TryRecvError::Empty)
    }
}

/// A receive that waits for a message until `deadline` (forever with
/// `None`): claim, else spin briefly, else park and try again.
#[inline]
pub(crate) fn recv<C: TwoPhase>(
    chan: &C,
    deadline: Option<Instant>,
) -> Result<C::Msg, RecvTimeoutError> {
    let token = &mut Token::default();
    let mut timed_out = false;
    loop {
        let mut spin = Spin::new(deadline);
        loop {
            if chan.start_recv(token) {
                // SAFETY: just claimed.
                return unsafe { chan.read(token) }.map_err(|()| RecvTimeoutError::Closed);
            }
            if !spin.next() {
                break;
            }
        }
        if timed_out || deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(RecvTimeoutError::Timeout);
        }
        timed_out = chan.block(token, deadline, false);
    }
}

/// The wait reason a goroutine blocked in a send (`send`) or receive shows
/// in a dump.
#[inline]
pub(crate) fn reason(send: bool) -> WaitReason {
    if send {
        WaitReason::ChanSend
    } else {
        WaitReason::ChanReceive
    }
}

/// Parks the calling thread or goroutine on `waker` until a notifier picks
/// it, `deadline` passes, or the channel closes; returns whether the
/// deadline ended the wait. A goroutine's dump line shows `why`.
///
/// `may_be_ready` is the waiter's re-check in the waker's Dekker pair
/// (`waker.rs`): called after registering, it must say whether the side
/// became ready (or the channel closed) since the caller's last try, with
/// `SeqCst` loads; if so the wait is aborted at once instead of sleeping
/// through the change.
#[cold]
pub(crate) fn block_on(
    waker: &SyncWaker,
    token: &mut Token,
    deadline: Option<Instant>,
    why: WaitReason,
    may_be_ready: impl FnOnce() -> bool,
) -> bool {
    let _why = park::wait_reason(why);
    Context::with(|cx| {
        let oper = Operation::hook(token);
        waker.register(oper, cx);
        let pre_aborted = may_be_ready() && cx.try_select(Selected::Aborted).is_ok();
        match cx.wait_until(deadline) {
            Selected::Waiting => unreachable!("wait_until returned while waiting"),
            sel @ (Selected::Aborted | Selected::Disconnected) => {
                waker.unregister(oper);
                sel == Selected::Aborted && !pre_aborted
            }
            // A notifier selected and removed our entry.
            Selected::Operation(_) => false,
        }
    })
}
