//! Regression (issue 10, item 1): `select!` evaluated a send arm's value
//! only after the arm's slot was claimed, so a value expression that
//! panicked left the slot claimed and never written: the value was lost and
//! the channel broken — `recv` spun at 100% CPU forever instead of
//! returning `Closed` once the sender was gone, and a rendezvous receiver
//! paired with the select ignored its own timeout and spun. Go evaluates
//! every send value before selecting; so does baton now.
#![cfg(not(loom))]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use baton::chan::{bounded, rendezvous, unbounded, Receiver, RecvTimeoutError, Sender};
use common::{both, within};

type Make = fn() -> (Sender<u32>, Receiver<u32>);

fn buffered() -> Vec<(&'static str, Make)> {
    vec![
        ("bounded(1)", || bounded(1)),
        ("bounded(3)", || bounded(3)),
        ("unbounded", unbounded),
    ]
}

/// The issue's program: the value expression panics; the sender is gone.
fn select_with_panicking_value(tx: Sender<u32>) {
    let p: Option<u32> = std::hint::black_box(None);
    baton::select! { send(tx, p.unwrap()) -> _ => {} }
}

fn buffered_receiver_gets_closed() {
    for (name, make) in buffered() {
        let (tx, rx) = make();
        let r = catch_unwind(AssertUnwindSafe(move || select_with_panicking_value(tx)));
        assert!(r.is_err(), "{name}: the value expression panics");
        // The sender is gone: closed, not a spin, and nothing half-sent.
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)),
            Err(RecvTimeoutError::Closed),
            "{name}"
        );
        assert_eq!(rx.len(), 0, "{name}");
    }
}

fn buffered_channel_stays_usable() {
    for (name, make) in buffered() {
        let (tx, rx) = make();
        let tx2 = tx.clone();
        let r = catch_unwind(AssertUnwindSafe(move || select_with_panicking_value(tx2)));
        assert!(r.is_err(), "{name}");
        // Wrap the ring several times: no slot is left claimed.
        for i in 0..10 {
            tx.try_send(i).unwrap();
            assert_eq!(rx.try_recv(), Ok(i), "{name}");
        }
        drop(tx);
        assert_eq!(rx.recv(), Err(baton::chan::RecvError::Closed), "{name}");
    }
}

fn rendezvous_receiver_keeps_its_timeout() {
    let (tx, rx) = rendezvous::<u32>();
    let (done_tx, done_rx) = bounded(1);
    common::spawn(move || {
        // Waits for the select to pair with it; must end by its timeout
        // or with `Closed`, never spin on a value that will not come.
        done_tx
            .send(rx.recv_timeout(Duration::from_millis(300)))
            .unwrap();
    });
    baton::time::sleep(Duration::from_millis(20)); // let the receiver wait
    let r = catch_unwind(AssertUnwindSafe(move || select_with_panicking_value(tx)));
    assert!(r.is_err());
    let got = done_rx.recv().unwrap();
    assert!(
        matches!(
            got,
            Err(RecvTimeoutError::Closed | RecvTimeoutError::Timeout)
        ),
        "{got:?}"
    );
}

#[test]
fn panicking_send_value_leaves_the_receiver_closed_not_spinning() {
    both(
        "panicking send value, buffered",
        30,
        buffered_receiver_gets_closed,
    );
}

#[test]
fn panicking_send_value_leaves_the_channel_usable() {
    both(
        "panicking send value, usable",
        30,
        buffered_channel_stays_usable,
    );
}

#[test]
fn panicking_send_value_on_rendezvous_lets_the_receiver_time_out() {
    both(
        "panicking send value, rendezvous",
        30,
        rendezvous_receiver_keeps_its_timeout,
    );
}

/// The issue's exact program: a goroutine whose select's value panics.
#[test]
fn the_issue_program_from_a_goroutine() {
    within("issue 10 item 1 program", 30, || {
        let rt = baton::runtime::Builder::new().workers(2).build();
        rt.run(|| {
            for (name, make) in buffered() {
                let (tx, rx) = make();
                let h = baton::go(move || select_with_panicking_value(tx));
                assert!(h.join().is_err(), "{name}");
                assert_eq!(rx.recv(), Err(baton::chan::RecvError::Closed), "{name}");
            }
        });
    });
}
