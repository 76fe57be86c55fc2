//! The channel flavours, one file each: the [`Flavor`] trait every one
//! implements, the [`AnyFlavor`] handle a `Sender`/`Receiver` holds (the
//! one place that matches on the flavour), and the waiting loops the queue
//! flavours share.
//!
//! | flavour | file | made by |
//! |---|---|---|
//! | bounded ring | `array.rs` | `bounded(n)`, `n >= 1` |
//! | linked blocks | `list.rs` | `unbounded()` |
//! | rendezvous | `zero.rs` | `rendezvous()`, `bounded(0)` |
//! | clock | `timer.rs` | `time::after`, `time::tick`, `Timer`, `Ticker` |
//! | never ready | `never.rs` | `never()` |
//!
//! # Two phases
//!
//! Every operation is two phases, as in crossbeam-channel: `start_send`
//! and `start_recv` *claim* (a slot, a message, a waiting counterpart) into
//! a [`Token`], then `write` and `read` *complete*. A plain send or receive
//! and `select` use the same pair; `select` completes only the arm it
//! chose, and calls `abandon_send`/`abandon_recv` instead of phase 2 when
//! the chosen operation is dropped or unwound (module docs of `chan`).
//!
//! # Dispatch once
//!
//! [`AnyFlavor`] is an enum with one variant per flavour, generated with
//! the [`with_flavor!`] macro from the registration list at the end of this
//! file: `Sender`, `Receiver` and the select handles call
//! `with_flavor!(&self.flavor, c => c.method(..))`, which matches once and
//! calls the [`Flavor`] method on the concrete channel type, so every
//! operation stays monomorphic and inlinable (no `dyn` on the send and
//! receive paths; `select` goes through `&dyn SelectHandle` as before).
//! Adding a flavour is its file (a channel type implementing [`Flavor`],
//! held by something implementing [`Holder`]) and one line in that list.
//!
//! # Waiting
//!
//! The queue flavours (`array`, `list`) share their non-blocking
//! operations: [`try_send`] and [`try_recv`] are written once over
//! [`Flavor`]'s phases, and so is [`recv`], the blocking loop — claim, or
//! spin a little ([`Spin`]), or register with the waker, re-check, and
//! park ([`block_on`]) — for `list`. `array` has its own blocking loops,
//! whose park is timed while a stalled slot holds them up (`array.rs`,
//! "Stalled slots"); the unbounded `list` never blocks a send. `zero`
//! rendezvouses through its own waiter lists, and `timer`/`never` have no
//! senders, so they have their own.

pub(crate) mod array;
pub(crate) mod list;
pub(crate) mod never;
pub(crate) mod timer;
pub(crate) mod zero;

use core::fmt;
use std::time::Instant;

use super::counter::Counted;
use super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::waiter::{Operation, Selected, Spin, Waiter};
use super::waker::SyncWaker;
use crate::park::{self, WaitReason};
use crate::shim::Arc;

/// What phase 1 of an operation claimed, for phase 2; each flavour uses its
/// own field.
#[derive(Debug, Default)]
pub(crate) struct Token {
    pub(crate) array: array::ArrayToken,
    pub(crate) list: list::ListToken,
    pub(crate) zero: zero::ZeroToken,
    pub(crate) timer: Option<Instant>,
}

/// What a look at one side of a channel found, for the snapshot a select
/// with no time left takes before it answers "nothing ready"
/// (`select/run.rs`, `last_try`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Probe {
    /// The operation could complete now (or the channel is closed).
    Ready,
    /// Not ready, in the state numbered by this *version*: a number that
    /// never decreases, and changes whenever the side may have become
    /// ready since. Two probes of one side that find it not ready with the
    /// same version prove it was not ready at every instant between them.
    NotReady(u64),
}

/// What every channel flavour provides: the two phases of each side, the
/// plain operations built on them, what `select` needs to wait on an arm,
/// and the channel's state. A method taking `send` acts on the send side
/// (`true`) or the receive side; a receive-only flavour (`timer`, `never`)
/// is never asked for its send side (no `Sender` of it exists).
///
/// Safe code may abandon an operation between its phases (a dropped,
/// unwound or forgotten `SelectedOperation`): `abandon_send`/`abandon_recv`
/// release a claim when phase 2 will not come, and no flavour trusts a
/// claimed slot to be written (module docs of `chan`).
pub(crate) trait Flavor {
    /// The message type.
    type Msg;

    /// Phase 1 of a send: claims room (a slot, a waiting receiver);
    /// `false` when there is none now. A closed channel claims nothing and
    /// returns `true`, so that `write` hands the message back.
    fn start_send(&self, token: &mut Token) -> bool;

    /// Phase 2 of a send: the message back when the channel is closed.
    ///
    /// # Safety
    ///
    /// `token` came from a successful `start_send` (or a send arm's
    /// `accept`) on this channel and is used once.
    unsafe fn write(&self, token: &mut Token, msg: Self::Msg) -> Result<(), Self::Msg>;

    /// Phase 1 of a receive: claims a message (or a waiting sender);
    /// `false` when there is none now. Closed and drained claims nothing and
    /// returns `true`, so that `read` reports the close.
    fn start_recv(&self, token: &mut Token) -> bool;

    /// Phase 2 of a receive: `Err` when the channel is closed and drained.
    ///
    /// # Safety
    ///
    /// `token` came from a successful `start_recv` (or a receive arm's
    /// `accept`) on this channel and is used once.
    unsafe fn read(&self, token: &mut Token) -> Result<Self::Msg, ()>;

    /// Gives up a send whose phase 1 completed and whose phase 2 will never
    /// come: the claim is released so that nothing waits on it.
    ///
    /// # Safety
    ///
    /// As [`write`](Self::write): the token is used once, by this call
    /// instead of `write`.
    unsafe fn abandon_send(&self, token: &mut Token);

    /// Gives up a receive whose phase 1 completed: the claimed message is
    /// dropped, as if received and dropped.
    ///
    /// # Safety
    ///
    /// As [`read`](Self::read): the token is used once, by this call
    /// instead of `read`.
    unsafe fn abandon_recv(&self, token: &mut Token);

    /// A send that never waits.
    #[inline]
    fn try_send(&self, msg: Self::Msg) -> Result<(), TrySendError<Self::Msg>> {
        try_send(self, msg)
    }

    /// A send that waits until `deadline` (forever with `None`).
    fn send(
        &self,
        msg: Self::Msg,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<Self::Msg>>;

    /// A receive that never waits.
    #[inline]
    fn try_recv(&self) -> Result<Self::Msg, TryRecvError> {
        try_recv(self)
    }

    /// A receive that waits until `deadline` (forever with `None`).
    fn recv(&self, deadline: Option<Instant>) -> Result<Self::Msg, RecvTimeoutError>;

    /// Registers a select arm's `oper` to be selected by a counterpart;
    /// returns whether the side is ready now (then the select retries
    /// instead of sleeping).
    fn register(&self, oper: Operation, cx: &Waiter, send: bool) -> bool;

    /// Removes the registration (whether or not it was selected).
    fn unregister(&self, oper: Operation, send: bool);

    /// Phase 1 after `oper` was selected by a counterpart while the select
    /// slept; `false` if the select must try again. A queue flavour was only
    /// told that a value or room may be there, and claims it like a try.
    #[inline]
    fn accept(&self, token: &mut Token, cx: &Waiter, send: bool) -> bool {
        let _ = cx;
        if send {
            self.start_send(token)
        } else {
            self.start_recv(token)
        }
    }

    /// Whether an operation on the side could complete now (a probe; a
    /// closed channel is ready: the operation completes with the close).
    fn is_ready(&self, send: bool) -> bool;

    /// As [`is_ready`](Self::is_ready), with the version of a "not ready"
    /// answer ([`Probe`]), for the snapshot a select with no time left
    /// takes (`select/run.rs`, "Nothing ready"). Each flavour's impl says
    /// why its version changes whenever the side may have become ready.
    fn probe(&self, send: bool) -> Probe;

    /// Registers an observer (`Select::ready`); returns whether ready now.
    fn watch(&self, oper: Operation, cx: &Waiter, send: bool) -> bool;

    /// Removes the observer.
    fn unwatch(&self, oper: Operation, send: bool);

    /// A time by which a select waiting on the channel should wake and try
    /// again: when the channel becomes ready by itself (clock channels), or
    /// a safety-net nap while a stalled slot holds a bounded channel up
    /// (`array.rs`, "Stalled slots"); `None` for the others. Called after
    /// the select registered its arms.
    #[inline]
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// Closes the channel; `true` if this call closed it. A channel that
    /// cannot close (clock, never) ignores it.
    fn close(&self) -> bool;

    /// The last receiver is gone: closes the channel, and a buffered flavour
    /// drops the messages nobody can receive any more.
    #[inline]
    fn close_receivers(&self) {
        self.close();
    }

    /// Whether the channel is closed.
    fn is_closed(&self) -> bool;

    /// Messages in the channel now.
    fn len(&self) -> usize;

    /// `Some(n)` for a channel that holds at most `n` messages, `None`
    /// for unbounded.
    fn capacity(&self) -> Option<usize>;
}

/// How a `Sender` or `Receiver` holds its channel: the counted flavours
/// share an `Arc<Counted<_>>` (the channel closes when its last sender or
/// its last receiver goes), a clock channel an `Arc` shared with its
/// `Timer`/`Ticker`, `never` nothing at all.
pub(crate) trait Holder: Sized {
    /// The channel held.
    type Chan: Flavor;

    /// The channel.
    fn chan(&self) -> &Self::Chan;

    /// The holder for one more sender (`send`) or receiver.
    fn acquire(&self, send: bool) -> Self;

    /// One sender (`send`) or receiver fewer; `true` if it was the last.
    fn release(&self, send: bool) -> bool;

    /// Whether `self` and `other` hold the same channel.
    fn same(&self, other: &Self) -> bool;
}

impl<C: Flavor> Holder for Arc<Counted<C>> {
    type Chan = C;

    #[inline]
    fn chan(&self) -> &C {
        &self.chan
    }

    #[inline]
    fn acquire(&self, send: bool) -> Self {
        Counted::acquire(self, send);
        self.clone()
    }

    #[inline]
    fn release(&self, send: bool) -> bool {
        Counted::release(self, send)
    }

    #[inline]
    fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(self, other)
    }
}

/// Declares [`AnyFlavor`] and [`with_flavor!`] from the registration list
/// (at the end of this file). `$d` is a `$` token, which the inner macro's
/// own metavariables need.
macro_rules! register_flavors {
    ($d:tt $($(#[$attr:meta])* $name:ident($holder:ty),)*) => {
        /// A handle's channel, whichever flavour it is (see the module
        /// docs): the one enum over the flavours.
        pub(crate) enum AnyFlavor<T> {
            $($(#[$attr])* $name($holder),)*
        }

        impl<T> AnyFlavor<T> {
            /// The same channel for one more sender (`send`) or receiver.
            pub(crate) fn acquire(&self, send: bool) -> Self {
                match self {
                    $(AnyFlavor::$name(h) => AnyFlavor::$name(h.acquire(send)),)*
                }
            }

            /// One sender (`send`) or receiver fewer; `true` if it was the
            /// last.
            pub(crate) fn release(&self, send: bool) -> bool {
                match self {
                    $(AnyFlavor::$name(h) => h.release(send),)*
                }
            }

            /// Whether `self` and `other` are the same channel.
            pub(crate) fn same(&self, other: &Self) -> bool {
                match (self, other) {
                    $((AnyFlavor::$name(a), AnyFlavor::$name(b)) => a.same(b),)*
                    _ => false,
                }
            }
        }

        /// `with_flavor!(flavor, c => expr)`: evaluates `expr` with `c`
        /// bound to the concrete channel inside `flavor` (an
        /// `&AnyFlavor<T>`), with [`Flavor`]'s methods in scope. The one
        /// `match` over the flavours; each arm is compiled for its own
        /// channel type.
        macro_rules! with_flavor {
            ($d flavor:expr, $d c:ident => $d body:expr) => {
                match $d flavor {
                    $($crate::chan::flavors::AnyFlavor::$name(h) => {
                        #[allow(unused_imports)]
                        use $crate::chan::flavors::Flavor as _;
                        let $d c = $crate::chan::flavors::Holder::chan(h);
                        $d body
                    })*
                }
            };
        }
        pub(crate) use with_flavor;
    };
}

/// The send side of a receive-only flavour (`timer`, `never`): no
/// `Sender` of one exists, so no send operation can reach it.
#[cold]
#[inline(never)]
pub(crate) fn no_senders() -> ! {
    unreachable!("a receive-only channel (clock, never) has no senders")
}

/// The send-side methods of a receive-only flavour's [`Flavor`] impl, all
/// [`no_senders`] (the impl's file imports `Token`, `Instant` and
/// `SendTimeoutError`).
macro_rules! no_send_side {
    () => {
        fn start_send(&self, _token: &mut Token) -> bool {
            super::no_senders()
        }

        unsafe fn write(&self, _token: &mut Token, _msg: Self::Msg) -> Result<(), Self::Msg> {
            super::no_senders()
        }

        unsafe fn abandon_send(&self, _token: &mut Token) {
            super::no_senders()
        }

        fn send(
            &self,
            _msg: Self::Msg,
            _deadline: Option<Instant>,
        ) -> Result<(), SendTimeoutError<Self::Msg>> {
            super::no_senders()
        }
    };
}
pub(crate) use no_send_side;

/// A send that never waits.
#[inline]
pub(crate) fn try_send<C: Flavor + ?Sized>(
    chan: &C,
    msg: C::Msg,
) -> Result<(), TrySendError<C::Msg>> {
    let token = &mut Token::default();
    if chan.start_send(token) {
        // SAFETY: just claimed.
        unsafe { chan.write(token, msg) }.map_err(TrySendError::Closed)
    } else {
        Err(TrySendError::Full(msg))
    }
}

/// A receive that never waits.
#[inline]
pub(crate) fn try_recv<C: Flavor + ?Sized>(chan: &C) -> Result<C::Msg, TryRecvError> {
    let token = &mut Token::default();
    if chan.start_recv(token) {
        // SAFETY: just claimed.
        unsafe { chan.read(token) }.map_err(|()| TryRecvError::Closed)
    } else {
        Err(TryRecvError::Empty)
    }
}

/// A receive that waits for a message until `deadline` (forever with
/// `None`): claim, else spin briefly, else park on `receivers` and try
/// again. `may_be_ready` is the re-check of [`block_on`].
#[inline]
pub(crate) fn recv<C: Flavor + ?Sized>(
    chan: &C,
    deadline: Option<Instant>,
    receivers: &SyncWaker,
    may_be_ready: impl Fn() -> bool,
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
        timed_out = block_on(receivers, token, deadline, reason(false), &may_be_ready);
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
    Waiter::with(|cx| {
        let oper = Operation::hook(token);
        waker.register(oper, cx);
        let pre_aborted = may_be_ready() && cx.try_select(Selected::Aborted).is_ok();
        match cx.wait_until(deadline) {
            Selected::Waiting => unreachable!("wait_until returned while waiting"),
            sel @ (Selected::Aborted | Selected::Closed) => {
                waker.unregister(oper);
                sel == Selected::Aborted && !pre_aborted
            }
            // A notifier selected and removed our entry.
            Selected::Operation(_) => false,
        }
    })
}

// The registration list: one line per flavour (see the module docs).
register_flavors! { $
    Array(Arc<Counted<array::Channel<T>>>),
    List(Arc<Counted<list::Channel<T>>>),
    Zero(Arc<Counted<zero::Channel<T>>>),
    // Made only by `baton::time`, which loom builds leave out.
    #[cfg_attr(loom, allow(dead_code))]
    Timer(timer::Rx<T>),
    Never(never::Channel<T>),
}

impl<T> AnyFlavor<T> {
    /// The `Debug` output of a `Sender` or `Receiver` called `name`: the
    /// channel's capacity and whether it is closed.
    pub(crate) fn fmt_half(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        with_flavor!(self, c => f
            .debug_struct(name)
            .field("capacity", &c.capacity())
            .field("closed", &c.is_closed())
            .finish_non_exhaustive())
    }
}
