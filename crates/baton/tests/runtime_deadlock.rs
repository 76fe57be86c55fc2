//! Deadlock detection, both sides (with ports of Go's deadlock programs
//! over channels and `select`): real deadlocks are reported with the
//! dump (and abort when asked to); goroutines that a timer, a `blocking`
//! call or an outside thread will still wake are never reported.
//!
//! Detection applies only to a process whose threads are all accounted for
//! (the runtime's workers, the thread in `run`, idle `blocking` threads; see
//! `runtime/deadlock.rs`), so each scenario runs in a child process of this
//! test binary, on its main thread. This file has no libtest harness
//! (`harness = false`): libtest's own threads would turn detection off.
//! Every child is killed after `CHILD_TIMEOUT`, so a missed detection fails
//! instead of hanging.

// Under loom the runtime is not built (only its lock-free parts): nothing to
// test, but the target still needs a `main`.
#[cfg(not(loom))]
#[path = "deadlock/scenarios.rs"]
mod scenarios;

fn main() {
    #[cfg(not(loom))]
    scenarios::main(None);
}
