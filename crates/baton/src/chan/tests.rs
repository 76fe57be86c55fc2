//! Unit tests of the facade across flavours (integration tests, Go's ports
//! and stress live in `tests/`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::*;

fn flavours() -> Vec<(&'static str, Sender<usize>, Receiver<usize>)> {
    let (a, b) = bounded(4);
    let (c, d) = rendezvous();
    let (e, f) = unbounded();
    let (g, h) = bounded(1);
    vec![
        ("bounded(4)", a, b),
        ("rendezvous", c, d),
        ("unbounded", e, f),
        ("bounded(1)", g, h),
    ]
}

#[test]
fn values_arrive_in_order_across_threads() {
    for (name, tx, rx) in flavours() {
        let h = thread::spawn(move || {
            for i in 0..10_000 {
                tx.send(i).unwrap();
            }
        });
        for i in 0..10_000 {
            assert_eq!(rx.recv(), Ok(i), "{name}");
        }
        h.join().unwrap();
        assert_eq!(rx.recv(), Err(RecvError::Closed), "{name}");
    }
}

#[test]
fn close_wakes_blocked_receivers_and_senders() {
    for (name, tx, rx) in flavours() {
        let rx2 = rx.clone();
        let h = thread::spawn(move || rx2.recv());
        thread::sleep(Duration::from_millis(5));
        tx.close();
        assert_eq!(h.join().unwrap(), Err(RecvError::Closed), "{name}");
        assert_eq!(tx.send(1), Err(SendError(1)), "{name}");
        assert!(tx.is_closed() && rx.is_closed(), "{name}");
    }
    // A sender blocked on a full channel gets its value back.
    let (tx, rx) = bounded(1);
    tx.send(1).unwrap();
    let tx2 = tx.clone();
    let h = thread::spawn(move || tx2.send(2));
    thread::sleep(Duration::from_millis(5));
    drop(rx);
    assert_eq!(h.join().unwrap(), Err(SendError(2)));
    let (tx, rx) = rendezvous();
    let h = thread::spawn(move || tx.send(3));
    thread::sleep(Duration::from_millis(5));
    drop(rx);
    assert_eq!(h.join().unwrap(), Err(SendError(3)));
}

#[test]
fn timeouts_hand_values_back() {
    let (tx, _rx) = rendezvous();
    assert_eq!(
        tx.send_timeout(1, Duration::from_millis(2)),
        Err(SendTimeoutError::Timeout(1))
    );
    let (tx, rx) = bounded(1);
    tx.send(1).unwrap();
    assert_eq!(
        tx.send_deadline(2, Instant::now() + Duration::from_millis(2)),
        Err(SendTimeoutError::Timeout(2))
    );
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(2)),
        Err(RecvTimeoutError::Timeout)
    );
}

#[test]
fn len_capacity_empty() {
    let (tx, rx) = bounded(3);
    assert_eq!((tx.capacity(), rx.capacity()), (Some(3), Some(3)));
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!((tx.len(), rx.len()), (2, 2));
    assert!(!rx.is_empty());
    let (tx, _rx) = unbounded::<u8>();
    assert_eq!(tx.capacity(), None);
    assert!(tx.is_empty());
}

#[test]
fn drop_of_the_channel_drops_unreceived_values() {
    let v = Arc::new(());
    for (tx, rx) in [bounded(4), unbounded()] {
        tx.send(v.clone()).unwrap();
        tx.send(v.clone()).unwrap();
        drop(tx);
        assert_eq!(Arc::strong_count(&v), 3, "closing drops nothing");
        drop(rx);
        assert_eq!(Arc::strong_count(&v), 1);
    }
}

#[test]
fn select_recv_and_send_arms() {
    let (tx1, rx1) = bounded::<i32>(1);
    let (tx2, rx2) = bounded::<i32>(1);
    tx1.send(1).unwrap();
    let got = crate::select! {
        recv(rx1) -> v => v.unwrap(),
        recv(rx2) -> v => v.unwrap() + 100,
    };
    assert_eq!(got, 1);
    let r = crate::select! {
        send(tx2, 5) -> res => { res.unwrap(); "sent" }
        default => "default",
    };
    assert_eq!(r, "sent");
    assert_eq!(rx2.recv(), Ok(5));
    drop(tx1);
}

#[test]
fn select_send_arm_value_is_evaluated_once_before_selecting() {
    let evaluated = AtomicUsize::new(0);
    let (tx, _rx) = bounded::<usize>(1);
    tx.send(0).unwrap(); // full: the send arm is not ready
    let (tx2, rx2) = bounded::<usize>(1);
    tx2.send(7).unwrap();
    let got = crate::select! {
        send(tx, { evaluated.fetch_add(1, Ordering::SeqCst); 1 }) -> _ => 0,
        recv(rx2) -> v => v.unwrap(),
    };
    assert_eq!(got, 7);
    // Go's rule: evaluated once, before selecting, even though not chosen.
    assert_eq!(evaluated.load(Ordering::SeqCst), 1);
    assert_eq!(_rx.try_recv(), Ok(0)); // and not sent
    assert!(_rx.try_recv().is_err());
}

#[test]
fn select_wakes_on_any_flavour() {
    for (name, tx, rx) in flavours() {
        let (_tx_other, rx_other) = unbounded::<usize>();
        let h = thread::spawn(move || {
            thread::sleep(Duration::from_millis(2));
            tx.send(9).unwrap();
        });
        let got = crate::select! {
            recv(rx_other) -> _ => 0,
            recv(rx) -> v => v.unwrap(),
            default(Duration::from_secs(10)) => panic!("{name}: timed out"),
        };
        assert_eq!(got, 9, "{name}");
        h.join().unwrap();
    }
}

#[test]
fn select_rendezvous_send_arm_pairs_with_a_blocked_receiver() {
    let (tx, rx) = rendezvous::<usize>();
    let h = thread::spawn(move || rx.recv());
    let (_t2, r2) = unbounded::<usize>();
    crate::select! {
        send(tx, 11) -> res => res.unwrap(),
        recv(r2) -> _ => unreachable!(),
    }
    assert_eq!(h.join().unwrap(), Ok(11));
}

#[test]
fn select_with_a_rendezvous_send_arm_that_is_picked_while_parked() {
    let (tx, rx) = rendezvous::<usize>();
    let (_t2, r2) = unbounded::<usize>();
    let h = thread::spawn(move || {
        crate::select! {
            send(tx, 12) -> res => res.unwrap(),
            recv(r2) -> _ => unreachable!(),
        }
    });
    thread::sleep(Duration::from_millis(5));
    assert_eq!(rx.recv(), Ok(12));
    h.join().unwrap();
}

#[test]
fn none_arms_are_never_chosen() {
    let (tx, rx) = bounded::<i32>(1);
    tx.send(1).unwrap();
    let off: Option<&Receiver<i32>> = None;
    let on = Some(&rx);
    for _ in 0..20 {
        let r = crate::select! {
            recv(off) -> _ => "off",
            default => "default",
        };
        assert_eq!(r, "default");
    }
    let r = crate::select! {
        recv(on) -> v => v.unwrap(),
        recv(off) -> _ => 0,
    };
    assert_eq!(r, 1);
}

#[test]
fn ready_reports_without_taking() {
    let (tx, rx) = unbounded::<i32>();
    let mut sel = Select::new();
    let i = sel.recv(&rx);
    let h = thread::spawn(move || {
        thread::sleep(Duration::from_millis(2));
        tx.send(1).unwrap();
        tx
    });
    assert_eq!(sel.ready(), i);
    assert_eq!(rx.try_recv(), Ok(1));
    drop(h.join().unwrap());
}

#[test]
fn never_and_empty_select_time_out() {
    let n = never::<i32>();
    assert_eq!(
        n.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Timeout)
    );
    let r = crate::select! {
        recv(n) -> _ => 1,
        default(Duration::from_millis(1)) => 2,
    };
    assert_eq!(r, 2);
    let r = crate::select! { default(Duration::from_millis(1)) => 3 };
    assert_eq!(r, 3);
}

#[test]
fn goroutines_block_without_holding_their_worker() {
    let rt = crate::runtime::Builder::new().workers(1).build();
    let n = rt.run(|| {
        let (tx, rx) = rendezvous::<u32>();
        let (back_tx, back_rx) = rendezvous::<u32>();
        let h = crate::go(move || {
            for v in &rx {
                back_tx.send(v + 1).unwrap();
            }
        });
        let mut n = 0;
        for _ in 0..1000 {
            tx.send(n).unwrap();
            n = back_rx.recv().unwrap();
        }
        drop(tx);
        h.join().unwrap();
        n
    });
    assert_eq!(n, 1000);
}

#[test]
#[should_panic(expected = "dropped without being completed")]
fn a_selected_operation_must_be_completed() {
    let (tx, rx) = bounded::<i32>(1);
    tx.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&rx);
    let _op = sel.select();
}

#[test]
#[should_panic(expected = "not the selected operation's")]
fn completing_with_another_receiver_panics() {
    let (tx, rx) = bounded::<i32>(1);
    let (_tx2, rx2) = bounded::<i32>(1);
    tx.send(1).unwrap();
    let mut sel = Select::new();
    sel.recv(&rx);
    let op = sel.select();
    let _ = op.recv(&rx2);
}

#[test]
#[should_panic(expected = "no operation has this index")]
fn removing_an_unknown_index_panics() {
    let mut sel = Select::new();
    sel.remove(3);
}

#[test]
fn a_panic_in_an_arm_body_leaves_the_channel_usable() {
    let (tx, rx) = bounded::<i32>(2);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::select! {
            recv(rx) -> _ => panic!("in the arm"),
        }
    }));
    assert!(r.is_err());
    assert_eq!(
        rx.recv(),
        Ok(2),
        "the first value was taken, the second is intact"
    );
}
