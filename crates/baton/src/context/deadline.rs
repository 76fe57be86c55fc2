//! The deadline timer: one process-wide thread that cancels contexts whose
//! deadline has passed.
//!
//! Pending deadlines live in an ordered map keyed by `(deadline, seq)`
//! (`seq` makes equal deadlines distinct). The thread takes every entry
//! that is due, cancels those contexts with [`Error::DeadlineExceeded`]
//! (after releasing the map's lock), and parks until the earliest
//! remaining deadline. Arming a deadline earlier than every pending one
//! wakes the thread so it re-computes its sleep.
//!
//! Each armed context registers a hook on its own node that removes its
//! entry when the context is cancelled first, so a timeout that is
//! cancelled early (the common case: the work finished in time) leaves
//! nothing behind.
//!
//! Why a thread: the runtime's timers wake parked goroutines, not
//! callbacks, and a deadline must fire with no goroutine waiting (a
//! context nobody is waiting on must still report `DeadlineExceeded`).
//! One thread for the process, started on first use, parked through
//! `park` (it is an OS thread, so that is a futex sleep).
//!
//! No lost wake-up: the thread reads the earliest deadline under the lock
//! and then parks; an `arm` that inserts an earlier one afterwards unparks
//! it, and the park token makes an unpark that lands before the park
//! count. The thread publishes its unparker before it first takes the
//! lock, and `arm` reads it after releasing the lock, so an `arm` that
//! reads none inserted before the thread's first look (the lock orders
//! the two) and the thread will see its entry.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;

use crate::park::{self, Unparker};
use crate::shim::atomic::{AtomicU64, Ordering};
use crate::shim::Arc;
use crate::sync::Mutex;

use super::error::{Cause, Error};
use super::tree::{Hook, Node};

type Key = (Instant, u64);

/// A pending deadline's context and the cause to record.
type Entry = (Arc<Node>, Option<Cause>);

struct Timers {
    /// Pending deadlines: the context to cancel and the cause to record.
    pending: Mutex<BTreeMap<Key, Entry>>,
    /// Distinguishes equal deadlines.
    seq: AtomicU64,
    /// The timer thread's unparker, set by the thread when it starts.
    thread: OnceLock<Unparker>,
}

fn timers() -> &'static Timers {
    static TIMERS: OnceLock<Timers> = OnceLock::new();
    TIMERS.get_or_init(|| {
        std::thread::Builder::new()
            .name("baton-context-deadlines".into())
            .spawn(run)
            .expect("baton::context: cannot start the deadline timer thread");
        Timers {
            pending: Mutex::new(BTreeMap::new()),
            seq: AtomicU64::new(0),
            thread: OnceLock::new(),
        }
    })
}

/// Cancels `node` with `DeadlineExceeded` (and `cause`) at `deadline`,
/// unless it is cancelled before.
pub(super) fn arm(node: &Arc<Node>, deadline: Instant, cause: Option<Cause>) {
    let t = timers();
    let key = (deadline, t.seq.fetch_add(1, Ordering::Relaxed));
    let first = {
        let mut pending = t.pending.lock();
        pending.insert(key, (Arc::clone(node), cause));
        pending.keys().next() == Some(&key)
    };
    if first {
        if let Some(u) = t.thread.get() {
            u.unpark();
        }
    }
    let disarm = Hook::Run(Box::new(move || disarm(key)));
    if let Err(Hook::Run(f)) = node.register_permanent(disarm) {
        // Cancelled meanwhile: withdraw the entry now.
        f();
    }
}

fn disarm(key: Key) {
    let removed = timers().pending.lock().remove(&key);
    drop(removed); // outside the lock: it may hold the last node reference
}

/// Pending deadlines, for tests that check nothing is left behind.
#[allow(dead_code)]
pub(crate) fn pending() -> usize {
    timers().pending.lock().len()
}

/// The timer thread.
fn run() {
    let t = timers();
    let _ = t.thread.set(park::current());
    loop {
        let now = Instant::now();
        let (due, next) = {
            let mut pending = t.pending.lock();
            let later = pending.split_off(&(now, u64::MAX));
            let due = core::mem::replace(&mut *pending, later);
            (due, pending.keys().next().map(|k| k.0))
        };
        for (_, (node, cause)) in due {
            node.cancel(Error::DeadlineExceeded, cause);
        }
        match next {
            Some(d) => {
                park::park_deadline(d);
            }
            None => park::park(),
        }
    }
}
