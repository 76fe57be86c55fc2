//! The scoreboard that opens the terminal output and the HTML report:
//! each experiment's claim, whether it held on this machine, and baton's
//! ratio against the fastest peer, before the detailed tables.
//!
//! A claim is judged by its targets (`experiments::claims`), on the quiet
//! rows of this run only: in every column a target reads (case, thread
//! count), baton's throughput over the fastest of the target's peers in
//! that column must reach the target's threshold. A claim **held** when
//! every target did, **missed** when none did, **partly** otherwise, and
//! is **not measured** when no column had both a baton row and a peer
//! (Go missing, say). Ratios are the same-run ratios of the tables.
//!
//! With `--load N` a second board says, per experiment, whether any baton
//! row slowed down more under load than the case's fastest peer (issue
//! 15's target): in every column measured both ways, baton's
//! loaded/quiet ratio must be at least that of the peer with the highest
//! quiet throughput there.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::table::ratio;
use super::{is_baton, Row};
use crate::experiments::claims::{self, Target};
use crate::experiments::Experiment;

/// How a claim, a target or a load check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Held,
    Partly,
    Missed,
    NotMeasured,
}

impl Verdict {
    /// The word the boards print.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Verdict::Held => "held",
            Verdict::Partly => "partly",
            Verdict::Missed => "missed",
            Verdict::NotMeasured => "not measured",
        }
    }

    /// Combines the verdicts of a claim's parts (unmeasured ones aside).
    fn of(parts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let (mut held, mut missed) = (0, 0);
        for v in parts {
            match v {
                Verdict::Held => held += 1,
                Verdict::Missed => missed += 1,
                Verdict::Partly => {
                    held += 1;
                    missed += 1;
                }
                Verdict::NotMeasured => {}
            }
        }
        match (held, missed) {
            (0, 0) => Verdict::NotMeasured,
            (_, 0) => Verdict::Held,
            (0, _) => Verdict::Missed,
            _ => Verdict::Partly,
        }
    }
}

/// One column a target read: baton against the fastest peer there.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cell {
    pub(crate) case: String,
    pub(crate) threads: usize,
    pub(crate) peer: String,
    /// baton / peer throughput.
    pub(crate) ratio: f64,
}

/// One target's outcome.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Check {
    pub(crate) target: Target,
    pub(crate) verdict: Verdict,
    /// Every column read, worst ratio first.
    pub(crate) cells: Vec<Cell>,
}

impl Check {
    /// `1.05x`, or `0.85x-1.30x` (worst 0.85x: contended-long, 8 threads,
    /// vs std-mutex)`, or `-`.
    pub(crate) fn summary(&self) -> String {
        let (Some(worst), Some(best)) = (self.cells.first(), self.cells.last()) else {
            return "-".to_owned();
        };
        let range = if self.cells.len() == 1 || ratio(worst.ratio) == ratio(best.ratio) {
            ratio(worst.ratio)
        } else {
            format!("{}-{}", ratio(worst.ratio), ratio(best.ratio))
        };
        format!(
            "{range} (worst: {}, {}, vs {})",
            worst.case,
            super::table::threads_label(worst.threads),
            worst.peer
        )
    }
}

/// One experiment's claim and how it came out.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Claim {
    pub(crate) experiment: String,
    pub(crate) claim: String,
    pub(crate) verdict: Verdict,
    pub(crate) checks: Vec<Check>,
}

/// One experiment under load: its worst baton row against the peer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LoadCheck {
    pub(crate) experiment: String,
    pub(crate) verdict: Verdict,
    /// Columns compared, and how many baton rows slowed down more.
    pub(crate) compared: usize,
    pub(crate) worse: usize,
    /// The column where baton fared worst against the peer.
    pub(crate) worst: Option<LoadCell>,
}

/// One baton row under load against the fastest peer of its column.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LoadCell {
    pub(crate) case: String,
    pub(crate) threads: usize,
    pub(crate) baton: String,
    /// baton's loaded/quiet throughput.
    pub(crate) baton_vs_quiet: f64,
    /// The peer with the highest quiet throughput in the column.
    pub(crate) peer: String,
    pub(crate) peer_vs_quiet: f64,
}

/// Both boards.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Scoreboard {
    pub(crate) claims: Vec<Claim>,
    /// `Some` when the run had loaded rows: (N, one check per experiment).
    pub(crate) load: Option<(usize, Vec<LoadCheck>)>,
    /// Why this run's verdicts deserve less trust (a busy machine, short
    /// measurements), said under the board's heading.
    pub(crate) caveat: Option<String>,
}

/// Rows by (experiment, case, threads, load), each a list of rows.
type Index<'r> = HashMap<(&'r str, &'r str, usize, Option<usize>), Vec<&'r Row>>;

impl Scoreboard {
    /// Judges every experiment of the run on `rows`.
    pub(crate) fn new(experiments: &[Experiment], rows: &[Row]) -> Scoreboard {
        let mut index: Index<'_> = HashMap::new();
        for r in rows {
            index
                .entry((&r.experiment, &r.case, r.threads, r.load))
                .or_default()
                .push(r);
        }
        let claims = experiments
            .iter()
            .map(|e| {
                let checks: Vec<Check> = claims::targets(e.name)
                    .iter()
                    .map(|t| check(e, t, &index))
                    .collect();
                Claim {
                    experiment: e.name.to_owned(),
                    claim: e.claim.to_owned(),
                    verdict: Verdict::of(checks.iter().map(|c| c.verdict)),
                    checks,
                }
            })
            .collect();
        let load = rows.iter().find_map(|r| r.load).map(|n| {
            let checks = experiments
                .iter()
                .map(|e| load_check(e, n, &index))
                .collect();
            (n, checks)
        });
        Scoreboard {
            claims,
            load,
            caveat: None,
        }
    }

    /// The boards as text lines for the terminal.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Scoreboard: each claim on this machine (quiet rows; ratio = baton / fastest peer \
             named, or peer / baton bytes for memory; above 1 baton is better)"
        );
        if let Some(c) = &self.caveat {
            let _ = writeln!(out, "  ({c})");
        }
        for c in &self.claims {
            let _ = writeln!(
                out,
                "  {:<12} {}: {}",
                c.verdict.word().to_uppercase(),
                c.experiment,
                c.claim
            );
            for k in &c.checks {
                let _ = writeln!(
                    out,
                    "  {:<12}   {:<4} {} (>= {}): {}",
                    "",
                    match k.verdict {
                        Verdict::Held => "ok",
                        Verdict::NotMeasured => "n/a",
                        _ => "MISS",
                    },
                    k.target.what,
                    ratio(k.target.at_least),
                    k.summary()
                );
            }
        }
        let _ = writeln!(out, "  {}", self.tally());
        if let Some((n, checks)) = &self.load {
            let _ = writeln!(
                out,
                "Under load {n}: held where no baton row slowed down more (loaded / quiet) than the \
                 case's fastest peer"
            );
            for c in checks {
                let _ = writeln!(
                    out,
                    "  {:<12} {}: {}",
                    c.verdict.word().to_uppercase(),
                    c.experiment,
                    c.summary()
                );
            }
        }
        out
    }

    /// `9 of 17 claims held, 5 partly, 2 missed, 1 not measured.`
    pub(crate) fn tally(&self) -> String {
        let count = |v| self.claims.iter().filter(|c| c.verdict == v).count();
        let mut s = format!(
            "{} of {} claims held",
            count(Verdict::Held),
            self.claims.len()
        );
        for v in [Verdict::Partly, Verdict::Missed, Verdict::NotMeasured] {
            if count(v) > 0 {
                let _ = write!(s, ", {} {}", count(v), v.word());
            }
        }
        s.push('.');
        s
    }
}

impl LoadCheck {
    /// `2 of 6 rows slowed more; worst: pingpong, 2 threads: baton-chan
    /// 0.30x of quiet, go 0.95x`.
    pub(crate) fn summary(&self) -> String {
        match &self.worst {
            None => "no row measured both quiet and loaded against a peer".to_owned(),
            Some(w) => format!(
                "{} of {} baton rows slowed down more than the fastest peer; worst: {}, {}: \
                 {} at {} of quiet, {} at {}",
                self.worse,
                self.compared,
                w.case,
                super::table::threads_label(w.threads),
                w.baton,
                ratio(w.baton_vs_quiet),
                w.peer,
                ratio(w.peer_vs_quiet)
            ),
        }
    }
}

/// The rows of one (experiment, case, threads, load) column.
fn column<'a>(
    index: &'a Index<'a>,
    e: &'a str,
    case: &'a str,
    threads: usize,
    load: Option<usize>,
) -> &'a [&'a Row] {
    index
        .get(&(e, case, threads, load))
        .map_or(&[], |v| v.as_slice())
}

/// The thread counts measured in `case` (quiet), ascending.
fn measured_threads(index: &Index<'_>, e: &str, case: &str) -> Vec<usize> {
    let mut t: Vec<usize> = index
        .keys()
        .filter(|k| k.0 == e && k.1 == case && k.3.is_none())
        .map(|k| k.2)
        .collect();
    t.sort_unstable();
    t
}

fn check(e: &Experiment, target: &Target, index: &Index<'_>) -> Check {
    let mut cells = Vec::new();
    for case in e
        .cases
        .iter()
        .filter(|c| target.cases.is_empty() || target.cases.contains(&c.name))
    {
        for threads in measured_threads(index, e.name, case.name) {
            if !target.threads.is_empty() && !target.threads.contains(&threads) {
                continue;
            }
            let col = column(index, e.name, case.name, threads, None);
            let Some(baton) = col.iter().find(|r| r.impl_name == target.baton) else {
                continue;
            };
            // Higher is better: throughput, or the inverse of memory.
            let score = |r: &Row| {
                let s = if target.memory {
                    1.0 / r.rss_bytes.unwrap_or(0) as f64
                } else {
                    r.ops_per_sec
                };
                Some(s).filter(|s| s.is_finite() && *s > 0.0)
            };
            let Some(b) = score(baton) else { continue };
            let peer = col
                .iter()
                .filter(|r| {
                    if target.peers.is_empty() {
                        !is_baton(&r.impl_name)
                    } else {
                        target.peers.contains(&r.impl_name.as_str())
                    }
                })
                .filter_map(|r| Some((r, score(r)?)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((peer, p)) = peer {
                cells.push(Cell {
                    case: case.name.to_owned(),
                    threads,
                    peer: peer.impl_name.clone(),
                    ratio: b / p,
                });
            }
        }
    }
    cells.sort_by(|a, b| a.ratio.total_cmp(&b.ratio));
    let verdict = match cells.first() {
        None => Verdict::NotMeasured,
        Some(worst) if worst.ratio >= target.at_least => Verdict::Held,
        Some(_) => Verdict::Missed,
    };
    Check {
        target: *target,
        verdict,
        cells,
    }
}

fn load_check(e: &Experiment, n: usize, index: &Index<'_>) -> LoadCheck {
    let (mut compared, mut worse) = (0, 0);
    let mut worst: Option<(f64, LoadCell)> = None;
    for case in &e.cases {
        for threads in measured_threads(index, e.name, case.name) {
            let quiet = column(index, e.name, case.name, threads, None);
            let loaded = column(index, e.name, case.name, threads, Some(n));
            let vs_quiet = |name: &str| {
                loaded
                    .iter()
                    .find(|r| r.impl_name == name)
                    .and_then(|r| r.loaded_vs_quiet)
            };
            // The fastest peer on the quiet machine, if it was also loaded.
            let Some((peer, p)) = quiet
                .iter()
                .filter(|r| !is_baton(&r.impl_name))
                .max_by(|a, b| a.ops_per_sec.total_cmp(&b.ops_per_sec))
                .and_then(|r| Some((r.impl_name.clone(), vs_quiet(&r.impl_name)?)))
            else {
                continue;
            };
            for b in quiet.iter().filter(|r| is_baton(&r.impl_name)) {
                let Some(bv) = vs_quiet(&b.impl_name) else {
                    continue;
                };
                compared += 1;
                if bv < p {
                    worse += 1;
                }
                let score = bv / p.max(1e-12);
                if worst.as_ref().map_or(true, |(s, _)| score < *s) {
                    let cell = LoadCell {
                        case: case.name.to_owned(),
                        threads,
                        baton: b.impl_name.clone(),
                        baton_vs_quiet: bv,
                        peer: peer.clone(),
                        peer_vs_quiet: p,
                    };
                    worst = Some((score, cell));
                }
            }
        }
    }
    let verdict = match (compared, worse) {
        (0, _) => Verdict::NotMeasured,
        (_, 0) => Verdict::Held,
        (c, w) if w == c => Verdict::Missed,
        _ => Verdict::Partly,
    };
    LoadCheck {
        experiment: e.name.to_owned(),
        verdict,
        compared,
        worse,
        worst: worst.map(|(_, c)| c),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::experiments;

    fn row(case: &str, imp: &str, threads: usize, ops: f64) -> Row {
        Row {
            experiment: "mutex".into(),
            case: case.into(),
            impl_name: imp.into(),
            threads,
            ops_per_sec: ops,
            ns_per_op: 1e9 / ops,
            ..Row::default()
        }
    }

    fn mutex() -> Vec<Experiment> {
        experiments::all()
            .into_iter()
            .filter(|e| e.name == "mutex")
            .collect()
    }

    #[test]
    fn a_claim_holds_only_where_every_target_does() {
        let mut rows = vec![
            row("uncontended", "baton", 1, 95.0),
            row("uncontended", "parking-lot", 1, 100.0),
            row("uncontended", "std-mutex", 1, 500.0), // not a peer of that target
            row("contended-short", "baton", 2, 30.0),
            row("contended-short", "std-mutex", 2, 20.0),
            row("contended-short", "baton", 8, 30.0),
            row("contended-short", "std-mutex", 8, 10.0),
        ];
        let board = Scoreboard::new(&mutex(), &rows);
        let c = &board.claims[0];
        assert_eq!(c.checks[0].verdict, Verdict::Held, "0.95x >= 0.9x");
        assert_eq!(c.checks[0].cells[0].peer, "parking-lot");
        assert_eq!(c.checks[1].verdict, Verdict::Held);
        assert_eq!(c.checks[1].cells.len(), 2);
        assert_eq!(c.checks[1].cells[0].ratio, 1.5, "worst first");
        assert_eq!(c.verdict, Verdict::Held);
        assert!(board.load.is_none());

        rows[3].ops_per_sec = 10.0; // baton loses at 2 threads
        let board = Scoreboard::new(&mutex(), &rows);
        let c = &board.claims[0];
        assert_eq!(c.checks[1].verdict, Verdict::Missed);
        assert_eq!(c.verdict, Verdict::Partly);
        let text = board.to_text();
        assert!(
            text.contains("PARTLY") && text.contains("MISS beats std"),
            "{text}"
        );
        assert!(
            text.contains("0.50x-3.00x (worst: contended-short, 2 threads, vs std-mutex)"),
            "{text}"
        );
        assert!(text.contains("0 of 1 claims held, 1 partly."), "{text}");
    }

    #[test]
    fn a_caveat_is_said_under_the_heading() {
        let mut board = Scoreboard::new(&mutex(), &[]);
        assert!(!board.to_text().contains("(short"));
        board.caveat = Some("short run".into());
        let text = board.to_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "  (short run)", "{text}");
    }

    #[test]
    fn no_peer_row_means_not_measured() {
        let board = Scoreboard::new(&mutex(), &[row("uncontended", "baton", 1, 1.0)]);
        assert_eq!(board.claims[0].verdict, Verdict::NotMeasured);
        assert!(board.to_text().contains("NOT MEASURED"));
    }

    #[test]
    fn under_load_baton_must_slow_no_more_than_the_fastest_peer() {
        let mut rows = vec![
            row("contended-short", "baton", 2, 30.0),
            row("contended-short", "std-mutex", 2, 20.0),
            row("contended-short", "parking-lot", 2, 25.0),
            row("contended-short", "baton", 2, 15.0),
            row("contended-short", "std-mutex", 2, 19.0),
            row("contended-short", "parking-lot", 2, 20.0),
        ];
        for (r, v) in rows[3..].iter_mut().zip([0.5, 0.95, 0.8]) {
            r.load = Some(2);
            r.loaded_vs_quiet = Some(v);
        }
        let board = Scoreboard::new(&mutex(), &rows);
        let (n, checks) = board.load.as_ref().unwrap();
        assert_eq!(*n, 2);
        let c = &checks[0];
        assert_eq!((c.verdict, c.compared, c.worse), (Verdict::Missed, 1, 1));
        let worst = c.worst.as_ref().unwrap();
        assert_eq!(
            worst.peer, "parking-lot",
            "the fastest quiet peer, not the least slowed"
        );
        let text = board.to_text();
        assert!(text.contains("Under load 2"), "{text}");
        assert!(
            text.contains("baton at 0.50x of quiet, parking-lot at 0.80x"),
            "{text}"
        );

        rows[3].loaded_vs_quiet = Some(0.85);
        let board = Scoreboard::new(&mutex(), &rows);
        assert_eq!(board.load.unwrap().1[0].verdict, Verdict::Held);
    }

    #[test]
    fn memory_targets_compare_resident_bytes_against_the_leanest_peer() {
        let goroutines: Vec<Experiment> = experiments::all()
            .into_iter()
            .filter(|e| e.name == "goroutines")
            .collect();
        let idle = |imp: &str, ops: f64, rss| Row {
            experiment: "goroutines".into(),
            rss_bytes: Some(rss),
            ..row("idle-memory", imp, 10_000, ops)
        };
        // baton starts goroutines faster but keeps more bytes per goroutine.
        let rows = [idle("baton", 9.0, 4000), idle("go", 1.0, 2000)];
        let board = Scoreboard::new(&goroutines, &rows);
        let check = board.claims[0]
            .checks
            .iter()
            .find(|c| c.target.memory)
            .expect("a memory target");
        assert_eq!(check.cells.len(), 1);
        assert_eq!(check.cells[0].ratio, 0.5, "go's 2000 B / baton's 4000 B");
        assert_eq!(check.verdict, Verdict::Missed);
    }

    #[test]
    fn verdicts_combine() {
        use Verdict::*;
        assert_eq!(Verdict::of([Held, NotMeasured]), Held);
        assert_eq!(Verdict::of([Held, Missed]), Partly);
        assert_eq!(Verdict::of([Missed, NotMeasured]), Missed);
        assert_eq!(Verdict::of([NotMeasured]), NotMeasured);
        assert_eq!(Verdict::of([Partly]), Partly);
    }
}
