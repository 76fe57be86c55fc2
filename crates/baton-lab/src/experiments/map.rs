//! `map`: a concurrent hash map under read-mostly and mixed loads.
//!
//! The background's story (section 1): one `RwLock<HashMap>` (the "big old
//! map") stops every reader on each write; shards, each with its own lock,
//! let readers and writers of different shards run at once. Peers: the big
//! old map, a `Mutex<HashMap>`, dashmap (shards of RwLock'd hashbrown
//! tables), papaya and scc (lock-free / fine-grained tables). baton rows:
//! the default shard count (`default_shards()`: 16 per core, at least 64)
//! and a sweep over 1, 8, 64, 256
//! (the sweep and the `-hot` case run with `run map`, not in the quick
//! tour, which they would push past its time budget).
//!
//! Workload: 2^20 (1M) `u64 -> u64` keys, all inserted before the first
//! measurement. Each op is a read (`get` of a key, copying the value out)
//! or, for the other `100 - R`% of ops, an insert (which, the key being
//! present, updates its value). Keys are uniform, zipf(0.99) (`-zipf`:
//! rank `r` drawn with probability ∝ 1/r^0.99, ranks scattered over the key
//! space) or all within 1024 hot keys (`-hot`).
//!
//! To keep the prefill (~0.1-0.3 s per map) out of every measurement, each
//! implementation's map is built once per process and shared by every
//! case, round and thread count (the writes keep it at 1M keys, so every
//! case sees the same size). Every map uses the same hasher (baton's Fx),
//! so the rows compare the concurrency designs, not hash functions; with
//! their default SipHash the peers would be slower.

use std::any::Any;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Mutex, OnceLock};

use baton::collections::{FxBuildHasher, ShardedMap};

use super::{Case, Experiment, Impl};
use crate::runner::{measure, Sample, Spec};

/// Keys in the map: "1M".
const KEYS: u64 = 1 << 20;
/// Keys that `-hot` cases touch.
const HOT: u64 = 1024;
/// The zipf exponent.
const ZIPF_S: f64 = 0.99;

/// Which keys a case draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keys {
    Uniform,
    Zipf,
    Hot,
}

/// The operations every map under test offers.
pub(crate) trait Map: Sync + Send + 'static {
    fn build() -> Self;
    fn read(&self, k: u64) -> Option<u64>;
    fn write(&self, k: u64, v: u64);
}

type Fx = FxBuildHasher;

/// `ShardedMap` with `N` shards (0: the default count).
pub(crate) struct Baton<const N: usize>(ShardedMap<u64, u64, Fx>);

impl<const N: usize> Map for Baton<N> {
    fn build() -> Self {
        Self(if N == 0 {
            ShardedMap::with_hasher(Fx::default())
        } else {
            ShardedMap::with_shards_and_hasher(N, Fx::default())
        })
    }
    #[inline]
    fn read(&self, k: u64) -> Option<u64> {
        self.0.with(&k, |v| *v)
    }
    #[inline]
    fn write(&self, k: u64, v: u64) {
        self.0.insert(k, v);
    }
}

/// The big old map: one `std::sync::RwLock` around one `HashMap`.
pub(crate) struct BigOld(std::sync::RwLock<HashMap<u64, u64, Fx>>);

impl Map for BigOld {
    fn build() -> Self {
        Self(Default::default())
    }
    fn read(&self, k: u64) -> Option<u64> {
        self.0.read().unwrap().get(&k).copied()
    }
    fn write(&self, k: u64, v: u64) {
        self.0.write().unwrap().insert(k, v);
    }
}

pub(crate) struct StdMutex(std::sync::Mutex<HashMap<u64, u64, Fx>>);

impl Map for StdMutex {
    fn build() -> Self {
        Self(Default::default())
    }
    fn read(&self, k: u64) -> Option<u64> {
        self.0.lock().unwrap().get(&k).copied()
    }
    fn write(&self, k: u64, v: u64) {
        self.0.lock().unwrap().insert(k, v);
    }
}

pub(crate) struct Dash(dashmap::DashMap<u64, u64, Fx>);

impl Map for Dash {
    fn build() -> Self {
        Self(dashmap::DashMap::with_hasher(Fx::default()))
    }
    fn read(&self, k: u64) -> Option<u64> {
        self.0.get(&k).map(|r| *r)
    }
    fn write(&self, k: u64, v: u64) {
        self.0.insert(k, v);
    }
}

pub(crate) struct Papaya(papaya::HashMap<u64, u64, Fx>);

impl Map for Papaya {
    fn build() -> Self {
        Self(papaya::HashMap::with_hasher(Fx::default()))
    }
    fn read(&self, k: u64) -> Option<u64> {
        self.0.pin().get(&k).copied()
    }
    fn write(&self, k: u64, v: u64) {
        self.0.pin().insert(k, v);
    }
}

pub(crate) struct Scc(scc::HashMap<u64, u64, Fx>);

impl Map for Scc {
    fn build() -> Self {
        Self(scc::HashMap::with_hasher(Fx::default()))
    }
    fn read(&self, k: u64) -> Option<u64> {
        self.0.read(&k, |_, v| *v)
    }
    fn write(&self, k: u64, v: u64) {
        self.0.upsert(k, v);
    }
}

/// Each implementation's map, built and filled once per process (see the
/// module docs), then leaked: it lives as long as the lab.
fn shared<M: Map>() -> &'static M {
    type Cache = Mutex<HashMap<std::any::TypeId, &'static (dyn Any + Sync + Send)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    let any = *cache.entry(std::any::TypeId::of::<M>()).or_insert_with(|| {
        let m = M::build();
        for k in 0..KEYS {
            m.write(k, k);
        }
        Box::leak(Box::new(m))
    });
    any.downcast_ref::<M>().expect("the cache is keyed by type")
}

/// Scatters a rank over the key space (an odd multiplier is a bijection
/// modulo a power of two), so that hot ranks do not sit in one shard.
#[inline]
fn scatter(rank: u64) -> u64 {
    rank.wrapping_mul(0x9e37_79b9_7f4a_7c15) & (KEYS - 1)
}

/// A table of zipf-distributed keys, built once: workers walk it from
/// different offsets (drawing zipf samples inline would cost more than the
/// map operation under test).
fn zipf_keys() -> &'static [u64] {
    static TABLE: OnceLock<Vec<u64>> = OnceLock::new();
    TABLE.get_or_init(|| zipf_table(KEYS, ZIPF_S, KEYS as usize, scatter))
}

/// `len` keys drawn from zipf(`s`) over ranks `0..n`, each mapped by
/// `place` (inverse-CDF sampling over a table of the partial sums).
pub(crate) fn zipf_table(n: u64, s: f64, len: usize, place: fn(u64) -> u64) -> Vec<u64> {
    let mut cdf = Vec::with_capacity(n as usize);
    let mut sum = 0.0;
    for r in 1..=n {
        sum += 1.0 / (r as f64).powf(s);
        cdf.push(sum);
    }
    let mut rng = XorShift(0x2545_f491);
    (0..len)
        .map(|_| {
            let u = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * sum;
            place((cdf.partition_point(|&c| c < u) as u64).min(n - 1))
        })
        .collect()
}

/// xorshift64*: a cheap per-worker random stream.
struct XorShift(u64);

impl XorShift {
    #[inline]
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Where a worker's keys come from.
#[derive(Clone, Copy)]
pub(crate) enum KeySource<'a> {
    /// Uniform over `0..n`.
    Uniform(u64),
    /// Uniform over `HOT` scattered keys.
    Hot,
    /// A table of pre-drawn keys, walked from a per-worker offset.
    Table(&'a [u64]),
}

/// Measures `M` with `read_pct`% reads over `keys`, on the shared map.
fn run<M: Map>(spec: &Spec, read_pct: u64, keys: Keys) -> Sample {
    let source = match keys {
        Keys::Uniform => KeySource::Uniform(KEYS),
        Keys::Hot => KeySource::Hot,
        Keys::Zipf => KeySource::Table(zipf_keys()),
    };
    run_on(spec, shared::<M>(), read_pct, source)
}

/// Measures `map` with `read_pct`% reads, the rest inserts, keys from
/// `source`.
pub(crate) fn run_on<M: Map>(spec: &Spec, map: &M, read_pct: u64, source: KeySource<'_>) -> Sample {
    measure(spec, map, move |map, worker| {
        let mut rng =
            XorShift(0x9e37_79b9_7f4a_7c15 ^ (worker as u64 + 1).wrapping_mul(0xff51_afd7));
        let mut pos = worker * 104_729;
        move || {
            let r = rng.next();
            let k = match source {
                // A mask when it can (the lab's own cases); `%` otherwise.
                KeySource::Uniform(n) if n.is_power_of_two() => r & (n - 1),
                KeySource::Uniform(n) => r % n,
                KeySource::Hot => scatter(r % HOT),
                KeySource::Table(t) => {
                    pos += 1;
                    if pos >= t.len() {
                        pos = 0;
                    }
                    t[pos]
                }
            };
            if (r >> 40) % 100 < read_pct {
                black_box(map.read(k));
            } else {
                map.write(k, r);
            }
        }
    })
}

/// Every implementation for one (read %, keys) mix. A macro, so that each
/// closure is a plain `fn` with the constants inside.
macro_rules! impls {
    ($read:literal, $keys:expr) => {
        vec![
            Impl::native(
                "baton",
                "ShardedMap, default shards (16 per core, at least 64)",
                |s| run::<Baton<0>>(s, $read, $keys),
            ),
            Impl::native("baton-shards-1", "ShardedMap, 1 shard", |s| {
                run::<Baton<1>>(s, $read, $keys)
            })
            .not_in_tour(),
            Impl::native("baton-shards-8", "ShardedMap, 8 shards", |s| {
                run::<Baton<8>>(s, $read, $keys)
            })
            .not_in_tour(),
            Impl::native("baton-shards-64", "ShardedMap, 64 shards", |s| {
                run::<Baton<64>>(s, $read, $keys)
            })
            .not_in_tour(),
            Impl::native("baton-shards-256", "ShardedMap, 256 shards", |s| {
                run::<Baton<256>>(s, $read, $keys)
            })
            .not_in_tour(),
            Impl::native("big-old-map", "one std RwLock<HashMap>", |s| {
                run::<BigOld>(s, $read, $keys)
            }),
            Impl::native("std-mutex-map", "one std Mutex<HashMap>", |s| {
                run::<StdMutex>(s, $read, $keys)
            }),
            Impl::native("dashmap", "dashmap::DashMap (default shards)", |s| {
                run::<Dash>(s, $read, $keys)
            }),
            Impl::native(
                "papaya",
                "papaya::HashMap (lock-free reads, pin per op)",
                |s| run::<Papaya>(s, $read, $keys),
            ),
            Impl::native("scc", "scc::HashMap (fine-grained buckets)", |s| {
                run::<Scc>(s, $read, $keys)
            }),
        ]
    };
}

/// One case.
fn case(name: &'static str, about: &'static str, impls: Vec<Impl>) -> Case {
    Case {
        name,
        about,
        threads: &[2, 8],
        latency: false,
        big: None,
        impls,
    }
}

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "map",
        claim: "a map of independently locked shards scales where one RwLock<HashMap> does not, \
                and keeps up with dashmap",
        cases: vec![
            case(
                "read100",
                "one op = get of a uniform key of 1M",
                impls!(100, Keys::Uniform),
            ),
            case(
                "read90",
                "one op = get (90%) or insert/update (10%) of a uniform key of 1M",
                impls!(90, Keys::Uniform),
            ),
            case(
                "read50",
                "one op = get (50%) or insert/update (50%) of a uniform key of 1M",
                impls!(50, Keys::Uniform),
            ),
            case(
                "read100-zipf",
                "as read100, zipf(0.99) keys",
                impls!(100, Keys::Zipf),
            ),
            case(
                "read90-zipf",
                "as read90, zipf(0.99) keys",
                impls!(90, Keys::Zipf),
            ),
            case(
                "read50-zipf",
                "as read50, zipf(0.99) keys",
                impls!(50, Keys::Zipf),
            ),
            case(
                "read90-hot",
                "as read90, all ops on 1024 hot keys",
                impls!(90, Keys::Hot),
            ),
        ],
    }
}
