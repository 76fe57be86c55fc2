//! The never flavour: a receiver that is never ready (Go's nil channel):
//! `recv` blocks forever (or until its deadline), a select arm on it is
//! never chosen. It holds nothing: every `never()` receiver is the same
//! channel.

use core::marker::PhantomData;
use std::time::Instant;

use crate::park;

use super::super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError};
use super::super::waiter::{Operation, Waiter};
use super::{Flavor, Holder, Token};

/// A channel that never delivers (see the module docs); a receive-only
/// flavour, `Sync` whatever `T` is (it holds no `T`).
pub(crate) struct Channel<T>(PhantomData<fn() -> T>);

impl<T> Channel<T> {
    /// The never channel (a `const fn`: a `static` receiver can hold it).
    pub(crate) const fn new() -> Self {
        Channel(PhantomData)
    }
}

impl<T> Holder for Channel<T> {
    type Chan = Self;

    #[inline]
    fn chan(&self) -> &Self {
        self
    }

    fn acquire(&self, _send: bool) -> Self {
        Channel::new()
    }

    fn release(&self, _send: bool) -> bool {
        false
    }

    fn same(&self, _other: &Self) -> bool {
        true
    }
}

impl<T> Flavor for Channel<T> {
    type Msg = T;

    super::no_send_side!();

    fn start_recv(&self, _token: &mut Token) -> bool {
        false
    }

    unsafe fn read(&self, _token: &mut Token) -> Result<T, ()> {
        unreachable!("a never channel is never selected")
    }

    /// Nothing is ever claimed.
    unsafe fn abandon_recv(&self, _token: &mut Token) {}

    #[inline]
    fn try_recv(&self) -> Result<T, TryRecvError> {
        Err(TryRecvError::Empty)
    }

    /// Waits until `deadline` (forever without one) and reports a timeout.
    fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let _why = park::wait_reason(park::WaitReason::ChanReceiveNil);
        match deadline {
            None => loop {
                // Spurious wake-ups and stray tokens: park again, forever.
                park::park();
            },
            Some(d) => {
                while Instant::now() < d {
                    park::park_deadline(d);
                }
                Err(RecvTimeoutError::Timeout)
            }
        }
    }

    fn register(&self, _oper: Operation, _cx: &Waiter, _send: bool) -> bool {
        false
    }

    fn unregister(&self, _oper: Operation, _send: bool) {}

    fn is_ready(&self, _send: bool) -> bool {
        false
    }

    fn watch(&self, _oper: Operation, _cx: &Waiter, _send: bool) -> bool {
        false
    }

    fn unwatch(&self, _oper: Operation, _send: bool) {}

    /// A never channel cannot be closed.
    fn close(&self) -> bool {
        false
    }

    fn is_closed(&self) -> bool {
        false
    }

    fn len(&self) -> usize {
        0
    }

    fn capacity(&self) -> Option<usize> {
        Some(0)
    }
}
