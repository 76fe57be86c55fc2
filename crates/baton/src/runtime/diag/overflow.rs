//! Stack overflow: a goroutine that runs into its guard page gets a clear
//! message naming it, then the process aborts — as a thread overflowing its
//! stack does in Rust (`thread 'x' has overflowed its stack`).
//!
//! Without this, touching the guard page still never corrupts memory (the
//! page is `PROT_NONE`, and Rust probes every page of a large frame, so a
//! frame cannot jump over it), but the process dies of a bare `SIGSEGV`.
//!
//! ## How
//!
//! When the first runtime starts, a `SIGSEGV`/`SIGBUS` handler is installed
//! (on the alternate signal stack that Rust gives every thread it starts, so
//! it can run although the faulting stack is full). It reads the running
//! goroutine's context through the `CURRENT` thread-local — a plain
//! constant-initialised cell, safe to read in a signal handler — and if the
//! fault address lies in that goroutine's guard page, writes
//! `goroutine N (spawned at file:line) has overflowed its stack (S KiB)`
//! to stderr with `write(2)` (no allocation, no locks) and aborts. Any other
//! fault goes to the handler that was installed before (Rust's own, which
//! reports thread stack overflows), or, if there was none, the default
//! action (the process dies of the signal as usual).

use core::fmt::Write as _;
use core::mem::MaybeUninit;
use std::sync::Once;

use crate::runtime::sched::current;
use crate::shim::UnsafeCell;

/// The handlers that were installed before ours, for `SIGSEGV` and `SIGBUS`.
struct Previous(UnsafeCell<[MaybeUninit<libc::sigaction>; 2]>);

// SAFETY: written once, inside `INSTALL.call_once`, before our handler is
// installed; afterwards only read (by the handler). The `sigaction` calls
// that install the handler order the write before any delivery.
unsafe impl Sync for Previous {}

static PREVIOUS: Previous = Previous(UnsafeCell::new([MaybeUninit::uninit(); 2]));
static INSTALL: Once = Once::new();

const SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

/// Installs the handler, once per process.
pub(crate) fn install() {
    INSTALL.call_once(|| {
        for (i, &sig) in SIGNALS.iter().enumerate() {
            // SAFETY: `sigaction` with a zeroed, then filled-in struct; the
            // previous action is saved into our own static before the new one
            // takes effect (the first call only reads), and nothing else
            // writes `PREVIOUS`.
            unsafe {
                let mut prev: libc::sigaction = core::mem::zeroed();
                if libc::sigaction(sig, core::ptr::null(), &mut prev) != 0 {
                    continue;
                }
                PREVIOUS.0.with_mut(|p| (*p)[i] = MaybeUninit::new(prev));
                let mut action: libc::sigaction = core::mem::zeroed();
                action.sa_sigaction = handler as *const () as libc::sighandler_t;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(sig, &action, core::ptr::null_mut());
            }
        }
    });
}

/// A fixed buffer to format the message into, in the handler.
struct Buf {
    bytes: [u8; 512],
    len: usize,
}

impl core::fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid `siginfo_t` for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some(g) = current::overflow_info() {
        if g.guard_low <= addr && addr < g.guard_high {
            let mut buf = Buf {
                bytes: [0; 512],
                len: 0,
            };
            let _ = writeln!(
                buf,
                "\nbaton: {} (spawned at {}) has overflowed its stack ({} KiB); \
                 give it more with baton::runtime::Options::stack_size (go_with) or \
                 Builder::stack_size\nfatal runtime error: stack overflow, aborting",
                g.id,
                g.spawned_at,
                g.stack_size / 1024
            );
            // SAFETY: `write` and `abort` are async-signal-safe; the buffer
            // is ours.
            unsafe {
                libc::write(2, buf.bytes.as_ptr().cast(), buf.len);
                libc::abort();
            }
        }
    }
    chain(sig, info, uctx);
}

/// Passes the fault on to the handler installed before ours.
fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    let i = if sig == libc::SIGSEGV { 0 } else { 1 };
    // SAFETY: `PREVIOUS[i]` was initialised before our handler was
    // installed for `sig` (see `install`), and is never written again.
    let prev = PREVIOUS.0.with(|p| unsafe { (*p)[i].assume_init() });
    let h = prev.sa_sigaction;
    if h == libc::SIG_DFL || h == libc::SIG_IGN {
        // Restore the default action and return: the faulting instruction
        // runs again and the process dies of the signal, as without us.
        // SAFETY: resetting a signal's disposition to the default.
        unsafe {
            let mut dfl: libc::sigaction = core::mem::zeroed();
            dfl.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &dfl, core::ptr::null_mut());
        }
    } else if prev.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the previous handler was installed with SA_SIGINFO, so it
        // has this signature.
        let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { core::mem::transmute(h) };
        f(sig, info, uctx);
    } else {
        // SAFETY: a plain (non-SA_SIGINFO) handler has this signature.
        let f: extern "C" fn(libc::c_int) = unsafe { core::mem::transmute(h) };
        f(sig);
    }
}
