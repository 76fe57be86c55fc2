//! Wakers: the lists of operations blocked on one side of a channel.
//!
//! A [`Waker`] holds *selectors* (blocked operations that a counterpart can
//! complete: a sender waiting for room, a receiver waiting for a message)
//! and *observers* (a `Select::ready` that only wants to hear that the side
//! may be ready). [`SyncWaker`] puts a waker under a spin lock with an
//! `is_empty` flag, so the common case (nobody waiting) costs one load.
//!
//! # No lost wake-up (the Dekker pair)
//!
//! A waiter (1) registers, which stores `is_empty = false`, then (2)
//! re-checks the channel's condition and aborts if it holds. A notifier
//! (1) changes the channel (a `SeqCst` RMW on the channel's head or tail),
//! then (2) loads `is_empty`. All four accesses are `SeqCst`, so in their
//! single total order either the waiter's re-check sees the change, or the
//! notifier's load sees `false` and takes the lock, where it finds the
//! entry. (Under loom, which does not order `SeqCst` accesses totally,
//! `shim::seqcst_fence_under_loom` between each side's two steps supplies
//! that order, as loom does model `SeqCst` fences.)
//!
//! # Wakes outside the lock
//!
//! Selecting an entry happens under the lock (a CAS on its waiter); the
//! unpark is delivered after the lock is released, through the entry's own
//! reference to the waiter, so no syscall runs under the spin lock. The
//! waiter may meanwhile have noticed its selection while spinning and
//! moved on; the late unpark then leaves a token, which the park contract
//! allows (a spurious wake later).

use crate::shim::atomic::{AtomicBool, Ordering};
use crate::shim::{self, Arc};

use super::lock::SpinMutex;
use super::waiter::{Operation, Selected, Waiter, WaiterState};

/// One blocked operation.
pub(crate) struct Entry {
    /// The operation's id.
    pub(crate) oper: Operation,
    /// Optional packet (rendezvous channels), handed to the selector.
    pub(crate) packet: *mut (),
    /// The waiter's waiter.
    pub(crate) cx: Arc<WaiterState>,
}

// SAFETY: `packet` is an opaque address that only the flavour that made it
// dereferences, under its own protocol (zero.rs); the rest is Send + Sync.
unsafe impl Send for Entry {}

/// Operations blocked on one side of a channel (see the module docs).
#[derive(Default)]
pub(crate) struct Waker {
    selectors: Vec<Entry>,
    observers: Vec<Entry>,
    /// Selectors ever registered (wrapping): a side whose readiness is
    /// "a counterpart's selector is waiting" (rendezvous) becomes ready
    /// only through a registration, so this is that side's version for
    /// select's snapshot (`flavors::Probe`). Guarded by the waker's lock.
    registered: u64,
}

impl Waker {
    /// Registers a selector.
    #[inline]
    pub(crate) fn register(&mut self, oper: Operation, cx: &Waiter) {
        self.register_with_packet(oper, core::ptr::null_mut(), cx);
    }

    /// Registers a selector with a packet for whoever selects it.
    #[inline]
    pub(crate) fn register_with_packet(&mut self, oper: Operation, packet: *mut (), cx: &Waiter) {
        self.registered = self.registered.wrapping_add(1);
        self.selectors.push(Entry {
            oper,
            packet,
            cx: cx.shared().clone(),
        });
    }

    /// Removes the selector `oper`, if still there.
    #[inline]
    pub(crate) fn unregister(&mut self, oper: Operation) -> Option<Entry> {
        let i = self.selectors.iter().position(|e| e.oper == oper)?;
        Some(self.selectors.remove(i))
    }

    /// Selects the longest-waiting selector that is not `except` and whose
    /// waiter is still waiting; hands it its packet. The caller unparks the
    /// returned entry (`entry.cx.unpark()`) after releasing the lock.
    #[inline]
    pub(crate) fn try_select(&mut self, except: Option<&Waiter>) -> Option<Entry> {
        let i = self.selectors.iter().position(|e| {
            !except.is_some_and(|cx| cx.is(&e.cx))
                && e.cx.try_select(Selected::Operation(e.oper)).is_ok()
        })?;
        let entry = self.selectors.remove(i);
        entry.cx.store_packet(entry.packet);
        Some(entry)
    }

    /// How many selectors were ever registered (see `registered`).
    #[inline]
    pub(crate) fn registered(&self) -> u64 {
        self.registered
    }

    /// Whether some selector other than `except` could be selected now.
    #[inline]
    pub(crate) fn can_select(&self, except: Option<&Waiter>) -> bool {
        self.selectors
            .iter()
            .any(|e| !except.is_some_and(|cx| cx.is(&e.cx)) && e.cx.is_waiting())
    }

    /// Registers an observer (`Select::ready`).
    pub(crate) fn watch(&mut self, oper: Operation, cx: &Waiter) {
        self.observers.push(Entry {
            oper,
            packet: core::ptr::null_mut(),
            cx: cx.shared().clone(),
        });
    }

    /// Removes the observer `oper`.
    pub(crate) fn unwatch(&mut self, oper: Operation) {
        self.observers.retain(|e| e.oper != oper);
    }

    /// Selects every observer (they only learn "maybe ready"); returns the
    /// ones to unpark.
    ///
    /// Usually there are none: the check is inlined into every blocking
    /// operation and the drain kept out of line (see [`unpark_all`]).
    #[inline(always)]
    pub(crate) fn notify_observers(&mut self, woken: &mut Vec<Arc<WaiterState>>) {
        if !self.observers.is_empty() {
            self.notify_observers_slow(woken);
        }
    }

    #[inline(never)]
    fn notify_observers_slow(&mut self, woken: &mut Vec<Arc<WaiterState>>) {
        for e in self.observers.drain(..) {
            if e.cx.try_select(Selected::Operation(e.oper)).is_ok() {
                woken.push(e.cx);
            }
        }
    }

    /// The channel closed: every selector gets `Closed`, every
    /// observer a wake; returns the waiters to unpark.
    ///
    /// An entry with a packet (a rendezvous operation) stays until its
    /// owner unregisters it: the owner learns from that whether the packet
    /// is its own to free. An entry without one needs nothing from its
    /// owner's `unregister` (which then finds nothing, and every caller
    /// of a packet-less waker ignores that), so it is taken out here: N
    /// waiters woken by one close would otherwise each search and shift
    /// an N-long list as they leave, quadratic in N (10k goroutines
    /// blocked on a context's done channel took about 10 us each to wake).
    pub(crate) fn close(&mut self, woken: &mut Vec<Arc<WaiterState>>) {
        self.selectors.retain(|e| {
            if e.cx.try_select(Selected::Closed).is_ok() {
                woken.push(e.cx.clone());
            }
            !e.packet.is_null()
        });
        self.notify_observers(woken);
    }

    /// Selects every selector with its own operation (a timer channel was
    /// reset: waiters re-evaluate) and every observer.
    fn select_all(&mut self, woken: &mut Vec<Arc<WaiterState>>) {
        for e in self.selectors.drain(..) {
            if e.cx.try_select(Selected::Operation(e.oper)).is_ok() {
                woken.push(e.cx);
            }
        }
        self.notify_observers(woken);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.selectors.is_empty() && self.observers.is_empty()
    }
}

/// Unparks each waiter (after the lock is released).
///
/// `inline(always)` with the loop out of line: the list is empty on every
/// hop of a rendezvous ping-pong, and as a plain `#[inline]` function the
/// compiler kept it a call (32 instructions per round trip in callgrind on
/// the lab's one-worker `baton-chan` pingpong, issue 15).
#[inline(always)]
pub(crate) fn unpark_all(woken: Vec<Arc<WaiterState>>) {
    if !woken.is_empty() {
        unpark_each(woken);
    }
}

#[inline(never)]
fn unpark_each(woken: Vec<Arc<WaiterState>>) {
    for cx in woken {
        cx.unpark();
    }
}

/// A [`Waker`] under a spin lock, with a lock-free emptiness flag.
pub(crate) struct SyncWaker {
    inner: SpinMutex<Waker>,
    /// `true` iff `inner` has no entries; written under the lock, read
    /// without it (see the module docs).
    is_empty: AtomicBool,
}

impl SyncWaker {
    pub(crate) fn new() -> Self {
        SyncWaker {
            inner: SpinMutex::new(Waker::default()),
            is_empty: AtomicBool::new(true),
        }
    }

    /// Registers a selector (step 1 of the waiter's side of the Dekker
    /// pair; the caller re-checks its condition after this).
    pub(crate) fn register(&self, oper: Operation, cx: &Waiter) {
        let mut inner = self.inner.lock();
        inner.register(oper, cx);
        // SeqCst: the waiter's half of the Dekker pair (module docs).
        self.is_empty.store(false, Ordering::SeqCst);
        drop(inner);
        shim::seqcst_fence_under_loom();
    }

    /// Removes the selector `oper`.
    pub(crate) fn unregister(&self, oper: Operation) -> Option<Entry> {
        let mut inner = self.inner.lock();
        let entry = inner.unregister(oper);
        self.is_empty.store(inner.is_empty(), Ordering::SeqCst);
        entry
    }

    /// Wakes one selector and every observer, if there are any (step 2 of
    /// the notifier's side: call after the change is made).
    #[inline]
    pub(crate) fn notify(&self) {
        shim::seqcst_fence_under_loom();
        // SeqCst: the notifier's half of the Dekker pair (module docs).
        if !self.is_empty.load(Ordering::SeqCst) {
            self.notify_slow();
        }
    }

    #[cold]
    fn notify_slow(&self) {
        // The selected waiter apart from the observers: a `Vec` would cost
        // an allocation on every wake-up of a blocked sender or receiver
        // (`Vec::new` allocates only at its first push, and observers are
        // rare).
        let mut selected = None;
        let mut observers = Vec::new();
        let mut inner = self.inner.lock();
        if !self.is_empty.load(Ordering::SeqCst) {
            selected = inner.try_select(None).map(|entry| entry.cx);
            inner.notify_observers(&mut observers);
            self.is_empty.store(inner.is_empty(), Ordering::SeqCst);
        }
        drop(inner);
        if let Some(cx) = selected {
            cx.unpark();
        }
        unpark_all(observers);
    }

    /// Whether anyone is registered (one load; a hint, for passing a
    /// wake-up on: see the array flavour's `pass_on`).
    #[inline]
    pub(crate) fn is_waiting(&self) -> bool {
        !self.is_empty.load(Ordering::SeqCst)
    }

    /// Registers an observer.
    pub(crate) fn watch(&self, oper: Operation, cx: &Waiter) {
        let mut inner = self.inner.lock();
        inner.watch(oper, cx);
        self.is_empty.store(false, Ordering::SeqCst);
        drop(inner);
        shim::seqcst_fence_under_loom();
    }

    /// Removes the observer `oper`.
    pub(crate) fn unwatch(&self, oper: Operation) {
        let mut inner = self.inner.lock();
        inner.unwatch(oper);
        self.is_empty.store(inner.is_empty(), Ordering::SeqCst);
    }

    /// The channel closed: wakes everyone with `Closed`.
    pub(crate) fn close(&self) {
        let mut woken = Vec::new();
        let mut inner = self.inner.lock();
        inner.close(&mut woken);
        self.is_empty.store(inner.is_empty(), Ordering::SeqCst);
        drop(inner);
        unpark_all(woken);
    }

    /// Wakes every waiter to re-evaluate (timer channels).
    pub(crate) fn select_all(&self) {
        let mut woken = Vec::new();
        let mut inner = self.inner.lock();
        inner.select_all(&mut woken);
        self.is_empty.store(inner.is_empty(), Ordering::SeqCst);
        drop(inner);
        unpark_all(woken);
    }
}

impl core::fmt::Debug for SyncWaker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SyncWaker")
            .field("is_empty", &self.is_empty.load(Ordering::Relaxed))
            .finish()
    }
}

#[cfg(all(test, not(loom)))]
mod regress_tests {
    use super::super::waiter::{Operation, Waiter};
    use super::Waker;

    /// The close used to leave every entry in place for its owner's
    /// `unregister`, a linear search and shift each: N waiters woken by one
    /// close cost O(N^2) (10k goroutines blocked on a context's done
    /// channel took about 10 us each to wake). Entries without a packet now
    /// leave at the close; those with one stay for their owners.
    #[test]
    fn regress_close_takes_packetless_waiters_out() {
        Waiter::with(|cx| {
            let mut w = Waker::default();
            let (mut a, mut b, mut c) = (0u8, 0u8, 0u8);
            let mut packet = 0u8;
            w.register(Operation::hook(&mut a), cx);
            w.register_with_packet(
                Operation::hook(&mut b),
                &mut packet as *mut u8 as *mut (),
                cx,
            );
            w.register(Operation::hook(&mut c), cx);
            let mut woken = Vec::new();
            w.close(&mut woken);
            assert_eq!(woken.len(), 1, "one context, selected once");
            assert!(
                w.unregister(Operation::hook(&mut a)).is_none(),
                "a packet-less entry leaves at the close"
            );
            assert!(w.unregister(Operation::hook(&mut c)).is_none());
            assert!(
                w.unregister(Operation::hook(&mut b)).is_some(),
                "an entry with a packet stays for its owner"
            );
            assert!(w.is_empty());
        });
    }
}
