//! Go's `os/signal`: signals delivered on baton channels
//! ([`notify`]), as a context's cancellation ([`notify_context`]), and the
//! one-call graceful shutdown of a server ([`shutdown_context`]).
//!
//! ```no_run
//! use baton::{chan, signal};
//!
//! let ctx = signal::shutdown_context(); // Ctrl-C or SIGTERM cancels it; a second one exits
//! let (requests, incoming) = chan::bounded::<String>(16); // fed by whatever accepts requests
//! let server = baton::go(move || {
//!     while let Ok(request) = incoming.recv_ctx(&ctx) {
//!         println!("serving {request}"); // finished even if Ctrl-C comes meanwhile
//!     }
//!     println!("drained");
//! });
//! server.join().unwrap();
//! drop(requests);
//! ```
//!
//! ## Usage rules
//!
//! - [`notify`] never blocks on your channel: a signal that finds the
//!   channel full is dropped, as in Go. Give the channel room for the
//!   signals you expect to pile up (one is enough for "stop").
//! - Dropping (or [`stop`](Notify::stop)ping) the [`Notify`] ends the
//!   delivery; once that returns, the channel gets no more signals. When no
//!   subscription wants a signal any more, it goes back to what it did
//!   before baton touched it: `SIGTERM` and `SIGINT` end the process again,
//!   an ignored signal is ignored again. The same holds for
//!   [`notify_context`]'s [`StopFunc`]. (Go's `signal.Stop`/`Reset`.)
//! - A signal is delivered to *every* subscription that names it, from
//!   one thread of baton's (`baton-signal`): a context's cancellation runs
//!   there, not in a signal handler, so it may do anything.
//! - [`shutdown_context`] is the process's one shutdown context: the first
//!   `SIGINT` or `SIGTERM` cancels it; a second one ends the process at once
//!   with status 128 + the signal's number (130 for Ctrl-C, 143 for
//!   `SIGTERM`), without running destructors: what an operator who presses
//!   Ctrl-C twice wants of a server that drains slowly. Derive per-request
//!   contexts from it.
//! - `SIGQUIT` keeps the runtime's goroutine dump: signal-hook calls the
//!   handler that was installed before it (the runtime's) before its own
//!   actions, so a program may also [`notify`] on `SIGQUIT` and still get
//!   the dump, provided a runtime started first (the runtime installs its
//!   dump only where `SIGQUIT` still has its default action).
//! - Signals that report a fault of the running code (`SIGSEGV`, `SIGBUS`,
//!   `SIGFPE`, `SIGILL`), `SIGABRT`, and the uncatchable `SIGKILL` and
//!   `SIGSTOP` are not [`Signal`]s (see there why).
//!
//! ## How
//!
//! Registration goes through `signal-hook`'s registry (it chains to
//! handlers installed before it, and keeps errno intact). The handler only
//! writes the signal's number to a pipe; a thread of baton's reads it and
//! delivers. The details, invariants and memory orderings are in `hub.rs`.
//!
//! Deadlock detection ("all goroutines are asleep") is off while that
//! thread exists, since a signal can wake any goroutine; Go's is likewise
//! silent once `signal.Notify` has been called.
//!
//! ## Differences from Go
//!
//! - Go's `Notify(c, sigs...)` adds to the set of one channel until
//!   `Stop(c)`; here each [`notify`] call is its own subscription with its
//!   own [`Notify`] handle (RAII), so two calls with one channel deliver a
//!   signal they share twice.
//! - `signal.Ignore`, `Ignored` and `Reset` are not provided.

mod hub;
mod names;
mod shutdown;
#[cfg(test)]
mod tests;

pub use names::{
    Signal, SIGALRM, SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGIO, SIGPIPE, SIGPROF, SIGQUIT, SIGTERM,
    SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGUSR1, SIGUSR2, SIGVTALRM, SIGWINCH, SIGXCPU, SIGXFSZ,
};
pub use shutdown::{notify_context, shutdown_context, Received, StopFunc};

use std::io;

use crate::chan::Sender;

/// Relays the `signals` that reach the process to `tx` (Go's
/// `signal.Notify`), until the returned [`Notify`] is dropped or stopped.
/// An empty list means every [`Signal`].
///
/// A send never blocks: a signal that finds `tx`'s channel full (or
/// closed) is dropped. The subscription holds a clone of `tx`, so the
/// channel does not read as closed while it lives.
///
/// # Panics
///
/// If the operating system refuses what the first subscription needs (a
/// pipe, a thread, `sigaction`): the message says which.
///
/// ```
/// use baton::chan;
/// use baton::signal::{self, SIGUSR1};
///
/// let (tx, rx) = chan::bounded(1);
/// let sub = signal::notify(&tx, &[SIGUSR1]);
/// signal::raise(SIGUSR1).unwrap();
/// assert_eq!(rx.recv(), Ok(SIGUSR1));
/// drop(sub); // SIGUSR1 ends the process again from here on (its default)
/// ```
pub fn notify(tx: &Sender<Signal>, signals: &[Signal]) -> Notify {
    let set = hub::SignalSet::of(signals);
    match hub::subscribe(set, hub::Target::Chan(tx.clone())) {
        Ok(id) => Notify {
            id,
            signals: set.to_vec(),
        },
        Err(e) => panic!("baton::signal::notify: cannot set up signal delivery: {e}"),
    }
}

/// A subscription made by [`notify`]: signals are relayed until it is
/// dropped or [stopped](Notify::stop).
///
/// ```
/// use baton::signal::{self, SIGUSR1};
///
/// let (tx, rx) = baton::chan::bounded(1);
/// {
///     let _sub = signal::notify(&tx, &[SIGUSR1]); // relayed while `_sub` lives
///     signal::raise(SIGUSR1).unwrap();
///     assert_eq!(rx.recv(), Ok(SIGUSR1));
/// } // dropped: SIGUSR1 has its default action again
/// ```
#[must_use = "dropping a Notify ends the delivery at once"]
#[derive(Debug)]
pub struct Notify {
    id: hub::SubId,
    signals: Vec<Signal>,
}

impl Notify {
    /// The signals relayed, in number order.
    ///
    /// ```
    /// use baton::signal::{self, SIGHUP, SIGTERM};
    ///
    /// let (tx, _rx) = baton::chan::bounded(1);
    /// let sub = signal::notify(&tx, &[SIGTERM, SIGHUP]);
    /// assert_eq!(sub.signals(), [SIGHUP, SIGTERM]);
    /// ```
    pub fn signals(&self) -> &[Signal] {
        &self.signals
    }

    /// Ends the delivery (as dropping does; Go's `signal.Stop`): once this
    /// returns, the channel gets no more signals, and each signal no other
    /// subscription wants goes back to what it did before.
    ///
    /// ```
    /// use baton::signal::{self, SIGUSR2};
    ///
    /// let (tx, _rx) = baton::chan::bounded(4);
    /// let sub = signal::notify(&tx, &[SIGUSR2]);
    /// sub.stop(); // from here on SIGUSR2 ends the process again, as before
    /// ```
    pub fn stop(self) {
        // Drop does it.
    }
}

impl Drop for Notify {
    fn drop(&mut self) {
        hub::unsubscribe(self.id);
    }
}

/// Sends `signal` to this process (`kill(getpid(), signal)`; Go's
/// `syscall.Kill(os.Getpid(), sig)`): every thread may receive it, and
/// baton's subscribers get it as if it came from outside.
///
/// ```
/// use baton::signal::{self, SIGUSR1};
///
/// let (tx, rx) = baton::chan::bounded(1);
/// let _sub = signal::notify(&tx, &[SIGUSR1]);
/// signal::raise(SIGUSR1)?;
/// assert_eq!(rx.recv(), Ok(SIGUSR1));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn raise(signal: Signal) -> io::Result<()> {
    // SAFETY: `kill` has no memory-safety preconditions; it signals our own
    // process.
    if unsafe { libc::kill(libc::getpid(), signal.number()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
