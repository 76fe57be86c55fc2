//! [`Builder`] and [`Runtime`]: a set of worker threads that run goroutines,
//! and the global runtime that [`go`](super::go) uses from plain threads.

use core::fmt;
use core::panic::Location;
use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use super::diag::deadlock::{Deadlock, OnDeadlock, RunError, RunWaiter};
use super::diag::monitor::{self, Monitor};
use super::join::JoinHandle;
use super::sched::current;
use super::sched::ring;
use super::sched::shared::{Config, Shared};
use super::sched::stack::{MapBudget, DEFAULT_STACK_SIZE, POOL_PER_WORKER};
use super::sched::worker::worker_main;
use super::spawn::{spawn_unchecked, SpawnError};
use crate::shim::atomic::{
    AtomicBool,
    Ordering::{Acquire, Relaxed, SeqCst},
};
use crate::shim::{thread, Arc};

/// Configures a [`Runtime`].
///
/// ```
/// let rt = baton::runtime::Builder::new()
///     .workers(2)
///     .stack_size(128 * 1024)
///     .name("jobs")
///     .build();
/// assert_eq!(rt.run(|| 40 + 2), 42);
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    workers: Option<usize>,
    stack_size: usize,
    name: String,
    on_deadlock: OnDeadlock,
    dump_on_sigquit: bool,
    pin_workers: bool,
    long_run: Option<Duration>,
    budget: Option<&'static MapBudget>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Defaults: one worker per available CPU, 64 KiB stacks
    /// ([`DEFAULT_STACK_SIZE`](super::DEFAULT_STACK_SIZE)), threads named
    /// `baton-0`, `baton-1`, ...
    ///
    /// ```
    /// let rt = baton::runtime::Builder::new().build();
    /// assert!(rt.workers() >= 1);
    /// ```
    pub fn new() -> Self {
        Self {
            workers: None,
            stack_size: DEFAULT_STACK_SIZE,
            name: "baton".to_owned(),
            on_deadlock: OnDeadlock::Error,
            dump_on_sigquit: true,
            pin_workers: false,
            long_run: Some(monitor::DEFAULT_LONG_RUN),
            budget: None,
        }
    }

    /// Number of worker threads (OS threads running goroutines). More than
    /// the number of CPUs is allowed.
    ///
    /// # Panics
    ///
    /// If `n` is 0.
    ///
    /// ```
    /// let rt = baton::runtime::Builder::new().workers(3).build();
    /// assert_eq!(rt.workers(), 3);
    /// ```
    pub fn workers(mut self, n: usize) -> Self {
        assert!(
            n > 0,
            "baton::runtime::Builder::workers(0): a runtime needs at least one worker"
        );
        self.workers = Some(n);
        self
    }

    /// Usable stack size of each goroutine, in bytes (rounded up to whole
    /// pages; at least 4 KiB). Stacks do not grow: a goroutine that needs
    /// more faults on its guard page, and the process prints which goroutine
    /// it was and aborts. Only the pages a goroutine touches cost memory.
    /// One goroutine can have another size: see
    /// [`Options::stack_size`](super::Options::stack_size).
    ///
    /// ```
    /// // About 100 frames of 2 KiB buffers: more than the 64 KiB default.
    /// let rt = baton::runtime::Builder::new().stack_size(1 << 20).build();
    /// let depth = rt.run(|| {
    ///     fn recurse(n: u32) -> u32 {
    ///         let buf = std::hint::black_box([0u8; 2048]);
    ///         if n == 0 { u32::from(buf[0]) } else { 1 + recurse(n - 1) }
    ///     }
    ///     recurse(100)
    /// });
    /// assert_eq!(depth, 100);
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Prefix of the worker threads' names (`{prefix}-{index}`).
    ///
    /// ```
    /// let rt = baton::runtime::Builder::new().workers(1).name("io").build();
    /// let name = rt.run(|| std::thread::current().name().map(String::from));
    /// assert_eq!(name.as_deref(), Some("io-0"));
    /// ```
    pub fn name(mut self, prefix: impl Into<String>) -> Self {
        self.name = prefix.into();
        self
    }

    /// What to do when every goroutine is asleep and nothing can wake them
    /// (see [`OnDeadlock`] and the rule in [`Runtime::try_run`]); the
    /// default is [`OnDeadlock::Error`].
    ///
    /// ```
    /// use baton::runtime::{Builder, OnDeadlock};
    ///
    /// let rt = Builder::new().on_deadlock(OnDeadlock::Abort).build();
    /// assert_eq!(rt.run(|| 3), 3);
    /// ```
    pub fn on_deadlock(mut self, what: OnDeadlock) -> Self {
        self.on_deadlock = what;
        self
    }

    /// Whether `SIGQUIT` prints a goroutine dump of every runtime to
    /// standard error (the program goes on). On by default; the handler is
    /// installed when the first runtime with this on starts, and only if
    /// `SIGQUIT` still has its default action (a program's own handler
    /// wins). Off, this runtime neither installs the handler nor appears in
    /// the dumps.
    ///
    /// ```
    /// let rt = baton::runtime::Builder::new().dump_on_sigquit(false).build();
    /// assert_eq!(rt.run(|| 2), 2);
    /// ```
    pub fn dump_on_sigquit(mut self, on: bool) -> Self {
        self.dump_on_sigquit = on;
        self
    }

    /// Binds worker `i` to the `i`-th CPU the process may use (wrapping
    /// around). Off by default. Goroutines never move between workers, so
    /// pinning keeps two goroutines that wake each other from different
    /// workers on two CPUs, where a worker's brief spin catches the other's
    /// wake-up; unpinned, Linux may put both workers on one CPU for a
    /// while. On a machine busy with other programs, pinned workers cannot
    /// move away from a loaded CPU.
    ///
    /// ```
    /// let rt = baton::runtime::Builder::new().workers(2).pin_workers(true).build();
    /// assert_eq!(rt.run(|| 4), 4);
    /// ```
    pub fn pin_workers(mut self, on: bool) -> Self {
        self.pin_workers = on;
        self
    }

    /// How long a goroutine may run without parking or yielding before the
    /// runtime's monitor thread reports it on standard error (10 ms by
    /// default, as Go's preemption threshold); `None` turns the monitor off
    /// (no monitor thread).
    ///
    /// baton does **not** preempt: the report is all that happens to the
    /// goroutine, which keeps its worker until it parks, yields or returns,
    /// and the started goroutines whose home is that worker wait for it
    /// (they never move to another thread). The monitor only makes sure
    /// idle workers take the stuck worker's *unstarted* goroutines. A report
    /// reads:
    ///
    /// ```text
    /// baton: goroutine 17 (spawned at src/main.rs:12) has run 10 ms without yielding on worker baton-0; goroutines waiting for that worker are delayed (baton does not preempt: call baton::yield_now() in long loops)
    /// ```
    ///
    /// It comes at most once per run-spell and at most once a second in the
    /// process (the next line says how many were held back); each spell is
    /// counted in [`Stats::long_runs`](super::Stats::long_runs). A worker
    /// blocked in a system call (`std::thread::sleep`, file I/O: use
    /// [`blocking`](super::blocking())) or descheduled by the OS looks the
    /// same to the monitor and is reported too.
    ///
    /// # Panics
    ///
    /// If the threshold is zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use baton::runtime::Builder;
    ///
    /// let patient = Builder::new().long_run_threshold(Duration::from_millis(100)).build();
    /// assert_eq!(patient.run(|| 1), 1);
    /// let quiet = Builder::new().long_run_threshold(None).build();
    /// assert_eq!(quiet.run(|| 2), 2);
    /// ```
    pub fn long_run_threshold(mut self, threshold: impl Into<Option<Duration>>) -> Self {
        let threshold = threshold.into();
        assert!(
            threshold != Some(Duration::ZERO),
            "baton::runtime::Builder::long_run_threshold: the threshold must be above zero \
             (pass None to turn the monitor off)"
        );
        self.long_run = threshold;
        self
    }

    /// A test hook: count stacks against `budget` instead of the process's.
    #[cfg(test)]
    pub(crate) fn budget(mut self, budget: &'static MapBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Starts the workers.
    ///
    /// # Panics
    ///
    /// If the OS refuses a thread, or the mapping budget cannot hold the
    /// workers' stack pools; [`try_build`](Self::try_build) returns these as
    /// errors.
    ///
    /// ```
    /// let rt = baton::runtime::Builder::new().workers(1).build();
    /// drop(rt); // stops the workers
    /// ```
    pub fn build(self) -> Runtime {
        match self.try_build() {
            Ok(rt) => rt,
            Err(e) => panic!("baton::runtime::Builder::build: {e}"),
        }
    }

    /// Starts the workers, or says why it could not.
    ///
    /// ```
    /// let rt = baton::runtime::Builder::new().workers(1).try_build().unwrap();
    /// assert_eq!(rt.run(|| 1), 1);
    /// ```
    pub fn try_build(self) -> io::Result<Runtime> {
        let workers = self
            .workers
            .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
        let budget = self.budget.unwrap_or_else(MapBudget::global);
        let pool_reservation = workers * POOL_PER_WORKER;
        budget
            .acquire(pool_reservation)
            .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e.to_string()))?;
        super::diag::overflow::install();
        let (locals, steals): (Vec<_>, Vec<_>) = (0..workers).map(|_| ring::new()).unzip();
        let config = Config {
            workers,
            stack_size: self.stack_size,
            name: self.name,
            on_deadlock: self.on_deadlock,
            long_run: self.long_run,
        };
        let shared = Arc::new(Shared::new(config, steals, budget));
        if self.dump_on_sigquit {
            super::diag::sigquit::register(&shared);
        }
        let mut rt = Runtime {
            shared: shared.clone(),
            threads: Vec::with_capacity(workers),
            monitor: None,
            pool_reservation,
        };
        let cpus = if self.pin_workers {
            super::pin::allowed_cpus()
        } else {
            Vec::new()
        };
        for (index, local) in locals.into_iter().enumerate() {
            let shared = shared.clone();
            let cpu = (!cpus.is_empty()).then(|| cpus[index % cpus.len()]);
            let handle = thread::Builder::new()
                .name(format!("{}-{index}", shared.config.name))
                .spawn(move || {
                    if let Some(cpu) = cpu {
                        // A refusal (a restricted cgroup) leaves it unpinned.
                        let _ = super::pin::pin_current_thread(cpu);
                    }
                    worker_main(shared, index, local)
                })?;
            rt.threads.push(handle);
        }
        rt.monitor = monitor::start(&shared)?;
        Ok(rt)
    }
}

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
    shared: Arc<Shared>,
    threads: Vec<thread::JoinHandle<()>>,
    /// The monitor thread (see `monitor`), if on.
    monitor: Option<Monitor>,
    pool_reservation: usize,
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

/// The global runtime's shared state, started on first use.
pub(crate) fn global() -> &'static Arc<Shared> {
    static GLOBAL: OnceLock<Runtime> = OnceLock::new();
    &GLOBAL.get_or_init(Runtime::new).shared
}
