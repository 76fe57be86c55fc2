//! One case's figures as a grid (implementations by thread counts) and the
//! ratios of baton to each peer, which are the headline: absolute figures
//! drift on shared machines, ratios from one run hold up.

use std::fmt::Write as _;

use super::{is_baton, Row};

/// One case's figures: `cells[impl][column]` is ops/s at `threads[column]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CaseTable {
    pub(crate) experiment: String,
    pub(crate) case: String,
    pub(crate) threads: Vec<usize>,
    pub(crate) impls: Vec<String>,
    pub(crate) cells: Vec<Vec<Option<f64>>>,
    /// `rss[impl][column]`: resident bytes per op, for cases that measure it.
    pub(crate) rss: Vec<Vec<Option<u64>>>,
    /// `latency[impl][column]`: (p50, p99) in ns, for cases that sample it.
    pub(crate) latency: Vec<Vec<Option<(f64, f64)>>>,
}

/// A baton implementation's throughput divided by a peer's, per column.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ratio {
    pub(crate) baton: String,
    pub(crate) peer: String,
    pub(crate) values: Vec<Option<f64>>,
}

impl CaseTable {
    /// Groups rows by (experiment, case), keeping the order in which each
    /// case, implementation and thread count first appears.
    pub(crate) fn group(rows: &[Row]) -> Vec<CaseTable> {
        let mut tables: Vec<CaseTable> = Vec::new();
        for row in rows {
            let at = tables
                .iter()
                .position(|t| t.experiment == row.experiment && t.case == row.case);
            let table = match at {
                Some(i) => &mut tables[i],
                None => {
                    tables.push(CaseTable {
                        experiment: row.experiment.clone(),
                        case: row.case.clone(),
                        threads: Vec::new(),
                        impls: Vec::new(),
                        cells: Vec::new(),
                        rss: Vec::new(),
                        latency: Vec::new(),
                    });
                    tables.last_mut().expect("just pushed")
                }
            };
            table.put(row);
        }
        for table in &mut tables {
            table.sort_threads();
        }
        tables
    }

    fn put(&mut self, row: &Row) {
        let col = index_or_push(&mut self.threads, row.threads);
        let imp = index_or_push(&mut self.impls, row.impl_name.clone());
        self.cells.resize_with(self.impls.len(), Vec::new);
        for cells in &mut self.cells {
            cells.resize(self.threads.len(), None);
        }
        self.rss.resize_with(self.impls.len(), Vec::new);
        for rss in &mut self.rss {
            rss.resize(self.threads.len(), None);
        }
        self.latency.resize_with(self.impls.len(), Vec::new);
        for latency in &mut self.latency {
            latency.resize(self.threads.len(), None);
        }
        self.cells[imp][col] = Some(row.ops_per_sec);
        self.rss[imp][col] = row.rss_bytes;
        self.latency[imp][col] = row.p50_ns.zip(row.p99_ns);
    }

    fn sort_threads(&mut self) {
        let mut order: Vec<usize> = (0..self.threads.len()).collect();
        order.sort_by_key(|&c| self.threads[c]);
        self.threads = order.iter().map(|&c| self.threads[c]).collect();
        for cells in &mut self.cells {
            *cells = order.iter().map(|&c| cells[c]).collect();
        }
        for rss in &mut self.rss {
            *rss = order.iter().map(|&c| rss[c]).collect();
        }
        for latency in &mut self.latency {
            *latency = order.iter().map(|&c| latency[c]).collect();
        }
    }

    /// Every baton implementation against every peer.
    pub(crate) fn ratios(&self) -> Vec<Ratio> {
        let mut out = Vec::new();
        for (b, baton) in self.impls.iter().enumerate().filter(|(_, n)| is_baton(n)) {
            for (p, peer) in self.impls.iter().enumerate().filter(|(_, n)| !is_baton(n)) {
                let values = (0..self.threads.len())
                    .map(|c| match (self.cells[b][c], self.cells[p][c]) {
                        (Some(x), Some(y)) if y > 0.0 => Some(x / y),
                        _ => None,
                    })
                    .collect();
                out.push(Ratio {
                    baton: baton.clone(),
                    peer: peer.clone(),
                    values,
                });
            }
        }
        out
    }

    /// Every baton implementation's resident bytes per op against every
    /// peer's, as `peer / baton` (above 1: baton uses less memory).
    pub(crate) fn rss_ratios(&self) -> Vec<Ratio> {
        let mut out = Vec::new();
        for (b, baton) in self.impls.iter().enumerate().filter(|(_, n)| is_baton(n)) {
            for (p, peer) in self.impls.iter().enumerate().filter(|(_, n)| !is_baton(n)) {
                let values = (0..self.threads.len())
                    .map(|c| match (self.rss[b][c], self.rss[p][c]) {
                        (Some(x), Some(y)) if x > 0 => Some(y as f64 / x as f64),
                        _ => None,
                    })
                    .collect();
                out.push(Ratio {
                    baton: baton.clone(),
                    peer: peer.clone(),
                    values,
                });
            }
        }
        out
    }

    /// The grid in Mops/s, then the ratios, as aligned text lines.
    pub(crate) fn to_text(&self) -> String {
        let ratios = self.ratios();
        let ratio_label = |r: &Ratio| format!("{} vs {}", r.baton, r.peer);
        let label_width = self
            .impls
            .iter()
            .map(String::len)
            .chain(ratios.iter().map(|r| ratio_label(r).len()))
            .chain(["Mops/s".len()])
            .max()
            .unwrap_or(0);
        let head: Vec<String> = self.threads.iter().map(|t| threads_label(*t)).collect();
        let width = head.iter().map(String::len).max().unwrap_or(0).max(8);
        let mut out = String::new();
        let mut line = |label: &str, cells: Vec<String>| {
            let _ = write!(out, "  {label:<label_width$}");
            for cell in cells {
                let _ = write!(out, "  {cell:>width$}");
            }
            out.push('\n');
        };
        line("Mops/s", head.clone());
        for (name, cells) in self.impls.iter().zip(&self.cells) {
            line(name, cells.iter().map(|c| cell_text(*c, mops)).collect());
        }
        if self.rss.iter().flatten().any(Option::is_some) {
            line("RSS bytes/op", head.clone());
            for (name, rss) in self.impls.iter().zip(&self.rss) {
                line(
                    name,
                    rss.iter()
                        .map(|b| b.map_or_else(|| "-".to_owned(), |b| b.to_string()))
                        .collect(),
                );
            }
            // Memory ratios read like the others: above 1, baton uses less.
            line("peer RSS / baton RSS", head.clone());
            for r in self.rss_ratios() {
                line(
                    &ratio_label(&r),
                    r.values.iter().map(|v| cell_text(*v, ratio)).collect(),
                );
            }
        }
        if self.latency.iter().flatten().any(Option::is_some) {
            line("latency p50/p99", head.clone());
            for (name, latency) in self.impls.iter().zip(&self.latency) {
                line(
                    name,
                    latency
                        .iter()
                        .map(|l| {
                            l.map_or_else(
                                || "-".to_owned(),
                                |(p50, p99)| format!("{}/{}", time_text(p50), time_text(p99)),
                            )
                        })
                        .collect(),
                );
            }
        }
        if !ratios.is_empty() {
            line("ratio (x)", head);
            for r in &ratios {
                line(
                    &ratio_label(r),
                    r.values.iter().map(|v| cell_text(*v, ratio)).collect(),
                );
            }
        }
        out
    }
}

/// A latency in ns as a short text: `850ns`, `498us`, `1.2ms`, `3.4s`.
fn time_text(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.0}ns"),
        ns if ns < 1e6 => format!("{:.0}us", ns / 1e3),
        ns if ns < 1e9 => format!("{:.1}ms", ns / 1e6),
        ns => format!("{:.1}s", ns / 1e9),
    }
}

fn index_or_push<T: PartialEq>(v: &mut Vec<T>, x: T) -> usize {
    match v.iter().position(|y| *y == x) {
        Some(i) => i,
        None => {
            v.push(x);
            v.len() - 1
        }
    }
}

/// A column heading: `1 thread`, `8 threads`.
pub(crate) fn threads_label(threads: usize) -> String {
    match threads {
        1 => "1 thread".to_owned(),
        n => format!("{n} threads"),
    }
}

fn cell_text(v: Option<f64>, fmt: fn(f64) -> String) -> String {
    v.map_or_else(|| "-".to_owned(), fmt)
}

/// Ops/s as Mops/s with three significant digits or so.
pub(crate) fn mops(ops_per_sec: f64) -> String {
    let m = ops_per_sec / 1e6;
    match m {
        m if m >= 100.0 => format!("{m:.0}"),
        m if m >= 10.0 => format!("{m:.1}"),
        m if m >= 0.1 => format!("{m:.2}"),
        m => format!("{m:.4}"),
    }
}

/// A ratio as `12.3x` / `1.05x`.
pub(crate) fn ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.1}x")
    } else {
        format!("{r:.2}x")
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn row(imp: &str, threads: usize, ops_per_sec: f64) -> Row {
        Row {
            experiment: "e".into(),
            case: "c".into(),
            impl_name: imp.into(),
            threads,
            ops_per_sec,
            ns_per_op: 1e9 / ops_per_sec,
            p50_ns: None,
            p99_ns: None,
            rss_bytes: None,
        }
    }

    #[test]
    fn groups_sorts_threads_and_computes_ratios() {
        let rows = [
            row("mutex", 8, 1e6),
            row("baton", 8, 5e6),
            row("mutex", 1, 2e6),
            row("baton", 1, 4e6),
            row("go", 8, 10e6),
        ];
        let tables = CaseTable::group(&rows);
        assert_eq!(tables.len(), 1);
        let t = &tables[0];
        assert_eq!(t.threads, [1, 8]);
        assert_eq!(t.impls, ["mutex", "baton", "go"]);
        assert_eq!(t.cells[2], [None, Some(10e6)]);
        let r = t.ratios();
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].baton.as_str(), r[0].peer.as_str()),
            ("baton", "mutex")
        );
        assert_eq!(r[0].values, [Some(2.0), Some(5.0)]);
        assert_eq!(r[1].values, [None, Some(0.5)]);
        let text = t.to_text();
        assert!(text.contains("baton vs mutex"), "{text}");
        assert!(text.contains("5.00x"), "{text}");
        assert!(!text.contains("RSS"), "no memory figures: {text}");
    }

    #[test]
    fn latency_figures_get_their_own_lines() {
        let mut rows = [row("baton", 64, 1e6), row("go", 64, 2e6)];
        (rows[0].p50_ns, rows[0].p99_ns) = (Some(498_000.0), Some(1_200_000.0));
        let t = &CaseTable::group(&rows)[0];
        assert_eq!(t.latency, [[Some((498_000.0, 1_200_000.0))], [None]]);
        let text = t.to_text();
        assert!(text.contains("latency p50/p99"), "{text}");
        assert!(text.contains("498us/1.2ms"), "{text}");
        assert_eq!(time_text(850.0), "850ns");
        assert_eq!(time_text(3.4e9), "3.4s");
        let plain = CaseTable::group(&[row("baton", 1, 1e6)])[0].to_text();
        assert!(!plain.contains("latency"), "{plain}");
    }

    #[test]
    fn memory_figures_get_their_own_lines() {
        let mut rows = [row("baton", 10, 1e6), row("go", 10, 2e6)];
        rows[0].rss_bytes = Some(4500);
        rows[1].rss_bytes = Some(2700);
        let t = &CaseTable::group(&rows)[0];
        assert_eq!(t.rss, [[Some(4500)], [Some(2700)]]);
        let text = t.to_text();
        assert!(
            text.contains("RSS bytes/op") && text.contains("4500"),
            "{text}"
        );
        assert_eq!(t.rss_ratios()[0].values, [Some(0.6)]);
        assert!(text.contains("0.60x"), "{text}");
    }

    #[test]
    fn formats() {
        assert_eq!(mops(123_456_789.0), "123");
        assert_eq!(mops(12_345_678.0), "12.3");
        assert_eq!(mops(1_234_567.0), "1.23");
        assert_eq!(ratio(12.34), "12.3x");
        assert_eq!(ratio(1.234), "1.23x");
        assert_eq!(threads_label(1), "1 thread");
        assert_eq!(threads_label(8), "8 threads");
    }
}
