//! # baton
//!
//! Go's concurrency model for Rust, measured against the best peers.
//!
//! baton is built in layers (see `ARCHITECTURE.md` in the repository); each
//! layer uses only the layers below it:
//!
//! | layer | module | what it holds |
//! |---|---|---|
//! | 0 | [`atomic`] | [`CachePadded`](atomic::CachePadded), [`Backoff`](atomic::Backoff), [`IdGen`](atomic::IdGen), [`ShardedCounter`](atomic::ShardedCounter), [`Rcu`](atomic::Rcu), [`SeqLock`](atomic::SeqLock) |
//! | 1 | `park` (internal) | the one way anything blocks: park the current goroutine, or the OS thread outside one |
//! | 2 | [`sync`] | [`Mutex`](sync::Mutex), [`RwLock`](sync::RwLock), [`ShardedRwLock`](sync::ShardedRwLock), [`Cond`](sync::Cond), [`WaitGroup`](sync::WaitGroup), [`Semaphore`](sync::Semaphore), [`Once`](sync::Once), [`OnceCell`](sync::OnceCell), [`Pool`](sync::Pool) |
//! | 2 | [`epoch`] | epoch-based reclamation: [`pin`](epoch::pin), [`Guard`](epoch::Guard), [`Atomic`](epoch::Atomic)/[`Owned`](epoch::Owned)/[`Shared`](epoch::Shared), [`Collector`](epoch::Collector), [`pending`](epoch::pending) |
//! | 3 | [`chan`] | [`bounded`](chan::bounded), [`rendezvous`](chan::rendezvous), [`unbounded`](chan::unbounded), [`never`](chan::never), [`select!`], [`Select`](chan::Select) |
//! | 3 | [`time`] | [`sleep`](time::sleep), [`after`](time::after), [`tick`](time::tick), [`Timer`](time::Timer), [`Ticker`](time::Ticker) |
//! | 3 | [`collections`] | [`ShardedMap`](collections::ShardedMap), [`HandleMap`](collections::HandleMap), [`Stack`](collections::Stack) (Treiber), [`Queue`](collections::Queue) (segmented), [`MsQueue`](collections::MsQueue) (Michael–Scott) |
//! | 4 | [`runtime`] | goroutines: [`go`], [`scope`], [`yield_now`], [`JoinHandle`](runtime::JoinHandle), [`Builder`](runtime::Builder), [`Runtime`](runtime::Runtime) |
//! | 5 | [`context`] | Go's `context`: [`Context`](context::Context), [`with_cancel`](context::with_cancel), [`with_timeout`](context::with_timeout), [`with_value`](context::with_value), [`after_func`](context::after_func); `done()` works in [`select!`] |
//! | 5 | [`errgroup`] | x/sync's `errgroup`: [`Group`](errgroup::Group) (the first error cancels the rest; `set_limit`, `try_go`), the scoped variant [`errgroup::scope`] |
//! | 5 | [`pattern`] | "Concurrency in Go"'s pipeline stages: [`generate`](pattern::generate), [`or_done`](pattern::or_done), [`tee`](pattern::tee), [`bridge`](pattern::bridge), [`fan_in`](pattern::fan_in)/[`fan_out`](pattern::fan_out), [`batch`](pattern::batch), [`heartbeat`](pattern::heartbeat), [`steward`](pattern::steward), [`hedge`](pattern::hedge) |
//! | 5 | [`rate`] | x/time/rate's token bucket: [`Limiter`](rate::Limiter) (`allow` lock-free, [`reserve`](rate::Limiter::reserve), [`wait`](rate::Limiter::wait) on a context) |
//! | 5 | [`signal`] | Go's `os/signal`: [`notify`](signal::notify), [`notify_context`](signal::notify_context), and [`shutdown_context`](signal::shutdown_context) for a server's graceful shutdown |
//! | 5 | [`net`] | goroutine-aware sockets with Go's deadlines: [`TcpListener`](net::TcpListener), [`TcpStream`](net::TcpStream), [`UdpSocket`](net::UdpSocket), [`UnixListener`](net::UnixListener), [`UnixStream`](net::UnixStream) (Linux) |
//!
//! ```
//! use baton::atomic::ShardedCounter;
//! use std::thread;
//!
//! let hits = ShardedCounter::new();
//! thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| for _ in 0..1000 { hits.inc() });
//!     }
//! });
//! assert_eq!(hits.sum(), 4000);
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub(crate) mod shim;

pub mod atomic;
pub mod chan;
pub mod collections;
#[cfg(not(loom))]
pub mod context;
#[cfg(loom)]
#[path = "context/loom_only.rs"]
mod context;
pub mod epoch;
#[cfg(not(loom))]
pub mod errgroup;
#[cfg(all(not(loom), target_os = "linux"))]
pub mod net;
#[cfg(all(loom, target_os = "linux"))]
#[path = "net/loom_only.rs"]
mod net;
pub(crate) mod park;
#[cfg(not(loom))]
pub mod pattern;
pub mod rate;
pub mod runtime;
#[cfg(not(loom))]
pub mod signal;
pub mod sync;
#[cfg(not(loom))]
pub mod time;

#[cfg(not(loom))]
pub use runtime::{go, scope, yield_now};

/// The README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
