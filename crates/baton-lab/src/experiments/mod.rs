//! The experiments: each reproduces one claim, with baton and its peers.
//!
//! An experiment is one declaration: a file here (named after the
//! experiment) whose `pub(crate) fn experiment()` returns an
//! [`Experiment`], which carries everything the lab knows about it: its
//! cases, each case's thread counts and `--big` rows ([`Big`]), and each
//! case's implementations with their JSON names and how they run.
//!
//! Adding an experiment touches two places:
//!
//! 1. its file, `experiments/NAME.rs`, with `fn experiment()`;
//! 2. the registry below: `mod NAME;` and a `NAME::experiment` line in
//!    [`REGISTRY`] (tour order). A test reads this folder and fails if a
//!    file with an `experiment()` is missing from the registry. (The `mod`
//!    lines stay plain: rustfmt does not format modules declared inside a
//!    macro.)
//!
//! If it has Go peers, add their lines to `go/cases.go` too, the Go
//! harness's only list of cases: a Go implementation ([`Impl::go`]) runs
//! the harness case keyed by its own row key (experiment, case, impl), and
//! a test fails unless the Rust registry's Go implementations and the keys
//! in `cases.go` are the same set.
//!
//! A case lists its implementations; a native one is a plain function that
//! builds fresh state and hands it to [`crate::runner::measure`]. baton's
//! implementations have names starting with `baton`, Go's with `go`; peers
//! use kebab-case names of their crate or design (`mutex`, `atomic`,
//! `crossbeam-channel`, ...), which the tables, colours and checks read. No
//! separate list of names exists: the tests check the declarations
//! themselves (unique, kebab-case, no near-duplicate spellings, `--big`
//! skips naming real implementations).

use crate::runner::{Sample, Spec};

// The claims' thresholds, read by the scoreboard (not an experiment).
pub(crate) mod claims;
// The registry, part 1: one module per experiment (plus shared workloads).
mod chan;
pub(crate) mod conns;
mod context;
mod counter;
mod echo;
mod ffi;
mod fifo_lifo;
mod goroutines;
mod handles;
pub(crate) mod http;
mod idgen;
pub(crate) mod map;
mod mutex;
mod pipeline;
mod queue;
mod rate;
mod rcu;
mod rwlock;
mod semaphore;
mod seqlock;
mod stack;

/// The registry, part 2: every experiment, in the order the tour runs them.
const REGISTRY: &[fn() -> Experiment] = &[
    idgen::experiment,
    counter::experiment,
    rcu::experiment,
    seqlock::experiment,
    mutex::experiment,
    rwlock::experiment,
    semaphore::experiment,
    stack::experiment,
    queue::experiment,
    map::experiment,
    handles::experiment,
    ffi::experiment,
    goroutines::experiment,
    chan::experiment,
    context::experiment,
    pipeline::experiment,
    rate::experiment,
    http::experiment,
    echo::experiment,
    conns::experiment,
];

/// Experiments whose every figure is costly (a server process and at
/// least a second of `wrk`, or thousands of sockets): with `--quick` (the
/// tour, and CI's smoke run) each of their cases measures its first thread
/// count only, so that the smoke run stays short. `run` without `--quick`
/// measures every count.
pub(crate) const FIRST_COUNT_WHEN_QUICK: &[&str] = &["http", "echo"];

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
    /// The rows `--big` adds, if the case has any.
    pub(crate) big: Option<Big>,
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
    /// In this process, by a function that may fail (one that starts a
    /// server process and a load generator, or needs more descriptors than
    /// the system allows): a failure is a warning and a missing row, as
    /// for [`Run::Child`] and [`Run::Go`].
    Fallible(fn(&Spec) -> Result<Sample, String>),
    /// By the Go harness, one process per measurement, running the harness
    /// case keyed by this row's (experiment, case, impl) in `go/cases.go`
    /// (`-experiment`, `-case`, `-impl`); a test in `crate::go` checks that
    /// every such key is there, and that `cases.go` has no other.
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

    /// An implementation that may fail (see [`Run::Fallible`]).
    pub(crate) fn fallible(
        name: &'static str,
        about: &'static str,
        f: fn(&Spec) -> Result<Sample, String>,
    ) -> Self {
        Self {
            name,
            about,
            run: Run::Fallible(f),
            in_tour: true,
        }
    }

    /// A Go peer: the Go harness's case with this row's key (see [`Run::Go`]);
    /// `name` starts with `go`.
    pub(crate) fn go(name: &'static str, about: &'static str) -> Self {
        Self {
            name,
            about,
            run: Run::Go,
            in_tour: true,
        }
    }
}

/// Extra rows that `--big` adds to a case ([`Case::big`]): larger thread
/// counts, which the named implementations cannot reach (they are left out
/// of those rows; a test checks each name is one of the case's), and how
/// many memory mappings each thread (goroutine) of baton's needs against
/// `vm.max_map_count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Big {
    pub(crate) threads: &'static [usize],
    pub(crate) skip: &'static [&'static str],
    pub(crate) maps_per_thread: usize,
}

/// The builder every baton runtime in the lab starts from: workers named
/// `lab`, and the long-run monitor off (`long_run_threshold(None)`).
///
/// The lab's measuring loops keep their worker busy on purpose (a spawn
/// loop of 10k goroutines, a consumer that never finds its channel empty),
/// and on a loaded machine a descheduled worker looks stuck too, so the
/// monitor's "has run 10 ms without yielding" reports would only be noise
/// in a benchmark; the terminal and the HTML report say that the monitor
/// is off. Its other job, waking idle workers to take a stuck worker's
/// unstarted goroutines, is a backstop: a spawn already wakes an idle
/// worker. `BATON_LAB_MONITOR=1` turns it back on (the default 10 ms
/// threshold), to see the reports or to compare.
pub(crate) fn runtime_builder() -> baton::runtime::Builder {
    let builder = baton::runtime::Builder::new().name("lab");
    if std::env::var("BATON_LAB_MONITOR").is_ok_and(|v| v == "1") {
        builder
    } else {
        builder.long_run_threshold(None)
    }
}

/// Every experiment, in the order the tour runs them.
pub(crate) fn all() -> Vec<Experiment> {
    REGISTRY.iter().map(|experiment| experiment()).collect()
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

    /// Whether `name` is lowercase kebab-case: ASCII lowercase letters and
    /// digits in words joined by single `-`.
    fn kebab(name: &str) -> bool {
        name.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
    }

    /// Whether `a` and `b` differ by one edit (insert, delete, replace) that
    /// involves a letter or `-`: a likely typo (`crossbeam-chanel`), where
    /// a sweep's names differ only in a number (`baton-shards-1`, `-8`).
    fn near_miss(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
        let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
        let typo = |c: &u8| !c.is_ascii_digit();
        match long.len() - short.len() {
            0 if prefix < short.len() => {
                short[prefix + 1..] == long[prefix + 1..]
                    && (typo(&short[prefix]) || typo(&long[prefix]))
            }
            1 => short[prefix..] == long[prefix + 1..] && typo(&long[prefix]),
            _ => false,
        }
    }

    #[test]
    fn near_miss_finds_one_letter_typos_only() {
        assert!(near_miss("crossbeam-channel", "crossbeam-chanel"));
        assert!(near_miss("parking-lot", "parking_lot"));
        assert!(!near_miss("std-mpsc", "std-mspc")); // a swap is two edits
        assert!(near_miss("flume", "flumes"));
        assert!(near_miss("go", "ho"));
        assert!(!near_miss("baton-shards-1", "baton-shards-8"));
        assert!(!near_miss("baton-shards-64", "baton-shards-6"));
        assert!(!near_miss("baton", "baton-go"));
        assert!(!near_miss("mutex", "mutex"));
    }

    #[test]
    fn impl_names_are_kebab_case_and_not_near_misses() {
        let mut names: Vec<&str> = all()
            .iter()
            .flat_map(|e| &e.cases)
            .flat_map(|c| &c.impls)
            .map(|i| i.name)
            .collect();
        names.sort_unstable();
        names.dedup();
        for n in &names {
            assert!(kebab(n), "impl name {n:?} is not lowercase kebab-case");
        }
        for (k, a) in names.iter().enumerate() {
            for b in &names[k + 1..] {
                assert!(
                    !near_miss(a, b),
                    "impl names {a:?} and {b:?} differ by one letter: a typo? \
                     (the tables and charts group rows by this name)"
                );
            }
        }
    }

    #[test]
    fn big_rows_skip_only_impls_of_their_case() {
        let all = all();
        let mut bigs = 0;
        for e in &all {
            for c in &e.cases {
                let Some(big) = c.big else { continue };
                bigs += 1;
                assert!(!big.threads.is_empty(), "{}/{}", e.name, c.name);
                assert!(big.maps_per_thread > 0, "{}/{}", e.name, c.name);
                for s in big.skip {
                    assert!(
                        c.impls.iter().any(|i| i.name == *s),
                        "{}/{}: --big skips {s:?}, which is not one of its impls",
                        e.name,
                        c.name
                    );
                }
            }
        }
        assert!(bigs > 0, "no case has --big rows");
    }

    /// Every file here that declares an experiment is in the registry,
    /// under its file's name, and every registered experiment has its file.
    #[test]
    fn the_registry_holds_every_experiment_file() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/experiments");
        let mut declared = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("the experiments folder") {
            let path = entry.expect("a folder entry").path();
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if path.extension().is_some_and(|x| x == "rs") && stem != "mod" {
                let text = std::fs::read_to_string(&path).expect("a source file");
                if text.contains("pub(crate) fn experiment() -> Experiment") {
                    declared.push(stem.replace('_', "-"));
                }
            }
        }
        declared.sort();
        let mut registered: Vec<String> = names().iter().map(|n| n.to_string()).collect();
        registered.sort();
        assert_eq!(
            declared, registered,
            "experiment files (left) and the registry in experiments/mod.rs (right) differ"
        );
    }

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
    fn names_are_unique_and_go_rows_are_named_go() {
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
                    assert_eq!(
                        matches!(i.run, Run::Go),
                        i.name.starts_with("go"),
                        "{}/{}/{}: Go rows, and only they, have names starting with `go`",
                        e.name,
                        c.name,
                        i.name
                    );
                }
            }
        }
    }
}
