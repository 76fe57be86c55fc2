//! Regression (issue 10, item 6): when a buffered value's `Drop` panicked
//! while the channel dropped its buffer, the values after it leaked. As
//! with `Vec`, the rest must still be dropped (then the panic goes on).
#![cfg(not(loom))]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use baton::chan::{bounded, unbounded, Receiver, Select, Sender};

/// Counts its drops; panics in `Drop` when `panics` is set.
struct Value {
    drops: Arc<AtomicUsize>,
    panics: bool,
}

impl Drop for Value {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("this value's Drop panics (on purpose)");
        }
    }
}

fn flavours() -> Vec<(&'static str, Sender<Value>, Receiver<Value>)> {
    let (a, b) = bounded(8);
    let (c, d) = unbounded();
    vec![("bounded(8)", a, b), ("unbounded", c, d)]
}

fn fill(tx: &Sender<Value>, drops: &Arc<AtomicUsize>) {
    for i in 0..5 {
        tx.send(Value {
            drops: drops.clone(),
            panics: i == 1,
        })
        .unwrap();
    }
}

/// The last receiver drops the buffer (nobody can receive it).
#[test]
fn last_receiver_drops_every_value_despite_a_panicking_drop() {
    for (name, tx, rx) in flavours() {
        let drops = Arc::new(AtomicUsize::new(0));
        fill(&tx, &drops);
        let r = catch_unwind(AssertUnwindSafe(move || drop(rx)));
        assert!(r.is_err(), "{name}: the panic goes on");
        drop(tx);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            5,
            "{name}: every value dropped once"
        );
    }
}

/// The channel's own drop (here: the receiver's discard stopped at a send
/// that was started and forgotten, so the buffer is the channel's to drop).
#[test]
fn channel_drop_drops_every_value_despite_a_panicking_drop() {
    for (name, tx, rx) in flavours() {
        let drops = Arc::new(AtomicUsize::new(0));
        {
            let mut sel = Select::new();
            sel.send(&tx);
            std::mem::forget(sel.select()); // the first slot: never written
        }
        fill(&tx, &drops);
        drop(rx); // stops at the unwritten slot: nothing dropped yet
        assert_eq!(drops.load(Ordering::SeqCst), 0, "{name}");
        let r = catch_unwind(AssertUnwindSafe(move || drop(tx)));
        assert!(r.is_err(), "{name}: the panic goes on");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            5,
            "{name}: every value dropped once"
        );
    }
}
