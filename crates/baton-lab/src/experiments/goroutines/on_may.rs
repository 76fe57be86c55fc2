//! The `may` peers. Each runs in a child process (`may`'s scheduler is
//! configured once per process) and measures from inside a coroutine, as
//! baton and Go measure from a goroutine.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use may::coroutine::{Coroutine, JoinHandle};

use super::{per_goroutine, timed, timed_trips, RING, WAVE};
use crate::runner::{Sample, Spec};

/// Starts a coroutine.
fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    // SAFETY: `may` marks spawning unsafe because a suspended coroutine may
    // resume on another thread, which is unsound for closures that keep a
    // thread-local's address or a `!Send` value across a switch. The
    // closures in this file keep neither: they hold only `Arc`s of
    // `Send + Sync` state, and call no thread-local code between switches.
    unsafe { may::coroutine::spawn(f) }
}

/// Runs `f` in a coroutine on `workers` workers and returns its result.
fn run<T: Send + 'static>(workers: usize, f: impl FnOnce() -> T + Send + 'static) -> T {
    may::config().set_workers(workers);
    spawn(f).join().expect("the measuring coroutine panicked")
}

/// Waves of [`WAVE`] coroutines, each returning its index, then joined.
pub(crate) fn spawn_join(spec: &Spec) -> Sample {
    let seconds = spec.seconds;
    run(spec.threads, move || {
        let mut handles = Vec::with_capacity(WAVE);
        timed(seconds, || {
            handles.extend((0..WAVE).map(|i| spawn(move || black_box(i))));
            for h in handles.drain(..) {
                black_box(h.join().expect("a trivial coroutine panicked"));
            }
            WAVE as u64
        })
    })
}

/// Hits so far (player 0 hits on even counts, player 1 on odd ones), the
/// end flag, and each player's handle.
struct Rally {
    hits: AtomicU64,
    done: AtomicBool,
    players: [OnceLock<Coroutine>; 2],
}

impl Rally {
    /// Waits (parked) for `me`'s turn and hits, waking the other player;
    /// `false` once the rally is over.
    fn hit(&self, me: usize) -> bool {
        loop {
            if self.done.load(Acquire) {
                return false;
            }
            let h = self.hits.load(Acquire);
            if h % 2 == me as u64 {
                self.hits.store(h + 1, Release);
                self.players[1 - me]
                    .get()
                    .expect("both players set")
                    .unpark();
                return true;
            }
            may::coroutine::park();
        }
    }
}

/// Two coroutines bouncing a token with `park`/`unpark`; one op = one
/// round trip. Where they run is `may`'s choice (its coroutines migrate).
pub(crate) fn pingpong(spec: &Spec) -> Sample {
    let spec = *spec;
    run(spec.threads, move || {
        let rally = Arc::new(Rally {
            hits: AtomicU64::new(0),
            done: AtomicBool::new(false),
            players: [OnceLock::new(), OnceLock::new()],
        });
        let _ = rally.players[0].set(may::coroutine::current());
        let other = {
            let rally = rally.clone();
            spawn(move || while rally.hit(1) {})
        };
        // Set before the first hit, which is the first use.
        let _ = rally.players[1].set(other.coroutine().clone());
        let sample = timed_trips(&spec, || {
            rally.hit(0);
        });
        rally.done.store(true, Release);
        rally.players[1].get().expect("set").unpark();
        other.join().expect("the second player panicked");
        sample
    })
}

const STOP: u64 = u64::MAX;

/// The ring's mailboxes (0 = empty) and every member's handle.
struct Ring {
    slots: Vec<AtomicU64>,
    members: OnceLock<Vec<Coroutine>>,
}

impl Ring {
    fn take(&self, i: usize) -> u64 {
        loop {
            let t = self.slots[i].swap(0, AcqRel);
            if t != 0 {
                return t;
            }
            may::coroutine::park();
        }
    }

    fn give(&self, i: usize, t: u64) {
        self.slots[i].store(t, Release);
        self.members
            .get()
            .expect("members known before the first token")[i]
            .unpark();
    }
}

/// [`RING`] coroutines; the measuring coroutine is member 0.
pub(crate) fn ring(spec: &Spec) -> Sample {
    let seconds = spec.seconds;
    run(spec.threads, move || {
        let ring = Arc::new(Ring {
            slots: (0..RING).map(|_| AtomicU64::new(0)).collect(),
            members: OnceLock::new(),
        });
        let handles: Vec<_> = (1..RING)
            .map(|i| {
                let ring = ring.clone();
                spawn(move || loop {
                    let t = ring.take(i);
                    ring.give((i + 1) % RING, t);
                    if t == STOP {
                        return;
                    }
                })
            })
            .collect();
        let members = std::iter::once(may::coroutine::current())
            .chain(handles.iter().map(|h| h.coroutine().clone()))
            .collect();
        let _ = ring.members.set(members);
        // One lap untimed, so every member has started (see `super::RING`).
        ring.give(1, 1);
        ring.take(0);
        let sample = timed(seconds, || {
            ring.give(1, 1);
            ring.take(0);
            RING as u64
        });
        ring.give(1, STOP);
        assert_eq!(ring.take(0), STOP);
        for h in handles {
            h.join().expect("a ring member panicked");
        }
        sample
    })
}

/// `spec.threads` coroutines parked, and the resident-set growth per
/// coroutine (its join handle, needed to wake it, included: about 32 bytes).
pub(crate) fn idle_memory(spec: &Spec) -> Sample {
    let count = spec.threads;
    // Warm up the scheduler (its threads and queues are made on first use).
    spawn(|| ()).join().expect("warm-up");
    let release = Arc::new(AtomicBool::new(false));
    let parked = Arc::new(AtomicUsize::new(0));
    let mut handles = Vec::with_capacity(count);
    let before = crate::child::rss_bytes();
    let start = Instant::now();
    for _ in 0..count {
        let (release, parked) = (release.clone(), parked.clone());
        handles.push(spawn(move || {
            parked.fetch_add(1, Relaxed);
            while !release.load(Acquire) {
                may::coroutine::park();
            }
        }));
    }
    while parked.load(Relaxed) < count {
        std::thread::sleep(Duration::from_millis(1));
    }
    let elapsed = start.elapsed();
    std::thread::sleep(Duration::from_millis(20));
    let after = crate::child::rss_bytes();
    release.store(true, Release);
    for h in &handles {
        h.coroutine().unpark();
    }
    for h in handles {
        h.join().expect("an idle coroutine panicked");
    }
    Sample {
        ops: count as u64,
        elapsed,
        rss_bytes: Some(per_goroutine(before, after, count)),
        ..Sample::default()
    }
}
