//! Layer 4: goroutines — stackful coroutines multiplexed over a few worker
//! threads by a work-stealing scheduler, with plain blocking code and no
//! `unsafe` at the call site.
//!
//! | item | what |
//! |---|---|
//! | [`go`], [`try_go`] | start a goroutine (`Send + 'static` closure); [`JoinHandle`] joins it |
//! | [`go_with`], [`try_go_with`], [`Options`] | the same with per-goroutine settings (its stack size) |
//! | [`stack_usage`], [`StackUsage`] | the running goroutine's stack: size, bytes in use, high-water mark |
//! | [`scope`] | goroutines that borrow, all joined before it returns |
//! | [`yield_now`], [`current`] | let others run; the running goroutine's [`GoroutineId`] |
//! | [`blocking`] | run a thread-blocking call on a separate pool while the goroutine parks |
//! | [`Builder`], [`Runtime`] | a runtime of your own; [`Runtime::run`] runs the main goroutine |
//! | [`Panic`] | why a join got no value: the goroutine panicked (payload kept), or its runtime shut down |
//! | [`stats`], [`Stats`] | counters: live and total goroutines, switches, steals, parks, idle and busy workers, long runs |
//! | [`WorkerLocal`] | per-worker storage without locks: one lazily created instance per worker thread, all of them iterable |
//! | [`Builder::long_run_threshold`] | the monitor: reports a goroutine that runs over 10 ms without yielding (no preemption) |
//! | [`dump`] | one line per goroutine: id, state or wait reason, age, spawn site, worker |
//! | [`Runtime::try_run`], [`RunError`], [`Deadlock`], [`OnDeadlock`] | `all goroutines are asleep - deadlock!`: when it is reported, and what happens then |
//!
//! `go` from a plain thread uses the **global runtime**, started on first
//! use with one worker per available CPU; from a goroutine it uses that
//! goroutine's runtime.
//!
//! ## Soundness rules, and how they hold
//!
//! - **A started goroutine never changes OS thread.** Its coroutine lives in
//!   its home worker's slab and is resumed only there; wake-ups from other
//!   threads go through the home worker's inbox. Work stealing moves only
//!   goroutines that have not started (a `Send` closure). So values on a
//!   goroutine's stack may be `!Send` (an `Rc` held across a park is fine),
//!   and thread-locals stay the thread's own even though LLVM caches their
//!   addresses across calls.
//! - **`go` takes `FnOnce() -> T + Send + 'static`**, `T: Send + 'static`,
//!   like `std::thread::spawn`. [`scope`] allows borrowing because it
//!   cannot return (or unwind) before all its goroutines finished.
//! - **Stacks** are `mmap`'d with a guard page: a goroutine that overflows
//!   its fixed-size stack faults on it, and the runtime prints
//!   `goroutine N (spawned at file:line) has overflowed its stack (S KiB)`
//!   and aborts (`overflow.rs`); memory is never silently corrupted. A stack is freed, trimmed
//!   (pages given back) or reused only after its goroutine returned — never
//!   while anything may point into it.
//! - **Panics** are caught in each goroutine (inside its own stack, so none
//!   crosses the switch) and handed to [`JoinHandle::join`] with the
//!   payload. The standard panic hook prints the message when the panic
//!   happens, as for a thread, whether or not anyone joins.
//! - **Shutdown** never frees a suspended stack: see [`Runtime`].
//!
//! ## Usage rules
//!
//! - There is no preemption. A goroutine that computes for a long time
//!   without parking delays the others on its worker; call [`yield_now`]
//!   now and then. A monitor thread per runtime reports such a goroutine
//!   on standard error (over 10 ms by default, see
//!   [`Builder::long_run_threshold`]) and wakes idle workers to take the
//!   stuck worker's unstarted goroutines; the started ones whose home it is
//!   wait, since they never move.
//! - Blocking OS calls (file I/O, `std::sync::Mutex` held long, `std`
//!   channels, `std::thread::sleep`) block the whole worker. Inside
//!   goroutines, wait on baton's primitives (`baton::sync`,
//!   `baton::time::sleep`), which park only the goroutine, and wrap calls
//!   that must block a thread in [`blocking`].
//! - Stacks are fixed-size: [`DEFAULT_STACK_SIZE`] (64 KiB), or a
//!   runtime's [`Builder::stack_size`], or one goroutine's
//!   [`Options::stack_size`] (with [`go_with`]). Deep recursion or big
//!   local arrays need a bigger one; [`stack_usage`] tells how much a
//!   goroutine uses. Only touched pages cost memory, so a large size costs
//!   address space, not RAM; finished goroutines' stacks are pooled per
//!   worker and trimmed back to their top [`STACK_KEEP`] bytes (at once for
//!   stacks of a goroutine's own size, when the worker idles for the
//!   runtime's size).
//! - Linux caps a process's memory mappings (`vm.max_map_count`, 65530 by
//!   default) and each goroutine stack takes two: with the default cap about
//!   30,000 goroutines can be alive at once. Past the cap, [`go`] panics and
//!   [`try_go`] returns an error, both naming the `sysctl` to raise it.
//!
//! ## Thread-keyed state: goroutines of one worker share it
//!
//! Everything Rust and its libraries key by OS thread is shared by all the
//! goroutines of one worker, because they *are* on one thread: values in
//! `thread_local!`, [`std::thread::current`] (its id and name), std's
//! reentrant `stdout().lock()`/`stderr().lock()` (and any other lock that
//! is reentrant per thread), `tracing`'s current span, per-thread random
//! generators (`rand::thread_rng`), per-thread allocator caches. This is
//! inherent to M:N scheduling over Rust's thread-locals (a goroutine cannot
//! get thread-locals of its own: LLVM caches their addresses across calls,
//! see the soundness rules), and Go has no thread-locals to share. What it
//! means:
//!
//! - A reentrant lock held across a park lets another goroutine of the
//!   worker in: two goroutines both holding `stdout().lock()` can
//!   interleave their lines. A `RefCell` in a thread-local borrowed across
//!   a park panics (`already borrowed`) in the next goroutine that borrows
//!   it; a span entered across a park is "current" in the others.
//! - A *non*-reentrant thread lock (`std::sync::Mutex`) held across a park
//!   blocks the whole worker when another goroutine of it locks it: a
//!   deadlock if the holder is parked on that worker.
//!
//! The safe patterns:
//!
//! - Never hold a thread-keyed lock, guard or `RefCell` borrow across
//!   anything that can park (a channel operation, a `baton::sync` wait,
//!   [`sleep`](crate::time::sleep), [`yield_now`], [`JoinHandle::join`],
//!   [`blocking`]): lock, use, release, then wait.
//! - Keep a goroutine's own state in values it owns (captured by its
//!   closure, passed as arguments), not in thread-locals.
//! - For per-worker caches (a random generator, a buffer pool), use
//!   [`WorkerLocal`], or a thread-local touched only in sections that do
//!   not park: sharing it among a worker's goroutines is then harmless.
//! - To exclude other goroutines, use `baton::sync` locks: they park the
//!   goroutine (not the thread) and are not reentrant.
//!
//! `tests/runtime_thread_keyed_state.rs` pins this behaviour.
//!
//! ## Alternatives rejected
//!
//! - **Migrating started goroutines** (as `may` does): better balance, but
//!   unsound in Rust — `!Send` values on the stack would cross threads and
//!   cached thread-local addresses would point at another thread's data —
//!   so `may`'s `go!` needs `unsafe`. Ours is a safe function instead, and
//!   only unstarted goroutines are stolen.
//! - **One run queue of started and unstarted goroutines** (Go's): a thief
//!   could not take a contiguous half without skipping started ones. We keep
//!   two: the stealable ring of unstarted goroutines and a private queue of
//!   started ones (plus `runnext` and the inbox).
//! - **Go's steal (copy racily, then CAS)**: a data race on the slots, which
//!   is undefined behaviour in Rust; the ring claims slots first (tokio's
//!   scheme).
//! - **Unwinding suspended goroutines at shutdown**: their destructors may
//!   park (a `scope` waiting for its goroutines does), which cannot work
//!   during a forced unwind and would abort; leaking their stacks is always
//!   sound.
//! - **Counting only started goroutines against the mapping cap**: then `go`
//!   could not report the cap to its caller. Go allocates the stack at `go`
//!   too.
//!
//! ## Inside
//!
//! Three rooms. Dependencies point one way: the API files and `diag/` use
//! `sched/`; `sched/` imports neither (where it must call out, as the
//! deadlock check before a worker sleeps and the dump line formatter, the
//! caller hands it a function), except `builder::OnDeadlock` in its config.
//!
//! - Here, the API: `spawn.rs`, `options.rs` (per-goroutine settings),
//!   `join.rs`, `scope.rs`, `builder.rs` ([`Builder`], [`OnDeadlock`]),
//!   `rt.rs` ([`Runtime`] and the global runtime), `blocking.rs`, `pin.rs`
//!   (pinning workers to CPUs, and why it is offered), `worker_local.rs`
//!   ([`WorkerLocal`], and why `T` needs `Send` but not `Sync`).
//! - `sched/`, the scheduler: `worker.rs` (the scheduling loop and its
//!   order, spinning before sleep), `ring.rs` (stealable run queue of
//!   unstarted goroutines), `inbox.rs` (cross-thread wake-ups),
//!   `injector.rs` (the global queue), `idle.rs` (sleeping and waking
//!   workers), `shared.rs` (the state all workers share), `goroutine.rs`,
//!   `current.rs` (the thread-locals and the switch), `park_hook.rs` (the
//!   park contract for goroutines), `park_state.rs` (the park/unpark race),
//!   `join_cell.rs`, `stack.rs`, `timers.rs`, `counters.rs` (written by the
//!   scheduler, read by `diag/stats.rs`), `dump_inbox.rs` (where workers
//!   answer dump requests).
//! - `diag/`, the diagnostics, which read the scheduler's state:
//!   `stats.rs`, `dump.rs`, `sigquit.rs`, `deadlock.rs` (the detection rule
//!   and why it has no false positives), `monitor.rs` (Go's sysmon: the
//!   long-run report, sampling switch counters so the switch path pays
//!   nothing), `usage.rs` (stack usage), `overflow.rs`.
//!
//! Under `cfg(loom)` only the lock-free structures are compiled, and each
//! has loom models.

#[cfg(not(loom))]
pub(crate) mod diag;
pub(crate) mod sched;
mod worker_local;

#[cfg(not(loom))]
mod blocking;
#[cfg(not(loom))]
mod builder;
#[cfg(not(loom))]
mod join;
#[cfg(not(loom))]
mod leak;
#[cfg(not(loom))]
mod options;
#[cfg(not(loom))]
mod pin;
#[cfg(not(loom))]
mod rt;
#[cfg(not(loom))]
mod scope;
#[cfg(not(loom))]
mod spawn;
#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(not(loom))]
pub use blocking::blocking;
#[cfg(not(loom))]
pub use builder::{Builder, OnDeadlock};
#[cfg(not(loom))]
pub use diag::deadlock::{Deadlock, RunError};
#[cfg(not(loom))]
pub use diag::dump::dump;
#[cfg(not(loom))]
pub use diag::stats::{stats, Stats};
#[cfg(not(loom))]
pub use diag::usage::{stack_usage, StackUsage};
#[cfg(not(loom))]
pub use join::{JoinHandle, Panic};
#[cfg(not(loom))]
pub use leak::{check_leaks, LeakCheck, Leaks, DEFAULT_GRACE};
#[cfg(not(loom))]
pub use options::{go_with, try_go_with, Options};
#[cfg(not(loom))]
pub use rt::Runtime;
#[cfg(not(loom))]
pub use sched::goroutine::GoroutineId;
#[cfg(not(loom))]
pub use sched::stack::{DEFAULT_STACK_SIZE, STACK_KEEP};
#[cfg(not(loom))]
pub use scope::{scope, Scope, ScopedJoinHandle};
#[cfg(not(loom))]
pub use spawn::{current, go, try_go, yield_now, SpawnError};
pub use worker_local::{WorkerLocal, WorkerLocalIntoIter};
