//! Go's `src/context/x_test.go` and `src/context/context_test.go` (Go
//! 1.21+), the tests that apply to baton's `context`, each scenario run
//! from plain threads and from one- and two-worker runtimes
//! (`common::both`): TestBackground, TestTODO, TestWithCancel,
//! TestParentFinishesChild, TestChildFinishesFirst, TestDeadline,
//! TestTimeout, TestCanceledTimeout, TestValues, TestSimultaneousCancels,
//! TestInterlockedCancels, TestLayersCancel, TestLayersTimeout,
//! TestCancelRemoves, TestWithCancelCanceledParent,
//! TestWithCancelSimultaneouslyCanceledParent,
//! TestDeadlineExceededSupportsTimeout, TestCause, TestCauseRace,
//! TestWithoutCancel, TestAfterFuncCalledAfterCancel,
//! TestAfterFuncCalledAfterTimeout, TestAfterFuncCalledImmediately,
//! TestAfterFuncNotCalledAfterStop, TestAfterFuncCalledAsynchronously.
//! Go reads the unexported `cancelCtx.children` map; here the same checks
//! count registrations through the `#[doc(hidden)]`
//! `Context::__registrations` accessor.
//!
//! Then baton's own: memory stays flat (a million short-lived children of
//! one parent, cancelled or dropped, leave no registration), the cancel
//! fan-out (many goroutines blocked in `select!` on descendants' `done()`
//! all wake after one cancel, and none is left), and the rule that
//! dropping the last `CancelFunc` cancels.
//!
//! Not ported, and why:
//! - `otherContext` variants (a user type embedding `Context`),
//!   TestCustomContextGoroutines, TestCustomContextPropagation,
//!   TestCustomContextCause: `Context` is a concrete type here, not an
//!   interface users implement, so there is no foreign context to wrap.
//! - TestAllocs: Go's allocation counts under its escape analysis; not a
//!   behaviour (allocation figures belong in the lab).
//! - TestWithValueChecksKey, TestInvalidDerivedFail: nil and incomparable
//!   keys and nil parents cannot be written in Rust (keys are types, a
//!   parent is a `&Context`).
//!
//! Time: only lower bounds are asserted, upper bounds are hang timeouts
//! (the machine is shared).
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton::chan::{self, RecvTimeoutError, TryRecvError};
use baton::context::{self, Cause, Context, Error};
use baton::select;
use common::{both, spawn, within};

const SHORT: Duration = Duration::from_millis(1);
const VERY_LONG: Duration = Duration::from_secs(1000 * 3600);
/// How long a test waits for something that should happen before failing
/// (a hang guard, not a speed claim).
const QUIESCENT: Duration = Duration::from_secs(20);

/// Whether `ctx.done()` is closed right now (Go's `select` with a
/// `default`).
fn done_now(ctx: &Context) -> bool {
    match ctx.done().try_recv() {
        Err(TryRecvError::Closed) => true,
        Err(TryRecvError::Empty) => false,
        Ok(()) => panic!("a done channel never carries a value"),
    }
}

fn background() {
    let c = context::background();
    assert!(!done_now(&c), "<-c.Done() should block");
    assert_eq!(format!("{c:?}"), "context.Background");
    assert_eq!(c.err(), None);
    assert_eq!(c.deadline(), None);
    assert!(context::cause(&c).is_none());
}

#[test]
fn test_background() {
    both("TestBackground", 30, background);
}

fn todo() {
    let c = context::todo();
    assert!(!done_now(&c), "<-c.Done() should block");
    assert_eq!(format!("{c:?}"), "context.TODO");
}

#[test]
fn test_todo() {
    both("TestTODO", 30, todo);
}

fn with_cancel() {
    let (c1, cancel) = context::with_cancel(&context::background());
    assert_eq!(format!("{c1:?}"), "context.Background.WithCancel");
    let v = context::with_value(&c1, 5u8);
    let (c2, _cancel2) = context::with_cancel(&v);
    let contexts = [&c1, &v, &c2];
    for (i, c) in contexts.iter().enumerate() {
        assert_eq!(c.err(), None, "c[{i}].err()");
        assert!(!done_now(c), "<-c[{i}].Done() should block");
    }
    cancel.cancel(); // propagates synchronously
    for (i, c) in contexts.iter().enumerate() {
        assert!(done_now(c), "<-c[{i}].Done() blocked, but shouldn't have");
        assert_eq!(c.err(), Some(Error::Canceled), "c[{i}].err()");
    }
}

#[test]
fn test_with_cancel() {
    both("TestWithCancel", 30, with_cancel);
}

struct Key(&'static str);

fn parent_finishes_child() {
    // parent -> cancel_child
    // parent -> value_child -> timer_child
    let (parent, cancel) = context::with_cancel(&context::background());
    let (cancel_child, _stop1) = context::with_cancel(&parent);
    let value_child = context::with_value(&parent, Key("value"));
    let (timer_child, _stop2) = context::with_timeout(&value_child, 10_000 * 3600 * SHORT * 1000);
    for (c, name) in [
        (&parent, "parent"),
        (&cancel_child, "cancelChild"),
        (&timer_child, "timerChild"),
        (&value_child, "valueChild"),
    ] {
        assert!(!done_now(c), "<-{name}.Done() should block");
    }
    // The parent holds the two cancellable children (the value context is
    // not one), and nothing else.
    assert_eq!(parent.__registrations(), 2, "bad linkage");
    cancel.cancel();
    assert_eq!(
        parent.__registrations(),
        0,
        "cancel didn't clear the children"
    );
    for (c, name) in [
        (&parent, "parent"),
        (&cancel_child, "cancelChild"),
        (&value_child, "valueChild"),
        (&timer_child, "timerChild"),
    ] {
        assert!(done_now(c), "<-{name}.Done() blocked, but shouldn't have");
        assert_eq!(c.err(), Some(Error::Canceled), "{name}.err()");
    }
    // Deriving from a cancelled parent gives a cancelled context.
    let precanceled = context::with_value(&parent, Key("value"));
    assert!(done_now(&precanceled));
    assert_eq!(precanceled.err(), Some(Error::Canceled));
    let (precanceled2, _c) = context::with_cancel(&parent);
    assert_eq!(precanceled2.err(), Some(Error::Canceled));
}

#[test]
fn test_parent_finishes_child() {
    both("TestParentFinishesChild", 30, parent_finishes_child);
}

fn child_finishes_first() {
    let (cancelable, _stop) = context::with_cancel(&context::background());
    for (parent, can_cancel) in [(context::background(), false), (cancelable, true)] {
        let (child, cancel) = context::with_cancel(&parent);
        assert!(!done_now(&parent) && !done_now(&child));
        if can_cancel {
            assert_eq!(parent.__registrations(), 1, "bad linkage");
        }
        cancel.cancel();
        if can_cancel {
            assert_eq!(
                parent.__registrations(),
                0,
                "child's cancel didn't remove itself from the parent"
            );
        }
        assert!(done_now(&child));
        assert_eq!(child.err(), Some(Error::Canceled));
        assert!(!done_now(&parent), "the parent should not be finished");
        assert_eq!(parent.err(), None);
    }
}

#[test]
fn test_child_finishes_first() {
    both("TestChildFinishesFirst", 30, child_finishes_first);
}

/// Go's `testDeadline`: `c` is done within the hang guard, with
/// `DeadlineExceeded`.
fn expect_deadline(c: &Context, name: &str) {
    select! {
        recv(c.done()) -> _ => {},
        recv(baton::time::after(QUIESCENT)) -> _ => panic!("{name}: context not timed out after {QUIESCENT:?}"),
    }
    assert_eq!(c.err(), Some(Error::DeadlineExceeded), "{name}: c.err()");
}

fn deadline() {
    let start = Instant::now();
    let (c, _c1) = context::with_deadline(&context::background(), Instant::now() + SHORT);
    let s = format!("{c:?}");
    assert!(
        s.starts_with("context.Background.WithDeadline("),
        "c.String() = {s:?}"
    );
    expect_deadline(&c, "WithDeadline");
    assert!(start.elapsed() >= SHORT, "done before the deadline");

    let (c, _c2) = context::with_deadline(&context::background(), Instant::now() + SHORT);
    let o = context::with_value(&c, Key("o"));
    expect_deadline(&o, "WithDeadline+value");

    let (c, _c3) = context::with_deadline(&context::background(), Instant::now() + SHORT);
    let o = context::with_value(&c, Key("o"));
    let (c, _c4) = context::with_deadline(&o, Instant::now() + VERY_LONG);
    expect_deadline(&c, "WithDeadline+value+WithDeadline");

    let (c, _c5) = context::with_deadline(&context::background(), Instant::now() - SHORT);
    expect_deadline(&c, "WithDeadline+inthepast");

    let (c, _c6) = context::with_deadline(&context::background(), Instant::now());
    expect_deadline(&c, "WithDeadline+now");
}

#[test]
fn test_deadline() {
    both("TestDeadline", 60, deadline);
}

fn timeout() {
    let (c, _c1) = context::with_timeout(&context::background(), SHORT);
    let s = format!("{c:?}");
    assert!(
        s.starts_with("context.Background.WithDeadline("),
        "c.String() = {s:?}"
    );
    expect_deadline(&c, "WithTimeout");

    let (c, _c2) = context::with_timeout(&context::background(), SHORT);
    let o = context::with_value(&c, Key("o"));
    expect_deadline(&o, "WithTimeout+value");

    let (c, _c3) = context::with_timeout(&context::background(), SHORT);
    let o = context::with_value(&c, Key("o"));
    let (c, _c4) = context::with_timeout(&o, VERY_LONG);
    expect_deadline(&c, "WithTimeout+value+WithTimeout");
}

#[test]
fn test_timeout() {
    both("TestTimeout", 60, timeout);
}

fn canceled_timeout() {
    let (c, _c1) = context::with_timeout(&context::background(), Duration::from_secs(1));
    let o = context::with_value(&c, Key("o"));
    let (c, cancel) = context::with_timeout(&o, VERY_LONG);
    cancel.cancel(); // propagates synchronously
    assert!(done_now(&c), "<-c.Done() blocked, but shouldn't have");
    assert_eq!(c.err(), Some(Error::Canceled));
}

#[test]
fn test_canceled_timeout() {
    both("TestCanceledTimeout", 30, canceled_timeout);
}

// Go's keys: k1 = key1(1), k2 = key2(1) (same int, other type), k3 =
// key2(3) (same type, other int). A key here is a type, so the three keys
// are three types; a "nil" value is a `None` stored under the key.
struct K1(Option<&'static str>);
struct K2(Option<&'static str>);
struct K3(Option<&'static str>);

fn values() {
    fn check(c: &Context, nm: &str, v1: &str, v2: &str, v3: &str) {
        let get1 = c.value::<K1>().and_then(|k| k.0).unwrap_or("");
        let get2 = c.value::<K2>().and_then(|k| k.0).unwrap_or("");
        let get3 = c.value::<K3>().and_then(|k| k.0).unwrap_or("");
        assert_eq!((get1, get2, get3), (v1, v2, v3), "{nm}.Value(k1, k2, k3)");
    }
    let c0 = context::background();
    check(&c0, "c0", "", "", "");
    let c1 = context::with_value(&context::background(), K1(Some("c1k1")));
    check(&c1, "c1", "c1k1", "", "");
    let s = format!("{c1:?}");
    assert!(
        s.starts_with("context.Background.WithValue(") && s.contains("K1"),
        "{s}"
    );
    let c2 = context::with_value(&c1, K2(Some("c2k2")));
    check(&c2, "c2", "c1k1", "c2k2", "");
    let c3 = context::with_value(&c2, K3(Some("c3k3")));
    check(&c3, "c3", "c1k1", "c2k2", "c3k3");
    let c4 = context::with_value(&c3, K1(None));
    check(&c4, "c4", "", "c2k2", "c3k3");
    // Go's otherContext wrappers become cancellable contexts in between,
    // which must pass lookups through.
    let (o1, _x) = context::with_cancel(&context::with_value(
        &context::background(),
        K1(Some("c1k1")),
    ));
    check(&o1, "o1", "c1k1", "", "");
    let o2 = context::with_value(&o1, K2(Some("o2k2")));
    check(&o2, "o2", "c1k1", "o2k2", "");
    let (o3, _y) = context::with_cancel(&c4);
    check(&o3, "o3", "", "c2k2", "c3k3");
    let o4 = context::with_value(&o3, K3(None));
    check(&o4, "o4", "", "c2k2", "");
}

#[test]
fn test_values() {
    both("TestValues", 30, values);
}

fn simultaneous_cancels() {
    let (root, cancel) = context::with_cancel(&context::background());
    let mut all = vec![(root.clone(), cancel)];
    let mut queue = std::collections::VecDeque::from([root]);
    // A tree of contexts, four children each, about a hundred.
    while let Some(parent) = queue.pop_front() {
        if all.len() >= 100 {
            break;
        }
        for _ in 0..4 {
            let (ctx, cancel) = context::with_cancel(&parent);
            all.push((ctx.clone(), cancel));
            queue.push_back(ctx);
        }
    }
    // Start all the cancels, in an arbitrary order.
    let wg = Arc::new(baton::sync::WaitGroup::new());
    let mut cancels: Vec<_> = all.iter().map(|(_, c)| c.clone()).collect();
    cancels.reverse();
    cancels.swap(0, 50);
    for cancel in cancels {
        wg.add(1);
        let wg = wg.clone();
        spawn(move || {
            cancel.cancel();
            wg.done();
        });
    }
    // Wait on every context.
    for (ctx, _) in &all {
        select! {
            recv(ctx.done()) -> _ => {},
            recv(baton::time::after(QUIESCENT)) -> _ => panic!("timed out waiting for <-ctx.Done()"),
        }
    }
    wg.wait(); // every cancel function returns (the watchdog guards a hang)
}

#[test]
fn test_simultaneous_cancels() {
    both("TestSimultaneousCancels", 60, simultaneous_cancels);
}

fn interlocked_cancels() {
    let (parent, cancel_parent) = context::with_cancel(&context::background());
    let (child, cancel_child) = context::with_cancel(&parent);
    {
        let parent = parent.clone();
        spawn(move || {
            let _ = parent.done().recv();
            cancel_child.cancel();
        });
    }
    cancel_parent.cancel();
    select! {
        recv(child.done()) -> _ => {},
        recv(baton::time::after(QUIESCENT)) -> _ => panic!("timed out waiting for child.Done()"),
    }
}

#[test]
fn test_interlocked_cancels() {
    both("TestInterlockedCancels", 30, interlocked_cancels);
}

/// A small deterministic generator (Go seeds `math/rand` with the time;
/// the seed is printed on failure here too).
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn layers(seed: u64, test_timeout: bool) {
    struct Val(usize);
    let mut r = Rng(seed | 1);
    let mut vals = 0usize;
    let mut cancels = Vec::new();
    let mut timers = 0;
    let mut ctx = context::background();
    let mut i = 0;
    // Each value layer gets its own type-key by wrapping: Val(n) at depth
    // n; lookups must find the innermost Val, which is the last added.
    while i < 30 || timers == 0 || cancels.is_empty() || vals == 0 {
        match r.below(3) {
            0 => {
                vals += 1;
                ctx = context::with_value(&ctx, Val(vals));
            }
            1 => {
                let (c, cancel) = context::with_cancel(&ctx);
                ctx = c;
                cancels.push(cancel);
            }
            _ => {
                let d = if test_timeout { SHORT } else { VERY_LONG };
                let (c, cancel) = context::with_timeout(&ctx, d);
                ctx = c;
                cancels.push(cancel);
                timers += 1;
            }
        }
        i += 1;
    }
    let check_values = |when: &str| {
        assert_eq!(
            ctx.value::<Val>().map(|v| v.0),
            Some(vals),
            "seed={seed}: {when}: the innermost value"
        );
    };
    if !test_timeout {
        assert!(
            !done_now(&ctx),
            "seed={seed}: ctx should not be canceled yet"
        );
    }
    let s = format!("{ctx:?}");
    assert!(s.starts_with("context.Background."), "{s}");
    check_values("before cancel");
    if test_timeout {
        select! {
            recv(ctx.done()) -> _ => {},
            recv(baton::time::after(QUIESCENT)) -> _ => panic!("seed={seed}: ctx should have timed out"),
        }
        assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
        check_values("after timeout");
    } else {
        let k = r.below(cancels.len() as u64) as usize;
        cancels[k].cancel();
        assert!(done_now(&ctx), "seed={seed}: ctx should be canceled");
        check_values("after cancel");
    }
}

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[test]
fn test_layers_cancel() {
    both("TestLayersCancel", 30, || layers(seed(), false));
}

#[test]
fn test_layers_timeout() {
    both("TestLayersTimeout", 30, || layers(seed(), true));
}

fn cancel_removes() {
    let (ctx, _c) = context::with_cancel(&context::background());
    assert_eq!(ctx.__registrations(), 0, "after creation");
    let (_child, cancel) = context::with_cancel(&ctx);
    assert_eq!(ctx.__registrations(), 1, "with WithCancel child");
    cancel.cancel();
    assert_eq!(ctx.__registrations(), 0, "after canceling WithCancel child");

    let (ctx, _c) = context::with_cancel(&context::background());
    let (_child, cancel) = context::with_timeout(&ctx, Duration::from_secs(3600));
    assert_eq!(ctx.__registrations(), 1, "with WithTimeout child");
    cancel.cancel();
    assert_eq!(
        ctx.__registrations(),
        0,
        "after canceling WithTimeout child"
    );

    // And an after_func that stops, and one that ran.
    let (ctx, cancel) = context::with_cancel(&context::background());
    let stop = context::after_func(&ctx, || {});
    assert_eq!(ctx.__registrations(), 1, "with AfterFunc");
    assert!(stop.stop());
    assert_eq!(ctx.__registrations(), 0, "after stopping AfterFunc");
    drop(cancel);
}

#[test]
fn test_cancel_removes() {
    both("TestCancelRemoves", 30, cancel_removes);
}

#[derive(Debug)]
struct Because(&'static str);
impl std::fmt::Display for Because {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for Because {}

fn cause_of(s: &'static str) -> Cause {
    Arc::new(Because(s))
}

fn with_cancel_canceled_parent() {
    let (parent, pcancel) = context::with_cancel_cause(&context::background());
    let cause = cause_of("Because!");
    pcancel.cancel(cause.clone());
    let (c, _c) = context::with_cancel(&parent);
    assert!(done_now(&c), "child not done immediately upon construction");
    assert_eq!(c.err(), Some(Error::Canceled));
    assert!(
        Arc::ptr_eq(&context::cause(&c).unwrap(), &cause),
        "child has wrong cause"
    );
}

#[test]
fn test_with_cancel_canceled_parent() {
    both(
        "TestWithCancelCanceledParent",
        30,
        with_cancel_canceled_parent,
    );
}

fn with_cancel_simultaneously_canceled_parent() {
    for _ in 0..100 {
        let (parent, pcancel) = context::with_cancel_cause(&context::background());
        let cause = cause_of("Because!");
        {
            let cause = cause.clone();
            spawn(move || pcancel.cancel(cause));
        }
        let (c, _c) = context::with_cancel(&parent);
        let _ = c.done().recv();
        assert_eq!(c.err(), Some(Error::Canceled));
        assert!(
            Arc::ptr_eq(&context::cause(&c).unwrap(), &cause),
            "child has wrong cause"
        );
    }
}

#[test]
fn test_with_cancel_simultaneously_canceled_parent() {
    both(
        "TestWithCancelSimultaneouslyCanceledParent",
        30,
        with_cancel_simultaneously_canceled_parent,
    );
}

#[test]
fn test_deadline_exceeded_supports_timeout() {
    assert!(Error::DeadlineExceeded.is_timeout());
    assert!(!Error::Canceled.is_timeout());
    assert_eq!(
        Error::DeadlineExceeded.to_io().kind(),
        std::io::ErrorKind::TimedOut
    );
    assert_eq!(Error::Canceled.to_string(), "context canceled");
    assert_eq!(
        Error::DeadlineExceeded.to_string(),
        "context deadline exceeded"
    );
}

/// What `cause` must return: nothing, one of the context errors, or a
/// given cause (compared by identity, as Go compares error values).
enum Want {
    None,
    Err(Error),
    Is(Cause),
}

fn check_cause(name: &str, ctx: &Context, err: Option<Error>, want: Want) {
    assert_eq!(ctx.err(), err, "{name}: ctx.err()");
    let got = context::cause(ctx);
    match (got, want) {
        (None, Want::None) => {}
        (Some(g), Want::Err(e)) => assert_eq!(
            g.downcast_ref::<Error>(),
            Some(&e),
            "{name}: cause = {g}, want {e}"
        ),
        (Some(g), Want::Is(c)) => assert!(Arc::ptr_eq(&g, &c), "{name}: cause = {g}, want {c}"),
        (g, _) => panic!("{name}: unexpected cause {g:?}"),
    }
}

fn cause() {
    let forever = Duration::from_secs(1_000_000);
    let parent_cause = cause_of("parentCause");
    let child_cause = cause_of("childCause");
    let too_slow = cause_of("tooSlow");
    let finished_early = cause_of("finishedEarly");
    let bg = context::background;
    check_cause("Background", &bg(), None, Want::None);
    check_cause("TODO", &context::todo(), None, Want::None);
    {
        let (ctx, cancel) = context::with_cancel(&bg());
        cancel.cancel();
        check_cause(
            "WithCancel",
            &ctx,
            Some(Error::Canceled),
            Want::Err(Error::Canceled),
        );
    }
    {
        let (ctx, cancel) = context::with_cancel_cause(&bg());
        cancel.cancel(parent_cause.clone());
        check_cause(
            "WithCancelCause",
            &ctx,
            Some(Error::Canceled),
            Want::Is(parent_cause.clone()),
        );
    }
    {
        // Go's cancel(nil): here, dropping the cause func without a cause.
        let (ctx, cancel) = context::with_cancel_cause(&bg());
        drop(cancel);
        check_cause(
            "WithCancelCause nil",
            &ctx,
            Some(Error::Canceled),
            Want::Err(Error::Canceled),
        );
    }
    {
        let (ctx, cancel_parent) = context::with_cancel_cause(&bg());
        let (ctx, cancel_child) = context::with_cancel_cause(&ctx);
        cancel_parent.cancel(parent_cause.clone());
        cancel_child.cancel(child_cause.clone());
        check_cause(
            "parent cause before child",
            &ctx,
            Some(Error::Canceled),
            Want::Is(parent_cause.clone()),
        );
    }
    {
        let (ctx, cancel_parent) = context::with_cancel_cause(&bg());
        let (ctx, cancel_child) = context::with_cancel_cause(&ctx);
        cancel_child.cancel(child_cause.clone());
        cancel_parent.cancel(parent_cause.clone());
        check_cause(
            "parent cause after child",
            &ctx,
            Some(Error::Canceled),
            Want::Is(child_cause.clone()),
        );
    }
    {
        let (ctx, cancel_parent) = context::with_cancel_cause(&bg());
        let (ctx, cancel_child) = context::with_cancel(&ctx);
        cancel_parent.cancel(parent_cause.clone());
        cancel_child.cancel();
        check_cause(
            "parent cause before nil",
            &ctx,
            Some(Error::Canceled),
            Want::Is(parent_cause.clone()),
        );
    }
    {
        let (ctx, cancel_parent) = context::with_cancel_cause(&bg());
        let (ctx, cancel_child) = context::with_cancel(&ctx);
        cancel_child.cancel();
        cancel_parent.cancel(parent_cause.clone());
        check_cause(
            "parent cause after nil",
            &ctx,
            Some(Error::Canceled),
            Want::Err(Error::Canceled),
        );
    }
    {
        let (ctx, cancel_parent) = context::with_cancel(&bg());
        let (ctx, cancel_child) = context::with_cancel_cause(&ctx);
        cancel_parent.cancel();
        cancel_child.cancel(child_cause.clone());
        check_cause(
            "child cause after nil",
            &ctx,
            Some(Error::Canceled),
            Want::Err(Error::Canceled),
        );
    }
    {
        let (ctx, cancel_parent) = context::with_cancel(&bg());
        let (ctx, cancel_child) = context::with_cancel_cause(&ctx);
        cancel_child.cancel(child_cause.clone());
        cancel_parent.cancel();
        check_cause(
            "child cause before nil",
            &ctx,
            Some(Error::Canceled),
            Want::Is(child_cause.clone()),
        );
    }
    {
        let (ctx, cancel) = context::with_timeout(&bg(), Duration::ZERO);
        cancel.cancel();
        check_cause(
            "WithTimeout",
            &ctx,
            Some(Error::DeadlineExceeded),
            Want::Err(Error::DeadlineExceeded),
        );
    }
    {
        let (ctx, cancel) = context::with_timeout(&bg(), forever);
        cancel.cancel();
        check_cause(
            "WithTimeout canceled",
            &ctx,
            Some(Error::Canceled),
            Want::Err(Error::Canceled),
        );
    }
    {
        let (ctx, cancel) = context::with_timeout_cause(&bg(), Duration::ZERO, too_slow.clone());
        cancel.cancel();
        check_cause(
            "WithTimeoutCause",
            &ctx,
            Some(Error::DeadlineExceeded),
            Want::Is(too_slow.clone()),
        );
    }
    {
        let (ctx, cancel) = context::with_timeout_cause(&bg(), forever, too_slow.clone());
        cancel.cancel();
        check_cause(
            "WithTimeoutCause canceled",
            &ctx,
            Some(Error::Canceled),
            Want::Err(Error::Canceled),
        );
    }
    {
        let (ctx, cancel) = context::with_cancel_cause(&bg());
        let (ctx, _c) = context::with_timeout_cause(&ctx, Duration::ZERO, too_slow.clone());
        cancel.cancel(finished_early.clone());
        check_cause(
            "WithTimeoutCause stacked",
            &ctx,
            Some(Error::DeadlineExceeded),
            Want::Is(too_slow.clone()),
        );
    }
    {
        let (ctx, cancel) = context::with_cancel_cause(&bg());
        let (ctx, _c) = context::with_timeout_cause(&ctx, forever, too_slow.clone());
        cancel.cancel(finished_early.clone());
        check_cause(
            "WithTimeoutCause stacked canceled",
            &ctx,
            Some(Error::Canceled),
            Want::Is(finished_early.clone()),
        );
    }
    check_cause(
        "WithoutCancel",
        &context::without_cancel(&bg()),
        None,
        Want::None,
    );
    {
        let (ctx, cancel) = context::with_cancel_cause(&bg());
        let ctx = context::without_cancel(&ctx);
        cancel.cancel(finished_early.clone());
        check_cause("WithoutCancel canceled", &ctx, None, Want::None);
    }
    {
        let (ctx, cancel) = context::with_timeout_cause(&bg(), Duration::ZERO, too_slow.clone());
        let ctx = context::without_cancel(&ctx);
        cancel.cancel();
        check_cause("WithoutCancel timeout", &ctx, None, Want::None);
    }
}

#[test]
fn test_cause() {
    both("TestCause", 30, cause);
}

fn cause_race() {
    let cause = cause_of("TestCauseRace");
    let (ctx, cancel) = context::with_cancel_cause(&context::background());
    {
        let cause = cause.clone();
        spawn(move || cancel.cancel(cause));
    }
    loop {
        // Poll the cause rather than waiting on done: the cause must be
        // readable, and the right one, as soon as it is there.
        if let Some(got) = context::cause(&ctx) {
            assert!(Arc::ptr_eq(&got, &cause), "cause = {got}");
            assert_eq!(ctx.err(), Some(Error::Canceled));
            break;
        }
        baton::yield_now();
    }
}

#[test]
fn test_cause_race() {
    both("TestCauseRace", 30, cause_race);
}

fn without_cancel() {
    let ctx = context::with_value(&context::background(), Key("value"));
    let ctx = context::without_cancel(&ctx);
    assert_eq!(ctx.deadline(), None);
    assert!(!done_now(&ctx));
    assert_eq!(ctx.err(), None);
    assert_eq!(ctx.value::<Key>().map(|k| k.0), Some("value"));
    // Its children inherit "never done" and take no registration anywhere.
    let (c, cancel) = context::with_cancel(&ctx);
    cancel.cancel();
    assert!(c.is_done() && !ctx.is_done());
}

#[test]
fn test_without_cancel() {
    both("TestWithoutCancel", 30, without_cancel);
}

fn after_func_called_after_cancel() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let (tx, donec) = chan::bounded::<()>(1);
    let stop = context::after_func(&ctx, move || drop(tx));
    assert!(
        matches!(donec.recv_timeout(SHORT), Err(RecvTimeoutError::Timeout)),
        "AfterFunc called before context is done"
    );
    cancel.cancel();
    assert!(
        donec.recv().is_err(),
        "AfterFunc not called after context is canceled"
    );
    assert!(!stop.stop(), "stop() = true, want false");
}

#[test]
fn test_after_func_called_after_cancel() {
    both(
        "TestAfterFuncCalledAfterCancel",
        30,
        after_func_called_after_cancel,
    );
}

fn after_func_called_after_timeout() {
    let (ctx, _cancel) = context::with_timeout(&context::background(), SHORT);
    let (tx, donec) = chan::bounded::<()>(1);
    let _stop = context::after_func(&ctx, move || drop(tx));
    assert!(donec.recv().is_err());
}

#[test]
fn test_after_func_called_after_timeout() {
    both(
        "TestAfterFuncCalledAfterTimeout",
        30,
        after_func_called_after_timeout,
    );
}

fn after_func_called_immediately() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    cancel.cancel();
    let (tx, donec) = chan::bounded::<()>(1);
    let stop = context::after_func(&ctx, move || drop(tx));
    assert!(donec.recv().is_err());
    assert!(!stop.stop(), "it has started: nothing to stop");
}

#[test]
fn test_after_func_called_immediately() {
    both(
        "TestAfterFuncCalledImmediately",
        30,
        after_func_called_immediately,
    );
}

fn after_func_not_called_after_stop() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let ran = Arc::new(AtomicUsize::new(0));
    let stop = {
        let ran = ran.clone();
        context::after_func(&ctx, move || {
            ran.fetch_add(1, Ordering::SeqCst);
        })
    };
    assert!(stop.stop(), "stop() = false, want true");
    cancel.cancel();
    baton::time::sleep(SHORT * 5);
    assert_eq!(ran.load(Ordering::SeqCst), 0, "AfterFunc called after stop");
    assert!(!stop.stop(), "stop() = true, want false");
}

#[test]
fn test_after_func_not_called_after_stop() {
    both(
        "TestAfterFuncNotCalledAfterStop",
        30,
        after_func_not_called_after_stop,
    );
}

fn after_func_called_asynchronously() {
    // Cancelling does not wait for the after_func to finish: it blocks
    // on a rendezvous send that only this goroutine, after cancel
    // returns, receives.
    let (ctx, cancel) = context::with_cancel(&context::background());
    let (tx, donec) = chan::rendezvous::<()>();
    let stop = context::after_func(&ctx, move || tx.send(()).unwrap());
    cancel.cancel();
    assert_eq!(donec.recv(), Ok(()));
    assert!(!stop.stop());
}

#[test]
fn test_after_func_called_asynchronously() {
    both(
        "TestAfterFuncCalledAsynchronously",
        30,
        after_func_called_asynchronously,
    );
}

// ---- baton's own ----

#[test]
fn memory_stays_flat() {
    // The million (about 4 s in a debug build on this machine);
    // BATON_CONTEXT_SCALE overrides.
    let n = std::env::var("BATON_CONTEXT_SCALE")
        .map(|s| s.parse().expect("BATON_CONTEXT_SCALE: a count"))
        .unwrap_or(1_000_000);
    within("memory stays flat", 300, move || {
        let (parent, _cancel) = context::with_cancel(&context::background());
        let parent = context::with_value(&parent, Key("long-lived"));
        for i in 0..n {
            let (child, cancel) = if i % 2 == 0 {
                context::with_cancel(&parent)
            } else {
                context::with_timeout(&parent, Duration::from_secs(3600))
            };
            assert!(!child.is_done());
            cancel.cancel();
        }
        assert_eq!(parent.__registrations(), 0, "after {n} cancelled children");
        for i in 0..n {
            let (child, cancel) = context::with_cancel(&parent);
            if i % 3 == 0 {
                let _ = child.done(); // with a done channel too
            }
            drop((child, cancel)); // never cancelled explicitly
        }
        assert_eq!(parent.__registrations(), 0, "after {n} dropped children");
        assert!(!parent.is_done());
    });
}

/// How many goroutines may be alive at once under the kernel's mapping cap
/// (two mappings per stack), leaving half of it to the other tests of this
/// binary and the stack pools (as `runtime_stress.rs` does).
fn goroutines_that_fit() -> usize {
    let cap: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65_530);
    let fits = cap.saturating_sub(12_000) / 2;
    fits / 2
}

fn fan_out() {
    // The 100k, fewer if the kernel's mapping cap cannot hold that
    // many goroutine stacks (said on stderr; `.ci/run` raises the cap);
    // BATON_CONTEXT_FANOUT overrides.
    let wanted: usize = std::env::var("BATON_CONTEXT_FANOUT")
        .map(|s| s.parse().expect("BATON_CONTEXT_FANOUT: a count"))
        .unwrap_or(100_000);
    let n = wanted.min(goroutines_that_fit());
    if n < wanted {
        eprintln!(
            "cancel fan-out: {n} goroutines instead of {wanted}: vm.max_map_count is too low \
             (`sudo sysctl -w vm.max_map_count=262144`)"
        );
    }
    let (root, cancel) = context::with_cancel(&context::background());
    // Descendants at a few depths: root -> a -> (value) -> b.
    let (a, _ca) = context::with_cancel(&root);
    let v = context::with_value(&a, Key("v"));
    let (b, _cb) = context::with_timeout(&v, Duration::from_secs(3600));
    let woke = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(baton::sync::WaitGroup::new());
    let finished = Arc::new(baton::sync::WaitGroup::new());
    let mut handles = Vec::with_capacity(n);
    let (_never_tx, never) = chan::unbounded::<u8>();
    for i in 0..n {
        let ctx = match i % 3 {
            0 => root.clone(),
            1 => v.clone(),
            _ => b.clone(),
        };
        let woke = woke.clone();
        let never = never.clone();
        started.add(1);
        finished.add(1);
        let (s, f) = (started.clone(), finished.clone());
        handles.push(baton::go(move || {
            s.done();
            select! {
                recv(never) -> _ => panic!("nothing is ever sent"),
                recv(ctx.done()) -> _ => {},
            }
            assert!(ctx.is_done());
            woke.fetch_add(1, Ordering::Relaxed);
            f.done();
        }));
    }
    started.wait();
    assert_eq!(
        woke.load(Ordering::Relaxed),
        0,
        "nobody wakes before the cancel"
    );
    cancel.cancel();
    finished.wait();
    assert_eq!(woke.load(Ordering::Relaxed), n);
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(root.__registrations(), 0);
    // Every goroutine has finished: none is left blocked on a done
    // channel; only this one (the runtime's main goroutine) is live.
    let s = baton::runtime::stats();
    assert_eq!(s.live_goroutines, 1, "goroutines left: {s:?}");
    assert_eq!(s.total_goroutines, n as u64 + 1);
}

#[test]
fn cancel_fan_out() {
    within("cancel fan-out", 300, || {
        let rt = baton::runtime::Builder::new().workers(2).build();
        rt.run(fan_out);
    });
}

fn dropping_the_last_cancel_func_cancels() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let clone = cancel.clone();
    let holder = Arc::new(Mutex::new(Some(clone)));
    drop(cancel);
    assert!(!ctx.is_done(), "a clone is still alive");
    {
        let holder = holder.clone();
        spawn(move || drop(holder.lock().unwrap().take()));
    }
    let _ = ctx.done().recv();
    assert_eq!(ctx.err(), Some(Error::Canceled));
    // `let (ctx, _) = ...` drops it at once: the context is done.
    let (ctx, _) = context::with_cancel(&context::background());
    assert!(ctx.is_done());
}

#[test]
fn test_dropping_the_last_cancel_func_cancels() {
    both(
        "dropping the last CancelFunc cancels",
        30,
        dropping_the_last_cancel_func_cancels,
    );
}
