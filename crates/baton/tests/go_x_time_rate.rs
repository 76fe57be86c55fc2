//! Port of Go's `golang.org/x/time/rate/rate_test.go` (x/time v0.3.0, as
//! Debian's `golang-golang-x-time-dev` ships it).
//!
//! Ported: `TestLimit`, `TestEvery`, `TestLimiterBurst1`,
//! `TestLimiterBurst3`, `TestLimiter_noTruncationErrors`,
//! `TestSimultaneousRequests` (from threads and from goroutines),
//! `TestLongRunningQPS` (fake time as explicit `Instant`s; its bounds on the
//! count are kept, they are about tokens, not speed), `TestSimpleReserve`,
//! `TestMix`, `TestCancelInvalid`, `TestCancelLast`, `TestCancelTooLate`,
//! `TestCancel0Tokens`, `TestCancel1Token`, `TestCancelMulti`,
//! `TestReserveSetLimit`, `TestReserveSetLimitCancel`, `TestReserveMax`,
//! `TestWaitSimple`, `TestWaitCancel`, `TestWaitTimeout`, `TestWaitInf`,
//! `TestZeroLimit`; the wait tests run from threads and goroutines.
//!
//! Ported with baton's values (see `baton::rate`'s "How it differs from
//! Go": a `now` earlier than an earlier call's is taken as is, it does not
//! re-base the bucket): `TestLimiterJumpBackwards`, `TestReserveJumpBack`,
//! `TestReserveJumpBackCancel`, and `TestReserveSetBurst` (whose last
//! request is at t0, after a change at t3: a jump back).
//!
//! Not ported: the benchmarks (the lab's `rate` experiment measures
//! `allow`), and Go's fake timer for the wait tests: they run on the real
//! clock with `d` = 100 ms, checking that a wait lasts at least what Go
//! expects (a shorter one would break the limit); no upper bound on time is
//! asserted, and a hang fails through the watchdog.

#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::context;
use baton::rate::{Limit, Limiter, Reservation, WaitError};
use common::{both, within};

const D: Duration = Duration::from_millis(100);

/// Go's `t0`..`t9`: `t(i)` is `t0 + i·d`.
struct Clock {
    t0: Instant,
}

impl Clock {
    fn new() -> Clock {
        Clock { t0: Instant::now() }
    }
    fn t(&self, i: u32) -> Instant {
        self.t0 + D * i
    }
    /// Go's `dSince`: multiples of `d` since `t0`, rounded to nearest.
    fn d_since(&self, t: Instant) -> i64 {
        let ns = t.duration_since(self.t0).as_nanos() as i64;
        let d = D.as_nanos() as i64;
        (ns + d / 2) / d
    }
}

#[test]
fn test_limit() {
    assert_ne!(Limit::per_second(10.0), Limit::INF);
}

fn close_enough(a: Limit, b: Limit) -> bool {
    (a.as_f64() / b.as_f64() - 1.0).abs() < 1e-9
}

#[test]
fn test_every() {
    let cases = [
        (Duration::ZERO, Limit::INF),
        (Duration::from_nanos(1), Limit::per_second(1e9)),
        (Duration::from_micros(1), Limit::per_second(1e6)),
        (Duration::from_millis(1), Limit::per_second(1e3)),
        (Duration::from_millis(10), Limit::per_second(100.0)),
        (Duration::from_millis(100), Limit::per_second(10.0)),
        (Duration::from_secs(1), Limit::per_second(1.0)),
        (Duration::from_secs(2), Limit::per_second(0.5)),
        (Duration::from_secs_f64(2.5), Limit::per_second(0.4)),
        (Duration::from_secs(4), Limit::per_second(0.25)),
        (Duration::from_secs(10), Limit::per_second(0.1)),
        (
            Duration::from_nanos(i64::MAX as u64),
            Limit::per_second(1e9 / i64::MAX as f64),
        ),
    ];
    for (interval, want) in cases {
        let got = Limit::every(interval);
        assert!(
            close_enough(got, want),
            "Limit::every({interval:?}) = {got:?}, want {want:?}"
        );
    }
}

/// Go's `allow` row: at step time `t`, the tokens before, `n`, the verdict.
struct Allow {
    t: u32,
    toks: f64,
    n: usize,
    ok: bool,
}

fn a(t: u32, toks: f64, n: usize, ok: bool) -> Allow {
    Allow { t, toks, n, ok }
}

fn run(c: &Clock, lim: &Limiter, allows: &[Allow]) {
    for (i, s) in allows.iter().enumerate() {
        let toks = lim.tokens_at(c.t(s.t));
        assert_eq!(toks, s.toks, "step {i}: tokens_at(t{}) = {toks}", s.t);
        let ok = lim.allow_n(c.t(s.t), s.n);
        assert_eq!(ok, s.ok, "step {i}: allow_n(t{}, {}) = {ok}", s.t, s.n);
    }
}

fn lim(limit: f64, burst: usize) -> Limiter {
    Limiter::new(Limit::per_second(limit), burst)
}

#[test]
fn test_limiter_burst1() {
    let c = Clock::new();
    run(
        &c,
        &lim(10.0, 1),
        &[
            a(0, 1.0, 1, true),
            a(0, 0.0, 1, false),
            a(0, 0.0, 1, false),
            a(1, 1.0, 1, true),
            a(1, 0.0, 1, false),
            a(1, 0.0, 1, false),
            a(2, 1.0, 2, false), // burst size is 1, so n=2 always fails
            a(2, 1.0, 1, true),
            a(2, 0.0, 1, false),
        ],
    );
}

#[test]
fn test_limiter_burst3() {
    let c = Clock::new();
    run(
        &c,
        &lim(10.0, 3),
        &[
            a(0, 3.0, 2, true),
            a(0, 1.0, 2, false),
            a(0, 1.0, 1, true),
            a(0, 0.0, 1, false),
            a(1, 1.0, 4, false),
            a(2, 2.0, 1, true),
            a(3, 2.0, 1, true),
            a(4, 2.0, 1, true),
            a(4, 1.0, 1, true),
            a(4, 0.0, 1, false),
            a(4, 0.0, 1, false),
            a(9, 3.0, 3, true),
            a(9, 0.0, 0, true),
        ],
    );
}

/// Go's values: t1 3 true; t0 2,1,0 (re-based at t0). baton's: after one
/// token at t1 the bucket is full again at t2, so at t0 it holds 3 - 2 = 1
/// token: the jump back lends nothing.
#[test]
fn test_limiter_jump_backwards() {
    let c = Clock::new();
    run(
        &c,
        &lim(10.0, 3),
        &[
            a(1, 3.0, 1, true), // start at t1
            a(0, 1.0, 1, true), // jump back to t0: one token (Go: two)
            a(0, 0.0, 1, false),
            a(0, 0.0, 1, false),
            a(1, 1.0, 1, true), // the tokens of t1 are the schedule's
            a(1, 0.0, 1, false),
            a(2, 1.0, 1, true), // got another token
            a(2, 0.0, 1, false),
            a(2, 0.0, 1, false),
        ],
    );
}

#[test]
fn test_limiter_no_truncation_errors() {
    assert!(lim(0.7692307692307693, 1).allow());
}

fn simultaneous_requests() {
    const LIMIT: f64 = 1.0;
    const BURST: usize = 5;
    const REQUESTS: u32 = 15;
    let lim = Arc::new(lim(LIMIT, BURST));
    let ok = Arc::new(AtomicU32::new(0));
    let wg = Arc::new(baton::sync::WaitGroup::new());
    for _ in 0..REQUESTS {
        let (lim, ok, wg) = (lim.clone(), ok.clone(), wg.clone());
        wg.add(1);
        common::spawn(move || {
            if lim.allow() {
                ok.fetch_add(1, Relaxed);
            }
            wg.done();
        });
    }
    wg.wait();
    assert_eq!(ok.load(Relaxed), BURST as u32);
}

#[test]
fn test_simultaneous_requests() {
    both("simultaneous requests", 30, simultaneous_requests);
}

#[test]
fn test_long_running_qps() {
    const LIMIT: f64 = 100.0;
    const BURST: usize = 100;
    let lim = lim(LIMIT, BURST);
    let start = Instant::now();
    let end = start + Duration::from_secs(5);
    let mut now = start;
    let mut ok = 0;
    while now < end {
        if lim.allow_n(now, 1) {
            ok += 1;
        }
        now += Duration::from_millis(2);
    }
    let elapsed = now.duration_since(start);
    let ideal = BURST as f64 + LIMIT * elapsed.as_secs_f64();
    assert!(ok <= (ideal + 1.0) as i32, "ok = {ok}, ideal {ideal}");
    assert!(ok >= (0.999 * ideal) as i32, "ok = {ok}, ideal {ideal}");
}

/// Go's `request`: reserve `n` at `t`; want `act` and `ok`.
fn run_reserve_max<'a>(
    c: &Clock,
    lim: &'a Limiter,
    t: u32,
    n: usize,
    act: u32,
    ok: bool,
    max: Option<Duration>,
) -> Reservation<'a> {
    let r = lim.reserve_n(c.t(t), n);
    let r_ok = r.ok() && max.map_or(true, |m| r.delay_from(c.t(t)) <= m);
    if !r_ok && r.ok() {
        // Go's reserveN with a maximum leaves the bucket alone when the
        // wait is too long; here we take it and give it back at once.
        r.cancel_at(c.t(t));
        assert!(!ok, "reserve_n(t{t}, {n}) waits longer than {max:?}");
        return lim.reserve_n(c.t(t), usize::MAX); // a refused reservation
    }
    assert_eq!(r.ok(), ok, "reserve_n(t{t}, {n}).ok()");
    if ok {
        let got = c.d_since(r.time_to_act().unwrap());
        assert_eq!(
            got, act as i64,
            "reserve_n(t{t}, {n}) acts at t{got}, want t{act}"
        );
    }
    r
}

fn run_reserve<'a>(
    c: &Clock,
    lim: &'a Limiter,
    t: u32,
    n: usize,
    act: u32,
    ok: bool,
) -> Reservation<'a> {
    run_reserve_max(c, lim, t, n, act, ok, None)
}

#[test]
fn test_simple_reserve() {
    let (c, l) = (Clock::new(), lim(10.0, 2));
    let _ = run_reserve(&c, &l, 0, 2, 0, true);
    let _ = run_reserve(&c, &l, 0, 2, 2, true);
    let _ = run_reserve(&c, &l, 3, 2, 4, true);
}

#[test]
fn test_mix() {
    let (c, l) = (Clock::new(), lim(10.0, 2));
    let _ = run_reserve(&c, &l, 0, 3, 1, false); // n > burst
    let _ = run_reserve(&c, &l, 0, 2, 0, true);
    run(&c, &l, &[a(1, 1.0, 2, false)]); // not enough tokens
    let _ = run_reserve(&c, &l, 1, 2, 2, true);
    run(&c, &l, &[a(1, -1.0, 1, false)]); // negative tokens
    run(&c, &l, &[a(3, 1.0, 1, true)]);
}

#[test]
fn test_cancel_invalid() {
    let (c, l) = (Clock::new(), lim(10.0, 2));
    let _ = run_reserve(&c, &l, 0, 2, 0, true);
    let r = run_reserve(&c, &l, 0, 3, 3, false);
    r.cancel_at(c.t(0)); // no effect
    let _ = run_reserve(&c, &l, 0, 2, 2, true); // no extra tokens
}

#[test]
fn test_cancel_last() {
    let (c, l) = (Clock::new(), lim(10.0, 2));
    let _ = run_reserve(&c, &l, 0, 2, 0, true);
    let r = run_reserve(&c, &l, 0, 2, 2, true);
    r.cancel_at(c.t(1)); // got 2 tokens back
    let _ = run_reserve(&c, &l, 1, 2, 2, true);
}

#[test]
fn test_cancel_too_late() {
    let (c, l) = (Clock::new(), lim(10.0, 2));
    let _ = run_reserve(&c, &l, 0, 2, 0, true);
    let r = run_reserve(&c, &l, 0, 2, 2, true);
    r.cancel_at(c.t(3)); // too late: no effect
    let _ = run_reserve(&c, &l, 3, 2, 4, true);
}

#[test]
fn test_cancel_0_tokens() {
    let (c, l) = (Clock::new(), lim(10.0, 2));
    let _ = run_reserve(&c, &l, 0, 2, 0, true);
    let r = run_reserve(&c, &l, 0, 1, 1, true);
    let _ = run_reserve(&c, &l, 0, 1, 2, true);
    r.cancel_at(c.t(0)); // got 0 tokens back
    let _ = run_reserve(&c, &l, 0, 1, 3, true);
}

#[test]
fn test_cancel_1_token() {
    let (c, l) = (Clock::new(), lim(10.0, 2));
    let _ = run_reserve(&c, &l, 0, 2, 0, true);
    let r = run_reserve(&c, &l, 0, 2, 2, true);
    let _ = run_reserve(&c, &l, 0, 1, 3, true);
    r.cancel_at(c.t(2)); // got 1 token back
    let _ = run_reserve(&c, &l, 2, 2, 4, true);
}

#[test]
fn test_cancel_multi() {
    let (c, l) = (Clock::new(), lim(10.0, 4));
    let _ = run_reserve(&c, &l, 0, 4, 0, true);
    let ra = run_reserve(&c, &l, 0, 3, 3, true);
    let _ = run_reserve(&c, &l, 0, 1, 4, true);
    let rc = run_reserve(&c, &l, 0, 1, 5, true);
    rc.cancel_at(c.t(1)); // 1 token back
    ra.cancel_at(c.t(1)); // 2 tokens back, as if C was never reserved
    let _ = run_reserve(&c, &l, 1, 3, 5, true);
}

/// Go's values: t0 1 acts at t1, t2 2 at t3, t2 1 at t4, t2 1 at t5.
/// baton's: the bucket reserved at t1 is full again at t3; at t0 one token
/// more acts at t2 (t3 + T - 2T), and the schedule runs on from there.
#[test]
fn test_reserve_jump_back() {
    let (c, l) = (Clock::new(), lim(10.0, 2));
    let _ = run_reserve(&c, &l, 1, 2, 1, true); // start at t1
    let _ = run_reserve(&c, &l, 0, 1, 2, true); // Go: t1
    let _ = run_reserve(&c, &l, 2, 2, 4, true); // Go: t3
                                                // burst is 2, so n=3 always fails and leaves the bucket alone
    let _ = run_reserve(&c, &l, 0, 3, 0, false);
    let _ = run_reserve(&c, &l, 2, 1, 5, true); // Go: t4
                                                // the maximum wait is too short: fails and leaves the bucket alone
    let _ = run_reserve_max(&c, &l, 0, 2, 0, false, Some(D));
    let _ = run_reserve(&c, &l, 2, 1, 6, true); // Go: t5
}

/// Go's values: t1 2 acts at t3, t1 1 at t4; the cancel at t0 gives 1
/// token back and t1 2 acts at t4. baton's: the same up to the cancel,
/// which gives 1 token back too (the other was followed by the t4
/// reservation), moving the full time from t6 to t5; Go's re-base at t0
/// lends the gap's token besides, baton's does not: t1 2 acts at t5.
#[test]
fn test_reserve_jump_back_cancel() {
    let (c, l) = (Clock::new(), lim(10.0, 2));
    let _ = run_reserve(&c, &l, 1, 2, 1, true); // start at t1
    let r = run_reserve(&c, &l, 1, 2, 3, true);
    let _ = run_reserve(&c, &l, 1, 1, 4, true);
    r.cancel_at(c.t(0)); // cancel at t0, 1 token back
    let _ = run_reserve(&c, &l, 1, 2, 5, true); // Go: t4
}

#[test]
fn test_reserve_set_limit() {
    let (c, l) = (Clock::new(), lim(5.0, 2));
    let _ = run_reserve(&c, &l, 0, 2, 0, true);
    let _ = run_reserve(&c, &l, 0, 2, 4, true);
    l.set_limit_at(c.t(2), Limit::per_second(10.0));
    let _ = run_reserve(&c, &l, 2, 1, 4, true);
}

/// Go's last request is at t0 after a change at t3, and acts at t9 (the
/// bucket re-based at t0). baton's: at t3 the bucket holds -0.5 tokens,
/// kept under the new burst of 4; 4 more make -4.5, which take 9·d to
/// refill at 5/s: act at t3 + 9d = t12, whether asked at t0 or at t3.
#[test]
fn test_reserve_set_burst() {
    let (c, l) = (Clock::new(), lim(5.0, 2));
    let _ = run_reserve(&c, &l, 0, 2, 0, true);
    let _ = run_reserve(&c, &l, 0, 2, 4, true);
    l.set_burst_at(c.t(3), 4);
    assert_eq!(l.tokens_at(c.t(3)), -0.5);
    let _ = run_reserve(&c, &l, 0, 4, 12, true); // Go: t9
}

#[test]
fn test_reserve_set_limit_cancel() {
    let (c, l) = (Clock::new(), lim(5.0, 2));
    let _ = run_reserve(&c, &l, 0, 2, 0, true);
    let r = run_reserve(&c, &l, 0, 2, 4, true);
    l.set_limit_at(c.t(2), Limit::per_second(10.0));
    r.cancel_at(c.t(2)); // 2 tokens back
    let _ = run_reserve(&c, &l, 2, 2, 3, true);
}

#[test]
fn test_reserve_max() {
    let (c, l) = (Clock::new(), lim(10.0, 2));
    let _ = run_reserve_max(&c, &l, 0, 2, 0, true, Some(D));
    let _ = run_reserve_max(&c, &l, 0, 1, 1, true, Some(D)); // close future
    let _ = run_reserve_max(&c, &l, 0, 1, 2, false, Some(D)); // too far
}

/// Go's `runWait`: the result, and a wait of at least `delay`·d (less half
/// a `d` of rounding, as Go's `waitDelayOk`).
fn run_wait(name: &str, lim: &Limiter, ctx: &context::Context, n: usize, delay: u32, ok: bool) {
    let start = Instant::now();
    let r = lim.wait_n(ctx, n);
    let took = start.elapsed();
    assert_eq!(r.is_ok(), ok, "{name}: wait_n(n={n}) = {r:?}");
    assert!(
        took + D / 2 >= D * delay,
        "{name}: waited {took:?}, want at least {:?}",
        D * delay
    );
}

fn wait_simple() {
    let l = lim(10.0, 3);
    let bg = context::background();
    let (ctx, cancel) = context::with_cancel(&bg);
    cancel.cancel();
    run_wait("already-cancelled", &l, &ctx, 1, 0, false);
    assert_eq!(
        l.wait_n(&ctx, 1),
        Err(WaitError::Context(context::Error::Canceled))
    );
    run_wait("exceed-burst-error", &l, &bg, 4, 0, false);
    run_wait("act-now", &l, &bg, 2, 0, true);
    run_wait("act-later", &l, &bg, 3, 2, true);
}

#[test]
fn test_wait_simple() {
    both("wait simple", 30, wait_simple);
}

fn wait_cancel() {
    let l = lim(10.0, 3);
    let bg = context::background();
    let (ctx, cancel) = context::with_cancel(&bg);
    run_wait("act-now", &l, &ctx, 2, 0, true); // tokens = 1
    common::spawn(move || {
        baton::time::sleep(D);
        cancel.cancel();
    });
    run_wait("will-cancel", &l, &ctx, 3, 1, false);
    // The 3 tokens came back: the bucket holds about 2.
    assert!(l.tokens() > 1.5, "tokens after the cancel: {}", l.tokens());
    run_wait("act-now-after-cancel", &l, &bg, 2, 0, true);
}

#[test]
fn test_wait_cancel() {
    both("wait cancel", 30, wait_cancel);
}

fn wait_timeout() {
    let l = lim(10.0, 3);
    let (ctx, _cancel) = context::with_timeout(&context::background(), D);
    run_wait("act-now", &l, &ctx, 2, 0, true);
    run_wait("w-timeout-err", &l, &ctx, 3, 0, false);
}

#[test]
fn test_wait_timeout() {
    both("wait timeout", 30, wait_timeout);
}

#[test]
fn test_wait_inf() {
    let l = Limiter::new(Limit::INF, 0);
    run_wait(
        "exceed-burst-no-error",
        &l,
        &context::background(),
        3,
        0,
        true,
    );
}

#[test]
fn test_zero_limit() {
    let l = Limiter::new(Limit::ZERO, 1);
    assert!(l.allow(), "Limit(0, 1) want true when first used");
    assert!(!l.allow(), "Limit(0, 1) want false when already used");
}

/// Not in Go: `allow` from many threads and goroutines on one limiter
/// never hands out more than burst + refill.
#[test]
fn stress_allow_never_over_the_limit() {
    within("stress allow", 60, || {
        let l = Arc::new(lim(1000.0, 50));
        let start = Instant::now();
        let ok = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (l, ok) = (l.clone(), ok.clone());
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        if l.allow() {
                            ok.fetch_add(1, Relaxed);
                        }
                    }
                })
            })
            .collect();
        let goroutines: Vec<_> = (0..8)
            .map(|_| {
                let (l, ok) = (l.clone(), ok.clone());
                baton::go(move || {
                    for i in 0..20_000 {
                        if l.allow() {
                            ok.fetch_add(1, Relaxed);
                        }
                        if i % 1000 == 0 {
                            baton::yield_now();
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        goroutines.into_iter().for_each(|g| g.join().unwrap());
        let elapsed = start.elapsed().as_secs_f64();
        let most = 50.0 + 1000.0 * elapsed + 1.0;
        let got = ok.load(Relaxed) as f64;
        assert!(got <= most, "allowed {got}, at most {most} in {elapsed} s");
        assert!(got >= 50.0, "allowed {got}: not even the burst");
    });
}
