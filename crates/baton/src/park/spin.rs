//! Spin policies: how long a waiter spins (and yields) before it parks, in
//! one place, with the measurements that chose each. parking_lot's
//! `core/src/spinwait.rs` is the model: every waiter names its policy here,
//! and no other file decides how many pauses or yields a wait is worth.
//!
//! # The facts behind the numbers (2-core KVM guests)
//!
//! - Waking a parked thread on the other core costs about 8 us each way (a
//!   futex wake on the waker's side, a schedule on the sleeper's): a thread
//!   ping-pong over a rendezvous channel takes about 16 us per round trip
//!   with crossbeam, flume or std, which park after a few microseconds, and
//!   about 1.1 us with kanal, which yields up to 256 times before it parks.
//!   So a short spin before parking pays when the partner runs on the
//!   other core and answers within microseconds.
//! - A thread that keeps yielding instead of sleeping stays a runnable CPU
//!   competitor: on a busy machine the scheduler serves it and its partner
//!   only their fair share among the busy programs, where a sleeper that is
//!   woken runs at once. With the load average near 10 on the 2 cores,
//!   100,000 rendezvous hand-offs between two threads beside three busy
//!   processes did not finish in 60 s with 128 yields per wait, and took
//!   0.6-1.5 s with 4 or none (issue 10, item 0c;
//!   `tests/regress_rendezvous_collapse_under_load.rs`). Four is what
//!   crossbeam's `Backoff` yields before it reports completion.
//! - Yielding also keeps more threads awake bouncing a lock's cache line
//!   between the two cores: the mutex parks after pure spins (see
//!   [`MutexSpin`]).
//! - A goroutine must not spin on its worker for another goroutine: the
//!   one it waits for may need that very worker. Policies that spin for
//!   more than a few pauses are for threads only.
//! - Under loom, spinning only multiplies the interleavings the model
//!   explores and keeps it from reaching the park/wake paths the models are
//!   there to check, so no policy spins under loom.
//!
//! # The policies
//!
//! | policy | used by | spins | yields | in goroutines |
//! |---|---|---|---|---|
//! | [`ChanSpin`] | channel waits (`chan::context`) | 2+4+8 pauses | up to 128, within 50 us; none once yields are slow | no |
//! | [`MutexSpin`] | `sync::RawMutex::lock` | 2+4+8 pauses | none | yes (14 pauses) |
//! | [`SnoozeSpin`] | `sync::RawRwLock`, `sync::Semaphore` | `Backoff::snooze`: 1+2+...+64 pauses | 4 | yes |
//! | [`ThreadSpin`] | `atomic::SeqLock` writers, `atomic::Rcu::synchronize` | `Backoff::spin`: 1+2+...+64 pauses | none | no |
//! | [`WorkerSpin`] | the scheduler's idle worker (`runtime::sched::worker`) | 4 us (inbox watch) or 50 us | each look after 5 us (50 us case) | - (the scheduler's own loop) |
//! | [`Backoff`] | lock-free retry loops, the spin lock (`spin_lock.rs`) | `spin`/`snooze` | `snooze` past step 6 | yes |
//!
//! [`Backoff`] is public API (`baton::atomic::Backoff`) and stays in
//! `atomic/backoff.rs`, with crossbeam's numbers; [`SnoozeSpin`] and
//! [`ThreadSpin`] are built on it.
//!
//! Spin audit (issue 10): every policy here is bounded and ends in a park
//! (or, for the worker, a sleep), so a holder that is a goroutine parked on
//! the waiter's own worker gets its worker back.

use std::time::{Duration, Instant};

use super::Parker;
use crate::atomic::Backoff;
use crate::shim;

/// Spins `2^step` pause instructions.
#[inline]
fn pause(step: u32) {
    for _ in 0..1u32 << step {
        shim::spin_loop();
    }
}

/// Pure spin steps of [`ChanSpin`] before a waiting thread starts yielding:
/// step `k` spins `2^k` pause instructions, so the three steps spin 14
/// pauses (well under a microsecond) in all: enough for a partner running
/// on the other core that is about to answer, and short enough that on an
/// oversubscribed core the waiter soon yields to the thread it waits for.
/// In the lab's `chan` experiment on the shared 2-core machine, six steps
/// (about 126 pauses) with a 20 us budget gave the thread cases roughly
/// half the throughput of this setting.
const SPIN_STEPS: u32 = 3;

/// Time-slice yields of [`ChanSpin`] after the pure spin, before a waiting
/// thread parks.
///
/// kanal's 256 yields win an idle machine (see the module docs): a thread
/// ping-pong over a rendezvous channel ran 35-58x crossbeam's (which parks
/// after 4 yields) with 128 here, and 1x with 4 (`baton-lab run chan
/// --quick`, quiet 2-core machine). Alone, 128 yields collapsed on a busy
/// machine (issue 10, item 0c): each yield can hand a whole time slice to
/// a busy program. [`YIELD_BUDGET`] and the slow-yield switch
/// ([`SLOW_YIELD`]) bound that: past 50 us of yielding, or once a yield
/// came back slowly, the waiter parks, so the steps only count on an idle
/// machine (`tests/regress_rendezvous_collapse_under_load.rs` passes with
/// 128 beside busy processes).
const YIELD_STEPS: u32 = 128;

/// The most time a [`ChanSpin`] waiter spends yielding (after the pure
/// spin) before it parks, however few of its [`YIELD_STEPS`] it has used.
///
/// On an idle core a yield returns in about a microsecond, so this budget
/// leaves the yield steps above untouched. On a busy machine a yield hands
/// the core to another runnable program for up to a whole time slice
/// (milliseconds), and the partner we wait for may need that very core:
/// 128 such yields made each rendezvous hand-off take milliseconds (issue
/// 10, item 0c). Past this budget the waiter parks, and the futex wake of a
/// sleeper preempts a busy program at once, where a yielder waits its turn.
const YIELD_BUDGET: Duration = Duration::from_micros(50);

/// The channels' spin-before-park policy (see [`SPIN_STEPS`],
/// [`YIELD_STEPS`] and [`YIELD_BUDGET`]): call [`next`](ChanSpin::next)
/// between checks of a condition; it returns `false` when it is time to
/// park instead. It never spins inside a goroutine (checked on the first
/// call, so an operation that succeeds at once pays nothing), nor under
/// loom, nor past `deadline`; after a slow yield (see [`SLOW_YIELD`]) the
/// thread's next waits skip the yields.
pub(crate) struct ChanSpin {
    /// Steps taken; `u32::MAX` = never spin.
    step: u32,
    deadline: Option<Instant>,
    /// When the yield phase must end ([`YIELD_BUDGET`] after its first
    /// yield); set on that first yield.
    yield_end: Option<Instant>,
}

impl ChanSpin {
    /// A spin that stops at `deadline`.
    #[inline]
    pub(crate) fn new(deadline: Option<Instant>) -> Self {
        ChanSpin {
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
        if self.step == 0 && super::in_goroutine() {
            self.step = u32::MAX;
            return false;
        }
        self.step += 1;
        if self.step <= SPIN_STEPS {
            pause(self.step);
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
const SLOW_YIELD: Duration = Duration::from_micros(20);

/// After a slow yield, this many of the thread's next waits skip the yield
/// phase and park right after the pure spin; then one tries yielding again
/// (so a machine that became idle gets the yields back, at the price of one
/// slow yield per this many waits while it stays busy).
///
/// The price, measured (issue 10's `select` regression): a program that
/// oversubscribes the cores with its *own* threads also sees slow yields,
/// though each one ran the partner it waits for. The lab's `chan/select`
/// case (four producer threads and a selecting consumer on 2 cores) then
/// has its producers park about once in 15-35 messages and the consumer
/// pay a futex wake for each: 247-407 ns per message, against 98-190 ns
/// with the yields kept and 72-103 ns for crossbeam (quiet machine, three
/// interleaved rounds of a standalone copy of the case). Counting a slow
/// yield only when it was also fruitless (the waiter had to ask again)
/// gave 105-132 ns there, but in `regress_rendezvous_collapse_under_load`
/// (busy processes on every core) it made the hand-offs 4-10x slower (18.6
/// s against 0.8 s, and 5.9 s against 1.6 s, debug): under outside load a
/// fruitful yield still costs a whole time slice where a futex wake-up
/// preempts at once. A machine in production is rarely quiet, so the
/// switch stays as it is; telling "the core went to one of our threads"
/// from "it went to another program" cheaply is the open problem.
///
/// Issue 15 tried more ways, each measured against this setting in
/// interleaved rounds (0.3 s each) of the lab's cases run alone (`baton-lab
/// child --experiment chan --case C --impl I --threads 1 --seconds 0.3`):
/// "quiet" under `chrt -f 1` (our threads take the cores from the other
/// programs of the shared 2-core machine, as on a quiet one), "loaded"
/// beside busy `sh` loops, one at nice 10 and one to three at nice 0 (the
/// lab's `--load 2` and heavier; other builds ran too). None won both, so
/// none was kept:
/// - Flip the switch only on a yield of 1 ms or more (a busy program keeps
///   the core for its slice; our partner threads give it back as soon as
///   they wait for us). A histogram of every yield's time off the core
///   backed the split: in `regress_rendezvous_collapse_under_load` (nice-0
///   busy loops) all 780 slow yields of a run took 512 us or more, all but
///   5 of them 1-64 ms; in `chan/select` with the switch disabled they took
///   64-511 us. Quiet, it won: `chan/select` 81-140 ns per message against
///   88-204 ns here (crossbeam 69-123 ns), the thread ping-pong 1,014-1,537
///   ns per round trip against 1,869-4,581 ns (kanal 697-1,197 ns). Loaded,
///   the ping-pong got slower (11-101 us against 3-27 us, five rounds):
///   probably a yield to the *niced* program often lasts well under 1 ms,
///   so the switch stayed off while hand-offs lost one. (The collapse test still
///   passed: its busy loops are not niced.)
/// - The same with the count of waits replaced by a time (a thread that
///   parks on every wait does 256 waits in 1-2 ms here, about what the
///   next probing yield loses to a busy program): fixed at 100 ms, or
///   doubling while the load lasts (1 ms up to 128 ms). Loaded, the
///   ping-pong broke down in some rounds (1.8-9.6 ms per round trip in 5
///   of 33; crossbeam 5-32 us, this setting 3-320 us), and with the fixed
///   100 ms each burst of other builds cost `chan/select` its yields for
///   100 ms (383-742 ns against 116-235 ns). This 20 us switch with the
///   doubling time improved the loaded ping-pong (median about 16 us
///   against 23 us here, crossbeam 10 us) but made the quiet one (3.6-7.4
///   us against 2.0-3.6 us) and the loaded `select` slower.
/// - Count a slow yield only when this process's CPU time
///   (`CLOCK_PROCESS_CPUTIME_ID`, one syscall per slow yield), measured
///   from the thread's previous slow yield, shows our threads did not keep
///   all the cores but half of one busy: loaded, the ping-pong broke down
///   in 5 of 8 rounds (0.25-1 ms per round trip), since that interval is
///   mostly our own running time. Measuring across each yield alone needs
///   a syscall before every yield, which the quiet ping-pong (about 1 us a
///   round trip, a yield or two per wait) cannot afford.
///
/// Not yet tried: sampling the CPU clock only at a wait's first yield; a
/// process-wide count of waiters in their yield phase (more of ours
/// yielding than cores means the yields run our own threads).
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

// Loom never reaches the yield phase (`ChanSpin::next` returns first).
#[cfg(loom)]
fn yields_are_slow() -> bool {
    true
}

#[cfg(loom)]
fn note_slow_yield() {}

/// The mutex's spin policy before parking: three rounds of 2, 4 and 8
/// pause instructions (parking_lot's spin rounds), then park; no yields.
/// Off under loom.
///
/// Measured with the lab's `mutex` experiment at 8 threads on 2 cores
/// (oversubscribed, load average around 12 from other builds, so treat as
/// rough): this policy gave baton 117 Mops/s on `contended-short` against
/// 83 Mops/s when seven `yield_now`s followed the spins (parking_lot's full
/// `SpinWait`), and 16.0 against 10.5 on `contended-long`. Yielding keeps
/// more threads awake and bouncing the lock's cache line between the two
/// cores; sleeping waiters leave the running owner alone on its fast path.
/// `Backoff::snooze` (127 pauses, then yields) was slower still.
///
/// It also spins inside a goroutine: bounded (three rounds), then the
/// waiter parks, so a holder that is a parked goroutine on the same worker
/// gets its worker back after at most 14 pause instructions.
///
/// (Before issue 11 this policy also had a yield branch, for steps past its
/// spin steps; with both step counts 3 it could never run, and was
/// removed.)
#[derive(Debug)]
pub(crate) struct MutexSpin {
    step: u32,
}

impl MutexSpin {
    /// Spin rounds before parking.
    const STEPS: u32 = 3;

    /// A fresh spin (after each wake-up too).
    #[inline]
    pub(crate) fn new() -> Self {
        Self { step: 0 }
    }

    /// Spins once; `false` when it is time to park instead (at once under
    /// loom).
    #[inline]
    pub(crate) fn spin(&mut self) -> bool {
        if cfg!(loom) || self.step >= Self::STEPS {
            return false;
        }
        self.step += 1;
        pause(self.step);
        true
    }
}

/// Snooze (spin, then yield: [`Backoff::snooze`]) until the backoff
/// completes, then park: 1+2+...+64 = 127 pauses, then 4 yields. Off under
/// loom. Used where a wait usually ends within a few microseconds (a
/// reader-writer lock's holders leaving, a semaphore's permits coming
/// back).
///
/// Inside a goroutine it spins (the 127 pauses, bounded) but never
/// yields: a yield gives away the OS thread, not the goroutine, so the
/// worker's other goroutines (maybe the holder we wait for) would wait
/// with us, and on a busy machine each yield can hand another program a
/// whole time slice. The goroutine parks in a wait queue instead, which
/// lets its worker run them.
#[derive(Debug)]
pub(crate) struct SnoozeSpin {
    backoff: Backoff,
    /// Decided at creation: whether the caller may yield (a thread).
    yields: bool,
}

impl SnoozeSpin {
    /// A fresh spin.
    #[inline]
    pub(crate) fn new() -> Self {
        Self {
            backoff: Backoff::new(),
            yields: !cfg!(loom) && !super::in_goroutine(),
        }
    }

    /// Whether the policy still spins: `false` (park now) once the backoff
    /// completed (in a goroutine: once its pure spin completed), and
    /// always under loom.
    #[inline]
    pub(crate) fn spinning(&self) -> bool {
        if cfg!(loom) {
            return false;
        }
        if self.yields {
            !self.backoff.is_completed()
        } else {
            !self.backoff.spin_is_completed()
        }
    }

    /// Snoozes once if [`spinning`](Self::spinning); returns whether it did.
    #[inline]
    pub(crate) fn snooze(&self) -> bool {
        if !self.spinning() {
            return false;
        }
        self.backoff.snooze();
        true
    }

    /// Backs off after a lost compare-and-swap ([`Backoff::spin`], also
    /// under loom): a retry, not a wait; it advances the same steps.
    #[inline]
    pub(crate) fn retry(&self) {
        self.backoff.spin();
    }
}

/// Pure spin ([`Backoff::spin`]: 1+2+...+64 = 127 pauses) before parking,
/// for threads only: a goroutine (or any caller under loom) parks at once,
/// since what it waits for may be a goroutine that needs its worker. Used
/// by a `SeqLock` writer waiting for the lock and by `Rcu::synchronize`
/// waiting for readers.
#[derive(Debug)]
pub(crate) struct ThreadSpin {
    /// Decided once, at creation: whether the caller is a thread.
    enabled: bool,
    backoff: Backoff,
}

impl ThreadSpin {
    /// A fresh spin for the caller (a thread spins; a goroutine does not).
    #[inline]
    pub(crate) fn new() -> Self {
        Self {
            enabled: !cfg!(loom) && Parker::current().is_thread(),
            backoff: Backoff::new(),
        }
    }

    /// Spins once; `false` when it is time to park instead.
    #[inline]
    pub(crate) fn spin(&self) -> bool {
        if !self.enabled || self.backoff.spin_is_completed() {
            return false;
        }
        self.backoff.spin();
        true
    }

    /// Starts again, e.g. after a wake-up.
    #[inline]
    pub(crate) fn reset(&self) {
        self.backoff.reset();
    }
}

/// Longest an idle worker with parked goroutines spins before it sleeps
/// ([`WorkerSpin::idle`]). Long enough to cover another worker's reply in a
/// ping-pong (a hop plus two cache-line transfers, well under a
/// microsecond) with room for a slow spell; short enough that a worker
/// whose goroutines wait for something slow wastes only a few microseconds
/// per idle period, far less than the futex round trip (about 8 us each
/// way) it saves when it works.
#[cfg(not(loom))] // The runtime is not built under loom.
const WORKER_SPIN_FOR: Duration = Duration::from_micros(50);

/// How long an idle worker with parked goroutines watches its inbox before
/// it starts searching ([`WorkerSpin::watch_inbox`]): about ten cross-core
/// round trips on these machines, enough for the other worker's reply in a
/// ping-pong; short enough that stealable work pushed meanwhile (which
/// wakes nobody while every worker is awake) waits only a moment for a
/// searcher.
#[cfg(not(loom))] // The runtime is not built under loom.
const WORKER_WATCH_FOR: Duration = Duration::from_micros(4);

/// After this long, a spinning worker yields its OS thread between looks
/// (`sched_yield`) instead of only hinting: when another thread shares its
/// CPU (more busy threads than cores), that thread may be the very worker
/// whose reply it waits for, and pure spinning would hold it off for a
/// whole time slice. Go's spinning Ms likewise mix `procyield` and
/// `osyield`.
#[cfg(not(loom))] // The runtime is not built under loom.
const WORKER_SPIN_BEFORE_YIELD: Duration = Duration::from_micros(5);

/// An idle worker's time-bounded spin (the scheduler's own loop, never
/// inside a goroutine): [`WorkerSpin::HINTS_PER_LOOK`] cheap checks with a
/// spin-loop hint after each, then a look at the clock
/// ([`keep_going`](WorkerSpin::keep_going)); once the time is up the
/// worker searches or sleeps.
///
/// (Issue 15 tried making these yields follow [`ChanSpin`]'s slow-yield
/// rule: a slow yield made the worker sleep, and its next idle spins sleep
/// where they would yield. Under heavy load the lab's forced cross-worker
/// pingpong went from a median 7.9 to 6.1 us per round trip, but
/// `tests/runtime_deadlock.rs`'s `deadlock_after_activity` then hung in
/// about half the runs (the deadlock was never reported), so it was taken
/// out again. Why: a `blocking` job wakes its goroutine before its pool
/// thread lists itself idle, and a worker that slept at once could run the
/// deadlock check in between, find the pool busy, and nobody checked
/// again; the 50 us spin only hid that. Fixed in `runtime::blocking` (an
/// idle pool thread re-checks; `tests/regress_deadlock_missed_after_blocking_job.rs`):
/// with the fix and the rule, 10 of 10 runs passed, against 3 of 6 hung
/// without the fix.
///
/// The rule itself stays out, on a second measurement: on the shared
/// 2-core machine at load average 9 (other engineers' builds), five
/// interleaved pairs of 1 s child runs of the forced `baton-chan` pingpong
/// (`baton-lab child --experiment goroutines --case pingpong --impl
/// baton-chan --threads 2 --seconds 1`) gave 8-67 us per round trip
/// without it and 6-294 us with it: no better, and sometimes far worse.
/// What the profile of those runs says (issue 15): the pinned workers
/// hardly ever sleep (0.003 futex calls per round trip, 0.03-0.18 yields);
/// the process gets about 0.4 of a CPU, and a round trip happens only
/// while both workers are on their CPUs at once (median 1.6 us, mean 6-9
/// us: rare millisecond gaps when one is descheduled). Sleeping instead
/// costs a cross-CPU futex wake on every hop, which in these KVM guests
/// costs far more than it does between two unpinned threads (with the
/// spins set to zero for a test: 137-363 us per round trip, 18-33 us of
/// CPU, against 1.8 us for two OS threads, which Linux may stack on one
/// CPU). So neither spinning nor sleeping pinned workers reaches the OS
/// threads' row under load; the open idea is a worker that notices it was
/// descheduled mid-spin (a gap between two looks at the clock) and only
/// then sleeps.)
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct WorkerSpin {
    start: Instant,
    limit: Duration,
    /// From this point on each look yields the OS thread.
    yield_after: Option<Duration>,
}

#[cfg(not(loom))]
impl WorkerSpin {
    /// Spin-loop hints between two looks at the clock.
    pub(crate) const HINTS_PER_LOOK: u32 = 64;

    /// Watching the inbox before searching: 4 us, never yields.
    #[inline]
    pub(crate) fn watch_inbox() -> Self {
        Self {
            start: Instant::now(),
            limit: WORKER_WATCH_FOR,
            yield_after: None,
        }
    }

    /// Spinning for a wake-up before sleeping: 50 us, yielding from 5 us.
    #[inline]
    pub(crate) fn idle() -> Self {
        Self {
            start: Instant::now(),
            limit: WORKER_SPIN_FOR,
            yield_after: Some(WORKER_SPIN_BEFORE_YIELD),
        }
    }

    /// One batch: runs `found` up to [`HINTS_PER_LOOK`](Self::HINTS_PER_LOOK)
    /// times with a spin-loop hint after each miss; `true` as soon as it
    /// returns `true`.
    #[inline]
    pub(crate) fn hints(&self, mut found: impl FnMut() -> bool) -> bool {
        for _ in 0..Self::HINTS_PER_LOOK {
            if found() {
                return true;
            }
            shim::spin_loop();
        }
        false
    }

    /// The look at the clock after a batch: `false` once the time is up;
    /// otherwise yields the OS thread if the spin has gone on long enough,
    /// and returns `true`.
    #[inline]
    pub(crate) fn keep_going(&self) -> bool {
        let spun = self.start.elapsed();
        if spun >= self.limit {
            return false;
        }
        if self.yield_after.is_some_and(|y| spun >= y) {
            shim::yield_now();
        }
        true
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn mutex_spin_parks_after_three_rounds() {
        let mut s = MutexSpin::new();
        assert!(s.spin() && s.spin() && s.spin());
        assert!(!s.spin(), "three rounds, then park");
        assert!(!s.spin(), "stays done");
    }

    #[test]
    fn snooze_spin_completes_like_backoff() {
        let s = SnoozeSpin::new();
        let mut n = 0;
        while s.snooze() {
            n += 1;
            assert!(n < 100, "never completed");
        }
        // `Backoff::is_completed` after 11 snoozes.
        assert_eq!(n, 11);
        assert!(!s.spinning());
    }

    #[test]
    fn thread_spin_spins_only_in_threads_and_is_bounded() {
        let s = ThreadSpin::new();
        let mut n = 0;
        while s.spin() {
            n += 1;
            assert!(n < 100, "never completed");
        }
        // `Backoff::spin` steps 0..=6.
        assert_eq!(n, 7);
        s.reset();
        assert!(s.spin(), "reset starts again");
    }

    #[test]
    fn chan_spin_in_a_thread_spins_then_stops() {
        let mut s = ChanSpin::new(None);
        let mut n = 0;
        while s.next() {
            n += 1;
            assert!(n <= SPIN_STEPS + YIELD_STEPS, "spun past its steps");
        }
        assert!(n >= SPIN_STEPS, "the pure spin steps always run");
        assert!(!s.next(), "stays done");
    }

    #[test]
    fn worker_spin_watch_ends_without_finding() {
        let s = WorkerSpin::watch_inbox();
        let mut looks = 0u32;
        loop {
            assert!(!s.hints(|| false));
            looks += 1;
            if !s.keep_going() {
                break;
            }
            assert!(looks < 100_000_000, "never timed out");
        }
        let mut calls = 0;
        assert!(s.hints(|| {
            calls += 1;
            calls == 3
        }));
        assert_eq!(calls, 3, "stops at the first hit");
    }
}
