//! The HTML report: `index.html` with the machine, the scoreboard (each
//! claim, whether it held, baton's ratio to the fastest peer), and per case
//! its claim, chart (`EXPERIMENT-CASE.svg` beside it, `...-load-N.svg` for
//! the loaded table), table, latency percentiles, ratios and, under
//! `--load`, loaded/quiet.

use std::fmt::Write as _;
use std::path::Path;

use super::scoreboard::{Scoreboard, Verdict};
use super::table::{latency_text, mops, ratio, threads_label, CaseTable};
use super::{chart, is_baton, Report};
use crate::experiments::Experiment;

/// Said on the terminal and in the report: why baton's runtimes print no
/// long-run reports in the lab.
pub(crate) const MONITOR_NOTE: &str = "baton's runtimes in the lab run with the long-run monitor \
    off (Builder::long_run_threshold(None)): the measuring loops keep their worker busy on \
    purpose, and the monitor's \"has run 10 ms without yielding\" reports would be noise here.";

/// Writes `index.html` and one SVG per case into `dir`, returning the path
/// of `index.html`.
pub(crate) fn write(
    report: &Report,
    experiments: &[Experiment],
    scoreboard: &Scoreboard,
    load_note: &str,
    dir: &Path,
) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let tables = CaseTable::group(&report.rows);
    let mut body = String::new();
    board(&mut body, scoreboard);
    for table in &tables {
        let file = match table.load {
            Some(n) => format!("{}-{}-load-{n}.svg", table.experiment, table.case),
            None => format!("{}-{}.svg", table.experiment, table.case),
        };
        match chart::svg(table) {
            Ok(svg) => std::fs::write(dir.join(&file), svg)?,
            Err(e) => eprintln!("baton-lab: chart for {file} failed: {e}"),
        }
        section(&mut body, table, experiments, &file);
    }
    let index = dir.join("index.html");
    std::fs::write(&index, page(report, load_note, &body))?;
    Ok(index)
}

fn page(report: &Report, load_note: &str, body: &str) -> String {
    let m = &report.machine;
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>baton-lab report</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
tr.baton td {{ font-weight: bold; }}
td.win {{ color: #1a7f1a; }} td.loss {{ color: #b02020; }}
.note {{ color: #555; font-size: 0.9em; }}
table.board td {{ text-align: left; vertical-align: top; }}
td.held {{ background: #e3f4e3; color: #1a6f1a; font-weight: bold; }}
td.missed {{ background: #f8e1e1; color: #a01c1c; font-weight: bold; }}
td.partly {{ background: #fbf0d5; color: #8a5a00; font-weight: bold; }}
td.unmeasured {{ color: #777; }}
</style></head><body>
<h1>baton-lab report</h1>
<p>Machine: {cores} cores, {cpu}; {os}; {rustc}.</p>
<p>{load}</p>
<p class="note">Each figure is the median of interleaved rounds (A B C A B C ...), taken side by side
with its peers in one run. Throughput is the sum over all worker threads; ns/op = 10<sup>9</sup> / (ops/s),
the aggregate cost of one op. "threads" counts worker threads (goroutines for Go rows): above the
core count the case is oversubscribed, a contention case of its own. Ratios are baton / peer
throughput: above 1 baton is faster. Absolute figures drift on shared machines; ratios hold up.
p50 / p99 are sampled times of one op (the first of every batch of 64, clock reads included) in the
cases that sample latency; in the http rows they are wrk's per-request latencies. {monitor}</p>
{body}</body></html>
"#,
        cores = m.cores,
        cpu = esc(&m.cpu_model),
        os = esc(&m.os),
        rustc = esc(&m.rustc),
        load = esc(load_note),
        monitor = esc(MONITOR_NOTE),
    )
}

fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Held => "held",
        Verdict::Partly => "partly",
        Verdict::Missed => "missed",
        Verdict::NotMeasured => "unmeasured",
    }
}

/// The scoreboard: a row per claim, a line per target; then, under load,
/// a row per experiment.
fn board(out: &mut String, board: &Scoreboard) {
    let _ = writeln!(out, "<h2>Scoreboard</h2>");
    let _ = writeln!(
        out,
        "<p class=\"note\">Each claim on this machine, judged on the quiet rows of this run: \
         ratio = baton / the fastest of the peers named (for memory: the leanest peer's bytes / \
         baton's), in every column the check reads (worst and best shown; above 1 baton is \
         better). {} {}</p>",
        esc(&board.tally()),
        board
            .caveat
            .as_ref()
            .map_or_else(String::new, |c| format!("<b>{}.</b>", esc(c)))
    );
    let _ = writeln!(
        out,
        "<table class=\"board\"><tr><th>claim</th><th>verdict</th><th>checks: baton vs fastest peer</th></tr>"
    );
    for c in &board.claims {
        let checks: String = c
            .checks
            .iter()
            .map(|k| {
                format!(
                    "<span class=\"{}\">{}</span>: {} (&ge; {}): {}<br>",
                    if k.verdict == Verdict::Held {
                        "win"
                    } else {
                        "loss"
                    },
                    esc(k.verdict.word()),
                    esc(k.target.what),
                    ratio(k.target.at_least),
                    esc(&k.summary())
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "<tr><td><b>{}</b>: {}</td><td class=\"{}\">{}</td><td>{checks}</td></tr>",
            esc(&c.experiment),
            esc(&c.claim),
            verdict_class(c.verdict),
            esc(c.verdict.word())
        );
    }
    let _ = writeln!(out, "</table>");
    if let Some((n, checks)) = &board.load {
        let _ = writeln!(
            out,
            "<p class=\"note\">Under load {n}: held where no baton row slowed down more \
             (loaded / quiet throughput) than the fastest peer of its case and thread count.</p>"
        );
        let _ = writeln!(
            out,
            "<table class=\"board\"><tr><th>experiment</th><th>verdict</th><th>worst baton row</th></tr>"
        );
        for c in checks {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                esc(&c.experiment),
                verdict_class(c.verdict),
                esc(c.verdict.word()),
                esc(&c.summary())
            );
        }
        let _ = writeln!(out, "</table>");
    }
}

fn section(out: &mut String, table: &CaseTable, experiments: &[Experiment], svg: &str) {
    let exp = experiments.iter().find(|e| e.name == table.experiment);
    let case = exp.and_then(|e| e.cases.iter().find(|c| c.name == table.case));
    let _ = writeln!(out, "<h2>{}</h2>", esc(&table.title()));
    if let Some(e) = exp {
        let _ = writeln!(out, "<p><b>Claim:</b> {}.</p>", esc(e.claim));
    }
    if let Some(c) = case {
        let _ = writeln!(out, "<p class=\"note\">{}.</p>", esc(c.about));
    }
    let _ = writeln!(out, "<img src=\"{svg}\" alt=\"chart of {svg}\">");

    let head: String = table
        .threads
        .iter()
        .map(|t| format!("<th>{}</th>", threads_label(*t)))
        .collect();
    let _ = writeln!(out, "<table><tr><th>Mops/s</th>{head}<th>what</th></tr>");
    for (name, cells) in table.impls.iter().zip(&table.cells) {
        let about = case
            .and_then(|c| c.impls.iter().find(|i| i.name == name))
            .map_or("", |i| i.about);
        let class = if is_baton(name) {
            " class=\"baton\""
        } else {
            ""
        };
        let tds: String = cells
            .iter()
            .map(|c| format!("<td>{}</td>", c.map_or_else(|| "-".into(), mops)))
            .collect();
        let _ = writeln!(
            out,
            "<tr{class}><td>{}</td>{tds}<td class=\"note\">{}</td></tr>",
            esc(name),
            esc(about)
        );
    }
    let _ = writeln!(out, "</table>");

    if table.latency.iter().flatten().any(Option::is_some) {
        grid(
            out,
            "latency p50 / p99",
            &head,
            table,
            &table.latency,
            latency_text,
        );
    }
    if table.vs_quiet.iter().flatten().any(Option::is_some) {
        grid(out, "loaded / quiet", &head, table, &table.vs_quiet, |v| {
            v.map_or_else(|| "-".to_owned(), ratio)
        });
    }

    let ratios = table.ratios();
    if ratios.is_empty() {
        return;
    }
    let _ = writeln!(out, "<table><tr><th>baton vs peer</th>{head}</tr>");
    for r in &ratios {
        let tds: String = r
            .values
            .iter()
            .map(|v| match v {
                Some(v) => {
                    let class = if *v >= 1.0 { "win" } else { "loss" };
                    format!("<td class=\"{class}\">{}</td>", ratio(*v))
                }
                None => "<td>-</td>".to_owned(),
            })
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{} vs {}</td>{tds}</tr>",
            esc(&r.baton),
            esc(&r.peer)
        );
    }
    let _ = writeln!(out, "</table>");
}

/// A table of one figure per (implementation, thread count).
fn grid<T: Copy>(
    out: &mut String,
    label: &str,
    head: &str,
    table: &CaseTable,
    values: &[Vec<Option<T>>],
    text: impl Fn(Option<T>) -> String,
) {
    let _ = writeln!(out, "<table><tr><th>{}</th>{head}</tr>", esc(label));
    for (name, cells) in table.impls.iter().zip(values) {
        let class = if is_baton(name) {
            " class=\"baton\""
        } else {
            ""
        };
        let tds: String = cells
            .iter()
            .map(|c| format!("<td>{}</td>", esc(&text(*c))))
            .collect();
        let _ = writeln!(out, "<tr{class}><td>{}</td>{tds}</tr>", esc(name));
    }
    let _ = writeln!(out, "</table>");
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
