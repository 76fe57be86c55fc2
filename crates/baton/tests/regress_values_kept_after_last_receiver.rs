//! Regression (issue 10, item 8): buffered values stayed in a channel until
//! the channel itself was dropped, even after the last receiver was gone,
//! so a sender kept alive values that nobody could ever receive. As in
//! crossbeam, they are dropped when the last receiver goes, and a later
//! send gets its value back.
#![cfg(not(loom))]

use std::sync::Arc;

use baton::chan::{bounded, unbounded, SendError};

#[test]
fn last_receiver_drops_the_buffered_values() {
    for (name, (tx, rx)) in [("bounded(4)", bounded(4)), ("unbounded", unbounded())] {
        let v = Arc::new(());
        for _ in 0..3 {
            tx.send(v.clone()).unwrap();
        }
        let rx2 = rx.clone();
        drop(rx);
        assert_eq!(Arc::strong_count(&v), 4, "{name}: a receiver is left");
        drop(rx2);
        assert_eq!(Arc::strong_count(&v), 1, "{name}: nobody can receive them");
        // The sender is alive; its send fails and hands the value back.
        match tx.send(v.clone()) {
            Err(SendError(back)) => assert!(Arc::ptr_eq(&back, &v)),
            Ok(()) => panic!("{name}: sent into a channel with no receiver"),
        }
        assert_eq!(Arc::strong_count(&v), 1, "{name}");
    }
}

#[test]
fn dropping_the_buffer_wraps_the_ring() {
    // Values that sit across the end of the ring.
    let v = Arc::new(());
    let (tx, rx) = bounded(3);
    for _ in 0..2 {
        tx.send(v.clone()).unwrap();
        drop(rx.recv().unwrap());
    }
    for _ in 0..3 {
        tx.send(v.clone()).unwrap();
    }
    drop(rx);
    assert_eq!(Arc::strong_count(&v), 1);
}
