//! [`RwLock`]: a reader-writer lock, Go's `sync.RWMutex` with guards.
//!
//! Many readers or one writer hold it at a time. The policy (writer
//! preference, readers admitted as a batch after each writer, FIFO among
//! writers: nobody starves), the state word and the memory orderings are
//! documented with the state machine in `raw_rwlock.rs`, which
//! [`ShardedRwLock`](super::ShardedRwLock) shares.
//!
//! The policy and the usage rules are on [`RwLock`].
//!
//! The read fast path is one `fetch_add`, inline; the write fast path and
//! both unlock fast paths are one compare-and-swap.

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use super::raw_rwlock::RawRwLock;
use crate::park::held::{self, Kind};
use crate::shim::UnsafeCell;

/// A reader-writer lock: many readers or one writer, Go's `sync.RWMutex`.
///
/// # Policy: writer-preferring, and no one starves
///
/// - A writer that is waiting blocks readers that arrive after it, so a
///   stream of readers cannot starve it: it waits at most for the readers
///   already inside.
/// - When a writer unlocks, every reader that was waiting for it goes in
///   at once, as a batch, before the next writer; so a reader waits for at
///   most one writer (Go's `RWMutex` policy).
/// - Writers are served first come, first served.
/// - Both sides spin briefly before parking.
///
/// # Usage rules
///
/// - [`read`](RwLock::read) and [`write`](RwLock::write) block: they spin
///   briefly, then park the goroutine (or the thread, outside a goroutine)
///   through baton's park layer, never an OS lock. The `try_` forms never
///   block; the `_timeout` forms block at most about that long.
/// - Taking `read` twice on one thread can deadlock if a writer arrives in
///   between (the pending writer blocks the second `read`), as in Go; so
///   can `write` while holding `read`. Locks are not re-entrant. Debug
///   builds panic with a message instead of hanging when the goroutine (or
///   thread) that holds the lock asks for it again and that could never be
///   granted: `write` while holding `read` or `write`, `read` while holding
///   `write`, or `read` while holding `read` once a writer waits.
/// - No poisoning: a panic while holding a guard releases the lock (the
///   guard's drop runs during unwinding), and the data is whatever the
///   panicking code left, as with Go and `parking_lot`.
/// - Guards are `!Send`, like std's, so that a lock is released on the
///   thread (or goroutine) that took it.
///
/// ```
/// use baton::sync::RwLock;
///
/// let config = RwLock::new(vec![1, 2, 3]);
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| assert_eq!(config.read().len(), 3)); // readers share
///     }
/// });
/// config.write().push(4); // the writer is alone
/// assert_eq!(*config.read(), [1, 2, 3, 4]);
/// ```
///
/// Guards stay on their thread:
///
/// ```compile_fail
/// let lock = baton::sync::RwLock::new(0);
/// let guard = lock.read();
/// std::thread::scope(|s| {
///     s.spawn(move || drop(guard)); // error: the guard is not `Send`
/// });
/// ```
pub struct RwLock<T: ?Sized> {
    raw: RawRwLock,
    /// Shared access while `raw` is read-locked, exclusive while it is
    /// write-locked.
    data: UnsafeCell<T>,
}

// SAFETY: sending the lock sends the `T` (hence `T: Send`).
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: a shared `RwLock` hands out `&T` to several threads at once (hence
// `T: Sync`) and `&mut T` to any one thread (hence `T: Send`); `raw`
// guarantees the two never overlap.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}

impl<T> RwLock<T> {
    /// An unlocked lock holding `value`. `const` (outside loom), so it can
    /// be a `static`.
    ///
    /// ```
    /// static HITS: baton::sync::RwLock<u64> = baton::sync::RwLock::new(0);
    /// *HITS.write() += 1;
    /// assert_eq!(*HITS.read(), 1);
    /// ```
    #[cfg(not(loom))]
    pub const fn new(value: T) -> Self {
        Self {
            raw: RawRwLock::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// An unlocked lock holding `value`.
    #[cfg(loom)]
    pub fn new(value: T) -> Self {
        Self {
            raw: RawRwLock::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Consumes the lock and returns the value (no locking: `self` is
    /// owned).
    ///
    /// ```
    /// let lock = baton::sync::RwLock::new(String::from("x"));
    /// assert_eq!(lock.into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Locks for reading, waiting while a writer holds the lock or waits
    /// for it (writer preference, see [`RwLock`]).
    ///
    /// ```
    /// let lock = baton::sync::RwLock::new(5);
    /// let a = lock.read();
    /// let b = lock.read(); // readers share
    /// assert_eq!(*a + *b, 10);
    /// ```
    ///
    /// # Panics
    ///
    /// In debug builds, if the calling goroutine (or thread) holds the
    /// write lock, or holds a read lock while a writer waits (the writer
    /// waits for that read lock, and this read waits for the writer).
    #[inline]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        if cfg!(debug_assertions) && self.raw.held() == Some(Kind::Exclusive) {
            self.raw.self_deadlock("read", "the write lock");
        }
        self.raw.lock_shared();
        RwLockReadGuard::new(self)
    }

    /// `read` for a container built on this lock (`ShardedMap`,
    /// `HandleMap`): in debug builds, panics with a message naming
    /// `container` if the caller already holds this lock in any mode (a
    /// re-entrant call from one of the container's closures), which would
    /// deadlock at once or as soon as a writer waits.
    #[inline]
    pub(crate) fn read_in(&self, container: &'static str) -> RwLockReadGuard<'_, T> {
        if cfg!(debug_assertions) && self.raw.held().is_some() {
            reentered(container);
        }
        self.read()
    }

    /// `write` for a container built on this lock; see
    /// [`read_in`](Self::read_in).
    #[inline]
    pub(crate) fn write_in(&self, container: &'static str) -> RwLockWriteGuard<'_, T> {
        if cfg!(debug_assertions) && self.raw.held().is_some() {
            reentered(container);
        }
        self.write()
    }

    /// Locks for writing, waiting until no other writer or reader holds
    /// the lock.
    ///
    /// ```
    /// let lock = baton::sync::RwLock::new(5);
    /// *lock.write() += 1;
    /// assert_eq!(*lock.read(), 6);
    /// ```
    ///
    /// # Panics
    ///
    /// In debug builds, if the calling goroutine (or thread) already holds
    /// a read or write lock of this `RwLock`: that wait could never end.
    #[inline]
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        if cfg!(debug_assertions) {
            match self.raw.held() {
                Some(Kind::Exclusive) => self.raw.self_deadlock("write", "the write lock"),
                Some(Kind::Shared) => self.raw.self_deadlock("write", "a read lock"),
                _ => {}
            }
        }
        self.raw.lock_exclusive();
        RwLockWriteGuard::new(self)
    }

    /// Locks for reading if no writer holds or waits for the lock; never
    /// blocks.
    ///
    /// ```
    /// let lock = baton::sync::RwLock::new(5);
    /// let w = lock.write();
    /// assert!(lock.try_read().is_none());
    /// drop(w);
    /// assert_eq!(*lock.try_read().unwrap(), 5);
    /// ```
    #[inline]
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        self.raw
            .try_lock_shared()
            .then(|| RwLockReadGuard::new(self))
    }

    /// Locks for writing if the lock is free; never blocks.
    ///
    /// ```
    /// let lock = baton::sync::RwLock::new(5);
    /// let r = lock.read();
    /// assert!(lock.try_write().is_none());
    /// drop(r);
    /// *lock.try_write().unwrap() = 6;
    /// ```
    #[inline]
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        self.raw
            .try_lock_exclusive()
            .then(|| RwLockWriteGuard::new(self))
    }

    /// As [`read`](Self::read), giving up after about `timeout`: `None` if
    /// it did not get the lock. A timeout too large to represent waits
    /// forever.
    ///
    /// ```
    /// use std::time::Duration;
    /// let lock = baton::sync::RwLock::new(5);
    /// let w = lock.write();
    /// assert!(lock.read_timeout(Duration::from_millis(5)).is_none());
    /// drop(w);
    /// assert!(lock.read_timeout(Duration::from_millis(5)).is_some());
    /// ```
    #[inline]
    pub fn read_timeout(&self, timeout: Duration) -> Option<RwLockReadGuard<'_, T>> {
        self.raw
            .lock_shared_until(deadline(timeout))
            .then(|| RwLockReadGuard::new(self))
    }

    /// As [`write`](Self::write), giving up after about `timeout`: `None`
    /// if it did not get the lock. A writer that gives up leaves no trace:
    /// readers it was holding back are let in.
    ///
    /// ```
    /// use std::time::Duration;
    /// let lock = baton::sync::RwLock::new(5);
    /// let r = lock.read();
    /// assert!(lock.write_timeout(Duration::from_millis(5)).is_none());
    /// assert!(lock.try_read().is_some(), "the timed-out writer let go");
    /// drop(r);
    /// assert!(lock.write_timeout(Duration::from_millis(5)).is_some());
    /// ```
    #[inline]
    pub fn write_timeout(&self, timeout: Duration) -> Option<RwLockWriteGuard<'_, T>> {
        self.raw
            .lock_exclusive_until(deadline(timeout))
            .then(|| RwLockWriteGuard::new(self))
    }

    /// The value, mutably, without locking: `&mut self` proves no guard
    /// exists.
    ///
    /// ```
    /// let mut lock = baton::sync::RwLock::new(5);
    /// *lock.get_mut() = 7;
    /// assert_eq!(*lock.read(), 7);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes every guard and every other access.
        self.data.with_mut(|p| unsafe { &mut *p })
    }
}

/// `None` (wait forever) when `now + timeout` is not representable.
pub(super) fn deadline(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<write-locked>")),
        };
        d.finish_non_exhaustive()
    }
}

/// Shared access to an [`RwLock`]'s value; releases the read lock when
/// dropped. `!Send`.
///
/// ```
/// let lock = baton::sync::RwLock::new(vec![1]);
/// let guard: baton::sync::RwLockReadGuard<'_, Vec<i32>> = lock.read();
/// assert_eq!(guard.len(), 1);
/// ```
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*const ()>,
}

/// The panic of [`RwLock::read_in`]/[`RwLock::write_in`].
#[cold]
#[inline(never)]
fn reentered(container: &str) -> ! {
    panic!(
        "baton::collections::{container} re-entered from inside one of its own closures (a \
         `with`/`with_mut`/`upsert`/`retain`/`for_each` callback called the same map on a key \
         in the same shard): the shard's lock is not re-entrant, so this would deadlock, at \
         once or as soon as a writer waits; copy what you need out of the closure and call the \
         map after it returns"
    )
}

// SAFETY: sharing the guard shares `&T` (hence `T: Sync`); its only other
// field is the lock reference.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// The caller holds a read lock on `lock`, which the guard now owns.
    fn new(lock: &'a RwLock<T>) -> Self {
        held::mark(lock.raw.id(), Kind::Shared);
        Self {
            lock,
            _not_send: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: we hold a read lock, so no `&mut T` exists until we drop.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        held::unmark(self.lock.raw.id(), Kind::Shared);
        self.lock.raw.unlock_shared();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]'s value; releases the write lock when
/// dropped. `!Send`.
///
/// ```
/// let lock = baton::sync::RwLock::new(vec![1]);
/// let mut guard: baton::sync::RwLockWriteGuard<'_, Vec<i32>> = lock.write();
/// guard.push(2);
/// drop(guard);
/// assert_eq!(*lock.read(), [1, 2]);
/// ```
#[must_use = "dropping the guard unlocks at once"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
    _not_send: PhantomData<*const ()>,
}

// SAFETY: sharing the guard shares `&T` (hence `T: Sync`); `&mut T` needs
// `&mut` of the guard, which sharing does not give.
unsafe impl<T: ?Sized + Sync> Sync for RwLockWriteGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// The caller holds the write lock on `lock`, which the guard now owns.
    fn new(lock: &'a RwLock<T>) -> Self {
        held::mark(lock.raw.id(), Kind::Exclusive);
        Self {
            lock,
            _not_send: PhantomData,
        }
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: we hold the write lock: no other access exists.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the write lock, and `&mut self` makes this the
        // only reference through the guard.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        held::unmark(self.lock.raw.id(), Kind::Exclusive);
        self.lock.raw.unlock_exclusive();
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
