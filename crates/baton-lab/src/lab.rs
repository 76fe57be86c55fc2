//! A lab session: runs the chosen experiments with a progress bar, prints
//! each case's table as it finishes, and writes the JSON and HTML reports.

use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::experiments::{self, Case, Experiment, Impl, Run};
use crate::go::{self, GoHarness};
use crate::machine::Machine;
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
        "baton-lab: {} cores, {}; {} x {}s per figure (median of interleaved rounds)\n",
        machine.cores, machine.cpu_model, settings.rounds, settings.seconds
    );

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
        + big_total;
    let bar = progress_bar(total as u64, settings.seconds);

    let mut rows = Vec::new();
    let mut shares = Vec::new();
    let mut bigs = bigs.into_iter();
    for exp in experiments {
        for case in &exp.cases {
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
            );
            if let Some(big) = bigs.next().flatten() {
                // Measured once: a memory figure, slow to set up.
                let impls: Vec<&Impl> = impls
                    .iter()
                    .copied()
                    .filter(|i| !big.skip.contains(&i.name))
                    .collect();
                case_rows.extend(run.rows(&impls, big.threads, 1, &mut shares));
            }
            bar.suspend(|| print_case(exp, case, &case_rows));
            rows.extend(case_rows);
        }
    }
    bar.finish_and_clear();
    let load_note = load_note(&shares);
    println!("{load_note}");

    let report = Report { machine, rows };
    if let Some(path) = &settings.json {
        json::write(&report, path).map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("JSON: {}", path.display());
    }
    let index = html::write(&report, experiments, &load_note, &settings.out)
        .map_err(|e| format!("writing the report in {}: {e}", settings.out.display()))?;
    println!("Report: {}", index.display());
    Ok(())
}

fn progress_bar(total: u64, seconds: f64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{bar:32}] {pos}/{len} measurements, {elapsed} of ~{msg}",
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
    /// each native measurement's CPU share onto `shares`. An implementation
    /// that fails (Go, child and fallible runs can) is warned about once and left out of
    /// the rest of the case.
    fn rows(
        &self,
        impls: &[&Impl],
        counts: &[usize],
        rounds: usize,
        shares: &mut Vec<f64>,
    ) -> Vec<Row> {
        let (settings, bar) = (self.settings, self.bar);
        let mut rows = Vec::new();
        let mut impls = impls.to_vec();
        for (done, &threads) in counts.iter().enumerate() {
            let spec = Spec {
                threads,
                seconds: settings.seconds,
                latency: self.case.latency,
            };
            let start = bar.position();
            let mut failed = vec![false; impls.len()];
            let samples = runner::interleave(impls.len(), rounds, |i| {
                let sample = self.measure(impls[i], &spec);
                if let (Run::Native(_), Some(s)) = (&impls[i].run, &sample) {
                    shares.extend(s.cpu_share);
                }
                failed[i] |= sample.is_none();
                bar.inc(1);
                sample
            });
            bar.set_position(start + (impls.len() * rounds) as u64);
            for (i, imp) in impls.iter().enumerate().filter(|(i, _)| !failed[*i]) {
                if let Some(f) = runner::figure(&samples[i]) {
                    rows.push(row(self.exp, self.case, imp, threads, &f));
                }
            }
            // Leave the failed ones out of the remaining thread counts.
            let before = impls.len();
            let mut dead = failed.iter();
            impls.retain(|_| !dead.next().copied().unwrap_or(true));
            let dropped = (before - impls.len()) * rounds * (counts.len() - done - 1);
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

/// Below this median CPU share the machine counts as busy.
const BUSY_SHARE: f64 = 0.85;

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
        threads,
        ops_per_sec: f.ops_per_sec,
        ns_per_op: 1e9 / f.ops_per_sec,
        p50_ns: f.p50_ns,
        p99_ns: f.p99_ns,
        rss_bytes: f.rss_bytes,
    }
}

fn print_case(exp: &Experiment, case: &Case, rows: &[Row]) {
    println!("{} / {}: {}", exp.name, case.name, exp.claim);
    println!("  {}", case.about);
    for table in CaseTable::group(rows) {
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
    fn only_idle_memory_has_big_rows_and_may_skips_them() {
        let with_big: Vec<_> = experiments::all()
            .into_iter()
            .flat_map(|e| e.cases.into_iter().map(move |c| (e.name, c)))
            .filter_map(|(e, c)| Some((e, c.name, c.big?)))
            .collect();
        assert_eq!(with_big.len(), 1, "{with_big:?}");
        let (exp, case, big) = with_big[0];
        assert_eq!((exp, case), ("goroutines", "idle-memory"));
        assert_eq!(big.threads, &[1_000_000]);
        assert!(big.skip.contains(&"may"));
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
