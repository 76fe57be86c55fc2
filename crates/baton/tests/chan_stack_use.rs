//! How much goroutine stack one channel operation uses per byte of the
//! message (issue 10, item 7): a send of a large array by value used to
//! take about 18 times its size in a debug build, so a `[u8; 4096]` sent by
//! value overflowed the default 64 KiB goroutine stack.
//!
//! Each case runs in a goroutine with a stack of its own size (so no
//! earlier goroutine touched its pages; see `runtime::stack_usage`) and
//! reports the stack the operation reached beyond where it started, as a
//! multiple of the message size. `cargo test -p baton --test
//! chan_stack_use -- --nocapture` prints the table; the assertions only
//! pin what the module docs promise.
#![cfg(not(loom))] // the runtime is not built under loom

use baton::chan::{bounded, rendezvous, unbounded};
use baton::runtime::{go_with, stack_usage, Options};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The message size measured.
const N: usize = 64 * 1024;

/// Distinct stack sizes, so that each case gets a fresh mapping.
static NEXT_STACK: AtomicUsize = AtomicUsize::new(0);

/// Bytes of stack that `op` reached below the caller's frame, run in a
/// goroutine with a fresh 2 MiB-ish stack.
fn depth(op: fn()) -> usize {
    let k = NEXT_STACK.fetch_add(1, Ordering::Relaxed);
    let size = (64 << 20) + (k + 1) * (64 << 10);
    go_with(Options::new().stack_size(size), move || {
        let before = stack_usage().expect("in a goroutine").in_use();
        op();
        let after = stack_usage().expect("in a goroutine").high_water();
        after.saturating_sub(before)
    })
    .join()
    .expect("the case ran")
}

fn report(what: &str, bytes: usize) -> f64 {
    let x = bytes as f64 / N as f64;
    eprintln!("{what:<44} {bytes:>8} bytes = {x:5.1} x the message");
    x
}

#[inline(never)]
fn big() -> [u8; N] {
    std::hint::black_box([7u8; N])
}

fn send_buffered() {
    let (tx, rx) = bounded::<[u8; N]>(1);
    tx.send(big()).unwrap();
    drop(rx);
}

fn send_unbounded() {
    // The first message allocates the channel's first block of slots.
    let (tx, rx) = unbounded::<[u8; N]>();
    tx.send(big()).unwrap();
    drop(rx);
}

fn recv_buffered() {
    let (tx, rx) = bounded::<[u8; N]>(1);
    tx.send(big()).unwrap();
    let before = stack_usage().expect("in a goroutine").high_water();
    assert_eq!(rx.recv().unwrap()[0], 7);
    RECV_ONLY.store(
        stack_usage().expect("in a goroutine").high_water() - before,
        Ordering::Relaxed,
    );
}

/// What `recv_buffered`'s receive alone reached beyond the send before it.
static RECV_ONLY: AtomicUsize = AtomicUsize::new(0);

fn send_rendezvous_blocking() {
    let (tx, rx) = rendezvous::<[u8; N]>();
    let h = go_with(Options::new().stack_size(64 << 20), move || {
        rx.recv().unwrap()[0]
    });
    tx.send(big()).unwrap();
    assert_eq!(h.join().unwrap(), 7);
}

fn recv_rendezvous_blocking() {
    let (tx, rx) = rendezvous::<[u8; N]>();
    let h = go_with(Options::new().stack_size(64 << 20), move || {
        tx.send(big()).unwrap()
    });
    assert_eq!(rx.recv().unwrap()[0], 7);
    h.join().unwrap();
}

fn select_send() {
    let (tx, rx) = bounded::<[u8; N]>(1);
    baton::select! {
        send(tx, big()) -> res => res.unwrap(),
    }
    drop(rx);
}

fn select_recv() {
    let (tx, rx) = bounded::<[u8; N]>(1);
    tx.send(big()).unwrap();
    baton::select! {
        recv(rx) -> v => assert_eq!(v.unwrap()[0], 7),
    }
}

fn send_boxed() {
    let (tx, rx) = bounded::<Box<[u8; N]>>(1);
    // Built on the heap directly (`Box::new([7; N])` builds the array on
    // the stack first in a debug build).
    let msg: Box<[u8; N]> = vec![7u8; N].into_boxed_slice().try_into().unwrap();
    tx.send(msg).unwrap();
    drop(rx);
}

#[test]
fn stack_use_per_message_byte() {
    let base = depth(|| {
        std::hint::black_box(big());
    });
    eprintln!(
        "(profile: {})",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    report("making the message (baseline)", base);
    let cases: [(&str, fn()); 7] = [
        ("send, buffered", send_buffered),
        ("send, unbounded (allocates a block)", send_unbounded),
        ("send then recv, buffered", recv_buffered),
        ("send, rendezvous, blocking", send_rendezvous_blocking),
        ("recv, rendezvous, blocking", recv_rendezvous_blocking),
        ("select! send arm", select_send),
        ("select! recv arm", select_recv),
    ];
    for (what, op) in cases {
        report(what, depth(op));
    }
    report(
        "  of which the recv beyond the send",
        RECV_ONLY.load(Ordering::Relaxed),
    );
    let boxed = depth(send_boxed);
    report("send of a Box<[u8; N]> (the rule of thumb)", boxed);
    // What the module docs promise: a boxed message costs the stack nothing
    // like its size.
    assert!(boxed < N / 2, "a boxed send used {boxed} bytes of stack");
}
