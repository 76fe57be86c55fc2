//! Parking the caller, whichever it is: a goroutine switches to its worker;
//! a plain thread blocks in the OS. This is the runtime's half of the park
//! contract (DESIGN.md, "The park contract"):
//!
//! - [`Unparker::current`] names the running goroutine or thread;
//! - [`park`] suspends the caller until an `unpark`; a wake-up before the
//!   park is kept as a token and makes the next park return at once;
//! - wake-ups may be spurious: callers re-check their condition;
//! - [`park_deadline`] also returns at the deadline, saying whether it timed
//!   out;
//! - inside a goroutine, parking never blocks the worker thread.

use std::time::Instant;

use super::context::{self, Suspend};
use super::goroutine::Header;
use super::join_cell::Wake;
use crate::shim::thread::{self, Thread};
use crate::shim::Arc;

/// Wakes one parked goroutine or thread.
#[derive(Clone, Debug)]
pub(crate) enum Unparker {
    Thread(Thread),
    Goroutine(Arc<Header>),
}

impl Unparker {
    /// The caller's unparker.
    pub(crate) fn current() -> Self {
        context::with_goroutine(|g| match g {
            Some(g) => Unparker::Goroutine(g.clone()),
            None => Unparker::Thread(thread::current()),
        })
    }

    /// Wakes it, or leaves a token for its next park.
    #[inline]
    pub(crate) fn unpark(&self) {
        match self {
            Unparker::Thread(t) => t.unpark(),
            Unparker::Goroutine(g) => g.unpark(),
        }
    }
}

impl Wake for Unparker {
    fn wake(self) {
        self.unpark();
    }
}

/// Parks the caller until unparked (or spuriously).
pub(crate) fn park() {
    if !park_goroutine(None) {
        thread::park();
    }
}

/// Parks the caller until unparked or until `deadline`; returns whether the
/// deadline passed.
pub(crate) fn park_deadline(deadline: Instant) -> bool {
    if context::in_goroutine() {
        park_in_goroutine(Some(deadline))
    } else {
        let now = Instant::now();
        if now < deadline {
            thread::park_timeout(deadline - now);
        }
        Instant::now() >= deadline
    }
}

/// Parks the current goroutine; `false` if the caller is not a goroutine.
fn park_goroutine(deadline: Option<Instant>) -> bool {
    if !context::in_goroutine() {
        return false;
    }
    park_in_goroutine(deadline);
    true
}

/// Parks the running goroutine: takes a pending token if there is one,
/// otherwise switches to the worker, which commits the park.
fn park_in_goroutine(deadline: Option<Instant>) -> bool {
    let has_token = context::with_goroutine(|g| g.expect("in a goroutine").park.take_token());
    if has_token {
        return false;
    }
    let timed_out = context::suspend(Suspend::Park(deadline));
    context::with_goroutine(|g| g.expect("in a goroutine").park.resumed());
    timed_out
}
