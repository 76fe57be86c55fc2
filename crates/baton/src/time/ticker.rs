//! [`Ticker`]: a value every period, which can be stopped and reset.

use core::fmt;
use std::time::{Duration, Instant};

use crate::chan::{Receiver, TimerChannel};
use crate::shim::Arc;

/// A periodic timer (Go's `time.Ticker`): its [`receiver`](Self::receiver)
/// gets a value every period. A reader that falls behind gets one stale
/// tick, then the next tick on schedule: ticks nobody reads do not pile up.
/// Dropping it (and its receivers) releases everything.
///
/// ```
/// use baton::time::Ticker;
/// use std::time::Duration;
///
/// let t = Ticker::new(Duration::from_millis(1));
/// for _ in 0..3 {
///     t.receiver().recv().unwrap();
/// }
/// t.stop();
/// assert!(t.receiver().recv_timeout(Duration::from_millis(5)).is_err());
/// ```
pub struct Ticker {
    chan: Arc<TimerChannel>,
    rx: Receiver<Instant>,
}

impl Ticker {
    /// A ticker with period `d`; the first tick is `d` from now.
    ///
    /// # Panics
    ///
    /// If `d` is zero.
    ///
    /// ```
    /// let t = baton::time::Ticker::new(std::time::Duration::from_millis(1));
    /// assert!(t.receiver().recv().is_ok());
    /// ```
    pub fn new(d: Duration) -> Self {
        assert!(
            !d.is_zero(),
            "baton::time::Ticker::new: the period must be positive"
        );
        let chan = Arc::new(TimerChannel::new(Instant::now().checked_add(d), Some(d)));
        let rx = Receiver::from_timer(chan.clone());
        Ticker { chan, rx }
    }

    /// The receiver that gets the ticks.
    ///
    /// ```
    /// let t = baton::time::Ticker::new(std::time::Duration::from_secs(60));
    /// assert!(t.receiver().try_recv().is_err());
    /// ```
    pub fn receiver(&self) -> &Receiver<Instant> {
        &self.rx
    }

    /// Stops the ticks (a due, unreceived tick is discarded).
    ///
    /// ```
    /// let t = baton::time::Ticker::new(std::time::Duration::from_millis(1));
    /// t.stop();
    /// std::thread::sleep(std::time::Duration::from_millis(3));
    /// assert!(t.receiver().try_recv().is_err());
    /// ```
    pub fn stop(&self) {
        self.chan.stop();
    }

    /// Restarts the ticks with period `d`, the first one `d` from now.
    ///
    /// # Panics
    ///
    /// If `d` is zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// let t = baton::time::Ticker::new(Duration::from_secs(60));
    /// t.reset(Duration::from_millis(1));
    /// assert!(t.receiver().recv().is_ok());
    /// ```
    pub fn reset(&self, d: Duration) {
        assert!(
            !d.is_zero(),
            "baton::time::Ticker::reset: the period must be positive"
        );
        self.chan.reset(d, Some(d));
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ticker")
            .field("next", &self.chan.deadline())
            .finish()
    }
}
