//! Handle counts: the channel closes when its last sender or its last
//! receiver is dropped; its memory is freed when the last handle of either
//! kind is (an `Arc`).

use crate::shim::atomic::{AtomicUsize, Ordering};
use crate::shim::Arc;

/// A channel with its sender and receiver counts.
pub(crate) struct Counted<C> {
    /// Live `Sender`s. Only ever reaches 0 once.
    senders: AtomicUsize,
    /// Live `Receiver`s. Only ever reaches 0 once.
    receivers: AtomicUsize,
    pub(crate) chan: C,
}

impl<C> Counted<C> {
    /// A channel with one sender and one receiver.
    pub(crate) fn new(chan: C) -> Arc<Self> {
        Arc::new(Counted {
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            chan,
        })
    }

    /// One more sender (`send`) or receiver.
    pub(crate) fn acquire(&self, send: bool) {
        let count = if send { &self.senders } else { &self.receivers };
        // Relaxed: as `Arc::clone`; the caller already holds a handle.
        let old = count.fetch_add(1, Ordering::Relaxed);
        // A count this large can only come from leaked handles (mem::forget
        // in a loop); wrapping would close the channel early.
        assert!(old < isize::MAX as usize, "too many channel handles");
    }

    /// One sender (`send`) or receiver fewer; `true` if it was the last.
    pub(crate) fn release(&self, send: bool) -> bool {
        let count = if send { &self.senders } else { &self.receivers };
        // AcqRel: the last one out sees every other handle's operations
        // finished before it closes the channel (as `Arc::drop`).
        count.fetch_sub(1, Ordering::AcqRel) == 1
    }
}
