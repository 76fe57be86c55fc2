//! A lab session: runs the chosen experiments with a progress bar naming
//! the case in hand, then prints the scoreboard and each case's tables,
//! and writes the JSON and HTML reports.
//!
//! Both the terminal output and the HTML report open with the scoreboard
//! (`report::scoreboard`): each experiment's claim, whether it held on
//! this machine, and baton's ratio to the best peer; the detailed tables
//! follow (on the terminal they are held back until the end for that).
//! With `--load N` (see `crate::load`) every round of a
//! case runs each implementation quiet and then beside N busy processes,
//! and each loaded row carries its ratio to the quiet one.

use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::experiments::{self, Case, Experiment, Impl, Run};
use crate::go::{self, GoHarness};
use crate::load::{self, Load};
use crate::machine::Machine;
use crate::report::scoreboard::Scoreboard;
use crate::report::table::{threads_label, CaseTable};
use crate::report::{html, json, Report, Row};
use crate::runner::{self, Sample, Spec};

/// How a session measures and where it writes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Settings {
    /// Seconds per measurement.
    pub(crate) seconds: f64,
    /// Interleaved rounds per (case, thread count); each figure is their median.
    pub(crate) rounds: usize,
    /// Thread counts for every case, replacing each case's own.
    pub(crate) threads: Option<Vec<usize>>,
    /// Whether this is a quick run (`--quick`, the tour): the experiments
    /// in [`experiments::FIRST_COUNT_WHEN_QUICK`] measure their first
    /// thread count only.
    pub(crate) quick: bool,
    /// Whether to run the Go peers.
    pub(crate) go: bool,
    /// Whether to add the cases' `--big` rows (see [`Case::big`]).
    pub(crate) big: bool,
    /// Busy background processes to measure every row beside, as well as
    /// quiet (`--load N`; see `crate::load`).
    pub(crate) load: Option<usize>,
    /// Which of them run niced.
    pub(crate) load_nice: load::Nice,
    pub(crate) json: Option<PathBuf>,
    pub(crate) out: PathBuf,
}

impl Settings {
    fn threads<'a>(&'a self, exp: &Experiment, case: &'a Case) -> &'a [usize] {
        let counts = self.threads.as_deref().unwrap_or(case.threads);
        if self.quick && experiments::FIRST_COUNT_WHEN_QUICK.contains(&exp.name) {
            &counts[..counts.len().min(1)]
        } else {
            counts
        }
    }
}

/// The `--big` rows of a case, if asked for and the mapping cap allows them.
fn big_rows(settings: &Settings, exp: &Experiment, case: &Case) -> Option<experiments::Big> {
    if !settings.big {
        return None;
    }
    let big = case.big?;
    let cap = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    match cap_check(big, cap) {
        Ok(()) => Some(big),
        Err(msg) => {
            println!("{}/{}: {msg}\n", exp.name, case.name);
            None
        }
    }
}

/// Mappings left for everything besides the goroutines' stacks (the
/// process's own, and baton's reserve).
const MAP_MARGIN: usize = 200_000;

/// Whether `cap` (`vm.max_map_count`, if known) holds `big`'s largest row,
/// or the message saying which `sysctl` would.
fn cap_check(big: experiments::Big, cap: Option<usize>) -> Result<(), String> {
    let most = big.threads.iter().copied().max().unwrap_or(0);
    let needed = most * big.maps_per_thread + MAP_MARGIN;
    match cap {
        Some(cap) if cap >= needed => Ok(()),
        Some(cap) => Err(format!(
            "skipping the --big rows ({most} goroutines): vm.max_map_count is {cap}, they need \
             {needed}; run `sudo sysctl -w vm.max_map_count={needed}` first (and restore {cap} after)"
        )),
        None => Err(format!(
            "skipping the --big rows ({most} goroutines): cannot read vm.max_map_count"
        )),
    }
}

/// Runs `experiments` and writes the reports.
pub(crate) fn run(experiments: &[Experiment], settings: &Settings) -> Result<(), String> {
    let wants_go = experiments
        .iter()
        .flat_map(|e| &e.cases)
        .flat_map(|c| &c.impls)
        .any(|i| matches!(i.run, Run::Go));
    let harness = if settings.go && wants_go {
        go::prepare()
    } else {
        None
    };
    let machine = Machine::detect();
    println!(
        "baton-lab: {} cores, {}; {} x {}s per figure (median of interleaved rounds)",
        machine.cores, machine.cpu_model, settings.rounds, settings.seconds
    );
    // Started after the Go harness is built, so that the build is not slowed.
    let mut load = match settings.load {
        Some(n) => Some(Load::start(n, settings.load_nice)?),
        None => None,
    };
    if let Some(n) = settings.load {
        println!("{}", load_plan(n, settings.load_nice));
    }
    println!("{}\n", html::MONITOR_NOTE);

    let runnable = |i: &Impl| !matches!(i.run, Run::Go) || harness.is_some();
    let mut bigs = Vec::new();
    for e in experiments {
        for c in &e.cases {
            bigs.push(big_rows(settings, e, c));
        }
    }
    let big_total: usize = experiments
        .iter()
        .flat_map(|e| &e.cases)
        .zip(&bigs)
        .filter_map(|(c, big)| big.map(|b| (c, b)))
        .map(|(c, b)| {
            let n = c
                .impls
                .iter()
                .filter(|i| runnable(i) && !b.skip.contains(&i.name))
                .count();
            b.threads.len() * n
        })
        .sum();
    let total: usize = experiments
        .iter()
        .flat_map(|e| e.cases.iter().map(move |c| (e, c)))
        .map(|(e, c)| settings.threads(e, c).len() * c.impls.iter().filter(|i| runnable(i)).count())
        .sum::<usize>()
        * settings.rounds
        * if load.is_some() { 2 } else { 1 }
        + big_total;
    let bar = progress_bar(total as u64, settings.seconds);

    let mut rows = Vec::new();
    let mut shares = Shares::default();
    let mut bigs = bigs.into_iter();
    // Each case and where its rows start, for the tables after the board.
    let mut done: Vec<(&Experiment, &Case, usize)> = Vec::new();
    for exp in experiments {
        for case in &exp.cases {
            bar.set_prefix(format!("{} / {}", exp.name, case.name));
            let impls: Vec<&Impl> = case.impls.iter().filter(|i| runnable(i)).collect();
            let run = CaseRun {
                exp,
                case,
                settings,
                harness: harness.as_ref(),
                bar: &bar,
            };
            let mut case_rows = run.rows(
                &impls,
                settings.threads(exp, case),
                settings.rounds,
                &mut shares,
                &mut load,
            );
            if let Some(big) = bigs.next().flatten() {
                // Measured once: a memory figure, slow to set up.
                let impls: Vec<&Impl> = impls
                    .iter()
                    .copied()
                    .filter(|i| !big.skip.contains(&i.name))
                    .collect();
                case_rows.extend(run.rows(&impls, big.threads, 1, &mut shares, &mut None));
            }
            done.push((exp, case, rows.len()));
            rows.extend(case_rows);
        }
    }
    bar.finish_and_clear();
    drop(load); // the burners end before the reports are written
    let mut load_note = load_note(&shares.quiet);
    if let Some(n) = settings.load {
        load_note.push(' ');
        load_note.push_str(&loaded_note(n, settings.load_nice, &shares.loaded));
    }
    println!("{load_note}\n");

    let mut scoreboard = Scoreboard::new(experiments, &rows);
    scoreboard.caveat = caveat(settings, &shares.quiet);
    println!("{}", scoreboard.to_text());
    for (k, &(exp, case, start)) in done.iter().enumerate() {
        let end = done.get(k + 1).map_or(rows.len(), |d| d.2);
        print_case(exp, case, &rows[start..end]);
    }
    println!("Scoreboard (above): {}", scoreboard.tally());
    let report = Report { machine, rows };
    if let Some(path) = &settings.json {
        json::write(&report, path).map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("JSON: {}", path.display());
    }
    let index = html::write(&report, experiments, &scoreboard, &load_note, &settings.out)
        .map_err(|e| format!("writing the report in {}: {e}", settings.out.display()))?;
    println!("Report: {}", index.display());
    Ok(())
}

fn progress_bar(total: u64, seconds: f64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:32}] {pos}/{len} measurements, {elapsed} of ~{msg}: {prefix}",
        )
        .expect("a valid progress template")
        .progress_chars("=> "),
    );
    // The bar's own ETA is noisy early on; the plan is known.
    let planned = Duration::from_secs_f64(total as f64 * (seconds + 0.01));
    bar.set_message(format!("{}s", planned.as_secs()));
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// What measuring one case needs.
struct CaseRun<'a> {
    exp: &'a Experiment,
    case: &'a Case,
    settings: &'a Settings,
    harness: Option<&'a GoHarness>,
    bar: &'a ProgressBar,
}

impl CaseRun<'_> {
    /// Measures every implementation at each thread count, in interleaved
    /// rounds, and returns one row per (implementation, threads); pushes
    /// each native measurement's CPU share onto `shares`. With `load`, each
    /// round measures every implementation quiet (the burners stopped),
    /// then every one loaded (running), and each gets a quiet and a loaded
    /// row. An implementation that fails (Go, child and fallible runs can)
    /// is warned about once and left out of the rest of the case.
    fn rows(
        &self,
        impls: &[&Impl],
        counts: &[usize],
        rounds: usize,
        shares: &mut Shares,
        load: &mut Option<Load>,
    ) -> Vec<Row> {
        let (settings, bar) = (self.settings, self.bar);
        let mut rows = Vec::new();
        let mut impls = impls.to_vec();
        // Slot `k` is implementation `k % n`, loaded when `k >= n`.
        let passes = if load.is_some() { 2 } else { 1 };
        for (done, &threads) in counts.iter().enumerate() {
            let spec = Spec {
                threads,
                seconds: settings.seconds,
                latency: self.case.latency,
            };
            let start = bar.position();
            let n = impls.len();
            let mut failed = vec![false; n];
            let samples = runner::interleave(n * passes, rounds, |k| {
                let (i, loaded) = (k % n, k >= n);
                if failed[i] {
                    return None; // failed in its other pass: no more tries
                }
                if let Some(load) = load.as_mut() {
                    if loaded {
                        load.resume();
                    } else {
                        load.pause();
                    }
                }
                let sample = self.measure(impls[i], &spec);
                if let (Run::Native(_), Some(s)) = (&impls[i].run, &sample) {
                    let shares = if loaded {
                        &mut shares.loaded
                    } else {
                        &mut shares.quiet
                    };
                    shares.extend(s.cpu_share);
                }
                failed[i] |= sample.is_none();
                bar.inc(1);
                sample
            });
            if let Some(load) = load.as_mut() {
                load.pause(); // quiet between cases (printing, setting up)
            }
            bar.set_position(start + (n * passes * rounds) as u64);
            for (i, imp) in impls.iter().enumerate().filter(|(i, _)| !failed[*i]) {
                let Some(quiet) = runner::figure(&samples[i]) else {
                    continue;
                };
                rows.push(row(self.exp, self.case, imp, threads, &quiet));
                let loaded = load.as_ref().zip(samples.get(n + i));
                if let Some((f, load)) = loaded.and_then(|(l, s)| Some((runner::figure(s)?, l))) {
                    let mut r = row(self.exp, self.case, imp, threads, &f);
                    r.load = Some(load.count());
                    r.loaded_vs_quiet =
                        Some(f.ops_per_sec / quiet.ops_per_sec).filter(|r| r.is_finite());
                    rows.push(r);
                }
            }
            // Leave the failed ones out of the remaining thread counts.
            let before = impls.len();
            let mut dead = failed.iter();
            impls.retain(|_| !dead.next().copied().unwrap_or(true));
            let dropped = (before - impls.len()) * passes * rounds * (counts.len() - done - 1);
            bar.set_length(bar.length().unwrap_or(0).saturating_sub(dropped as u64));
        }
        rows
    }

    fn measure(&self, imp: &Impl, spec: &Spec) -> Option<Sample> {
        let (exp, case) = (self.exp, self.case);
        match (&imp.run, self.harness) {
            (Run::Native(f), _) => Some(f(spec)),
            (Run::Fallible(f), _) => match f(spec) {
                Ok(s) => Some(s),
                Err(e) => self.warn(imp, spec, e),
            },
            (Run::Child(_), _) => {
                match crate::child::measure(exp.name, case.name, imp.name, spec) {
                    Ok(s) => Some(s),
                    Err(e) => self.warn(imp, spec, e),
                }
            }
            (Run::Go, Some(h)) => match h.measure(exp.name, case.name, imp.name, spec) {
                Ok(s) => Some(s),
                Err(e) => self.warn(imp, spec, e),
            },
            (Run::Go, None) => None,
        }
    }

    /// Says that `imp` failed (it is left out of the rest of the case).
    fn warn(&self, imp: &Impl, spec: &Spec, e: impl std::fmt::Display) -> Option<Sample> {
        self.bar.suspend(|| {
            eprintln!(
                "warning: {}/{} {} failed at {}: {e}; left out of this case",
                self.exp.name,
                self.case.name,
                imp.name,
                threads_label(spec.threads)
            )
        });
        None
    }
}

/// The CPU shares the workers got, quiet and loaded (see [`load_note`]).
#[derive(Debug, Default)]
struct Shares {
    quiet: Vec<f64>,
    loaded: Vec<f64>,
}

/// Below this median CPU share the machine counts as busy.
const BUSY_SHARE: f64 = 0.85;

/// Below these, a run's verdicts are noise more than measurement.
const TRUSTED_ROUNDS: usize = 3;
const TRUSTED_SECONDS: f64 = 0.1;

/// Why the scoreboard's verdicts deserve less trust, if they do.
fn caveat(settings: &Settings, quiet_shares: &[f64]) -> Option<String> {
    let mut why = Vec::new();
    if settings.rounds < TRUSTED_ROUNDS || settings.seconds < TRUSTED_SECONDS {
        why.push(format!(
            "short measurements ({} x {}s)",
            settings.rounds, settings.seconds
        ));
    }
    if let Some(s) = runner::median(quiet_shares).filter(|s| *s < BUSY_SHARE) {
        why.push(format!(
            "a busy machine (the workers got {:.0}% of their CPU time)",
            s * 100.0
        ));
    }
    (!why.is_empty()).then(|| {
        format!(
            "verdicts from {} are rough: rerun with more rounds on a quiet machine before \
             trusting a miss",
            why.join(" and ")
        )
    })
}

/// What `--load` does, said before the run.
fn load_plan(n: usize, nice: load::Nice) -> String {
    let niced = (0..n).filter(|&i| nice.niced(i, n)).count();
    format!(
        "--load {n}: every round measures each implementation quiet, then beside {n} busy \
         processes ({} at normal priority, {niced} at nice {}); loaded rows are marked \
         \"load {n}\" and carry loaded/quiet (below 1: slowed down).",
        n - niced,
        load::NICE
    )
}

/// One sentence on the loaded rows' CPU share.
fn loaded_note(n: usize, nice: load::Nice, shares: &[f64]) -> String {
    let niced = (0..n).filter(|&i| nice.niced(i, n)).count();
    let share = runner::median(shares).map_or_else(
        || "the workers' share was not measured".to_owned(),
        |s| {
            format!(
                "the workers ran {:.0}% of the time they could have (median)",
                s.min(1.0) * 100.0
            )
        },
    );
    format!(
"Loaded rows (load {n}: {} busy process(es) at normal priority, {niced} at nice {}): {share}.",
        n - niced,
        load::NICE
    )
}

/// One line on how much of the machine the workers got.
fn load_note(shares: &[f64]) -> String {
    match runner::median(shares) {
        // No share recorded: the OS does not report thread CPU times, or
        // every row timed itself (scheduler cases, child processes).
        None => "CPU share: not measured for these rows (they time themselves, or the OS does not \
                 report thread CPU times)."
            .to_owned(),
        Some(s) if s < BUSY_SHARE => format!(
            "CPU share: the workers ran {:.0}% of the time they could have (median): this machine \
             was busy with other work, so threads seldom ran at once and contention is understated; \
             rerun on a quiet machine for the multi-thread ratios.",
            s * 100.0
        ),
        Some(s) => format!(
            "CPU share: the workers ran {:.0}% of the time they could have (median): a quiet machine.",
            s.min(1.0) * 100.0
        ),
    }
}

fn row(exp: &Experiment, case: &Case, imp: &Impl, threads: usize, f: &runner::Figure) -> Row {
    Row {
        experiment: exp.name.to_owned(),
        case: case.name.to_owned(),
        impl_name: imp.name.to_owned(),
        threads: f.scaled_threads.unwrap_or(threads),
        ops_per_sec: f.ops_per_sec,
        ns_per_op: 1e9 / f.ops_per_sec,
        p50_ns: f.p50_ns,
        p99_ns: f.p99_ns,
        rss_bytes: f.rss_bytes,
        load: None,
        loaded_vs_quiet: None,
    }
}

fn print_case(exp: &Experiment, case: &Case, rows: &[Row]) {
    println!("{} / {}: {}", exp.name, case.name, exp.claim);
    println!("  {}", case.about);
    for table in CaseTable::group(rows) {
        if let Some(n) = table.load {
            println!("  under load {n}:");
        }
        print!("{}", table.to_text());
    }
    println!();
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const BIG: experiments::Big = experiments::Big {
        threads: &[1_000, 1_000_000],
        skip: &["may"],
        maps_per_thread: 2,
    };

    #[test]
    fn cap_check_names_the_sysctl_when_too_low() {
        let msg = cap_check(BIG, Some(65_530)).unwrap_err();
        assert!(
            msg.contains("sudo sysctl -w vm.max_map_count=2200000"),
            "{msg}"
        );
        assert!(msg.contains("65530"), "{msg}");
        assert!(cap_check(BIG, Some(2_200_000)).is_ok());
        assert!(cap_check(BIG, None).is_err());
    }

    #[test]
    fn big_rows_are_idle_memory_and_idle_connections() {
        let with_big: Vec<_> = experiments::all()
            .into_iter()
            .flat_map(|e| e.cases.into_iter().map(move |c| (e.name, c)))
            .filter_map(|(e, c)| Some((e, c.name, c.big?)))
            .collect();
        assert_eq!(with_big.len(), 2, "{with_big:?}");
        let (exp, case, big) = with_big[0];
        assert_eq!((exp, case), ("goroutines", "idle-memory"));
        assert_eq!(big.threads, &[1_000_000]);
        assert!(big.skip.contains(&"may"));
        let (exp, case, big) = with_big[1];
        assert_eq!((exp, case), ("conns", "idle"));
        assert_eq!(big.threads, &[100_000]);
        assert!(big.skip.contains(&"std"), "100k threads pass pid_max");
        // Both fit the vm.max_map_count CI sets.
        assert!(cap_check(big, Some(1_048_576)).is_ok());
    }

    #[test]
    fn big_rows_only_with_the_flag() {
        let settings = Settings {
            seconds: 0.01,
            rounds: 1,
            threads: None,
            quick: false,
            go: false,
            big: false,
            load: None,
            load_nice: load::Nice::Half,
            json: None,
            out: PathBuf::from("x"),
        };
        let exp = experiments::all()
            .into_iter()
            .find(|e| e.name == "goroutines")
            .unwrap();
        let case = exp.cases.iter().find(|c| c.name == "idle-memory").unwrap();
        assert!(big_rows(&settings, &exp, case).is_none());
    }
}
