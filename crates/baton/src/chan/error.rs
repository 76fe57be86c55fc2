//! The errors of channel operations. Every error of a send hands the value
//! back: nothing is lost.

use core::fmt;

/// A [`send`](super::Sender::send) failed because the channel is closed
/// (closed by [`Sender::close`](super::Sender::close), or every receiver is
/// gone). The value is handed back.
///
/// ```
/// let (tx, rx) = baton::chan::bounded::<String>(1);
/// drop(rx);
/// let err = tx.send("hi".to_string()).unwrap_err();
/// assert_eq!(err.into_inner(), "hi");
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

/// A [`try_send`](super::Sender::try_send) failed; the value is handed back.
///
/// ```
/// use baton::chan::{bounded, TrySendError};
///
/// let (tx, rx) = bounded(1);
/// tx.try_send(1).unwrap();
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// drop(rx);
/// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// No room now (or, on a rendezvous channel, no receiver waiting).
    Full(T),
    /// The channel is closed.
    Closed(T),
}

/// A [`send_timeout`](super::Sender::send_timeout) failed; the value is
/// handed back.
///
/// ```
/// use baton::chan::{bounded, SendTimeoutError};
/// use std::time::Duration;
///
/// let (tx, _rx) = bounded(1);
/// tx.send(1).unwrap();
/// let err = tx.send_timeout(2, Duration::from_millis(1)).unwrap_err();
/// assert_eq!(err, SendTimeoutError::Timeout(2));
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum SendTimeoutError<T> {
    /// The deadline passed first.
    Timeout(T),
    /// The channel is closed.
    Closed(T),
}

/// A [`recv`](super::Receiver::recv) failed: the channel is closed and
/// empty.
///
/// ```
/// use baton::chan::{unbounded, RecvError};
///
/// let (tx, rx) = unbounded();
/// tx.send(1).unwrap();
/// drop(tx);
/// assert_eq!(rx.recv(), Ok(1)); // values sent before the close still arrive
/// assert_eq!(rx.recv(), Err(RecvError::Closed));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum RecvError {
    /// The channel is closed and every value sent before was received.
    Closed,
}

/// A [`try_recv`](super::Receiver::try_recv) failed.
///
/// ```
/// use baton::chan::{bounded, TryRecvError};
///
/// let (tx, rx) = bounded::<i32>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// tx.close();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum TryRecvError {
    /// No value now (or, on a rendezvous channel, no sender waiting).
    Empty,
    /// The channel is closed and empty.
    Closed,
}

/// A [`recv_timeout`](super::Receiver::recv_timeout) failed.
///
/// ```
/// use baton::chan::{bounded, RecvTimeoutError};
/// use std::time::Duration;
///
/// let (_tx, rx) = bounded::<i32>(1);
/// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub enum RecvTimeoutError {
    /// The deadline passed first.
    Timeout,
    /// The channel is closed and empty.
    Closed,
}

/// [`Select::try_select`](super::Select::try_select) found no ready
/// operation.
///
/// ```
/// let (_tx, rx) = baton::chan::bounded::<i32>(1);
/// let mut sel = baton::chan::Select::new();
/// sel.recv(&rx);
/// assert!(sel.try_select().is_err());
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct TrySelectError;

/// [`Select::select_timeout`](super::Select::select_timeout) timed out.
///
/// ```
/// use std::time::Duration;
/// let (_tx, rx) = baton::chan::bounded::<i32>(1);
/// let mut sel = baton::chan::Select::new();
/// sel.recv(&rx);
/// assert!(sel.select_timeout(Duration::from_millis(1)).is_err());
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct SelectTimeoutError;

/// [`Select::try_ready`](super::Select::try_ready) found no ready
/// operation.
///
/// ```
/// let (_tx, rx) = baton::chan::bounded::<i32>(1);
/// let mut sel = baton::chan::Select::new();
/// sel.recv(&rx);
/// assert!(sel.try_ready().is_err());
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct TryReadyError;

/// [`Select::ready_timeout`](super::Select::ready_timeout) timed out.
///
/// ```
/// use std::time::Duration;
/// let (_tx, rx) = baton::chan::bounded::<i32>(1);
/// let mut sel = baton::chan::Select::new();
/// sel.recv(&rx);
/// assert!(sel.ready_timeout(Duration::from_millis(1)).is_err());
/// ```
#[derive(PartialEq, Eq, Clone, Copy, Debug)]
pub struct ReadyTimeoutError;

impl<T> SendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// let (tx, rx) = baton::chan::unbounded();
    /// tx.close();
    /// assert_eq!(tx.send(7).unwrap_err().into_inner(), 7);
    /// # drop(rx);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// let (tx, _rx) = baton::chan::rendezvous();
    /// assert_eq!(tx.try_send(7).unwrap_err().into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }

    /// Whether the channel was full.
    ///
    /// ```
    /// let (tx, _rx) = baton::chan::rendezvous();
    /// assert!(tx.try_send(7).unwrap_err().is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the channel was closed.
    ///
    /// ```
    /// let (tx, rx) = baton::chan::rendezvous();
    /// drop(rx);
    /// assert!(tx.try_send(7).unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> SendTimeoutError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = baton::chan::rendezvous();
    /// let err = tx.send_timeout(7, Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(err.into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(v) | SendTimeoutError::Closed(v) => v,
        }
    }

    /// Whether the deadline passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = baton::chan::rendezvous();
    /// assert!(tx.send_timeout(7, Duration::from_millis(1)).unwrap_err().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendTimeoutError::Timeout(_))
    }

    /// Whether the channel was closed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, rx) = baton::chan::rendezvous();
    /// drop(rx);
    /// assert!(tx.send_timeout(7, Duration::from_millis(1)).unwrap_err().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, SendTimeoutError::Closed(_))
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> Self {
        TrySendError::Closed(e.0)
    }
}

impl<T> From<SendError<T>> for SendTimeoutError<T> {
    fn from(e: SendError<T>) -> Self {
        SendTimeoutError::Closed(e.0)
    }
}

impl From<RecvError> for TryRecvError {
    fn from(_: RecvError) -> Self {
        TryRecvError::Closed
    }
}

impl From<RecvError> for RecvTimeoutError {
    fn from(_: RecvError) -> Self {
        RecvTimeoutError::Closed
    }
}

// Debug without `T: Debug`, as std's: the value is usually what matters
// least in the message.
impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

macro_rules! display {
    ($($ty:ty => $msg:expr;)*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let msg: &str = $msg(self);
                f.write_str(msg)
            }
        }
    )*};
}

display! {
    RecvError => |_| "receiving on a closed and empty channel";
    TryRecvError => |e: &TryRecvError| match e {
        TryRecvError::Empty => "receiving on an empty channel",
        TryRecvError::Closed => "receiving on a closed and empty channel",
    };
    RecvTimeoutError => |e: &RecvTimeoutError| match e {
        RecvTimeoutError::Timeout => "timed out waiting to receive",
        RecvTimeoutError::Closed => "receiving on a closed and empty channel",
    };
    TrySelectError => |_| "no operation of the select was ready";
    SelectTimeoutError => |_| "timed out waiting for an operation of the select";
    TryReadyError => |_| "no operation of the select was ready";
    ReadyTimeoutError => |_| "timed out waiting for an operation of the select to be ready";
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "sending on a full channel",
            TrySendError::Closed(_) => "sending on a closed channel",
        })
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendTimeoutError::Timeout(_) => "timed out waiting to send",
            SendTimeoutError::Closed(_) => "sending on a closed channel",
        })
    }
}

impl<T> std::error::Error for SendError<T> {}
impl<T> std::error::Error for TrySendError<T> {}
impl<T> std::error::Error for SendTimeoutError<T> {}
impl std::error::Error for RecvError {}
impl std::error::Error for TryRecvError {}
impl std::error::Error for RecvTimeoutError {}
impl std::error::Error for TrySelectError {}
impl std::error::Error for SelectTimeoutError {}
impl std::error::Error for TryReadyError {}
impl std::error::Error for ReadyTimeoutError {}
