//! How much memory a thread that stays pinned holds back, measured.
//!
//! One thread pins and stays pinned; another pushes and pops a
//! `Stack<u64>` and we print (not assert: the figures are the point) the
//! pending count and the bytes allocated at intervals, then the same after
//! the pinned thread lets go. The figures are quoted in `baton::epoch`'s
//! module docs ("Memory held back"). Run with
//! `cargo test -p baton --release --test epoch_memory -- --nocapture`.

use baton::collections::Stack;
use baton::epoch;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};
use std::sync::mpsc;
use std::thread;

/// The system allocator, counting live bytes.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to `System`, only adding a counter.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const OPS: usize = 100_000;

#[test]
fn long_pin_holds_back_garbage() {
    let (pinned_tx, pinned_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder = thread::spawn(move || {
        let guard = epoch::pin();
        pinned_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        drop(guard);
    });
    pinned_rx.recv().unwrap();

    let stack = Stack::new();
    let base = LIVE.load(Relaxed);
    println!("one thread pinned; another pushes and pops a Stack<u64>:");
    println!(
        "{:>9} {:>9} {:>12} {:>14}",
        "ops", "pending", "live bytes", "bytes/pending"
    );
    for i in 1..=OPS {
        stack.push(i as u64);
        stack.pop();
        if i % (OPS / 5) == 0 {
            let pending = epoch::pending();
            let bytes = LIVE.load(Relaxed) - base;
            println!(
                "{i:>9} {pending:>9} {bytes:>12} {:>14.1}",
                bytes as f64 / pending.max(1) as f64
            );
        }
    }
    let held = epoch::pending();
    release_tx.send(()).unwrap();
    holder.join().unwrap();

    // Collection resumes on the next pins: count how many it takes to get
    // back to the steady state of a thread that keeps retiring (a bag or
    // two in flight).
    // (A push does not pin; a pop pins once.)
    let mut pops = 0;
    while epoch::pending() > 256 && pops < 10_000_000 {
        stack.push(0);
        stack.pop();
        pops += 1;
    }
    println!(
        "after the pinned thread let go: pending {held} -> {} within {pops} more push/pop pairs (live bytes {})",
        epoch::pending(),
        LIVE.load(Relaxed) - base
    );
    // The behaviour that must hold: with nobody pinned, garbage drains.
    for _ in 0..10_000 {
        if epoch::pending() == 0 {
            break;
        }
        epoch::pin().flush();
    }
    assert_eq!(epoch::pending(), 0);
}
