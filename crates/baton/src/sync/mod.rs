//! Layer 2: Go's `sync` package (temporary facade on the `sync-rw` branch;
//! the `sync` branch owns this file).

mod pool;
mod raw_rwlock;
mod rwlock;
mod semaphore;
mod sharded_rwlock;
#[cfg(all(test, not(loom)))]
mod test_util;

pub use pool::{Pool, PoolGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};
pub use semaphore::{Semaphore, SemaphorePermit};
pub use sharded_rwlock::{ShardedRwLock, ShardedRwLockReadGuard, ShardedRwLockWriteGuard};
