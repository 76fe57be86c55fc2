//! A worker: one OS thread that runs goroutines, one at a time, switching to
//! each on its own stack and back.
//!
//! ## What a worker owns (touched only on its thread)
//!
//! - `slab`: every goroutine that started here and has not finished, with
//!   its coroutine (stack and suspended execution). Nothing else ever holds a
//!   coroutine, so a started goroutine can only ever run here.
//! - `runnext`: the goroutine woken most recently by code running on this
//!   worker; it runs next, inheriting the waker's turn (Go's `runnext`: what
//!   makes a ping-pong between two goroutines cost two switches and no queue
//!   traffic).
//! - `ready`: started goroutines that are runnable (yielded, or woken).
//! - `local`: the owner's end of the ring of *unstarted* goroutines, the only
//!   ones other workers may steal.
//! - `timers`, `stacks` (a pool of stacks to reuse).
//!
//! All of these are `Cell`/`RefCell`s reached through `&Worker`, because
//! goroutines running on this worker reach them too (to spawn, to wake a
//! neighbour). **No `RefCell` borrow is ever held across a switch into a
//! goroutine**: the coroutine is moved out of the slab before it is resumed
//! and put back after, and every queue borrow is a statement-long temporary.
//!
//! ## One scheduling round ([`Worker::next_local`])
//!
//! 1. Every `FAIRNESS_INTERVAL` rounds: the inbox, then one goroutine from
//!    the injector, first — so neither starves behind local work.
//! 2. Due timers.
//! 3. `runnext`, unless it has won `RUNNEXT_STREAK` rounds in a row (two
//!    goroutines waking each other would otherwise keep the rest waiting).
//! 4. `ready` and `local`, alternating which goes first, so that neither
//!    started nor new goroutines can starve the other.
//! 5. The inbox, then the injector.
//! 6. Then, if some of its goroutines are parked, a short watch of the
//!    inbox (below), then search (steal unstarted goroutines from random
//!    victims, a few rounds, leaving each victim its newest for a short
//!    grace: see placement below), then spin (below), then sleep (see
//!    `idle`).
//!
//! ## Where a new goroutine starts (placement)
//!
//! A goroutine spawned on a worker is pushed on that worker's ring, and a
//! searching worker may steal it until it starts; once started it stays
//! (see the runtime's soundness rules). Most goroutines that talk are a
//! parent and its child, or siblings spawned together, so the runtime
//! wants a child to start where its parent runs — unless the parent keeps
//! its worker busy, when the child should move to an idle worker. Go gets
//! both from its `runnext` slot: the newest goroutine runs next on its
//! spawner's P, and a thief takes a running P's `runnext` only after
//! sleeping 3 us first. baton does the same with the ring's newest entry
//! ([`Newest`]): [`Worker::search`] steals with [`Newest::Leave`], and
//! takes a victim's newest goroutine only after its passes have found
//! nothing but newest entries for [`RUNNEXT_GRACE`] (it does not track
//! which entry it first saw: a spawner that starts a fresh child every
//! microsecond may lose a younger one; bounded either way, as Go's thief
//! is). Older entries are stolen at once, as before, so a
//! burst of spawns still spreads (the lab's `spawn-join`, `ring`), and a
//! spawner that computes loses its child a few microseconds later
//! (`tests/runtime_placement.rs`).
//!
//! Alternatives considered: a separate stealable `runnext` slot for
//! unstarted goroutines (a second lock-free structure, and a `Task` does
//! not fit one atomic word, so each spawn would allocate); running the
//! child at once on the spawner's worker (the parent is started and cannot
//! move, so it would wait behind the child even when another worker idles);
//! timestamps per ring entry (a clock read on every spawn). The grace is
//! measured by the thief, as in Go, so the spawn path pays nothing.
//!
//! What was measured (issue 15, on a shared 2-core machine so busy that
//! only same-run ratios mean anything): the lab's `baton-chan-natural`
//! pingpong row (the placement left to baton) ran 0.88x and 1.11x Go at 2
//! workers in two `baton-lab run goroutines --quick` runs under load, and
//! 0.90x and 1.04x in a quieter spell, about its one-worker cost: both
//! players start on one worker. `spawn-join` did not change (2 workers,
//! child runs interleaved with the previous build: 591-677 against
//! 563-654 ns per goroutine). Without the grace
//! they did too in every test run (`tests/runtime_placement.rs`, also with
//! the other worker kept searching): an idle worker's spin looks at the
//! rings only every few microseconds, so it rarely beat a parent that
//! blocks at once; the grace makes that a rule rather than luck for the
//! search passes. The lab's ring (10k goroutines spawned in one burst)
//! spreads over both workers in contiguous blocks: 28-56 of a lap's 10k
//! hops cross workers. The forced rows are unchanged: their spawner spins,
//! so the grace passes and the other worker takes the child.
//!
//! ## Spinning before sleeping
//!
//! Waking a sleeping worker costs a futex wake (about 8 us on these
//! machines), paid by the waker and again by the sleeper: two goroutines on
//! different workers bouncing a token would pay it on every hop. So a worker
//! that runs out of work while some of its goroutines are parked — so that
//! a wake-up from another thread may be on its way — first watches its inbox
//! for up to 50 us (its policy, and why, is [`WorkerSpin`]), and sleeps
//! only if nothing came. The first few
//! microseconds of that watch come before it searches, and not as a
//! searcher ([`Worker::watch_inbox`]): a reply in a ping-pong usually comes
//! within them, and joining and leaving the searchers costs two writes to a
//! counter shared by all workers, on the path of every hop. It spins once per
//! idle period (not again after a wake-up that brought nothing), so an idle
//! runtime still goes quiet at once, and a worker whose goroutines all
//! finished does not spin at all. Go spins its idle Ms the same way (looking
//! for work before they sleep, a few at a time); tokio's workers and kanal's
//! channels spin before parking too. Spinning only pays while the two
//! workers run on different CPUs: unpinned, Linux may stack them on one (see
//! `pin`), and then the policy's yields at least hand the CPU over quickly.
//!
//! What the forced cross-worker pingpong spends its time on (issue 15,
//! `perf` on the lab's `baton-chan` row at 2 pinned workers): nearly all
//! of it spinning in these watches; a round trip has a median of about
//! 1.6 us, where a bare cache-line round trip between the two CPUs takes
//! about 0.2 us (a C probe on the same machine). Counting from the code
//! (not measured line by line), each hop moves some ten cache lines
//! between the cores, mostly one after another (the channel's lock
//! and waiter entry, the waiter's state, the goroutine's park word and
//! reference count, the inbox head, then back for the woken side). The
//! worker loop itself adds little. Cutting that number needs a channel
//! hand-off that touches fewer shared lines, not a different spin. Under
//! load see `WorkerSpin` (why the spin stays as it is).
//!
//! There is no preemption: a goroutine runs until it parks, yields, or
//! returns.

use core::cell::{Cell, RefCell};
use core::panic::Location;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use corosensei::stack::Stack as _;
use corosensei::{Coroutine, CoroutineResult, Yielder};

use super::counters::bump;
use super::current::{self, GoroutineCtx, Suspend};
use super::dump_inbox;
use super::goroutine::{Header, Job, Task};
use super::idle::{Awake, SearchEnd};
use super::park_state::{Commit, Wake};
use super::ring::{self, Newest};
use super::shared::Shared;
use super::shared::WorkerShared;
use super::stack::{GuardedStack, StackPool};
use super::timers::Timers;
use crate::park::spin::WorkerSpin;
use crate::shim::atomic::Ordering::{AcqRel, Relaxed, SeqCst};
use crate::shim::Arc;

/// Rounds between forced looks at the inbox and the injector (Go: 61, a
/// prime, so it does not fall into step with periodic workloads).
const FAIRNESS_INTERVAL: u32 = 61;

/// How many rounds in a row `runnext` may win before it waits its turn in
/// `ready`.
const RUNNEXT_STREAK: u32 = 32;

/// How long a victim's newest unstarted goroutine is left to its owner
/// before a searcher takes it (see [`Newest`]): Go's `runqsteal` waits 3 us
/// before it steals a running P's `runnext`. Long enough for a parent that
/// spawns a child and then blocks on it (a send, a join) to start the child
/// itself, so that the two talk on one worker; short next to any work worth
/// moving to another core.
const RUNNEXT_GRACE: Duration = Duration::from_micros(3);

/// Search rounds (a pass over every victim and the injector) before a worker
/// sleeps: bounded spinning, so that work arriving a moment later is picked
/// up without a wake-up, and an idle runtime still goes quiet at once.
const SEARCH_ROUNDS: u32 = 4;

/// The coroutine type of a goroutine: resumed with "did the park time out",
/// suspends with why, returns nothing (the result goes to the join packet).
pub(crate) type Coro = Coroutine<bool, Suspend, (), GuardedStack>;

/// What to run next.
enum Next {
    /// A started goroutine, by slab slot.
    Resume(usize),
    /// An unstarted goroutine.
    Start(Task),
}

/// A started, unfinished goroutine.
struct Entry {
    header: Arc<Header>,
    /// `None` only while the goroutine runs (moved out to be resumed).
    coro: Option<Coro>,
    /// Id of the pending park deadline in `timers`; 0 when none.
    timer: u64,
    /// Set when its timer woke it; passed in the next resume.
    timed_out: bool,
}

/// Started goroutines by slot; slots are reused.
#[derive(Default)]
struct Slab {
    entries: Vec<Option<Entry>>,
    free: Vec<usize>,
}

impl Slab {
    fn insert(&mut self, header: Arc<Header>) -> usize {
        let e = Entry {
            header,
            coro: None,
            timer: 0,
            timed_out: false,
        };
        match self.free.pop() {
            Some(i) => {
                self.entries[i] = Some(e);
                i
            }
            None => {
                self.entries.push(Some(e));
                self.entries.len() - 1
            }
        }
    }

    fn get_mut(&mut self, slot: usize) -> &mut Entry {
        self.entries[slot]
            .as_mut()
            .expect("baton: scheduler refers to an empty goroutine slot")
    }

    /// Started goroutines that have not finished.
    fn live(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    fn remove(&mut self, slot: usize) -> Entry {
        let e = self.entries[slot]
            .take()
            .expect("baton: scheduler removes an empty goroutine slot");
        self.free.push(slot);
        e
    }
}

/// See the module docs.
pub(crate) struct Worker {
    index: usize,
    shared: Arc<Shared>,
    local: ring::Local<Task>,
    runnext: Cell<Option<usize>>,
    runnext_streak: Cell<u32>,
    ready: RefCell<VecDeque<usize>>,
    slab: RefCell<Slab>,
    timers: RefCell<Timers>,
    stacks: RefCell<StackPool>,
    tick: Cell<u32>,
    rng: Cell<u64>,
    /// Whether this worker counts as a searcher in `idle`.
    searching: Cell<bool>,
    /// Whether this worker may spin before its next sleep: set when it runs
    /// a goroutine, cleared when it spins (one spin per idle period).
    may_spin: Cell<bool>,
}

impl core::fmt::Debug for Worker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Worker")
            .field("index", &self.index)
            .finish()
    }
}

/// Aborts the process if dropped while unwinding: a panic in the scheduler
/// itself (not in a goroutine, whose panics are caught) means an invariant
/// broke, and unwinding would drop coroutines on the way — unsafe to let
/// happen half-way through a switch.
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("baton: a runtime worker panicked (a bug in baton); aborting");
            std::process::abort();
        }
    }
}

/// A worker thread's body.
pub(crate) fn worker_main(shared: Arc<Shared>, index: usize, local: ring::Local<Task>) {
    shared.idle.register_thread(index, crate::park::current());
    super::netpoll::worker_started();
    let stack_size = shared.config.stack_size;
    let worker = Worker {
        index,
        shared,
        local,
        runnext: Cell::new(None),
        runnext_streak: Cell::new(0),
        ready: RefCell::new(VecDeque::new()),
        slab: RefCell::new(Slab::default()),
        timers: RefCell::new(Timers::default()),
        stacks: RefCell::new(StackPool::new(stack_size)),
        tick: Cell::new(0),
        // Any odd seed works for xorshift; mix in the index so that workers
        // pick different victims.
        rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ ((index as u64 + 1) << 17) | 1),
        searching: Cell::new(false),
        may_spin: Cell::new(false),
    };
    // Declared after `worker`, so that on an (internal) panic it aborts
    // before `worker` is dropped: dropping the slab would force-unwind
    // suspended goroutines.
    let guard = AbortOnUnwind;
    current::set_worker(&worker);
    worker.run();
    worker.exit();
    current::set_worker(core::ptr::null());
    super::netpoll::worker_exited();
    drop(guard);
}

impl Worker {
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Entries in the timer heap, stale ones included (tests).
    #[cfg(test)]
    pub(crate) fn timer_count(&self) -> usize {
        self.timers.borrow().len()
    }

    pub(crate) fn shared_arc(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// This worker's parts that other threads reach.
    #[inline]
    fn mine(&self) -> &WorkerShared {
        &self.shared.workers[self.index]
    }

    /// Pushes a new goroutine spawned on this worker onto its ring.
    #[inline]
    pub(crate) fn push_new(&self, task: Task) {
        let injector = &self.shared.injector;
        self.local
            .push(task, &mut |batch| injector.push_batch(batch));
    }

    /// Makes the goroutine in `slot` (started here, just unparked by code on
    /// this thread) run next; the previous `runnext` goes to `ready`.
    #[inline]
    pub(crate) fn wake_local(&self, slot: usize) {
        if let Some(old) = self.runnext.replace(Some(slot)) {
            self.ready.borrow_mut().push_back(old);
        }
    }

    /// The worker loop.
    fn run(&self) {
        loop {
            if self.shared.is_shutdown() {
                return;
            }
            if self.mine().dumps.pending() {
                self.answer_dumps(false);
            }
            if let Some(next) = self.next_local() {
                self.stop_searching();
                self.run_next(next);
                // A busy worker still looks at the network now and then
                // (Go's `sysmon` does it for busy Ms): see `netpoll`, "When
                // a worker polls".
                super::netpoll::busy_round(|| self.io_waiting());
                continue;
            }
            // Out of work: Go's `netpoll(0)` before stealing, only if some
            // goroutine waits on a socket (`netpollAnyWaiters`).
            if self.io_waiting() && super::netpoll::poll_now() {
                continue;
            }
            if self.watch_inbox() {
                continue;
            }
            if let Some(task) = self.search() {
                self.stop_searching();
                self.run_next(Next::Start(task));
                continue;
            }
            if self.shared.is_shutdown() {
                return;
            }
            if self.spin_for_wakeup() {
                continue;
            }
            self.sleep();
        }
    }

    /// A short watch of the inbox before searching (see the module docs):
    /// `true` when home work (or a new goroutine here) turned up. Not as a
    /// searcher: becoming one and leaving again are two read-modify-writes
    /// of a counter all workers share, and a ping-pong across workers would
    /// pay a cache-line transfer for them on every hop, right between the
    /// wake-up arriving and the goroutine running.
    ///
    /// Spin audit (issue 10): the scheduler's own loop, never inside a
    /// goroutine, and bounded by [`WorkerSpin::watch_inbox`]; then the worker searches.
    fn watch_inbox(&self) -> bool {
        if !self.may_spin.get() || self.searching.get() || self.slab.borrow().live() == 0 {
            return false;
        }
        let inbox = &self.mine().inbox;
        let spin = WorkerSpin::watch_inbox();
        loop {
            if spin.hints(|| !inbox.is_empty() || !self.local.is_empty()) {
                return true;
            }
            if !spin.keep_going() {
                return false;
            }
        }
    }

    /// Bounded spinning before sleeping (see the module docs): `true` when
    /// work turned up.
    fn spin_for_wakeup(&self) -> bool {
        if !self.may_spin.replace(false) || self.slab.borrow().live() == 0 {
            return false;
        }
        let inbox = &self.shared.workers[self.index].inbox;
        let spin = WorkerSpin::idle();
        // When the network was last polled: again once `SPIN_POLL_GAP` has
        // passed (see `netpoll`, "When a worker polls").
        let mut polled = Instant::now();
        loop {
            // Only the cheap loads: the inbox (what a ping-pong waits for),
            // new goroutines here or in the injector, shutdown.
            if spin.hints(|| {
                !inbox.is_empty()
                    || !self.local.is_empty()
                    || !self.shared.injector.is_empty()
                    || self.shared.is_shutdown()
            }) {
                return true;
            }
            // A searcher (which makes notifiers wake no one) also watches
            // the other workers' rings, so it does not leave their new
            // goroutines waiting until it gives up.
            if self.searching.get() && self.shared.workers.iter().any(|w| !w.steal.is_empty()) {
                return true;
            }
            if self.timer_due() {
                return true;
            }
            // The waiter count first: a process without socket waiters
            // pays no clock read here (`keep_going` below reads it anyway).
            if self.io_waiting() {
                let now = Instant::now();
                if now.duration_since(polled) >= super::netpoll::SPIN_POLL_GAP {
                    polled = now;
                    if super::netpoll::poll_now() {
                        return true;
                    }
                }
            }
            // Past the time limit: sleep; otherwise (from 5 us on) yield.
            if !spin.keep_going() {
                return self.timer_due();
            }
        }
    }

    fn run_next(&self, next: Next) {
        self.may_spin.set(true);
        match next {
            Next::Resume(slot) => self.resume_slot(slot),
            Next::Start(task) => self.start(task),
        }
    }

    /// One scheduling round over local work (see the module docs).
    fn next_local(&self) -> Option<Next> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);

        if tick % FAIRNESS_INTERVAL == 0 {
            self.pull_inbox();
            if let Some(t) = self.shared.injector.pop() {
                return Some(Next::Start(t));
            }
        }
        self.fire_timers();

        if let Some(slot) = self.runnext.take() {
            let streak = self.runnext_streak.get();
            if streak < RUNNEXT_STREAK {
                self.runnext_streak.set(streak + 1);
                return Some(Next::Resume(slot));
            }
            self.ready.borrow_mut().push_back(slot);
        }
        self.runnext_streak.set(0);

        let started_first = tick & 1 == 0;
        if started_first {
            if let Some(n) = self.pop_ready() {
                return Some(n);
            }
        }
        if let Some(t) = self.local.pop() {
            return Some(Next::Start(t));
        }
        if !started_first {
            if let Some(n) = self.pop_ready() {
                return Some(n);
            }
        }
        if self.pull_inbox() {
            if let Some(n) = self.pop_ready() {
                return Some(n);
            }
        }
        self.shared.injector.pop().map(Next::Start)
    }

    #[inline]
    fn pop_ready(&self) -> Option<Next> {
        let slot = self.ready.borrow_mut().pop_front();
        slot.map(Next::Resume)
    }

    /// Moves everything in the inbox to `ready`; whether there was any.
    fn pull_inbox(&self) -> bool {
        let inbox = &self.shared.workers[self.index].inbox;
        if inbox.is_empty() {
            return false;
        }
        let mut ready = self.ready.borrow_mut();
        // Relaxed: `slot` was written by this thread when the goroutine
        // started.
        inbox.take_all(|g| ready.push_back(g.slot.load(Relaxed)))
    }

    /// Queues every goroutine whose park deadline has passed.
    fn fire_timers(&self) {
        if self.timers.borrow().is_empty() {
            return;
        }
        let now = Instant::now();
        loop {
            let due = self.timers.borrow_mut().pop_due(now);
            let Some((id, slot)) = due else { break };
            let mut slab = self.slab.borrow_mut();
            let current = slab
                .entries
                .get_mut(slot)
                .and_then(Option::as_mut)
                .filter(|e| e.timer == id);
            match current {
                Some(e) => {
                    e.timer = 0;
                    if e.header.park.timed_out() == Wake::Queue {
                        e.timed_out = true;
                        drop(slab);
                        self.ready.borrow_mut().push_back(slot);
                    }
                    // Otherwise an unpark won the race and queued it.
                }
                None => self.timers.borrow_mut().popped_stale(),
            }
        }
    }

    /// Looks for unstarted goroutines elsewhere: steals from random victims
    /// and polls the injector, for a few rounds (`SEARCH_ROUNDS`), leaving
    /// each victim its newest goroutine until one has been seen waiting for
    /// [`RUNNEXT_GRACE`] (see [`Newest`]). Bounded: at most the grace
    /// period plus `SEARCH_ROUNDS` passes; the scheduler's loop, never
    /// inside a goroutine.
    fn search(&self) -> Option<Task> {
        if !self.searching.get() {
            if !self.shared.idle.try_start_searching() {
                return None;
            }
            self.searching.set(true);
        }
        let n = self.shared.workers.len();
        // When a pass first found only victims' newest goroutines.
        let mut newest_seen: Option<Instant> = None;
        let mut rounds = 0;
        loop {
            let newest = match newest_seen {
                Some(t) if t.elapsed() >= RUNNEXT_GRACE => Newest::Take,
                _ => Newest::Leave,
            };
            let start = self.next_rand() as usize % n;
            for k in 0..n {
                let victim = (start + k) % n;
                if victim == self.index {
                    continue;
                }
                let steal = &self.shared.workers[victim].steal;
                if let Some(t) = steal.steal_into(&self.local, newest) {
                    bump(&self.mine().counters.steals);
                    return Some(t);
                }
            }
            if let Some(t) = self.shared.injector.pop() {
                return Some(t);
            }
            if self.has_home_work() || self.shared.is_shutdown() {
                return None;
            }
            rounds += 1;
            // A victim kept its newest goroutine from us: wait out its
            // grace (its owner may be about to block and run it), then take
            // it on a later pass.
            let held_back = newest == Newest::Leave
                && self
                    .shared
                    .workers
                    .iter()
                    .enumerate()
                    .any(|(i, w)| i != self.index && !w.steal.is_empty());
            if held_back {
                newest_seen.get_or_insert_with(Instant::now);
            } else if rounds >= SEARCH_ROUNDS {
                return None;
            }
            crate::shim::spin_loop();
        }
    }

    /// Whether some goroutine of the runtime is parked on a socket (see
    /// `netpoll::any_io_waiters`).
    #[inline]
    fn io_waiting(&self) -> bool {
        super::netpoll::any_io_waiters(&self.shared.workers, self.index)
    }

    /// Whether something only this worker can do is waiting: goroutines
    /// woken through its inbox, due timers, dump requests.
    fn has_home_work(&self) -> bool {
        let mine = self.mine();
        !mine.inbox.is_empty() || mine.dumps.pending() || self.timer_due()
    }

    /// Answers dump requests with a line per goroutine started here (see
    /// `dump`); with `close`, refuses later ones (exit).
    #[cold]
    fn answer_dumps(&self, close: bool) {
        for req in self.mine().dumps.take(close) {
            let mut lines: Vec<(u64, String)> = self
                .slab
                .borrow()
                .entries
                .iter()
                .flatten()
                .map(|e| {
                    (
                        e.header.id.as_u64(),
                        (req.line)(&e.header, &req, self.index),
                    )
                })
                .collect();
            let unstarted = self.local.len();
            if unstarted > 0 {
                lines.push((
                    dump_inbox::LAST,
                    format!(
                        "{unstarted} goroutine(s) not started yet in worker {}'s run queue",
                        self.index
                    ),
                ));
            }
            req.answer(self.index, lines);
        }
    }

    fn timer_due(&self) -> bool {
        self.timers
            .borrow()
            .next_deadline()
            .is_some_and(|d| d <= Instant::now())
    }

    fn stop_searching(&self) {
        if self.searching.replace(false) && self.shared.idle.stop_searching() == SearchEnd::Last {
            // We were the last searcher and found work: there may be more,
            // so wake someone to keep looking (see `idle`).
            self.shared.idle.notify_one();
        }
    }

    /// Goes to sleep until woken or the next timer (see `idle`): in
    /// `epoll_wait` on its own instance if the process has a network poller
    /// (see `net::poller`), else on the worker's park token.
    fn sleep(&self) {
        let idle = &self.shared.idle;
        // Relaxed: published to the deadlock checker by the sleeper-list
        // lock that `prepare_sleep` takes (see `deadlock`).
        let has_timers = !self.timers.borrow().is_empty();
        self.mine().has_timers.store(has_timers, Relaxed);
        // Out of work: give the pages of deep goroutines' stacks back (see
        // `stack`), before announcing the sleep, so no waker waits on it.
        self.stacks.borrow_mut().trim_idle();
        // Mark the sleep as one in epoll before announcing it (see
        // "Sleeping in epoll" in `idle`).
        let net = super::netpoll::epoll_sleep();
        if let Some(n) = &net {
            idle.set_in_epoll(self.index, Some(n.wake_token()));
        }
        let last_searcher =
            idle.prepare_sleep(self.index, self.searching.replace(false)) == SearchEnd::Last;
        // The re-check after the fence: anything for us, or (if we were the
        // last searcher) anything stealable anywhere?
        let work = self.shared.shutdown.load(SeqCst)
            || self.has_home_work()
            || !self.shared.injector.is_empty()
            || !self.local.is_empty()
            || (last_searcher && self.shared.workers.iter().any(|w| !w.steal.is_empty()));
        // A buffer only for a sleep in epoll (none in a process without
        // sockets).
        let mut events = net.as_ref().map(|_| super::netpoll::Events::default());
        if !work {
            let deadline = self.timers.borrow().next_deadline();
            if deadline.is_none() {
                (self.shared.config.before_sleep)(&self.shared);
            }
            // No goroutine runs here, so no park hook is installed: these
            // park the worker's OS thread (on its own `crate::park` token).
            match (&net, &mut events) {
                (Some(slot), Some(events)) => slot.block(events, deadline),
                _ => match deadline {
                    Some(d) => {
                        crate::park::park_deadline(d);
                    }
                    None => crate::park::park(),
                },
            }
        }
        let awake = idle.end_sleep(self.index);
        if let (Some(net), Some(events)) = (net, &events) {
            idle.set_in_epoll(self.index, None);
            // The wake-ups go to the goroutines' own workers (ours:
            // `runnext`).
            net.dispatch(events);
        }
        if awake == Awake::AsSearcher {
            self.searching.set(true);
        }
    }

    fn next_rand(&self) -> u64 {
        // xorshift64: victim choice only needs to be spread, not strong.
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x
    }

    /// Starts an unstarted goroutine here: it gets a stack and a slot, and
    /// this becomes its home for good.
    fn start(&self, mut task: Task) {
        let job = task
            .job
            .take()
            .expect("baton: a goroutine was started twice");
        let header = task.header.clone();
        let size = task.stack_size;
        drop(task); // job taken: nothing to abandon
        let stack = self.stacks.borrow_mut().take(size);
        let stack = match stack {
            Ok(s) => s,
            Err(e) => return self.fail_start(header, job, size, e),
        };
        let id = header.id.as_u64();
        let site = header.spawned_at;
        let slot = self.slab.borrow_mut().insert(header.clone());
        // Relaxed: see `Header::home`.
        header.home.store(self.index, Relaxed);
        header.slot.store(slot, Relaxed);
        let guard = Guard {
            low: stack.limit().get(),
            high: stack.limit().get() + super::stack::page_size(),
            stack_size: stack.usable(),
        };
        let coro = Coro::with_stack(stack, move |yielder: &Yielder<bool, Suspend>, _: bool| {
            goroutine_entry(yielder, header, job, guard)
        });
        self.resume(slot, id, site, coro, false);
    }

    /// A goroutine could not get a stack: it never runs; its joiner gets a
    /// [`Panic`](crate::runtime::Panic) saying why.
    #[cold]
    fn fail_start(&self, header: Arc<Header>, job: Job, size: usize, err: std::io::Error) {
        let size = if size == 0 {
            self.shared.config.stack_size
        } else {
            size
        };
        let msg = format!(
            "baton: could not map a {} KiB stack for {} (spawned at {}): {err}",
            size / 1024,
            header.id,
            header.spawned_at
        );
        eprintln!("{msg}");
        // The job records the failure as the goroutine's outcome and
        // completes the join, without running the closure.
        job(&header, Some(msg));
        bump(&self.mine().counters.finished);
        self.shared.budget.release(1);
    }

    fn resume_slot(&self, slot: usize) {
        let (coro, id, site, timed_out) = {
            let mut slab = self.slab.borrow_mut();
            let e = slab.get_mut(slot);
            if e.timer != 0 {
                // Woken before its deadline: the heap entry is now stale.
                e.timer = 0;
                self.timers.borrow_mut().cancelled();
            }
            let coro = e
                .coro
                .take()
                .expect("baton: a running goroutine was scheduled again");
            (
                coro,
                e.header.id.as_u64(),
                e.header.spawned_at,
                core::mem::take(&mut e.timed_out),
            )
        };
        self.resume(slot, id, site, coro, timed_out);
    }

    /// Switches to the goroutine and handles why it came back.
    fn resume(
        &self,
        slot: usize,
        id: u64,
        site: &'static Location<'static>,
        mut coro: Coro,
        timed_out: bool,
    ) {
        let mine = self.mine();
        bump(&mine.counters.switches);
        // Relaxed: hints for dumps and the monitor (see `WorkerShared`).
        mine.running_site
            .store(core::ptr::from_ref(site).cast_mut(), Relaxed);
        mine.running.store(id, Relaxed);
        let result = coro.resume(timed_out);
        mine.running.store(0, Relaxed);
        current::leave_goroutine();
        match result {
            CoroutineResult::Yield(Suspend::Yield) => {
                self.slab.borrow_mut().get_mut(slot).coro = Some(coro);
                self.ready.borrow_mut().push_back(slot);
            }
            CoroutineResult::Yield(Suspend::Park(deadline)) => {
                let committed = {
                    let mut slab = self.slab.borrow_mut();
                    let e = slab.get_mut(slot);
                    e.coro = Some(coro);
                    e.header.park.commit_park()
                };
                bump(&mine.counters.parks);
                if committed == Commit::TokenArrived {
                    // Unparked while switching out: run it again.
                    self.ready.borrow_mut().push_back(slot);
                } else if let Some(deadline) = deadline {
                    self.add_timer(slot, deadline);
                }
            }
            CoroutineResult::Return(()) => {
                let entry = self.slab.borrow_mut().remove(slot);
                self.stacks.borrow_mut().give(coro.into_stack());
                bump(&mine.counters.finished);
                self.shared.budget.release(1);
                drop(entry);
            }
        }
    }

    fn add_timer(&self, slot: usize, deadline: Instant) {
        let mut timers = self.timers.borrow_mut();
        let id = timers.add(deadline, slot);
        let mut slab = self.slab.borrow_mut();
        slab.get_mut(slot).timer = id;
        timers.compact_if_needed(|id, slot| {
            slab.entries
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|e| e.timer == id)
        });
    }

    /// Shutdown: abandons unstarted goroutines, closes the inbox, and leaks
    /// started ones that have not finished (see `Runtime`'s docs).
    fn exit(&self) {
        // Answer pending dumps (and refuse later ones) while the slab still
        // holds the goroutines.
        self.answer_dumps(true);
        if self.searching.replace(false) {
            // Shutting down: no work to pass on, so being last means nothing.
            let _ = self.shared.idle.stop_searching();
        }
        drop(self.local.drain());
        drop(self.shared.workers[self.index].inbox.close());
        self.runnext.set(None);
        self.ready.borrow_mut().clear();
        let entries = core::mem::take(&mut self.slab.borrow_mut().entries);
        let mut leaked = 0;
        for e in entries.into_iter().flatten() {
            leaked += 1;
            // Never resume, unwind or free a suspended goroutine's stack:
            // it may hold borrows (of a scope, of thread-locals) that are
            // only sound while the stack stays put. Leak it.
            core::mem::forget(e.coro);
            e.header.join.complete();
        }
        if leaked > 0 {
            self.shared.leaked.fetch_add(leaked, Relaxed);
        }
        // AcqRel: the last worker out sees every other worker's exit (their
        // goroutines can no longer push to the injector), so what it drains
        // is all there will be — also when the runtime was dropped from one
        // of its own goroutines and nobody joins the workers.
        if self.shared.live_workers.fetch_sub(1, AcqRel) == 1 {
            drop(self.shared.injector.drain());
        }
    }
}

/// A goroutine's guard page and stack size, for the overflow message.
#[derive(Clone, Copy)]
struct Guard {
    low: usize,
    high: usize,
    stack_size: usize,
}

/// The first frame of every goroutine, on its own stack.
fn goroutine_entry(yielder: &Yielder<bool, Suspend>, header: Arc<Header>, job: Job, guard: Guard) {
    let ctx = GoroutineCtx {
        yielder,
        header: &header,
        guard_low: guard.low,
        guard_high: guard.high,
        stack_size: guard.stack_size,
    };
    current::enter_goroutine(&ctx);
    // The job catches the user's panics and completes the join.
    job(&header, None);
    current::leave_goroutine();
}
