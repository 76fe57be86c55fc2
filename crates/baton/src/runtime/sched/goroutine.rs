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
//!
//! ## Size
//!
//! Every goroutine, idle or not, holds one [`Header`] in an `Arc`: with
//! glibc's malloc a request of up to 88 bytes takes a 96-byte chunk, up to
//! 104 a 112-byte one, up to 120 a 128-byte one. The `Arc` adds two
//! counters (16 bytes), so the header is kept to 72 bytes (88 with the
//! counts; a test checks it): it was 96 (112, a 128-byte chunk) before issue
//! 15. What was packed, none of it on a hot path's critical step:
//!
//! - `home` and `slot` are 16- and 32-bit ([`WorkerIndex`], [`SlotIndex`]):
//!   a runtime has at most [`MAX_WORKERS`] workers (the builder says so),
//!   and a worker's slab cannot reach 2^32 live goroutines (each holds at
//!   least a 4 KiB stack page). The loads are the same one instruction.
//! - The birth time is 32-bit milliseconds (`born_ms`): a dump's age is
//!   exact to the coarse clock's tick for goroutines younger than 49.7 days
//!   and wraps after that (an age, never a correctness input).
//! - The join cell's waiter slot is a `MaybeUninit` its state word already
//!   describes, instead of an `Option` (8 bytes: the unparker has no niche
//!   left; see `join_cell.rs`).
//!
//! Not done: moving `spawned_at` behind a pointer or a table (an extra
//! allocation or a global lock per spawn, for 8 bytes), or shrinking the id
//! to 32 bits (ids are never reused, and a busy server spawns 2^32
//! goroutines in hours).

use core::fmt;
use core::num::NonZeroU64;
use core::panic::Location;

use super::inbox::Linked;
use super::join_cell::JoinCell;
use super::park_state::ParkState;
use super::shared::Shared;
use crate::park::Unparker;
use crate::park::WaitReason;
use crate::shim::atomic::{
    AtomicPtr, AtomicU16, AtomicU32, AtomicU64, AtomicU8, Ordering, Ordering::Relaxed,
};
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

/// The most workers a runtime may have: a worker's index must fit in a
/// [`WorkerIndex`] (16 bits, with `u16::MAX` meaning "not started yet").
pub(crate) const MAX_WORKERS: usize = u16::MAX as usize;

/// A goroutine's home worker index in 16 bits (see "Size" in the module
/// docs); `u16::MAX` before it starts. The same atomic operations as the
/// `AtomicUsize` it replaced, widened and narrowed at the edges.
pub(crate) struct WorkerIndex(AtomicU16);

impl WorkerIndex {
    const UNSET: u16 = u16::MAX;

    fn unset() -> Self {
        Self(AtomicU16::new(Self::UNSET))
    }

    #[inline]
    pub(crate) fn load(&self, order: Ordering) -> usize {
        usize::from(self.0.load(order))
    }

    /// # Panics
    ///
    /// If `index` is not below [`MAX_WORKERS`] (the builder refuses more
    /// workers, so this is a scheduler bug).
    #[inline]
    pub(crate) fn store(&self, index: usize, order: Ordering) {
        let v = u16::try_from(index)
            .ok()
            .filter(|&v| v != Self::UNSET)
            .expect("baton: worker index does not fit a goroutine header");
        self.0.store(v, order);
    }
}

/// A goroutine's slot in its home worker's slab, in 32 bits (see "Size" in
/// the module docs); `u32::MAX` before it starts.
pub(crate) struct SlotIndex(AtomicU32);

impl SlotIndex {
    const UNSET: u32 = u32::MAX;

    fn unset() -> Self {
        Self(AtomicU32::new(Self::UNSET))
    }

    #[inline]
    pub(crate) fn load(&self, order: Ordering) -> usize {
        self.0.load(order) as usize
    }

    /// # Panics
    ///
    /// If `slot` does not fit (2^32 - 1 live goroutines on one worker: more
    /// than any memory holds, so a scheduler bug).
    #[inline]
    pub(crate) fn store(&self, slot: usize, order: Ordering) {
        let v = u32::try_from(slot)
            .ok()
            .filter(|&v| v != Self::UNSET)
            .expect("baton: slab slot does not fit a goroutine header");
        self.0.store(v, order);
    }
}

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
    pub(crate) home: WorkerIndex,
    /// Index in the home worker's slab; same rules as `home`.
    pub(crate) slot: SlotIndex,
    /// Link for the home worker's inbox (see `inbox`).
    pub(crate) next: AtomicPtr<Header>,
    /// Completion, and the joiner's waker.
    pub(crate) join: JoinCell<Unparker>,
    /// Why it is parked (a [`WaitReason`] as `u8`), for dumps. Written only
    /// by the goroutine itself and read by its home worker, so on one
    /// thread: `Relaxed`.
    pub(crate) wait_reason: AtomicU8,
    /// When it was spawned: [`coarse_now_ns`] time in milliseconds, the
    /// low 32 bits (see "Size" in the module docs; read it with
    /// [`Header::age_ns`]).
    born_ms: u32,
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
            home: WorkerIndex::unset(),
            slot: SlotIndex::unset(),
            next: AtomicPtr::new(core::ptr::null_mut()),
            join: JoinCell::new(),
            wait_reason: AtomicU8::new(WaitReason::Unknown as u8),
            born_ms: low_ms(coarse_now_ns()),
        })
    }

    /// How long ago it was spawned, at `now_ns` ([`coarse_now_ns`] time),
    /// to the millisecond; wraps for goroutines older than 2^32 ms (49.7
    /// days; see "Size" in the module docs).
    pub(crate) fn age_ns(&self, now_ns: u64) -> u64 {
        age_since(self.born_ms, now_ns)
    }
}

/// Nanoseconds from `born_ms` (see [`low_ms`]) to `now_ns`, to the
/// millisecond, modulo 2^32 ms.
fn age_since(born_ms: u32, now_ns: u64) -> u64 {
    u64::from(low_ms(now_ns).wrapping_sub(born_ms)) * 1_000_000
}

/// The low 32 bits of `ns` in whole milliseconds.
fn low_ms(ns: u64) -> u32 {
    (ns / 1_000_000) as u32
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// "Size" in the module docs: the header and its `Arc` counts fit the
    /// 96-byte malloc chunk (a request of at most 88 bytes).
    #[test]
    fn the_header_fits_a_96_byte_chunk() {
        let with_counts = core::mem::size_of::<Header>() + 2 * core::mem::size_of::<usize>();
        assert!(
            with_counts <= 88,
            "Header is {} bytes, {with_counts} with the Arc counts: over glibc's 88-byte class",
            core::mem::size_of::<Header>()
        );
    }

    #[test]
    fn indexes_round_trip_and_refuse_what_does_not_fit() {
        let w = WorkerIndex::unset();
        w.store(MAX_WORKERS - 1, Relaxed);
        assert_eq!(w.load(Relaxed), MAX_WORKERS - 1);
        let s = SlotIndex::unset();
        s.store(123_456, Relaxed);
        assert_eq!(s.load(Relaxed), 123_456);
        assert!(
            std::panic::catch_unwind(|| WorkerIndex::unset().store(MAX_WORKERS, Relaxed)).is_err()
        );
        assert!(std::panic::catch_unwind(|| SlotIndex::unset().store(1 << 32, Relaxed)).is_err());
    }

    #[test]
    fn ages_are_exact_to_the_millisecond_and_wrap_at_2_pow_32_ms() {
        let born = 5_000_000_123_456_789u64;
        assert_eq!(age_since(low_ms(born), born), 0);
        assert_eq!(age_since(low_ms(born), born + 2_500_000_000), 2_500_000_000);
        // Across the 32-bit wrap of the millisecond count.
        let wrap_ns = (1u64 << 32) * 1_000_000;
        assert_eq!(
            age_since(low_ms(wrap_ns - 1_000_000), wrap_ns + 2_000_000),
            3_000_000
        );
    }
}
