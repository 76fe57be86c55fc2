//! `goroutines`: what a goroutine costs — to start and join, to switch to
//! (a token bounced between two, or passed around a ring), and to keep
//! parked — on baton's runtime, on OS threads, on `may`, and in Go.
//!
//! These cases measure a scheduler, so each implementation times itself
//! (see [`timed`]) instead of using the runner's worker threads, and the
//! "threads" column means **scheduler threads**: baton's workers, `may`'s
//! workers, Go's `GOMAXPROCS`. OS-thread rows use as many threads as the
//! case needs, whatever the column says. In `idle-memory` the column is the
//! number of idle goroutines instead.
//!
//! How each peer blocks, and why:
//!
//! - `baton-chan` uses unbuffered (rendezvous) channels, `baton::chan`,
//!   exactly as Go does: the like-for-like row.
//! - `baton` parks through its public `sync::Mutex` + `sync::Cond` (the park
//!   layer itself is crate-internal): a hop is a lock, a signal and a wait,
//!   the shape of a hand-off written with Go's `sync.Cond`.
//! - OS threads and `may` use their cheapest hand-off, a bare
//!   `park`/`unpark` with an atomic flag (`std::thread::park`,
//!   `may::coroutine::park`).
//! - Go uses unbuffered channels, its idiom.
//!
//! Pingpong on two scheduler threads has two baton rows with channels:
//! `baton-chan` forces the players onto different workers (the worst case,
//! kept to watch the cross-worker wake-up), and `baton-chan-natural` lets
//! baton place them, as Go and `may` place theirs (the like-for-like row).
//! The forced rows do not measure the same thing as the peers'. Go puts a
//! goroutine woken by a channel in the waker's own `runnext` slot, and
//! `may` queues it on the waker's worker, so their two players end up
//! taking turns on one thread and the second one idles. baton's goroutines
//! never change thread once started, and its forced rows put the two
//! players on different workers, so every hop crosses cores: its
//! floor is the machine's cache-line round trip (about 0.4-0.5 us between
//! the two cores of the lab's 2-core VMs, measured with two threads
//! bouncing one atomic), above Go's whole round trip there.
//!
//! `may`'s scheduler is one per process and configured before first use,
//! so its rows run in child processes (see `crate::child`), as do all
//! `idle-memory` rows, whose figure is a resident-set difference.
//!
//! Sizes respect each runtime's limits: `may` panics past 32,743 live
//! coroutines (two mappings each against `vm.max_map_count`), and baton
//! counts every spawned, unfinished goroutine against the same cap (about
//! 31k by default); so spawn-join works in waves of [`WAVE`] and the ring
//! has [`RING`] members.

use super::{Big, Case, Experiment, Impl};
use crate::runner::{Latencies, Sample, Spec};
use std::time::{Duration, Instant};

mod on_baton;
mod on_may;
mod on_threads;

/// Goroutines started before joining them all (spawn-join).
pub(crate) const WAVE: usize = 10_000;

/// OS threads started before joining them all (spawn-join).
pub(crate) const THREAD_WAVE: usize = 2_000;

/// Members of the ring a token travels around.
///
/// Every ring implementation passes the token once around, untimed, before
/// it measures: the case is about hops, and a member's first hop would
/// otherwise include starting it. Where that cost lands differs by design
/// (Go and `may` allocate a goroutine's stack when it is spawned, baton when
/// a worker first runs it, so that stealing moves no stack), and with
/// 10k members a cold first lap (fresh stacks: an `mmap`, an `mprotect` and
/// a page fault each) takes longer than a whole `--quick` measurement.
/// Starting goroutines is what `spawn-join` and `idle-memory` measure.
pub(crate) const RING: usize = 10_000;

/// `--big`: one million idle goroutines (baton and Go; `may` stops at
/// about 32k live coroutines). A baton goroutine's stack takes two memory
/// mappings, so this needs `vm.max_map_count` raised (the lab checks first).
const BIG_IDLE: Big = Big {
    threads: &[1_000_000],
    skip: &["may"],
    maps_per_thread: 2,
};

/// Round trips between two looks at the clock (pingpong).
pub(crate) const TRIPS_PER_CHECK: u64 = 256;

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "goroutines",
        claim: "baton's goroutines start, switch and idle as cheaply as Go's, and far more cheaply than OS threads",
        cases: vec![
            Case {
                name: "spawn-join",
                about: "one op = one goroutine started (trivial job) and joined; waves of 10k \
                        (OS threads: 2k) spawned from a goroutine, then joined; threads = scheduler threads",
                threads: &[1, 2],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("baton", "baton::go from the main goroutine, JoinHandle::join", on_baton::spawn_join),
                    Impl::native("os-thread", "std::thread::spawn + join, 2k at a time", on_threads::spawn_join),
                    Impl::child("may", "may::go! from a coroutine, JoinHandle::join (child process)", on_may::spawn_join),
                    Impl::go("go", "Go: go func + sync.WaitGroup"),
                ],
            },
            Case {
                name: "pingpong",
                about: "one op = one round trip of a token between two goroutines; threads = scheduler \
                        threads (baton and baton-chan on 2: the two are forced onto different workers, pinned \
                        to CPUs, the worst case; baton-chan-natural leaves the placement to baton, as Go and \
                        may leave it to theirs)",
                threads: &[1, 2],
                latency: true,
                big: None,
                impls: vec![
                    Impl::native("baton", "baton::sync::Mutex + Cond hand-off", on_baton::pingpong),
                    Impl::native("baton-chan", "two rendezvous channels (baton::chan), as Go; forced apart on 2", on_baton::pingpong_chan),
                    Impl::native("baton-chan-natural", "two rendezvous channels, placed by baton (like for like with Go and may)", on_baton::pingpong_chan_natural),
                    Impl::native("os-thread", "two threads, std::thread::park/unpark", on_threads::pingpong),
                    Impl::child("may", "two coroutines, may::coroutine::park/unpark (child process)", on_may::pingpong),
                    Impl::go("go", "Go: unbuffered channels, GOMAXPROCS = threads"),
                ],
            },
            Case {
                name: "ring",
                about: "one op = one hop of a token around 10k goroutines, each woken by its predecessor \
                        (after one untimed lap that starts them all); threads = scheduler threads",
                threads: &[1, 2],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("baton", "per-member Mutex + Cond slot", on_baton::ring),
                    Impl::native("baton-chan", "one rendezvous channel (baton::chan) per member, as Go", on_baton::ring_chan),
                    Impl::child("may", "per-member atomic slot + park/unpark (child process)", on_may::ring),
                    Impl::go("go", "Go: one unbuffered channel per member"),
                ],
            },
            Case {
                name: "idle-memory",
                about: "rss_bytes = resident memory per parked goroutine (child process); threads = number \
                        of goroutines; one op = one goroutine started until parked; `--big` adds 1M \
                        (baton and Go, once; needs vm.max_map_count raised)",
                threads: &[10_000, 30_000],
                latency: false,
                big: Some(BIG_IDLE),
                impls: vec![
                    Impl::child("baton", "goroutines waiting on a baton::sync::WaitGroup", on_baton::idle_memory),
                    Impl::child("may", "coroutines in may::coroutine::park", on_may::idle_memory),
                    Impl::go("go", "Go: goroutines blocked on a channel receive"),
                ],
            },
        ],
    }
}

/// Calls `round` until `seconds` have passed (at least once) and sums the
/// ops the rounds report.
pub(crate) fn timed(seconds: f64, mut round: impl FnMut() -> u64) -> Sample {
    let limit = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut ops = 0;
    loop {
        ops += round();
        let elapsed = start.elapsed();
        if elapsed >= limit {
            return Sample {
                ops,
                elapsed,
                ..Sample::default()
            };
        }
    }
}

/// Of the round trips between looks at the clock, one in this many is
/// timed when the case samples latency.
const TRIPS_PER_SAMPLE: u64 = 16;

/// [`timed`] over rounds of [`TRIPS_PER_CHECK`] calls of `trip` (one round
/// trip each, the op), timing every [`TRIPS_PER_SAMPLE`]th trip when
/// `spec.latency` asks (two clock reads, tens of ns, against a trip of
/// hundreds or more) and filling the sample's p50/p99 from them.
pub(crate) fn timed_trips(spec: &Spec, mut trip: impl FnMut()) -> Sample {
    let mut latencies = Latencies::new(spec.latency);
    let mut sample = timed(spec.seconds, || {
        for i in 0..TRIPS_PER_CHECK {
            if i % TRIPS_PER_SAMPLE == 0 {
                latencies.time(&mut trip);
            } else {
                trip();
            }
        }
        TRIPS_PER_CHECK
    });
    (sample.p50_ns, sample.p99_ns) = Latencies::percentiles([latencies]);
    sample
}

/// Resident-memory growth per goroutine: `(after - before) / count`.
pub(crate) fn per_goroutine(before: u64, after: u64, count: usize) -> u64 {
    after.saturating_sub(before) / count.max(1) as u64
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn spec(threads: usize) -> Spec {
        Spec {
            threads,
            seconds: 0.02,
            latency: false,
        }
    }

    #[test]
    fn timed_runs_at_least_once_and_sums() {
        let s = timed(0.0, || 7);
        assert_eq!(s.ops, 7);
        let s = timed(0.01, || 1);
        assert!(s.ops >= 1 && s.elapsed >= Duration::from_millis(10));
    }

    #[test]
    fn timed_trips_samples_one_trip_in_sixteen_when_asked() {
        let mut trips = 0u64;
        let s = timed_trips(&spec(1), || trips += 1);
        assert_eq!(s.ops, trips);
        assert_eq!(s.ops % TRIPS_PER_CHECK, 0);
        assert_eq!((s.p50_ns, s.p99_ns), (None, None), "latency off");
        let sampled = Spec {
            latency: true,
            ..spec(1)
        };
        let s = timed_trips(&sampled, std::thread::yield_now);
        let (p50, p99) = (s.p50_ns.unwrap(), s.p99_ns.unwrap());
        assert!(p50 > 0.0 && p50 <= p99, "{p50} {p99}");
    }

    #[test]
    fn per_goroutine_never_underflows() {
        assert_eq!(per_goroutine(100, 50, 10), 0);
        assert_eq!(per_goroutine(0, 4096 * 10, 10), 4096);
        assert_eq!(per_goroutine(0, 10, 0), 10);
    }

    /// Runs `f` on its own thread and fails if it takes over a minute (a
    /// lost wake-up would otherwise hang the test run).
    fn within(what: &str, f: impl FnOnce() + Send + 'static) {
        let (tx, rx) = std::sync::mpsc::channel();
        let t = std::thread::spawn(move || {
            f();
            let _ = tx.send(());
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(()) => t.join().unwrap(),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                if let Err(p) = t.join() {
                    std::panic::resume_unwind(p);
                }
            }
            Err(_) => panic!("{what} hung for a minute"),
        }
    }

    // The native implementations, briefly, on both worker counts (the
    // child-process ones run through the lab binary, not here).
    #[test]
    fn baton_cases_run() {
        within("baton cases", || {
            for threads in [1, 2] {
                assert!(on_baton::spawn_join(&spec(threads)).ops >= WAVE as u64);
                assert!(on_baton::pingpong(&spec(threads)).ops >= TRIPS_PER_CHECK);
                assert!(on_baton::ring(&spec(threads)).ops >= RING as u64);
                assert!(on_baton::pingpong_chan(&spec(threads)).ops >= TRIPS_PER_CHECK);
                assert!(on_baton::pingpong_chan_natural(&spec(threads)).ops >= TRIPS_PER_CHECK);
                assert!(on_baton::ring_chan(&spec(threads)).ops >= RING as u64);
            }
        });
    }

    #[test]
    fn thread_cases_run() {
        within("thread cases", || {
            assert!(on_threads::spawn_join(&spec(1)).ops >= THREAD_WAVE as u64);
            assert!(on_threads::pingpong(&spec(1)).ops >= TRIPS_PER_CHECK);
        });
    }

    /// The child-process implementations, run here in-process, briefly
    /// (`may` keeps the worker count its first use saw; the lab's own runs
    /// are each in a fresh process).
    #[test]
    fn child_cases_run() {
        within("child cases", || {
            assert!(on_may::spawn_join(&spec(2)).ops >= WAVE as u64);
            assert!(on_may::pingpong(&spec(2)).ops >= TRIPS_PER_CHECK);
            assert!(on_may::ring(&spec(2)).ops >= RING as u64);
            let s = on_may::idle_memory(&spec(1000));
            assert_eq!(s.ops, 1000);
            assert!(s.rss_bytes.is_some());
            let s = on_baton::idle_memory(&spec(1000));
            assert_eq!(s.ops, 1000);
            assert!(s.rss_bytes.is_some());
        });
    }
}
