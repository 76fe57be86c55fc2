//! The workers' side of the network poller (`net::poller`): each worker's
//! own epoll instance (taken on first use, retired when the worker exits),
//! the calls the idle path makes (Go's `netpoll(0)` in `findrunnable`, and
//! the sleep in `epoll_wait` instead of the futex), the move of a socket's
//! registration to the instance of the worker whose goroutine waits on it,
//! and no-ops where there is no poller (not Linux).

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
    use core::cell::Cell;
    use std::os::fd::RawFd;
    use std::time::Instant;

    use crate::net::poll_desc::PollDesc;
    use crate::net::poller::{self, WorkerPoll};

    crate::shim::thread_local! {
        /// Whether this thread is a runtime worker (between
        /// `worker_started` and `worker_exited`).
        static IS_WORKER: Cell<bool> = const { Cell::new(false) };
        /// This worker's own epoll instance, once it has one (see
        /// `net::poller`).
        static MINE: Cell<Option<&'static WorkerPoll>> = const { Cell::new(None) };
    }

    /// The calling worker's epoll instance, taken (or created) on first use
    /// once the process has a poller; `None` on plain threads, before the
    /// first socket, or if the system refused (then retried next time).
    #[inline]
    pub(crate) fn here() -> Option<&'static WorkerPoll> {
        if let Some(wp) = MINE.with(Cell::get) {
            return Some(wp);
        }
        take_here()
    }

    #[cold]
    fn take_here() -> Option<&'static WorkerPoll> {
        if !IS_WORKER.with(Cell::get) {
            return None;
        }
        let wp = poller::take_worker_poll()?;
        MINE.with(|m| m.set(Some(wp)));
        Some(wp)
    }

    /// Before a goroutine or thread waits on the socket `fd`: its
    /// readiness should reach the waiter's own poller (`net::poller`).
    #[inline]
    pub(crate) fn ensure_home(fd: RawFd, pd: &PollDesc) {
        poller::ensure_home(fd, pd, here());
    }

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

    /// This worker's epoll instance, for one sleep (see `net::poller`).
    pub(crate) struct EpollSleep(&'static WorkerPoll);

    /// The worker's instance to sleep in, if the process has a poller.
    pub(crate) fn epoll_sleep() -> Option<EpollSleep> {
        here().map(EpollSleep)
    }

    impl EpollSleep {
        /// What the idle protocol passes to [`wake`] to end this sleep.
        pub(crate) fn wake_token(&self) -> usize {
            // A descriptor is never negative.
            self.0.wake_fd() as usize
        }

        /// Blocks in `epoll_wait` until an event, a wake-up or `deadline`.
        pub(crate) fn block(&self, events: &mut Events, deadline: Option<Instant>) {
            events.n = self.0.block(&mut events.buf, deadline);
        }

        /// Wakes the goroutines the events concern (ours: `runnext`).
        pub(crate) fn dispatch(self, events: &Events) {
            poller::dispatch_all(&events.buf[..events.n]);
        }
    }

    /// Ends a sleep in epoll whose [`EpollSleep::wake_token`] is `token`
    /// (the idle protocol).
    pub(crate) fn wake(token: usize) {
        // The token is a wake `eventfd`, which is never closed.
        poller::write_wake(token as RawFd);
    }

    /// Polls this worker's instance without blocking and dispatches;
    /// whether there were events.
    #[inline]
    pub(crate) fn poll_now() -> bool {
        here().is_some_and(|wp| wp.poll_now() > 0)
    }

    pub(crate) fn worker_started() {
        IS_WORKER.with(|w| w.set(true));
    }

    pub(crate) fn worker_exited() {
        IS_WORKER.with(|w| w.set(false));
        if let Some(wp) = MINE.with(|m| m.take()) {
            poller::retire(wp);
        }
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

    pub(crate) enum EpollSleep {}

    pub(crate) fn epoll_sleep() -> Option<EpollSleep> {
        None
    }

    impl EpollSleep {
        pub(crate) fn wake_token(&self) -> usize {
            match *self {}
        }

        pub(crate) fn block(&self, _: &mut Events, _: Option<Instant>) {
            match *self {}
        }

        pub(crate) fn dispatch(self, _: &Events) {
            match self {}
        }
    }

    pub(crate) fn wake(_: usize) {
        unreachable!("baton: a worker slept in epoll without a poller");
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
