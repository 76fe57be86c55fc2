//! Regression (issue 10, item 8): gaps that crossbeam-channel's test suite
//! ran into when ported to baton. None of this compiled before (except the
//! `default(timeout)` form, pinned here too): `select_biased!`, trailing
//! commas inside arms, handles behind any number of `&` or behind a
//! `Deref` (`Arc<Receiver<T>>`, `&Box<Sender<T>>`), temporaries in arm
//! expressions (`r.unwrap_or(&never())`), and `Sender`/`Receiver` being
//! `UnwindSafe`/`RefUnwindSafe`.
#![cfg(not(loom))]

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use baton::chan::{bounded, never, unbounded, Receiver, Sender};

#[test]
fn trailing_commas_inside_arms() {
    let (tx, rx) = bounded::<i32>(1);
    let r = baton::select! {
        send(tx, 1,) -> res => { res.unwrap(); 1 }
        default(Duration::from_secs(5),) => 0,
    };
    assert_eq!(r, 1);
    let r = baton::select! {
        recv(rx,) -> v => v.unwrap(),
    };
    assert_eq!(r, 1);
}

#[test]
fn any_number_of_references_and_deref_handles() {
    let (tx, rx) = unbounded::<i32>();
    let arc_rx: Arc<Receiver<i32>> = Arc::new(rx);
    let boxed_tx: Box<Sender<i32>> = Box::new(tx);
    let r = baton::select! {
        send(&boxed_tx, 7) -> res => res.is_ok(),
    };
    assert!(r);
    let r = baton::select! {
        recv(arc_rx) -> v => v.unwrap(),
    };
    assert_eq!(r, 7);
    boxed_tx.send(8).unwrap();
    let rrr = &&&*arc_rx;
    let r = baton::select! {
        recv(&rrr) -> v => v.unwrap(),
    };
    assert_eq!(r, 8);
    // Optional handles still switch arms off.
    let off: Option<&Receiver<i32>> = None;
    let owned_off: Option<Receiver<i32>> = None;
    let r = baton::select! {
        recv(off) -> _ => "off",
        recv(owned_off) -> _ => "owned off",
        default => "nothing",
    };
    assert_eq!(r, "nothing");
}

#[test]
fn temporaries_in_arm_expressions_live_long_enough() {
    let (tx, rx) = bounded::<i32>(1);
    tx.send(3).unwrap();
    let maybe: Option<&Receiver<i32>> = std::hint::black_box(Some(&rx));
    let r = baton::select! {
        recv(maybe.unwrap_or(&never())) -> v => v.unwrap(),
        default(Duration::from_secs(5)) => 0,
    };
    assert_eq!(r, 3);
    let none: Option<&Receiver<i32>> = std::hint::black_box(None);
    let r = baton::select! {
        recv(none.unwrap_or(&never())) -> _ => "value",
        default(Duration::from_millis(1)) => "timed out",
    };
    assert_eq!(r, "timed out");
}

#[test]
fn select_biased_takes_the_first_ready_arm() {
    let (tx1, rx1) = unbounded::<i32>();
    let (tx2, rx2) = unbounded::<i32>();
    for _ in 0..200 {
        tx1.send(1).unwrap();
        tx2.send(2).unwrap();
        let got = baton::select_biased! {
            recv(rx1) -> v => v.unwrap(),
            recv(rx2) -> v => v.unwrap(),
        };
        assert_eq!(got, 1, "both ready: the first arm, every time");
        assert_eq!(rx2.recv(), Ok(2));
    }
    // And the unbiased one is not: both arms win sometimes.
    let mut seen = [false; 2];
    for _ in 0..200 {
        tx1.send(1).unwrap();
        tx2.send(2).unwrap();
        let got: i32 = baton::select! {
            recv(rx1) -> v => v.unwrap(),
            recv(rx2) -> v => v.unwrap(),
        };
        seen[(got - 1) as usize] = true;
        let _ = rx1.try_recv();
        let _ = rx2.try_recv();
    }
    assert_eq!(seen, [true, true]);
}

#[test]
fn handles_are_unwind_safe() {
    fn unwind_safe<T: UnwindSafe + RefUnwindSafe>(_: &T) {}
    let (tx, rx) = bounded::<std::cell::Cell<i32>>(1);
    unwind_safe(&tx);
    unwind_safe(&rx);
    // So a closure using them can go to catch_unwind without a wrapper.
    let r = std::panic::catch_unwind(|| {
        tx.send(std::cell::Cell::new(1)).unwrap();
        rx.recv().unwrap().get()
    });
    assert_eq!(r.ok(), Some(1));
}

/// A block body followed by a comma, with more arms after it (`=> {},`),
/// the way crossbeam and most Go ports write arms: the optional comma after
/// a block once made the macro's parse ambiguous ("local ambiguity").
#[test]
fn block_bodies_followed_by_commas() {
    let (tx, rx) = baton::chan::bounded::<i32>(1);
    let (tx2, rx2) = baton::chan::bounded::<i32>(1);
    tx.send(1).unwrap();
    let mut got = None;
    baton::select! {
        recv(rx) -> v => { got = Some(v); },
        recv(rx2) -> _ => {},
        default(std::time::Duration::from_secs(5)) => {},
    }
    assert_eq!(got, Some(Ok(1)));
    let mut sent = false;
    baton::select! {
        send(tx2, 7) -> r => { sent = r.is_ok(); },
        default => {},
    }
    assert!(sent);
    assert_eq!(rx2.try_recv(), Ok(7));
}
