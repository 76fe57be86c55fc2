//! [`sleep_ctx`]: a sleep that a context can cut short.
//!
//! The caller registers itself as a waiter on the context (see
//! `context/wait.rs`: the cancel unparks it, and the registration is
//! withdrawn when the sleep ends) and parks with the wake-up time as its
//! deadline: in a goroutine that is the worker's timer heap, in a thread a
//! futex sleep. No channel is made and no goroutine or timer thread is
//! involved.

use std::time::{Duration, Instant};

use crate::context::{self, wait::Waiter, Context};
use crate::park;

/// Sleeps for `d`, or until `ctx` is done, whichever comes first:
/// `Ok(())` after the full sleep, else the context's error (at once if it
/// is done already). Parks the goroutine (or thread), as [`sleep`](super::sleep).
///
/// ```
/// use std::time::Duration;
/// use baton::{context, time};
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// assert_eq!(time::sleep_ctx(&ctx, Duration::from_millis(1)), Ok(()));
/// let sleeper = {
///     let ctx = ctx.clone();
///     baton::go(move || time::sleep_ctx(&ctx, Duration::from_secs(3600)))
/// };
/// cancel.cancel();
/// assert_eq!(sleeper.join().unwrap(), Err(context::Error::Canceled));
/// ```
pub fn sleep_ctx(ctx: &Context, d: Duration) -> Result<(), context::Error> {
    if let Some(e) = ctx.err() {
        return Err(e);
    }
    let deadline = Instant::now().checked_add(d);
    let _waiter = Waiter::new(ctx, park::current())?;
    let _reason = park::wait_reason(park::WaitReason::Sleep);
    loop {
        if let Some(e) = ctx.err() {
            return Err(e);
        }
        match deadline {
            Some(t) if Instant::now() >= t => return Ok(()),
            Some(t) => {
                park::park_deadline(t);
            }
            None => park::park(),
        }
    }
}
