//! One case's figures as a grid (implementations by thread counts) and the
//! ratios of baton to each peer, which are the headline: absolute figures
//! drift on shared machines, ratios from one run hold up.
//!
//! A case measured quiet and under `--load N` makes two tables (the rows'
//! `load` is part of the grouping key); the loaded one also shows each
//! row's loaded/quiet ratio. Where the case samples latency, the grid is
//! followed by p50 / p99 latencies, with units (per op; per request in
//! the http rows, from wrk).

use std::fmt::Write as _;

use super::{is_baton, Row};

/// One case's figures: `cells[impl][column]` is ops/s at `threads[column]`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CaseTable {
    pub(crate) experiment: String,
    pub(crate) case: String,
    /// `Some(n)`: the rows measured beside `n` busy processes.
    pub(crate) load: Option<usize>,
    pub(crate) threads: Vec<usize>,
    pub(crate) impls: Vec<String>,
    pub(crate) cells: Vec<Vec<Option<f64>>>,
    /// `rss[impl][column]`: resident bytes per op, for cases that measure it.
    pub(crate) rss: Vec<Vec<Option<u64>>>,
    /// `latency[impl][column]`: (p50, p99) ns per op, where sampled.
    pub(crate) latency: Vec<Vec<Option<(f64, f64)>>>,
    /// `vs_quiet[impl][column]`: loaded over quiet throughput (loaded tables).
    pub(crate) vs_quiet: Vec<Vec<Option<f64>>>,
}

/// A baton implementation's throughput divided by a peer's, per column.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Ratio {
    pub(crate) baton: String,
    pub(crate) peer: String,
    pub(crate) values: Vec<Option<f64>>,
}

impl CaseTable {
    /// Groups rows by (experiment, case, load), keeping the order in which
    /// each case, implementation and thread count first appears (a case's
    /// loaded table right after its quiet one).
    pub(crate) fn group(rows: &[Row]) -> Vec<CaseTable> {
        let mut tables: Vec<CaseTable> = Vec::new();
        for row in rows {
            let at = tables.iter().position(|t| {
                t.experiment == row.experiment && t.case == row.case && t.load == row.load
            });
            let table = match at {
                Some(i) => &mut tables[i],
                None => {
                    tables.push(CaseTable {
                        experiment: row.experiment.clone(),
                        case: row.case.clone(),
                        load: row.load,
                        threads: Vec::new(),
                        impls: Vec::new(),
                        cells: Vec::new(),
                        rss: Vec::new(),
                        latency: Vec::new(),
                        vs_quiet: Vec::new(),
                    });
                    tables.last_mut().expect("just pushed")
                }
            };
            table.put(row);
        }
        for table in &mut tables {
            table.sort_threads();
        }
        // A case's loaded table follows its quiet one.
        let key = |t: &CaseTable| (t.experiment.clone(), t.case.clone());
        let order: Vec<_> = tables.iter().map(key).collect();
        let first = |t: &CaseTable| order.iter().position(|k| *k == key(t));
        tables.sort_by_key(|t| (first(t), t.load));
        tables
    }

    fn put(&mut self, row: &Row) {
        let col = index_or_push(&mut self.threads, row.threads);
        let imp = index_or_push(&mut self.impls, row.impl_name.clone());
        self.cells.resize_with(self.impls.len(), Vec::new);
        for cells in &mut self.cells {
            cells.resize(self.threads.len(), None);
        }
        let (impls, threads) = (self.impls.len(), self.threads.len());
        fit(&mut self.rss, impls, threads);
        fit(&mut self.latency, impls, threads);
        fit(&mut self.vs_quiet, impls, threads);
        self.cells[imp][col] = Some(row.ops_per_sec);
        self.rss[imp][col] = row.rss_bytes;
        self.latency[imp][col] = row.p50_ns.zip(row.p99_ns);
        self.vs_quiet[imp][col] = row.loaded_vs_quiet;
    }

    fn sort_threads(&mut self) {
        let mut order: Vec<usize> = (0..self.threads.len()).collect();
        order.sort_by_key(|&c| self.threads[c]);
        self.threads = order.iter().map(|&c| self.threads[c]).collect();
        reorder(&mut self.cells, &order);
        reorder(&mut self.rss, &order);
        reorder(&mut self.latency, &order);
        reorder(&mut self.vs_quiet, &order);
    }

    /// The title of this table: `exp / case`, `(under load N)` if loaded.
    pub(crate) fn title(&self) -> String {
        match self.load {
            Some(n) => format!("{} / {} (under load {n})", self.experiment, self.case),
            None => format!("{} / {}", self.experiment, self.case),
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
        let width = head.iter().map(String::len).max().unwrap_or(0).max(8).max(
            self.latency
                .iter()
                .flatten()
                .map(|l| latency_text(*l).len())
                .max()
                .unwrap_or(0),
        );
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
            line("latency p50 / p99", head.clone());
            for (name, lat) in self.impls.iter().zip(&self.latency) {
                line(name, lat.iter().map(|l| latency_text(*l)).collect());
            }
        }
        if !ratios.is_empty() {
            line("ratio (x)", head.clone());
            for r in &ratios {
                line(
                    &ratio_label(r),
                    r.values.iter().map(|v| cell_text(*v, ratio)).collect(),
                );
            }
        }
        if self.vs_quiet.iter().flatten().any(Option::is_some) {
            line("loaded / quiet", head);
            for (name, v) in self.impls.iter().zip(&self.vs_quiet) {
                line(name, v.iter().map(|v| cell_text(*v, ratio)).collect());
            }
        }
        out
    }
}

/// Grows every row of `grid` to `threads` columns, and `grid` to `impls` rows.
fn fit<T: Clone>(grid: &mut Vec<Vec<Option<T>>>, impls: usize, threads: usize) {
    grid.resize_with(impls, Vec::new);
    for row in grid {
        row.resize(threads, None);
    }
}

/// Puts every row of `grid` in column order `order`.
fn reorder<T: Copy>(grid: &mut [Vec<Option<T>>], order: &[usize]) {
    for row in grid {
        *row = order.iter().map(|&c| row[c]).collect();
    }
}

/// `p50 / p99` with units (`-` when not sampled), e.g. `812ns / 2.3us`
/// (an op's latency) or `4.4ms / 42ms` (an HTTP request's, from wrk).
pub(crate) fn latency_text(l: Option<(f64, f64)>) -> String {
    l.map_or_else(
        || "-".to_owned(),
        |(p50, p99)| format!("{} / {}", time_text(p50), time_text(p99)),
    )
}

/// A time in ns as a short text with its unit, two or three digits:
/// `85ns`, `2.3us`, `498us`, `1.2ms`, `42ms`, `3.4s`.
pub(crate) fn time_text(ns: f64) -> String {
    match ns {
        n if n < 1e3 => format!("{n:.0}ns"),
        n if n < 1e4 => format!("{:.1}us", n / 1e3),
        n if n < 1e6 => format!("{:.0}us", n / 1e3),
        n if n < 1e7 => format!("{:.1}ms", n / 1e6),
        n if n < 1e9 => format!("{:.0}ms", n / 1e6),
        n => format!("{:.1}s", n / 1e9),
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
            ..Row::default()
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
        assert!(text.contains("latency p50 / p99"), "{text}");
        assert!(text.contains("498us / 1.2ms"), "{text}");
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
    fn loaded_rows_get_their_own_table_with_loaded_over_quiet() {
        let mut rows = vec![
            row("baton", 2, 4e6),
            row("mutex", 2, 2e6),
            row("baton", 2, 2e6),
            row("mutex", 2, 1.5e6),
        ];
        for r in &mut rows[2..] {
            r.load = Some(2);
        }
        rows[2].loaded_vs_quiet = Some(0.5);
        rows[3].loaded_vs_quiet = Some(0.75);
        let tables = CaseTable::group(&rows);
        assert_eq!(tables.len(), 2);
        assert_eq!((tables[0].load, tables[1].load), (None, Some(2)));
        assert_eq!(tables[1].title(), "e / c (under load 2)");
        assert_eq!(tables[1].cells, [[Some(2e6)], [Some(1.5e6)]]);
        assert_eq!(tables[1].vs_quiet, [[Some(0.5)], [Some(0.75)]]);
        assert!(!tables[0].to_text().contains("loaded / quiet"));
        let text = tables[1].to_text();
        assert!(text.contains("loaded / quiet"), "{text}");
        assert!(text.contains("0.50x") && text.contains("0.75x"), "{text}");
    }

    #[test]
    fn latency_gets_p50_and_p99_lines() {
        let mut rows = [row("baton", 1, 1e6), row("mutex", 1, 1e6)];
        rows[0].p50_ns = Some(812.0);
        rows[0].p99_ns = Some(2345.0);
        let t = &CaseTable::group(&rows)[0];
        assert_eq!(t.latency, [[Some((812.0, 2345.0))], [None]]);
        let text = t.to_text();
        assert!(text.contains("latency p50 / p99"), "{text}");
        assert!(text.contains("812ns / 2.3us"), "{text}");
        let plain = CaseTable::group(&[row("baton", 1, 1e6)])[0].to_text();
        assert!(!plain.contains("p50"), "{plain}");
    }

    #[test]
    fn formats() {
        assert_eq!(time_text(85.2), "85ns");
        assert_eq!(time_text(41_500.0), "42us");
        assert_eq!(time_text(1_994_466.0), "2.0ms");
        assert_eq!(mops(123_456_789.0), "123");
        assert_eq!(mops(12_345_678.0), "12.3");
        assert_eq!(mops(1_234_567.0), "1.23");
        assert_eq!(ratio(12.34), "12.3x");
        assert_eq!(ratio(1.234), "1.23x");
        assert_eq!(threads_label(1), "1 thread");
        assert_eq!(threads_label(8), "8 threads");
    }
}
