//! `semaphore`: bounding concurrency with a counting semaphore.
//!
//! The classic semaphore is a counter under a mutex with a condition
//! variable: every acquire and release takes the mutex, and every wait is a
//! trip through the condition variable. baton's semaphore takes and returns
//! permits with one compare-and-swap while no one waits, and queues waiters
//! FIFO in its own wait queue (a large request is never overtaken).
//! `plenty` shows the fast path (permits for every thread); `scarce`
//! (2 permits) makes threads wait for each other.

use std::hint::black_box;
use std::sync::{Condvar, Mutex};

use baton::sync::Semaphore;

use super::{Case, Experiment, Impl};
use crate::runner::{measure, Sample, Spec};

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "semaphore",
        claim: "a semaphore with an atomic fast path and FIFO wait queue beats a mutex + condvar counter",
        cases: vec![
            Case {
                name: "plenty",
                about: "one op = acquire 1 permit, touch a counter, release; 64 permits, \
                        so nobody waits",
                threads: &[1, 2, 8],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("baton", "baton::sync::Semaphore::acquire / drop", |s| {
                        baton(s, 64)
                    }),
                    Impl::native(
                        "std-mutex-condvar",
                        "std Mutex<counts> + Condvar, notify_one when someone waits",
                        |s| mutex_condvar(s, 64),
                    ),
                ],
            },
            Case {
                name: "scarce",
                about: "one op = as plenty, with 2 permits: beyond 2 threads they wait",
                threads: &[2, 8],
                latency: true,
                big: None,
                impls: vec![
                    Impl::native("baton", "baton::sync::Semaphore::acquire / drop", |s| {
                        baton(s, 2)
                    }),
                    Impl::native(
                        "std-mutex-condvar",
                        "std Mutex<counts> + Condvar, notify_one when someone waits",
                        |s| mutex_condvar(s, 2),
                    ),
                ],
            },
        ],
    }
}

/// The work done while holding a permit: a little, so that the semaphore
/// dominates but a holder is not gone at once.
#[inline]
fn work(x: &mut u64) {
    for _ in 0..8 {
        *x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

fn baton(spec: &Spec, permits: usize) -> Sample {
    let sem = Semaphore::new(permits);
    measure(spec, &sem, |sem, _| {
        let mut x = 1;
        move || {
            let _p = sem.acquire(1);
            work(&mut x);
        }
    })
}

/// The textbook semaphore: free permits under a mutex, waiters on a
/// condvar. It counts its waiters and only notifies when someone waits:
/// std's `notify_one` is a futex syscall even with no waiter, and a fair
/// baseline should not pay for that.
struct MutexCondvarSemaphore {
    state: Mutex<Counts>,
    freed: Condvar,
}

struct Counts {
    free: usize,
    waiting: usize,
}

impl MutexCondvarSemaphore {
    fn acquire(&self) {
        let mut s = self.state.lock().unwrap();
        while s.free == 0 {
            s.waiting += 1;
            s = self.freed.wait(s).unwrap();
            s.waiting -= 1;
        }
        s.free -= 1;
    }

    fn release(&self) {
        let mut s = self.state.lock().unwrap();
        s.free += 1;
        let notify = s.waiting > 0;
        drop(s);
        if notify {
            self.freed.notify_one();
        }
    }
}

fn mutex_condvar(spec: &Spec, permits: usize) -> Sample {
    let sem = MutexCondvarSemaphore {
        state: Mutex::new(Counts {
            free: permits,
            waiting: 0,
        }),
        freed: Condvar::new(),
    };
    measure(spec, &sem, |sem, _| {
        let mut x = 1;
        move || {
            sem.acquire();
            work(&mut x);
            sem.release();
        }
    })
}
