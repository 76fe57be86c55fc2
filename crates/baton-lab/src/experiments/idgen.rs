//! `idgen`: where do unique ids come from when many threads want them?
//!
//! The background's registry guarded its next-id counter with a mutex. An
//! atomic add does the same job without a lock; a per-thread batch (one add
//! per 1024 ids) stops threads from sharing the counter's line at all.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use baton::atomic::IdGen;

use super::{Case, Experiment, Impl};
use crate::runner::{measure, Sample, Spec};

/// Ids a `baton-batched` thread reserves at a time.
const BATCH_SIZE: u64 = 1024;

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "idgen",
        claim: "an atomic add beats a mutex-guarded counter, and per-thread batches beat both",
        cases: vec![Case {
            name: "next",
            about:
                "one op = take the next unique id; every thread takes ids from one shared generator",
            threads: &[1, 2, 8],
            latency: false,
            big: None,
            impls: vec![
                Impl::native("mutex", "std Mutex<u64>: lock, add 1, unlock", mutex),
                Impl::native("atomic", "one AtomicU64, fetch_add(1)", atomic),
                Impl::native("baton", "baton::atomic::IdGen::next", baton),
                Impl::native(
                    "baton-batched",
                    "IdGen::batch(1024) per thread, then .next()",
                    baton_batched,
                ),
                Impl::go("go", "Go: atomic.AddUint64 on one shared counter"),
                Impl::go("go-mutex", "Go: sync.Mutex around a counter"),
            ],
        }],
    }
}

fn mutex(spec: &Spec) -> Sample {
    let next = Mutex::new(1u64);
    measure(spec, &next, |next, _| {
        move || {
            let mut n = next.lock().unwrap();
            let id = *n;
            *n += 1;
            drop(n);
            black_box(id);
        }
    })
}

fn atomic(spec: &Spec) -> Sample {
    let next = AtomicU64::new(1);
    measure(spec, &next, |next, _| {
        move || {
            black_box(next.fetch_add(1, Relaxed));
        }
    })
}

fn baton(spec: &Spec) -> Sample {
    let ids = IdGen::new();
    measure(spec, &ids, |ids, _| {
        move || {
            black_box(ids.next());
        }
    })
}

fn baton_batched(spec: &Spec) -> Sample {
    let ids = IdGen::new();
    measure(spec, &ids, |ids, _| {
        let mut batch = ids.batch(BATCH_SIZE);
        move || {
            black_box(batch.next());
        }
    })
}
