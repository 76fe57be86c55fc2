//! [`Builder`]: configures a [`Runtime`] and starts its workers.

use std::io;
use std::time::Duration;

use super::diag::monitor;
use super::rt::Runtime;
use super::sched::ring;
use super::sched::shared::{Config, Shared};
use super::sched::stack::{MapBudget, DEFAULT_STACK_SIZE, POOL_PER_WORKER};
use super::sched::worker::worker_main;
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
    /// If `n` is 0, or more than 65,535 (a goroutine's header keeps its
    /// worker's index in 16 bits).
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
        assert!(
            n <= crate::runtime::sched::goroutine::MAX_WORKERS,
            "baton::runtime::Builder::workers({n}): at most {} workers",
            crate::runtime::sched::goroutine::MAX_WORKERS
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
            .unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()))
            .min(crate::runtime::sched::goroutine::MAX_WORKERS);
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
            before_sleep: super::diag::deadlock::check,
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

/// What a runtime does when it finds its goroutines deadlocked (see
/// [`Builder::on_deadlock`]).
///
/// ```
/// use baton::runtime::{Builder, OnDeadlock};
///
/// let rt = Builder::new().workers(1).on_deadlock(OnDeadlock::Ignore).build();
/// assert_eq!(rt.run(|| 1), 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnDeadlock {
    /// `Runtime::try_run` returns [`RunError::Deadlock`](super::RunError::Deadlock); `Runtime::run`
    /// panics with the report. The default.
    #[default]
    Error,
    /// Print the report to standard error and abort the process (Go's
    /// behaviour, which exits with a fatal error).
    Abort,
    /// Do not look for deadlocks.
    Ignore,
}
