//! `queue`: unbounded MPMC queues.
//!
//! baton's `Queue` uses crossbeam `SegQueue`'s design (blocks of slots);
//! `MsQueue` is the classic Michael–Scott queue, the baseline. Peers:
//! `Mutex<VecDeque>`, `Mutex<Vec>` (a LIFO, for scale), crossbeam's
//! `SegQueue` and its bounded `ArrayQueue`. Workloads in `fifo_lifo.rs`.

use super::fifo_lifo::{mpmc, pushpop, ArrayQueue, MutexVec, MutexVecDeque};
use super::{Case, Experiment, Impl};
use baton::collections::{MsQueue, Queue};
use crossbeam_queue::SegQueue;

macro_rules! impls {
    ($run:ident) => {
        vec![
            Impl::native(
                "baton",
                "baton::collections::Queue (blocks of slots)",
                $run::<Queue<u64>>,
            ),
            Impl::native(
                "baton-ms",
                "baton::collections::MsQueue (Michael-Scott, epoch)",
                $run::<MsQueue<u64>>,
            ),
            Impl::native("mutex-vec", "std Mutex<Vec> (LIFO)", $run::<MutexVec>),
            Impl::native(
                "mutex-vecdeque",
                "std Mutex<VecDeque>",
                $run::<MutexVecDeque>,
            ),
            Impl::native(
                "crossbeam-segqueue",
                "crossbeam_queue::SegQueue",
                $run::<SegQueue<u64>>,
            ),
            Impl::native(
                "crossbeam-arrayqueue",
                "crossbeam_queue::ArrayQueue (bounded, 2^17)",
                $run::<ArrayQueue>,
            ),
        ]
    };
}

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "queue",
        claim: "baton's Queue matches crossbeam's SegQueue and beats a mutex around a VecDeque",
        cases: vec![
            Case {
                name: "pushpop",
                about: "one op = push one item, then pop one",
                threads: &[2, 8],
                latency: false,
                big: None,
                impls: impls!(pushpop),
            },
            Case {
                name: "mpmc",
                about: "half the threads push, half pop; one op = one push or one pop attempt",
                threads: &[2, 8],
                latency: false,
                big: None,
                impls: impls!(mpmc),
            },
        ],
    }
}
