//! The process's network poller: one epoll instance, edge-triggered, shared
//! by the runtime's workers and one fallback thread (`baton-netpoll`). Each
//! event becomes [`Half::notify`](super::poll_desc::Half::notify) calls,
//! which unpark the blocked goroutines through the park seam (so each
//! resumes on its own worker) or the blocked threads.
//!
//! # Who waits in `epoll_wait` (Go's `findrunnable` and `netpoll`)
//!
//! - **A worker looking for work** polls without blocking
//!   ([`Poller::poll_now`], Go's `netpoll(0)`; also while it spins before
//!   sleeping, and every 61 rounds while busy) and dispatches what it
//!   finds: its own goroutines go to its `runnext`, others to their
//!   worker's inbox.
//! - **A worker about to sleep** blocks in `epoll_wait` instead of its futex
//!   sleep, with its next timer as the time-out — if it can take the
//!   *slot*: at most one thread at a time is blocked in `epoll_wait` (Go:
//!   at most one M blocks in `netpoll(delay)`); the others sleep on their
//!   futex as before. Whatever would wake the worker (an inbox push, an
//!   unpark, a spawn, shutdown) reaches it through the **wake `eventfd`**,
//!   registered (level-triggered) in the same epoll instance: the idle
//!   protocol (`runtime/sched/idle.rs`) routes a sleeper's wake-up to
//!   [`wake_holder`] when the sleeper is in epoll.
//! - **The fallback thread** (`baton-netpoll`) covers what no worker can:
//!   sockets used from plain threads (a thread parked on a socket is counted
//!   in `thread_waiters`; while one is, the thread takes the slot whenever
//!   it is free and blocks in `epoll_wait`), sockets used with no runtime at
//!   all, and goroutines whose workers are all busy (no worker looks for
//!   work, so none polls: while the slot is free and a worker exists, the
//!   thread polls without blocking every [`MONITOR_PERIOD`], as Go's
//!   `sysmon` does). While a worker holds the slot it sleeps on its futex
//!   without a time-out (that worker sees every event), and the worker
//!   wakes it when it gives the slot back ([`Poller::release`]), so an idle
//!   runtime, whose last worker to fall asleep holds the slot, does not
//!   wake up periodically. (One corner does: workers that fell asleep on
//!   their futex while another held the slot, and that holder went busy
//!   for good or its runtime was dropped. Then the fallback thread polls
//!   every [`MONITOR_PERIOD`] until some worker sleeps again, and a socket
//!   event for a goroutine of those sleepers waits up to that long.) It is
//!   kept rather than removed because without it a socket read from a
//!   plain thread would depend on some runtime's worker going idle.
//!
//! # The slot and the wake `eventfd` (no lost wake-up)
//!
//! `slot` is `FREE`, `WORKER` or `THREAD` (the fallback thread). Only the
//! holder blocks in `epoll_wait`, and only the holder reads (drains) the
//! `eventfd`; a non-blocking poll ignores it (it stays readable, so the
//! holder still sees it: level-triggered). A worker takes the slot (a CAS)
//! *before* it announces its sleep, and gives it back only after it left the
//! sleeper list, so for the whole time it may be asleep it is the only
//! thread that drains the `eventfd`. Its waker (the idle protocol, see
//! `idle.rs`) writes the `eventfd` after winning the sleep's `sleeping`
//! flag; a write before the worker's `epoll_wait` leaves the counter
//! non-zero, so `epoll_wait` returns at once (the `eventfd` is the token
//! that the futex sleep's park token was). A write that arrives after that
//! sleep ended is a spurious wake-up of the next holder: it re-checks its
//! queues and sleeps again.
//!
//! The fallback thread and `thread_waiters` are a second Dekker pair
//! (`SeqCst` on both sides): a plain thread increments `thread_waiters`
//! before it parks, then wakes the fallback thread if it is sleeping; the
//! fallback thread announces its sleep (`monitor`), then re-reads
//! `thread_waiters` and `slot`: one of the two sees the other. A worker
//! that gives the slot back (`SeqCst` store) then reads `monitor`; the
//! fallback thread announces a deep sleep, then re-reads `slot`: either
//! the worker wakes it, or it sees the slot free and does not sleep
//! deeply. The last plain thread to stop waiting kicks the fallback thread
//! out of `epoll_wait` (an `eventfd` write) if it holds the slot, so that a
//! worker can take it again; the fallback thread re-reads `thread_waiters`
//! after taking the slot, so one of the two sees the other.
//!
//! # Registration
//!
//! A socket is registered once, when it is wrapped, for
//! `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET` (`EPOLLPRI`: see
//! "Short reads" in `poll_desc`): edge-triggered, both
//! directions, never modified afterwards (Go does the same). The event's
//! user data is the address of the socket's [`PollDesc`] (never 0; the
//! wake `eventfd`'s is 0).
//!
//! # Descriptor lifetime
//!
//! `epoll_wait` may return an event for a socket that another thread is
//! deregistering at that moment, so the poller may read a `PollDesc` after
//! its socket is gone. Poll descriptors are therefore never freed: they
//! are leaked once and recycled through a free list (Go's `pollCache`
//! does the same), so the address in an event always points at a live
//! `PollDesc`. An event that reaches a recycled descriptor is a spurious
//! edge for its new socket, which costs that socket one extra `EAGAIN`
//! (invariant 2 of `poll_desc`). Memory: one `PollDesc` (about 100 bytes)
//! per socket open at the peak, kept for the process's life.
//!
//! # Errors
//!
//! `epoll_create1` or `eventfd` failing (out of descriptors at the first
//! socket) is returned to the caller that registers; it is retried by the
//! next one. `epoll_wait` failing for any reason but `EINTR` is a broken
//! invariant (a bad descriptor or buffer): the caller panics with a
//! message.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::poll_desc::{Dir, PollDesc};
use super::slot::{Sleep, SlotState};
use crate::park::Unparker;
use crate::shim::atomic::{AtomicPtr, AtomicUsize, Ordering::*};

/// Events in one `epoll_wait` call.
pub(crate) const EVENTS: usize = 64;

/// How often the fallback thread polls while the slot is free and a worker
/// exists (Go's `sysmon` polls every 10 ms).
pub(crate) const MONITOR_PERIOD: Duration = Duration::from_millis(10);

/// The event data of the wake `eventfd` (a `PollDesc` address is never 0).
const WAKE_DATA: u64 = 0;

/// An `epoll_wait` result buffer.
pub(crate) type Events = [libc::epoll_event; EVENTS];

/// An empty [`Events`] buffer.
pub(crate) fn events() -> Events {
    [libc::epoll_event { events: 0, u64: 0 }; EVENTS]
}

/// The process's poller, created with the first registered socket.
pub(crate) struct Poller {
    epoll: OwnedFd,
    /// The wake `eventfd` (module docs).
    wake: OwnedFd,
    /// The slot, the plain threads parked on sockets, the fallback
    /// thread's sleep (`slot.rs`).
    state: SlotState,
    /// Wakes the fallback thread; set by it before it first sleeps.
    monitor_thread: OnceLock<Unparker>,
}

static POLLER: Mutex<Option<&'static Poller>> = Mutex::new(None);
/// The same poller, for the workers' lock-free look (null until started).
static STARTED: AtomicPtr<Poller> = AtomicPtr::new(core::ptr::null_mut());
/// Live runtime workers in the process (all runtimes).
static WORKERS: AtomicUsize = AtomicUsize::new(0);

/// The free list of recycled poll descriptors.
static FREE_PDS: Mutex<Vec<&'static PollDesc>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding these locks, but a poisoned list is
    // still consistent (every operation on it is one push or pop).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The poller if a socket was ever registered (workers poll only then).
#[inline]
pub(crate) fn started() -> Option<&'static Poller> {
    // Acquire: pairs with the Release in `poller`, so the fields are seen
    // initialised.
    let p = STARTED.load(Acquire);
    // SAFETY: non-null only once set to a leaked (never freed) `Poller`.
    unsafe { p.as_ref() }
}

/// A runtime worker started (it may poll and hold the slot).
pub(crate) fn worker_started() {
    WORKERS.fetch_add(1, SeqCst);
}

/// A runtime worker exited.
pub(crate) fn worker_exited() {
    WORKERS.fetch_sub(1, SeqCst);
}

/// Wakes the thread blocked in `epoll_wait`, if any (a spurious wake-up of
/// the next holder otherwise). Called by the idle protocol for a worker
/// that sleeps in epoll.
pub(crate) fn wake_holder() {
    if let Some(p) = started() {
        p.write_wake();
    }
}

/// The poller, started on first use.
fn poller() -> io::Result<&'static Poller> {
    let mut p = lock(&POLLER);
    if let Some(p) = *p {
        return Ok(p);
    }
    // SAFETY: a plain system call with no pointer arguments.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by `epoll_create1`, and nothing else
    // owns it.
    let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: a plain system call with no pointer arguments.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above, for `eventfd`.
    let wake = unsafe { OwnedFd::from_raw_fd(fd) };
    // Level-triggered: the counter stays readable until the holder drains
    // it, whoever else polls meanwhile (module docs).
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: WAKE_DATA,
    };
    // SAFETY: `ev` is a valid event for the call's duration; both
    // descriptors are open.
    let rc = unsafe {
        libc::epoll_ctl(
            epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            wake.as_raw_fd(),
            &mut ev,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let poller: &'static Poller = Box::leak(Box::new(Poller {
        epoll,
        wake,
        state: SlotState::new(),
        monitor_thread: OnceLock::new(),
    }));
    std::thread::Builder::new()
        .name("baton-netpoll".into())
        .spawn(move || poller.monitor())?;
    *p = Some(poller);
    // Release: see `started`.
    STARTED.store(core::ptr::from_ref(poller).cast_mut(), Release);
    Ok(poller)
}

impl Poller {
    /// The fallback thread (module docs): block in `epoll_wait` while plain
    /// threads wait and no worker does; otherwise poll now and then while
    /// workers run, and sleep.
    fn monitor(&self) {
        let _ = self.monitor_thread.set(crate::park::current());
        let mut events = events();
        loop {
            if self.state.take_for_threads() {
                let n = self.wait(&mut events, None, true);
                self.state.release_thread();
                dispatch_all(&events[..n]);
                continue;
            }
            let workers = WORKERS.load(SeqCst) > 0;
            if self.state.should_poll(workers) {
                // Workers exist but none is in epoll: they may all be busy
                // (Go's sysmon poll).
                let n = self.wait(&mut events, Some(Instant::now()), false);
                dispatch_all(&events[..n]);
            }
            match self.state.monitor_sleep(workers) {
                Sleep::Deep => crate::park::park(),
                Sleep::Timed => {
                    crate::park::park_timeout(MONITOR_PERIOD);
                }
                Sleep::No => continue,
            }
            self.state.monitor_woke();
        }
    }

    /// Wakes the fallback thread (its wake-up was claimed in `state`).
    fn unpark_monitor(&self) {
        if let Some(t) = self.monitor_thread.get() {
            t.unpark();
        }
    }

    /// Writes the wake `eventfd` (module docs).
    fn write_wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live `u64` to our open eventfd.
        // Failure can only be `EAGAIN` (the counter is near `u64::MAX`,
        // i.e. already readable): the wake-up is pending anyway.
        unsafe {
            libc::write(
                self.wake.as_raw_fd(),
                core::ptr::from_ref(&one).cast(),
                core::mem::size_of::<u64>(),
            )
        };
    }

    /// Drains the wake `eventfd` (the slot holder only).
    fn drain_wake(&self) {
        let mut buf: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live `u64` from our open,
        // non-blocking eventfd; `EAGAIN` (already drained) is harmless.
        unsafe {
            libc::read(
                self.wake.as_raw_fd(),
                core::ptr::from_mut(&mut buf).cast(),
                core::mem::size_of::<u64>(),
            )
        };
    }

    /// One `epoll_wait` until `deadline` (`None`: no time-out; a past
    /// deadline: do not block). Returns how many entries of `events` are
    /// socket events: the wake `eventfd`'s entry is removed, and drained
    /// when `holder`.
    fn wait(&self, events: &mut Events, deadline: Option<Instant>, holder: bool) -> usize {
        let timeout = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up, so a sleep never ends before its deadline (the
                // worker would spin on a not-yet-due timer).
                let ms = left.as_nanos().div_ceil(1_000_000);
                libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
            }
        };
        // SAFETY: `events` has room for `EVENTS` entries, and the epoll
        // descriptor lives for the process (leaked `Poller`).
        let n = unsafe {
            libc::epoll_wait(
                self.epoll.as_raw_fd(),
                events.as_mut_ptr(),
                EVENTS as libc::c_int,
                timeout,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            assert!(
                e.kind() == io::ErrorKind::Interrupted,
                "baton::net: epoll_wait failed: {e}"
            );
            return 0;
        }
        let mut n = n as usize;
        if let Some(i) = events[..n].iter().position(|e| e.u64 == WAKE_DATA) {
            if holder {
                self.drain_wake();
            }
            events[i] = events[n - 1];
            n -= 1;
        }
        n
    }

    /// Worker: tries to take the slot before announcing its sleep (then it
    /// must [`release`](Self::release) it after leaving the sleeper list).
    #[inline]
    pub(crate) fn try_take(&self) -> bool {
        self.state.try_take_worker()
    }

    /// Worker holding the slot: blocks in `epoll_wait` until an event, a
    /// wake-up or `deadline`. Returns the number of socket events in
    /// `events`, to [`dispatch`] after [`release`](Self::release).
    pub(crate) fn block(&self, events: &mut Events, deadline: Option<Instant>) -> usize {
        self.wait(events, deadline, true)
    }

    /// Worker: gives the slot back; wakes the fallback thread if it sleeps
    /// without a time-out (it may be needed now: module docs).
    pub(crate) fn release(&self) {
        if self.state.release_worker() {
            self.unpark_monitor();
        }
    }

    /// Worker looking for work (Go's `netpoll(0)`): polls without blocking
    /// and dispatches. Returns the number of socket events. It polls also
    /// while another thread is blocked in `epoll_wait` (Go does not): a
    /// started goroutine runs only on its own worker, so its worker, idle
    /// and spinning, takes its event at once instead of waiting for the
    /// holder to wake up and hand it over (the holder may wake for nothing:
    /// edge-triggered events go to one caller, so nothing is handled twice,
    /// and the wake `eventfd` is drained by the holder only).
    pub(crate) fn poll_now(&self) -> usize {
        let mut events = events();
        let n = self.wait(&mut events, Some(Instant::now()), false);
        dispatch_all(&events[..n]);
        n
    }

    /// A plain thread is about to park on a socket (module docs).
    fn thread_wait_begin(&self) {
        if self.state.thread_wait_begin() {
            self.unpark_monitor();
        }
    }

    /// A plain thread stopped waiting (module docs).
    fn thread_wait_end(&self) {
        if self.state.thread_wait_end() {
            self.write_wake();
        }
    }
}

/// While alive, the calling plain thread counts as parked on a socket, so
/// the fallback thread polls for it (module docs).
pub(crate) struct ThreadWait(&'static Poller);

impl ThreadWait {
    /// Starts counting (the poller exists: the socket is registered).
    pub(crate) fn begin() -> Option<Self> {
        let p = started()?;
        p.thread_wait_begin();
        Some(Self(p))
    }
}

impl Drop for ThreadWait {
    fn drop(&mut self) {
        self.0.thread_wait_end();
    }
}

/// Dispatches socket events (from [`Poller::block`]).
pub(crate) fn dispatch_all(events: &[libc::epoll_event]) {
    for ev in events {
        // Copies: the struct is packed on x86-64.
        let (flags, data) = (ev.events, ev.u64);
        debug_assert_ne!(data, WAKE_DATA, "the wake eventfd is filtered out");
        // SAFETY: `data` is the address of a `PollDesc` that was
        // registered (the wake eventfd's entry was removed by `wait`), and
        // poll descriptors are never freed (module docs), so it points at
        // a live one (maybe reused: harmless).
        let pd = unsafe { &*(data as usize as *const PollDesc) };
        dispatch(pd, flags);
    }
}

/// Wakes the halves an event's flags concern. Errors and hang-ups wake
/// both: the retried system call reports them. The end of the stream, an
/// error or urgent data first mark the read half ENDED, before its edge
/// (`poll_desc`, "Short reads").
fn dispatch(pd: &PollDesc, flags: u32) {
    const BOTH: u32 = (libc::EPOLLERR | libc::EPOLLHUP) as u32;
    const READ: u32 = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLPRI) as u32 | BOTH;
    const WRITE: u32 = libc::EPOLLOUT as u32 | BOTH;
    const ENDED: u32 = (libc::EPOLLRDHUP | libc::EPOLLPRI) as u32 | BOTH;
    if flags & ENDED != 0 {
        pd.half(Dir::Read).ended();
    }
    if flags & READ != 0 {
        pd.half(Dir::Read).notify();
    }
    if flags & WRITE != 0 {
        pd.half(Dir::Write).notify();
    }
}

/// Registers `fd` (already non-blocking) with the poller; returns its poll
/// descriptor, idle with no deadlines.
pub(crate) fn register(fd: RawFd) -> io::Result<&'static PollDesc> {
    let poller = poller()?;
    let pd = lock(&FREE_PDS)
        .pop()
        .unwrap_or_else(|| Box::leak(Box::new(PollDesc::new())));
    pd.reset();
    let mut ev = libc::epoll_event {
        // EPOLLPRI: urgent data ends TCP's short-read hint (`dispatch`).
        events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLPRI | libc::EPOLLET)
            as u32,
        u64: pd as *const PollDesc as usize as u64,
    };
    // SAFETY: `ev` is a valid event for the call's duration; `fd` is the
    // caller's open descriptor.
    let rc = unsafe { libc::epoll_ctl(poller.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        lock(&FREE_PDS).push(pd);
        return Err(e);
    }
    Ok(pd)
}

/// Deregisters `fd` (still open) and recycles `pd`. The caller no longer
/// uses `pd`; nobody is blocked on it (they borrow the socket).
pub(crate) fn deregister(fd: RawFd, pd: &'static PollDesc) {
    if let Some(poller) = *lock(&POLLER) {
        // SAFETY: `fd` is the caller's open descriptor; a null event is
        // allowed for `EPOLL_CTL_DEL`. Failure (never registered) is
        // harmless: closing `fd` removes it anyway.
        unsafe {
            libc::epoll_ctl(
                poller.epoll.as_raw_fd(),
                libc::EPOLL_CTL_DEL,
                fd,
                core::ptr::null_mut(),
            )
        };
    }
    // Wake anyone who raced in (nobody can: they would borrow the socket),
    // and make a stray later use fail instead of block.
    pd.close();
    lock(&FREE_PDS).push(pd);
}
