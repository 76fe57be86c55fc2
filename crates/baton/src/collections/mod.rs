//! Layer 3: contention-free collections.
//!
//! | item | what | progress | reclamation |
//! |---|---|---|---|
//! | [`Stack`] | LIFO (Treiber) | lock-free | [`epoch`](crate::epoch) |
//! | [`Queue`] | FIFO, blocks of 31 slots (crossbeam `SegQueue`'s design) | lock-free except two short waits (see its docs) | per-block reader counting |
//! | [`MsQueue`] | FIFO (Michael–Scott, with helping): the classic baseline | lock-free | [`epoch`](crate::epoch) |
//! | [`ShardedMap`] | hash map of independently locked shards; no guard escapes a call | blocking (per-shard [`RwLock`](crate::sync::RwLock), parks) | none needed |
//! | [`HandleMap`] | registry: opaque `u64` handles instead of pointers, for foreign code | blocking (per-shard `RwLock`) | none needed |
//!
//! All are unbounded and multi-producer multi-consumer. `Stack::pop` and
//! every `MsQueue` operation pin the default epoch collector for their
//! length (nanoseconds), so a thread that stays pinned elsewhere holds back
//! the freeing of their nodes (see [`epoch`](crate::epoch), "Memory held
//! back"); `Queue` does not use epochs at all.
//!
//! Measured on the 2-core development machine (quick runs, millions of
//! operations per second, medians of 9; the lab's experiments are the
//! measurement to trust): push+pop pairs at 8 threads, `Queue` 84-90,
//! crossbeam `SegQueue` 86-98, `MsQueue` 17-19, `Stack` 19-24,
//! `Mutex<Vec>` 91-123. On two cores an uncontended mutex is hard to beat.
//! Since then (issue 15) `Stack` recycles its nodes through a per-thread
//! cache (one thread: 29.7 -> 21.5 ns per pair, `Mutex<Vec>` 23) and
//! `Queue` drops the pop's fence (one thread: 28.1 -> 22.1 ns per pair,
//! `SegQueue` 27.9); the figures and what limits the stack with more
//! threads than cores are in their module docs.
//!
//! `ShardedMap` and `HandleMap` (baton-lab `run map handles`, same 2-core
//! machine, busy: the workers got ~52% of the CPU they could have, so the
//! 8-thread figures understate contention): `HandleMap` cycles
//! (insert, 10 lookups, remove) 2-20x faster than one `RwLock<HashMap>`
//! with an atomic id (the background's "big old map"; the spread is run to
//! run), ~3x sharded-slab and ~15x Go's `sync.Map` registry; in the
//! `stream` scenario 8.75x-16x the big old map (the background saw 2.3x).
//! `ShardedMap` over 1M keys (then with 8 shards on 2 cores; 64 by default
//! since issue 15, see [`default_shards`]) is within noise of dashmap
//! (0.66x-1.54x case by case, same shard count, same hasher), 1.4x-3.1x the big old map on
//! uniform keys at 8 threads but only 0.6x-1.0x on zipf keys, where most
//! ops hit a few hot keys and with 2 cores few threads run at once. These
//! figures need a many-core machine before they prove anything.

mod fx_hash;
mod handle_map;
mod ms_queue;
mod node_cache;
mod queue;
mod sharded_map;
mod treiber;

pub use fx_hash::{FxBuildHasher, FxHasher};
pub use handle_map::{Handle, HandleError, HandleMap, TooManyMaps};
pub use ms_queue::MsQueue;
pub use queue::Queue;
pub use sharded_map::{default_shards, ShardedMap};
pub use treiber::Stack;

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, not(loom)))]
mod map_tests;

#[cfg(all(test, loom))]
mod loom_tests;

#[cfg(all(test, loom))]
mod map_loom_tests;
