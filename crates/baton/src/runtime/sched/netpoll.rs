//! The workers' side of the network poller (`net::poller`): each worker's
//! own epoll instance (taken on first use, retired when the worker exits),
//! the calls the idle path makes (Go's `netpoll(0)` in `findrunnable`, and
//! the sleep in `epoll_wait` instead of the futex), the move of a socket's
//! registration to the instance of the worker whose goroutine waits on it,
//! and no-ops where there is no poller (not Linux).
//!
//! # When a worker polls
//!
//! A look at the worker's own instance without blocking (`poll_now`, an
//! `epoll_wait` with time-out 0) costs a system call, and most of them find
//! nothing, so a worker polls only where a look can matter, and never
//! unless some goroutine of the runtime is parked on a socket
//! ([`any_io_waiters`], Go's `netpollAnyWaiters`: its own `io_waiters`
//! first, one relaxed load, then the other workers'):
//!
//! - **out of work**, once, before it watches its inbox and searches (Go's
//!   `netpoll(0)` in `findrunnable`, before stealing);
//! - **while it spins before sleeping**, once [`SPIN_POLL_GAP`] (3 us)
//!   has passed since its last poll, not on every look (a look is 64
//!   spin-loop hints, about 0.85 us on the CI machine, and from 5 us on a
//!   `sched_yield` too, which under load may give the CPU away for a whole
//!   time slice: a gap in time, not in looks, polls at once after such a
//!   look);
//! - **while busy**, once [`BUSY_POLL_INTERVAL`] scheduling rounds have
//!   passed since its last poll of any kind (`busy_round`; before, on every
//!   61st round, even right after a poll): the same bound on how long a
//!   ready socket waits behind runnable goroutines, without the busy polls
//!   that follow an idle one;
//! - **asleep**: in `epoll_wait` on its instance, whatever the counts say
//!   (the idle protocol, `idle`, "Sleeping in epoll").
//!
//! No wake-up can be lost by a skipped poll: every event stays in its
//! instance's ready list until someone fetches it, and the worker fetches
//! them at the latest when it sleeps, which it does in `epoll_wait` on that
//! instance whenever it has one. What a skipped poll can cost is time, and
//! only in corners: the counts are read `Relaxed` (a goroutine that just
//! began to wait may be missed, and the next look or the sleep sees it),
//! and a socket whose waiter sits on another worker (its registration moved
//! while two goroutines on different workers used it: `net::poller`) is
//! watched through whichever instance holds it, so the gate asks about the
//! *whole* runtime's waiters, not only this worker's: a busy worker whose
//! own goroutines wait on nothing still polls for such a socket. Plain
//! threads' waits are the fallback thread's (the shared instance), so they
//! are not counted. A pending wake `eventfd` count that a skipped poll
//! would have drained only makes the next sleep return at once, spurious
//! and harmless.
//!
//! How the gap was chosen (issue 13, the lab's `echo` at 100
//! connections, server and client both baton with 2 workers each, on the
//! shared 2-core machine; `epoll_wait` calls per round trip per process
//! from `perf stat`, server / client, medians of interleaved 1.5 s runs;
//! the load, 6 to 45 runnable threads, moves these counts a lot, so the
//! ranges matter as much as the medians). First as a count of looks, 8
//! runs each at load 6-8: polling on every look (before) 0.166 / 0.159
//! (ranges 0.100-0.234 / 0.156-0.316); with the busy rule and the gate
//! alone 0.108 / 0.152; every 4th look 0.090 / 0.085 (0.048-0.153 /
//! 0.080-0.207); every 8th 0.056 / 0.065; every 16th 0.072 / 0.071; every
//! 32nd 0.100 / 0.096 (longer gaps end more spins in a sleep, which is an
//! `epoll_wait` too). About 85 % of the server's polls found nothing before
//! (`perf stat --filter 'ret == 0'` on `sys_exit_epoll_wait`), and a poll
//! that finds something finds about 44 connections' requests at once, so
//! the floor is near two polls per batch of 50 (0.04). But the lab's
//! baton/tokio ratio at load 30-45 came out lower with every 4th look
//! (medians 0.81x and 0.70x against 0.95x and 0.74x, two orders of five
//! interleaved runs): a yielding look can last a time slice, and counting
//! looks then leaves a ready socket unpolled for several. Hence a gap in
//! time, 3 us (about 4 looks while the spin only hints): 5 interleaved
//! runs at load 15-22, 0.172 / 0.086 (0.059-0.225 / 0.060-0.277) against
//! 0.156 / 0.161 (0.105-0.996 / 0.156-1.049) before; lab echo baton/tokio
//! 0.64-1.00x (median 0.82x) against 0.63-1.08x (0.95x), four pairs, within
//! the noise. Latency where one goroutine waits for one reply on another
//! worker (`net_pingpong`, 2 workers, one goroutine per worker, round
//! trips/s): 23-37k against 19-26k before, so no loss; polling every 16th
//! look had halved it (7.7-15.2k against 13.9-29.1k).

use std::time::Duration;

use super::current;
use super::shared::WorkerShared;
use crate::atomic::CachePadded;
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

/// Scheduling rounds a busy worker runs without a look at the network
/// poller before it polls (see "When a worker polls").
pub(crate) const BUSY_POLL_INTERVAL: u32 = 61;

/// An idle worker's spin before sleeping polls again once this long has
/// passed since its last poll (see "When a worker polls").
pub(crate) const SPIN_POLL_GAP: Duration = Duration::from_micros(3);

/// Whether any goroutine of the runtime is parked on a socket (Go's
/// `netpollAnyWaiters`): the worker's own count first (`me`: the common
/// case, its own cache line), then the others'. `Relaxed`: a hint (see
/// "When a worker polls"); a count read stale costs a poll or delays one
/// until the worker sleeps, in `epoll_wait`, which sees every event.
#[inline]
pub(crate) fn any_io_waiters(workers: &[CachePadded<WorkerShared>], me: usize) -> bool {
    workers[me].io_waiters.load(Relaxed) != 0
        || workers.iter().any(|w| w.io_waiters.load(Relaxed) != 0)
}

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
        /// Scheduling rounds this worker ran since it last polled its
        /// instance (or last found no socket waiter), for [`busy_round`].
        static SINCE_POLL: Cell<u32> = const { Cell::new(0) };
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
            SINCE_POLL.with(|c| c.set(0));
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
    /// whether there were events. Callers ask [`any_io_waiters`] first
    /// (see "When a worker polls").
    ///
    /// [`any_io_waiters`]: super::any_io_waiters
    #[inline]
    pub(crate) fn poll_now() -> bool {
        SINCE_POLL.with(|c| c.set(0));
        here().is_some_and(|wp| wp.poll_now() > 0)
    }

    /// A busy worker's scheduling round (it just ran a goroutine): polls
    /// its instance once [`BUSY_POLL_INTERVAL`] rounds have passed since
    /// its last poll, if some goroutine waits on a socket (`waiting`,
    /// asked only then); a worker that polls when it runs out of work
    /// (every few rounds under a network load) never gets here.
    ///
    /// [`BUSY_POLL_INTERVAL`]: super::BUSY_POLL_INTERVAL
    #[inline]
    pub(crate) fn busy_round(waiting: impl FnOnce() -> bool) {
        let n = SINCE_POLL.with(Cell::get) + 1;
        if n < super::BUSY_POLL_INTERVAL {
            SINCE_POLL.with(|c| c.set(n));
        } else if waiting() {
            poll_now();
        } else {
            SINCE_POLL.with(|c| c.set(0));
        }
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

    pub(crate) fn busy_round(_: impl FnOnce() -> bool) {}

    pub(crate) fn worker_started() {}

    pub(crate) fn worker_exited() {}

    pub(crate) fn poller_threads() -> usize {
        0
    }
}

pub(crate) use imp::*;
