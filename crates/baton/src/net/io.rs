//! [`Registered`]: a non-blocking std socket registered with the poller,
//! and the one loop every blocking operation of every socket type runs
//! (Go's `fd.Read`/`fd.Write` with `pd.waitRead`): check (closed,
//! deadline), try the system call, and on `EAGAIN` park until the next
//! readiness edge, close, deadline change or time-out, then retry.

use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Instant;

use super::poll_desc::{Blocked, Dir, Edges, PollDesc};
use super::poller;
use crate::context::Context;
use crate::park::{wait_reason, WaitReason};
use crate::runtime::sched::netpoll;

/// The message of the error a closed socket's operations return (Go's
/// `net.ErrClosed`).
pub(crate) const CLOSED_MSG: &str = "use of closed network connection";

/// The largest buffer whose short read [`Registered::read_tcp`] notes: the
/// kernel caps one read at `MAX_RW_COUNT` (2 GiB less a page), so a larger
/// buffer can come back short with more queued.
const SHORT_READ_MAX: usize = 1 << 30;

/// A std socket in non-blocking mode, registered with the poller.
/// Invariant: `sock` is non-blocking and registered under `pd` until drop
/// (or [`into_inner`](Self::into_inner)).
pub(crate) struct Registered<S: AsRawFd> {
    sock: ManuallyDrop<S>,
    pd: &'static PollDesc,
}

impl<S: AsRawFd> Registered<S> {
    /// Registers `sock`, which the caller has made non-blocking.
    pub(crate) fn new(sock: S) -> io::Result<Self> {
        let pd = poller::register(sock.as_raw_fd(), netpoll::here())?;
        Ok(Self {
            sock: ManuallyDrop::new(sock),
            pd,
        })
    }

    /// The socket.
    #[inline]
    pub(crate) fn get(&self) -> &S {
        &self.sock
    }

    /// Deregisters and returns the socket (still non-blocking).
    pub(crate) fn into_inner(self) -> S {
        let mut this = ManuallyDrop::new(self);
        poller::deregister(this.sock.as_raw_fd(), this.pd);
        // SAFETY: `this` is never dropped (ManuallyDrop), so the socket is
        // taken out exactly once.
        unsafe { ManuallyDrop::take(&mut this.sock) }
    }

    /// Runs `op` on the socket until it does not return `WouldBlock`,
    /// parking on the `dir` half between tries. Gives up with `TimedOut` at
    /// the half's deadline, with the "closed" error once the socket is
    /// closed, and with the context's error when `ctx` is done.
    pub(crate) fn op<T>(
        &self,
        dir: Dir,
        ctx: Option<&Context>,
        mut op: impl FnMut(&S) -> io::Result<T>,
    ) -> io::Result<T> {
        let half = self.pd.half(dir);
        loop {
            // The edge count before the system call: the wait after an
            // `EAGAIN` ends at once if an edge came since (`poll_desc`).
            let seen = half.check().map_err(blocked_error)?;
            if let Some(e) = ctx.and_then(Context::err) {
                return Err(e.into());
            }
            match op(&self.sock) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => return r,
            }
            self.wait(dir, seen, ctx)?;
        }
    }

    /// `read` on a TCP stream: [`op`](Self::op) for `Dir::Read`, except
    /// that a read the poll descriptor knows would return `EAGAIN` (a short
    /// read since the last edge) is skipped, and the caller waits at once
    /// ("Short reads" in `poll_desc`). Only for TCP: its short reads prove
    /// the receive queue empty.
    pub(crate) fn read_tcp(
        &self,
        buf: &mut [u8],
        mut read: impl FnMut(&S, &mut [u8]) -> io::Result<usize>,
    ) -> io::Result<usize> {
        let half = self.pd.half(Dir::Read);
        loop {
            let seen = half.check().map_err(blocked_error)?;
            if !half.known_empty(seen) {
                match read(&self.sock, buf) {
                    Ok(n) => {
                        if n != 0 && n < buf.len() && buf.len() <= SHORT_READ_MAX {
                            half.note_short_read(seen);
                        }
                        return Ok(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            self.wait(Dir::Read, seen, None)?;
        }
    }

    /// Parks on the `dir` half once (after a `WouldBlock`), unless an edge
    /// came after `seen` ([`Half::check`](super::poll_desc::Half::check)'s
    /// count before the system call).
    #[cold]
    pub(crate) fn wait(&self, dir: Dir, seen: Edges, ctx: Option<&Context>) -> io::Result<()> {
        let _reason = wait_reason(WaitReason::IoWait);
        // Readiness should wake this waiter's own poller: its worker's
        // epoll instance, or the fallback thread's for a plain thread
        // (`poller`, "Where a socket is registered").
        netpoll::ensure_home(self.sock.as_raw_fd(), self.pd);
        // A goroutine is counted in its worker's `io_waiters`: it waits for
        // the outside world, so its runtime is not deadlocked meanwhile
        // (module docs of `net`, "Deadlock detection").
        let _goroutine = crate::park::in_goroutine().then(netpoll::IoWait::begin);
        let half = self.pd.half(dir);
        match ctx {
            None => half.wait(seen, None),
            Some(ctx) => {
                crate::context::wait::until_done(ctx, |until| half.wait(seen, until.abort))?;
            }
        }
        Ok(())
    }

    /// Sets the `dir` half's deadline (see the socket types' docs).
    pub(crate) fn set_deadline(&self, dir: Dir, deadline: Option<Instant>) {
        self.pd.half(dir).set_deadline(deadline);
    }

    /// The `dir` half's deadline.
    pub(crate) fn deadline(&self, dir: Dir) -> Option<Instant> {
        self.pd.half(dir).deadline()
    }

    /// Marks the socket closed: blocked and later operations fail. The
    /// descriptor stays open until drop, so its number cannot be reused
    /// under a caller that still holds it.
    pub(crate) fn close(&self) {
        self.pd.close();
    }

    /// Whether [`close`](Self::close) ran.
    pub(crate) fn is_closed(&self) -> bool {
        self.pd.is_closed()
    }

    /// Wakes every caller blocked on the socket to retry its system call
    /// (after a `shutdown`, which the kernel signals too; this only makes
    /// sure of it).
    pub(crate) fn wake(&self) {
        // Reads may stop short from now on (`poll_desc`, "Short reads").
        self.pd.half(Dir::Read).ended();
        self.pd.half(Dir::Read).notify();
        self.pd.half(Dir::Write).notify();
    }
}

impl<S: AsRawFd> AsRawFd for Registered<S> {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

impl<S: AsRawFd> Drop for Registered<S> {
    fn drop(&mut self) {
        poller::deregister(self.sock.as_raw_fd(), self.pd);
        // SAFETY: dropped exactly once, here; `into_inner` forgets `self`.
        unsafe { ManuallyDrop::drop(&mut self.sock) };
    }
}

impl<S: AsRawFd + core::fmt::Debug> core::fmt::Debug for Registered<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        (*self.sock).fmt(f)
    }
}

/// The `io::Error` for a [`Blocked`] outcome.
pub(crate) fn blocked_error(b: Blocked) -> io::Error {
    match b {
        Blocked::TimedOut => io::Error::new(io::ErrorKind::TimedOut, "i/o timeout"),
        Blocked::Closed => closed_error(),
    }
}

/// The error of an operation on a closed socket.
pub(crate) fn closed_error() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, CLOSED_MSG)
}

/// Resolves `addr` (`getaddrinfo` may block for seconds): on the runtime's
/// blocking pool inside a goroutine, directly on a plain thread.
pub(crate) fn resolve<A: std::net::ToSocketAddrs + Send>(
    addr: A,
) -> io::Result<Vec<std::net::SocketAddr>> {
    crate::runtime::blocking(move || addr.to_socket_addrs().map(Iterator::collect))
}

/// Runs `f` on each address of `addrs` until one succeeds; the last error
/// otherwise (std's `each_addr`).
pub(crate) fn each_addr<T>(
    addrs: Vec<std::net::SocketAddr>,
    mut f: impl FnMut(std::net::SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for a in addrs {
        match f(a) {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "could not resolve to any addresses",
        )
    }))
}
