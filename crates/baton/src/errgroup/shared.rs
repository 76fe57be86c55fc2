//! What a group's members and its owner share: the count of active members,
//! the limit, the first error, the first panic, and the context to cancel.
//! [`Group`](super::Group) and the scoped variant hold it in an `Arc`, and so
//! does each member.

use core::any::Any;
use core::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use super::Failed;
use crate::context::{self, CancelCauseFunc, Cause};
use crate::shim::Arc;
use crate::sync::{Mutex, Semaphore, WaitGroup};

/// The state of one group.
///
/// Invariants: `active` counts the members spawned and not yet finished
/// (each holds one [`Membership`]); a member with a limit in force holds one
/// permit of the semaphore it acquired from (which `limit` may since have
/// replaced — it gives the permit back to the one it took it from);
/// `outcome.failed` turns true once and stays true (Go's `errOnce`).
pub(super) struct Shared<E> {
    /// Members spawned and not finished: Go's `wg`.
    pub(super) active: WaitGroup,
    /// `None`: no limit. Replaced only while `active` is zero.
    limit: Mutex<Option<Arc<Semaphore>>>,
    /// Written by finishing members, taken by `wait`.
    outcome: Mutex<Outcome<E>>,
    /// The group's context's cancel (`None` for `Group::new`).
    cancel: Option<Canceller<E>>,
}

/// How a group with a context cancels it.
pub(super) struct Canceller<E> {
    pub(super) cancel: CancelCauseFunc,
    /// An `E`'s message, for the [`Failed`] cause.
    pub(super) describe: fn(&E) -> String,
}

impl<E: fmt::Display> Canceller<E> {
    pub(super) fn new(cancel: CancelCauseFunc) -> Self {
        Canceller {
            cancel,
            describe: |e| e.to_string(),
        }
    }
}

struct Outcome<E> {
    /// Some member returned an error (the first is in `error` until taken).
    failed: bool,
    error: Option<E>,
    /// The first panic's payload, until `wait` re-raises it.
    panic: Option<Box<dyn Any + Send>>,
}

/// What a finished member's body gave.
type Ending<E> = Result<Result<(), E>, Box<dyn Any + Send>>;

impl<E> Shared<E> {
    pub(super) fn new(cancel: Option<Canceller<E>>) -> Self {
        Shared {
            active: WaitGroup::new(),
            limit: Mutex::new(None),
            outcome: Mutex::new(Outcome {
                failed: false,
                error: None,
                panic: None,
            }),
            cancel,
        }
    }

    /// Takes a slot for one more member: waits (parks) while the limit is
    /// reached when `block`, else gives up with `None`.
    ///
    /// # Panics
    ///
    /// With a limit of zero and `block`: the wait could never end.
    pub(super) fn enter(this: &Arc<Self>, block: bool) -> Option<Membership<E>> {
        let sem = this.limit.lock().clone();
        if let Some(sem) = &sem {
            if block {
                assert!(
                    sem.capacity() > 0,
                    "errgroup: go with a limit of 0 would block forever (use try_go, or set a limit above 0)"
                );
                sem.acquire(1).forget();
            } else {
                sem.try_acquire(1)?.forget();
            }
        }
        this.active.add(1);
        Some(Membership {
            shared: this.clone(),
            permit: sem,
        })
    }

    fn record_error(&self, e: E) {
        let cause = {
            let mut out = self.outcome.lock();
            if out.failed {
                return; // not the first: dropped, as in Go
            }
            out.failed = true;
            let cause = self
                .cancel
                .as_ref()
                .map(|c| Failed::error((c.describe)(&e)));
            out.error = Some(e);
            cause
        };
        // Outside the lock: cancelling runs the context's own machinery.
        self.cancel_with(cause);
    }

    fn record_panic(&self, payload: Box<dyn Any + Send>) {
        let cause = Failed::panic(panic_message(&*payload));
        {
            let mut out = self.outcome.lock();
            if out.panic.is_none() {
                out.panic = Some(payload);
            }
        }
        // At once, not at `wait`: the other members stop promptly (see the
        // module docs on golang/go#53757).
        self.cancel_with(Some(cause));
    }

    fn cancel_with(&self, cause: Option<Failed>) {
        if let (Some(c), Some(cause)) = (&self.cancel, cause) {
            c.cancel.cancel(Arc::new(cause));
        }
    }

    /// After every member has finished: cancels the context (a no-op if a
    /// failure did already), re-raises the first panic, or returns the first
    /// error (taking it: a later `wait` returns `Ok`).
    pub(super) fn finish(&self) -> Result<(), E> {
        self.cancel_now();
        let (panic, error) = {
            let mut out = self.outcome.lock();
            (out.panic.take(), out.error.take())
        };
        if let Some(payload) = panic {
            drop(error);
            resume_unwind(payload);
        }
        error.map_or(Ok(()), Err)
    }

    /// Cancels the group's context now, with [`context::Error::Canceled`] as
    /// the cause unless a failure gave one first.
    pub(super) fn cancel_now(&self) {
        if let Some(c) = &self.cancel {
            let canceled: Cause = Arc::new(context::Error::Canceled);
            c.cancel.cancel(canceled);
        }
    }

    /// Go's `SetLimit`.
    pub(super) fn set_limit(&self, n: Option<usize>) {
        let mut limit = self.limit.lock();
        let active = self.active.counter();
        if active != 0 {
            panic!(
                "errgroup: modify limit while {active} goroutines in the group are still active"
            );
        }
        *limit = n.map(|n| Arc::new(Semaphore::new(n)));
    }

    pub(super) fn limit(&self) -> Option<usize> {
        self.limit.lock().as_ref().map(|s| s.capacity())
    }

    pub(super) fn failed(&self) -> bool {
        let out = self.outcome.lock();
        out.failed || out.panic.is_some()
    }
}

impl<E> fmt::Debug for Shared<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("active", &self.active.counter())
            .field("limit", &self.limit())
            .field("failed", &self.failed())
            .field("with_context", &self.cancel.is_some())
            .finish()
    }
}

/// One member's place in the group: its permit and its count in `active`.
/// Dropping it gives both back — when the member finishes, or when its
/// closure is dropped unrun (a goroutine that could not be spawned).
pub(super) struct Membership<E> {
    shared: Arc<Shared<E>>,
    permit: Option<Arc<Semaphore>>,
}

impl<E> Membership<E> {
    /// Runs the member's body, records how it ended, and leaves the group.
    pub(super) fn run(self, f: impl FnOnce() -> Result<(), E>) {
        let ending: Ending<E> = catch_unwind(AssertUnwindSafe(f));
        match ending {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.shared.record_error(e),
            Err(payload) => self.shared.record_panic(payload),
        }
        // `self` drops here: after the outcome is recorded, so that `wait`,
        // woken by the count, finds it.
    }
}

impl<E> Drop for Membership<E> {
    fn drop(&mut self) {
        // Go's `done`: the permit first, then the count, so that once `wait`
        // sees zero every permit is back.
        if let Some(sem) = &self.permit {
            sem.release(1);
        }
        self.shared.active.done();
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a member panicked with a value that is not a string".to_owned()
    }
}
