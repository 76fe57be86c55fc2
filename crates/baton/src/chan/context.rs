//! [`Context`]: one blocked operation's rendezvous point (a `select` with
//! many arms, or a plain `send`/`recv` with one), shared between the waiter
//! and whoever wakes it.
//!
//! A waiter registers `(operation id, packet, context)` entries in the
//! wakers of every channel it waits on (`waker.rs`), then parks. A channel
//! that can complete one of those operations *selects* it by moving the
//! context's `select` word from `WAITING` to the operation's id with one
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
//! | `DISCONNECTED` (2)| a channel it waits on was closed                         |
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
//! with `Release` and read with `Acquire` ([`Context::wait_packet`]), since a
//! select learns it only after the CAS.
//!
//! # Spin, then park
//!
//! A waiting **thread** spins a little, then yields its time slice a number
//! of times, before it parks (see [`SPIN_STEPS`], [`YIELD_STEPS`] and
//! [`YIELD_BUDGET`]: the yields stop after a few tens of microseconds, so a
//! busy machine cannot stretch them into milliseconds); a
//! waiting **goroutine** never spins, because the
//! goroutine it waits for may need the very worker it would spin on.
//!
//! # Reuse
//!
//! Each wait needs a fresh context (selectors keep a reference to it until
//! they have unparked its owner). Outside loom a small per-thread pool keeps
//! finished contexts that nobody else references any more, so a blocking
//! operation normally allocates nothing. A goroutine uses the pool of its
//! worker thread only within one wait, which starts and ends on that thread
//! (goroutines never migrate), so no context is ever shared by two waiters.

use core::fmt;
use core::ptr;
use std::time::Instant;

use crate::park::{Parker, Unparker};
use crate::shim::atomic::{AtomicPtr, AtomicUsize, Ordering};
use crate::shim::{self, Arc};

/// Pure spin steps before a waiting thread starts yielding: step `k`
/// spins `2^k` pause instructions, so the three steps spin 14 pauses (well
/// under a microsecond) in all: enough for a partner running on the other
/// core that is about to answer, and short enough that on an
/// oversubscribed core the waiter soon yields to the thread it waits for.
/// In the lab's `chan` experiment on the shared 2-core machine, six steps
/// (about 126 pauses) with a 20 us budget gave the thread cases roughly
/// half the throughput of this setting.
const SPIN_STEPS: u32 = 3;

/// Time-slice yields after the pure spin, before a waiting thread parks.
///
/// On this project's 2-core VMs, waking a parked thread costs about 8 us
/// each way (a futex wake on the waker's side, a schedule on the sleeper's),
/// and kanal, which yields up to 256 times before it parks, reaches 1.1 us
/// per thread ping-pong round trip where crossbeam, flume and std (which
/// park after a few microseconds) take about 16 us. So baton yielded up to
/// 128 times. That collapsed on a busy machine (issue 10, item 0c): a
/// thread that keeps yielding instead of sleeping stays a runnable CPU
/// competitor, and the scheduler serves it and its partner only their fair
/// share among the busy programs, where a sleeper that is woken runs at
/// once. With the load average near 10 on the 2 cores, 100,000 rendezvous
/// hand-offs between two threads beside three busy processes did not
/// finish in 60 s with 128 yields (nor with the time budget below), and
/// took 0.6-1.5 s with 4 or none
/// (`tests/regress_rendezvous_collapse_under_load.rs`). Four is what
/// crossbeam's `Backoff` yields before it reports completion; it keeps a
/// partner that answers within a few microseconds from costing a park.
const YIELD_STEPS: u32 = 4;

/// The most time a waiting thread spends yielding (after the pure spin)
/// before it parks, however few of its [`YIELD_STEPS`] it has used.
///
/// On an idle core a yield returns in about a microsecond, so this budget
/// leaves the yield steps above untouched. On a busy machine a yield hands
/// the core to another runnable program for up to a whole time slice
/// (milliseconds), and the partner we wait for may need that very core:
/// 128 such yields made each rendezvous hand-off take milliseconds (issue
/// 10, item 0c). Past this budget the waiter parks, and the futex wake of a
/// sleeper preempts a busy program at once, where a yielder waits its turn.
const YIELD_BUDGET: std::time::Duration = std::time::Duration::from_micros(50);

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
        assert!(val > DISCONNECTED, "operation id collides with a state");
        Operation(val)
    }
}

/// The state of a [`Context`]'s `select` word (see the module's table).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Selected {
    Waiting,
    Aborted,
    Disconnected,
    Operation(Operation),
}

const WAITING: usize = 0;
const ABORTED: usize = 1;
const DISCONNECTED: usize = 2;

impl From<usize> for Selected {
    #[inline]
    fn from(val: usize) -> Self {
        match val {
            WAITING => Selected::Waiting,
            ABORTED => Selected::Aborted,
            DISCONNECTED => Selected::Disconnected,
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
            Selected::Disconnected => DISCONNECTED,
            Selected::Operation(Operation(op)) => op,
        }
    }
}

/// The part of a context that selectors hold (in waker entries).
pub(crate) struct Shared {
    /// See the module's state table. CAS'd by selectors and the waiter.
    select: AtomicUsize,
    /// A packet handed over by the selector (rendezvous channels); null
    /// until then. Written by the selector, read by the waiter.
    packet: AtomicPtr<()>,
    /// Wakes the waiter. Set while the context is exclusively owned.
    unparker: Unparker,
}

impl Shared {
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

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field(
                "select",
                &Selected::from(self.select.load(Ordering::Relaxed)),
            )
            .finish_non_exhaustive()
    }
}

/// A waiter's context for one wait: the shared part plus the waiter's own
/// parker. Tied to the waiting thread or goroutine.
pub(crate) struct Context {
    shared: Arc<Shared>,
    parker: Parker,
}

#[cfg(not(loom))]
shim::thread_local! {
    /// Finished contexts of this thread, for reuse (see the module docs).
    static POOL: core::cell::RefCell<Vec<Arc<Shared>>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// Contexts kept per thread; more than a few would only be needed by deep
/// recursion through blocking calls.
#[cfg(not(loom))]
const POOL_SIZE: usize = 4;

impl Context {
    /// Runs `f` with a fresh context for the caller.
    #[inline]
    pub(crate) fn with<R>(f: impl FnOnce(&Context) -> R) -> R {
        let cx = Context::new();
        let r = f(&cx);
        cx.recycle();
        r
    }

    fn new() -> Context {
        let parker = Parker::current();
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
                    s.unparker = unparker;
                    return Context { shared, parker };
                }
            }
        }
        Context {
            shared: Arc::new(Shared {
                select: AtomicUsize::new(WAITING),
                packet: AtomicPtr::new(ptr::null_mut()),
                unparker,
            }),
            parker,
        }
    }

    /// Puts the context back in the pool if no selector still holds it.
    fn recycle(self) {
        #[cfg(not(loom))]
        {
            let shared = self.shared;
            // Two plain loads instead of `Arc::get_mut` (a locked
            // compare-and-swap): with one strong and no weak reference,
            // ours is the only handle and nobody can make another.
            // `Context::new` still goes through `get_mut`, whose acquiring
            // load orders the last selector's drop before our reuse.
            if Arc::strong_count(&shared) == 1 && Arc::weak_count(&shared) == 0 {
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
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Whether `other` is this context's shared part.
    #[inline]
    pub(crate) fn is(&self, other: &Shared) -> bool {
        ptr::eq(&*self.shared, other)
    }

    /// See [`Shared::try_select`].
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

    /// Waits, after this context was selected, until `done()` holds: spins
    /// briefly (a thread only, see [`Spin`]), then parks. Whoever makes
    /// `done()` true must unpark this context's owner *after* doing so
    /// (every pairer in `zero.rs` does, through the context's unparker), so
    /// no wake-up is lost: a wake that came before the park is kept as a
    /// token, and each return from `park` re-checks `done()`.
    pub(crate) fn wait_done(&self, done: impl FnMut() -> bool) {
        wait_done(&self.parker, done);
    }
}

/// As [`Context::wait_done`], with the caller's own `parker` (a wait after
/// the context is gone, e.g. a select reading the packet of its chosen arm).
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

impl Context {
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

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

/// The spin-before-park policy (see [`SPIN_STEPS`] and [`YIELD_STEPS`]):
/// call [`next`](Spin::next) between checks of a condition; it returns
/// `false` when it is time to park instead. It never spins inside a
/// goroutine (checked on the first call, so an operation that succeeds at
/// once pays nothing), nor under loom, nor past `deadline`.
pub(crate) struct Spin {
    /// Steps taken; `u32::MAX` = never spin.
    step: u32,
    deadline: Option<Instant>,
    /// When the yield phase must end ([`YIELD_BUDGET`] after its first
    /// yield); set on that first yield.
    yield_end: Option<Instant>,
}

impl Spin {
    /// A spin that stops at `deadline`.
    #[inline]
    pub(crate) fn new(deadline: Option<Instant>) -> Self {
        Spin {
            step: 0,
            deadline,
            yield_end: None,
        }
    }

    /// Waits a little; `false` when spinning should stop.
    #[inline]
    pub(crate) fn next(&mut self) -> bool {
        if cfg!(loom) || self.step == u32::MAX {
            return false;
        }
        if self.step == 0 && crate::park::in_goroutine() {
            self.step = u32::MAX;
            return false;
        }
        self.step += 1;
        if self.step <= SPIN_STEPS {
            for _ in 0..1u32 << self.step {
                shim::spin_loop();
            }
            return true;
        }
        if self.step > SPIN_STEPS + YIELD_STEPS {
            return false;
        }
        let now = Instant::now();
        if self.yield_end.is_none() && yields_are_slow() {
            // A busy machine (see `SLOW_YIELD`): park at once.
            self.step = u32::MAX;
            return false;
        }
        let end = *self.yield_end.get_or_insert(now + YIELD_BUDGET);
        if now >= end || self.deadline.is_some_and(|d| now >= d) {
            return false;
        }
        shim::yield_now();
        if now.elapsed() >= SLOW_YIELD {
            // The core went to another program: look once more (the caller
            // re-checks its condition), then park.
            note_slow_yield();
            self.step = SPIN_STEPS + YIELD_STEPS;
        }
        true
    }
}

/// A yield that kept the caller off the core this long means another
/// runnable program took the core (on an idle core a yield returns in about
/// a microsecond): the machine is busy, and each further yield would hand
/// that program a whole time slice while the partner we wait for waits for
/// a core too.
const SLOW_YIELD: std::time::Duration = std::time::Duration::from_micros(20);

/// After a slow yield, this many of the thread's next waits skip the yield
/// phase and park right after the pure spin; then one tries yielding again
/// (so a machine that became idle gets the yields back, at the price of one
/// slow yield per this many waits while it stays busy).
#[cfg(not(loom))]
const WAITS_WITHOUT_YIELD: u32 = 256;

#[cfg(not(loom))]
shim::thread_local! {
    /// Waits left that skip the yield phase (see `WAITS_WITHOUT_YIELD`).
    static SKIP_YIELDS: core::cell::Cell<u32> = const { core::cell::Cell::new(0) };
}

/// Whether this wait should skip yielding (counts one skipped wait).
#[cfg(not(loom))]
fn yields_are_slow() -> bool {
    SKIP_YIELDS
        .try_with(|c| {
            let n = c.get();
            if n > 0 {
                c.set(n - 1);
            }
            n > 0
        })
        .unwrap_or(false)
}

#[cfg(not(loom))]
fn note_slow_yield() {
    let _ = SKIP_YIELDS.try_with(|c| c.set(WAITS_WITHOUT_YIELD));
}

// Loom never reaches the yield phase (`Spin::next` returns first).
#[cfg(loom)]
fn yields_are_slow() -> bool {
    true
}

#[cfg(loom)]
fn note_slow_yield() {}
