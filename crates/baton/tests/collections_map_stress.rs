//! Stress tests for `ShardedMap` and `HandleMap`: 8 threads (4x the CI
//! machine's 2 cores) run random operations at once, each mirrored into a
//! model (`HashMap` under a mutex); at the end the map must equal the model.
//!
//! Determinism: `ShardedMap` threads insert and remove only their own keys
//! (so the final state does not depend on the interleaving) and all of them
//! bump shared counters with `upsert` (commutative, so the total is known).
//! `HandleMap` threads share handles through a pool and race to remove
//! them: exactly one removal may win, every lookup must give the value
//! issued with that handle, and no handle may be issued twice.
//!
//! Sizes: `BATON_STRESS_OPS` ops per thread (default 20,000). Every test
//! fails by its own timeout instead of hanging.

mod common;

use baton::collections::{Handle, HandleError, HandleMap, ShardedMap};
use common::within;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::thread;

const THREADS: u64 = 8;
const TIMEOUT_S: u64 = 120;

fn ops_per_thread() -> u64 {
    std::env::var("BATON_STRESS_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

/// xorshift64*: a deterministic random stream per thread, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Keys `0..SHARED` are counters every thread bumps; thread `t` owns keys
/// `SHARED + t * OWN .. SHARED + (t + 1) * OWN`.
const SHARED: u64 = 16;
const OWN: u64 = 512;

fn sharded_map_matches_model(shards: usize) {
    let map = Arc::new(ShardedMap::<u64, u64>::with_shards(shards));
    let model = Arc::new(Mutex::new(HashMap::<u64, u64>::new()));
    let ops = ops_per_thread();
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (map, model) = (map.clone(), model.clone());
            thread::spawn(move || {
                let mut rng = Rng(0x9e37_79b9 + t);
                let base = SHARED + t * OWN;
                for i in 0..ops {
                    let r = rng.next();
                    let own = base + r % OWN;
                    match (r >> 32) % 8 {
                        0..=1 => {
                            let before = map.insert(own, i);
                            let mut m = model.lock().unwrap();
                            assert_eq!(before, m.insert(own, i), "insert {own}");
                        }
                        2 => {
                            let before = map.remove(&own);
                            assert_eq!(before, model.lock().unwrap().remove(&own), "remove {own}");
                        }
                        3 => {
                            let shared = r % SHARED;
                            map.upsert(shared, |v| match v {
                                Some(n) => {
                                    *n += 1;
                                    None
                                }
                                None => Some(1),
                            });
                            *model.lock().unwrap().entry(shared).or_insert(0) += 1;
                        }
                        4 => {
                            let got = map.with_mut(&own, |v| {
                                *v += 1;
                                *v
                            });
                            let mut m = model.lock().unwrap();
                            let want = m.get_mut(&own).map(|v| {
                                *v += 1;
                                *v
                            });
                            assert_eq!(got, want, "with_mut {own}");
                        }
                        _ => {
                            // Own keys: only this thread changes them, so
                            // the map and the model agree at this moment.
                            let got = map.get_cloned(&own);
                            assert_eq!(got, model.lock().unwrap().get(&own).copied());
                            assert_eq!(map.contains_key(&own), got.is_some());
                            // Shared keys: readable while others write.
                            let _ = map.with(&(r % SHARED), |v| *v);
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker panicked");
    }
    let model = model.lock().unwrap();
    assert_eq!(map.len(), model.len());
    for (k, v) in model.iter() {
        assert_eq!(map.get_cloned(k), Some(*v), "key {k}");
    }
    let mut seen = 0;
    map.for_each(|k, v| {
        assert_eq!(model.get(k), Some(v));
        seen += 1;
    });
    assert_eq!(seen, model.len());
    let bumps: u64 = (0..SHARED).filter_map(|k| map.get_cloned(&k)).sum();
    assert_eq!(
        bumps,
        (0..SHARED).filter_map(|k| model.get(&k)).sum::<u64>()
    );
}

#[test]
fn sharded_map_default_shards_matches_model() {
    within("sharded map, default shards", TIMEOUT_S, || {
        sharded_map_matches_model(baton::collections::default_shards())
    });
}

#[test]
fn sharded_map_one_shard_matches_model() {
    // One shard: every thread meets every other on one lock.
    within("sharded map, 1 shard", TIMEOUT_S, || {
        sharded_map_matches_model(1)
    });
}

#[test]
fn sharded_map_retain_and_clear_race_with_writers() {
    within("sharded map retain/clear", TIMEOUT_S, || {
        let map = Arc::new(ShardedMap::<u64, u64>::with_shards(8));
        let ops = ops_per_thread();
        let writers: Vec<_> = (0..THREADS - 1)
            .map(|t| {
                let map = map.clone();
                thread::spawn(move || {
                    for i in 0..ops {
                        map.insert(t * ops + i, i);
                    }
                })
            })
            .collect();
        // Odd values are removed as they come; whole-map calls must not
        // deadlock or corrupt anything while writers run.
        for _ in 0..50 {
            map.retain(|_, v| *v % 2 == 0);
            let mut n = 0;
            map.for_each(|_, v| n += usize::from(*v % 2 == 0));
            assert!(n <= map.len() + (THREADS as usize) * ops as usize);
        }
        for w in writers {
            w.join().unwrap();
        }
        map.retain(|_, v| *v % 2 == 0);
        let evens = (THREADS - 1) * ops.div_ceil(2);
        assert_eq!(map.len() as u64, evens);
        map.clear();
        assert!(map.is_empty());
    });
}

/// What the `HandleMap` test shares: the map, a model of live handles, every
/// handle ever issued with its value, and a pool of handles any thread may
/// look up or remove.
struct Shared {
    map: HandleMap<u64>,
    live: Mutex<HashMap<Handle, u64>>,
    issued: Mutex<HashMap<Handle, u64>>,
    pool: Mutex<Vec<Handle>>,
}

#[test]
fn handle_map_matches_model_under_racing_removes() {
    within("handle map", TIMEOUT_S, || {
        let s = Arc::new(Shared {
            map: HandleMap::new(),
            live: Mutex::new(HashMap::new()),
            issued: Mutex::new(HashMap::new()),
            pool: Mutex::new(Vec::new()),
        });
        let ops = ops_per_thread();
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let s = s.clone();
                thread::spawn(move || {
                    let mut rng = Rng(0x1234_5678 + t);
                    for i in 0..ops {
                        let r = rng.next();
                        let pick = || {
                            let pool = s.pool.lock().unwrap();
                            (!pool.is_empty()).then(|| pool[(r >> 8) as usize % pool.len()])
                        };
                        match r % 4 {
                            0 => {
                                let v = (t << 32) | i;
                                let h = s.map.insert(v);
                                // Model first, then publish to the pool.
                                assert!(
                                    s.issued.lock().unwrap().insert(h, v).is_none(),
                                    "handle {h:?} issued twice"
                                );
                                s.live.lock().unwrap().insert(h, v);
                                s.pool.lock().unwrap().push(h);
                            }
                            1 => {
                                let Some(h) = pick() else { continue };
                                match s.map.remove(h) {
                                    Ok(v) => {
                                        let was = s.live.lock().unwrap().remove(&h);
                                        assert_eq!(was, Some(v), "remove {h:?}");
                                    }
                                    Err(e) => assert_eq!(e, HandleError::Stale),
                                }
                            }
                            _ => {
                                let Some(h) = pick() else { continue };
                                match s.map.get(h) {
                                    Ok(v) => assert_eq!(
                                        s.issued.lock().unwrap().get(&h),
                                        Some(&v),
                                        "{h:?} gave a value it was not issued with"
                                    ),
                                    Err(e) => assert_eq!(e, HandleError::Stale),
                                }
                            }
                        }
                        if i % 64 == 0 {
                            // Forget dead handles now and then, so the pool
                            // stays mostly live.
                            let live = s.live.lock().unwrap();
                            s.pool.lock().unwrap().retain(|h| live.contains_key(h));
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("worker panicked");
        }
        let live = s.live.lock().unwrap();
        assert_eq!(s.map.len(), live.len());
        for (h, v) in live.iter() {
            assert_eq!(s.map.get(*h), Ok(*v));
        }
        for h in s.issued.lock().unwrap().keys() {
            if !live.contains_key(h) {
                assert_eq!(s.map.get(*h), Err(HandleError::Stale));
            }
        }
    });
}
