//! Signals as cancellation: [`notify_context`] (Go's `signal.NotifyContext`)
//! and [`shutdown_context`] (the process's graceful shutdown).

use core::fmt;
use std::sync::OnceLock;

use super::hub::{self, SignalSet, SubId, Target};
use super::names::{Signal, SIGINT, SIGTERM};
use crate::context::{self, CancelCauseFunc, Cause, Context};
use crate::shim::atomic::{AtomicU64, Ordering::*};
use crate::shim::Arc;

/// The [cause](context::cause) of a context that a signal cancelled.
///
/// ```no_run
/// use baton::{context, signal};
///
/// let ctx = signal::shutdown_context();
/// ctx.done().recv().ok(); // until Ctrl-C
/// let why = context::cause(&ctx).unwrap();
/// let received = why.downcast_ref::<signal::Received>().unwrap();
/// println!("shutting down: {received}"); // "shutting down: interrupt signal received"
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received(pub Signal);

impl Received {
    /// The signal that arrived.
    ///
    /// ```
    /// use baton::signal::{Received, SIGTERM};
    /// assert_eq!(Received(SIGTERM).signal(), SIGTERM);
    /// assert_eq!(Received(SIGTERM).to_string(), "terminated signal received");
    /// ```
    pub fn signal(self) -> Signal {
        self.0
    }
}

impl fmt::Display for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} signal received", self.0)
    }
}

impl std::error::Error for Received {}

/// A cancel callback for the hub: cancels with [`Received`] as the cause.
fn canceller(cancel: CancelCauseFunc) -> Target {
    Target::Call(Arc::new(move |s: Signal| {
        cancel.cancel(Arc::new(Received(s)));
    }))
}

/// A copy of `parent` that is cancelled when one of `signals` arrives (an
/// empty list: any [`Signal`]), with [`Received`] as its
/// [cause](context::cause); Go's `signal.NotifyContext`.
///
/// The signals stay caught until the [`StopFunc`] is stopped or dropped,
/// also after the first one: call [`stop`](StopFunc::stop) once the context
/// is done, so that a second Ctrl-C ends the program the default way.
/// Stopping also cancels the context (with [`context::Error::Canceled`]),
/// and each signal no other subscription wants goes back to what it did
/// before.
///
/// # Panics
///
/// As [`notify`](super::notify), if the operating system refuses what the
/// first subscription needs.
///
/// ```
/// use baton::signal::{self, SIGUSR1};
/// use baton::{context, select};
///
/// let (ctx, stop) = signal::notify_context(&context::background(), &[SIGUSR1]);
/// signal::raise(SIGUSR1).unwrap();
/// select! {
///     recv(ctx.done()) -> _ => {}
/// }
/// let why = context::cause(&ctx).unwrap();
/// assert_eq!(why.downcast_ref(), Some(&signal::Received(SIGUSR1)));
/// stop.stop(); // a later SIGUSR1 ends the process again (its default)
/// ```
pub fn notify_context(parent: &Context, signals: &[Signal]) -> (Context, StopFunc) {
    let (ctx, cancel) = context::with_cancel_cause(parent);
    let set = SignalSet::of(signals);
    match hub::subscribe(set, canceller(cancel.clone())) {
        Ok(SubId(id)) => (
            ctx,
            StopFunc {
                id: AtomicU64::new(id),
                cancel,
            },
        ),
        Err(e) => panic!("baton::signal::notify_context: cannot set up signal delivery: {e}"),
    }
}

/// Stops what [`notify_context`] started: the signals are no longer caught
/// for it, and its context is cancelled. Dropping it does the same (so
/// `let (ctx, _stop) = ...` keeps it until the end of the scope, while
/// `let (ctx, _) = ...` would stop at once).
///
/// ```
/// use baton::{context, signal};
///
/// let (ctx, stop) = signal::notify_context(&context::background(), &[signal::SIGTERM]);
/// {
///     let _stop = stop; // caught while `_stop` lives
///     assert!(!ctx.is_done());
/// }
/// assert!(ctx.is_done()); // dropped: stopped, and the context cancelled
/// ```
#[must_use = "dropping a StopFunc stops the signal delivery and cancels the context at once"]
pub struct StopFunc {
    /// The hub subscription's id; 0 once stopped.
    id: AtomicU64,
    cancel: CancelCauseFunc,
}

impl StopFunc {
    /// Stops catching the signals for this context and cancels it; later
    /// calls do nothing.
    ///
    /// ```
    /// use baton::{context, signal};
    ///
    /// let (ctx, stop) = signal::notify_context(&context::background(), &[signal::SIGHUP]);
    /// assert!(!ctx.is_done());
    /// stop.stop();
    /// stop.stop(); // no effect
    /// assert_eq!(ctx.err(), Some(context::Error::Canceled));
    /// ```
    pub fn stop(&self) {
        // AcqRel: one caller wins the id; the rest see 0.
        let id = self.id.swap(0, AcqRel);
        if id != 0 {
            hub::unsubscribe(SubId(id));
        }
        let canceled: Cause = Arc::new(context::Error::Canceled);
        self.cancel.cancel(canceled);
    }
}

impl Drop for StopFunc {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for StopFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopFunc")
            .field("stopped", &(self.id.load(Relaxed) == 0))
            .finish_non_exhaustive()
    }
}

/// The process's shutdown context: the first `SIGINT` (Ctrl-C) or
/// `SIGTERM` cancels it, with [`Received`] as its
/// [cause](context::cause); a second one ends the process at once with
/// status 128 + the signal's number (130 for `SIGINT`, 143 for `SIGTERM`),
/// printing one line on standard error, without running destructors.
///
/// Every call returns the same context (made, and the signals caught, on
/// the first call, for the rest of the process's life). Derive what a
/// request or a worker needs from it; hand it to an
/// [`errgroup`](crate::errgroup) so the whole server drains on Ctrl-C.
///
/// # Panics
///
/// As [`notify`](super::notify), on the first call, if the operating system
/// refuses what the signal delivery needs.
///
/// ```no_run
/// use baton::{chan, errgroup::Group, signal};
///
/// let (g, ctx) = Group::with_context(&signal::shutdown_context());
/// let (jobs, queue) = chan::bounded::<u64>(64); // `jobs` goes to whatever accepts work
/// for _ in 0..4 {
///     let (ctx, queue) = (ctx.clone(), queue.clone());
///     g.go(move || {
///         while let Ok(job) = queue.recv_ctx(&ctx) {
///             println!("job {job}"); // one job at a time, each finished
///         }
///         Ok(())
///     });
/// }
/// g.wait().unwrap(); // after Ctrl-C: every worker has finished its job
/// drop(jobs);
/// ```
pub fn shutdown_context() -> Context {
    static SHUTDOWN: OnceLock<(Context, CancelCauseFunc)> = OnceLock::new();
    let (ctx, _) = SHUTDOWN.get_or_init(|| {
        let (ctx, cancel) = context::with_cancel_cause(&context::background());
        let set = SignalSet::of(&[SIGINT, SIGTERM]);
        // Never unsubscribed: the process's shutdown is for its whole life.
        if let Err(e) = hub::subscribe(set, canceller(cancel.clone())) {
            panic!("baton::signal::shutdown_context: cannot set up signal delivery: {e}");
        }
        hub::arm_shutdown();
        (ctx, cancel)
    });
    ctx.clone()
}
