//! Layer 2: Go's `sync` package (temporary facade on the `sync-rw` branch;
//! the `sync` branch owns this file).

mod pool;

pub use pool::{Pool, PoolGuard};
