//! [`after_func`]: run a function once a context is done (Go's
//! `context.AfterFunc`).
//!
//! The function is registered as a hook on the context's cancellation
//! node; the cancel that wins takes it and starts it in a new goroutine.
//! [`AfterFunc::stop`] withdraws the registration: it either finds the
//! hook (and then the function will never start) or does not (the cancel
//! took it, or an earlier `stop` did), so exactly one of "started" and
//! "stopped" happens, decided under the node's lock.

use core::fmt;

use crate::shim::atomic::{AtomicBool, Ordering};
use crate::shim::Arc;

use super::tree::{Hook, Node, Token};
use super::Context;

/// Arranges for `f` to run in a new goroutine once `ctx` is done (at once,
/// if it is done already); never, for a context that cannot be done (Go's
/// `context.AfterFunc`). The returned [`AfterFunc`] can stop it; dropping
/// it does not.
///
/// ```
/// use baton::{chan, context};
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// let (tx, rx) = chan::bounded(1);
/// let _after = context::after_func(&ctx, move || tx.send("cleaned up").unwrap());
/// cancel.cancel();
/// assert_eq!(rx.recv(), Ok("cleaned up"));
/// ```
pub fn after_func(ctx: &Context, f: impl FnOnce() + Send + 'static) -> AfterFunc {
    let Some(node) = ctx.node() else {
        return AfterFunc {
            reg: None,
            stopped: AtomicBool::new(false),
        };
    };
    let hook = Hook::Run(Box::new(move || drop(crate::go(f))));
    match node.register(hook) {
        Ok(token) => AfterFunc {
            reg: Some((Arc::clone(node), token)),
            stopped: AtomicBool::new(false),
        },
        Err(hook) => {
            // Done already: start it now, and `stop` has nothing to stop.
            if let Hook::Run(start) = hook {
                start();
            }
            AfterFunc {
                reg: None,
                stopped: AtomicBool::new(true),
            }
        }
    }
}

/// The registration made by [`after_func`].
pub struct AfterFunc {
    /// The node and token, while the function may still be started.
    reg: Option<(Arc<Node>, Token)>,
    /// Set by the first `stop` (and when the function was started at once).
    stopped: AtomicBool,
}

impl AfterFunc {
    /// Stops the function from being started. Returns `true` if this call
    /// stopped it; `false` if it had been started already (the context is
    /// done) or stopped by an earlier call (Go's `stop()`).
    ///
    /// ```
    /// use baton::context;
    ///
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// let after = context::after_func(&ctx, || panic!("never runs"));
    /// assert!(after.stop());
    /// assert!(!after.stop());
    /// cancel.cancel();
    /// ```
    pub fn stop(&self) -> bool {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return false;
        }
        match &self.reg {
            // Withdrawn before a cancel took it: it will never start.
            Some((node, token)) => node.withdraw(*token).is_some(),
            // A context that cannot be done: the function would never have
            // started, and now it is certain.
            None => true,
        }
    }
}

impl fmt::Debug for AfterFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AfterFunc")
            .field("stopped", &self.stopped.load(Ordering::Relaxed))
            .finish()
    }
}
