//! [`ShardedRwLock`]: a reader-writer lock whose readers do not share a
//! cache line, for data that is read on every core and rarely written.
//!
//! # Why
//!
//! Every reader of a plain [`RwLock`](super::RwLock) writes the lock's
//! one state word (to count itself in and out), so at N cores that line
//! bounces N ways and read throughput stops growing with cores, or falls:
//! Go's `RWMutex` "does not scale with the number of CPUs", which the
//! `drwmutex` project fixed with one reader lock per CPU. This is that fix:
//!
//! - `slots` independent reader-writer locks, each on its own cache lines
//!   ([`CachePadded`]). A reader locks **only its own slot**, so readers on
//!   different slots never touch the same line.
//! - A writer locks **every slot, in index order** (so two writers meet at
//!   slot 0 and can never deadlock), in two sweeps: first it claims every
//!   slot (which stops new readers everywhere at once), then it waits for
//!   the readers already inside each slot to leave. Writes cost `slots`
//!   lock operations: use this lock only for read-mostly data.
//! - Each slot is the same state machine as [`RwLock`](super::RwLock)
//!   (`raw_rwlock.rs`): readers and writers spin briefly, then park through
//!   baton's park layer; writer preference, reader batches and FIFO writers
//!   hold per slot.
//!
//! # Which slot a reader uses, measured
//!
//! A reader uses slot `thread_index() & (slots - 1)`, the crate's dense
//! per-thread index. Goroutines never migrate between threads once started,
//! so a goroutine keeps its slot too. The alternative, the CPU the reader
//! runs on (`sched_getcpu`, or `rdtscp`'s processor id), was measured
//! against it with a throwaway program (release build, this project's
//! 2-core KVM guest, 4 rounds of 0.7 s, load average 5-7 from other builds
//! on the machine, so the spread is wide):
//!
//! | picking the slot | cost of the pick | read lock + unlock, 2 threads | 8 threads |
//! |---|---|---|---|
//! | thread index | 0.8 ns | 83-238 M/s | 83-231 M/s |
//! | `sched_getcpu` each time | 4.8-6.5 ns | 64-212 M/s | 80-224 M/s |
//! | `sched_getcpu`, refreshed every 64 reads | 0.7-1.2 ns | 81-183 M/s | 106-220 M/s |
//! | `rdtscp` | 24-30 ns (it traps in this guest) | 22 M/s | 12-24 M/s |
//! | one shared slot (for scale) | - | 59-185 M/s | 73-149 M/s |
//!
//! The thread index is as fast as the cached CPU id within the noise, is
//! deterministic (a reader never shares a slot with the thread that runs
//! next on its core after a migration), needs no `libc` and runs under
//! loom, so it was chosen. The CPU id would win on a machine with many
//! more threads than slots that migrate a lot; [`ShardedRwLock::with_slots`]
//! lets such users add slots instead.
//!
//! # Usage rules
//!
//! As for [`RwLock`](super::RwLock): `read`/`write` block (spin, then
//! park), `try_` never blocks, no re-entrance, no poisoning, `!Send`
//! guards. A read guard remembers its slot, so it is released correctly
//! even by a thread whose index maps elsewhere.

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use super::raw_rwlock::{self_deadlock, RawRwLock};
use super::rwlock::deadline;
use crate::atomic::thread_index::thread_index;
use crate::atomic::CachePadded;
use crate::park::held::{self, Kind};
use crate::shim::UnsafeCell;

/// The most slots [`ShardedRwLock::with_slots`] accepts.
const MAX_SLOTS: usize = 1 << 10;

/// A reader-writer lock with a reader slot per thread shard: readers scale
/// with cores, writers pay for every slot (the `drwmutex` fix for "Go's
/// `RWMutex` does not scale with CPUs").
///
/// - A reader locks only its own slot (each slot on its own cache lines),
///   picked by the calling thread's index (a goroutine keeps its thread, so
///   its slot too); readers on different slots never share a line.
/// - A writer claims every slot in index order (stopping new readers
///   everywhere), then waits for each slot's readers. Writes cost one lock
///   operation per slot: use this for read-mostly data.
/// - Per slot, the policy and usage rules are [`RwLock`](super::RwLock)'s:
///   writer preference, reader batches, FIFO writers, spin then park, no
///   re-entrance, no poisoning, `!Send` guards.
///
/// ```
/// use baton::sync::ShardedRwLock;
///
/// let routes = ShardedRwLock::new(vec!["/a", "/b"]);
/// std::thread::scope(|s| {
///     for _ in 0..8 {
///         s.spawn(|| {
///             for _ in 0..100 {
///                 assert!(routes.read().len() >= 2); // each on its own slot
///             }
///         });
///     }
///     s.spawn(|| routes.write().push("/c")); // rare: locks every slot
/// });
/// assert_eq!(routes.read().len(), 3);
/// ```
///
/// ```compile_fail
/// let lock = baton::sync::ShardedRwLock::new(0);
/// let guard = lock.read();
/// std::thread::scope(|s| {
///     s.spawn(move || drop(guard)); // error: the guard is not `Send`
/// });
/// ```
pub struct ShardedRwLock<T: ?Sized> {
    /// One lock per shard; a power of two of them. Readers lock one,
    /// writers all, in index order.
    slots: Box<[CachePadded<RawRwLock>]>,
    /// `slots.len() - 1`.
    mask: usize,
    /// Shared while any slot is read-locked, exclusive while every slot is
    /// write-locked.
    data: UnsafeCell<T>,
}

// SAFETY: sending the lock sends the `T`.
unsafe impl<T: ?Sized + Send> Send for ShardedRwLock<T> {}
// SAFETY: as for `RwLock`: `&T` to many threads (`T: Sync`), `&mut T` to one
// (`T: Send`); a writer holds every slot, a reader one, so they never
// overlap.
unsafe impl<T: ?Sized + Send + Sync> Sync for ShardedRwLock<T> {}

impl<T> ShardedRwLock<T> {
    /// An unlocked lock holding `value`, with the default slot count: twice
    /// the available parallelism rounded up to a power of two, at least 8
    /// (so that 8 threads on a small machine each have their own slot).
    ///
    /// ```
    /// let lock = baton::sync::ShardedRwLock::new(0);
    /// assert!(lock.slots() >= 8 && lock.slots().is_power_of_two());
    /// ```
    pub fn new(value: T) -> Self {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        Self::with_slots(value, (cores * 2).clamp(8, MAX_SLOTS))
    }

    /// An unlocked lock holding `value` with `slots` reader slots, rounded
    /// up to a power of two. More slots: fewer readers sharing one, slower
    /// writes.
    ///
    /// # Panics
    ///
    /// If `slots` is 0 or above 1024.
    ///
    /// ```
    /// let lock = baton::sync::ShardedRwLock::with_slots(0, 3);
    /// assert_eq!(lock.slots(), 4);
    /// ```
    pub fn with_slots(value: T, slots: usize) -> Self {
        assert!(
            (1..=MAX_SLOTS).contains(&slots),
            "ShardedRwLock::with_slots: the slot count ({slots}) must be in 1..={MAX_SLOTS}"
        );
        let n = slots.next_power_of_two();
        Self {
            slots: (0..n).map(|_| CachePadded::new(RawRwLock::new())).collect(),
            mask: n - 1,
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns the value.
    ///
    /// ```
    /// assert_eq!(baton::sync::ShardedRwLock::new(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> ShardedRwLock<T> {
    /// The number of reader slots.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    fn my_slot(&self) -> usize {
        thread_index() & self.mask
    }

    /// Locks the caller's slot for reading, waiting while a writer holds
    /// the lock or waits for it.
    ///
    /// ```
    /// let lock = baton::sync::ShardedRwLock::new(5);
    /// let (a, b) = (lock.read(), lock.read());
    /// assert_eq!(*a + *b, 10);
    /// ```
    ///
    /// # Panics
    ///
    /// In debug builds, if the calling goroutine (or thread) holds the
    /// write lock: that wait could never end.
    #[inline]
    pub fn read(&self) -> ShardedRwLockReadGuard<'_, T> {
        if cfg!(debug_assertions) && held::held(self.id()) == Some(Kind::Exclusive) {
            self_deadlock("ShardedRwLock", "read", "the write lock");
        }
        let slot = self.my_slot();
        self.slots[slot].lock_shared();
        ShardedRwLockReadGuard::new(self, slot)
    }

    /// As [`read`](Self::read) if no writer holds or waits for the lock;
    /// never blocks.
    ///
    /// ```
    /// let lock = baton::sync::ShardedRwLock::new(5);
    /// let w = lock.write();
    /// assert!(lock.try_read().is_none());
    /// drop(w);
    /// assert!(lock.try_read().is_some());
    /// ```
    #[inline]
    pub fn try_read(&self) -> Option<ShardedRwLockReadGuard<'_, T>> {
        let slot = self.my_slot();
        self.slots[slot]
            .try_lock_shared()
            .then(|| ShardedRwLockReadGuard::new(self, slot))
    }

    /// As [`read`](Self::read), giving up after about `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let lock = baton::sync::ShardedRwLock::new(5);
    /// let w = lock.write();
    /// assert!(lock.read_timeout(Duration::from_millis(5)).is_none());
    /// ```
    #[inline]
    pub fn read_timeout(&self, timeout: Duration) -> Option<ShardedRwLockReadGuard<'_, T>> {
        let slot = self.my_slot();
        self.slots[slot]
            .lock_shared_until(deadline(timeout))
            .then(|| ShardedRwLockReadGuard::new(self, slot))
    }

    /// Locks every slot for writing, waiting for other writers and for
    /// every reader to leave.
    ///
    /// ```
    /// let lock = baton::sync::ShardedRwLock::new(5);
    /// *lock.write() += 1;
    /// assert_eq!(*lock.read(), 6);
    /// ```
    ///
    /// # Panics
    ///
    /// In debug builds, if the calling goroutine (or thread) already holds
    /// a read or write lock of this lock: that wait could never end.
    pub fn write(&self) -> ShardedRwLockWriteGuard<'_, T> {
        if cfg!(debug_assertions) {
            match held::held(self.id()) {
                Some(Kind::Exclusive) => self_deadlock("ShardedRwLock", "write", "the write lock"),
                Some(Kind::Shared) => self_deadlock("ShardedRwLock", "write", "a read lock"),
                _ => {}
            }
        }
        let locked = self.lock_all(None);
        debug_assert!(locked, "a write with no deadline cannot time out");
        ShardedRwLockWriteGuard::new(self)
    }

    /// As [`write`](Self::write) if no one holds any slot; never blocks.
    ///
    /// ```
    /// let lock = baton::sync::ShardedRwLock::new(5);
    /// let r = lock.read();
    /// assert!(lock.try_write().is_none());
    /// drop(r);
    /// assert!(lock.try_write().is_some());
    /// ```
    pub fn try_write(&self) -> Option<ShardedRwLockWriteGuard<'_, T>> {
        for (i, slot) in self.slots.iter().enumerate() {
            if !slot.try_lock_exclusive() {
                self.unlock_first(i);
                return None;
            }
        }
        Some(ShardedRwLockWriteGuard::new(self))
    }

    /// As [`write`](Self::write), giving up after about `timeout`; a writer
    /// that gives up releases every slot it had, so readers it held back
    /// go in.
    ///
    /// ```
    /// use std::time::Duration;
    /// let lock = baton::sync::ShardedRwLock::new(5);
    /// let r = lock.read();
    /// assert!(lock.write_timeout(Duration::from_millis(5)).is_none());
    /// assert!(lock.try_read().is_some(), "the timed-out writer let go");
    /// ```
    pub fn write_timeout(&self, timeout: Duration) -> Option<ShardedRwLockWriteGuard<'_, T>> {
        self.lock_all(deadline(timeout))
            .then(|| ShardedRwLockWriteGuard::new(self))
    }

    /// This lock's identity for the held-guard marker (debug builds).
    fn id(&self) -> *const () {
        (self as *const Self).cast()
    }

    /// Claims every slot in order (stopping new readers everywhere), then
    /// waits for each slot's readers; on time-out releases what it holds.
    fn lock_all(&self, deadline: Option<Instant>) -> bool {
        for (i, slot) in self.slots.iter().enumerate() {
            if !slot.try_lock_exclusive() && !slot.claim_until(deadline) {
                self.unlock_first(i);
                return false;
            }
        }
        for (i, slot) in self.slots.iter().enumerate() {
            if !slot.wait_for_readers_until(deadline) {
                // Slot `i` gave its claim up itself; release the others
                // (held or only claimed: `unlock_exclusive` handles both).
                self.unlock_first(i);
                for later in &self.slots[i + 1..] {
                    later.unlock_exclusive();
                }
                return false;
            }
        }
        true
    }

    /// Releases the write locks (or claims) on slots `0..n`.
    fn unlock_first(&self, n: usize) {
        for slot in self.slots[..n].iter().rev() {
            slot.unlock_exclusive();
        }
    }

    /// The value, mutably, without locking.
    ///
    /// ```
    /// let mut lock = baton::sync::ShardedRwLock::new(5);
    /// *lock.get_mut() = 6;
    /// assert_eq!(*lock.read(), 6);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes every guard and every other access.
        self.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: Default> Default for ShardedRwLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for ShardedRwLock<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ShardedRwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ShardedRwLock");
        match self.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<write-locked>")),
        };
        d.field("slots", &self.slots.len()).finish()
    }
}

/// Shared access to a [`ShardedRwLock`]'s value; releases its slot's read
/// lock when dropped. `!Send`.
///
/// ```
/// let lock = baton::sync::ShardedRwLock::new(1);
/// let g: baton::sync::ShardedRwLockReadGuard<'_, i32> = lock.read();
/// assert_eq!(*g, 1);
/// ```
#[must_use = "dropping the guard unlocks at once"]
pub struct ShardedRwLockReadGuard<'a, T: ?Sized> {
    lock: &'a ShardedRwLock<T>,
    /// The slot this guard read-locked.
    slot: usize,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing the guard shares `&T` (hence `T: Sync`).
unsafe impl<T: ?Sized + Sync> Sync for ShardedRwLockReadGuard<'_, T> {}

impl<'a, T: ?Sized> ShardedRwLockReadGuard<'a, T> {
    /// The caller holds a read lock on `lock.slots[slot]`.
    fn new(lock: &'a ShardedRwLock<T>, slot: usize) -> Self {
        held::mark(lock.id(), Kind::Shared);
        Self {
            lock,
            slot,
            _not_send: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for ShardedRwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: we hold a slot's read lock; a writer needs every slot.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized> Drop for ShardedRwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        held::unmark(self.lock.id(), Kind::Shared);
        self.lock.slots[self.slot].unlock_shared();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ShardedRwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to a [`ShardedRwLock`]'s value; releases every slot
/// when dropped. `!Send`.
///
/// ```
/// let lock = baton::sync::ShardedRwLock::new(1);
/// let mut g: baton::sync::ShardedRwLockWriteGuard<'_, i32> = lock.write();
/// *g = 2;
/// ```
#[must_use = "dropping the guard unlocks at once"]
pub struct ShardedRwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a ShardedRwLock<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing the guard shares `&T` (hence `T: Sync`).
unsafe impl<T: ?Sized + Sync> Sync for ShardedRwLockWriteGuard<'_, T> {}

impl<'a, T: ?Sized> ShardedRwLockWriteGuard<'a, T> {
    /// The caller holds the write lock on every slot of `lock`.
    fn new(lock: &'a ShardedRwLock<T>) -> Self {
        held::mark(lock.id(), Kind::Exclusive);
        Self {
            lock,
            _not_send: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for ShardedRwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: we hold every slot's write lock: no other access exists.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized> DerefMut for ShardedRwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and `&mut self` makes this the only reference.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: ?Sized> Drop for ShardedRwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        held::unmark(self.lock.id(), Kind::Exclusive);
        self.lock.unlock_first(self.lock.slots.len());
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for ShardedRwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
