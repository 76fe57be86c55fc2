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
//! One epoll instance per runtime worker, plus one shared instance watched
//! by a fallback thread (`baton-netpoll`), all **edge-triggered**; the
//! details and the no-lost-wake-up argument are in `poller.rs`. Each
//! socket is switched to non-blocking mode and registered for both
//! directions when it is created; its `PollDesc` (Go's `pollDesc`) holds
//! per direction an edge count and a CLOSED bit, the deadline and a wait
//! queue of parked callers — the state table, the no-lost-wake-up
//! argument and the loom models are in `poll_desc.rs`. An operation
//! (`io.rs`, written once for every socket type) checks CLOSED and the
//! deadline (reading the edge count), tries the system call, and on
//! `EAGAIN` parks through the park seam (`crate::park`) with the deadline
//! as the park's deadline, unless an edge came since its check. Whoever
//! reads the readiness event counts the edge and unparks the waiters,
//! which the scheduler routes to each goroutine's own worker (its
//! `runnext` when the reader is that worker, else its inbox), or to a
//! parked thread's futex:
//!
//! - a socket is registered in the instance of the worker whose goroutine
//!   waits on it (created in a goroutine: that goroutine's worker; a
//!   goroutine about to park on a socket registered elsewhere moves it to
//!   its own worker's instance first), and in the shared instance while a
//!   plain thread waits on it. So the event lands where the waiter's home
//!   worker looks, and only there;
//! - while some goroutine waits on a socket, a worker that runs out of
//!   goroutines polls its instance without blocking before it looks
//!   further (and every 3 us while it spins before sleeping), and a
//!   busy worker polls it once 61 scheduling rounds have passed since its
//!   last poll (`runtime/sched/netpoll.rs`, "When a worker polls");
//! - every idle worker sleeps in `epoll_wait` on its own instance, with its
//!   next timer as the time-out, instead of on its futex; wake-ups meant
//!   for it (inbox pushes, spawns, shutdown) arrive through its instance's
//!   wake `eventfd` (`runtime/sched/idle.rs`, "Sleeping in epoll", and its
//!   loom model `loom_idle_epoll_wakeup`). A socket event for a goroutine
//!   whose worker sleeps wakes that worker directly: one wake-up, no
//!   hand-over, whatever the other workers do;
//! - the fallback thread blocks in `epoll_wait` on the shared instance for
//!   good (no time-out): it serves sockets used from plain threads (with
//!   or without a runtime) and the instances of workers that have exited
//!   (nested in the shared instance, so a thread still waiting on a
//!   socket a goroutine had moved there is served).
//!
//! Threads and goroutines share one code path: from a thread, a blocking
//! call parks the thread on the same poll descriptor, which is what gives
//! threads Go's deadlines and close-from-elsewhere too (std's blocking
//! sockets have neither).
//!
//! Poll descriptors are never freed, only recycled (Go's `pollCache`), so
//! an event racing with a socket's close never touches freed memory;
//! worker instances likewise are retired and reused, never closed.
//!
//! # Alternatives rejected
//!
//! - **One shared instance, one thread at a time in `epoll_wait`** (the
//!   *slot*; this module's previous design, and Go's: at most one M blocks
//!   in `netpoll`): the other idle workers slept on their futex, so an
//!   event for one of their goroutines went to the slot holder, which
//!   handed it over through the inbox and a futex wake (two wake-ups); and
//!   while the holder was busy, such an event waited for the fallback
//!   thread's 10 ms poll (Go's goroutines can run on any P, so Go has
//!   neither problem; ours cannot move). Handing the slot over, or waking a
//!   futex sleeper to take it when the holder goes busy, costs a wake-up
//!   per hand-over and makes the slot bounce between workers.
//! - **Every idle worker in `epoll_wait` on the shared instance** (several
//!   waiters, or `EPOLLEXCLUSIVE`): the kernel wakes *some* waiter, not the
//!   goroutine's home worker, so the hand-over stays; and one `eventfd`
//!   cannot wake one chosen worker.
//! - **A socket registered in every instance a waiter came from** (no
//!   move): every event would wake every such worker.
//! - **A poller thread only** (this module's first design): every event
//!   cost two cross-thread wake-ups (the poller thread, then the sleeping
//!   worker), and a TCP ping-pong between goroutines lost to std's
//!   blocking sockets.
//! - **No fallback thread** (Go has none: its threads are all Ms): a
//!   socket read from a plain thread would depend on some runtime's worker
//!   going idle; and with no runtime at all, nothing would poll.
//! - **mio** instead of raw epoll through `libc`: mio's portable layer
//!   (`Poll`, `Registry`, `Token`, `Source` impls, its own socket types)
//!   adds a dependency and an indirection and removes no code: the epoll
//!   and `eventfd` calls and their flags are written once in `poller.rs`,
//!   `libc` is already a dependency (the futex), and baton is Linux-first.
//!   (mio's `Registry` also has no notion of moving a registration between
//!   instances.)
//! - **Level-triggered** epoll for sockets: an event per `epoll_wait` while
//!   the socket stays readable, so the poller would need `EPOLLONESHOT` and
//!   a re-arm (`epoll_ctl`) per wait; edge-triggered registers once (Go's
//!   choice) and moves rarely. (The wake `eventfd`s *are* level-triggered,
//!   so a wake-up stays pending until the owner drains it.)
//! - **Blocking std sockets on plain threads**: simpler for threads, but
//!   then deadlines (`SO_RCVTIMEO` is per call, not an instant, and cannot be
//!   moved under a blocked call) and `close` from another thread would
//!   behave differently on threads and goroutines.
//!
//! # What was measured (issue 13, shared 2-core machine, load 9-14)
//!
//! `net_pingpong` with 2 workers is bimodal, and the two modes are the
//! *placement* of its two goroutines, not the poller: both on one worker
//! (about the 1-worker rate, 50-190k round trips/s) or one per worker
//! (10-30k/s); the example prints which. Four rounds of interleaved runs
//! against the slot design (20,000 round trips per sample, samples sorted
//! by placement): one per worker, medians 16.4k/18k, 14.7k/16.1k (this
//! design / the slot design) and two rounds within 3 %; one worker, the
//! medians went both ways (0.5x, 0.8x, 0.8x, 1.15x): the load swamps any
//! difference. In the one-per-worker mode neither worker sleeps (`strace
//! -c`: no `eventfd` writes, about one `sched_yield` per hop): both
//! spin-poll between hops, so its cost is the cross-worker spin on a
//! loaded 2-core machine (the workers' spin policy), which neither the
//! slot's hand-over nor this design changes. What this design removes is
//! the hand-over and the 10 ms corner when a worker *does* sleep:
//! `tests/regress_netpoll_futex_sleeper.rs` sees every idle worker blocked
//! in `epoll_wait`, where one always sat in `futex` before.
//! `baton-lab run echo http --quick --no-go`, six interleaved runs each,
//! ranges of the same-run ratios: http pinned baton/hyper 0.56-1.48x (slot
//! design 0.59-1.26x), both cores 0.69-1.60x (0.54-1.46x); echo
//! baton/tokio 0.16-1.09x (0.13-0.84x): no difference the load lets us see
//! either way.
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
//! - **Polling** (changed): the gap to Go left in echo was 0.2-0.3
//!   `epoll_wait` per round trip against Go's 0.05 (counts taken before
//!   the per-worker instances, above). With the per-worker instances, 85 %
//!   of the echo server's polls found nothing: idle workers polled on
//!   every look of their spin (0.85 us apart), and busy ones on every
//!   61st round, even right after a poll. Now a worker polls only while
//!   some goroutine waits on a socket, every 3 us of its spin, and when
//!   busy only after 61 rounds without a poll (the rule, its safety, and
//!   how the gap was chosen: `runtime/sched/netpoll.rs`, "When a worker
//!   polls"). The `epoll_wait` counts move with the load (an idle spell's
//!   polls depend on how long the peer takes), unlike the `recvfrom` and
//!   `sendto` counts, so they are ranges, not figures: echo, 100
//!   connections, server / client, 5 interleaved runs at load 15-22:
//!   0.059-0.225 / 0.060-0.277 (medians 0.172 / 0.086) against
//!   0.105-0.996 / 0.156-1.049 (0.156 / 0.161) before; at load 6-8,
//!   polling every 4th look instead gave medians 0.090 / 0.085 against
//!   0.166 / 0.159. Not yet Go's 0.05 at every load, and the lab's
//!   throughput ratios did not move beyond their noise.
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
//! deadlocked: while it waits it is counted in its worker's `io_waiters`
//! (`net::io` wraps the park in `sched::netpoll::IoWait`), and the
//! detector's rule 7 (`runtime/diag/deadlock.rs`) sees no deadlock in a
//! runtime with such a goroutine. A worker asleep in `epoll_wait` counts
//! as asleep (rule 2): a socket event can only wake a socket waiter. The
//! fallback thread `baton-netpoll` (started with the first socket, alive
//! for the process) is a known thread in rule 6 for the same reason: it
//! only dispatches readiness. So detection is precise: on while no
//! goroutine of the runtime waits on a socket (also after every socket is
//! closed), off while one does. A plain thread parked on a socket is an
//! outside thread (rule 6), as any thread is.

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
