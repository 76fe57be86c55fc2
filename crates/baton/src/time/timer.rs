//! [`Timer`]: one value after a delay, which can be stopped and reset.

use core::fmt;
use std::time::{Duration, Instant};

use crate::chan::{Receiver, TimerChannel};
use crate::shim::Arc;

/// A one-shot timer (Go's `time.Timer`): its [`receiver`](Self::receiver)
/// gets one value once the delay has passed.
///
/// [`stop`](Self::stop) and [`reset`](Self::reset) report whether the
/// timer had fired, and never leave a stale value behind: a value that was
/// due but not yet received is discarded (Go 1.23's semantics), so there
/// is nothing to drain. Dropping the timer (and its receivers) releases
/// everything; there is no timer thread.
///
/// ```
/// use baton::time::Timer;
/// use std::time::Duration;
///
/// let t = Timer::new(Duration::from_millis(2));
/// let fired_at = t.receiver().recv().unwrap();
/// assert!(t.stop(), "it had fired");
///
/// t.reset(Duration::from_secs(3600));
/// assert!(!t.stop(), "stopped before firing");
/// assert!(t.receiver().try_recv().is_err());
/// # let _ = fired_at;
/// ```
pub struct Timer {
    chan: Arc<TimerChannel>,
    rx: Receiver<Instant>,
}

impl Timer {
    /// A timer firing `d` from now.
    ///
    /// ```
    /// let t = baton::time::Timer::new(std::time::Duration::ZERO);
    /// assert!(t.receiver().recv().is_ok());
    /// ```
    pub fn new(d: Duration) -> Self {
        let chan = Arc::new(TimerChannel::new(Instant::now().checked_add(d), None));
        let rx = Receiver::from_timer(chan.clone());
        Timer { chan, rx }
    }

    /// The receiver that gets the timer's value (use it in `select!`, or
    /// clone it).
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = baton::time::Timer::new(Duration::from_secs(60));
    /// let rx = t.receiver().clone();
    /// assert!(rx.try_recv().is_err());
    /// ```
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the timer. Returns whether it had fired since it was made or
    /// last reset: `true` if its value was received or was due (a due,
    /// unreceived value is discarded), `false` if this call stopped it in
    /// time (or it was already stopped). Receivers waiting on it keep
    /// waiting (until a reset).
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = baton::time::Timer::new(Duration::from_secs(60));
    /// assert!(!t.stop());
    /// ```
    pub fn stop(&self) -> bool {
        self.chan.stop()
    }

    /// Makes the timer fire `d` from now (whatever its state); returns
    /// whether it had fired before, as [`stop`](Self::stop). A due,
    /// unreceived value is discarded, so the next value received is the
    /// new one.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = baton::time::Timer::new(Duration::ZERO);
    /// std::thread::sleep(Duration::from_millis(1));
    /// assert!(t.reset(Duration::from_millis(1)), "the first value was due");
    /// assert!(t.receiver().recv().is_ok()); // the reset's value
    /// ```
    pub fn reset(&self, d: Duration) -> bool {
        self.chan.reset(d, None)
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("due", &self.chan.deadline())
            .finish()
    }
}
