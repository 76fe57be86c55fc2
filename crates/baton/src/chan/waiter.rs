//! [`Waiter`]: one blocked operation's rendezvous point (a `select` with
//! many arms, or a plain `send`/`recv` with one), shared between the
//! blocked thread or goroutine and whoever wakes it. (Go's `sudog` plays
//! this part; `waiter` means this type throughout `chan`.)
//!
//! A blocked operation registers `(operation id, packet, waiter state)` entries in the
//! wakers of every channel it waits on (`waker.rs`), then parks. A channel
//! that can complete one of those operations *selects* it by moving the
//! waiter's `select` word from `WAITING` to the operation's id with one
//! CAS: whoever wins the CAS owns the waiter's outcome, so a `select`
//! waiting on many channels is completed by exactly one of them. The waiter
//! itself moves the word to `ABORTED` (timeout, or a channel became ready
//! while it was registering) with the same CAS, so a late selector can
//! never complete an operation the waiter gave up on.
//!
//! # State table of `select` (a `usize`)
//!
//! | value            | meaning                                                   |
//! |------------------|-----------------------------------------------------------|
//! | `WAITING` (0)    | not selected yet; selectors may CAS it                    |
//! | `ABORTED` (1)    | the waiter gave up (timeout, or retry after registering)  |
//! | `CLOSED` (2)     | a channel it waits on was closed                          |
//! | any other `op`   | the operation whose id is `op` was selected               |
//!
//! Operation ids are addresses of the waiter's live stack slots (its token,
//! or its slice of select handles), hence unique among live operations and
//! never 0, 1 or 2. Once the word leaves `WAITING` it never changes again
//! during that wait.
//!
//! # Orderings
//!
//! The selecting CAS is `AcqRel` and the waiter's load of the word is
//! `Acquire`: what the selector wrote before (a packet pointer, a message
//! in a rendezvous packet the waiter is about to read) is visible to the
//! waiter once it sees the selection. The packet pointer itself is published
//! with `Release` and read with `Acquire` ([`Waiter::wait_packet`]), since a
//! select learns it only after the CAS.
//!
//! # Spin, then park
//!
//! A waiting **thread** spins a little, then yields its time slice a number
//! of times, before it parks (the policy and its numbers are
//! `park::spin::ChanSpin`: the yields stop after a few tens of microseconds,
//! so a busy machine cannot stretch them into milliseconds); a
//! waiting **goroutine** never spins, because the
//! goroutine it waits for may need the very worker it would spin on.
//!
//! # Reuse
//!
//! Each wait needs a fresh waiter (selectors keep a reference to it until
//! they have unparked its owner). Outside loom a small per-thread pool keeps
//! finished waiters that nobody else references any more, so a blocking
//! operation normally allocates nothing. A goroutine uses the pool of its
//! worker thread only within one wait, which starts and ends on that thread
//! (goroutines never migrate), so no waiter is ever shared by two waits.
//! A pooled waiter whose unparker already wakes the caller is preferred and
//! reused untouched; it is found by comparing addresses (`Unparker::key`
//! against `Parker::key`, one dynamic call per wait), not by asking the park
//! hook about each entry.
//!
//! # What a rendezvous round trip costs (issue 15)
//!
//! Instruction counts (callgrind, so the busy shared machine does not blur
//! them) of two goroutines bouncing a value over two rendezvous channels
//! on one worker: 1,823 instructions per round trip before, 1,765 after
//! the waker's empty checks were inlined (`waker::unpark_all`,
//! `Waker::notify_observers`), 1,711 after the key match above, 1,699
//! once the zero-capacity flavour's `send` and `recv` stopped building a
//! whole `Token` (two `memcpy` calls per receive). The lab's
//! `may` row (raw park/unpark, no channel) runs about 1,000 per round trip
//! in the same measurement. Where the rest goes, per round trip (two
//! blocking operations, two paired ones, two switches each way): the
//! zero-capacity channel's send and receive bodies about 450, the worker
//! loop and `resume` about 440 (the context switch itself about 40), the
//! waiter's `new`/`recycle` about 210, the wait-reason labels about 100
//! (four dynamic calls), the park seam about 170. No single piece
//! dominates; the remaining locked instructions per hop (the channel's
//! lock, the selecting CAS, the `Arc<WaiterState>` clone and drop, the
//! park word's swap and CAS) are each needed by the protocol as it stands.
//! The netpoll hooks cost about 3 instructions per round in a process
//! without sockets. In the lab itself (`baton-lab child --experiment
//! goroutines --case pingpong --impl baton-chan --threads 1`, callgrind,
//! the difference of a 0.3 s and a 1.0 s run divided by the difference in
//! round trips): 1,871 instructions per round trip before all three steps,
//! 1,741 after; `may` 997. The one-worker `ring` (`--case ring --impl
//! baton-chan`, 10k goroutines): 927 instructions per hop before, 861
//! after (cachegrind's simulated L1 data misses 23.3 and 21.5 per hop);
//! `may` 523. CPU time (`perf stat -e task-clock`, interleaved runs of the
//! two builds, busy machine): pingpong 273-277 ns per round trip before,
//! 259-261 after, `may` 215-218 in the same runs (0.83x `may`). The
//! ring's task-clock per hop could not be compared: it includes the
//! setup of 10k goroutines, divided by a hop count that shrinks whenever
//! the busy machine deschedules the run, and pairs of runs differed by
//! up to 2x in either direction.

use core::fmt;
use core::ptr;
use std::time::Instant;

pub(crate) use crate::park::spin::ChanSpin as Spin;
use crate::park::{Parker, Unparker};
#[cfg(not(loom))]
use crate::shim;
use crate::shim::atomic::{AtomicPtr, AtomicUsize, Ordering};
use crate::shim::Arc;

/// An identifier of one blocked operation (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Operation(usize);

impl Operation {
    /// The id of the operation whose state lives at `r` (the waiter's token
    /// or select handle), unique while `r` is alive.
    #[inline]
    pub(crate) fn hook<T>(r: &mut T) -> Self {
        let val = r as *mut T as usize;
        // Addresses of stack slots are never this small.
        assert!(val > CLOSED, "operation id collides with a state");
        Operation(val)
    }
}

/// The state of a [`Waiter`]'s `select` word (see the module's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Selected {
    Waiting,
    Aborted,
    Closed,
    Operation(Operation),
}

const WAITING: usize = 0;
const ABORTED: usize = 1;
const CLOSED: usize = 2;

impl From<usize> for Selected {
    #[inline]
    fn from(val: usize) -> Self {
        match val {
            WAITING => Selected::Waiting,
            ABORTED => Selected::Aborted,
            CLOSED => Selected::Closed,
            op => Selected::Operation(Operation(op)),
        }
    }
}

impl From<Selected> for usize {
    #[inline]
    fn from(s: Selected) -> usize {
        match s {
            Selected::Waiting => WAITING,
            Selected::Aborted => ABORTED,
            Selected::Closed => CLOSED,
            Selected::Operation(Operation(op)) => op,
        }
    }
}

/// The part of a [`Waiter`] that selectors hold (in waker entries).
pub(crate) struct WaiterState {
    /// See the module's state table. CAS'd by selectors and the waiter.
    select: AtomicUsize,
    /// A packet handed over by the selector (rendezvous channels); null
    /// until then. Written by the selector, read by the waiter.
    packet: AtomicPtr<()>,
    /// Wakes the waiter. Set while the waiter is exclusively owned.
    unparker: Unparker,
    /// `unparker.key()`, set with it: what the pool matches a new waiter
    /// against (a plain compare instead of a dynamic call per entry).
    #[cfg(not(loom))]
    key: usize,
}

impl WaiterState {
    /// Tries to move `WAITING` to `sel`; on failure returns what it was.
    #[inline]
    pub(crate) fn try_select(&self, sel: Selected) -> Result<(), Selected> {
        // AcqRel: Release publishes what the selector did before (see the
        // module docs); Acquire (also on failure) lets a losing selector see
        // the winner's outcome consistently.
        self.select
            .compare_exchange(WAITING, sel.into(), Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(Selected::from)
    }

    /// Whether the waiter is still waiting (a probe: only the CAS in
    /// [`try_select`](Self::try_select) decides).
    #[inline]
    pub(crate) fn is_waiting(&self) -> bool {
        self.select.load(Ordering::Relaxed) == WAITING
    }

    /// Hands `packet` to the waiter (after a successful selection).
    #[inline]
    pub(crate) fn store_packet(&self, packet: *mut ()) {
        if !packet.is_null() {
            // Release: the waiter reads through the pointer after Acquire.
            self.packet.store(packet, Ordering::Release);
        }
    }

    /// Wakes the waiter (a token if it is not parked yet).
    #[inline]
    pub(crate) fn unpark(&self) {
        self.unparker.unpark();
    }
}

impl fmt::Debug for WaiterState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter")
            .field(
                "select",
                &Selected::from(self.select.load(Ordering::Relaxed)),
            )
            .finish_non_exhaustive()
    }
}

/// A [`Waiter`] for one wait: its [`WaiterState`] plus the waiter's own
/// parker. Tied to the waiting thread or goroutine.
pub(crate) struct Waiter {
    shared: Arc<WaiterState>,
    parker: Parker,
}

#[cfg(not(loom))]
shim::thread_local! {
    /// Finished waiters of this thread, for reuse (see the module docs).
    static POOL: core::cell::RefCell<Vec<Arc<WaiterState>>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// Contexts kept per thread; more than a few would only be needed by deep
/// recursion through blocking calls.
#[cfg(not(loom))]
const POOL_SIZE: usize = 4;

impl Waiter {
    /// Runs `f` with a fresh waiter for the caller.
    #[inline]
    pub(crate) fn with<R>(f: impl FnOnce(&Waiter) -> R) -> R {
        let cx = Waiter::new();
        let r = f(&cx);
        cx.recycle();
        r
    }

    fn new() -> Waiter {
        let parker = Parker::current();
        #[cfg(not(loom))]
        let key = parker.key();
        #[cfg(not(loom))]
        if key != 0 {
            // First choice: a pooled state whose unparker already wakes the
            // caller (a goroutine's previous wait on this worker, or this
            // thread's). It is used as it is: no handle cloned, none
            // dropped, no `get_mut` (three locked read-modify-writes of
            // shared counters per wait, about 8% of a one-worker
            // ping-pong's profile). Only the pool holds it: `recycle`
            // checked that no selector does, with an acquire fence after.
            // Matched by key (see `Unparker::key`): a dynamic call per
            // entry cost 32 instructions per round trip (issue 15).
            let mine = POOL
                .try_with(|p| {
                    let mut p = p.borrow_mut();
                    let i = p.iter().rposition(|s| s.key == key)?;
                    Some(p.swap_remove(i))
                })
                .ok()
                .flatten();
            if let Some(shared) = mine {
                // Relaxed: the state reaches selectors only through a
                // channel's lock (the waker entry), which publishes these.
                shared.select.store(WAITING, Ordering::Relaxed);
                shared.packet.store(ptr::null_mut(), Ordering::Relaxed);
                return Waiter { shared, parker };
            }
        }
        let unparker = parker.unparker();
        #[cfg(not(loom))]
        {
            let reused = POOL.try_with(|p| p.borrow_mut().pop()).ok().flatten();
            if let Some(mut shared) = reused {
                if let Some(s) = Arc::get_mut(&mut shared) {
                    // Exclusively ours (checked when it was pooled, and
                    // nobody can have cloned it since).
                    s.select = AtomicUsize::new(WAITING);
                    s.packet = AtomicPtr::new(ptr::null_mut());
                    s.key = unparker.key();
                    s.unparker = unparker;
                    return Waiter { shared, parker };
                }
            }
        }
        Waiter {
            shared: Arc::new(WaiterState {
                select: AtomicUsize::new(WAITING),
                packet: AtomicPtr::new(ptr::null_mut()),
                #[cfg(not(loom))]
                key: unparker.key(),
                unparker,
            }),
            parker,
        }
    }

    /// Puts the waiter back in the pool if no selector still holds it.
    fn recycle(self) {
        #[cfg(not(loom))]
        {
            let shared = self.shared;
            // Two plain loads instead of `Arc::get_mut` (a locked
            // compare-and-swap): with one strong and no weak reference,
            // ours is the only handle and nobody can make another.
            // `Waiter::new` still goes through `get_mut`, whose acquiring
            // load orders the last selector's drop before our reuse.
            if Arc::strong_count(&shared) == 1 && Arc::weak_count(&shared) == 0 {
                // Acquire: pairs with the releasing decrement of the last
                // selector's clone (the count our load read), so that its
                // writes to the state (the selecting CAS, the packet)
                // happen before `new` resets and reuses it without
                // `get_mut`.
                shim::atomic::fence(Ordering::Acquire);
                let _ = POOL.try_with(|p| {
                    let mut p = p.borrow_mut();
                    if p.len() < POOL_SIZE {
                        p.push(shared);
                    }
                });
            }
        }
    }

    /// The part to put in waker entries.
    #[inline]
    pub(crate) fn shared(&self) -> &Arc<WaiterState> {
        &self.shared
    }

    /// Whether `other` is this waiter's state.
    #[inline]
    pub(crate) fn is(&self, other: &WaiterState) -> bool {
        ptr::eq(&*self.shared, other)
    }

    /// See [`WaiterState::try_select`].
    #[inline]
    pub(crate) fn try_select(&self, sel: Selected) -> Result<(), Selected> {
        self.shared.try_select(sel)
    }

    /// The current selection.
    #[inline]
    pub(crate) fn selected(&self) -> Selected {
        // Acquire: see the module docs.
        Selected::from(self.shared.select.load(Ordering::Acquire))
    }

    /// Waits for the packet a selector hands over after selecting us.
    ///
    /// Bounded, and never waiting for a parked goroutine: the selector
    /// stores the packet right after its selecting CAS, in the same critical
    /// section of the channel's spin lock (`Waker::try_select`), and nothing
    /// in such a section parks or yields to the scheduler. So the selector
    /// is running (or preempted by the OS, on another thread; a goroutine
    /// cannot be switched out mid-section) and finishes within a few
    /// instructions; the `snooze` yields the time slice in case the OS
    /// preempted it.
    pub(crate) fn wait_packet(&self) -> *mut () {
        let backoff = crate::atomic::Backoff::new();
        loop {
            // Acquire: pairs with `store_packet`.
            let packet = self.shared.packet.load(Ordering::Acquire);
            if !packet.is_null() {
                return packet;
            }
            backoff.snooze();
        }
    }

    /// Waits, after this waiter was selected, until `done()` holds: spins
    /// briefly (a thread only, see [`Spin`]), then parks. Whoever makes
    /// `done()` true must unpark this waiter's owner *after* doing so
    /// (every pairer in `zero.rs` does, through the waiter's unparker), so
    /// no wake-up is lost: a wake that came before the park is kept as a
    /// token, and each return from `park` re-checks `done()`.
    pub(crate) fn wait_done(&self, done: impl FnMut() -> bool) {
        wait_done(&self.parker, done);
    }
}

/// As [`Waiter::wait_done`], with the caller's own `parker` (a wait after
/// the waiter is gone, e.g. a select reading the packet of its chosen arm).
///
/// It never waits by spinning alone: the other side may be a goroutine
/// parked, or queued on the very worker we run on, and only a park lets it
/// run (item 2 of issue 10); and on a busy machine a yield-only wait hands
/// whole time slices to unrelated programs (the rendezvous collapse, issue
/// 10 item 0c).
pub(crate) fn wait_done(parker: &Parker, mut done: impl FnMut() -> bool) {
    if done() {
        return;
    }
    let mut spin = Spin::new(None);
    while !done() {
        if !spin.next() {
            parker.park();
        }
    }
}

impl Waiter {
    /// Waits until an operation is selected or `deadline` passes (then
    /// aborts, unless a selector won the race). A thread spins first.
    ///
    /// Returns `Aborted` only because of the deadline (or because the
    /// caller aborted before calling): callers treat it as "time is up, try
    /// once more and give up", never looping on the clock, so loom models
    /// with deadlines terminate.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> Selected {
        if self.parker.is_thread() {
            let sel = self.spin(deadline);
            if sel != Selected::Waiting {
                return sel;
            }
        }
        loop {
            let sel = self.selected();
            if sel != Selected::Waiting {
                return sel;
            }
            match deadline {
                None => self.parker.park(),
                Some(d) => {
                    // `park_deadline` reporting a time-out means the deadline
                    // passed (under loom, which has no clock, it is how the
                    // model explores time-outs).
                    if Instant::now() >= d || self.parker.park_deadline(d) {
                        return match self.try_select(Selected::Aborted) {
                            Ok(()) => Selected::Aborted,
                            Err(s) => s,
                        };
                    }
                }
            }
        }
    }

    /// Spins (see [`Spin`]) until selected; `Waiting` if it gave up.
    fn spin(&self, deadline: Option<Instant>) -> Selected {
        let mut spin = Spin::new(deadline);
        loop {
            let sel = self.selected();
            if sel != Selected::Waiting || !spin.next() {
                return sel;
            }
        }
    }
}

impl fmt::Debug for Waiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn state_of(w: &Waiter) -> *const WaiterState {
        Arc::as_ptr(w.shared())
    }

    /// Every waiter's handle wakes whoever waits, however it was obtained
    /// (fresh, reused as it is, or reused with a new handle).
    fn assert_wakes_caller(w: &Waiter) {
        assert!(
            w.shared().unparker.is_current(),
            "a waiter's unparker must wake the waiting thread or goroutine"
        );
        assert_eq!(
            w.selected(),
            Selected::Waiting,
            "a reused state starts waiting"
        );
        assert!(w.shared().packet.load(Ordering::Relaxed).is_null());
    }

    #[test]
    fn a_thread_reuses_its_waiter_unless_a_selector_holds_it() {
        let first = Waiter::with(|w| {
            assert_wakes_caller(w);
            // Dirty it, as a completed wait does.
            w.try_select(Selected::Closed).unwrap();
            state_of(w)
        });
        let held = Waiter::with(|w| {
            assert_wakes_caller(w);
            assert_eq!(state_of(w), first, "the pooled state was not reused");
            // A selector's waker entry still holds it past the wait.
            w.shared().clone()
        });
        Waiter::with(|w| {
            assert_wakes_caller(w);
            assert_ne!(
                state_of(w),
                Arc::as_ptr(&held),
                "a state a selector still holds was reused"
            );
        });
        drop(held);
    }

    /// Two goroutines waiting in turn on one worker share its pool: each
    /// must get a state whose handle wakes itself, never the other's.
    #[test]
    fn goroutines_on_one_worker_never_take_each_others_waiter() {
        let rt = crate::runtime::Builder::new().workers(1).build();
        rt.run(|| {
            let (tx, rx) = crate::chan::rendezvous::<u32>();
            let other = crate::go(move || {
                for _ in 0..3 {
                    Waiter::with(assert_wakes_caller);
                    tx.send(1).unwrap();
                }
            });
            for _ in 0..3 {
                Waiter::with(assert_wakes_caller);
                assert_eq!(rx.recv().unwrap(), 1);
            }
            other.join().unwrap();
            let a = Waiter::with(state_of);
            let b = Waiter::with(state_of);
            assert_eq!(a, b, "a goroutine's second wait did not reuse its state");
            // The pool finds a goroutine's own state by key: the key of the
            // caller's parker must be that of the handles it hands out
            // (`0` would make every lookup miss).
            let key = Parker::current().key();
            assert_ne!(key, 0, "the goroutine hook gave no key");
            assert_eq!(key, Waiter::with(|w| w.shared().unparker.key()));
        });
    }
}
