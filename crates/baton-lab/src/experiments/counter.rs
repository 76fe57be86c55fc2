//! `counter`: a statistics counter that many threads bump.
//!
//! One shared atomic puts every increment on one cache line. Per-thread
//! slots remove that contention, but only if each slot has a line of its
//! own: `unpadded-shards` packs the same slots into one array, so
//! neighbours still share lines (false sharing). The `read` case shows the
//! price of sharding: a read sums every slot.

use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};

use baton::atomic::ShardedCounter;

use super::{Case, Experiment, Impl};
use crate::runner::{measure, measure_with_background, Sample, Spec};

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "counter",
        claim: "sharding a hot counter removes contention, and padding the shards removes false sharing",
        cases: vec![
            Case {
                name: "increment",
                about: "one op = add 1; every thread increments one shared counter",
                threads: &[1, 2, 8],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("shared-atomic", "one AtomicU64, fetch_add(1)", shared_increment),
                    Impl::native(
                        "unpadded-shards",
                        "baton's slots and slot choice, packed in one array without padding",
                        unpadded_increment,
                    ),
                    Impl::native("baton", "baton::atomic::ShardedCounter::inc", baton_increment),
                    Impl::go("go", "Go: atomic.AddUint64 on one shared counter"),
                ],
            },
            Case {
                name: "read",
                about: "one op = read the counter's total (a load, or the sum of the slots); \
                        the threads read while one untimed thread increments it nonstop",
                threads: &[1, 2, 8],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native("shared-atomic", "one AtomicU64, load", shared_read),
                    Impl::native("unpadded-shards", "sum of the packed slots", unpadded_read),
                    Impl::native("baton", "baton::atomic::ShardedCounter::sum", baton_read),
                ],
            },
        ],
    }
}

/// The peer: baton's sharding with the padding left out. Same slot count as
/// `ShardedCounter::new()`, same slot choice (a thread-local index taken
/// once from a global counter), so padding is the only difference.
struct UnpaddedShards {
    slots: Box<[AtomicU64]>,
    mask: usize,
}

static NEXT_INDEX: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
}

fn thread_index() -> usize {
    INDEX.with(|cell| {
        if cell.get() == usize::MAX {
            cell.set(NEXT_INDEX.fetch_add(1, Relaxed));
        }
        cell.get()
    })
}

impl UnpaddedShards {
    fn new() -> Self {
        let n = ShardedCounter::new().slots();
        Self {
            slots: (0..n).map(|_| AtomicU64::new(0)).collect(),
            mask: n - 1,
        }
    }

    #[inline]
    fn inc(&self) {
        self.slots[thread_index() & self.mask].fetch_add(1, Relaxed);
    }

    fn sum(&self) -> u64 {
        self.slots
            .iter()
            .fold(0, |acc, s| acc.wrapping_add(s.load(Relaxed)))
    }
}

fn shared_increment(spec: &Spec) -> Sample {
    let c = AtomicU64::new(0);
    measure(spec, &c, |c, _| {
        move || {
            c.fetch_add(1, Relaxed);
        }
    })
}

fn unpadded_increment(spec: &Spec) -> Sample {
    let c = UnpaddedShards::new();
    measure(spec, &c, |c, _| move || c.inc())
}

fn baton_increment(spec: &Spec) -> Sample {
    let c = ShardedCounter::new();
    measure(spec, &c, |c, _| move || c.inc())
}

/// Runs `read` on the workers while one background thread calls `write`.
fn read_while_writing<S: Sync>(
    spec: &Spec,
    state: &S,
    write: impl Fn(&S) + Sync,
    read: impl Fn(&S) -> u64 + Sync,
) -> Sample {
    measure_with_background(
        spec,
        state,
        1,
        |s, stop: &AtomicBool| {
            while !stop.load(Relaxed) {
                for _ in 0..64 {
                    write(s);
                }
            }
        },
        |s, _| {
            let read = &read;
            move || {
                black_box(read(s));
            }
        },
    )
}

fn shared_read(spec: &Spec) -> Sample {
    let c = AtomicU64::new(0);
    read_while_writing(
        spec,
        &c,
        |c| {
            c.fetch_add(1, Relaxed);
        },
        |c| c.load(Relaxed),
    )
}

fn unpadded_read(spec: &Spec) -> Sample {
    read_while_writing(
        spec,
        &UnpaddedShards::new(),
        UnpaddedShards::inc,
        UnpaddedShards::sum,
    )
}

fn baton_read(spec: &Spec) -> Sample {
    read_while_writing(
        spec,
        &ShardedCounter::new(),
        ShardedCounter::inc,
        ShardedCounter::sum,
    )
}
