//! [`SelectHandle`]: what `select` needs from each arm, implemented once per
//! side and dispatched to the flavours' two-phase operations (the same
//! `start_send`/`start_recv` a plain operation uses).

use std::time::Instant;

use super::super::context::{Context, Operation};
use super::super::flavors::Token;
use super::super::receiver::ReceiverFlavor;
use super::super::sender::SenderFlavor;
use super::super::{Receiver, Sender};

/// One arm of a select (see `run.rs` for how they are used).
pub(crate) trait SelectHandle {
    /// Phase 1 without waiting: claims the operation into `token`.
    fn try_select(&self, token: &mut Token) -> bool;
    /// A time by which the arm becomes ready by itself (clock channels).
    fn deadline(&self) -> Option<Instant>;
    /// Registers `oper` to be selected by a counterpart; returns whether the
    /// arm is ready now (then the select retries instead of sleeping).
    fn register(&self, oper: Operation, cx: &Context) -> bool;
    /// Removes the registration (whether or not it was selected).
    fn unregister(&self, oper: Operation);
    /// Phase 1 after `oper` was selected by a counterpart while we slept;
    /// `false` if it must be retried.
    fn accept(&self, token: &mut Token, cx: &Context) -> bool;
    /// Whether the operation could complete now (a probe).
    fn is_ready(&self) -> bool;
    /// Registers an observer (for `ready`); returns whether ready now.
    fn watch(&self, oper: Operation, cx: &Context) -> bool;
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

impl<T> SelectHandle for Receiver<T> {
    fn try_select(&self, token: &mut Token) -> bool {
        match &self.flavor {
            ReceiverFlavor::Array(h) => h.chan.start_recv(token),
            ReceiverFlavor::List(h) => h.chan.start_recv(token),
            ReceiverFlavor::Zero(h) => h.chan.start_recv(token),
            ReceiverFlavor::Timer(c, _) => c.try_select(token),
            ReceiverFlavor::Never => false,
        }
    }

    fn deadline(&self) -> Option<Instant> {
        match &self.flavor {
            ReceiverFlavor::Timer(c, _) => c.deadline(),
            _ => None,
        }
    }

    fn register(&self, oper: Operation, cx: &Context) -> bool {
        match &self.flavor {
            ReceiverFlavor::Array(h) => {
                h.chan.receivers().register(oper, cx);
                self.is_ready()
            }
            ReceiverFlavor::List(h) => {
                h.chan.receivers().register(oper, cx);
                self.is_ready()
            }
            ReceiverFlavor::Zero(h) => h.chan.register(oper, cx, false),
            ReceiverFlavor::Timer(c, _) => c.register(oper, cx),
            ReceiverFlavor::Never => false,
        }
    }

    fn unregister(&self, oper: Operation) {
        match &self.flavor {
            ReceiverFlavor::Array(h) => {
                h.chan.receivers().unregister(oper);
            }
            ReceiverFlavor::List(h) => {
                h.chan.receivers().unregister(oper);
            }
            ReceiverFlavor::Zero(h) => h.chan.unregister(oper, false),
            ReceiverFlavor::Timer(c, _) => c.unregister(oper),
            ReceiverFlavor::Never => {}
        }
    }

    fn accept(&self, token: &mut Token, cx: &Context) -> bool {
        match &self.flavor {
            ReceiverFlavor::Zero(h) => h.chan.accept(token, cx),
            // Woken because a value may be there: claim it like a try.
            _ => self.try_select(token),
        }
    }

    fn is_ready(&self) -> bool {
        match &self.flavor {
            ReceiverFlavor::Array(h) => !h.chan.is_empty() || h.chan.is_disconnected(),
            ReceiverFlavor::List(h) => !h.chan.is_empty() || h.chan.is_disconnected(),
            ReceiverFlavor::Zero(h) => h.chan.is_ready(false),
            ReceiverFlavor::Timer(c, _) => c.is_ready(),
            ReceiverFlavor::Never => false,
        }
    }

    fn watch(&self, oper: Operation, cx: &Context) -> bool {
        match &self.flavor {
            ReceiverFlavor::Array(h) => {
                h.chan.receivers().watch(oper, cx);
                self.is_ready()
            }
            ReceiverFlavor::List(h) => {
                h.chan.receivers().watch(oper, cx);
                self.is_ready()
            }
            ReceiverFlavor::Zero(h) => h.chan.watch(oper, cx, false),
            ReceiverFlavor::Timer(c, _) => c.watch(oper, cx),
            ReceiverFlavor::Never => false,
        }
    }

    fn unwatch(&self, oper: Operation) {
        match &self.flavor {
            ReceiverFlavor::Array(h) => h.chan.receivers().unwatch(oper),
            ReceiverFlavor::List(h) => h.chan.receivers().unwatch(oper),
            ReceiverFlavor::Zero(h) => h.chan.unwatch(oper, false),
            ReceiverFlavor::Timer(c, _) => c.unwatch(oper),
            ReceiverFlavor::Never => {}
        }
    }

    unsafe fn abandon(&self, token: &mut Token) {
        match &self.flavor {
            // SAFETY: the caller's guarantee, for each flavour.
            ReceiverFlavor::Array(h) => unsafe { h.chan.abandon_recv(token) },
            // SAFETY: as above.
            ReceiverFlavor::List(h) => unsafe { h.chan.abandon_recv(token) },
            // A paired sender waits for its value to be taken: take it.
            // SAFETY: as above.
            ReceiverFlavor::Zero(h) => drop(unsafe { h.chan.read(token) }),
            // Nothing was claimed from the clock.
            ReceiverFlavor::Timer(..) | ReceiverFlavor::Never => {}
        }
    }
}

impl<T> SelectHandle for Sender<T> {
    fn try_select(&self, token: &mut Token) -> bool {
        match &self.flavor {
            SenderFlavor::Array(h) => h.chan.start_send(token),
            SenderFlavor::List(h) => h.chan.start_send(token),
            SenderFlavor::Zero(h) => h.chan.start_send(token),
        }
    }

    fn deadline(&self) -> Option<Instant> {
        None
    }

    fn register(&self, oper: Operation, cx: &Context) -> bool {
        match &self.flavor {
            SenderFlavor::Array(h) => {
                h.chan.senders().register(oper, cx);
                self.is_ready()
            }
            // Always ready: nothing to register.
            SenderFlavor::List(_) => true,
            SenderFlavor::Zero(h) => h.chan.register(oper, cx, true),
        }
    }

    fn unregister(&self, oper: Operation) {
        match &self.flavor {
            SenderFlavor::Array(h) => {
                h.chan.senders().unregister(oper);
            }
            SenderFlavor::List(_) => {}
            SenderFlavor::Zero(h) => h.chan.unregister(oper, true),
        }
    }

    fn accept(&self, token: &mut Token, cx: &Context) -> bool {
        match &self.flavor {
            SenderFlavor::Zero(h) => h.chan.accept(token, cx),
            _ => self.try_select(token),
        }
    }

    fn is_ready(&self) -> bool {
        match &self.flavor {
            SenderFlavor::Array(h) => !h.chan.is_full() || h.chan.is_disconnected(),
            SenderFlavor::List(_) => true,
            SenderFlavor::Zero(h) => h.chan.is_ready(true),
        }
    }

    fn watch(&self, oper: Operation, cx: &Context) -> bool {
        match &self.flavor {
            SenderFlavor::Array(h) => {
                h.chan.senders().watch(oper, cx);
                self.is_ready()
            }
            SenderFlavor::List(_) => true,
            SenderFlavor::Zero(h) => h.chan.watch(oper, cx, true),
        }
    }

    fn unwatch(&self, oper: Operation) {
        match &self.flavor {
            SenderFlavor::Array(h) => h.chan.senders().unwatch(oper),
            SenderFlavor::List(_) => {}
            SenderFlavor::Zero(h) => h.chan.unwatch(oper, true),
        }
    }

    unsafe fn abandon(&self, token: &mut Token) {
        match &self.flavor {
            // SAFETY: the caller's guarantee, for each flavour.
            SenderFlavor::Array(h) => unsafe { h.chan.abandon_send(token) },
            // SAFETY: as above.
            SenderFlavor::List(h) => unsafe { h.chan.abandon_send(token) },
            // SAFETY: as above.
            SenderFlavor::Zero(h) => unsafe { h.chan.abandon_send(token) },
        }
    }
}

/// Phase 2 of a selected receive.
///
/// # Safety
///
/// `token` was filled by `r`'s `try_select` or `accept`, and is used once.
pub(crate) unsafe fn read<T>(r: &Receiver<T>, token: &mut Token) -> Result<T, ()> {
    match &r.flavor {
        // SAFETY: the caller's guarantee, for each flavour.
        ReceiverFlavor::Array(h) => unsafe { h.chan.read(token) },
        // SAFETY: as above.
        ReceiverFlavor::List(h) => unsafe { h.chan.read(token) },
        // SAFETY: as above.
        ReceiverFlavor::Zero(h) => unsafe { h.chan.read(token) },
        ReceiverFlavor::Timer(c, f) => c.read(token).map(f),
        ReceiverFlavor::Never => unreachable!("a never channel is never selected"),
    }
}

/// Phase 2 of a selected send.
///
/// # Safety
///
/// `token` was filled by `s`'s `try_select` or `accept`, and is used once.
pub(crate) unsafe fn write<T>(s: &Sender<T>, token: &mut Token, msg: T) -> Result<(), T> {
    match &s.flavor {
        // SAFETY: the caller's guarantee, for each flavour.
        SenderFlavor::Array(h) => unsafe { h.chan.write(token, msg) },
        // SAFETY: as above.
        SenderFlavor::List(h) => unsafe { h.chan.write(token, msg) },
        // SAFETY: as above.
        SenderFlavor::Zero(h) => unsafe { h.chan.write(token, msg) },
    }
}
