//! `rate`: token-bucket rate limiters, x/time/rate's semantics.
//!
//! - `allow`: one limiter shared by every thread; one op = one `allow()`.
//!   (governor's rows are named `rust-governor`: names starting with `go`
//!   are the Go harness's.)
//!   The limit (10⁹ a second, burst 10⁶) is far above what the threads
//!   reach, so every call is granted and takes its token: the measured path
//!   is the granted one (baton and governor: a load and a CAS on one word;
//!   Go: `Allow` under the limiter's mutex).
//! - `keyed`: 10k keys, each thread walking them with its own stride; one
//!   op = one `allow(key)` (baton: `KeyedLimiter` on its sharded map;
//!   governor: its keyed limiter on DashMap; Go: a `sync.Map` of
//!   `*rate.Limiter`, the usual hand-written keyed limiter). Every key is
//!   created before the timing.

use std::hint::black_box;
use std::num::NonZeroU32;

use baton::rate::{KeyedLimiter, Limit, Limiter};
use governor::{Quota, RateLimiter};

use super::{Case, Experiment, Impl};
use crate::runner::{measure, Sample, Spec};

/// Events a second: every call is granted.
const RATE: u32 = 1_000_000_000;
/// Burst: enough that the bucket never runs dry.
const BURST: u32 = 1_000_000;
/// Keys of the `keyed` case.
pub(crate) const KEYS: u64 = 10_000;

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "rate",
        claim: "baton's lock-free token bucket allows as fast as governor's and several times faster than Go's x/time/rate under contention, also keyed",
        cases: vec![
            Case {
                name: "allow",
                about: "one op = allow() on one limiter shared by all threads (every call granted)",
                threads: &[1, 2, 8],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("baton", "rate::Limiter::allow (GCRA, one packed word)", baton_allow),
                    Impl::native("rust-governor", "governor direct RateLimiter::check (GCRA)", governor_allow),
                    Impl::go("go", "Go: x/time/rate Limiter.Allow (mutex)"),
                ],
            },
            Case {
                name: "keyed",
                about: "one op = allow(key) over 10k keys, each thread with its own stride",
                threads: &[1, 2, 8],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("baton", "rate::KeyedLimiter::allow on ShardedMap", baton_keyed),
                    Impl::native("rust-governor", "governor keyed RateLimiter::check_key (DashMap)", governor_keyed),
                    Impl::go("go", "Go: sync.Map of *rate.Limiter, Load + Allow"),
                ],
            },
        ],
    }
}

fn quota() -> Quota {
    let rate = NonZeroU32::new(RATE).expect("non-zero");
    Quota::per_second(rate).allow_burst(NonZeroU32::new(BURST).expect("non-zero"))
}

fn baton_allow(spec: &Spec) -> Sample {
    let lim = Limiter::new(Limit::per_second(f64::from(RATE)), BURST as usize);
    measure(spec, &lim, |lim, _| {
        move || {
            black_box(lim.allow());
        }
    })
}

fn governor_allow(spec: &Spec) -> Sample {
    let lim = RateLimiter::direct(quota());
    measure(spec, &lim, |lim, _| {
        move || {
            black_box(lim.check().is_ok());
        }
    })
}

/// Thread `w`'s walk over the keys: an odd stride, so it visits them all.
fn walk(w: usize) -> impl FnMut() -> u64 {
    let stride = 2 * w as u64 + 7919;
    let mut k = (w as u64 * 1237) % KEYS;
    move || {
        k = (k + stride) % KEYS;
        k
    }
}

fn baton_keyed(spec: &Spec) -> Sample {
    let lim = KeyedLimiter::new(Limit::per_second(f64::from(RATE)), BURST as usize);
    for k in 0..KEYS {
        lim.allow(&k);
    }
    measure(spec, &lim, |lim, w| {
        let mut next = walk(w);
        move || {
            black_box(lim.allow(&next()));
        }
    })
}

fn governor_keyed(spec: &Spec) -> Sample {
    let lim = RateLimiter::keyed(quota());
    for k in 0..KEYS {
        let _ = lim.check_key(&k);
    }
    measure(spec, &lim, |lim, w| {
        let mut next = walk(w);
        move || {
            black_box(lim.check_key(&next()).is_ok());
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_native_case_runs() {
        let spec = Spec {
            threads: 2,
            seconds: 0.01,
            latency: false,
        };
        for f in [baton_allow, governor_allow, baton_keyed, governor_keyed] {
            assert!(f(&spec).ops > 0);
        }
    }
}
