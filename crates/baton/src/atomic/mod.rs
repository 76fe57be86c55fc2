//! Layer 0: atomics and the contention-free building blocks everything else
//! stands on.
//!
//! | item | for |
//! |---|---|
//! | [`CachePadded`] | keeping values that different threads write on separate cache lines |
//! | [`Backoff`] | spinning politely in CAS retry loops and short waits |
//! | [`IdGen`] | unique non-zero `u64` ids, optionally in per-thread batches |
//! | [`ShardedCounter`] | a counter many threads bump at once without contending |
//! | [`Rcu`] | a read-mostly value (config, routing table): wait-free reads, writers swap in whole new versions, old ones freed when no reader can see them |
//! | [`SeqLock`] | snapshots of a small `Copy` value: readers write nothing shared and retry on a concurrent write |
//!
//! Rules shared by the module: every atomic goes through the crate's loom
//! shim, so each type here is model-checked with loom (`RUSTFLAGS="--cfg
//! loom"`, see `.ci/run`); every ordering weaker than `SeqCst` and every
//! `SeqCst` has its reason written next to it.

mod backoff;
mod cache_padded;
mod idgen;
mod rcu;
mod seqlock;
mod sharded_counter;
pub(crate) mod thread_index;

pub use backoff::Backoff;
pub use cache_padded::CachePadded;
pub use idgen::{IdBatch, IdGen, IdsExhausted};
pub use rcu::{Rcu, RcuGuard};
pub use seqlock::SeqLock;
pub use sharded_counter::ShardedCounter;
