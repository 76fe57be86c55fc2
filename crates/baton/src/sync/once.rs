//! [`Once`]: Go's `sync.Once`, run an action exactly once (successfully).
//!
//! # The state word
//!
//! | value                 | meaning                                                  |
//! |-----------------------|----------------------------------------------------------|
//! | `INCOMPLETE`          | nobody has finished the action; the next caller runs it  |
//! | `RUNNING`             | one caller is running it; nobody is queued               |
//! | `RUNNING \| QUEUED`   | one caller is running it; others are (or are about to be) in the wait queue |
//! | `COMPLETE`            | done; `call_once` returns at once from now on            |
//!
//! A waiter sets `QUEUED` under the queue's lock, in a CAS that still sees
//! `RUNNING`; the runner finishes with a `swap`, and wakes the queue only if
//! the old value had `QUEUED`. Both touch one word, so either the waiter
//! sees the finish (and does not queue) or the runner sees `QUEUED` (and
//! wakes it): no waiter sleeps through the end.
//!
//! # A panicking action: retry, not "done" and not poison
//!
//! Go's `Once.Do` marks the once done even when `f` panics, so every later
//! `Do` silently does nothing and the program runs on with whatever `f`
//! left half-built. std's `Once` poisons instead (every later call panics).
//! baton does what std's `OnceLock` does: the panic propagates to the
//! caller that ran `f`, the state goes back to `INCOMPLETE`, the waiters
//! wake, and the next caller runs its own `f`. An initialisation that
//! failed has not happened, and retrying is the only behaviour under which
//! [`OnceCell::get_or_init`](super::OnceCell::get_or_init) can always
//! return a value.
//!
//! Calling `call_once` on the same `Once` from inside its own action
//! would deadlock (it does in Go); baton panics instead, naming the
//! mistake. The runner stores its holder id (its goroutine, or its thread
//! outside a goroutine: `park::held`) in `runner` after claiming the
//! action and clears it before finishing; a caller about to wait compares
//! it with its own. `Relaxed` suffices both ways: only the runner writes
//! its own id, so a waiter can read its own id there only if it is the
//! runner, and then it reads its own earlier write (program order); any
//! other value, stale or not, is some other holder's or 0. This costs
//! nothing on the completed fast path (it runs only before a wait), so it
//! is on in release builds too.
//!
//! # Orderings
//!
//! The runner's finishing `swap` is `Release` (`AcqRel` to also read
//! `QUEUED` soundly) and every reader of `COMPLETE` loads with `Acquire`, so
//! everything the action did is visible to whoever sees it done. The
//! claiming CAS is `Acquire` so that a retrying runner sees what a failed
//! attempt left behind.

use core::fmt;

use crate::park::held;
use crate::park::wait_queue::{Token, WaitQueue};
use crate::shim::atomic::{AtomicU32, AtomicU64, Ordering};

const INCOMPLETE: u32 = 0;
const RUNNING: u32 = 1;
const COMPLETE: u32 = 2;
const QUEUED: u32 = 4;
const PHASE: u32 = 3;

/// Runs an action exactly once, as Go's `sync.Once`; callers that arrive
/// while it runs wait for it to finish.
///
/// ```
/// use baton::sync::Once;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// static INIT: Once = Once::new();
/// static RUNS: AtomicUsize = AtomicUsize::new(0);
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| INIT.call_once(|| { RUNS.fetch_add(1, Ordering::Relaxed); }));
///     }
/// });
/// assert_eq!(RUNS.load(Ordering::Relaxed), 1);
/// assert!(INIT.is_completed());
/// ```
pub struct Once {
    /// See the state table.
    state: AtomicU32,
    queue: WaitQueue,
    /// The holder id (`park::held`) of the caller running the action, 0
    /// when none: written only by the runner, read by waiters to detect a
    /// recursive call (module docs).
    runner: AtomicU64,
}

impl Once {
    /// A `Once` whose action has not run.
    ///
    /// ```
    /// assert!(!baton::sync::Once::new().is_completed());
    /// ```
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            state: AtomicU32::new(INCOMPLETE),
            queue: WaitQueue::new(),
            runner: AtomicU64::new(0),
        }
    }

    /// A `Once` whose action has not run.
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            state: AtomicU32::new(INCOMPLETE),
            queue: WaitQueue::new(),
            runner: AtomicU64::new(0),
        }
    }

    /// Runs `f` if no call has completed yet; otherwise does nothing. If
    /// another caller is running its action, waits until it finishes: if
    /// that one panics, one of the waiters runs its own `f` instead (see the
    /// module docs).
    ///
    /// ```
    /// let once = baton::sync::Once::new();
    /// let mut n = 0;
    /// once.call_once(|| n += 1);
    /// once.call_once(|| n += 1);
    /// assert_eq!(n, 1);
    /// ```
    #[inline]
    pub fn call_once(&self, f: impl FnOnce()) {
        if self.is_completed() {
            return;
        }
        let _ = self.initialize(|| {
            f();
            Ok::<(), core::convert::Infallible>(())
        });
    }

    /// Whether an action has completed.
    ///
    /// ```
    /// let once = baton::sync::Once::new();
    /// once.call_once(|| ());
    /// assert!(once.is_completed());
    /// ```
    #[inline]
    pub fn is_completed(&self) -> bool {
        // Acquire: see the module docs.
        self.state.load(Ordering::Acquire) == COMPLETE
    }

    /// The shared engine: runs `f` unless done, waiting while another runs.
    /// `Ok` once done (by us or anyone); `Err` if our `f` failed, after which
    /// the `Once` is `INCOMPLETE` again. `f` runs at most once.
    #[cold]
    pub(super) fn initialize<E>(&self, f: impl FnOnce() -> Result<(), E>) -> Result<(), E> {
        let mut f = Some(f);
        loop {
            let s = self.state.load(Ordering::Acquire);
            match s & PHASE {
                COMPLETE => return Ok(()),
                INCOMPLETE => {
                    if self
                        .state
                        .compare_exchange(s, RUNNING, Ordering::Acquire, Ordering::Relaxed)
                        .is_err()
                    {
                        continue;
                    }
                    let f = f
                        .take()
                        .expect("a Once runs its caller's action at most once");
                    // Relaxed: see the module docs (recursion check).
                    self.runner.store(held::holder().get(), Ordering::Relaxed);
                    let reset = ResetOnUnwind(self);
                    let r = f();
                    core::mem::forget(reset);
                    self.finish(if r.is_ok() { COMPLETE } else { INCOMPLETE });
                    return r;
                }
                _ => {
                    self.check_not_recursive();
                    let _reason = crate::park::wait_reason(crate::park::WaitReason::Once);
                    self.queue
                        .wait((), None, |_| self.enqueue_if_running(), || {}, |_| {});
                }
            }
        }
    }

    /// Panics if the caller is the one running the action: waiting for
    /// itself would never end. (Not under loom, whose threads share one
    /// holder id.)
    fn check_not_recursive(&self) {
        // Relaxed: see the module docs.
        if !cfg!(loom) && self.runner.load(Ordering::Relaxed) == held::holder().get() {
            panic!(
                "baton::sync::Once::call_once (or OnceCell::get_or_init) called from inside \
                 its own initialiser, on the same goroutine or thread: it would wait for \
                 itself forever; do not re-enter the Once from its action"
            );
        }
    }

    /// Under the queue lock: mark `QUEUED` if an action is still running.
    fn enqueue_if_running(&self) -> bool {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & PHASE != RUNNING {
                return false;
            }
            if s & QUEUED != 0 {
                return true;
            }
            match self.state.compare_exchange_weak(
                s,
                s | QUEUED,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => s = seen,
            }
        }
    }

    /// Ends a run with `phase` (`COMPLETE` or `INCOMPLETE`) and wakes the
    /// waiters, if any queued.
    fn finish(&self, phase: u32) {
        // Relaxed: see the module docs; before the swap that ends the run.
        self.runner.store(0, Ordering::Relaxed);
        // AcqRel: Release publishes the action's effects; Acquire pairs with
        // the waiters' `QUEUED` CAS (done under the queue lock, which the
        // wake below takes anyway).
        if self.state.swap(phase, Ordering::AcqRel) & QUEUED != 0 {
            self.queue.lock().wake_all(Token::WAKE);
        }
    }
}

/// Puts the `Once` back to `INCOMPLETE` (waking waiters) if the action
/// panics.
struct ResetOnUnwind<'a>(&'a Once);

impl Drop for ResetOnUnwind<'_> {
    fn drop(&mut self) {
        self.0.finish(INCOMPLETE);
    }
}

// A panicking action leaves the `Once` incomplete and consistent (that is
// the retry design), so observing it after a caught panic is fine.
impl core::panic::UnwindSafe for Once {}
impl core::panic::RefUnwindSafe for Once {}

impl Default for Once {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.state.load(Ordering::Relaxed) & PHASE {
            INCOMPLETE => "incomplete",
            RUNNING => "running",
            _ => "complete",
        };
        f.debug_struct("Once").field("state", &phase).finish()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn panicking_action_lets_the_next_caller_retry() {
        let once = Once::new();
        let r = std::panic::catch_unwind(|| once.call_once(|| panic!("first try fails")));
        assert!(r.is_err());
        assert!(!once.is_completed());
        let ran = AtomicUsize::new(0);
        once.call_once(|| {
            ran.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert!(once.is_completed());
    }

    #[test]
    fn waiters_retry_after_a_panic_while_they_wait() {
        let once = Once::new();
        let started = std::sync::Barrier::new(2);
        let runs = AtomicUsize::new(0);
        std::thread::scope(|s| {
            s.spawn(|| {
                let r = std::panic::catch_unwind(|| {
                    once.call_once(|| {
                        started.wait();
                        // Let the other caller queue up behind us.
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        panic!("initialiser fails");
                    })
                });
                assert!(r.is_err());
            });
            started.wait();
            once.call_once(|| {
                runs.fetch_add(1, Ordering::SeqCst);
            });
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(once.is_completed());
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::shim::atomic::AtomicUsize;
    use crate::shim::Arc;

    /// Two callers: the action runs exactly once, and both see its effect.
    #[test]
    fn loom_once_runs_once_and_publishes() {
        loom::model(|| {
            let once = Arc::new(Once::new());
            let value = Arc::new(AtomicUsize::new(0));
            let (o, v) = (once.clone(), value.clone());
            let t = loom::thread::spawn(move || {
                o.call_once(|| {
                    v.fetch_add(1, Ordering::Relaxed);
                });
                assert_eq!(v.load(Ordering::Relaxed), 1);
            });
            once.call_once(|| {
                value.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(value.load(Ordering::Relaxed), 1);
            t.join().unwrap();
        });
    }

    /// The first action fails (an `Err`, as a panic would): the waiter is
    /// woken and runs its own.
    #[test]
    fn loom_once_failure_lets_a_waiter_retry() {
        loom::model(|| {
            let once = Arc::new(Once::new());
            let o = once.clone();
            let t = loom::thread::spawn(move || {
                let _ = o.initialize(|| Err::<(), ()>(()));
            });
            let mut ran = false;
            let _ = once.initialize(|| {
                ran = true;
                Ok::<(), ()>(())
            });
            t.join().unwrap();
            // The other action never succeeds, so ours is the one that did.
            assert!(ran);
            assert!(once.is_completed());
        });
    }
}
