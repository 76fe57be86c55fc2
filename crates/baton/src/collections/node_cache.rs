//! A per-thread cache of small, fixed-size memory blocks for the nodes of
//! linked lock-free structures ([`Stack`](super::Stack)): node recycling.
//!
//! ## Why
//!
//! A Treiber stack allocates a node per push and retires it through the
//! epoch collector per pop. The collector frees garbage in batches (a bag
//! of 63, after two epoch advances), which overflows glibc's per-thread
//! cache (7 blocks per size) and sends every free and most mallocs down its
//! slow paths: on the 2-core development machine `perf` put `malloc` and
//! `free` at more than half of a push+pop pair. Here a retired node's
//! block goes, once the epoch allows it, onto the collecting thread's own
//! free list, and the next push on that thread takes it back: a pointer
//! pop, no allocator call.
//!
//! ## Invariants
//!
//! - Every block in a cache is [`BLOCK`]-sized and -aligned, came from the
//!   global allocator with that layout, and is owned by the cache alone (no
//!   other thread can reach it: it was retired and then expired). It is
//!   freed with that layout when the cache is full or its thread ends.
//! - A node type uses blocks only if it fits ([`fits`]); otherwise
//!   [`alloc`] and [`free`] are a plain `Box`. The two must be paired for
//!   a given node type (both pick the same path from its layout).
//!
//! The cache is a `thread_local!` of plain `Cell`s: only its thread touches
//! it, so there is no atomic and no ordering to argue. Reuse is safe for
//! the same reason a free would be: a block enters the cache only through
//! the epoch collector, when no pinned thread can still read it. Under loom
//! the cache is bypassed (plain allocation), so the models see the same
//! memory behaviour as before; the cache itself is single-threaded code.
//!
//! ## Bounds, and the depot
//!
//! A cache holds at most [`CAPACITY`] blocks (512 x 32 B = 16 KiB per
//! thread). A thread whose cache is full hands the whole list, as one
//! batch, to a process-wide depot of at most [`DEPOT_BATCHES`] batches
//! (512 KiB); a thread whose cache is empty takes a batch from the depot
//! before it calls the allocator (Bonwick's magazines and depot, in
//! miniature). Only beyond both bounds do blocks go back to the allocator.
//!
//! Why the depot (issue 15): a block returns to the cache of the thread
//! that *runs* the garbage, and the collector runs whatever bags have
//! expired, sealed by any thread. With 8 threads on 2 cores one thread's
//! collect often ran the bags of all of them: its cache overflowed and it
//! freed, while the others' caches were empty and they called `malloc`
//! (`perf`, `Stack` push+pop at 8 threads: `alloc_block` 28% and the
//! frees of `run_bag` 25% of the samples; raising `CAPACITY` does not help,
//! the blocks are in the wrong thread's cache). The depot moves blocks
//! between threads 512 at a time, for one lock per batch.
//!
//! The depot is a `std` mutex taken only with `try_lock`: a thread that
//! finds it taken does what it did before the depot existed (allocates, or
//! frees), so no push or pop ever waits for another thread (`Stack` stays
//! lock-free, as far as the allocator itself is). Nothing in it is a shared
//! pointer: a batch is owned by the depot or by one thread, handed over
//! under the mutex, whose lock/unlock orders the blocks' contents.

use core::alloc::Layout;
use core::mem::{align_of, size_of};

/// The one block layout: 32 bytes, 8-aligned. A node of a `Stack<T>` is a
/// pointer and a `T`, so every `T` of up to 24 bytes and alignment 8 fits
/// (integers, pointers, `Box`, `Arc`, `String`, `Vec`).
const BLOCK: Layout = match Layout::from_size_align(32, 8) {
    Ok(l) => l,
    Err(_) => panic!("a valid layout"),
};

/// The most blocks one thread's cache holds (see the module docs).
#[cfg(not(loom))]
const CAPACITY: usize = 512;

/// The most batches (of [`CAPACITY`] blocks) the depot holds: 32 x 16 KiB.
#[cfg(not(loom))]
const DEPOT_BATCHES: usize = 32;

/// Whether nodes of type `N` are served from blocks.
#[inline]
pub(super) const fn fits<N>() -> bool {
    size_of::<N>() <= BLOCK.size() && align_of::<N>() <= BLOCK.align() && size_of::<N>() > 0
}

/// Moves `node` into a fresh allocation (a cached block when `N` fits) and
/// returns it; release it with [`free`].
#[inline]
pub(super) fn alloc<N>(node: N) -> *mut N {
    if !fits::<N>() {
        return Box::into_raw(Box::new(node));
    }
    let p = take().unwrap_or_else(alloc_block).cast::<N>();
    // SAFETY: `p` is a live block of `BLOCK`'s layout, owned by us, which
    // `fits` says is large and aligned enough for `N`.
    unsafe { p.write(node) };
    p
}

/// Releases the memory of a node made by [`alloc`] without dropping it
/// (the caller has moved or dropped its contents).
///
/// # Safety
///
/// `p` came from [`alloc::<N>`](alloc), is freed exactly once, and no
/// thread can read it any more.
#[inline]
pub(super) unsafe fn free<N>(p: *mut N) {
    if !fits::<N>() {
        // SAFETY: `p` is a `Box<N>` (`alloc`'s other path); `ManuallyDrop`
        // has `N`'s layout and frees without dropping.
        drop(unsafe { Box::from_raw(p.cast::<core::mem::ManuallyDrop<N>>()) });
        return;
    }
    // SAFETY: the caller hands us a block nobody else can reach.
    unsafe { put(p.cast::<u8>()) };
}

/// A new block from the global allocator.
#[cold]
fn alloc_block() -> *mut u8 {
    // SAFETY: `BLOCK` has a non-zero size.
    let p = unsafe { std::alloc::alloc(BLOCK) };
    if p.is_null() {
        std::alloc::handle_alloc_error(BLOCK);
    }
    p
}

/// Gives a block back to the global allocator.
///
/// # Safety
///
/// `p` came from [`alloc_block`] and is owned by the caller.
unsafe fn dealloc_block(p: *mut u8) {
    // SAFETY: allocated with `BLOCK` (caller's contract).
    unsafe { std::alloc::dealloc(p, BLOCK) };
}

#[cfg(not(loom))]
mod cache {
    use super::*;
    use core::cell::Cell;
    use core::ptr;

    /// A free block's first word: the next free block.
    struct Free {
        next: *mut Free,
    }

    // A free block must hold its link.
    const _: () = assert!(size_of::<Free>() <= BLOCK.size() && align_of::<Free>() <= BLOCK.align());

    /// One thread's free list. Owned by its thread; no other thread ever
    /// sees it.
    pub(super) struct Cache {
        head: Cell<*mut Free>,
        len: Cell<usize>,
    }

    impl Drop for Cache {
        fn drop(&mut self) {
            // SAFETY: the listed blocks are ours, each written with a `Free`.
            unsafe { free_list(self.head.get()) };
        }
    }

    /// Frees every block of a list.
    ///
    /// # Safety
    ///
    /// The caller owns the list; each block came from `alloc_block` and
    /// holds a `Free` linking the next (null ends it).
    unsafe fn free_list(mut p: *mut Free) {
        while !p.is_null() {
            // SAFETY: the caller's contract.
            let next = unsafe { (*p).next };
            // SAFETY: listed blocks came from `alloc_block`.
            unsafe { dealloc_block(p.cast()) };
            p = next;
        }
    }

    /// A whole free list of [`CAPACITY`] blocks, moved between a thread's
    /// cache and the depot (see the module docs).
    struct Batch(*mut Free);

    // SAFETY: a batch's blocks are owned by whoever holds the batch (the
    // depot, under its mutex, or one thread); they are plain memory.
    unsafe impl Send for Batch {}

    /// Full batches, for threads whose cache ran empty.
    static DEPOT: std::sync::Mutex<Vec<Batch>> = std::sync::Mutex::new(Vec::new());

    /// A full batch from the depot, if one is there and the depot is free
    /// (never waits: see the module docs).
    #[cold]
    fn take_batch() -> Option<Batch> {
        // A poisoned depot (a panic while held: only an allocation failure
        // in `Vec::push`) still holds valid batches.
        let mut depot = match DEPOT.try_lock() {
            Ok(d) => d,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        depot.pop()
    }

    /// Gives a full batch to the depot, or frees it if the depot is full
    /// or busy.
    #[cold]
    fn give_batch(batch: Batch) {
        let refused = match DEPOT.try_lock() {
            Ok(d) => give_locked(d, batch),
            Err(std::sync::TryLockError::Poisoned(p)) => give_locked(p.into_inner(), batch),
            Err(std::sync::TryLockError::WouldBlock) => Some(batch),
        };
        if let Some(Batch(p)) = refused {
            // SAFETY: the batch was ours (not taken by the depot).
            unsafe { free_list(p) };
        }
    }

    /// Keeps `batch` in the depot unless it is full (then hands it back).
    fn give_locked(
        mut depot: std::sync::MutexGuard<'_, Vec<Batch>>,
        batch: Batch,
    ) -> Option<Batch> {
        if depot.len() >= DEPOT_BATCHES {
            return Some(batch);
        }
        depot.push(batch);
        None
    }

    std::thread_local! {
        static CACHE: Cache = const {
            Cache {
                head: Cell::new(ptr::null_mut()),
                len: Cell::new(0),
            }
        };
    }

    /// A cached block, if this thread has one (refilling an empty cache
    /// from the depot first).
    #[inline]
    pub(super) fn take() -> Option<*mut u8> {
        // `try_with`: during thread teardown the cache may be gone.
        CACHE
            .try_with(|c| {
                let mut p = c.head.get();
                if p.is_null() {
                    p = take_batch()?.0;
                    c.len.set(CAPACITY);
                }
                // SAFETY: a listed block holds a `Free` (written by `put`).
                c.head.set(unsafe { (*p).next });
                c.len.set(c.len.get() - 1);
                Some(p.cast::<u8>())
            })
            .ok()
            .flatten()
    }

    /// Caches `p`, or frees it if the cache is full or gone.
    ///
    /// # Safety
    ///
    /// `p` came from `alloc_block` and is owned by the caller.
    #[inline]
    pub(super) unsafe fn put(p: *mut u8) {
        let kept = CACHE
            .try_with(|c| {
                if c.len.get() >= CAPACITY {
                    debug_assert_eq!(c.len.get(), CAPACITY, "a batch is exactly CAPACITY blocks");
                    // Full: the whole list goes to the depot as one batch.
                    give_batch(Batch(c.head.replace(ptr::null_mut())));
                    c.len.set(0);
                }
                let f = p.cast::<Free>();
                // SAFETY: the block is ours, large and aligned enough.
                unsafe { f.write(Free { next: c.head.get() }) };
                c.head.set(f);
                c.len.set(c.len.get() + 1);
                true
            })
            .unwrap_or(false);
        if !kept {
            // SAFETY: still ours (not cached).
            unsafe { dealloc_block(p) };
        }
    }

    /// How many blocks this thread holds (tests).
    #[cfg(test)]
    pub(super) fn cached() -> usize {
        CACHE.with(|c| c.len.get())
    }

    /// Empties the depot, freeing its blocks (tests).
    #[cfg(test)]
    pub(super) fn drain_depot() {
        let batches = core::mem::take(&mut *DEPOT.lock().unwrap_or_else(|p| p.into_inner()));
        for Batch(p) in batches {
            // SAFETY: taken out of the depot: ours, a valid list.
            unsafe { free_list(p) };
        }
    }
}

#[cfg(loom)]
mod cache {
    /// Under loom the cache is bypassed (see the module docs).
    #[inline]
    pub(super) fn take() -> Option<*mut u8> {
        None
    }

    /// # Safety
    ///
    /// `p` came from `alloc_block` and is owned by the caller.
    #[inline]
    pub(super) unsafe fn put(p: *mut u8) {
        // SAFETY: the caller's contract.
        unsafe { super::dealloc_block(p) };
    }
}

use cache::{put, take};

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn small_nodes_fit_and_large_ones_do_not() {
        assert!(fits::<(usize, u64)>());
        assert!(fits::<(usize, String)>());
        assert!(!fits::<(usize, [u64; 4])>());
        assert!(!fits::<()>());
    }

    #[test]
    fn a_freed_block_is_reused_by_the_next_alloc() {
        // (An alloc from an empty cache may take a batch from the depot, so
        // the count is read after the free.)
        let a = alloc((1usize, 2u64));
        // SAFETY: `a` came from `alloc`, is freed once, and is not shared.
        unsafe { free(a) };
        let cached = cache::cached();
        assert!(cached >= 1);
        let b = alloc((3usize, 4u64));
        assert_eq!(a, b, "the cached block comes back");
        assert_eq!(cache::cached(), cached - 1);
        // SAFETY: as above; the contents are read before the free.
        unsafe {
            assert_eq!(*b, (3, 4));
            free(b);
        }
    }

    #[test]
    fn the_cache_is_bounded() {
        std::thread::spawn(|| {
            let blocks: Vec<_> = (0..CAPACITY + 10).map(|i| alloc((i, 0u64))).collect();
            for (i, p) in blocks.into_iter().enumerate() {
                // SAFETY: each came from `alloc` and is freed once.
                unsafe { free(p) };
                assert!(cache::cached() <= CAPACITY);
                assert_eq!(
                    cache::cached(),
                    i % CAPACITY + 1,
                    "a full cache goes to the depot whole"
                );
            }
        })
        .join()
        .unwrap();
    }

    /// The depot (module docs): a thread that frees more than its cache
    /// holds passes the blocks to a thread whose cache is empty, instead of
    /// one freeing while the other allocates. Other tests in this process
    /// use the depot too, so a round in which one of them took the batch
    /// first is retried.
    #[test]
    fn a_full_cache_feeds_an_empty_one_through_the_depot() {
        for _ in 0..20 {
            cache::drain_depot();
            // `n` blocks allocated, then all freed; their addresses.
            fn alloc_free(n: usize, tag: u64) -> Vec<usize> {
                let blocks: Vec<_> = (0..n).map(|i| alloc((i, tag))).collect();
                let addrs = blocks.iter().map(|&p| p as usize).collect();
                for p in blocks {
                    // SAFETY: each came from `alloc` and is freed once.
                    unsafe { free(p) };
                }
                addrs
            }
            let given = std::thread::spawn(|| alloc_free(CAPACITY + 1, 0))
                .join()
                .unwrap();
            let got = std::thread::spawn(|| {
                assert_eq!(cache::cached(), 0, "a new thread starts empty");
                alloc_free(CAPACITY, 1)
            })
            .join()
            .unwrap();
            // The batch is the giver's whole list, newest first (block
            // `CAPACITY` overflowed it and stayed behind): the taker's
            // allocations are exactly those blocks in reverse. Through
            // `malloc` they would come back in another order, if at all.
            let expected: Vec<usize> = given[..CAPACITY].iter().rev().copied().collect();
            if got == expected {
                return;
            }
        }
        panic!("in 20 rounds, a new thread never got another thread's full cache as a batch");
    }

    #[test]
    fn large_nodes_use_the_allocator() {
        let p = alloc([7u64; 8]);
        // SAFETY: from `alloc`, read then freed once.
        unsafe {
            assert_eq!((*p)[7], 7);
            free(p);
        }
    }
}
