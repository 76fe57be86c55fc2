//! The workers' side of the network poller (`net::poller`): the calls the
//! idle path makes (Go's `netpoll(0)` in `findrunnable`, and the one M that
//! blocks in `netpoll(delay)` instead of sleeping), and no-ops where there
//! is no poller (not Linux).

use super::current;
use crate::shim::atomic::Ordering::Relaxed;

/// While alive, the calling goroutine counts as parked on a socket in its
/// worker's `io_waiters` (see `diag::deadlock`, rule 7): a goroutine that
/// waits for a peer or the kernel is not deadlocked. Created and dropped by
/// the goroutine itself, on its own worker (it never migrates), so only
/// that worker's thread writes the counter. Outside a goroutine it does
/// nothing.
#[must_use = "the goroutine counts as waiting on a socket only while this lives"]
pub(crate) struct IoWait(bool);

impl IoWait {
    /// Starts counting the calling goroutine (no-op on a plain thread).
    pub(crate) fn begin() -> Self {
        Self(Self::add(1))
    }

    /// Adds `delta` (wrapping) to this worker's count; whether the caller
    /// is a worker thread.
    fn add(delta: usize) -> bool {
        current::with_worker(|w| match w {
            Some(w) => {
                let c = &w.shared().workers[w.index()].io_waiters;
                // Only this thread writes it (see the field's docs).
                c.store(c.load(Relaxed).wrapping_add(delta), Relaxed);
                true
            }
            None => false,
        })
    }
}

impl Drop for IoWait {
    fn drop(&mut self) {
        if self.0 {
            Self::add(usize::MAX);
        }
    }
}

/// Scheduling rounds between a busy worker's looks at the network poller
/// (a worker out of work looks every time).
pub(crate) const BUSY_POLL_INTERVAL: u32 = 61;

#[cfg(target_os = "linux")]
mod imp {
    use std::time::Instant;

    use crate::net::poller::{self, Poller};

    /// A buffer for the events of one blocking wait.
    pub(crate) struct Events {
        buf: poller::Events,
        n: usize,
    }

    impl Default for Events {
        fn default() -> Self {
            Self {
                buf: poller::events(),
                n: 0,
            }
        }
    }

    /// The poller's slot, held by this worker (see `net::poller`).
    pub(crate) struct Slot(&'static Poller);

    /// Takes the slot if the process has a poller and nobody holds it.
    pub(crate) fn take_slot() -> Option<Slot> {
        let p = poller::started()?;
        p.try_take().then_some(Slot(p))
    }

    impl Slot {
        /// Blocks in `epoll_wait` until an event, a wake-up or `deadline`.
        pub(crate) fn block(&self, events: &mut Events, deadline: Option<Instant>) {
            events.n = self.0.block(&mut events.buf, deadline);
        }

        /// Gives the slot back, then wakes the goroutines the events concern.
        pub(crate) fn release_and_dispatch(self, events: &Events) {
            self.0.release();
            poller::dispatch_all(&events.buf[..events.n]);
        }
    }

    /// Polls without blocking and dispatches; whether there were events.
    #[inline]
    pub(crate) fn poll_now() -> bool {
        poller::started().is_some_and(|p| p.poll_now() > 0)
    }

    pub(crate) fn worker_started() {
        poller::worker_started();
    }

    pub(crate) fn worker_exited() {
        poller::worker_exited();
    }

    /// Threads the poller runs (its fallback thread, from the first socket
    /// on), for the deadlock checker's thread count.
    pub(crate) fn poller_threads() -> usize {
        usize::from(poller::started().is_some())
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::time::Instant;

    #[derive(Default)]
    pub(crate) struct Events;

    pub(crate) enum Slot {}

    pub(crate) fn take_slot() -> Option<Slot> {
        None
    }

    impl Slot {
        pub(crate) fn block(&self, _: &mut Events, _: Option<Instant>) {
            match *self {}
        }

        pub(crate) fn release_and_dispatch(self, _: &Events) {
            match self {}
        }
    }

    pub(crate) fn poll_now() -> bool {
        false
    }

    pub(crate) fn worker_started() {}

    pub(crate) fn worker_exited() {}

    pub(crate) fn poller_threads() -> usize {
        0
    }
}

pub(crate) use imp::*;
