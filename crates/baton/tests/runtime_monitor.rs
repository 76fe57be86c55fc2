//! The monitor: a goroutine that runs past the threshold without yielding
//! is reported on standard error (once, naming it and its spawn site) and
//! counted; a well-behaved workload is not; with the monitor off nothing is
//! reported; and goroutines queued behind a stuck worker run on another.
//!
//! The stderr checks run each scenario in a child process (this test
//! binary, re-run with an environment variable naming the scenario), so
//! that no other test's runtime writes to the same stderr. No timing is
//! asserted: spinners spin until the monitor has counted them, under a
//! generous hang guard.
#![cfg(not(loom))] // the runtime is not built under loom (only its lock-free parts)

mod common;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::runtime::Builder;

const CHILD: &str = "BATON_MONITOR_CHILD";
const HANG_GUARD: Duration = Duration::from_secs(30);
const REPORT: &str = "without yielding";

/// Spins without yielding for at least `at_least`, and then until `until`
/// holds (checked between spins; it must not park).
fn spin(at_least: Duration, until: impl Fn() -> bool) {
    let start = Instant::now();
    while start.elapsed() < at_least || !until() {
        assert!(start.elapsed() < HANG_GUARD, "spun {HANG_GUARD:?}: hung");
        std::hint::spin_loop();
    }
}

/// Runs scenario `name` in a child process; returns (stdout, stderr).
fn child(name: &str) -> (String, String) {
    let name = name.to_owned();
    common::within(&format!("monitor child {name}"), 60, move || {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "scenario_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &name)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
        (stdout, stderr)
    })
}

/// The word after `key ` in `stdout` (libtest may print the test's name
/// on the same line first).
fn field(stdout: &str, key: &str) -> String {
    let key = format!("{key} ");
    let at = stdout
        .find(&key)
        .unwrap_or_else(|| panic!("no {key}in child stdout: {stdout}"));
    stdout[at + key.len()..]
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn scenario_child() {
    let Some(which) = std::env::var_os(CHILD) else {
        return; // only meaningful when re-run by a test below
    };
    match which.to_str().unwrap() {
        "spin" => spin_child(),
        "well_behaved" => well_behaved_child(),
        "off" => off_child(),
        other => panic!("unknown scenario {other}"),
    }
}

/// Spins 50 ms, and until its runtime counted a long run.
fn spinner() {
    spin(Duration::from_millis(50), || {
        baton::runtime::stats().long_runs >= 1
    });
}

/// A goroutine spins 50 ms (and until counted) with the default threshold.
fn spin_child() {
    let rt = Builder::new().workers(2).name("spin").build();
    let out = rt.run(|| {
        let (h, line) = (baton::go(spinner), line!()); // one line: the spawn site
        let id = h.id().as_u64();
        h.join().unwrap();
        (line, id)
    });
    println!("LINE {}", out.0);
    println!("ID {}", out.1);
    println!("LONG_RUNS {}", rt.stats().long_runs);
}

#[test]
fn a_spinning_goroutine_is_reported_once() {
    let (stdout, stderr) = child("spin");
    assert_eq!(field(&stdout, "LONG_RUNS"), "1", "stderr: {stderr}");
    let reports: Vec<&str> = stderr.lines().filter(|l| l.contains(REPORT)).collect();
    assert_eq!(reports.len(), 1, "stderr: {stderr}");
    let report = reports[0];
    let (id, line) = (field(&stdout, "ID"), field(&stdout, "LINE"));
    assert!(
        report.starts_with(&format!("baton: goroutine {id} (spawned at ")),
        "{report}"
    );
    assert!(
        report.contains(&format!("runtime_monitor.rs:{line}:")),
        "{report}"
    );
    assert!(
        report.contains("ms without yielding on worker spin-"),
        "{report}"
    );
    assert!(report.contains("baton does not preempt"), "{report}");
}

/// Many goroutines that yield and pass values around: never reported. The
/// threshold is raised to 200 ms so that a worker thread descheduled by a
/// loaded machine for a while (which the monitor cannot tell from a
/// spinning goroutine) does not make the test flaky.
fn well_behaved_child() {
    let rt = Builder::new()
        .workers(2)
        .long_run_threshold(Duration::from_millis(200))
        .build();
    let total = rt.run(|| {
        let (tx, rx) = baton::chan::bounded::<u64>(16);
        let producers: Vec<_> = (0..8)
            .map(|p| {
                let tx = tx.clone();
                baton::go(move || {
                    for i in 0..2_000u64 {
                        tx.send(p * i).unwrap();
                        if i % 64 == 0 {
                            baton::yield_now();
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut n = 0u64;
        while rx.recv().is_ok() {
            n += 1;
        }
        for p in producers {
            p.join().unwrap();
        }
        n
    });
    println!("TOTAL {total}");
    println!("LONG_RUNS {}", rt.stats().long_runs);
}

#[test]
fn a_well_behaved_workload_is_not_reported() {
    let (stdout, stderr) = child("well_behaved");
    assert_eq!(field(&stdout, "TOTAL"), "16000");
    assert_eq!(field(&stdout, "LONG_RUNS"), "0", "stderr: {stderr}");
    assert!(!stderr.contains(REPORT), "stderr: {stderr}");
}

/// The monitor off: a 50 ms spin is neither reported nor counted.
fn off_child() {
    let rt = Builder::new().workers(1).long_run_threshold(None).build();
    rt.run(|| spin(Duration::from_millis(50), || true));
    println!("LONG_RUNS {}", rt.stats().long_runs);
}

#[test]
fn off_reports_nothing() {
    let (stdout, stderr) = child("off");
    assert_eq!(field(&stdout, "LONG_RUNS"), "0");
    assert!(!stderr.contains(REPORT), "stderr: {stderr}");
}

/// One worker stuck in a spinning goroutine with goroutines queued on its
/// own ring: they run on the other worker before the spinner lets go.
#[test]
fn goroutines_queued_behind_a_stuck_worker_run_elsewhere() {
    common::within("stuck worker", 60, || {
        const N: usize = 20;
        let rt = Builder::new().workers(2).build();
        rt.run(|| {
            let spinner_tid = common::tid();
            let ran = Arc::new(AtomicUsize::new(0));
            let elsewhere = Arc::new(AtomicUsize::new(0));
            // Spawned from this goroutine: onto this worker's ring.
            for _ in 0..N {
                let (ran, elsewhere) = (ran.clone(), elsewhere.clone());
                drop(baton::go(move || {
                    if common::tid() != spinner_tid {
                        elsewhere.fetch_add(1, SeqCst);
                    }
                    ran.fetch_add(1, SeqCst);
                }));
            }
            // This worker is stuck from here until all of them ran.
            spin(Duration::from_millis(50), || ran.load(SeqCst) == N);
            assert_eq!(elsewhere.load(SeqCst), N, "all ran on the other worker");
        });
    });
}
