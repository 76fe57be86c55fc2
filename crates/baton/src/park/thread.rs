//! The OS-thread parker: one token per thread, in one atomic word.
//!
//! The algorithm is std's futex parker (`library/std/src/sys/sync/thread_parking/futex.rs`),
//! kept in baton so that (a) the token is baton's own: a wake meant for a
//! baton primitive is never consumed by someone else's `std::thread::park`
//! (std's mpsc channels and user code park on std's token), (b) a deadline
//! park can tell "woken" from "timed out" exactly, and (c) loom can model it.
//!
//! State table of `state` (a `u32`):
//!
//! | value          | meaning                                                      |
//! |----------------|--------------------------------------------------------------|
//! | `EMPTY` (0)    | no token, nobody parked                                      |
//! | `NOTIFIED` (1) | a token is waiting; the next park consumes it and returns    |
//! | `PARKED` (MAX) | the owner thread is parked, or about to block, in `wait`     |
//!
//! Only the owner thread moves `EMPTY -> PARKED` (`fetch_sub`) and
//! `NOTIFIED -> EMPTY`; any thread moves anything to `NOTIFIED` (`swap`).
//!
//! Orderings: `unpark` swaps with `Release` and the park paths read with
//! `Acquire`, so everything the waker wrote before `unpark` is visible to the
//! thread when its park returns because of that token (a token is a message).
//! No fence is needed around the blocking call: the futex compares the word
//! atomically with going to sleep, so an `unpark` between the `fetch_sub` and
//! the `wait` makes the `wait` return at once (the word is no longer
//! `PARKED`); the thread-park backends keep their own token, which covers the
//! same window.
//!
//! Blocking backends: Linux, outside loom: the futex on `state` itself.
//! Under loom: `loom::thread::park` (loom has no futex and no clock; see
//! [`park_deadline`](ThreadParker::park_deadline)). Other targets:
//! `std::thread::park`/`park_timeout`, whose own token only ever adds
//! spurious returns, which the loops here absorb.

use core::fmt;
use std::time::Instant;

use crate::shim::atomic::{AtomicU32, Ordering};

const EMPTY: u32 = 0;
const NOTIFIED: u32 = 1;
const PARKED: u32 = u32::MAX;

/// One thread's park token. Shared (`Arc`) between the thread and every
/// [`Unparker`](super::Unparker) made for it; only the owner thread parks.
pub(super) struct ThreadParker {
    /// See the module's state table.
    state: AtomicU32,
    /// The owner thread, to wake it where there is no futex.
    #[cfg(any(loom, not(target_os = "linux")))]
    thread: crate::shim::thread::Thread,
}

impl ThreadParker {
    /// A parker for the calling thread (no token yet).
    pub(super) fn new() -> Self {
        Self {
            state: AtomicU32::new(EMPTY),
            #[cfg(any(loom, not(target_os = "linux")))]
            thread: crate::shim::thread::current(),
        }
    }

    /// Consumes the token, blocking until there is one. Must be called by the
    /// owner thread only. Returns only because of a token (no spurious
    /// returns from here, though callers must not rely on that).
    pub(super) fn park(&self) {
        // Acquire: pairs with `unpark`'s Release when the token was there.
        // NOTIFIED -> EMPTY (return) or EMPTY -> PARKED (block below).
        if self.state.fetch_sub(1, Ordering::Acquire) == NOTIFIED {
            return;
        }
        loop {
            self.wait(None);
            // Acquire: as above. A failed CAS is a spurious wake: stay PARKED.
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Acquire)
                .is_ok()
            {
                return;
            }
        }
    }

    /// Consumes the token, blocking until there is one or `deadline` passes.
    /// Returns `true` if it timed out (no token was consumed). Owner only.
    ///
    /// Under loom there is no clock: the park does not block at all and
    /// reports "woken" exactly when a token was already there (or arrived
    /// between its two atomic steps), "timed out" otherwise. Loom's
    /// interleavings thereby explore both outcomes, including an `unpark`
    /// racing with the timeout.
    pub(super) fn park_deadline(&self, deadline: Instant) -> bool {
        if self.state.fetch_sub(1, Ordering::Acquire) == NOTIFIED {
            return false;
        }
        #[cfg(not(loom))]
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            self.wait(Some(deadline - now));
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::Acquire, Ordering::Acquire)
                .is_ok()
            {
                return false;
            }
        }
        #[cfg(loom)]
        let _ = deadline;
        // Give up: PARKED -> EMPTY; if a token came in meanwhile, take it and
        // report a wake, so a token never outlives a park that saw it.
        self.state.swap(EMPTY, Ordering::Acquire) == PARKED
    }

    /// Makes the token available and wakes the owner if it is parked. Any
    /// thread; cheap when the owner is not parked (one atomic swap).
    pub(super) fn unpark(&self) {
        // Release: publishes the waker's writes to the thread that consumes
        // the token (see the module docs).
        if self.state.swap(NOTIFIED, Ordering::Release) == PARKED {
            self.wake();
        }
    }

    #[cfg(all(not(loom), target_os = "linux"))]
    fn wait(&self, timeout: Option<core::time::Duration>) {
        futex::wait(&self.state, PARKED, timeout);
    }

    #[cfg(all(not(loom), target_os = "linux"))]
    fn wake(&self) {
        futex::wake_one(&self.state);
    }

    #[cfg(loom)]
    fn wait(&self, _timeout: Option<core::time::Duration>) {
        crate::shim::thread::park();
    }

    #[cfg(all(not(loom), not(target_os = "linux")))]
    fn wait(&self, timeout: Option<core::time::Duration>) {
        match timeout {
            None => crate::shim::thread::park(),
            Some(d) => crate::shim::thread::park_timeout(d),
        }
    }

    #[cfg(any(loom, not(target_os = "linux")))]
    fn wake(&self) {
        self.thread.unpark();
    }
}

impl fmt::Debug for ThreadParker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state.load(Ordering::Relaxed) {
            EMPTY => "empty",
            NOTIFIED => "notified",
            _ => "parked",
        };
        f.debug_struct("ThreadParker")
            .field("state", &state)
            .finish()
    }
}

/// The two futex calls the parker needs (Linux, outside loom).
#[cfg(all(not(loom), target_os = "linux"))]
mod futex {
    use core::time::Duration;

    use crate::shim::atomic::AtomicU32;

    /// Blocks while `*word == expected`, at most `timeout`. Returns on a
    /// wake, a signal, a timeout, or at once if the word differs: callers
    /// re-check the word in every case.
    pub(super) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        let ts;
        let ts_ptr = match timeout {
            None => core::ptr::null(),
            Some(d) => {
                ts = libc::timespec {
                    // Saturate absurd timeouts: waking early is always allowed.
                    tv_sec: libc::time_t::try_from(d.as_secs()).unwrap_or(libc::time_t::MAX),
                    // Below 10^9, so it fits a c_long on every target.
                    tv_nsec: d.subsec_nanos() as libc::c_long,
                };
                &ts as *const libc::timespec
            }
        };
        // SAFETY: `word` is a live, aligned 32-bit atomic for the whole call
        // (we borrow it), `ts_ptr` is null or points at `ts` on this frame;
        // FUTEX_WAIT only reads both. The result is deliberately ignored:
        // EAGAIN (word changed), EINTR and ETIMEDOUT all mean "re-check".
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                ts_ptr,
            );
        }
    }

    /// Wakes at most one thread blocked in [`wait`] on `word`.
    pub(super) fn wake_one(word: &AtomicU32) {
        // SAFETY: `word` is a live, aligned 32-bit atomic; FUTEX_WAKE does not
        // dereference it beyond hashing its address, so even a racing reuse of
        // the memory could only cause a spurious wake, which waiters absorb.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1i32,
            );
        }
    }
}
