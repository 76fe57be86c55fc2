//! The per-worker run queue of goroutines that have **not started yet**: a
//! bounded ring the owning worker pushes to and pops from, and from which idle
//! workers steal half at a time.
//!
//! Only unstarted goroutines live here, because only they may move between OS
//! threads (see the runtime's module docs); a started goroutine that becomes
//! runnable goes to its home worker's private ready queue instead. The design
//! is tokio's local queue (`runtime/scheduler/multi_thread/queue.rs`), itself
//! Go's `runq` with one change that makes it sound in Rust: a stealer first
//! *claims* the slots it is about to copy, so the owner can never overwrite a
//! slot while a stealer reads it (Go's version reads racily and discards the
//! copy when its CAS fails — a data race, hence undefined behaviour, in Rust).
//!
//! ## The words
//!
//! `tail: u32` — the next slot the owner writes. Only the owner stores it.
//!
//! `head: u64` packs two `u32` positions, `(steal << 32) | real`:
//!
//! | `steal` vs `real` | meaning |
//! |---|---|
//! | `steal == real` | no steal in progress; slots `real..tail` hold goroutines |
//! | `steal != real` | one stealer owns slots `steal..real` and is copying them out; the owner and other consumers see only `real..tail` |
//!
//! Positions are free-running `u32`s (indices are `pos & MASK`); all
//! comparisons use wrapping arithmetic, and `tail - steal <= CAPACITY` always.
//!
//! ## Invariants
//!
//! - Slots `real..tail` are initialised and owned by the queue; slots
//!   `steal..real` are initialised and owned by the one stealer in progress;
//!   every other slot is uninitialised.
//! - The owner writes a slot only at `tail`, and only while
//!   `tail - steal < CAPACITY`, so it never touches a slot a stealer reads.
//! - At most one steal is in progress at a time (a stealer that finds
//!   `steal != real` gives up: the victim is already being robbed).
//!
//! ## Orderings
//!
//! - Owner `push`: writes the slot, then `tail.store(Release)`: a consumer
//!   that loads `tail` with `Acquire` and sees the new value sees the slot's
//!   contents.
//! - Every `head` CAS is `AcqRel`: `Acquire` so the consumer that claims a
//!   slot sees the writes of whoever produced it (the tail release above,
//!   carried through `head`'s modification order); `Release` so the owner,
//!   which loads `head` with `Acquire` before reusing a slot, sees that the
//!   previous reader has finished copying it out (the stealer's final CAS that
//!   sets `steal = real` comes after its reads).
//! - The owner reads its own `tail` with `Relaxed`: it is the only writer.

use core::marker::PhantomData;
use core::mem::MaybeUninit;

use crate::shim::atomic::{AtomicU32, AtomicU64, Ordering::*};
use crate::shim::{Arc, UnsafeCell};

/// Slots per ring: Go's 256; 4 under loom so that models reach the full and
/// overflow cases in a few steps.
#[cfg(not(loom))]
pub(crate) const CAPACITY: u32 = 256;
#[cfg(loom)]
pub(crate) const CAPACITY: u32 = 4;

const MASK: u32 = CAPACITY - 1;

/// The shared part: the slots and the two position words.
struct Inner<T> {
    /// `(steal << 32) | real`; see the module docs. Written by the owner's
    /// pops, by stealers, and by the owner's overflow.
    head: AtomicU64,
    /// Next slot to write. Stored only by the owner, read by stealers.
    tail: AtomicU32,
    buffer: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: the slots hold `T` values that move between threads (a stealer
// takes them out on its own thread), hence `T: Send`; every access to a slot
// is made by the one party that owns it under the invariants above, so
// sharing `&Inner` between threads never gives two threads the same slot.
unsafe impl<T: Send> Sync for Inner<T> {}
// SAFETY: as above; the `T`s inside are `Send`.
unsafe impl<T: Send> Send for Inner<T> {}

/// The owner's handle: the only one that can push and pop. `Send` (it is
/// created with the runtime and moved to its worker thread) but not `Sync`,
/// so only one thread at a time uses it.
pub(crate) struct Local<T> {
    inner: Arc<Inner<T>>,
    _not_sync: PhantomData<core::cell::Cell<()>>,
}

/// A stealer's handle: any worker may take half of the queue through it.
pub(crate) struct Steal<T>(Arc<Inner<T>>);

impl<T> Clone for Steal<T> {
    fn clone(&self) -> Self {
        Steal(self.0.clone())
    }
}

impl<T> core::fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Local")
            .field("len", &self.inner.len())
            .finish()
    }
}

impl<T> core::fmt::Debug for Steal<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Steal").field("len", &self.0.len()).finish()
    }
}

#[inline]
fn pack(steal: u32, real: u32) -> u64 {
    (u64::from(steal) << 32) | u64::from(real)
}

#[inline]
fn unpack(head: u64) -> (u32, u32) {
    ((head >> 32) as u32, head as u32)
}

/// A new empty ring: the owner's handle and a stealer's handle.
pub(crate) fn new<T>() -> (Local<T>, Steal<T>) {
    let buffer = (0..CAPACITY)
        .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
        .collect();
    let inner = Arc::new(Inner {
        head: AtomicU64::new(0),
        tail: AtomicU32::new(0),
        buffer,
    });
    (
        Local {
            inner: inner.clone(),
            _not_sync: PhantomData,
        },
        Steal(inner),
    )
}

impl<T> Inner<T> {
    /// Number of goroutines not claimed by anyone (a snapshot).
    fn len(&self) -> u32 {
        let (_, real) = unpack(self.head.load(Acquire));
        let tail = self.tail.load(Acquire);
        tail.wrapping_sub(real)
    }
}

impl<T: Send> Local<T> {
    /// Whether the ring holds nothing (a snapshot).
    pub(crate) fn is_empty(&self) -> bool {
        self.inner.len() == 0
    }

    /// Number of unclaimed goroutines (a snapshot).
    pub(crate) fn len(&self) -> u32 {
        self.inner.len()
    }

    /// Pushes `value` at the tail. When the ring is full, moves half of it
    /// plus `value` to `overflow` (the global injector) in one batch, as Go's
    /// `runqputslow` does, so that a spawning goroutine's work spreads out.
    #[inline]
    pub(crate) fn push(&self, mut value: T, overflow: &mut dyn FnMut(Vec<T>)) {
        let tail = loop {
            let head = self.inner.head.load(Acquire);
            let (steal, real) = unpack(head);
            // Relaxed: the owner is the only writer of `tail`.
            let tail = self.inner.tail.load(Relaxed);
            if tail.wrapping_sub(steal) < CAPACITY {
                break tail;
            }
            if steal != real {
                // Full, and a stealer is emptying it right now: rather than
                // wait for it, hand this one goroutine to the injector.
                overflow(vec![value]);
                return;
            }
            match self.push_overflow(value, real, tail, overflow) {
                Ok(()) => return,
                // A consumer took some in the meantime: there is room now.
                Err(v) => value = v,
            }
        };
        let idx = (tail & MASK) as usize;
        // SAFETY: slot `tail` is outside `steal..tail` (checked above against
        // `steal`, the oldest claimed position), so no consumer reads it; we
        // are the owner, the only writer of slots.
        self.inner.buffer[idx].with_mut(|slot| unsafe { (*slot).write(value) });
        self.inner.tail.store(tail.wrapping_add(1), Release);
    }

    /// Moves half the ring plus `value` to `overflow`; `Err(value)` when a
    /// consumer changed `head` first (there is room again: retry the push).
    #[cold]
    fn push_overflow(
        &self,
        value: T,
        head: u32,
        tail: u32,
        overflow: &mut dyn FnMut(Vec<T>),
    ) -> Result<(), T> {
        let n = CAPACITY / 2;
        debug_assert_eq!(
            tail.wrapping_sub(head),
            CAPACITY,
            "overflow of a ring that is not full"
        );
        let prev = pack(head, head);
        let next = pack(head.wrapping_add(n), head.wrapping_add(n));
        // AcqRel: see the module docs (claiming slots like any consumer).
        if self
            .inner
            .head
            .compare_exchange(prev, next, AcqRel, Acquire)
            .is_err()
        {
            return Err(value);
        }
        let mut batch = Vec::with_capacity(n as usize + 1);
        for i in 0..n {
            let idx = (head.wrapping_add(i) & MASK) as usize;
            // SAFETY: the CAS above moved `real` (and `steal`) past these
            // slots, so we own them, and they were initialised (`real..tail`).
            batch.push(self.inner.buffer[idx].with(|slot| unsafe { (*slot).assume_init_read() }));
        }
        batch.push(value);
        overflow(batch);
        Ok(())
    }

    /// Pops the oldest goroutine (FIFO, like Go's `runqget`).
    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        let mut head = self.inner.head.load(Acquire);
        let idx = loop {
            let (steal, real) = unpack(head);
            // Relaxed: we are the only writer of `tail`.
            let tail = self.inner.tail.load(Relaxed);
            if real == tail {
                return None;
            }
            let next_real = real.wrapping_add(1);
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                // A stealer owns `steal..real`; move only `real`.
                debug_assert_ne!(steal, next_real);
                pack(steal, next_real)
            };
            // AcqRel: see the module docs.
            match self
                .inner
                .head
                .compare_exchange(head, next, AcqRel, Acquire)
            {
                Ok(_) => break (real & MASK) as usize,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: the CAS claimed slot `real` for us; it was initialised.
        Some(self.inner.buffer[idx].with(|slot| unsafe { (*slot).assume_init_read() }))
    }

    /// Drains everything the owner can reach (for shutdown), in FIFO order.
    pub(crate) fn drain(&self) -> Vec<T> {
        let mut out = Vec::new();
        while let Some(v) = self.pop() {
            out.push(v);
        }
        out
    }
}

/// Whether a steal may take the victim's most recently pushed goroutine.
///
/// A new goroutine is pushed on its spawner's ring; Go keeps it in the
/// spawner's `runnext` slot, and a thief takes a `runnext` only after it has
/// stayed there about 3 us with its owner still running. baton does the
/// same with the newest goroutine of a ring: a thief first steals with
/// [`Leave`](Newest::Leave) and takes newest goroutines only once its
/// passes have found nothing else for a grace period
/// (`worker::RUNNEXT_GRACE`). Leaving one only shrinks a thief's claim,
/// which stays within `real..tail`: the protocol and its invariants are
/// unchanged. A parent that spawns
/// a child and then blocks on it (a channel, a join) runs the child itself,
/// so the two talk on one worker; a parent that goes on computing loses the
/// child to an idle worker a few microseconds later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Newest {
    /// Leave the newest goroutine to its owner.
    Leave,
    /// Take it too (it has waited its grace period).
    Take,
}

impl<T: Send> Steal<T> {
    /// Whether the ring looks empty (a snapshot; used before committing to a
    /// steal and by sleeping workers re-checking for work).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.len() == 0
    }

    /// Steals half of this ring into `dst` (the caller's own ring), and
    /// returns one of the stolen goroutines to run at once. `None` if there
    /// was nothing to take, another steal is in progress, or `dst` has no
    /// room for half a ring. With [`Newest::Leave`] the most recently pushed
    /// goroutine is not taken (see [`Newest`]).
    pub(crate) fn steal_into(&self, dst: &Local<T>, newest: Newest) -> Option<T> {
        // Relaxed: `dst` is ours, we are the only writer of its tail.
        let dst_tail = dst.inner.tail.load(Relaxed);
        let (dst_steal, _) = unpack(dst.inner.head.load(Acquire));
        if dst_tail.wrapping_sub(dst_steal) > CAPACITY / 2 {
            // Our own ring is over half full: we have work; don't steal.
            return None;
        }
        let mut n = self.steal_into2(dst, dst_tail, newest);
        if n == 0 {
            return None;
        }
        // Keep the last one to run now; publish the rest.
        n -= 1;
        let ret_idx = (dst_tail.wrapping_add(n) & MASK) as usize;
        // SAFETY: `steal_into2` initialised slots `dst_tail..dst_tail+n+1` of
        // our own ring, beyond its published tail, so nobody else reads them.
        let ret = dst.inner.buffer[ret_idx].with(|slot| unsafe { (*slot).assume_init_read() });
        if n > 0 {
            // Release: publishes the copied slots to consumers of `dst`.
            dst.inner.tail.store(dst_tail.wrapping_add(n), Release);
        }
        Some(ret)
    }

    /// Claims up to half of this ring (less its newest goroutine with
    /// [`Newest::Leave`]), copies it into `dst` from `dst_tail` on, releases
    /// the claim, and returns how many were copied.
    fn steal_into2(&self, dst: &Local<T>, dst_tail: u32, newest: Newest) -> u32 {
        let src = &*self.0;
        let mut prev = src.head.load(Acquire);
        let (first, n, mut next) = loop {
            let (steal, real) = unpack(prev);
            let tail = src.tail.load(Acquire);
            if steal != real {
                // Someone else is stealing from this victim.
                return 0;
            }
            // Leaving the newest only shrinks the claim `real..real+n`, which
            // stays within `real..tail`: the protocol is unchanged.
            let avail = match newest {
                Newest::Leave => tail.wrapping_sub(real).saturating_sub(1),
                Newest::Take => tail.wrapping_sub(real),
            };
            let n = avail - avail / 2;
            if n == 0 {
                return 0;
            }
            let next = pack(steal, real.wrapping_add(n));
            // AcqRel: claim the slots (Acquire: see their contents, published
            // by the owner's tail release through `head`'s history).
            match src.head.compare_exchange(prev, next, AcqRel, Acquire) {
                Ok(_) => break (real, n, next),
                Err(actual) => prev = actual,
            }
        };
        debug_assert!(n <= CAPACITY / 2, "stole more than half a ring");
        for i in 0..n {
            let src_idx = (first.wrapping_add(i) & MASK) as usize;
            let dst_idx = (dst_tail.wrapping_add(i) & MASK) as usize;
            // SAFETY: slots `first..first+n` of `src` are claimed by us (the
            // CAS above) and initialised; slots `dst_tail..` of `dst` lie past
            // its published tail and `dst` had room for half a ring (checked by
            // the caller), so no one else touches either.
            let v = src.buffer[src_idx].with(|s| unsafe { (*s).assume_init_read() });
            // SAFETY: as above.
            dst.inner.buffer[dst_idx].with_mut(|d| unsafe { (*d).write(v) });
        }
        // Release the claim: set `steal = real`. The owner may have moved
        // `real` on meanwhile, so retry with what we find.
        loop {
            let (_, real) = unpack(next);
            let done = pack(real, real);
            // AcqRel: Release so the owner, before reusing these slots, sees
            // that our reads of them are finished.
            match src.head.compare_exchange(next, done, AcqRel, Acquire) {
                Ok(_) => return n,
                Err(actual) => {
                    let (s, r) = unpack(actual);
                    debug_assert_ne!(s, r, "steal claim vanished under the stealer");
                    next = actual;
                }
            }
        }
    }
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        // Both handles are gone: no one else can touch the slots. Drop what
        // is left in `real..tail` (no steal can be in progress).
        let (_, real) = unpack(self.head.load(Acquire));
        let tail = self.tail.load(Acquire);
        let mut pos = real;
        while pos != tail {
            let idx = (pos & MASK) as usize;
            // SAFETY: `real..tail` are initialised, and we are the last owner.
            self.buffer[idx].with_mut(|slot| unsafe { (*slot).assume_init_drop() });
            pos = pos.wrapping_add(1);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_push_pop() {
        let (local, _steal) = new::<u32>();
        let mut spill = |_: Vec<u32>| panic!("no overflow expected");
        for i in 0..10 {
            local.push(i, &mut spill);
        }
        assert_eq!(local.len(), 10);
        for i in 0..10 {
            assert_eq!(local.pop(), Some(i));
        }
        assert_eq!(local.pop(), None);
    }

    #[test]
    fn overflow_moves_half_plus_one() {
        let (local, _steal) = new::<u32>();
        let mut spilled = Vec::new();
        for i in 0..=CAPACITY {
            local.push(i, &mut |b| spilled.extend(b));
        }
        assert_eq!(spilled.len() as u32, CAPACITY / 2 + 1);
        assert_eq!(spilled[0], 0);
        assert_eq!(*spilled.last().unwrap(), CAPACITY);
        assert_eq!(local.len(), CAPACITY / 2);
        assert_eq!(local.pop(), Some(CAPACITY / 2));
    }

    #[test]
    fn steal_takes_half_and_returns_one() {
        let (a, a_steal) = new::<u32>();
        let (b, _b_steal) = new::<u32>();
        let mut spill = |_: Vec<u32>| panic!("no overflow expected");
        for i in 0..10 {
            a.push(i, &mut spill);
        }
        let got = a_steal
            .steal_into(&b, Newest::Take)
            .expect("something to steal");
        assert_eq!(got, 4, "the last of the five stolen is returned");
        assert_eq!(b.len(), 4);
        assert_eq!(a.len(), 5);
        let mut rest: Vec<u32> = b.drain();
        rest.extend(a.drain());
        assert_eq!(rest, vec![0, 1, 2, 3, 5, 6, 7, 8, 9]);
    }

    #[test]
    fn steal_leaving_the_newest() {
        let (a, a_steal) = new::<u32>();
        let (b, _b_steal) = new::<u32>();
        let mut spill = |_: Vec<u32>| panic!("no overflow expected");
        a.push(0, &mut spill);
        assert_eq!(
            a_steal.steal_into(&b, Newest::Leave),
            None,
            "the only goroutine is the newest: left to its owner"
        );
        a.push(1, &mut spill);
        a.push(2, &mut spill);
        // Three, the newest left: half of the other two, rounded up.
        assert_eq!(a_steal.steal_into(&b, Newest::Leave), Some(0));
        assert_eq!(b.len(), 0);
        assert_eq!(a.drain(), vec![1, 2]);
        a.push(3, &mut spill);
        assert_eq!(
            a_steal.steal_into(&b, Newest::Take),
            Some(3),
            "once its grace is over"
        );
    }

    #[test]
    fn leftovers_are_dropped() {
        let (a, s) = new::<Box<u32>>();
        for i in 0..5 {
            a.push(Box::new(i), &mut |_| {});
        }
        drop(a);
        drop(s);
    }

    #[test]
    fn concurrent_steals_lose_and_duplicate_nothing() {
        use std::sync::atomic::AtomicBool;
        let (owner, steal) = new::<u32>();
        const N: u32 = 100_000;
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let thieves: Vec<_> = (0..2)
            .map(|_| {
                let steal = steal.clone();
                let done = done.clone();
                std::thread::spawn(move || {
                    let (mine, _) = new::<u32>();
                    let mut got = Vec::new();
                    while !done.load(SeqCst) || !steal.is_empty() {
                        if let Some(v) = steal.steal_into(&mine, Newest::Take) {
                            got.push(v);
                        }
                        got.extend(mine.drain());
                    }
                    got
                })
            })
            .collect();
        let mut seen = Vec::new();
        for i in 0..N {
            owner.push(i, &mut |b| seen.extend(b));
            if i % 3 == 0 {
                seen.extend(owner.pop());
            }
        }
        seen.extend(owner.drain());
        done.store(true, SeqCst);
        for t in thieves {
            seen.extend(t.join().unwrap());
        }
        seen.extend(owner.drain());
        seen.sort_unstable();
        assert_eq!(seen.len() as u32, N);
        assert!(seen.iter().enumerate().all(|(i, v)| i as u32 == *v));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::thread;

    /// The owner pushes past capacity (overflow) and pops, while a thief
    /// steals: every value ends up exactly once in one of the three places.
    #[test]
    fn loom_ring_push_pop_steal() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(2);
        b.check(|| {
            let (owner, steal) = new::<usize>();
            let thief = thread::spawn(move || {
                let (mine, _) = new::<usize>();
                let mut got = Vec::new();
                got.extend(steal.steal_into(&mine, Newest::Take));
                got.extend(mine.drain());
                got
            });
            let mut seen = Vec::new();
            for i in 0..(CAPACITY as usize + 2) {
                owner.push(i, &mut |b| seen.extend(b));
            }
            seen.extend(owner.pop());
            seen.extend(thief.join().unwrap());
            seen.extend(owner.drain());
            seen.sort_unstable();
            assert_eq!(seen, (0..CAPACITY as usize + 2).collect::<Vec<_>>());
        });
    }

    /// A thief that leaves the newest races the owner's pushes and pops:
    /// it never takes the goroutine that was newest when it claimed, and
    /// nothing is lost or taken twice.
    #[test]
    fn loom_ring_steal_leaves_newest() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(2);
        b.check(|| {
            let (owner, steal) = new::<usize>();
            owner.push(0, &mut |_| unreachable!());
            owner.push(1, &mut |_| unreachable!());
            let thief = thread::spawn(move || {
                let (mine, _) = new::<usize>();
                let mut got: Vec<usize> =
                    steal.steal_into(&mine, Newest::Leave).into_iter().collect();
                got.extend(mine.drain());
                got
            });
            owner.push(2, &mut |_| unreachable!());
            let mut seen: Vec<usize> = owner.pop().into_iter().collect();
            let stolen = thief.join().unwrap();
            assert!(!stolen.contains(&2), "took the newest: {stolen:?}");
            assert!(stolen.len() <= 1, "more than half of two: {stolen:?}");
            seen.extend(stolen);
            seen.extend(owner.drain());
            seen.sort_unstable();
            assert_eq!(seen, vec![0, 1, 2]);
        });
    }

    /// Two thieves race for the same victim while the owner pops.
    #[test]
    fn loom_ring_two_thieves() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(2);
        b.check(|| {
            let (owner, steal) = new::<usize>();
            for i in 0..3 {
                owner.push(i, &mut |_| unreachable!());
            }
            let thieves: Vec<_> = (0..2)
                .map(|_| {
                    let steal = steal.clone();
                    thread::spawn(move || {
                        let (mine, _) = new::<usize>();
                        let mut got: Vec<usize> =
                            steal.steal_into(&mine, Newest::Take).into_iter().collect();
                        got.extend(mine.drain());
                        got
                    })
                })
                .collect();
            let mut seen: Vec<usize> = owner.pop().into_iter().collect();
            for t in thieves {
                seen.extend(t.join().unwrap());
            }
            seen.extend(owner.drain());
            seen.sort_unstable();
            assert_eq!(seen, vec![0, 1, 2]);
        });
    }
}
