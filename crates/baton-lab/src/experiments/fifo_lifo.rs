//! What the `stack` and `queue` experiments share: the containers behind
//! one trait, and the two workloads.
//!
//! - `pushpop`: each op = push one item, then pop one (any thread's).
//! - `mpmc`: half the threads push, half pop; one op = one push or one pop
//!   attempt (an attempt that finds the queue empty counts too). So that an
//!   unbounded queue cannot grow without bound when producers outrun
//!   consumers, every thread adds its pushes minus its pops to a shared
//!   backlog estimate every 64 ops, and a producer that sees more than
//!   64Ki items queued pops one instead of pushing. The estimate costs every
//!   implementation the same one atomic add per 64 ops.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Mutex;

use baton::atomic::CachePadded;

use crate::runner::{measure, Sample, Spec};

/// A multi-producer multi-consumer container of `u64`s.
pub(super) trait Container: Sync + Default {
    fn push(&self, v: u64);
    fn pop(&self) -> Option<u64>;
}

macro_rules! container {
    ($t:ty, |$s:ident, $v:ident| $push:expr, |$s2:ident| $pop:expr) => {
        impl Container for $t {
            #[inline]
            fn push(&$s, $v: u64) {
                $push;
            }
            #[inline]
            fn pop(&$s2) -> Option<u64> {
                $pop
            }
        }
    };
}

container!(
    baton::collections::Stack<u64>,
    |self, v| self.push(v),
    |self| self.pop()
);
container!(
    baton::collections::Queue<u64>,
    |self, v| self.push(v),
    |self| self.pop()
);
container!(
    baton::collections::MsQueue<u64>,
    |self, v| self.push(v),
    |self| self.pop()
);
container!(
    crossbeam_queue::SegQueue<u64>,
    |self, v| self.push(v),
    |self| self.pop()
);

/// `Mutex<Vec>`: a LIFO.
#[derive(Default)]
pub(super) struct MutexVec(Mutex<Vec<u64>>);
container!(
    MutexVec,
    |self, v| self.0.lock().unwrap().push(v),
    |self| self.0.lock().unwrap().pop()
);

/// `Mutex<VecDeque>`: a FIFO.
#[derive(Default)]
pub(super) struct MutexVecDeque(Mutex<VecDeque<u64>>);
container!(
    MutexVecDeque,
    |self, v| self.0.lock().unwrap().push_back(v),
    |self| self.0.lock().unwrap().pop_front()
);

/// crossbeam's bounded `ArrayQueue`, 2^17 slots (more than `mpmc`'s
/// backlog cap, so a push only fails if the estimate lags).
pub(super) struct ArrayQueue(crossbeam_queue::ArrayQueue<u64>);
impl Default for ArrayQueue {
    fn default() -> Self {
        Self(crossbeam_queue::ArrayQueue::new(1 << 17))
    }
}
container!(
    ArrayQueue,
    |self, v| {
        let _ = self.0.push(v);
    },
    |self| self.0.pop()
);

/// `pushpop`: push then pop.
pub(super) fn pushpop<C: Container>(spec: &Spec) -> Sample {
    let c = C::default();
    measure(spec, &c, |c, worker| {
        let mut n = (worker as u64) << 40;
        move || {
            n += 1;
            c.push(n);
            black_box(c.pop());
        }
    })
}

/// The most items `mpmc` lets queue up (see the module docs).
const BACKLOG_CAP: i64 = 1 << 16;
/// Ops between a thread's updates of the backlog estimate.
const FLUSH_EVERY: u32 = 64;

struct Mpmc<C> {
    c: C,
    backlog: CachePadded<AtomicI64>,
}

/// `mpmc`: even workers produce, odd ones consume.
pub(super) fn mpmc<C: Container>(spec: &Spec) -> Sample {
    let state = Mpmc {
        c: C::default(),
        backlog: CachePadded::new(AtomicI64::new(0)),
    };
    measure(spec, &state, |s, worker| {
        let producer = worker % 2 == 0;
        let mut delta = 0i64;
        let mut since = 0u32;
        let mut n = (worker as u64) << 40;
        move || {
            since += 1;
            if since == FLUSH_EVERY {
                since = 0;
                // Relaxed: an estimate; it orders nothing.
                s.backlog.fetch_add(delta, Relaxed);
                delta = 0;
            }
            if producer && s.backlog.load(Relaxed) < BACKLOG_CAP {
                n += 1;
                s.c.push(n);
                delta += 1;
            } else if let Some(v) = s.c.pop() {
                black_box(v);
                delta -= 1;
            }
        }
    })
}
