//! Deadlock detection: `all goroutines are asleep - deadlock!`.
//!
//! ## The rule
//!
//! A runtime is reported deadlocked when, at one moment, all of this holds:
//!
//! 1. A plain thread is blocked in [`Runtime::run`](crate::runtime::Runtime::run) (or
//!    `try_run`) on it, and that run's main goroutine has not finished.
//! 2. Every worker of the runtime is asleep — in the sleeper list with its
//!    `sleeping` flag set — so no goroutine of it is running.
//! 3. Nothing is runnable: every worker's inbox and run queue and the
//!    global queue are empty.
//! 4. No worker has a timer (a `sleep` or a park with a deadline), stale or
//!    live.
//! 5. The process's `blocking` pool has no job queued or running.
//! 6. Every thread of the process is accounted for: the count of threads
//!    in `/proc/self/stat` equals this runtime's workers, plus the threads
//!    blocked in its `run` (rule 1), plus the idle pool threads (rule 5),
//!    plus the `SIGQUIT` printer if there is one (it only prints dumps),
//!    plus this runtime's monitor thread if it has one (it never makes a
//!    goroutine runnable: it only wakes idle workers to steal unstarted
//!    goroutines already queued, and only after seeing a worker run; see
//!    `monitor`), plus the network poller's fallback thread `baton-netpoll`
//!    if the process ever had a socket (it only hands out socket
//!    readiness, which wakes only goroutines parked on sockets: rule 7).
//! 7. No goroutine of the runtime is parked on a socket (every worker's
//!    `io_waiters` is 0). A goroutine blocked in a socket's `read`,
//!    `accept`, ... waits for a peer or the kernel, which no rule above
//!    accounts for, so a runtime with one is never deadlocked (a socket
//!    wait with a deadline also has a timer: rule 4).
//!
//! Then no goroutine can ever run again. A goroutine runs only when
//! something makes it runnable: a goroutine (none runs: 2, 3), a timer (4), a
//! `blocking` job finishing (5), socket readiness (7: nobody waits for
//! any), or a thread outside the runtime — and
//! there is none (6): the threads blocked in `run` wait for main goroutines
//! that cannot finish, and idle pool threads wake only for jobs that
//! goroutines submit. So the report is never a false positive; and because
//! of rule 6 it is made only for programs that live in goroutines, Go-style,
//! with `main` calling `run` — any other thread in the process (a thread of
//! your own, another runtime's workers, the global runtime once started,
//! a test harness) might still wake a goroutine through a shared primitive,
//! so detection stays off while one exists. It may also miss a deadlock
//! that forms while such a thread lives, or during the moment a pool thread
//! exits.
//!
//! **Keep the rule complete.** Whatever new thing can wake a goroutine
//! without a goroutine, a timer, a `blocking` job or a thread doing it
//! (a signal, ...) must be added here as one more "nothing pending"
//! condition. I/O readiness is rule 7: a worker sleeping in `epoll_wait`
//! counts as asleep (rule 2) although a socket event may wake it, and what
//! such an event can wake is a goroutine parked on a socket (counted in
//! `io_waiters` by `sched::netpoll::IoWait`, around the park in
//! `net::io`), or a plain thread parked on one (an outside thread: rule
//! 6). The poller's fallback thread, started with the process's first
//! socket and never stopped, is counted in rule 6 as a known thread for
//! the same reason: it only dispatches readiness. So a program that
//! closed its sockets, or whose goroutines do not wait on any, keeps full
//! detection (see `net`'s "Deadlock detection").
//!
//! ## How the moment is pinned down
//!
//! The check runs on the last worker to fall asleep (in `Worker::sleep`,
//! after its own re-check found nothing and it has no timer) — once on
//! the `run` thread right after it registers, in case every worker fell
//! asleep before that, and once on a `blocking` pool thread right after it
//! lists itself idle, for the runtime of its last job, in case the last
//! worker's check found that job still running (the job wakes its
//! goroutine before its thread goes idle; see `runtime::blocking`,
//! `tests/regress_deadlock_missed_after_blocking_job.rs`) — under the
//! idle protocol's sleeper-list lock. A worker leaves the sleeper list only
//! through `end_sleep`, which takes that lock, and a notifier that wakes a
//! worker clears its `sleeping` flag first: so while the lock is held and
//! every flag reads set, no worker runs a goroutine, and with no outside
//! thread (6) nothing else can push work. Everything a worker pushed before
//! it slept happens-before its `prepare_sleep` (which takes the lock), so
//! the checker, holding the lock, sees it. The pool is read before the
//! queues: a pool thread that finished a job woke its goroutine (an inbox
//! push) before it listed itself idle under the pool's lock, so once the
//! checker sees it idle it also sees that push.
//!
//! ## What happens then
//!
//! The checker marks each waiting `run` as deadlocked and wakes its thread,
//! which takes a [`dump`](crate::runtime::dump()) and, as the runtime was built
//! ([`OnDeadlock`]): returns [`RunError::Deadlock`] from `try_run` (and
//! `run` panics with the report), or prints the report and aborts the
//! process. The goroutines stay parked; dropping the runtime leaks them
//! like any goroutine unfinished at shutdown.

use core::fmt;

use crate::runtime::builder::OnDeadlock;
use crate::runtime::join::Panic;
use crate::runtime::sched::shared::Shared;
use crate::shim::atomic::Ordering::*;
use crate::shim::lock;

/// A deadlock report: `all goroutines are asleep - deadlock!` and the
/// goroutine dump taken when it was found.
///
/// ```
/// # fn show(d: &baton::runtime::Deadlock) {
/// eprintln!("{d}"); // the message, then one line per goroutine
/// assert!(d.dump().contains("goroutine"));
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deadlock {
    dump: String,
}

impl Deadlock {
    pub(crate) fn new(dump: String) -> Self {
        Deadlock { dump }
    }

    /// The goroutine dump (see [`dump`](crate::runtime::dump())).
    pub fn dump(&self) -> &str {
        &self.dump
    }
}

impl fmt::Display for Deadlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "all goroutines are asleep - deadlock!\n\n{}", self.dump)
    }
}

impl std::error::Error for Deadlock {}

/// Why [`Runtime::try_run`](crate::runtime::Runtime::try_run) returned no value.
///
/// ```
/// use baton::runtime::{Builder, RunError};
///
/// let rt = Builder::new().workers(1).build();
/// match rt.try_run(|| -> u32 { panic!("boom") }) {
///     Err(RunError::Panicked(p)) => assert_eq!(p.message(), Some("boom")),
///     other => panic!("expected a panic, got {other:?}"),
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The main goroutine panicked (payload kept).
    Panicked(Panic),
    /// Every goroutine was asleep and nothing could wake them (see
    /// [`OnDeadlock`]).
    Deadlock(Deadlock),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Panicked(p) => write!(f, "the main goroutine panicked: {p}"),
            RunError::Deadlock(d) => d.fmt(f),
        }
    }
}

impl std::error::Error for RunError {}

/// The check (see the module docs); called by a worker about to sleep with
/// no timer after its re-check found no work, and by a `run` thread that
/// has just registered and is about to park.
pub(crate) fn check(shared: &Shared) {
    if shared.config.on_deadlock == OnDeadlock::Ignore
        || shared.idle.sleeping() != shared.workers.len()
        || lock(&shared.runs).is_empty()
    {
        return; // the cheap way out, taken almost always
    }
    shared.idle.with_all_asleep(|| {
        let mut runs = lock(&shared.runs);
        if runs.is_empty() || runs.iter().any(|r| r.main.join.is_done()) {
            return;
        }
        let Some(pool_threads) = crate::runtime::blocking::pool_quiet() else {
            return;
        };
        let queued = !shared.injector.is_empty()
            || shared.workers.iter().any(|w| {
                !w.inbox.is_empty()
                    || !w.steal.is_empty()
                    || w.has_timers.load(Relaxed)
                    || w.io_waiters.load(Relaxed) != 0
            });
        if queued || shared.is_shutdown() {
            return;
        }
        // Relaxed: workers only exit at shutdown, checked above.
        let workers = shared.live_workers.load(Relaxed);
        let known = workers
            + runs.len()
            + pool_threads
            + super::sigquit::threads()
            + super::monitor::threads(shared)
            + crate::runtime::sched::netpoll::poller_threads();
        if process_threads() != Some(known) {
            return;
        }
        for r in runs.drain(..) {
            r.deadlocked.store(true, Release);
            r.thread.unpark();
        }
    });
}

/// The number of threads in this process, from `/proc/self/stat` (`None`
/// where it cannot be read: then no deadlock is ever reported).
pub(crate) fn process_threads() -> Option<usize> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // `pid (comm) state ...`: the name may hold spaces and parentheses, so
    // count fields from the last `)`. `num_threads` is field 20 of the
    // line, the 18th after the name.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(17)?.parse().ok()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn counts_this_process_threads() {
        let before = process_threads().expect("/proc/self/stat");
        assert!(before >= 1);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || rx.recv().unwrap());
        // Other tests run threads too: only "at least one more" is certain.
        assert!(process_threads().unwrap() >= 2);
        tx.send(()).unwrap();
        t.join().unwrap();
    }

    #[test]
    fn report_reads_like_go() {
        let d = Deadlock {
            dump: "runtime `x`: 1 workers (1 idle), 1 goroutines\n".into(),
        };
        let text = d.to_string();
        assert!(text.starts_with("all goroutines are asleep - deadlock!\n\nruntime `x`"));
        assert_eq!(RunError::Deadlock(d).to_string(), text);
    }
}
