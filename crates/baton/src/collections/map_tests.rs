//! Unit tests of `ShardedMap`, `FxHasher` and `HandleMap` (layout tests are
//! in `handle_map.rs`; stress tests in `tests/collections_map_stress.rs`).

use super::*;
use std::collections::hash_map::RandomState;
use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};

#[test]
fn map_basic_operations() {
    let m = ShardedMap::with_shards(4);
    assert_eq!(m.insert(1, "a"), None);
    assert_eq!(m.insert(2, "b"), None);
    assert_eq!(m.insert(1, "c"), Some("a"));
    assert_eq!(m.len(), 2);
    assert!(m.contains_key(&1));
    assert_eq!(m.get_cloned(&1), Some("c"));
    assert_eq!(m.with(&2, |v| v.len()), Some(1));
    assert_eq!(m.with_mut(&3, |_| ()), None);
    assert_eq!(m.remove(&1), Some("c"));
    assert_eq!(m.remove(&1), None);
    assert!(!m.is_empty());
    m.clear();
    assert!(m.is_empty());
}

#[test]
fn map_upsert_inserts_updates_and_replaces() {
    let m = ShardedMap::with_shards(2);
    assert!(!m.upsert("k", |v| {
        assert!(v.is_none());
        None
    }));
    assert!(!m.contains_key("k"), "None on absent leaves it absent");
    assert!(!m.upsert("k", |_| Some(1)));
    assert!(m.upsert("k", |v| {
        *v.unwrap() += 10;
        None
    }));
    assert_eq!(m.get_cloned("k"), Some(11));
    assert!(m.upsert("k", |_| Some(5)));
    assert_eq!(m.get_cloned("k"), Some(5));
}

#[test]
fn map_single_shard_and_many_shards_agree() {
    for shards in [1, 2, 64, 1024] {
        let m = ShardedMap::with_shards(shards);
        for i in 0..5000u64 {
            m.insert(i, i * 2);
        }
        assert_eq!(m.len(), 5000, "shards {shards}");
        for i in 0..5000u64 {
            assert_eq!(m.get_cloned(&i), Some(i * 2));
        }
        let mut seen = HashSet::new();
        m.for_each(|k, _| assert!(seen.insert(*k)));
        assert_eq!(seen.len(), 5000);
    }
}

#[test]
fn map_keys_spread_over_shards() {
    let m = ShardedMap::with_shards(64);
    for i in 0..64_000u64 {
        m.insert(i, ());
    }
    for (n, len) in m.shard_lens().into_iter().enumerate() {
        assert!(
            (500..1500).contains(&len),
            "shard {n} has {len} of 64000 sequential keys"
        );
    }
}

#[test]
fn map_with_random_state_and_borrowed_keys() {
    let m = ShardedMap::with_hasher(RandomState::new());
    m.insert(String::from("hello"), 1);
    assert_eq!(m.get_cloned("hello"), Some(1));
    assert_eq!(m.remove("hello"), Some(1));
}

#[test]
fn map_retain_and_for_each() {
    let m = ShardedMap::new();
    for i in 0..100 {
        m.insert(i, i);
    }
    m.retain(|k, v| {
        *v *= 2;
        k % 3 == 0
    });
    assert_eq!(m.len(), 34);
    let mut sum = 0;
    m.for_each(|_, v| sum += v);
    assert_eq!(
        sum,
        (0..100).filter(|k| k % 3 == 0).map(|k| k * 2).sum::<i32>()
    );
}

#[test]
#[should_panic(expected = "power of two")]
fn map_rejects_shard_count_not_power_of_two() {
    let _ = ShardedMap::<u8, u8>::with_shards(3);
}

#[test]
fn map_drops_values() {
    let v = std::sync::Arc::new(());
    let m = ShardedMap::new();
    for i in 0..10 {
        m.insert(i, v.clone());
    }
    assert_eq!(std::sync::Arc::strong_count(&v), 11);
    drop(m);
    assert_eq!(std::sync::Arc::strong_count(&v), 1);
}

#[test]
fn fx_hash_spreads_low_and_high_bits() {
    // Keys that differ only in high bits (aligned pointers, multiples of
    // 2^32) must still differ in the low bits the inner map uses.
    let mut lows = HashSet::new();
    let mut tops = HashSet::new();
    for i in 0..256u64 {
        let h = FxBuildHasher.hash_one(i << 40);
        lows.insert(h & 0xff);
        tops.insert(h >> 56);
    }
    assert!(lows.len() > 120, "low byte took {} values", lows.len());
    assert!(tops.len() > 120, "top byte took {} values", tops.len());
    // Byte strings: the length is mixed in.
    let mut a = FxHasher::default();
    a.write(b"ab");
    a.write(b"c");
    let mut b = FxHasher::default();
    b.write(b"a");
    b.write(b"bc");
    assert_ne!(a.finish(), b.finish());
}

#[test]
fn handles_basic_and_errors() {
    let m = HandleMap::with_shards(4);
    let other = HandleMap::<String>::with_shards(4);
    let h = m.insert(String::from("a"));
    assert_eq!(m.len(), 1);
    assert_eq!(m.get(h).as_deref(), Ok("a"));
    assert_eq!(other.get(h), Err(HandleError::WrongMap));
    assert_eq!(other.remove(h), Err(HandleError::WrongMap));
    assert_eq!(m.with_mut(h, |s| s.push('b')), Ok(()));
    assert_eq!(m.remove(h).as_deref(), Ok("ab"));
    assert_eq!(m.get(h), Err(HandleError::Stale));
    assert_eq!(m.with_mut(h, |_| ()), Err(HandleError::Stale));
    // The slot is reused with a new generation; the old handle stays stale.
    let h2 = m.insert(String::from("c"));
    assert_ne!(h, h2);
    assert_eq!(m.get(h), Err(HandleError::Stale));
    assert_eq!(m.get(h2).as_deref(), Ok("c"));
    assert!(!m.is_empty());
    assert_eq!(
        HandleError::Stale.to_string(),
        "stale handle: its value was removed"
    );
}

#[test]
fn handles_from_many_threads_are_distinct() {
    let m = HandleMap::with_shards(8);
    let all: Vec<Handle> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..8)
            .map(|t| {
                let m = &m;
                s.spawn(move || (0..500).map(|i| m.insert(t * 1000 + i)).collect::<Vec<_>>())
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 4000);
    assert_eq!(m.len(), 4000);
    for h in &all {
        let v = m.get(*h).unwrap();
        assert_eq!(m.remove(*h), Ok(v));
    }
    assert!(m.is_empty());
}

#[test]
fn handles_index_past_slots_is_invalid() {
    let m = HandleMap::<u8>::with_shards(1);
    let h = m.insert(1);
    let raw = h.to_raw() + 1000; // same tag and generation, unknown index
    assert_eq!(m.get(Handle::from_raw(raw)), Err(HandleError::Invalid));
    // A generation the slot never had.
    let raw = h.to_raw() + (5 << 32);
    assert_eq!(m.get(Handle::from_raw(raw)), Err(HandleError::Invalid));
}
