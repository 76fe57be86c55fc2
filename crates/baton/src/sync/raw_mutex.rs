//! [`RawMutex`]: the lock state machine behind [`Mutex`](super::Mutex)
//! (and, through it, [`Cond`](super::Cond)), with no data attached.
//!
//! # The state word
//!
//! One `u32` with three bits (all other bits are always zero):
//!
//! | bit        | set means                                                                 | set by                          | cleared by |
//! |------------|---------------------------------------------------------------------------|---------------------------------|------------|
//! | `LOCKED`   | someone owns the lock                                                     | the acquirer (one `fetch_or`/CAS) | the owner in `unlock`, unless it hands the lock off |
//! | `PARKED`   | the queue may hold sleepers: `unlock` must look at it                      | a waiter queueing (under the queue lock), a woken waiter leaving `lock` | `unlock` when it wakes one or finds the queue empty; whoever empties the queue |
//! | `STARVING` | hand-off mode: the lock passes from owner to front waiter without ever being free | `unlock`, under the queue lock | `unlock` waking a young waiter, or whoever empties the queue |
//!
//! Common states: `0` free; `LOCKED` held, nobody asleep (both inline fast
//! paths apply); `LOCKED|PARKED` held with sleepers (unlock wakes one);
//! `LOCKED|PARKED|STARVING` held in hand-off mode.
//!
//! # Invariants
//!
//! 1. `STARVING` implies `LOCKED`: hand-off keeps `LOCKED` set across the
//!    hand-over, and the mode ends before the lock is ever free. So the
//!    `fetch_or(LOCKED)` fast path can never barge in hand-off mode.
//! 2. **No lost wake-up:** whenever the queue is non-empty, `PARKED` is set
//!    or some *woken* waiter is still inside `lock` (woken to retry, not yet
//!    returned), and every woken waiter sets `PARKED` again before it leaves
//!    `lock`: it acquires as `LOCKED|PARKED`, re-queues (setting `PARKED`),
//!    or gives up at its deadline setting `PARKED`. A waiter queues only in a
//!    CAS that sees `LOCKED` (under the queue lock) and sets `PARKED`, so the
//!    current owner's unlock looks at the queue.
//! 3. `unlock` that wakes a waiter to retry clears `PARKED` (and the lock):
//!    the woken waiter takes over the duty of invariant 2. This is std's
//!    futex-mutex idea (a woken thread re-marks the lock contended): while
//!    the woken waiter is on its way (on an oversubscribed machine that can
//!    be a whole time slice), the running owner keeps using the one-CAS
//!    fast paths instead of waking a second sleeper, and a waiter that finds
//!    the queue empty on its unlock just clears the bit.
//!
//! # Fairness: Go's starvation mode, decided by the unlocker
//!
//! Normal mode is unfair and fast: a waiter woken to retry competes with
//! newcomers, who usually win (they are already running on a CPU), and the
//! loser queues again. That gives throughput but can starve a waiter
//! indefinitely. So, as Go's `sync/mutex.go` puts it, "if a waiter fails to
//! acquire the mutex for more than 1ms, it switches the mutex to the
//! starvation mode": the lock is handed directly from the unlocking owner to
//! the waiter at the front of the queue, newcomers neither barge nor spin,
//! and the mode ends when a waiter that has waited less than 1 ms gets the
//! lock, or the queue empties. 1 ms ([`STARVATION_THRESHOLD`]) is Go's
//! figure: long enough that hand-off (which costs a full wake-up per
//! acquisition, ~5-8 us on these machines) is rare under ordinary
//! contention, short enough that no waiter sees a tail latency beyond a few
//! milliseconds. Here the *unlocker* makes the decision, reading the front
//! waiter's start time (its wait-queue payload) under the queue lock, so no
//! waiter has to wake up just to learn it is starving. One difference from
//! Go: a woken waiter that loses to a newcomer queues again at the back
//! (Go puts it at the front); it keeps its original start time, so hand-off
//! mode still reaches it within about 1 ms of queue turnover.
//!
//! # Orderings
//!
//! Acquiring operations are `Acquire` and releasing ones `Release`, so a
//! critical section happens-before the next. A hand-off never makes the
//! lock free: the new owner synchronises through the wait queue's token
//! (`Release` store, `Acquire` load), which the old owner stores after its
//! critical section. Operations that only flip `PARKED`/`STARVING` are
//! `Relaxed`: they order nothing about the data; under the queue lock, the
//! lock's own Acquire/Release orders them among waiters and wakers.
//!
//! # Spinning
//!
//! Before parking, a contended `lock` spins briefly
//! ([`MutexSpin`], off under loom) while
//! nobody is parked and the mutex is not in hand-off mode: parking and being
//! woken costs about 8 us each way on these 2-core machines, and most
//! critical sections are far shorter.

use core::fmt;
use core::time::Duration;
use std::time::Instant;

use crate::park::spin::MutexSpin;
use crate::park::wait_queue::{Token, Until, WaitQueue, Waited};
use crate::shim::atomic::{AtomicU32, Ordering};

const LOCKED: u32 = 1;
const PARKED: u32 = 2;
const STARVING: u32 = 4;

/// Token: the lock is free (or was); go back and compete for it.
const TOKEN_RETRY: Token = Token::WAKE;
/// Token: the lock is yours; `LOCKED` stayed set for you.
const TOKEN_HANDOFF: Token = Token::new(1);

/// A waiter queued for longer than this gets the lock handed to it directly
/// (see the module docs for why 1 ms).
pub(crate) const STARVATION_THRESHOLD: Duration = Duration::from_millis(1);

/// How `unlock` decides whether the front waiter is starving. Only tests
/// (and loom, which has no clock) use anything but `Clock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StarvePolicy {
    /// Starving once queued for [`STARVATION_THRESHOLD`].
    Clock,
    /// Every waiter counts as starving: every unlock with sleepers hands off.
    #[cfg(test)]
    Always,
    /// Nobody ever starves: pure normal mode.
    #[cfg(any(test, loom))]
    Never,
}

/// A queued waiter's start time, by address: the `start` local of its
/// `lock_slow` frame, which outlives the waiter's time in the queue and is
/// not written while it is queued. The wait-queue payload of [`RawMutex`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StartRef(core::ptr::NonNull<Instant>);

// SAFETY: a `StartRef` is only dereferenced (`get`) by an unlocker under the
// queue lock while its waiter is queued, when the `Instant` it points to is
// alive and not written; `Instant` is `Sync`, so reading it from the
// unlocker's thread is fine.
unsafe impl Send for StartRef {}
// SAFETY: as above: shared `StartRef`s only ever read the `Instant`.
unsafe impl Sync for StartRef {}

impl StartRef {
    fn new(start: &Instant) -> Self {
        Self(core::ptr::NonNull::from(start))
    }

    /// The start time.
    ///
    /// # Safety
    ///
    /// The waiter this came from is still queued: the caller holds the
    /// queue lock and read this payload from the queue under it.
    unsafe fn get(self) -> Instant {
        // SAFETY: the caller's contract keeps the waiter's frame, and so its
        // `start`, alive and unwritten.
        unsafe { *self.0.as_ptr() }
    }
}

/// The mutex state machine. See the module docs.
pub(crate) struct RawMutex {
    /// See the state table.
    state: AtomicU32,
    /// Sleeping waiters; payload = the waiter's start time, if it has one,
    /// read only by `unlock` under the queue lock.
    queue: WaitQueue<Option<StartRef>>,
    policy: StarvePolicy,
}

impl RawMutex {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self {
            state: AtomicU32::new(0),
            queue: WaitQueue::new(),
            policy: StarvePolicy::Clock,
        }
    }

    /// Under loom there is no clock: the default policy is `Never`, and
    /// models that want hand-off use [`with_policy`](Self::with_policy).
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self::with_policy(StarvePolicy::Never)
    }

    #[cfg(loom)]
    pub(crate) fn with_policy(policy: StarvePolicy) -> Self {
        Self {
            state: AtomicU32::new(0),
            queue: WaitQueue::new(),
            policy,
        }
    }

    /// A mutex with a forced starvation policy (tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) const fn with_policy(policy: StarvePolicy) -> Self {
        Self {
            state: AtomicU32::new(0),
            queue: WaitQueue::new(),
            policy,
        }
    }

    /// Acquires the lock, waiting as long as it takes.
    #[inline]
    pub(crate) fn lock(&self) {
        if !self.try_lock() {
            self.lock_slow(None);
        }
    }

    /// Acquires the lock if it is free right now (never waits). Like Go's
    /// `TryLock`, it fails while a hand-off is in progress.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        // One RMW that takes the lock whatever the other bits say, so the
        // fast path still works while `PARKED` is set and the lock is free
        // (a woken waiter on its way); x86 compiles it to one `lock bts`. Invariant 1 makes it respect hand-off mode: `STARVING`
        // implies `LOCKED`, so the OR changes nothing then.
        self.state.fetch_or(LOCKED, Ordering::Acquire) & LOCKED == 0
    }

    /// Acquires the lock unless `deadline` passes first; `true` = acquired.
    #[inline]
    pub(crate) fn lock_deadline(&self, deadline: Instant) -> bool {
        self.try_lock() || self.lock_slow(Some(deadline))
    }

    /// Acquires the lock unless `until` says to give up first (a deadline
    /// or an abort condition, see [`Until`]); `true` = acquired.
    #[allow(dead_code)] // the context-taking lock (sync/ctx.rs)
    pub(crate) fn lock_until(&self, until: Until<'_>) -> bool {
        self.try_lock() || self.lock_slow(until)
    }

    /// Whether someone holds the lock (a racy snapshot).
    pub(crate) fn is_locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) & LOCKED != 0
    }

    /// Releases the lock.
    ///
    /// # Safety
    ///
    /// The caller owns the lock (acquired it and has not released it).
    #[inline]
    pub(crate) unsafe fn unlock(&self) {
        if let Err(s) = self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
        {
            self.unlock_slow(s);
        }
    }

    /// The contended acquire: spin, then park; `true` = acquired.
    #[cold]
    fn lock_slow<'u>(&self, until: impl Into<Until<'u>>) -> bool {
        let until = until.into();
        let _reason = crate::park::wait_reason(crate::park::WaitReason::Mutex);
        let mut spin = MutexSpin::new();
        // Whether we were woken to retry: then invariant 2 is our duty.
        let mut woken = false;
        // When we first parked; its address is our queue payload.
        let mut start: Option<Instant> = None;
        loop {
            let s = self.state.load(Ordering::Relaxed);
            if s & LOCKED == 0 {
                // Free (invariant 1: not in hand-off mode). A woken waiter
                // re-marks `PARKED` as it takes the lock (invariant 2).
                let new = s | LOCKED | if woken { PARKED } else { 0 };
                if self
                    .state
                    .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return true;
                }
                continue;
            }
            if s & (PARKED | STARVING) == 0 && spin.spin() {
                continue;
            }
            if until.passed() {
                return self.give_up(woken);
            }
            if self.policy == StarvePolicy::Clock && start.is_none() {
                start = Some(Instant::now());
            }
            let payload = start.as_ref().map(StartRef::new);
            let waited = self.queue.wait(
                payload,
                until,
                |_| self.enqueue_if_locked(),
                || {},
                |q| {
                    if q.is_empty() {
                        self.state
                            .fetch_and(!(PARKED | STARVING), Ordering::Relaxed);
                    }
                },
            );
            match waited {
                Waited::Woken(TOKEN_HANDOFF) => return true,
                Waited::Woken(token) => {
                    debug_assert_eq!(token, TOKEN_RETRY);
                    woken = true;
                    spin = MutexSpin::new();
                }
                // Queued again: `PARKED` is set, our duty is done.
                Waited::NotQueued => {}
                Waited::TimedOut => return false,
            }
        }
    }

    /// Runs under the queue lock: sets `PARKED` if the lock is held;
    /// `false` (do not park, retry) if it is free.
    fn enqueue_if_locked(&self) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED == 0 {
                return false;
            }
            if s & PARKED != 0 {
                return true;
            }
            match self.state.compare_exchange_weak(
                s,
                s | PARKED,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => s = seen,
            }
        }
    }

    /// The deadline passed before we queued (again). A woken waiter first
    /// discharges invariant 2: it takes the lock if it is free after all
    /// (marked `PARKED`), or marks the held lock `PARKED`, so the owner's
    /// unlock looks at the queue. Returns whether it acquired.
    #[cold]
    fn give_up(&self, woken: bool) -> bool {
        if !woken {
            return false;
        }
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let acquired = s & LOCKED == 0;
            match self.state.compare_exchange_weak(
                s,
                s | LOCKED | PARKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return acquired,
                Err(seen) => s = seen,
            }
        }
    }

    /// `s`: the state the fast path's CAS saw.
    #[cold]
    fn unlock_slow(&self, mut s: u32) {
        loop {
            assert!(
                s & LOCKED != 0,
                "sync: unlock of unlocked mutex (state {s:#x})"
            );
            if s & PARKED != 0 {
                break;
            }
            // Nobody asleep (and so, invariant 1, no hand-off): release.
            match self.state.compare_exchange_weak(
                s,
                s & !LOCKED,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(seen) => s = seen,
            }
        }
        self.unlock_wake();
    }

    /// `LOCKED|PARKED`: wake one waiter, or hand it the lock.
    fn unlock_wake(&self) {
        let mut q = self.queue.lock();
        // Under the queue lock, with `LOCKED` ours, no other thread changes
        // the state word's value (queueing and time-outs need the queue
        // lock; newcomers' `fetch_or(LOCKED)` and a giving-up waiter's
        // `|PARKED` write back what is there), so we set the outcome
        // outright. With `swap`, not `store`: every other write to this word
        // is a read-modify-write, and loom (which models RMW coherence
        // exactly) reported a stale read after a plain store here; in this
        // cold path the difference costs nothing.
        let Some(front) = q.front() else {
            // Everyone timed out since the bit was set: just release.
            self.state.swap(0, Ordering::Release);
            return;
        };
        if self.is_starving(front) {
            // Hand off: `LOCKED` stays set; the token carries the
            // happens-before edge (see the module docs).
            let new = if q.len() == 1 {
                LOCKED
            } else {
                LOCKED | PARKED | STARVING
            };
            self.state.swap(new, Ordering::Relaxed);
            q.wake_front(TOKEN_HANDOFF);
        } else {
            // Release the lock and pass the `PARKED` duty to the woken
            // waiter (invariant 3).
            self.state.swap(0, Ordering::Release);
            q.wake_front(TOKEN_RETRY);
        }
    }

    /// Whether the waiter whose payload is `front` has waited too long.
    fn is_starving(&self, front: Option<StartRef>) -> bool {
        match self.policy {
            #[cfg(test)]
            StarvePolicy::Always => true,
            #[cfg(any(test, loom))]
            StarvePolicy::Never => false,
            StarvePolicy::Clock => {
                let Some(front) = front else {
                    return false;
                };
                // SAFETY: `front` is the payload of the queue's front
                // waiter, read under the queue lock we hold (the caller's
                // `q`), so that waiter is still queued (it cannot leave
                // without that lock): `StartRef::get`'s contract.
                let start = unsafe { front.get() };
                start.elapsed() >= STARVATION_THRESHOLD
            }
        }
    }
}

impl fmt::Debug for RawMutex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("RawMutex")
            .field("locked", &(s & LOCKED != 0))
            .field("parked", &(s & PARKED != 0))
            .field("starving", &(s & STARVING != 0))
            .finish()
    }
}
