//! [`bridge`]: a channel of channels, read as one channel.

use crate::chan::{self, Receiver};
use crate::context::Context;

/// The values of each channel that `rxs` yields, in turn: all of the
/// first (until it closes), then all of the second, and so on. Closes when
/// `rxs` closes after its last channel, or when the context is done.
///
/// ```
/// use baton::{chan, context, pattern};
///
/// let ctx = context::background();
/// let (tx, rxs) = chan::unbounded();
/// for i in 0..3 {
///     let (t, r) = chan::bounded(1);
///     t.send(i).unwrap();
///     tx.send(r).unwrap(); // `t` is dropped: that channel closes after i
/// }
/// drop(tx);
/// assert_eq!(pattern::bridge(&ctx, rxs).iter().collect::<Vec<_>>(), [0, 1, 2]);
/// ```
pub fn bridge<T: Send + 'static>(ctx: &Context, rxs: Receiver<Receiver<T>>) -> Receiver<T> {
    let (tx, out) = chan::rendezvous();
    let ctx = ctx.clone();
    drop(crate::go(move || {
        while let Ok(rx) = rxs.recv_ctx(&ctx) {
            while let Ok(v) = rx.recv_ctx(&ctx) {
                if tx.send_ctx(&ctx, v).is_err() {
                    return;
                }
            }
        }
    }));
    out
}
