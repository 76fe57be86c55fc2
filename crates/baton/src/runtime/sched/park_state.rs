//! A goroutine's park state: the word that decides, when a goroutine parks
//! and another thread wakes it at the same moment, who puts it back on a run
//! queue — so that a wake-up is never lost and a goroutine is never queued
//! twice.
//!
//! ## States
//!
//! | state | meaning | who leaves it, and how |
//! |---|---|---|
//! | `RUNNING` | running, or runnable in a queue, or finished; no token | `unpark` → `NOTIFIED`; the scheduler, after the goroutine switched out to park, → `PARKED` |
//! | `NOTIFIED` | as `RUNNING`, plus a wake-up token | `park` takes the token (→ `RUNNING`) and returns at once; a scheduler that finds it instead of `RUNNING` when parking re-queues the goroutine |
//! | `PARKED` | suspended in `park`, in no queue | `unpark` → `NOTIFIED`, **and that unparker queues it**; the home worker's timer → `RUNNING` and queues it (a timeout) |
//!
//! A goroutine leaves `PARKED` exactly once per park, by whichever of
//! `unpark` and the timer swaps it out first; that one alone queues it.
//!
//! ## The race with a goroutine about to sleep
//!
//! The goroutine switches to the scheduler *before* its state says `PARKED`
//! (the scheduler's `commit_park` does that on the worker's own stack). An
//! `unpark` that arrives between the goroutine's decision to park and the
//! commit finds `RUNNING`, leaves a token, and queues nothing; the commit then
//! fails on the token and the scheduler queues the goroutine itself. An
//! `unpark` after the commit finds `PARKED` and queues it. Either way it runs
//! again, once. Because only the home worker resumes a goroutine and the
//! commit runs on that worker after the switch, a goroutine is never resumed
//! while it is still switching out.
//!
//! ## Orderings
//!
//! - `commit_park`: CAS `Release` on success — an unparker that reads
//!   `PARKED` (with `Acquire`) then reads the goroutine's home worker and slot,
//!   which were written before. Failure is `Relaxed`: a token found means the
//!   goroutine runs again and will acquire the token in `resumed`.
//! - `unpark`: `swap(AcqRel)` — `Release` publishes the unparker's writes
//!   (the condition the goroutine waits for) to the goroutine, which acquires
//!   them in `take_token` or `resumed`; `Acquire` pairs with `commit_park`.
//! - `take_token` and `resumed`: `Acquire`, pairing with `unpark`'s release
//!   (`take_token`'s first, plain load is `Relaxed`: it only decides whether
//!   to try the acquiring CAS).
//! - `timed_out`: `Relaxed` CAS. It runs on the home worker, which also did
//!   the commit (same thread), and publishes nothing: a goroutine that times
//!   out re-checks its condition under the condition's own synchronisation.

use crate::shim::atomic::{AtomicU32, Ordering::*};

const RUNNING: u32 = 0;
const NOTIFIED: u32 = 1;
const PARKED: u32 = 2;

/// What an [`unpark`](ParkState::unpark) (or a deadline passing,
/// [`timed_out`](ParkState::timed_out)) leaves the caller to do.
#[must_use = "`Queue` means the caller alone must put the goroutine back on a run queue"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// The goroutine was parked: the caller, and nobody else, must queue it
    /// on its home worker.
    Queue,
    /// Nothing to queue: the goroutine was not parked (it keeps a token
    /// and will not sleep on it), or someone else already queued it.
    AlreadyRunnable,
}

/// What [`commit_park`](ParkState::commit_park) found.
#[must_use = "`TokenArrived` means the scheduler must queue the goroutine again"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    /// The goroutine is parked: an unpark or its timer will queue it.
    Parked,
    /// A token arrived while it switched out: the caller must queue it
    /// again (it consumes the token in `resumed`).
    TokenArrived,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct ParkState(AtomicU32);

impl ParkState {
    pub(crate) fn new() -> Self {
        Self(AtomicU32::new(RUNNING))
    }

    /// Goroutine side, before switching out: takes a pending token.
    /// `true` means a wake-up was already there: park returns at once.
    /// (A `bool` that stays inside the goroutine's own park.)
    ///
    /// A plain load first: parking almost always finds no token, and a load
    /// costs no locked instruction. A stale `RUNNING` read here loses
    /// nothing: the goroutine switches out, the scheduler's `commit_park`
    /// (a read-modify-write, which sees the latest value) finds the token
    /// and re-queues it, and `resumed` consumes it.
    #[inline]
    pub(crate) fn take_token(&self) -> bool {
        self.0.load(Relaxed) == NOTIFIED
            && self
                .0
                .compare_exchange(NOTIFIED, RUNNING, Acquire, Relaxed)
                .is_ok()
    }

    /// Scheduler side, after the goroutine switched out to park: marks it
    /// parked, or reports that a token arrived meanwhile
    /// ([`Commit::TokenArrived`]: the caller must queue the goroutine again).
    #[inline]
    pub(crate) fn commit_park(&self) -> Commit {
        match self.0.compare_exchange(RUNNING, PARKED, Release, Relaxed) {
            Ok(_) => Commit::Parked,
            Err(_) => Commit::TokenArrived,
        }
    }

    /// Any thread: leaves a token. [`Wake::Queue`] means the goroutine was
    /// parked and **the caller must queue it** on its home worker.
    #[inline]
    pub(crate) fn unpark(&self) -> Wake {
        if self.0.swap(NOTIFIED, AcqRel) == PARKED {
            Wake::Queue
        } else {
            Wake::AlreadyRunnable
        }
    }

    /// Home worker, when a park deadline passes: [`Wake::Queue`] means it
    /// was still parked and the caller must queue it (as timed out);
    /// otherwise an unpark won the race and queued it.
    #[inline]
    pub(crate) fn timed_out(&self) -> Wake {
        match self.0.compare_exchange(PARKED, RUNNING, Relaxed, Relaxed) {
            Ok(_) => Wake::Queue,
            Err(_) => Wake::AlreadyRunnable,
        }
    }

    /// Goroutine side, on resuming from a park: consumes whatever token woke
    /// it (wake-ups do not accumulate, as with `std::thread::park`).
    #[inline]
    pub(crate) fn resumed(&self) {
        self.0.swap(RUNNING, Acquire);
    }

    /// Whether the goroutine is parked (a snapshot, for diagnostics).
    pub(crate) fn is_parked(&self) -> bool {
        self.0.load(Relaxed) == PARKED
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn token_before_park_is_kept() {
        let s = ParkState::new();
        assert_eq!(
            s.unpark(),
            Wake::AlreadyRunnable,
            "not parked: nobody queues"
        );
        assert!(s.take_token());
        assert!(!s.take_token(), "one token only");
    }

    #[test]
    fn unpark_of_parked_queues_once() {
        let s = ParkState::new();
        assert_eq!(s.commit_park(), Commit::Parked);
        assert_eq!(s.unpark(), Wake::Queue);
        assert_eq!(s.unpark(), Wake::AlreadyRunnable);
        assert_eq!(s.timed_out(), Wake::AlreadyRunnable, "already woken");
        s.resumed();
        assert!(!s.take_token(), "the wake-up was consumed by the resume");
    }

    #[test]
    fn token_during_switch_fails_commit() {
        let s = ParkState::new();
        assert!(!s.take_token());
        assert_eq!(s.unpark(), Wake::AlreadyRunnable); // arrives while switching out
        assert_eq!(s.commit_park(), Commit::TokenArrived);
        s.resumed();
        assert_eq!(s.commit_park(), Commit::Parked);
        assert_eq!(s.timed_out(), Wake::Queue);
        assert_eq!(s.unpark(), Wake::AlreadyRunnable, "timer already queued it");
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::shim::atomic::AtomicUsize;
    use crate::shim::Arc;
    use loom::thread;

    /// A goroutine about to sleep races with an unparker on another thread:
    /// exactly one of them queues it, and the goroutine sees the unparker's
    /// write once it runs again.
    #[test]
    fn loom_park_unpark_race() {
        loom::model(|| {
            let state = Arc::new(ParkState::new());
            let queued = Arc::new(AtomicUsize::new(0));
            let data = Arc::new(AtomicUsize::new(0));

            let unparker = {
                let (state, queued, data) = (state.clone(), queued.clone(), data.clone());
                thread::spawn(move || {
                    data.store(42, Relaxed);
                    if state.unpark() == Wake::Queue {
                        queued.fetch_add(1, Relaxed);
                    }
                })
            };

            // The goroutine's side: check the token, switch out, and the
            // scheduler commits (or re-queues). Whenever the goroutine runs
            // on without waiting for the unparker's queueing, it must see
            // the unparker's write through the state word alone.
            let mut parked = false;
            if state.take_token() {
                assert_eq!(data.load(Relaxed), 42, "token carries the write");
            } else if state.commit_park() == Commit::Parked {
                parked = true;
            } else {
                // Token arrived while switching out: the scheduler re-queues
                // it and it runs again at once.
                state.resumed();
                assert_eq!(data.load(Relaxed), 42, "token carries the write");
            }
            unparker.join().unwrap();
            let expected = if parked { 1 } else { 0 };
            assert_eq!(
                queued.load(Relaxed),
                expected,
                "the unparker queues iff parked"
            );
        });
    }

    /// An unparker and the home worker's timer race for a parked goroutine:
    /// exactly one queues it.
    #[test]
    fn loom_unpark_vs_timeout() {
        loom::model(|| {
            let state = Arc::new(ParkState::new());
            assert_eq!(state.commit_park(), Commit::Parked);
            let s2 = state.clone();
            let unparker = thread::spawn(move || s2.unpark());
            let by_timer = state.timed_out() == Wake::Queue;
            let by_unpark = unparker.join().unwrap() == Wake::Queue;
            assert!(by_timer ^ by_unpark, "exactly one queues it");
        });
    }
}
