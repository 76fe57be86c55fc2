//! [`stage`] and [`filter`]: the book's pipeline stage, one goroutine
//! applying a function to every value.

use crate::chan::{self, Receiver};
use crate::context::Context;

/// `f` applied to every value of `rx`, in order, on one goroutine (the
/// book's pipeline stage; [`fan_out`](super::fan_out) runs it on several).
/// Closes when `rx` closes or the context is done.
///
/// ```
/// use baton::{context, pattern};
///
/// let ctx = context::background();
/// let doubled = pattern::stage(&ctx, pattern::generate(&ctx, 1..=3), |v| v * 2);
/// assert_eq!(doubled.iter().collect::<Vec<_>>(), [2, 4, 6]);
/// ```
pub fn stage<T, U, F>(ctx: &Context, rx: Receiver<T>, mut f: F) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    F: FnMut(T) -> U + Send + 'static,
{
    let (tx, out) = chan::rendezvous();
    let ctx = ctx.clone();
    drop(crate::go(move || {
        while let Ok(v) = rx.recv_ctx(&ctx) {
            if tx.send_ctx(&ctx, f(v)).is_err() {
                return;
            }
        }
    }));
    out
}

/// The values of `rx` for which `keep` is true, in order, on one goroutine;
/// the others are dropped. Closes when `rx` closes or the context is done.
///
/// ```
/// use baton::{context, pattern};
///
/// let ctx = context::background();
/// let odd = pattern::filter(&ctx, pattern::generate(&ctx, 1..=6), |v| v % 2 == 1);
/// assert_eq!(odd.iter().collect::<Vec<_>>(), [1, 3, 5]);
/// ```
pub fn filter<T, F>(ctx: &Context, rx: Receiver<T>, mut keep: F) -> Receiver<T>
where
    T: Send + 'static,
    F: FnMut(&T) -> bool + Send + 'static,
{
    let (tx, out) = chan::rendezvous();
    let ctx = ctx.clone();
    drop(crate::go(move || {
        while let Ok(v) = rx.recv_ctx(&ctx) {
            if keep(&v) && tx.send_ctx(&ctx, v).is_err() {
                return;
            }
        }
    }));
    out
}
