//! Layer 2: Go's `sync` package with Rust's ownership: guards, `Send` and
//! `Sync` bounds, and no poisoning.
//!
//! | item | Go | for |
//! |---|---|---|
//! | [`Mutex`] | `sync.Mutex` | exclusive access to a value; fair under long waits (1 ms starvation mode) |
//! | [`Cond`] | `sync.Cond` | waiting for a condition on data guarded by a [`Mutex`] |
//! | [`WaitGroup`] | `sync.WaitGroup` | waiting for a set of tasks to finish |
//! | [`Once`], [`OnceCell`] | `sync.Once`, `sync.OnceValue` | one-time initialisation; a panicking initialiser lets the next caller retry |
//!
//! # Usage rules
//!
//! - Every blocking call here (`lock`, `wait`, `call_once` while another
//!   caller initialises) parks through baton's park layer: on a plain
//!   thread it blocks the thread; inside a goroutine it suspends the
//!   goroutine and never blocks the worker thread. Nothing here calls a
//!   blocking OS primitive directly.
//! - Each blocking call has a bounded form (`lock_timeout`, `wait_timeout`,
//!   `try_lock`) that gives up cleanly: a timed-out call loses nothing and
//!   takes nothing.
//! - Guards are not `Send`: unlock on the thread or goroutine that locked.
//! - Misuse panics with a message saying what was wrong, in Go's words
//!   (`sync: negative WaitGroup counter`).

mod raw_mutex;

mod cond;
mod mutex;
mod once;
mod once_cell;
mod waitgroup;

pub use cond::Cond;
pub use mutex::{Mutex, MutexGuard};
pub use once::Once;
pub use once_cell::OnceCell;
pub use waitgroup::WaitGroup;
