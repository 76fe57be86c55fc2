//! Loom models of the mutex state machine, in both fairness modes.

use super::*;
use crate::shim::Arc;
use crate::sync::raw_mutex::StarvePolicy;

/// Three threads increment under the lock: mutual exclusion (loom checks
/// the data cell for racing accesses) and no lost wake-up (loom reports a
/// deadlock if a sleeper is never woken), with the normal-mode wake /
/// `WOKEN` / barging paths, or with every unlock handing off directly.
fn contended(policy: StarvePolicy) {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(move || {
        let m = Arc::new(Mutex::with_policy(0usize, policy));
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let m = m.clone();
                loom::thread::spawn(move || *m.lock() += 1)
            })
            .collect();
        *m.lock() += 1;
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*m.lock(), 3);
        assert!(!m.is_locked());
    });
}

#[test]
fn loom_mutex_normal_mode() {
    contended(StarvePolicy::Never);
}

#[test]
fn loom_mutex_starvation_handoff() {
    contended(StarvePolicy::Always);
}

/// A `lock_timeout` that may time out (loom decides) races with a plain
/// locker and the owner's unlock: whichever way it goes, the plain locker
/// gets the lock (a timed-out waiter never swallows the wake or leaves
/// `WOKEN`/`PARKED` stale) and the state word ends clean.
#[test]
fn loom_mutex_timeout_races_unlock() {
    for policy in [StarvePolicy::Never, StarvePolicy::Always] {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(2);
        b.check(move || {
            let m = Arc::new(Mutex::with_policy(0usize, policy));
            let g = m.lock();
            let m1 = m.clone();
            let impatient = loom::thread::spawn(move || {
                if let Some(mut g) = m1.lock_deadline(Instant::now()) {
                    *g += 1;
                }
            });
            let m2 = m.clone();
            let patient = loom::thread::spawn(move || *m2.lock() += 10);
            drop(g);
            impatient.join().unwrap();
            patient.join().unwrap();
            let v = *m.lock();
            assert!(v == 10 || v == 11, "the patient locker always gets in");
            assert_eq!(
                format!("{:?}", m.raw()),
                "RawMutex { locked: false, parked: false, woken: false, starving: false }"
            );
        });
    }
}
