//! How a case's implementations take turns, and how their rounds become
//! one figure each.
//!
//! For each thread count, the implementations run in rounds, interleaved
//! (A B C A B C ...), so that a slow spell of this shared machine hits all
//! of them alike; each reports the median of its rounds.

use super::Sample;

/// The median of `values` (mean of the middle two for an even count).
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// Runs `rounds` rounds of `impls` implementations interleaved (A B C A B C
/// ...), calling `measure(i)` for implementation `i`, and returns each
/// implementation's samples. An implementation whose measurement fails
/// (`None`) sits out the rest of the rounds.
pub(crate) fn interleave<M>(impls: usize, rounds: usize, mut measure: M) -> Vec<Vec<Sample>>
where
    M: FnMut(usize) -> Option<Sample>,
{
    let mut samples = vec![Vec::with_capacity(rounds); impls];
    let mut failed = vec![false; impls];
    for _ in 0..rounds {
        for i in 0..impls {
            if failed[i] {
                continue;
            }
            match measure(i) {
                Some(s) => samples[i].push(s),
                None => failed[i] = true,
            }
        }
    }
    samples
}

/// The median figure of one implementation's rounds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Figure {
    pub(crate) ops_per_sec: f64,
    pub(crate) p50_ns: Option<f64>,
    pub(crate) p99_ns: Option<f64>,
    pub(crate) rss_bytes: Option<u64>,
    /// The thread count measured, where the case scaled it down
    /// ([`Sample::scaled_threads`]; the smallest of the rounds').
    pub(crate) scaled_threads: Option<usize>,
}

/// Medians of each field over `samples`; `None` when there are none.
pub(crate) fn figure(samples: &[Sample]) -> Option<Figure> {
    let per_sec: Vec<f64> = samples.iter().map(Sample::ops_per_sec).collect();
    let of = |f: fn(&Sample) -> Option<f64>| {
        let v: Vec<f64> = samples.iter().filter_map(f).collect();
        median(&v)
    };
    Some(Figure {
        ops_per_sec: median(&per_sec)?,
        p50_ns: of(|s| s.p50_ns),
        p99_ns: of(|s| s.p99_ns),
        rss_bytes: of(|s| s.rss_bytes.map(|b| b as f64)).map(|b| b as u64),
        scaled_threads: samples.iter().filter_map(|s| s.scaled_threads).min(),
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn interleave_runs_a_b_c_a_b_c() {
        let mut order = Vec::new();
        let samples = interleave(3, 2, |i| {
            order.push(i);
            Some(Sample::default())
        });
        assert_eq!(order, [0, 1, 2, 0, 1, 2]);
        assert!(samples.iter().all(|s| s.len() == 2));
    }

    #[test]
    fn interleave_drops_an_impl_after_it_fails() {
        let mut order = Vec::new();
        let samples = interleave(3, 3, |i| {
            order.push(i);
            (i != 1).then(Sample::default)
        });
        assert_eq!(order, [0, 1, 2, 0, 2, 0, 2]);
        assert_eq!(samples.iter().map(Vec::len).collect::<Vec<_>>(), [3, 0, 3]);
    }

    #[test]
    fn figure_takes_medians() {
        let s = |ops, ms| Sample {
            ops,
            elapsed: Duration::from_millis(ms),
            p99_ns: Some(ops as f64),
            ..Sample::default()
        };
        let f = figure(&[s(100, 1000), s(300, 1000), s(200, 1000)]).unwrap();
        assert_eq!(f.ops_per_sec, 200.0);
        assert_eq!(f.p99_ns, Some(200.0));
        assert_eq!(f.p50_ns, None);
        assert_eq!(figure(&[]), None);
    }
}
