//! `handles`: a registry of objects that foreign code names by integer
//! handles instead of pointers (background, section 1).
//!
//! The background's first version, the "big old map", was one
//! `RwLock<HashMap<u64, T>>` with an atomic id counter: every insert and
//! remove takes the write lock and stops every lookup. baton's `HandleMap`
//! shards its slots (shard = index % shards), so lookups and updates of
//! different handles rarely meet. Peers: the big old map, sharded-slab (a
//! lock-free slab: the fastest Rust registry we know) and Go (`go`: a
//! `sync.Map` keyed by an atomic id, which is what `runtime/cgo.Handle` is;
//! `runtime/cgo` itself cannot be imported because the harness builds with
//! `CGO_ENABLED=0`). `ffi-support`'s `ConcurrentHandleMap` is left out: it
//! is one `RwLock` around a handle map, the big old map's design, and an
//! unmaintained crate.
//!
//! - `cycle`: each op = insert, 10 lookups, remove (a short-lived object).
//! - `stream`: the background's scenario at 8 threads: each op is one
//!   message, which looks up an object by handle and updates it; every
//!   16th message also closes one object and opens another (remove +
//!   insert). Each worker owns 256 open objects. The background measured
//!   2.3x messages/s going from the big old map to 64 shards.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::RwLock;

use baton::collections::{FxBuildHasher, Handle, HandleMap};
use sharded_slab::Slab;

use super::{Case, Experiment, Impl};
use crate::runner::{measure, Sample, Spec};

/// The object a handle names: some state that messages update in place
/// (atomically, as objects shared between workers would).
#[derive(Default)]
struct Obj {
    messages: AtomicU64,
    last: AtomicU64,
}

impl Obj {
    #[inline]
    fn update(&self, msg: u64) {
        self.messages.fetch_add(1, Relaxed);
        self.last.store(msg, Relaxed);
    }
}

/// The operations every registry under test offers.
trait Registry: Sync + Default {
    type H: Copy;
    fn insert(&self, o: Obj) -> Self::H;
    /// Looks `h` up and applies `f`; `None` if it is gone.
    fn with<R>(&self, h: Self::H, f: impl FnOnce(&Obj) -> R) -> Option<R>;
    fn remove(&self, h: Self::H);
}

#[derive(Default)]
struct Baton(HandleMap<Obj>);

impl Registry for Baton {
    type H = Handle;
    #[inline]
    fn insert(&self, o: Obj) -> Handle {
        self.0.insert(o)
    }
    #[inline]
    fn with<R>(&self, h: Handle, f: impl FnOnce(&Obj) -> R) -> Option<R> {
        self.0.with(h, f).ok()
    }
    #[inline]
    fn remove(&self, h: Handle) {
        black_box(self.0.remove(h).ok());
    }
}

/// The background's original: one lock, one map, an atomic id.
#[derive(Default)]
struct BigOld {
    map: RwLock<HashMap<u64, Obj, FxBuildHasher>>,
    next: AtomicU64,
}

impl Registry for BigOld {
    type H = u64;
    fn insert(&self, o: Obj) -> u64 {
        let id = self.next.fetch_add(1, Relaxed) + 1;
        self.map.write().unwrap().insert(id, o);
        id
    }
    fn with<R>(&self, h: u64, f: impl FnOnce(&Obj) -> R) -> Option<R> {
        self.map.read().unwrap().get(&h).map(f)
    }
    fn remove(&self, h: u64) {
        black_box(self.map.write().unwrap().remove(&h));
    }
}

#[derive(Default)]
struct ShardedSlab(Slab<Obj>);

impl Registry for ShardedSlab {
    type H = usize;
    fn insert(&self, o: Obj) -> usize {
        self.0.insert(o).expect("sharded-slab full")
    }
    fn with<R>(&self, h: usize, f: impl FnOnce(&Obj) -> R) -> Option<R> {
        self.0.get(h).map(|e| f(&e))
    }
    fn remove(&self, h: usize) {
        black_box(self.0.take(h));
    }
}

/// `cycle`: insert, 10 lookups, remove.
fn cycle<R: Registry>(spec: &Spec) -> Sample {
    let reg = R::default();
    measure(spec, &reg, |reg, _| {
        move || {
            let h = reg.insert(Obj::default());
            for _ in 0..10 {
                black_box(reg.with(h, |o| o.messages.load(Relaxed)));
            }
            reg.remove(h);
        }
    })
}

/// Open objects per `stream` worker.
const OPEN: usize = 256;
/// One message in this many also closes an object and opens another.
const CHURN_EVERY: u64 = 16;

/// `stream`: each op is a message that updates an object found by handle.
fn stream<R: Registry>(spec: &Spec) -> Sample {
    let reg = R::default();
    measure(spec, &reg, |reg, worker| {
        let mut open: Vec<R::H> = (0..OPEN).map(|_| reg.insert(Obj::default())).collect();
        let mut x = 0x9e37_79b9_7f4a_7c15_u64 ^ worker as u64;
        let mut msg = 0u64;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            msg += 1;
            let i = (x % OPEN as u64) as usize;
            reg.with(open[i], |o| o.update(msg))
                .expect("an open object");
            if msg % CHURN_EVERY == 0 {
                reg.remove(open[i]);
                open[i] = reg.insert(Obj::default());
            }
        }
    })
}

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "handles",
        claim: "a sharded handle registry lets lookups and inserts run in parallel where the big \
                old map (one RwLock) serialises them",
        cases: vec![
            Case {
                name: "cycle",
                about: "one op = insert an object, look it up 10 times, remove it",
                threads: &[2, 8],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native(
                        "baton",
                        "baton::collections::HandleMap (sharded slabs)",
                        cycle::<Baton>,
                    ),
                    Impl::native(
                        "big-old-map",
                        "one RwLock<HashMap<u64, T>> + atomic id",
                        cycle::<BigOld>,
                    ),
                    Impl::native(
                        "sharded-slab",
                        "sharded_slab::Slab (lock-free)",
                        cycle::<ShardedSlab>,
                    ),
                    Impl::go(
                        "go",
                        "Go: sync.Map + atomic id (cgo.Handle's design; CGO is off)",
                    ),
                ],
            },
            Case {
                name: "stream",
                about: "one op = one message: look up an object by handle and update it; every \
                        16th message also closes one object and opens another",
                threads: &[8],
                latency: false,
                big: None,
                impls: vec![
                    Impl::native(
                        "baton",
                        "baton::collections::HandleMap (sharded slabs)",
                        stream::<Baton>,
                    ),
                    Impl::native(
                        "big-old-map",
                        "one RwLock<HashMap<u64, T>> + atomic id",
                        stream::<BigOld>,
                    ),
                    Impl::native(
                        "sharded-slab",
                        "sharded_slab::Slab (lock-free)",
                        stream::<ShardedSlab>,
                    ),
                ],
            },
        ],
    }
}
