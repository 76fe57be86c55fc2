//! How one figure is measured (and, in [`rounds`], how a case's
//! implementations take turns).
//!
//! ## One measurement ([`measure`])
//!
//! 1. The implementation builds fresh state before anything is timed.
//! 2. `threads` worker threads start, each builds its own op (a closure that
//!    may hold per-thread state, such as an id batch) and waits at a barrier
//!    with the main thread and any background threads.
//! 3. Released together, each worker runs its op in batches of [`BATCH`] and
//!    looks at a stop flag only between batches, so the look costs nothing
//!    measurable; it notes when it started and when it stopped.
//! 4. The main thread sleeps `seconds`, raises the flag and joins everyone.
//! 5. The figure is the sum of all workers' ops over the span from the first
//!    worker's start to the last worker's stop: aggregate throughput, so
//!    `ns_per_op = 1e9 / ops_per_sec` is the cost of one op to the whole
//!    machine, not one thread's latency.
//!
//! Background threads (a writer the readers race with, say) run untimed from
//! the barrier until the flag rises; their work is not counted.
//!
//! Each worker also reads how long the kernel actually ran it
//! (`/proc/thread-self/schedstat`, Linux), so the lab can say how much of
//! the machine the workers got: on a machine busy with other work, threads
//! seldom run at the same time, and contention is understated.
//!
//! With latency sampling on, each worker also times the first op of every
//! batch with [`Instant`] (two clock reads, about 20-50 ns, added to one op
//! in [`BATCH`] for every implementation alike) and the figure carries the
//! median and 99th percentile of those samples.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use baton::atomic::CachePadded;

mod rounds;

pub(crate) use rounds::{figure, interleave, median, Figure};

/// Ops a worker runs between looks at the stop flag.
pub(crate) const BATCH: u64 = 64;

/// Latency samples kept per worker; later batches are not sampled.
const MAX_SAMPLES_PER_WORKER: usize = 1 << 16;

/// What one measurement is asked to do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Spec {
    /// Worker threads (oversubscribed when above the core count).
    pub(crate) threads: usize,
    /// How long the workers run.
    pub(crate) seconds: f64,
    /// Whether to sample per-op latency.
    pub(crate) latency: bool,
}

/// The result of one measurement.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Sample {
    /// Ops completed by all workers together.
    pub(crate) ops: u64,
    /// First worker's start to last worker's stop.
    pub(crate) elapsed: Duration,
    /// Median sampled op latency, when sampled.
    pub(crate) p50_ns: Option<f64>,
    /// 99th percentile sampled op latency, when sampled.
    pub(crate) p99_ns: Option<f64>,
    /// Resident memory, where the case measures it.
    pub(crate) rss_bytes: Option<u64>,
    /// The fraction of the CPU time the workers could have had that they
    /// got (on-CPU time over `elapsed * min(threads, cores - background)`),
    /// where the OS tells.
    pub(crate) cpu_share: Option<f64>,
    /// The thread count actually measured, where the case had to measure
    /// fewer than asked (`conns` under a descriptor limit it may not
    /// raise); the row reports this count instead of the asked one.
    pub(crate) scaled_threads: Option<usize>,
}

impl Sample {
    /// Aggregate throughput.
    pub(crate) fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What each worker hands back.
struct WorkerResult {
    ops: u64,
    start: Instant,
    end: Instant,
    samples: Vec<u64>,
    on_cpu_ns: Option<u64>,
}

/// Measures `spec.threads` workers running the op that `worker(state, i)`
/// builds for worker `i`; see the module docs for the method.
pub(crate) fn measure<'s, S, W, F>(spec: &Spec, state: &'s S, worker: W) -> Sample
where
    S: Sync,
    W: Fn(&'s S, usize) -> F + Sync,
    F: FnMut(),
{
    measure_with_background(spec, state, 0, |_: &S, _: &AtomicBool| {}, worker)
}

/// Like [`measure`], with `background` untimed threads, each running
/// `background_fn(state, stop)` until `stop` is raised (it must return
/// promptly once it is).
pub(crate) fn measure_with_background<'s, S, B, W, F>(
    spec: &Spec,
    state: &'s S,
    background: usize,
    background_fn: B,
    worker: W,
) -> Sample
where
    S: Sync,
    B: Fn(&'s S, &AtomicBool) + Sync,
    W: Fn(&'s S, usize) -> F + Sync,
    F: FnMut(),
{
    assert!(
        spec.threads > 0,
        "a measurement needs at least one worker thread"
    );
    let stop = CachePadded::new(AtomicBool::new(false));
    let barrier = Barrier::new(spec.threads + background + 1);
    let results: Vec<WorkerResult> = thread::scope(|scope| {
        let (stop, barrier, worker, background_fn) = (&*stop, &barrier, &worker, &background_fn);
        for _ in 0..background {
            scope.spawn(move || {
                barrier.wait();
                background_fn(state, stop);
            });
        }
        let workers: Vec<_> = (0..spec.threads)
            .map(|i| {
                scope.spawn(move || {
                    // A panic while building the op must still reach the
                    // barrier, or everyone else would wait there forever.
                    let op = panic::catch_unwind(AssertUnwindSafe(|| worker(state, i)));
                    barrier.wait();
                    match op {
                        Ok(op) => run_worker(op, stop, spec.latency),
                        Err(payload) => panic::resume_unwind(payload),
                    }
                })
            })
            .collect();
        barrier.wait();
        thread::sleep(Duration::from_secs_f64(spec.seconds));
        // Relaxed: the flag carries no data; the joins below order the
        // workers' results before our reads of them.
        stop.store(true, Relaxed);
        workers
            .into_iter()
            .map(|w| w.join().expect("a lab worker thread panicked"))
            .collect()
    });
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let usable = spec.threads.min(cores.saturating_sub(background)).max(1);
    summarise(results, usable)
}

/// The worker loop: batches of ops until the flag rises.
fn run_worker<F: FnMut()>(mut op: F, stop: &AtomicBool, latency: bool) -> WorkerResult {
    let mut ops = 0;
    let mut samples = Vec::new();
    let cpu_before = on_cpu_ns();
    let start = Instant::now();
    if latency {
        samples.reserve(MAX_SAMPLES_PER_WORKER);
        loop {
            for i in 0..BATCH {
                // One call site for the op, so that it is inlined as in the
                // plain loop; the branch is predicted perfectly.
                let t = (i == 0 && samples.len() < MAX_SAMPLES_PER_WORKER).then(Instant::now);
                op();
                if let Some(t) = t {
                    samples.push(t.elapsed().as_nanos() as u64);
                }
            }
            ops += BATCH;
            if stop.load(Relaxed) {
                break;
            }
        }
    } else {
        loop {
            for _ in 0..BATCH {
                op();
            }
            ops += BATCH;
            if stop.load(Relaxed) {
                break;
            }
        }
    }
    let end = Instant::now();
    WorkerResult {
        ops,
        start,
        end,
        samples,
        on_cpu_ns: on_cpu_ns()
            .zip(cpu_before)
            .map(|(b, a)| b.saturating_sub(a)),
    }
}

/// Nanoseconds the calling thread has spent on a CPU (Linux only).
fn on_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Totals the workers' results; `usable` is how many cores they could
/// have had between them.
fn summarise(results: Vec<WorkerResult>, usable: usize) -> Sample {
    let first = results.iter().map(|r| r.start).min().expect("no workers");
    let last = results.iter().map(|r| r.end).max().expect("no workers");
    let ops = results.iter().map(|r| r.ops).sum();
    let on_cpu_ns: Option<u64> = results.iter().map(|r| r.on_cpu_ns).sum();
    let mut samples: Vec<u64> = results.into_iter().flat_map(|r| r.samples).collect();
    samples.sort_unstable();
    let elapsed = last - first;
    let possible_ns = elapsed.as_nanos() as f64 * usable as f64;
    Sample {
        ops,
        elapsed,
        p50_ns: percentile(&samples, 0.50),
        p99_ns: percentile(&samples, 0.99),
        rss_bytes: None,
        cpu_share: on_cpu_ns
            .filter(|_| possible_ns > 0.0)
            .map(|ns| ns as f64 / possible_ns),
        scaled_threads: None,
    }
}

/// Latency samples for a loop that times itself (instead of using
/// [`measure`]), taken the runner's way: call [`time`](Self::time) on the
/// first op of every batch; at most [`MAX_SAMPLES_PER_WORKER`] are kept.
#[derive(Debug, Default)]
pub(crate) struct Latencies {
    on: bool,
    samples: Vec<u64>,
}

impl Latencies {
    /// Sampling if `on` (the case's `latency`), otherwise free.
    pub(crate) fn new(on: bool) -> Self {
        Latencies {
            on,
            samples: Vec::new(),
        }
    }

    /// Runs `op`, timing it when sampling and the sample budget allows.
    #[inline]
    pub(crate) fn time<R>(&mut self, op: impl FnOnce() -> R) -> R {
        if !self.on || self.samples.len() >= MAX_SAMPLES_PER_WORKER {
            return op();
        }
        let t = Instant::now();
        let r = op();
        self.samples.push(t.elapsed().as_nanos() as u64);
        r
    }

    /// The p50 and p99 of every worker's samples together.
    pub(crate) fn percentiles(
        all: impl IntoIterator<Item = Latencies>,
    ) -> (Option<f64>, Option<f64>) {
        let mut v: Vec<u64> = all.into_iter().flat_map(|l| l.samples).collect();
        v.sort_unstable();
        (percentile(&v, 0.50), percentile(&v, 0.99))
    }
}

/// The `q` quantile of sorted `samples` (nearest rank), if any.
fn percentile(sorted: &[u64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1] as f64)
}
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::hint::black_box;
    use std::sync::atomic::AtomicU64;

    fn spec(threads: usize) -> Spec {
        Spec {
            threads,
            seconds: 0.02,
            latency: false,
        }
    }

    #[test]
    fn percentile_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.99), Some(99.0));
        assert_eq!(percentile(&[5], 0.99), Some(5.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn measure_counts_every_op_of_every_worker() {
        let done = AtomicU64::new(0);
        let built = AtomicU64::new(0);
        let sample = measure(&spec(3), &done, |done, _| {
            built.fetch_add(1, Relaxed);
            move || {
                black_box(done.fetch_add(1, Relaxed));
            }
        });
        assert_eq!(built.load(Relaxed), 3, "one op built per worker");
        assert_eq!(sample.ops, done.load(Relaxed));
        assert!(sample.ops >= 3 * BATCH, "each worker runs at least a batch");
        assert!(sample.elapsed > Duration::ZERO);
        assert_eq!(sample.p50_ns, None);
        if cfg!(target_os = "linux") {
            let share = sample.cpu_share.expect("schedstat on Linux");
            assert!(share > 0.0 && share < 1.5, "{share}");
        }
    }

    #[test]
    fn background_threads_run_until_stopped_and_are_not_counted() {
        let state = (AtomicU64::new(0), AtomicU64::new(0));
        let sample = measure_with_background(
            &spec(2),
            &state,
            1,
            |(_, bg), stop| {
                while !stop.load(Relaxed) {
                    bg.fetch_add(1, Relaxed);
                    thread::yield_now();
                }
            },
            |(ops, _), _| {
                move || {
                    ops.fetch_add(1, Relaxed);
                }
            },
        );
        assert!(state.1.load(Relaxed) > 0, "the background thread ran");
        assert_eq!(sample.ops, state.0.load(Relaxed));
    }

    #[test]
    fn latency_sampling_fills_percentiles() {
        let spec = Spec {
            latency: true,
            ..spec(2)
        };
        let sample = measure(&spec, &(), |_, _| || thread::yield_now());
        let (p50, p99) = (sample.p50_ns.unwrap(), sample.p99_ns.unwrap());
        assert!(p50 > 0.0 && p50 <= p99);
    }

    #[test]
    fn latencies_sample_only_when_on() {
        let mut off = Latencies::new(false);
        assert_eq!(off.time(|| 5), 5);
        assert_eq!(Latencies::percentiles([off]), (None, None));
        let (mut a, mut b) = (Latencies::new(true), Latencies::new(true));
        for _ in 0..10 {
            a.time(|| thread::sleep(Duration::from_micros(1)));
        }
        b.time(|| thread::sleep(Duration::from_millis(20)));
        assert_eq!(a.samples.len(), 10);
        let (p50, p99) = Latencies::percentiles([a, b]);
        let (p50, p99) = (p50.unwrap(), p99.unwrap());
        assert!(p50 >= 1_000.0 && p50 <= p99, "{p50} {p99}");
        assert!(
            p99 >= 20e6,
            "the slow sample is the 99th percentile of 11: {p99}"
        );
    }

    #[test]
    fn a_panic_while_building_an_op_fails_the_measurement_without_hanging() {
        let result = panic::catch_unwind(|| {
            measure(&spec(2), &(), |_, i| {
                assert!(i != 1, "worker 1 cannot build its op");
                || {}
            })
        });
        assert!(result.is_err());
    }

    #[test]
    fn workers_get_distinct_indices() {
        let seen: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
        measure(&spec(4), &seen, |seen, i| {
            seen[i].fetch_add(1, Relaxed);
            || {}
        });
        assert!(seen.iter().all(|s| s.load(Relaxed) == 1));
    }
}
