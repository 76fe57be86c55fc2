//! The time flavour: a `Receiver<Instant>` whose value is computed from the
//! clock when asked for, as crossbeam's `at`/`tick` flavours, extended with
//! stop and reset for [`Timer`](crate::time::Timer) and
//! [`Ticker`](crate::time::Ticker).
//!
//! No thread, heap or runtime timer runs on the channel's behalf: a value
//! becomes available when its instant `next` has passed, and a receiver
//! waiting for it parks with `next` as its deadline. Dropping every handle
//! thus releases everything at once, and an unread ticker holds at most one
//! due tick, like Go's one-slot ticker channel: when a tick is taken, the
//! next one is scheduled one period later, or at the first period boundary
//! after now if the receiver fell behind (missed ticks are dropped).
//!
//! # Invariants (under `state`'s lock)
//!
//! - `next = None`: nothing will ever be delivered (fired one-shot, or
//!   stopped) until a reset.
//! - `next = Some(t)`: a value `t` is available from instant `t` on; exactly
//!   one receiver takes it (it is claimed under the lock).
//! - Stop and reset change `next`, then select every registered waiter so
//!   that it re-evaluates (its deadline may have moved); waiters treat that
//!   as a retry, never as a delivery.

#![cfg_attr(loom, allow(dead_code))]

use std::time::{Duration, Instant};

use super::super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError};
use super::super::lock::SpinMutex;
use super::super::waiter::{Operation, Selected, Waiter};
use super::super::waker::SyncWaker;
use super::{Flavor, Holder, Token};
use crate::shim::Arc;

struct State {
    /// When the next value is due (see the invariants).
    next: Option<Instant>,
    /// `Some` for a ticker.
    period: Option<Duration>,
    /// Whether the timer delivered or dropped a value since its last
    /// reset (for `Timer::stop`/`reset`'s answer).
    fired: bool,
}

/// A time channel (see the module docs).
pub(crate) struct Channel {
    state: SpinMutex<State>,
    /// Receivers (and select arms) waiting, to wake on stop/reset.
    receivers: SyncWaker,
}

impl Channel {
    /// Delivers one value at `when` (`None`: never), then every `period`.
    pub(crate) fn new(when: Option<Instant>, period: Option<Duration>) -> Self {
        if let Some(p) = period {
            assert!(!p.is_zero(), "a ticker's period must be positive");
        }
        Channel {
            state: SpinMutex::new(State {
                next: when,
                period,
                fired: false,
            }),
            receivers: SyncWaker::new(),
        }
    }

    /// Takes the due value, if any.
    pub(crate) fn try_recv(&self) -> Result<Instant, TryRecvError> {
        let mut st = self.state.lock();
        match st.next {
            Some(t) if t <= Instant::now() => {
                st.next = st.period.map(|p| next_tick(t, p, Instant::now()));
                st.fired = true;
                Ok(t)
            }
            _ => Err(TryRecvError::Empty),
        }
    }

    /// Waits for the next value, at most until `deadline`.
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<Instant, RecvTimeoutError> {
        loop {
            if let Ok(t) = self.try_recv() {
                return Ok(t);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(RecvTimeoutError::Timeout);
            }
            let due = self.deadline();
            let wake = match (due, deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let mut token = Token::default();
            let _why = crate::park::wait_reason(super::reason(false));
            Waiter::with(|cx| {
                let oper = Operation::hook(&mut token);
                self.receivers.register(oper, cx);
                if self.is_ready() || self.deadline() != due {
                    let _ = cx.try_select(Selected::Aborted);
                }
                if cx.wait_until(wake) != Selected::Operation(oper) {
                    self.receivers.unregister(oper);
                }
            });
        }
    }

    /// When the next value is due.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.state.lock().next
    }

    /// Whether a value is due now.
    pub(crate) fn is_ready(&self) -> bool {
        self.state.lock().next.is_some_and(|t| t <= Instant::now())
    }

    /// Stops delivering; returns whether a value had been delivered or was
    /// due (it is discarded) since the last reset.
    pub(crate) fn stop(&self) -> bool {
        let fired = {
            let mut st = self.state.lock();
            let due = st.next.is_some_and(|t| t <= Instant::now());
            let fired = st.fired || due;
            st.next = None;
            st.fired = false;
            fired
        };
        self.receivers.select_all();
        fired
    }

    /// Delivers next at `now + d` (and every `period` after, if given or
    /// already a ticker); returns what [`stop`](Self::stop) would.
    pub(crate) fn reset(&self, d: Duration, period: Option<Duration>) -> bool {
        let now = Instant::now();
        let fired = {
            let mut st = self.state.lock();
            let due = st.next.is_some_and(|t| t <= now);
            let fired = st.fired || due;
            if let Some(p) = period {
                assert!(!p.is_zero(), "a ticker's period must be positive");
                st.period = Some(p);
            }
            st.next = now.checked_add(d);
            st.fired = false;
            fired
        };
        self.receivers.select_all();
        fired
    }
}

/// A receiver's hold on a clock channel (the channel itself is shared with
/// its `Timer` or `Ticker`, which stop and reset it). `T` is `Instant`:
/// `cast` is the identity, which is how the type system knows.
pub(crate) struct Rx<T> {
    chan: Arc<Channel>,
    cast: fn(Instant) -> T,
}

impl Rx<Instant> {
    /// A receiver's hold on `chan`.
    pub(crate) fn new(chan: Arc<Channel>) -> Self {
        Rx {
            chan,
            cast: core::convert::identity,
        }
    }
}

impl<T> Holder for Rx<T> {
    type Chan = Self;

    #[inline]
    fn chan(&self) -> &Self {
        self
    }

    /// Clock channels are not counted: they never close.
    fn acquire(&self, _send: bool) -> Self {
        Rx {
            chan: self.chan.clone(),
            cast: self.cast,
        }
    }

    fn release(&self, _send: bool) -> bool {
        false
    }

    fn same(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

/// A receive-only flavour: the send side is never asked for (`no_senders`).
impl<T> Flavor for Rx<T> {
    type Msg = T;

    super::no_send_side!();

    /// Claims the due value into the token.
    fn start_recv(&self, token: &mut Token) -> bool {
        match self.chan.try_recv() {
            Ok(t) => {
                token.timer = Some(t);
                true
            }
            Err(_) => false,
        }
    }

    /// The claimed value.
    unsafe fn read(&self, token: &mut Token) -> Result<T, ()> {
        token.timer.take().ok_or(()).map(self.cast)
    }

    /// Nothing to give back: a value taken from the clock is simply dropped.
    unsafe fn abandon_recv(&self, _token: &mut Token) {}

    #[inline]
    fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv().map(self.cast)
    }

    fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        self.chan.recv(deadline).map(self.cast)
    }

    fn register(&self, oper: Operation, cx: &Waiter, _send: bool) -> bool {
        self.chan.receivers.register(oper, cx);
        self.chan.is_ready()
    }

    fn unregister(&self, oper: Operation, _send: bool) {
        self.chan.receivers.unregister(oper);
    }

    fn is_ready(&self, _send: bool) -> bool {
        self.chan.is_ready()
    }

    fn watch(&self, oper: Operation, cx: &Waiter, _send: bool) -> bool {
        self.chan.receivers.watch(oper, cx);
        self.chan.is_ready()
    }

    fn unwatch(&self, oper: Operation, _send: bool) {
        self.chan.receivers.unwatch(oper);
    }

    /// When the next value is due: a select parks no later.
    fn deadline(&self) -> Option<Instant> {
        self.chan.deadline()
    }

    /// Clock channels never close.
    fn close(&self) -> bool {
        false
    }

    fn is_closed(&self) -> bool {
        false
    }

    /// 1 when a value is due.
    fn len(&self) -> usize {
        usize::from(self.chan.is_ready())
    }

    fn capacity(&self) -> Option<usize> {
        Some(1)
    }
}

/// The tick after the one at `t` was taken at `now`: one period later, or
/// the first period boundary after `now` if the receiver fell behind.
fn next_tick(t: Instant, period: Duration, now: Instant) -> Instant {
    let next = t + period;
    if next > now {
        return next;
    }
    let behind = now.duration_since(t).as_nanos();
    let periods = behind / period.as_nanos() + 1;
    let skip = u32::try_from(periods).unwrap_or(u32::MAX);
    t.checked_add(period.saturating_mul(skip))
        .unwrap_or(now + period)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_late_reader_gets_one_stale_tick_then_the_next_boundary() {
        let t = Instant::now();
        let p = Duration::from_millis(10);
        assert_eq!(next_tick(t, p, t), t + p);
        assert_eq!(next_tick(t, p, t + Duration::from_millis(35)), t + 4 * p);
    }

    #[test]
    fn stop_reports_fired_and_discards() {
        let ch = Channel::new(Some(Instant::now()), None);
        assert!(ch.stop(), "it was due");
        assert!(ch.try_recv().is_err(), "the due value was discarded");
        assert!(!ch.stop(), "stopped, not fired since");
        assert!(!ch.reset(Duration::ZERO, None));
        assert!(ch.try_recv().is_ok());
        assert!(ch.reset(Duration::from_secs(60), None), "it had fired");
        assert!(!ch.stop());
    }
}
