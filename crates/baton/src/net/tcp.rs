//! TCP: [`TcpListener`] and [`TcpStream`], goroutine-aware (see the
//! module docs of [`net`](super)).

use std::io;
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::common::{socket_common, stream_read_write};
use super::io::{each_addr, resolve, Registered};
use super::poll_desc::Dir;
use crate::context::Context;

/// A TCP listening socket whose `accept` parks the calling goroutine (or
/// blocks the calling thread) until a connection arrives.
///
/// ```
/// use std::io::{Read, Write};
/// use baton::net::{TcpListener, TcpStream};
///
/// let listener = TcpListener::bind("127.0.0.1:0").unwrap();
/// let addr = listener.local_addr().unwrap();
/// let server = baton::go(move || {
///     let (mut conn, _) = listener.accept().unwrap();
///     let mut buf = [0; 5];
///     conn.read_exact(&mut buf).unwrap();
///     conn.write_all(&buf).unwrap();
/// });
/// let mut c = TcpStream::connect(addr).unwrap();
/// c.write_all(b"hello").unwrap();
/// let mut back = [0; 5];
/// c.read_exact(&mut back).unwrap();
/// assert_eq!(&back, b"hello");
/// server.join().unwrap();
/// ```
pub struct TcpListener {
    io: Registered<std::net::TcpListener>,
}

socket_common!(
    TcpListener,
    std::net::TcpListener,
    "baton::net::TcpListener::bind(\"127.0.0.1:0\")"
);

impl TcpListener {
    /// Binds to `addr` and listens, with `SO_REUSEADDR` (as std and Go)
    /// and the system's largest backlog (`net.core.somaxconn`, as Go; std
    /// uses 128, which drops connections when thousands of goroutines
    /// connect at once). Resolving a host name runs on the runtime's
    /// blocking pool inside a goroutine. The first address that binds wins.
    ///
    /// ```
    /// let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.local_addr().unwrap().port() != 0);
    /// ```
    pub fn bind<A: ToSocketAddrs + Send>(addr: A) -> io::Result<Self> {
        let l = each_addr(resolve(addr)?, listen)?;
        Self::from_std(l)
    }

    /// Accepts a connection: parks the goroutine (or blocks the thread)
    /// until one arrives, the listener's deadline
    /// ([`set_read_deadline`](Self::set_read_deadline)) passes
    /// (`TimedOut`), or it is [`close`](Self::close)d. Errors such as
    /// `EMFILE` (out of descriptors) are returned and the listener stays
    /// usable: retry after a pause, as Go's `http.Server` does.
    ///
    /// ```
    /// use baton::net::{TcpListener, TcpStream};
    ///
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let (s, peer) = l.accept().unwrap();
    /// assert_eq!(peer, c.local_addr().unwrap());
    /// assert_eq!(s.peer_addr().unwrap(), peer);
    /// ```
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_inner(None)
    }

    /// As [`accept`](Self::accept), giving up with the context's error
    /// when `ctx` is done (as an `io::Error`: `TimedOut` for its deadline,
    /// `Interrupted` for a cancel; the context's `Error` is its inner
    /// error).
    ///
    /// ```
    /// use std::time::Duration;
    /// use baton::{context, net::TcpListener};
    ///
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(10));
    /// let err = l.accept_ctx(&ctx).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn accept_ctx(&self, ctx: &Context) -> io::Result<(TcpStream, SocketAddr)> {
        self.accept_inner(Some(ctx))
    }

    fn accept_inner(&self, ctx: Option<&Context>) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, peer) = self.io.op(Dir::Read, ctx, |l| l.accept())?;
        Ok((TcpStream::from_std(s)?, peer))
    }

    /// An endless iterator over accepted connections (each `accept`'s
    /// result).
    ///
    /// ```
    /// use baton::net::{TcpListener, TcpStream};
    ///
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let first = l.incoming().next().unwrap().unwrap();
    /// assert!(first.peer_addr().is_ok());
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address bound.
    ///
    /// ```
    /// let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// assert!(l.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    fn before_close(&self) {}
}

/// `socket`, `bind`, `listen` with the system's largest backlog.
fn listen(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_reuse_address(true)?;
    sock.bind(&SockAddr::from(addr))?;
    sock.listen(backlog())?;
    Ok(sock.into())
}

/// `net.core.somaxconn` (read once), 4096 if unreadable: the kernel caps
/// any larger backlog to it anyway.
fn backlog() -> i32 {
    static BACKLOG: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *BACKLOG.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(4096)
    })
}

/// The iterator of [`TcpListener::incoming`].
///
/// ```
/// let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// let _incoming: baton::net::Incoming<'_> = l.incoming();
/// ```
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Iterator for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A TCP connection whose reads and writes park the calling goroutine (or
/// block the calling thread) until the socket is ready. `Read` and `Write`
/// are implemented for `&TcpStream` too, so one goroutine can read while
/// another writes.
///
/// ```
/// use std::io::{Read, Write};
/// use baton::net::{TcpListener, TcpStream};
///
/// let l = TcpListener::bind("127.0.0.1:0").unwrap();
/// let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
/// let (mut s, _) = l.accept().unwrap();
/// c.write_all(b"ping").unwrap();
/// let mut buf = [0; 4];
/// s.read_exact(&mut buf).unwrap();
/// assert_eq!(&buf, b"ping");
/// ```
pub struct TcpStream {
    io: Registered<std::net::TcpStream>,
}

socket_common!(
    TcpStream,
    std::net::TcpStream,
    "{ let l = std::net::TcpListener::bind(\"127.0.0.1:0\").unwrap(); \
     baton::net::TcpStream::connect(l.local_addr().unwrap()) }"
);
stream_read_write!(TcpStream, true);

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn. Resolving
    /// a host name runs on the runtime's blocking pool inside a goroutine;
    /// the connection itself parks the goroutine until it completes.
    ///
    /// ```
    /// let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = baton::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    pub fn connect<A: ToSocketAddrs + Send>(addr: A) -> io::Result<Self> {
        each_addr(resolve(addr)?, |a| Self::connect_one(a, None, None))
    }

    /// Connects to `addr`, giving up with `TimedOut` after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let addr = l.local_addr().unwrap();
    /// let c = baton::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    /// assert_eq!(c.peer_addr().unwrap(), addr);
    /// ```
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> io::Result<Self> {
        let deadline = Instant::now().checked_add(timeout);
        Self::connect_one(*addr, deadline, None)
    }

    /// Connects to `addr` (Go's `Dialer.DialContext`), giving up with the
    /// context's error when `ctx` is done (as an `io::Error`: `TimedOut`
    /// for its deadline, `Interrupted` for a cancel). Name resolution runs first, on the blocking
    /// pool, and is not interrupted by the context.
    ///
    /// ```
    /// use baton::{context, net::{TcpListener, TcpStream}};
    ///
    /// let l = TcpListener::bind("127.0.0.1:0").unwrap();
    /// let ctx = context::background();
    /// let c = TcpStream::dial_ctx(&ctx, l.local_addr().unwrap()).unwrap();
    /// assert!(c.peer_addr().is_ok());
    /// ```
    pub fn dial_ctx<A: ToSocketAddrs + Send>(ctx: &Context, addr: A) -> io::Result<Self> {
        if let Some(e) = ctx.err() {
            return Err(e.into());
        }
        each_addr(resolve(addr)?, |a| Self::connect_one(a, None, Some(ctx)))
    }

    /// One non-blocking connect: register first (so the completion's edge
    /// is seen), start the connect, then wait for writability and read the
    /// outcome with `SO_ERROR`.
    fn connect_one(
        addr: SocketAddr,
        deadline: Option<Instant>,
        ctx: Option<&Context>,
    ) -> io::Result<Self> {
        let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        sock.set_nonblocking(true)?;
        let this = TcpStream {
            io: Registered::new(std::net::TcpStream::from(sock))?,
        };
        let started = socket2::SockRef::from(this.io.get()).connect(&SockAddr::from(addr));
        match started {
            Ok(()) => return Ok(this),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        this.io.set_deadline(Dir::Write, deadline);
        let r = this.io.op(Dir::Write, ctx, |s| {
            if let Some(e) = s.take_error()? {
                return Err(e);
            }
            match s.peer_addr() {
                Ok(_) => Ok(()),
                // Still in progress: wait for the next edge.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        });
        this.io.set_deadline(Dir::Write, None);
        r.map(|()| this)
    }

    /// Shuts down the read, write or both halves (`shutdown(2)`): the peer
    /// sees the end of the stream, and calls blocked on this socket wake
    /// and see it too (a read returns `Ok(0)`, a write fails). See also
    /// [`close`](Self::close).
    ///
    /// ```
    /// use std::io::Read;
    /// use std::net::Shutdown;
    ///
    /// let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = baton::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let (mut s, _) = l.accept().unwrap();
    /// c.shutdown(Shutdown::Write).unwrap();
    /// assert_eq!(s.read(&mut [0; 8]).unwrap(), 0);
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let r = self.io.get().shutdown(how);
        self.io.wake();
        r
    }

    /// The remote address.
    ///
    /// ```
    /// let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = baton::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// The local address.
    ///
    /// ```
    /// let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = baton::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// assert!(c.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// Sets `TCP_NODELAY` (Nagle's algorithm off when `true`).
    ///
    /// ```
    /// let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = baton::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// c.set_nodelay(true).unwrap();
    /// assert!(c.nodelay().unwrap());
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = baton::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let _ = c.nodelay().unwrap();
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get().nodelay()
    }

    /// A second handle on the same connection (`dup(2)`), registered on
    /// its own: it has its own deadlines and its own
    /// [`close`](Self::close) (which, since it shuts the connection down,
    /// still ends the stream for both).
    ///
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let c = baton::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    /// let (mut s, _) = l.accept().unwrap();
    /// let mut c2 = c.try_clone().unwrap();
    /// c2.write_all(b"x").unwrap();
    /// let mut b = [0];
    /// s.read_exact(&mut b).unwrap();
    /// assert_eq!(&b, b"x");
    /// ```
    pub fn try_clone(&self) -> io::Result<Self> {
        // The duplicate shares the open file description, hence its
        // non-blocking flag.
        let s = self.io.get().try_clone()?;
        Ok(TcpStream {
            io: Registered::new(s)?,
        })
    }

    fn before_close(&self) {
        // The peer sees the end; errors (not connected) do not matter.
        let _ = self.io.get().shutdown(Shutdown::Both);
    }
}
