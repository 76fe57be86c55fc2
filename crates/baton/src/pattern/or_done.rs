//! [`or_done`]: ranging over a channel until it closes or a context is done.

use crate::chan::Receiver;
use crate::context::Context;

/// An iterator over `rx` that also ends when `ctx` is done (the book's
/// `orDone`, without its goroutine: each `next` is a
/// [`recv_ctx`](Receiver::recv_ctx)). A context that is done ends the
/// iteration at once, even if values are waiting.
///
/// ```
/// use baton::{chan, context, pattern};
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// let (tx, rx) = chan::unbounded();
/// tx.send(1).unwrap();
/// tx.send(2).unwrap();
/// let mut it = pattern::or_done(&ctx, rx);
/// assert_eq!(it.next(), Some(1));
/// cancel.cancel();
/// assert_eq!(it.next(), None); // done, though 2 is still there
/// assert_eq!(it.err(), Some(context::Error::Canceled));
/// ```
pub fn or_done<T>(ctx: &Context, rx: Receiver<T>) -> OrDone<T> {
    OrDone {
        ctx: ctx.clone(),
        rx,
    }
}

/// The iterator of [`or_done`].
#[derive(Debug)]
pub struct OrDone<T> {
    ctx: Context,
    rx: Receiver<T>,
}

impl<T> OrDone<T> {
    /// The context's error if it ended the iteration (or would end it).
    ///
    /// ```
    /// use baton::{chan, context, pattern};
    /// let (_tx, rx) = chan::unbounded::<u8>();
    /// assert_eq!(pattern::or_done(&context::background(), rx).err(), None);
    /// ```
    pub fn err(&self) -> Option<crate::context::Error> {
        self.ctx.err()
    }
}

impl<T> Iterator for OrDone<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv_ctx(&self.ctx).ok()
    }
}
