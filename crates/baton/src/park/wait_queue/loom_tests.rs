//! Loom models of the wait queue: hand-off racing with time-outs.

use super::*;
use crate::shim::Arc;

/// A one-permit-at-a-time semaphore built the way primitives use the
/// queue: `state` counts free permits; a release hands its permit straight
/// to the front waiter (token 1) or, with nobody queued, adds it to
/// `state`. Returns whether the caller got a permit.
fn acquire(q: &WaitQueue<usize>, deadline: Option<Instant>) -> bool {
    let mut took = false;
    match q.wait(
        0,
        deadline,
        |l| {
            if *l.state() > 0 {
                *l.state_mut() -= 1;
                took = true;
                false
            } else {
                true
            }
        },
        || {},
        |_| {},
    ) {
        Waited::NotQueued => took,
        Waited::Woken(token) => {
            assert_eq!(token, 1);
            true
        }
        Waited::TimedOut => false,
    }
}

fn release(q: &WaitQueue<usize>) {
    let mut l = q.lock();
    if l.wake_front(1).is_none() {
        *l.state_mut() += 1;
    }
}

/// Two releases, one waiter that may time out (loom decides), one that
/// waits for good: the patient waiter always gets a permit (no wake is
/// swallowed by the timed-out one) and no permit is lost or duplicated.
#[test]
fn loom_wait_queue_timeout_never_swallows_a_wake() {
    let mut b = loom::model::Builder::new();
    b.preemption_bound = Some(2);
    b.check(|| {
        let q = Arc::new(WaitQueue::new(0usize));
        let q1 = q.clone();
        let impatient = loom::thread::spawn(move || acquire(&q1, Some(Instant::now())));
        let q2 = q.clone();
        let patient = loom::thread::spawn(move || acquire(&q2, None));
        release(&q);
        release(&q);
        let a = impatient.join().unwrap();
        let b = patient.join().unwrap();
        assert!(b, "the patient waiter must get a permit");
        let left = *q.lock().state();
        assert_eq!(
            usize::from(a) + usize::from(b) + left,
            2,
            "permits lost or duplicated"
        );
        assert!(q.lock().is_empty());
    });
}

/// One waiter, one wake-all with no deadline involved: the wake is never
/// lost whether it comes before, during or after the enqueue (the
/// `validate` step sees the flag under the lock).
#[test]
fn loom_wait_queue_wake_all_not_lost() {
    loom::model(|| {
        let q = Arc::new(WaitQueue::new(false)); // state = "done"
        let q1 = q.clone();
        let waiter = loom::thread::spawn(move || {
            let r = q1.wait(0, None, |l| !*l.state(), || {}, |_| {});
            assert!(matches!(r, Waited::NotQueued | Waited::Woken(0)));
        });
        {
            let mut l = q.lock();
            *l.state_mut() = true;
            l.wake_all(0);
        }
        waiter.join().unwrap();
    });
}
