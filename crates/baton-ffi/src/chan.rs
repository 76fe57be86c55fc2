//! Byte-message channels over [`baton::chan`]: each message is a copy of
//! the sender's bytes, in a buffer of its own.
//!
//! A `baton_chan` is both ends of one channel: any thread may send and
//! receive. Sends copy the caller's bytes (the caller keeps its buffer);
//! receives either copy into the caller's buffer ([`baton_chan_recv`] and
//! its `try_`/`_timeout` variants) or hand over the message's own buffer
//! ([`baton_chan_recv_owned`] and variants), which the caller frees with
//! [`baton_buf_free`]. Messages are received in the order they were sent
//! (per sender), each exactly once.
//!
//! # A message too big for the caller's buffer
//!
//! The receive has already taken the message when it finds the caller's
//! buffer too small, so the message goes to a per-channel *returned* list,
//! which every receive empties before it takes from the channel; the call
//! returns `BATON_ERR_BUFFER_TOO_SMALL` with the length in `*out_len`, and
//! the caller retries with a larger buffer (or with an owned receive). A
//! receive already blocked on an empty channel does not see a message
//! returned meanwhile until it wakes (a message, the close, its timeout):
//! then it takes the returned message instead of reporting `CLOSED`,
//! `EMPTY` or `TIMEOUT`, so "closed" always means "closed and drained". The returned list is guarded
//! by its mutex; `returned_count` (its length, written under the mutex) lets
//! a receive skip the mutex when the list is empty. It is read `Relaxed`:
//! the thread that returned a message sees its own write (program order),
//! and a thread that learned of it from that thread synchronised with it;
//! any other receive is concurrent with the return, and taking the next
//! message from the channel instead is one of its allowed outcomes.

use std::collections::VecDeque;
use std::ffi::c_void;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use baton::chan::{
    self as bchan, Receiver, RecvTimeoutError, SendTimeoutError, Sender, TryRecvError, TrySendError,
};

use crate::status::{deref, guard, guard_status, out_param, Error};
use crate::{
    baton_status, BATON_ERR_BUFFER_TOO_SMALL, BATON_ERR_CLOSED, BATON_ERR_EMPTY, BATON_ERR_FULL,
    BATON_ERR_INVALID_ARGUMENT, BATON_ERR_NO_MEMORY, BATON_ERR_TIMEOUT,
};

/// `baton_chan_new` flag: an unbounded channel (the capacity must be 0).
pub const BATON_CHAN_UNBOUNDED: u32 = 1;
/// Every flag `baton_chan_new` knows.
const KNOWN_FLAGS: u32 = BATON_CHAN_UNBOUNDED;

/// A channel of byte messages, both ends. Create with [`baton_chan_new`],
/// free with [`baton_chan_free`]; usable from any number of threads at
/// once in between.
pub struct baton_chan {
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    /// Messages taken by a receive whose buffer was too small; received
    /// before the channel's own (see the module docs).
    returned: Mutex<VecDeque<Msg>>,
    /// `returned`'s length; written under its mutex, read without it.
    returned_count: AtomicUsize,
}

impl std::fmt::Debug for baton_chan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("baton_chan")
            .field("capacity", &self.tx.capacity())
            .finish_non_exhaustive()
    }
}

/// One message: `len` bytes in a `malloc`ed buffer (`None` when empty), so
/// that an owned receive hands the buffer over as it is.
struct Msg {
    buf: Option<NonNull<u8>>,
    len: usize,
}

// SAFETY: a `Msg` owns its buffer exclusively (no aliases), like a `Vec<u8>`.
unsafe impl Send for Msg {}

impl Msg {
    /// A copy of `data[..len]`.
    ///
    /// # Safety
    ///
    /// `data` is valid for reads of `len` bytes (any value when `len` is 0).
    unsafe fn copy_of(data: *const u8, len: usize) -> Result<Self, Error> {
        if len == 0 {
            return Ok(Self { buf: None, len });
        }
        // SAFETY: malloc with a non-zero size; the result is checked.
        let buf = NonNull::new(unsafe { libc::malloc(len) }.cast::<u8>()).ok_or_else(|| {
            Error::new(
                BATON_ERR_NO_MEMORY,
                format!("malloc of a {len}-byte message failed"),
            )
        })?;
        // SAFETY: `data` is readable for `len` bytes (the contract), `buf`
        // writable for `len` bytes (just allocated), and they do not overlap.
        unsafe { ptr::copy_nonoverlapping(data, buf.as_ptr(), len) };
        Ok(Self {
            buf: Some(buf),
            len,
        })
    }

    /// The buffer, for the caller to free with `baton_buf_free`.
    fn into_raw(self) -> (*mut u8, usize) {
        let me = std::mem::ManuallyDrop::new(self);
        (me.buf.map_or(ptr::null_mut(), NonNull::as_ptr), me.len)
    }
}

impl Drop for Msg {
    fn drop(&mut self) {
        if let Some(buf) = self.buf {
            // SAFETY: `buf` came from `malloc` and is owned by this message
            // alone (`into_raw` skips this drop).
            unsafe { libc::free(buf.as_ptr().cast()) }
        }
    }
}

/// How long a call may wait.
#[derive(Clone, Copy)]
enum Wait {
    No,
    Forever,
    For(Duration),
}

impl baton_chan {
    fn send(&self, msg: Msg, wait: Wait) -> Result<(), Error> {
        let closed = || Error::new(BATON_ERR_CLOSED, "the channel is closed");
        match wait {
            Wait::No => self.tx.try_send(msg).map_err(|e| match e {
                TrySendError::Full(_) => {
                    Error::new(BATON_ERR_FULL, "no room (rendezvous: no receiver waiting)")
                }
                TrySendError::Closed(_) => closed(),
            }),
            Wait::Forever => self.tx.send(msg).map_err(|_| closed()),
            Wait::For(d) => self.tx.send_timeout(msg, d).map_err(|e| match e {
                SendTimeoutError::Timeout(_) => {
                    Error::new(BATON_ERR_TIMEOUT, format!("no room within {d:?}"))
                }
                SendTimeoutError::Closed(_) => closed(),
            }),
        }
    }

    fn recv(&self, wait: Wait) -> Result<Msg, Error> {
        if let Some(msg) = self.take_returned() {
            return Ok(msg);
        }
        let closed = || Error::new(BATON_ERR_CLOSED, "the channel is closed and drained");
        let got = match wait {
            Wait::No => self.rx.try_recv().map_err(|e| match e {
                TryRecvError::Empty => Error::new(
                    BATON_ERR_EMPTY,
                    "no message (rendezvous: no sender waiting)",
                ),
                TryRecvError::Closed => closed(),
            }),
            Wait::Forever => self.rx.recv().map_err(|_| closed()),
            Wait::For(d) => self.rx.recv_timeout(d).map_err(|e| match e {
                RecvTimeoutError::Timeout => {
                    Error::new(BATON_ERR_TIMEOUT, format!("no message within {d:?}"))
                }
                RecvTimeoutError::Closed => closed(),
            }),
        };
        // A message returned while this call waited is still there: take it
        // rather than report empty, timed out or (worse) closed and drained.
        got.or_else(|e| self.take_returned().ok_or(e))
    }

    /// The first returned message, if any (see the module docs).
    fn take_returned(&self) -> Option<Msg> {
        if self.returned_count.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut returned = self.returned.lock().unwrap_or_else(|p| p.into_inner());
        let msg = returned.pop_front();
        self.returned_count.store(returned.len(), Ordering::Relaxed);
        msg
    }

    /// Puts `msg` back at the front, for the next receive.
    fn give_back(&self, msg: Msg) {
        let mut returned = self.returned.lock().unwrap_or_else(|p| p.into_inner());
        returned.push_front(msg);
        self.returned_count.store(returned.len(), Ordering::Relaxed);
    }
}

/// A new channel, or `NULL` on a bad argument (see `baton_last_error`).
/// `capacity` 0 without flags is a rendezvous channel (a send waits for a
/// receive); `capacity` n > 0 a buffered one; `flags` =
/// `BATON_CHAN_UNBOUNDED` with `capacity` 0 an unbounded one. Unknown flag
/// bits, or a capacity with `BATON_CHAN_UNBOUNDED`, are errors.
///
/// ```
/// use baton_ffi::*;
/// // SAFETY: each channel is used only while live and freed once; buffers outlive the calls.
/// unsafe {
///     let ch = baton_chan_new(4, 0);
///     assert!(!ch.is_null());
///     assert!(baton_chan_new(4, BATON_CHAN_UNBOUNDED).is_null());
///     assert!(baton_chan_new(0, 0x80).is_null());
///     baton_chan_free(ch);
/// }
/// ```
#[no_mangle]
pub extern "C" fn baton_chan_new(capacity: usize, flags: u32) -> *mut baton_chan {
    guard(
        "baton_chan_new",
        |_| ptr::null_mut(),
        || {
            if flags & !KNOWN_FLAGS != 0 {
                return Err(Error::new(
                    BATON_ERR_INVALID_ARGUMENT,
                    format!("unknown flag bits {:#x}", flags & !KNOWN_FLAGS),
                ));
            }
            let (tx, rx) = if flags & BATON_CHAN_UNBOUNDED != 0 {
                if capacity != 0 {
                    return Err(Error::new(
                        BATON_ERR_INVALID_ARGUMENT,
                        format!("capacity {capacity} with BATON_CHAN_UNBOUNDED (must be 0)"),
                    ));
                }
                bchan::unbounded()
            } else if capacity == 0 {
                bchan::rendezvous()
            } else {
                bchan::bounded(capacity)
            };
            Ok(Box::into_raw(Box::new(baton_chan {
                tx,
                rx,
                returned: Mutex::new(VecDeque::new()),
                returned_count: AtomicUsize::new(0),
            })))
        },
    )
}

/// The body of every send.
///
/// # Safety
///
/// As [`baton_chan_send`].
unsafe fn send(
    call: &str,
    ch: *const baton_chan,
    data: *const u8,
    len: usize,
    wait: Wait,
) -> baton_status {
    guard_status(call, || {
        // SAFETY: the caller's contract.
        let ch = unsafe { deref(ch, "ch") }?;
        if data.is_null() && len != 0 {
            return Err(Error::new(
                BATON_ERR_INVALID_ARGUMENT,
                format!("data is NULL with len {len}"),
            ));
        }
        // SAFETY: `data` is readable for `len` bytes (the contract; checked
        // non-NULL when `len` > 0).
        let msg = unsafe { Msg::copy_of(data, len) }?;
        ch.send(msg, wait)
    })
}

/// Sends a copy of `data[0..len]`, blocking while the channel is full.
/// `BATON_OK`, or `BATON_ERR_CLOSED` (the message is dropped; the caller
/// still has its bytes), `BATON_ERR_NULL_POINTER`, `BATON_ERR_INVALID_ARGUMENT`
/// (`data` `NULL` with `len` > 0), `BATON_ERR_NO_MEMORY`.
///
/// # Safety
///
/// `ch` is `NULL` or a live channel; `data` is valid for reads of `len`
/// bytes (`NULL` allowed when `len` is 0).
///
/// ```
/// use baton_ffi::*;
/// // SAFETY: `ch` is live until `baton_chan_free`; the message pointer and length describe `b"hi"`.
/// unsafe {
///     let ch = baton_chan_new(1, 0);
///     assert_eq!(baton_chan_send(ch, b"hi".as_ptr(), 2), BATON_OK);
///     baton_chan_free(ch);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_chan_send(
    ch: *const baton_chan,
    data: *const u8,
    len: usize,
) -> baton_status {
    // SAFETY: the same contract.
    unsafe { send("baton_chan_send", ch, data, len, Wait::Forever) }
}

/// [`baton_chan_send`] without waiting: `BATON_ERR_FULL` when there is no
/// room now (on a rendezvous channel: no receiver waiting).
///
/// # Safety
///
/// As [`baton_chan_send`].
///
/// ```
/// use baton_ffi::*;
/// unsafe {
///     let ch = baton_chan_new(1, 0);
///     assert_eq!(baton_chan_try_send(ch, b"a".as_ptr(), 1), BATON_OK);
///     assert_eq!(baton_chan_try_send(ch, b"b".as_ptr(), 1), BATON_ERR_FULL);
///     baton_chan_free(ch);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_chan_try_send(
    ch: *const baton_chan,
    data: *const u8,
    len: usize,
) -> baton_status {
    // SAFETY: the same contract.
    unsafe { send("baton_chan_try_send", ch, data, len, Wait::No) }
}

/// [`baton_chan_send`] waiting at most `timeout_ns` nanoseconds:
/// `BATON_ERR_TIMEOUT` if there was no room by then.
///
/// # Safety
///
/// As [`baton_chan_send`].
///
/// ```
/// use baton_ffi::*;
/// unsafe {
///     let ch = baton_chan_new(0, 0); // rendezvous, nobody receiving
///     assert_eq!(baton_chan_send_timeout(ch, b"a".as_ptr(), 1, 1_000_000), BATON_ERR_TIMEOUT);
///     baton_chan_free(ch);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_chan_send_timeout(
    ch: *const baton_chan,
    data: *const u8,
    len: usize,
    timeout_ns: u64,
) -> baton_status {
    // SAFETY: the same contract.
    unsafe {
        send(
            "baton_chan_send_timeout",
            ch,
            data,
            len,
            Wait::For(Duration::from_nanos(timeout_ns)),
        )
    }
}

/// The body of every copying receive.
///
/// # Safety
///
/// As [`baton_chan_recv`].
unsafe fn recv_copy(
    call: &str,
    ch: *const baton_chan,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
    wait: Wait,
) -> baton_status {
    guard_status(call, || {
        // SAFETY: the caller's contract.
        let ch = unsafe { deref(ch, "ch") }?;
        let out_len = out_param(out_len, "out_len")?;
        if buf.is_null() && cap != 0 {
            return Err(Error::new(
                BATON_ERR_INVALID_ARGUMENT,
                format!("buf is NULL with cap {cap}"),
            ));
        }
        let msg = ch.recv(wait)?;
        // SAFETY: `out_len` is non-NULL and valid for a write (the contract).
        unsafe { out_len.write(msg.len) };
        if msg.len > cap {
            let len = msg.len;
            ch.give_back(msg);
            return Err(Error::new(
                BATON_ERR_BUFFER_TOO_SMALL,
                format!("the message has {len} bytes, the buffer {cap}: kept for the next receive"),
            ));
        }
        if let Some(src) = msg.buf {
            // SAFETY: `src` holds `msg.len` bytes; `buf` is writable for
            // `cap` >= `msg.len` bytes (the contract) and is not the
            // message's own buffer.
            unsafe { ptr::copy_nonoverlapping(src.as_ptr(), buf, msg.len) };
        }
        Ok(())
    })
}

/// Receives a message into `buf[0..cap]`, blocking while the channel is
/// empty: `BATON_OK` with the length in `*out_len`; `BATON_ERR_CLOSED` once
/// the channel is closed and drained; `BATON_ERR_BUFFER_TOO_SMALL` with the
/// length in `*out_len` (the message is kept for the next receive);
/// `BATON_ERR_NULL_POINTER`; `BATON_ERR_INVALID_ARGUMENT` (`buf` `NULL`
/// with `cap` > 0).
///
/// # Safety
///
/// `ch` is `NULL` or a live channel; `buf` is valid for writes of `cap`
/// bytes (`NULL` allowed when `cap` is 0); `out_len` is `NULL` or valid for
/// a write.
///
/// ```
/// use baton_ffi::*;
/// // SAFETY: `ch` is live until freed; `buf`/`len` are valid for the call's writes.
/// unsafe {
///     let ch = baton_chan_new(1, 0);
///     baton_chan_send(ch, b"hello".as_ptr(), 5);
///     let (mut buf, mut len) = ([0u8; 2], 0);
///     assert_eq!(baton_chan_recv(ch, buf.as_mut_ptr(), 2, &mut len), BATON_ERR_BUFFER_TOO_SMALL);
///     assert_eq!(len, 5);
///     let mut buf = [0u8; 8];
///     assert_eq!(baton_chan_recv(ch, buf.as_mut_ptr(), 8, &mut len), BATON_OK);
///     assert_eq!(&buf[..len], b"hello");
///     baton_chan_free(ch);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_chan_recv(
    ch: *const baton_chan,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> baton_status {
    // SAFETY: the same contract.
    unsafe { recv_copy("baton_chan_recv", ch, buf, cap, out_len, Wait::Forever) }
}

/// [`baton_chan_recv`] without waiting: `BATON_ERR_EMPTY` when no message
/// is there now (on a rendezvous channel: no sender waiting).
///
/// # Safety
///
/// As [`baton_chan_recv`].
///
/// ```
/// use baton_ffi::*;
/// unsafe {
///     let ch = baton_chan_new(1, 0);
///     let (mut buf, mut len) = ([0u8; 8], 0);
///     assert_eq!(baton_chan_try_recv(ch, buf.as_mut_ptr(), 8, &mut len), BATON_ERR_EMPTY);
///     baton_chan_free(ch);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_chan_try_recv(
    ch: *const baton_chan,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> baton_status {
    // SAFETY: the same contract.
    unsafe { recv_copy("baton_chan_try_recv", ch, buf, cap, out_len, Wait::No) }
}

/// [`baton_chan_recv`] waiting at most `timeout_ns` nanoseconds:
/// `BATON_ERR_TIMEOUT` if no message came by then.
///
/// # Safety
///
/// As [`baton_chan_recv`].
///
/// ```
/// use baton_ffi::*;
/// unsafe {
///     let ch = baton_chan_new(1, 0);
///     let (mut buf, mut len) = ([0u8; 8], 0);
///     assert_eq!(baton_chan_recv_timeout(ch, buf.as_mut_ptr(), 8, &mut len, 1_000_000), BATON_ERR_TIMEOUT);
///     baton_chan_free(ch);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_chan_recv_timeout(
    ch: *const baton_chan,
    buf: *mut u8,
    cap: usize,
    out_len: *mut usize,
    timeout_ns: u64,
) -> baton_status {
    // SAFETY: the same contract.
    unsafe {
        recv_copy(
            "baton_chan_recv_timeout",
            ch,
            buf,
            cap,
            out_len,
            Wait::For(Duration::from_nanos(timeout_ns)),
        )
    }
}

/// The body of every owned receive.
///
/// # Safety
///
/// As [`baton_chan_recv_owned`].
unsafe fn recv_owned(
    call: &str,
    ch: *const baton_chan,
    out_buf: *mut *mut u8,
    out_len: *mut usize,
    wait: Wait,
) -> baton_status {
    guard_status(call, || {
        // SAFETY: the caller's contract.
        let ch = unsafe { deref(ch, "ch") }?;
        let out_buf = out_param(out_buf, "out_buf")?;
        let out_len = out_param(out_len, "out_len")?;
        let (buf, len) = ch.recv(wait)?.into_raw();
        // SAFETY: both non-NULL and valid for a write (the contract).
        unsafe {
            out_buf.write(buf);
            out_len.write(len);
        }
        Ok(())
    })
}

/// Receives a message and hands over its buffer: `BATON_OK` with the
/// buffer in `*out_buf` (free it with [`baton_buf_free`]; `NULL` for an
/// empty message) and its length in `*out_len`. Errors as
/// [`baton_chan_recv`] (never `BATON_ERR_BUFFER_TOO_SMALL`).
///
/// # Safety
///
/// `ch` is `NULL` or a live channel; `out_buf` and `out_len` are `NULL` or
/// valid for a write.
///
/// ```
/// use baton_ffi::*;
/// unsafe {
///     let ch = baton_chan_new(1, 0);
///     baton_chan_send(ch, b"hello".as_ptr(), 5);
///     let (mut buf, mut len) = (std::ptr::null_mut(), 0);
///     assert_eq!(baton_chan_recv_owned(ch, &mut buf, &mut len), BATON_OK);
///     assert_eq!(std::slice::from_raw_parts(buf, len), b"hello");
///     baton_buf_free(buf);
///     baton_chan_free(ch);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_chan_recv_owned(
    ch: *const baton_chan,
    out_buf: *mut *mut u8,
    out_len: *mut usize,
) -> baton_status {
    // SAFETY: the same contract.
    unsafe { recv_owned("baton_chan_recv_owned", ch, out_buf, out_len, Wait::Forever) }
}

/// [`baton_chan_recv_owned`] without waiting (`BATON_ERR_EMPTY`).
///
/// # Safety
///
/// As [`baton_chan_recv_owned`].
///
/// ```
/// use baton_ffi::*;
/// unsafe {
///     let ch = baton_chan_new(1, 0);
///     let (mut buf, mut len) = (std::ptr::null_mut(), 0);
///     assert_eq!(baton_chan_try_recv_owned(ch, &mut buf, &mut len), BATON_ERR_EMPTY);
///     baton_chan_free(ch);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_chan_try_recv_owned(
    ch: *const baton_chan,
    out_buf: *mut *mut u8,
    out_len: *mut usize,
) -> baton_status {
    // SAFETY: the same contract.
    unsafe { recv_owned("baton_chan_try_recv_owned", ch, out_buf, out_len, Wait::No) }
}

/// [`baton_chan_recv_owned`] waiting at most `timeout_ns` nanoseconds
/// (`BATON_ERR_TIMEOUT`).
///
/// # Safety
///
/// As [`baton_chan_recv_owned`].
///
/// ```
/// use baton_ffi::*;
/// unsafe {
///     let ch = baton_chan_new(1, 0);
///     let (mut buf, mut len) = (std::ptr::null_mut(), 0);
///     assert_eq!(baton_chan_recv_owned_timeout(ch, &mut buf, &mut len, 1_000_000), BATON_ERR_TIMEOUT);
///     baton_chan_free(ch);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_chan_recv_owned_timeout(
    ch: *const baton_chan,
    out_buf: *mut *mut u8,
    out_len: *mut usize,
    timeout_ns: u64,
) -> baton_status {
    // SAFETY: the same contract.
    unsafe {
        recv_owned(
            "baton_chan_recv_owned_timeout",
            ch,
            out_buf,
            out_len,
            Wait::For(Duration::from_nanos(timeout_ns)),
        )
    }
}

/// Closes the channel: later sends fail with `BATON_ERR_CLOSED`, blocked
/// senders wake with it, receivers get the messages already sent and then
/// `BATON_ERR_CLOSED`. Closing twice is harmless. `BATON_OK` or
/// `BATON_ERR_NULL_POINTER`.
///
/// # Safety
///
/// `ch` is `NULL` or a live channel.
///
/// ```
/// use baton_ffi::*;
/// unsafe {
///     let ch = baton_chan_new(1, 0);
///     assert_eq!(baton_chan_close(ch), BATON_OK);
///     assert_eq!(baton_chan_send(ch, b"x".as_ptr(), 1), BATON_ERR_CLOSED);
///     baton_chan_free(ch);
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_chan_close(ch: *const baton_chan) -> baton_status {
    guard_status("baton_chan_close", || {
        // SAFETY: the caller's contract.
        unsafe { deref(ch, "ch") }?.tx.close();
        Ok(())
    })
}

/// Frees the channel and every message still in it. `NULL` does nothing.
///
/// # Safety
///
/// `ch` is `NULL` or a live channel that no thread uses any more (none
/// blocked in it either); it must not be used again.
///
/// ```
/// use baton_ffi::*;
/// unsafe {
///     let ch = baton_chan_new(0, BATON_CHAN_UNBOUNDED);
///     baton_chan_send(ch, b"left behind".as_ptr(), 11);
///     baton_chan_free(ch); // frees the message too
///     baton_chan_free(std::ptr::null_mut());
/// }
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_chan_free(ch: *mut baton_chan) {
    guard(
        "baton_chan_free",
        |_| (),
        || {
            if !ch.is_null() {
                // SAFETY: the caller's contract: a live channel from
                // `baton_chan_new` (a `Box`), used by no one else, freed once.
                drop(unsafe { Box::from_raw(ch) });
            }
            Ok(())
        },
    )
}

/// Frees a buffer handed over by an owned receive. `NULL` does nothing.
///
/// # Safety
///
/// `buf` is `NULL` or a buffer from `baton_chan_*recv_owned*` not yet freed.
///
/// ```
/// unsafe { baton_ffi::baton_buf_free(std::ptr::null_mut()) };
/// ```
#[no_mangle]
pub unsafe extern "C" fn baton_buf_free(buf: *mut u8) {
    // SAFETY: the buffer came from `malloc` (see `Msg`), or is NULL, which
    // `free` ignores; the caller frees it once.
    unsafe { libc::free(buf.cast::<c_void>()) }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::BATON_OK;

    /// A pointer that may cross threads (the channel is `Sync`).
    struct Shared(*mut baton_chan);
    // SAFETY: baton_chan is used from any thread by contract; the test
    // frees it only after joining every thread that uses it.
    unsafe impl Send for Shared {}
    // SAFETY: as above.
    unsafe impl Sync for Shared {}

    /// A receiver blocked while another receive hands a too-big message
    /// back must not report "closed and drained" when the close wakes it.
    #[test]
    fn a_blocked_receive_woken_by_close_takes_a_returned_message() {
        let ch = Arc::new(Shared(baton_chan_new(1, 0)));
        let blocked = {
            let ch = Arc::clone(&ch);
            std::thread::spawn(move || {
                let (mut buf, mut len) = ([0u8; 16], 0usize);
                // SAFETY: a live channel, a 16-byte buffer, a valid out_len.
                let status =
                    unsafe { baton_chan_recv(ch.0, buf.as_mut_ptr(), buf.len(), &mut len) };
                (status, buf[..len.min(16)].to_vec())
            })
        };
        // Let the receive block first (if it has not, it finds the
        // message before blocking: the assertions hold either way).
        std::thread::sleep(Duration::from_millis(50));
        // SAFETY: the channel is live; b"kept" is 4 readable bytes.
        let msg = unsafe { Msg::copy_of(b"kept".as_ptr(), 4) }.unwrap();
        // SAFETY: the channel is live until the join below.
        let chan = unsafe { &*ch.0 };
        chan.give_back(msg); // what a receive with a too-small buffer does
        chan.tx.close();
        let (status, got) =
            crate::status::tests::within(Duration::from_secs(60), || blocked.join().unwrap());
        assert_eq!((status, got.as_slice()), (BATON_OK, &b"kept"[..]));
        // SAFETY: no thread uses the channel any more.
        unsafe { baton_chan_free(ch.0) };
    }
}
