//! The experiments: each reproduces one claim, with baton and its peers.
//!
//! An experiment is a file here with one `pub(crate) fn experiment()`
//! returning an [`Experiment`], and one line in [`all`]. A case lists its
//! implementations; a native one is a plain function that builds fresh state
//! and hands it to [`crate::runner::measure`], a Go one names the Go
//! harness's case (`go/cases.go`). baton's implementations have names
//! starting with `baton`; peers use the names the project fixed (`mutex`,
//! `atomic`, `go`, ...), which the tables and checks read.

use crate::runner::{Sample, Spec};

mod chan;
mod counter;
mod fifo_lifo;
mod goroutines;
mod handles;
mod idgen;
pub(crate) mod map;
mod mutex;
mod queue;
mod rcu;
mod rwlock;
mod semaphore;
mod seqlock;
mod stack;

/// One experiment: a claim and the cases that test it.
#[derive(Debug)]
pub(crate) struct Experiment {
    /// Name on the command line and in the JSON rows.
    pub(crate) name: &'static str,
    /// The claim it tests, in one sentence.
    pub(crate) claim: &'static str,
    pub(crate) cases: Vec<Case>,
}

/// One workload of an experiment, measured for every implementation at
/// every thread count.
#[derive(Debug)]
pub(crate) struct Case {
    pub(crate) name: &'static str,
    /// What one op is, and what the threads do.
    pub(crate) about: &'static str,
    /// Default worker thread counts.
    pub(crate) threads: &'static [usize],
    /// Whether to sample per-op latency (p50/p99).
    pub(crate) latency: bool,
    pub(crate) impls: Vec<Impl>,
}

/// One implementation within a case.
#[derive(Debug)]
pub(crate) struct Impl {
    /// The JSON `impl` name.
    pub(crate) name: &'static str,
    /// What it is, in a few words.
    pub(crate) about: &'static str,
    pub(crate) run: Run,
    /// Whether the quick tour measures it; sweep rows (e.g. `map`'s
    /// `baton-shards-N`) are left to `run`, to keep the tour short.
    pub(crate) in_tour: bool,
}

/// How an implementation is measured.
#[derive(Debug)]
pub(crate) enum Run {
    /// In this process, by a function that builds state and calls the runner.
    Native(fn(&Spec) -> Sample),
    /// In a fresh child process of the lab, by this function (see
    /// `crate::child`): for peers with process-wide state, and memory figures.
    Child(fn(&Spec) -> Sample),
    /// By the Go harness, one process per measurement (`-impl` = the impl's
    /// name, `-experiment` and `-case` = the experiment's and case's).
    Go,
}

impl Impl {
    pub(crate) fn native(name: &'static str, about: &'static str, f: fn(&Spec) -> Sample) -> Self {
        Self {
            name,
            about,
            run: Run::Native(f),
            in_tour: true,
        }
    }

    /// Leaves this implementation out of the quick tour (see `in_tour`).
    pub(crate) fn not_in_tour(mut self) -> Self {
        self.in_tour = false;
        self
    }

    pub(crate) fn child(name: &'static str, about: &'static str, f: fn(&Spec) -> Sample) -> Self {
        Self {
            name,
            about,
            run: Run::Child(f),
            in_tour: true,
        }
    }

    pub(crate) fn go(name: &'static str, about: &'static str) -> Self {
        Self {
            name,
            about,
            run: Run::Go,
            in_tour: true,
        }
    }
}

/// Extra rows that `--big` adds to a case: larger thread counts, which the
/// named implementations cannot reach (they are left out of those rows),
/// and how many memory mappings each thread (goroutine) of baton's needs
/// against `vm.max_map_count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Big {
    pub(crate) threads: &'static [usize],
    pub(crate) skip: &'static [&'static str],
    pub(crate) maps_per_thread: usize,
}

/// The `--big` rows of `experiment`/`case`, if it has any.
pub(crate) fn big(experiment: &str, case: &str) -> Option<Big> {
    match (experiment, case) {
        ("goroutines", "idle-memory") => Some(goroutines::BIG_IDLE),
        _ => None,
    }
}

/// Every experiment, in the order the tour runs them.
pub(crate) fn all() -> Vec<Experiment> {
    vec![
        idgen::experiment(),
        counter::experiment(),
        rcu::experiment(),
        seqlock::experiment(),
        mutex::experiment(),
        rwlock::experiment(),
        semaphore::experiment(),
        stack::experiment(),
        queue::experiment(),
        map::experiment(),
        handles::experiment(),
        goroutines::experiment(),
        chan::experiment(),
    ]
}

/// The quick tour: every experiment, without the implementations marked
/// `not_in_tour`, and without the cases that leaves with no implementation.
pub(crate) fn tour() -> Vec<Experiment> {
    let mut all = all();
    for e in &mut all {
        for case in &mut e.cases {
            case.impls.retain(|i| i.in_tour);
        }
        e.cases.retain(|c| !c.impls.is_empty());
    }
    all
}

/// The experiments' names, for the command line.
pub(crate) fn names() -> Vec<&'static str> {
    all().iter().map(|e| e.name).collect()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::report::is_baton;
    use std::collections::HashSet;

    /// The `impl` names checks read; a typo here would hide a row.
    const KNOWN: &[&str] = &[
        "mutex",
        "atomic",
        "shared-atomic",
        "unpadded-shards",
        "arc-swap",
        "rwlock-arc",
        "std-rwlock",
        "std-mutex",
        "parking-lot",
        "go",
        "go-mutex",
        "baton",
        "baton-batched",
        "baton-rwlock",
        "baton-sharded",
        "crossbeam-sharded",
        "std-mutex-condvar",
        "baton-ms",
        "baton-shards-1",
        "baton-shards-8",
        "baton-shards-64",
        "baton-shards-256",
        "big-old-map",
        "std-mutex-map",
        "dashmap",
        "papaya",
        "scc",
        "sharded-slab",
        "mutex-vec",
        "mutex-vecdeque",
        "crossbeam-segqueue",
        "crossbeam-arrayqueue",
        "os-thread",
        "may",
        "baton-go",
        "baton-chan",
        "crossbeam-channel",
        "flume",
        "kanal",
        "std-mpsc",
    ];

    #[test]
    fn the_tour_keeps_every_case_and_a_baton_row() {
        let (all, tour) = (all(), tour());
        assert_eq!(all.len(), tour.len());
        for (a, t) in all.iter().zip(&tour) {
            assert!(!t.cases.is_empty(), "{} left the tour", a.name);
            for c in &t.cases {
                assert!(c
                    .impls
                    .iter()
                    .any(|i| i.name == "baton" || is_baton(i.name)));
                assert!(c.impls.iter().all(|i| i.in_tour));
            }
        }
    }

    #[test]
    fn names_are_unique_and_known() {
        let all = all();
        let exps: HashSet<_> = all.iter().map(|e| e.name).collect();
        assert_eq!(exps.len(), all.len());
        for e in &all {
            let cases: HashSet<_> = e.cases.iter().map(|c| c.name).collect();
            assert_eq!(cases.len(), e.cases.len(), "{}", e.name);
            for c in &e.cases {
                let impls: HashSet<_> = c.impls.iter().map(|i| i.name).collect();
                assert_eq!(impls.len(), c.impls.len(), "{}/{}", e.name, c.name);
                assert!(
                    c.impls.iter().any(|i| is_baton(i.name)),
                    "{}/{} has no baton",
                    e.name,
                    c.name
                );
                assert!(!c.threads.is_empty());
                for i in &c.impls {
                    assert!(KNOWN.contains(&i.name), "unknown impl name {}", i.name);
                    assert_eq!(matches!(i.run, Run::Go), i.name.starts_with("go"));
                }
            }
        }
    }
}
