//! [`fan_in`], [`fan_out`] and [`fan_out_ordered`]: spreading a stage over
//! several goroutines, and merging channels.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::chan::{self, Receiver};
use crate::context::Context;

/// The values of all of `rxs` on one channel, in the order they arrive (Go's
/// `merge`): one forwarding goroutine per input. Closes when every input
/// has closed, or when the context is done.
///
/// ```
/// use baton::{context, pattern};
///
/// let ctx = context::background();
/// let parts = vec![pattern::generate(&ctx, 0..3), pattern::generate(&ctx, 10..13)];
/// let mut all: Vec<_> = pattern::fan_in(&ctx, parts).iter().collect();
/// all.sort();
/// assert_eq!(all, [0, 1, 2, 10, 11, 12]);
/// ```
pub fn fan_in<T: Send + 'static>(ctx: &Context, rxs: Vec<Receiver<T>>) -> Receiver<T> {
    let (tx, out) = chan::rendezvous();
    for rx in rxs {
        let (tx, ctx) = (tx.clone(), ctx.clone());
        drop(crate::go(move || {
            while let Ok(v) = rx.recv_ctx(&ctx) {
                if tx.send_ctx(&ctx, v).is_err() {
                    return;
                }
            }
        }));
    }
    // The last forwarder's `tx` closes `out` (at once with no inputs).
    out
}

/// `f` applied to every value of `rx` by `n` goroutines, results in the
/// order they finish (the book's fan-out, fanned in). Closes when `rx` is
/// exhausted and every result is sent, or when the context is done.
///
/// # Panics
///
/// If `n` is zero.
///
/// ```
/// use baton::{context, pattern};
///
/// let ctx = context::background();
/// let squares = pattern::fan_out(&ctx, pattern::generate(&ctx, 1..=100u64), 4, |v| v * v);
/// assert_eq!(squares.iter().sum::<u64>(), 338_350);
/// ```
#[track_caller]
pub fn fan_out<T, U, F>(ctx: &Context, rx: Receiver<T>, n: usize, f: F) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(T) -> U + Send + Sync + 'static,
{
    assert!(n > 0, "pattern::fan_out: n must be at least 1 goroutine");
    let (tx, out) = chan::rendezvous();
    let f = Arc::new(f);
    for _ in 0..n {
        let (rx, tx, ctx, f) = (rx.clone(), tx.clone(), ctx.clone(), f.clone());
        drop(crate::go(move || {
            while let Ok(v) = rx.recv_ctx(&ctx) {
                if tx.send_ctx(&ctx, f(v)).is_err() {
                    return;
                }
            }
        }));
    }
    out
}

/// How many values [`fan_out_ordered`] lets be in flight (dispatched but
/// not yet delivered) per goroutine: enough that a slow value does not
/// idle the other goroutines at once, small enough that the reorder
/// buffer stays a few entries.
pub const ORDERED_WINDOW_PER_WORKER: usize = 4;

/// As [`fan_out`], with the results in the input's order: a slow value
/// holds back the ones after it, and at most `n ×`
/// [`ORDERED_WINDOW_PER_WORKER`] values are in flight (the reorder buffer
/// is bounded by that window; the dispatcher waits when it is full).
///
/// # Panics
///
/// If `n` is zero.
///
/// ```
/// use baton::{context, pattern};
///
/// let ctx = context::background();
/// let out = pattern::fan_out_ordered(&ctx, pattern::generate(&ctx, 0..50u64), 4, |v| {
///     if v % 7 == 0 { baton::time::sleep(std::time::Duration::from_millis(1)) }
///     v * 10
/// });
/// assert_eq!(out.iter().collect::<Vec<_>>(), (0..50).map(|v| v * 10).collect::<Vec<_>>());
/// ```
#[track_caller]
pub fn fan_out_ordered<T, U, F>(ctx: &Context, rx: Receiver<T>, n: usize, f: F) -> Receiver<U>
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(T) -> U + Send + Sync + 'static,
{
    assert!(
        n > 0,
        "pattern::fan_out_ordered: n must be at least 1 goroutine"
    );
    let window = n.saturating_mul(ORDERED_WINDOW_PER_WORKER);
    let (work_tx, work_rx) = chan::bounded::<(u64, T)>(n);
    let (done_tx, done_rx) = chan::bounded::<(u64, U)>(n);
    // One token per value in flight: the dispatcher sends one before it
    // dispatches, the collector takes one back when it delivers.
    let (slot_tx, slot_rx) = chan::bounded::<()>(window);
    {
        let ctx = ctx.clone();
        drop(crate::go(move || {
            let mut seq = 0u64;
            while let Ok(v) = rx.recv_ctx(&ctx) {
                if slot_tx.send_ctx(&ctx, ()).is_err() || work_tx.send_ctx(&ctx, (seq, v)).is_err()
                {
                    return;
                }
                seq += 1;
            }
        }));
    }
    let f = Arc::new(f);
    for _ in 0..n {
        let (work_rx, done_tx, ctx, f) = (work_rx.clone(), done_tx.clone(), ctx.clone(), f.clone());
        drop(crate::go(move || {
            while let Ok((seq, v)) = work_rx.recv_ctx(&ctx) {
                if done_tx.send_ctx(&ctx, (seq, f(v))).is_err() {
                    return;
                }
            }
        }));
    }
    drop((work_rx, done_tx));
    let (tx, out) = chan::rendezvous();
    let ctx = ctx.clone();
    drop(crate::go(move || {
        let mut next = 0u64;
        let mut pending = BTreeMap::new();
        while let Ok((seq, u)) = done_rx.recv_ctx(&ctx) {
            pending.insert(seq, u);
            debug_assert!(pending.len() <= window, "reorder buffer over its window");
            while let Some(u) = pending.remove(&next) {
                if tx.send_ctx(&ctx, u).is_err() {
                    return;
                }
                next += 1;
                // The dispatcher sent this value's token before it.
                let took = slot_rx.try_recv();
                debug_assert!(took.is_ok(), "a delivered value had no window token");
            }
        }
    }));
    out
}
