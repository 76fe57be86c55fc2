//! [`WorkerLocal`]: per-worker storage without locks — an object with one
//! lazily created instance per worker thread (and per plain thread that
//! uses it), plus iteration over all instances.
//!
//! ## Why per *thread* is per *worker*
//!
//! A started goroutine never changes OS thread (see the `runtime` docs), so
//! "the instance of the thread I run on" is "the instance of my worker" for
//! the goroutine's whole life, across every park and wake-up. Go has no
//! such thing (its goroutines migrate between Ps); Go users build it with a
//! `sync.Pool` or shard by `runtime_procPin`. In baton even
//! `std::thread_local!` is per worker; `WorkerLocal` adds what a static
//! cannot: it is a value (many per program, dropped with their owner), and
//! its instances can be visited and summed ([`iter`](WorkerLocal::iter),
//! [`iter_mut`](WorkerLocal::iter_mut), [`into_iter`](IntoIterator)) — the
//! `thread_local` crate's `ThreadLocal`, made for goroutines.
//!
//! ## Layout
//!
//! Instances live in slots indexed by the crate's thread index
//! (`atomic::thread_index`: dense, `0, 1, 2, ...` in the order threads first
//! ask, never reused). Slot `i` is in bucket `b = log2(i + 1)`, which holds
//! `2^b` slots and is allocated by the first thread that needs it, so a
//! runtime's few workers share a few small buckets, and lookups are a
//! thread-local read, a shift and two loads — no lock, no hashing.
//!
//! Because indices are never reused, a process that starts and ends many
//! threads gives late threads high indices; a `WorkerLocal` they touch then
//! holds a bucket of about half their index in slots (space, never
//! correctness). Instances of threads that ended stay until the
//! `WorkerLocal` is dropped (or taken by `iter_mut`/`into_iter`), as with
//! `ThreadLocal`; a later thread never sees them.
//!
//! ## Invariants
//!
//! - A slot is written only by the thread whose index it is, and only once
//!   while the `WorkerLocal` is shared: its value is written, then its
//!   `present` flag is set. It is never overwritten or removed through
//!   `&self`; only `&mut self` (or ownership) takes values out.
//! - A bucket pointer goes from null to a fully built bucket once, and the
//!   bucket lives until the `WorkerLocal` is dropped.
//!
//! ## Memory orderings
//!
//! - **Bucket pointers**: the allocating thread builds the bucket (every
//!   slot empty), then publishes it with a `Release` CAS; readers load it
//!   `Acquire`, so they see the built slots. A thread that loses the CAS race
//!   frees its own bucket and uses the winner's, read `Acquire` by the
//!   failed CAS.
//! - **`present`**: the owner writes the value, then stores `present` with
//!   `Release`; [`iter`](WorkerLocal::iter) (other threads, `T: Sync`) loads
//!   it `Acquire` before reading the value, so it reads a complete value.
//!   The owner reads its own flag `Relaxed`: it wrote it itself, and
//!   program order suffices. Paths through `&mut self` need no ordering:
//!   whatever gave them exclusive access (a join, a lock, a channel) already
//!   ordered every thread's writes before them.
//!
//! ## Soundness: the bounds
//!
//! - `WorkerLocal<T>: Sync` needs `T: Send`, not `T: Sync`: through
//!   `&WorkerLocal` a thread reaches only its own instance, so no two
//!   threads use one instance at once — except through [`iter`](WorkerLocal::iter),
//!   which requires `T: Sync`. `T: Send` because the instances of all
//!   threads are dropped (or handed out by `iter_mut`/`into_iter`) on
//!   whichever thread holds the `WorkerLocal` at the end.
//! - `WorkerLocal<T>: Send` needs `T: Send`, for the same reason.
//! - Goroutines on one worker share its instance: each may hold a `&T`
//!   across parks, and they interleave at those parks — on one OS thread,
//!   exactly like two functions on one thread holding a `&T` from a
//!   `thread_local!`. So `T` may be `!Sync` (`Cell`, `RefCell`): a `&T`
//!   cannot reach a goroutine on another worker (`go` needs `Send`, and
//!   `&T: Send` needs `T: Sync`). A `RefCell` borrow held across a park
//!   while another goroutine of the worker borrows it mutably panics
//!   (`already borrowed`) — a bug to fix, never undefined behaviour: keep
//!   borrows short, as with thread-locals.
//! - If `get_or`'s `init` parks (or re-enters `get_or` on the same
//!   `WorkerLocal`), another goroutine of the worker may initialise the
//!   slot first. The first value stored wins; the later one is dropped and
//!   the stored one returned. A slot is never overwritten while a `&T` to it
//!   may exist.

use core::fmt;
use core::marker::PhantomData;
use core::mem::MaybeUninit;
use core::ptr;

use crate::atomic::thread_index::thread_index;
use crate::shim::atomic::{
    AtomicBool, AtomicPtr,
    Ordering::{Acquire, Relaxed, Release},
};
use crate::shim::UnsafeCell;

/// Buckets: bucket `b` holds `2^b` slots, so these cover every index.
const BUCKETS: usize = usize::BITS as usize;

/// One thread's slot.
struct Slot<T> {
    /// Whether `value` holds a value. Written by the owning thread (set,
    /// `Release`) or through `&mut` (taken).
    present: AtomicBool,
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<T> {
    fn empty() -> Self {
        Self {
            present: AtomicBool::new(false),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Takes the value out, through exclusive access.
    fn take(&mut self) -> Option<T> {
        // Relaxed: exclusive access (see the module docs).
        if !self.present.load(Relaxed) {
            return None;
        }
        self.present.store(false, Relaxed);
        // SAFETY: `present` was set, so the value is initialised; clearing
        // the flag first means it is read out (moved) exactly once.
        Some(self.value.with_mut(|p| unsafe { (*p).assume_init_read() }))
    }
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// Bucket `b`'s slot count.
const fn bucket_len(b: usize) -> usize {
    1 << b
}

/// Bucket and offset of thread index `i`.
#[inline]
fn locate(i: usize) -> (usize, usize) {
    let n = i + 1; // thread indices never reach `usize::MAX`
    let b = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (b, n - bucket_len(b))
}

/// Per-worker storage: one lazily created `T` per worker thread (and per
/// plain thread that uses it), reached without locks; see the module docs
/// for why a goroutine always reaches its own worker's instance and for the
/// bounds.
///
/// Summing per-worker counters, the common use:
///
/// ```
/// use std::cell::Cell;
/// use std::sync::Arc;
/// use baton::runtime::{Builder, WorkerLocal};
///
/// let rt = Builder::new().workers(2).build();
/// let hits = Arc::new(WorkerLocal::<Cell<u64>>::new());
/// let h = hits.clone();
/// rt.run(move || {
///     let hs: Vec<_> = (0..100)
///         .map(|_| {
///             let h = h.clone();
///             // No lock, no atomic: only this worker touches its `Cell`.
///             baton::go(move || h.get_or_default().set(h.get_or_default().get() + 1))
///         })
///         .collect();
///     hs.into_iter().for_each(|j| j.join().unwrap());
/// });
/// let hits = Arc::try_unwrap(hits).unwrap();
/// assert_eq!(hits.into_iter().map(Cell::into_inner).sum::<u64>(), 100);
/// ```
///
/// A `&T` cannot be sent to a goroutine on another worker unless `T` is
/// `Sync`:
///
/// ```compile_fail
/// use std::cell::Cell;
/// use std::sync::Arc;
/// let wl = Arc::new(baton::runtime::WorkerLocal::<Cell<u32>>::new());
/// let w = wl.clone();
/// baton::go(move || {
///     let mine: &'static Cell<u32> = Box::leak(Box::new(w)).get_or_default();
///     baton::go(move || mine.set(1)); // `&Cell` is not `Send`
/// });
/// ```
///
/// and a `WorkerLocal` of a `!Send` type cannot be shared at all:
///
/// ```compile_fail
/// use std::rc::Rc;
/// let wl = std::sync::Arc::new(baton::runtime::WorkerLocal::<Rc<u32>>::new());
/// baton::go(move || drop(wl.get_or(|| Rc::new(1))));
/// ```
pub struct WorkerLocal<T> {
    buckets: [AtomicPtr<Slot<T>>; BUCKETS],
    /// Owns `T`s (drop check), and makes `Send` need `T: Send`.
    _owns: PhantomData<T>,
}

// SAFETY: through `&WorkerLocal` each thread uses only its own slot (writes
// once, then shared reads on that thread), except `iter`, which requires
// `T: Sync`; values end up dropped or handed out on another thread, hence
// `T: Send`. See the module docs.
unsafe impl<T: Send> Sync for WorkerLocal<T> {}

impl<T> Default for WorkerLocal<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for WorkerLocal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerLocal").finish_non_exhaustive()
    }
}

impl<T> WorkerLocal<T> {
    /// An empty `WorkerLocal`: no instance until a thread asks for one.
    ///
    /// ```
    /// let wl = baton::runtime::WorkerLocal::<u32>::new();
    /// assert!(wl.get().is_none());
    /// ```
    pub fn new() -> Self {
        Self {
            buckets: core::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
            _owns: PhantomData,
        }
    }

    /// This worker's (or thread's) instance, if it has one.
    ///
    /// ```
    /// let wl = baton::runtime::WorkerLocal::new();
    /// assert_eq!(wl.get(), None);
    /// wl.get_or(|| 5);
    /// assert_eq!(wl.get(), Some(&5));
    /// ```
    #[inline]
    pub fn get(&self) -> Option<&T> {
        let (b, off) = locate(thread_index());
        // Acquire: see the module docs (bucket pointers).
        let bucket = self.buckets[b].load(Acquire);
        if bucket.is_null() {
            return None;
        }
        // SAFETY: a non-null bucket `b` holds `bucket_len(b)` slots and
        // `off < bucket_len(b)`; it lives as long as `self`.
        let slot = unsafe { &*bucket.add(off) };
        self.value_of(slot)
    }

    /// The value in `slot` (this thread's), if set.
    #[inline]
    fn value_of<'a>(&'a self, slot: &'a Slot<T>) -> Option<&'a T> {
        // Relaxed: only this thread sets its own slot (module docs).
        if !slot.present.load(Relaxed) {
            return None;
        }
        // SAFETY: set means initialised, and a set slot is never written
        // again while `&self` lives (invariants).
        Some(slot.value.with(|p| unsafe { (*p).assume_init_ref() }))
    }

    /// This worker's instance, created with `init` if it has none.
    ///
    /// `init` runs on the calling thread. If it parks (or calls `get_or` on
    /// this `WorkerLocal` itself) and another goroutine of the worker
    /// creates the instance meanwhile, that one is kept and `init`'s value
    /// is dropped.
    ///
    /// ```
    /// use std::cell::RefCell;
    /// let buffers = baton::runtime::WorkerLocal::<RefCell<Vec<u8>>>::new();
    /// baton::go(move || {
    ///     let buf = buffers.get_or(|| RefCell::new(Vec::with_capacity(4096)));
    ///     buf.borrow_mut().extend_from_slice(b"reused per worker");
    /// })
    /// .join()
    /// .unwrap();
    /// ```
    #[inline]
    pub fn get_or(&self, init: impl FnOnce() -> T) -> &T {
        match self.get() {
            Some(v) => v,
            None => self.insert(init()),
        }
    }

    /// This worker's instance, created with `T::default()` if it has none.
    ///
    /// ```
    /// use std::cell::Cell;
    /// let count = baton::runtime::WorkerLocal::<Cell<u32>>::new();
    /// count.get_or_default().set(3);
    /// assert_eq!(count.get_or_default().get(), 3);
    /// ```
    #[inline]
    pub fn get_or_default(&self) -> &T
    where
        T: Default,
    {
        self.get_or(T::default)
    }

    #[cold]
    fn insert(&self, value: T) -> &T {
        let (b, off) = locate(thread_index());
        let bucket = self.bucket(b);
        // SAFETY: as in `get`.
        let slot = unsafe { &*bucket.add(off) };
        if let Some(v) = self.value_of(slot) {
            // Set while `init` ran (it parked or re-entered): keep that one.
            drop(value);
            return v;
        }
        // SAFETY: only this thread writes this slot; it is not set, so no
        // `&T` to it exists and no other thread reads it (`iter` reads only
        // set slots, after an `Acquire` load of the flag).
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        // Release: publishes the value to `iter` (module docs).
        slot.present.store(true, Release);
        self.value_of(slot).expect("just stored")
    }

    /// Bucket `b`, allocated if it is not yet.
    fn bucket(&self, b: usize) -> *const Slot<T> {
        let p = self.buckets[b].load(Acquire);
        if !p.is_null() {
            return p;
        }
        self.allocate(b)
    }

    #[cold]
    fn allocate(&self, b: usize) -> *const Slot<T> {
        let new: Box<[Slot<T>]> = (0..bucket_len(b)).map(|_| Slot::empty()).collect();
        let new = Box::into_raw(new).cast::<Slot<T>>();
        // Release on success: publishes the built bucket; Acquire on
        // failure: reads the winner's (module docs).
        match self.buckets[b].compare_exchange(ptr::null_mut(), new, Release, Acquire) {
            Ok(_) => new,
            Err(winner) => {
                // SAFETY: `new` came from `Box::into_raw` of a slice of
                // `bucket_len(b)` slots just above and was never shared.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(new, bucket_len(b))) });
                winner
            }
        }
    }

    /// Every thread's instance (those set so far), for types that may be
    /// shared between threads. Instances may be added while it runs; it
    /// sees each at most once.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    /// let served = baton::runtime::WorkerLocal::<AtomicU64>::new();
    /// served.get_or_default().fetch_add(2, Relaxed);
    /// let total: u64 = served.iter().map(|c| c.load(Relaxed)).sum();
    /// assert_eq!(total, 2);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &T>
    where
        T: Sync,
    {
        self.slots().filter_map(|slot| {
            // Acquire: pairs with the owner's `Release` (module docs).
            if !slot.present.load(Acquire) {
                return None;
            }
            // SAFETY: set (and seen set with `Acquire`, so initialised and
            // visible); never written again while `&self` lives; `T: Sync`
            // makes the shared read from this thread fine.
            Some(slot.value.with(|p| unsafe { (*p).assume_init_ref() }))
        })
    }

    /// Every thread's instance, mutably (exclusive access: no thread is
    /// using it).
    ///
    /// ```
    /// let mut wl = baton::runtime::WorkerLocal::new();
    /// wl.get_or(|| 1);
    /// for v in wl.iter_mut() {
    ///     *v += 1;
    /// }
    /// assert_eq!(wl.get(), Some(&2));
    /// ```
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots().filter_map(|slot| {
            // Relaxed: exclusive access (module docs).
            if !slot.present.load(Relaxed) {
                return None;
            }
            // SAFETY: set means initialised; `&mut self` makes this the
            // only access, and each slot is yielded once.
            Some(slot.value.with_mut(|p| unsafe { (*p).assume_init_mut() }))
        })
    }

    /// Drops every instance (exclusive access); threads get new ones on
    /// their next `get_or`.
    ///
    /// ```
    /// let mut wl = baton::runtime::WorkerLocal::new();
    /// wl.get_or(|| 1);
    /// wl.clear();
    /// assert_eq!(wl.get(), None);
    /// ```
    pub fn clear(&mut self) {
        for slot in self.slots_mut() {
            drop(slot.take());
        }
    }

    /// All allocated slots.
    fn slots(&self) -> impl Iterator<Item = &Slot<T>> {
        self.buckets.iter().enumerate().flat_map(|(b, p)| {
            // Acquire: see the module docs (bucket pointers).
            let p = p.load(Acquire);
            let slots: &[Slot<T>] = if p.is_null() {
                &[]
            } else {
                // SAFETY: a non-null bucket is `bucket_len(b)` built slots
                // that live as long as `self`.
                unsafe { &*ptr::slice_from_raw_parts(p, bucket_len(b)) }
            };
            slots.iter()
        })
    }

    /// All allocated slots, exclusively.
    fn slots_mut(&mut self) -> impl Iterator<Item = &mut Slot<T>> {
        self.buckets.iter_mut().enumerate().flat_map(|(b, p)| {
            // Relaxed: exclusive access.
            let p = p.load(Relaxed);
            let slots: &mut [Slot<T>] = if p.is_null() {
                &mut []
            } else {
                // SAFETY: as in `slots`; `&mut self` makes it exclusive.
                unsafe { &mut *ptr::slice_from_raw_parts_mut(p, bucket_len(b)) }
            };
            slots.iter_mut()
        })
    }
}

impl<T> Drop for WorkerLocal<T> {
    fn drop(&mut self) {
        for (b, p) in self.buckets.iter_mut().enumerate() {
            // Relaxed: exclusive access.
            let p = p.load(Relaxed);
            if !p.is_null() {
                // SAFETY: published buckets come from `Box::into_raw` of
                // `bucket_len(b)` slots in `allocate`, and are freed only
                // here; dropping the slots drops the values.
                drop(unsafe { Box::from_raw(ptr::slice_from_raw_parts_mut(p, bucket_len(b))) });
            }
        }
    }
}

/// Takes every instance out of a [`WorkerLocal`]; see
/// [`WorkerLocal::into_iter`](IntoIterator::into_iter).
pub struct WorkerLocalIntoIter<T> {
    inner: WorkerLocal<T>,
    bucket: usize,
    offset: usize,
}

impl<T> fmt::Debug for WorkerLocalIntoIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerLocalIntoIter")
            .finish_non_exhaustive()
    }
}

impl<T> Iterator for WorkerLocalIntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        while self.bucket < BUCKETS {
            let (b, off) = (self.bucket, self.offset);
            if off + 1 < bucket_len(b) {
                self.offset += 1;
            } else {
                (self.bucket, self.offset) = (b + 1, 0);
            }
            // Relaxed: exclusive access (we own it).
            let p = self.inner.buckets[b].load(Relaxed);
            if p.is_null() {
                (self.bucket, self.offset) = (b + 1, 0);
                continue;
            }
            // SAFETY: as in `WorkerLocal::slots_mut`; we own the
            // `WorkerLocal`, and `off < bucket_len(b)`.
            let slot = unsafe { &mut *p.add(off) };
            if let Some(v) = slot.take() {
                return Some(v);
            }
        }
        None
    }
}

/// Every instance, by value (what is not taken is dropped with the
/// iterator).
///
/// ```
/// let wl = baton::runtime::WorkerLocal::new();
/// wl.get_or(|| String::from("mine"));
/// let all: Vec<String> = wl.into_iter().collect();
/// assert_eq!(all, ["mine"]);
/// ```
impl<T> IntoIterator for WorkerLocal<T> {
    type Item = T;
    type IntoIter = WorkerLocalIntoIter<T>;

    fn into_iter(self) -> WorkerLocalIntoIter<T> {
        WorkerLocalIntoIter {
            inner: self,
            bucket: 0,
            offset: 0,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::tests::within;
    use crate::runtime::Builder;
    use core::cell::Cell;
    use std::collections::HashSet;
    use std::sync::Arc;

    #[test]
    fn locate_covers_every_index_once() {
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(1), (1, 0));
        assert_eq!(locate(2), (1, 1));
        assert_eq!(locate(3), (2, 0));
        assert_eq!(locate(6), (2, 3));
        assert_eq!(locate(7), (3, 0));
        for i in 0..10_000 {
            let (b, off) = locate(i);
            assert!(off < bucket_len(b));
            assert_eq!(bucket_len(b) - 1 + off, i);
        }
    }

    #[test]
    fn one_instance_per_thread() {
        let wl = Arc::new(WorkerLocal::<Cell<usize>>::new());
        wl.get_or_default().set(1);
        let ts: Vec<_> = (0..4)
            .map(|i| {
                let wl = wl.clone();
                std::thread::spawn(move || {
                    assert!(wl.get().is_none(), "a new thread has none");
                    wl.get_or_default().set(10 + i);
                    assert_eq!(wl.get_or(|| unreachable!()).get(), 10 + i);
                })
            })
            .collect();
        ts.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(wl.get().unwrap().get(), 1, "ours untouched");
        let mut wl = Arc::try_unwrap(wl).unwrap();
        let mut all: Vec<usize> = wl.iter_mut().map(|c| c.get()).collect();
        all.sort_unstable();
        assert_eq!(all, [1, 10, 11, 12, 13]);
        let sum: usize = wl.into_iter().map(Cell::into_inner).sum();
        assert_eq!(sum, 1 + 10 + 11 + 12 + 13);
    }

    #[test]
    fn goroutines_on_two_workers_sum_per_worker_counts() {
        within(60, "worker_local sum", || {
            const N: u64 = 2_000;
            let rt = Builder::new().workers(2).build();
            let counts = Arc::new(WorkerLocal::<Cell<u64>>::new());
            let threads = Arc::new(std::sync::Mutex::new(HashSet::new()));
            let (c, t) = (counts.clone(), threads.clone());
            rt.run(move || {
                let hs: Vec<_> = (0..N)
                    .map(|i| {
                        let (c, t) = (c.clone(), t.clone());
                        crate::runtime::go(move || {
                            let mine = c.get_or_default();
                            if i % 3 == 0 {
                                // Across a park: still this worker's instance.
                                crate::runtime::yield_now();
                            }
                            assert!(core::ptr::eq(mine, c.get().unwrap()));
                            mine.set(mine.get() + 1);
                            t.lock().unwrap().insert(std::thread::current().id());
                        })
                    })
                    .collect();
                hs.into_iter().for_each(|h| h.join().unwrap());
            });
            let counts = Arc::try_unwrap(counts).unwrap();
            let per_worker: Vec<u64> = counts.into_iter().map(Cell::into_inner).collect();
            assert_eq!(per_worker.iter().sum::<u64>(), N);
            // One instance per worker thread that ran one of them.
            assert_eq!(per_worker.len(), threads.lock().unwrap().len());
            assert!(per_worker.len() <= 2);
        });
    }

    #[test]
    fn init_that_stored_first_wins() {
        let wl = WorkerLocal::new();
        // `init` re-enters: the inner value is stored first and kept.
        let v = wl.get_or(|| {
            assert_eq!(*wl.get_or(|| 1), 1);
            2
        });
        assert_eq!(*v, 1);
    }

    #[test]
    fn drops_every_instance_once() {
        let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        struct D(Arc<std::sync::atomic::AtomicUsize>);
        impl Drop for D {
            fn drop(&mut self) {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let wl = Arc::new(WorkerLocal::new());
        wl.get_or(|| D(drops.clone()));
        let w = wl.clone();
        let d = drops.clone();
        std::thread::spawn(move || {
            w.get_or(|| D(d));
        })
        .join()
        .unwrap();
        let mut wl = Arc::try_unwrap(wl).unwrap();
        let mut it = wl.iter_mut();
        assert!(it.next().is_some());
        drop(it);
        wl.clear();
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 2);
        wl.get_or(|| D(drops.clone()));
        let mut into = wl.into_iter();
        drop(into.next());
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 3);
        drop(into);
        let wl = WorkerLocal::new();
        wl.get_or(|| D(drops.clone()));
        drop(wl);
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 4);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::shim::atomic::{AtomicUsize, Ordering::SeqCst};
    use crate::shim::Arc;
    use loom::thread;

    /// Two threads whose slots share a bucket create their instances at
    /// once (racing to allocate the bucket) while a third iterates: the
    /// iterator reads only complete values, and afterwards each thread's
    /// instance is there exactly once.
    #[test]
    fn loom_worker_local_publication() {
        loom::model(|| {
            // Index 0 for this thread: the two below get 1 and 2, both in
            // bucket 1.
            let _ = thread_index();
            let wl = Arc::new(WorkerLocal::<AtomicUsize>::new());
            let ts: Vec<_> = (0..2)
                .map(|_| {
                    let wl = wl.clone();
                    thread::spawn(move || {
                        wl.get_or(|| AtomicUsize::new(1)).fetch_add(1, SeqCst);
                    })
                })
                .collect();
            // Without a yield here loom runs this thread's loads before the
            // others start in every execution it explores.
            thread::yield_now();
            let seen: usize = wl.iter().map(|c| c.load(SeqCst)).sum();
            assert!(seen <= 4);
            for t in ts {
                t.join().unwrap();
            }
            let wl = Arc::try_unwrap(wl).unwrap();
            let all: Vec<usize> = wl.into_iter().map(|c| c.load(SeqCst)).collect();
            assert_eq!(all, [2, 2]);
        });
    }
}
