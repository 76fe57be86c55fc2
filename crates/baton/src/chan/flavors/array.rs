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
//! - A claimed slot may be *abandoned* (a selected send dropped or unwound
//!   before it wrote): its sender stores `(t + 1) | mark_bit` — *poisoned*,
//!   "written with nothing". A receiver that reaches a poisoned slot claims
//!   it like a full one and releases it (`h + one_lap`) without reading, so
//!   the lap advances and nothing waits on it. A slot whose send was
//!   *forgotten* (`mem::forget` of the operation) keeps stamp `t` forever,
//!   and nothing ever reads its uninitialised message: `Drop` and the
//!   receivers' discard only touch slots whose stamp says *written* (`t +
//!   1`).
//! - A claimed slot whose other phase has not come yet blocks the ring at
//!   that point: receivers cannot pass a slot whose send is claimed and
//!   not written (they read in claim order), senders cannot reuse a slot
//!   whose receive is claimed and not complete. The phase may never come
//!   (forgotten) or wait for a parked goroutine (user code runs between a
//!   select's phases), so the other side spins only briefly there, then
//!   reports empty/full; the readiness checks (`probe`, `is_ready`) say
//!   "not ready" in exactly those states, so a blocking operation parks
//!   until the write or release notifies it — with a timeout as a safety
//!   net (see "Stalled slots" below). A wake-up that reaches a waiter
//!   which then finds the ring blocked at an earlier slot is passed on
//!   once that slot completes (`pass_on`).
//! - When the last receiver goes, the buffered messages are dropped (nobody
//!   can receive them); a send still in flight then is dropped with the
//!   channel.
//!
//! | part of a stamp | bits                         | meaning                        |
//! |-----------------|------------------------------|--------------------------------|
//! | index           | `0 .. log2(mark_bit)`        | slot position, `< cap`         |
//! | mark            | `mark_bit`                   | closed (in `tail`); poisoned (in a slot's stamp) |
//! | lap             | `one_lap ..` (the rest)      | trips round the ring (wraps)   |
//!
//! # Stalled slots
//!
//! A waiter (blocking `send`/`recv`, or a select arm) registers with its
//! side's waker and re-checks (`recheck`) before it parks; a notifier
//! changes the channel, then looks at the waker's `is_empty` flag
//! (`waker.rs`). That Dekker pair needs the change to be `SeqCst` (a
//! StoreLoad barrier between the change and the flag's load). Two kinds of
//! change end a wait:
//!
//! - *The ends move*: a send's CAS on `tail` ends an empty wait, a
//!   receive's CAS on `head` a full one. Those CASes are `SeqCst`, and the
//!   re-check loads the ends (`SeqCst`) after registering, so: if it saw
//!   the ends say empty (`tail == head`) or full (`head + one_lap ==
//!   tail`), the CAS that changes that comes later in the `SeqCst` order,
//!   and so does its operation's notify (program order after the CAS), which
//!   therefore sees the registration and wakes the waiter. No lost wake-up,
//!   no timeout: the regular empty/full wait is exact.
//! - *A stalled slot completes*: the ends already say "a message" (or
//!   "room"), but the slot at the waiter's end was claimed and its write
//!   (or release) has not come yet — the send of a select stalled between
//!   its phases, or forgotten. What ends this wait is the slot's stamp
//!   store in `write`/`read`/the abandons, which is only `Release`:
//!   making it `SeqCst` would cost every operation a locked instruction
//!   (on x86) to help a rare corner. So the writer's flag load may be
//!   ordered before its stamp store (the store buffer) and miss a waiter
//!   whose re-check missed the stamp: a lost wake-up. Only a waiter whose
//!   re-check found such a stalled slot is exposed, and it knows it:
//!   `recheck` reports it, and that waiter parks with a timeout (50 µs,
//!   doubling per nap up to 3.2 ms; a select gets it through
//!   `deadline`), then tries again. A wake-up lost to the race costs at
//!   most one nap, never a hang, and a forgotten send costs the waiters
//!   on it a few hundred wake-ups a second, not a spin. (A waiter whose
//!   re-check saw the ends say empty/full is in the first case even if a
//!   slot stalls afterwards: the CAS that claimed that slot notifies it,
//!   after which its retry finds the stall and naps.)
//!
//! The notifier needs no fence and no extra flag: a flag "someone waits
//! on a stalled slot" checked by the writer would itself need the StoreLoad
//! barrier this avoids. Under loom a timed park does not block (no clock)
//! and explores "timed out": the blocking loops yield after each park so
//! that a model terminates, and a select gets no nap there (`deadline`).
//!
//! # Orderings
//!
//! - Slot stamps: the claimer's load is `Acquire` and the store after the
//!   access is `Release`, so a receiver sees the message its sender wrote,
//!   and a sender writing a slot one lap later sees that the previous
//!   message was moved out. Not `SeqCst`: see "Stalled slots".
//! - Head/tail CASes are `SeqCst`, as are the loads in `probe`:
//!   they are the "change" half of the waker's Dekker pair (`waker.rs`),
//!   which keeps a waiter that registers while the channel changes from
//!   sleeping through the change. The full/empty checks inside
//!   `start_send`/`start_recv` put a `SeqCst` fence before reading the other
//!   end, so they cannot see a stale end and report full/empty wrongly
//!   while a slot's stamp already says otherwise.

use core::mem::{self, MaybeUninit};
use core::ptr;
use std::time::{Duration, Instant};

use crate::atomic::{Backoff, CachePadded};
use crate::park;
use crate::shim::atomic::{self, AtomicU32, AtomicUsize, Ordering};
use crate::shim::UnsafeCell;

use super::super::error::{RecvTimeoutError, SendTimeoutError};
use super::super::waiter::{Operation, Selected, Spin, Waiter};
use super::super::waker::SyncWaker;
use super::{Flavor, Probe, Token};

/// The first timed nap of a waiter held up by a stalled slot (module docs,
/// "Stalled slots").
#[cfg(not(loom))]
const FIRST_NAP: Duration = Duration::from_micros(50);
/// Under loom, an hour: a nap deadline a few microseconds away would be
/// passed in a slow iteration and not in a fast one, so `wait_until` would
/// branch on the clock and loom's replay would diverge ("Is the model
/// fully deterministic?", seen in CI). Loom's timed park still reports
/// "timed out" on every path without a wake-up, so the nap's expiry is
/// explored all the same.
#[cfg(loom)]
const FIRST_NAP: Duration = Duration::from_secs(3600);
/// `LAST_NAP = FIRST_NAP << LAST_NAP_SHIFT`.
const LAST_NAP_SHIFT: u32 = 6;
/// The longest timed nap (3.2 ms; under loom, 64 hours): the naps double
/// up to it.
const LAST_NAP: Duration = FIRST_NAP.saturating_mul(1 << LAST_NAP_SHIFT);

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
    /// How many timed naps selects took on this channel because of a
    /// stalled slot ([`deadline`](Flavor::deadline)); sets the next nap's
    /// length. Never on the hot path.
    select_naps: AtomicU32,
}

// SAFETY: the ring moves `T`s between threads (needs `T: Send`); each slot's
// message is touched only by the one thread that claimed it (invariants).
unsafe impl<T: Send> Send for Channel<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Channel<T> {}

impl<T> Channel<T> {
    /// A channel with room for `cap >= 1` messages.
    ///
    /// # Panics
    ///
    /// If `cap` is out of range: its stamps would not fit a word, or its
    /// ring would not fit the address space (Go: "makechan: size out of
    /// range"). Checked in release builds too, before any arithmetic can
    /// overflow.
    pub(crate) fn with_capacity(cap: usize) -> Self {
        assert!(cap > 0, "capacity must be positive");
        let Some(one_lap) = Self::one_lap_for(cap) else {
            panic!(
                "baton::chan::bounded: capacity {cap} out of range \
                 (Go: makechan: size out of range); at most {} for this message type",
                Self::max_capacity()
            );
        };
        let mark_bit = one_lap / 2;
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
            select_naps: AtomicU32::new(0),
        }
    }

    /// `one_lap` for a ring of `cap` slots, or `None` when `cap` is out of
    /// range: the stamps need `index`, `mark` and at least two laps' worth
    /// of `lap` bits, and the ring must fit in `isize::MAX` bytes.
    fn one_lap_for(cap: usize) -> Option<usize> {
        let mark_bit = cap.checked_add(1)?.checked_next_power_of_two()?;
        let one_lap = mark_bit.checked_mul(2)?;
        // Room for the lap to count at least 0, 1, 2, 3 before it wraps.
        one_lap.checked_mul(2)?;
        let bytes = cap.checked_mul(mem::size_of::<Slot<T>>())?;
        (bytes <= isize::MAX as usize).then_some(one_lap)
    }

    /// The largest capacity [`one_lap_for`](Self::one_lap_for) accepts
    /// (for the panic message).
    fn max_capacity() -> usize {
        let by_stamps = usize::MAX / 8;
        let by_bytes = isize::MAX as usize / mem::size_of::<Slot<T>>().max(1);
        by_stamps.min(by_bytes)
    }

    /// The waker of the send side (`send`: senders waiting for room) or of
    /// the receive side.
    #[inline]
    fn waker(&self, send: bool) -> &SyncWaker {
        if send {
            &self.senders
        } else {
            &self.receivers
        }
    }

    /// The stamp one slot after `stamp` (the next lap's first slot after
    /// the last).
    fn next_stamp(&self, stamp: usize) -> usize {
        let index = stamp & (self.mark_bit - 1);
        if index + 1 < self.cap {
            stamp + 1
        } else {
            (stamp & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// Drops the messages in the slots from stamp `pos` up to `end` whose
    /// stamps say *written*; the rest (claimed but never written,
    /// poisoned) hold nothing. If a message's `Drop` panics, the others
    /// are still dropped (a guard carries on while unwinding; a second
    /// panic aborts, as for a `Vec`).
    ///
    /// Only for the channel's own `Drop` (no other thread can touch it).
    fn drop_messages(&self, mut pos: usize, end: usize) {
        while pos != end {
            let slot = &self.buffer[pos & (self.mark_bit - 1)];
            let written = slot.stamp.load(Ordering::Relaxed) == pos + 1;
            pos = self.next_stamp(pos);
            if written {
                let rest = DropRest {
                    chan: self,
                    pos,
                    end,
                };
                // SAFETY: the stamp says the message was written and not
                // read; nobody else can touch the ring any more.
                slot.msg.with_mut(|p| unsafe { (*p).assume_init_drop() });
                mem::forget(rest);
            }
        }
    }

    /// Whether a receiver at `head` whose slot has `stamp` has nothing to
    /// read there yet: the slot was not written in `head`'s lap (`stamp ==
    /// head`: empty, or its send claimed and not written), or last lap's
    /// receive of it has not released it (so no send can have written
    /// it). A stale `head` (the slot already read in this lap) is not
    /// waiting: the caller reloads `head`.
    #[inline]
    fn recv_must_wait(&self, head: usize, stamp: usize) -> bool {
        stamp == head || (stamp & !self.mark_bit).wrapping_add(self.one_lap) == head + 1
    }

    /// Whether a sender at `tail` (without the mark) whose slot has
    /// `stamp` finds no room there yet: last lap's message (or its poison)
    /// is not released, or last lap's send claimed the slot and has not
    /// written it. A stale `tail` (the slot already claimed in this lap) is
    /// not waiting: the caller reloads `tail`.
    #[inline]
    fn send_must_wait(&self, tail: usize, stamp: usize) -> bool {
        (stamp & !self.mark_bit).wrapping_add(self.one_lap) == tail + 1
            || stamp.wrapping_add(self.one_lap) == tail
    }

    /// Passes a wake-up on after a `write` (`send`: to another waiting
    /// sender) or a `read` (to another waiting receiver), when the next
    /// slot on that side is ready too.
    ///
    /// A wake-up can be absorbed: a write to slot `k + 1` wakes a receiver
    /// that then finds slot `k` (at `head`) claimed and not written yet, so
    /// it parks again. When slot `k` is written, its wake-up reaches one
    /// receiver, which takes `k`; the value in `k + 1` would then wait with
    /// every other receiver asleep. So whoever completes an operation wakes
    /// one more of its own side if the next slot is ready; each wake-up
    /// then either takes a value or passes the chain on. Senders likewise,
    /// when a receive stalled between its phases held up the slot at
    /// `tail`. Costs one load when nobody waits.
    #[inline]
    fn pass_on(&self, send: bool) {
        let waker = self.waker(send);
        if waker.is_waiting() && self.probe(send) == Probe::Ready {
            waker.notify();
        }
    }

    /// What a waiter's re-check (after registering with the side's waker)
    /// finds: whether the side is ready ([`probe`](Flavor::probe)), and if
    /// not, whether a *stalled slot* is what holds it up — the ends say
    /// there is a message (`tail` past `head`) or room (`head` past `tail`
    /// one lap back), but the slot at the waiter's end has not been written
    /// or released yet. Only then does the wake-up depend on a slot-stamp
    /// store (`Release`, outside the waker's Dekker pair), so only then
    /// must the waiter park with a timeout (module docs, "Stalled
    /// slots"). The end loaded last is `SeqCst`, after the probe's `SeqCst`
    /// loads: the waiter's re-check in the Dekker pair with the CAS of the
    /// operation that would end the wait.
    fn recheck(&self, send: bool) -> (bool, bool) {
        if self.probe(send) == Probe::Ready {
            return (true, false);
        }
        crate::shim::seqcst_fence_under_loom();
        let tail = self.tail.load(Ordering::SeqCst);
        let head = self.head.load(Ordering::SeqCst);
        let ends_say_waiting = if send {
            head.wrapping_add(self.one_lap) == tail & !self.mark_bit
        } else {
            tail & !self.mark_bit == head
        };
        (false, !ends_say_waiting)
    }

    /// Registers `token`'s operation on the side's waker, re-checks
    /// ([`recheck`](Self::recheck)) and parks until a notifier picks it,
    /// `deadline` passes, the channel closes, or — while a stalled slot
    /// holds the side up — `nap` passes (then `nap` doubles, up to
    /// [`LAST_NAP`]). The caller tries again either way and checks its own
    /// deadline.
    #[cold]
    fn block(&self, send: bool, token: &mut Token, deadline: Option<Instant>, nap: &mut Duration) {
        let _why = park::wait_reason(super::reason(send));
        let waker = self.waker(send);
        Waiter::with(|cx| {
            let oper = Operation::hook(token);
            waker.register(oper, cx);
            let (ready, stalled) = self.recheck(send);
            if ready {
                let _ = cx.try_select(Selected::Aborted);
            }
            let mut wake = deadline;
            if stalled {
                if let Some(at) = Instant::now().checked_add(*nap) {
                    wake = Some(deadline.map_or(at, |d| d.min(at)));
                }
                *nap = (*nap * 2).min(LAST_NAP);
            }
            match cx.wait_until(wake) {
                Selected::Waiting => unreachable!("wait_until returned while waiting"),
                Selected::Aborted | Selected::Closed => {
                    waker.unregister(oper);
                }
                // A notifier selected and removed our entry.
                Selected::Operation(_) => {}
            }
        });
        // Under loom a timed park does not block (no clock): let the other
        // threads run before we try again, or the model would spin.
        #[cfg(loom)]
        crate::shim::yield_now();
    }

    #[cfg(all(test, not(loom)))]
    fn is_empty(&self) -> bool {
        let head = self.head.load(Ordering::SeqCst);
        let tail = self.tail.load(Ordering::SeqCst);
        (tail & !self.mark_bit) == head
    }

    #[cfg(all(test, not(loom)))]
    fn is_full(&self) -> bool {
        let tail = self.tail.load(Ordering::SeqCst);
        let head = self.head.load(Ordering::SeqCst);
        head.wrapping_add(self.one_lap) == tail & !self.mark_bit
    }
}

impl<T> Flavor for Channel<T> {
    type Msg = T;

    /// Phase 1 of a send: claims a slot (`true`), or reports the channel
    /// full (`false`). A closed channel "succeeds" with a null token, so that
    /// [`write`](Self::write) hands the message back.
    #[inline]
    fn start_send(&self, token: &mut Token) -> bool {
        let backoff = Backoff::new();
        let stalled = Backoff::new();
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
            } else if self.send_must_wait(tail, stamp) {
                // No room at `tail` yet: the slot still holds last lap's
                // message (or its poison, which a receiver has yet to
                // skip), or last lap's send claimed it and has not written
                // it. Full, unless the head moved meanwhile (the fence
                // keeps the head load from being stale relative to the
                // stamp we just read).
                atomic::fence(Ordering::SeqCst);
                let head = self.head.load(Ordering::Relaxed);
                if head.wrapping_add(self.one_lap) == tail {
                    return false;
                }
                // The head moved past the slot: its receive was claimed
                // and is not complete. It may be stalled between its
                // phases (user code runs there, maybe a parked goroutine)
                // or forgotten, so spin only briefly, then report full:
                // a blocking send parks until that receive releases the
                // slot (`read` notifies senders), never spins on it.
                // (No spin under loom: it would only let the model run the
                // stalled side, never reaching the park it must check.)
                if cfg!(loom) || stalled.spin_is_completed() {
                    return false;
                }
                stalled.spin();
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // A stale `tail`: another sender claimed this slot.
                backoff.spin();
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
    unsafe fn write(&self, token: &mut Token, msg: T) -> Result<(), T> {
        if token.array.slot.is_null() {
            return Err(msg);
        }
        // SAFETY: the caller guarantees the token points at a slot of this
        // channel that we claimed.
        let slot: &Slot<T> = unsafe { &*(token.array.slot as *const Slot<T>) };
        // SAFETY: we claimed the slot: nobody else touches its message.
        slot.msg.with_mut(|p| unsafe { (*p).write(msg) });
        // Release: publishes the message to the receiver that claims it.
        // Only Release (no StoreLoad barrier on the hot path): a receiver
        // that parks on this stamp does so with a timeout (module docs,
        // "Stalled slots").
        slot.stamp.store(token.array.stamp, Ordering::Release);
        self.receivers.notify();
        self.pass_on(true);
        Ok(())
    }

    /// Phase 1 of a receive: claims a full slot (`true`), or reports the
    /// channel empty (`false`). Closed and empty "succeeds" with a null
    /// token, so that [`read`](Self::read) reports the close.
    #[inline]
    fn start_recv(&self, token: &mut Token) -> bool {
        let backoff = Backoff::new();
        let stalled = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let index = head & (self.mark_bit - 1);
            let lap = head & !(self.one_lap - 1);
            let slot = &self.buffer[index];
            // Acquire: the sender's message is visible once the stamp is.
            let stamp = slot.stamp.load(Ordering::Acquire);
            let new = if index + 1 < self.cap {
                head + 1
            } else {
                lap.wrapping_add(self.one_lap)
            };
            if head + 1 == stamp {
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
            } else if (head + 1) | self.mark_bit == stamp {
                // Poisoned by an abandoned send: claim it like a full slot
                // and release it at once, with nothing to read.
                match self.head.compare_exchange_weak(
                    head,
                    new,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // Release: as `read`'s store (the next lap's sender
                        // may write the slot).
                        slot.stamp
                            .store(head.wrapping_add(self.one_lap), Ordering::Release);
                        self.senders.notify();
                        head = new;
                    }
                    Err(h) => {
                        head = h;
                        backoff.spin();
                    }
                }
            } else if self.recv_must_wait(head, stamp) {
                // Nothing to read at `head` yet: the slot was not written in
                // this lap (or last lap's receive has not released it, so
                // it cannot have been). Empty, unless the tail moved. Fence:
                // as in `start_send`.
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
                // The tail moved past the slot: its send was claimed and
                // has not written yet. It may be stalled between its phases
                // (user code runs there, maybe a parked goroutine) or
                // forgotten, so spin only briefly, then report empty: a
                // send takes effect at its write (module docs of `chan`),
                // and a blocking receive parks until it comes (`write`
                // notifies receivers), never spins on it.
                // (No spin under loom: it would only let the model run the
                // stalled side, never reaching the park it must check.)
                if cfg!(loom) || stalled.spin_is_completed() {
                    return false;
                }
                stalled.spin();
                head = self.head.load(Ordering::Relaxed);
            } else {
                // A stale `head`: another receiver took this slot.
                backoff.spin();
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
    unsafe fn read(&self, token: &mut Token) -> Result<T, ()> {
        if token.array.slot.is_null() {
            return Err(());
        }
        // SAFETY: the caller guarantees the token points at a slot of this
        // channel that we claimed.
        let slot: &Slot<T> = unsafe { &*(token.array.slot as *const Slot<T>) };
        // SAFETY: we claimed the slot and its sender initialised it (stamp).
        let msg = slot.msg.with(|p| unsafe { (*p).assume_init_read() });
        // Release: the next lap's sender sees the slot emptied. Only
        // Release: as in `write` (module docs, "Stalled slots").
        slot.stamp.store(token.array.stamp, Ordering::Release);
        self.senders.notify();
        self.pass_on(false);
        Ok(msg)
    }

    /// Gives up a send claimed by [`start_send`](Self::start_send) that
    /// will never write (its `SelectedOperation` was dropped, or unwound):
    /// poisons the slot so that receivers skip it (module invariants).
    ///
    /// # Safety
    ///
    /// As [`write`](Self::write): the token is used once, by this call
    /// instead of `write`.
    unsafe fn abandon_send(&self, token: &mut Token) {
        if token.array.slot.is_null() {
            return;
        }
        // SAFETY: as in `write`.
        let slot: &Slot<T> = unsafe { &*(token.array.slot as *const Slot<T>) };
        // Release: orders our claim before the receiver's skip, as a write.
        slot.stamp
            .store(token.array.stamp | self.mark_bit, Ordering::Release);
        token.array.slot = ptr::null();
        self.receivers.notify();
    }

    /// Gives up a receive claimed by [`start_recv`](Self::start_recv): the
    /// claimed message is dropped and the slot released, as if it had been
    /// received and dropped.
    ///
    /// # Safety
    ///
    /// As [`read`](Self::read).
    unsafe fn abandon_recv(&self, token: &mut Token) {
        // SAFETY: the caller's contract is `read`'s.
        drop(unsafe { self.read(token) });
    }

    /// Senders wait for room, parked on `senders` (with a timeout while a
    /// stalled slot holds them up: module docs, "Stalled slots").
    #[inline]
    fn send(&self, msg: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let token = &mut Token::default();
        let mut nap = FIRST_NAP;
        loop {
            let mut spin = Spin::new(deadline);
            loop {
                if self.start_send(token) {
                    // SAFETY: just claimed.
                    return unsafe { self.write(token, msg) }.map_err(SendTimeoutError::Closed);
                }
                if !spin.next() {
                    break;
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(SendTimeoutError::Timeout(msg));
            }
            self.block(true, token, deadline, &mut nap);
        }
    }

    /// Receivers wait for a message, parked on `receivers` (with a
    /// timeout while a stalled slot holds them up: module docs, "Stalled
    /// slots").
    #[inline]
    fn recv(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let token = &mut Token::default();
        let mut nap = FIRST_NAP;
        loop {
            let mut spin = Spin::new(deadline);
            loop {
                if self.start_recv(token) {
                    // SAFETY: just claimed.
                    return unsafe { self.read(token) }.map_err(|()| RecvTimeoutError::Closed);
                }
                if !spin.next() {
                    break;
                }
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(RecvTimeoutError::Timeout);
            }
            self.block(false, token, deadline, &mut nap);
        }
    }

    fn register(&self, oper: Operation, cx: &Waiter, send: bool) -> bool {
        self.waker(send).register(oper, cx);
        self.is_ready(send)
    }

    fn unregister(&self, oper: Operation, send: bool) {
        self.waker(send).unregister(oper);
    }

    /// Room to send, or a message to receive; or closed. `SeqCst` loads:
    /// the waiter's re-check in the wakers' Dekker pair.
    fn is_ready(&self, send: bool) -> bool {
        self.probe(send) == Probe::Ready
    }

    /// The receive side is not ready while the slot at `head` has nothing
    /// to read (`recv_must_wait`: empty, or its send claimed and not
    /// written yet) and the channel is not closed and empty; the send side
    /// while the slot at `tail` has no room (`send_must_wait`: last lap's
    /// message, poison or send still there, or its receive claimed and not
    /// complete) and the channel is open. These are exactly the states in
    /// which `start_recv`/`start_send` report empty/full (after their
    /// short spin), so a waiter's re-check agrees with its try and a
    /// blocking operation parks instead of spinning.
    ///
    /// Versions: `head + tail` for the receive side, `tail` for the send
    /// side. Both only grow (as numbers: the index, then the lap; the mark
    /// on close). A slot's stamp only moves forward (claimed, written,
    /// released), and the receive side becomes ready only by a write to
    /// the slot at `head` (which then stays written until a receiver moves
    /// `head`), a poison there, or a close (`tail`'s mark); the send side
    /// only by the release of the slot at `tail` (which stays free until a
    /// sender moves `tail`) or a close. So two "not ready" probes with one
    /// version saw the same slot not ready both times, and it was not in
    /// between. (A stamp wraps only after `usize::MAX / one_lap` laps.)
    /// `SeqCst` loads: the waiter's re-check in the wakers' Dekker pair
    /// (against the `SeqCst` CASes on the ends; the `Release` stamp stores
    /// are covered by the timed naps of "Stalled slots" in the module
    /// docs).
    fn probe(&self, send: bool) -> Probe {
        if send {
            let tail = self.tail.load(Ordering::SeqCst);
            crate::shim::seqcst_fence_under_loom();
            let slot = &self.buffer[tail & (self.mark_bit - 1)];
            let stamp = slot.stamp.load(Ordering::SeqCst);
            if tail & self.mark_bit == 0 && self.send_must_wait(tail, stamp) {
                Probe::NotReady(tail as u64)
            } else {
                Probe::Ready
            }
        } else {
            let head = self.head.load(Ordering::SeqCst);
            crate::shim::seqcst_fence_under_loom();
            let slot = &self.buffer[head & (self.mark_bit - 1)];
            let stamp = slot.stamp.load(Ordering::SeqCst);
            crate::shim::seqcst_fence_under_loom();
            let tail = self.tail.load(Ordering::SeqCst);
            let closed_and_empty = tail & self.mark_bit != 0 && tail & !self.mark_bit == head;
            if self.recv_must_wait(head, stamp) && !closed_and_empty {
                Probe::NotReady((head as u64).wrapping_add(tail as u64))
            } else {
                Probe::Ready
            }
        }
    }

    /// While a stalled slot holds up either side, a time a little ahead:
    /// a select waiting on this channel (registered by now: `select/run.rs`
    /// calls this after registering) then wakes by then and tries again,
    /// the safety net of module docs' "Stalled slots" (a wake-up lost to
    /// the `Release` stamp stores costs at most that delay). The delay
    /// doubles per call, per channel, from [`FIRST_NAP`] to [`LAST_NAP`],
    /// so that a select on a channel whose send was forgotten does not
    /// wake at a high rate forever, and starts again from [`FIRST_NAP`]
    /// once a select finds no stall. Either side stalled counts (the trait
    /// does not say which side the arm is on): at worst a spurious retry.
    ///
    /// Under loom: `None` (a timed park does not block there, so a select
    /// would spin without end); the models cover the plain operations'
    /// timed parks.
    fn deadline(&self) -> Option<Instant> {
        if cfg!(loom) {
            return None;
        }
        if !self.recheck(true).1 && !self.recheck(false).1 {
            // No stall (any more): the next one starts from the first nap
            // again. (Loaded first, so that selects on a healthy channel
            // do not all write this line.)
            if self.select_naps.load(Ordering::Relaxed) != 0 {
                self.select_naps.store(0, Ordering::Relaxed);
            }
            return None;
        }
        // Relaxed: only a heuristic for the length of the nap.
        let naps = self.select_naps.fetch_add(1, Ordering::Relaxed);
        let nap = FIRST_NAP * (1 << naps.min(LAST_NAP_SHIFT));
        Instant::now().checked_add(nap)
    }

    fn watch(&self, oper: Operation, cx: &Waiter, send: bool) -> bool {
        self.waker(send).watch(oper, cx);
        self.is_ready(send)
    }

    fn unwatch(&self, oper: Operation, send: bool) {
        self.waker(send).unwatch(oper);
    }

    /// Closes the channel; `true` if this call closed it.
    fn close(&self) -> bool {
        // SeqCst: a change like any other for the wakers' Dekker pairs.
        let tail = self.tail.fetch_or(self.mark_bit, Ordering::SeqCst);
        if tail & self.mark_bit == 0 {
            self.senders.close();
            self.receivers.close();
            true
        } else {
            false
        }
    }

    /// The last receiver is gone: closes the channel and drops the buffered
    /// messages, which nobody can receive any more. Stops at a slot still
    /// being written (or whose send was forgotten): what is left there and
    /// after it is dropped with the channel.
    fn close_receivers(&self) {
        self.close();
        // No receiver is left to race with: we are the only one moving
        // `head`. Senders can no longer claim (the mark is set).
        let tail = self.tail.load(Ordering::SeqCst) & !self.mark_bit;
        let mut head = self.head.load(Ordering::SeqCst);
        while head != tail {
            let slot = &self.buffer[head & (self.mark_bit - 1)];
            // Acquire: the sender's message is visible once the stamp is.
            let stamp = slot.stamp.load(Ordering::Acquire);
            let written = stamp == head + 1;
            if !written && stamp != (head + 1) | self.mark_bit {
                break;
            }
            let next = self.next_stamp(head);
            // Move the head first: if the message's `Drop` panics, the
            // channel's own drop takes the rest and not this one again.
            self.head.store(next, Ordering::SeqCst);
            if written {
                // SAFETY: written (stamp), and ours: no receiver is left and
                // the head has moved past it.
                slot.msg.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
            // Release: the slot is empty again (as `read`).
            slot.stamp
                .store(head.wrapping_add(self.one_lap), Ordering::Release);
            head = next;
        }
    }

    fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.mark_bit != 0
    }

    /// Messages in the channel now.
    fn len(&self) -> usize {
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

    fn capacity(&self) -> Option<usize> {
        Some(self.cap)
    }
}

impl<T> Drop for Channel<T> {
    fn drop(&mut self) {
        // The last handle is gone: drop the messages nobody received.
        // `&mut self`: no other thread can touch the ring, so plain reads
        // (Relaxed loads) suffice. Only slots whose stamp says *written*
        // hold a message: a send may have been claimed and abandoned.
        let head = self.head.load(Ordering::Relaxed);
        let tail = self.tail.load(Ordering::Relaxed) & !self.mark_bit;
        self.drop_messages(head, tail);
    }
}

/// Carries on dropping a channel's messages from `pos` when one message's
/// `Drop` panicked (see [`Channel::drop_messages`]).
struct DropRest<'a, T> {
    chan: &'a Channel<T>,
    pos: usize,
    end: usize,
}

impl<T> Drop for DropRest<'_, T> {
    fn drop(&mut self) {
        self.chan.drop_messages(self.pos, self.end);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::chan::TrySendError;

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

    /// Only a wait held up by a stalled slot is classified as one (and so
    /// gets the timed nap); the regular empty/full waits are not, so they
    /// keep the exact CAS-paired protocol (module docs, "Stalled slots").
    #[test]
    fn recheck_tells_a_stalled_slot_from_empty_and_full() {
        let ch = Channel::with_capacity(2);
        assert_eq!(ch.recheck(false), (false, false), "empty: a regular wait");
        assert_eq!(ch.recheck(true), (true, false), "room to send");
        assert_eq!(ch.deadline(), None);
        // A send claimed and not written: the tail moved, the stamp did not.
        let mut send = Token::default();
        assert!(ch.start_send(&mut send));
        assert_eq!(ch.recheck(false), (false, true), "stalled send");
        assert!(ch.deadline().is_some(), "a select gets a nap");
        assert!(!ch.start_recv(&mut Token::default()));
        // SAFETY: claimed above, used once.
        unsafe { ch.write(&mut send, 1) }.unwrap();
        assert_eq!(ch.recheck(false), (true, false));
        assert_eq!(ch.deadline(), None);
        ch.try_send(2).unwrap();
        assert_eq!(ch.recheck(true), (false, false), "full: a regular wait");
        // A receive claimed and not read: the head moved, the stamp did not.
        let mut recv = Token::default();
        assert!(ch.start_recv(&mut recv));
        assert_eq!(ch.recheck(true), (false, true), "stalled receive");
        assert!(ch.deadline().is_some());
        // SAFETY: claimed above, used once.
        assert_eq!(unsafe { ch.read(&mut recv) }, Ok(1));
        assert_eq!(ch.recheck(true), (true, false));
        assert_eq!(ch.deadline(), None);
    }

    /// Selected sends that stall between their phases (a yield), with
    /// more threads than cores on both sides of a small ring: blocked
    /// receivers (and selects blocked for room) wait on stalled slots
    /// over and over, with the `Release` stamp stores; every value must
    /// arrive exactly once, and no receiver may be stranded (a lost
    /// wake-up the nap failed to cover would time the `recv_timeout` out;
    /// its 10 s only guards against a hang).
    #[test]
    fn stalled_sends_never_strand_blocked_receivers() {
        use crate::chan::{bounded, RecvTimeoutError, Select};
        use std::time::Duration;
        const SENDERS: u32 = 4;
        const PER: u32 = 500;
        let (tx, rx) = bounded::<u32>(2);
        let senders: Vec<_> = (0..SENDERS)
            .map(|s| {
                let tx = tx.clone();
                std::thread::spawn(move || {
                    for i in 0..PER {
                        let mut sel = Select::new();
                        sel.send(&tx);
                        let op = sel.select();
                        if i % 2 == 0 {
                            std::thread::yield_now();
                        }
                        op.send(&tx, s * PER + i).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        let receivers: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        match rx.recv_timeout(Duration::from_secs(10)) {
                            Ok(v) => got.push(v),
                            Err(RecvTimeoutError::Closed) => return got,
                            Err(RecvTimeoutError::Timeout) => {
                                panic!("a receiver was stranded: no value for 10 s")
                            }
                        }
                    }
                })
            })
            .collect();
        drop(rx);
        for t in senders {
            t.join().unwrap();
        }
        let mut all: Vec<u32> = receivers
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..SENDERS * PER).collect::<Vec<_>>());
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
