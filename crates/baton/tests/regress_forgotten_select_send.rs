//! Regression (issue 10, item 0): a send that a `Select` claimed but never
//! completed (its `SelectedOperation` forgotten with `mem::forget`, or
//! dropped) left an unwritten slot that the channel's `Drop` then dropped
//! as if it held a value: double frees and crashes, from safe code. The
//! array flavour dropped `len()` slots (which counts claimed ones), the list
//! flavour assumed every claimed send completed. A value that was never sent
//! must never be dropped by the channel.
#![cfg(not(loom))]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use baton::chan::{bounded, unbounded, Receiver, Select, Sender};
use common::both;

/// Counts its drops. Its bytes are recognisable, so that dropping an
/// unwritten slot (uninitialised memory) is seen as a wrong count, or a
/// crash, rather than passing silently.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn flavours() -> Vec<(&'static str, Sender<Counted>, Receiver<Counted>)> {
    let (a, b) = bounded(1);
    let (c, d) = bounded(4);
    let (e, f) = unbounded();
    vec![
        ("bounded(1)", a, b),
        ("bounded(4)", c, d),
        ("unbounded", e, f),
    ]
}

/// Starts a send through `Select` on `tx` and hands the started operation
/// to `abandon`.
fn start_send_then(tx: &Sender<Counted>, abandon: impl FnOnce(baton::chan::SelectedOperation<'_>)) {
    let mut sel = Select::new();
    sel.send(tx);
    let op = sel.select();
    abandon(op);
}

fn forgotten_then_channel_dropped() {
    for (name, tx, rx) in flavours() {
        // A real value in the channel before the forgotten claim: it must be
        // dropped exactly once, and nothing else.
        let drops = Arc::new(AtomicUsize::new(0));
        tx.send(Counted(drops.clone())).ok();
        if tx.capacity() == Some(1) {
            drop(rx.recv().unwrap()); // make room for the claim
        }
        start_send_then(&tx, |op| std::mem::forget(op));
        drop(tx);
        drop(rx);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "{name}: the channel dropped a value that was never sent"
        );
    }
}

fn dropped_then_channel_dropped() {
    for (name, tx, rx) in flavours() {
        let drops = Arc::new(AtomicUsize::new(0));
        // Dropping an uncompleted operation panics (a misuse); the channel
        // must still never drop the value that was not sent.
        let r = catch_unwind(AssertUnwindSafe(|| start_send_then(&tx, |op| drop(op))));
        assert!(
            r.is_err(),
            "{name}: dropping an uncompleted operation panics"
        );
        drop(tx);
        drop(rx);
        assert_eq!(drops.load(Ordering::SeqCst), 0, "{name}");
    }
}

fn forgotten_with_only_the_sender_left() {
    // The receiver goes first (its discard must stop at the unwritten
    // slot), then the sender, whose drop frees the channel.
    for (name, tx, rx) in flavours() {
        let drops = Arc::new(AtomicUsize::new(0));
        start_send_then(&tx, |op| std::mem::forget(op));
        // Sent (or, on the full `bounded(1)`, handed back and dropped).
        drop(tx.try_send(Counted(drops.clone())));
        drop(rx);
        drop(tx);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "{name}: one value, one drop"
        );
    }
}

#[test]
fn forgotten_select_send_is_not_dropped_by_the_channel() {
    both("forgotten select send", 30, forgotten_then_channel_dropped);
}

#[test]
fn dropped_select_send_is_not_dropped_by_the_channel() {
    both("dropped select send", 30, dropped_then_channel_dropped);
}

#[test]
fn forgotten_select_send_with_the_receiver_gone_first() {
    both(
        "forgotten send, receiver first",
        30,
        forgotten_with_only_the_sender_left,
    );
}
