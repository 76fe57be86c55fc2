//! The workers' side of the network poller (`net::poller`): the calls the
//! idle path makes (Go's `netpoll(0)` in `findrunnable`, and the one M that
//! blocks in `netpoll(delay)` instead of sleeping), and no-ops where there
//! is no poller (not Linux).

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
}

pub(crate) use imp::*;
