//! Go's small select tests, one function each:
//!
//! - `test/chan/select2.go`: many selects do not consume memory (here:
//!   100,000 selects leave every value accounted for and every waiter
//!   unregistered — the dummy channel's drop would flag a leftover).
//! - `test/chan/select4.go`: a select proceeds with the ready arm and never
//!   evaluates the left-hand side of a receive that was not chosen (Go's
//!   `case *f() = <-c1`; here the arm's body). Send values, by contrast,
//!   are evaluated on entry, in Go and in baton.
//! - `test/chan/select6.go` (Go issue 2075): a select that lost on `c1`
//!   must leave `c1`'s queue of waiters intact for later receivers.
//! - `test/chan/select7.go`: sends (plain, select, select with a second
//!   arm) paired with receives (plain, select, select with a second arm)
//!   on unbuffered channels.
//! - `test/chan/sendstmt.go`: a send arm whose channel comes from a
//!   receive (`<-cc <- 2`), and a send of an expression.
//! - `test/chan/zerosize.go`: channels of zero-sized values.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use baton::chan::{bounded, rendezvous, unbounded, Receiver, Sender};
use baton::select;
use common::{both, spawn};

fn select2() {
    let (c_tx, c) = rendezvous::<i32>();
    let (_dummy_tx, dummy) = rendezvous::<i32>();
    for _round in 0..2 {
        let tx = c_tx.clone();
        spawn(move || {
            for _ in 0..20_000 {
                tx.send(1).unwrap();
            }
        });
        for _ in 0..20_000 {
            select! {
                recv(c) -> v => assert_eq!(v, Ok(1)),
                recv(dummy) -> _ => panic!("dummy"),
            }
        }
    }
}

fn select4() {
    static CALLED: AtomicBool = AtomicBool::new(false);
    fn f() -> i32 {
        CALLED.store(true, Ordering::SeqCst);
        0
    }
    let (tx, c) = bounded(1);
    let (_c1_tx, c1) = rendezvous::<i32>();
    tx.send(42).unwrap();
    let x = select! {
        // Go: `case *f() = <-c1:` — the assignment's target is evaluated
        // only if the arm is chosen.
        recv(c1) -> v => {
            let _ = (f(), v);
            panic!("BUG: chose a receive nobody sends to")
        }
        recv(c) -> v => v.unwrap(),
    };
    assert_eq!(x, 42);
    assert!(!CALLED.load(Ordering::SeqCst), "BUG: called f");
}

fn select6() {
    let (c1_tx, c1) = rendezvous::<bool>();
    let (c2_tx, c2) = rendezvous::<bool>();
    let (c3_tx, c3) = rendezvous::<bool>();
    let c1a = c1.clone();
    spawn(move || {
        c1a.recv().unwrap();
    });
    let c1b = c1.clone();
    spawn(move || {
        select! {
            recv(c1b) -> _ => panic!("dummy"),
            recv(c2) -> _ => c3_tx.send(true).unwrap(),
        }
        c1b.recv().unwrap();
    });
    spawn(move || c2_tx.send(true).unwrap());
    c3.recv().unwrap();
    c1_tx.send(true).unwrap();
    c1_tx.send(true).unwrap();
}

fn recv1(c: Receiver<i32>) {
    c.recv().unwrap();
}

fn recv2(c: Receiver<i32>) {
    select! {
        recv(c) -> v => { v.unwrap(); }
    }
}

fn recv3(c: Receiver<i32>) {
    let (_t, c2) = rendezvous::<i32>();
    select! {
        recv(c) -> v => { v.unwrap(); }
        recv(c2) -> _ => unreachable!(),
    }
}

fn send1(recv: fn(Receiver<i32>)) {
    let (tx, c) = rendezvous();
    spawn(move || recv(c));
    baton::yield_now();
    tx.send(1).unwrap();
}

fn send2(recv: fn(Receiver<i32>)) {
    let (tx, c) = rendezvous();
    spawn(move || recv(c));
    baton::yield_now();
    select! {
        send(tx, 1) -> r => r.unwrap(),
    }
}

fn send3(recv: fn(Receiver<i32>)) {
    let (tx, c) = rendezvous();
    spawn(move || recv(c));
    baton::yield_now();
    let (tx2, _c2) = rendezvous::<i32>();
    select! {
        send(tx, 1) -> r => r.unwrap(),
        send(tx2, 1) -> _ => unreachable!(),
    }
}

fn select7() {
    for recv in [recv1 as fn(Receiver<i32>), recv2, recv3] {
        for _ in 0..100 {
            send1(recv);
            send2(recv);
            send3(recv);
        }
    }
}

fn sendstmt() {
    let (cc_tx, cc) = bounded::<Sender<i32>>(1);
    let (c_tx, c) = bounded(1);
    cc_tx.send(c_tx).unwrap();
    let inner = cc.recv().unwrap();
    select! {
        send(inner, 2) -> r => r.unwrap(),
        default => panic!("nonblock"),
    }
    assert_eq!(c.recv(), Ok(2), "bad receive");
    let (b_tx, b) = bounded(1);
    #[allow(clippy::nonminimal_bool, clippy::overly_complex_bool_expr)]
    b_tx.send(false || true).unwrap();
    assert!(b.recv().unwrap(), "sent false");
}

fn zerosize() {
    let (a, ra) = bounded::<[u8; 0]>(1);
    let (b, rb) = rendezvous::<()>();
    let (c, rc) = unbounded::<()>();
    a.send([]).unwrap();
    assert_eq!(ra.recv(), Ok([]));
    spawn(move || b.send(()).unwrap());
    assert_eq!(rb.recv(), Ok(()));
    for _ in 0..100 {
        c.send(()).unwrap();
    }
    assert_eq!(rc.try_iter().count(), 100);
}

#[test]
fn go_select2() {
    both("select2", 60, select2);
}

#[test]
fn go_select4() {
    both("select4", 20, select4);
}

#[test]
fn go_select6() {
    both("select6", 20, select6);
}

#[test]
fn go_select7() {
    both("select7", 60, select7);
}

#[test]
fn go_sendstmt() {
    both("sendstmt", 20, sendstmt);
}

#[test]
fn go_zerosize() {
    both("zerosize", 20, zerosize);
}
