//! Layer 3: contention-free collections.
//!
//! | item | what | built on |
//! |---|---|---|
//! | [`Stack`] | lock-free LIFO (Treiber) | [`epoch`](crate::epoch) |
//! | [`Queue`] | lock-free FIFO (Michael–Scott, with helping) | [`epoch`](crate::epoch) |
//!
//! Both are unbounded and lock-free: a thread that stalls anywhere in an
//! operation never stops the others from completing theirs. Both pin the
//! default epoch collector for the length of each operation (a few
//! nanoseconds), so a thread that stays pinned elsewhere holds back the
//! freeing of their nodes (see [`epoch`](crate::epoch), "Memory held back").

mod queue;
mod stack;

pub use queue::Queue;
pub use stack::Stack;

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
