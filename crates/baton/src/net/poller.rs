//! The process's network poller: one epoll instance per runtime worker
//! (its *home* instance) plus one shared instance, all edge-triggered for
//! sockets. Each event becomes [`Half::notify`](super::poll_desc::Half::notify)
//! calls, which unpark the blocked goroutines through the park seam (so each
//! resumes on its own worker) or the blocked threads.
//!
//! # Where a socket is registered
//!
//! A socket is registered in exactly one instance at a time (for a moment
//! in two, while it moves), recorded in its [`PollDesc`]'s `home`:
//!
//! - created inside a goroutine: the instance of that goroutine's worker;
//!   otherwise the shared instance;
//! - a goroutine about to park on it ([`ensure_home`], from `io.rs`,
//!   after `EAGAIN`) moves it to the instance of its own worker, unless it
//!   is there already (one load and a compare: the common case);
//! - a plain thread about to park on it moves it to the shared instance.
//!
//! So the readiness of a socket that a goroutine waits on wakes the
//! goroutine's own worker, directly, from `epoll_wait`: no other thread is
//! woken and nothing is handed over. A socket used by goroutines on two
//! workers at once (`Read for &TcpStream`), or by a goroutine and a plain
//! thread, moves on each park (`epoll_ctl` twice); that is correct, only
//! slower.
//!
//! **Correctness never depends on where a socket is registered**, only on
//! every instance being watched: an event from any instance is dispatched
//! to whoever waits on the socket (a goroutine's wake-up goes to its
//! worker's inbox), so a move that races with a park, or a stale `home`,
//! costs a hand-over, never a lost wake-up. A move adds the new
//! registration before it removes the old one; `EPOLL_CTL_ADD` reports the
//! socket's current readiness at once (the kernel polls it when it
//! inserts it), so an edge that came before the move is not lost either.
//! An event may then arrive through both instances: a spurious edge,
//! which costs one `EAGAIN` (invariant 2 of `poll_desc`).
//!
//! # Who watches which instance
//!
//! - **A worker's instance** ([`WorkerPoll`]): the worker polls it without
//!   blocking ([`WorkerPoll::poll_now`], Go's `netpoll(0)`) when it runs out
//!   of work, while it spins before sleeping, and now and then while busy,
//!   all only while some goroutine waits on a socket
//!   (`runtime/sched/netpoll.rs`, "When a worker polls"); and it *sleeps*
//!   in `epoll_wait` on it whatever the counts, instead of on
//!   its futex, with its next timer as the time-out. Whatever would wake
//!   the worker (an inbox push, a spawn, shutdown) reaches it through the
//!   instance's own **wake `eventfd`** (level-triggered, user data 0): the
//!   idle protocol (`runtime/sched/idle.rs`, "Sleeping in epoll") writes it
//!   instead of unparking the thread. Only the owning worker waits on its
//!   instance and drains its `eventfd`, so no Dekker pair with other
//!   pollers is needed: a write before the worker's `epoll_wait` leaves the
//!   counter non-zero and `epoll_wait` returns at once (the `eventfd` is
//!   the token that the futex sleep's park token was).
//! - **The shared instance** is watched by the fallback thread
//!   (`baton-netpoll`), which always blocks in `epoll_wait` on it without a
//!   time-out. It holds the sockets that plain threads wait on and the
//!   sockets created on plain threads that no goroutine has waited on yet,
//!   so it wakes only for those.
//! - **A worker that exits** (its runtime is dropped) leaves sockets
//!   registered in its instance (a plain thread may still wait on one that
//!   a goroutine moved there). Its instance is *retired*: its wake
//!   `eventfd` is removed from it, and the instance itself is added to the
//!   shared instance (epoll instances nest), so the fallback thread sees
//!   its events and polls it ([`retire`]). The next worker to start takes a
//!   retired instance before it creates one, so a process that builds and
//!   drops runtimes does not collect descriptors.
//!
//! # Registration
//!
//! A socket is registered for
//! `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLET` ([`SOCKET_EVENTS`];
//! `EPOLLPRI`: see "Short reads" in `poll_desc`): edge-triggered, both
//! directions, the same mask in whichever instance holds it (Go registers
//! once the same way). The event's user data is the address of the
//! socket's [`PollDesc`] (never 0: a wake `eventfd`'s is 0), or, on the
//! shared instance, a retired worker instance's address with its low bit
//! set ([`RETIRED_TAG`]).
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
//! per socket open at the peak, kept for the process's life. Worker
//! instances are never freed either (retired, then reused), so the
//! address in a retired instance's event on the shared instance, and a
//! wake `eventfd` number that a late waker writes, stay valid.
//!
//! # Errors
//!
//! `epoll_create1` or `eventfd` failing (out of descriptors) at the first
//! socket is returned to the caller that registers; it is retried by the
//! next one. A worker that cannot create its instance sleeps on its futex
//! as before and leaves its sockets in the shared instance (the fallback
//! thread serves them, through the inbox); it retries at its next park or
//! sleep. `epoll_wait` failing for any reason but `EINTR` is a broken
//! invariant (a bad descriptor or buffer): the caller panics with a
//! message.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::time::Instant;

use super::poll_desc::{Dir, PollDesc};
use crate::shim::atomic::{AtomicPtr, Ordering::*};

/// Events in one `epoll_wait` call.
pub(crate) const EVENTS: usize = 64;

/// The event data of a wake `eventfd` (a `PollDesc` address is never 0).
const WAKE_DATA: u64 = 0;

/// The low bit of a retired [`WorkerPoll`]'s address in its event on the
/// shared instance (`PollDesc`s and `WorkerPoll`s are at least 4-aligned,
/// so a `PollDesc` address never has it).
const RETIRED_TAG: u64 = 1;

/// Socket registrations: edge-triggered, both directions.
// EPOLLPRI: urgent data ends TCP's short-read hint (`dispatch`).
const SOCKET_EVENTS: u32 =
    (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLPRI | libc::EPOLLET) as u32;

/// An `epoll_wait` result buffer.
pub(crate) type Events = [libc::epoll_event; EVENTS];

/// An empty [`Events`] buffer.
pub(crate) fn events() -> Events {
    [libc::epoll_event { events: 0, u64: 0 }; EVENTS]
}

/// The process's poller, created with the first registered socket.
pub(crate) struct Poller {
    /// The shared instance (module docs), watched by the fallback thread.
    shared: OwnedFd,
}

static POLLER: Mutex<Option<&'static Poller>> = Mutex::new(None);
/// The same poller, for the workers' lock-free look (null until started).
static STARTED: AtomicPtr<Poller> = AtomicPtr::new(core::ptr::null_mut());

/// Serialises moves and removals of registrations (so that a socket's
/// `home` names the instance it is registered in). Moves are rare: a
/// socket moves when a goroutine on another worker, or a plain thread,
/// first waits on it.
static MOVES: Mutex<()> = Mutex::new(());

/// The free list of recycled poll descriptors.
static FREE_PDS: Mutex<Vec<&'static PollDesc>> = Mutex::new(Vec::new());

/// Retired worker instances, for the next worker to take (module docs).
static RETIRED: Mutex<Vec<&'static WorkerPoll>> = Mutex::new(Vec::new());

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

/// `epoll_create1`, owned.
fn epoll_create() -> io::Result<OwnedFd> {
    // SAFETY: a plain system call with no pointer arguments.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by `epoll_create1`, and nothing else
    // owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `epoll_ctl(epfd, op, fd)` with `events` and `data` (ignored for
/// `EPOLL_CTL_DEL`).
fn ctl(epfd: RawFd, op: libc::c_int, fd: RawFd, events: u32, data: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: `ev` is a valid event for the call's duration; the caller
    // passes open descriptors (a stale `fd` fails with an error, harmless).
    let rc = unsafe { libc::epoll_ctl(epfd, op, fd, &mut ev) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// One `epoll_wait` on `epfd` until `deadline` (`None`: no time-out; a past
/// deadline: do not block). Returns the number of entries filled.
fn wait(epfd: RawFd, events: &mut Events, deadline: Option<Instant>) -> usize {
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
    // SAFETY: `events` has room for `EVENTS` entries, and `epfd` is an
    // epoll instance that is never closed (leaked `Poller`, `WorkerPoll`s).
    let n = unsafe { libc::epoll_wait(epfd, events.as_mut_ptr(), EVENTS as libc::c_int, timeout) };
    if n < 0 {
        let e = io::Error::last_os_error();
        assert!(
            e.kind() == io::ErrorKind::Interrupted,
            "baton::net: epoll_wait failed: {e}"
        );
        return 0;
    }
    n as usize
}

/// Writes a wake `eventfd` (module docs). Failure can only be `EAGAIN`
/// (the counter is near `u64::MAX`, i.e. already readable): the wake-up is
/// pending anyway.
pub(crate) fn write_wake(eventfd: RawFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live `u64`; `eventfd` is the wake
    // `eventfd` of a `WorkerPoll`, which is never closed (module docs).
    unsafe {
        libc::write(
            eventfd,
            core::ptr::from_ref(&one).cast(),
            core::mem::size_of::<u64>(),
        )
    };
}

/// The poller, started on first use.
fn poller() -> io::Result<&'static Poller> {
    let mut p = lock(&POLLER);
    if let Some(p) = *p {
        return Ok(p);
    }
    let poller: &'static Poller = Box::leak(Box::new(Poller {
        shared: epoll_create()?,
    }));
    std::thread::Builder::new()
        .name("baton-netpoll".into())
        .spawn(move || poller.fallback())?;
    *p = Some(poller);
    // Release: see `started`.
    STARTED.store(core::ptr::from_ref(poller).cast_mut(), Release);
    Ok(poller)
}

impl Poller {
    /// The fallback thread (module docs): blocks in `epoll_wait` on the
    /// shared instance for good, dispatching what it finds; a retired
    /// worker instance's event makes it poll that instance.
    fn fallback(&self) {
        let mut buf = events();
        let mut retired = events();
        loop {
            let n = wait(self.shared.as_raw_fd(), &mut buf, None);
            for ev in &buf[..n] {
                // Copies: the struct is packed on x86-64.
                let (flags, data) = (ev.events, ev.u64);
                if data & RETIRED_TAG != 0 {
                    // SAFETY: only `retire` registers data with the tag,
                    // the address of a leaked (never freed) `WorkerPoll`.
                    let wp = unsafe { &*((data & !RETIRED_TAG) as usize as *const WorkerPoll) };
                    // Not its owner: never drain its `eventfd` (it may have
                    // been taken by a new worker meanwhile, whose wake-up
                    // that would be).
                    let k = wp.wait(&mut retired, Some(Instant::now()), false);
                    dispatch_all(&retired[..k]);
                } else {
                    // SAFETY: as in `dispatch_all`.
                    dispatch(unsafe { pd_at(data) }, flags);
                }
            }
        }
    }
}

/// A worker's own epoll instance and wake `eventfd` (module docs). Leaked:
/// never freed, only retired and reused.
pub(crate) struct WorkerPoll {
    epoll: OwnedFd,
    /// Level-triggered, so it stays readable until the owner drains it.
    wake: OwnedFd,
}

impl WorkerPoll {
    /// A new instance with its `eventfd` registered.
    fn create() -> io::Result<&'static Self> {
        let epoll = epoll_create()?;
        // SAFETY: a plain system call with no pointer arguments.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by `eventfd`; nothing else owns it.
        let wake = unsafe { OwnedFd::from_raw_fd(fd) };
        let wp = Self { epoll, wake };
        wp.add_wake()?;
        Ok(Box::leak(Box::new(wp)))
    }

    /// Registers the wake `eventfd` (level-triggered: it stays readable
    /// until the owner drains it, whatever else polls).
    fn add_wake(&self) -> io::Result<()> {
        ctl(
            self.epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            self.wake.as_raw_fd(),
            libc::EPOLLIN as u32,
            WAKE_DATA,
        )
    }

    /// The instance's descriptor, which identifies it (`PollDesc::home`).
    #[inline]
    pub(crate) fn epfd(&self) -> RawFd {
        self.epoll.as_raw_fd()
    }

    /// The wake `eventfd`, for the idle protocol ([`write_wake`]).
    pub(crate) fn wake_fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// Drains the wake `eventfd` (the owner only).
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

    /// One `epoll_wait` until `deadline`. Returns how many entries of
    /// `events` are socket events: the wake `eventfd`'s entry is removed,
    /// and drained when `owner`.
    fn wait(&self, events: &mut Events, deadline: Option<Instant>, owner: bool) -> usize {
        let mut n = wait(self.epfd(), events, deadline);
        if let Some(i) = events[..n].iter().position(|e| e.u64 == WAKE_DATA) {
            if owner {
                self.drain_wake();
            }
            events[i] = events[n - 1];
            n -= 1;
        }
        n
    }

    /// The owning worker, about to sleep: blocks in `epoll_wait` until an
    /// event, a wake-up or `deadline`. Returns the number of socket events
    /// in `events`, to [`dispatch_all`].
    pub(crate) fn block(&self, events: &mut Events, deadline: Option<Instant>) -> usize {
        self.wait(events, deadline, true)
    }

    /// The owning worker, looking for work (Go's `netpoll(0)`): polls
    /// without blocking and dispatches. Returns the number of socket
    /// events. It drains a pending wake-up too: it is awake, and a wake-up
    /// matters only to a sleep it has announced, which it never polls in.
    pub(crate) fn poll_now(&self) -> usize {
        let mut buf = events();
        let n = self.wait(&mut buf, Some(Instant::now()), true);
        dispatch_all(&buf[..n]);
        n
    }
}

/// A starting worker's instance: a retired one if any, else a new one;
/// `None` while the process has no poller, or if the system refuses
/// (module docs, "Errors").
pub(crate) fn take_worker_poll() -> Option<&'static WorkerPoll> {
    let p = started()?;
    let reused = lock(&RETIRED).pop();
    match reused {
        Some(wp) => {
            // Stop the fallback thread's watch of it, then make it ours:
            // a stale count in its `eventfd` would be a spurious wake-up.
            let _ = ctl(p.shared.as_raw_fd(), libc::EPOLL_CTL_DEL, wp.epfd(), 0, 0);
            wp.drain_wake();
            match wp.add_wake() {
                Ok(()) => Some(wp),
                Err(_) => {
                    retire(wp);
                    None
                }
            }
        }
        None => WorkerPoll::create().ok(),
    }
}

/// A worker exits: its instance goes to the fallback thread's watch and to
/// the free list (module docs).
pub(crate) fn retire(wp: &'static WorkerPoll) {
    let Some(p) = started() else { return };
    // Late wake-ups must not keep it readable (nobody drains it now).
    let _ = ctl(wp.epfd(), libc::EPOLL_CTL_DEL, wp.wake.as_raw_fd(), 0, 0);
    let data = core::ptr::from_ref(wp) as usize as u64 | RETIRED_TAG;
    // Level-triggered: readable while it holds events. If the system
    // refuses (out of memory), its sockets' events are left for whoever
    // moves them next; nothing better can be done.
    let _ = ctl(
        p.shared.as_raw_fd(),
        libc::EPOLL_CTL_ADD,
        wp.epfd(),
        libc::EPOLLIN as u32,
        data,
    );
    lock(&RETIRED).push(wp);
}

/// The `PollDesc` whose address is an event's `data`.
///
/// # Safety
///
/// `data` must be the user data of a socket registration (made by
/// [`register`] or [`ensure_home`]), not a wake `eventfd`'s or a retired
/// instance's.
unsafe fn pd_at(data: u64) -> &'static PollDesc {
    debug_assert!(data != WAKE_DATA && data & RETIRED_TAG == 0);
    // SAFETY: by the caller, `data` is the address of a `PollDesc` that was
    // registered, and poll descriptors are never freed (module docs), so
    // it points at a live one (maybe reused: harmless).
    unsafe { &*(data as usize as *const PollDesc) }
}

/// Dispatches socket events (from a worker's [`WorkerPoll::block`]).
pub(crate) fn dispatch_all(events: &[libc::epoll_event]) {
    for ev in events {
        // Copies: the struct is packed on x86-64.
        let (flags, data) = (ev.events, ev.u64);
        debug_assert_ne!(data, WAKE_DATA, "the wake eventfd is filtered out");
        // SAFETY: a worker instance holds only socket registrations and its
        // wake `eventfd` (filtered out by `WorkerPoll::wait`).
        dispatch(unsafe { pd_at(data) }, flags);
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

/// The user data of `pd`'s registrations.
fn pd_data(pd: &PollDesc) -> u64 {
    core::ptr::from_ref(pd) as usize as u64
}

/// Registers `fd` (already non-blocking) with the poller, in the calling
/// worker's instance (`here`: from `sched::netpoll`) or the shared one;
/// returns its poll descriptor, idle with no deadlines.
pub(crate) fn register(
    fd: RawFd,
    here: Option<&'static WorkerPoll>,
) -> io::Result<&'static PollDesc> {
    let poller = poller()?;
    let pd = lock(&FREE_PDS)
        .pop()
        .unwrap_or_else(|| Box::leak(Box::new(PollDesc::new())));
    pd.reset();
    let home = here.map_or(poller.shared.as_raw_fd(), WorkerPoll::epfd);
    if let Err(e) = ctl(home, libc::EPOLL_CTL_ADD, fd, SOCKET_EVENTS, pd_data(pd)) {
        lock(&FREE_PDS).push(pd);
        return Err(e);
    }
    pd.set_home(home);
    Ok(pd)
}

/// Before a wait on `fd`: makes sure its readiness reaches the waiter's
/// poller directly, by moving the registration to the calling worker's
/// instance (`here`), or to the shared instance for a plain thread (module
/// docs). Only a speed-up: a failed move leaves it where it was, which is
/// still correct.
#[inline]
pub(crate) fn ensure_home(fd: RawFd, pd: &PollDesc, here: Option<&'static WorkerPoll>) {
    let Some(poller) = started() else { return };
    let to = here.map_or(poller.shared.as_raw_fd(), WorkerPoll::epfd);
    if pd.home() != to {
        move_home(fd, pd, to);
    }
}

#[cold]
fn move_home(fd: RawFd, pd: &PollDesc, to: RawFd) {
    let _g = lock(&MOVES);
    let from = pd.home();
    if from == to {
        return;
    }
    // Add first: the socket is never unregistered, and the kernel reports
    // its current readiness on the new instance at once (module docs).
    if ctl(to, libc::EPOLL_CTL_ADD, fd, SOCKET_EVENTS, pd_data(pd)).is_ok() {
        let _ = ctl(from, libc::EPOLL_CTL_DEL, fd, 0, 0);
        pd.set_home(to);
    }
}

/// Deregisters `fd` (still open) and recycles `pd`. The caller no longer
/// uses `pd`; nobody is blocked on it (they borrow the socket).
pub(crate) fn deregister(fd: RawFd, pd: &'static PollDesc) {
    {
        let _g = lock(&MOVES);
        // Failure (never registered) is harmless: closing `fd` removes it
        // anyway.
        let _ = ctl(pd.home(), libc::EPOLL_CTL_DEL, fd, 0, 0);
    }
    // Wake anyone who raced in (nobody can: they would borrow the socket),
    // and make a stray later use fail instead of block.
    pd.close();
    lock(&FREE_PDS).push(pd);
}
