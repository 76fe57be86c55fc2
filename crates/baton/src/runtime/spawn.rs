//! Spawning: [`go`], [`try_go`], and the free functions about the running
//! goroutine ([`yield_now`], [`current`](current())).

use core::fmt;
use core::panic::Location;

use super::join::{make_job, JoinHandle, Packet};
use super::options::Options;
use super::rt::global;
use super::sched::current::{self, Suspend};
use super::sched::goroutine::{GoroutineId, Header, Job, JobOf, Task};
use super::sched::shared::Shared;
use super::sched::stack::MapLimit;
use super::scope::ScopeData;
use crate::shim::Arc;

/// Starts a goroutine running `f` and returns a handle to join it.
///
/// From inside a goroutine, the new one goes on the same runtime (on the
/// spawning worker's run queue, from which idle workers may steal it until
/// it starts). From a plain thread it goes on the global runtime, which
/// starts on first use with one worker per available CPU.
///
/// `f` must be `Send + 'static` like a thread's closure: it may run on any
/// worker until it starts. Once started, a goroutine never changes OS thread,
/// so what it creates on its stack may be `!Send`. To borrow from the
/// caller, use [`scope`](super::scope()).
///
/// # Panics
///
/// When the process has as many goroutine stacks as the kernel's mapping
/// cap allows (see [`try_go`]); the message says how to raise the cap.
///
/// A closure that is not `Send` is rejected:
///
/// ```compile_fail
/// let rc = std::rc::Rc::new(5);
/// baton::go(move || *rc);
/// ```
///
/// ```
/// let handles: Vec<_> = (0..10u64).map(|i| baton::go(move || i * i)).collect();
/// let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
/// assert_eq!(sum, 285);
/// ```
#[track_caller]
pub fn go<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match try_go(f) {
        Ok(h) => h,
        Err(e) => panic!("baton::go: {e}"),
    }
}

/// Like [`go`], but when the goroutine cannot have a stack (the kernel's
/// `vm.max_map_count` cap), returns an error holding `f` instead of
/// panicking.
///
/// ```
/// match baton::runtime::try_go(|| 1 + 1) {
///     Ok(h) => assert_eq!(h.join().unwrap(), 2),
///     Err(e) => {
///         eprintln!("{e}"); // names the limit and the sysctl raising it
///         let f = e.into_inner();
///         assert_eq!(f(), 2);
///     }
/// }
/// ```
#[track_caller]
pub fn try_go<F, T>(f: F) -> Result<JoinHandle<T>, SpawnError<F>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let site = Location::caller();
    let shared = current_shared();
    // SAFETY: `F` and `T` are `'static`: nothing they hold can dangle.
    unsafe { spawn_unchecked(&shared, f, site, None) }
}

/// Go's `WaitGroup.Go`, here in the runtime layer because it spawns
/// (`sync` sits below the runtime and never calls it).
impl crate::sync::WaitGroup {
    /// Adds one to the counter and starts a goroutine running `f` (as
    /// [`go`](fn@go)) that calls [`done`](crate::sync::WaitGroup::done)
    /// when `f` returns, and also when `f` panics (the panic still goes to
    /// whoever joins the returned handle). The `add` happens before the
    /// spawn, as Go requires, so a [`wait`](crate::sync::WaitGroup::wait)
    /// that follows cannot miss the goroutine.
    ///
    /// # Panics
    ///
    /// As [`add`](crate::sync::WaitGroup::add)`(1)` and as [`go`](fn@go);
    /// if the spawn fails, the count is taken back before the panic.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use baton::sync::WaitGroup;
    ///
    /// let wg = Arc::new(WaitGroup::new());
    /// let sum = Arc::new(AtomicUsize::new(0));
    /// let handles: Vec<_> = (1..=4)
    ///     .map(|i| {
    ///         let sum = sum.clone();
    ///         wg.go(move || {
    ///             assert_ne!(i, 3, "job 3 fails");
    ///             sum.fetch_add(i, Ordering::Relaxed);
    ///         })
    ///     })
    ///     .collect();
    /// wg.wait(); // returns although job 3 panicked
    /// assert_eq!(sum.load(Ordering::Relaxed), 1 + 2 + 4);
    /// let failed = handles.into_iter().map(|h| h.join()).filter(Result::is_err);
    /// assert_eq!(failed.count(), 1, "the panic goes to the joiner");
    /// ```
    #[track_caller]
    pub fn go<F, T>(self: &std::sync::Arc<Self>, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.add(1);
        let wg = self.clone();
        let job = move || {
            // Dropped when `f` returns or unwinds: `done` either way.
            let _done = wg.adopt_guard();
            f()
        };
        match try_go(job) {
            Ok(h) => h,
            Err(e) => {
                self.done();
                panic!("WaitGroup::go: {e}")
            }
        }
    }
}

/// The runtime of the calling worker; on a blocking-pool thread, the
/// runtime of the goroutine whose job it runs; otherwise the global one.
pub(crate) fn current_shared() -> Arc<Shared> {
    owning_shared().unwrap_or_else(|| global().clone())
}

/// The runtime the caller belongs to without starting one: its worker's,
/// or, on a blocking-pool thread, that of the goroutine whose job it runs.
pub(crate) fn owning_shared() -> Option<Arc<Shared>> {
    current::with_worker(|w| w.map(|w| w.shared_arc())).or_else(super::blocking::job_runtime)
}

/// Spawns `f` on `shared` with the default [`Options`].
///
/// # Safety
///
/// As [`spawn_with_unchecked`].
pub(crate) unsafe fn spawn_unchecked<'a, F, T>(
    shared: &Arc<Shared>,
    f: F,
    site: &'static Location<'static>,
    scope: Option<Arc<ScopeData>>,
) -> Result<JoinHandle<T>, SpawnError<F>>
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    // SAFETY: the caller's promise, passed on.
    unsafe { spawn_with_unchecked(shared, f, site, scope, &Options::DEFAULT) }
}

/// Spawns `f` on `shared` as `opts` say.
///
/// # Safety
///
/// Everything `f` and `T` borrow must stay valid until the goroutine's
/// packet is dropped (a scope waits for that), or be `'static`.
pub(crate) unsafe fn spawn_with_unchecked<'a, F, T>(
    shared: &Arc<Shared>,
    f: F,
    site: &'static Location<'static>,
    scope: Option<Arc<ScopeData>>,
    opts: &Options,
) -> Result<JoinHandle<T>, SpawnError<F>>
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    if let Err(limit) = shared.budget.acquire(1) {
        return Err(SpawnError { closure: f, limit });
    }
    if let Some(scope) = &scope {
        scope.goroutine_started();
    }
    shared.stats.spawned.inc();
    let header = Header::new(site, shared.clone());
    let packet = Arc::new(Packet::new(scope));
    let job = make_job(f, packet.clone());
    // SAFETY: only the lifetime changes (same layout); the caller promises
    // that what the job borrows outlives its use.
    let job: Job = unsafe { core::mem::transmute::<JobOf<'a>, Job>(job) };
    let task = Task {
        header: header.clone(),
        job: Some(job),
        stack_size: opts.normalised_stack_size(),
    };
    if shared.is_shutdown() {
        // It will never run: dropping the task abandons it, and the handle
        // reports that when joined.
        drop(task);
    } else {
        shared.schedule_new(task);
    }
    Ok(JoinHandle::new(header, packet))
}

/// Why [`try_go`] could not start a goroutine; holds the closure so nothing
/// is lost.
pub struct SpawnError<F> {
    closure: F,
    limit: MapLimit,
}

impl<F> SpawnError<F> {
    /// Takes the closure back.
    ///
    /// ```
    /// # fn demo(e: baton::runtime::SpawnError<fn() -> u8>) {
    /// let f = e.into_inner();
    /// assert_eq!(f(), 1);
    /// # }
    /// ```
    pub fn into_inner(self) -> F {
        self.closure
    }
}

impl<F> fmt::Display for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.limit.fmt(f)
    }
}

impl<F> fmt::Debug for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnError")
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl<F> std::error::Error for SpawnError<F> {}

/// Lets other goroutines on this worker run, then continues. In a plain
/// thread, yields the thread's time slice.
///
/// There is no preemption: a goroutine in a long computation should call
/// this now and then so that others on its worker get a turn.
///
/// ```
/// let h = baton::go(|| {
///     for _ in 0..3 {
///         baton::yield_now();
///     }
///     "done"
/// });
/// assert_eq!(h.join().unwrap(), "done");
/// ```
pub fn yield_now() {
    if current::in_goroutine() {
        current::suspend(Suspend::Yield);
    } else {
        crate::shim::yield_now();
    }
}

/// The running goroutine's id; `None` in a plain thread.
///
/// ```
/// assert_eq!(baton::runtime::current(), None);
/// let id = baton::go(|| baton::runtime::current()).join().unwrap();
/// assert!(id.is_some());
/// ```
pub fn current() -> Option<GoroutineId> {
    current::with_goroutine(|g| g.map(|g| g.id))
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::runtime::sched::stack::{MapBudget, POOL_PER_WORKER};
    use crate::runtime::Builder;
    use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use std::sync::Arc;

    #[test]
    fn try_go_at_the_map_cap_returns_the_closure_and_the_sysctl() {
        crate::runtime::tests::within(60, "try_go at the map cap", || {
            let budget: &'static MapBudget =
                Box::leak(Box::new(MapBudget::exact(POOL_PER_WORKER + 3)));
            let rt = Builder::new().workers(1).budget(budget).build();
            let release = Arc::new(AtomicBool::new(false));
            let parked: Vec<_> = (0..3)
                .map(|_| {
                    let release = release.clone();
                    rt.go(move || {
                        while !release.load(SeqCst) {
                            crate::time::sleep(std::time::Duration::from_millis(1));
                        }
                    })
                })
                .collect();
            let err = rt.try_go(|| 42).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("vm.max_map_count"), "{msg}");
            assert!(msg.contains("sysctl -w vm.max_map_count="), "{msg}");
            assert_eq!((err.into_inner())(), 42, "the closure comes back");
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.go(|| ())));
            let p = panicked.unwrap_err();
            let text = p.downcast_ref::<String>().unwrap();
            assert!(text.contains("sysctl -w vm.max_map_count="), "{text}");
            release.store(true, SeqCst);
            for h in parked {
                h.join().unwrap();
            }
            // Room again once they finished.
            assert_eq!(rt.go(|| 7).join().unwrap(), 7);
            drop(rt);
            assert_eq!(budget.used(), 0, "every stack given back");
        });
    }
}
