//! The poll descriptor: one registered socket's readiness, closing and
//! deadline state (Go's `pollDesc` in `runtime/netpoll.go`).
//!
//! A [`PollDesc`] has two [`Half`]s, one per direction (read, write). Each
//! half is a small state machine over one atomic word plus the
//! [`WaitQueue`] its blocked callers park in. The word holds:
//!
//! - `CLOSED` (bit 0): the socket is being closed ([`PollDesc::close`]);
//!   every wait and every later operation fails (Go's `closing`);
//! - `ENDED` (bit 1, sticky): the socket reported its end, an error or
//!   urgent data, or was shut down here ("Short reads" below);
//! - the **edge count** (the other bits, counted in steps of [`EDGE`]): how
//!   many edge-triggered readiness notifications arrived
//!   ([`Half::notify`]), wrapping. Go keeps a `pdReady` flag instead; see
//!   "Why a count, not a READY flag" below;
//! - the queue's non-emptiness is the "waiter parked" state (Go's `G`
//!   pointer in `rg`/`wg`; more than one waiter is allowed, since
//!   `Read for &TcpStream` lets two goroutines read one socket);
//! - `deadline`: a separate atomic (nanoseconds since a process-wide base,
//!   `0` = none).
//!
//! An operation reads the word in [`Half::check`] *before* its system call
//! and keeps the count it saw ([`Edges`]); after `EAGAIN` it parks in
//! [`Half::wait`] only while the count is still that one.
//!
//! # State table (one half, as one caller sees it)
//!
//! `seen` is the count the caller read in `check`, before its system call.
//!
//! | count | CLOSED | queue | meaning | next transitions |
//! |---|---|---|---|---|
//! | = seen | 0 | empty | idle: no edge since the caller's system call | edge: count+1; the caller, after `EAGAIN`, parks (queue non-empty) |
//! | ≠ seen | 0 | empty | an edge arrived since the caller's system call | the caller does not park: it retries its system call (with the new count) |
//! | = seen | 0 | waiting | callers parked until the next edge | edge: count+1 and every waiter woken to retry; deadline change: every waiter woken to re-check; time-out: that waiter leaves |
//! | ≠ seen | 0 | waiting | transient: an edge landed, its notifier is about to wake the queue | the notifier takes the queue lock and wakes all |
//! | any | 1 | any | closing: waiters are woken (or never park) and fail; the count no longer matters | none: CLOSED is reset only when the descriptor is reused for a new socket |
//!
//! # Invariants
//!
//! 1. **No lost wake-up.** A waiter parks only if, under the queue lock,
//!    it finds CLOSED clear, the count equal to the one it read before its
//!    system call, and the deadline unchanged since it last read it
//!    (`validate` in [`Half::wait`]). Every notifier (an edge, a close, a
//!    deadline change) first changes the word or the deadline, then takes
//!    the queue lock and wakes every waiter. Either the notifier's lock
//!    comes after the waiter's: the waiter is queued and is woken; or
//!    before it: the lock's release/acquire makes the change visible to
//!    the waiter's `validate`, which then does not park.
//! 2. **Readiness is a hint, never a promise.** A waiter that wakes (or
//!    sees a new count) only retries its system call; a spurious edge
//!    costs one extra `EAGAIN`, nothing else. This is what makes the
//!    poller's use of recycled descriptors safe (`poller`): an event for a
//!    socket that was closed and whose descriptor was reused lands as a
//!    spurious edge on the new socket.
//! 3. **Edge-triggered is enough.** A caller waits only after its system
//!    call returned `EAGAIN`, i.e. after it saw the kernel's buffer empty
//!    (or full, for writes); any change after that raises a new edge,
//!    whose increment comes after the `EAGAIN`, hence after the caller's
//!    read of the count in `check` (program order: the read, then the
//!    system call). That read cannot have seen the increment, so the
//!    caller either finds the count changed or is queued when the notifier
//!    wakes the queue (invariant 1).
//!
//! # Why a count, not a READY flag
//!
//! This module first kept Go's `pdReady` as a READY bit, set by an edge and
//! cleared only by a waiter that found it in `validate`. A caller woken by
//! an edge retried its read without clearing the bit, so the edge that
//! woke it stayed "pending": in a request/response loop the next read
//! returned `EAGAIN`, the caller found the stale READY, consumed it,
//! retried, got `EAGAIN` again and only then parked — three `recvfrom`
//! calls per message instead of two (measured: 3.0 per round trip on each
//! side of the lab's `echo`, `perf stat -e syscalls:sys_enter_recvfrom`;
//! 2.0 after). Go avoids it because the woken goroutine swaps `pdReady`
//! out in `netpollblock`; clearing the bit on wake-up here would be wrong
//! with two readers on one socket (the second, whose `EAGAIN` preceded the
//! edge, would find the bit cleared by the first and park while the first
//! may have left data unread). The count answers the exact question each
//! caller has — "did an edge arrive since *my* system call?" — costs no
//! extra atomic operation (`check` already loads the word for CLOSED), and
//! never needs clearing. It wraps after 2^63 edges (2^31 on 32-bit
//! targets); a caller would have to miss exactly that many between its
//! `check` and its `validate` to park wrongly.
//!
//! # Short reads (TCP): skipping a read that would return `EAGAIN`
//!
//! A request/response server reads a request into a buffer larger than
//! the request, answers it, and reads again: that read almost always
//! returns `EAGAIN` (the client is waiting for the answer), one wasted
//! system call per request. TCP's `recvmsg` returns fewer bytes than asked
//! only when its receive queue ran empty — or at the end of the stream, an
//! error, or the urgent-data mark. So a short read that began at word
//! `seen` (no ENDED) proves the queue was empty at its end; any data that
//! arrives later raises an edge, whose increment comes after that read's
//! `check` (invariant 3's argument). A later read whose `check` returns
//! the same word therefore skips its system call and waits as if it had
//! returned `EAGAIN` ([`Half::known_empty`]): the wait ends at once if an
//! edge came since, and invariant 1 applies unchanged. The three
//! exceptions all come with an event the poller sees (`EPOLLRDHUP`,
//! `EPOLLHUP`/`EPOLLERR`, and `EPOLLPRI`, which is registered for this),
//! and a local `shutdown` wakes the socket itself: each sets ENDED
//! ([`Half::ended`]) *before* its edge's increment, so a `check` that
//! sees the count of that edge sees ENDED too, and from then on no read is
//! skipped on that socket. An end whose event comes after the short
//! read's `check` changes the count, so nothing is skipped either (until
//! that event arrives, a skipped read waits for it, and then retries).
//! Where the recorded word is stale or another reader's, nothing breaks:
//! equal words mean no edge since *some* short read that began at that
//! word, which is all the argument uses. Unix streams never skip (their
//! reads also stop short at ancillary-data boundaries, with no event). The
//! argument assumes plain TCP: an upper-layer protocol set on the
//! descriptor by hand (kernel TLS) or an `SO_RCVLOWAT` above 1 is outside
//! it (with the latter, a skipped read waits for the low-water mark, as an
//! `EAGAIN` read does). Go does not do this (it always reads first); it
//! saves one `recvfrom` per request in the `http` experiment's server.
//!
//! # Orderings
//!
//! Every read and write of the word and of the deadline that matters for
//! invariant 1 happens either under the queue's spin lock (`validate`) or
//! before the notifier takes that lock: the lock's Acquire/Release orders
//! them. The edge's increment is also `Release`, and the count is read with
//! `Acquire` in `check` and `validate`: either may observe an increment
//! whose notifier has not taken the lock yet (so the lock orders nothing
//! between them), and the pairing makes whatever happened before the edge
//! visible to the caller that sees it. For a real socket the kernel's own
//! locking already orders the data with the retried system call, so this
//! costs nothing (x86-64: plain loads, and the `fetch_add` is a locked
//! instruction anyway) and keeps the argument local. CLOSED and the
//! deadline need no such pairing in `validate` (they carry no data: a
//! waiter that sees them does not park, and one that does not is woken).
//! ENDED is set (`fetch_or`) before the same event's increment, on the same
//! word, so modification order alone makes a `check` that reads the
//! increment see it. [`Half::drained`] is `Relaxed`: its value (a whole
//! word) is the whole message, and a stale value only loses a skip or
//! compares against an older word, which by the argument above is sound
//! (a skipped read still parks through the locked `validate`).
//! The lock-free reads in [`Half::check`] (CLOSED and the deadline before
//! each system call) are `Acquire`, paired with the `Release` of
//! [`PollDesc::close`] and [`Half::set_deadline`], so a caller that
//! observes the close also observes what the closer did before it; they
//! are only a fast check, and the locked re-check decides whether to park.
//!
//! # Under loom
//!
//! This file is compiled and model-checked under loom (`loom_tests`):
//! edges racing with a parking waiter, close racing with a waiter, a
//! deadline moved while a waiter is parked. Loom has no clock, so the
//! models use no deadline that is not already past. The fake socket's
//! buffer is a loom `Mutex<bool>`, as the kernel's is behind the socket
//! lock (an `AtomicBool` swapped by the reader and stored by the "kernel"
//! made loom report an RMW that did not read the latest store, in a
//! two-thread model with nothing else in it, so it is not used).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::park::wait_queue::{Until, WaitQueue, Waited};
use crate::shim::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

/// The socket is closing: every wait and operation fails.
const CLOSED: usize = 1;
/// The socket reported its end, an error or urgent data, or was shut down
/// here (sticky until the descriptor is reused): a read may now stop short
/// with more to read, so a short read no longer proves the kernel's buffer
/// empty ("Short reads" in the module docs).
const ENDED: usize = 2;
/// One edge in the word's count (the bits above [`CLOSED`] and [`ENDED`];
/// adding it never touches them, and the count wraps).
const EDGE: usize = 4;

/// The edge count a caller saw in [`Half::check`], before its system call:
/// [`Half::wait`] parks only while no edge arrived since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) struct Edges(usize);

/// Which half of a descriptor an operation uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    /// Reading, receiving, accepting.
    Read,
    /// Writing, sending, connecting.
    Write,
}

/// Why an operation cannot go on: what [`Half::check`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(crate) enum Blocked {
    /// The half's deadline has passed.
    TimedOut,
    /// The descriptor is closing.
    Closed,
}

/// One socket's poll state: a read half and a write half.
#[derive(Debug)]
pub(crate) struct PollDesc {
    read: Half,
    write: Half,
    /// The epoll instance the socket is registered in (its descriptor; -1
    /// before the first registration): see "Where a socket is registered"
    /// in `poller.rs`. Not part of the state machine: written by the
    /// poller under its move lock, read without it as a hint (`Relaxed`:
    /// a stale value costs a move or a hand-over, never a wake-up).
    home: AtomicI32,
}

impl PollDesc {
    /// A descriptor in the idle state, no deadlines.
    pub(crate) fn new() -> Self {
        Self {
            read: Half::new(),
            write: Half::new(),
            home: AtomicI32::new(-1),
        }
    }

    /// The half for `dir`.
    #[inline]
    pub(crate) fn half(&self, dir: Dir) -> &Half {
        match dir {
            Dir::Read => &self.read,
            Dir::Write => &self.write,
        }
    }

    /// Back to the idle state with no deadlines, for a new socket. Only
    /// while no caller can reach the descriptor (it was just taken off the
    /// free list, before its registration with the poller): a stale edge
    /// counted concurrently by the poller is harmless (invariant 2).
    pub(crate) fn reset(&self) {
        for h in [&self.read, &self.write] {
            h.state.store(0, Ordering::Relaxed);
            h.deadline.store(NO_DEADLINE, Ordering::Relaxed);
            h.drained.store(NOT_DRAINED, Ordering::Relaxed);
        }
    }

    /// Marks both halves closing and wakes every waiter (they fail). Both
    /// bits are set before either half is woken, so a caller woken by the
    /// close finds the other half closed too.
    pub(crate) fn close(&self) {
        for h in [&self.read, &self.write] {
            // Release: pairs with `check`'s Acquire.
            h.state.fetch_or(CLOSED, Ordering::Release);
        }
        self.read.wake_all();
        self.write.wake_all();
    }

    /// Whether [`close`](Self::close) ran.
    pub(crate) fn is_closed(&self) -> bool {
        self.read.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// The epoll instance the socket is registered in (see the field).
    #[inline]
    pub(crate) fn home(&self) -> i32 {
        self.home.load(Ordering::Relaxed)
    }

    /// Records the epoll instance the socket is now registered in (the
    /// poller, under its move lock).
    pub(crate) fn set_home(&self, epfd: i32) {
        self.home.store(epfd, Ordering::Relaxed);
    }
}

/// The deadline encoding for "none".
const NO_DEADLINE: u64 = 0;

/// The process-wide origin deadlines are counted from.
fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// `Some(deadline)` as nanoseconds since [`base`] plus one (so that `0`
/// stays "none"); a deadline before the base is encoded as the base, which
/// has passed.
fn encode(deadline: Option<Instant>) -> u64 {
    match deadline {
        None => NO_DEADLINE,
        Some(d) => {
            let nanos = d.saturating_duration_since(base()).as_nanos();
            u64::try_from(nanos).unwrap_or(u64::MAX - 1) + 1
        }
    }
}

fn decode(raw: u64) -> Option<Instant> {
    (raw != NO_DEADLINE).then(|| base() + Duration::from_nanos(raw - 1))
}

/// One direction of a [`PollDesc`]. See the module docs for the states.
pub(crate) struct Half {
    /// CLOSED and the edge count (module docs): the count moved on by the
    /// poller ([`notify`](Self::notify)) and CLOSED set by closers, from any
    /// thread; both reset only by [`PollDesc::reset`].
    state: AtomicUsize,
    /// The deadline, encoded (see [`encode`]); written by `set_deadline`
    /// from any thread.
    deadline: AtomicU64,
    /// The callers parked until the next edge, close or deadline change.
    waiters: WaitQueue,
    /// `word | CLOSED` for the word a stream read's `check` returned when
    /// that read came back short (TCP: the kernel's buffer was empty at its
    /// end), [`NOT_DRAINED`] if none; written by readers, read by readers,
    /// any thread. Only a hint: see "Short reads" in the module docs.
    drained: AtomicUsize,
}

/// [`Half::drained`]'s "no short read noted" (a noted word has CLOSED set,
/// so it is never 0).
const NOT_DRAINED: usize = 0;

impl core::fmt::Debug for Half {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Half")
            .field("state", &self.state.load(Ordering::Relaxed))
            .field("deadline", &self.deadline.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Half {
    fn new() -> Self {
        Self {
            state: AtomicUsize::new(0),
            deadline: AtomicU64::new(NO_DEADLINE),
            waiters: WaitQueue::new(),
            drained: AtomicUsize::new(NOT_DRAINED),
        }
    }

    /// Before a system call: fails if the half is closing or its deadline
    /// passed (Go's `prepareRead`/`prepareWrite`: a passed deadline fails
    /// the call even if data is there). Returns the edge count to hand to
    /// [`wait`](Self::wait) if the system call returns `EAGAIN`.
    #[inline]
    pub(crate) fn check(&self) -> Result<Edges, Blocked> {
        // Acquire: pairs with `close`'s and `notify`'s Release (module docs).
        let s = self.state.load(Ordering::Acquire);
        if s & CLOSED != 0 {
            return Err(Blocked::Closed);
        }
        // Acquire: pairs with `set_deadline`'s Release.
        let raw = self.deadline.load(Ordering::Acquire);
        if raw != NO_DEADLINE && decode(raw).is_some_and(|d| Instant::now() >= d) {
            return Err(Blocked::TimedOut);
        }
        Ok(Edges(s))
    }

    /// After a system call returned `EAGAIN`: parks the caller until an
    /// edge after `seen` (the count [`check`](Self::check) returned before
    /// that system call; at once if one already came), a close, a deadline change, its deadline, or `abort`
    /// (checked after every wake-up; whoever makes it true must unpark the
    /// caller). Then the caller runs [`check`](Self::check) and retries its
    /// system call: this returns nothing, since every outcome is handled
    /// there (invariant 2: a wake-up is only a hint).
    pub(crate) fn wait(&self, seen: Edges, abort: Option<&dyn Fn() -> bool>) {
        let raw = self.deadline.load(Ordering::Acquire);
        let until = Until {
            deadline: decode(raw),
            abort,
        };
        // Every outcome (not queued, woken, timed out, aborted) sends the
        // caller back to `check` and its system call.
        let _: Waited = self.waiters.wait(
            (),
            until,
            |_q| {
                // Acquire: pairs with `notify`'s Release (module docs).
                // `seen` has CLOSED clear, so a close or an edge since the
                // caller's system call both show as a different word: do
                // not park, retry (or fail in `check`).
                if self.state.load(Ordering::Acquire) != seen.0 {
                    return false;
                }
                // A moved deadline: go round and read it again.
                self.deadline.load(Ordering::Relaxed) == raw
            },
            || {},
            |_q| {},
        );
    }

    /// An edge arrived (the poller): the count moves on, and every waiter
    /// is woken.
    pub(crate) fn notify(&self) {
        // Release: a caller that sees the new count without our lock sees
        // what the edge announces (module docs). Wrapping: `fetch_add` wraps.
        self.state.fetch_add(EDGE, Ordering::Release);
        self.wake_all();
    }

    /// Sets (or clears) the deadline and wakes every waiter to re-check
    /// it (Go: moving a deadline affects calls already blocked).
    pub(crate) fn set_deadline(&self, deadline: Option<Instant>) {
        // Release: pairs with `check`'s Acquire.
        self.deadline.store(encode(deadline), Ordering::Release);
        self.wake_all();
    }

    /// A stream read that began at `seen` (its [`check`](Self::check))
    /// returned fewer bytes than asked, and more than none: for TCP the
    /// kernel's buffer was empty at the read's end ("Short reads" in the
    /// module docs).
    #[inline]
    pub(crate) fn note_short_read(&self, seen: Edges) {
        if seen.0 & ENDED == 0 {
            // Relaxed: the value is the whole message (module docs).
            self.drained.store(seen.0 | CLOSED, Ordering::Relaxed);
        }
    }

    /// Whether a TCP read now would surely return `EAGAIN`: a short read
    /// began at this very word (`seen`, from [`check`](Self::check)), and
    /// no edge, end, error, urgent data or shutdown came since. The caller
    /// then waits as if its read had returned `EAGAIN`.
    #[inline]
    pub(crate) fn known_empty(&self, seen: Edges) -> bool {
        seen.0 & ENDED == 0 && self.drained.load(Ordering::Relaxed) == seen.0 | CLOSED
    }

    /// The socket reported its end, an error or urgent data, or was shut
    /// down here: short reads prove nothing from now on. Called before the
    /// [`notify`](Self::notify) of the same event, so a caller that sees
    /// that edge's count sees this bit too (one word: modification order).
    pub(crate) fn ended(&self) {
        self.state.fetch_or(ENDED, Ordering::Release);
    }

    /// The deadline now set.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        decode(self.deadline.load(Ordering::Acquire))
    }

    fn wake_all(&self) {
        let mut q = self.waiters.lock();
        if !q.is_empty() {
            q.wake_all(crate::park::wait_queue::Token::WAKE);
        }
        // The unparks run when `q` drops, after the lock is released.
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::{Arc, Mutex};
    use loom::thread;

    /// A fake socket: `data` is the kernel buffer, `pd` its descriptor. A
    /// reader runs the real loop: check, "system call", wait on EAGAIN.
    struct Sock {
        data: Mutex<bool>,
        pd: PollDesc,
    }

    impl Sock {
        /// The "system call": consume the data if there is any.
        fn take(&self) -> bool {
            core::mem::take(&mut *self.data.lock().unwrap())
        }

        /// The "kernel" queues data (`false` if the buffer is still full).
        fn put(&self) -> bool {
            let mut d = self.data.lock().unwrap();
            !core::mem::replace(&mut *d, true)
        }
    }

    fn sock() -> Arc<Sock> {
        Arc::new(Sock {
            data: Mutex::new(false),
            pd: PollDesc::new(),
        })
    }

    /// The reader's loop, as `io.rs` runs it.
    fn read(s: &Sock) -> Result<(), Blocked> {
        let half = s.pd.half(Dir::Read);
        loop {
            let seen = half.check()?;
            if s.take() {
                return Ok(());
            }
            half.wait(seen, None);
        }
    }

    /// Data arriving (then its edge) while the reader goes from EAGAIN to
    /// parking: the reader always gets it (no lost wake-up).
    #[test]
    fn loom_poll_desc_edge_races_parking_reader() {
        loom::model(|| {
            let s = sock();
            let s2 = s.clone();
            let poller = thread::spawn(move || {
                assert!(s2.put());
                s2.pd.half(Dir::Read).notify();
            });
            assert_eq!(read(&s), Ok(()));
            poller.join().unwrap();
        });
    }

    /// The poller's side of the two-edge models: puts two data, each
    /// followed by its edge (the "kernel" queues one datum at a time).
    fn feed_two(s: Arc<Sock>) -> thread::JoinHandle<()> {
        thread::spawn(move || {
            for _ in 0..2 {
                while !s.put() {
                    thread::yield_now();
                }
                s.pd.half(Dir::Read).notify();
            }
        })
    }

    /// One reader, two data with their edges (a request/response loop):
    /// the first edge may be seen before, during or after the first read,
    /// and must neither be lost nor end the second read's wait early for
    /// good (the reader gets both data, never hangs).
    #[test]
    fn loom_poll_desc_one_reader_two_rounds() {
        loom::model(|| {
            let s = sock();
            let poller = feed_two(s.clone());
            assert_eq!(read(&s), Ok(()));
            assert_eq!(read(&s), Ok(()));
            poller.join().unwrap();
            assert!(!s.take(), "a datum was left unread");
        });
    }

    /// The reader's loop with TCP's short-read hint, as `io.rs`'s
    /// `read_tcp` runs it: every successful "read" here drains the fake
    /// buffer (one datum), so it counts as short.
    fn read_hinted(s: &Sock) -> Result<(), Blocked> {
        let half = s.pd.half(Dir::Read);
        loop {
            let seen = half.check()?;
            if !half.known_empty(seen) && s.take() {
                half.note_short_read(seen);
                return Ok(());
            }
            half.wait(seen, None);
        }
    }

    /// The short-read hint in a request/response loop: the second read is
    /// skipped whenever the hint says so, and still gets the second datum
    /// whenever its edge lands (never a lost wake-up).
    #[test]
    fn loom_poll_desc_short_read_hint_two_rounds() {
        loom::model(|| {
            let s = sock();
            let poller = feed_two(s.clone());
            assert_eq!(read_hinted(&s), Ok(()));
            assert_eq!(read_hinted(&s), Ok(()));
            poller.join().unwrap();
            assert!(!s.take(), "a datum was left unread");
        });
    }

    /// Two edges and two readers on one half (`Read for &TcpStream`): both
    /// get their data.
    #[test]
    fn loom_poll_desc_two_readers_two_edges() {
        loom::model(|| {
            let s = sock();
            let got = Arc::new(AtomicUsize::new(0));
            let (s2, got2) = (s.clone(), got.clone());
            let other = thread::spawn(move || {
                read(&s2).unwrap();
                got2.fetch_add(1, Ordering::Relaxed);
            });
            let poller = feed_two(s.clone());
            read(&s).unwrap();
            other.join().unwrap();
            poller.join().unwrap();
            assert_eq!(got.load(Ordering::Relaxed), 1);
            assert!(!s.take(), "a datum was left unread");
        });
    }

    /// A close racing with a parking reader: the reader fails with
    /// `Closed`, never hangs.
    #[test]
    fn loom_poll_desc_close_wakes_reader() {
        loom::model(|| {
            let s = sock();
            let s2 = s.clone();
            let closer = thread::spawn(move || s2.pd.close());
            assert_eq!(read(&s), Err(Blocked::Closed));
            closer.join().unwrap();
            assert!(s.pd.is_closed());
        });
    }

    /// A deadline moved (to the past) while the reader is parked with
    /// none: the reader wakes, re-checks, and times out.
    #[test]
    fn loom_poll_desc_deadline_moved_wakes_reader() {
        loom::model(|| {
            let s = sock();
            let s2 = s.clone();
            let setter = thread::spawn(move || {
                let past = Instant::now().checked_sub(Duration::from_secs(1));
                s2.pd.half(Dir::Read).set_deadline(past.or(Some(base())));
            });
            assert_eq!(read(&s), Err(Blocked::TimedOut));
            setter.join().unwrap();
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn deadline_encoding_round_trips() {
        assert_eq!(decode(encode(None)), None);
        let d = Instant::now() + Duration::from_secs(5);
        let back = decode(encode(Some(d))).unwrap();
        assert!(back <= d && d - back < Duration::from_micros(1));
        // Before the base: encoded as passed.
        let h = Half::new();
        h.set_deadline(base().checked_sub(Duration::from_secs(1)));
        assert_eq!(h.check(), Err(Blocked::TimedOut));
        h.set_deadline(None);
        assert!(h.check().is_ok());
    }

    #[test]
    fn an_edge_after_check_ends_the_wait_and_a_closed_half_never_parks() {
        let h = Half::new();
        let seen = h.check().unwrap();
        h.notify();
        // An edge since `check`: wait returns at once (no parking: this
        // would hang otherwise, nothing else wakes it).
        h.wait(seen, None);
        assert_ne!(h.check().unwrap(), seen);
        // Closed: wait returns at once, check fails, on both halves.
        let pd = PollDesc::new();
        let seen = pd.half(Dir::Read).check().unwrap();
        pd.close();
        pd.half(Dir::Read).wait(seen, None);
        assert_eq!(pd.half(Dir::Read).check(), Err(Blocked::Closed));
        assert_eq!(pd.half(Dir::Write).check(), Err(Blocked::Closed));
    }

    #[test]
    fn a_short_read_is_a_hint_until_the_next_edge_or_end() {
        let h = Half::new();
        let seen = h.check().unwrap();
        assert!(!h.known_empty(seen), "no short read noted yet");
        h.note_short_read(seen);
        assert!(h.known_empty(h.check().unwrap()));
        // An edge since: the read must be tried.
        h.notify();
        let now = h.check().unwrap();
        assert!(!h.known_empty(now));
        h.note_short_read(now);
        assert!(h.known_empty(h.check().unwrap()));
        // The end of the stream (or an error, urgent data, a shutdown):
        // never again, even with a short read noted at the new word.
        h.ended();
        let ended = h.check().unwrap();
        assert!(!h.known_empty(ended));
        h.note_short_read(ended);
        assert!(!h.known_empty(h.check().unwrap()));
        // A recycled descriptor starts with no hint.
        let pd = PollDesc::new();
        let r = pd.half(Dir::Read);
        r.note_short_read(r.check().unwrap());
        pd.reset();
        assert!(!r.known_empty(r.check().unwrap()));
    }

    /// The stale-edge bug: an edge that arrived *before* the caller's
    /// `check` (say, the one that woke its previous read, or data that a
    /// read took without waiting) must not end a later wait, or every
    /// request/response round trip pays an extra `EAGAIN` read. With the
    /// old READY flag the wait below returned at once (the flag was still
    /// set), and `check` then found the deadline not yet passed.
    #[test]
    fn an_edge_before_check_does_not_end_the_wait() {
        let h = Half::new();
        h.notify();
        h.notify();
        // Generous: only the outcome is asserted, never the time taken.
        h.set_deadline(Some(Instant::now() + Duration::from_millis(50)));
        let seen = h.check().unwrap();
        // Parks until the deadline (no edge since `check`).
        h.wait(seen, None);
        assert_eq!(h.check(), Err(Blocked::TimedOut));
    }
}
