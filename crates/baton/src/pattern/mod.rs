//! The pipeline patterns of "Concurrency in Go" (chapters 4 and 5) as a
//! library: sources, stages and filters, `take`, `or_done`, `tee`, `bridge`, fan-in and
//! fan-out, batching, heartbeats, a steward that restarts stuck workers,
//! and hedged requests.
//!
//! ## The rules every stage keeps
//!
//! - It takes a [`Context`](crate::context::Context) first, and runs on
//!   its own goroutine(s) ([`go`](crate::go)), started at the call.
//! - Its output closes when its input is exhausted (or, for sources, its
//!   items), when the context is done, or when the output's receiver is
//!   dropped (dropping a receiver closes its channel, and the stage's next
//!   send fails). Then its goroutines return: no stage leaks a goroutine
//!   (every test runs under [`check_leaks`](crate::runtime::check_leaks)).
//! - On cancellation a stage stops at its next channel operation and drops
//!   the value it held (values in flight are lost: the consumer asked to
//!   stop). It drops its input receiver, which closes the input for the
//!   stage upstream if nothing else reads it.
//! - Values are moved, never cloned, except by [`tee`] and [`repeat`].
//! - A panic in a stage's function ends the goroutine it ran on (reported
//!   as any goroutine's panic is); the output closes once the stage's other
//!   goroutines end. [`fan_out_ordered`] delivers nothing after the lost
//!   value, and its dispatcher stops at the window until the context ends:
//!   cancel the context when a stage panics.
//! - Outputs are unbuffered (Go's `make(chan T)`): a stage runs at most one
//!   value ahead of its consumer. [`buffer`] decouples two stages.
//!
//! ## Which to use
//!
//! | want | stage |
//! |---|---|
//! | a channel from an iterator, a list in a loop, a function | [`generate`], [`repeat`], [`repeat_fn`] |
//! | a function on every value; dropping some | [`stage`], [`filter`] |
//! | the first `n` values | [`take`] |
//! | `for v in rx` that also stops on cancel, with no goroutine | [`or_done`] |
//! | every value to two consumers | [`tee`] |
//! | a stream of streams, flattened in order | [`bridge`] |
//! | several producers into one consumer | [`fan_in`] |
//! | a slow stage on `n` goroutines | [`fan_out`] (any order), [`fan_out_ordered`] (input order) |
//! | group values for bulk writes | [`batch`] |
//! | know a worker is alive; restart it when it is not | [`heartbeat`], [`steward`] |
//! | cut tail latency by asking replicas | [`hedge`] |
//!
//! ```
//! use baton::{context, pattern};
//!
//! // generate -> square (4 goroutines) -> filter -> sum
//! let ctx = context::background();
//! let nums = pattern::generate(&ctx, 1..=1000u64);
//! let squares = pattern::fan_out(&ctx, nums, 4, |v| v * v);
//! let sum: u64 = pattern::or_done(&ctx, squares).filter(|v| v % 2 == 0).sum();
//! assert_eq!(sum, (1..=1000u64).map(|v| v * v).filter(|v| v % 2 == 0).sum());
//! ```

mod batch;
mod bridge;
mod fan;
mod heartbeat;
mod hedge;
mod or_done;
mod source;
mod stage;
mod tee;

pub use batch::batch;
pub use bridge::bridge;
pub use fan::{fan_in, fan_out, fan_out_ordered, ORDERED_WINDOW_PER_WORKER};
pub use heartbeat::{heartbeat, steward, Beat, Steward};
pub use hedge::{hedge, HedgeError};
pub use or_done::{or_done, OrDone};
pub use source::{buffer, generate, repeat, repeat_fn, take};
pub use stage::{filter, stage};
pub use tee::tee;
