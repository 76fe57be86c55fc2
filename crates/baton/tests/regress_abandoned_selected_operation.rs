//! Regression (issue 10, item 1): a panic between `Select::select()` and
//! completing the operation — dropping the `SelectedOperation` (a
//! documented panic) or completing it with the wrong handle (another) —
//! left the claimed slot claimed forever: `try_recv` spun on it (with
//! capacity 1), `recv` spun after the sender was gone instead of returning
//! `Closed`, and a rendezvous sender paired with an abandoned receive never
//! returned. An abandoned claim is now released: a send poisons its slot
//! (receivers skip it), a receive drops the value it claimed.
#![cfg(not(loom))]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use baton::chan::{
    bounded, rendezvous, unbounded, Receiver, RecvError, Select, Sender, TryRecvError,
};
use common::both;

type Make = fn() -> (Sender<u32>, Receiver<u32>);

fn buffered() -> Vec<(&'static str, Make)> {
    vec![
        ("bounded(1)", || bounded(1)),
        ("bounded(2)", || bounded(2)),
        ("unbounded", unbounded),
    ]
}

/// Ways to abandon a started send on `tx`.
fn abandon_send(tx: &Sender<u32>, how: u8) {
    let other = bounded::<u32>(1).0;
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut sel = Select::new();
        sel.send(tx);
        let op = sel.select();
        match how {
            0 => drop(op),
            // The wrong sender: a documented panic.
            _ => drop(op.send(&other, 99)),
        }
    }));
    assert!(r.is_err(), "abandoning an operation panics");
}

fn abandoned_send_leaves_the_channel_usable() {
    for (name, make) in buffered() {
        for how in 0..2 {
            let (tx, rx) = make();
            abandon_send(&tx, how);
            // Nothing was sent: empty, at once (the old code spun here).
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "{name}/{how}");
            for i in 0..5 {
                tx.send(i).unwrap();
                assert_eq!(rx.recv(), Ok(i), "{name}/{how}");
            }
            abandon_send(&tx, how);
            drop(tx);
            // The sender is gone: closed, not a spin.
            assert_eq!(rx.recv(), Err(RecvError::Closed), "{name}/{how}");
        }
    }
}

fn abandoned_send_skipped_by_a_waiting_receiver() {
    for (name, make) in buffered() {
        let (tx, rx) = make();
        let (done_tx, done_rx) = bounded(1);
        common::spawn(move || done_tx.send(rx.recv()).unwrap());
        baton::time::sleep(Duration::from_millis(10));
        abandon_send(&tx, 0);
        tx.send(42).unwrap();
        assert_eq!(done_rx.recv().unwrap(), Ok(42), "{name}");
    }
}

struct Counted(u32, Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.1.fetch_add(1, Ordering::SeqCst);
    }
}

fn abandoned_receive_drops_its_value_and_moves_on() {
    type Pair = (Sender<Counted>, Receiver<Counted>);
    let flavours: Vec<(&str, Pair)> = vec![("bounded(2)", bounded(2)), ("unbounded", unbounded())];
    for (name, (tx, rx)) in flavours {
        let drops = Arc::new(AtomicUsize::new(0));
        tx.send(Counted(1, drops.clone())).unwrap();
        tx.send(Counted(2, drops.clone())).unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| {
            let mut sel = Select::new();
            sel.recv(&rx);
            drop(sel.select());
        }));
        assert!(r.is_err(), "{name}");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "{name}: the claimed value is dropped"
        );
        assert_eq!(rx.recv().map(|c| c.0).ok(), Some(2), "{name}");
    }
}

fn rendezvous_sender_released_by_an_abandoned_receive() {
    let (tx, rx) = rendezvous::<u32>();
    let (done_tx, done_rx) = bounded(1);
    common::spawn(move || done_tx.send(tx.send(5).is_ok()).unwrap());
    // Let the sender block first, so that the select pairs with it.
    baton::time::sleep(Duration::from_millis(20));
    let r = catch_unwind(AssertUnwindSafe(|| {
        let mut sel = Select::new();
        sel.recv(&rx);
        drop(sel.select()); // pairs with the blocked send, then abandons
    }));
    assert!(r.is_err());
    // The value was taken (and dropped): the sender returns.
    assert!(done_rx.recv().unwrap());
}

/// A select's send paired with a blocked rendezvous receiver, then
/// abandoned: the receiver keeps its own timeout (the old code left it
/// waiting for a value that would never come), and a later send reaches a
/// receiver that waits again.
fn abandoned_rendezvous_send_lets_the_receiver_go_on() {
    for then_send in [false, true] {
        let (tx, rx) = rendezvous::<u32>();
        let (done_tx, done_rx) = bounded(1);
        common::spawn(move || {
            done_tx
                .send(rx.recv_timeout(Duration::from_millis(if then_send { 5_000 } else { 200 })))
                .unwrap();
        });
        baton::time::sleep(Duration::from_millis(20)); // let the receiver block
        let r = catch_unwind(AssertUnwindSafe(|| {
            let mut sel = Select::new();
            sel.send(&tx);
            drop(sel.select()); // pairs with the blocked receiver, then abandons
        }));
        assert!(r.is_err());
        if then_send {
            tx.send(8).unwrap();
            assert_eq!(done_rx.recv().unwrap(), Ok(8));
        } else {
            assert_eq!(
                done_rx.recv().unwrap(),
                Err(baton::chan::RecvTimeoutError::Timeout)
            );
        }
    }
}

#[test]
fn abandoned_selected_send_on_rendezvous_lets_the_receiver_go_on() {
    both(
        "abandoned rendezvous send",
        30,
        abandoned_rendezvous_send_lets_the_receiver_go_on,
    );
}

#[test]
fn abandoned_selected_send_leaves_the_channel_usable() {
    both(
        "abandoned send",
        30,
        abandoned_send_leaves_the_channel_usable,
    );
}

#[test]
fn abandoned_selected_send_is_skipped_by_a_waiting_receiver() {
    both(
        "abandoned send, waiting receiver",
        30,
        abandoned_send_skipped_by_a_waiting_receiver,
    );
}

#[test]
fn abandoned_selected_receive_drops_its_value() {
    both(
        "abandoned receive",
        30,
        abandoned_receive_drops_its_value_and_moves_on,
    );
}

#[test]
fn abandoned_selected_receive_releases_a_rendezvous_sender() {
    both(
        "abandoned rendezvous receive",
        30,
        rendezvous_sender_released_by_an_abandoned_receive,
    );
}

/// Producers that abandon every third selected send (by unwinding through
/// the `SelectedOperation`, which `resume_unwind` does without printing)
/// race consumers, more threads than cores: every value really sent is
/// received once, nothing else is, and the close still arrives.
fn abandoned_sends_under_contention() {
    const PRODUCERS: u64 = 4;
    const CONSUMERS: usize = 4;
    const PER_PRODUCER: u64 = 2_000;
    let mut flavours = buffered();
    flavours.push(("rendezvous", rendezvous));
    for (name, make) in flavours {
        let (tx, rx) = make();
        let (sum_tx, sum_rx) = unbounded::<(u64, u64)>();
        for _ in 0..CONSUMERS {
            let rx = rx.clone();
            let sum_tx = sum_tx.clone();
            common::spawn(move || {
                let (mut sum, mut count) = (0, 0);
                while let Ok(v) = rx.recv() {
                    sum += u64::from(v);
                    count += 1;
                }
                sum_tx.send((sum, count)).unwrap();
            });
        }
        drop(rx);
        let (sent_tx, sent_rx) = unbounded::<(u64, u64)>();
        for p in 0..PRODUCERS {
            let tx = tx.clone();
            let sent_tx = sent_tx.clone();
            common::spawn(move || {
                let (mut sum, mut count) = (0, 0);
                for i in 0..PER_PRODUCER {
                    let v = (p * PER_PRODUCER + i) as u32;
                    let mut sel = Select::new();
                    sel.send(&tx);
                    if i % 3 == 0 {
                        let r = catch_unwind(AssertUnwindSafe(|| {
                            let _op = sel.select();
                            std::panic::resume_unwind(Box::new(()));
                        }));
                        assert!(r.is_err());
                    } else {
                        sel.select().send(&tx, v).unwrap();
                        sum += u64::from(v);
                        count += 1;
                    }
                }
                sent_tx.send((sum, count)).unwrap();
            });
        }
        drop((tx, sent_tx, sum_tx));
        let sent = sent_rx.iter().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let got = sum_rx.iter().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        assert_eq!(got, sent, "{name}: (sum, count) received vs sent");
    }
}

#[test]
fn abandoned_selected_sends_under_contention() {
    both(
        "abandoned sends, contention",
        60,
        abandoned_sends_under_contention,
    );
}
