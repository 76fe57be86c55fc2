//! What each experiment's claim means in figures: the checks the
//! scoreboard (`report::scoreboard`) runs on the quiet rows of a run.
//!
//! An experiment's `claim` is a sentence for people; its [`Target`]s here
//! say which baton row must reach which ratio against which peers for the
//! sentence to hold on this machine. The words map to thresholds the same
//! way everywhere:
//!
//! - "beats", "faster than", "at least as fast as", "outrun": at least
//!   [`BEATS`] (1.0x);
//! - "matches", "keeps up with", "as fast as", "as cheaply as": at least
//!   [`MATCHES`] (0.9x: within the noise of a shared machine);
//! - "several times": at least [`SEVERAL`] (2x);
//! - "at most 1.5x the bytes" (memory): at least [`WITHIN_1_5X`] (peer /
//!   baton >= 1 / 1.5).
//!
//! Each target compares, in every column (case, thread count) it reads,
//! the baton row against the **fastest** of its peers present in that
//! column, and holds when every such ratio reaches the threshold. A
//! memory target ([`Target::memory`], built with [`mem`]) compares
//! resident bytes instead, as peer / baton against the leanest peer (above
//! 1: baton uses less).
//!
//! The targets live in this one table rather than in each experiment's
//! declaration so that experiments declared on other branches keep
//! compiling; an experiment with no entry gets [`DEFAULT`]: its `baton`
//! row at least as fast as the best peer in every case. A test checks that
//! every target names real cases, implementations and thread counts.

/// "beats", "faster than", "at least as fast as".
pub(crate) const BEATS: f64 = 1.0;
/// "matches", "keeps up with", "as fast as": within 10%.
pub(crate) const MATCHES: f64 = 0.9;
/// "several times faster".
pub(crate) const SEVERAL: f64 = 2.0;
/// Memory: "at most 1.5x the peer's bytes" (peer / baton at least 1 / 1.5).
pub(crate) const WITHIN_1_5X: f64 = 1.0 / 1.5;

/// One checkable part of an experiment's claim.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Target {
    /// The part of the claim it checks, in a few words.
    pub(crate) what: &'static str,
    /// The cases it reads; empty: every case of the experiment.
    pub(crate) cases: &'static [&'static str],
    /// The thread counts it reads; empty: every one measured.
    pub(crate) threads: &'static [usize],
    /// The baton implementation it judges.
    pub(crate) baton: &'static str,
    /// The peers; empty: every implementation not named `baton...`.
    pub(crate) peers: &'static [&'static str],
    /// Least ratio baton / fastest peer, in every column read.
    pub(crate) at_least: f64,
    /// Judged on `rss_bytes` (peer / baton) instead of throughput.
    pub(crate) memory: bool,
}

const fn t(
    what: &'static str,
    cases: &'static [&'static str],
    threads: &'static [usize],
    baton: &'static str,
    peers: &'static [&'static str],
    at_least: f64,
) -> Target {
    Target {
        what,
        cases,
        threads,
        baton,
        peers,
        at_least,
        memory: false,
    }
}

/// A target on resident memory (see [`Target::memory`]).
const fn mem(
    what: &'static str,
    cases: &'static [&'static str],
    baton: &'static str,
    peers: &'static [&'static str],
    at_least: f64,
) -> Target {
    Target {
        memory: true,
        ..t(what, cases, &[], baton, peers, at_least)
    }
}

/// What an experiment without its own targets is held to.
pub(crate) const DEFAULT: &[Target] = &[t(
    "baton at least as fast as the best peer",
    &[],
    &[],
    "baton",
    &[],
    BEATS,
)];

/// Under contention: more than one thread.
const CONTENDED: &[usize] = &[2, 4, 8];

/// Each experiment's targets, by name.
const TARGETS: &[(&str, &[Target])] = &[
    (
        "idgen",
        &[
            t(
                "an atomic add beats a mutex",
                &[],
                &[],
                "baton",
                &["mutex", "go-mutex"],
                BEATS,
            ),
            t(
                "per-thread batches beat both",
                &[],
                &[],
                "baton-batched",
                &[],
                BEATS,
            ),
        ],
    ),
    (
        "counter",
        &[
            t(
                "sharding beats one shared atomic",
                &["increment"],
                CONTENDED,
                "baton",
                &["shared-atomic"],
                BEATS,
            ),
            t(
                "padding beats packed shards",
                &["increment"],
                CONTENDED,
                "baton",
                &["unpadded-shards"],
                BEATS,
            ),
        ],
    ),
    (
        "rcu",
        &[t(
            "loads beat a lock around an Arc",
            &[],
            &[],
            "baton",
            &["rwlock-arc"],
            BEATS,
        )],
    ),
    (
        "seqlock",
        &[t(
            "readers outrun lock-based readers",
            &[],
            &[],
            "baton",
            &[],
            BEATS,
        )],
    ),
    (
        "mutex",
        &[
            t(
                "matches parking_lot uncontended",
                &["uncontended"],
                &[],
                "baton",
                &["parking-lot"],
                MATCHES,
            ),
            t(
                "beats std under contention",
                &["contended-short", "contended-long"],
                &[],
                "baton",
                &["std-mutex"],
                BEATS,
            ),
        ],
    ),
    (
        "rwlock",
        &[t(
            "reader slots scale past one shared count",
            &[],
            CONTENDED,
            "baton-sharded",
            &["std-rwlock", "parking-lot"],
            BEATS,
        )],
    ),
    (
        "semaphore",
        &[t("beats a mutex + condvar", &[], &[], "baton", &[], BEATS)],
    ),
    (
        "stack",
        &[t(
            "keeps up with a mutex around a Vec",
            &[],
            &[],
            "baton",
            &["mutex-vec"],
            MATCHES,
        )],
    ),
    (
        "queue",
        &[
            t(
                "matches crossbeam's SegQueue",
                &[],
                &[],
                "baton",
                &["crossbeam-segqueue"],
                MATCHES,
            ),
            t(
                "beats a mutex around a VecDeque",
                &[],
                &[],
                "baton",
                &["mutex-vecdeque"],
                BEATS,
            ),
        ],
    ),
    (
        "map",
        &[
            t(
                "scales where one RwLock<HashMap> does not",
                &[],
                &[8],
                "baton",
                &["big-old-map"],
                BEATS,
            ),
            t(
                "keeps up with dashmap",
                &[],
                &[],
                "baton",
                &["dashmap"],
                MATCHES,
            ),
        ],
    ),
    (
        "handles",
        &[t(
            "beats the big old map",
            &[],
            &[],
            "baton",
            &["big-old-map"],
            BEATS,
        )],
    ),
    (
        "ffi",
        &[t(
            "beats the big old map and cgo.Handle",
            &["handles-cycle"],
            &[],
            "baton-via-cgo",
            &["big-old-map", "cgo-handle"],
            BEATS,
        )],
    ),
    (
        "goroutines",
        &[
            t(
                "starts as cheaply as Go",
                &["spawn-join"],
                &[],
                "baton",
                &["go"],
                MATCHES,
            ),
            t(
                "switches as cheaply as Go",
                &["pingpong", "ring"],
                &[],
                "baton-chan",
                &["go"],
                MATCHES,
            ),
            t(
                "far cheaper than OS threads",
                &["spawn-join", "pingpong"],
                &[],
                "baton",
                &["os-thread"],
                BEATS,
            ),
            mem(
                "idles as cheaply as Go (resident bytes per goroutine)",
                &["idle-memory"],
                "baton",
                &["go"],
                MATCHES,
            ),
        ],
    ),
    (
        "conns",
        &[mem(
            "an idle connection costs at most 1.5x Go's resident bytes",
            &["idle"],
            "baton",
            &["go"],
            WITHIN_1_5X,
        )],
    ),
    (
        "chan",
        &[
            t(
                "at least as fast as the best Rust channels",
                &[],
                &[],
                "baton",
                &["crossbeam-channel", "flume", "kanal", "std-mpsc"],
                BEATS,
            ),
            t(
                "faster than Go's",
                &["spsc", "mpmc", "pingpong", "select"],
                &[],
                "baton-go",
                &["go"],
                BEATS,
            ),
        ],
    ),
    (
        "context",
        &[
            t(
                "derives, cancels and checks faster than Go and tokio-util",
                &["derive-cancel", "check"],
                &[],
                "baton",
                &[],
                BEATS,
            ),
            t(
                "wakes a crowd as fast as Go",
                &["fanout"],
                &[],
                "baton",
                &["go"],
                MATCHES,
            ),
        ],
    ),
    (
        "pipeline",
        &[t(
            "outruns Go and threads + crossbeam",
            &[],
            &[],
            "baton",
            &[],
            BEATS,
        )],
    ),
    (
        "rate",
        &[
            t(
                "allows as fast as governor",
                &[],
                &[],
                "baton",
                &["rust-governor"],
                MATCHES,
            ),
            t(
                "several times Go's under contention",
                &[],
                CONTENDED,
                "baton",
                &["go"],
                SEVERAL,
            ),
        ],
    ),
];

/// The targets of experiment `name` ([`DEFAULT`] for one not listed).
pub(crate) fn targets(name: &str) -> &'static [Target] {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(DEFAULT, |(_, t)| t)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::report::is_baton;

    /// Every target reads cases, threads and implementations that exist,
    /// so a renamed row cannot silently turn a claim into "not measured".
    #[test]
    fn every_target_names_real_rows() {
        for e in super::super::all() {
            let targets = targets(e.name);
            assert!(!targets.is_empty(), "{}", e.name);
            for t in targets {
                let cases: Vec<_> = e
                    .cases
                    .iter()
                    .filter(|c| t.cases.is_empty() || t.cases.contains(&c.name))
                    .collect();
                assert_eq!(
                    cases.len(),
                    if t.cases.is_empty() {
                        e.cases.len()
                    } else {
                        t.cases.len()
                    },
                    "{}: {:?} names a case that does not exist",
                    e.name,
                    t.what
                );
                assert!(is_baton(t.baton), "{}: {:?}", e.name, t.what);
                assert!(t.at_least > 0.0);
                for c in &cases {
                    let has = |n: &str| c.impls.iter().any(|i| i.name == n);
                    assert!(has(t.baton), "{}/{}: no {:?}", e.name, c.name, t.baton);
                    assert!(
                        t.peers.is_empty() || t.peers.iter().any(|p| has(p)),
                        "{}/{}: {:?} has none of its peers {:?}",
                        e.name,
                        c.name,
                        t.what,
                        t.peers
                    );
                }
                for p in t.peers {
                    assert!(!is_baton(p), "{}: peer {p:?} is baton's", e.name);
                    assert!(
                        cases.iter().any(|c| c.impls.iter().any(|i| i.name == *p)),
                        "{}: {:?} names peer {p:?}, which none of its cases has",
                        e.name,
                        t.what
                    );
                }
                if !t.threads.is_empty() {
                    assert!(
                        cases
                            .iter()
                            .any(|c| c.threads.iter().any(|n| t.threads.contains(n))),
                        "{}: {:?} reads thread counts no case has",
                        e.name,
                        t.what
                    );
                }
            }
        }
    }

    #[test]
    fn every_entry_names_a_registered_experiment() {
        let names = super::super::names();
        for (name, _) in TARGETS {
            assert!(
                names.contains(name),
                "claims.rs has targets for {name:?}, not an experiment"
            );
        }
    }

    #[test]
    fn unknown_experiments_get_the_default() {
        assert_eq!(targets("no-such-experiment"), DEFAULT);
    }
}
