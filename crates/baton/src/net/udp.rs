//! UDP: [`UdpSocket`], goroutine-aware (see the module docs of
//! [`net`](super)).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use super::common::socket_common;
use super::io::{each_addr, resolve, Registered};
use super::poll_desc::Dir;

/// A UDP socket whose sends and receives park the calling goroutine (or
/// block the calling thread) until the socket is ready.
///
/// ```
/// use baton::net::UdpSocket;
///
/// let a = UdpSocket::bind("127.0.0.1:0").unwrap();
/// let b = UdpSocket::bind("127.0.0.1:0").unwrap();
/// a.send_to(b"hi", b.local_addr().unwrap()).unwrap();
/// let mut buf = [0; 16];
/// let (n, from) = b.recv_from(&mut buf).unwrap();
/// assert_eq!((&buf[..n], from), (&b"hi"[..], a.local_addr().unwrap()));
/// ```
pub struct UdpSocket {
    io: Registered<std::net::UdpSocket>,
}

socket_common!(
    UdpSocket,
    std::net::UdpSocket,
    "baton::net::UdpSocket::bind(\"127.0.0.1:0\")"
);

impl UdpSocket {
    /// Binds to `addr` (resolved on the blocking pool inside a goroutine).
    ///
    /// ```
    /// let s = baton::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.local_addr().unwrap().port() != 0);
    /// ```
    pub fn bind<A: ToSocketAddrs + Send>(addr: A) -> io::Result<Self> {
        Self::from_std(each_addr(resolve(addr)?, std::net::UdpSocket::bind)?)
    }

    /// Sends a datagram to `addr`; returns the bytes sent.
    ///
    /// Unlike std's, this takes a resolved [`SocketAddr`] (as Go's
    /// `WriteTo` takes a resolved `Addr`): resolving a `ToSocketAddrs` on
    /// every datagram would cost a trip to the blocking pool per send
    /// inside a goroutine. Resolve once with `ToSocketAddrs` (or
    /// [`connect`](Self::connect) and [`send`](Self::send)).
    ///
    /// ```
    /// let a = baton::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = baton::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert_eq!(a.send_to(b"abc", b.local_addr().unwrap()).unwrap(), 3);
    /// ```
    pub fn send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        self.io.op(Dir::Write, None, |s| s.send_to(buf, addr))
    }

    /// Receives a datagram: parks until one arrives (or the read deadline,
    /// or a close). Returns its length (truncated to `buf`) and sender.
    ///
    /// ```
    /// let a = baton::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.send_to(b"me", a.local_addr().unwrap()).unwrap();
    /// let mut buf = [0; 8];
    /// assert_eq!(a.recv_from(&mut buf).unwrap().0, 2);
    /// ```
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.op(Dir::Read, None, |s| s.recv_from(buf))
    }

    /// Sets the default peer: [`send`](Self::send) goes there and
    /// [`recv`](Self::recv) takes datagrams from it only.
    ///
    /// ```
    /// let a = baton::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = baton::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    /// ```
    pub fn connect<A: ToSocketAddrs + Send>(&self, addr: A) -> io::Result<()> {
        each_addr(resolve(addr)?, |a| self.io.get().connect(a))
    }

    /// Sends a datagram to the connected peer.
    ///
    /// ```
    /// let a = baton::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let b = baton::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(b.local_addr().unwrap()).unwrap();
    /// b.connect(a.local_addr().unwrap()).unwrap();
    /// a.send(b"x").unwrap();
    /// let mut buf = [0; 4];
    /// assert_eq!(b.recv(&mut buf).unwrap(), 1);
    /// ```
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.op(Dir::Write, None, |s| s.send(buf))
    }

    /// Receives a datagram from the connected peer.
    ///
    /// ```
    /// let a = baton::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// a.connect(a.local_addr().unwrap()).unwrap();
    /// a.send(b"loop").unwrap();
    /// let mut buf = [0; 8];
    /// assert_eq!(a.recv(&mut buf).unwrap(), 4);
    /// ```
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.op(Dir::Read, None, |s| s.recv(buf))
    }

    /// The address bound.
    ///
    /// ```
    /// let s = baton::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The connected peer's address.
    ///
    /// ```
    /// let s = baton::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// assert!(s.peer_addr().is_err()); // not connected
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// A second handle on the same socket (`dup(2)`), with its own
    /// deadlines and `close`.
    ///
    /// ```
    /// let s = baton::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    /// let t = s.try_clone().unwrap();
    /// assert_eq!(s.local_addr().unwrap(), t.local_addr().unwrap());
    /// ```
    pub fn try_clone(&self) -> io::Result<Self> {
        Ok(UdpSocket {
            io: Registered::new(self.io.get().try_clone()?)?,
        })
    }

    fn before_close(&self) {}
}
