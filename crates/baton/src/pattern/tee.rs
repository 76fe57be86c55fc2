//! [`tee`]: one channel's values, delivered to two.

use crate::chan::{self, Receiver};
use crate::context::Context;
use crate::select;

/// Two channels that each receive every value of `rx`: a value is
/// delivered to both (in whichever order their receivers are ready)
/// before the next is read, so the slower reader sets the pace. A reader
/// that drops its receiver stops getting values; the other keeps getting
/// them. Both close when `rx` closes or the context is done.
///
/// ```
/// use baton::{context, pattern};
///
/// let ctx = context::background();
/// let (a, b) = pattern::tee(&ctx, pattern::generate(&ctx, 1..=3));
/// let other = baton::go(move || b.iter().collect::<Vec<_>>());
/// assert_eq!(a.iter().collect::<Vec<_>>(), [1, 2, 3]);
/// assert_eq!(other.join().unwrap(), [1, 2, 3]);
/// ```
pub fn tee<T>(ctx: &Context, rx: Receiver<T>) -> (Receiver<T>, Receiver<T>)
where
    T: Clone + Send + 'static,
{
    let (tx1, out1) = chan::rendezvous();
    let (tx2, out2) = chan::rendezvous();
    let ctx = ctx.clone();
    drop(crate::go(move || {
        // A side whose receiver is gone is skipped from then on.
        let (mut live1, mut live2) = (true, true);
        while let Ok(v) = rx.recv_ctx(&ctx) {
            let (mut a, mut b) = (live1.then_some(&tx1), live2.then_some(&tx2));
            if a.is_none() && b.is_none() {
                return;
            }
            while a.is_some() || b.is_some() {
                select! {
                    send(a, v.clone()) -> r => { live1 &= r.is_ok(); a = None }
                    send(b, v.clone()) -> r => { live2 &= r.is_ok(); b = None }
                    recv(ctx.done()) -> _ => return,
                }
            }
        }
    }));
    (out1, out2)
}
