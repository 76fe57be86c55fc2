//! [`Injector`]: the runtime-wide queue of unstarted goroutines.

use std::collections::VecDeque;

use super::goroutine::{Header, Task};
use crate::shim::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::shim::{lock, Mutex};

/// The global queue of unstarted goroutines: those spawned from outside the
/// runtime's workers, and the overflow of full rings. Any worker takes from
/// it. A mutex is enough: it is touched once per spawn from outside and once
/// every `FAIRNESS_INTERVAL` scheduling rounds per worker, and `len` lets an
/// idle worker see that it is empty without taking the lock.
#[derive(Debug)]
pub(crate) struct Injector {
    queue: Mutex<VecDeque<Task>>,
    /// Mirrors `queue.len()`, written under the lock. `SeqCst` loads and
    /// stores because sleeping workers' re-checks read it after the idle
    /// protocol's fence (see `idle`).
    len: AtomicUsize,
}

impl Injector {
    pub(super) fn new() -> Self {
        Self {
            queue: Mutex::new(VecDeque::new()),
            len: AtomicUsize::new(0),
        }
    }

    pub(crate) fn push(&self, task: Task) {
        let mut q = lock(&self.queue);
        q.push_back(task);
        self.len.store(q.len(), SeqCst);
    }

    pub(crate) fn push_batch(&self, batch: Vec<Task>) {
        let mut q = lock(&self.queue);
        q.extend(batch);
        self.len.store(q.len(), SeqCst);
    }

    #[inline]
    pub(crate) fn pop(&self) -> Option<Task> {
        if self.is_empty() {
            return None;
        }
        let mut q = lock(&self.queue);
        let t = q.pop_front();
        self.len.store(q.len(), SeqCst);
        t
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len.load(SeqCst) == 0
    }

    /// Calls `f` with each queued goroutine's header, under the lock.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        for t in lock(&self.queue).iter() {
            f(&t.header);
        }
    }

    /// Everything left (shutdown).
    pub(crate) fn drain(&self) -> Vec<Task> {
        let mut q = lock(&self.queue);
        self.len.store(0, SeqCst);
        q.drain(..).collect()
    }
}
