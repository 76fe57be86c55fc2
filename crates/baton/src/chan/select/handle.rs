//! [`SelectHandle`]: what `select` needs from each arm, implemented once
//! for both halves ([`Half`]) over the flavours' [`Flavor`] methods (the
//! same `start_send`/`start_recv` a plain operation uses).

use std::time::Instant;

use super::super::flavors::{with_flavor, AnyFlavor, Token};
use super::super::waiter::{Operation, Waiter};
use super::super::{Receiver, Sender};

#[cfg(doc)]
use super::super::flavors::Flavor;

/// One arm of a select (see `run.rs` for how they are used).
pub(crate) trait SelectHandle {
    /// Phase 1 without waiting: claims the operation into `token`.
    fn try_select(&self, token: &mut Token) -> bool;
    /// A time by which the arm becomes ready by itself (clock channels).
    fn deadline(&self) -> Option<Instant>;
    /// Registers `oper` to be selected by a counterpart; returns whether the
    /// arm is ready now (then the select retries instead of sleeping).
    fn register(&self, oper: Operation, cx: &Waiter) -> bool;
    /// Removes the registration (whether or not it was selected).
    fn unregister(&self, oper: Operation);
    /// Phase 1 after `oper` was selected by a counterpart while we slept;
    /// `false` if it must be retried.
    fn accept(&self, token: &mut Token, cx: &Waiter) -> bool;
    /// Whether the operation could complete now (a probe).
    fn is_ready(&self) -> bool;
    /// Registers an observer (for `ready`); returns whether ready now.
    fn watch(&self, oper: Operation, cx: &Waiter) -> bool;
    /// Removes the observer.
    fn unwatch(&self, oper: Operation);
    /// Gives up an operation whose phase 1 completed (its
    /// `SelectedOperation` was dropped or unwound without completing):
    /// a claimed receive drops its value, a claimed send releases its slot
    /// so that nothing waits on it (see the flavours' `abandon_*`).
    ///
    /// # Safety
    ///
    /// `token` was filled by this handle's `try_select` or `accept` and
    /// is used once, by this call instead of phase 2.
    unsafe fn abandon(&self, token: &mut Token);
}

/// A channel half, for [`SelectHandle`]: its channel and which side of it
/// it operates.
trait Half {
    /// `true` for a [`Sender`], `false` for a [`Receiver`].
    const SEND: bool;
    /// The message type.
    type Msg;
    /// The channel.
    fn flavor(&self) -> &AnyFlavor<Self::Msg>;
}

impl<T> Half for Sender<T> {
    const SEND: bool = true;
    type Msg = T;

    #[inline]
    fn flavor(&self) -> &AnyFlavor<T> {
        &self.flavor
    }
}

impl<T> Half for Receiver<T> {
    const SEND: bool = false;
    type Msg = T;

    #[inline]
    fn flavor(&self) -> &AnyFlavor<T> {
        &self.flavor
    }
}

impl<H: Half> SelectHandle for H {
    fn try_select(&self, token: &mut Token) -> bool {
        with_flavor!(self.flavor(), c => if H::SEND {
            c.start_send(token)
        } else {
            c.start_recv(token)
        })
    }

    fn deadline(&self) -> Option<Instant> {
        with_flavor!(self.flavor(), c => c.deadline())
    }

    fn register(&self, oper: Operation, cx: &Waiter) -> bool {
        with_flavor!(self.flavor(), c => c.register(oper, cx, H::SEND))
    }

    fn unregister(&self, oper: Operation) {
        with_flavor!(self.flavor(), c => c.unregister(oper, H::SEND))
    }

    fn accept(&self, token: &mut Token, cx: &Waiter) -> bool {
        with_flavor!(self.flavor(), c => c.accept(token, cx, H::SEND))
    }

    fn is_ready(&self) -> bool {
        with_flavor!(self.flavor(), c => c.is_ready(H::SEND))
    }

    fn watch(&self, oper: Operation, cx: &Waiter) -> bool {
        with_flavor!(self.flavor(), c => c.watch(oper, cx, H::SEND))
    }

    fn unwatch(&self, oper: Operation) {
        with_flavor!(self.flavor(), c => c.unwatch(oper, H::SEND))
    }

    unsafe fn abandon(&self, token: &mut Token) {
        with_flavor!(self.flavor(), c => if H::SEND {
            // SAFETY: the caller's guarantee: a token of this send, used once.
            unsafe { c.abandon_send(token) }
        } else {
            // SAFETY: as above, for this receive.
            unsafe { c.abandon_recv(token) }
        })
    }
}

/// Phase 2 of a selected receive.
///
/// # Safety
///
/// `token` was filled by `r`'s `try_select` or `accept`, and is used once.
pub(crate) unsafe fn read<T>(r: &Receiver<T>, token: &mut Token) -> Result<T, ()> {
    // SAFETY: the caller's guarantee.
    with_flavor!(&r.flavor, c => unsafe { c.read(token) })
}

/// Phase 2 of a selected send.
///
/// # Safety
///
/// `token` was filled by `s`'s `try_select` or `accept`, and is used once.
pub(crate) unsafe fn write<T>(s: &Sender<T>, token: &mut Token, msg: T) -> Result<(), T> {
    // SAFETY: the caller's guarantee.
    with_flavor!(&s.flavor, c => unsafe { c.write(token, msg) })
}
