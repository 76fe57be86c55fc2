//! A block of slots for [`Queue`](super::Queue), and the protocol that
//! frees a block once every reader is done with it.
//!
//! ## Slot states (bits of `Slot::state`)
//!
//! | bits | meaning |
//! |---|---|
//! | — | claimed by a pusher (or not yet claimed); value not written |
//! | `WRITE` | value written; the popper that claimed the slot may read it |
//! | `WRITE \| READ` | value moved out; the slot's popper is done with the block |
//! | `WRITE \| DESTROY` | the block's destroyer found the slot still in use and passed the job on: the slot's popper frees the rest |
//! | `WRITE \| READ \| DESTROY` | both happened; whoever set the second bit saw the first |
//!
//! ## Freeing a block without epochs
//!
//! The popper that takes a block's last slot is the *destroyer*: it has
//! already moved `head` to the next block, so no thread can claim a slot
//! in this one any more, but poppers of earlier slots may still be reading.
//! It walks the slots in order; a slot with `READ` is done; on a slot
//! without it, it sets `DESTROY` and, if `READ` was still not set at that
//! moment, stops: that slot's popper will see `DESTROY` when it sets `READ`
//! and carry on the walk from the next slot. Exactly one thread reaches
//! the end of the walk and frees the block. Pushers are done with a block
//! before any popper reads it (each popper waits for its slot's `WRITE`,
//! and the pusher of the last slot links the next block before writing).
//!
//! This is crossbeam's `SegQueue` protocol. Epoch reclamation would also
//! work, but costs a pin (a thread-local access and a fence) on every
//! push and pop, about a third of an operation here.

use core::mem::MaybeUninit;
use core::ptr;

use crate::atomic::Backoff;
use crate::shim::atomic::{
    AtomicPtr, AtomicUsize,
    Ordering::{AcqRel, Acquire, Relaxed, Release},
};
use crate::shim::UnsafeCell;

/// Positions per lap: `BLOCK_CAP` slots and one extra position that marks
/// "the next block is being installed". 32 (crossbeam's figure): a block of
/// 31 slots is one allocation per 31 elements, and at 31 x (8 + value)
/// bytes it stays small enough that a mostly empty queue costs little.
/// Under loom a lap is 3 (2 slots), so that models cross blocks.
#[cfg(not(loom))]
pub(super) const LAP: usize = 32;
#[cfg(loom)]
pub(super) const LAP: usize = 3;

/// Slots per block.
pub(super) const BLOCK_CAP: usize = LAP - 1;

// `push` relies on the first slot of a block never being its last.
const _: () = assert!(LAP >= 3, "a block needs at least two slots");

/// The slot's value has been written.
const WRITE: usize = 1;
/// The slot's value has been read.
const READ: usize = 2;
/// The destroyer handed the rest of the walk to this slot's popper.
const DESTROY: usize = 4;

/// One value's place in a block.
pub(super) struct Slot<T> {
    /// Written once by the slot's pusher, read once by its popper.
    value: UnsafeCell<MaybeUninit<T>>,
    /// `WRITE`/`READ`/`DESTROY` (table above).
    state: AtomicUsize,
}

impl<T> Slot<T> {
    #[cfg(loom)]
    fn new() -> Self {
        Self {
            value: UnsafeCell::new(MaybeUninit::uninit()),
            state: AtomicUsize::new(0),
        }
    }

    /// Writes the value and marks it readable.
    ///
    /// # Safety
    ///
    /// The caller claimed this slot with the tail CAS (it is the only
    /// writer, once).
    #[inline]
    pub(super) unsafe fn write(&self, value: T) {
        // SAFETY: the caller is the slot's only writer; its popper reads
        // only after seeing `WRITE`.
        self.value
            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
        // Release: publishes the value to the popper's Acquire load.
        self.state.fetch_or(WRITE, Release);
    }

    /// Waits for the value, then moves it out.
    ///
    /// # Safety
    ///
    /// The caller claimed this slot with the head CAS (it is the only
    /// reader, once).
    #[inline]
    pub(super) unsafe fn read(&self) -> T {
        let backoff = Backoff::new();
        // Acquire: pairs with the Release in `write`. The wait is the one
        // place the queue is not lock-free: the pusher that claimed the
        // slot has not finished writing it. Spin audit (issue 10): this
        // wait cannot wait for a parked goroutine: the pusher is between
        // its claim and its write, which run no user code and never park,
        // and goroutines are not preempted, so it finishes before its
        // worker runs anything else; only the OS can delay it, which the
        // yields in `snooze` cover.
        while self.state.load(Acquire) & WRITE == 0 {
            backoff.snooze();
        }
        // SAFETY: `WRITE` is set, so the value is initialised; the caller
        // is its only reader.
        self.value.with(|p| unsafe { p.read().assume_init() })
    }
}

/// A block of `BLOCK_CAP` slots, linked to the next block.
pub(super) struct Block<T> {
    /// The next block; set once, by the pusher that takes the last slot.
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    /// A new block, all slots empty.
    #[cfg(not(loom))]
    pub(super) fn new() -> Box<Self> {
        let layout = std::alloc::Layout::new::<Self>();
        // SAFETY: the layout has non-zero size (it holds a pointer).
        let raw = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<Self>();
        if raw.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: all-zero bytes are a valid empty block: a null `next`,
        // states of 0, and uninitialised values; the memory came from the
        // global allocator with `Self`'s layout, as `Box` requires.
        unsafe { Box::from_raw(raw) }
    }

    /// A new block, all slots empty (loom's atomics cannot be zeroed).
    #[cfg(loom)]
    pub(super) fn new() -> Box<Self> {
        Box::new(Self {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: core::array::from_fn(|_| Slot::new()),
        })
    }

    #[inline]
    pub(super) fn slot(&self, offset: usize) -> &Slot<T> {
        &self.slots[offset]
    }

    /// Links the next block (by the pusher that took the last slot).
    pub(super) fn set_next(&self, next: *mut Block<T>) {
        // Release: the poppers that follow the link see the block's
        // initialisation.
        self.next.store(next, Release);
    }

    /// Whether the next block is linked yet.
    pub(super) fn has_next(&self) -> bool {
        // Relaxed: only a hint for the head index's `HAS_NEXT` bit; the
        // block is followed through `wait_next`, which acquires.
        !self.next.load(Relaxed).is_null()
    }

    /// Waits for the pusher that took the last slot to link the next block.
    ///
    /// Spin audit (issue 10): the pusher links the block right after its
    /// claiming CAS, with no user code and no park in between, so this
    /// never waits for a parked goroutine (goroutines are not preempted,
    /// so a goroutine pusher finishes both steps before its worker runs
    /// anything else); only the OS can delay it, which `snooze`'s yields
    /// cover.
    pub(super) fn wait_next(&self) -> *mut Block<T> {
        let backoff = Backoff::new();
        loop {
            // Acquire: pairs with the Release in `set_next`.
            let next = self.next.load(Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }

    /// Frees the block (or keeps it as the queue's `spare`, see
    /// [`recycle`](Self::recycle)) once the readers of slots `start..` are
    /// done; see the module docs.
    ///
    /// # Safety
    ///
    /// The caller is the destroyer (start 0, having read the last slot) or
    /// the popper of slot `start - 1` that found `DESTROY` set; `this`
    /// came from [`Block::new`] via `Box::into_raw`.
    pub(super) unsafe fn destroy(this: *mut Self, start: usize, spare: &AtomicPtr<Block<T>>) {
        // The last slot is skipped: its popper is the destroyer.
        for i in start..BLOCK_CAP - 1 {
            // SAFETY: the block is alive: we are on the walk, and the walk
            // frees it only at the end.
            let slot = unsafe { (*this).slot(i) };
            // Acquire (both): a `READ` seen here means that popper's read
            // of the value happens-before the free. AcqRel on the
            // `fetch_or`: Release so that the popper that sees `DESTROY`
            // and continues the walk inherits what we acquired so far.
            // `fetch_add` sets the bit like `fetch_or` (the walk visits a
            // slot once, so `DESTROY` is not set yet) but is one `lock
            // xadd` on x86, where a `fetch_or` whose result is used is a
            // CAS loop.
            if slot.state.load(Acquire) & READ == 0
                && slot.state.fetch_add(DESTROY, AcqRel) & READ == 0
            {
                // That popper is still reading; it will carry on.
                return;
            }
        }
        // SAFETY: every slot's popper is done and no thread can reach the
        // block any more (head has moved past it).
        unsafe { Self::recycle(this, spare) };
    }

    /// Resets a block nobody can reach and offers it as the queue's spare;
    /// frees it if there is one already.
    ///
    /// # Safety
    ///
    /// As for a free: `this` came from [`Block::new`], every slot's value
    /// has been moved out, and no other thread can reach the block.
    unsafe fn recycle(this: *mut Self, spare: &AtomicPtr<Block<T>>) {
        // SAFETY: the block is ours alone (caller's contract).
        let b = unsafe { &*this };
        // Relaxed: nobody else sees the block until the Release below.
        b.next.store(ptr::null_mut(), Relaxed);
        for slot in &b.slots {
            slot.state.store(0, Relaxed);
            // Under loom, count the reset as a write to the value, as a
            // free is (see `Drop` below): a read of the slot not ordered
            // before the recycling is then reported. A no-op otherwise.
            slot.value.with_mut(|_| ());
        }
        // Release: the reset happens-before the pusher that takes it
        // (Acquire swap in `Queue::new_block`). Relaxed on failure: there
        // is a spare already; we free ours.
        if spare
            .compare_exchange(ptr::null_mut(), this, Release, Relaxed)
            .is_err()
        {
            // SAFETY: still ours: it was not published.
            drop(unsafe { Box::from_raw(this) });
        }
    }

    /// Marks slot `offset` read; returns whether the destroyer handed the
    /// walk to us.
    #[inline]
    pub(super) fn mark_read(&self, offset: usize) -> bool {
        // AcqRel: Release so that a destroyer that sees `READ` frees only
        // after our read of the value; Acquire so that, if `DESTROY` is
        // set, we inherit the destroyer's view before continuing its walk.
        //
        // `fetch_add`, not `fetch_or`: the same result, since only this
        // slot's one popper sets `READ`, once (see `destroy`).
        self.slot(offset).state.fetch_add(READ, AcqRel) & DESTROY != 0
    }

    /// Drops the value in slot `offset` (for `Queue::drop`, with `&mut`).
    ///
    /// # Safety
    ///
    /// The slot holds a value that nobody else will read.
    pub(super) unsafe fn drop_value(&self, offset: usize) {
        // SAFETY: guaranteed by the caller.
        self.slot(offset)
            .value
            .with_mut(|p| unsafe { (*p).assume_init_drop() });
    }

    /// The next block, with exclusive access (for `Queue::drop`).
    pub(super) fn next_mut(&self) -> *mut Block<T> {
        self.next.load(Relaxed)
    }
}

/// Under loom, freeing a block counts as a write to every slot's value, so
/// that loom reports a read of a slot that is not ordered before the free
/// (loom does not see deallocation itself).
#[cfg(loom)]
impl<T> Drop for Block<T> {
    fn drop(&mut self) {
        for slot in &self.slots {
            slot.value.with_mut(|_| ());
        }
    }
}
