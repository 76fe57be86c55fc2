//! Unix-domain stream sockets: [`UnixListener`] and [`UnixStream`],
//! goroutine-aware (see the module docs of [`net`](super)).

use std::io;
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;

use socket2::{Domain, SockAddr, Socket, Type};

use super::common::{socket_common, stream_read_write};
use super::io::Registered;
use super::poll_desc::Dir;

/// A Unix-domain listening socket whose `accept` parks the calling
/// goroutine (or blocks the calling thread).
///
/// ```
/// use std::io::{Read, Write};
/// use baton::net::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("baton-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("unix-listener.sock");
/// let _ = std::fs::remove_file(&path);
/// let l = UnixListener::bind(&path).unwrap();
/// let mut c = UnixStream::connect(&path).unwrap();
/// let (mut s, _) = l.accept().unwrap();
/// c.write_all(b"hi").unwrap();
/// let mut buf = [0; 2];
/// s.read_exact(&mut buf).unwrap();
/// assert_eq!(&buf, b"hi");
/// std::fs::remove_file(&path).unwrap();
/// ```
pub struct UnixListener {
    io: Registered<std::os::unix::net::UnixListener>,
}

socket_common!(
    UnixListener,
    std::os::unix::net::UnixListener,
    "{ let p = std::env::temp_dir().join(format!(\"baton-doc-ul-{}-{}\", std::process::id(), line!())); \
     let _ = std::fs::remove_file(&p); let l = baton::net::UnixListener::bind(&p); \
     let _ = std::fs::remove_file(&p); l }"
);

impl UnixListener {
    /// Binds to the socket file `path` (which must not exist) and listens.
    ///
    /// ```
    /// let p = std::env::temp_dir().join(format!("baton-doc-bind-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&p);
    /// let l = baton::net::UnixListener::bind(&p).unwrap();
    /// assert_eq!(l.local_addr().unwrap().as_pathname(), Some(p.as_path()));
    /// std::fs::remove_file(&p).unwrap();
    /// ```
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<Self> {
        Self::from_std(std::os::unix::net::UnixListener::bind(path)?)
    }

    /// Accepts a connection: parks until one arrives, the read deadline
    /// passes or the listener is closed. Errors leave the listener usable.
    ///
    /// ```
    /// let p = std::env::temp_dir().join(format!("baton-doc-acc-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&p);
    /// let l = baton::net::UnixListener::bind(&p).unwrap();
    /// let _c = baton::net::UnixStream::connect(&p).unwrap();
    /// let (s, _) = l.accept().unwrap();
    /// assert!(s.peer_addr().is_ok());
    /// std::fs::remove_file(&p).unwrap();
    /// ```
    pub fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (s, addr) = self.io.op(Dir::Read, None, |l| l.accept())?;
        Ok((UnixStream::from_std(s)?, addr))
    }

    /// An endless iterator over accepted connections.
    ///
    /// ```
    /// let p = std::env::temp_dir().join(format!("baton-doc-inc-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&p);
    /// let l = baton::net::UnixListener::bind(&p).unwrap();
    /// let _c = baton::net::UnixStream::connect(&p).unwrap();
    /// assert!(l.incoming().next().unwrap().is_ok());
    /// std::fs::remove_file(&p).unwrap();
    /// ```
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { listener: self }
    }

    /// The address bound.
    ///
    /// ```
    /// let p = std::env::temp_dir().join(format!("baton-doc-la-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&p);
    /// let l = baton::net::UnixListener::bind(&p).unwrap();
    /// assert!(l.local_addr().unwrap().as_pathname().is_some());
    /// std::fs::remove_file(&p).unwrap();
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    fn before_close(&self) {}
}

/// The iterator of [`UnixListener::incoming`].
///
/// ```
/// # let p = std::env::temp_dir().join(format!("baton-doc-ui-{}.sock", std::process::id()));
/// # let _ = std::fs::remove_file(&p);
/// let l = baton::net::UnixListener::bind(&p).unwrap();
/// let _incoming: baton::net::UnixIncoming<'_> = l.incoming();
/// # std::fs::remove_file(&p).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl Iterator for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.listener.accept().map(|(s, _)| s))
    }
}

/// A Unix-domain stream connection; reads and writes park the calling
/// goroutine (or block the calling thread). `Read`/`Write` are also
/// implemented for `&UnixStream`.
///
/// ```
/// use std::io::{Read, Write};
///
/// let (mut a, mut b) = baton::net::UnixStream::pair().unwrap();
/// a.write_all(b"ping").unwrap();
/// let mut buf = [0; 4];
/// b.read_exact(&mut buf).unwrap();
/// assert_eq!(&buf, b"ping");
/// ```
pub struct UnixStream {
    io: Registered<std::os::unix::net::UnixStream>,
}

socket_common!(
    UnixStream,
    std::os::unix::net::UnixStream,
    "baton::net::UnixStream::pair().map(|(a, _b)| a)"
);
stream_read_write!(UnixStream, false);

impl UnixStream {
    /// Connects to the socket file `path`. Connecting never waits for the
    /// peer to accept; only when the listener's backlog is full does it
    /// block, and then it runs on the runtime's blocking pool inside a
    /// goroutine.
    ///
    /// ```
    /// let p = std::env::temp_dir().join(format!("baton-doc-conn-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&p);
    /// let _l = baton::net::UnixListener::bind(&p).unwrap();
    /// let c = baton::net::UnixStream::connect(&p).unwrap();
    /// assert_eq!(c.peer_addr().unwrap().as_pathname(), Some(p.as_path()));
    /// std::fs::remove_file(&p).unwrap();
    /// ```
    pub fn connect<P: AsRef<Path>>(path: P) -> io::Result<Self> {
        let path = path.as_ref();
        let sock = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        sock.set_nonblocking(true)?;
        match sock.connect(&SockAddr::unix(path)?) {
            Ok(()) => Self::from_std(std::os::fd::OwnedFd::from(sock).into()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                // The backlog is full; no edge will tell us when it is not.
                let s = crate::runtime::blocking(|| std::os::unix::net::UnixStream::connect(path))?;
                Self::from_std(s)
            }
            Err(e) => Err(e),
        }
    }

    /// A connected pair of sockets (`socketpair(2)`).
    ///
    /// ```
    /// let (a, b) = baton::net::UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().is_ok() && b.peer_addr().is_ok());
    /// ```
    pub fn pair() -> io::Result<(Self, Self)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((Self::from_std(a)?, Self::from_std(b)?))
    }

    /// Shuts down the read, write or both halves; blocked calls wake and
    /// see it (see [`TcpStream::shutdown`](super::TcpStream::shutdown)).
    ///
    /// ```
    /// use std::io::Read;
    /// let (a, mut b) = baton::net::UnixStream::pair().unwrap();
    /// a.shutdown(std::net::Shutdown::Write).unwrap();
    /// assert_eq!(b.read(&mut [0; 4]).unwrap(), 0);
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let r = self.io.get().shutdown(how);
        self.io.wake();
        r
    }

    /// The peer's address.
    ///
    /// ```
    /// let (a, _b) = baton::net::UnixStream::pair().unwrap();
    /// assert!(a.peer_addr().unwrap().is_unnamed());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// The local address.
    ///
    /// ```
    /// let (a, _b) = baton::net::UnixStream::pair().unwrap();
    /// assert!(a.local_addr().unwrap().is_unnamed());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// A second handle on the same connection (`dup(2)`), with its own
    /// deadlines.
    ///
    /// ```
    /// let (a, _b) = baton::net::UnixStream::pair().unwrap();
    /// let a2 = a.try_clone().unwrap();
    /// assert!(a2.peer_addr().is_ok());
    /// ```
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(UnixStream {
            io: Registered::new(self.io.get().try_clone()?)?,
        })
    }

    fn before_close(&self) {
        let _ = self.io.get().shutdown(Shutdown::Both);
    }
}
