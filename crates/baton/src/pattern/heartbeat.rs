//! [`heartbeat`] and [`steward`]: a worker that says it is alive, and a
//! supervisor that restarts it when it stops saying so (the book's
//! "healing unhealthy goroutines").

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::chan::{self, Receiver, Sender};
use crate::context::{self, Context};
use crate::runtime::JoinHandle;
use crate::select;

/// When a [`heartbeat`] worker pulses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Beat {
    /// At this interval, while it waits to hand over a result and between
    /// units of work (the book's `pulseInterval`). A unit of work that
    /// takes longer than the interval pulses once after it.
    Every(Duration),
    /// Once before each unit of work (the book's heartbeat per unit).
    PerUnit,
}

/// Runs `work` over and over on a goroutine, sending each `Some` result on
/// the second channel, until it returns `None` or the context is done; the
/// first channel gets its pulses as `beat` says. A pulse is dropped if the
/// previous one has not been received (the channel holds one), so nobody
/// has to listen. Both channels close when the worker ends.
///
/// `work` gets the context to check in long units of work. A worker stuck
/// in one stops pulsing: that is what a [`steward`] watches for.
///
/// ```
/// use std::time::Duration;
/// use baton::{context, pattern::{self, Beat}};
///
/// let ctx = context::background();
/// let mut n = 0;
/// let (pulses, results) = pattern::heartbeat(&ctx, Beat::PerUnit, move |_ctx| {
///     n += 1;
///     (n <= 3).then_some(n)
/// });
/// assert_eq!(pulses.recv(), Ok(())); // the first unit has started
/// assert_eq!(results.iter().collect::<Vec<_>>(), [1, 2, 3]);
/// ```
pub fn heartbeat<U, F>(ctx: &Context, beat: Beat, mut work: F) -> (Receiver<()>, Receiver<U>)
where
    U: Send + 'static,
    F: FnMut(&Context) -> Option<U> + Send + 'static,
{
    let (pulse_tx, pulses) = chan::bounded(1);
    let (tx, results) = chan::rendezvous();
    let ctx = ctx.clone();
    drop(crate::go(move || {
        let every = match beat {
            Beat::Every(d) => Some(d),
            Beat::PerUnit => None,
        };
        let mut next = every.and_then(|d| Instant::now().checked_add(d));
        while !ctx.is_done() {
            if beat == Beat::PerUnit {
                pulse(&pulse_tx);
            }
            let Some(u) = work(&ctx) else { return };
            if let (Some(t), Some(d)) = (next, every) {
                if Instant::now() >= t {
                    pulse(&pulse_tx);
                    next = Instant::now().checked_add(d);
                }
            }
            let mut u = Some(u);
            while u.is_some() {
                match (next, every) {
                    (Some(t), Some(d)) => {
                        let left = t.saturating_duration_since(Instant::now());
                        select! {
                            send(tx, u.take().expect("a result to send")) -> r => {
                                if r.is_err() { return }
                            },
                            recv(ctx.done()) -> _ => return,
                            default(left) => {
                                pulse(&pulse_tx);
                                next = Instant::now().checked_add(d);
                            },
                        }
                    }
                    _ => {
                        let v = u.take().expect("a result to send");
                        if tx.send_ctx(&ctx, v).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }));
    (pulses, results)
}

/// A pulse if there is room for one (nobody has to listen).
fn pulse(tx: &Sender<()>) {
    let _ = tx.try_send(());
}

/// A supervisor started by [`steward`].
#[derive(Debug)]
pub struct Steward {
    restarts: Arc<AtomicU64>,
    handle: JoinHandle<()>,
}

impl Steward {
    /// How many times the ward was restarted because its heartbeat stopped.
    ///
    /// ```
    /// use std::time::Duration;
    /// use baton::{context, pattern::{self, Beat}};
    ///
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// let s = pattern::steward(&ctx, Duration::from_secs(1), |ctx, pulse| {
    ///     pattern::heartbeat(ctx, Beat::Every(pulse), |ctx| {
    ///         baton::time::sleep_ctx(ctx, Duration::from_millis(1)).ok().map(|_| ())
    ///     }).0
    /// });
    /// assert_eq!(s.restarts(), 0);
    /// cancel.cancel();
    /// s.join();
    /// ```
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Relaxed)
    }

    /// Waits until the steward has stopped: its context is done, or its
    /// ward's heartbeat channel closed (the ward finished).
    ///
    /// ```
    /// use std::time::Duration;
    /// use baton::{chan, context, pattern};
    ///
    /// let ctx = context::background();
    /// // A ward that finishes at once: its heartbeat channel closes.
    /// let s = pattern::steward(&ctx, Duration::from_secs(1), |_, _| chan::bounded::<()>(0).1);
    /// s.join();
    /// ```
    pub fn join(self) {
        // The steward's goroutine does not panic; a panic in `start` is
        // resumed here.
        if let Err(p) = self.handle.join() {
            std::panic::resume_unwind(p.into_payload());
        }
    }
}

/// Starts a ward with `start(ctx, pulse_interval)`, which returns its
/// heartbeat channel, and restarts it whenever no pulse comes for
/// `timeout`: the stuck ward's context is cancelled and `start` is called
/// again with a fresh one (the book's `newSteward`). The pulse interval
/// handed to `start` is half of `timeout`. The steward stops, cancelling
/// its ward, when `ctx` is done, and stops without a restart when the
/// heartbeat channel closes.
///
/// A ward that ignores its context cannot be stopped: the steward starts a
/// new one anyway, and the old one runs on (a leak the leak check shows).
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
/// use baton::{context, pattern::{self, Beat}};
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// let starts = Arc::new(AtomicU32::new(0));
/// let s = {
///     let starts = starts.clone();
///     pattern::steward(&ctx, Duration::from_millis(20), move |ctx, pulse| {
///         let first = starts.fetch_add(1, Ordering::Relaxed) == 0;
///         pattern::heartbeat(ctx, Beat::Every(pulse), move |ctx| {
///             // The first ward hangs (until cancelled); the next one is healthy.
///             let d = if first { Duration::from_secs(3600) } else { Duration::from_millis(1) };
///             baton::time::sleep_ctx(ctx, d).ok().map(|_| ())
///         }).0
///     })
/// };
/// while s.restarts() == 0 {
///     baton::time::sleep(Duration::from_millis(5));
/// }
/// cancel.cancel();
/// s.join();
/// assert!(starts.load(Ordering::Relaxed) >= 2);
/// ```
pub fn steward<F>(ctx: &Context, timeout: Duration, mut start: F) -> Steward
where
    F: FnMut(&Context, Duration) -> Receiver<()> + Send + 'static,
{
    let restarts = Arc::new(AtomicU64::new(0));
    let ctx = ctx.clone();
    let count = restarts.clone();
    let handle = crate::go(move || loop {
        let (ward_ctx, cancel) = context::with_cancel(&ctx);
        let beats = start(&ward_ctx, timeout / 2);
        loop {
            select! {
                recv(beats) -> r => if r.is_err() { return },
                recv(ctx.done()) -> _ => return,
                default(timeout) => break,
            }
        }
        cancel.cancel();
        count.fetch_add(1, Relaxed);
    });
    Steward { restarts, handle }
}
