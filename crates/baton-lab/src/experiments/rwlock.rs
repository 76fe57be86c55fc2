//! `rwlock`: read-mostly data behind a reader-writer lock.
//!
//! Every reader of a one-word reader-writer lock writes that word, so
//! readers on different cores fight over its cache line although they never
//! conflict: read throughput stops growing with cores (Go's "RWMutex does
//! not scale with CPUs"). A sharded lock (per-thread reader slots, writers
//! lock every slot) keeps readers on their own lines and makes writes
//! dearer. `read100` shows the read path alone; `read99` adds a write every
//! 100 ops per thread, where writer preference and parking matter.

use std::hint::black_box;

use baton::sync::{RwLock, ShardedRwLock};

use super::{Case, Experiment, Impl};
use crate::runner::{measure, Sample, Spec};

/// The implementations, with every `$write_every`th op a write (0: none).
/// (A macro so that each closure is a plain `fn` with the constant inside.)
macro_rules! impls {
    ($write_every:literal) => {
        vec![
            Impl::native(
                "baton-rwlock",
                "baton::sync::RwLock: one state word, fetch_add read path",
                |s| run(s, RwLock::new(Record::default()), $write_every),
            ),
            Impl::native(
                "baton-sharded",
                "baton::sync::ShardedRwLock: per-thread reader slots",
                |s| run(s, ShardedRwLock::new(Record::default()), $write_every),
            ),
            Impl::native("std-rwlock", "std::sync::RwLock (futex)", |s| {
                run(s, std::sync::RwLock::new(Record::default()), $write_every)
            }),
            Impl::native("parking-lot", "parking_lot::RwLock", |s| {
                run(s, parking_lot::RwLock::new(Record::default()), $write_every)
            }),
            Impl::native(
                "crossbeam-sharded",
                "crossbeam_utils::sync::ShardedLock: per-thread reader shards",
                |s| {
                    run(
                        s,
                        crossbeam_utils::sync::ShardedLock::new(Record::default()),
                        $write_every,
                    )
                },
            ),
            Impl::go("go", "Go: sync.RWMutex around the same record"),
        ]
    };
}
pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "rwlock",
        claim: "per-thread reader slots let reads scale where one shared reader count does not",
        cases: vec![
            Case {
                name: "read100",
                about: "one op = read lock, read a small record, unlock; every thread only reads",
                threads: &[1, 2, 8],
                latency: false,
                big: None,
                impls: impls!(0),
            },
            Case {
                name: "read99",
                about: "one op = as read100, but every 100th op of each thread takes the write \
                        lock and updates the record (99% reads)",
                threads: &[1, 2, 8],
                latency: false,
                big: None,
                impls: impls!(100),
            },
        ],
    }
}

/// What the readers read and the writers update: a few words, so a read is
/// a little real work but the lock dominates.
#[derive(Default)]
struct Record {
    version: u64,
    fields: [u64; 4],
}

impl Record {
    #[inline]
    fn read(&self) -> u64 {
        self.version ^ self.fields[(self.version & 3) as usize]
    }

    #[inline]
    fn update(&mut self) {
        self.version += 1;
        self.fields[(self.version & 3) as usize] = self.version;
    }
}

/// The operations every lock under test offers.
trait Lock: Sync {
    fn read_op(&self) -> u64;
    fn write_op(&self);
}

impl Lock for RwLock<Record> {
    fn read_op(&self) -> u64 {
        self.read().read()
    }
    fn write_op(&self) {
        self.write().update();
    }
}

impl Lock for ShardedRwLock<Record> {
    fn read_op(&self) -> u64 {
        self.read().read()
    }
    fn write_op(&self) {
        self.write().update();
    }
}

impl Lock for std::sync::RwLock<Record> {
    fn read_op(&self) -> u64 {
        self.read().unwrap().read()
    }
    fn write_op(&self) {
        self.write().unwrap().update();
    }
}

impl Lock for parking_lot::RwLock<Record> {
    fn read_op(&self) -> u64 {
        self.read().read()
    }
    fn write_op(&self) {
        self.write().update();
    }
}

impl Lock for crossbeam_utils::sync::ShardedLock<Record> {
    fn read_op(&self) -> u64 {
        self.read().unwrap().read()
    }
    fn write_op(&self) {
        self.write().unwrap().update();
    }
}

/// Measures `lock` with every `write_every`th op of each worker a write (0:
/// reads only). Workers start at different points of the write cycle, so
/// their writes do not line up.
fn run<L: Lock>(spec: &Spec, lock: L, write_every: u64) -> Sample {
    measure(spec, &lock, move |lock, worker| {
        let mut n = worker as u64 * 37;
        move || {
            n += 1;
            if write_every != 0 && n % write_every == 0 {
                lock.write_op();
            } else {
                black_box(lock.read_op());
            }
        }
    })
}
