//! [`Error`]: why a context is done, and [`Cause`]: the error a
//! canceller attached to it.

use core::fmt;
use std::sync::Arc;

/// Why a context is done: the two values Go's `ctx.Err()` returns.
///
/// Displayed as Go displays them, so log lines read the same:
///
/// ```
/// use baton::context::Error;
///
/// assert_eq!(Error::Canceled.to_string(), "context canceled");
/// assert_eq!(Error::DeadlineExceeded.to_string(), "context deadline exceeded");
/// assert!(Error::DeadlineExceeded.is_timeout() && !Error::Canceled.is_timeout());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The context was cancelled: a [`CancelFunc`](super::CancelFunc) ran
    /// (or its last clone was dropped), or an ancestor was cancelled.
    Canceled,
    /// The context's deadline passed (its own or an ancestor's).
    DeadlineExceeded,
}

impl Error {
    /// Whether this is a time-out (Go's `DeadlineExceeded` has
    /// `Timeout() == true`, so `net.Error`-style checks treat it as one).
    ///
    /// ```
    /// use std::time::Duration;
    /// use baton::context;
    ///
    /// let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::ZERO);
    /// assert!(ctx.err().unwrap().is_timeout());
    /// ```
    pub fn is_timeout(self) -> bool {
        self == Error::DeadlineExceeded
    }

    /// The error as an `std::io::Error` of the matching kind
    /// (`TimedOut` for a deadline, `Interrupted` for a cancel), for code
    /// that reports I/O errors.
    ///
    /// ```
    /// use baton::context::Error;
    ///
    /// let e = Error::DeadlineExceeded.to_io();
    /// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
    /// assert_eq!(e.to_string(), "context deadline exceeded");
    /// ```
    pub fn to_io(self) -> std::io::Error {
        let kind = match self {
            Error::Canceled => std::io::ErrorKind::Interrupted,
            Error::DeadlineExceeded => std::io::ErrorKind::TimedOut,
        };
        std::io::Error::new(kind, self)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Canceled => "context canceled",
            Error::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        e.to_io()
    }
}

/// The error attached to a cancellation ([`cause`](super::cause)): the
/// one given to [`CancelCauseFunc::cancel`](super::CancelCauseFunc::cancel)
/// or to [`with_deadline_cause`](super::with_deadline_cause), else the
/// context's [`Error`] itself. Shared, so every descendant reports the
/// same value (compare with [`Arc::ptr_eq`]).
///
/// ```
/// use std::sync::Arc;
/// use baton::context::{self, Cause};
///
/// let why: Cause = Arc::new(std::io::Error::other("disk full"));
/// let (ctx, cancel) = context::with_cancel_cause(&context::background());
/// cancel.cancel(why.clone());
/// assert!(Arc::ptr_eq(&context::cause(&ctx).unwrap(), &why));
/// ```
pub type Cause = Arc<dyn std::error::Error + Send + Sync>;
