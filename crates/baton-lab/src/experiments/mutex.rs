//! `mutex`: is baton's `Mutex` as fast as the best, uncontended and under
//! contention?
//!
//! Every thread locks one shared mutex in a loop. `uncontended` is one
//! thread (the cost of the two inline CASes); `contended-short` protects a
//! counter increment, `contended-long` a pass over 32 words (a few hundred
//! nanoseconds), at 2 threads (one per core on the CI machines) and 8
//! (oversubscribed: holders get preempted, so the spin-then-park policy
//! decides everything).
//!
//! Every case samples latency: the runner times the first op of every
//! batch, so p99 shows the waits behind a preempted holder or a parked
//! hand-off that the throughput median averages away (p50 of a few-ns
//! uncontended op is mostly the two clock reads).

use std::hint::black_box;

use super::{Case, Experiment, Impl};
use crate::runner::{measure, Sample, Spec};

/// Words a `contended-long` critical section touches.
const LONG_WORDS: usize = 32;

/// The protected data: a counter and a small table.
#[derive(Default)]
struct Data {
    count: u64,
    table: [u64; LONG_WORDS],
}

/// The critical section of each case.
#[derive(Clone, Copy)]
enum Section {
    Short,
    Long,
}

impl Section {
    #[inline]
    fn run(self, d: &mut Data) {
        d.count += 1;
        if let Section::Long = self {
            let c = d.count;
            for (i, w) in d.table.iter_mut().enumerate() {
                *w = black_box(w.wrapping_mul(31).wrapping_add(c ^ i as u64));
            }
        }
    }
}

pub(crate) fn experiment() -> Experiment {
    let impls = |short: bool| {
        let pick = |s: fn(&Spec) -> Sample, l: fn(&Spec) -> Sample| if short { s } else { l };
        vec![
            Impl::native(
                "baton",
                "baton::sync::Mutex (spin, then park; 1 ms starvation hand-off)",
                pick(baton_short, baton_long),
            ),
            Impl::native(
                "std-mutex",
                "std::sync::Mutex (futex, brief spin)",
                pick(std_short, std_long),
            ),
            Impl::native(
                "parking-lot",
                "parking_lot::Mutex (spin, then park; eventual fairness)",
                pick(pl_short, pl_long),
            ),
        ]
    };
    Experiment {
        name: "mutex",
        claim: "baton's Mutex matches parking_lot uncontended and beats std under contention",
        cases: vec![
            Case {
                name: "uncontended",
                about: "one op = lock, increment a counter, unlock; one thread",
                threads: &[1],
                latency: true,
                big: None,
                impls: impls(true),
            },
            Case {
                name: "contended-short",
                about: "one op = lock, increment a counter, unlock; all threads share one mutex",
                threads: &[2, 8],
                latency: true,
                big: None,
                impls: impls(true),
            },
            Case {
                name: "contended-long",
                about: "one op = lock, update a 32-word table, unlock; all threads share one mutex",
                threads: &[2, 8],
                latency: true,
                big: None,
                impls: impls(false),
            },
        ],
    }
}

fn baton_run(spec: &Spec, section: Section) -> Sample {
    let m = baton::sync::Mutex::new(Data::default());
    measure(spec, &m, move |m, _| move || section.run(&mut m.lock()))
}

fn std_run(spec: &Spec, section: Section) -> Sample {
    let m = std::sync::Mutex::new(Data::default());
    measure(spec, &m, move |m, _| {
        move || section.run(&mut m.lock().expect("not poisoned"))
    })
}

fn pl_run(spec: &Spec, section: Section) -> Sample {
    let m = parking_lot::Mutex::new(Data::default());
    measure(spec, &m, move |m, _| move || section.run(&mut m.lock()))
}

fn baton_short(spec: &Spec) -> Sample {
    baton_run(spec, Section::Short)
}
fn baton_long(spec: &Spec) -> Sample {
    baton_run(spec, Section::Long)
}
fn std_short(spec: &Spec) -> Sample {
    std_run(spec, Section::Short)
}
fn std_long(spec: &Spec) -> Sample {
    std_run(spec, Section::Long)
}
fn pl_short(spec: &Spec) -> Sample {
    pl_run(spec, Section::Short)
}
fn pl_long(spec: &Spec) -> Sample {
    pl_run(spec, Section::Long)
}
