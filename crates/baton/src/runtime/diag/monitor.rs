//! The monitor (Go's `sysmon`): one thread per runtime that notices a
//! worker stuck in one goroutine, says so, and makes sure the goroutines
//! that *can* move do not wait for it.
//!
//! ## What it does
//!
//! Every tick it samples each worker's switch counter and the id of the
//! goroutine it runs (both already kept for stats and dumps, see
//! `WorkerShared`). When a worker shows the same counter and the same
//! running goroutine as in a sample taken at least the threshold
//! ([`DEFAULT_LONG_RUN`], set with `Builder::long_run_threshold`) ago, that
//! goroutine has run that long without parking, yielding or returning
//! (the counter moves on every switch). Then the monitor:
//!
//! - **reports it** on standard error, naming the goroutine, its spawn site
//!   and the worker — at most once per run-spell (until the worker
//!   switches again), and at most one line per [`REPORT_EVERY`] in the
//!   process, the next printed line saying how many were held back — and
//!   counts it in `Stats::long_runs` (every spell, printed or not);
//! - **wakes an idle worker** if the stuck worker's ring of unstarted
//!   goroutines, or the global queue, holds any: an idle worker may be
//!   asleep, and a sleeping worker steals nothing. Woken as a searcher (see
//!   `idle`), it steals them and runs them.
//!
//! ## What it does not do
//!
//! - **No preemption.** baton cannot interrupt a goroutine: the spinning one
//!   keeps its worker until it parks, yields or returns (Go preempts with a
//!   signal; a Rust goroutine interrupted at an arbitrary instruction could
//!   be holding a `RefCell` borrow or a thread-local across the switch,
//!   which the soundness rules forbid). The report tells the author to
//!   call `baton::yield_now()` in long loops, or to use `blocking`.
//! - **Started goroutines whose home is the stuck worker stay there**, even
//!   when they are woken: a started goroutine never changes OS thread (the
//!   soundness rule in the `runtime` docs), so they wait until the spinner
//!   lets go. Only unstarted goroutines (a `Send` closure) move.
//!
//! ## Cost
//!
//! Nothing on the switch path: no clock read per switch (Go's `schedtick`
//! and `schedwhen` scheme: the *monitor* notes when it first saw a counter
//! value). A switch already bumps the counter and stores the running id;
//! it also stores the running goroutine's spawn site (a `'static`
//! location, for the report) next to them — one plain store to a line the
//! worker owns.
//!
//! Ticks are `threshold / 2` (clamped to [`MIN_TICK`]..=[`MAX_TICK`]) while
//! some worker runs a goroutine, so a spell is seen between one threshold
//! and one threshold plus a tick after it began (the reported duration is
//! the time since the monitor first saw it: a lower bound). While no worker
//! runs anything, the sleep doubles up to [`IDLE_MAX_SLEEP`]: an idle
//! runtime's monitor wakes about 50 times a second for a few loads, well
//! under 0.1 % of a CPU. (Go's sysmon likewise backs off to 10 ms, and
//! parks while every P is idle. Parking on "all workers asleep" would need
//! a hook on the wake-up path of every worker, for a gain too small to
//! measure; rejected.) Shutdown unparks it at once.
//!
//! ## False reports
//!
//! The counter stands still also when the OS deschedules a worker thread
//! (a machine with more busy threads than CPUs) or a goroutine blocks its
//! worker in a system call (`std::thread::sleep`, file I/O, a `std` lock):
//! the report then names a goroutine that held its worker without running
//! — also worth knowing, since the worker's other goroutines waited either
//! way; the second case is what `blocking` is for.
//!
//! ## Deadlock detection
//!
//! The monitor never makes a goroutine runnable: it only wakes idle workers
//! to *search* for unstarted goroutines already queued. So it is one more
//! known thread in the deadlock rule's thread census (`deadlock`, rule 6),
//! not a possible waker; and since it acts only on a worker seen running,
//! while a deadlock needs every worker asleep, it cannot hide one: a worker
//! it wakes for nothing falls asleep again and re-runs the check.
//!
//! ## Memory orderings
//!
//! All loads of the sampled fields are `Relaxed`: they are single-writer
//! words read for a heuristic, and a report needs them to have stood still
//! for a whole threshold, long after the worker's stores became visible.
//! The spawn site read may in theory belong to a neighbouring spell of the
//! same worker (it is read without a consistent snapshot), which would name
//! the wrong site in a message; every value ever stored is a `'static`
//! location, so the read is always sound. The shutdown flag is read
//! `SeqCst`, after registering the wake-up token (see [`Monitor::stop`]).

use core::panic::Location;
use std::io;
use std::time::{Duration, Instant};

use crate::park::Unparker;
use crate::runtime::sched::shared::Shared;
use crate::shim::atomic::Ordering::{Relaxed, SeqCst};
use crate::shim::{lock, thread, Arc, Mutex};

/// How long a goroutine may run without parking or yielding before the
/// monitor reports it (Go preempts after the same 10 ms): long enough that
/// ordinary bursts of work between two channel operations stay under it,
/// short enough to name a goroutine that makes a worker's other goroutines
/// wait visibly.
pub(crate) const DEFAULT_LONG_RUN: Duration = Duration::from_millis(10);

/// Shortest tick, whatever the threshold: the monitor never polls faster.
const MIN_TICK: Duration = Duration::from_millis(1);

/// Longest tick while a goroutine runs.
const MAX_TICK: Duration = Duration::from_millis(10);

/// Longest sleep while no worker runs a goroutine (see the module docs).
const IDLE_MAX_SLEEP: Duration = Duration::from_millis(20);

/// At most one report line per this long in the whole process, so that a
/// program with many spinning goroutines is told, not flooded.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// A running monitor thread, owned by the `Runtime`.
#[derive(Debug)]
pub(crate) struct Monitor {
    thread: thread::JoinHandle<()>,
    wake: Arc<Mutex<Option<Unparker>>>,
}

/// Starts the monitor of `shared` if its config has a threshold.
pub(crate) fn start(shared: &Arc<Shared>) -> io::Result<Option<Monitor>> {
    let Some(threshold) = shared.config.long_run else {
        return Ok(None);
    };
    let wake = Arc::new(Mutex::new(None));
    let thread = {
        let (shared, wake) = (shared.clone(), wake.clone());
        thread::Builder::new()
            .name(format!("{}-monitor", shared.config.name))
            .spawn(move || monitor_main(&shared, threshold, &wake))?
    };
    Ok(Some(Monitor { thread, wake }))
}

/// Monitor threads of `shared` that exist while it is not shut down, for
/// the deadlock rule's thread census: one if it was built with a threshold.
pub(crate) fn threads(shared: &Shared) -> usize {
    usize::from(shared.config.long_run.is_some())
}

impl Monitor {
    /// Wakes the monitor after the runtime's shutdown flag was set, and
    /// joins it when `join` (not from one of the runtime's own goroutines:
    /// then it exits on its own, like the workers).
    ///
    /// No lost wake-up: the monitor registers its token under `wake`'s lock
    /// and reads the flag after; the dropper set the flag before it takes
    /// the lock. Either the dropper finds the token (and the park returns at
    /// once, a thread token being kept), or the monitor locked after it and
    /// sees the flag.
    pub(crate) fn stop(self, join: bool) {
        if let Some(t) = lock(&self.wake).as_ref() {
            t.unpark();
        }
        if join {
            // The monitor never panics; a panic would be a bug, reported
            // by its thread already.
            let _ = self.thread.join();
        }
    }
}

/// What the monitor last saw of one worker.
#[derive(Clone, Copy, Debug)]
struct Sample {
    switches: u64,
    /// Id of the running goroutine, 0 when none.
    running: u64,
    /// When the monitor first saw this (switches, running) pair.
    since: Instant,
    /// Whether this spell was reported.
    reported: bool,
}

fn monitor_main(shared: &Shared, threshold: Duration, wake: &Mutex<Option<Unparker>>) {
    *lock(wake) = Some(crate::park::current());
    let tick = (threshold / 2).clamp(MIN_TICK, MAX_TICK);
    let now = Instant::now();
    let mut samples = vec![
        Sample {
            switches: 0,
            running: 0,
            since: now,
            reported: false,
        };
        shared.workers.len()
    ];
    let mut sleep = tick;
    loop {
        if shared.shutdown.load(SeqCst) {
            return;
        }
        crate::park::park_timeout(sleep);
        if shared.shutdown.load(SeqCst) {
            return;
        }
        let busy = watch(shared, &mut samples, threshold);
        sleep = if busy {
            tick
        } else {
            (sleep * 2).min(IDLE_MAX_SLEEP)
        };
    }
}

/// One tick: samples every worker, reports and helps stuck ones. Returns
/// whether any worker was running a goroutine.
fn watch(shared: &Shared, samples: &mut [Sample], threshold: Duration) -> bool {
    let now = Instant::now();
    let mut busy = false;
    for (index, (w, s)) in shared.workers.iter().zip(samples.iter_mut()).enumerate() {
        // Relaxed: see the module docs.
        let switches = w.counters.switches.load(Relaxed);
        let running = w.running.load(Relaxed);
        busy |= running != 0;
        if running == 0 || switches != s.switches || running != s.running {
            *s = Sample {
                switches,
                running,
                since: now,
                reported: false,
            };
            continue;
        }
        let ran = now.saturating_duration_since(s.since);
        if ran < threshold {
            continue;
        }
        if !s.reported {
            s.reported = true;
            shared.stats.long_runs.fetch_add(1, Relaxed);
            let site = w.running_site.load(Relaxed);
            // SAFETY: `running_site` only ever holds null or a pointer made
            // from a `&'static Location<'static>` (see `Worker::resume`).
            let site = unsafe { site.as_ref() };
            report(&shared.config.name, index, running, site, ran);
        }
        // Unstarted goroutines stuck behind the spinner: make sure someone
        // is awake to steal them (`notify_one` wakes no one if a worker
        // already searches).
        if !w.steal.is_empty() || !shared.injector.is_empty() {
            shared.idle.notify_one();
        }
    }
    busy
}

/// The process-wide report limit.
#[derive(Debug)]
struct Limit {
    last: Option<Instant>,
    held_back: u64,
}

static LIMIT: Mutex<Limit> = Mutex::new(Limit {
    last: None,
    held_back: 0,
});

#[cold]
fn report(
    name: &str,
    worker: usize,
    id: u64,
    site: Option<&'static Location<'static>>,
    ran: Duration,
) {
    let now = Instant::now();
    let held_back = {
        let mut limit = lock(&LIMIT);
        if limit
            .last
            .is_some_and(|t| now.saturating_duration_since(t) < REPORT_EVERY)
        {
            limit.held_back += 1;
            return;
        }
        limit.last = Some(now);
        core::mem::take(&mut limit.held_back)
    };
    eprintln!("{}", message(name, worker, id, site, ran, held_back));
}

/// The report line (without a newline).
fn message(
    name: &str,
    worker: usize,
    id: u64,
    site: Option<&'static Location<'static>>,
    ran: Duration,
    held_back: u64,
) -> String {
    let site = site.map_or_else(|| "?".to_owned(), ToString::to_string);
    let mut line = format!(
        "baton: goroutine {id} (spawned at {site}) has run {} ms without yielding on worker \
         {name}-{worker}; goroutines waiting for that worker are delayed (baton does not preempt: \
         call baton::yield_now() in long loops)",
        ran.as_millis(),
    );
    if held_back > 0 {
        line.push_str(&format!(
            " [{held_back} similar report(s) held back in the last second]"
        ));
    }
    line
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::tests::within;
    use crate::runtime::Builder;

    #[test]
    fn message_names_goroutine_site_and_worker() {
        let site = Location::caller();
        let line = message("m", 0, 17, Some(site), DEFAULT_LONG_RUN, 0);
        assert!(line.starts_with(&format!(
            "baton: goroutine 17 (spawned at {site}) has run 10 ms without yielding on worker m-0;"
        )));
        assert!(line.contains("baton::yield_now()"), "{line}");
        let line = message("m", 0, 17, None, DEFAULT_LONG_RUN, 3);
        assert!(line.contains("(spawned at ?)"), "{line}");
        assert!(line.ends_with("[3 similar report(s) held back in the last second]"));
    }

    #[test]
    fn counts_a_spinning_goroutine_once() {
        within(60, "monitor counts", || {
            let rt = Builder::new()
                .workers(1)
                .long_run_threshold(Duration::from_millis(5))
                .build();
            let rt = std::sync::Arc::new(rt);
            let r2 = rt.clone();
            rt.run(move || {
                // Spin (no yield) until the monitor counted us.
                let start = Instant::now();
                while r2.stats().long_runs == 0 {
                    assert!(start.elapsed() < Duration::from_secs(30), "never reported");
                    core::hint::spin_loop();
                }
                // Keep spinning a while: still one spell, still one count.
                let more = Instant::now();
                while more.elapsed() < Duration::from_millis(30) {
                    core::hint::spin_loop();
                }
            });
            assert_eq!(rt.stats().long_runs, 1);
        });
    }

    /// Whether a thread of this process has this name.
    fn thread_named(name: &str) -> bool {
        std::fs::read_dir("/proc/self/task")
            .expect("/proc/self/task")
            .flatten()
            .any(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
    }

    #[test]
    fn one_thread_per_runtime_stopped_at_drop() {
        within(60, "monitor thread", || {
            let rt = Builder::new().workers(1).name("mon1").build();
            // A new thread names itself once it runs: wait for it.
            while !thread_named("mon1-monitor") {
                std::thread::sleep(Duration::from_millis(1));
            }
            drop(rt);
            assert!(!thread_named("mon1-monitor"), "joined at drop");
        });
    }

    #[test]
    fn off_means_no_thread_and_no_count() {
        within(60, "monitor off", || {
            let rt = Builder::new()
                .workers(1)
                .name("moff")
                .long_run_threshold(None)
                .build();
            // The worker has named itself once it ran the main goroutine.
            rt.run(|| ());
            assert!(thread_named("moff-0"));
            assert!(!thread_named("moff-monitor"));
            let rt = std::sync::Arc::new(rt);
            let r2 = rt.clone();
            rt.run(move || {
                let start = Instant::now();
                while start.elapsed() < Duration::from_millis(50) {
                    core::hint::spin_loop();
                }
                assert_eq!(r2.stats().long_runs, 0);
            });
            assert_eq!(rt.stats().long_runs, 0);
        });
    }
}
