//! The process's network poller: one epoll instance, edge-triggered, and
//! one thread (`baton-netpoll`) that waits in `epoll_wait` and turns each
//! event into [`Half::notify`](super::poll_desc::Half::notify) calls, which
//! unpark the blocked goroutines through the park seam (so each resumes on
//! its own worker) or the blocked threads.
//!
//! # Registration
//!
//! A socket is registered once, when it is wrapped, for
//! `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET`: edge-triggered, both
//! directions, never modified afterwards (Go does the same). The event's
//! user data is the address of the socket's [`PollDesc`].
//!
//! # Descriptor lifetime
//!
//! `epoll_wait` may return an event for a socket that another thread is
//! deregistering at that moment, so the poller may read a `PollDesc` after
//! its socket is gone. Poll descriptors are therefore never freed: they
//! are leaked once and recycled through a free list (Go's `pollCache`
//! does the same), so the address in an event always points at a live
//! `PollDesc`. An event that reaches a recycled descriptor is a spurious
//! READY for its new socket, which costs that socket one extra `EAGAIN`
//! (invariant 2 of `poll_desc`). Memory: one `PollDesc` (about 100 bytes)
//! per socket open at the peak, kept for the process's life.
//!
//! # Errors
//!
//! `epoll_create1` failing (out of descriptors at the first socket) is
//! returned to the caller that registers; it is retried by the next one.
//! `epoll_wait` failing for any reason but `EINTR` is a broken invariant
//! (a bad descriptor or buffer): the poller thread panics with a message.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Mutex;

use super::poll_desc::{Dir, PollDesc};

/// Events in one `epoll_wait` call.
const EVENTS: usize = 256;

/// The process's poller, created with the first registered socket.
struct Poller {
    epoll: OwnedFd,
}

static POLLER: Mutex<Option<&'static Poller>> = Mutex::new(None);

/// The free list of recycled poll descriptors.
static FREE: Mutex<Vec<&'static PollDesc>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding these locks, but a poisoned list is
    // still consistent (every operation on it is one push or pop).
    m.lock().unwrap_or_else(|p| p.into_inner())
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
    let poller: &'static Poller = Box::leak(Box::new(Poller { epoll }));
    std::thread::Builder::new()
        .name("baton-netpoll".into())
        .spawn(move || poller.run())?;
    *p = Some(poller);
    Ok(poller)
}

impl Poller {
    /// The poller thread: wait, dispatch, forever.
    fn run(&self) {
        let mut events: Vec<libc::epoll_event> =
            vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS];
        loop {
            // SAFETY: `events` has room for `EVENTS` entries, and the epoll
            // descriptor lives for the process (leaked `Poller`).
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    EVENTS as libc::c_int,
                    -1,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                assert!(
                    e.kind() == io::ErrorKind::Interrupted,
                    "baton::net: epoll_wait failed: {e}"
                );
                continue;
            }
            for ev in &events[..n as usize] {
                // Copies: the struct is packed on x86-64.
                let (flags, data) = (ev.events, ev.u64);
                // SAFETY: `data` is the address of a `PollDesc` that was
                // registered, and poll descriptors are never freed (module
                // docs), so it points at a live one (maybe reused: harmless).
                let pd = unsafe { &*(data as usize as *const PollDesc) };
                dispatch(pd, flags);
            }
        }
    }
}

/// Wakes the halves an event's flags concern. Errors and hang-ups wake
/// both: the retried system call reports them.
fn dispatch(pd: &PollDesc, flags: u32) {
    const BOTH: u32 = (libc::EPOLLERR | libc::EPOLLHUP) as u32;
    const READ: u32 = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLPRI) as u32 | BOTH;
    const WRITE: u32 = libc::EPOLLOUT as u32 | BOTH;
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
    let pd = lock(&FREE)
        .pop()
        .unwrap_or_else(|| Box::leak(Box::new(PollDesc::new())));
    pd.reset();
    let mut ev = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
        u64: pd as *const PollDesc as usize as u64,
    };
    // SAFETY: `ev` is a valid event for the call's duration; `fd` is the
    // caller's open descriptor.
    let rc = unsafe { libc::epoll_ctl(poller.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        lock(&FREE).push(pd);
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
    lock(&FREE).push(pd);
}
