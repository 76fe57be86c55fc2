//! The bounded flavour: a preallocated ring of `cap` slots (crossbeam's
//! array flavour, after Dmitry Vyukov's bounded MPMC queue).
//!
//! # Invariants
//!
//! - `head` and `tail` are *stamps* `{ lap, mark, index }` packed in one
//!   word: `index` (low bits, `< cap`) is a position in the ring, `mark`
//!   (the bit above, `mark_bit`) is set in `tail` once the channel is
//!   closed (never in `head`), and `lap` (the bits above, counted in units
//!   of `one_lap = 2 * mark_bit`) counts trips round the ring.
//! - Each slot has its own stamp. A slot is *writable* by the sender that
//!   claims tail stamp `t` when `slot.stamp == t`, and *readable* by the
//!   receiver that claims head stamp `h` when `slot.stamp == h + 1`. After
//!   writing, the sender sets `slot.stamp = t + 1`; after reading, the
//!   receiver sets it to `h + one_lap` (the same index one lap later).
//! - Claiming is a CAS on `tail` (resp. `head`) from the stamp to the next
//!   one; the claimer alone then touches the slot's message, so at most one
//!   thread accesses a message at a time.
//! - The channel is full when `head + one_lap == tail` (without the mark),
//!   empty when `head == tail`.
//!
//! | part of a stamp | bits                         | meaning                        |
//! |-----------------|------------------------------|--------------------------------|
//! | index           | `0 .. log2(mark_bit)`        | slot position, `< cap`         |
//! | mark            | `mark_bit`                   | closed (in `tail` only)        |
//! | lap             | `one_lap ..` (the rest)      | trips round the ring (wraps)   |
//!
//! # Orderings
//!
//! - Slot stamps: the claimer's load is `Acquire` and the store after the
//!   access is `Release`, so a receiver sees the message its sender wrote,
//!   and a sender writing a slot one lap later sees that the previous
//!   message was moved out.
//! - Head/tail CASes are `SeqCst`, as are the loads in `is_empty`/`is_full`:
//!   they are the "change" half of the waker's Dekker pair (`waker.rs`),
//!   which keeps a waiter that registers while the channel changes from
//!   sleeping through the change. The full/empty checks inside
//!   `start_send`/`start_recv` put a `SeqCst` fence before reading the other
//!   end, so they cannot see a stale end and report full/empty wrongly
//!   while a slot's stamp already says otherwise.

use core::mem::MaybeUninit;
use core::ptr;
use std::time::Instant;

use crate::atomic::{Backoff, CachePadded};
use crate::shim::atomic::{self, AtomicUsize, Ordering};
use crate::shim::UnsafeCell;

use super::super::error::{RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use super::super::waker::SyncWaker;
use super::{Token, TwoPhase};

/// One slot of the ring.
struct Slot<T> {
    /// See the module's invariants.
    stamp: AtomicUsize,
    /// Accessed only by the thread that claimed the slot's stamp.
    msg: UnsafeCell<MaybeUninit<T>>,
}

/// Which slot a two-phase operation claimed; null: the channel is closed.
#[derive(Debug)]
pub(crate) struct ArrayToken {
    slot: *const u8,
    stamp: usize,
}

impl Default for ArrayToken {
    fn default() -> Self {
        ArrayToken {
            slot: ptr::null(),
            stamp: 0,
        }
    }
}

/// A bounded channel (see the module docs).
pub(crate) struct Channel<T> {
    /// Next stamp to read. CAS'd by receivers.
    head: CachePadded<AtomicUsize>,
    /// Next stamp to write, with the closed mark. CAS'd by senders.
    tail: CachePadded<AtomicUsize>,
    buffer: Box<[Slot<T>]>,
    cap: usize,
    /// `mark_bit * 2`: one trip round the ring in stamp units.
    one_lap: usize,
    /// The closed mark in `tail`: the smallest power of two `> cap`.
    mark_bit: usize,
    /// Senders waiting for room.
    senders: SyncWaker,
    /// Receivers waiting for a message.
    receivers: SyncWaker,
}

// SAFETY: the ring moves `T`s between threads (needs `T: Send`); each slot's
// message is touched only by the one thread that claimed it (invariants).
unsafe impl<T: Send> Send for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Channel<T> {}

impl<T> Channel<T> {
    /// A channel with room for `cap >= 1` messages.
    pub(crate) fn with_capacity(cap: usize) -> Self {
        assert!(cap > 0, "capacity must be positive");
        let mark_bit = (cap + 1).next_power_of_two();
        let one_lap = mark_bit * 2;
        // Slot `i` starts writable at lap 0: stamp `i`.
        let buffer = (0..cap)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                msg: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Channel {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            buffer,
            cap,
            one_lap,
            mark_bit,
            senders: SyncWaker::new(),
            receivers: SyncWaker::new(),
        }
    }

    pub(crate) fn senders(&self) -> &SyncWaker {
        &self.senders
    }

    pub(crate) fn receivers(&self) -> &SyncWaker {
        &self.receivers
    }

    /// Phase 1 of a send: claims a slot (`true`), or reports the channel
    /// full (`false`). A closed channel "succeeds" with a null token, so that
    /// [`write`](Self::write) hands the message back.
    #[inline]
    pub(crate) fn start_send(&self, token: &mut Token) -> bool {
        let backoff = Backoff::new();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                token.array.slot = ptr::null();
                token.array.stamp = 0;
                return true;
            }
            let index = tail & (self.mark_bit - 1);
            let lap = tail & !(self.one_lap - 1);
            let new_tail = if index + 1 < self.cap {
                tail + 1
            } else {
                lap.wrapping_add(self.one_lap)
            };
            let slot = &self.buffer[index];
            // Acquire: the previous reader of this slot moved its message out.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if tail == stamp {
                // SeqCst: the change half of the waker's Dekker pair.
                match self.tail.compare_exchange_weak(
                    tail,
                    new_tail,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        token.array.slot = slot as *const Slot<T> as *const u8;
                        token.array.stamp = tail + 1;
                        return true;
                    }
                    Err(t) => {
                        tail = t;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot still holds last lap's message: full, unless the
                // head moved meanwhile. The fence keeps the head load from
                // being stale relative to the stamp we just read.
                atomic::fence(Ordering::SeqCst);
                let head = self.head.load(Ordering::Relaxed);
                if head.wrapping_add(self.one_lap) == tail {
                    return false;
                }
                backoff.spin();
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // A receiver is still moving the message out: wait for it.
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Phase 2 of a send: writes `msg` into the claimed slot.
    ///
    /// # Safety
    ///
    /// `token` was filled by a successful [`start_send`](Self::start_send)
    /// on this channel and is used once.
    #[inline]
    pub(crate) unsafe fn write(&self, token: &mut Token, msg: T) -> Result<(), T> {
        if token.array.slot.is_null() {
            return Err(msg);
        }
        // SAFETY: the caller guarantees the token points at a slot of this
        // channel that we claimed.
        let slot: &Slot<T> = unsafe { &*(token.array.slot as *const Slot<T>) };
        // SAFETY: we claimed the slot: nobody else touches its message.
        slot.msg.with_mut(|p| unsafe { (*p).write(msg) });
        // Release: publishes the message to the receiver that claims it.
        slot.stamp.store(token.array.stamp, Ordering::Release);
        self.receivers.notify();
        Ok(())
    }

    /// Phase 1 of a receive: claims a full slot (`true`), or reports the
    /// channel empty (`false`). Closed and empty "succeeds" with a null
    /// token, so that [`read`](Self::read) reports the close.
    #[inline]
    pub(crate) fn start_recv(&self, token: &mut Token) -> bool {
        let backoff = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let index = head & (self.mark_bit - 1);
            let lap = head & !(self.one_lap - 1);
            let slot = &self.buffer[index];
            // Acquire: the sender's message is visible once the stamp is.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if head + 1 == stamp {
                let new = if index + 1 < self.cap {
                    head + 1
                } else {
                    lap.wrapping_add(self.one_lap)
                };
                // SeqCst: the change half of the waker's Dekker pair.
                match self.head.compare_exchange_weak(
                    head,
                    new,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        token.array.slot = slot as *const Slot<T> as *const u8;
                        token.array.stamp = head.wrapping_add(self.one_lap);
                        return true;
                    }
                    Err(h) => {
                        head = h;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                // Not written yet: empty, unless the tail moved. Fence: as in
                // `start_send`.
                atomic::fence(Ordering::SeqCst);
                let tail = self.tail.load(Ordering::Relaxed);
                if (tail & !self.mark_bit) == head {
                    if tail & self.mark_bit != 0 {
                        token.array.slot = ptr::null();
                        token.array.stamp = 0;
                        return true;
                    }
                    return false;
                }
                backoff.spin();
                head = self.head.load(Ordering::Relaxed);
            } else {
                // A sender is still writing: wait for it.
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Phase 2 of a receive: moves the message out of the claimed slot.
    ///
    /// # Safety
    ///
    /// `token` was filled by a successful [`start_recv`](Self::start_recv)
    /// on this channel and is used once.
    #[inline]
    pub(crate) unsafe fn read(&self, token: &mut Token) -> Result<T, ()> {
        if token.array.slot.is_null() {
            return Err(());
        }
        // SAFETY: the caller guarantees the token points at a slot of this
        // channel that we claimed.
        let slot: &Slot<T> = unsafe { &*(token.array.slot as *const Slot<T>) };
        // SAFETY: we claimed the slot and its sender initialised it (stamp).
        let msg = slot.msg.with(|p| unsafe { (*p).assume_init_read() });
        // Release: the next lap's sender sees the slot emptied.
        slot.stamp.store(token.array.stamp, Ordering::Release);
        self.senders.notify();
        Ok(msg)
    }

    #[inline]
    pub(crate) fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        super::try_send(self, msg)
    }

    #[inline]
    pub(crate) fn send(
        &self,
        msg: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        super::send(self, msg, deadline)
    }

    #[inline]
    pub(crate) fn try_recv(&self) -> Result<T, TryRecvError> {
        super::try_recv(self)
    }

    #[inline]
    pub(crate) fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        super::recv(self, deadline)
    }

    /// Messages in the channel now.
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            // A consistent pair: the tail did not move while we read head.
            if self.tail.load(Ordering::SeqCst) == tail {
                let hix = head & (self.mark_bit - 1);
                let tix = tail & (self.mark_bit - 1);
                return if hix < tix {
                    tix - hix
                } else if hix > tix {
                    self.cap - hix + tix
                } else if (tail & !self.mark_bit) == head {
                    0
                } else {
                    self.cap
                };
            }
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// Closes the channel; `true` if this call closed it.
    pub(crate) fn disconnect(&self) -> bool {
        // SeqCst: a change like any other for the wakers' Dekker pairs.
        let tail = self.tail.fetch_or(self.mark_bit, Ordering::SeqCst);
        if tail & self.mark_bit == 0 {
            self.senders.disconnect();
            self.receivers.disconnect();
            true
        } else {
            false
        }
    }

    pub(crate) fn is_disconnected(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.mark_bit != 0
    }

    pub(crate) fn is_empty(&self) -> bool {
        let head = self.head.load(Ordering::SeqCst);
        let tail = self.tail.load(Ordering::SeqCst);
        (tail & !self.mark_bit) == head
    }

    pub(crate) fn is_full(&self) -> bool {
        let tail = self.tail.load(Ordering::SeqCst);
        let head = self.head.load(Ordering::SeqCst);
        head.wrapping_add(self.one_lap) == tail & !self.mark_bit
    }
}

impl<T> TwoPhase for Channel<T> {
    type Msg = T;

    super::forward_two_phase!();

    /// Senders wait for room, receivers for a message.
    fn block(&self, token: &mut Token, deadline: Option<Instant>, send: bool) -> bool {
        if send {
            super::block_on(&self.senders, token, deadline, super::reason(true), || {
                !self.is_full() || self.is_disconnected()
            })
        } else {
            super::block_on(
                &self.receivers,
                token,
                deadline,
                super::reason(false),
                || !self.is_empty() || self.is_disconnected(),
            )
        }
    }
}

impl<T> Drop for Channel<T> {
    fn drop(&mut self) {
        // The last handle is gone: drop the messages nobody received.
        // `&mut self`: no other thread can touch the ring, so plain reads
        // (Relaxed loads) suffice.
        let hix = self.head.load(Ordering::Relaxed) & (self.mark_bit - 1);
        for i in 0..self.len() {
            let index = if hix + i < self.cap {
                hix + i
            } else {
                hix + i - self.cap
            };
            // SAFETY: slots from head for `len` positions hold initialised
            // messages that nobody will read.
            self.buffer[index]
                .msg
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn stamps_wrap_round_the_ring() {
        let ch = Channel::with_capacity(3);
        for lap in 0..5 {
            for i in 0..3 {
                ch.try_send(lap * 3 + i).unwrap();
            }
            assert!(ch.is_full());
            assert_eq!(ch.len(), 3);
            assert!(matches!(ch.try_send(99), Err(TrySendError::Full(99))));
            for i in 0..3 {
                assert_eq!(ch.try_recv(), Ok(lap * 3 + i));
            }
            assert!(ch.is_empty());
        }
    }

    #[test]
    fn drop_releases_unreceived_messages() {
        let v = std::sync::Arc::new(());
        let ch = Channel::with_capacity(4);
        for _ in 0..3 {
            ch.try_send(v.clone()).unwrap();
        }
        drop(ch.try_recv());
        drop(ch);
        assert_eq!(std::sync::Arc::strong_count(&v), 1);
    }
}
