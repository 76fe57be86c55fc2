//! The mailbox through which workers answer goroutine dumps: the asker
//! (`diag::dump`, whose module docs explain the protocol and its orderings)
//! posts a [`DumpRequest`] to each worker's [`DumpInbox`], and each worker
//! answers at its next scheduling point.

use super::goroutine::Header;
use crate::park::Unparker;
use crate::shim::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use crate::shim::{lock, Arc, Mutex};

/// Sorts after every goroutine id: the per-worker "not started" lines.
pub(crate) const LAST: u64 = u64::MAX;

/// One dump in progress.
#[derive(Debug)]
pub(crate) struct DumpRequest {
    /// `(goroutine id, line)` from the workers.
    pub(crate) lines: Mutex<Vec<(u64, String)>>,
    /// Workers that have not answered yet.
    pub(crate) remaining: AtomicUsize,
    /// Which workers answered (for the "did not answer" lines).
    pub(crate) answered: Box<[AtomicBool]>,
    /// Wakes the asker after the last answer.
    pub(crate) asker: Unparker,
    /// The asking goroutine's id (shown as running), 0 for a thread.
    pub(crate) asker_id: u64,
    /// When the dump was asked for, in `coarse_now_ns` time (for ages).
    pub(crate) now_ns: u64,
    /// Formats one goroutine's line (the worker calls it for each of its
    /// goroutines): `diag::dump`'s, passed in so that the scheduler does
    /// not import the diagnostics.
    pub(crate) line: fn(&Header, &DumpRequest, usize) -> String,
}

impl DumpRequest {
    /// Worker `worker`'s answer.
    pub(crate) fn answer(&self, worker: usize, lines: Vec<(u64, String)>) {
        lock(&self.lines).extend(lines);
        if self.answered[worker].swap(true, Relaxed) {
            return; // answered already (at exit, then again): count once
        }
        // AcqRel: see the module docs.
        if self.remaining.fetch_sub(1, AcqRel) == 1 {
            self.asker.unpark();
        }
    }
}

/// A worker's pending dump requests.
#[derive(Debug, Default)]
pub(crate) struct DumpInbox {
    pending: AtomicBool,
    /// The requests, and whether the worker has exited (then it refuses).
    requests: Mutex<(Vec<Arc<DumpRequest>>, bool)>,
}

impl DumpInbox {
    /// Whether a request waits (a hint; see the module docs).
    #[inline]
    pub(crate) fn pending(&self) -> bool {
        self.pending.load(Relaxed)
    }

    /// Queues a request; `false` if the worker has exited.
    pub(crate) fn push(&self, r: Arc<DumpRequest>) -> bool {
        let mut q = lock(&self.requests);
        if q.1 {
            return false;
        }
        q.0.push(r);
        self.pending.store(true, Release);
        true
    }

    /// Takes every request; with `close`, refuses later ones (worker exit).
    pub(crate) fn take(&self, close: bool) -> Vec<Arc<DumpRequest>> {
        let mut q = lock(&self.requests);
        self.pending.store(false, Relaxed);
        q.1 |= close;
        core::mem::take(&mut q.0)
    }
}
