//! [`blocking`]: run a call that blocks its OS thread (file I/O, a foreign
//! lock, `std::thread::sleep`, a long computation) on a separate pool of
//! threads while the calling goroutine parks, so its worker keeps running
//! the other goroutines.
//!
//! ## The pool
//!
//! One pool per process, shared by all runtimes: threads are started on
//! demand (up to [`MAX_THREADS`]), wait for more work for
//! [`IDLE_TIMEOUT`], then exit — so an application that never calls
//! `blocking` has no pool threads, and a burst leaves none behind. Jobs run
//! in FIFO order. A submitter hands its job to an idle thread if there is one
//! (popping it from the idle list under the lock, then unparking it), or
//! starts a thread; at the cap, the job waits in the queue for the next free
//! thread.
//!
//! ## Spawning from a job
//!
//! A job runs on a pool thread, not on a worker, yet it belongs to the
//! runtime of the goroutine that submitted it: while the job runs, its
//! thread records that runtime (`JOB_RUNTIME`), so a `go` inside the
//! closure spawns there, as it would have without `blocking`, and
//! `runtime::stats` reports that runtime. The record is cleared before the
//! job completes, so a pool thread never keeps a runtime alive while idle.
//!
//! ## Why the closure may borrow
//!
//! The calling goroutine does not return from `blocking` until the job has
//! finished and written its result: the wait is a loop on a completion cell
//! that cannot be skipped, unwound through, or forgotten. If the goroutine's
//! runtime shuts down meanwhile, the goroutine is leaked (see `Runtime`): its
//! stack is never freed, so the job's borrows and its result slot stay
//! valid. The completion cell itself is reference-counted, because the job
//! still touches it after the goroutine may have seen it done and returned.

use core::panic::AssertUnwindSafe;
use std::collections::VecDeque;
use std::panic::{catch_unwind, resume_unwind};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::sched::current;
use super::sched::join_cell::JoinCell;
use super::sched::shared::Shared;
use crate::park::{self, Unparker};
use crate::shim::{lock, thread, Arc, Mutex, UnsafeCell};

/// Most pool threads at once (tokio's default is also 512).
pub(crate) const MAX_THREADS: usize = 512;

/// How long an idle pool thread waits for work before it exits.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Idle threads, by id, most recent last (woken first).
    idle: Vec<(u64, Unparker)>,
    threads: usize,
    next_id: u64,
}

/// See the module docs.
struct Pool {
    state: Mutex<State>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(State::default()),
    })
}

impl Pool {
    /// Queues `job`; `Err(job)` if no thread could take it (the OS refused
    /// a new thread and none is running).
    fn submit(&'static self, job: Job) -> Result<(), Job> {
        let mut st = lock(&self.state);
        st.queue.push_back(job);
        if let Some((_, idle)) = st.idle.pop() {
            drop(st);
            idle.unpark();
            return Ok(());
        }
        if st.threads >= MAX_THREADS {
            return Ok(()); // a busy thread will take it
        }
        st.threads += 1;
        let id = st.next_id;
        st.next_id += 1;
        drop(st);
        let spawned = thread::Builder::new()
            .name("baton-blocking".to_owned())
            .spawn(move || self.thread_main(id));
        if spawned.is_err() {
            let mut st = lock(&self.state);
            st.threads -= 1;
            if st.threads == 0 {
                // Nobody will ever run it: give it back.
                return Err(st.queue.pop_back().expect("the job just queued"));
            }
        }
        Ok(())
    }

    fn thread_main(&'static self, id: u64) {
        let me = park::current();
        loop {
            let job = {
                let mut st = lock(&self.state);
                let job = st.queue.pop_front();
                if job.is_none() {
                    st.idle.push((id, me.clone()));
                }
                job
            };
            match job {
                // Jobs catch their own panics (see `blocking`).
                Some(job) => job(),
                None => {
                    recheck_deadlock();
                    if !self.wait_for_work(id) {
                        return;
                    }
                }
            }
        }
    }

    /// Parks until a submitter pops this thread from the idle list (`true`)
    /// or the idle timeout passes while it is still listed (`false`: the
    /// thread has left the pool).
    fn wait_for_work(&self, id: u64) -> bool {
        let deadline = Instant::now() + IDLE_TIMEOUT;
        loop {
            park::park_deadline(deadline);
            let mut st = lock(&self.state);
            match st.idle.iter().position(|(i, _)| *i == id) {
                // Popped by a submitter: there is a job for us.
                None => return true,
                Some(pos) if Instant::now() >= deadline => {
                    st.idle.remove(pos);
                    st.threads -= 1;
                    return false;
                }
                Some(_) => {} // spurious wake-up
            }
        }
    }
}

/// For deadlock detection: `Some(threads)` when the process's pool has no
/// job queued or running (every pool thread is parked in its idle list;
/// such a thread only ever wakes for a job a goroutine submits, or to exit),
/// `None` otherwise.
pub(crate) fn pool_quiet() -> Option<usize> {
    let st = lock(&pool().state);
    (st.queue.is_empty() && st.idle.len() == st.threads).then_some(st.threads)
}

crate::shim::thread_local! {
    /// The runtime whose goroutine submitted the job this pool thread is
    /// running (`None` between jobs, and on every other thread). Only
    /// this thread reads or writes it.
    static JOB_RUNTIME: core::cell::RefCell<Option<Arc<Shared>>> =
        const { core::cell::RefCell::new(None) };
}

crate::shim::thread_local! {
    /// The runtime of the last job this pool thread ran, for one deadlock
    /// check once the thread is idle again (see [`recheck_deadlock`]). Weak:
    /// an idle pool thread never keeps a runtime alive.
    static LAST_JOB_RUNTIME: core::cell::RefCell<Option<std::sync::Weak<Shared>>> =
        const { core::cell::RefCell::new(None) };
}

/// Runs the deadlock check (`diag::deadlock`) for the runtime whose job
/// this pool thread ran last, now that the thread is listed idle.
///
/// The check runs on the last worker to fall asleep, and rule 5 wants the
/// pool quiet then. But a job wakes its goroutine (completing the join)
/// *before* its thread lists itself idle: if that goroutine then parks for
/// good and its worker falls asleep within that moment, the worker's check
/// finds the pool busy, and without this second look nobody would ever
/// check again (a missed report: the runtime hangs). Either order is now
/// covered: a worker check after the listing sees the pool quiet; one
/// before it saw the pool busy under the pool's lock, so its sleep happened
/// before the listing, and this check sees it asleep. (An idle worker spins
/// up to 50 us before sleeping, which usually hid the gap; when its spin
/// was shortened, runtime_deadlock's `deadlock_after_activity` hung in
/// about half the runs.)
fn recheck_deadlock() {
    let owner = LAST_JOB_RUNTIME.with(|r| r.borrow_mut().take());
    if let Some(shared) = owner.and_then(|w| w.upgrade()) {
        super::diag::deadlock::check(&shared);
    }
}

/// The runtime that owns the blocking job running on this thread, if any.
pub(crate) fn job_runtime() -> Option<Arc<Shared>> {
    JOB_RUNTIME.with(|r| r.borrow().clone())
}

/// Marks this pool thread as running a job of `owner` until dropped, then
/// restores the previous mark (a job that calls `blocking` runs it inline:
/// nesting).
struct JobRuntime(Option<Arc<Shared>>);

impl JobRuntime {
    fn enter(owner: Option<Arc<Shared>>) -> Self {
        if let Some(o) = &owner {
            LAST_JOB_RUNTIME.with(|r| *r.borrow_mut() = Some(Arc::downgrade(o)));
        }
        Self(JOB_RUNTIME.with(|r| r.replace(owner)))
    }
}

impl Drop for JobRuntime {
    fn drop(&mut self) {
        let previous = self.0.take();
        JOB_RUNTIME.with(|r| *r.borrow_mut() = previous);
    }
}

/// The caller's result slot, written by the pool thread.
struct ResultSlot<T>(*const UnsafeCell<Option<std::thread::Result<T>>>);

// SAFETY: the pointer is used by exactly one pool thread, to write the
// result once before completing the cell; the caller reads it only after
// seeing the cell done. The value crosses threads, hence `T: Send`.
unsafe impl<T: Send> Send for ResultSlot<T> {}

/// Runs `f` on the blocking pool and parks the calling goroutine until it
/// returns; the worker runs other goroutines meanwhile. Outside a goroutine,
/// simply calls `f`.
///
/// `f` may borrow from the caller (it is waited for). A panic in `f` is
/// resumed in the caller. A [`go`](crate::go) inside `f` spawns on the
/// caller's runtime (not the global one), and
/// [`stats`](super::stats()) inside `f` reads that runtime.
///
/// ```
/// use std::time::Duration;
///
/// let rt = baton::runtime::Builder::new().workers(1).build();
/// let name = String::from("config.toml");
/// let len = rt.run(move || {
///     // On a one-worker runtime, this sleep would stall every goroutine
///     // if it ran on the worker; on the pool it stalls nobody.
///     let other = baton::go(|| 2 + 2);
///     let len = baton::runtime::blocking(|| {
///         std::thread::sleep(Duration::from_millis(10));
///         name.len()
///     });
///     assert_eq!(other.join().unwrap(), 4);
///     len
/// });
/// assert_eq!(len, 11);
/// ```
pub fn blocking<F, T>(f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    if !current::in_goroutine() {
        return f();
    }
    let result: UnsafeCell<Option<std::thread::Result<T>>> = UnsafeCell::new(None);
    let done: Arc<JoinCell<Unparker>> = Arc::new(JoinCell::new());
    let slot = ResultSlot(&result);
    let job_done = done.clone();
    let owner = current::with_worker(|w| w.map(|w| w.shared_arc()));
    let job = Box::new(move || {
        let slot = slot;
        let r = {
            // `go` inside `f` spawns on the caller's runtime (module docs);
            // the mark is gone before the job completes.
            let _owner = JobRuntime::enter(owner);
            catch_unwind(AssertUnwindSafe(f))
        };
        // SAFETY: the caller is parked in the loop below until `complete`,
        // and its frame (on a stack that is never freed while it waits; see
        // the module docs) holds the slot; only this job writes it.
        unsafe { (*slot.0).with_mut(|p| *p = Some(r)) };
        job_done.complete();
    });
    let job: Box<dyn FnOnce() + Send + '_> = job;
    // SAFETY: only the lifetime changes (same layout). What the job borrows
    // outlives it: the loop below does not end before the job completed
    // the cell, after which the job touches only its own `Arc`.
    let job: Job = unsafe { core::mem::transmute::<Box<dyn FnOnce() + Send + '_>, Job>(job) };
    if let Err(job) = pool().submit(job) {
        // No thread at all: run it here rather than lose it.
        job();
    }
    let _reason = park::wait_reason(park::WaitReason::Blocking);
    if done.register(park::current()) {
        while !done.is_done() {
            park::park();
        }
    }
    // SAFETY: the cell is done (acquire): the job wrote the result and will
    // not touch the slot again.
    let r = result.with_mut(|p| unsafe { (*p).take() });
    match r.expect("baton: blocking job completed without a result") {
        Ok(v) => v,
        Err(panic) => resume_unwind(panic),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::tests::within;
    use crate::runtime::Builder;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    #[test]
    fn outside_a_goroutine_runs_inline() {
        within(60, "outside_a_goroutine_runs_inline", || {
            let me = std::thread::current().id();
            assert_eq!(blocking(|| std::thread::current().id()), me);
        });
    }

    #[test]
    fn worker_keeps_running_others() {
        within(60, "worker_keeps_running_others", || {
            let rt = Builder::new().workers(1).build();
            let progressed = rt.run(|| {
                let ticks = std::sync::Arc::new(AtomicUsize::new(0));
                let t2 = ticks.clone();
                let ticker = crate::go(move || {
                    for _ in 0..100 {
                        t2.fetch_add(1, SeqCst);
                        crate::yield_now();
                    }
                });
                // Blocks its pool thread until the ticker (on our only worker)
                // is done: only possible if this goroutine does not block the
                // worker.
                let t3 = ticks.clone();
                let seen = blocking(move || {
                    let start = Instant::now();
                    while t3.load(SeqCst) < 100 && start.elapsed() < Duration::from_secs(20) {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    t3.load(SeqCst)
                });
                ticker.join().unwrap();
                seen
            });
            assert_eq!(progressed, 100);
        });
    }

    #[test]
    fn go_inside_spawns_on_the_callers_runtime() {
        within(60, "go_inside_spawns_on_the_callers_runtime", || {
            let rt = Builder::new().workers(1).name("blk-owner").build();
            let (name, workers) = rt.run(|| {
                blocking(|| {
                    assert!(job_runtime().is_some(), "the job knows its runtime");
                    let h = crate::go(|| std::thread::current().name().map(String::from));
                    (h.join().unwrap(), crate::runtime::stats().workers)
                })
            });
            assert_eq!(name.as_deref(), Some("blk-owner-0"));
            assert_eq!(workers, 1, "stats in a job reads the caller's runtime");
            // A `blocking` inside a job runs inline and keeps the mark.
            let rt2 = Builder::new().workers(1).build();
            let leftover = rt2.run(|| {
                blocking(|| ());
                blocking(|| {
                    std::thread::current()
                        .name()
                        .map(String::from)
                        .zip(Some(blocking(|| job_runtime().is_some())))
                })
            });
            assert_eq!(leftover, Some(("baton-blocking".to_owned(), true)));
            assert!(job_runtime().is_none(), "a plain thread has no job runtime");
        });
    }

    #[test]
    fn borrows_and_panics() {
        within(60, "borrows_and_panics", || {
            let rt = Builder::new().workers(2).build();
            rt.run(|| {
                let data = [1, 2, 3];
                let sum: i32 = blocking(|| data.iter().sum());
                assert_eq!(sum, 6);
                let r = catch_unwind(|| blocking(|| -> u8 { panic!("in the pool") }));
                let p = r.unwrap_err();
                assert_eq!(p.downcast_ref::<&str>(), Some(&"in the pool"));
            });
        });
    }

    #[test]
    fn many_at_once() {
        within(60, "many_at_once", || {
            let rt = Builder::new().workers(2).build();
            let total = rt.run(|| {
                let hs: Vec<_> = (0..64u64)
                    .map(|i| {
                        crate::go(move || {
                            blocking(move || {
                                std::thread::sleep(Duration::from_millis(2));
                                i
                            })
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
            });
            assert_eq!(total, 64 * 63 / 2);
        });
    }
}
