//! The `drain` example (`examples/drain.rs`), run as a child process with
//! real signals: one Ctrl-C drains every accepted job and exits 0; a second
//! one during the drain exits 130; a failing job drains and exits 1.
//!
//! The example's code is compiled into this test (`#[path]`), and the child
//! runs what its `main` runs, so the test needs no separately built binary.
#![cfg(not(loom))]

mod common;

#[allow(dead_code, unreachable_pub)] // its `main` is the example's, unused here
#[path = "../examples/drain.rs"]
mod drain;

use std::collections::BTreeSet;

use baton::signal::{self, SIGINT};
use common::child::{child, Child};

fn drain_child() {
    // What the example's `main` does.
    std::process::exit(drain::run(&signal::shutdown_context()));
}

#[test]
fn drain_child_entry() {
    child("drain_child_entry", drain_child);
}

/// The job numbers in lines like "worker 2: job 7 <what>".
fn jobs(lines: &[String], what: &str) -> BTreeSet<u64> {
    lines
        .iter()
        .filter(|l| l.ends_with(what))
        .filter_map(|l| l.split("job ").nth(1)?.split(' ').next()?.parse().ok())
        .collect()
}

/// The two numbers of "drained: accepted A jobs, finished F".
fn drained(lines: &[String]) -> (usize, usize) {
    let line = lines
        .iter()
        .find_map(|l| l.find("drained: ").map(|at| &l[at..]))
        .unwrap_or_else(|| panic!("no summary line in {lines:?}"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

#[test]
fn one_ctrl_c_drains_every_accepted_job_and_exits_0() {
    common::within("drain: one Ctrl-C", 120, || {
        let mut c = Child::start_with(
            "drain_child_entry",
            &[("DRAIN_WORKERS", "2"), ("DRAIN_JOB_MS", "200")],
        );
        for _ in 0..3 {
            c.expect("started");
        }
        c.kill(SIGINT);
        assert_eq!(
            c.expect("shutting down"),
            "shutting down (interrupt signal received): no new jobs, draining the queue"
        );
        let (status, stderr) = c.finish();
        let lines = c.seen();
        assert_eq!(
            status.code(),
            Some(0),
            "{status:?}; stderr: {stderr}; stdout: {lines:?}"
        );
        let (accepted, finished) = drained(lines);
        assert!(accepted >= 3, "{lines:?}");
        assert_eq!(accepted, finished, "every accepted job finished: {lines:?}");
        let started = jobs(lines, "started");
        assert_eq!(
            started,
            jobs(lines, "done"),
            "each started job is done: {lines:?}"
        );
        assert_eq!(started, (1..=accepted as u64).collect(), "{lines:?}");
    });
}

#[test]
fn a_second_ctrl_c_during_the_drain_exits_130() {
    common::within("drain: two Ctrl-C", 120, || {
        // Jobs that outlast the test: the drain cannot end by itself.
        let mut c = Child::start_with(
            "drain_child_entry",
            &[("DRAIN_WORKERS", "1"), ("DRAIN_JOB_MS", "600000")],
        );
        c.expect("started");
        c.kill(SIGINT);
        c.expect("shutting down");
        c.kill(SIGINT);
        let (status, stderr) = c.finish();
        assert_eq!(status.code(), Some(130), "{status:?}; stderr: {stderr}");
        assert!(
            !c.seen().iter().any(|l| l.contains("drained:")),
            "it did not wait for the drain: {:?}",
            c.seen()
        );
    });
}

#[test]
fn a_failing_job_drains_and_exits_1() {
    common::within("drain: a failing job", 120, || {
        let mut c = Child::start_with(
            "drain_child_entry",
            &[
                ("DRAIN_WORKERS", "2"),
                ("DRAIN_JOB_MS", "20"),
                ("DRAIN_FAIL_AT", "3"),
            ],
        );
        assert_eq!(
            c.expect("shutting down"),
            "shutting down (job 3 failed): no new jobs, draining the queue"
        );
        let (status, stderr) = c.finish();
        let lines = c.seen();
        assert_eq!(status.code(), Some(1), "{status:?}; stderr: {stderr}");
        assert!(stderr.contains("error: job 3 failed"), "{stderr}");
        let (accepted, finished) = drained(lines);
        assert_eq!(finished, accepted - 1, "all but the failed one: {lines:?}");
    });
}
