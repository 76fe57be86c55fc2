//! Layer 2: Go's `sync` package with Rust's ownership: guards, `Send` and
//! `Sync` bounds, and no poisoning.
//!
//! | item | Go | for |
//! |---|---|---|
//! | [`Mutex`] | `sync.Mutex` | exclusive access to a value; fair under long waits (1 ms starvation mode) |
//! | [`Cond`] | `sync.Cond` | waiting for a condition on data guarded by a [`Mutex`] |
//! | [`WaitGroup`] | `sync.WaitGroup` | waiting for a set of tasks to finish; `add_guard` and `go` call `done` even when a task panics |
//! | [`Once`], [`OnceCell`] | `sync.Once`, `sync.OnceValue` | one-time initialisation; a panicking initialiser lets the next caller retry |
//! | [`RwLock`] | `sync.RWMutex` | many readers or one writer; writer-preferring, readers admitted in batches, nobody starves |
//! | [`ShardedRwLock`] | drwmutex | read-mostly data read on every core: readers on per-thread slots, writers lock every slot |
//! | [`Semaphore`] | `x/sync/semaphore.Weighted` | bounding concurrent use by weight; FIFO, so large requests are not starved; owned permits (`acquire_owned`) move into goroutines |
//! | [`Pool`] | `sync.Pool` | reusing expensive objects; lossy by design, never blocks |
//!
//! # Usage rules
//!
//! - Every blocking call here (`lock`, `read`, `write`, `acquire`, `wait`,
//!   `call_once` while another caller initialises) parks through baton's
//!   park layer: on a plain thread it blocks the thread; inside a goroutine it suspends the
//!   goroutine and never blocks the worker thread. Nothing here calls a
//!   blocking OS primitive directly.
//! - Each blocking call has a bounded form (`lock_timeout`, `wait_timeout`,
//!   `try_lock`) that gives up cleanly: a timed-out call loses nothing and
//!   takes nothing.
//! - Guards are not `Send`: unlock on the thread or goroutine that locked.
//! - Misuse panics with a message saying what was wrong, in Go's words
//!   (`sync: negative WaitGroup counter`).

mod raw_mutex;
mod raw_rwlock;
#[cfg(all(test, not(loom)))]
mod test_util;

mod cond;
#[cfg(not(loom))]
mod ctx;
mod mutex;
mod once;
mod once_cell;
mod pool;
mod rwlock;
mod semaphore;
mod sharded_rwlock;
mod waitgroup;

pub use cond::Cond;
pub use mutex::{Mutex, MutexGuard};
pub use once::Once;
pub use once_cell::OnceCell;
pub use pool::{Pool, PoolGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
pub use sharded_rwlock::{ShardedRwLock, ShardedRwLockReadGuard, ShardedRwLockWriteGuard};
pub use waitgroup::{WaitGroup, WaitGroupGuard};
