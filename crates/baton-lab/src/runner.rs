//! How one figure is measured, and how a case's implementations take turns.
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
//! With latency sampling on, each worker also times the first op of every
//! batch with [`Instant`] (two clock reads, about 20-50 ns, added to one op
//! in [`BATCH`] for every implementation alike) and the figure carries the
//! median and 99th percentile of those samples.
//!
//! ## One case ([`interleave`])
//!
//! For each thread count, the implementations run in rounds, interleaved
//! (A B C A B C ...), so that a slow spell of this shared machine hits all
//! of them alike; each reports the median of its rounds.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use baton::atomic::CachePadded;

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
                    let op = worker(state, i);
                    barrier.wait();
                    run_worker(op, stop, spec.latency)
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
    summarise(results)
}

/// The worker loop: batches of ops until the flag rises.
fn run_worker<F: FnMut()>(mut op: F, stop: &AtomicBool, latency: bool) -> WorkerResult {
    let mut ops = 0;
    let mut samples = Vec::new();
    let start = Instant::now();
    if latency {
        samples.reserve(MAX_SAMPLES_PER_WORKER);
        loop {
            if samples.len() < MAX_SAMPLES_PER_WORKER {
                let t = Instant::now();
                op();
                samples.push(t.elapsed().as_nanos() as u64);
            } else {
                op();
            }
            for _ in 1..BATCH {
                op();
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
    WorkerResult {
        ops,
        start,
        end: Instant::now(),
        samples,
    }
}

fn summarise(results: Vec<WorkerResult>) -> Sample {
    let first = results.iter().map(|r| r.start).min().expect("no workers");
    let last = results.iter().map(|r| r.end).max().expect("no workers");
    let ops = results.iter().map(|r| r.ops).sum();
    let mut samples: Vec<u64> = results.into_iter().flat_map(|r| r.samples).collect();
    samples.sort_unstable();
    Sample {
        ops,
        elapsed: last - first,
        p50_ns: percentile(&samples, 0.50),
        p99_ns: percentile(&samples, 0.99),
        rss_bytes: None,
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

/// The median of `values` (mean of the middle two for an even count).
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// Runs `rounds` rounds of `impls` implementations interleaved (A B C A B C
/// ...), calling `measure(i)` for implementation `i`, and returns each
/// implementation's samples. An implementation whose measurement fails
/// (`None`) sits out the rest of the rounds.
pub(crate) fn interleave<M>(impls: usize, rounds: usize, mut measure: M) -> Vec<Vec<Sample>>
where
    M: FnMut(usize) -> Option<Sample>,
{
    let mut samples = vec![Vec::with_capacity(rounds); impls];
    let mut failed = vec![false; impls];
    for _ in 0..rounds {
        for i in 0..impls {
            if failed[i] {
                continue;
            }
            match measure(i) {
                Some(s) => samples[i].push(s),
                None => failed[i] = true,
            }
        }
    }
    samples
}

/// The median figure of one implementation's rounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Figure {
    pub(crate) ops_per_sec: f64,
    pub(crate) p50_ns: Option<f64>,
    pub(crate) p99_ns: Option<f64>,
    pub(crate) rss_bytes: Option<u64>,
}

/// Medians of each field over `samples`; `None` when there are none.
pub(crate) fn figure(samples: &[Sample]) -> Option<Figure> {
    let per_sec: Vec<f64> = samples.iter().map(Sample::ops_per_sec).collect();
    let of = |f: fn(&Sample) -> Option<f64>| {
        let v: Vec<f64> = samples.iter().filter_map(f).collect();
        median(&v)
    };
    Some(Figure {
        ops_per_sec: median(&per_sec)?,
        p50_ns: of(|s| s.p50_ns),
        p99_ns: of(|s| s.p99_ns),
        rss_bytes: of(|s| s.rss_bytes.map(|b| b as f64)).map(|b| b as u64),
    })
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
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
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
    fn interleave_runs_a_b_c_a_b_c() {
        let mut order = Vec::new();
        let samples = interleave(3, 2, |i| {
            order.push(i);
            Some(Sample::default())
        });
        assert_eq!(order, [0, 1, 2, 0, 1, 2]);
        assert!(samples.iter().all(|s| s.len() == 2));
    }

    #[test]
    fn interleave_drops_an_impl_after_it_fails() {
        let mut order = Vec::new();
        let samples = interleave(3, 3, |i| {
            order.push(i);
            (i != 1).then(Sample::default)
        });
        assert_eq!(order, [0, 1, 2, 0, 2, 0, 2]);
        assert_eq!(samples.iter().map(Vec::len).collect::<Vec<_>>(), [3, 0, 3]);
    }

    #[test]
    fn figure_takes_medians() {
        let s = |ops, ms| Sample {
            ops,
            elapsed: Duration::from_millis(ms),
            p99_ns: Some(ops as f64),
            ..Sample::default()
        };
        let f = figure(&[s(100, 1000), s(300, 1000), s(200, 1000)]).unwrap();
        assert_eq!(f.ops_per_sec, 200.0);
        assert_eq!(f.p99_ns, Some(200.0));
        assert_eq!(f.p50_ns, None);
        assert_eq!(figure(&[]), None);
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
    fn workers_get_distinct_indices() {
        let seen: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
        measure(&spec(4), &seen, |seen, i| {
            seen[i].fetch_add(1, Relaxed);
            || {}
        });
        assert!(seen.iter().all(|s| s.load(Relaxed) == 1));
    }
}
