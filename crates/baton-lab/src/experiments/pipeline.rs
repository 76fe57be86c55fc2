//! `pipeline`: the patterns of `baton::pattern` as a program, against the
//! same program in Go and with plain threads and crossbeam-channel.
//!
//! - `unbuffered`: generate → square → keep the even → sum, over 1M
//!   integers, one goroutine (thread) per stage, unbuffered channels.
//!   baton: `pattern::generate`, `stage`, `filter`, and the sum reading
//!   with `or_done` (every stage honours a context); Go: the book's stages,
//!   `select` on `out <- v` and `<-done`; crossbeam: one thread per stage,
//!   `bounded(0)`, plain `send`/`recv` (no cancellation).
//! - `buffered`: the same with channels of capacity 1024 (baton: its
//!   goroutines on `chan::bounded(1024)` with `send_ctx`/`recv_ctx`).
//! - `fan-out`: generate → a CPU-bound stage (about a microsecond a value)
//!   on `threads` goroutines → fan-in → sum, over 100k integers. baton:
//!   `pattern::fan_out`; Go: n workers on one input channel and a merge;
//!   crossbeam: n threads.
//!
//! One op = one integer through the whole pipeline; a round runs the whole
//! input and rounds repeat until the time is up. `threads` is baton's
//! workers and Go's `GOMAXPROCS`; crossbeam runs a thread per stage (per
//! worker in `fan-out`) whatever it is.

use std::hint::black_box;
use std::time::Instant;

use baton::chan;
use baton::context::{self, Context};
use baton::pattern;

use super::{Case, Experiment, Impl};
use crate::runner::{Sample, Spec};

/// Integers per round of `unbuffered` and `buffered`.
pub(crate) const ITEMS: u64 = 1_000_000;
/// Integers per round of `fan-out`.
pub(crate) const FANOUT_ITEMS: u64 = 100_000;
/// Capacity of the `buffered` case's channels.
pub(crate) const CAP: usize = 1024;
/// Rounds of the CPU-bound stage's mixing loop (the Go harness has the
/// same number).
pub(crate) const WORK_ROUNDS: u32 = 256;

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "pipeline",
        claim: "a pipeline built from baton's patterns outruns the same program in Go and with threads and crossbeam-channel",
        cases: vec![
            Case {
                name: "unbuffered",
                about: "one op = one of 1M integers through generate → square → filter → sum, unbuffered channels",
                threads: &[1, 2],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("baton", "pattern::generate/stage/filter + or_done, on a runtime of `threads` workers", baton_unbuffered),
                    Impl::native("crossbeam-channel", "a thread per stage, bounded(0)", crossbeam_unbuffered),
                    Impl::go("go", "Go: a goroutine per stage, unbuffered, select with done"),
                ],
            },
            Case {
                name: "buffered",
                about: "one op = one of 1M integers through generate → square → filter → sum, channels of 1024",
                threads: &[1, 2],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("baton", "a goroutine per stage on chan::bounded(1024), send_ctx/recv_ctx", baton_buffered),
                    Impl::native("crossbeam-channel", "a thread per stage, bounded(1024)", crossbeam_buffered),
                    Impl::go("go", "Go: a goroutine per stage, make(chan, 1024), select with done"),
                ],
            },
            Case {
                name: "fan-out",
                about: "one op = one of 100k integers through a ~1 µs CPU-bound stage fanned out over `threads`, fanned in, summed",
                threads: &[1, 2],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("baton", "pattern::fan_out over `threads` goroutines", baton_fanout),
                    Impl::native("crossbeam-channel", "`threads` worker threads, bounded(0)", crossbeam_fanout),
                    Impl::go("go", "Go: `threads` workers on one channel, merged"),
                ],
            },
        ],
    }
}

/// The CPU-bound stage: a mixing loop of [`WORK_ROUNDS`] rounds.
pub(crate) fn work(v: u64) -> u64 {
    let mut x = v;
    for _ in 0..WORK_ROUNDS {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        x ^= x >> 33;
    }
    x
}

/// Rounds of `round` (which handles `items` integers and returns a
/// checksum) until `spec.seconds` have passed, at least one.
fn rounds(spec: &Spec, items: u64, mut round: impl FnMut() -> u64) -> Sample {
    let start = Instant::now();
    let mut ops = 0;
    while ops == 0 || start.elapsed().as_secs_f64() < spec.seconds {
        black_box(round());
        ops += items;
    }
    Sample {
        ops,
        elapsed: start.elapsed(),
        ..Sample::default()
    }
}

/// Runs `body` on a baton runtime of `spec.threads` workers.
fn on_baton(spec: &Spec, items: u64, round: fn(&Context) -> u64) -> Sample {
    let rt = crate::experiments::runtime_builder()
        .workers(spec.threads)
        .build();
    let spec = Spec { ..*spec };
    rt.run(move || {
        rounds(&spec, items, || {
            let (ctx, cancel) = context::with_cancel(&context::background());
            let sum = round(&ctx);
            cancel.cancel();
            sum
        })
    })
}

fn baton_unbuffered(spec: &Spec) -> Sample {
    on_baton(spec, ITEMS, unbuffered_round)
}

/// One `unbuffered` round on baton's patterns: the sum.
fn unbuffered_round(ctx: &Context) -> u64 {
    let nums = pattern::generate(ctx, 0..ITEMS);
    let squares = pattern::stage(ctx, nums, |v: u64| v.wrapping_mul(v));
    let even = pattern::filter(ctx, squares, |v| v % 2 == 0);
    pattern::or_done(ctx, even).fold(0u64, u64::wrapping_add)
}

fn baton_buffered(spec: &Spec) -> Sample {
    on_baton(spec, ITEMS, buffered_round)
}

/// One `buffered` round: a goroutine per stage on `chan::bounded(CAP)`.
fn buffered_round(ctx: &Context) -> u64 {
    {
        let (tx1, rx1) = chan::bounded(CAP);
        let (tx2, rx2) = chan::bounded(CAP);
        let (tx3, rx3) = chan::bounded(CAP);
        let c = ctx.clone();
        drop(baton::go(move || {
            for v in 0..ITEMS {
                if tx1.send_ctx(&c, v).is_err() {
                    return;
                }
            }
        }));
        let c = ctx.clone();
        drop(baton::go(move || {
            while let Ok(v) = rx1.recv_ctx(&c) {
                if tx2.send_ctx(&c, v.wrapping_mul(v)).is_err() {
                    return;
                }
            }
        }));
        let c = ctx.clone();
        drop(baton::go(move || {
            while let Ok(v) = rx2.recv_ctx(&c) {
                if v % 2 == 0 && tx3.send_ctx(&c, v).is_err() {
                    return;
                }
            }
        }));
        let mut sum = 0u64;
        while let Ok(v) = rx3.recv_ctx(ctx) {
            sum = sum.wrapping_add(v);
        }
        sum
    }
}

fn baton_fanout(spec: &Spec) -> Sample {
    let n = spec.threads;
    let rt = crate::experiments::runtime_builder().workers(n).build();
    let spec = Spec { ..*spec };
    rt.run(move || {
        rounds(&spec, FANOUT_ITEMS, || {
            let ctx = context::background();
            let nums = pattern::generate(&ctx, 0..FANOUT_ITEMS);
            let done = pattern::fan_out(&ctx, nums, n, work);
            pattern::or_done(&ctx, done).fold(0u64, u64::wrapping_add)
        })
    })
}

/// generate → square → filter → sum on threads over crossbeam channels of
/// capacity `cap`.
fn crossbeam_pipeline(cap: usize) -> u64 {
    let (tx1, rx1) = crossbeam_channel::bounded(cap);
    let (tx2, rx2) = crossbeam_channel::bounded(cap);
    let (tx3, rx3) = crossbeam_channel::bounded(cap);
    std::thread::scope(|s| {
        s.spawn(move || {
            for v in 0..ITEMS {
                if tx1.send(v).is_err() {
                    return;
                }
            }
        });
        s.spawn(move || {
            for v in rx1 {
                if tx2.send(v.wrapping_mul(v)).is_err() {
                    return;
                }
            }
        });
        s.spawn(move || {
            for v in rx2 {
                if v % 2 == 0 && tx3.send(v).is_err() {
                    return;
                }
            }
        });
        rx3.iter().fold(0u64, u64::wrapping_add)
    })
}

fn crossbeam_unbuffered(spec: &Spec) -> Sample {
    rounds(spec, ITEMS, || crossbeam_pipeline(0))
}

fn crossbeam_buffered(spec: &Spec) -> Sample {
    rounds(spec, ITEMS, || crossbeam_pipeline(CAP))
}

fn crossbeam_fanout(spec: &Spec) -> Sample {
    let n = spec.threads;
    rounds(spec, FANOUT_ITEMS, || {
        let (tx, rx) = crossbeam_channel::bounded(0);
        let (out_tx, out_rx) = crossbeam_channel::bounded(0);
        std::thread::scope(|s| {
            s.spawn(move || {
                for v in 0..FANOUT_ITEMS {
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            });
            for _ in 0..n {
                let (rx, out_tx) = (rx.clone(), out_tx.clone());
                s.spawn(move || {
                    for v in rx {
                        if out_tx.send(work(v)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(out_tx);
            out_rx.iter().fold(0u64, u64::wrapping_add)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expected sum of one `unbuffered`/`buffered` round.
    fn want_squares() -> u64 {
        (0..ITEMS)
            .map(|v| v.wrapping_mul(v))
            .filter(|v| v % 2 == 0)
            .fold(0u64, u64::wrapping_add)
    }

    #[test]
    fn every_native_case_runs_and_sums_right() {
        let spec = Spec {
            threads: 2,
            seconds: 0.0,
            latency: false,
        };
        let want = want_squares();
        assert_eq!(crossbeam_pipeline(0), want);
        assert_eq!(crossbeam_pipeline(CAP), want);
        let rt = crate::experiments::runtime_builder().workers(2).build();
        assert_eq!(rt.run(|| unbuffered_round(&context::background())), want);
        assert_eq!(rt.run(|| buffered_round(&context::background())), want);
        for f in [
            baton_unbuffered,
            baton_buffered,
            baton_fanout,
            crossbeam_fanout,
        ] {
            assert!(f(&spec).ops > 0);
        }
    }
}
