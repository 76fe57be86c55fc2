//! [`hedge`]: replicated requests; the first answer wins.

use core::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::chan;
use crate::context::{self, Context};
use crate::select;

/// Why [`hedge`] has no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HedgeError<E> {
    /// The caller's context was done first.
    Context(context::Error),
    /// Every attempt failed; the last one's error.
    Failed(E),
    /// Every attempt ended without an answer (they panicked; each panic is
    /// reported as a goroutine's panic is).
    Lost,
}

impl<E: fmt::Display> fmt::Display for HedgeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HedgeError::Context(e) => write!(f, "hedge: {e}"),
            HedgeError::Failed(e) => write!(f, "hedge: every attempt failed, the last with: {e}"),
            HedgeError::Lost => f.write_str("hedge: every attempt ended without an answer"),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for HedgeError<E> {}

/// Calls `f(ctx, attempt)` on a goroutine, and another copy (attempt 1, 2,
/// ...) each time `delay` passes with no answer, or at once when an
/// attempt fails, up to `n` attempts: the first `Ok` is returned and the
/// other attempts' context is cancelled (they should return soon; their
/// answers are dropped). Blocks the caller (parks the goroutine). Hedged
/// requests cut tail latency at the price of extra work.
///
/// # Panics
///
/// If `n` is zero.
///
/// ```
/// use std::time::Duration;
/// use baton::{context, pattern::{self, HedgeError}};
///
/// let ctx = context::background();
/// // The first replica is slow; the second answers at once.
/// let who = pattern::hedge(&ctx, 3, Duration::from_millis(5), |ctx, attempt| {
///     if attempt == 0 {
///         baton::time::sleep_ctx(ctx, Duration::from_secs(60))?; // cancelled
///     }
///     Ok::<_, context::Error>(attempt)
/// });
/// assert_eq!(who, Ok(1));
///
/// let all_fail = pattern::hedge(&ctx, 2, Duration::from_secs(1), |_, a| Err::<(), _>(a));
/// assert_eq!(all_fail, Err(HedgeError::Failed(1)));
/// ```
#[track_caller]
pub fn hedge<T, E, F>(ctx: &Context, n: usize, delay: Duration, f: F) -> Result<T, HedgeError<E>>
where
    T: Send + 'static,
    E: Send + 'static,
    F: Fn(&Context, usize) -> Result<T, E> + Send + Sync + 'static,
{
    assert!(n > 0, "pattern::hedge: n must be at least 1 attempt");
    // Buffered for every attempt: a loser's answer never blocks it.
    let (tx, answers) = chan::bounded(n);
    let (attempts_ctx, cancel) = context::with_cancel(ctx);
    let f = Arc::new(f);
    let mut started = 0;
    let start = |started: &mut usize| {
        let (tx, ctx, f, i) = (tx.clone(), attempts_ctx.clone(), f.clone(), *started);
        drop(crate::go(move || {
            // A panicking attempt counts as a failure without an error,
            // then panics on (the runtime reports it as any goroutine's).
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&ctx, i))) {
                Ok(r) => drop(tx.send(Some(r))),
                Err(p) => {
                    drop(tx.send(None));
                    std::panic::resume_unwind(p)
                }
            }
        }));
        *started += 1;
    };
    start(&mut started);
    let mut failed = 0;
    let mut last_err = None;
    loop {
        enum Step<T, E> {
            Answer(Option<Result<T, E>>),
            Lost,
            Done,
            Late,
        }
        let step = if started < n {
            select! {
                recv(answers) -> r => r.map_or(Step::Lost, Step::Answer),
                recv(ctx.done()) -> _ => Step::Done,
                default(delay) => Step::Late,
            }
        } else {
            select! {
                recv(answers) -> r => r.map_or(Step::Lost, Step::Answer),
                recv(ctx.done()) -> _ => Step::Done,
            }
        };
        match step {
            Step::Answer(Some(Ok(v))) => {
                cancel.cancel();
                return Ok(v);
            }
            Step::Answer(failure) => {
                failed += 1;
                if let Some(Err(e)) = failure {
                    last_err = Some(e);
                }
                if failed == n {
                    break;
                }
                if started < n {
                    start(&mut started);
                }
            }
            Step::Lost => break, // unreachable while we hold `tx`; kept total
            Step::Done => {
                cancel.cancel();
                return Err(HedgeError::Context(
                    ctx.err().unwrap_or(context::Error::Canceled),
                ));
            }
            Step::Late => start(&mut started),
        }
    }
    cancel.cancel();
    Err(last_err.map_or(HedgeError::Lost, HedgeError::Failed))
}
