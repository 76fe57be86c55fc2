//! [`Runtime`]: a set of worker threads that run goroutines, and the global
//! runtime that [`go`](super::go) uses from plain threads. [`Builder`]
//! (in `builder.rs`) configures and starts one.

use core::fmt;
use core::panic::Location;
use std::sync::OnceLock;

use super::builder::Builder;
use super::builder::OnDeadlock;
use super::diag::deadlock::{Deadlock, RunError};
use super::diag::monitor::Monitor;
use super::join::JoinHandle;
use super::sched::current;
use super::sched::shared::{RunWaiter, Shared};
use super::spawn::{spawn_unchecked, SpawnError};
use crate::shim::atomic::{
    AtomicBool,
    Ordering::{Acquire, Relaxed, SeqCst},
};
use crate::shim::{thread, Arc};

/// A set of worker threads running goroutines (Go's scheduler: M:N, with
/// work stealing).
///
/// ## Shutting down
///
/// Dropping a `Runtime` stops its workers at their next scheduling point and
/// waits for them (it cannot interrupt a goroutine that never parks or
/// yields). Then:
///
/// - goroutines that had not started never run: their closures are dropped
///   and their [`JoinHandle::join`] returns a [`Panic`](super::Panic) with
///   [`is_abandoned`](super::Panic::is_abandoned);
/// - goroutines that started and had not finished are **leaked**: their
///   stacks are never resumed, unwound, freed or reused, so nothing they
///   borrow (from a scope, from a thread-local) can dangle; their joins
///   report abandonment too, and the runtime prints how many there were.
///
/// Like Go, where the program ends when `main` returns, finish (join) the
/// goroutines you care about before dropping the runtime. Dropping a
/// runtime from one of its own goroutines stops the workers without waiting.
///
/// ```
/// let rt = baton::runtime::Builder::new().workers(2).build();
/// let total = rt.run(|| {
///     let hs: Vec<_> = (1..=4).map(|i| baton::go(move || i * 10)).collect();
///     hs.into_iter().map(|h| h.join().unwrap()).sum::<i32>()
/// });
/// assert_eq!(total, 100);
/// ```
pub struct Runtime {
    pub(super) shared: Arc<Shared>,
    pub(super) threads: Vec<thread::JoinHandle<()>>,
    /// The monitor thread (see `monitor`), if on.
    pub(super) monitor: Option<Monitor>,
    pub(super) pool_reservation: usize,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("name", &self.shared.config.name)
            .field("workers", &self.shared.config.workers)
            .finish()
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime {
    /// A runtime with [`Builder::new`]'s defaults.
    ///
    /// ```
    /// let rt = baton::runtime::Runtime::new();
    /// assert_eq!(rt.run(|| "hi"), "hi");
    /// ```
    pub fn new() -> Self {
        Builder::new().build()
    }

    /// Runs `f` as a goroutine on this runtime (the *main goroutine*) and
    /// returns its result, parking the caller meanwhile. Goroutines that
    /// `f` spawns with [`go`](super::go) run on this runtime too.
    ///
    /// # Panics
    ///
    /// If `f` panics: the panic is resumed in the caller.
    ///
    /// ```
    /// let rt = baton::runtime::Builder::new().workers(2).build();
    /// let n = rt.run(|| baton::go(|| 7).join().unwrap());
    /// assert_eq!(n, 7);
    /// ```
    /// If the runtime finds its goroutines deadlocked (see
    /// [`try_run`](Self::try_run)) and was built with
    /// [`OnDeadlock::Error`], panics with the report.
    #[track_caller]
    pub fn run<F, T>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.try_run(f) {
            Ok(v) => v,
            Err(RunError::Panicked(p)) => std::panic::resume_unwind(p.into_payload()),
            Err(RunError::Deadlock(d)) => panic!("{d}"),
        }
    }

    /// As [`run`](Self::run), returning why there is no value instead of
    /// panicking: the main goroutine panicked, or the goroutines deadlocked.
    ///
    /// # Deadlock
    ///
    /// Called from a plain thread (not a goroutine), the runtime watches for
    /// the moment when every one of its goroutines is parked and nothing
    /// can ever wake them: no worker running, nothing queued, no timer, no
    /// [`blocking`](super::blocking()) call in progress, and no thread in the
    /// process besides its workers (and its monitor), the threads blocked in
    /// its `run`, and idle `blocking` threads. Then it reports
    /// `all goroutines are asleep - deadlock!` with a [`dump`](super::dump())
    /// as [`RunError::Deadlock`] (or aborts: [`Builder::on_deadlock`]). The
    /// rule never reports a deadlock that is not one; because of its last
    /// condition it applies to programs that run everything in goroutines
    /// (a thread of your own, the global runtime or a test harness's
    /// threads turn it off while they exist).
    ///
    /// ```no_run
    /// use baton::runtime::{Builder, RunError};
    /// use baton::sync::Mutex;
    ///
    /// fn main() {
    ///     let rt = Builder::new().workers(2).build();
    ///     let r = rt.try_run(|| {
    ///         let m = Mutex::new(());
    ///         let _a = m.lock();
    ///         let _b = m.lock(); // waits for itself
    ///     });
    ///     match r {
    ///         Err(RunError::Deadlock(d)) => eprintln!("{d}"),
    ///         _ => unreachable!(),
    ///     }
    /// }
    /// ```
    #[track_caller]
    pub fn try_run<F, T>(&self, f: F) -> Result<T, RunError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let main = self.go(f);
        let shared = &self.shared;
        if current::in_goroutine() || shared.config.on_deadlock == OnDeadlock::Ignore {
            return main.join().map_err(RunError::Panicked);
        }
        let deadlocked = Arc::new(AtomicBool::new(false));
        crate::shim::lock(&shared.runs).push(RunWaiter {
            main: main.header().clone(),
            thread: crate::park::current(),
            deadlocked: deadlocked.clone(),
        });
        // The workers may all have gone to sleep before we registered, and
        // then none would check again: check once ourselves (this thread is
        // already counted as blocked in `run`; it only parks from here).
        super::diag::deadlock::check(shared);
        // Acquire: pairs with the checker's release.
        let finished = main.wait_or(&|| deadlocked.load(Acquire));
        crate::shim::lock(&shared.runs).retain(|r| !Arc::ptr_eq(&r.deadlocked, &deadlocked));
        if finished || !deadlocked.load(Acquire) {
            return main.join().map_err(RunError::Panicked);
        }
        let report = Deadlock::new(super::diag::dump::dump_of(shared));
        if shared.config.on_deadlock == OnDeadlock::Abort {
            eprintln!("fatal error: {report}");
            std::process::abort();
        }
        Err(RunError::Deadlock(report))
    }

    /// A snapshot of this runtime's counters (see [`stats`](super::stats())).
    ///
    /// ```
    /// let rt = baton::runtime::Builder::new().workers(1).build();
    /// rt.run(|| ());
    /// assert_eq!(rt.stats().total_goroutines, 1);
    /// ```
    pub fn stats(&self) -> super::Stats {
        self.shared.stats()
    }

    /// A dump of this runtime's goroutines (see [`dump`](super::dump())),
    /// from anywhere.
    ///
    /// ```
    /// let rt = baton::runtime::Builder::new().workers(1).name("quiet").build();
    /// assert!(rt.dump().starts_with("runtime `quiet`: 1 workers"));
    /// ```
    pub fn dump(&self) -> String {
        super::diag::dump::dump_of(&self.shared)
    }

    /// Spawns a goroutine on this runtime, from anywhere.
    ///
    /// # Panics
    ///
    /// As [`go`](super::go()).
    ///
    /// ```
    /// let rt = baton::runtime::Builder::new().workers(1).build();
    /// assert_eq!(rt.go(|| 5).join().unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn go<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.try_go(f) {
            Ok(h) => h,
            Err(e) => panic!("baton::Runtime::go: {e}"),
        }
    }

    /// Spawns a goroutine on this runtime, or hands `f` back at the
    /// kernel's mapping cap (see [`try_go`](super::try_go)).
    ///
    /// ```
    /// let rt = baton::runtime::Builder::new().workers(1).build();
    /// let h = rt.try_go(|| 5).unwrap();
    /// assert_eq!(h.join().unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn try_go<F, T>(&self, f: F) -> Result<JoinHandle<T>, SpawnError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // SAFETY: `F` and `T` are `'static`.
        unsafe { spawn_unchecked(&self.shared, f, Location::caller(), None) }
    }

    /// Spawns a goroutine with per-goroutine [`Options`](super::Options) on
    /// this runtime, from anywhere.
    ///
    /// # Panics
    ///
    /// As [`go`](super::go()).
    ///
    /// ```
    /// use baton::runtime::{stack_usage, Builder, Options};
    ///
    /// let rt = Builder::new().workers(1).build();
    /// let h = rt.go_with(Options::new().stack_size(1 << 20), || stack_usage().unwrap().size());
    /// assert_eq!(h.join().unwrap(), 1 << 20);
    /// ```
    #[track_caller]
    pub fn go_with<F, T>(&self, opts: super::Options, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // SAFETY: `F` and `T` are `'static`.
        let spawned = unsafe {
            super::spawn::spawn_with_unchecked(&self.shared, f, Location::caller(), None, &opts)
        };
        match spawned {
            Ok(h) => h,
            Err(e) => panic!("baton::Runtime::go_with: {e}"),
        }
    }

    /// Number of worker threads.
    ///
    /// ```
    /// assert_eq!(baton::runtime::Builder::new().workers(2).build().workers(), 2);
    /// ```
    pub fn workers(&self) -> usize {
        self.shared.config.workers
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let shared = &self.shared;
        // SeqCst: sleeping workers re-check it after their fence (`idle`).
        shared.shutdown.store(true, SeqCst);
        shared.idle.wake_all();
        let inside =
            current::with_worker(|w| w.is_some_and(|w| core::ptr::eq(w.shared(), &**shared)));
        if let Some(m) = self.monitor.take() {
            m.stop(!inside);
        }
        if inside {
            // Joining our own thread would deadlock: let the workers stop
            // on their own.
            return;
        }
        for t in self.threads.drain(..) {
            // A worker never unwinds (it aborts on an internal panic).
            let _ = t.join();
        }
        drop(shared.injector.drain());
        let leaked = shared.leaked.load(Relaxed);
        if leaked > 0 {
            eprintln!(
                "baton: runtime `{}` shut down with {leaked} goroutine(s) still parked or \
                 runnable; their stacks are leaked (never resumed or freed)",
                shared.config.name
            );
        }
        shared.budget.release(self.pool_reservation);
    }
}

/// The global runtime, started on first use of [`global`].
static GLOBAL: OnceLock<Runtime> = OnceLock::new();

/// The global runtime's shared state, started on first use.
pub(crate) fn global() -> &'static Arc<Shared> {
    &GLOBAL.get_or_init(Runtime::new).shared
}

/// The global runtime's shared state if it has started; never starts it
/// (for readers such as `stats`, which must not have side effects).
pub(crate) fn global_if_started() -> Option<&'static Arc<Shared>> {
    GLOBAL.get().map(|rt| &rt.shared)
}
