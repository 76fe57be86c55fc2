//! Go's `test/chan/select3.go`: which operations and selects block, and
//! which do not: a nil channel (`never()` / a `None` arm) blocks and is
//! never chosen, a closed channel never blocks, a send with buffer room
//! never blocks, empty selects block, a select does not pair with itself.
//!
//! Go panics on a send to a closed channel; baton returns the value in an
//! error instead, which the port checks.
#![cfg(not(loom))]

mod common;

use std::time::Duration;

use baton::chan::{bounded, never, rendezvous, unbounded, Receiver, RecvError, Sender};
use baton::select;
use common::{both, spawn};

const ALWAYS: &str = "function did not return";
const NEVER: &str = "function returned";

/// Runs `f` and reports whether it returned within 250 ms (Go's
/// `testBlock` waits 100 ms; more here for a loaded CI machine). A blocked `f` is abandoned (it stays parked).
fn test_block(signal: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = unbounded();
    let tx2 = tx.clone();
    spawn(move || {
        f();
        let _ = tx.send(NEVER);
    });
    spawn(move || {
        baton::time::sleep(Duration::from_millis(250));
        let _ = tx2.send(ALWAYS);
    });
    assert_eq!(rx.recv().unwrap(), signal, "{signal}");
}

fn closed() -> (Sender<i32>, Receiver<i32>) {
    let (tx, rx) = rendezvous::<i32>();
    tx.close();
    (tx, rx)
}

fn body() {
    let nil_rx = || never::<i32>();
    let nil_tx: Option<&Sender<i32>> = None;

    // Receiving from a nil channel blocks.
    test_block(ALWAYS, move || {
        let _ = nil_rx().recv();
    });
    // Inside a select, nil channels are never chosen.
    let r = select! {
        send(nil_tx, 7) -> _ => unreachable!(),
        default => 0,
    };
    assert_eq!(r, 0);
    let r = select! {
        recv(nil_rx()) -> _ => unreachable!(),
        default => 0,
    };
    assert_eq!(r, 0);

    // Sending to a channel with free buffer space never blocks.
    test_block(NEVER, || {
        let (tx, _rx) = bounded(1);
        tx.send(7).unwrap();
    });

    // Receiving from a closed channel never blocks.
    test_block(NEVER, || {
        let (_tx, rx) = closed();
        for _ in 0..10 {
            assert_eq!(rx.recv(), Err(RecvError::Closed));
        }
    });

    // Sending to a closed channel fails (Go panics) and hands the value back.
    let (tx, _rx) = closed();
    assert_eq!(tx.send(7).unwrap_err().into_inner(), 7);

    // Receiving from a non-ready channel always blocks.
    test_block(ALWAYS, || {
        let (_tx, rx) = rendezvous::<i32>();
        let _ = rx.recv();
        unreachable!();
    });

    // Empty selects always block.
    test_block(ALWAYS, || {
        select! {}
    });

    // Selects with only nil channels always block.
    test_block(ALWAYS, move || {
        let n = nil_rx();
        select! {
            recv(n) -> _ => unreachable!(),
        }
    });
    test_block(ALWAYS, || {
        let nil_tx: Option<&Sender<i32>> = None;
        select! {
            send(nil_tx, 7) -> _ => unreachable!(),
        }
    });
    test_block(ALWAYS, move || {
        let n = nil_rx();
        let nil_tx: Option<&Sender<i32>> = None;
        select! {
            recv(n) -> _ => unreachable!(),
            send(nil_tx, 7) -> _ => unreachable!(),
        }
    });

    // Selects with non-ready non-nil channels always block.
    test_block(ALWAYS, || {
        let (_tx, rx) = rendezvous::<i32>();
        select! {
            recv(rx) -> _ => unreachable!(),
        }
    });

    // Selects with default cases don't block.
    test_block(NEVER, || select! { default => () });
    test_block(NEVER, move || {
        let n = nil_rx();
        select! {
            recv(n) -> _ => unreachable!(),
            default => (),
        }
    });

    // Selects with ready channels don't block.
    test_block(NEVER, || {
        let (tx, _rx) = bounded(1);
        select! {
            send(tx, 7) -> r => r.unwrap(),
            default => unreachable!(),
        }
    });
    test_block(NEVER, || {
        let (tx, rx) = bounded(1);
        tx.send(7).unwrap();
        select! {
            recv(rx) -> v => assert_eq!(v, Ok(7)),
            default => unreachable!(),
        }
    });

    // Selects with closed channels behave like ordinary operations.
    test_block(NEVER, || {
        let (_tx, rx) = closed();
        select! {
            recv(rx) -> v => assert_eq!(v, Err(RecvError::Closed)),
        }
    });
    let (tx, _rx) = closed();
    select! {
        send(tx, 7) -> r => assert_eq!(r.unwrap_err().into_inner(), 7),
    }

    // A select does not get confused if it sees itself.
    test_block(ALWAYS, || {
        let (tx, rx) = rendezvous::<i32>();
        select! {
            send(tx, 1) -> _ => unreachable!(),
            recv(rx) -> _ => unreachable!(),
        }
    });
}

#[test]
fn select3() {
    both("select3", 60, body);
}
