//! The unbounded flavour: a linked list of blocks of slots (crossbeam's list
//! flavour). Sends never block; receives wait for a message.
//!
//! # Invariants
//!
//! - `head.index` and `tail.index` count slots, shifted left by `SHIFT`
//!   (1) to leave room for one flag bit; position `i` lives in block
//!   `i / LAP` at offset `i % LAP`. Offset `BLOCK_CAP` (= `LAP - 1`) is a
//!   phantom slot that marks "moving to the next block": an index there is
//!   transient and waiters on it snooze until it moves on.
//! - Flag bit (`MARK_BIT`): in `tail`, the channel is closed; in `head`, the
//!   next block is known to exist (head and tail are in different blocks),
//!   which lets receivers skip reading the tail.
//! - Claiming a slot is a CAS on the index; the claimer alone writes
//!   (sender) or reads (receiver) the slot's message.
//! - The sender that claims the last slot of a block installs the next block
//!   (allocated in advance to keep others' wait short); the receiver that
//!   claims the last slot moves `head.block` on.
//! - A block is freed once every slot has been read: the receiver of the
//!   last slot starts destruction, and a receiver still reading an earlier
//!   slot (its `READ` bit not yet set) finishes it (`DESTROY` bit hand-off).
//! - A receiver claims a slot, then waits for its `WRITE` bit before
//!   `start_recv` returns, so the token `read` gets is always written. A send that was claimed and then *abandoned* (its selected
//!   operation dropped or unwound) sets `WRITE | SKIP`: "written with
//!   nothing". The receiver that reaches it claims it, marks it read
//!   without moving anything, and goes on to the next slot. A send that was
//!   *forgotten* (`mem::forget`) never sets `WRITE`: receivers reaching it
//!   wait, as for a forgotten lock guard, and `Drop` and the receivers'
//!   discard drop only slots with `WRITE` and without `SKIP`.
//! - When the last receiver goes, the buffered messages are dropped (nobody
//!   can receive them); a send still in flight then is dropped with the
//!   channel.
//!
//! | slot state bit | set by                  | meaning                                 |
//! |----------------|-------------------------|-----------------------------------------|
//! | `WRITE` (1)    | its sender              | the message is in the slot              |
//! | `READ` (2)     | its receiver            | the message was moved out               |
//! | `DESTROY` (4)  | the block's destroyer   | "free the block when you are done"      |
//! | `SKIP` (8)     | its abandoning sender   | with `WRITE`: no message, skip the slot |
//!
//! | index bits            | meaning                                            |
//! |-----------------------|----------------------------------------------------|
//! | bit 0 (`MARK_BIT`)    | tail: closed; head: next block exists              |
//! | bits 1.. (`>> SHIFT`) | slot position (block `pos / LAP`, offset `% LAP`)  |
//!
//! # Orderings
//!
//! Slot state bits are set with `Release` and checked with `Acquire`, so a
//! receiver sees its message and a destroyer sees the reads finished. Block
//! pointers are stored with `Release` and loaded with `Acquire` (a block is
//! initialised before it is published). Index CASes are `SeqCst`: the
//! change half of the receivers' waker Dekker pair (`waker.rs`); the
//! emptiness check in `start_recv` fences before reading the tail for the
//! same reason as the array flavour.

use core::marker::PhantomData;
use core::mem::{self, MaybeUninit};
use core::ptr;
use std::time::Instant;

use crate::atomic::{Backoff, CachePadded};
use crate::shim::atomic::{self, AtomicPtr, AtomicUsize, Ordering};
use crate::shim::UnsafeCell;

use super::super::error::{RecvTimeoutError, SendTimeoutError, TrySendError};
use super::super::waiter::{Operation, Waiter};
use super::super::waker::SyncWaker;
use super::{Flavor, Token};

const WRITE: usize = 1;
const READ: usize = 2;
const DESTROY: usize = 4;
const SKIP: usize = 8;

/// Positions per block, counting the phantom end slot. Small under loom so
/// that models cross block boundaries in a few steps.
#[cfg(not(loom))]
const LAP: usize = 32;
#[cfg(loom)]
const LAP: usize = 3;
/// Real slots per block.
const BLOCK_CAP: usize = LAP - 1;
/// Index bits below the position.
const SHIFT: usize = 1;
/// See the index table.
const MARK_BIT: usize = 1;

struct Slot<T> {
    /// Written by the claiming sender, read by the claiming receiver.
    msg: UnsafeCell<MaybeUninit<T>>,
    /// See the slot state table.
    state: AtomicUsize,
}

impl<T> Slot<T> {
    /// Waits until the sender has written the message or abandoned the
    /// send; returns the slot's state (`WRITE` set, maybe `SKIP`). The wait
    /// is bounded by the sender's `write`, a few instructions after its
    /// claim, unless the sender's operation was forgotten (see the
    /// invariants).
    fn wait_write(&self) -> usize {
        let backoff = Backoff::new();
        loop {
            // Acquire: the message (or its absence) is visible.
            let state = self.state.load(Ordering::Acquire);
            if state & WRITE != 0 {
                return state;
            }
            backoff.snooze();
        }
    }
}

struct Block<T> {
    /// The next block, installed by the sender of this block's last slot.
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    /// A fresh block, built in place on the heap: built on the stack and
    /// moved, its `BLOCK_CAP` message slots cost the sender's (goroutine)
    /// stack `BLOCK_CAP` times the message size, in debug builds several
    /// times over (issue 10, item 7).
    #[cfg(not(loom))]
    fn new() -> Box<Block<T>> {
        // (`Box::new_zeroed` would say this in one line, but is newer than
        // the crate's minimum Rust version.)
        let layout = std::alloc::Layout::new::<Block<T>>();
        // SAFETY: the layout is not zero-sized (a block holds a pointer).
        let p = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<Block<T>>();
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: `p` is a fresh allocation of `Block<T>`'s layout, owned by
        // nobody else, and all-zero bytes are a valid `Block`: a null
        // `next`, slots with state 0 (empty) and an uninitialised message
        // (the std atomics and the shim's `UnsafeCell` outside loom are
        // plain wrappers of their value).
        unsafe { Box::from_raw(p) }
    }

    /// Loom's atomics are not valid as zero bytes: built field by field.
    #[cfg(loom)]
    fn new() -> Box<Block<T>> {
        Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: core::array::from_fn(|_| Slot {
                msg: UnsafeCell::new(MaybeUninit::uninit()),
                state: AtomicUsize::new(0),
            }),
        })
    }

    /// Waits until the next block is installed.
    fn wait_next(&self) -> *mut Block<T> {
        let backoff = Backoff::new();
        loop {
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            backoff.snooze();
        }
    }

    /// Frees the block once slots `start..` are read (see the invariants).
    ///
    /// # Safety
    ///
    /// `this` is a live block whose slots before `start`, and its last
    /// slot, have been read; the caller no longer uses it.
    unsafe fn destroy(this: *mut Block<T>, start: usize) {
        // The last slot's reader started destruction, so it needs no mark.
        for i in start..BLOCK_CAP - 1 {
            // SAFETY: the block is alive until the last user frees it.
            let slot = unsafe { &(*this).slots[i] };
            // A reader still busy with the slot will continue destruction.
            if slot.state.load(Ordering::Acquire) & READ == 0
                && slot.state.fetch_or(DESTROY, Ordering::AcqRel) & READ == 0
            {
                return;
            }
        }
        // SAFETY: every slot has been read: nobody uses the block any more.
        drop(unsafe { Box::from_raw(this) });
    }
}

/// One end of the list.
struct Position<T> {
    /// See the index table.
    index: AtomicUsize,
    /// The block holding `index`.
    block: AtomicPtr<Block<T>>,
}

/// Which slot a two-phase operation claimed; null block: closed.
#[derive(Debug)]
pub(crate) struct ListToken {
    block: *const u8,
    offset: usize,
}

impl Default for ListToken {
    fn default() -> Self {
        ListToken {
            block: ptr::null(),
            offset: 0,
        }
    }
}

/// An unbounded channel (see the module docs).
pub(crate) struct Channel<T> {
    /// Receivers' end.
    head: CachePadded<Position<T>>,
    /// Senders' end, with the closed mark.
    tail: CachePadded<Position<T>>,
    /// Receivers waiting for a message (senders never wait).
    receivers: SyncWaker,
    _marker: PhantomData<T>,
}

// SAFETY: messages move between threads (`T: Send`); each slot's message is
// touched only by its claiming sender and then its claiming receiver.
unsafe impl<T: Send> Send for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Channel<T> {}

impl<T> Channel<T> {
    pub(crate) fn new() -> Self {
        Channel {
            head: CachePadded::new(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(ptr::null_mut()),
            }),
            tail: CachePadded::new(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(ptr::null_mut()),
            }),
            receivers: SyncWaker::new(),
            _marker: PhantomData,
        }
    }

    /// Phase 1 of a receive; with `wait` false, an unwritten head slot (a
    /// send in flight, or forgotten) reports empty instead of waiting.
    fn claim_recv(&self, token: &mut Token, wait: bool) -> bool {
        let backoff = Backoff::new();
        let mut head = self.head.index.load(Ordering::Acquire);
        let mut block = self.head.block.load(Ordering::Acquire);
        loop {
            let offset = (head >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Another receiver is moving to the next block.
                backoff.snooze();
                head = self.head.index.load(Ordering::Acquire);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }
            let mut new_head = head + (1 << SHIFT);
            if new_head & MARK_BIT == 0 {
                // Not known to have a next block: compare with the tail. The
                // fence keeps the tail load from being stale (module docs).
                atomic::fence(Ordering::SeqCst);
                let tail = self.tail.index.load(Ordering::Relaxed);
                if head >> SHIFT == tail >> SHIFT {
                    if tail & MARK_BIT != 0 {
                        token.list.block = ptr::null();
                        return true;
                    }
                    return false;
                }
                if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                    new_head |= MARK_BIT;
                }
            }
            if block.is_null() {
                if !wait {
                    return false;
                }
                // The first message is being sent: its block is coming.
                backoff.snooze();
                head = self.head.index.load(Ordering::Acquire);
                block = self.head.block.load(Ordering::Acquire);
                continue;
            }
            // Without `wait` (the discard, with no other receiver left) the
            // slot is looked at before claiming it: only the caller moves
            // the head or frees blocks, so `block` is alive.
            let mut state = 0;
            if !wait {
                // SAFETY: as just said.
                let slot = unsafe { &(*block).slots[offset] };
                // Acquire: the sender's message (or its `SKIP`) is visible.
                state = slot.state.load(Ordering::Acquire);
                if state & WRITE == 0 {
                    // A send in flight on this slot, or forgotten.
                    return false;
                }
            }
            // SeqCst: a change, like the senders' CAS.
            match self.head.index.compare_exchange_weak(
                head,
                new_head,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        // We took the last slot: move the head to the next block.
                        // SAFETY: `block` is alive (our slot is not read yet).
                        let next = unsafe { (*block).wait_next() };
                        let mut next_index = (new_head & !MARK_BIT).wrapping_add(1 << SHIFT);
                        // SAFETY: `next` was just published and is alive.
                        if !unsafe { (*next).next.load(Ordering::Relaxed) }.is_null() {
                            next_index |= MARK_BIT;
                        }
                        self.head.block.store(next, Ordering::Release);
                        self.head.index.store(next_index, Ordering::Release);
                    }
                    if wait {
                        // Wait for our sender to write (or abandon).
                        // SAFETY: `block` is alive (our slot is not read yet).
                        state = unsafe { (*block).slots[offset].wait_write() };
                    }
                    if state & SKIP != 0 {
                        // An abandoned send: nothing to read. Mark the slot
                        // read (the block may be freed) and go on.
                        // SAFETY: we claimed the slot; we touch the block no
                        // more after this.
                        unsafe { Self::release_slot(block, offset) };
                        head = self.head.index.load(Ordering::Acquire);
                        block = self.head.block.load(Ordering::Acquire);
                        continue;
                    }
                    token.list.block = block as *const u8;
                    token.list.offset = offset;
                    return true;
                }
                Err(h) => {
                    head = h;
                    block = self.head.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Marks a claimed slot read, freeing its block if it was the last one
    /// in use (see the invariants).
    ///
    /// # Safety
    ///
    /// The caller claimed slot `offset` of the live block `block`, is done
    /// with it, and does not touch the block after this call.
    unsafe fn release_slot(block: *mut Block<T>, offset: usize) {
        if offset + 1 == BLOCK_CAP {
            // SAFETY: the last slot is read: start destruction.
            unsafe { Block::destroy(block, 0) };
        } else {
            // SAFETY: the block is alive until our slot is marked read.
            let slot = unsafe { &(*block).slots[offset] };
            if slot.state.fetch_or(READ, Ordering::AcqRel) & DESTROY != 0 {
                // SAFETY: the destroyer handed destruction over to us.
                unsafe { Block::destroy(block, offset + 1) };
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        let head = self.head.index.load(Ordering::SeqCst);
        let tail = self.tail.index.load(Ordering::SeqCst);
        head >> SHIFT == tail >> SHIFT
    }
}

impl<T> Flavor for Channel<T> {
    type Msg = T;

    /// Phase 1 of a send: claims a slot (always succeeds; a closed channel
    /// gives a null token).
    #[inline]
    fn start_send(&self, token: &mut Token) -> bool {
        let backoff = Backoff::new();
        let mut tail = self.tail.index.load(Ordering::Acquire);
        let mut block = self.tail.block.load(Ordering::Acquire);
        let mut next_block = None;
        loop {
            if tail & MARK_BIT != 0 {
                token.list.block = ptr::null();
                return true;
            }
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Another sender is installing the next block.
                backoff.snooze();
                tail = self.tail.index.load(Ordering::Acquire);
                block = self.tail.block.load(Ordering::Acquire);
                continue;
            }
            if offset + 1 == BLOCK_CAP && next_block.is_none() {
                next_block = Some(Block::<T>::new());
            }
            if block.is_null() {
                // The first message: install the first block.
                let new = Box::into_raw(Block::<T>::new());
                if self
                    .tail
                    .block
                    .compare_exchange(block, new, Ordering::Release, Ordering::Relaxed)
                    .is_ok()
                {
                    self.head.block.store(new, Ordering::Release);
                    block = new;
                } else {
                    // SAFETY: `new` was never published; keep it for later.
                    next_block = Some(unsafe { Box::from_raw(new) });
                    tail = self.tail.index.load(Ordering::Acquire);
                    block = self.tail.block.load(Ordering::Acquire);
                    continue;
                }
            }
            let new_tail = tail + (1 << SHIFT);
            // SeqCst: the change half of the receivers' Dekker pair.
            match self.tail.index.compare_exchange_weak(
                tail,
                new_tail,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        // We took the last slot: install the next block.
                        let next = Box::into_raw(next_block.take().expect("allocated above"));
                        self.tail.block.store(next, Ordering::Release);
                        self.tail.index.fetch_add(1 << SHIFT, Ordering::Release);
                        // SAFETY: `block` is alive: its slots are not all read
                        // (ours is not even written).
                        unsafe { (*block).next.store(next, Ordering::Release) };
                    }
                    token.list.block = block as *const u8;
                    token.list.offset = offset;
                    return true;
                }
                Err(t) => {
                    tail = t;
                    block = self.tail.block.load(Ordering::Acquire);
                    backoff.spin();
                }
            }
        }
    }

    /// Phase 2 of a send.
    ///
    /// # Safety
    ///
    /// `token` came from a successful [`start_send`](Self::start_send) on
    /// this channel and is used once.
    #[inline]
    unsafe fn write(&self, token: &mut Token, msg: T) -> Result<(), T> {
        if token.list.block.is_null() {
            return Err(msg);
        }
        let block = token.list.block as *const Block<T>;
        // SAFETY: the claimed slot's block stays alive until the slot is read.
        let slot = unsafe { &(*block).slots[token.list.offset] };
        // SAFETY: we claimed the slot: nobody else touches its message yet.
        slot.msg.with_mut(|p| unsafe { (*p).write(msg) });
        // Release: publishes the message to the slot's receiver.
        slot.state.fetch_or(WRITE, Ordering::Release);
        self.receivers.notify();
        Ok(())
    }

    /// Phase 1 of a receive: claims a slot and waits for it to be written
    /// (`true`; abandoned slots are skipped), or reports empty.
    #[inline]
    fn start_recv(&self, token: &mut Token) -> bool {
        self.claim_recv(token, true)
    }

    /// Phase 2 of a receive.
    ///
    /// # Safety
    ///
    /// `token` came from a successful [`start_recv`](Self::start_recv) on
    /// this channel and is used once.
    #[inline]
    unsafe fn read(&self, token: &mut Token) -> Result<T, ()> {
        if token.list.block.is_null() {
            return Err(());
        }
        let block = token.list.block as *mut Block<T>;
        let offset = token.list.offset;
        token.list.block = ptr::null();
        // SAFETY: the block is alive until our slot is marked read.
        let slot = unsafe { &(*block).slots[offset] };
        debug_assert_eq!(
            slot.state.load(Ordering::Relaxed) & (WRITE | SKIP),
            WRITE,
            "a claimed slot holds a message"
        );
        // SAFETY: `start_recv` saw WRITE without SKIP (Acquire) on the slot
        // it claimed: the message is initialised, and we alone own it.
        let msg = slot.msg.with(|p| unsafe { (*p).assume_init_read() });
        // SAFETY: claimed by us, and we are done with it.
        unsafe { Self::release_slot(block, offset) };
        Ok(msg)
    }

    /// Gives up a send claimed by [`start_send`](Self::start_send) that
    /// will never write: marks the slot `WRITE | SKIP` so that its receiver
    /// skips it (module invariants).
    ///
    /// # Safety
    ///
    /// As [`write`](Self::write): the token is used once, by this call
    /// instead of `write`.
    unsafe fn abandon_send(&self, token: &mut Token) {
        if token.list.block.is_null() {
            return;
        }
        let block = token.list.block as *const Block<T>;
        token.list.block = ptr::null();
        // SAFETY: the claimed slot's block stays alive until the slot is
        // read, which needs our WRITE bit.
        let slot = unsafe { &(*block).slots[token.list.offset] };
        // Release: as `write`. From here on the block may be freed.
        slot.state.fetch_or(WRITE | SKIP, Ordering::Release);
        self.receivers.notify();
    }

    /// Gives up a receive claimed by [`start_recv`](Self::start_recv): the
    /// message is dropped, as if received and dropped.
    ///
    /// # Safety
    ///
    /// As [`read`](Self::read).
    unsafe fn abandon_recv(&self, token: &mut Token) {
        // SAFETY: the caller's contract is `read`'s.
        drop(unsafe { self.read(token) });
    }

    #[inline]
    fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        self.send(msg, None).map_err(|e| match e {
            SendTimeoutError::Closed(m) => TrySendError::Closed(m),
            SendTimeoutError::Timeout(_) => unreachable!("unbounded sends never wait"),
        })
    }

    #[inline]
    fn send(&self, msg: T, _deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let token = &mut Token::default();
        assert!(self.start_send(token), "unbounded sends never wait");
        // SAFETY: just claimed.
        unsafe { self.write(token, msg) }.map_err(SendTimeoutError::Closed)
    }

    /// Only receivers wait, parked on `receivers`.
    #[inline]
    fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        super::recv(self, deadline, &self.receivers, || self.is_ready(false))
    }

    /// A send arm is always ready: nothing to register.
    fn register(&self, oper: Operation, cx: &Waiter, send: bool) -> bool {
        if send {
            return true;
        }
        self.receivers.register(oper, cx);
        self.is_ready(false)
    }

    fn unregister(&self, oper: Operation, send: bool) {
        if !send {
            self.receivers.unregister(oper);
        }
    }

    /// A send always is; a receive when a message is there or the channel
    /// is closed (`SeqCst` loads: the waiter's re-check in the receivers'
    /// Dekker pair).
    fn is_ready(&self, send: bool) -> bool {
        send || !self.is_empty() || self.is_closed()
    }

    fn watch(&self, oper: Operation, cx: &Waiter, send: bool) -> bool {
        if send {
            return true;
        }
        self.receivers.watch(oper, cx);
        self.is_ready(false)
    }

    fn unwatch(&self, oper: Operation, send: bool) {
        if !send {
            self.receivers.unwatch(oper);
        }
    }

    /// Closes the channel; `true` if this call closed it.
    fn close(&self) -> bool {
        let tail = self.tail.index.fetch_or(MARK_BIT, Ordering::SeqCst);
        if tail & MARK_BIT == 0 {
            self.receivers.close();
            true
        } else {
            false
        }
    }

    /// The last receiver is gone: closes the channel and drops the buffered
    /// messages, which nobody can receive any more. Stops at a slot still
    /// being written (or whose send was forgotten): it and what follows are
    /// dropped with the channel.
    fn close_receivers(&self) {
        self.close();
        let token = &mut Token::default();
        // No receiver is left: each claim takes the head slot. The head
        // moves before the message is dropped, so a panicking `Drop` leaves
        // the rest to the channel's own drop.
        while self.claim_recv(token, false) {
            // SAFETY: just claimed (a null token: closed and drained).
            match unsafe { self.read(token) } {
                Ok(msg) => drop(msg),
                Err(()) => break,
            }
        }
    }

    fn is_closed(&self) -> bool {
        self.tail.index.load(Ordering::SeqCst) & MARK_BIT != 0
    }

    fn len(&self) -> usize {
        loop {
            let mut tail = self.tail.index.load(Ordering::SeqCst);
            let mut head = self.head.index.load(Ordering::SeqCst);
            if self.tail.index.load(Ordering::SeqCst) == tail {
                tail &= !((1 << SHIFT) - 1);
                head &= !((1 << SHIFT) - 1);
                // Indices on a phantom end slot count as the next block's start.
                if (tail >> SHIFT) % LAP == LAP - 1 {
                    tail = tail.wrapping_add(1 << SHIFT);
                }
                if (head >> SHIFT) % LAP == LAP - 1 {
                    head = head.wrapping_add(1 << SHIFT);
                }
                // Rotate so that head falls in the first block.
                let lap = (head >> SHIFT) / LAP;
                tail = tail.wrapping_sub((lap * LAP) << SHIFT);
                head = head.wrapping_sub((lap * LAP) << SHIFT);
                tail >>= SHIFT;
                head >>= SHIFT;
                // Minus one phantom slot per block boundary crossed.
                return tail - head - tail / LAP;
            }
        }
    }

    fn capacity(&self) -> Option<usize> {
        None
    }
}

impl<T> Channel<T> {
    /// Drops the messages between positions `head` and `tail` (index
    /// values, flag bit cleared) and frees the blocks from `block` on. Only
    /// slots with `WRITE` and without `SKIP` hold a message (a send may
    /// have been claimed and abandoned or forgotten). If a message's `Drop`
    /// panics, the rest are still dropped and the blocks freed (a guard
    /// carries on while unwinding; a second panic aborts, as for a `Vec`).
    ///
    /// Only for the channel's own `Drop` (no other thread can touch it).
    fn drop_messages(mut head: usize, tail: usize, mut block: *mut Block<T>) {
        while head != tail {
            let offset = (head >> SHIFT) % LAP;
            head = head.wrapping_add(1 << SHIFT);
            if offset < BLOCK_CAP {
                // SAFETY: positions from the head on lie in `block`, which
                // is alive (blocks are freed here, as we pass them).
                let slot = unsafe { &(*block).slots[offset] };
                if slot.state.load(Ordering::Relaxed) & (WRITE | SKIP) == WRITE {
                    let rest = DropRest { head, tail, block };
                    // SAFETY: written and never read; nobody else can
                    // touch the list.
                    slot.msg.with_mut(|p| unsafe { (*p).assume_init_drop() });
                    mem::forget(rest);
                }
            } else {
                // SAFETY: a fully passed block: free it and move on.
                unsafe {
                    let next = (*block).next.load(Ordering::Relaxed);
                    drop(Box::from_raw(block));
                    block = next;
                }
            }
        }
        if !block.is_null() {
            // SAFETY: the last block; no one else holds it.
            drop(unsafe { Box::from_raw(block) });
        }
    }
}

impl<T> Drop for Channel<T> {
    fn drop(&mut self) {
        // The last handle is gone: drop unreceived messages and free blocks.
        // `&mut self`: nobody else can touch the list (Relaxed loads).
        let head = self.head.index.load(Ordering::Relaxed) & !((1 << SHIFT) - 1);
        let tail = self.tail.index.load(Ordering::Relaxed) & !((1 << SHIFT) - 1);
        let block = self.head.block.load(Ordering::Relaxed);
        Self::drop_messages(head, tail, block);
    }
}

/// Carries on [`Channel::drop_messages`] when one message's `Drop`
/// panicked.
struct DropRest<T> {
    head: usize,
    tail: usize,
    block: *mut Block<T>,
}

impl<T> Drop for DropRest<T> {
    fn drop(&mut self) {
        Channel::drop_messages(self.head, self.tail, self.block);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn crosses_many_blocks_in_order() {
        let ch = Channel::new();
        for i in 0..(LAP * 5) {
            ch.try_send(i).unwrap();
        }
        assert_eq!(ch.len(), LAP * 5);
        for i in 0..(LAP * 5) {
            assert_eq!(ch.try_recv(), Ok(i));
        }
        assert!(ch.is_empty());
        assert_eq!(ch.len(), 0);
    }

    #[test]
    fn drop_releases_unreceived_messages_and_blocks() {
        let v = std::sync::Arc::new(());
        let ch = Channel::new();
        for _ in 0..(LAP * 2 + 3) {
            ch.try_send(v.clone()).unwrap();
        }
        for _ in 0..LAP {
            drop(ch.try_recv());
        }
        drop(ch);
        assert_eq!(std::sync::Arc::strong_count(&v), 1);
    }
}
