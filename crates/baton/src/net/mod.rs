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
//! One epoll instance for the process, **edge-triggered**, shared by the
//! runtime's workers (Go's `netpoll` from `findrunnable`) and one fallback
//! thread (`baton-netpoll`); the details and the no-lost-wake-up argument
//! are in `poller.rs`. Each socket is switched to non-blocking mode and
//! registered once, for both directions, when it is created; its
//! `PollDesc` (Go's `pollDesc`) holds per direction an edge count and a
//! CLOSED bit, the deadline and a wait queue of parked callers — the state
//! table, the no-lost-wake-up argument and the loom models are in
//! `poll_desc.rs`. An operation (`io.rs`, written once for every socket
//! type) checks CLOSED and the deadline (reading the edge count), tries
//! the system call, and on `EAGAIN` parks through the park seam
//! (`crate::park`) with the deadline as the park's deadline, unless an
//! edge came since its check. Whoever reads the readiness event counts the
//! edge and unparks the waiters, which the scheduler routes to each goroutine's
//! own worker (its `runnext` when the reader is that worker, else its
//! inbox), or to a parked thread's futex:
//!
//! - a worker that runs out of goroutines polls without blocking before it
//!   looks further (and while it spins before sleeping), and a busy worker
//!   polls every 61 scheduling rounds;
//! - a worker about to sleep blocks in `epoll_wait`, with its next timer as
//!   the time-out, instead of its futex sleep — at most one thread at a
//!   time (the *slot*); the others sleep on their futex. Wake-ups meant for
//!   it (inbox pushes, spawns, shutdown) arrive through an `eventfd`
//!   registered in the same epoll instance (`runtime/sched/idle.rs`,
//!   "Sleeping in epoll", and its loom model `loom_idle_epoll_wakeup`);
//! - the fallback thread blocks in `epoll_wait` only while plain threads
//!   are parked on sockets and no worker holds the slot; while workers
//!   exist but none is in epoll (all busy) it polls every 10 ms, as Go's
//!   `sysmon`; otherwise it sleeps without a time-out. So readiness for a
//!   goroutine costs one wake-up (the worker in epoll), or none (a worker
//!   that polls), instead of two (the poller thread, then the worker).
//!
//! Threads and goroutines share one code path: from a thread, a blocking
//! call parks the thread on the same poll descriptor, which is what gives
//! threads Go's deadlines and close-from-elsewhere too (std's blocking
//! sockets have neither).
//!
//! Poll descriptors are never freed, only recycled (Go's `pollCache`), so
//! an event racing with a socket's close never touches freed memory.
//!
//! # Alternatives rejected
//!
//! - **A poller thread only** (this module's first design): every event
//!   cost two cross-thread wake-ups (the poller thread, then the sleeping
//!   worker), and a TCP ping-pong between goroutines lost to std's
//!   blocking sockets.
//! - **No fallback thread** (Go has none: its threads are all Ms): a socket
//!   read from a plain thread, or from goroutines of a runtime whose workers
//!   are all busy, would wait for some worker to go idle; and with no
//!   runtime at all, nothing would poll. The thread costs no wake-ups while
//!   a worker holds the slot.
//! - **An epoll instance per worker** (may's design), sockets registered on
//!   the epoll of the worker whose goroutine first blocks on them: events
//!   would land on the right worker, but a socket shared by goroutines on
//!   two workers (`Read for &TcpStream`) would need re-registering, and
//!   plain threads would still need a shared instance. Our park seam
//!   already routes a wake-up to the goroutine's own worker, so one shared
//!   instance is enough.
//! - **mio** instead of raw epoll through `libc`: mio's portable layer
//!   (`Poll`, `Registry`, `Token`, `Source` impls, its own socket types)
//!   adds a dependency and an indirection and removes no code: the epoll
//!   and `eventfd` calls and their flags are written once in `poller.rs`,
//!   `libc` is already a dependency (the futex), and baton is Linux-first.
//! - **Level-triggered** epoll for sockets: an event per `epoll_wait` while
//!   the socket stays readable, so the poller would need `EPOLLONESHOT` and
//!   a re-arm (`epoll_ctl`) per wait; edge-triggered registers once (Go's
//!   choice). (The wake `eventfd` *is* level-triggered, so that a
//!   non-blocking poll by another worker cannot consume a wake-up meant
//!   for the slot holder.)
//! - **Blocking std sockets on plain threads**: simpler for threads, but
//!   then deadlines (`SO_RCVTIMEO` is per call, not an instant, and cannot be
//!   moved under a blocked call) and `close` from another thread would
//!   behave differently on threads and goroutines.
//!
//! # Per-operation cost: what was measured and changed (issue 13)
//!
//! System calls per round trip are the load-independent figure on these
//! shared 2-core machines (`perf stat -e raw_syscalls:sys_enter -e
//! 'syscalls:sys_enter_*'` on each process, divided by the round trips or
//! requests done). A 64-byte echo round trip (100 connections, client and
//! server processes both baton) and a keep-alive HTTP request (the example
//! server pinned to one core, `wrk -t1 -c64` on the other):
//!
//! | per round trip / request, per process | Go echo | baton echo before | after | baton http before | after |
//! |---|---|---|---|---|---|
//! | `recvfrom` (`read` in Go) | 2.0 | 3.0 | 2.0 | 3.0 | 1.0 |
//! | `sendto` (`write`) | 1.0 | 1.0 | 1.0 | 1.0 | 1.0 |
//! | `epoll_wait` | 0.05 | 0.8 | 0.2-0.3 | 0.11-0.14 | 0.38-0.39 |
//! | all system calls | 3.1 | 4.9 | 3.2-3.3 | 4.2 | 2.5 |
//!
//! With `wrk -c256` and `-c1024` the HTTP server went from 4.2-4.3 to
//! 2.2-2.3 system calls per request (`recvfrom` 3.0 to 1.0). Requests per
//! second moved with it only within the noise of a machine loaded to 9-12
//! runnable threads on 2 cores (lab `http --quick`, pinned, 64
//! connections: before 0.78x and 1.06x Go, after 1.14x and 1.38x Go, in
//! two interleaved pairs), which is why the counts are the evidence.
//!
//! - **A stale READY cost one `recvfrom` per message** (fixed): a reader
//!   woken by an edge retried without consuming the READY flag, so its
//!   next read went `EAGAIN`, READY, `EAGAIN`, park. The flag is now an
//!   edge count compared with the count seen before the system call
//!   (`poll_desc`, "Why a count, not a READY flag").
//! - **TCP's short-read hint** (new; Go has no such thing): a read that came
//!   back short proves the receive queue empty, so the next read, which
//!   would return `EAGAIN`, is skipped until the next edge (`poll_desc`,
//!   "Short reads", with the exceptions: end of stream, errors, urgent
//!   data, shutdown). It removes the `EAGAIN` read of every request in the
//!   HTTP server; the echo peers read exactly 64 bytes, a full read, so
//!   echo keeps Go's two reads.
//! - The remaining gap to Go in echo is polling: 0.2-0.3 `epoll_wait` per
//!   round trip against Go's 0.05 (idle workers poll with time-out 0 while
//!   they spin, and the busy ones every 61 rounds). The poller's idle and
//!   sleeping side was being reworked at the same time (one epoll instance
//!   per worker), so it was left to that work.
//! - Each event still takes the half's wait-queue lock in `notify` even
//!   when no one waits (also for `EPOLLOUT` edges that no writer needs);
//!   skipping it needs a Dekker pair between the count and the queue's
//!   emptiness, which `WaitQueue` does not offer. Not tried: it costs
//!   atomics, not system calls.
//!
//! # Deadlock detection
//!
//! A goroutine parked on a socket waits for the outside world (a peer, the
//! kernel), not for another goroutine, so it is never reported as
//! deadlocked. The rule that makes this precise is the detector's rule 6
//! (`runtime/diag/deadlock.rs`): the fallback thread `baton-netpoll` is
//! started with the process's first socket and lives for the process, and
//! it is a thread outside the runtime, so from the first socket on the
//! thread count never matches and the detector stays off — also while a
//! worker sleeps in `epoll_wait` (it is "asleep" for rule 2, but readiness
//! may still wake it). A program that never creates a socket keeps full
//! detection.

pub(crate) mod common;
pub(crate) mod io;
pub(crate) mod poll_desc;
pub(crate) mod poller;
mod slot;
mod tcp;
mod udp;
mod unix;

pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixIncoming, UnixListener, UnixStream};
