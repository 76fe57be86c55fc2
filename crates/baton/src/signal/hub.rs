//! The process-wide hub between the kernel's signals and baton's
//! subscribers: one signal-hook action per signal, one self-pipe, one
//! delivery thread (`baton-signal`).
//!
//! ## The path of a signal
//!
//! 1. The kernel runs signal-hook's handler on some thread; signal-hook
//!    first calls the handler that was there before it (the runtime's
//!    `SIGQUIT` dump, a C library's), then our action, [`on_signal`].
//! 2. [`on_signal`] may only do async-signal-safe things: atomic loads and
//!    stores, `write(2)`, `_exit(2)`, re-raising. If a subscriber wants the
//!    signal (`WANTED[sig] > 0`) it writes the signal's number, one byte, to
//!    the pipe; the write end is non-blocking, so with the pipe full (64 KiB
//!    of signals nobody read) the byte is dropped, as Go drops a signal
//!    whose channel is full. If nobody wants it, it does what the signal's
//!    disposition before baton was: the default action (re-raised with
//!    signal-hook's `emulate_default_handler`: `SIGTERM` then ends the
//!    process as if baton had never been there), or nothing (ignored, or a
//!    previous handler that signal-hook has already called).
//! 3. The delivery thread reads the bytes and hands each signal to every
//!    subscriber that wants it: a channel gets a `try_send` (never blocks;
//!    dropped when full, as Go's `signal.Notify`), a callback (a context's
//!    cancel) is called.
//!
//! ## Invariants
//!
//! - `WANTED[s]` is the number of live subscriptions naming signal `s`;
//!   it changes only under the registry lock, together with the list.
//! - Once an action is registered for a signal it stays registered for the
//!   life of the process (signal-hook's handler stays installed anyway:
//!   unregistering the last action would leave the signal *ignored*, not
//!   restored; see `signal_hook_registry::unregister`). Restoring the old
//!   behaviour is [`on_signal`]'s job, through `ORIGINAL`.
//! - Channel subscribers are sent to under the registry lock, so once
//!   [`unsubscribe`] has returned, that channel gets nothing more (Go's
//!   `Stop` promise). Callbacks are called outside it, so one may
//!   subscribe or unsubscribe without deadlocking the hub.
//! - The pipe and the thread are made once and never closed.
//!
//! ## Orderings
//!
//! The handler runs on an arbitrary thread, at an arbitrary point. What it
//! reads must be published before: `PIPE_WRITE` is stored (release) before
//! the first `WANTED` increment, and every `WANTED` update is a release
//! that the handler's acquire load pairs with, so a handler that sees a
//! subscriber also sees the pipe. A signal sent *after* a subscription
//! (by `kill` from this process or another, in a order the program can
//! observe) reaches the handler through the kernel, whose signal queue
//! lock orders the sender's syscall after the subscriber's increment and
//! the handler's entry after the sending: the handler then sees the count.
//! `ORIGINAL[s]` is stored (release) before the action is registered, and
//! loaded (acquire) by the handler.
//!
//! The deadlock detector counts this thread as one it does not know, and
//! stays off while it lives — rightly: a signal can wake any goroutine (Go
//! behaves the same: a program with `signal.Notify` never reports "all
//! goroutines are asleep").

use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use super::names::Signal;
use crate::chan::Sender;
use crate::shim::atomic::{AtomicBool, AtomicI32, AtomicU8, AtomicUsize, Ordering::*};
use crate::shim::{lock, thread, Arc, Mutex};

/// Signal numbers the hub keeps state for: every [`Signal`] is below 32 on
/// Linux (the table's largest is `SIGIO`, 29 on the common targets).
const SLOTS: usize = 32;

/// Live subscriptions per signal (see the module's invariants).
static WANTED: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];

/// What a signal did before the hub first registered it: [`DEFAULT`],
/// [`IGNORED`] or [`OTHER`] (a handler signal-hook now chains to).
static ORIGINAL: [AtomicU8; SLOTS] = [const { AtomicU8::new(DEFAULT) }; SLOTS];
const DEFAULT: u8 = 0;
const IGNORED: u8 = 1;
const OTHER: u8 = 2;

/// The pipe's write end (non-blocking), -1 until the hub has started.
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// Set once [`shutdown_context`](super::shutdown_context) exists: from then
/// on a second `SIGINT`/`SIGTERM` ends the process (see [`arm_shutdown`]).
static SHUTDOWN_ARMED: AtomicBool = AtomicBool::new(false);
/// Set by the first `SIGINT`/`SIGTERM` seen while armed.
static SHUTDOWN_SEEN: AtomicBool = AtomicBool::new(false);

/// Who gets a signal.
pub(super) enum Target {
    /// `try_send` to the channel (under the registry lock).
    Chan(Sender<Signal>),
    /// Call this (outside the lock), e.g. a context's cancel.
    Call(Arc<dyn Fn(Signal) + Send + Sync>),
}

/// A set of signals as a bit mask over numbers below [`SLOTS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct SignalSet(u32);

impl SignalSet {
    /// The set of `signals`; an empty slice means every [`Signal`] (Go's
    /// `Notify` with no signals).
    pub(super) fn of(signals: &[Signal]) -> Self {
        let mut set = SignalSet(0);
        if signals.is_empty() {
            Signal::all().for_each(|s| set.0 |= bit(s));
        }
        signals.iter().for_each(|&s| set.0 |= bit(s));
        set
    }

    fn contains(self, s: Signal) -> bool {
        self.0 & bit(s) != 0
    }

    fn iter(self) -> impl Iterator<Item = Signal> {
        Signal::all().filter(move |&s| self.contains(s))
    }

    /// The signals, in number order.
    pub(super) fn to_vec(self) -> Vec<Signal> {
        self.iter().collect()
    }
}

fn bit(s: Signal) -> u32 {
    1 << slot(s)
}

fn slot(s: Signal) -> usize {
    let n = s.number() as usize;
    assert!(n < SLOTS, "signal {s:?} ({n}) is beyond the hub's table");
    n
}

/// A subscription's key, for [`unsubscribe`]; never 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct SubId(pub(super) u64);

struct Sub {
    id: SubId,
    set: SignalSet,
    target: Target,
}

#[derive(Default)]
struct Registry {
    last_id: u64,
    subs: Vec<Sub>,
    /// Signals that have our action registered (for good).
    installed: u32,
    started: bool,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Adds a subscription: from now on each signal of `set` that arrives goes
/// to `target`. Starts the hub (pipe, thread) on first use and registers
/// the action of each signal not registered before.
pub(super) fn subscribe(set: SignalSet, target: Target) -> io::Result<SubId> {
    let mut reg = lock(registry());
    if !reg.started {
        start()?;
        reg.started = true;
    }
    for s in set.iter() {
        if reg.installed & bit(s) == 0 {
            install(s)?;
            reg.installed |= bit(s);
        }
    }
    reg.last_id += 1;
    let id = SubId(reg.last_id);
    reg.subs.push(Sub { id, set, target });
    for s in set.iter() {
        // Release: see the module's orderings (the handler's acquire load).
        WANTED[slot(s)].fetch_add(1, Release);
    }
    Ok(id)
}

/// Removes a subscription; once this returns, a channel subscriber gets no
/// more signals from it. Each signal left with no subscriber goes back to
/// what it did before baton (see [`on_signal`]).
pub(super) fn unsubscribe(id: SubId) {
    let mut reg = lock(registry());
    let Some(at) = reg.subs.iter().position(|s| s.id == id) else {
        return;
    };
    let sub = reg.subs.swap_remove(at);
    for s in sub.set.iter() {
        // Release: as in `subscribe`.
        WANTED[slot(s)].fetch_sub(1, Release);
    }
    drop(reg);
    drop(sub); // a channel's last sender may go here: outside the lock
}

/// Makes the pipe and the delivery thread.
fn start() -> io::Result<()> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let [read_end, write_end] = fds;
    // SAFETY: `write_end` is the descriptor just made; setting its status
    // flags touches nothing else.
    let nonblocking = unsafe { libc::fcntl(write_end, libc::F_SETFL, libc::O_NONBLOCK) } == 0;
    let spawned = if nonblocking {
        thread::Builder::new()
            .name("baton-signal".to_owned())
            .spawn(move || deliver_from(read_end))
            .map(drop)
    } else {
        Err(io::Error::last_os_error())
    };
    if let Err(e) = spawned {
        // SAFETY: closing the two descriptors just made, which nobody uses.
        unsafe {
            libc::close(read_end);
            libc::close(write_end);
        }
        return Err(e);
    }
    // Release: see the module's orderings.
    PIPE_WRITE.store(write_end, Release);
    Ok(())
}

/// Records what `s` did before and registers [`on_signal`] for it.
fn install(s: Signal) -> io::Result<()> {
    // SAFETY: reading the current action into a zeroed struct of the right
    // type; a null new action changes nothing.
    let old = unsafe {
        let mut old: libc::sigaction = core::mem::zeroed();
        if libc::sigaction(s.number(), core::ptr::null(), &mut old) != 0 {
            return Err(io::Error::last_os_error());
        }
        old.sa_sigaction
    };
    let original = match old {
        libc::SIG_DFL => DEFAULT,
        libc::SIG_IGN => IGNORED,
        _ => OTHER,
    };
    // Release, with the handler's acquire load: as `WANTED`.
    ORIGINAL[slot(s)].store(original, Release);
    let number = s.number();
    // SAFETY: `on_signal` is async-signal-safe: it only loads and stores
    // atomics, calls `write`/`_exit`, and signal-hook's
    // `emulate_default_handler`, which is documented async-signal-safe. It
    // does not allocate, lock or panic.
    unsafe { signal_hook::low_level::register(number, move || on_signal(number)) }.map(drop)
}

/// Our part of the signal handler. Async-signal-safe (see `install`).
fn on_signal(number: libc::c_int) {
    let at = number as usize;
    if at >= SLOTS {
        return;
    }
    if (number == libc::SIGINT || number == libc::SIGTERM) && SHUTDOWN_ARMED.load(Acquire) {
        // AcqRel: the swap is the one place "first or second?" is decided.
        if SHUTDOWN_SEEN.swap(true, AcqRel) {
            second_shutdown_signal(number);
        }
    }
    if WANTED[at].load(Acquire) > 0 {
        let fd = PIPE_WRITE.load(Acquire);
        if fd >= 0 {
            let byte = number as u8;
            // SAFETY: `write` is async-signal-safe; `fd` is the pipe's write
            // end, never closed; the buffer is one byte of our stack. A full
            // pipe (EAGAIN) drops the signal, as documented.
            unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
        }
    } else if ORIGINAL[at].load(Acquire) == DEFAULT {
        // Nobody wants it: behave as before baton. For a terminating signal
        // this ends the process; for one whose default is to be ignored it
        // does nothing.
        let _ = signal_hook::low_level::emulate_default_handler(number);
    }
}

/// A second `SIGINT`/`SIGTERM` after [`arm_shutdown`]: say so on standard
/// error and end the process with status 128 + the signal's number, the
/// shell's convention for "ended by this signal" (130 for Ctrl-C).
fn second_shutdown_signal(number: libc::c_int) -> ! {
    let msg: &[u8] = if number == libc::SIGINT {
        b"baton: second interrupt during shutdown: exiting with status 130\n"
    } else {
        b"baton: second terminated during shutdown: exiting with status 143\n"
    };
    // SAFETY: `write` is async-signal-safe; the buffer is a static string.
    unsafe { libc::write(libc::STDERR_FILENO, msg.as_ptr().cast(), msg.len()) };
    // `_exit`: async-signal-safe, runs no destructors or atexit handlers
    // (which could deadlock on locks the interrupted code holds).
    signal_hook::low_level::exit(128 + number)
}

/// From now on, a `SIGINT` or `SIGTERM` that follows an earlier one ends the
/// process (see [`second_shutdown_signal`]).
pub(super) fn arm_shutdown() {
    SHUTDOWN_ARMED.store(true, Release);
}

/// The delivery thread: reads signal numbers from the pipe, hands each to
/// its subscribers.
fn deliver_from(read_end: libc::c_int) {
    let mut buf = [0u8; 64];
    loop {
        // SAFETY: reading into our own buffer, at most its length, from our
        // pipe's read end.
        let n = unsafe { libc::read(read_end, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        if n <= 0 {
            return; // cannot happen: the write end is never closed
        }
        for &b in &buf[..n as usize] {
            if let Some(s) = Signal::from_number(i32::from(b)) {
                deliver(s);
            }
        }
    }
}

/// Hands `s` to every subscriber that wants it.
fn deliver(s: Signal) {
    let mut calls = Vec::new();
    {
        let reg = lock(registry());
        for sub in reg.subs.iter().filter(|sub| sub.set.contains(s)) {
            match &sub.target {
                // Never blocks; a full or closed channel loses this signal,
                // as Go's `signal.Notify` does.
                Target::Chan(tx) => drop(tx.try_send(s)),
                Target::Call(f) => calls.push(f.clone()),
            }
        }
    }
    for f in calls {
        // A panicking callback must not end delivery for everyone else.
        if catch_unwind(AssertUnwindSafe(|| f(s))).is_err() {
            eprintln!("baton::signal: a callback panicked while handling {s:?}");
        }
    }
}

/// Live subscriptions that want `s` (for tests).
#[cfg(test)]
pub(super) fn wanted(s: Signal) -> usize {
    WANTED[slot(s)].load(Acquire)
}
