//! [`RawMutex`]: the lock state machine behind [`Mutex`](super::Mutex)
//! (and, through it, [`Cond`](super::Cond)), with no data attached.
//!
//! # The state word
//!
//! One `u32` with four bits (all other bits are always zero):
//!
//! | bit        | set means                                                                 | set by                          | cleared by |
//! |------------|---------------------------------------------------------------------------|---------------------------------|------------|
//! | `LOCKED`   | someone owns the lock                                                     | the acquirer (CAS)              | the owner in `unlock`, unless it hands the lock off |
//! | `PARKED`   | the wait queue is non-empty (exact while the queue's lock is held)        | a waiter, under the queue lock  | whoever empties the queue, under the queue lock |
//! | `WOKEN`    | a waiter was woken to retry and has not come back yet (at most one)       | `unlock`, under the queue lock  | that waiter: when it acquires, re-parks, or gives up |
//! | `STARVING` | hand-off mode: the lock passes from owner to front waiter without ever being free | `unlock`, under the queue lock | `unlock` handing to a young waiter, or whoever empties the queue |
//!
//! Common states: `0` free; `LOCKED` held, nobody waiting (both fast paths
//! apply); `LOCKED|PARKED` held with sleepers (unlock wakes one);
//! `PARKED|WOKEN` free, a woken waiter on its way (a newcomer may barge);
//! `LOCKED|PARKED|STARVING` held in hand-off mode.
//!
//! # Invariants
//!
//! 1. `STARVING` implies `LOCKED`: hand-off keeps `LOCKED` set across the
//!    hand-over, and the mode ends before the lock is ever free.
//! 2. **No lost wake-up:** if the lock is free and the queue non-empty, then
//!    `WOKEN` is set, i.e. some waiter is on its way to retry. A waiter
//!    enqueues only after seeing `LOCKED` in the same CAS that sets
//!    `PARKED` (so the current owner's unlock will see `PARKED`); `unlock`
//!    with `PARKED` and no `WOKEN` wakes one waiter and sets `WOKEN`; the
//!    woken waiter clears `WOKEN` only in a CAS that also takes the lock or
//!    sees it held (so the owner's later unlock sees `WOKEN` clear and wakes
//!    the next).
//! 3. At most one `WOKEN` waiter at a time: an unlock that sees `WOKEN`
//!    releases without waking, which saves futile wake-ups when the lock
//!    changes hands quickly (Go's `mutexWoken`).
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
//! Acquiring CASes are `Acquire` and releasing ones `Release`, so a critical
//! section happens-before the next. A hand-off never makes the lock free:
//! the new owner synchronises through the wait queue's token (`Release`
//! store, `Acquire` load), which the old owner stores after its critical
//! section. CASes that only flip `PARKED`/`WOKEN`/`STARVING` are `Relaxed`:
//! they order nothing about the data; under the queue lock, the lock's own
//! Acquire/Release orders them among waiters and wakers.
//!
//! # Spinning
//!
//! Before parking, a contended `lock` spins with [`Backoff::snooze`] (tens
//! of pauses, then a few yields) while nobody is parked and the mutex is not
//! in hand-off mode: parking and being woken costs about 8 us each way on
//! these 2-core machines, and most critical sections are far shorter.

use core::fmt;
use core::time::Duration;
use std::time::Instant;

use crate::atomic::Backoff;
use crate::park::wait_queue::{WaitQueue, Waited};
use crate::shim::atomic::{AtomicU32, Ordering};

const LOCKED: u32 = 1;
const PARKED: u32 = 2;
const WOKEN: u32 = 4;
const STARVING: u32 = 8;

/// Token: the lock is free (or was); go back and compete for it.
const TOKEN_RETRY: usize = 0;
/// Token: the lock is yours; `LOCKED` stayed set for you.
const TOKEN_HANDOFF: usize = 1;

/// Whether a contended `lock` spins before parking. Off under loom, where
/// spinning only multiplies interleavings and keeps the models from
/// reaching the park/wake paths they are there to check.
const SPIN: bool = !cfg!(loom);

/// A waiter queued for longer than this gets the lock handed to it directly
/// (see the module docs for why 1 ms).
pub(crate) const STARVATION_THRESHOLD: Duration = Duration::from_millis(1);

/// How `unlock` decides whether the front waiter is starving. Only tests
/// (and loom, which has no clock) use anything but `Clock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // `Always`/`Never` are for tests
pub(crate) enum StarvePolicy {
    /// Starving once queued for [`STARVATION_THRESHOLD`].
    Clock,
    /// Every waiter counts as starving: every unlock with sleepers hands off.
    Always,
    /// Nobody ever starves: pure normal mode.
    Never,
}

/// The mutex state machine. See the module docs.
pub(crate) struct RawMutex {
    /// See the state table.
    state: AtomicU32,
    /// Sleeping waiters; payload = address of the waiter's start `Instant`
    /// (0 if it has none), read only by `unlock` under the queue lock.
    queue: WaitQueue<()>,
    policy: StarvePolicy,
}

impl RawMutex {
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self {
            state: AtomicU32::new(0),
            queue: WaitQueue::new(()),
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
            queue: WaitQueue::new(()),
            policy,
        }
    }

    /// A mutex with a forced starvation policy (tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) const fn with_policy(policy: StarvePolicy) -> Self {
        Self {
            state: AtomicU32::new(0),
            queue: WaitQueue::new(()),
            policy,
        }
    }

    /// Acquires the lock, waiting as long as it takes.
    #[inline]
    pub(crate) fn lock(&self) {
        if self
            .state
            .compare_exchange_weak(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_slow(None);
        }
    }

    /// Acquires the lock if it is free right now (never waits). Like Go's
    /// `TryLock`, it fails while a hand-off is in progress.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        while s & LOCKED == 0 {
            match self.state.compare_exchange_weak(
                s,
                s | LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => s = seen,
            }
        }
        false
    }

    /// Acquires the lock unless `deadline` passes first; `true` = acquired.
    #[inline]
    pub(crate) fn lock_deadline(&self, deadline: Instant) -> bool {
        self.state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
            || self.lock_slow(Some(deadline))
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
        if self
            .state
            .compare_exchange(LOCKED, 0, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            self.unlock_slow();
        }
    }

    /// The contended acquire: spin, then park; `true` = acquired.
    #[cold]
    fn lock_slow(&self, deadline: Option<Instant>) -> bool {
        let _reason = crate::park::wait_reason(crate::park::WaitReason::Mutex);
        let backoff = Backoff::new();
        // Whether we hold the `WOKEN` claim (we were woken to retry).
        let mut woken = false;
        // When we first parked; its address is our queue payload.
        let mut start: Option<Instant> = None;
        loop {
            let s = self.state.load(Ordering::Relaxed);
            if s & LOCKED == 0 {
                // Free (invariant 1: not in hand-off mode). Take it, dropping
                // our `WOKEN` claim in the same CAS.
                let new = (s | LOCKED) & !if woken { WOKEN } else { 0 };
                if self
                    .state
                    .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return true;
                }
                continue;
            }
            if SPIN && s & (PARKED | STARVING) == 0 && !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return self.give_up(woken);
            }
            if self.policy == StarvePolicy::Clock && start.is_none() {
                start = Some(Instant::now());
            }
            let payload = start.as_ref().map_or(0, |t| t as *const Instant as usize);
            let waited = self.queue.wait(
                payload,
                deadline,
                |_| self.enqueue_if_locked(&mut woken),
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
                    backoff.reset();
                }
                Waited::NotQueued => {}
                Waited::TimedOut => return false,
            }
        }
    }

    /// Runs under the queue lock: sets `PARKED` (and drops our `WOKEN`
    /// claim) if the lock is held; `false` (do not park) if it is free.
    fn enqueue_if_locked(&self, woken: &mut bool) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & LOCKED == 0 {
                return false;
            }
            let new = (s | PARKED) & !if *woken { WOKEN } else { 0 };
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    *woken = false;
                    return true;
                }
                Err(seen) => s = seen,
            }
        }
    }

    /// The deadline passed before we queued (again). Takes the lock if it is
    /// free after all; otherwise drops our `WOKEN` claim while it is held
    /// (invariant 2), and fails.
    #[cold]
    fn give_up(&self, woken: bool) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let (new, acquired) = if s & LOCKED == 0 {
                ((s | LOCKED) & !if woken { WOKEN } else { 0 }, true)
            } else if woken {
                (s & !WOKEN, false)
            } else {
                return false;
            };
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return acquired,
                Err(seen) => s = seen,
            }
        }
    }

    #[cold]
    fn unlock_slow(&self) {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            assert!(
                s & LOCKED != 0,
                "sync: unlock of unlocked mutex (state {s:#x})"
            );
            if s & PARKED != 0 && s & WOKEN == 0 {
                break;
            }
            // Nobody asleep, or a woken waiter is already on its way: release.
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

    /// `LOCKED|PARKED`, no `WOKEN`: wake one waiter, or hand it the lock.
    fn unlock_wake(&self) {
        let mut q = self.queue.lock();
        // Under the queue lock, with `LOCKED` ours and `WOKEN` clear, no
        // other thread can change the state word (the bits' table), so we
        // read it once and store the outcome.
        let s = self.state.load(Ordering::Relaxed);
        let Some(front) = q.front() else {
            // Everyone timed out since we looked: just release.
            self.state
                .store(s & !(LOCKED | PARKED | STARVING), Ordering::Release);
            return;
        };
        let last = q.len() == 1;
        if self.is_starving(front) {
            // Hand off: `LOCKED` stays set; the token carries the
            // happens-before edge (see the module docs).
            let new = if last {
                s & !(PARKED | STARVING)
            } else {
                s | STARVING
            };
            self.state.store(new, Ordering::Relaxed);
            q.wake_front(TOKEN_HANDOFF);
        } else {
            let mut new = (s & !(LOCKED | STARVING)) | WOKEN;
            if last {
                new &= !PARKED;
            }
            self.state.store(new, Ordering::Release);
            q.wake_front(TOKEN_RETRY);
        }
    }

    /// Whether the waiter whose payload is `front` has waited too long.
    fn is_starving(&self, front: usize) -> bool {
        match self.policy {
            StarvePolicy::Always => true,
            StarvePolicy::Never => false,
            StarvePolicy::Clock => {
                if front == 0 {
                    return false;
                }
                // SAFETY: a queued waiter's payload is the address of the
                // `start` local of its `lock_slow` frame, which outlives its
                // time in the queue; we hold the queue lock, so it is still
                // queued (it cannot leave without that lock) and the frame
                // is alive. `start` is not written while it is queued.
                let start = unsafe { *(front as *const Instant) };
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
            .field("woken", &(s & WOKEN != 0))
            .field("starving", &(s & STARVING != 0))
            .finish()
    }
}
