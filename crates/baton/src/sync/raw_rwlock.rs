//! [`RawRwLock`]: the reader-writer lock state machine behind
//! [`RwLock`](super::RwLock) and each slot of
//! [`ShardedRwLock`](super::ShardedRwLock), without the data.
//!
//! # Policy: writer-preferring, and no one starves
//!
//! - **A writer that has claimed the lock blocks new readers.** A writer
//!   first *claims* the lock (sets `WRITER`), which stops every reader that
//!   arrives afterwards, and then waits for the readers already inside to
//!   leave. So a steady stream of readers cannot starve a writer: it waits
//!   at most for the readers that were inside when it claimed.
//! - **Readers that were waiting for a writer go next, as one batch.** When
//!   a writer unlocks, *every* reader queued behind it is admitted at once
//!   (they are counted in before anyone is woken), and only then is the
//!   claim handed to the next queued writer, which waits for that batch to
//!   leave. So writers cannot starve readers either: a reader waits for at
//!   most one writer. This is Go's `RWMutex` policy (there the readers that
//!   arrived during a writer's hold are released by its `Unlock` before the
//!   next writer takes `w`).
//! - **Writers are served in FIFO order**, each handed the claim directly
//!   by the writer before it (no barging while writers are queued).
//! - Before parking, both sides spin briefly
//!   ([`SnoozeSpin`], off under loom):
//!   critical sections are usually shorter than a park/unpark round trip
//!   (about 16 us between cores on the project's machines). Spin audit
//!   (issue 10): every spin here is bounded (127 pauses, then 4 yields
//!   from a thread; a goroutine never yields its worker's thread) and
//!   ends in a park in a wait queue, so a holder that is a goroutine parked
//!   on the waiter's own worker gets the worker back. (Spinning is useless
//!   for exactly that waiter, but short; the writer's `retry` after a lost
//!   claim CAS is a retry, not a wait.)
//!
//! # The state word
//!
//! | bits | name | meaning |
//! |---|---|---|
//! | 0 | `WRITER` | a writer holds the lock, or has claimed it and waits for the readers inside to leave |
//! | 1 | `READERS_PARKED` | the `readers` queue is non-empty |
//! | 2 | `WRITERS_PARKED` | the `writers` queue is non-empty |
//! | 3 | `DRAIN_PARKED` | the claiming writer is parked in `drain` until the readers leave |
//! | 4.. | readers | readers inside, plus readers that are just backing out (see below) |
//!
//! | state | meaning |
//! |---|---|
//! | `0` | free |
//! | `n` readers, no `WRITER` | read-locked by `n` readers; new readers enter |
//! | `WRITER`, 0 readers | write-locked |
//! | `WRITER`, `n > 0` readers | a writer has claimed it and waits for `n` readers to leave (parked if `DRAIN_PARKED`); new readers wait |
//! | any `*_PARKED` bit | someone waits in that queue; unlocking takes the slow path |
//!
//! # Invariants
//!
//! 1. `READERS_PARKED` is set iff `readers` is non-empty, `WRITERS_PARKED`
//!    iff `writers` is non-empty, `DRAIN_PARKED` iff `drain` is non-empty;
//!    each bit is only changed while holding its queue's lock.
//! 2. Every `*_PARKED` bit implies `WRITER`: readers and writers only queue
//!    while a writer holds the claim, and the writer that gives it up
//!    (`unlock_exclusive_slow`, under the `writers` and `readers` locks)
//!    either hands it to the next queued writer or empties the `readers`
//!    queue in the same compare-and-swap that clears `WRITER`.
//! 3. Only the claiming writer waits in `drain` (at most one waiter).
//! 4. Every change to the word is a read-modify-write (never a plain store),
//!    so a load that acquires sees, through the release sequence, every
//!    earlier release on the word.
//!
//! Lock order, when two are held: `writers`, then `readers`. `drain` is
//! never held together with another.
//!
//! # The read fast path, and readers that back out
//!
//! `lock_shared` is one `fetch_add` of a reader, inline (Go's `RLock`). It
//! cannot fail, which scales better than a compare-and-swap loop when many
//! cores read at once; if the old value shows `WRITER`, the reader was not
//! allowed in and immediately takes its count back (exactly as an
//! `unlock_shared`, which wakes a draining writer if that made the count
//! zero) before waiting. So while a writer holds or claims the lock, the
//! reader count may be briefly non-zero with no reader inside: a claiming
//! writer just waits for those too, and a write unlock keeps them in the
//! word (they take themselves out).
//!
//! # Orderings
//!
//! - Entering (`fetch_add`, the claim and try compare-and-swaps, the drain
//!   check) is `Acquire`; leaving (`unlock_shared`'s `fetch_sub`, the write
//!   unlock compare-and-swap) is `Release`: each holder sees the writes of
//!   the holders before it. With invariant 4 a writer's `Acquire` load that
//!   reads a zero count synchronises with every reader's `Release` exit.
//! - Waiters woken with a grant (readers: `GRANTED`, writers: `CLAIM`)
//!   learn it from the wait queue's token (`Release` store, `Acquire` load),
//!   stored only after the unlocking compare-and-swap, so they see what the
//!   unlocker saw and wrote.
//! - The `*_PARKED` bits carry no data: clearing them is `Relaxed`, and
//!   setting them needs no ordering of its own (it shares one
//!   compare-and-swap with entering, in `enter_or_mark`, which is `Acquire`
//!   for the entering case). They are only read to decide whether to take a
//!   queue lock, and every decision based on them is re-checked under it.
//! - The queues' spin locks order everything done under them; no fence is
//!   needed beside them because every decision made under a lock is one
//!   compare-and-swap on the word, which fails if the word moved.
//!
//! # Alternatives rejected
//!
//! - Go's algorithm as is (a reader count that goes negative, a separate
//!   departing-readers count, semaphores): its semaphores count wakes, which
//!   a wait queue of parked threads does not, and its counts cannot be
//!   unwound when a waiter times out (a timed-out writer would leave the
//!   departing count wrong for the next one). The state word here keeps
//!   every wait cancellable.
//! - One queue for readers and writers: admitting every queued reader after
//!   a write needs waking readers from the middle of the queue; two queues
//!   make "the readers" and "the next writer" each O(1) to find.
//! - A compare-and-swap read fast path (parking_lot, std): it retries under
//!   contention, where `fetch_add` never does.

use core::fmt;
use std::time::Instant;

use crate::park::held::{self, Kind};
use crate::park::spin::SnoozeSpin;
use crate::park::wait_queue::{Locked, Token, WaitQueue, Waited};
use crate::shim::atomic::{AtomicUsize, Ordering};

const WRITER: usize = 1;
const READERS_PARKED: usize = 1 << 1;
const WRITERS_PARKED: usize = 1 << 2;
const DRAIN_PARKED: usize = 1 << 3;
const ONE_READER: usize = 1 << 4;
/// The top bit: set once the reader count reaches 2^(BITS-5) (2^59 on
/// 64-bit targets), which only leaked guards can do. The fast path refuses
/// then, and the slow path panics before the count can wrap.
const READER_OVERFLOW: usize = 1 << (usize::BITS - 1);

/// Token for a queued reader: you are counted in, you hold the lock.
const GRANTED: Token = Token::new(1);
/// Token for a queued writer: you hold the claim; wait for the readers.
const CLAIM: Token = Token::new(2);
/// Token for the draining writer: the count reached zero once; re-check.
const RETRY: Token = Token::new(3);

const TOO_MANY_READERS: &str =
    "RwLock: too many readers at once (2^59 on 64-bit targets; were read guards leaked with mem::forget?)";

#[inline]
fn readers(s: usize) -> usize {
    s >> ONE_READER.trailing_zeros()
}

/// A reader-writer lock with no data: see the module docs. Callers pair
/// every successful `lock_*`/`try_lock_*` with one `unlock_*` of the same
/// kind (the guards of `RwLock` and `ShardedRwLock` do).
pub(crate) struct RawRwLock {
    /// See the state table.
    state: AtomicUsize,
    /// Readers waiting for a writer to unlock.
    readers: WaitQueue,
    /// Writers waiting for another writer's claim.
    writers: WaitQueue,
    /// The claiming writer, waiting for the readers inside to leave.
    drain: WaitQueue,
}

impl RawRwLock {
    /// An unlocked lock.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self {
            state: AtomicUsize::new(0),
            readers: WaitQueue::new(),
            writers: WaitQueue::new(),
            drain: WaitQueue::new(),
        }
    }

    /// An unlocked lock.
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicUsize::new(0),
            readers: WaitQueue::new(),
            writers: WaitQueue::new(),
            drain: WaitQueue::new(),
        }
    }

    /// This lock's identity for the held marker (`park::held`); the
    /// `RwLock` guards mark it.
    pub(crate) fn id(&self) -> *const () {
        (self as *const Self).cast()
    }

    /// How the caller holds this lock, as far as the debug marker knows
    /// (always `None` in release builds).
    pub(crate) fn held(&self) -> Option<Kind> {
        held::held(self.id())
    }

    /// Panics for a lock the caller can never get because it holds `what`.
    #[cold]
    #[inline(never)]
    pub(crate) fn self_deadlock(&self, op: &str, what: &str) -> ! {
        self_deadlock("RwLock", op, what)
    }

    // ----- readers -----

    /// Takes a read lock, waiting while a writer holds or claims it.
    #[inline]
    pub(crate) fn lock_shared(&self) {
        // Acquire: see the previous writer's writes (its Release unlock).
        let s = self.state.fetch_add(ONE_READER, Ordering::Acquire);
        if s & (WRITER | READER_OVERFLOW) != 0 {
            self.lock_shared_slow(s, None);
        }
    }

    /// As [`lock_shared`](Self::lock_shared), giving up at `deadline`;
    /// `true` if it took the lock.
    #[inline]
    pub(crate) fn lock_shared_until(&self, deadline: Option<Instant>) -> bool {
        // Acquire: as in `lock_shared`.
        let s = self.state.fetch_add(ONE_READER, Ordering::Acquire);
        if s & (WRITER | READER_OVERFLOW) != 0 {
            return self.lock_shared_slow(s, deadline);
        }
        true
    }

    /// Takes a read lock if no writer holds or claims it.
    #[inline]
    pub(crate) fn try_lock_shared(&self) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WRITER != 0 {
                return false;
            }
            assert!(s & READER_OVERFLOW == 0, "{TOO_MANY_READERS}");
            // Acquire: as in `lock_shared`. Relaxed on failure: we retry.
            match self.state.compare_exchange_weak(
                s,
                s + ONE_READER,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => s = seen,
            }
        }
    }

    /// Releases a read lock.
    #[inline]
    pub(crate) fn unlock_shared(&self) {
        // Release: our reads happen-before the next writer's writes.
        let s = self.state.fetch_sub(ONE_READER, Ordering::Release);
        debug_assert!(
            readers(s) != 0,
            "RwLock corrupted: read unlock with no reader"
        );
        if s & DRAIN_PARKED != 0 && readers(s) == 1 {
            self.wake_drain_waiter();
        }
    }

    /// The fast path's `fetch_add` (which returned `seen`) was refused: back
    /// out, spin, then queue until a writer's unlock counts us in.
    #[cold]
    fn lock_shared_slow(&self, seen: usize, deadline: Option<Instant>) -> bool {
        self.unlock_shared();
        assert!(seen & READER_OVERFLOW == 0, "{TOO_MANY_READERS}");
        // A writer holds or claims the lock. If the caller holds a read
        // lock, that writer waits for it, and this read would wait for the
        // writer: a certain deadlock (debug builds know it; a timed read
        // would only time out).
        if deadline.is_none() && self.held() == Some(Kind::Shared) {
            self.self_deadlock("read", "a read lock while a writer waits");
        }
        let spin = SnoozeSpin::new();
        loop {
            if self.try_lock_shared() {
                return true;
            }
            if spin.snooze() {
                continue;
            }
            let waited = self.readers.wait(
                (),
                deadline,
                |_| self.enter_or_mark(READERS_PARKED, |s| s & WRITER == 0, ONE_READER),
                || {},
                |q| {
                    if q.is_empty() {
                        self.state.fetch_and(!READERS_PARKED, Ordering::Relaxed);
                    }
                },
            );
            return match waited {
                // `enter_or_mark` counted us in.
                Waited::NotQueued => true,
                Waited::Woken(token) => {
                    debug_assert_eq!(token, GRANTED);
                    true
                }
                Waited::TimedOut => false,
            };
        }
    }

    /// Under a queue's lock: if `can_enter(state)`, adds `enter` to the word
    /// (`Acquire`) and returns `false` (do not queue); otherwise sets
    /// `parked_bit` and returns `true` (queue). One compare-and-swap decides,
    /// so no unlock can slip between the check and the bit.
    fn enter_or_mark(
        &self,
        parked_bit: usize,
        can_enter: impl Fn(usize) -> bool,
        enter: usize,
    ) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let (new, queue) = if can_enter(s) {
                assert!(
                    enter != ONE_READER || s & READER_OVERFLOW == 0,
                    "{TOO_MANY_READERS}"
                );
                (s + enter, false)
            } else {
                (s | parked_bit, true)
            };
            // Acquire: when entering, as in `lock_shared`/the claim. Relaxed
            // on failure: we retry.
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return queue,
                Err(seen) => s = seen,
            }
        }
    }

    /// The last reader left while the claiming writer was parked.
    #[cold]
    fn wake_drain_waiter(&self) {
        let mut q = self.drain.lock();
        if !q.is_empty() {
            // The count may already be non-zero again (a reader backing
            // out): the writer re-checks, and parks again if so.
            self.state.fetch_and(!DRAIN_PARKED, Ordering::Relaxed);
            q.wake_front(RETRY);
        }
    }

    // ----- writers -----

    /// Takes the write lock, waiting for other writers and for readers.
    #[inline]
    pub(crate) fn lock_exclusive(&self) {
        if !self.try_lock_exclusive() {
            self.lock_exclusive_slow(None);
        }
    }

    /// As [`lock_exclusive`](Self::lock_exclusive), giving up at `deadline`;
    /// `true` if it took the lock. A writer that gives up while waiting for
    /// readers to leave passes its claim on (to queued readers and the next
    /// writer), so giving up never stalls anyone.
    #[inline]
    pub(crate) fn lock_exclusive_until(&self, deadline: Option<Instant>) -> bool {
        self.try_lock_exclusive() || self.lock_exclusive_slow(deadline)
    }

    /// Takes the write lock if it is free.
    #[inline]
    pub(crate) fn try_lock_exclusive(&self) -> bool {
        // Every other bit implies a holder (invariant 2, and readers inside
        // or backing out), so "free" is exactly 0. Acquire: see the previous
        // holders' writes.
        self.state
            .compare_exchange(0, WRITER, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Releases the write lock.
    #[inline]
    pub(crate) fn unlock_exclusive(&self) {
        // Release: our writes happen-before the next holder's accesses.
        if self
            .state
            .compare_exchange(WRITER, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_exclusive_slow();
        }
    }

    #[cold]
    fn lock_exclusive_slow(&self, deadline: Option<Instant>) -> bool {
        self.claim_until(deadline) && self.wait_for_readers_until(deadline)
    }

    /// First half of a write lock: sets `WRITER` for us (spinning, then
    /// queueing behind other writers), which stops new readers; `false` if
    /// `deadline` passed first (nothing held then). Finish with
    /// [`wait_for_readers_until`](Self::wait_for_readers_until); or give the
    /// claim up with [`unlock_exclusive`](Self::unlock_exclusive), which
    /// works on a claim whose readers have not left yet.
    pub(crate) fn claim_until(&self, deadline: Option<Instant>) -> bool {
        let spin = SnoozeSpin::new();
        loop {
            let s = self.state.load(Ordering::Relaxed);
            if s & WRITER == 0 {
                // Acquire: see the previous writer's writes. Claiming while
                // readers are inside is the point: it stops new readers.
                if self
                    .state
                    .compare_exchange_weak(s, s | WRITER, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return true;
                }
                spin.retry();
                continue;
            }
            if spin.snooze() {
                continue;
            }
            let waited = self.writers.wait(
                (),
                deadline,
                |_| self.enter_or_mark(WRITERS_PARKED, |s| s & WRITER == 0, WRITER),
                || {},
                |q| {
                    if q.is_empty() {
                        self.state.fetch_and(!WRITERS_PARKED, Ordering::Relaxed);
                    }
                },
            );
            return match waited {
                Waited::NotQueued => true,
                Waited::Woken(token) => {
                    debug_assert_eq!(token, CLAIM);
                    true
                }
                // Queued writers do not block readers (only the claim
                // does), so leaving the queue needs to wake no one.
                Waited::TimedOut => false,
            };
        }
    }

    /// Second half of a write lock: we hold the claim; wait until no reader
    /// is inside. On time-out, gives the claim up as an unlock would
    /// (admitting the readers it held back) and returns `false`.
    pub(crate) fn wait_for_readers_until(&self, deadline: Option<Instant>) -> bool {
        let spin = SnoozeSpin::new();
        loop {
            // Acquire: synchronise with the leaving readers' Release.
            if readers(self.state.load(Ordering::Acquire)) == 0 {
                return true;
            }
            if spin.snooze() {
                continue;
            }
            let waited = self.drain.wait(
                (),
                deadline,
                |_| {
                    // Acquire on the load and on failure: a zero count read
                    // here ends the wait, as above.
                    let mut s = self.state.load(Ordering::Acquire);
                    loop {
                        if readers(s) == 0 {
                            return false;
                        }
                        match self.state.compare_exchange_weak(
                            s,
                            s | DRAIN_PARKED,
                            Ordering::Relaxed,
                            Ordering::Acquire,
                        ) {
                            Ok(_) => return true,
                            Err(seen) => s = seen,
                        }
                    }
                },
                || {},
                |_| {
                    self.state.fetch_and(!DRAIN_PARKED, Ordering::Relaxed);
                },
            );
            match waited {
                Waited::NotQueued => return true,
                Waited::Woken(_) => continue,
                Waited::TimedOut => {
                    // Acquire: as above.
                    if readers(self.state.load(Ordering::Acquire)) == 0 {
                        return true; // drained just in time: keep it
                    }
                    self.unlock_exclusive_slow();
                    return false;
                }
            }
        }
    }

    /// Gives up `WRITER` (held or claimed) with waiters around: admit every
    /// queued reader, then hand the claim to the next queued writer, in one
    /// compare-and-swap under both queue locks (invariant 2).
    #[cold]
    fn unlock_exclusive_slow(&self) {
        let mut writers = self.writers.lock();
        let mut readers: Option<Locked<'_>> = None;
        let mut s = self.state.load(Ordering::Relaxed);
        let (admitted, hand_claim) = loop {
            debug_assert!(
                s & WRITER != 0,
                "RwLock corrupted: write unlock with no writer"
            );
            if s & READERS_PARKED != 0 && readers.is_none() {
                // Lock order: `writers`, then `readers`.
                readers = Some(self.readers.lock());
                s = self.state.load(Ordering::Relaxed);
                continue;
            }
            // Under the `readers` lock (when held) the queue length matches
            // `READERS_PARKED` (invariant 1); without it, the bit was clear
            // and the compare-and-swap fails if a reader queues meanwhile.
            let admitted = readers.as_ref().map_or(0, |q| q.len());
            let hand_claim = !writers.is_empty();
            let mut new = (s & !(WRITER | READERS_PARKED)) + admitted * ONE_READER;
            if hand_claim {
                new |= WRITER;
                if writers.len() == 1 {
                    new &= !WRITERS_PARKED;
                }
            }
            // Release: our writes happen-before the next holders' accesses,
            // including the woken waiters' (see the module docs).
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => break (admitted, hand_claim),
                Err(seen) => s = seen,
            }
        };
        if let Some(q) = readers.as_mut() {
            let woken = q.wake_all(GRANTED);
            debug_assert_eq!(woken, admitted);
        }
        if hand_claim {
            writers.wake_front(CLAIM);
        }
        // Dropping the guards releases the locks, then unparks the woken.
    }

    /// The state word and queue lengths, for tests.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn snapshot(&self) -> Snapshot {
        let queued_writers = self.writers.lock().len();
        let queued_readers = self.readers.lock().len();
        let drain_parked = !self.drain.lock().is_empty();
        let s = self.state.load(Ordering::Relaxed);
        Snapshot {
            writer: s & WRITER != 0,
            readers: readers(s),
            queued_readers,
            queued_writers,
            drain_parked,
            bits_consistent: (s & READERS_PARKED != 0) == (queued_readers != 0)
                && (s & WRITERS_PARKED != 0) == (queued_writers != 0)
                && (s & DRAIN_PARKED != 0) == drain_parked,
        }
    }
}

/// A look at a [`RawRwLock`] (not atomic across its fields), for tests.
#[cfg(all(test, not(loom)))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) writer: bool,
    pub(crate) readers: usize,
    pub(crate) queued_readers: usize,
    pub(crate) queued_writers: usize,
    pub(crate) drain_parked: bool,
    /// The `*_PARKED` bits agree with the queues (invariant 1).
    pub(crate) bits_consistent: bool,
}

#[cfg(all(test, not(loom)))]
impl Snapshot {
    /// Free, nobody waiting.
    pub(crate) const IDLE: Self = Self {
        writer: false,
        readers: 0,
        queued_readers: 0,
        queued_writers: 0,
        drain_parked: false,
        bits_consistent: true,
    };
}

/// Panics for a lock of type `ty` (`RwLock`, `ShardedRwLock`) that the
/// caller can never get because it holds `what` of it.
#[cold]
#[inline(never)]
pub(super) fn self_deadlock(ty: &str, op: &str, what: &str) -> ! {
    panic!(
        "baton::sync::{ty}::{op} called by a goroutine or thread that holds {what} of the \
         same {ty}: it would wait for itself forever ({ty} is not reentrant, and a waiting \
         writer blocks new readers); drop the first guard before locking again"
    )
}

impl Default for RawRwLock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for RawRwLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("RawRwLock")
            .field("writer", &(s & WRITER != 0))
            .field("readers", &readers(s))
            .field("readers_parked", &(s & READERS_PARKED != 0))
            .field("writers_parked", &(s & WRITERS_PARKED != 0))
            .field("drain_parked", &(s & DRAIN_PARKED != 0))
            .finish()
    }
}
