//! Regression (issue 10, item 2): a `SeqLock` writer waited for another
//! writer by spinning and yielding the OS thread. On a one-worker runtime,
//! goroutine A parked inside `update(|v| ... rx.recv() ...)` while holding
//! the writers' lock, goroutine B's `write` spun, A never got the worker
//! back: a hang. Writers now park. From two OS threads, a long update must
//! not make the waiting writer burn a CPU.

#![cfg(not(loom))] // the runtime is not built under loom

mod common;

use std::sync::Arc;
use std::time::Duration;

use baton::atomic::SeqLock;
use baton::chan;
use baton::runtime::Builder;

#[test]
fn write_waits_for_an_updater_goroutine_parked_on_the_same_worker() {
    common::within("SeqLock::write vs a parked updater goroutine", 30, || {
        let rt = Builder::new().workers(1).build();
        rt.run(|| {
            let lock = Arc::new(SeqLock::new(0u64));
            let (locked_tx, locked_rx) = chan::bounded::<()>(1);
            let (go_tx, go_rx) = chan::bounded::<u64>(1);
            let updater = {
                let lock = lock.clone();
                baton::go(move || {
                    lock.update(|v| {
                        locked_tx.send(()).unwrap();
                        // Parks this goroutine with the writers' lock held.
                        *v += go_rx.recv().unwrap();
                    })
                })
            };
            locked_rx.recv().unwrap();
            let writer = {
                let lock = lock.clone();
                baton::go(move || lock.write(100)) // hung here, spinning
            };
            // Let the writer run (and find the lock taken) before the
            // updater can finish.
            baton::time::sleep(Duration::from_millis(20));
            go_tx.send(5).unwrap();
            updater.join().unwrap();
            writer.join().unwrap();
            // The update held the lock first, so the write lands last.
            assert_eq!(lock.read(), 100);
        });
    });
}

/// Many goroutines on one worker writing and updating across parks: every
/// update is kept, and nobody hangs.
#[test]
fn many_writer_goroutines_that_park_inside_update_all_finish() {
    common::within("SeqLock updaters parking inside update", 60, || {
        let rt = Builder::new().workers(1).build();
        rt.run(|| {
            let lock = Arc::new(SeqLock::new(0u64));
            let hs: Vec<_> = (0..16)
                .map(|_| {
                    let lock = lock.clone();
                    baton::go(move || {
                        for _ in 0..20 {
                            lock.update(|v| {
                                baton::yield_now();
                                *v += 1;
                            });
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(lock.read(), 16 * 20);
        });
    });
}

fn cpu_time() -> Duration {
    // SAFETY: `getrusage` writes into the struct we pass; zeroed is a
    // valid initial value for this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a `rusage`.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// A thread holds the writers' lock (inside `update`) for a long time: the
/// other writer must sleep, not spin (loosely checked, as in the Rcu test).
#[test]
fn a_waiting_writer_thread_sleeps() {
    common::within("SeqLock::write vs a long update", 60, || {
        let lock = Arc::new(SeqLock::new(0u64));
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let updater = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                lock.update(|v| {
                    locked_tx.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(1500));
                    *v = 1;
                })
            })
        };
        locked_rx.recv().unwrap();
        let before = cpu_time();
        lock.write(2);
        let used = cpu_time() - before;
        updater.join().unwrap();
        assert_eq!(lock.read(), 2);
        assert!(
            used < Duration::from_millis(750),
            "a waiting writer burned {used:?} of CPU in 1.5 s"
        );
    });
}

/// Stress: more writer threads than cores, each update long enough that
/// others park, beside readers: every update is kept, readers never see a
/// torn pair, and no parked writer is left behind (the watchdog).
#[test]
fn eight_writer_threads_park_and_lose_nothing() {
    common::within("SeqLock writers parking, 8 threads", 120, || {
        let lock = Arc::new(SeqLock::new((0u64, 0u64)));
        std::thread::scope(|s| {
            for _ in 0..8 {
                let lock = lock.clone();
                s.spawn(move || {
                    for i in 0..2_000 {
                        lock.update(|(a, b)| {
                            *a += 1;
                            if i % 64 == 0 {
                                // Hold the lock across a yield: others park.
                                std::thread::yield_now();
                            }
                            *b += 1;
                        });
                    }
                });
            }
            for _ in 0..2 {
                let lock = lock.clone();
                s.spawn(move || {
                    for _ in 0..20_000 {
                        let (a, b) = lock.read();
                        assert_eq!(a, b, "torn read");
                    }
                });
            }
        });
        assert_eq!(lock.read(), (16_000, 16_000));
    });
}
