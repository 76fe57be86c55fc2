//! A goroutine's shared header, its id, and the unstarted form that run
//! queues carry.
//!
//! ## Who owns what
//!
//! - [`Header`] is reference-counted and shared: the join handle, every
//!   waker (`Unparker`) and the queues hold it. It holds **no** part of the
//!   goroutine's stack, so it may be dropped on any thread.
//! - The coroutine (the stack and the suspended execution) is owned by the
//!   home worker's slab and touched only on the home worker's thread; see
//!   `worker.rs`.
//! - [`Task`] is an unstarted goroutine: its header plus its boxed closure.
//!   It is `Send` and may be stolen by any worker. Dropping a task that never
//!   started *abandons* it: the closure is dropped, the join handle learns
//!   that it will never run, and its stack budget is returned.

use core::fmt;
use core::num::NonZeroU64;
use core::panic::Location;

use super::inbox::Linked;
use super::join_cell::JoinCell;
use super::park_state::ParkState;
use super::shared::Shared;
use crate::park::Unparker;
use crate::park::WaitReason;
use crate::shim::atomic::{AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering::Relaxed};
use crate::shim::Arc;

/// A goroutine's id: unique in the process, never reused, starting at 1
/// (as Go's goroutine ids; the main goroutine of a [`Runtime::run`] is not
/// special).
///
/// [`Runtime::run`]: crate::runtime::Runtime::run
///
/// ```
/// let h = baton::go(|| baton::runtime::current().unwrap());
/// let id = h.id();
/// assert_eq!(h.join().unwrap(), id);
/// assert!(id.as_u64() > 0);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct GoroutineId(NonZeroU64);

impl GoroutineId {
    /// The id as a number.
    ///
    /// ```
    /// let id = baton::go(|| ()).id();
    /// println!("spawned goroutine {}", id.as_u64());
    /// ```
    pub fn as_u64(self) -> u64 {
        self.0.get()
    }

    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        // Relaxed: only uniqueness matters, which `fetch_add` alone gives.
        let id = NEXT.fetch_add(1, Relaxed);
        GoroutineId(NonZeroU64::new(id).expect("goroutine id counter wrapped"))
    }
}

impl fmt::Display for GoroutineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "goroutine {}", self.0)
    }
}

/// `usize::MAX` in `home`/`slot` before the goroutine starts.
const UNSET: usize = usize::MAX;

/// See the module docs.
pub(crate) struct Header {
    pub(crate) id: GoroutineId,
    pub(crate) spawned_at: &'static Location<'static>,
    /// The runtime it belongs to: where its wake-ups go.
    pub(crate) rt: Arc<Shared>,
    /// Park/unpark token and state (see `park_state`).
    pub(crate) park: ParkState,
    /// Home worker index, set once by that worker when the goroutine starts.
    /// Read by unparkers after `park.unpark()` returned `true`, which
    /// acquired the `PARKED` state the home worker released after this
    /// store, so `Relaxed` suffices for both.
    pub(crate) home: AtomicUsize,
    /// Index in the home worker's slab; same rules as `home`.
    pub(crate) slot: AtomicUsize,
    /// Link for the home worker's inbox (see `inbox`).
    pub(crate) next: AtomicPtr<Header>,
    /// Completion, and the joiner's waker.
    pub(crate) join: JoinCell<Unparker>,
    /// Why it is parked (a [`WaitReason`] as `u8`), for dumps. Written only
    /// by the goroutine itself and read by its home worker, so on one
    /// thread: `Relaxed`.
    pub(crate) wait_reason: AtomicU8,
    /// When it was spawned, in [`coarse_now_ns`] time.
    pub(crate) born_ns: u64,
}

/// A cheap monotonic clock in nanoseconds (`CLOCK_MONOTONIC_COARSE`: a vDSO
/// read of the last tick, a few nanoseconds, accurate to a few
/// milliseconds): good enough for a goroutine's age in a dump, and cheap
/// enough for every spawn.
pub(crate) fn coarse_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a
    // constant Linux always has.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("id", &self.id)
            .field("spawned_at", &self.spawned_at)
            .finish_non_exhaustive()
    }
}

impl Linked for Header {
    fn link(&self) -> &AtomicPtr<Self> {
        &self.next
    }
}

impl Header {
    /// A header, always in an `Arc` (the `TaskUnpark` impl relies on it).
    pub(crate) fn new(spawned_at: &'static Location<'static>, rt: Arc<Shared>) -> Arc<Self> {
        Arc::new(Self {
            id: GoroutineId::next(),
            spawned_at,
            rt,
            park: ParkState::new(),
            home: AtomicUsize::new(UNSET),
            slot: AtomicUsize::new(UNSET),
            next: AtomicPtr::new(core::ptr::null_mut()),
            join: JoinCell::new(),
            wait_reason: AtomicU8::new(WaitReason::Unknown as u8),
            born_ns: coarse_now_ns(),
        })
    }
}

/// The closure of an unstarted goroutine, wrapped: called with its header
/// and `None`, it runs the closure, catching a panic, stores the outcome
/// and completes the join; called with `Some(reason)`, it drops the closure
/// unrun and stores `reason` as the outcome instead.
pub(crate) type Job = JobOf<'static>;

/// A [`Job`] whose closure borrows for `'a` (a scoped goroutine's, before
/// its lifetime is erased).
pub(crate) type JobOf<'a> = Box<dyn FnOnce(&Header, Option<String>) + Send + 'a>;

/// An unstarted goroutine (see the module docs).
pub(crate) struct Task {
    pub(crate) header: Arc<Header>,
    /// `Some` until a worker starts it.
    pub(crate) job: Option<Job>,
    /// Usable stack bytes it asked for (normalised), or 0 for its runtime's.
    pub(crate) stack_size: usize,
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("header", &self.header)
            .finish()
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        if let Some(job) = self.job.take() {
            self.header.rt.stats.abandoned.fetch_add(1, Relaxed);
            // Never started: abandon it. Drop the closure first (with its
            // captures, and its share of the join packet), then tell the
            // joiner, then give back the stack it was promised.
            drop(job);
            self.header.join.complete();
            self.header.rt.budget.release(1);
        }
    }
}
