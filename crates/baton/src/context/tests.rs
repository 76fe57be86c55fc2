//! Unit tests of the context module; the Go ports are in
//! `tests/go_context.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::chan::{RecvCtxError, SendCtxError};

#[test]
fn a_deep_chain_cancels_without_recursion() {
    // 200k nested contexts: cancelling the root walks them with a
    // work list; a recursive cancel would overflow this test's stack.
    let (root, cancel) = with_cancel(&background());
    let mut ctx = root.clone();
    let mut keep = Vec::new();
    for _ in 0..200_000 {
        let (c, f) = with_cancel(&ctx);
        keep.push(f);
        ctx = c;
    }
    let leaf = ctx.clone();
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || cancel.cancel())
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(leaf.err(), Some(Error::Canceled));
    // Dropping the chain must not recurse either (each context holds its
    // parent): done on a small stack as well.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            drop(keep);
            drop(ctx);
            drop(leaf);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn deadlines_leave_no_timer_entries() {
    let before = deadline::pending();
    let mut live = Vec::new();
    for _ in 0..1000 {
        live.push(with_timeout(&background(), Duration::from_secs(3600)));
    }
    assert!(deadline::pending() >= before + 1000);
    drop(live); // each cancel withdraws its timer entry
                // Other tests of this binary may hold entries of their own; ours are gone.
    assert!(deadline::pending() <= before + 10, "entries left behind");
}

#[test]
fn a_deadline_fires_without_anyone_waiting() {
    let (ctx, _cancel) = with_timeout(&background(), Duration::from_millis(2));
    let start = Instant::now();
    while ctx.err().is_none() {
        assert!(start.elapsed() < Duration::from_secs(20), "never fired");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(ctx.err(), Some(Error::DeadlineExceeded));
}

#[test]
fn an_earlier_deadline_wakes_the_timer() {
    // The timer thread sleeps towards a far deadline; a nearer one armed
    // later must still fire on time (within the hang guard).
    let (_far, _c1) = with_timeout(&background(), Duration::from_secs(3600));
    let (near, _c2) = with_timeout(&background(), Duration::from_millis(1));
    assert!(near.done().recv_timeout(Duration::from_secs(20)).is_err());
    assert_eq!(near.err(), Some(Error::DeadlineExceeded));
}

#[test]
fn send_ctx_hands_the_value_back() {
    let (tx, rx) = crate::chan::rendezvous::<String>();
    let (ctx, cancel) = with_cancel(&background());
    let h = {
        let ctx = ctx.clone();
        std::thread::spawn(move || tx.send_ctx(&ctx, "kept".to_string()))
    };
    std::thread::sleep(Duration::from_millis(5));
    cancel.cancel();
    match h.join().unwrap() {
        Err(SendCtxError::Done(v, Error::Canceled)) => assert_eq!(v, "kept"),
        other => panic!("{other:?}"),
    }
    drop(rx);
}

#[test]
fn send_ctx_and_recv_ctx_work_when_live() {
    let (tx, rx) = crate::chan::rendezvous::<u32>();
    let (ctx, _cancel) = with_cancel(&background());
    let h = {
        let ctx = ctx.clone();
        crate::go(move || rx.recv_ctx(&ctx))
    };
    tx.send_ctx(&ctx, 9).unwrap();
    assert_eq!(h.join().unwrap(), Ok(9));
    // The receiver is gone: the send reports the closed channel.
    assert!(matches!(tx.send_ctx(&ctx, 1), Err(SendCtxError::Closed(1))));
}

#[test]
fn recv_ctx_gives_up_at_the_deadline() {
    let (_tx, rx) = crate::chan::unbounded::<u32>();
    let (ctx, _cancel) = with_timeout(&background(), Duration::from_millis(3));
    let h = crate::go(move || rx.recv_ctx(&ctx));
    assert_eq!(
        h.join().unwrap(),
        Err(RecvCtxError::Done(Error::DeadlineExceeded))
    );
}

#[test]
fn sleep_ctx_leaves_no_waiter_behind() {
    let (ctx, cancel) = with_cancel(&background());
    for _ in 0..100 {
        assert_eq!(crate::time::sleep_ctx(&ctx, Duration::ZERO), Ok(()));
    }
    assert_eq!(
        ctx.__registrations(),
        0,
        "a finished sleep withdraws itself"
    );
    let sleepers: Vec<_> = (0..50)
        .map(|_| {
            let ctx = ctx.clone();
            crate::go(move || crate::time::sleep_ctx(&ctx, Duration::from_secs(3600)))
        })
        .collect();
    while ctx.__registrations() < 50 {
        crate::time::sleep(Duration::from_millis(1));
    }
    cancel.cancel();
    for s in sleepers {
        assert_eq!(s.join().unwrap(), Err(Error::Canceled));
    }
    assert_eq!(
        crate::time::sleep_ctx(&ctx, Duration::from_secs(3600)),
        Err(Error::Canceled)
    );
}

#[test]
fn values_and_deadlines_pass_through_every_kind() {
    struct A(u8);
    let d = Instant::now() + Duration::from_secs(3600);
    let (c1, _x) = with_deadline(&background(), d);
    let c2 = with_value(&c1, A(1));
    let (c3, _y) = with_cancel(&c2);
    assert_eq!(c3.deadline(), Some(d));
    assert_eq!(c3.value::<A>().unwrap().0, 1);
    let w = without_cancel(&c3);
    assert_eq!(w.deadline(), None);
    assert_eq!(w.value::<A>().unwrap().0, 1);
    // A later deadline under an earlier one is the earlier one, and Debug
    // says it is a plain cancel (as Go's WithDeadline does).
    let (c4, _z) = with_deadline(&c3, d + Duration::from_secs(1));
    assert_eq!(c4.deadline(), Some(d));
    assert!(format!("{c4:?}").ends_with(".WithCancel"), "{c4:?}");
}

#[test]
fn cause_of_a_live_context_and_of_a_value_child() {
    let (ctx, cancel) = with_cancel_cause(&background());
    let v = with_value(&ctx, 1u8);
    assert!(cause(&v).is_none());
    let why: Cause = Arc::new(std::fmt::Error);
    cancel.cancel(why.clone());
    assert!(Arc::ptr_eq(&cause(&v).unwrap(), &why));
}

#[test]
fn context_is_send_sync_debug_clone() {
    fn check<T: Send + Sync + Clone + core::fmt::Debug>() {}
    check::<Context>();
    check::<CancelFunc>();
    check::<CancelCauseFunc>();
    fn check2<T: Send + Sync>() {}
    check2::<AfterFunc>();
}
