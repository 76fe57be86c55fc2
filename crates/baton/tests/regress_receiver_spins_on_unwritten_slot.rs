//! Regression (issue 10, item 2's class): a receiver that reached a slot
//! whose send was claimed but not yet written spun (`Backoff::snooze`)
//! until the write, and a sender that reached a slot whose receive was
//! claimed but not yet completed spun until the release. Between the two
//! phases of a selected operation user code runs (it may park, or forget
//! the `SelectedOperation`), so the spin could wait forever: `try_recv`,
//! `recv_timeout`, `recv`, `try_send` and selects never returned, and on a
//! one-worker runtime a goroutine spinning there kept the worker from the
//! goroutine it waited for.
//!
//! Now a claimed-but-unfinished slot makes the channel "not ready" for the
//! other side after a short spin: the non-blocking calls answer
//! `Empty`/`Full`, and the blocking ones park until the stalled operation
//! completes (its phase 2 notifies). A send takes effect at its write, and
//! slots are received in claim order, so a value sent after a stalled
//! claim waits behind it (`chan` module docs).
//!
//! Every test here hung (spun at 100% CPU) on the old code.
#![cfg(not(loom))]

mod common;

use std::time::Duration;

use baton::chan::{
    bounded, unbounded, Receiver, RecvTimeoutError, Select, SendTimeoutError, Sender, TryRecvError,
    TrySendError,
};
use common::{both, within};

/// The buffered flavours, each with one value already in it.
fn flavours() -> Vec<(&'static str, Sender<u32>, Receiver<u32>)> {
    let (a, b) = bounded(2);
    let (c, d) = unbounded::<u32>();
    vec![("bounded(2)", a, b), ("unbounded", c, d)]
}

/// Claims a send through `Select` and forgets the operation: the slot is
/// claimed and will never be written.
fn forget_a_selected_send(tx: &Sender<u32>) {
    let mut sel = Select::new();
    sel.send(tx);
    std::mem::forget(sel.select());
}

/// Claims a receive through `Select` and forgets the operation: the slot's
/// value is never taken and the slot never released.
fn forget_a_selected_recv(rx: &Receiver<u32>) {
    let mut sel = Select::new();
    sel.recv(rx);
    std::mem::forget(sel.select());
}

/// (a) A forgotten send: values sent before it are received, then the
/// receive side reports empty (or times out) instead of spinning. A value
/// sent after the forgotten claim waits behind it in a ring (`bounded`),
/// and is received in a list (`unbounded`), whose receivers give a stalled
/// slot up.
fn forgotten_send_makes_receivers_see_empty() {
    for (name, tx, rx) in flavours() {
        tx.send(1).unwrap();
        forget_a_selected_send(&tx);
        assert_eq!(rx.try_recv(), Ok(1), "{name}: the value before the claim");
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "{name}: try_recv");
        assert_eq!(
            rx.recv_timeout(Duration::from_millis(20)),
            Err(RecvTimeoutError::Timeout),
            "{name}: recv_timeout"
        );
        let mut sel = Select::new();
        sel.recv(&rx);
        assert!(sel.try_select().is_err(), "{name}: try_select");
        let mut sel = Select::new();
        sel.recv(&rx);
        assert!(
            sel.select_timeout(Duration::from_millis(20)).is_err(),
            "{name}: select_timeout"
        );
        tx.send(2).unwrap();
        if tx.capacity().is_some() {
            // The ring: a later send completes, but its slot comes after
            // the forgotten claim, which receivers cannot pass.
            assert_eq!(
                rx.try_recv(),
                Err(TryRecvError::Empty),
                "{name}: a later value behind the claim"
            );
            assert_eq!(
                rx.recv_timeout(Duration::from_millis(20)),
                Err(RecvTimeoutError::Timeout),
                "{name}: recv_timeout behind the claim"
            );
        } else {
            // The list: the receivers gave the forgotten slot up, so the
            // later value is ahead of it.
            assert_eq!(rx.try_recv(), Ok(2), "{name}: a later value");
            assert_eq!(
                rx.try_recv(),
                Err(TryRecvError::Empty),
                "{name}: then empty"
            );
        }
    }
}

#[test]
fn forgotten_send_then_try_recv_and_recv_timeout_return() {
    both(
        "forgotten send, then try_recv/recv_timeout",
        60,
        forgotten_send_makes_receivers_see_empty,
    );
}

/// The sender side: a forgotten receive on a full `bounded(1)` keeps its
/// slot; senders see the channel full (or time out) instead of spinning.
fn forgotten_recv_makes_senders_see_full() {
    let (tx, rx) = bounded::<u32>(1);
    tx.send(1).unwrap();
    forget_a_selected_recv(&rx);
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)), "try_send");
    assert_eq!(
        tx.send_timeout(3, Duration::from_millis(20)),
        Err(SendTimeoutError::Timeout(3)),
        "send_timeout"
    );
    let mut sel = Select::new();
    sel.send(&tx);
    assert!(sel.try_select().is_err(), "try_select");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "try_recv");
}

#[test]
fn forgotten_recv_then_try_send_and_send_timeout_return() {
    both(
        "forgotten recv, then try_send/send_timeout",
        60,
        forgotten_recv_makes_senders_see_full,
    );
}

/// (b) On one worker: the main goroutine claims a send, then parks
/// (sleeps) before it writes; a goroutine that blocks in `recv` meanwhile
/// must park too (not spin on the worker), and get the value once the
/// sender resumes.
#[test]
fn receiver_parks_while_a_selected_send_sleeps_between_its_phases() {
    for (name, tx, rx) in flavours() {
        within(
            &format!("{name}: recv while the send sleeps"),
            60,
            move || {
                let rt = baton::runtime::Builder::new().workers(1).build();
                rt.run(move || {
                    let rx2 = rx.clone();
                    let mut sel = Select::new();
                    sel.send(&tx);
                    let op = sel.select();
                    // Spawned after the claim: on one worker it runs only once
                    // this goroutine parks, while the slot is claimed.
                    let by_recv = baton::go(move || rx.recv());
                    let by_select = baton::go(move || {
                        baton::select! {
                            recv(rx2) -> v => v,
                        }
                    });
                    baton::time::sleep(Duration::from_millis(50));
                    op.send(&tx, 7).unwrap();
                    tx.send(8).unwrap();
                    let mut got = [
                        by_recv.join().unwrap().unwrap(),
                        by_select.join().unwrap().unwrap(),
                    ];
                    got.sort_unstable();
                    assert_eq!(got, [7, 8], "{name}");
                });
            },
        );
    }
}

/// The sender side of (b): the main goroutine claims a receive on a full
/// `bounded(1)` and parks before it reads; a goroutine blocked in `send`
/// must park, and complete once the receive releases the slot.
#[test]
fn sender_parks_while_a_selected_recv_sleeps_between_its_phases() {
    within("send while the recv sleeps", 60, || {
        let rt = baton::runtime::Builder::new().workers(1).build();
        rt.run(|| {
            let (tx, rx) = bounded::<u32>(1);
            tx.send(1).unwrap();
            let mut sel = Select::new();
            sel.recv(&rx);
            let op = sel.select();
            let tx2 = tx.clone();
            let sender = baton::go(move || tx2.send(2));
            baton::time::sleep(Duration::from_millis(50));
            assert_eq!(op.recv(&rx), Ok(1));
            sender.join().unwrap().unwrap();
            assert_eq!(rx.recv(), Ok(2));
        });
    });
}
