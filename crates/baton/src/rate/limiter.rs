//! [`Limiter`] and [`Reservation`]: Go's `rate.Limiter` over the GCRA
//! [`Bucket`], with `Instant`s turned into nanoseconds from the limiter's
//! epoch.

use std::time::{Duration, Instant};

use super::bucket::{Bucket, Config, Reserved, FIELD_MAX, FIELD_MIN};
use super::{Limit, WaitError};
use crate::context::Context;

/// A token bucket: `limit` tokens a second refill a bucket of `burst`
/// tokens, and each event takes one (Go's `rate.Limiter`).
///
/// `allow` takes a token if there is one (one atomic read-modify-write, no
/// lock); `reserve` takes tokens now and says how long to wait before
/// acting on them; `wait` parks the goroutine (or thread) until its tokens
/// are there, or the context is done. All take `&self`: share a limiter in
/// an `Arc`, or in a `static`.
///
/// ```
/// use baton::rate::{Limit, Limiter};
///
/// let lim = Limiter::new(Limit::per_second(10.0), 3);
/// assert!(lim.allow() && lim.allow() && lim.allow()); // the burst
/// assert!(!lim.allow()); // the next token comes in 100 ms
/// ```
pub struct Limiter {
    bucket: Bucket,
    /// Time zero of the bucket's nanosecond clock.
    epoch: Instant,
}

impl core::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let c = self.bucket.config();
        f.debug_struct("Limiter")
            .field("limit", &c.limit)
            .field("burst", &c.burst)
            .field("tokens", &self.tokens())
            .finish()
    }
}

impl Limiter {
    /// A limiter that allows `limit` events a second on average, and bursts
    /// of up to `burst` events; it starts full. A zero `burst` allows
    /// nothing (unless the limit is [`Limit::INF`]); a zero limit allows
    /// `burst` events in all.
    ///
    /// ```
    /// use std::time::Duration;
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::every(Duration::from_millis(50)), 1);
    /// assert_eq!(lim.limit(), Limit::per_second(20.0));
    /// assert_eq!(lim.burst(), 1);
    /// ```
    pub fn new(limit: Limit, burst: usize) -> Limiter {
        Limiter {
            bucket: Bucket::new(Config {
                limit: limit.as_f64(),
                burst: burst as u64,
            }),
            epoch: Instant::now(),
        }
    }

    /// The limit (events per second).
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    /// assert!(Limiter::new(Limit::INF, 0).limit().is_inf());
    /// ```
    pub fn limit(&self) -> Limit {
        Limit::from_f64(self.bucket.config().limit)
    }

    /// The burst: the most tokens the bucket holds.
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    /// assert_eq!(Limiter::new(Limit::per_second(1.0), 7).burst(), 7);
    /// ```
    pub fn burst(&self) -> usize {
        usize::try_from(self.bucket.config().burst).unwrap_or(usize::MAX)
    }

    /// The tokens available now; negative while reservations wait for
    /// tokens that have not come yet.
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(1.0), 2);
    /// assert!(lim.tokens() > 1.99);
    /// assert!(lim.allow());
    /// assert!(lim.tokens() < 1.01);
    /// ```
    pub fn tokens(&self) -> f64 {
        self.tokens_at(Instant::now())
    }

    /// The tokens available at `now`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(10.0), 1);
    /// let t0 = Instant::now();
    /// assert!(lim.allow_n(t0, 1));
    /// assert_eq!(lim.tokens_at(t0), 0.0);
    /// assert_eq!(lim.tokens_at(t0 + Duration::from_millis(50)), 0.5);
    /// ```
    pub fn tokens_at(&self, now: Instant) -> f64 {
        self.bucket.tokens(self.ns(now))
    }

    /// Takes one token if there is one now: whether the event may happen.
    /// Never blocks; one atomic read-modify-write when it succeeds, one
    /// load when it does not.
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(1.0), 1);
    /// assert!(lim.allow());
    /// assert!(!lim.allow());
    /// ```
    #[inline]
    pub fn allow(&self) -> bool {
        self.allow_n(Instant::now(), 1)
    }

    /// Takes `n` tokens if there are `n` at `now`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(10.0), 3);
    /// let t0 = Instant::now();
    /// assert!(lim.allow_n(t0, 3));
    /// assert!(!lim.allow_n(t0, 1));
    /// assert!(lim.allow_n(t0 + Duration::from_millis(200), 2));
    /// assert!(!lim.allow_n(t0, 4)); // more than the burst: never
    /// ```
    #[inline]
    pub fn allow_n(&self, now: Instant, n: usize) -> bool {
        self.bucket.reserve(self.ns(now), n as u64, 0).ok
    }

    /// Reserves one token now (see [`reserve_n`](Self::reserve_n)).
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(1000.0), 1);
    /// let r = lim.reserve();
    /// assert!(r.ok());
    /// std::thread::sleep(r.delay());
    /// ```
    pub fn reserve(&self) -> Reservation<'_> {
        self.reserve_n(Instant::now(), 1)
    }

    /// Takes `n` tokens at `now`, whether or not they are there yet: the
    /// [`Reservation`] says how long to wait before acting
    /// ([`delay`](Reservation::delay)), and can give the tokens back
    /// ([`cancel`](Reservation::cancel)). It is not [`ok`](Reservation::ok)
    /// (and takes nothing) when `n` exceeds the burst.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(10.0), 2);
    /// let t0 = Instant::now();
    /// assert_eq!(lim.reserve_n(t0, 2).delay_from(t0), Duration::ZERO);
    /// let later = lim.reserve_n(t0, 2);
    /// assert_eq!(later.delay_from(t0), Duration::from_millis(200));
    /// assert!(!lim.reserve_n(t0, 3).ok());
    /// ```
    pub fn reserve_n(&self, now: Instant, n: usize) -> Reservation<'_> {
        let r = self.bucket.reserve(self.ns(now), n as u64, FIELD_MAX);
        self.reservation(now, n, r)
    }

    fn reservation(&self, now: Instant, n: usize, r: Reserved) -> Reservation<'_> {
        let wait = u64::try_from(r.act.saturating_sub(self.ns(now))).unwrap_or(0);
        Reservation {
            lim: self,
            n,
            time_to_act: r.ok.then(|| now + Duration::from_nanos(wait)),
            inner: r,
        }
    }

    /// Waits for one token (see [`wait_n`](Self::wait_n)).
    ///
    /// ```
    /// use baton::{context, rate::{Limit, Limiter}};
    ///
    /// let lim = Limiter::new(Limit::per_second(1000.0), 1);
    /// let ctx = context::background();
    /// for _ in 0..3 {
    ///     lim.wait(&ctx).unwrap(); // about a millisecond apart
    /// }
    /// ```
    pub fn wait(&self, ctx: &Context) -> Result<(), WaitError> {
        self.wait_n(ctx, 1)
    }

    /// Waits until `n` tokens can be taken, parking the goroutine (or the
    /// thread) meanwhile, and takes them. Fails at once, taking nothing,
    /// when `n` exceeds the burst (and the limit is not infinite), when the
    /// context is done, or when its deadline would pass before the tokens
    /// come; if the context is done during the wait, gives the tokens back
    /// and returns its error.
    ///
    /// ```
    /// use std::time::Duration;
    /// use baton::{context, rate::{Limit, Limiter, WaitError}};
    ///
    /// let lim = Limiter::new(Limit::per_second(1.0), 1);
    /// let bg = context::background();
    /// lim.wait_n(&bg, 1).unwrap();
    /// assert_eq!(lim.wait_n(&bg, 2), Err(WaitError::ExceedsBurst { n: 2, burst: 1 }));
    /// // The next token is a second away; this context ends sooner.
    /// let (ctx, _cancel) = context::with_timeout(&bg, Duration::from_millis(10));
    /// assert_eq!(lim.wait(&ctx), Err(WaitError::WouldExceedDeadline { n: 1 }));
    /// ```
    pub fn wait_n(&self, ctx: &Context, n: usize) -> Result<(), WaitError> {
        let now = Instant::now();
        let c = self.bucket.config();
        if n as u64 > c.burst && !Limit::from_f64(c.limit).is_inf() {
            return Err(WaitError::ExceedsBurst {
                n,
                burst: usize::try_from(c.burst).unwrap_or(usize::MAX),
            });
        }
        if let Some(e) = ctx.err() {
            return Err(WaitError::Context(e));
        }
        let max_wait = match ctx.deadline() {
            Some(d) => match d.checked_duration_since(now) {
                Some(left) => i64::try_from(left.as_nanos()).unwrap_or(FIELD_MAX),
                None => -1,
            },
            None => FIELD_MAX,
        };
        let r = self.bucket.reserve(self.ns(now), n as u64, max_wait);
        if !r.ok {
            return Err(WaitError::WouldExceedDeadline { n });
        }
        let r = self.reservation(now, n, r);
        let delay = r.delay_from(now);
        if delay.is_zero() {
            return Ok(());
        }
        match crate::time::sleep_ctx(ctx, delay) {
            Ok(()) => Ok(()),
            Err(e) => {
                r.cancel();
                Err(WaitError::Context(e))
            }
        }
    }

    /// Changes the limit, keeping the tokens the bucket holds now.
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(1.0), 1);
    /// lim.set_limit(Limit::INF);
    /// assert!((0..100).all(|_| lim.allow()));
    /// ```
    pub fn set_limit(&self, limit: Limit) {
        self.set_limit_at(Instant::now(), limit)
    }

    /// Changes the limit as of `now`.
    ///
    /// ```
    /// use std::time::Instant;
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(1.0), 1);
    /// lim.set_limit_at(Instant::now(), Limit::per_second(2.0));
    /// assert_eq!(lim.limit(), Limit::per_second(2.0));
    /// ```
    pub fn set_limit_at(&self, now: Instant, limit: Limit) {
        self.bucket.set_config(self.ns(now), |c| Config {
            limit: limit.as_f64(),
            ..c
        })
    }

    /// Changes the burst, keeping the tokens the bucket holds now.
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(1.0), 1);
    /// lim.set_burst(5);
    /// assert_eq!(lim.burst(), 5);
    /// ```
    pub fn set_burst(&self, burst: usize) {
        self.set_burst_at(Instant::now(), burst)
    }

    /// Changes the burst as of `now`.
    ///
    /// ```
    /// use std::time::Instant;
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(1.0), 4);
    /// lim.set_burst_at(Instant::now(), 2);
    /// assert_eq!(lim.burst(), 2);
    /// assert!(lim.tokens() <= 2.0);
    /// ```
    pub fn set_burst_at(&self, now: Instant, burst: usize) {
        self.bucket.set_config(self.ns(now), |c| Config {
            burst: burst as u64,
            ..c
        })
    }

    /// `t` as nanoseconds from the epoch, saturating at the field's range.
    fn ns(&self, t: Instant) -> i64 {
        match t.checked_duration_since(self.epoch) {
            Some(d) => i64::try_from(d.as_nanos()).map_or(FIELD_MAX, |v| v.min(FIELD_MAX)),
            None => {
                let back = self.epoch.duration_since(t).as_nanos();
                i64::try_from(back).map_or(FIELD_MIN, |v| (-v).max(FIELD_MIN))
            }
        }
    }
}

/// Tokens taken by [`Limiter::reserve_n`]: when the caller may act on
/// them, or a refusal ([`ok`](Self::ok) false). Dropping it keeps the
/// tokens taken; [`cancel`](Self::cancel) gives them back.
///
/// ```
/// use std::time::Duration;
/// use baton::rate::{Limit, Limiter};
///
/// let lim = Limiter::new(Limit::per_second(1.0), 1);
/// assert!(lim.allow());
/// let r = lim.reserve(); // the next token, about a second from now
/// assert!(r.ok() && r.delay() > Duration::from_millis(900));
/// r.cancel(); // changed our mind: it goes back (too late once it is due)
/// assert!(lim.tokens() > -0.01);
/// ```
#[must_use = "a reservation takes tokens: act after its delay, or cancel it"]
#[derive(Debug)]
pub struct Reservation<'a> {
    lim: &'a Limiter,
    n: usize,
    /// `None` when refused.
    time_to_act: Option<Instant>,
    inner: Reserved,
}

impl Reservation<'_> {
    /// Whether the tokens were taken (false: `n` exceeded the burst, or
    /// the wait would have been longer than the caller allowed).
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    /// assert!(!Limiter::new(Limit::per_second(1.0), 1).reserve_n(std::time::Instant::now(), 2).ok());
    /// ```
    pub fn ok(&self) -> bool {
        self.time_to_act.is_some()
    }

    /// How long to wait from now before acting; `Duration::MAX` when not
    /// [`ok`](Self::ok) (Go's `InfDuration`).
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    /// let lim = Limiter::new(Limit::per_second(1.0), 1);
    /// assert!(lim.reserve().delay().is_zero());
    /// assert!(lim.reserve().delay() > std::time::Duration::from_millis(900));
    /// ```
    pub fn delay(&self) -> Duration {
        self.delay_from(Instant::now())
    }

    /// How long to wait from `now` before acting (zero if the time has
    /// come); `Duration::MAX` when not [`ok`](Self::ok).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(10.0), 1);
    /// let t0 = Instant::now();
    /// let _ = lim.reserve_n(t0, 1);
    /// let r = lim.reserve_n(t0, 1);
    /// assert_eq!(r.delay_from(t0), Duration::from_millis(100));
    /// assert_eq!(r.delay_from(t0 + Duration::from_secs(1)), Duration::ZERO);
    /// ```
    pub fn delay_from(&self, now: Instant) -> Duration {
        match self.time_to_act {
            None => Duration::MAX,
            Some(t) => t.saturating_duration_since(now),
        }
    }

    /// When the caller may act; `None` when not [`ok`](Self::ok).
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    /// let lim = Limiter::new(Limit::per_second(1.0), 1);
    /// assert!(lim.reserve().time_to_act().is_some());
    /// ```
    pub fn time_to_act(&self) -> Option<Instant> {
        self.time_to_act
    }

    /// Gives the tokens back, as far as that is still possible: not once
    /// the time to act has passed, and less the tokens reserved after this
    /// one (Go's `Cancel`).
    ///
    /// ```
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(1.0), 1);
    /// assert!(lim.allow());
    /// let r = lim.reserve(); // the token of the next second
    /// r.cancel();
    /// assert!(lim.tokens() > -0.01);
    /// ```
    pub fn cancel(self) {
        self.cancel_at(Instant::now())
    }

    /// As [`cancel`](Self::cancel), as of `now`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use baton::rate::{Limit, Limiter};
    ///
    /// let lim = Limiter::new(Limit::per_second(10.0), 2);
    /// let t0 = Instant::now();
    /// let _ = lim.reserve_n(t0, 2);
    /// let r = lim.reserve_n(t0, 2);
    /// r.cancel_at(t0 + Duration::from_millis(100)); // two tokens back
    /// assert_eq!(lim.tokens_at(t0 + Duration::from_millis(100)), 1.0);
    /// ```
    pub fn cancel_at(self, now: Instant) {
        if self.ok() {
            self.lim
                .bucket
                .cancel(&self.inner, self.n as u64, self.lim.ns(now));
        }
    }
}
