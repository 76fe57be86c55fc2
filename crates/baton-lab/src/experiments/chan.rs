//! `chan`: channels between threads (and between goroutines), baton
//! against crossbeam-channel, flume, kanal, std's mpsc and Go.
//!
//! One op = one message received (for `pingpong`, one round trip). The
//! timed workers are the receivers (the ping side for `pingpong`); the
//! senders run untimed in the background, so the figure is the rate of
//! delivery. A worker that stops drops its receiver, which closes the
//! channel and lets blocked senders return, and vice versa.
//!
//! `baton-go` rows run the same workload with goroutines on a baton
//! runtime (two workers, or one for `pingpong`, where both goroutines
//! share it), measured by this file's own loop with the runner's method:
//! released together, stop flag checked between batches of
//! [`BATCH`], ops over the span, and, in the cases that sample latency
//! (`pingpong`, `select`), the first op of every batch timed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baton::atomic::CachePadded;

use super::{Case, Experiment, Impl};
use crate::runner::{measure_with_background, Latencies, Sample, Spec, BATCH};

/// Capacity of the bounded channels.
const CAP: usize = 1024;
/// Producers in `mpmc` and `select`.
const PRODUCERS: usize = 4;
/// An unbounded producer pauses once this many messages are in flight, so
/// a slow consumer does not turn the case into a memory test.
const UNBOUNDED_LAG: u64 = 1 << 16;

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "chan",
        claim: "baton's channels deliver at least as fast as the best Rust channels, and far faster than Go's",
        cases: vec![
            Case {
                name: "spsc",
                about: "one op = one message received; bounded(1024), 1 producer (background) and 1 consumer",
                threads: &[1],
                latency: false,
                big: None,
                impls: impls::<true>(spsc_case),
            },
            Case {
                name: "mpmc",
                about: "one op = one message received; bounded(1024), 4 producers (background), 4 consumers",
                threads: &[4],
                latency: false,
                big: None,
                impls: impls::<true>(mpmc_case),
            },
            Case {
                name: "unbounded",
                about: "one op = one message received; unbounded, 1 producer (background, pausing past 64Ki in flight) and 1 consumer",
                threads: &[1],
                latency: false,
                big: None,
                impls: impls::<false>(unbounded_case),
            },
            Case {
                name: "pingpong",
                about: "one op = one round trip over two rendezvous channels between two threads (baton-go: two goroutines on a one-worker runtime)",
                threads: &[1],
                latency: true,
                big: None,
                impls: impls::<true>(pingpong_case),
            },
            Case {
                name: "select",
                about: "one op = one message received by a select over 4 bounded(1024) channels, each fed by its own producer (background)",
                threads: &[1],
                latency: true,
                big: None,
                impls: vec![
                    Impl::native("baton", "baton::select! over 4 receivers", select_baton),
                    Impl::native("baton-go", "the same from goroutines (2-worker runtime)", select_baton_go),
                    Impl::native("crossbeam-channel", "crossbeam_channel::select! over 4 receivers", select_crossbeam),
                    Impl::native("flume", "flume::Selector over 4 receivers", select_flume),
                    Impl::go("go", "Go: select over 4 buffered channels"),
                ],
            },
        ],
    }
}

/// Which measurement a case runs, per implementation.
type CaseFn = fn(Peer) -> fn(&Spec) -> Sample;

/// The implementations of a thread case; `go` where Go has the case.
fn impls<const GO: bool>(case: CaseFn) -> Vec<Impl> {
    let mut v = vec![
        Impl::native("baton", "baton::chan", case(Peer::Baton)),
        Impl::native(
            "baton-go",
            "baton::chan between goroutines",
            case(Peer::BatonGo),
        ),
        Impl::native(
            "crossbeam-channel",
            "crossbeam_channel",
            case(Peer::Crossbeam),
        ),
        Impl::native("flume", "flume", case(Peer::Flume)),
        Impl::native("kanal", "kanal", case(Peer::Kanal)),
        Impl::native(
            "std-mpsc",
            "std::sync::mpsc (sync_channel / channel)",
            case(Peer::Std),
        ),
    ];
    if GO {
        v.push(Impl::go("go", "Go channels between goroutines"));
    }
    v
}

#[derive(Clone, Copy)]
enum Peer {
    Baton,
    BatonGo,
    Crossbeam,
    Flume,
    Kanal,
    Std,
}

fn spsc_case(p: Peer) -> fn(&Spec) -> Sample {
    match p {
        Peer::Baton => |s| stream::<Baton>(s, Some(CAP), 1),
        Peer::BatonGo => |s| stream_go(s, Some(CAP), 1, 1),
        Peer::Crossbeam => |s| stream::<Crossbeam>(s, Some(CAP), 1),
        Peer::Flume => |s| stream::<Flume>(s, Some(CAP), 1),
        Peer::Kanal => |s| stream::<Kanal>(s, Some(CAP), 1),
        Peer::Std => |s| stream::<Std>(s, Some(CAP), 1),
    }
}

fn mpmc_case(p: Peer) -> fn(&Spec) -> Sample {
    match p {
        Peer::Baton => |s| stream::<Baton>(s, Some(CAP), PRODUCERS),
        Peer::BatonGo => |s| stream_go(s, Some(CAP), PRODUCERS, s.threads),
        Peer::Crossbeam => |s| stream::<Crossbeam>(s, Some(CAP), PRODUCERS),
        Peer::Flume => |s| stream::<Flume>(s, Some(CAP), PRODUCERS),
        Peer::Kanal => |s| stream::<Kanal>(s, Some(CAP), PRODUCERS),
        // std's receiver is single-consumer: the consumers share it under
        // a mutex (what std users do).
        Peer::Std => |s| stream::<Std>(s, Some(CAP), PRODUCERS),
    }
}

fn unbounded_case(p: Peer) -> fn(&Spec) -> Sample {
    match p {
        Peer::Baton => |s| stream::<Baton>(s, None, 1),
        Peer::BatonGo => |s| stream_go(s, None, 1, 1),
        Peer::Crossbeam => |s| stream::<Crossbeam>(s, None, 1),
        Peer::Flume => |s| stream::<Flume>(s, None, 1),
        Peer::Kanal => |s| stream::<Kanal>(s, None, 1),
        Peer::Std => |s| stream::<Std>(s, None, 1),
    }
}

fn pingpong_case(p: Peer) -> fn(&Spec) -> Sample {
    match p {
        Peer::Baton => pingpong::<Baton>,
        Peer::BatonGo => pingpong_go,
        Peer::Crossbeam => pingpong::<Crossbeam>,
        Peer::Flume => pingpong::<Flume>,
        Peer::Kanal => pingpong::<Kanal>,
        Peer::Std => pingpong::<Std>,
    }
}

/// The channel API the thread cases need, for each peer.
trait Chan {
    type Tx: Send + 'static;
    type Rx: Send + 'static;
    /// `None`: unbounded; `Some(0)`: rendezvous.
    fn new(cap: Option<usize>) -> (Self::Tx, Self::Rx);
    fn send(tx: &Self::Tx, v: u64) -> bool;
    fn recv(rx: &Self::Rx) -> Option<u64>;
    fn clone_tx(tx: &Self::Tx) -> Self::Tx;
    /// Consumers' handles: clones where the channel is MPMC.
    fn split_rx(rx: Self::Rx, n: usize) -> Vec<Self::Rx>;
}

/// Implements [`Chan`] for an MPMC channel crate with the common API
/// (`bounded`, `unbounded`, `Sender<T>`/`Receiver<T>` whose `send`/`recv`
/// return `Result`s, cloneable receivers): baton, crossbeam-channel, flume
/// and kanal. A macro because the crates share that API by convention, not
/// by a trait: each expansion is exactly the hand-written adapter it
/// replaced, so the measured loops (generic over `Chan`) still monomorphise
/// per peer into direct, inlinable `send`/`recv` calls, with no dynamic
/// dispatch.
macro_rules! mpmc_chan {
    ($($peer:ident => $($krate:ident)::+;)*) => {$(
        struct $peer;
        impl Chan for $peer {
            type Tx = $($krate)::+::Sender<u64>;
            type Rx = $($krate)::+::Receiver<u64>;
            fn new(cap: Option<usize>) -> (Self::Tx, Self::Rx) {
                match cap {
                    Some(n) => $($krate)::+::bounded(n),
                    None => $($krate)::+::unbounded(),
                }
            }
            #[inline]
            fn send(tx: &Self::Tx, v: u64) -> bool {
                tx.send(v).is_ok()
            }
            #[inline]
            fn recv(rx: &Self::Rx) -> Option<u64> {
                rx.recv().ok()
            }
            fn clone_tx(tx: &Self::Tx) -> Self::Tx {
                tx.clone()
            }
            fn split_rx(rx: Self::Rx, n: usize) -> Vec<Self::Rx> {
                (0..n).map(|_| rx.clone()).collect()
            }
        }
    )*};
}

mpmc_chan! {
    Baton => baton::chan;
    Crossbeam => crossbeam_channel;
    Flume => flume;
    Kanal => kanal;
}

struct Std;
enum StdTx {
    Sync(std::sync::mpsc::SyncSender<u64>),
    Async(std::sync::mpsc::Sender<u64>),
}
impl Chan for Std {
    type Tx = StdTx;
    type Rx = Arc<Mutex<std::sync::mpsc::Receiver<u64>>>;
    fn new(cap: Option<usize>) -> (Self::Tx, Self::Rx) {
        match cap {
            Some(n) => {
                let (t, r) = std::sync::mpsc::sync_channel(n);
                (StdTx::Sync(t), Arc::new(Mutex::new(r)))
            }
            None => {
                let (t, r) = std::sync::mpsc::channel();
                (StdTx::Async(t), Arc::new(Mutex::new(r)))
            }
        }
    }
    #[inline]
    fn send(tx: &Self::Tx, v: u64) -> bool {
        match tx {
            StdTx::Sync(t) => t.send(v).is_ok(),
            StdTx::Async(t) => t.send(v).is_ok(),
        }
    }
    #[inline]
    fn recv(rx: &Self::Rx) -> Option<u64> {
        rx.lock().unwrap().recv().ok()
    }
    fn clone_tx(tx: &Self::Tx) -> Self::Tx {
        match tx {
            StdTx::Sync(t) => StdTx::Sync(t.clone()),
            StdTx::Async(t) => StdTx::Async(t.clone()),
        }
    }
    fn split_rx(rx: Self::Rx, n: usize) -> Vec<Self::Rx> {
        (0..n).map(|_| rx.clone()).collect()
    }
}

/// Shared state of a stream measurement: the handles, handed out once
/// each (so dropping them closes the channel), and the in-flight counters
/// that pace an unbounded producer.
struct Stream<C: Chan> {
    txs: Mutex<Vec<C::Tx>>,
    rxs: Mutex<Vec<C::Rx>>,
    sent: CachePadded<AtomicU64>,
    received: CachePadded<AtomicU64>,
    paced: bool,
}

/// Messages between looks at the pacing counters.
const PACE_EVERY: u64 = 1024;

/// `producers` background threads stream into a channel of capacity `cap`
/// (`None`: unbounded, paced), `spec.threads` timed consumers receive.
fn stream<C: Chan>(spec: &Spec, cap: Option<usize>, producers: usize) -> Sample {
    let (tx, rx) = C::new(cap);
    let txs: Vec<_> = (0..producers).map(|_| C::clone_tx(&tx)).collect();
    drop(tx);
    let state = Stream::<C> {
        txs: Mutex::new(txs),
        rxs: Mutex::new(C::split_rx(rx, spec.threads)),
        sent: CachePadded::new(AtomicU64::new(0)),
        received: CachePadded::new(AtomicU64::new(0)),
        paced: cap.is_none(),
    };
    measure_with_background(
        spec,
        &state,
        producers,
        |st: &Stream<C>, stop: &AtomicBool| {
            let tx = st
                .txs
                .lock()
                .unwrap()
                .pop()
                .expect("one sender per producer");
            let mut v = 0u64;
            'outer: while !stop.load(Relaxed) {
                for _ in 0..PACE_EVERY {
                    v += 1;
                    if !C::send(&tx, v) {
                        break 'outer;
                    }
                }
                if st.paced {
                    let sent = st.sent.fetch_add(PACE_EVERY, Relaxed) + PACE_EVERY;
                    while sent > st.received.load(Relaxed) + UNBOUNDED_LAG && !stop.load(Relaxed) {
                        std::thread::yield_now();
                    }
                }
            }
        },
        |st: &Stream<C>, _| {
            let rx = st
                .rxs
                .lock()
                .unwrap()
                .pop()
                .expect("one receiver per consumer");
            let paced = st.paced;
            let mut n = 0u64;
            move || {
                std::hint::black_box(C::recv(&rx));
                if paced {
                    n += 1;
                    if n % PACE_EVERY == 0 {
                        st.received.fetch_add(PACE_EVERY, Relaxed);
                    }
                }
            }
        },
    )
}

/// One timed thread pings, one background thread echoes.
fn pingpong<C: Chan>(spec: &Spec) -> Sample {
    let (ping_tx, ping_rx) = C::new(Some(0));
    let (pong_tx, pong_rx) = C::new(Some(0));
    let state = (
        Mutex::new(Some((ping_tx, pong_rx))),
        Mutex::new(Some((ping_rx, pong_tx))),
    );
    measure_with_background(
        spec,
        &state,
        1,
        |st, _stop| {
            let (ping_rx, pong_tx) = st.1.lock().unwrap().take().expect("one echo");
            // Ends when the pinger drops its sender.
            while let Some(v) = C::recv(&ping_rx) {
                if !C::send(&pong_tx, v) {
                    break;
                }
            }
        },
        |st, _| {
            let (ping_tx, pong_rx) = st.0.lock().unwrap().take().expect("one pinger");
            move || {
                C::send(&ping_tx, 1);
                std::hint::black_box(C::recv(&pong_rx));
            }
        },
    )
}

/// Runs `consumers` goroutines (each calling the op `make_op` builds, in
/// batches, until the flag rises) beside the background goroutines that
/// `spawn_background` starts, on a fresh runtime of `workers` workers.
/// After the consumers are joined, `finish` drops the state's remaining
/// handles so the background goroutines end, and they are joined too.
fn measure_goroutines<S: Send + Sync + 'static>(
    spec: &Spec,
    workers: usize,
    state: S,
    spawn_background: impl FnOnce(
        &baton::runtime::Runtime,
        &Arc<S>,
        &Arc<AtomicBool>,
    ) -> Vec<baton::runtime::JoinHandle<()>>,
    consumers: usize,
    make_op: fn(&Arc<S>) -> Box<dyn FnMut() + Send>,
    finish: fn(&S),
) -> Sample {
    let rt = crate::experiments::runtime_builder()
        .workers(workers)
        .build();
    let latency = spec.latency;
    let state = Arc::new(state);
    let stop = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(baton::sync::WaitGroup::new());
    gate.add(1);
    let background = spawn_background(&rt, &state, &stop);
    let handles: Vec<_> = (0..consumers)
        .map(|_| {
            let (state, stop, gate) = (state.clone(), stop.clone(), gate.clone());
            rt.go(move || {
                let mut op = make_op(&state);
                drop(state);
                gate.wait();
                let mut latencies = Latencies::new(latency);
                let start = Instant::now();
                let mut ops = 0u64;
                while !stop.load(Relaxed) {
                    latencies.time(&mut op);
                    for _ in 1..BATCH {
                        op();
                    }
                    ops += BATCH;
                }
                (ops, start, Instant::now(), latencies)
            })
        })
        .collect();
    gate.done();
    std::thread::sleep(Duration::from_secs_f64(spec.seconds));
    stop.store(true, Relaxed);
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("consumer"))
        .collect();
    finish(&state);
    for h in background {
        h.join().expect("background goroutine");
    }
    let first = results.iter().map(|r| r.1).min().expect("consumers");
    let last = results.iter().map(|r| r.2).max().expect("consumers");
    let ops = results.iter().map(|r| r.0).sum();
    let (p50_ns, p99_ns) = Latencies::percentiles(results.into_iter().map(|r| r.3));
    Sample {
        ops,
        elapsed: last - first,
        p50_ns,
        p99_ns,
        ..Sample::default()
    }
}

/// The state of a goroutine stream: handles to take or clone, and the
/// pacing counters.
struct GoStream {
    tx: Mutex<Option<baton::chan::Sender<u64>>>,
    rx: Mutex<Option<baton::chan::Receiver<u64>>>,
    sent: CachePadded<AtomicU64>,
    received: CachePadded<AtomicU64>,
    paced: bool,
}

/// `stream` with goroutines: `producers` producer goroutines and
/// `consumers` timed consumer goroutines on a 2-worker runtime.
fn stream_go(spec: &Spec, cap: Option<usize>, producers: usize, consumers: usize) -> Sample {
    let (tx, rx) = Baton::new(cap);
    let st = GoStream {
        tx: Mutex::new(Some(tx)),
        rx: Mutex::new(Some(rx)),
        sent: CachePadded::new(AtomicU64::new(0)),
        received: CachePadded::new(AtomicU64::new(0)),
        paced: cap.is_none(),
    };
    measure_goroutines(
        spec,
        2,
        st,
        |rt, st, stop| {
            let tx = st.tx.lock().unwrap().take().expect("sender");
            (0..producers)
                .map(|_| {
                    let (tx, st, stop) = (tx.clone(), st.clone(), stop.clone());
                    rt.go(move || {
                        let mut v = 0u64;
                        'outer: while !stop.load(Relaxed) {
                            for _ in 0..PACE_EVERY {
                                v += 1;
                                if tx.send(v).is_err() {
                                    break 'outer;
                                }
                            }
                            if st.paced {
                                let sent = st.sent.fetch_add(PACE_EVERY, Relaxed) + PACE_EVERY;
                                while sent > st.received.load(Relaxed) + UNBOUNDED_LAG
                                    && !stop.load(Relaxed)
                                {
                                    baton::yield_now();
                                }
                            }
                        }
                    })
                })
                .collect()
        },
        consumers,
        |st| {
            let rx = st.rx.lock().unwrap().clone().expect("receiver");
            let st = st.clone();
            let mut n = 0u64;
            Box::new(move || {
                std::hint::black_box(rx.recv().ok());
                if st.paced {
                    n += 1;
                    if n % PACE_EVERY == 0 {
                        st.received.fetch_add(PACE_EVERY, Relaxed);
                    }
                }
            })
        },
        |st| drop(st.rx.lock().unwrap().take()),
    )
}

type Pair = (baton::chan::Sender<u64>, baton::chan::Receiver<u64>);

/// Ping-pong between two goroutines on a one-worker runtime.
fn pingpong_go(spec: &Spec) -> Sample {
    let (ping_tx, ping_rx) = baton::chan::rendezvous();
    let (pong_tx, pong_rx) = baton::chan::rendezvous();
    let st: (Mutex<Option<Pair>>, Mutex<Option<Pair>>) = (
        Mutex::new(Some((ping_tx, pong_rx))),
        Mutex::new(Some((pong_tx, ping_rx))),
    );
    measure_goroutines(
        spec,
        1,
        st,
        |rt, st, _stop| {
            let (pong_tx, ping_rx) = st.1.lock().unwrap().take().expect("echo");
            vec![rt.go(move || {
                for v in &ping_rx {
                    if pong_tx.send(v).is_err() {
                        break;
                    }
                }
            })]
        },
        1,
        |st| {
            let (ping_tx, pong_rx) = st.0.lock().unwrap().take().expect("pinger");
            Box::new(move || {
                let _ = ping_tx.send(1);
                std::hint::black_box(pong_rx.recv().ok());
            })
        },
        |_| {},
    )
}

/// The four producers' channels of the `select` case, for any peer.
struct Selected<Tx, Rx> {
    txs: Mutex<Vec<Tx>>,
    /// Taken by the consumer, so that its end drops them and closes the
    /// channels (blocked producers then return).
    rxs: Mutex<Option<[Rx; PRODUCERS]>>,
}

/// Runs the `select` case: producers in the background, one timed
/// consumer calling `select_one` on the four receivers.
fn select_case<C: Chan>(spec: &Spec, select_one: fn(&[C::Rx; PRODUCERS]) -> u64) -> Sample {
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..PRODUCERS).map(|_| C::new(Some(CAP))).unzip();
    let rxs: [C::Rx; PRODUCERS] = rxs
        .try_into()
        .unwrap_or_else(|_| unreachable!("four receivers"));
    let state = Selected::<C::Tx, C::Rx> {
        txs: Mutex::new(txs),
        rxs: Mutex::new(Some(rxs)),
    };
    let sample = measure_with_background(
        spec,
        &state,
        PRODUCERS,
        |st: &Selected<C::Tx, C::Rx>, stop: &AtomicBool| {
            let tx = st
                .txs
                .lock()
                .unwrap()
                .pop()
                .expect("one sender per producer");
            let mut v = 0u64;
            while !stop.load(Relaxed) {
                for _ in 0..BATCH {
                    v += 1;
                    if !C::send(&tx, v) {
                        return;
                    }
                }
            }
        },
        |st: &Selected<C::Tx, C::Rx>, _| {
            let rxs = st.rxs.lock().unwrap().take().expect("one consumer");
            move || {
                std::hint::black_box(select_one(&rxs));
            }
        },
    );
    sample
}

fn select_baton(spec: &Spec) -> Sample {
    select_case::<Baton>(spec, |r| {
        baton::select! {
            recv(r[0]) -> v => v.unwrap_or(0),
            recv(r[1]) -> v => v.unwrap_or(0),
            recv(r[2]) -> v => v.unwrap_or(0),
            recv(r[3]) -> v => v.unwrap_or(0),
        }
    })
}

fn select_crossbeam(spec: &Spec) -> Sample {
    select_case::<Crossbeam>(spec, |r| {
        crossbeam_channel::select! {
            recv(r[0]) -> v => v.unwrap_or(0),
            recv(r[1]) -> v => v.unwrap_or(0),
            recv(r[2]) -> v => v.unwrap_or(0),
            recv(r[3]) -> v => v.unwrap_or(0),
        }
    })
}

fn select_flume(spec: &Spec) -> Sample {
    select_case::<Flume>(spec, |r| {
        flume::Selector::new()
            .recv(&r[0], |v| v.unwrap_or(0))
            .recv(&r[1], |v| v.unwrap_or(0))
            .recv(&r[2], |v| v.unwrap_or(0))
            .recv(&r[3], |v| v.unwrap_or(0))
            .wait()
    })
}

/// The `select` case from goroutines: four producer goroutines and one
/// consumer goroutine on a 2-worker runtime.
fn select_baton_go(spec: &Spec) -> Sample {
    struct St {
        txs: Mutex<Vec<baton::chan::Sender<u64>>>,
        rxs: Mutex<Option<[baton::chan::Receiver<u64>; PRODUCERS]>>,
    }
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..PRODUCERS).map(|_| baton::chan::bounded(CAP)).unzip();
    let rxs: [baton::chan::Receiver<u64>; PRODUCERS] =
        rxs.try_into().unwrap_or_else(|_| unreachable!("four"));
    let st = St {
        txs: Mutex::new(txs),
        rxs: Mutex::new(Some(rxs)),
    };
    measure_goroutines(
        spec,
        2,
        st,
        |rt, st, stop| {
            let txs = std::mem::take(&mut *st.txs.lock().unwrap());
            txs.into_iter()
                .map(|tx| {
                    let stop = stop.clone();
                    rt.go(move || {
                        let mut v = 0u64;
                        while !stop.load(Relaxed) {
                            for _ in 0..BATCH {
                                v += 1;
                                if tx.send(v).is_err() {
                                    return;
                                }
                            }
                        }
                    })
                })
                .collect()
        },
        1,
        |st| {
            let r = st.rxs.lock().unwrap().take().expect("receivers");
            Box::new(move || {
                let v = baton::select! {
                    recv(r[0]) -> v => v.unwrap_or(0),
                    recv(r[1]) -> v => v.unwrap_or(0),
                    recv(r[2]) -> v => v.unwrap_or(0),
                    recv(r[3]) -> v => v.unwrap_or(0),
                };
                std::hint::black_box(v);
            })
        },
        |_| {},
    )
}
