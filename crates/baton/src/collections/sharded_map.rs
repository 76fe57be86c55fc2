//! [`ShardedMap`]: a concurrent hash map made of independently locked
//! shards, with no guard object that outlives a call.
//!
//! # Design
//!
//! The map is `N` shards (`N` a power of two), each a
//! `CachePadded<RwLock<HashMap<K, V, S>>>` (baton's
//! [`RwLock`](crate::sync::RwLock): a waiting goroutine parks instead of
//! blocking its worker). A key's shard is chosen by its hash, the same hash
//! the inner map uses, from the bits *just below the top 7*:
//!
//! | hash bits | used by |
//! |---|---|
//! | 63..57 (top 7) | the inner map's tag byte (hashbrown's `h2`) |
//! | 56..57-log2(N) | the shard index (this module) |
//! | low bits | the inner map's bucket index (hashbrown's `h1`) |
//!
//! so within a shard both the tag and the bucket bits still vary (dashmap
//! does the same). Operations on keys of different shards never touch the
//! same lock word or cache line (the padding), so they scale with cores
//! until two threads meet on one shard.
//!
//! # Invariants
//!
//! - A key lives only in shard `shard_of(hash(key))`; the hasher `S` is
//!   cloned into every shard, so the inner maps hash exactly like `self`.
//! - Every method takes at most one shard lock at a time and releases it
//!   before returning: no guard or reference escapes a call. Whole-map
//!   methods (`len`, `retain`, `clear`, `for_each`) visit the shards one
//!   after another and so are **not snapshots**: they may see some
//!   concurrent changes and miss others.
//!
//! There are no atomics in this module other than the shard locks', so
//! there is no memory ordering to argue: each shard is plain data under its
//! lock (acquire on lock, release on unlock).
//!
//! # Usage rule: closures must not call back into the same map
//!
//! [`with`](ShardedMap::with), [`with_mut`](ShardedMap::with_mut),
//! [`upsert`](ShardedMap::upsert), [`retain`](ShardedMap::retain) and
//! [`for_each`](ShardedMap::for_each) run your closure while holding a
//! shard lock. A closure that calls the same map again may deadlock (locks
//! are not re-entrant); in debug builds, a call that reaches the shard the
//! closure holds panics with a message saying so (always, also the reads
//! that would only hang once a writer waits). That is the *only* way to
//! deadlock on this map, and
//! it is visible in one place, the closure body: the classic dashmap
//! deadlock (keep a `Ref` from `get`, then `insert` elsewhere in the
//! function) cannot be written, because nothing like `Ref` exists. Copy out
//! what you need (`get_cloned`, or return it from the closure), then call
//! again.
//!
//! # Alternatives rejected
//!
//! - One `RwLock<HashMap>` (the background's "big old map"): every insert
//!   stops every reader; the `map` experiment in baton-lab measures it.
//! - Guard-returning `get` (dashmap): convenient, but it makes the deadlock
//!   above easy to write and hard to see.
//! - Lock-free tables (papaya, scc): faster reads under heavy writes, but
//!   far more code and memory reclamation; shards of a good lock are within
//!   reach on read-mostly loads, which the lab measures.

use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use std::collections::HashMap;

use super::fx_hash::FxBuildHasher;
use crate::atomic::CachePadded;
use crate::sync::RwLock;

/// This container's name in re-entry panics (`RwLock::read_in`).
const MAP: &str = "ShardedMap";

/// Bits at the top of the hash that the inner `HashMap` uses as its tag.
const TAG_BITS: u32 = 7;

/// The most shards `with_shards` accepts: beyond this, memory (a padded
/// lock and an empty map each, ~128 B) buys no more parallelism.
const MAX_SHARDS: usize = 1 << 16;

/// One shard: a map under baton's reader-writer lock.
type Shard<K, V, S> = RwLock<HashMap<K, V, S>>;

/// A concurrent hash map of independently locked shards. See the module
/// docs for the design, the invariants and the one usage rule (a closure
/// must not call back into the same map).
///
/// `S` defaults to [`FxBuildHasher`], fast but unkeyed; pass
/// `RandomState` through [`with_hasher`](ShardedMap::with_hasher) when
/// an attacker chooses the keys.
///
/// ```
/// use baton::collections::ShardedMap;
///
/// let m = ShardedMap::new();
/// std::thread::scope(|s| {
///     for t in 0..4 {
///         let m = &m;
///         s.spawn(move || {
///             for i in 0..100 {
///                 m.insert(t * 100 + i, i);
///             }
///         });
///     }
/// });
/// assert_eq!(m.len(), 400);
/// assert_eq!(m.get_cloned(&205), Some(5));
/// ```
///
/// Why no reference escapes: dashmap's deadlock, holding a read guard and
/// then inserting into the same shard, has no equivalent here. The value
/// is copied out (or computed inside the closure) and the lock is gone
/// before the next call:
///
/// ```
/// use baton::collections::ShardedMap;
///
/// let m = ShardedMap::new();
/// m.insert("a", 1);
/// // dashmap: `let r = m.get("a"); m.insert("b", *r);` can deadlock.
/// let a = m.with(&"a", |v| *v).unwrap(); // the lock is released here
/// m.insert("b", a); // fine
/// assert_eq!(m.get_cloned(&"b"), Some(1));
/// ```
///
/// The type system enforces it: a closure cannot hand out a reference
/// into the map, because the reference's lifetime ends with the call.
///
/// ```compile_fail
/// use baton::collections::ShardedMap;
///
/// let m = ShardedMap::new();
/// m.insert(1, String::from("one"));
/// let escaped: Option<&String> = m.with(&1, |v| v); // error: lifetime may not live long enough
/// ```
pub struct ShardedMap<K, V, S = FxBuildHasher> {
    /// The shards; their number is a power of two. Immutable after `new`;
    /// each shard's map is guarded by its lock.
    shards: Box<[CachePadded<Shard<K, V, S>>]>,
    /// The hasher that picks the shard; every shard holds a clone.
    hasher: S,
    /// `log2(shards.len())`.
    shard_bits: u32,
}

impl<K, V> ShardedMap<K, V> {
    /// An empty map with the default number of shards (see
    /// [`default_shards`]) and the [`FxBuildHasher`].
    ///
    /// ```
    /// use baton::collections::ShardedMap;
    ///
    /// let m: ShardedMap<u64, String> = ShardedMap::new();
    /// assert!(m.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_shards_and_hasher(default_shards(), FxBuildHasher)
    }

    /// An empty map with `n` shards.
    ///
    /// # Panics
    ///
    /// If `n` is not a power of two, or is above 65536.
    ///
    /// ```
    /// use baton::collections::ShardedMap;
    ///
    /// let m: ShardedMap<u64, u64> = ShardedMap::with_shards(64);
    /// assert_eq!(m.shards(), 64);
    /// ```
    pub fn with_shards(n: usize) -> Self {
        Self::with_shards_and_hasher(n, FxBuildHasher)
    }
}

impl<K, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

/// The number of shards [`ShardedMap::new`] uses: sixteen per core the
/// process may use, rounded up to a power of two, at least 64 and at most
/// 1024 (1 or 2 cores: 64; 8 cores: 128; 16 cores: 256).
///
/// Why so many: a shard costs ~128 bytes (a padded lock and an empty
/// table), but two threads on one shard pay even when both only read, since
/// taking a read lock writes the lock word and its cache line moves between
/// the cores. With `T` busy threads on uniformly spread keys and `N` shards,
/// an operation meets another on its shard about `T/N` of the time (on
/// zipf keys more often: the hot keys' shards), so more shards help even a
/// read-only load.
///
/// The measurements that chose it (`baton-lab run map`, 1M `u64` keys,
/// the 14 cases of read100/90/50 on uniform and zipf(0.99) keys at 2 and 8
/// threads, on the 2-core development machine): with the old default, four
/// per core (8 shards there, dashmap's rule), `ShardedMap` was 0.74-1.01x
/// the best of dashmap, scc and papaya case by case, while the 64- and
/// 256-shard rows beat every peer in every case (1.08-1.5x), quiet
/// machine (issue 15). 64 is the smallest of those, so the memory per map
/// stays 8 KiB. Runs on the same machine while five other builds shared its
/// two cores (the workers got ~20% of the CPU) were too noisy to separate
/// any two shard counts (two rows of the same shard count differed by up
/// to 2x in one run), so they neither confirm nor contradict it.
/// Sixteen per core
/// keeps `T/N` at the 64-on-2-cores level on bigger machines (more than
/// 1024 shards would cost 128 KiB per map for little). Pass a count to
/// [`ShardedMap::with_shards`] for many small maps. Under loom: 2 (small
/// models).
///
/// ```
/// let n = baton::collections::default_shards();
/// assert!(n.is_power_of_two() && (64..=1024).contains(&n));
/// ```
pub fn default_shards() -> usize {
    if cfg!(loom) {
        return 2;
    }
    (cores() * SHARDS_PER_CORE)
        .next_power_of_two()
        .clamp(MIN_DEFAULT_SHARDS, MAX_DEFAULT_SHARDS)
}

/// Shards per core in [`default_shards`] (see there for the measurements).
const SHARDS_PER_CORE: usize = 16;
/// The fewest shards [`default_shards`] gives (64: the measured winner on
/// 2 cores).
const MIN_DEFAULT_SHARDS: usize = 64;
/// The most shards [`default_shards`] gives (1024 x 128 B = 128 KiB).
const MAX_DEFAULT_SHARDS: usize = 1024;

/// The cores the process may use (1 if unknown).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// [`HandleMap`](super::HandleMap)'s default: four shards per core, a
/// power of two. Kept apart from [`default_shards`]: a handle spends
/// `log2(shards)` of its index bits on the shard, so more shards mean fewer
/// slots per shard, and the handle registry was measured with this rule.
/// Under loom: 2.
pub(super) fn four_per_core() -> usize {
    if cfg!(loom) {
        return 2;
    }
    (cores() * 4).next_power_of_two().min(MAX_SHARDS)
}

impl<K, V, S: BuildHasher + Clone> ShardedMap<K, V, S> {
    /// An empty map with the default shards and the given hasher.
    ///
    /// ```
    /// use baton::collections::ShardedMap;
    /// use std::collections::hash_map::RandomState;
    ///
    /// // keyed SipHash: for keys an attacker chooses
    /// let m = ShardedMap::with_hasher(RandomState::new());
    /// m.insert("k".to_string(), 1);
    /// assert_eq!(m.get_cloned("k"), Some(1));
    /// ```
    pub fn with_hasher(hasher: S) -> Self {
        Self::with_shards_and_hasher(default_shards(), hasher)
    }

    /// An empty map with `n` shards and the given hasher.
    ///
    /// # Panics
    ///
    /// If `n` is not a power of two, or is above 65536.
    ///
    /// ```
    /// use baton::collections::{FxBuildHasher, ShardedMap};
    ///
    /// let m: ShardedMap<u8, u8> = ShardedMap::with_shards_and_hasher(8, FxBuildHasher);
    /// assert_eq!(m.shards(), 8);
    /// ```
    pub fn with_shards_and_hasher(n: usize, hasher: S) -> Self {
        assert!(
            n.is_power_of_two() && n <= MAX_SHARDS,
            "ShardedMap: the shard count must be a power of two in 1..=65536, got {n}"
        );
        let shards = (0..n)
            .map(|_| CachePadded::new(RwLock::new(HashMap::with_hasher(hasher.clone()))))
            .collect();
        Self {
            shards,
            hasher,
            shard_bits: n.trailing_zeros(),
        }
    }
}

impl<K, V, S> ShardedMap<K, V, S> {
    /// The number of shards.
    ///
    /// ```
    /// let m: baton::collections::ShardedMap<u8, u8> =
    ///     baton::collections::ShardedMap::with_shards(16);
    /// assert_eq!(m.shards(), 16);
    /// ```
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Each shard's length, for tests of the spread.
    #[cfg(all(test, not(loom)))]
    pub(super) fn shard_lens(&self) -> Vec<usize> {
        self.shards.iter().map(|s| s.read_in(MAP).len()).collect()
    }

    /// The number of entries, summed shard by shard: **not a snapshot**
    /// while other threads change the map.
    ///
    /// ```
    /// let m = baton::collections::ShardedMap::new();
    /// m.insert(1, 'a');
    /// m.insert(2, 'b');
    /// assert_eq!(m.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read_in(MAP).len()).sum()
    }

    /// Whether every shard is empty (shard by shard: not a snapshot).
    ///
    /// ```
    /// let m = baton::collections::ShardedMap::<u8, u8>::new();
    /// assert!(m.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.read_in(MAP).is_empty())
    }

    /// Removes every entry, shard by shard: an insert into an
    /// already-cleared shard during the call survives it.
    ///
    /// ```
    /// let m = baton::collections::ShardedMap::new();
    /// m.insert(1, 1);
    /// m.clear();
    /// assert!(m.is_empty());
    /// ```
    pub fn clear(&self) {
        for s in self.shards.iter() {
            s.write_in(MAP).clear();
        }
    }

    /// Keeps only the entries for which `keep` returns true, shard by shard
    /// (not a snapshot). `keep` runs under the shard's write lock: it must
    /// not call this map.
    ///
    /// ```
    /// let m = baton::collections::ShardedMap::new();
    /// for i in 0..10 {
    ///     m.insert(i, i * i);
    /// }
    /// m.retain(|k, v| {
    ///     *v += 1;
    ///     k % 2 == 0
    /// });
    /// assert_eq!(m.len(), 5);
    /// assert_eq!(m.get_cloned(&4), Some(17));
    /// ```
    pub fn retain(&self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        for s in self.shards.iter() {
            s.write_in(MAP).retain(|k, v| keep(k, v));
        }
    }

    /// Calls `f` on every entry, shard by shard, under each shard's read
    /// lock. **Not a snapshot**: entries inserted or removed meanwhile may
    /// or may not be seen, but each entry present for the whole call is
    /// seen exactly once. `f` must not call this map.
    ///
    /// ```
    /// let m = baton::collections::ShardedMap::new();
    /// for i in 1..=4 {
    ///     m.insert(i, i);
    /// }
    /// let mut sum = 0;
    /// m.for_each(|_, v| sum += v);
    /// assert_eq!(sum, 10);
    /// ```
    pub fn for_each(&self, mut f: impl FnMut(&K, &V)) {
        for s in self.shards.iter() {
            for (k, v) in s.read_in(MAP).iter() {
                f(k, v);
            }
        }
    }
}

impl<K: Hash + Eq, V, S: BuildHasher> ShardedMap<K, V, S> {
    /// The shard of a key: the hash bits just below the inner map's tag
    /// bits (see the module docs' table).
    #[inline]
    fn shard_of<Q: Hash + ?Sized>(&self, key: &Q) -> &Shard<K, V, S> {
        let hash = self.hasher.hash_one(key);
        // `shard_bits == 0` must give shard 0: shifting right by 64 would
        // overflow, so shift the tag bits out first, then keep the top
        // `shard_bits` of the rest (a checked shift gives 0 for 64).
        let below_tag = hash << TAG_BITS;
        let idx = below_tag.checked_shr(64 - self.shard_bits).unwrap_or(0) as usize;
        &self.shards[idx]
    }

    /// Inserts `value` under `key`, returning the value it replaced.
    ///
    /// ```
    /// let m = baton::collections::ShardedMap::new();
    /// assert_eq!(m.insert("k", 1), None);
    /// assert_eq!(m.insert("k", 2), Some(1));
    /// ```
    #[inline]
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        self.shard_of(&key).write_in(MAP).insert(key, value)
    }

    /// Removes `key`, returning its value.
    ///
    /// ```
    /// let m = baton::collections::ShardedMap::new();
    /// m.insert(7, "seven");
    /// assert_eq!(m.remove(&7), Some("seven"));
    /// assert_eq!(m.remove(&7), None);
    /// ```
    #[inline]
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard_of(key).write_in(MAP).remove(key)
    }

    /// Whether `key` is present.
    ///
    /// ```
    /// let m = baton::collections::ShardedMap::new();
    /// m.insert(1, ());
    /// assert!(m.contains_key(&1) && !m.contains_key(&2));
    /// ```
    #[inline]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard_of(key).read_in(MAP).contains_key(key)
    }

    /// A clone of the value under `key`.
    ///
    /// ```
    /// let m = baton::collections::ShardedMap::new();
    /// m.insert("k", vec![1, 2]);
    /// assert_eq!(m.get_cloned("k"), Some(vec![1, 2]));
    /// ```
    #[inline]
    pub fn get_cloned<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.shard_of(key).read_in(MAP).get(key).cloned()
    }

    /// Calls `f` on the value under `key` under the shard's read lock and
    /// returns its result (`None` if the key is absent). `f` must not call
    /// this map.
    ///
    /// ```
    /// let m = baton::collections::ShardedMap::new();
    /// m.insert(1, "hello".to_string());
    /// assert_eq!(m.with(&1, |s| s.len()), Some(5));
    /// assert_eq!(m.with(&2, |s| s.len()), None);
    /// ```
    #[inline]
    pub fn with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard_of(key).read_in(MAP).get(key).map(f)
    }

    /// Calls `f` on the value under `key` under the shard's write lock and
    /// returns its result (`None` if the key is absent). `f` must not call
    /// this map.
    ///
    /// ```
    /// let m = baton::collections::ShardedMap::new();
    /// m.insert(1, 10);
    /// m.with_mut(&1, |v| *v += 1);
    /// assert_eq!(m.get_cloned(&1), Some(11));
    /// ```
    #[inline]
    pub fn with_mut<Q, R>(&self, key: &Q, f: impl FnOnce(&mut V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shard_of(key).write_in(MAP).get_mut(key).map(f)
    }

    /// Inserts or updates `key` atomically (under the shard's write lock):
    /// `f` gets the current value (`Some(&mut v)`, which it may change in
    /// place) or `None` if absent. If `f` returns `Some(new)`, `new` is
    /// stored (inserted, or replacing the current value); if it returns
    /// `None`, the entry stays as `f` left it (absent stays absent).
    /// Returns whether the key was present before. `f` must not call this
    /// map.
    ///
    /// ```
    /// let counts = baton::collections::ShardedMap::new();
    /// for word in ["a", "b", "a"] {
    ///     counts.upsert(word, |n| match n {
    ///         Some(n) => {
    ///             *n += 1;
    ///             None
    ///         }
    ///         None => Some(1),
    ///     });
    /// }
    /// assert_eq!(counts.get_cloned("a"), Some(2));
    /// assert_eq!(counts.get_cloned("b"), Some(1));
    /// ```
    #[inline]
    pub fn upsert(&self, key: K, f: impl FnOnce(Option<&mut V>) -> Option<V>) -> bool {
        let mut shard = self.shard_of(&key).write_in(MAP);
        match shard.get_mut(&key) {
            Some(v) => {
                if let Some(new) = f(Some(v)) {
                    *v = new;
                }
                true
            }
            None => {
                if let Some(new) = f(None) {
                    shard.insert(key, new);
                }
                false
            }
        }
    }
}

impl<K, V, S> fmt::Debug for ShardedMap<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No `len`: that would take the shard locks, and a `{:?}` inside a
        // closure of this map would then deadlock.
        f.debug_struct("ShardedMap")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}
