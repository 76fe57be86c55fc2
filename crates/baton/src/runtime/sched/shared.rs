//! The state of one runtime that every worker and every waker shares: the
//! workers' stealable rings and inboxes, the global injector, the idle
//! protocol, and the shutdown flag.

use core::panic::Location;

use super::counters::{RuntimeCounters, WorkerCounters};
use super::current;
use super::dump_inbox::DumpInbox;
use super::goroutine::{Header, Task};
use super::idle::Idle;
use super::inbox::Inbox;
use super::injector::Injector;
use super::ring;
use super::stack::MapBudget;
use crate::atomic::CachePadded;
use crate::park::Unparker;
use crate::shim::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering::*};
use crate::shim::{Arc, Mutex};

/// A worker's parts that other threads reach.
#[derive(Debug)]
pub(crate) struct WorkerShared {
    /// Steal handle on the worker's ring of unstarted goroutines.
    pub(crate) steal: ring::Steal<Task>,
    /// Wake-ups of the worker's started goroutines, from other threads.
    pub(crate) inbox: Inbox<Header>,
    /// Its counters (see `stats`); only the worker writes them.
    pub(crate) counters: WorkerCounters,
    /// Id of the goroutine running on it now, 0 when none; written by the
    /// worker (`Relaxed`: a hint for dumps and the monitor).
    pub(crate) running: AtomicU64,
    /// Spawn site of the goroutine it runs or ran last, null before the
    /// first; written by the worker before `running` (`Relaxed`: read only
    /// by the `monitor` for its report). Holds only `&'static` locations.
    pub(crate) running_site: AtomicPtr<Location<'static>>,
    /// Dump requests for it to answer (see `dump`).
    pub(crate) dumps: DumpInbox,
    /// Whether its timer heap has entries, published before it sleeps (see
    /// `deadlock`); only the worker writes it.
    pub(crate) has_timers: AtomicBool,
    /// How many of its goroutines are parked on a socket (`net`): they wait
    /// for the outside world, so the runtime is not deadlocked while any
    /// is (see `deadlock`). Only the worker's thread writes it (its
    /// goroutines, around their park: `netpoll::IoWait`); `Relaxed`, read
    /// by the deadlock checker under the sleeper-list lock, which every
    /// worker takes after its last write before it sleeps.
    pub(crate) io_waiters: AtomicUsize,
}

/// A plain thread blocked in `run` (rule 1 of `diag::deadlock`).
#[derive(Debug)]
pub(crate) struct RunWaiter {
    pub(crate) main: Arc<Header>,
    pub(crate) thread: Unparker,
    /// Set by the checker when it finds the deadlock.
    pub(crate) deadlocked: Arc<AtomicBool>,
}

/// Settings fixed when the runtime is built.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) workers: usize,
    pub(crate) stack_size: usize,
    pub(crate) name: String,
    pub(crate) on_deadlock: crate::runtime::builder::OnDeadlock,
    /// Called by a worker about to sleep with no timer, after its re-check
    /// found no work: the deadlock check (`diag::deadlock::check`), passed
    /// in by the builder so that the scheduler does not import the
    /// diagnostics.
    pub(crate) before_sleep: fn(&Shared),
    /// The `monitor`'s threshold; `None`: no monitor.
    pub(crate) long_run: Option<std::time::Duration>,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) workers: Box<[CachePadded<WorkerShared>]>,
    pub(crate) injector: CachePadded<Injector>,
    pub(crate) idle: Idle,
    /// Set once when the runtime is dropped; workers stop at their next
    /// scheduling point. `Relaxed` reads on the hot path are enough: a
    /// worker that misses it for a round sees it the next (and the dropper
    /// wakes every sleeper after setting it, with `SeqCst`, which the
    /// sleepers' re-check reads).
    pub(crate) shutdown: AtomicBool,
    /// Goroutines found unfinished at shutdown (their stacks are leaked).
    pub(crate) leaked: AtomicUsize,
    /// Workers whose loop has not exited yet; the last one to exit drains
    /// the injector (see `Worker::exit`).
    pub(crate) live_workers: AtomicUsize,
    /// The process's goroutine-stack budget (see `stack`).
    pub(crate) budget: &'static MapBudget,
    /// Runtime-wide counters (see `stats`).
    pub(crate) stats: RuntimeCounters,
    /// Threads blocked in `Runtime::run` on this runtime (see `deadlock`).
    pub(crate) runs: Mutex<Vec<RunWaiter>>,
}

impl Shared {
    pub(crate) fn new(
        config: Config,
        steals: Vec<ring::Steal<Task>>,
        budget: &'static MapBudget,
    ) -> Self {
        let workers = steals
            .into_iter()
            .map(|steal| {
                CachePadded::new(WorkerShared {
                    steal,
                    inbox: Inbox::new(),
                    counters: WorkerCounters::default(),
                    running: AtomicU64::new(0),
                    running_site: AtomicPtr::new(core::ptr::null_mut()),
                    dumps: DumpInbox::default(),
                    has_timers: AtomicBool::new(false),
                    io_waiters: AtomicUsize::new(0),
                })
            })
            .collect();
        let live_workers = config.workers;
        Self {
            idle: Idle::new(config.workers),
            config,
            workers,
            injector: CachePadded::new(Injector::new()),
            shutdown: AtomicBool::new(false),
            leaked: AtomicUsize::new(0),
            live_workers: AtomicUsize::new(live_workers),
            budget,
            stats: RuntimeCounters::default(),
            runs: Mutex::new(Vec::new()),
        }
    }

    #[inline]
    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Relaxed)
    }

    /// Queues a new goroutine: on the calling worker's own ring if the
    /// caller is one of this runtime's workers, else on the injector; then
    /// makes sure some worker will look for it.
    pub(crate) fn schedule_new(self: &Arc<Self>, task: Task) {
        let task = current::with_worker(|w| match w {
            Some(w) if core::ptr::eq(w.shared(), &**self) => {
                w.push_new(task);
                None
            }
            _ => Some(task),
        });
        if let Some(task) = task {
            self.injector.push(task);
        }
        self.idle.notify_one();
    }

    /// Makes `g` (just unparked by the caller) run next if the caller is its
    /// home worker; `false` (nothing done) otherwise.
    #[inline]
    pub(crate) fn try_wake_local(&self, g: &Header) -> bool {
        // Relaxed: see `Header::home`.
        let home = g.home.load(Relaxed);
        current::with_worker(|w| match w {
            Some(w) if core::ptr::eq(w.shared(), self) && w.index() == home => {
                w.wake_local(g.slot.load(Relaxed));
                true
            }
            _ => false,
        })
    }

    /// Queues a woken (started) goroutine on its home worker: the `runnext`
    /// slot if the caller is that worker, else its inbox.
    pub(crate) fn schedule_woken(&self, g: Arc<Header>) {
        // Relaxed: see `Header::home`.
        let home = g.home.load(Relaxed);
        let g = current::with_worker(|w| match w {
            Some(w) if core::ptr::eq(w.shared(), self) && w.index() == home => {
                w.wake_local(g.slot.load(Relaxed));
                None
            }
            _ => Some(g),
        });
        if let Some(g) = g {
            // A refused push means the worker has exited (shutdown): the
            // goroutine will never run again; drop our reference.
            if self.workers[home].inbox.push(g).is_ok() {
                self.idle.notify_worker(home);
            }
        }
    }
}
