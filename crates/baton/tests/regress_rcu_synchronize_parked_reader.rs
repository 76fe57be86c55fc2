//! Regression (issue 10, item 2): `Rcu::synchronize` waited for readers by
//! spinning and yielding the OS thread. On a one-worker runtime, a reader
//! goroutine holding a guard across `sleep` never got the worker back, so
//! `synchronize` hung. It now parks (a goroutine's park lets the worker run
//! the reader). From two OS threads, a long-held guard must not make the
//! waiter burn a CPU.

#![cfg(not(loom))] // the runtime is not built under loom

mod common;

use std::sync::Arc;
use std::time::Duration;

use baton::atomic::Rcu;
use baton::chan;
use baton::runtime::Builder;

#[test]
fn synchronize_waits_for_a_reader_goroutine_parked_on_the_same_worker() {
    common::within("Rcu::synchronize vs a parked reader goroutine", 30, || {
        let rt = Builder::new().workers(1).build();
        rt.run(|| {
            let rcu = Arc::new(Rcu::new(1u32));
            let (held_tx, held_rx) = chan::bounded::<()>(1);
            let reader = {
                let rcu = rcu.clone();
                baton::go(move || {
                    let guard = rcu.load();
                    held_tx.send(()).unwrap();
                    // Parks this goroutine with the guard held.
                    baton::time::sleep(Duration::from_millis(50));
                    *guard
                })
            };
            held_rx.recv().unwrap();
            rcu.store(2);
            assert_eq!(rcu.pending(), 1, "the reader holds version 1");
            rcu.synchronize(); // hung here: the reader never ran again
            assert_eq!(rcu.pending(), 0);
            assert_eq!(reader.join().unwrap(), 1);
        });
    });
}

/// CPU time (user + system) the calling thread has used so far.
fn cpu_time() -> Duration {
    // SAFETY: `getrusage` writes into the struct we pass; zeroed is a
    // valid initial value for this plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a `rusage`.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// A thread holds a guard for a long time while another synchronizes: the
/// waiter must sleep, not spin. Checked loosely (it burned a whole second
/// of CPU per second of waiting before): the waiter may use a small
/// fraction of the wall time.
#[test]
fn synchronize_sleeps_while_a_thread_holds_a_guard() {
    common::within("Rcu::synchronize vs a long-held guard", 60, || {
        let rcu = Arc::new(Rcu::new(1u32));
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let reader = {
            let rcu = rcu.clone();
            std::thread::spawn(move || {
                let guard = rcu.load();
                held_tx.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(1500));
                *guard
            })
        };
        held_rx.recv().unwrap();
        rcu.store(2);
        let before = cpu_time();
        rcu.synchronize();
        let used = cpu_time() - before;
        assert_eq!(rcu.pending(), 0);
        assert_eq!(reader.join().unwrap(), 1);
        assert!(
            used < Duration::from_millis(750),
            "synchronize burned {used:?} of CPU waiting 1.5 s for a reader"
        );
    });
}
