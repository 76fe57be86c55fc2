//! A per-thread cache of small, fixed-size memory blocks for the nodes of
//! linked lock-free structures ([`Stack`](super::Stack)): node recycling.
//!
//! ## Why
//!
//! A Treiber stack allocates a node per push and retires it through the
//! epoch collector per pop. The collector frees garbage in batches (a bag
//! of 64, after two epoch advances), which overflows glibc's per-thread
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
//! ## Bounds
//!
//! A cache holds at most [`CAPACITY`] blocks (512 x 32 B = 16 KiB per
//! thread); beyond that blocks go back to the allocator. A thread that only
//! pops fills its cache and then frees; a thread that only pushes always
//! allocates: no worse than without the cache.

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
            let mut p = self.head.get();
            while !p.is_null() {
                // SAFETY: every listed block is ours and was written with a
                // `Free` when it was put.
                let next = unsafe { (*p).next };
                // SAFETY: listed blocks came from `alloc_block`.
                unsafe { dealloc_block(p.cast()) };
                p = next;
            }
        }
    }

    std::thread_local! {
        static CACHE: Cache = const {
            Cache {
                head: Cell::new(ptr::null_mut()),
                len: Cell::new(0),
            }
        };
    }

    /// A cached block, if this thread has one.
    #[inline]
    pub(super) fn take() -> Option<*mut u8> {
        // `try_with`: during thread teardown the cache may be gone.
        CACHE
            .try_with(|c| {
                let p = c.head.get();
                if p.is_null() {
                    return None;
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
                    return false;
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
        let before = cache::cached();
        let a = alloc((1usize, 2u64));
        // SAFETY: `a` came from `alloc`, is freed once, and is not shared.
        unsafe { free(a) };
        assert_eq!(cache::cached(), before + 1);
        let b = alloc((3usize, 4u64));
        assert_eq!(a, b, "the cached block comes back");
        assert_eq!(cache::cached(), before);
        // SAFETY: as above; the contents are read before the free.
        unsafe {
            assert_eq!(*b, (3, 4));
            free(b);
        }
    }

    #[test]
    fn the_cache_is_bounded() {
        let blocks: Vec<_> = (0..CAPACITY + 10).map(|i| alloc((i, 0u64))).collect();
        for p in blocks {
            // SAFETY: each came from `alloc` and is freed once.
            unsafe { free(p) };
        }
        assert_eq!(cache::cached(), CAPACITY);
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
