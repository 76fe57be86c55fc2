//! The methods every socket type shares (deadlines, close, descriptor
//! conversions), written once as a macro over the type's `io:
//! Registered<std type>` field. `$make` is an expression of type
//! `io::Result<Self>` used by the doc examples.

macro_rules! socket_common {
    ($ty:ident, $std:ty, $make:literal) => {
        impl $ty {
            /// Sets the deadline of reads (and receives, accepts): a call
            /// blocked past it, or started after it, fails with
            /// [`io::ErrorKind::TimedOut`](std::io::ErrorKind::TimedOut).
            /// `None` clears it. Moving it wakes a blocked call to re-check
            /// (Go's `SetReadDeadline`). The deadline is an instant, not a
            /// per-call time-out: extend it before each call for that.
            ///
            /// ```
            /// use std::time::{Duration, Instant};
            #[doc = concat!("let s = ", $make, ".unwrap();")]
            /// s.set_read_deadline(Some(Instant::now() + Duration::from_secs(5)));
            /// assert!(s.read_deadline().is_some());
            /// s.set_read_deadline(None);
            /// assert!(s.read_deadline().is_none());
            /// ```
            pub fn set_read_deadline(&self, deadline: Option<std::time::Instant>) {
                self.io
                    .set_deadline($crate::net::poll_desc::Dir::Read, deadline);
            }

            /// Sets the deadline of writes (and sends, connects); see
            /// [`set_read_deadline`](Self::set_read_deadline).
            ///
            /// ```
            /// use std::time::Instant;
            #[doc = concat!("let s = ", $make, ".unwrap();")]
            /// s.set_write_deadline(Some(Instant::now()));
            /// assert!(s.write_deadline().is_some());
            /// ```
            pub fn set_write_deadline(&self, deadline: Option<std::time::Instant>) {
                self.io
                    .set_deadline($crate::net::poll_desc::Dir::Write, deadline);
            }

            /// Sets both deadlines (Go's `SetDeadline`).
            ///
            /// ```
            /// use std::time::{Duration, Instant};
            #[doc = concat!("let s = ", $make, ".unwrap();")]
            /// let d = Instant::now() + Duration::from_secs(1);
            /// s.set_deadline(Some(d));
            /// assert_eq!(s.read_deadline(), s.write_deadline());
            /// ```
            pub fn set_deadline(&self, deadline: Option<std::time::Instant>) {
                self.set_read_deadline(deadline);
                self.set_write_deadline(deadline);
            }

            /// The read deadline now set (within a nanosecond of the one
            /// given).
            ///
            /// ```
            #[doc = concat!("let s = ", $make, ".unwrap();")]
            /// assert_eq!(s.read_deadline(), None);
            /// ```
            pub fn read_deadline(&self) -> Option<std::time::Instant> {
                self.io.deadline($crate::net::poll_desc::Dir::Read)
            }

            /// The write deadline now set.
            ///
            /// ```
            #[doc = concat!("let s = ", $make, ".unwrap();")]
            /// assert_eq!(s.write_deadline(), None);
            /// ```
            pub fn write_deadline(&self) -> Option<std::time::Instant> {
                self.io.deadline($crate::net::poll_desc::Dir::Write)
            }

            /// Closes the socket for every user at once (Go's `Close`, which
            /// may be called while other goroutines are blocked on it): every
            /// blocked call wakes and fails, and every later call fails, with
            /// an [`io::ErrorKind::NotConnected`](std::io::ErrorKind::NotConnected)
            /// error saying "use of closed network connection". A connected
            /// stream is also shut down both ways, so the peer sees the end.
            /// The descriptor itself is closed when the value drops (so its
            /// number cannot be reused while someone still holds it).
            /// Calling it twice is harmless. (A call that is inside its
            /// system call at that very moment may return that call's
            /// result instead, e.g. the end of the stream; every call after
            /// it fails.)
            ///
            /// ```
            #[doc = concat!("let s = ", $make, ".unwrap();")]
            /// s.close();
            /// assert!(s.is_closed());
            /// ```
            pub fn close(&self) {
                // CLOSED first: a call the shutdown wakes must see it.
                self.io.close();
                self.before_close();
            }

            /// Whether [`close`](Self::close) was called.
            ///
            /// ```
            #[doc = concat!("let s = ", $make, ".unwrap();")]
            /// assert!(!s.is_closed());
            /// ```
            pub fn is_closed(&self) -> bool {
                self.io.is_closed()
            }

            /// Wraps a std socket: it is switched to non-blocking mode and
            /// registered with the poller. Fails if either fails (e.g. out
            /// of descriptors for the poller's epoll instance).
            ///
            /// ```
            #[doc = concat!("let s = ", $make, ".unwrap();")]
            #[doc = concat!("let std_sock: ", stringify!($std), " = s.into_std().unwrap();")]
            #[doc = concat!("let back = baton::net::", stringify!($ty), "::from_std(std_sock).unwrap();")]
            /// ```
            pub fn from_std(sock: $std) -> std::io::Result<Self> {
                sock.set_nonblocking(true)?;
                Ok(Self {
                    io: $crate::net::io::Registered::new(sock)?,
                })
            }

            /// Unwraps into the std socket, deregistered and back in
            /// blocking mode.
            ///
            /// ```
            #[doc = concat!("let s = ", $make, ".unwrap();")]
            #[doc = concat!("let std_sock: ", stringify!($std), " = s.into_std().unwrap();")]
            /// ```
            pub fn into_std(self) -> std::io::Result<$std> {
                let sock = self.io.into_inner();
                sock.set_nonblocking(false)?;
                Ok(sock)
            }
        }

        impl TryFrom<$std> for $ty {
            type Error = std::io::Error;

            /// [`from_std`]($ty::from_std).
            fn try_from(sock: $std) -> std::io::Result<Self> {
                Self::from_std(sock)
            }
        }

        impl TryFrom<$ty> for $std {
            type Error = std::io::Error;

            /// [`into_std`]($ty::into_std).
            fn try_from(sock: $ty) -> std::io::Result<Self> {
                sock.into_std()
            }
        }

        impl std::os::fd::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                self.io.get().as_raw_fd()
            }
        }

        impl std::os::fd::AsFd for $ty {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                self.io.get().as_fd()
            }
        }

        impl std::os::fd::IntoRawFd for $ty {
            /// The descriptor, deregistered; it stays in non-blocking mode.
            fn into_raw_fd(self) -> std::os::fd::RawFd {
                self.io.into_inner().into_raw_fd()
            }
        }

        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($ty)).field(&self.io).finish()
            }
        }
    };
}

/// `Read` and `Write` for a stream type and for `&` it, through the read
/// and write halves (one goroutine may read while another writes).
/// `$tcp`: whether a short read proves the receive queue empty, so that
/// the next read may be skipped (`Registered::read_tcp`; TCP only).
macro_rules! stream_read_write {
    ($ty:ident, $tcp:literal) => {
        impl std::io::Read for &$ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if $tcp {
                    self.io.read_tcp(buf, |mut s, buf| s.read(buf))
                } else {
                    self.io
                        .op($crate::net::poll_desc::Dir::Read, None, |mut s| s.read(buf))
                }
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                self.io
                    .op($crate::net::poll_desc::Dir::Read, None, |mut s| {
                        s.read_vectored(bufs)
                    })
            }
        }

        impl std::io::Write for &$ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.io
                    .op($crate::net::poll_desc::Dir::Write, None, |mut s| {
                        s.write(buf)
                    })
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                self.io
                    .op($crate::net::poll_desc::Dir::Write, None, |mut s| {
                        s.write_vectored(bufs)
                    })
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        impl std::io::Read for $ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                (&*self).read(buf)
            }

            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                (&*self).read_vectored(bufs)
            }
        }

        impl std::io::Write for $ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                (&*self).write(buf)
            }

            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                (&*self).write_vectored(bufs)
            }

            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
    };
}

pub(crate) use {socket_common, stream_read_write};
