//! [`KeyedLimiter`]: one token bucket per key (per client, per IP) on a
//! [`ShardedMap`], whose idle keys are forgotten so memory stays bounded.
//!
//! Every key shares the limiter's limit and burst, so a key costs one
//! `AtomicI64` (its GCRA time, see `bucket.rs`) plus the map's entry. An
//! `allow` on a known key takes the key's shard read lock and does the
//! same load-and-CAS as [`Limiter::allow`](super::Limiter::allow); a new key
//! takes the shard's write lock once to insert a full bucket.
//!
//! ## Eviction
//!
//! A key whose bucket has refilled completely (its time is not in the
//! future) behaves exactly as a key never seen: forgetting it changes no
//! answer. So the limiter removes such keys: at most once per refill window
//! (`burst / limit`, at least [`MIN_SWEEP_INTERVAL`]), the first insert of a
//! new key after the window sweeps the map with `retain` (a write lock per
//! shard, one shard at a time). Between sweeps the map holds the keys
//! active in the last two windows, so memory follows the active keys, not
//! every key ever seen (the growth users of `governor`'s keyed limiter
//! report: it keeps every key until `retain_recent` is called).
//! [`KeyedLimiter::evict_idle`] sweeps on demand.
//!
//! A sweep and an `allow` on the same key cannot interleave: the CAS runs
//! under the shard's read lock and `retain` under its write lock; a key
//! removed just before an `allow` is re-inserted full, which is the state
//! it was removed in.

use core::hash::Hash;
use std::time::{Duration, Instant};

use super::bucket::{Config, Kind, Params, FIELD_MAX, FIELD_MIN};
use super::Limit;
use crate::collections::ShardedMap;
use crate::shim::atomic::{AtomicI64, Ordering::*};

/// The shortest time between two automatic sweeps, so that a limiter with
/// a tiny refill window does not sweep on every new key.
pub const MIN_SWEEP_INTERVAL: Duration = Duration::from_millis(100);

/// One token bucket per key, with the same limit and burst for every key;
/// idle keys are forgotten (see the module docs).
///
/// ```
/// use baton::rate::{KeyedLimiter, Limit};
///
/// let per_client = KeyedLimiter::new(Limit::per_second(1.0), 2);
/// assert!(per_client.allow(&"alice") && per_client.allow(&"alice"));
/// assert!(!per_client.allow(&"alice")); // alice used her burst
/// assert!(per_client.allow(&"bob")); // bob has his own
/// assert_eq!(per_client.len(), 2);
/// ```
pub struct KeyedLimiter<K> {
    /// Each key's GCRA field (ns from `epoch`, or tokens used for a zero
    /// limit). Only `allow_n` and the sweeps touch it.
    map: ShardedMap<K, AtomicI64>,
    config: Params,
    epoch: Instant,
    /// How long a sweep waits for the next (ns).
    sweep_every: i64,
    /// When the next automatic sweep is due (ns from `epoch`); claimed by
    /// CAS so one caller sweeps.
    next_sweep: AtomicI64,
}

impl<K> core::fmt::Debug for KeyedLimiter<K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyedLimiter")
            .field("limit", &self.config.config.limit)
            .field("burst", &self.config.config.burst)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// A keyed limiter: each key gets `limit` events a second and bursts
    /// of `burst`, starting full.
    ///
    /// ```
    /// use baton::rate::{KeyedLimiter, Limit};
    /// let lim = KeyedLimiter::<u32>::new(Limit::per_second(100.0), 10);
    /// assert!(lim.is_empty());
    /// ```
    pub fn new(limit: Limit, burst: usize) -> Self {
        let config = Params::new(Config {
            limit: limit.as_f64(),
            burst: burst as u64,
        });
        let window = match config.kind() {
            Kind::Rate(per) => Duration::from_secs_f64((per * burst as f64 / 1e9).min(1e9)),
            Kind::Inf | Kind::Zero => Duration::ZERO,
        };
        let sweep_every =
            i64::try_from(window.max(MIN_SWEEP_INTERVAL).as_nanos()).unwrap_or(FIELD_MAX);
        KeyedLimiter {
            map: ShardedMap::new(),
            config,
            epoch: Instant::now(),
            sweep_every,
            next_sweep: AtomicI64::new(sweep_every),
        }
    }

    /// The limit every key gets.
    ///
    /// ```
    /// use baton::rate::{KeyedLimiter, Limit};
    /// assert_eq!(KeyedLimiter::<u8>::new(Limit::per_second(3.0), 1).limit(), Limit::per_second(3.0));
    /// ```
    pub fn limit(&self) -> Limit {
        Limit::from_f64(self.config.config.limit)
    }

    /// The burst every key gets.
    ///
    /// ```
    /// use baton::rate::{KeyedLimiter, Limit};
    /// assert_eq!(KeyedLimiter::<u8>::new(Limit::per_second(3.0), 4).burst(), 4);
    /// ```
    pub fn burst(&self) -> usize {
        usize::try_from(self.config.config.burst).unwrap_or(usize::MAX)
    }

    /// Takes one of `key`'s tokens if it has one now.
    ///
    /// ```
    /// use baton::rate::{KeyedLimiter, Limit};
    /// let lim = KeyedLimiter::new(Limit::per_second(1.0), 1);
    /// assert!(lim.allow(&"10.0.0.1"));
    /// assert!(!lim.allow(&"10.0.0.1"));
    /// ```
    #[inline]
    pub fn allow(&self, key: &K) -> bool {
        self.allow_n(key, Instant::now(), 1)
    }

    /// Takes `n` of `key`'s tokens if it has them at `now`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use baton::rate::{KeyedLimiter, Limit};
    ///
    /// let lim = KeyedLimiter::new(Limit::per_second(10.0), 2);
    /// let t0 = Instant::now();
    /// assert!(lim.allow_n(&1, t0, 2));
    /// assert!(!lim.allow_n(&1, t0, 1));
    /// assert!(lim.allow_n(&1, t0 + Duration::from_millis(100), 1));
    /// ```
    pub fn allow_n(&self, key: &K, now: Instant, n: usize) -> bool {
        let c = self.config;
        if c.kind() == Kind::Inf {
            return true;
        }
        let t = self.ns(now);
        let n = n as u64;
        if let Some(ok) = self.map.with(key, |cell| take(cell, &c, t, n)) {
            return ok;
        }
        // A new key: insert a full bucket (or find the one a racing caller
        // inserted) and take from it under the write lock.
        let mut ok = false;
        self.map.upsert(key.clone(), |cell| match cell {
            Some(cell) => {
                ok = take(cell, &c, t, n);
                None
            }
            None => {
                let cell = AtomicI64::new(c.full());
                ok = take(&cell, &c, t, n);
                Some(cell)
            }
        });
        self.maybe_sweep(t);
        ok
    }

    /// The number of keys remembered (busy keys, and idle ones not yet
    /// swept).
    ///
    /// ```
    /// use baton::rate::{KeyedLimiter, Limit};
    /// let lim = KeyedLimiter::new(Limit::per_second(1.0), 1);
    /// lim.allow(&1);
    /// assert_eq!(lim.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no key is remembered.
    ///
    /// ```
    /// use baton::rate::{KeyedLimiter, Limit};
    /// assert!(KeyedLimiter::<u8>::new(Limit::per_second(1.0), 1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Forgets every key whose bucket is full now (which changes no answer:
    /// a full bucket is what an unknown key gets); returns how many.
    ///
    /// ```
    /// use std::time::Duration;
    /// use baton::rate::{KeyedLimiter, Limit};
    ///
    /// let lim = KeyedLimiter::new(Limit::every(Duration::from_millis(1)), 1);
    /// lim.allow(&"a");
    /// std::thread::sleep(Duration::from_millis(5)); // "a" refills
    /// assert_eq!(lim.evict_idle(), 1);
    /// assert!(lim.is_empty());
    /// ```
    pub fn evict_idle(&self) -> usize {
        self.sweep(self.ns(Instant::now()))
    }

    fn sweep(&self, t: i64) -> usize {
        let c = self.config;
        let before = self.map.len();
        // Relaxed: under the shard's write lock, which orders it after
        // every CAS done under that shard's read lock.
        self.map.retain(|_, cell| !c.is_full(cell.load(Relaxed), t));
        before.saturating_sub(self.map.len())
    }

    /// Sweeps if the window has passed and no other caller claimed it.
    fn maybe_sweep(&self, t: i64) {
        let due = self.next_sweep.load(Relaxed);
        if t < due {
            return;
        }
        // Relaxed: the claim orders nothing else; the map's locks order
        // the sweep itself.
        if self
            .next_sweep
            .compare_exchange(due, t.saturating_add(self.sweep_every), Relaxed, Relaxed)
            .is_ok()
        {
            self.sweep(t);
        }
    }

    fn ns(&self, t: Instant) -> i64 {
        match t.checked_duration_since(self.epoch) {
            Some(d) => i64::try_from(d.as_nanos()).map_or(FIELD_MAX, |v| v.min(FIELD_MAX)),
            None => {
                let back = self.epoch.duration_since(t).as_nanos();
                i64::try_from(back).map_or(FIELD_MIN, |v| (-v).max(FIELD_MIN))
            }
        }
    }
}

/// One key's `allow`: load, compute, CAS (orderings: `Relaxed`, as the
/// word carries no other data and the key's slot never changes config).
fn take(cell: &AtomicI64, c: &Params, t: i64, n: u64) -> bool {
    let mut cur = cell.load(Relaxed);
    loop {
        let Some((field, _)) = c.take(cur, t, n, 0) else {
            return false;
        };
        if field == cur {
            return true;
        }
        match cell.compare_exchange_weak(cur, field, Relaxed, Relaxed) {
            Ok(_) => return true,
            Err(now) => cur = now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_keys_are_swept_when_new_keys_come() {
        let lim = KeyedLimiter::new(Limit::per_second(1000.0), 1);
        let t0 = Instant::now();
        for k in 0..1000u32 {
            assert!(lim.allow_n(&k, t0, 1));
        }
        assert_eq!(lim.len(), 1000);
        // Past the sweep interval, every old key has refilled: the next
        // new key sweeps them.
        let later = t0 + MIN_SWEEP_INTERVAL * 2;
        assert!(lim.allow_n(&5000, later, 1));
        assert_eq!(lim.len(), 1, "old keys kept");
    }

    #[test]
    fn busy_keys_survive_a_sweep() {
        let lim = KeyedLimiter::new(Limit::per_second(1.0), 1);
        let t0 = Instant::now();
        assert!(lim.allow_n(&1, t0, 1));
        let later = t0 + MIN_SWEEP_INTERVAL * 2; // 1 still refilling (1 s)
        assert!(lim.allow_n(&2, later, 1)); // sweeps
        assert_eq!(lim.len(), 2);
        assert!(!lim.allow_n(&1, later, 1), "a swept key would be full");
    }

    #[test]
    fn zero_and_inf_limits() {
        let zero = KeyedLimiter::new(Limit::ZERO, 1);
        assert!(zero.allow(&1) && !zero.allow(&1));
        assert_eq!(zero.evict_idle(), 0, "a used zero-limit key never refills");
        let inf = KeyedLimiter::new(Limit::INF, 0);
        assert!(inf.allow(&1));
        assert!(inf.is_empty());
    }
}
