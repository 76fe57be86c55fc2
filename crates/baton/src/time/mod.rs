//! Layer 3: time, the goroutine-aware way: [`sleep`], and clock channels
//! for `select!` — [`after`], [`tick`], [`Timer`], [`Ticker`].
//!
//! In a goroutine, sleeping parks the goroutine on its worker's timer heap,
//! so the worker runs others meanwhile; in a plain thread it parks the
//! thread. (`std::thread::sleep` inside a goroutine would block its whole
//! worker.)
//!
//! # Clock channels
//!
//! [`after`], [`tick`], [`Timer`] and [`Ticker`] hand out a
//! [`Receiver<Instant>`](crate::chan::Receiver) usable anywhere a receiver
//! is (`recv`, `select!`, `Select`). Their values are computed from the
//! clock when asked for: no timer thread or heap entry runs on their
//! behalf, a receiver waiting for one parks with the due time as its
//! deadline, and dropping every handle releases everything. The value
//! received is the instant the value was due (never later than the
//! receive).
//!
//! The pitfalls Go users meet are designed out: [`Timer::stop`] and
//! [`Timer::reset`] say whether the timer had fired and discard a value
//! that was due but unread, so no channel ever needs draining; a ticker
//! nobody reads holds at most one due tick (later ones are dropped, as
//! with Go's one-slot ticker channel), never a backlog.

mod ctx;
mod ticker;
mod timer;

pub use ctx::sleep_ctx;
pub use ticker::Ticker;
pub use timer::Timer;

use std::time::{Duration, Instant};

use crate::chan::{Receiver, TimerChannel};
use crate::park;
use crate::shim::Arc;

/// A receiver that gets one value, the instant `d` from now (Go's
/// `time.After`). Dropping it releases everything.
///
/// ```
/// use std::time::{Duration, Instant};
/// use baton::{chan, select, time};
///
/// let (_tx, rx) = chan::unbounded::<i32>();
/// let start = Instant::now();
/// let timed_out = select! {
///     recv(rx) -> _ => false,
///     recv(time::after(Duration::from_millis(5))) -> _ => true,
/// };
/// assert!(timed_out && start.elapsed() >= Duration::from_millis(5));
/// ```
pub fn after(d: Duration) -> Receiver<Instant> {
    Receiver::from_timer(Arc::new(TimerChannel::new(
        Instant::now().checked_add(d),
        None,
    )))
}

/// A receiver that gets a value every `d` (Go's `time.Tick`); a reader
/// that falls behind gets one stale tick, then the next on schedule.
///
/// # Panics
///
/// If `d` is zero.
///
/// ```
/// use std::time::Duration;
/// let ticks = baton::time::tick(Duration::from_millis(1));
/// let a = ticks.recv().unwrap();
/// let b = ticks.recv().unwrap();
/// assert!(b >= a + Duration::from_millis(1));
/// ```
pub fn tick(d: Duration) -> Receiver<Instant> {
    assert!(
        !d.is_zero(),
        "baton::time::tick: the period must be positive"
    );
    Receiver::from_timer(Arc::new(TimerChannel::new(
        Instant::now().checked_add(d),
        Some(d),
    )))
}

/// Sleeps for at least `d`: parks the calling goroutine (or thread).
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let h = baton::go(|| {
///     let start = Instant::now();
///     baton::time::sleep(Duration::from_millis(5));
///     start.elapsed()
/// });
/// assert!(h.join().unwrap() >= Duration::from_millis(5));
/// ```
pub fn sleep(d: Duration) {
    match Instant::now().checked_add(d) {
        Some(deadline) => sleep_until(deadline),
        // Past the end of representable time: sleep forever.
        None => {
            let _reason = park::wait_reason(park::WaitReason::Sleep);
            loop {
                park::park();
            }
        }
    }
}

/// Sleeps until `deadline` (returns at once if it has passed).
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let deadline = Instant::now() + Duration::from_millis(2);
/// baton::time::sleep_until(deadline);
/// assert!(Instant::now() >= deadline);
/// ```
pub fn sleep_until(deadline: Instant) {
    // Wake-ups before the deadline are spurious here (a token left by some
    // earlier unpark): park again until the deadline has passed.
    let _reason = park::wait_reason(park::WaitReason::Sleep);
    while Instant::now() < deadline {
        park::park_deadline(deadline);
    }
}
