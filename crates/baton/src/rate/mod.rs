//! Go's `golang.org/x/time/rate`: a token-bucket rate limiter whose
//! `allow` is lock-free.
//!
//! A [`Limiter`] lets `limit` events a second through on average, and
//! bursts of up to `burst` at once. Three ways to use it, as in Go:
//!
//! - [`allow`](Limiter::allow): drop or refuse the event when over the
//!   limit (a server answering 429). Never blocks.
//! - [`wait`](Limiter::wait): slow down to the limit. Parks the goroutine
//!   (or thread) until the token comes, or the context is done (a crawler,
//!   a client of a rate-limited API).
//! - [`reserve`](Limiter::reserve): take the tokens now and learn how long
//!   to wait, to schedule the event yourself or [`cancel`](Reservation::cancel).
//!
//! ```
//! use baton::{context, rate::{Limit, Limiter}};
//! use std::time::Duration;
//!
//! let lim = Limiter::new(Limit::every(Duration::from_millis(1)), 2);
//! let ctx = context::background();
//! let mut sent = 0;
//! for _ in 0..5 {
//!     lim.wait(&ctx).unwrap(); // the first two at once, then 1 ms apart
//!     sent += 1;
//! }
//! assert_eq!(sent, 5);
//! ```
//!
//! [`KeyedLimiter`] keeps one bucket per key (per client, per IP) with
//! the same limit and burst, and forgets keys whose bucket has refilled,
//! so its memory follows the active keys.
//!
//! ## How it differs from Go
//!
//! The state is not `(tokens, last)` under a mutex but one time, GCRA's
//! "theoretical arrival time", packed with a configuration generation into
//! one atomic word (see `bucket.rs` for the algorithm, the word's layout
//! and the orderings): an uncontended `allow` is one load and one
//! compare-and-swap, and a refused one is one load. The observable
//! behaviour is Go's, tested by Go's own table tests
//! (`tests/go_x_time_rate.rs`), with these differences:
//!
//! - **A `now` earlier than an earlier call's** is taken as is: the bucket
//!   at that time is computed from the same schedule, so a clock that
//!   jumps back (or a thread whose `Instant::now()` lost a race with
//!   another's) never lends tokens. Go instead re-bases its bucket at the
//!   earlier time, which lends the tokens of the gap. The three Go tests
//!   of jumps back are ported with this rule's values.
//! - **Cancelling** restores the tokens less those reserved after the
//!   reservation, as Go; "after" is judged from the bucket's time (Go
//!   keeps a separate `lastEvent`), which differs only after a
//!   `set_limit` between the reservation and the cancel.
//! - **A zero limit** counts the tokens used against the burst without
//!   lowering [`burst`](Limiter::burst) (Go lowers it).
//! - `Reservation::cancel` consumes the reservation: cancelling twice (which
//!   Go allows, restoring twice) cannot be written.
//!
//! ## Invariants
//!
//! - The tokens never exceed the burst, and a token is never handed out
//!   twice: every successful `allow`/`reserve` moves the word by exactly
//!   its tokens' worth with one CAS.
//! - `wait` never spins: it reserves, then parks in
//!   [`time::sleep_ctx`](crate::time::sleep_ctx) until the time to act or
//!   the context's end; on the context's end it gives the tokens back.

#[cfg_attr(loom, allow(dead_code))] // under loom only the models use it
mod bucket;
#[cfg(not(loom))]
mod keyed;
#[cfg(not(loom))]
mod limiter;
#[cfg(all(test, loom))]
mod loom_tests;

#[cfg(not(loom))]
use core::fmt;
use std::time::Duration;

#[cfg(not(loom))]
pub use keyed::{KeyedLimiter, MIN_SWEEP_INTERVAL};
#[cfg(not(loom))]
pub use limiter::{Limiter, Reservation};

/// A rate: events per second (Go's `rate.Limit`).
///
/// ```
/// use std::time::Duration;
/// use baton::rate::Limit;
///
/// assert_eq!(Limit::every(Duration::from_millis(100)), Limit::per_second(10.0));
/// assert!(Limit::every(Duration::ZERO).is_inf());
/// assert_eq!(Limit::per_second(2.5).as_f64(), 2.5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Limit(f64);

impl Limit {
    /// No limit: every event is allowed, whatever the burst (Go's `Inf`).
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    /// let lim = Limiter::new(Limit::INF, 0);
    /// assert!(lim.allow());
    /// ```
    pub const INF: Limit = Limit(f64::MAX);

    /// No refill: a limiter allows its burst, then nothing.
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    /// let lim = Limiter::new(Limit::ZERO, 1);
    /// assert!(lim.allow() && !lim.allow());
    /// ```
    pub const ZERO: Limit = Limit(0.0);

    /// `events` a second.
    ///
    /// # Panics
    ///
    /// If `events` is negative or NaN (`f64::INFINITY` is [`Limit::INF`]).
    ///
    /// ```
    /// use baton::rate::Limit;
    /// assert_eq!(Limit::per_second(100.0).as_f64(), 100.0);
    /// assert!(Limit::per_second(f64::INFINITY).is_inf());
    /// ```
    #[track_caller]
    pub fn per_second(events: f64) -> Limit {
        assert!(
            events >= 0.0,
            "rate::Limit::per_second: the rate must be zero or more events a second, got {events}"
        );
        Limit::from_f64(events)
    }

    /// One event every `interval`; [`Limit::INF`] for a zero interval (Go's
    /// `Every`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use baton::rate::Limit;
    /// assert_eq!(Limit::every(Duration::from_secs(2)).as_f64(), 0.5);
    /// ```
    pub fn every(interval: Duration) -> Limit {
        if interval.is_zero() {
            return Limit::INF;
        }
        Limit::from_f64(1.0 / interval.as_secs_f64())
    }

    /// The events per second (`f64::MAX` for [`Limit::INF`]).
    ///
    /// ```
    /// use baton::rate::Limit;
    /// assert_eq!(Limit::ZERO.as_f64(), 0.0);
    /// ```
    pub fn as_f64(self) -> f64 {
        self.0
    }

    /// Whether this is [`Limit::INF`].
    ///
    /// ```
    /// use baton::rate::Limit;
    /// assert!(Limit::INF.is_inf() && !Limit::per_second(1e12).is_inf());
    /// ```
    pub fn is_inf(self) -> bool {
        self.0 >= f64::MAX
    }

    pub(crate) fn from_f64(v: f64) -> Limit {
        Limit(if v >= f64::MAX { f64::MAX } else { v })
    }
}

/// Why [`Limiter::wait_n`] returned without its tokens. Displayed as Go
/// words it.
///
/// ```
/// use baton::{context, rate::WaitError};
///
/// assert_eq!(
///     WaitError::ExceedsBurst { n: 4, burst: 3 }.to_string(),
///     "rate: Wait(n=4) exceeds limiter's burst 3"
/// );
/// assert_eq!(
///     WaitError::Context(context::Error::Canceled).to_string(),
///     "context canceled"
/// );
/// ```
#[cfg(not(loom))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The context was done, before the wait or during it (the tokens
    /// were given back).
    Context(crate::context::Error),
    /// `n` exceeds the burst: no wait could ever succeed.
    ExceedsBurst {
        /// The tokens asked for.
        n: usize,
        /// The limiter's burst.
        burst: usize,
    },
    /// The context's deadline would pass before the tokens come; nothing
    /// was taken.
    WouldExceedDeadline {
        /// The tokens asked for.
        n: usize,
    },
}

#[cfg(not(loom))]
impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::Context(e) => fmt::Display::fmt(e, f),
            WaitError::ExceedsBurst { n, burst } => {
                write!(f, "rate: Wait(n={n}) exceeds limiter's burst {burst}")
            }
            WaitError::WouldExceedDeadline { n } => {
                write!(f, "rate: Wait(n={n}) would exceed context deadline")
            }
        }
    }
}

#[cfg(not(loom))]
impl std::error::Error for WaitError {}

#[cfg(not(loom))]
impl From<crate::context::Error> for WaitError {
    fn from(e: crate::context::Error) -> Self {
        WaitError::Context(e)
    }
}
