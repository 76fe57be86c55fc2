//! Unit tests of the wait queue with OS threads.

use super::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as O};
use std::sync::Arc;
use std::time::Duration;

/// Spins (politely) until the queue holds `n` waiters.
fn until_len<P: Copy>(q: &WaitQueue<P>, n: usize) {
    let start = Instant::now();
    while q.lock().len() != n {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "waiters never queued"
        );
        std::thread::yield_now();
    }
}

#[test]
fn fifo_order_and_tokens_reach_their_waiters() {
    let q = Arc::new(WaitQueue::new());
    let mut handles = Vec::new();
    for i in 0..4 {
        let q2 = q.clone();
        handles.push(std::thread::spawn(move || {
            q2.wait(i, None, |_| true, || {}, |_| {})
        }));
        until_len(&q, i + 1); // enforce arrival order
    }
    {
        let mut l = q.lock();
        assert_eq!(l.front(), Some(0));
        assert_eq!(l.wake_front(Token::new(100)), Some(0));
        assert_eq!(l.wake_front(Token::new(101)), Some(1));
        assert_eq!(l.len(), 2);
    }
    assert_eq!(q.lock().wake_all(Token::new(7)), 2);
    let got: Vec<Waited> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        got,
        vec![
            Waited::Woken(Token::new(100)),
            Waited::Woken(Token::new(101)),
            Waited::Woken(Token::new(7)),
            Waited::Woken(Token::new(7))
        ]
    );
    assert!(q.lock().is_empty());
}

#[test]
fn validate_false_does_not_queue() {
    // The primitive's state lives beside the queue, changed under its lock.
    let q = WaitQueue::new();
    let state = AtomicUsize::new(5);
    let r = q.wait(
        0,
        None,
        |_| {
            state.fetch_sub(1, O::Relaxed);
            false
        },
        || unreachable!("not queued, so no sleep"),
        |_| unreachable!(),
    );
    assert_eq!(r, Waited::NotQueued);
    assert_eq!(state.load(O::Relaxed), 4);
}

#[test]
fn timed_out_waiter_leaves_and_the_next_gets_the_wake() {
    let q = Arc::new(WaitQueue::new());
    let state = AtomicUsize::new(0);
    // A waiter with no deadline queues first, then one behind it times out.
    let q1 = q.clone();
    let first = std::thread::spawn(move || q1.wait(1, None, |_| true, || {}, |_| {}));
    until_len(&q, 1);
    let timed = q.wait(
        2,
        Some(Instant::now() + Duration::from_millis(5)),
        |_| true,
        || {},
        |_| {
            state.fetch_add(1, O::Relaxed);
        },
    );
    assert_eq!(timed, Waited::TimedOut);
    assert_eq!(state.load(O::Relaxed), 1, "on_timeout ran under the lock");
    assert_eq!(q.lock().len(), 1, "only the first is still queued");
    assert_eq!(q.lock().wake_front(Token::new(9)), Some(1));
    assert_eq!(first.join().unwrap(), Waited::Woken(Token::new(9)));
}

#[test]
fn middle_waiter_times_out_links_stay_sound() {
    let q = Arc::new(WaitQueue::new());
    let spawn = |payload: usize, deadline: Option<Instant>| {
        let q = q.clone();
        std::thread::spawn(move || q.wait(payload, deadline, |_| true, || {}, |_| {}))
    };
    let a = spawn(1, None);
    until_len(&q, 1);
    let b = spawn(2, Some(Instant::now() + Duration::from_millis(20)));
    until_len(&q, 2);
    let c = spawn(3, None);
    until_len(&q, 3);
    assert_eq!(b.join().unwrap(), Waited::TimedOut);
    let mut order = Vec::new();
    q.lock().wake_while(|p| {
        order.push(p);
        Some(Token::new(p * 10))
    });
    assert_eq!(order, vec![1, 3]);
    assert_eq!(a.join().unwrap(), Waited::Woken(Token::new(10)));
    assert_eq!(c.join().unwrap(), Waited::Woken(Token::new(30)));
}

#[test]
fn wake_while_stops_at_first_refusal() {
    let q = Arc::new(WaitQueue::new());
    let mut hs = Vec::new();
    for w in [1usize, 5, 1] {
        let q2 = q.clone();
        let n = q.lock().len();
        hs.push(std::thread::spawn(move || {
            q2.wait(w, None, |_| true, || {}, |_| {})
        }));
        until_len(&q, n + 1);
    }
    // Budget 3: the first (1) fits, the second (5) does not, and FIFO stops
    // the third (1) from overtaking it.
    let mut budget = 3;
    let woken = q.lock().wake_while(|w| {
        (w <= budget).then(|| {
            budget -= w;
            Token::new(1)
        })
    });
    assert_eq!(woken, 1);
    assert_eq!(q.lock().wake_all(Token::new(2)), 2);
    let got: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        got,
        vec![
            Waited::Woken(Token::new(1)),
            Waited::Woken(Token::new(2)),
            Waited::Woken(Token::new(2))
        ]
    );
}

#[test]
fn before_sleep_runs_after_queueing() {
    // 0: before_sleep has not run; 1: it ran and saw its own node queued;
    // 2: it ran and did not. The waker waits for it to have run, so that the
    // check is not raced by the wake itself (which unlinks the node).
    let q = Arc::new(WaitQueue::new());
    let q2 = q.clone();
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let h = std::thread::spawn(move || {
        q2.wait(
            0,
            None,
            |_| true,
            || {
                // We are already queued: a wake from here on finds us.
                let queued = q2.lock().len() == 1;
                s.store(if queued { 1 } else { 2 }, O::SeqCst);
            },
            |_| {},
        )
    });
    let start = Instant::now();
    while seen.load(O::SeqCst) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "before_sleep never ran"
        );
        std::thread::yield_now();
    }
    assert_eq!(
        seen.load(O::SeqCst),
        1,
        "before_sleep ran before the node was queued"
    );
    while q.lock().wake_front(Token::new(3)).is_none() {
        assert!(start.elapsed() < Duration::from_secs(30));
    }
    assert_eq!(h.join().unwrap(), Waited::Woken(Token::new(3)));
}

/// A stress run: many threads wait with short deadlines while one hands
/// out exactly N tokens. Every token is accounted for: taken by a waiter
/// (`Woken`) or never handed because the queue was empty.
#[test]
fn stress_no_token_lost_with_timeouts() {
    const ONE: Token = Token::new(1);
    const WAITERS: usize = 8;
    const ROUNDS: usize = 3000;
    let q = Arc::new(WaitQueue::new());
    // Tokens nobody took; changed only under the queue's lock.
    let state = Arc::new(AtomicUsize::new(0));
    let got = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut hs = Vec::new();
    for i in 0..WAITERS {
        let (q, got, stop, state) = (q.clone(), got.clone(), stop.clone(), state.clone());
        hs.push(std::thread::spawn(move || {
            while !stop.load(O::SeqCst) {
                let deadline = (i % 2 == 0).then(|| Instant::now() + Duration::from_micros(50));
                let mut took = false;
                let r = q.wait(
                    i,
                    deadline,
                    |_| {
                        if state.load(O::Relaxed) > 0 {
                            state.fetch_sub(1, O::Relaxed);
                            took = true;
                            false
                        } else {
                            true
                        }
                    },
                    || {},
                    |_| {},
                );
                match r {
                    Waited::Woken(ONE) => {
                        got.fetch_add(1, O::SeqCst);
                    }
                    Waited::Woken(Token::WAKE) => {} // a "stop" wake
                    Waited::NotQueued => {
                        assert!(took);
                        got.fetch_add(1, O::SeqCst);
                    }
                    Waited::TimedOut => {}
                    Waited::Woken(t) => panic!("unexpected token {t:?}"),
                }
            }
        }));
    }
    for _ in 0..ROUNDS {
        let mut l = q.lock();
        if l.wake_front(ONE).is_none() {
            state.fetch_add(1, O::Relaxed);
        }
        drop(l);
        std::thread::yield_now();
    }
    // Drain: wait until every token was taken.
    let start = Instant::now();
    while got.load(O::SeqCst) != ROUNDS {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "wait queue lost tokens: {} of {ROUNDS} taken",
            got.load(O::SeqCst)
        );
        std::thread::yield_now();
    }
    stop.store(true, O::SeqCst);
    while hs.iter().any(|h| !h.is_finished()) {
        q.lock().wake_all(Token::WAKE);
        std::thread::yield_now();
    }
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(state.load(O::Relaxed), 0);
}

/// The queue parks through the goroutine hook when one is installed.
#[test]
fn wait_goes_through_the_hook() {
    use crate::park::hook::{self, ParkHook, TaskUnpark};
    #[derive(Debug)]
    struct Nop;
    impl TaskUnpark for Nop {
        fn unpark(&self) {}
    }
    struct TimesOut(AtomicUsize);
    impl ParkHook for TimesOut {
        fn unparker(&self) -> Arc<dyn TaskUnpark> {
            Arc::new(Nop)
        }
        fn park(&self) {
            unreachable!("deadline waits only")
        }
        fn park_deadline(&self, _: Instant) -> bool {
            self.0.fetch_add(1, O::SeqCst);
            true
        }
        fn set_wait_reason(&self, r: crate::park::WaitReason) -> crate::park::WaitReason {
            r
        }
        fn goroutine_id(&self) -> u64 {
            u64::MAX / 2
        }
    }
    static HOOK: TimesOut = TimesOut(AtomicUsize::new(0));
    let q = WaitQueue::new();
    let _g = hook::install(&HOOK);
    let r = q.wait(
        0,
        Some(Instant::now() + Duration::from_secs(3600)),
        |_| true,
        || {},
        |_| {},
    );
    assert_eq!(r, Waited::TimedOut);
    assert_eq!(HOOK.0.load(O::SeqCst), 1);
}

#[test]
#[should_panic(expected = "usize::MAX is reserved by the wait queue")]
fn token_max_is_refused() {
    let max = std::hint::black_box(usize::MAX);
    let _ = Token::new(max);
}
