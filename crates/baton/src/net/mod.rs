//! Goroutine-aware sockets: TCP, UDP and Unix-domain, with Go's deadlines.
//!
//! Inside a goroutine every blocking call ([`TcpListener::accept`],
//! `read`, `write`, [`TcpStream::connect`], [`UdpSocket::recv_from`], ...)
//! parks the goroutine until the socket is ready; its worker runs other
//! goroutines meanwhile, and the goroutine resumes on its own worker (a
//! started goroutine never migrates). From a plain thread the same calls
//! block the thread, as std's do.
//!
//! ```
//! use std::io::{Read, Write};
//! use baton::net::{TcpListener, TcpStream};
//!
//! let listener = TcpListener::bind("127.0.0.1:0").unwrap();
//! let addr = listener.local_addr().unwrap();
//! // One goroutine per connection.
//! baton::go(move || {
//!     for conn in listener.incoming() {
//!         let mut conn = conn.unwrap();
//!         baton::go(move || {
//!             let mut buf = [0; 1024];
//!             loop {
//!                 match conn.read(&mut buf) {
//!                     Ok(0) | Err(_) => break,
//!                     Ok(n) => conn.write_all(&buf[..n]).unwrap(),
//!                 }
//!             }
//!         });
//!     }
//! });
//! let client = baton::go(move || {
//!     let mut c = TcpStream::connect(addr).unwrap();
//!     c.write_all(b"echo").unwrap();
//!     let mut back = [0; 4];
//!     c.read_exact(&mut back).unwrap();
//!     back
//! });
//! assert_eq!(&client.join().unwrap(), b"echo");
//! ```
//!
//! # Usage rules
//!
//! - **Deadlines** are Go's: an instant per direction
//!   ([`set_read_deadline`](TcpStream::set_read_deadline),
//!   [`set_write_deadline`](TcpStream::set_write_deadline),
//!   [`set_deadline`](TcpStream::set_deadline)), not a time-out per call. A
//!   call blocked past its deadline, or started after it, fails with
//!   [`io::ErrorKind::TimedOut`](std::io::ErrorKind::TimedOut); moving the
//!   deadline (later, earlier, or to `None`) wakes blocked calls to
//!   re-check it. A listener's read deadline applies to `accept`.
//! - **Closing from another goroutine**: share the socket (an `Arc`, or a
//!   borrow in a [`scope`](crate::scope)) and call `close(&self)`: every
//!   blocked call wakes and fails with `NotConnected` ("use of closed
//!   network connection", Go's `net.ErrClosed`), and so does every later
//!   call. [`TcpStream::shutdown`] wakes blocked calls too, which then see
//!   the end of the stream. The descriptor is closed when the value drops.
//! - **Contexts**: [`TcpListener::accept_ctx`] and [`TcpStream::dial_ctx`]
//!   give up when their context is done.
//! - **Errors** are std's `io::Error`s and lose nothing: an `accept` that
//!   fails (e.g. `EMFILE`, out of descriptors) returns the error and the
//!   listener keeps working; the caller backs off and retries, as Go's
//!   `http.Server` does.
//! - **Name resolution** (`ToSocketAddrs`, which calls `getaddrinfo`) runs on
//!   the runtime's [`blocking`](crate::runtime::blocking) pool inside a
//!   goroutine, so a slow DNS server stalls only the caller.
//!
//! # What is and is not goroutine-aware
//!
//! Goroutine-aware (parks the goroutine): accept, connect (TCP), read,
//! write, send, receive, and waiting on deadlines and closes. Not: name
//! resolution (moved to the blocking pool, so it does not block the worker
//! either, but it cannot be interrupted by a deadline or context); a Unix
//! `connect` whose listener's backlog is full (moved to the blocking pool);
//! `bind`, `listen`, `shutdown` and socket options (they never block);
//! a socket taken out with `into_std` or `into_raw_fd` (plain std
//! behaviour from then on).
//!
//! # The poller: design
//!
//! One epoll instance for the process, **edge-triggered**, and one thread
//! (`baton-netpoll`) blocked in `epoll_wait` on it (`poller.rs`). Each
//! socket is switched to non-blocking mode and registered once, for both
//! directions, when it is created; its `PollDesc` (Go's
//! `pollDesc`) holds per direction the READY and CLOSED bits, the deadline
//! and a wait queue of parked callers — the state table, the no-lost-wake-up
//! argument and the loom models are in `poll_desc.rs`. An operation
//! (`io.rs`, written once for every socket type) checks CLOSED and the
//! deadline, tries the system call, and on `EAGAIN` parks through the park
//! seam (`crate::park`) with the deadline as the park's deadline; the
//! poller thread's readiness event sets READY and unparks the waiters, which
//! the scheduler routes to each goroutine's own worker (its inbox), or to a
//! parked thread's futex. So threads and goroutines share one code path:
//! from a thread, a blocking call parks the thread on the same poll
//! descriptor, which is what gives threads Go's deadlines and
//! close-from-elsewhere too (std's blocking sockets have neither).
//!
//! Poll descriptors are never freed, only recycled (Go's `pollCache`), so
//! an event racing with a socket's close never touches freed memory.
//!
//! # Alternatives rejected (and the one deferred)
//!
//! - **Worker-integrated polling** (Go's `netpoll` called from `findrunnable`,
//!   may's per-worker epoll): an idle worker would wait in `epoll_wait` with
//!   its next timer as the time-out instead of its futex sleep. It saves the
//!   poller thread's wake-up and the cross-thread unpark (about 8 us on these
//!   2-core guests when the worker sleeps) per readiness event. It is the
//!   goal; it is deferred because it touches the idle protocol of every
//!   worker: it needs (1) `Sleeper` in `runtime/sched/idle.rs` to sleep in
//!   `epoll_wait` on an epoll instance per worker (or a shared one) and to
//!   be woken by writing an `eventfd` registered in it (what mio's `Waker`
//!   does) instead of a futex wake; (2) `worker.rs` to poll without blocking
//!   between goroutines (Go polls when its run queues are empty, and
//!   sysmon polls every 10 ms); (3) sockets registered on the epoll of the
//!   worker whose goroutine first blocks on them, with READY events routed
//!   to the waiter's home worker (our park seam already does the routing);
//!   (4) the deadlock detector (`runtime/diag/deadlock.rs`) to count a
//!   worker in `epoll_wait` on registered descriptors as not idle. The
//!   poll descriptors, their state machine and every socket type stay as
//!   they are: only `poller.rs` changes.
//! - **mio** instead of raw epoll through `libc`: with one poller thread, mio's
//!   portable layer (`Poll`, `Registry`, `Token`, `Source` impls, its own
//!   socket types) adds a dependency and an indirection and removes no code:
//!   the three epoll calls and their flags are written once in `poller.rs`,
//!   `libc` is already a dependency (the futex), and baton is Linux-first.
//!   mio's `Waker` would be the natural piece to take for the
//!   worker-integrated design above.
//! - **Level-triggered** epoll: an event per `epoll_wait` while the socket
//!   stays readable, so the poller would need `EPOLLONESHOT` and a re-arm
//!   (`epoll_ctl`) per wait; edge-triggered registers once (Go's choice).
//! - **Blocking std sockets on plain threads**: simpler for threads, but
//!   then deadlines (`SO_RCVTIMEO` is per call, not an instant, and cannot be
//!   moved under a blocked call) and `close` from another thread would
//!   behave differently on threads and goroutines.
//!
//! # Deadlock detection
//!
//! The poller thread counts as a thread outside the runtime that may wake
//! goroutines, so once the first socket exists the runtime's deadlock
//! detector stays off (its rule 6): a goroutine waiting for I/O is never
//! reported as deadlocked.

pub(crate) mod common;
pub(crate) mod io;
pub(crate) mod poll_desc;
pub(crate) mod poller;
mod tcp;
mod udp;
mod unix;

pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixIncoming, UnixListener, UnixStream};
