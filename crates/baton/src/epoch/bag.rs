//! Garbage: a deferred call ([`Deferred`]), a thread's bag of them ([`Bag`]),
//! and a bag sealed with the epoch it was retired in ([`SealedBag`]).
//!
//! A [`Deferred`] is two words: a function pointer and a data pointer.
//! Destroying a `Box<T>` (what `defer_destroy` does) needs no allocation: the
//! data pointer is the box itself. A general closure is boxed once.

use core::fmt;
use core::mem::{self, MaybeUninit};
use core::ptr;

/// How many deferred calls a thread collects before sealing its bag and
/// handing it to the collector. A sealed bag costs one allocation and one
/// CAS, so a few dozen calls amortise those to about a percent of a free,
/// while bounding the garbage a thread sits on.
///
/// 63, not crossbeam's 64 (issue 15): a [`SealedBag`] is the calls (16
/// bytes each) plus three words, so 64 made it 1,048 bytes, just over the
/// largest request glibc's per-thread cache (tcache) keeps, 1,032 bytes.
/// Every sealed-bag box freed then went to the arena, and every new one was
/// a large-bin request, which first consolidates the arena's fast bins
/// (`malloc_consolidate`, 6-7% of a `Stack` push/pop at 8 threads in
/// `perf`). At 63 the box is 1,032 bytes and is recycled through the
/// tcache. Measured: callgrind, one thread, 200,000 `Stack` and 200,000
/// `Queue` push/pop pairs: `malloc`+`free` instructions 478k -> 271k (of
/// 39.3M in all, 0.5%); `perf stat`, 8 threads x 300,000 `Stack` pairs on
/// the 2 busy cores, four interleaved runs each: 52-68 ns of CPU per pair
/// against 67-86 with 64; 2 threads unchanged (26-37 against 27-32). A
/// test checks the size. Under loom the bag holds 2, so that the models
/// reach the sealing path.
#[cfg(not(loom))]
pub(super) const BAG_CAPACITY: usize = 63;
#[cfg(loom)]
pub(super) const BAG_CAPACITY: usize = 2;

/// A call to run once no pinned thread can still see the garbage it frees.
pub(super) struct Deferred {
    call: unsafe fn(*mut ()),
    data: *mut (),
}

// SAFETY: a `Deferred` is either a `Box<F>` with `F: Send` (see `from_fn`)
// or a retired `Box<T>` whose sender promised, in `defer_destroy`'s safety
// contract, that it may be dropped on another thread.
unsafe impl Send for Deferred {}

impl Deferred {
    /// Drops `Box::from_raw(ptr)` later.
    ///
    /// # Safety
    ///
    /// `ptr` must come from `Box::into_raw` and be dropped by nobody else.
    #[inline]
    pub(super) unsafe fn destroy<T>(ptr: *mut T) -> Self {
        /// # Safety
        ///
        /// `data` is a `Box<T>` given up with `Box::into_raw`, run once.
        unsafe fn drop_box<T>(data: *mut ()) {
            // SAFETY: guaranteed by `Deferred::destroy`'s caller.
            drop(unsafe { Box::from_raw(data.cast::<T>()) });
        }
        Self {
            call: drop_box::<T>,
            data: ptr.cast(),
        }
    }

    /// Calls `call(data)` later.
    ///
    /// # Safety
    ///
    /// `call(data)` must be sound to run exactly once, on any thread.
    #[inline]
    pub(super) unsafe fn from_raw(call: unsafe fn(*mut ()), data: *mut ()) -> Self {
        Self { call, data }
    }

    /// Calls `f` later, on whichever thread collects it.
    #[inline]
    pub(super) fn from_fn<F: FnOnce() + Send + 'static>(f: F) -> Self {
        /// # Safety
        ///
        /// `data` is a `Box<F>` given up with `Box::into_raw`, run once.
        unsafe fn call_box<F: FnOnce()>(data: *mut ()) {
            // SAFETY: guaranteed by `from_fn`, which made the box.
            let f = unsafe { Box::from_raw(data.cast::<F>()) };
            f();
        }
        // A zero-sized closure boxes without allocating.
        Self {
            call: call_box::<F>,
            data: Box::into_raw(Box::new(f)).cast(),
        }
    }

    /// Runs the call.
    #[inline]
    pub(super) fn run(self) {
        // SAFETY: `call` and `data` were paired by a constructor, and
        // `self` is consumed, so the call runs exactly once.
        unsafe { (self.call)(self.data) }
    }
}

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deferred")
            .field("data", &self.data)
            .finish_non_exhaustive()
    }
}

/// A fixed-capacity bag of deferred calls, owned by one thread at a time.
pub(super) struct Bag {
    /// `items[..len]` are initialised.
    items: [MaybeUninit<Deferred>; BAG_CAPACITY],
    len: usize,
}

impl Bag {
    pub(super) const fn new() -> Self {
        Self {
            items: [const { MaybeUninit::uninit() }; BAG_CAPACITY],
            len: 0,
        }
    }

    #[inline]
    pub(super) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `d`, or hands it back if the bag is full.
    #[inline]
    pub(super) fn try_push(&mut self, d: Deferred) -> Result<(), Deferred> {
        if self.len == BAG_CAPACITY {
            return Err(d);
        }
        self.items[self.len].write(d);
        self.len += 1;
        Ok(())
    }

    /// Runs every call in the bag and empties it.
    pub(super) fn run_all(&mut self) {
        let len = mem::replace(&mut self.len, 0);
        for slot in &mut self.items[..len] {
            // SAFETY: `items[..len]` were initialised and, with `len` reset
            // first, each is read exactly once.
            unsafe { ptr::read(slot.as_ptr()) }.run();
        }
    }
}

impl Drop for Bag {
    fn drop(&mut self) {
        // Only reached with garbage left when a collector is dropped (no
        // guard can exist then): running the calls is what freeing means.
        self.run_all();
    }
}

impl fmt::Debug for Bag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bag").field("len", &self.len).finish()
    }
}

/// A bag in a box of its own: filled by a participant, then handed to the
/// collector, stamped with the global epoch read after its garbage was
/// unlinked, and linked through `next` in the collector's intake stack and
/// then its backlog queue. Once run, the box goes back to a participant as
/// its spare: a box is over 1 KiB, and with glibc every allocation of that
/// size first consolidates the small freed chunks (the retired nodes just
/// freed), which cost about a third of a stack's push/pop when each seal
/// allocated a new box.
pub(super) struct SealedBag {
    pub(super) epoch: usize,
    pub(super) bag: Bag,
    pub(super) next: *mut SealedBag,
}

impl fmt::Debug for SealedBag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedBag")
            .field("epoch", &self.epoch)
            .field("bag", &self.bag)
            .finish()
    }
}

impl SealedBag {
    /// An empty, unlinked bag.
    pub(super) fn new_boxed() -> Box<Self> {
        Box::new(Self {
            epoch: 0,
            bag: Bag::new(),
            next: core::ptr::null_mut(),
        })
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// See [`BAG_CAPACITY`]: the box must be a request glibc's tcache keeps
    /// (at most 1,032 bytes on 64-bit targets).
    #[test]
    fn a_sealed_bag_fits_glibcs_thread_cache() {
        let size = core::mem::size_of::<SealedBag>();
        assert!(
            size <= 1032,
            "SealedBag is {size} bytes, over glibc's 1,032-byte tcache limit"
        );
    }
}
