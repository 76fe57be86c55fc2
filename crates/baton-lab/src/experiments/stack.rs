//! `stack`: a lock-free (Treiber) stack against a mutex around a `Vec`.
//!
//! Case `pushpop`: each op = push one item, then pop one (see
//! `fifo_lifo.rs`). baton's `Stack` takes a node per push from a per-thread
//! cache and retires it through the epoch collector back into one;
//! `Mutex<Vec>` reuses its buffer, so on few cores the mutex is hard to
//! beat, and with more threads than cores a thread descheduled while
//! pinned holds back the stack's recycling (see `treiber.rs`).

use super::fifo_lifo::{pushpop, MutexVec};
use super::{Case, Experiment, Impl};

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "stack",
        claim: "a lock-free stack keeps up with a mutex around a Vec as threads are added",
        cases: vec![Case {
            name: "pushpop",
            about: "one op = push one item, then pop one",
            threads: &[2, 8],
            latency: false,
            big: None,
            impls: vec![
                Impl::native(
                    "baton",
                    "baton::collections::Stack (Treiber, epoch)",
                    pushpop::<baton::collections::Stack<u64>>,
                ),
                Impl::native("mutex-vec", "std Mutex<Vec>", pushpop::<MutexVec>),
            ],
        }],
    }
}
