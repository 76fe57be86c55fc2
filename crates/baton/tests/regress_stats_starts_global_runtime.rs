//! Regression (issue 10, item 5): `baton::runtime::stats()` called from a
//! plain thread started the global runtime (one worker thread per CPU) just
//! to read its counters, a side effect that also turns deadlock detection
//! off for the rest of the program. Reading must start nothing: before the
//! global runtime's first use, a plain thread gets zeros.
//!
//! One test in this file on purpose: nothing else in this process may
//! start the global runtime first.

#![cfg(not(loom))] // the runtime is not built under loom (only its lock-free parts)

mod common;

/// Names of this process's threads (from `/proc/self/task/*/comm`).
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("read /proc/self/task")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|s| s.trim_end().to_owned())
        .collect()
}

#[test]
fn stats_from_a_plain_thread_starts_nothing() {
    common::within("stats_from_a_plain_thread_starts_nothing", 60, || {
        let before = thread_names().len();
        let s = baton::runtime::stats();
        assert_eq!(
            s,
            baton::runtime::Stats::default(),
            "no runtime has started: every figure is zero (old code: the global runtime's)"
        );
        assert_eq!(s.workers, 0);
        assert_eq!(
            thread_names().len(),
            before,
            "reading stats started threads: {:?}",
            thread_names()
        );

        // Once the global runtime is in use, a plain thread reads its figures.
        baton::go(|| {}).join().unwrap();
        let s = baton::runtime::stats();
        assert!(s.workers >= 1, "{s:?}");
        assert!(s.total_goroutines >= 1, "{s:?}");
    });
}
