//! Stress tests for `baton::errgroup` with 16 threads or goroutines (8x the
//! 2 cores of the CI machines): many groups at once, each with a limit,
//! members that fail, panic, or wait on the group's context. Each body runs
//! under a watchdog that names the scenario if it hangs (a member that is
//! never woken by the cancellation, a `wait` that misses the last member).
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use baton::context;
use baton::errgroup::{self, Failed, Group};

const THREADS: usize = 16;
const ROUNDS: usize = 60;
const MEMBERS: usize = 24;

/// One group's life: a limit, members that check it, one member that fails
/// (or none), the others waiting on the context when there is a failure.
fn one_round(seed: usize) {
    let limit = 1 + seed % 4;
    let fail_at = (seed % 3 != 0).then_some(seed % MEMBERS);
    let (g, ctx) = Group::<usize>::typed_with_context(&context::background());
    g.set_limit(Some(limit));
    let active = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    for k in 0..MEMBERS {
        let (active, most, ctx) = (active.clone(), most.clone(), ctx.clone());
        g.go(move || {
            let now = active.fetch_add(1, SeqCst) + 1;
            most.fetch_max(now, SeqCst);
            let r = if Some(k) == fail_at {
                Err(k)
            } else if fail_at.is_some_and(|f| k > f) && k % 2 == 0 {
                // A member that ends only through the cancellation (at once
                // if it starts after the failure). Only members started
                // after the failing one: before it, they could hold every
                // slot of the limit and keep it from starting (a deadlock,
                // in Go as here).
                let _ = baton::time::sleep_ctx(&ctx, Duration::from_secs(3600));
                Ok(())
            } else {
                baton::yield_now();
                Ok(())
            };
            active.fetch_sub(1, SeqCst);
            r
        });
    }
    let got = g.wait();
    assert!(ctx.is_done(), "wait cancels the context");
    assert!(
        most.load(SeqCst) <= limit,
        "{} active > limit {limit}",
        most.load(SeqCst)
    );
    assert_eq!(
        active.load(SeqCst),
        0,
        "wait returned before every member finished"
    );
    match fail_at {
        Some(k) => {
            assert_eq!(got, Err(k));
            let cause = context::cause(&ctx).unwrap();
            assert_eq!(
                cause.downcast_ref::<Failed>().unwrap().message(),
                k.to_string()
            );
        }
        None => assert_eq!(got, Ok(())),
    }
}

#[test]
fn stress_many_groups_from_threads() {
    common::within("errgroup from 16 threads", 300, || {
        let hs: Vec<_> = (0..THREADS)
            .map(|t| {
                std::thread::spawn(move || (0..ROUNDS).for_each(|r| one_round(t * ROUNDS + r)))
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn stress_many_groups_from_goroutines() {
    common::within("errgroup from 16 goroutines on 2 workers", 300, || {
        let rt = baton::runtime::Builder::new().workers(2).build();
        rt.run(|| {
            let hs: Vec<_> = (0..THREADS)
                .map(|t| baton::go(move || (0..ROUNDS).for_each(|r| one_round(t * ROUNDS + r))))
                .collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
        });
    });
}

#[test]
fn stress_panics_cancel_at_once_and_surface_at_wait() {
    // Several members panic; the rest wait on the context and must all be
    // woken by the first panic (not by `wait`, which they would otherwise
    // block forever). `wait` re-raises exactly one of the panics.
    // The members' planned panics (usize payloads) would print hundreds of
    // reports (with backtraces under RUST_BACKTRACE); keep the rest.
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if info.payload().downcast_ref::<usize>().is_none() {
            report(info);
        }
    }));
    common::within("errgroup panic storm", 300, || {
        let hs: Vec<_> = (0..THREADS)
            .map(|t| {
                std::thread::spawn(move || {
                    for r in 0..ROUNDS / 4 {
                        let (g, ctx) = Group::with_context(&context::background());
                        let woken = Arc::new(AtomicUsize::new(0));
                        for k in 0..MEMBERS {
                            let (ctx, woken) = (ctx.clone(), woken.clone());
                            g.go(move || {
                                if k % 8 == (t + r) % 8 {
                                    std::panic::panic_any(k);
                                }
                                ctx.done().recv().ok();
                                woken.fetch_add(1, SeqCst);
                                Ok(())
                            });
                        }
                        let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.wait()))
                            .expect_err("a member panicked");
                        let k = *p.downcast_ref::<usize>().expect("a member's payload");
                        assert_eq!(k % 8, (t + r) % 8);
                        assert_eq!(woken.load(SeqCst), MEMBERS - MEMBERS / 8);
                    }
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
}

#[test]
fn stress_nested_scopes() {
    // Scoped groups inside members of scoped groups, borrowing down the
    // stack at every level; an error deep down reaches the top.
    common::within("nested errgroup scopes", 300, || {
        fn level(depth: u32, path: &[u32], fail: &[u32]) -> Result<u64, errgroup::BoxError> {
            if depth == 0 {
                if path == fail {
                    return Err(format!("leaf {path:?} failed").into());
                }
                return Ok(1);
            }
            let mut counts = [0u64; 3];
            errgroup::scope::<errgroup::BoxError, _, _>(&context::background(), |g| {
                for (i, c) in counts.iter_mut().enumerate() {
                    let mut p = path.to_vec();
                    p.push(i as u32);
                    g.go(move || {
                        *c = level(depth - 1, &p, fail)?;
                        Ok(())
                    });
                }
            })?;
            Ok(counts.iter().sum())
        }
        let hs: Vec<_> = (0..THREADS as u32)
            .map(|t| {
                std::thread::spawn(move || {
                    assert_eq!(level(4, &[], &[9]).unwrap(), 81);
                    let fail = [t % 3, (t / 3) % 3, 1, 2];
                    let e = level(4, &[], &fail).unwrap_err();
                    assert_eq!(e.to_string(), format!("leaf {fail:?} failed"));
                })
            })
            .collect();
        hs.into_iter().for_each(|h| h.join().unwrap());
    });
}
