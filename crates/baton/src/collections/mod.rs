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
//! `Mutex<Vec>` 91-123. On two cores an uncontended mutex is hard to beat;
//! the stack's cost is mostly its allocation per push.

mod fx_hash;
mod handle_map;
mod ms_queue;
mod queue;
mod sharded_map;
mod stack;

pub use fx_hash::{FxBuildHasher, FxHasher};
pub use handle_map::{Handle, HandleError, HandleMap};
pub use ms_queue::MsQueue;
pub use queue::Queue;
pub use sharded_map::{default_shards, ShardedMap};
pub use stack::Stack;

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, not(loom)))]
mod map_tests;

#[cfg(all(test, loom))]
mod loom_tests;

#[cfg(all(test, loom))]
mod map_loom_tests;
