//! Channel operations that give up when a context is done:
//! [`Sender::send_ctx`] and [`Receiver::recv_ctx`] (Go's
//! `select { case ch <- v: ... case <-ctx.Done(): ... }`).
//!
//! Each first checks the context, then tries the operation without
//! blocking (`try_send`/`try_recv`): a channel with room or a value needs
//! no select, which is most calls in a flowing pipeline (issue 14's lab
//! `pipeline` measured every call as a select). Only when the operation
//! would block do they wait on a two-arm [`Select`] over the channel and
//! the context's [`done`](crate::context::Context::done) channel, so they
//! block the way every channel operation does (a goroutine parks, a thread
//! spins briefly then parks) and a cancel wakes them through the done
//! channel's close. (A context cancelled between the check and the try may
//! still see the operation succeed: both were ready then, and Go's select
//! may pick either.) The value of a send is only moved into the channel once the
//! send arm has been selected, so a send that gives up hands it back. A
//! context that is done before the call returns its error without
//! touching the channel, so a loop that checks nothing else still stops
//! (Go's `select` would pick at random between two ready arms).

use core::fmt;

use super::{Receiver, RecvError, Select, SendError, Sender, TryRecvError, TrySendError};
use crate::context::{self, Context};

/// Why [`Sender::send_ctx`] failed; the value is handed back.
///
/// ```
/// use baton::{chan, context};
///
/// let (tx, rx) = chan::bounded::<&str>(1);
/// drop(rx);
/// assert!(matches!(tx.send_ctx(&context::background(), "x"), Err(chan::SendCtxError::Closed("x"))));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SendCtxError<T> {
    /// The channel is closed.
    Closed(T),
    /// The context was done first.
    Done(T, context::Error),
}

/// Why [`Receiver::recv_ctx`] failed.
///
/// ```
/// use baton::{chan, context};
///
/// let (_tx, rx) = chan::unbounded::<u8>();
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// cancel.cancel();
/// let e = rx.recv_ctx(&ctx).unwrap_err();
/// assert_eq!(e, chan::RecvCtxError::Done(context::Error::Canceled));
/// assert_eq!(e.to_string(), "receive abandoned: context canceled");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecvCtxError {
    /// The channel is closed and empty.
    Closed,
    /// The context was done first.
    Done(context::Error),
}

impl<T> SendCtxError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// use baton::{chan, context};
    ///
    /// let (tx, _rx) = chan::rendezvous();
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// cancel.cancel();
    /// assert_eq!(tx.send_ctx(&ctx, 7).unwrap_err().into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendCtxError::Closed(v) | SendCtxError::Done(v, _) => v,
        }
    }
}

impl<T> fmt::Debug for SendCtxError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendCtxError::Closed(_) => f.write_str("Closed(..)"),
            SendCtxError::Done(_, e) => write!(f, "Done(.., {e:?})"),
        }
    }
}

impl<T> fmt::Display for SendCtxError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendCtxError::Closed(_) => f.write_str("sending on a closed channel"),
            SendCtxError::Done(_, e) => write!(f, "send abandoned: {e}"),
        }
    }
}

impl<T> std::error::Error for SendCtxError<T> {}

impl fmt::Display for RecvCtxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvCtxError::Closed => f.write_str("receiving on a closed and empty channel"),
            RecvCtxError::Done(e) => write!(f, "receive abandoned: {e}"),
        }
    }
}

impl std::error::Error for RecvCtxError {}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room (or a receiver) until `ctx` is
    /// done. On failure the value comes back: [`SendCtxError::Closed`] if
    /// the channel is closed, [`SendCtxError::Done`] with the context's
    /// error if it was done first.
    ///
    /// ```
    /// use std::time::Duration;
    /// use baton::{chan, context};
    ///
    /// let (tx, rx) = chan::rendezvous::<u32>(); // nobody receives
    /// let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(5));
    /// match tx.send_ctx(&ctx, 42) {
    ///     Err(chan::SendCtxError::Done(v, e)) => {
    ///         assert_eq!((v, e), (42, context::Error::DeadlineExceeded));
    ///     }
    ///     other => panic!("{other:?}"),
    /// }
    /// drop(rx);
    /// ```
    pub fn send_ctx(&self, ctx: &Context, value: T) -> Result<(), SendCtxError<T>> {
        if let Some(e) = ctx.err() {
            return Err(SendCtxError::Done(value, e));
        }
        let value = match self.try_send(value) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Closed(v)) => return Err(SendCtxError::Closed(v)),
            Err(TrySendError::Full(v)) => v,
        };
        let done = ctx.done();
        let mut sel = Select::new();
        let send = sel.send(self);
        sel.recv(done);
        let op = sel.select();
        if op.index() == send {
            op.send(self, value)
                .map_err(|SendError(v)| SendCtxError::Closed(v))
        } else {
            let _ = op.recv(done);
            let e = ctx.err().expect("the done channel closes only once done");
            Err(SendCtxError::Done(value, e))
        }
    }
}

impl<T> Receiver<T> {
    /// Receives a value, waiting until one arrives, the channel is closed
    /// and empty ([`RecvCtxError::Closed`]), or `ctx` is done
    /// ([`RecvCtxError::Done`]).
    ///
    /// ```
    /// use baton::{chan, context};
    ///
    /// let (tx, rx) = chan::unbounded();
    /// let ctx = context::background();
    /// tx.send("hi").unwrap();
    /// assert_eq!(rx.recv_ctx(&ctx), Ok("hi"));
    /// drop(tx);
    /// assert_eq!(rx.recv_ctx(&ctx), Err(chan::RecvCtxError::Closed));
    /// ```
    pub fn recv_ctx(&self, ctx: &Context) -> Result<T, RecvCtxError> {
        if let Some(e) = ctx.err() {
            return Err(RecvCtxError::Done(e));
        }
        match self.try_recv() {
            Ok(v) => return Ok(v),
            Err(TryRecvError::Closed) => return Err(RecvCtxError::Closed),
            Err(TryRecvError::Empty) => {}
        }
        let done = ctx.done();
        let mut sel = Select::new();
        let recv = sel.recv(self);
        sel.recv(done);
        let op = sel.select();
        if op.index() == recv {
            op.recv(self)
                .map_err(|RecvError::Closed| RecvCtxError::Closed)
        } else {
            let _ = op.recv(done);
            let e = ctx.err().expect("the done channel closes only once done");
            Err(RecvCtxError::Done(e))
        }
    }
}
