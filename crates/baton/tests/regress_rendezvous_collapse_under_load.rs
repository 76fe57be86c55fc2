//! Regression (issue 10, item 0c): a rendezvous channel collapsed on a busy
//! machine. A waiter that had been paired waited for the value to move
//! (`zero.rs`'s `wait_ready`) with `Backoff::snooze`, which yields the time
//! slice forever and never sleeps; with busy programs on every core each
//! yield handed a whole slice to them, so one hand-off between two threads
//! took about a millisecond (crossbeam: microseconds), and 100,000 of them
//! did not finish in two minutes.
//!
//! The fix: those waits now spin briefly, then park; a waiting thread
//! yields at most 4 times (it was 128) before it parks, since a thread that
//! keeps yielding stays a runnable competitor and gets only its fair share
//! among the busy programs, while a woken sleeper runs at once; and a
//! thread that finds one yield kept it off the core for long
//! (`park/spin.rs`'s `SLOW_YIELD`) parks without yielding for its next waits.
//! Under load (measured with `perf stat -e
//! 'syscalls:sys_enter_sched_yield,syscalls:sys_enter_futex'`) the 100,000
//! hand-offs now make about 47,000 yields and 106,000 futex calls (they
//! sleep); with 128 yields they made 110,000 yields and 67 futex calls and
//! did not finish in 60 s.
//!
//! The tests hand 100,000 values between two threads across a rendezvous
//! channel (and 50,000 ping-pong round trips) while busy child processes
//! (one more than there are cores) keep every core loaded. The bound only
//! guards against the collapse: on the shared 2-core machine (load average
//! 5-10), debug build, they take 0.5-2 s each; before the fix 10,000
//! hand-offs alone took about 30 s, and both tests hit the 60 s bound.
#![cfg(not(loom))] // the runtime is not built under loom

mod common;

use std::time::Duration;

const HAND_OFFS: u64 = 100_000;

/// The tests run one at a time: two sets of busy loops at once would only
/// measure each other.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Busy child processes (shell loops), killed when this is dropped. Other
/// programs, not threads of ours: the scheduler shares the cores between
/// processes, as it did when the collapse was seen.
struct BusyLoops(Vec<std::process::Child>);

impl BusyLoops {
    fn start(n: usize) -> BusyLoops {
        BusyLoops(
            (0..n)
                .map(|_| {
                    std::process::Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .expect("start a busy loop (sh)")
                })
                .collect(),
        )
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One direction of the hand-off: `tx` sends `0..n`, `rx` receives them in
/// order.
fn hand_off(n: u64) {
    let (tx, rx) = baton::chan::bounded::<u64>(0);
    let sender = std::thread::spawn(move || {
        for i in 0..n {
            tx.send(i).expect("the receiver is alive");
        }
    });
    for i in 0..n {
        assert_eq!(rx.recv(), Ok(i));
    }
    sender.join().expect("sender");
}

#[test]
fn rendezvous_hand_offs_finish_while_busy_loops_load_every_core() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let busy = BusyLoops::start(cores + 1);
    // Let the busy loops take the cores first.
    std::thread::sleep(Duration::from_millis(50));
    let started = std::time::Instant::now();
    let result = std::panic::catch_unwind(|| {
        common::within(
            "100,000 rendezvous hand-offs beside busy loops (collapse: each \
             waiter yields its time slice instead of sleeping)",
            60,
            || hand_off(HAND_OFFS),
        )
    });
    drop(busy);
    eprintln!("took {:?} under load", started.elapsed());
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

#[test]
fn rendezvous_ping_pong_finishes_while_busy_loops_load_every_core() {
    // Both sides wait in turn: every round trip is two hand-offs, each
    // ending with the waiter asleep or about to be.
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let busy = BusyLoops::start(cores + 1);
    std::thread::sleep(Duration::from_millis(50));
    let started = std::time::Instant::now();
    let result = std::panic::catch_unwind(|| {
        common::within(
            "50,000 rendezvous ping-pong round trips beside busy loops",
            60,
            || {
                let (ping_tx, ping_rx) = baton::chan::bounded::<u64>(0);
                let (pong_tx, pong_rx) = baton::chan::bounded::<u64>(0);
                let echo = std::thread::spawn(move || {
                    while let Ok(v) = ping_rx.recv() {
                        pong_tx.send(v + 1).expect("the pinger is alive");
                    }
                });
                for i in 0..HAND_OFFS / 2 {
                    ping_tx.send(i).expect("the echo is alive");
                    assert_eq!(pong_rx.recv(), Ok(i + 1));
                }
                drop(ping_tx);
                echo.join().expect("echo");
            },
        )
    });
    drop(busy);
    eprintln!("took {:?} under load", started.elapsed());
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}
