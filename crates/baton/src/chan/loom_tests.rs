//! Loom models: each flavour's send/recv/close race, and select's
//! register/cancel race. Each checks that no wake-up is lost (loom reports
//! a deadlock if a waiter sleeps forever) and that every value arrives
//! exactly once. Kept small for `LOOM_MAX_PREEMPTIONS=2`.

use std::time::{Duration, Instant};

use super::*;
use crate::shim::thread;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(f);
}

/// A sender that blocks on a full ring, then closes, against a receiver
/// that blocks on an empty one.
#[test]
fn loom_array_send_recv_close() {
    model(|| {
        let (tx, rx) = bounded::<u32>(1);
        let t = thread::spawn(move || {
            tx.send(1).unwrap();
            tx.send(2).unwrap();
            // Dropping the last sender closes.
        });
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        assert_eq!(rx.recv(), Err(RecvError::Closed));
        t.join().unwrap();
    });
}

/// Sends that cross a block boundary (3 slots per block under loom) race a
/// blocking receiver and the close.
#[test]
fn loom_list_send_recv_close() {
    model(|| {
        let (tx, rx) = unbounded::<u32>();
        let t = thread::spawn(move || {
            for i in 0..3 {
                tx.send(i).unwrap();
            }
            tx.close();
        });
        for i in 0..3 {
            assert_eq!(rx.recv(), Ok(i));
        }
        assert_eq!(rx.recv(), Err(RecvError::Closed));
        t.join().unwrap();
    });
}

/// A rendezvous hand-off racing the close: the value arrives once, then
/// the receiver sees the close.
#[test]
fn loom_zero_send_recv_close() {
    model(|| {
        let (tx, rx) = rendezvous::<u32>();
        let t = thread::spawn(move || {
            tx.send(7).unwrap();
        });
        assert_eq!(rx.recv(), Ok(7));
        assert_eq!(rx.recv(), Err(RecvError::Closed));
        t.join().unwrap();
    });
}

/// The last receiver's drop races a blocked rendezvous send: the send
/// either completes (impossible here: no receive) or fails with its value.
#[test]
fn loom_zero_receiver_drop_hands_value_back() {
    model(|| {
        let (tx, rx) = rendezvous::<u32>();
        let t = thread::spawn(move || drop(rx));
        assert_eq!(tx.send(3), Err(SendError(3)));
        t.join().unwrap();
    });
}

/// A select over two channels, each fed by its own thread: exactly one arm
/// completes, and the other value is still there afterwards.
#[test]
fn loom_select_two_senders() {
    model(|| {
        let (tx1, rx1) = bounded::<u32>(1);
        let (tx2, rx2) = unbounded::<u32>();
        let t1 = thread::spawn(move || tx1.send(1).unwrap());
        let t2 = thread::spawn(move || tx2.send(2).unwrap());
        let got = crate::select! {
            recv(rx1) -> v => v.unwrap(),
            recv(rx2) -> v => v.unwrap(),
        };
        t1.join().unwrap();
        t2.join().unwrap();
        let other = if got == 1 { rx2.recv() } else { rx1.recv() };
        assert_eq!(got + other.unwrap(), 3);
    });
}

/// Select's cancel race: a send racing a select that times out (loom
/// explores the timeout firing at every point). Either the select got the
/// value, or it is still in the channel: never lost, never both.
#[test]
fn loom_select_timeout_races_send() {
    model(|| {
        let (tx, rx) = bounded::<u32>(1);
        let t = thread::spawn(move || tx.send(5).unwrap());
        let mut sel = Select::new();
        sel.recv(&rx);
        let got = match sel.select_deadline(Instant::now() + Duration::from_millis(1)) {
            Ok(op) => Some(op.recv(&rx).unwrap()),
            Err(_) => None,
        };
        t.join().unwrap();
        match got {
            Some(v) => {
                assert_eq!(v, 5);
                assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
            }
            None => assert_eq!(rx.recv(), Ok(5)),
        }
    });
}

/// A select's send arm on a rendezvous channel (heap packet, written after
/// the select wakes) paired with a blocked receiver.
#[test]
fn loom_select_rendezvous_send_arm() {
    model(|| {
        let (tx, rx) = rendezvous::<u32>();
        let t = thread::spawn(move || rx.recv());
        let never = never::<u32>();
        crate::select! {
            send(tx, 9) -> res => res.unwrap(),
            recv(never) -> _ => unreachable!(),
        }
        assert_eq!(t.join().unwrap(), Ok(9));
    });
}

/// Claims a send on `tx` as a select would, then abandons it (what
/// dropping its `SelectedOperation` does).
fn abandon_one_send<T>(tx: &Sender<T>) {
    let token = &mut flavors::Token::default();
    flavors::with_flavor!(&tx.flavor, c => {
        if c.start_send(token) {
            // SAFETY: just claimed (or paired), used once.
            unsafe { c.abandon_send(token) }
        } else {
            // Only a rendezvous channel may have nothing to claim: it pairs
            // only if a receiver is waiting now.
            assert_eq!(tx.capacity(), Some(0), "a buffered send had no room");
        }
    });
}

/// An abandoned send poisons the only slot of a ring; a blocked receiver
/// skips it while the next send waits for the room it frees, and the close
/// still arrives: no lost wake-up, no value from the poisoned slot.
#[test]
fn loom_array_abandoned_send_is_skipped() {
    model(|| {
        let (tx, rx) = bounded::<u32>(1);
        let t = thread::spawn(move || {
            abandon_one_send(&tx);
            tx.send(2).unwrap();
        });
        assert_eq!(rx.recv(), Ok(2));
        assert_eq!(rx.recv(), Err(RecvError::Closed));
        t.join().unwrap();
    });
}

/// The same on the list flavour, where the receiver claims a slot before
/// its send completes and must skip it once it is marked `SKIP`.
#[test]
fn loom_list_abandoned_send_is_skipped() {
    model(|| {
        let (tx, rx) = unbounded::<u32>();
        let t = thread::spawn(move || {
            abandon_one_send(&tx);
            tx.send(2).unwrap();
        });
        assert_eq!(rx.recv(), Ok(2));
        assert_eq!(rx.recv(), Err(RecvError::Closed));
        t.join().unwrap();
    });
}

/// A send paired with a blocked rendezvous receiver and then abandoned:
/// the receiver waits again and gets the next send; nothing is lost.
#[test]
fn loom_zero_abandoned_send_lets_the_receiver_wait_again() {
    model(|| {
        let (tx, rx) = rendezvous::<u32>();
        let t = thread::spawn(move || {
            abandon_one_send(&tx);
            tx.send(2).unwrap();
        });
        assert_eq!(rx.recv(), Ok(2));
        t.join().unwrap();
    });
}

/// A channel of shared tokens (to count drops).
type MakeArcs = fn() -> (Sender<std::sync::Arc<()>>, Receiver<std::sync::Arc<()>>);

/// The last receiver's drop (which discards the buffer) races sends: every
/// value is dropped exactly once — by the discard, by the channel's own
/// drop (a send still in flight), or handed back to its sender.
fn last_receiver_drop_races_sends(make: MakeArcs) {
    model(move || {
        let v = std::sync::Arc::new(());
        let (tx, rx) = make();
        let v2 = v.clone();
        let t = thread::spawn(move || {
            for _ in 0..2 {
                let _ = tx.send(v2.clone());
            }
        });
        drop(rx);
        t.join().unwrap();
        assert_eq!(std::sync::Arc::strong_count(&v), 1);
    });
}

#[test]
fn loom_array_last_receiver_drop_races_sends() {
    last_receiver_drop_races_sends(|| bounded(2));
}

#[test]
fn loom_list_last_receiver_drop_races_sends() {
    last_receiver_drop_races_sends(unbounded);
}

/// A select's receive arm on a rendezvous channel (heap packet) chosen by
/// a plain send, which writes after its claim: the select reads the packet
/// after its wait, parking (not spinning) until the value is there.
#[test]
fn loom_select_rendezvous_recv_arm() {
    model(|| {
        let (tx, rx) = rendezvous::<u32>();
        let t = thread::spawn(move || tx.send(4));
        let never = never::<u32>();
        let got = crate::select! {
            recv(rx) -> v => v.unwrap(),
            recv(never) -> _ => unreachable!(),
        };
        assert_eq!(got, 4);
        assert_eq!(t.join().unwrap(), Ok(()));
    });
}
