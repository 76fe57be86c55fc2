//! Status codes, their names, the per-thread last error, and the guard
//! every entry point runs its body under (panics and errors to codes).

// `c"..."` literals would be shorter, but Debian's cbindgen (0.24, the one
// CI installs) cannot parse them: byte strings with an explicit NUL instead.
#![allow(clippy::manual_c_str_literals)]

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use baton::collections::HandleError;

/// A call's outcome: `BATON_OK` (0) or one of the `BATON_ERR_*` codes.
///
/// A plain integer, not a Rust enum, so that any value C passes to
/// [`baton_strerror`] is well defined.
///
/// ```
/// use baton_ffi::{baton_strerror, BATON_OK};
/// // SAFETY: `baton_strerror` returns a static NUL-terminated string.
/// let name = unsafe { std::ffi::CStr::from_ptr(baton_strerror(BATON_OK)) };
/// assert_eq!(name.to_str(), Ok("ok"));
/// ```
pub type baton_status = i32;

/// Success.
pub const BATON_OK: baton_status = 0;
/// A required pointer argument (object or out-parameter) was `NULL`.
pub const BATON_ERR_NULL_POINTER: baton_status = 1;
/// An argument is out of its domain (unknown flag bits, a capacity with
/// `BATON_CHAN_UNBOUNDED`, data `NULL` with a non-zero length).
pub const BATON_ERR_INVALID_ARGUMENT: baton_status = 2;
/// The handle was never issued by a registry (0, forged, corrupted).
pub const BATON_ERR_INVALID_HANDLE: baton_status = 3;
/// The handle's value was removed (the handle is stale).
pub const BATON_ERR_STALE_HANDLE: baton_status = 4;
/// The handle was issued by another registry.
pub const BATON_ERR_WRONG_MAP: baton_status = 5;
/// All 4095 registry tags are held by live registries: free one.
pub const BATON_ERR_TOO_MANY_MAPS: baton_status = 6;
/// The channel is closed (and, for a receive, drained).
pub const BATON_ERR_CLOSED: baton_status = 7;
/// A `try_send` found no room (or, on a rendezvous channel, no receiver).
pub const BATON_ERR_FULL: baton_status = 8;
/// A `try_recv` found no message (or, on a rendezvous channel, no sender).
pub const BATON_ERR_EMPTY: baton_status = 9;
/// A `_timeout` call's time ran out first.
pub const BATON_ERR_TIMEOUT: baton_status = 10;
/// The caller's buffer is smaller than the message: `*out_len` holds the
/// message's length and the message is kept for the next receive.
pub const BATON_ERR_BUFFER_TOO_SMALL: baton_status = 11;
/// Memory for a message could not be allocated.
pub const BATON_ERR_NO_MEMORY: baton_status = 12;
/// baton panicked inside the call (a bug): see [`baton_last_error`].
pub const BATON_ERR_PANIC: baton_status = 13;

/// The name of a status code as a static NUL-terminated string (never
/// `NULL`; an unknown code gives `"unknown baton_status"`).
///
/// ```
/// use baton_ffi::{baton_strerror, BATON_ERR_STALE_HANDLE};
/// // SAFETY: `baton_strerror` returns a static NUL-terminated string.
/// let s = unsafe { std::ffi::CStr::from_ptr(baton_strerror(BATON_ERR_STALE_HANDLE)) };
/// assert_eq!(s.to_str(), Ok("stale handle: its value was removed"));
/// assert!(!baton_strerror(-1).is_null());
/// ```
#[no_mangle]
pub extern "C" fn baton_strerror(status: baton_status) -> *const c_char {
    let s: &'static [u8] = match status {
        BATON_OK => b"ok\0",
        BATON_ERR_NULL_POINTER => b"null pointer argument\0",
        BATON_ERR_INVALID_ARGUMENT => b"invalid argument\0",
        BATON_ERR_INVALID_HANDLE => b"invalid handle: never issued by a registry\0",
        BATON_ERR_STALE_HANDLE => b"stale handle: its value was removed\0",
        BATON_ERR_WRONG_MAP => b"handle from a different registry\0",
        BATON_ERR_TOO_MANY_MAPS => b"too many live registries (4095)\0",
        BATON_ERR_CLOSED => b"channel closed\0",
        BATON_ERR_FULL => b"channel full\0",
        BATON_ERR_EMPTY => b"channel empty\0",
        BATON_ERR_TIMEOUT => b"timed out\0",
        BATON_ERR_BUFFER_TOO_SMALL => b"buffer too small for the message\0",
        BATON_ERR_NO_MEMORY => b"out of memory\0",
        BATON_ERR_PANIC => b"baton panicked (a bug): see baton_last_error\0",
        _ => b"unknown baton_status\0",
    };
    debug_assert_eq!(s.last(), Some(&0), "strerror names end with NUL");
    s.as_ptr().cast()
}

thread_local! {
    /// This thread's last failure: "call: detail". Written only by this
    /// thread's failing calls; read through `baton_last_error`.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// The detail of the calling thread's last failed call (`"baton_chan_recv:
/// out_len is NULL"`), or `""` if no call on this thread has failed. Set
/// only by failures (a success leaves it alone, like `errno`). The string
/// is valid until the next failing call on this thread; copy it to keep it.
///
/// From Go, where a goroutine may change threads between two cgo calls,
/// rely on the status code instead.
///
/// ```
/// use baton_ffi::{baton_handles_get, baton_last_error, BATON_ERR_NULL_POINTER};
/// let mut out = std::ptr::null_mut();
/// // SAFETY: a null map is an error the call reports; `baton_last_error` returns this thread's NUL-terminated message, valid until its next call.
/// assert_eq!(unsafe { baton_handles_get(std::ptr::null(), 1, &mut out) }, BATON_ERR_NULL_POINTER);
/// let msg = unsafe { std::ffi::CStr::from_ptr(baton_last_error()) };
/// assert_eq!(msg.to_str(), Ok("baton_handles_get: map is NULL"));
/// ```
#[no_mangle]
pub extern "C" fn baton_last_error() -> *const c_char {
    // A CString's buffer is heap memory owned by the thread-local; it stays
    // where it is until `set_last_error` replaces the CString on this
    // thread, which is what the doc promises.
    LAST_ERROR
        .try_with(|e| e.borrow().as_ptr())
        .unwrap_or(b"\0".as_ptr().cast())
}

fn set_last_error(call: &str, detail: &str) {
    let text = format!("{call}: {detail}").replace('\0', "\\0");
    let text = CString::new(text).expect("NULs were replaced");
    // During thread teardown the thread-local may be gone: the detail is
    // then dropped, the status code still says what happened.
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = text);
}

/// A failure inside an entry point: its code and the detail for
/// `baton_last_error`.
#[derive(Debug)]
pub(crate) struct Error {
    pub(crate) status: baton_status,
    pub(crate) detail: String,
}

impl Error {
    pub(crate) fn new(status: baton_status, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }

    /// `what is NULL`.
    pub(crate) fn null(what: &str) -> Self {
        Self::new(BATON_ERR_NULL_POINTER, format!("{what} is NULL"))
    }
}

impl From<HandleError> for Error {
    fn from(e: HandleError) -> Self {
        let status = match e {
            HandleError::Invalid => BATON_ERR_INVALID_HANDLE,
            HandleError::Stale => BATON_ERR_STALE_HANDLE,
            HandleError::WrongMap => BATON_ERR_WRONG_MAP,
        };
        Self::new(status, e.to_string())
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "panic with a non-string payload"
    }
}

/// Runs the body of entry point `call`: its error becomes `fail` (the
/// call's failure value) with the detail recorded, and so does a panic,
/// which never crosses into C.
pub(crate) fn guard<R>(
    call: &str,
    fail: impl FnOnce(baton_status) -> R,
    body: impl FnOnce() -> Result<R, Error>,
) -> R {
    // AssertUnwindSafe: after a panic the caller gets an error, and every
    // object an entry point touches stays consistent across a panic (baton's
    // locks and channels are built for panicking users).
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            set_last_error(call, &e.detail);
            fail(e.status)
        }
        Err(payload) => {
            set_last_error(call, &format!("panicked: {}", panic_message(&*payload)));
            fail(BATON_ERR_PANIC)
        }
    }
}

/// [`guard`] for calls that return a status.
pub(crate) fn guard_status(call: &str, body: impl FnOnce() -> Result<(), Error>) -> baton_status {
    guard(call, |s| s, || body().map(|()| BATON_OK))
}

/// `p` as a reference, or an error naming `what`.
///
/// # Safety
///
/// `p` is `NULL` or valid for reads of `T` for `'a`.
pub(crate) unsafe fn deref<'a, T>(p: *const T, what: &str) -> Result<&'a T, Error> {
    // SAFETY: the caller's contract: NULL or valid.
    unsafe { p.as_ref() }.ok_or_else(|| Error::null(what))
}

/// Checks that out-parameter `p` is not `NULL`.
pub(crate) fn out_param<T>(p: *mut T, what: &str) -> Result<*mut T, Error> {
    if p.is_null() {
        Err(Error::null(what))
    } else {
        Ok(p)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::ffi::CStr;
    use std::time::Duration;

    use super::*;

    /// Runs `f` under a watchdog: if it has not returned within `limit`,
    /// the process aborts with a message instead of hanging the test run.
    pub(crate) fn within<R>(limit: Duration, f: impl FnOnce() -> R) -> R {
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
                eprintln!("no progress within {limit:?} (a lost wake-up?); aborting");
                std::process::abort();
            }
        });
        let r = f();
        drop(done);
        watchdog.join().unwrap();
        r
    }

    fn last_error() -> String {
        // SAFETY: baton_last_error returns a NUL-terminated string valid
        // until this thread's next failing call.
        unsafe { CStr::from_ptr(baton_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_baton_err_panic_with_its_message() {
        let status = guard_status("baton_test_call", || panic!("invariant broke"));
        assert_eq!(status, BATON_ERR_PANIC);
        assert_eq!(last_error(), "baton_test_call: panicked: invariant broke");
        let value = guard(
            "baton_test_value",
            |_| 0u64,
            || panic!("{}", String::from("formatted")),
        );
        assert_eq!(value, 0);
        assert_eq!(last_error(), "baton_test_value: panicked: formatted");
    }

    #[test]
    fn success_leaves_the_last_error_alone_and_errors_replace_it() {
        assert_eq!(
            guard_status("a", || Err(Error::null("x"))),
            BATON_ERR_NULL_POINTER
        );
        assert_eq!(last_error(), "a: x is NULL");
        assert_eq!(guard_status("b", || Ok(())), BATON_OK);
        assert_eq!(last_error(), "a: x is NULL");
        assert_eq!(
            guard_status("c", || Err(Error::new(BATON_ERR_FULL, "nul\0inside"))),
            BATON_ERR_FULL
        );
        assert_eq!(last_error(), "c: nul\\0inside");
    }

    #[test]
    fn every_code_has_a_name() {
        for s in BATON_OK..=BATON_ERR_PANIC {
            // SAFETY: baton_strerror returns a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(baton_strerror(s)) }
                .to_str()
                .unwrap();
            assert_ne!(name, "unknown baton_status", "code {s}");
        }
    }
}
