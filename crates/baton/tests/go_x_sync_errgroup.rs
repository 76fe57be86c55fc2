//! The `golang.org/x/sync/errgroup` tests, rewritten for `baton::errgroup`.
//!
//! Ported from `errgroup/errgroup_test.go` in the `golang/sync` repository
//! (BSD-style licence, The Go Authors), at ec11c4a; the panic tests from
//! CL 644575 (506c70f, "errgroup: propagate panic and Goexit through
//! Wait"), which x/sync later reverted (7fad2c9) and baton keeps (see the
//! `errgroup` module docs). Each scenario runs from plain threads and as the
//! main goroutine of a one-worker and a two-worker runtime (`common::both`),
//! under a watchdog that fails it instead of hanging; the scenarios that
//! take a context also run through the scoped variant, `errgroup::scope`.
//!
//! Where baton differs on purpose the test says so:
//! - `wait` hands the first error out once (an `E` need not be `Clone`):
//!   Go's TestZeroGroup expects every later `Wait` to return it again; here
//!   a later `wait` returns `Ok(())`, and the test checks that instead.
//! - The cancel cause is an `errgroup::Failed` carrying the error's
//!   message, not the error value itself (that goes to `wait`'s caller):
//!   TestCancelCause compares messages, not identities.
//! - `SetLimit(n)` with a negative `n` is `set_limit(None)`.
//!
//! Not ported:
//! - `ExampleGroup_justErrors` (fetches URLs over the network) and
//!   `errgroup_example_md5all_test.go` (walks a file tree): examples of
//!   use, not of semantics; `ExampleGroup_parallel` is ported below.
//! - `TestGoexit` (from CL 644575): Rust has no `runtime.Goexit`.
//! - `BenchmarkGo`: benchmarks live in the lab, never in tests.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicI32, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use baton::chan;
use baton::context::{self, Context};
use baton::errgroup::{self, BoxError, Failed, Group};

const SECS: u64 = 60;

/// Go's `errors.New`: an error compared by identity (`Arc::ptr_eq`).
#[derive(Debug)]
struct Doom(&'static str);

impl std::fmt::Display for Doom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Doom {}

/// The errors of the tables: `None` is Go's `nil`.
type Err = Option<Arc<Doom>>;

fn same(a: &Err, b: &Err) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

/// A member returning `err`.
fn member(err: Err) -> impl FnOnce() -> Result<(), Arc<Doom>> + Send + 'static {
    move || err.map_or(Ok(()), Err)
}

#[test]
fn zero_group() {
    common::both("TestZeroGroup", SECS, || {
        let err1 = Some(Arc::new(Doom("errgroup_test: 1")));
        let err2 = Some(Arc::new(Doom("errgroup_test: 2")));
        let cases: Vec<Vec<Err>> = vec![
            vec![],
            vec![None],
            vec![err1.clone()],
            vec![err1.clone(), None],
            vec![err1.clone(), None, err2.clone()],
        ];
        for errs in cases {
            let g = Group::<Arc<Doom>>::typed();
            let mut first_err: Err = None;
            let mut handed_out = false;
            for (i, err) in errs.iter().enumerate() {
                g.go(member(err.clone()));
                if first_err.is_none() && err.is_some() {
                    first_err = err.clone();
                }
                let got = g.wait().err();
                // baton: the first error is handed out by the first `wait`
                // after it, and only then (Go returns it every time).
                let want = if handed_out { None } else { first_err.clone() };
                assert!(
                    same(&got, &want),
                    "after go(return err) for err in {:?}: wait() = {got:?}; want {want:?}",
                    &errs[..=i]
                );
                handed_out |= first_err.is_some();
            }
        }
    });
}

#[test]
fn with_context() {
    common::both("TestWithContext", SECS, || {
        let err_doom = Some(Arc::new(Doom("group_test: doomed")));
        let cases: Vec<(Vec<Err>, Err)> = vec![
            (vec![], None),
            (vec![None], None),
            (vec![err_doom.clone()], err_doom.clone()),
            (vec![err_doom.clone(), None], err_doom.clone()),
        ];
        for (errs, want) in cases {
            let (g, ctx) = Group::<Arc<Doom>>::typed_with_context(&context::background());
            for err in &errs {
                g.go(member(err.clone()));
            }
            let got = g.wait().err();
            assert!(
                same(&got, &want),
                "after go(return err) for err in {errs:?}: wait() = {got:?}; want {want:?}"
            );
            assert!(
                ctx.done().try_recv() == Err(chan::TryRecvError::Closed),
                "after go(return err) for err in {errs:?}: ctx.done() was not closed"
            );

            // The scoped variant: the same table.
            let mut scope_ctx: Option<Context> = None;
            let got = errgroup::scope(&context::background(), |g| {
                scope_ctx = Some(g.context().clone());
                for err in &errs {
                    g.go(member(err.clone()));
                }
            })
            .err();
            assert!(same(&got, &want), "scope: {errs:?}: {got:?}; want {want:?}");
            assert!(
                scope_ctx.unwrap().is_done(),
                "scope: {errs:?}: not cancelled"
            );
        }
    });
}

#[test]
fn try_go() {
    common::both("TestTryGo", SECS, || {
        let g = Group::new();
        let n = 42;
        g.set_limit(Some(42));
        let (ch, rx) = chan::rendezvous::<()>();
        let f = move || {
            let ch = ch.clone();
            move || -> Result<(), BoxError> {
                ch.send(()).unwrap();
                Ok(())
            }
        };
        for i in 0..n {
            assert!(
                g.try_go(f()),
                "TryGo should succeed but got fail at {i}-th call."
            );
        }
        assert!(!g.try_go(f()), "TryGo is expected to fail but succeeded.");
        let drain = |k: usize| {
            let rx = rx.clone();
            common::spawn(move || {
                for _ in 0..k {
                    rx.recv().unwrap();
                }
            });
        };
        drain(n);
        g.wait().unwrap();

        assert!(
            g.try_go(f()),
            "TryGo should succeed but got fail after all goroutines."
        );
        drain(1);
        g.wait().unwrap();

        // Switch limit.
        g.set_limit(Some(1));
        assert!(g.try_go(f()), "TryGo should succeed but got failed.");
        assert!(!g.try_go(f()), "TryGo should fail but succeeded.");
        drain(1);
        g.wait().unwrap();

        // Block all calls.
        g.set_limit(Some(0));
        for _ in 0..1 << 10 {
            assert!(!g.try_go(f()), "TryGo should fail but got succeeded.");
        }
        g.wait().unwrap();
    });
}

#[test]
fn go_limit() {
    common::both("TestGoLimit", SECS, || {
        const LIMIT: i32 = 10;
        let g = Group::new();
        g.set_limit(Some(LIMIT as usize));
        let active = Arc::new(AtomicI32::new(0));
        for _ in 0..=1 << 10 {
            let active = active.clone();
            g.go(move || {
                let n = active.fetch_add(1, SeqCst) + 1;
                if n > LIMIT {
                    return Err(format!("saw {n} active goroutines; want ≤ {LIMIT}").into());
                }
                // Give other goroutines a chance to increment active.
                baton::time::sleep(Duration::from_micros(1));
                active.fetch_sub(1, SeqCst);
                Ok(())
            });
        }
        if let Err(e) = g.wait() {
            panic!("{e}");
        }
    });
}

#[test]
fn cancel_cause() {
    common::both("TestCancelCause", SECS, || {
        let err_doom = Some(Arc::new(Doom("group_test: doomed")));
        let cases: Vec<(Vec<Err>, Err)> = vec![
            (vec![], None),
            (vec![None], None),
            (vec![err_doom.clone()], err_doom.clone()),
            (vec![err_doom.clone(), None], err_doom.clone()),
        ];
        for (errs, want) in cases {
            let (g, ctx) = Group::<Arc<Doom>>::typed_with_context(&context::background());
            for err in &errs {
                assert!(g.try_go(member(err.clone())));
            }
            let got = g.wait().err();
            assert!(
                same(&got, &want),
                "try_go {errs:?}: wait() = {got:?}; want {want:?}"
            );
            let cause = context::cause(&ctx).expect("cancelled by wait");
            match &want {
                // Go: `context.Cause(ctx) == context.Canceled`.
                None => assert_eq!(
                    cause.downcast_ref::<context::Error>(),
                    Some(&context::Error::Canceled),
                    "{errs:?}: cause {cause}"
                ),
                // Go: `context.Cause(ctx) == errDoom`; baton: its message.
                Some(doom) => {
                    let failed = cause.downcast_ref::<Failed>().expect("a Failed cause");
                    assert_eq!(failed.message(), doom.0);
                    assert!(!failed.panicked());
                }
            }
        }
    });
}

#[test]
fn panic_propagates_through_wait() {
    // From CL 644575's TestPanic ("error" and "any"): the payload, as it
    // was, comes out of `wait`.
    common::both("TestPanic", SECS, || {
        let g = Group::new();
        g.go(|| std::panic::panic_any(Doom("")));
        let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.wait()))
            .expect_err("should propagate panic through wait");
        assert!(
            p.downcast_ref::<Doom>().is_some(),
            "the payload is the panic's own"
        );

        let g = Group::new();
        g.go(|| std::panic::panic_any(1_i32));
        let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.wait()))
            .expect_err("should propagate panic through wait");
        assert_eq!(p.downcast_ref::<i32>(), Some(&1));
    });
}

#[test]
fn panic_cancels_the_context_at_once() {
    // baton's answer to golang/go#53757: the others are asked to stop as
    // soon as a member panics, not at `wait`. The other member below ends
    // only through the cancellation (a hang here fails the watchdog).
    common::both("panic cancels at once", SECS, || {
        let (g, ctx) = Group::with_context(&context::background());
        let (stopped_tx, stopped) = chan::bounded(1);
        let waiter_ctx = ctx.clone();
        g.go(move || {
            waiter_ctx.done().recv().ok();
            stopped_tx.send(context::cause(&waiter_ctx)).unwrap();
            Ok(())
        });
        g.go(|| panic!("member down"));
        let cause = stopped.recv().unwrap().expect("a cause");
        let failed = cause.downcast_ref::<Failed>().expect("a Failed cause");
        assert!(failed.panicked());
        assert_eq!(failed.message(), "member down");
        let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.wait()))
            .expect_err("wait re-raises");
        assert_eq!(p.downcast_ref::<&str>(), Some(&"member down"));

        // The scoped variant: the same, with a borrowed waiter.
        let mut woke = false;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            errgroup::scope::<BoxError, _, _>(&context::background(), |g| {
                let ctx = g.context().clone();
                let woke = &mut woke;
                g.go(move || {
                    ctx.done().recv().ok();
                    *woke = true;
                    Ok(())
                });
                g.go(|| panic!("scoped member down"));
            })
        }));
        let p = r.expect_err("scope re-raises");
        assert_eq!(p.downcast_ref::<&str>(), Some(&"scoped member down"));
        assert!(woke, "the other member ran to its end before the re-raise");
    });
}

#[test]
fn a_panicking_scope_body_cancels_its_members() {
    common::both("scope body panics", SECS, || {
        let r = std::panic::catch_unwind(|| {
            errgroup::scope::<BoxError, _, _>(&context::background(), |g| {
                let ctx = g.context().clone();
                g.go(move || {
                    ctx.done().recv().ok(); // ends only through the cancellation
                    Ok(())
                });
                panic!("body down");
            })
        });
        let p = r.expect_err("the body's panic comes out");
        assert_eq!(p.downcast_ref::<&str>(), Some(&"body down"));
    });
}

#[test]
fn example_group_parallel() {
    // ExampleGroup_parallel: "Google Search 2.0" with a context and errors.
    type Search = fn(&Context, &str) -> Result<String, BoxError>;
    fn fake(kind: &'static str) -> impl Fn(&Context, &str) -> Result<String, BoxError> {
        move |_ctx, query| Ok(format!("{kind} result for {query:?}"))
    }
    fn web(c: &Context, q: &str) -> Result<String, BoxError> {
        fake("web")(c, q)
    }
    fn image(c: &Context, q: &str) -> Result<String, BoxError> {
        fake("image")(c, q)
    }
    fn video(c: &Context, q: &str) -> Result<String, BoxError> {
        fake("video")(c, q)
    }
    fn google(ctx: &Context, query: &str) -> Result<Vec<String>, BoxError> {
        let searches: [Search; 3] = [web, image, video];
        let mut results = vec![String::new(); searches.len()];
        errgroup::scope::<BoxError, _, _>(ctx, |g| {
            let ctx = g.context().clone();
            for (search, result) in searches.iter().zip(results.iter_mut()) {
                let ctx = ctx.clone();
                g.go(move || {
                    *result = search(&ctx, query)?;
                    Ok(())
                });
            }
        })?;
        Ok(results)
    }
    common::both("ExampleGroup_parallel", SECS, || {
        let results = google(&context::background(), "golang").unwrap();
        assert_eq!(
            results,
            [
                "web result for \"golang\"",
                "image result for \"golang\"",
                "video result for \"golang\"",
            ]
        );
    });
}
