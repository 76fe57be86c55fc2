//! Misuse of `baton::sync` panics with a message that says what was wrong,
//! in Go's words, and leaves the primitive usable.

use baton::sync::{OnceCell, WaitGroup};

fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let err = std::panic::catch_unwind(f).expect_err("expected a panic");
    err.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

#[test]
fn waitgroup_negative_counter() {
    let wg = WaitGroup::new();
    assert_eq!(
        panic_message(|| wg.done()),
        "sync: negative WaitGroup counter"
    );
    wg.add(2);
    assert_eq!(
        panic_message(|| wg.add(-3)),
        "sync: negative WaitGroup counter"
    );
    assert_eq!(wg.counter(), 2, "the failed add changed nothing");
}

#[test]
fn waitgroup_counter_overflow() {
    let wg = WaitGroup::new();
    wg.add(u32::MAX as isize);
    assert_eq!(
        panic_message(|| wg.add(1)),
        "sync: WaitGroup counter overflow"
    );
    wg.add(-(u32::MAX as isize));
    wg.wait();
}

#[test]
fn waitgroup_counter_overflow_from_a_huge_delta() {
    // `isize::MAX` on a counter of 2 overflowed the sum itself: "attempt to
    // add with overflow" in debug, a wrapped-around "negative WaitGroup
    // counter" in release.
    let wg = WaitGroup::new();
    wg.add(2);
    assert_eq!(
        panic_message(|| wg.add(isize::MAX)),
        "sync: WaitGroup counter overflow"
    );
    assert_eq!(wg.counter(), 2, "the failed add changed nothing");
    assert_eq!(
        panic_message(|| wg.add(isize::MIN)),
        "sync: negative WaitGroup counter"
    );
    wg.add(-2);
    wg.wait();
}

#[test]
fn waitgroup_correct_reuse_never_trips_the_misuse_check() {
    // The misuse window (an `add` from zero while the previous round's
    // waiters are being released) cannot be hit deterministically from
    // outside; the unit tests force it. Here: correct reuse never panics.
    let wg = std::sync::Arc::new(WaitGroup::new());
    for _ in 0..100 {
        wg.add(1);
        let w = wg.clone();
        let t = std::thread::spawn(move || w.wait());
        wg.done();
        t.join().unwrap();
    }
}

#[test]
fn once_cell_initialiser_panic_propagates_as_is() {
    let c: OnceCell<u8> = OnceCell::new();
    assert_eq!(
        panic_message(|| {
            c.get_or_init(|| panic!("config file missing"));
        }),
        "config file missing"
    );
    assert_eq!(c.get(), None);
}
