//! Go's `TestSelectFairness` (`src/runtime/chan_test.go`): when several
//! arms are ready, select picks uniformly at random. Go fills two buffered
//! channels and checks that, over many selects, each wins about half the
//! time (within 4.5 standard deviations); the port does the same for two
//! arms, and checks a four-arm select with a chi-square bound, with the
//! arms given through `select!` and through `Select`.
#![cfg(not(loom))]

mod common;

use baton::chan::{bounded, Select};
use baton::select;
use common::both;

const TRIALS: usize = 10_000;

fn two_arms() {
    let (t1, c1) = bounded::<u8>(TRIALS + 1);
    let (t2, c2) = bounded::<u8>(TRIALS + 1);
    for _ in 0..=TRIALS {
        t1.send(1).unwrap();
        t2.send(2).unwrap();
    }
    let (mut cnt1, mut cnt2) = (0usize, 0usize);
    for _ in 0..TRIALS {
        select! {
            recv(c1) -> _ => cnt1 += 1,
            recv(c2) -> _ => cnt2 += 1,
        }
    }
    let r = cnt1 as f64 / TRIALS as f64;
    let e = (r - 0.5).abs();
    assert!(
        e <= 4.5 / (TRIALS as f64).sqrt(),
        "unfair select: in {TRIALS} trials, results were {cnt1}, {cnt2}"
    );
}

fn four_arms_builder() {
    let chans: Vec<_> = (0..4).map(|_| bounded::<usize>(TRIALS + 1)).collect();
    for (tx, _) in &chans {
        for _ in 0..=TRIALS {
            tx.send(0).unwrap();
        }
    }
    let mut counts = [0usize; 4];
    for _ in 0..TRIALS {
        let mut sel = Select::new();
        for (_, rx) in &chans {
            sel.recv(rx);
        }
        let op = sel.select();
        let i = op.index();
        op.recv(&chans[i].1).unwrap();
        counts[i] += 1;
    }
    let expected = TRIALS as f64 / 4.0;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    // 3 degrees of freedom: P(chi2 > 25) is about 1.6e-5.
    assert!(
        chi2 < 25.0,
        "unfair select over 4 arms: {counts:?} (chi2 = {chi2:.1})"
    );
}

#[test]
fn select_fairness() {
    both("select fairness (2 arms)", 60, two_arms);
    both("select fairness (4 arms, Select)", 60, four_arms_builder);
}
