//! `context`: cancellation trees, Go's `context` against Go and tokio-util.
//!
//! - `derive-cancel`: derive a cancellable child of a live, shared parent
//!   and cancel it at once: the registration in the parent and its
//!   withdrawal are the cost (Go: a map insert and delete under the
//!   parent's mutex; tokio-util: a `Vec` push and swap-remove under the
//!   parent's mutex; baton: a slab insert and remove under the parent's
//!   spin lock). With 2 and 8 threads they contend on the one parent.
//! - `fanout`: 10k goroutines blocked on `done()` (Go: `<-ctx.Done()`) of
//!   one context; one op = one waiter woken, timed from the cancel to the
//!   last waiter's wake-up. Spawning, parking and the goroutines' exits
//!   are untimed: a woken goroutine counts itself and then waits to be
//!   released, so the figure is the wake-up alone (goroutine start and
//!   exit are the `goroutines` experiment's).
//!   tokio-util has no peer here: its waiters are futures, and this lab
//!   measures blocking code.
//! - `check`: `err()` on a live context (tokio-util: `is_cancelled`, Go:
//!   `ctx.Err()`), the poll a long loop does between units of work.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::context;
use baton::sync::WaitGroup;
use tokio_util::sync::CancellationToken;

use super::{Case, Experiment, Impl};
use crate::runner::{measure, Sample, Spec};

/// Waiters per `fanout` round.
pub(crate) const FANOUT: usize = 10_000;

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "context",
        claim: "baton's context derives, cancels and checks faster than Go's and tokio-util's, and wakes a crowd of waiters as fast as Go",
        cases: vec![
            Case {
                name: "derive-cancel",
                about: "one op = derive a cancellable child of one shared live parent, then cancel it",
                threads: &[1, 2, 8],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("baton", "context::with_cancel(&parent) + CancelFunc::cancel", baton_derive_cancel),
                    Impl::native("tokio-util", "CancellationToken::child_token + cancel", tokio_derive_cancel),
                    Impl::go("go", "Go: context.WithCancel(parent) + cancel()"),
                ],
            },
            Case {
                name: "fanout",
                about: "one op = one of 10k goroutines blocked on done() woken, timed from the cancel \
                        to the last wake-up (spawn, park and exit untimed); threads = scheduler threads",
                threads: &[1, 2],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("baton", "10k goroutines in recv(ctx.done()), one CancelFunc::cancel", baton_fanout),
                    Impl::go("go", "Go: 10k goroutines in <-ctx.Done(), one cancel()"),
                ],
            },
            Case {
                name: "check",
                about: "one op = err() on a live context (a cancellable child of background)",
                threads: &[1, 2, 8],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("baton", "Context::err", baton_check),
                    Impl::native("tokio-util", "CancellationToken::is_cancelled", tokio_check),
                    Impl::go("go", "Go: ctx.Err()"),
                ],
            },
        ],
    }
}

fn baton_derive_cancel(spec: &Spec) -> Sample {
    let (parent, _cancel) = context::with_cancel(&context::background());
    measure(spec, &parent, |parent, _| {
        move || {
            let (child, cancel) = context::with_cancel(parent);
            cancel.cancel();
            black_box(child);
        }
    })
}

fn tokio_derive_cancel(spec: &Spec) -> Sample {
    let parent = CancellationToken::new();
    measure(spec, &parent, |parent, _| {
        move || {
            let child = parent.child_token();
            child.cancel();
            black_box(child);
        }
    })
}

fn baton_check(spec: &Spec) -> Sample {
    let (ctx, _cancel) = context::with_cancel(&context::background());
    measure(spec, &ctx, |ctx, _| {
        move || {
            black_box(black_box(ctx).err());
        }
    })
}

fn tokio_check(spec: &Spec) -> Sample {
    let token = CancellationToken::new();
    measure(spec, &token, |token, _| {
        move || {
            black_box(black_box(token).is_cancelled());
        }
    })
}

/// Rounds of [`FANOUT`] goroutines blocked on one context's `done()`; only
/// the time from the cancel to the last wake-up is counted.
fn baton_fanout(spec: &Spec) -> Sample {
    let seconds = spec.seconds;
    let rt = crate::experiments::runtime_builder()
        .workers(spec.threads)
        .build();
    rt.run(move || {
        let mut timed = Duration::ZERO;
        let mut ops = 0u64;
        let start = Instant::now();
        while ops == 0 || start.elapsed().as_secs_f64() < seconds {
            let (ctx, cancel) = context::with_cancel(&context::background());
            let started = Arc::new(WaitGroup::new());
            let woke = Arc::new(WaitGroup::new());
            let exited = Arc::new(WaitGroup::new());
            exited.add(FANOUT as isize);
            let (release, released) = baton::chan::bounded::<()>(1);
            started.add(FANOUT as isize);
            woke.add(FANOUT as isize);
            for _ in 0..FANOUT {
                let (ctx, started, woke) = (ctx.clone(), started.clone(), woke.clone());
                let released = released.clone();
                let exited = exited.clone();
                drop(baton::go(move || {
                    started.done();
                    let _ = ctx.done().recv();
                    woke.done();
                    // Exit after the timing (closed below).
                    let _ = released.recv();
                    exited.done();
                }));
            }
            started.wait();
            // Let the last ones reach their park (Go's side does the same).
            baton::time::sleep(Duration::from_millis(1));
            let t0 = Instant::now();
            cancel.cancel();
            woke.wait();
            timed += t0.elapsed();
            ops += FANOUT as u64;
            drop(release);
            exited.wait();
        }
        Sample {
            ops,
            elapsed: timed,
            ..Sample::default()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(threads: usize) -> Spec {
        Spec {
            threads,
            seconds: 0.01,
            latency: false,
        }
    }

    #[test]
    fn every_native_case_runs() {
        for f in [
            baton_derive_cancel,
            tokio_derive_cancel,
            baton_check,
            tokio_check,
            baton_fanout,
        ] {
            assert!(f(&spec(2)).ops > 0);
        }
    }
}
