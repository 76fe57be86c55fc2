//! [`batch`]: values grouped into vectors by size or by time.

use std::time::{Duration, Instant};

use crate::chan::{self, Receiver};
use crate::context::Context;
use crate::select;

/// Groups the values of `rx` into vectors of `size`, sending a shorter one
/// when `max_wait` has passed since its first value arrived, and a last
/// partial one when `rx` closes. When the context is done the stage stops
/// and drops the batch it was filling.
///
/// # Panics
///
/// If `size` is zero.
///
/// ```
/// use std::time::Duration;
/// use baton::{context, pattern};
///
/// let ctx = context::background();
/// let batches = pattern::batch(&ctx, pattern::generate(&ctx, 1..=7), 3, Duration::from_secs(1));
/// assert_eq!(batches.iter().collect::<Vec<_>>(), [vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
/// ```
#[track_caller]
pub fn batch<T: Send + 'static>(
    ctx: &Context,
    rx: Receiver<T>,
    size: usize,
    max_wait: Duration,
) -> Receiver<Vec<T>> {
    assert!(size > 0, "pattern::batch: size must be at least 1");
    let (tx, out) = chan::rendezvous();
    let ctx = ctx.clone();
    drop(crate::go(move || {
        let mut cur: Vec<T> = Vec::with_capacity(size);
        let mut due: Option<Instant> = None;
        loop {
            let ready = match due {
                None => match rx.recv_ctx(&ctx) {
                    Ok(v) => Some(Ok(v)),
                    Err(chan::RecvCtxError::Closed) => Some(Err(())),
                    Err(chan::RecvCtxError::Done(_)) => return,
                },
                Some(t) => {
                    let left = t.saturating_duration_since(Instant::now());
                    select! {
                        recv(rx) -> r => Some(r.map_err(|_| ())),
                        recv(ctx.done()) -> _ => return,
                        default(left) => None,
                    }
                }
            };
            let closed = match ready {
                Some(Ok(v)) => {
                    if cur.is_empty() {
                        due = Instant::now().checked_add(max_wait);
                    }
                    cur.push(v);
                    if cur.len() < size {
                        continue;
                    }
                    false
                }
                Some(Err(())) => true,
                None => false, // time is up
            };
            if !cur.is_empty() {
                let full = core::mem::replace(&mut cur, Vec::with_capacity(size));
                if tx.send_ctx(&ctx, full).is_err() {
                    return;
                }
            }
            due = None;
            if closed {
                return;
            }
        }
    }));
    out
}
