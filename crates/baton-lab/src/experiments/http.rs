//! `http`: plaintext HTTP/1.1 with keep-alive, loaded by `wrk`: baton's
//! example server against Go's `net/http`, hyper on tokio, may_minihttp,
//! and a thread-per-connection std server as the floor.
//!
//! One op = one request answered (`Hello, World!`, 13 bytes); "threads" =
//! wrk's connections (64, 256, 1024), all kept alive. The latency columns
//! are wrk's own (`--latency`: its distribution's 50% and 99% lines), not
//! the lab's per-op sampling. Each measurement starts the server afresh as
//! a process of its own (`servers.rs`; Go's in the Go harness), so that
//! every server has the cores to itself; see `wrk.rs` for the method.
//!
//! - `pinned`: server on one core (`taskset`; its runtime then sizes itself
//!   to that one core: GOMAXPROCS, tokio's and baton's worker counts, may's
//!   workers), wrk on the other with one thread.
//! - `both-cores`: the server may use every core, and wrk runs two threads
//!   beside it (on a 2-core machine they compete: the figure is the whole
//!   machine's).
//!
//! wrk runs in whole seconds (at least 1 s per figure, whatever
//! `--seconds` says); with `--quick` each case measures its first
//! connection count only (see [`super::FIRST_COUNT_WHEN_QUICK`]), and the
//! tour leaves `both-cores` out.

use super::{Case, Experiment, Impl};
use crate::runner::{Sample, Spec};
use crate::wrk::{self, Placement};

pub(crate) const NAME: &str = "http";

/// wrk's connection counts.
const CONNECTIONS: &[usize] = &[64, 256, 1024];

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: NAME,
        claim: "baton's goroutine-per-connection HTTP server answers as many requests per second as Go's net/http and hyper on tokio, at no worse p99 latency",
        cases: vec![
            Case {
                name: "pinned",
                about: "one op = one keep-alive GET answered with 13 bytes; threads = wrk connections; \
                        server on one core, wrk (1 thread) on the other; p50/p99 are wrk's",
                threads: CONNECTIONS,
                latency: false,
                big: None,
                impls: impls(
                    |s| served("baton", Placement::Pinned, s),
                    |s| served("hyper", Placement::Pinned, s),
                    |s| served("may-minihttp", Placement::Pinned, s),
                    |s| served("std", Placement::Pinned, s),
                ),
            },
            Case {
                name: "both-cores",
                about: "one op = one keep-alive GET answered with 13 bytes; threads = wrk connections; \
                        server and wrk (2 threads) share every core; p50/p99 are wrk's",
                threads: CONNECTIONS,
                latency: false,
                big: None,
                impls: not_in_tour(impls(
                    |s| served("baton", Placement::Shared, s),
                    |s| served("hyper", Placement::Shared, s),
                    |s| served("may-minihttp", Placement::Shared, s),
                    |s| served("std", Placement::Shared, s),
                )),
            },
        ],
    }
}

type Measure = fn(&Spec) -> Result<Sample, String>;

/// One case's rows (the same servers in both).
fn impls(baton: Measure, hyper: Measure, may: Measure, std: Measure) -> Vec<Impl> {
    vec![
        Impl::fallible(
            "baton",
            "examples/http_server.rs: a goroutine per connection, httparse",
            baton,
        ),
        Impl::go("go", "Go: net/http's Server, a goroutine per connection"),
        Impl::fallible(
            "hyper",
            "hyper 1.x http1 on tokio's multi-thread runtime, a task per connection",
            hyper,
        ),
        Impl::fallible(
            "may-minihttp",
            "may_minihttp: may's stackful coroutines",
            may,
        ),
        Impl::fallible(
            "std",
            "a std thread per connection (the example's connection code): the floor",
            std,
        ),
    ]
}

/// Leaves a case out of the quick tour: each http figure costs at least a
/// second of wrk, so the tour measures the `pinned` case only (`run http`
/// measures both).
fn not_in_tour(impls: Vec<Impl>) -> Vec<Impl> {
    impls.into_iter().map(Impl::not_in_tour).collect()
}

/// The placement a case's name stands for (the Go rows are measured
/// through the Go harness, which knows only the case's name).
pub(crate) fn placement(case: &str) -> Placement {
    if case == "pinned" {
        Placement::Pinned
    } else {
        Placement::Shared
    }
}

/// Measures the lab's own server `name` (`baton-lab serve`).
fn served(name: &'static str, placement: Placement, spec: &Spec) -> Result<Sample, String> {
    wrk::measure(
        |addr| crate::servers::lab_server(name, addr),
        placement,
        spec,
    )
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn case_names_map_to_placements() {
        let e = experiment();
        let names: Vec<_> = e.cases.iter().map(|c| c.name).collect();
        assert_eq!(names, ["pinned", "both-cores"]);
        assert_eq!(placement("pinned"), Placement::Pinned);
        assert_eq!(placement("both-cores"), Placement::Shared);
    }

    #[test]
    fn every_lab_server_is_one_serve_knows() {
        for s in ["baton", "hyper", "may-minihttp", "std"] {
            assert!(crate::servers::NAMES.contains(&s), "{s}");
        }
        assert!(crate::servers::serve("nosuch", "127.0.0.1:1").is_err());
        assert!(crate::servers::serve("std", "not an address").is_err());
    }
}
