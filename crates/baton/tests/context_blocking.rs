//! The blocking calls that take a context (`send_ctx`, `recv_ctx`,
//! `sleep_ctx`, `Semaphore::acquire_ctx`, `WaitGroup::wait_ctx`,
//! `Mutex::lock_ctx`, `Cond::wait_ctx`), each from plain threads and from
//! one- and two-worker runtimes (`common::both`): a wait blocked on the
//! primitive gives up when its context is cancelled (or its deadline
//! passes), hands back or takes nothing, and leaves no registration on the
//! context; with a live context it succeeds as the plain call does. A
//! goroutine blocked in one of them parks (the one-worker runtime would
//! hang otherwise, and the watchdog would say so).
#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::time::Duration;

use baton::chan::{self, RecvCtxError, SendCtxError};
use baton::context::{self, Context, Error};
use baton::sync::{Cond, Mutex, Semaphore, WaitGroup};
use common::{both, spawn};

const LONG: Duration = Duration::from_secs(3600);

/// Runs `wait` in a goroutine (or thread), waits until it has registered
/// on `ctx` (the context holds one more registration), cancels, and
/// returns what `wait` returned.
fn cancel_while_blocked<R: Send + 'static>(
    ctx: &Context,
    cancel: context::CancelFunc,
    wait: impl FnOnce() -> R + Send + 'static,
) -> R {
    let before = ctx.__registrations();
    let (tx, rx) = chan::bounded(1);
    spawn(move || tx.send(wait()).unwrap());
    // A registration on the context shows the waiter is in (or about to
    // be in) its park; the cancel must wake it either way.
    while ctx.__registrations() == before {
        baton::time::sleep(Duration::from_micros(200));
    }
    cancel.cancel();
    rx.recv().unwrap()
}

fn send_ctx() {
    let (tx, rx) = chan::rendezvous::<String>();
    let (ctx, cancel) = context::with_cancel(&context::background());
    let c = ctx.clone();
    // A rendezvous send registers through the done channel, not a waiter:
    // wait for the done channel to exist by polling the sender side.
    let (res_tx, res_rx) = chan::bounded(1);
    spawn(move || res_tx.send(tx.send_ctx(&c, "kept".into())).unwrap());
    baton::time::sleep(Duration::from_millis(2));
    cancel.cancel();
    match res_rx.recv().unwrap() {
        Err(SendCtxError::Done(v, Error::Canceled)) => assert_eq!(v, "kept"),
        other => panic!("{other:?}"),
    }
    drop(rx);
    // Live context: the send completes.
    let (tx, rx) = chan::rendezvous::<u8>();
    let live = context::background();
    spawn(move || assert_eq!(rx.recv(), Ok(7)));
    tx.send_ctx(&live, 7).unwrap();
    assert_eq!(ctx.__registrations(), 0);
}

#[test]
fn test_send_ctx() {
    both("send_ctx", 30, send_ctx);
}

fn recv_ctx() {
    let (tx, rx) = chan::unbounded::<u8>();
    let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(2));
    assert_eq!(
        rx.recv_ctx(&ctx),
        Err(RecvCtxError::Done(Error::DeadlineExceeded))
    );
    tx.send(1).unwrap();
    // Done first: nothing is taken from the channel.
    assert_eq!(
        rx.recv_ctx(&ctx),
        Err(RecvCtxError::Done(Error::DeadlineExceeded))
    );
    assert_eq!(rx.recv_ctx(&context::background()), Ok(1));
    drop(tx);
    assert_eq!(
        rx.recv_ctx(&context::background()),
        Err(RecvCtxError::Closed)
    );
}

#[test]
fn test_recv_ctx() {
    both("recv_ctx", 30, recv_ctx);
}

fn sleep_ctx() {
    let (ctx, cancel) = context::with_cancel(&context::background());
    let c = ctx.clone();
    let r = cancel_while_blocked(&ctx, cancel, move || baton::time::sleep_ctx(&c, LONG));
    assert_eq!(r, Err(Error::Canceled));
    assert_eq!(
        ctx.__registrations(),
        0,
        "the sleeper left its registration"
    );
}

#[test]
fn test_sleep_ctx() {
    both("sleep_ctx", 30, sleep_ctx);
}

fn semaphore_acquire_ctx() {
    let sem = Arc::new(Semaphore::new(2));
    let held = sem.acquire(2);
    let (ctx, cancel) = context::with_cancel(&context::background());
    let (s, c) = (sem.clone(), ctx.clone());
    let r = cancel_while_blocked(&ctx, cancel, move || {
        s.acquire_ctx(&c, 1).map(|p| p.permits())
    });
    assert_eq!(r, Err(Error::Canceled));
    assert_eq!(ctx.__registrations(), 0);
    drop(held);
    assert_eq!(sem.available(), 2, "a cancelled acquire took nothing");
    // x/sync's TestLargeAcquireDoesntStarve, the cancel form: a large
    // request at the head that is cancelled lets the small ones behind it
    // go.
    let held = sem.acquire(1);
    let (big_ctx, big_cancel) = context::with_cancel(&context::background());
    let (s, c) = (sem.clone(), big_ctx.clone());
    let (big_tx, big_rx) = chan::bounded(1);
    spawn(move || big_tx.send(s.acquire_ctx(&c, 2).is_ok()).unwrap());
    while big_ctx.__registrations() == 0 {
        baton::time::sleep(Duration::from_micros(200));
    }
    baton::time::sleep(Duration::from_millis(1)); // let it queue
    let (small_tx, small_rx) = chan::bounded(1);
    let s = sem.clone();
    spawn(move || small_tx.send(s.acquire(1).permits()).unwrap());
    baton::time::sleep(Duration::from_millis(1));
    big_cancel.cancel();
    assert!(!big_rx.recv().unwrap(), "the large acquire gave up");
    assert_eq!(small_rx.recv().unwrap(), 1, "the small one behind it went");
    drop(held);
    // Live context: an acquire succeeds.
    let p = sem.acquire_ctx(&context::background(), 1).unwrap();
    assert_eq!(p.permits(), 1);
}

#[test]
fn test_semaphore_acquire_ctx() {
    both("Semaphore::acquire_ctx", 30, semaphore_acquire_ctx);
}

fn waitgroup_wait_ctx() {
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    let (ctx, cancel) = context::with_cancel(&context::background());
    let (w, c) = (wg.clone(), ctx.clone());
    let r = cancel_while_blocked(&ctx, cancel, move || w.wait_ctx(&c));
    assert_eq!(r, Err(Error::Canceled));
    assert_eq!(ctx.__registrations(), 0);
    // The group still works: a live wait returns once the counter is zero.
    let (live, _keep) = context::with_cancel(&context::background());
    let w = wg.clone();
    spawn(move || {
        baton::time::sleep(Duration::from_millis(1));
        w.done();
    });
    assert_eq!(wg.wait_ctx(&live), Ok(()));
    assert_eq!(live.__registrations(), 0);
}

#[test]
fn test_waitgroup_wait_ctx() {
    both("WaitGroup::wait_ctx", 30, waitgroup_wait_ctx);
}

fn mutex_lock_ctx() {
    let m = Arc::new(Mutex::new(0u32));
    let held = m.lock();
    let (ctx, cancel) = context::with_cancel(&context::background());
    let (m2, c) = (m.clone(), ctx.clone());
    let r = cancel_while_blocked(&ctx, cancel, move || m2.lock_ctx(&c).map(|_| ()));
    assert_eq!(r, Err(Error::Canceled));
    assert_eq!(ctx.__registrations(), 0);
    drop(held);
    // The abandoned waiter passed its wake-up on: the mutex is free.
    *m.try_lock().expect("free after the cancelled waiter left") += 1;
    // A deadline ends a wait too.
    let held = m.lock();
    let (ctx, _c) = context::with_timeout(&context::background(), Duration::from_millis(2));
    assert!(matches!(m.lock_ctx(&ctx), Err(Error::DeadlineExceeded)));
    drop(held);
    *m.lock_ctx(&context::background()).unwrap() += 1;
    assert_eq!(*m.lock(), 2);
}

#[test]
fn test_mutex_lock_ctx() {
    both("Mutex::lock_ctx", 30, mutex_lock_ctx);
}

fn cond_wait_ctx() {
    let pair = Arc::new((Mutex::new(false), Cond::new()));
    let (ctx, cancel) = context::with_cancel(&context::background());
    let (p, c) = (pair.clone(), ctx.clone());
    let r = cancel_while_blocked(&ctx, cancel, move || {
        let (m, cond) = &*p;
        let g = m.lock();
        let (g, r) = cond.wait_ctx(&c, g);
        assert!(!*g, "the guard comes back, re-locked");
        r
    });
    assert_eq!(r, Err(Error::Canceled));
    assert_eq!(ctx.__registrations(), 0);
    // A live wait returns on a signal.
    let (live, _keep) = context::with_cancel(&context::background());
    let p = pair.clone();
    spawn(move || {
        baton::time::sleep(Duration::from_millis(1));
        *p.0.lock() = true;
        p.1.signal();
    });
    let (m, cond) = &*pair;
    let mut g = m.lock();
    while !*g {
        let (g2, r) = cond.wait_ctx(&live, g);
        assert_eq!(r, Ok(()));
        g = g2;
    }
    drop(g);
    assert_eq!(live.__registrations(), 0);
}

#[test]
fn test_cond_wait_ctx() {
    both("Cond::wait_ctx", 30, cond_wait_ctx);
}
