//! Layer 3: contention-free collections.
//!
//! | item | what | progress | reclamation |
//! |---|---|---|---|
//! | [`Stack`] | LIFO (Treiber) | lock-free | [`epoch`](crate::epoch) |
//! | [`Queue`] | FIFO, blocks of 31 slots (crossbeam `SegQueue`'s design) | lock-free except two short waits (see its docs) | per-block reader counting |
//! | [`MsQueue`] | FIFO (Michael–Scott, with helping): the classic baseline | lock-free | [`epoch`](crate::epoch) |
//!
//! All are unbounded and multi-producer multi-consumer. `Stack` and
//! `MsQueue` pin the default epoch collector for the length of each
//! operation (nanoseconds), so a thread that stays pinned elsewhere holds
//! back the freeing of their nodes (see [`epoch`](crate::epoch), "Memory
//! held back"); `Queue` does not use epochs at all.

mod ms_queue;
mod queue;
mod stack;

pub use ms_queue::MsQueue;
pub use queue::Queue;
pub use stack::Stack;

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
