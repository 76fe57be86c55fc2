//! `SIGQUIT` (Ctrl-\ in a terminal, `kill -QUIT pid`) prints a
//! [`dump`](crate::runtime::dump()) of every live runtime to standard error, and the
//! program goes on (Go prints its dump and exits; here a look at a running
//! program costs nothing).
//!
//! ## How
//!
//! A signal handler may only do async-signal-safe things, and a dump asks
//! the workers and waits for them. So the handler only writes one byte to
//! a pipe; a thread of ours (`baton-sigquit`, started with the handler)
//! blocks reading the pipe and prints the dumps. The handler is installed
//! once, when the first runtime starts (one with
//! [`Builder::dump_on_sigquit`](crate::runtime::Builder::dump_on_sigquit) left on),
//! and only if `SIGQUIT` still has its default action: a program that
//! handles `SIGQUIT` itself keeps its handler.
//!
//! The thread is known to deadlock detection (see `deadlock`): it only ever
//! prints dumps, which wake no goroutine.

use std::sync::{Once, Weak};

use crate::runtime::sched::shared::Shared;
use crate::shim::atomic::{AtomicI32, AtomicUsize, Ordering::*};
use crate::shim::{lock, thread, Arc, Mutex};

/// The pipe's write end, -1 until installed.
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// 1 once the printing thread exists (or is about to).
static THREADS: AtomicUsize = AtomicUsize::new(0);

static INSTALL: Once = Once::new();

/// Runtimes to dump (weak: a dropped runtime just disappears).
fn runtimes() -> &'static Mutex<Vec<Weak<Shared>>> {
    static RUNTIMES: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());
    &RUNTIMES
}

/// Threads this module runs (0 or 1), for the deadlock census.
pub(crate) fn threads() -> usize {
    THREADS.load(SeqCst)
}

/// Lists `shared` for dumps on `SIGQUIT`, installing the handler (once per
/// process) if `SIGQUIT` still has its default action.
pub(crate) fn register(shared: &Arc<Shared>) {
    {
        let mut rts = lock(runtimes());
        rts.retain(|w| w.strong_count() > 0);
        rts.push(Arc::downgrade(shared));
    }
    INSTALL.call_once(install);
}

fn install() {
    // SAFETY: reading the current action into a zeroed struct.
    let default = unsafe {
        let mut old: libc::sigaction = core::mem::zeroed();
        libc::sigaction(libc::SIGQUIT, core::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_DFL
    };
    if !default {
        return;
    }
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return;
    }
    let [read_end, write_end] = fds;
    THREADS.store(1, SeqCst);
    let spawned = thread::Builder::new()
        .name("baton-sigquit".to_owned())
        .spawn(move || printer(read_end));
    if spawned.is_err() {
        THREADS.store(0, SeqCst);
        // SAFETY: closing the two descriptors we just made and nobody uses.
        unsafe {
            libc::close(read_end);
            libc::close(write_end);
        }
        return;
    }
    PIPE_WRITE.store(write_end, SeqCst);
    // SAFETY: installing a handler that only calls async-signal-safe
    // functions (`write`, and errno access); the pipe it writes to exists.
    unsafe {
        let mut action: libc::sigaction = core::mem::zeroed();
        action.sa_sigaction = on_sigquit as *const () as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGQUIT, &action, core::ptr::null_mut());
    }
}

extern "C" fn on_sigquit(_sig: libc::c_int) {
    let fd = PIPE_WRITE.load(Relaxed);
    if fd < 0 {
        return;
    }
    // SAFETY: `write` is async-signal-safe; errno is saved and restored so
    // the interrupted code does not see ours.
    unsafe {
        let errno = *libc::__errno_location();
        let byte = 1u8;
        libc::write(fd, (&byte as *const u8).cast(), 1);
        *libc::__errno_location() = errno;
    }
}

/// The printing thread: a dump of every live runtime per signal.
fn printer(read_end: libc::c_int) {
    let mut byte = 0u8;
    loop {
        // SAFETY: reading one byte into our own buffer from our pipe.
        let n = unsafe { libc::read(read_end, (&mut byte as *mut u8).cast(), 1) };
        if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        if n != 1 {
            return;
        }
        let live: Vec<Arc<Shared>> = lock(runtimes()).iter().filter_map(Weak::upgrade).collect();
        let mut out = format!("SIGQUIT: goroutine dump of {} runtime(s)\n", live.len());
        for rt in &live {
            out.push('\n');
            out.push_str(&super::dump::dump_of(rt));
        }
        eprint!("{out}");
    }
}
