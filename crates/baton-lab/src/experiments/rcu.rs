//! `rcu`: read-mostly configuration, read by every request, replaced rarely.
//!
//! Guarding it with a reader-writer lock makes every read write the lock's
//! shared reader count (and the `Arc`'s count when the reader clones it
//! out), so readers on different cores fight over those lines although they
//! never conflict. An RCU cell's readers write only a per-thread slot.

use std::hint::black_box;
use std::sync::{Arc, RwLock};

use arc_swap::ArcSwap;
use baton::atomic::Rcu;

use super::{Case, Experiment, Impl};
use crate::runner::{measure, Sample, Spec};

/// One op in this many is a store (0.1%); the rest are loads.
const STORE_EVERY: u64 = 1000;

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "rcu",
        claim: "an RCU cell's wait-free loads beat a lock around an Arc for read-mostly data",
        cases: vec![Case {
            name: "load",
            about:
                "one op = read the current config (load it, read a few fields); every 1000th op \
                    of each thread instead stores a new config (99.9% loads)",
            threads: &[1, 2, 8],
            latency: false,
            big: None,
            impls: vec![
                Impl::native(
                    "baton",
                    "baton::atomic::Rcu: load() guard / store(v)",
                    baton,
                ),
                Impl::native(
                    "arc-swap",
                    "arc_swap::ArcSwap: load() guard / store(Arc)",
                    arc_swap,
                ),
                Impl::native(
                    "rwlock-arc",
                    "std RwLock<Arc<T>>: read lock, clone the Arc out / write lock, replace",
                    rwlock_arc,
                ),
            ],
        }],
    }
}

/// A small configuration: a version, some limits, a name on the heap.
#[derive(Clone, Debug)]
struct Config {
    version: u64,
    limits: [u32; 8],
    name: String,
}

impl Config {
    fn new(version: u64) -> Self {
        Self {
            version,
            limits: [version as u32; 8],
            name: format!("config-{version}"),
        }
    }

    /// What a request would do with it: look at a couple of fields.
    #[inline]
    fn read(&self) -> u64 {
        self.version ^ u64::from(self.limits[(self.version & 7) as usize]) ^ self.name.len() as u64
    }
}

/// The op for one worker: a load, or every [`STORE_EVERY`]th time a store.
fn mostly_loads(mut load: impl FnMut() -> u64, mut store: impl FnMut(Config)) -> impl FnMut() {
    let mut n = 0u64;
    move || {
        n += 1;
        if n % STORE_EVERY == 0 {
            store(Config::new(n));
        } else {
            black_box(load());
        }
    }
}

fn baton(spec: &Spec) -> Sample {
    let cell = Rcu::new(Config::new(0));
    measure(spec, &cell, |cell, _| {
        mostly_loads(|| cell.load().read(), |c| cell.store(c))
    })
}

fn arc_swap(spec: &Spec) -> Sample {
    let cell = ArcSwap::from_pointee(Config::new(0));
    measure(spec, &cell, |cell, _| {
        mostly_loads(|| cell.load().read(), |c| cell.store(Arc::new(c)))
    })
}

fn rwlock_arc(spec: &Spec) -> Sample {
    let cell = RwLock::new(Arc::new(Config::new(0)));
    measure(spec, &cell, |cell, _| {
        mostly_loads(
            || {
                let config = Arc::clone(&cell.read().unwrap());
                config.read()
            },
            |c| *cell.write().unwrap() = Arc::new(c),
        )
    })
}
