//! Regression: a deadlock that formed right after a `blocking` job
//! finished was never reported, and the run hung.
//!
//! The last worker to fall asleep runs the deadlock check, which wants the
//! `blocking` pool quiet (`runtime/diag/deadlock.rs`, rule 5). A job's last
//! act wakes the goroutine waiting for it; only then does its pool thread
//! list itself idle. When that goroutine finished at once on a worker with
//! nothing else to run, the worker slept without spinning and its check
//! could come before the listing: the pool read busy, and nobody checked
//! again. Now a pool thread that goes idle runs the check itself for the
//! runtime of its last job (`runtime::blocking`).
//!
//! The scenario (`deadlock_right_after_blocking_jobs` in
//! `deadlock/scenarios.rs`, shared with `runtime_deadlock.rs`) repeats the
//! race 300 times; before the fix it hung (the child is killed after 60 s
//! and the test fails) in each of 3 release runs, after it it passes in
//! about a second. Detection needs a process whose every thread it knows,
//! hence no libtest harness and a child process per scenario.

#[cfg(not(loom))]
#[path = "deadlock/scenarios.rs"]
mod scenarios;

fn main() {
    #[cfg(not(loom))]
    scenarios::main(Some("deadlock_right_after_blocking_jobs"));
}
