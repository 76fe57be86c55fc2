//! A lab session: runs the chosen experiments with a progress bar, prints
//! each case's table as it finishes, and writes the JSON and HTML reports.

use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::experiments::{Case, Experiment, Impl, Run};
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
    /// Whether to run the Go peers.
    pub(crate) go: bool,
    pub(crate) json: Option<PathBuf>,
    pub(crate) out: PathBuf,
}

impl Settings {
    fn threads<'a>(&'a self, case: &'a Case) -> &'a [usize] {
        self.threads.as_deref().unwrap_or(case.threads)
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
    let total: usize = experiments
        .iter()
        .flat_map(|e| &e.cases)
        .map(|c| settings.threads(c).len() * c.impls.iter().filter(|i| runnable(i)).count())
        .sum::<usize>()
        * settings.rounds;
    let bar = progress_bar(total as u64, settings.seconds);

    let mut rows = Vec::new();
    for exp in experiments {
        for case in &exp.cases {
            let impls: Vec<&Impl> = case.impls.iter().filter(|i| runnable(i)).collect();
            let case_rows = run_case(exp, case, &impls, settings, harness.as_ref(), &bar);
            bar.suspend(|| print_case(exp, case, &case_rows));
            rows.extend(case_rows);
        }
    }
    bar.finish_and_clear();

    let report = Report { machine, rows };
    if let Some(path) = &settings.json {
        json::write(&report, path).map_err(|e| format!("writing {}: {e}", path.display()))?;
        println!("JSON: {}", path.display());
    }
    let index = html::write(&report, experiments, &settings.out)
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

/// Measures every implementation of `case` at each thread count, in
/// interleaved rounds, and returns one row per (implementation, threads).
/// An implementation that fails (only Go runs can) is warned about once and
/// left out of the rest of the case.
fn run_case(
    exp: &Experiment,
    case: &Case,
    impls: &[&Impl],
    settings: &Settings,
    harness: Option<&GoHarness>,
    bar: &ProgressBar,
) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut impls = impls.to_vec();
    let counts = settings.threads(case);
    for (done, &threads) in counts.iter().enumerate() {
        let spec = Spec {
            threads,
            seconds: settings.seconds,
            latency: case.latency,
        };
        let start = bar.position();
        let mut failed = vec![false; impls.len()];
        let samples = runner::interleave(impls.len(), settings.rounds, |i| {
            let sample = measure(exp, case, impls[i], &spec, harness, bar);
            failed[i] |= sample.is_none();
            bar.inc(1);
            sample
        });
        bar.set_position(start + (impls.len() * settings.rounds) as u64);
        for (i, imp) in impls.iter().enumerate().filter(|(i, _)| !failed[*i]) {
            if let Some(f) = runner::figure(&samples[i]) {
                rows.push(row(exp, case, imp, threads, &f));
            }
        }
        // Leave the failed ones out of the remaining thread counts.
        let before = impls.len();
        let mut dead = failed.iter();
        impls.retain(|_| !dead.next().copied().unwrap_or(true));
        let dropped = (before - impls.len()) * settings.rounds * (counts.len() - done - 1);
        bar.set_length(bar.length().unwrap_or(0).saturating_sub(dropped as u64));
    }
    rows
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

fn measure(
    exp: &Experiment,
    case: &Case,
    imp: &Impl,
    spec: &Spec,
    harness: Option<&GoHarness>,
    bar: &ProgressBar,
) -> Option<Sample> {
    let warn = |e: String| {
        bar.suspend(|| {
            eprintln!(
                "warning: {}/{} {} failed at {}: {e}; left out of this case",
                exp.name,
                case.name,
                imp.name,
                threads_label(spec.threads)
            )
        });
        None
    };
    match (&imp.run, harness) {
        (Run::Native(f), _) => Some(f(spec)),
        (Run::Child(_), _) => {
            crate::child::measure(exp.name, case.name, imp.name, spec).map_or_else(warn, Some)
        }
        (Run::Go, Some(h)) => h
            .measure(exp.name, case.name, imp.name, spec)
            .map_or_else(warn, Some),
        (Run::Go, None) => None,
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
