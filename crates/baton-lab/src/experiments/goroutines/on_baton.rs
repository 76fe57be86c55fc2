//! baton's side of the `goroutines` cases: each builds a runtime with
//! `spec.threads` workers and measures from its main goroutine, as a Go
//! program measures from `main`.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::chan;
use baton::sync::{Cond, Mutex, WaitGroup};

use super::{per_goroutine, timed, timed_trips, RING, WAVE};
use crate::runner::{Sample, Spec};

fn runtime(workers: usize) -> baton::runtime::Runtime {
    crate::experiments::runtime_builder()
        .workers(workers)
        .build()
}

/// Waves of [`WAVE`] goroutines, each returning its index, then joined.
pub(crate) fn spawn_join(spec: &Spec) -> Sample {
    let seconds = spec.seconds;
    runtime(spec.threads).run(move || {
        let mut handles = Vec::with_capacity(WAVE);
        timed(seconds, || {
            handles.extend((0..WAVE).map(|i| baton::go(move || black_box(i))));
            for h in handles.drain(..) {
                black_box(h.join().expect("a trivial goroutine panicked"));
            }
            WAVE as u64
        })
    })
}

/// Two players hitting a ball in turn: player 0 hits when the count of hits
/// is even, player 1 when it is odd. Each sleeps on its own `Cond`.
struct Court {
    rally: Mutex<Rally>,
    wake: [Cond; 2],
}

struct Rally {
    hits: u64,
    done: bool,
}

impl Court {
    fn new() -> Self {
        Court {
            rally: Mutex::new(Rally {
                hits: 0,
                done: false,
            }),
            wake: [Cond::new(), Cond::new()],
        }
    }

    /// Waits for `me`'s turn and hits; `false` once the rally is over.
    fn hit(&self, me: usize) -> bool {
        let mut g = self.rally.lock();
        while g.hits % 2 != me as u64 && !g.done {
            g = self.wake[me].wait(g);
        }
        if g.done {
            return false;
        }
        g.hits += 1;
        drop(g);
        self.wake[1 - me].signal();
        true
    }

    fn finish(&self) {
        self.rally.lock().done = true;
        self.wake[1].signal();
    }
}

/// One round trip = one hit each.
pub(crate) fn pingpong(spec: &Spec) -> Sample {
    let timing = *spec;
    let court = Arc::new(Court::new());
    let other = court.clone();
    two_players(
        spec,
        move || while other.hit(1) {},
        move || {
            let sample = timed_trips(&timing, || {
                court.hit(0);
            });
            court.finish();
            sample
        },
    )
}

/// One round trip = a send on `ping` and a receive on `pong`, two
/// rendezvous channels, with an echo goroutine (Go's `pingPong`).
pub(crate) fn pingpong_chan(spec: &Spec) -> Sample {
    let timing = *spec;
    let (ping_tx, ping_rx) = chan::rendezvous::<u64>();
    let (pong_tx, pong_rx) = chan::rendezvous::<u64>();
    two_players(
        spec,
        move || echo(&ping_rx, &pong_tx),
        move || trips(&timing, ping_tx, &pong_rx),
    )
}

/// The echo side of the channel ping-pongs: sends back what `ping` brings
/// until it closes.
fn echo(ping_rx: &chan::Receiver<u64>, pong_tx: &chan::Sender<u64>) {
    for v in ping_rx {
        if pong_tx.send(v).is_err() {
            return;
        }
    }
}

/// The measuring side of the channel ping-pongs: timed round trips, then
/// closes `ping` (so the echo goroutine returns).
fn trips(timing: &Spec, ping_tx: chan::Sender<u64>, pong_rx: &chan::Receiver<u64>) -> Sample {
    let mut i = 0u64;
    let sample = timed_trips(timing, || {
        i += 1;
        ping_tx.send(i).expect("the echo goroutine left");
        black_box(pong_rx.recv().expect("the echo goroutine left"));
    });
    drop(ping_tx);
    sample
}

/// [`pingpong_chan`] with the placement left to baton, as Go's and `may`'s
/// rows leave it to theirs: the echo goroutine is spawned and the main
/// goroutine starts sending at once, on an unpinned runtime. baton starts
/// a new goroutine on its spawner's worker unless it waits there past a
/// short grace (`sched::ring::Newest`), so the two usually share a worker,
/// as in Go. Where they land is recorded in nothing: the row measures what
/// a program written this way gets.
pub(crate) fn pingpong_chan_natural(spec: &Spec) -> Sample {
    let timing = *spec;
    runtime(spec.threads).run(move || {
        let (ping_tx, ping_rx) = chan::rendezvous::<u64>();
        let (pong_tx, pong_rx) = chan::rendezvous::<u64>();
        let echoer = baton::go(move || echo(&ping_rx, &pong_tx));
        let sample = trips(&timing, ping_tx, &pong_rx);
        echoer.join().expect("the echo goroutine panicked");
        sample
    })
}

/// Runs `other` in a second goroutine and `main` (which measures) in the
/// main goroutine, on a runtime of `spec.threads` workers. On two workers
/// `other` is started while the main goroutine keeps its worker busy, so it
/// starts (and, as started goroutines never migrate, stays) on the other
/// worker: every hop crosses workers. The workers are then pinned to CPUs
/// (`Builder::pin_workers`, as `may` pins its workers by default):
/// unpinned, Linux tends to stack two threads that wake each other on one
/// CPU, and every hop waits for a context switch.
fn two_players(
    spec: &Spec,
    other: impl FnOnce() + Send + 'static,
    main: impl FnOnce() -> Sample + Send + 'static,
) -> Sample {
    let apart = spec.threads > 1;
    let rt = crate::experiments::runtime_builder()
        .workers(spec.threads)
        .pin_workers(apart)
        .build();
    rt.run(move || {
        let started = Arc::new(AtomicBool::new(false));
        let other = {
            let started = started.clone();
            baton::go(move || {
                started.store(true, Release);
                other();
                std::thread::current().id()
            })
        };
        if apart {
            // Busy on purpose: this worker cannot start `other`.
            while !started.load(Acquire) {
                std::hint::spin_loop();
            }
        }
        let sample = main();
        let other_thread = other.join().expect("the second player panicked");
        if apart {
            assert_ne!(
                other_thread,
                std::thread::current().id(),
                "the two players were meant to run on different workers"
            );
        }
        sample
    })
}

/// A ring member's mailbox: 0 = empty.
struct Slot {
    token: Mutex<u64>,
    cond: Cond,
}

const STOP: u64 = u64::MAX;

impl Slot {
    fn take(&self) -> u64 {
        let mut g = self.token.lock();
        while *g == 0 {
            g = self.cond.wait(g);
        }
        core::mem::take(&mut *g)
    }

    fn give(&self, t: u64) {
        *self.token.lock() = t;
        self.cond.signal();
    }
}

/// [`RING`] members; the main goroutine is member 0 and counts laps.
pub(crate) fn ring(spec: &Spec) -> Sample {
    let seconds = spec.seconds;
    runtime(spec.threads).run(move || {
        let slots: Arc<Vec<Slot>> = Arc::new(
            (0..RING)
                .map(|_| Slot {
                    token: Mutex::new(0),
                    cond: Cond::new(),
                })
                .collect(),
        );
        let members: Vec<_> = (1..RING)
            .map(|i| {
                let slots = slots.clone();
                baton::go(move || loop {
                    let t = slots[i].take();
                    slots[(i + 1) % RING].give(t);
                    if t == STOP {
                        return;
                    }
                })
            })
            .collect();
        // One lap untimed, so every member has started (see `super::RING`).
        slots[1].give(1);
        slots[0].take();
        let sample = timed(seconds, || {
            slots[1].give(1);
            slots[0].take();
            RING as u64
        });
        slots[1].give(STOP);
        assert_eq!(slots[0].take(), STOP);
        for m in members {
            m.join().expect("a ring member panicked");
        }
        sample
    })
}

/// [`RING`] members, each receiving on its own rendezvous channel and
/// sending on the next one's (Go's `ring`); the main goroutine is member 0
/// and counts laps. Closing the first channel stops them in turn.
pub(crate) fn ring_chan(spec: &Spec) -> Sample {
    let seconds = spec.seconds;
    runtime(spec.threads).run(move || {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..RING).map(|_| chan::rendezvous::<u64>()).unzip();
        let mut txs: Vec<Option<chan::Sender<u64>>> = txs.into_iter().map(Some).collect();
        let mut rxs = rxs.into_iter();
        let last = rxs.next().expect("member 0's channel");
        let first = txs[1].take().expect("member 1's sender");
        let members: Vec<_> = rxs
            .enumerate()
            .map(|(k, rx)| {
                let tx = txs[(k + 2) % RING].take().expect("each sender once");
                baton::go(move || {
                    for t in &rx {
                        if tx.send(t).is_err() {
                            return;
                        }
                    }
                    // `tx` drops here: the next member's channel closes.
                })
            })
            .collect();
        // One lap untimed, so every member has started (see `super::RING`).
        first.send(1).expect("the ring broke");
        black_box(last.recv().expect("the ring broke"));
        let sample = timed(seconds, || {
            first.send(1).expect("the ring broke");
            black_box(last.recv().expect("the ring broke"));
            RING as u64
        });
        drop(first);
        assert!(last.recv().is_err(), "the ring closes in turn");
        for m in members {
            m.join().expect("a ring member panicked");
        }
        sample
    })
}

/// `spec.threads` goroutines parked on a `WaitGroup` (detached, as Go's
/// are), and the resident-set growth per goroutine.
pub(crate) fn idle_memory(spec: &Spec) -> Sample {
    let count = spec.threads;
    crate::experiments::runtime_builder().build().run(move || {
        // One goroutine through the whole path first, so that nothing
        // allocated once per runtime lands in the figure.
        baton::go(baton::yield_now).join().expect("warm-up");
        let gate = Arc::new(WaitGroup::new());
        gate.add(1);
        let finished = Arc::new(WaitGroup::new());
        finished.add(count as isize);
        let parked = Arc::new(AtomicUsize::new(0));
        let before = crate::child::rss_bytes();
        let start = Instant::now();
        for _ in 0..count {
            let (gate, finished, parked) = (gate.clone(), finished.clone(), parked.clone());
            drop(baton::go(move || {
                parked.fetch_add(1, Relaxed);
                gate.wait();
                finished.done();
            }));
        }
        while parked.load(Relaxed) < count {
            baton::time::sleep(Duration::from_millis(1));
        }
        let elapsed = start.elapsed();
        // Let the last ones reach their wait.
        baton::time::sleep(Duration::from_millis(20));
        let after = crate::child::rss_bytes();
        gate.done();
        finished.wait();
        Sample {
            ops: count as u64,
            elapsed,
            rss_bytes: Some(per_goroutine(before, after, count)),
            ..Sample::default()
        }
    })
}
