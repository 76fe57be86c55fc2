//! [`Sender`]: the sending half of a channel.

use core::fmt;
use std::time::{Duration, Instant};

use super::error::{SendError, SendTimeoutError, TrySendError};
use super::flavors::{with_flavor, AnyFlavor};

/// The sending half of a channel. Clone it to send from many places
/// (multi-producer); it is `Send + Sync` when `T: Send`.
///
/// Dropping the last `Sender` closes the channel, as does
/// [`close`](Self::close): receivers still get every value sent before,
/// then [`RecvError::Closed`](super::RecvError::Closed).
///
/// `Sender` is `UnwindSafe` and `RefUnwindSafe`: a panic anywhere, even
/// between the two phases of a selected send, leaves the channel
/// consistent (see [`SelectedOperation`](super::SelectedOperation)).
///
/// ```
/// use baton::chan;
///
/// let (tx, rx) = chan::unbounded();
/// let tx2 = tx.clone();
/// std::thread::spawn(move || tx2.send(1).unwrap());
/// tx.send(2).unwrap();
/// drop(tx);
/// let mut got: Vec<i32> = rx.iter().collect(); // ends once both senders are gone
/// got.sort();
/// assert_eq!(got, [1, 2]);
/// ```
pub struct Sender<T> {
    pub(crate) flavor: AnyFlavor<T>,
}

// A panic never leaves a channel in a broken state (see the type's docs).
impl<T> std::panic::UnwindSafe for Sender<T> {}
impl<T> std::panic::RefUnwindSafe for Sender<T> {}

impl<T> Sender<T> {
    /// Sends `value`, waiting for room (or, on a rendezvous channel, for a
    /// receiver to take it). Fails only if the channel is closed; the value
    /// is then handed back.
    ///
    /// Blocking parks the calling goroutine (freeing its worker) or thread.
    ///
    /// ```
    /// let (tx, rx) = baton::chan::bounded(1);
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.recv(), Ok(1));
    /// drop(rx);
    /// assert_eq!(tx.send(2).unwrap_err().0, 2);
    /// ```
    #[inline]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.send_inner(value, None).map_err(|e| match e {
            SendTimeoutError::Closed(v) => SendError(v),
            SendTimeoutError::Timeout(_) => unreachable!("no deadline"),
        })
    }

    /// Sends `value` if that can be done without waiting.
    ///
    /// ```
    /// use baton::chan::{bounded, TrySendError};
    /// let (tx, _rx) = bounded(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    #[inline]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        with_flavor!(&self.flavor, c => c.try_send(value))
    }

    /// As [`send`](Self::send), giving up after `timeout`.
    ///
    /// ```
    /// use baton::chan::{rendezvous, SendTimeoutError};
    /// use std::time::Duration;
    /// let (tx, _rx) = rendezvous();
    /// assert_eq!(tx.send_timeout(1, Duration::from_millis(2)), Err(SendTimeoutError::Timeout(1)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_inner(value, Instant::now().checked_add(timeout))
    }

    /// As [`send`](Self::send), giving up at `deadline`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = baton::chan::bounded(1);
    /// tx.send_deadline(1, Instant::now() + Duration::from_secs(1)).unwrap();
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn send_deadline(&self, value: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_inner(value, Some(deadline))
    }

    #[inline]
    fn send_inner(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        with_flavor!(&self.flavor, c => c.send(value, deadline))
    }

    /// Closes the channel for everyone: later sends fail (handing their
    /// values back), blocked senders wake with an error, and receivers get
    /// the values already sent, then [`RecvError::Closed`](super::RecvError::Closed).
    /// Closing twice is harmless (unlike Go, where it panics).
    ///
    /// ```
    /// use baton::chan::{bounded, RecvError};
    /// let (tx, rx) = bounded(2);
    /// tx.send(1).unwrap();
    /// tx.close();
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.recv(), Ok(1));
    /// assert_eq!(rx.recv(), Err(RecvError::Closed));
    /// ```
    pub fn close(&self) {
        with_flavor!(&self.flavor, c => {
            c.close();
        })
    }

    /// Whether the channel is closed (by [`close`](Self::close), by the last
    /// sender's drop, or because every receiver is gone).
    ///
    /// ```
    /// let (tx, rx) = baton::chan::unbounded::<i32>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        with_flavor!(&self.flavor, c => c.is_closed())
    }

    /// Values in the channel now (always 0 for a rendezvous channel).
    ///
    /// ```
    /// let (tx, _rx) = baton::chan::bounded(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        with_flavor!(&self.flavor, c => c.len())
    }

    /// Whether the channel holds no values now.
    ///
    /// ```
    /// let (tx, _rx) = baton::chan::bounded::<i32>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity: `Some(n)` for `bounded(n)` (0 for rendezvous), `None`
    /// for unbounded.
    ///
    /// ```
    /// assert_eq!(baton::chan::bounded::<i32>(4).0.capacity(), Some(4));
    /// assert_eq!(baton::chan::rendezvous::<i32>().0.capacity(), Some(0));
    /// assert_eq!(baton::chan::unbounded::<i32>().0.capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        with_flavor!(&self.flavor, c => c.capacity())
    }

    /// Whether `self` and `other` send into the same channel.
    ///
    /// ```
    /// let (tx, _rx) = baton::chan::unbounded::<i32>();
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        self.flavor.same(&other.flavor)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            flavor: self.flavor.acquire(true),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.flavor.release(true) {
            self.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.flavor.fmt_half("Sender", f)
    }
}
