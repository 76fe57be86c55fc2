//! The HTML report: `index.html` with the machine, and per case its claim,
//! chart (`EXPERIMENT-CASE.svg` beside it), table and ratios.

use std::fmt::Write as _;
use std::path::Path;

use super::table::{mops, ratio, threads_label, CaseTable};
use super::{chart, is_baton, Report};
use crate::experiments::Experiment;

/// Writes `index.html` and one SVG per case into `dir`, returning the path
/// of `index.html`.
pub(crate) fn write(
    report: &Report,
    experiments: &[Experiment],
    dir: &Path,
) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let tables = CaseTable::group(&report.rows);
    let mut body = String::new();
    for table in &tables {
        let file = format!("{}-{}.svg", table.experiment, table.case);
        match chart::svg(table) {
            Ok(svg) => std::fs::write(dir.join(&file), svg)?,
            Err(e) => eprintln!("baton-lab: chart for {file} failed: {e}"),
        }
        section(&mut body, table, experiments, &file);
    }
    let index = dir.join("index.html");
    std::fs::write(&index, page(report, &body))?;
    Ok(index)
}

fn page(report: &Report, body: &str) -> String {
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
</style></head><body>
<h1>baton-lab report</h1>
<p>Machine: {cores} cores, {cpu}; {os}; {rustc}.</p>
<p class="note">Each figure is the median of interleaved rounds (A B C A B C ...), taken side by side
with its peers in one run. Throughput is the sum over all worker threads; ns/op = 10<sup>9</sup> / (ops/s),
the aggregate cost of one op. "threads" counts worker threads (goroutines for Go rows): above the
core count the case is oversubscribed, a contention case of its own. Ratios are baton / peer
throughput: above 1 baton is faster. Absolute figures drift on shared machines; ratios hold up.</p>
{body}</body></html>
"#,
        cores = m.cores,
        cpu = esc(&m.cpu_model),
        os = esc(&m.os),
        rustc = esc(&m.rustc),
    )
}

fn section(out: &mut String, table: &CaseTable, experiments: &[Experiment], svg: &str) {
    let exp = experiments.iter().find(|e| e.name == table.experiment);
    let case = exp.and_then(|e| e.cases.iter().find(|c| c.name == table.case));
    let _ = writeln!(
        out,
        "<h2>{} / {}</h2>",
        esc(&table.experiment),
        esc(&table.case)
    );
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

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
