//! [`Pool`]: a lossy cache of reusable objects, Go's `sync.Pool`.
//!
//! A pool keeps objects that are expensive to make (buffers, encoders,
//! scratch vectors) so that the next user can reuse one instead of
//! allocating. It is a cache, not a container:
//!
//! What a pool promises (lossy, never blocks, objects come back as they
//! went in) is on [`Pool`].
//!
//! ## Layout and invariants
//!
//! - `local`: one [`CachePadded`] slot per shard (a power of two, twice the
//!   available parallelism, as [`ShardedCounter`](crate::atomic::ShardedCounter)).
//!   A thread uses slot `thread_index() & mask`: a goroutine never
//!   migrates, so it keeps its slot too, and in the common case one thread
//!   is the only user of its slot and its try-lock is uncontended.
//! - `shared`: one overflow slot for objects that do not fit in the
//!   putting thread's slot, so that a producer thread's surplus reaches a
//!   consumer thread.
//! - Each slot holds at most its capacity (`local_cap`, `shared_cap`) of
//!   objects; `Slot::items` is only touched while its try-lock is held.
//!
//! `get` looks in the caller's slot, then in `shared`, then constructs;
//! `put` tries the caller's slot, then `shared`, then drops. Stealing from
//! other threads' slots (Go does) is left out: it costs a scan of every slot
//! on each miss, and a miss already pays for a construction.
//!
//! ## Orderings
//!
//! A slot's try-lock is taken with an `Acquire` compare-and-swap and
//! released with a `Release` store, so every write to the slot's items (and
//! to the objects moved in and out of it) by one holder happens-before the
//! next holder's reads: objects handed from one thread to another through
//! the pool are fully visible to the receiver. A failed try-lock reads
//! nothing and needs no ordering (`Relaxed`).

use core::fmt;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};

use crate::atomic::thread_index::thread_index;
use crate::atomic::CachePadded;
use crate::shim::atomic::{AtomicBool, Ordering};
use crate::shim::UnsafeCell;

/// Objects a thread's own slot keeps by default.
///
/// Four covers the usual "get a buffer, maybe a second one, return both"
/// pattern without the pool hoarding memory per thread; a larger number
/// mostly keeps more idle objects alive.
const DEFAULT_LOCAL_CAP: usize = 4;
/// Objects the shared overflow keeps by default, per local slot: enough for
/// a producer thread's surplus to reach consumers without making every
/// imbalance a construction.
const DEFAULT_SHARED_PER_SLOT: usize = 4;

/// A lossy cache of reusable objects with a constructor, like Go's
/// `sync.Pool`.
///
/// - **Lossy by design.** [`put`](Pool::put) drops the object when the
///   caches it would go to are full or busy, and [`get`](Pool::get) makes a
///   new one with the pool's constructor when the caches it looks in are
///   empty or busy, even if another thread's cache holds objects. Go's pool
///   is lossy the same way (it is emptied at every garbage collection);
///   never use a pool to hold objects that must not be lost, or to count.
/// - **Never blocks.** Every cache sits behind a try-lock: a thread that
///   finds one busy moves on (to the next cache, then to the constructor,
///   or drops the object). No operation parks, spins on a lock, or waits.
/// - **Objects come back as they went in.** The pool does not reset them:
///   clear a buffer after [`get`](Pool::get) (or before it is returned), as
///   Go's `bytes.Buffer` users call `Reset`.
///
/// ```
/// use baton::sync::Pool;
///
/// let buffers = Pool::new(|| Vec::<u8>::with_capacity(4096));
/// {
///     let mut buf = buffers.get(); // a guard: returns the buffer on drop
///     buf.clear(); // objects come back as they went in: reset before use
///     buf.extend_from_slice(b"hello");
///     assert_eq!(&buf[..], b"hello");
/// }
/// let again = buffers.get();
/// assert!(again.capacity() >= 4096); // most likely the same buffer, reused
/// ```
pub struct Pool<T, F = fn() -> T> {
    /// The constructor, called on a miss; shared by all threads.
    new: F,
    /// Per-thread caches, indexed by `thread_index() & mask`.
    local: Box<[CachePadded<Slot<T>>]>,
    /// `local.len() - 1`; the length is a power of two.
    mask: usize,
    /// The overflow every thread may use.
    shared: CachePadded<Slot<T>>,
}

// SAFETY: a `Pool` shared between threads hands `T`s from one thread to
// another (hence `T: Send`) and calls `new` from any thread (hence
// `F: Sync`); every access to a slot's items is made while holding that
// slot's try-lock (see `Slot`), so there is no data race on them.
unsafe impl<T: Send, F: Sync> Sync for Pool<T, F> {}
// SAFETY: moving the pool moves its `T`s and its `F` to another thread.
unsafe impl<T: Send, F: Send> Send for Pool<T, F> {}

impl<T, F: Fn() -> T> Pool<T, F> {
    /// A pool that makes objects with `new` when it has none to hand out,
    /// with default cache sizes (4 objects per thread slot, and a shared
    /// overflow of 4 per slot).
    ///
    /// ```
    /// let pool = baton::sync::Pool::new(String::new);
    /// assert_eq!(*pool.get(), "");
    /// ```
    pub fn new(new: F) -> Self {
        let slots = std::thread::available_parallelism().map_or(4, |n| n.get());
        let slots = (slots.next_power_of_two() * 2).min(1 << 10);
        Self::with_limits(
            new,
            slots,
            DEFAULT_LOCAL_CAP,
            DEFAULT_SHARED_PER_SLOT * slots,
        )
    }

    /// A pool with `slots` thread slots (rounded up to a power of two), each
    /// keeping up to `local_cap` objects, and a shared overflow keeping up
    /// to `shared_cap`. The pool never holds more than
    /// `slots * local_cap + shared_cap` idle objects.
    ///
    /// # Panics
    ///
    /// If `slots` is 0 or above 65536.
    ///
    /// ```
    /// // One slot, no per-thread caching: every object goes through the
    /// // shared overflow of at most 2.
    /// let pool = baton::sync::Pool::with_limits(|| 0u32, 1, 0, 2);
    /// pool.put(1);
    /// pool.put(2);
    /// pool.put(3); // dropped: the pool is full
    /// assert_eq!(pool.take(), 2);
    /// assert_eq!(pool.take(), 1);
    /// assert_eq!(pool.take(), 0); // empty: constructed
    /// ```
    pub fn with_limits(new: F, slots: usize, local_cap: usize, shared_cap: usize) -> Self {
        assert!(
            (1..=1 << 16).contains(&slots),
            "Pool::with_limits: the slot count ({slots}) must be in 1..=65536"
        );
        let n = slots.next_power_of_two();
        Self {
            new,
            local: (0..n)
                .map(|_| CachePadded::new(Slot::new(local_cap)))
                .collect(),
            mask: n - 1,
            shared: CachePadded::new(Slot::new(shared_cap)),
        }
    }

    /// An object from the pool, or a new one from the constructor, in a
    /// guard that puts it back when dropped. Never blocks.
    ///
    /// ```
    /// let pool = baton::sync::Pool::new(|| vec![0u8; 16]);
    /// let mut a = pool.get();
    /// a[0] = 7;
    /// drop(a); // back in the pool, unchanged
    /// let b = pool.get();
    /// assert_eq!(b[0], 7);
    /// ```
    #[inline]
    pub fn get(&self) -> PoolGuard<'_, T, F> {
        PoolGuard {
            pool: self,
            value: ManuallyDrop::new(self.take()),
        }
    }

    /// An object from the pool, or a new one from the constructor, to keep:
    /// give it back with [`put`](Self::put) if you like. Never blocks.
    ///
    /// ```
    /// let pool = baton::sync::Pool::new(|| 5);
    /// let x = pool.take();
    /// assert_eq!(x, 5);
    /// pool.put(x + 1);
    /// assert_eq!(pool.take(), 6);
    /// ```
    #[inline]
    pub fn take(&self) -> T {
        if let Some(value) = self.my_slot().try_pop() {
            return value;
        }
        self.take_slow()
    }

    #[cold]
    fn take_slow(&self) -> T {
        match self.shared.try_pop() {
            Some(value) => value,
            None => (self.new)(),
        }
    }
}

impl<T, F> Pool<T, F> {
    #[inline]
    fn my_slot(&self) -> &Slot<T> {
        &self.local[thread_index() & self.mask]
    }

    /// Offers `value` to the pool for reuse. The pool may drop it instead
    /// (when the caches it would go to are full or busy): a pool is lossy.
    /// Never blocks.
    ///
    /// ```
    /// let pool = baton::sync::Pool::new(Vec::<u8>::new);
    /// pool.put(Vec::with_capacity(100));
    /// assert!(pool.take().capacity() >= 100);
    /// ```
    #[inline]
    pub fn put(&self, value: T) {
        if let Err(value) = self.my_slot().try_push(value) {
            self.put_slow(value);
        }
    }

    #[cold]
    fn put_slow(&self, value: T) {
        // Dropped here when the overflow is full or busy: lossy by design.
        let _ = self.shared.try_push(value);
    }

    /// Drops the objects the pool holds, the way Go's garbage collector
    /// empties a `sync.Pool`. Best effort: a cache that another thread is
    /// using at this instant is skipped. Never blocks.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// static MADE: AtomicUsize = AtomicUsize::new(0);
    /// let pool = baton::sync::Pool::new(|| MADE.fetch_add(1, Ordering::Relaxed));
    /// pool.put(pool.take());
    /// pool.clear();
    /// pool.take(); // the cache was emptied: this one is new
    /// assert_eq!(MADE.load(Ordering::Relaxed), 2);
    /// ```
    pub fn clear(&self) {
        for slot in self.local.iter() {
            slot.clear();
        }
        self.shared.clear();
    }
}

impl<T, F> fmt::Debug for Pool<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("slots", &self.local.len())
            .field("local_cap", &self.local[0].cap)
            .field("shared_cap", &self.shared.cap)
            .finish_non_exhaustive()
    }
}

/// An object lent by a [`Pool`]: dereferences to it, and puts it back in
/// the pool when dropped. [`PoolGuard::into_inner`] keeps it instead.
///
/// ```
/// let pool = baton::sync::Pool::new(String::new);
/// let mut s = pool.get();
/// s.push_str("kept");
/// let s: String = baton::sync::PoolGuard::into_inner(s);
/// assert_eq!(s, "kept");
/// ```
pub struct PoolGuard<'a, T, F = fn() -> T> {
    pool: &'a Pool<T, F>,
    /// Always initialised; taken out only in `drop` and `into_inner`.
    value: ManuallyDrop<T>,
}

impl<'a, T, F> PoolGuard<'a, T, F> {
    /// Takes the object out of the guard, so that it is not returned to the
    /// pool. (An associated function, not a method, so that it never
    /// shadows a method of `T`.)
    ///
    /// ```
    /// let pool = baton::sync::Pool::new(|| 3);
    /// let three = baton::sync::PoolGuard::into_inner(pool.get());
    /// assert_eq!(three, 3);
    /// ```
    pub fn into_inner(this: Self) -> T {
        let mut this = ManuallyDrop::new(this);
        // SAFETY: `this.value` is initialised (it is only taken here and in
        // `drop`), and `this` is never dropped, so it is taken exactly once.
        unsafe { ManuallyDrop::take(&mut this.value) }
    }
}

impl<T, F> Deref for PoolGuard<'_, T, F> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T, F> DerefMut for PoolGuard<'_, T, F> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T, F> Drop for PoolGuard<'_, T, F> {
    fn drop(&mut self) {
        // SAFETY: `self.value` is initialised (only `into_inner`, which
        // forgets the guard, takes it otherwise), and it is not used again.
        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        self.pool.put(value);
    }
}

impl<T: fmt::Debug, F> fmt::Debug for PoolGuard<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PoolGuard").field(&*self.value).finish()
    }
}

/// A bounded stack of objects behind a try-lock.
struct Slot<T> {
    /// `true` while a thread holds the slot; see the module docs for the
    /// orderings.
    locked: AtomicBool,
    /// Guarded by `locked`; never longer than `cap`.
    items: UnsafeCell<Vec<T>>,
    /// The most objects the slot keeps; fixed at construction.
    cap: usize,
}

impl<T> Slot<T> {
    fn new(cap: usize) -> Self {
        Self {
            locked: AtomicBool::new(false),
            items: UnsafeCell::new(Vec::new()),
            cap,
        }
    }

    /// Runs `f` on the items while holding the try-lock; `None` if the slot
    /// is busy.
    #[inline]
    fn try_with<R>(&self, f: impl FnOnce(&mut Vec<T>) -> R) -> Option<R> {
        // Acquire: see the previous holder's writes to `items`. Relaxed on
        // failure: nothing is read.
        if self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        // Unlocks even if `f` panics (a `T`'s allocation failing in `push`),
        // so a slot is never left locked for good.
        struct Unlock<'a>(&'a AtomicBool);
        impl Drop for Unlock<'_> {
            fn drop(&mut self) {
                // Release: publish our writes to `items` to the next holder.
                self.0.store(false, Ordering::Release);
            }
        }
        let _unlock = Unlock(&self.locked);
        // SAFETY: we hold the try-lock, so no other thread touches `items`
        // until `_unlock` releases it after `f` returns.
        Some(self.items.with_mut(|items| f(unsafe { &mut *items })))
    }

    #[inline]
    fn try_pop(&self) -> Option<T> {
        self.try_with(Vec::pop).flatten()
    }

    /// Pushes `value`, or hands it back if the slot is full or busy.
    #[inline]
    fn try_push(&self, value: T) -> Result<(), T> {
        if self.cap == 0 {
            return Err(value);
        }
        let mut value = Some(value);
        let pushed = self.try_with(|items| {
            if items.len() < self.cap {
                if items.capacity() == 0 {
                    items.reserve_exact(self.cap);
                }
                items.extend(value.take());
            }
        });
        match (pushed, value) {
            (Some(()), None) => Ok(()),
            (_, Some(value)) => Err(value),
            (None, None) => unreachable!("the value is only taken while the slot is held"),
        }
    }

    /// Drops the items, unless the slot is busy. The items are dropped
    /// after the lock is released, so a `T::drop` that uses the pool cannot
    /// find its own slot locked.
    fn clear(&self) {
        if let Some(items) = self.try_with(core::mem::take) {
            drop(items);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    #[test]
    fn reuses_what_was_put_back_on_the_same_thread() {
        let pool = Pool::new(|| Box::new(0u64));
        let a = pool.take();
        let addr = &*a as *const u64;
        pool.put(a);
        let b = pool.take();
        assert_eq!(&*b as *const u64, addr, "the same box came back");
    }

    #[test]
    fn constructs_on_a_miss_and_drops_when_full() {
        let made = AtomicUsize::new(0);
        let pool = Pool::with_limits(|| made.fetch_add(1, Ordering::Relaxed), 1, 2, 1);
        let xs: Vec<usize> = (0..5).map(|_| pool.take()).collect();
        assert_eq!(xs, [0, 1, 2, 3, 4]);
        for x in xs {
            pool.put(x); // 2 to the slot, 1 to shared, 2 dropped
        }
        let mut back: Vec<usize> = (0..3).map(|_| pool.take()).collect();
        back.sort_unstable();
        assert_eq!(back, [0, 1, 2]);
        assert_eq!(pool.take(), 5, "empty again: a new one");
    }

    #[test]
    fn guard_returns_on_drop_and_into_inner_keeps() {
        let pool = Pool::with_limits(|| 0, 1, 4, 0);
        {
            let mut g = pool.get();
            *g = 42;
        }
        let g = pool.get();
        assert_eq!(*g, 42);
        let kept = PoolGuard::into_inner(g);
        assert_eq!(kept, 42);
        assert_eq!(*pool.get(), 0, "the kept one did not go back");
    }

    #[test]
    fn drops_every_object_exactly_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let made = AtomicUsize::new(0);
        {
            let pool = Pool::with_limits(
                || {
                    made.fetch_add(1, Ordering::Relaxed);
                    Counted(drops.clone())
                },
                2,
                2,
                2,
            );
            let held: Vec<_> = (0..10).map(|_| pool.take()).collect();
            for x in held {
                pool.put(x); // some kept, some dropped
            }
            pool.clear();
            let _g = pool.get();
            pool.put(pool.take());
        }
        assert_eq!(drops.load(Ordering::Relaxed), made.load(Ordering::Relaxed));
    }

    #[test]
    fn producer_surplus_reaches_a_consumer_through_shared() {
        let pool = Pool::with_limits(|| 0u32, 64, 1, 8);
        let _ = thread_index(); // fix this thread's slot before the other's
                                // Another thread puts 5 objects: 1 stays in its slot, 4 overflow.
        std::thread::scope(|s| {
            s.spawn(|| (1..=5).for_each(|i| pool.put(i)));
        });
        let got: Vec<u32> = (0..5).map(|_| pool.take()).collect();
        // At least the 4 that overflowed (5 if the two threads' indices
        // happen to share a slot).
        assert!(got.iter().filter(|&&x| x != 0).count() >= 4, "{got:?}");
    }

    #[test]
    fn stress_objects_are_never_lent_twice() {
        // 8 threads on 2 cores, each marks an object as in use while it
        // holds it; a double lend would see the mark already set.
        let pool = Pool::with_limits(|| Arc::new(AtomicUsize::new(0)), 4, 2, 4);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..20_000 {
                        let a = pool.get();
                        let b = pool.get();
                        assert_eq!(a.swap(1, Ordering::Relaxed), 0, "lent twice");
                        assert_eq!(b.swap(1, Ordering::Relaxed), 0, "lent twice");
                        a.store(0, Ordering::Relaxed);
                        b.store(0, Ordering::Relaxed);
                    }
                });
            }
        });
    }

    #[test]
    fn pool_is_send_and_sync_for_send_objects() {
        fn assert_sync<T: Sync + Send>() {}
        assert_sync::<Pool<Vec<u8>>>();
        assert_sync::<PoolGuard<'static, Vec<u8>>>();
    }

    #[test]
    #[should_panic(expected = "slot count (0) must be in 1..=65536")]
    fn zero_slots_is_rejected() {
        Pool::with_limits(|| 0, 0, 1, 1);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    /// Two threads get and put through one slot and the overflow: an object
    /// is never lent to both at once, and what one thread wrote to an object
    /// is visible to the next that takes it (loom's cell reports either
    /// mistake as a data race).
    #[test]
    fn loom_pool_hand_over_between_threads() {
        loom::model(|| {
            let pool = Arc::new(Pool::with_limits(
                || loom::cell::UnsafeCell::new(0u32),
                1,
                1,
                1,
            ));
            pool.put(loom::cell::UnsafeCell::new(100));
            let p = pool.clone();
            let t = loom::thread::spawn(move || {
                let g = p.get();
                // SAFETY: the pool lends an object to one holder at a time.
                g.with_mut(|v| unsafe { *v += 1 });
            });
            let g = pool.get();
            // SAFETY: as above.
            g.with_mut(|v| unsafe { *v += 1 });
            drop(g);
            t.join().unwrap();
            let last = pool.take();
            // SAFETY: both threads are done with their objects.
            let v = last.with(|v| unsafe { *v });
            assert!(matches!(v, 0..=2 | 100..=102), "unexpected value {v}");
        });
    }
}
