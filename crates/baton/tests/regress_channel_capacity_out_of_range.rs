//! Regression (issue 10, item 6): `chan::bounded(usize::MAX / 2)` failed
//! with an internal multiply overflow (debug) or "capacity overflow"
//! (release). It must say the capacity is out of range, as Go's
//! "makechan: size out of range", in every build.
#![cfg(not(loom))]

use std::panic::catch_unwind;

fn message_of(cap: usize) -> String {
    let err = catch_unwind(|| drop(baton::chan::bounded::<u64>(cap)))
        .expect_err("an out-of-range capacity panics");
    err.downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn huge_capacity_panics_with_out_of_range() {
    for cap in [
        usize::MAX,
        usize::MAX / 2,
        usize::MAX / 4 + 1,
        isize::MAX as usize / 8,
    ] {
        let msg = message_of(cap);
        assert!(
            msg.contains("capacity") && msg.contains("out of range"),
            "cap {cap}: {msg:?}"
        );
    }
}

#[test]
fn ordinary_capacities_still_work() {
    for cap in [1, 2, 3, 1000, 1 << 16] {
        let (tx, rx) = baton::chan::bounded(cap);
        tx.send(cap).unwrap();
        assert_eq!(rx.recv(), Ok(cap));
        assert_eq!(tx.capacity(), Some(cap));
    }
}
