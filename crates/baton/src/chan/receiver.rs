//! [`Receiver`]: the receiving half of a channel.

use core::fmt;
use std::time::{Duration, Instant};

use crate::shim::Arc;

use super::error::{RecvError, RecvTimeoutError, TryRecvError};
use super::flavors::{timer, with_flavor, AnyFlavor};
use super::iter::{Iter, TryIter};

/// The receiving half of a channel. Clone it to receive from many places
/// (multi-consumer: each value goes to exactly one receiver); it is
/// `Send + Sync` when `T: Send`.
///
/// Dropping the last `Receiver` closes the channel: later sends fail and
/// hand their values back, and the values still buffered are dropped then
/// (nobody can receive them), not when the last `Sender` goes — as
/// crossbeam-channel does; Go keeps them until the channel is collected.
///
/// ```
/// use std::sync::Arc;
/// let v = Arc::new(());
/// let (tx, rx) = baton::chan::bounded(4);
/// tx.send(v.clone()).unwrap();
/// drop(rx); // the buffered clone is dropped here
/// assert_eq!(Arc::strong_count(&v), 1);
/// assert!(tx.send(v.clone()).is_err()); // and a later send gets its value back
/// ```
///
/// `Receiver` is `UnwindSafe` and `RefUnwindSafe`: a panic anywhere, even
/// between the two phases of a selected operation, leaves the channel
/// consistent (an abandoned operation is released, see
/// [`SelectedOperation`](super::SelectedOperation)), so a channel shared
/// across `catch_unwind` is safe to keep using.
///
/// ```
/// let (tx, rx) = baton::chan::bounded(8);
/// let rx2 = rx.clone();
/// for i in 0..4 { tx.send(i).unwrap(); }
/// drop(tx);
/// let mut got: Vec<i32> = rx.iter().chain(rx2.iter()).collect();
/// got.sort();
/// assert_eq!(got, [0, 1, 2, 3]);
/// ```
pub struct Receiver<T> {
    pub(crate) flavor: AnyFlavor<T>,
}

// A panic never leaves a channel in a broken state (see the type's docs).
impl<T> std::panic::UnwindSafe for Receiver<T> {}
impl<T> std::panic::RefUnwindSafe for Receiver<T> {}

impl<T> Receiver<T> {
    /// Receives a value, waiting for one. Fails only once the channel is
    /// closed and every value sent before the close has been received.
    ///
    /// Blocking parks the calling goroutine (freeing its worker) or thread.
    ///
    /// ```
    /// let (tx, rx) = baton::chan::rendezvous();
    /// let h = baton::go(move || tx.send("hi").unwrap());
    /// assert_eq!(rx.recv(), Ok("hi"));
    /// h.join().unwrap();
    /// assert!(rx.recv().is_err()); // the sender is gone
    /// ```
    #[inline]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_inner(None).map_err(|e| match e {
            RecvTimeoutError::Closed => RecvError::Closed,
            RecvTimeoutError::Timeout => unreachable!("no deadline"),
        })
    }

    /// Receives a value if one is there now.
    ///
    /// ```
    /// use baton::chan::{bounded, TryRecvError};
    /// let (tx, rx) = bounded(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(5).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        with_flavor!(&self.flavor, c => c.try_recv())
    }

    /// As [`recv`](Self::recv), giving up after `timeout`.
    ///
    /// ```
    /// use baton::chan::{unbounded, RecvTimeoutError};
    /// use std::time::Duration;
    /// let (_tx, rx) = unbounded::<i32>();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(2)), Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_inner(Instant::now().checked_add(timeout))
    }

    /// As [`recv`](Self::recv), giving up at `deadline`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = baton::chan::unbounded();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.recv_deadline(Instant::now() + Duration::from_secs(1)), Ok(1));
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_inner(Some(deadline))
    }

    #[inline]
    fn recv_inner(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        with_flavor!(&self.flavor, c => c.recv(deadline))
    }

    /// A blocking iterator over received values; it ends when the channel
    /// is closed and drained (Go's `for v := range ch`). `for v in &rx`
    /// does the same.
    ///
    /// ```
    /// let (tx, rx) = baton::chan::unbounded();
    /// for i in 0..3 { tx.send(i).unwrap(); }
    /// drop(tx);
    /// let mut sum = 0;
    /// for v in &rx { sum += v; }
    /// assert_eq!(sum, 3);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// An iterator over the values there now; it never waits.
    ///
    /// ```
    /// let (tx, rx) = baton::chan::unbounded();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(rx.try_iter().count(), 0); // tx is still open: not an end
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }

    /// Values in the channel now (a clock channel: 1 when due).
    ///
    /// ```
    /// let (tx, rx) = baton::chan::unbounded();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        with_flavor!(&self.flavor, c => c.len())
    }

    /// Whether no value is there now.
    ///
    /// ```
    /// let (_tx, rx) = baton::chan::bounded::<i32>(1);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity: `Some(n)` for `bounded(n)` (0 for rendezvous and
    /// [`never`](super::never), 1 for a clock channel), `None` for unbounded.
    ///
    /// ```
    /// assert_eq!(baton::chan::bounded::<u8>(3).1.capacity(), Some(3));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        with_flavor!(&self.flavor, c => c.capacity())
    }

    /// Whether the channel is closed (values sent before may still be
    /// waiting to be received). Clock channels and [`never`](super::never)
    /// never close.
    ///
    /// ```
    /// let (tx, rx) = baton::chan::bounded(1);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn is_closed(&self) -> bool {
        with_flavor!(&self.flavor, c => c.is_closed())
    }

    /// Whether `self` and `other` receive from the same channel.
    ///
    /// ```
    /// let (_tx, rx) = baton::chan::unbounded::<i32>();
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        self.flavor.same(&other.flavor)
    }
}

impl Receiver<Instant> {
    /// A clock channel's receiver.
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn from_timer(chan: Arc<timer::Channel>) -> Self {
        Receiver {
            flavor: AnyFlavor::Timer(timer::Rx::new(chan)),
        }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver {
            flavor: self.flavor.acquire(false),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // The last receiver: nobody can receive the buffered values any
        // more, so they are dropped now (as crossbeam does), not when the
        // last sender goes.
        if self.flavor.release(false) {
            with_flavor!(&self.flavor, c => c.close_receivers());
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.flavor.fmt_half("Receiver", f)
    }
}
