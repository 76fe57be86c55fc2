//! Sources and `take`: [`generate`], [`repeat`], [`repeat_fn`], [`take`],
//! and [`buffer`].

use crate::chan::{self, Receiver};
use crate::context::Context;

/// Sends every item of `iter` on the returned channel, in order, from a
/// goroutine; the channel closes when the items run out, the context is
/// done, or the receiver is dropped (the rest of the items are dropped
/// unsent). The book's generator.
///
/// ```
/// use baton::{context, pattern};
///
/// let ctx = context::background();
/// let squares: Vec<u64> = pattern::generate(&ctx, 1..=4u64).iter().map(|v| v * v).collect();
/// assert_eq!(squares, [1, 4, 9, 16]);
/// ```
pub fn generate<I>(ctx: &Context, iter: I) -> Receiver<I::Item>
where
    I: IntoIterator + Send + 'static,
    I::Item: Send + 'static,
{
    let (tx, rx) = chan::rendezvous();
    let ctx = ctx.clone();
    drop(crate::go(move || {
        for v in iter {
            if tx.send_ctx(&ctx, v).is_err() {
                return;
            }
        }
    }));
    rx
}

/// Sends `values` over and over (clones of them) until the context is done
/// or the receiver is dropped; an empty `values` closes the channel at once.
///
/// ```
/// use baton::{context, pattern};
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// let first: Vec<_> = pattern::take(&ctx, pattern::repeat(&ctx, vec!['a', 'b']), 5).iter().collect();
/// assert_eq!(first, ['a', 'b', 'a', 'b', 'a']);
/// cancel.cancel(); // stops the repeater
/// ```
pub fn repeat<T>(ctx: &Context, values: Vec<T>) -> Receiver<T>
where
    T: Clone + Send + 'static,
{
    generate(ctx, RepeatIter(values, 0))
}

/// `values` in a cycle (an empty one ends at once).
struct RepeatIter<T>(Vec<T>, usize);

impl<T: Clone> Iterator for RepeatIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        let v = self.0.get(self.1)?.clone();
        self.1 = (self.1 + 1) % self.0.len();
        Some(v)
    }
}

/// Sends `f()` over and over until the context is done or the receiver is
/// dropped; `f` runs on the stage's goroutine, one call per value sent.
///
/// ```
/// use baton::{context, pattern};
///
/// let ctx = context::background();
/// let mut n = 0;
/// let evens = pattern::repeat_fn(&ctx, move || { n += 2; n });
/// assert_eq!(pattern::take(&ctx, evens, 3).iter().collect::<Vec<_>>(), [2, 4, 6]);
/// ```
pub fn repeat_fn<T, F>(ctx: &Context, f: F) -> Receiver<T>
where
    T: Send + 'static,
    F: FnMut() -> T + Send + 'static,
{
    generate(ctx, core::iter::repeat_with(f))
}

/// The first `n` values of `rx`, then closes (and drops `rx`, which closes
/// it for its senders when this was its last receiver).
///
/// ```
/// use baton::{context, pattern};
///
/// let ctx = context::background();
/// let rx = pattern::take(&ctx, pattern::generate(&ctx, 0..), 3);
/// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
/// ```
pub fn take<T: Send + 'static>(ctx: &Context, rx: Receiver<T>, n: usize) -> Receiver<T> {
    let (tx, out) = chan::rendezvous();
    let ctx = ctx.clone();
    drop(crate::go(move || {
        for _ in 0..n {
            let Ok(v) = rx.recv_ctx(&ctx) else { return };
            if tx.send_ctx(&ctx, v).is_err() {
                return;
            }
        }
    }));
    out
}

/// Forwards `rx` through a channel of capacity `cap`, so that its producer
/// can run up to `cap` values ahead of the consumer (stages' own outputs
/// are unbuffered, as in the book).
///
/// ```
/// use baton::{context, pattern};
///
/// let ctx = context::background();
/// let rx = pattern::buffer(&ctx, pattern::generate(&ctx, 0..100), 16);
/// assert_eq!(rx.iter().sum::<i32>(), 4950);
/// ```
pub fn buffer<T: Send + 'static>(ctx: &Context, rx: Receiver<T>, cap: usize) -> Receiver<T> {
    let (tx, out) = chan::bounded(cap);
    let ctx = ctx.clone();
    drop(crate::go(move || {
        while let Ok(v) = rx.recv_ctx(&ctx) {
            if tx.send_ctx(&ctx, v).is_err() {
                return;
            }
        }
    }));
    out
}
