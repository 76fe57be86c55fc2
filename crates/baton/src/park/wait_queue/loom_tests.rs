//! Loom models of the wait queue: hand-off racing with time-outs.

use super::*;
use crate::shim::atomic::AtomicBool;
use crate::shim::Arc;

/// A one-permit-at-a-time semaphore built the way primitives use the
/// queue: `free` counts free permits and changes only under the queue's lock; a
/// release hands its permit straight to the front waiter (token 1) or,
/// with nobody queued, adds it to `free`. Returns whether the caller got a
/// permit.
struct Sem {
    q: WaitQueue,
    free: AtomicUsize,
}

const PERMIT: Token = Token::new(1);

fn acquire(s: &Sem, deadline: Option<Instant>) -> bool {
    let mut took = false;
    match s.q.wait(
        (),
        deadline,
        |_| {
            if s.free.load(Ordering::Relaxed) > 0 {
                s.free.fetch_sub(1, Ordering::Relaxed);
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
            assert_eq!(token, PERMIT);
            true
        }
        Waited::TimedOut => false,
    }
}

fn release(s: &Sem) {
    let mut l = s.q.lock();
    if l.wake_front(PERMIT).is_none() {
        s.free.fetch_add(1, Ordering::Relaxed);
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
        let q = Arc::new(Sem {
            q: WaitQueue::new(),
            free: AtomicUsize::new(0),
        });
        let q1 = q.clone();
        let impatient = loom::thread::spawn(move || acquire(&q1, Some(Instant::now())));
        let q2 = q.clone();
        let patient = loom::thread::spawn(move || acquire(&q2, None));
        release(&q);
        release(&q);
        let a = impatient.join().unwrap();
        let b = patient.join().unwrap();
        assert!(b, "the patient waiter must get a permit");
        let left = {
            let _l = q.q.lock();
            q.free.load(Ordering::Relaxed)
        };
        assert_eq!(
            usize::from(a) + usize::from(b) + left,
            2,
            "permits lost or duplicated"
        );
        assert!(q.q.lock().is_empty());
    });
}

/// One waiter, one wake-all with no deadline involved: the wake is never
/// lost whether it comes before, during or after the enqueue (the
/// `validate` step sees the flag under the lock).
#[test]
fn loom_wait_queue_wake_all_not_lost() {
    loom::model(|| {
        let q = Arc::new(WaitQueue::new());
        // "done", set under the queue's lock.
        let done = Arc::new(AtomicBool::new(false));
        let (q1, done1) = (q.clone(), done.clone());
        let waiter = loom::thread::spawn(move || {
            let r = q1.wait(0, None, |_| !done1.load(Ordering::Relaxed), || {}, |_| {});
            assert!(matches!(r, Waited::NotQueued | Waited::Woken(Token::WAKE)));
        });
        {
            let mut l = q.lock();
            done.store(true, Ordering::Relaxed);
            l.wake_all(Token::WAKE);
        }
        waiter.join().unwrap();
    });
}
