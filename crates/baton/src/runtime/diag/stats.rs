//! [`stats`]: counters about a runtime, cheap enough to keep always.
//!
//! ## Where each figure comes from
//!
//! | figure | kept as | written by |
//! |---|---|---|
//! | spawned goroutines | a [`ShardedCounter`](crate::atomic::ShardedCounter) in the runtime | any thread that spawns (`go` from outside the runtime too) |
//! | abandoned goroutines | an `AtomicU64` in the runtime | whoever drops an unstarted goroutine (shutdown only: rare) |
//! | switches, parks, steals, finished goroutines | one `AtomicU64` each per worker, in the worker's cache-padded shared part | that worker only |
//! | idle workers | the idle protocol's sleeper count | workers going to sleep and waking |
//! | long runs | an `AtomicU64` in the runtime | the `monitor` thread only |
//!
//! The per-worker counters have a single writer, so they are bumped with a
//! `Relaxed` load and store, not a read-modify-write: no locked instruction
//! on the switch path, and the line stays in the worker's cache until a
//! reader asks. (A `ShardedCounter` would cost an atomic add on a slot
//! picked per thread; per-worker counters need no slot choice at all.) Spawns
//! come from any thread, so they use the sharded counter.
//!
//! Reads are `Relaxed` snapshots, each counter read at a slightly different
//! moment: totals are exact once the runtime is quiet (which may be a
//! moment after `Runtime::run` returned: the main goroutine's worker
//! counts it finished just after handing over its result), and never decrease;
//! `live_goroutines` is computed from them and may be off by the few
//! goroutines starting or finishing while it is read.

use crate::shim::atomic::Ordering::Relaxed;

use crate::runtime::sched::shared::Shared;

/// A snapshot of a runtime's counters; see [`stats`].
///
/// ```
/// let rt = baton::runtime::Builder::new().workers(2).build();
/// rt.run(|| {
///     let hs: Vec<_> = (0..10).map(|_| baton::go(baton::yield_now)).collect();
///     for h in hs {
///         h.join().unwrap();
///     }
/// });
/// let s = rt.stats();
/// assert_eq!(s.workers, 2);
/// assert!(s.total_goroutines >= 11); // the ten, and the main goroutine
/// assert!(s.switches >= 20); // each started once and resumed after its yield
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Worker threads.
    pub workers: usize,
    /// Workers asleep (no goroutine to run).
    pub idle_workers: usize,
    /// Workers not asleep: running a goroutine, or looking for one.
    pub busy_workers: usize,
    /// Goroutines spawned and not finished (started or not).
    pub live_goroutines: u64,
    /// Goroutines spawned since the runtime started.
    pub total_goroutines: u64,
    /// Switches into a goroutine (each start and each resume).
    pub switches: u64,
    /// Successful steals of unstarted goroutines from another worker.
    pub steals: u64,
    /// Times a goroutine parked (suspended until woken or timed out).
    pub parks: u64,
    /// Times the monitor found a goroutine that had run longer than the
    /// threshold without parking or yielding (one per such spell, reported
    /// on standard error or held back by the rate limit; see
    /// [`Builder::long_run_threshold`](crate::runtime::Builder::long_run_threshold)).
    pub long_runs: u64,
}

impl Shared {
    /// A snapshot of this runtime's counters.
    pub(crate) fn stats(&self) -> Stats {
        let mut s = Stats {
            workers: self.workers.len(),
            idle_workers: self.idle.sleeping().min(self.workers.len()),
            ..Stats::default()
        };
        s.busy_workers = s.workers - s.idle_workers;
        let mut finished = 0;
        for w in self.workers.iter() {
            let c = &w.counters;
            s.switches += c.switches.load(Relaxed);
            s.parks += c.parks.load(Relaxed);
            s.steals += c.steals.load(Relaxed);
            finished += c.finished.load(Relaxed);
        }
        s.total_goroutines = self.stats.spawned.sum();
        s.long_runs = self.stats.long_runs.load(Relaxed);
        let ended = finished + self.stats.abandoned.load(Relaxed);
        s.live_goroutines = s.total_goroutines.saturating_sub(ended);
        s
    }
}

/// Counters of the calling goroutine's runtime (inside a
/// [`blocking`](crate::runtime::blocking()) job: of the runtime that submitted it),
/// or, from a plain thread, of the global runtime **if it has started**.
/// Reading never starts anything: before the global runtime's first use,
/// a plain thread gets [`Stats::default()`] (every figure zero, `workers`
/// too). (Starting it would also turn deadlock detection off for the rest
/// of the program: the detector cannot see what the global runtime's
/// worker threads might still do.) For a runtime built with a [`Builder`](crate::runtime::Builder),
/// use [`Runtime::stats`](crate::runtime::Runtime::stats).
///
/// ```
/// // From `main`, before any goroutine: nothing started, nothing counted.
/// let s = baton::runtime::stats();
/// assert_eq!(s.idle_workers + s.busy_workers, s.workers);
///
/// baton::go(|| {}).join().unwrap(); // starts the global runtime
/// let s = baton::runtime::stats();
/// assert!(s.workers >= 1);
/// assert!(s.total_goroutines >= 1);
/// ```
pub fn stats() -> Stats {
    match crate::runtime::spawn::owning_shared() {
        Some(shared) => shared.stats(),
        None => crate::runtime::rt::global_if_started().map_or_else(Stats::default, |g| g.stats()),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::runtime::tests::within;
    use crate::runtime::Builder;
    use std::time::Duration;

    #[test]
    fn counts_goroutines_switches_parks_and_steals() {
        within(60, "stats", || {
            let rt = Builder::new().workers(2).build();
            let before = rt.stats();
            assert_eq!(before.total_goroutines, 0);
            assert_eq!(before.live_goroutines, 0);
            rt.run(|| {
                let hs: Vec<_> = (0..200).map(|_| baton_go_sleepy()).collect();
                let mid = super::stats();
                assert!(mid.live_goroutines >= 1, "{mid:?}");
                for h in hs {
                    h.join().unwrap();
                }
            });
            // `run` returns as soon as the main goroutine's result is
            // delivered; its worker counts it finished a moment later
            // (totals are exact once the runtime is quiet).
            let mut s = rt.stats();
            while s.live_goroutines != 0 {
                std::thread::yield_now();
                s = rt.stats();
            }
            assert_eq!(s.total_goroutines, 201, "{s:?}");
            // Each sleeper parked at least once, and each goroutine was
            // switched into at least twice (start + resume after the park).
            assert!(s.parks >= 200, "{s:?}");
            assert!(s.switches >= 400, "{s:?}");
            assert_eq!(s.workers, 2);
            assert_eq!(s.idle_workers + s.busy_workers, 2);
        });
    }

    fn baton_go_sleepy() -> crate::runtime::JoinHandle<()> {
        crate::runtime::go(|| crate::time::sleep(Duration::from_millis(1)))
    }

    #[test]
    fn idle_runtime_reports_idle_workers() {
        within(60, "idle workers", || {
            let rt = Builder::new().workers(3).build();
            // Workers go to sleep shortly after start; wait for it.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            while rt.stats().idle_workers < 3 {
                assert!(std::time::Instant::now() < deadline, "workers never slept");
                std::thread::sleep(Duration::from_millis(5));
            }
            assert_eq!(rt.stats().busy_workers, 0);
        });
    }
}
