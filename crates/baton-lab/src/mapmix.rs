//! `baton-lab map --read R --keys K --zipf Z --threads T`: the `map`
//! experiment's implementations on the user's own mix, with a verdict:
//! which implementation won, and which shard count of baton's `ShardedMap`.
//!
//! Each implementation is built and filled with keys `0..K` once, measured
//! `--rounds` times back to back (median), then dropped before the next is
//! built, so that only one map at a time takes memory. (The experiments
//! interleave their rounds instead; here a user's `K` may be large.)

use baton::collections::default_shards;

use crate::experiments::map::{
    run_on, zipf_table, Baton, BigOld, Dash, KeySource, Map, Papaya, Scc, StdMutex,
};
use crate::runner::{median, Spec};

/// The user's mix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Mix {
    /// Percent of ops that are reads; the rest insert or update.
    pub(crate) read: u64,
    /// Keys `0..keys`, all inserted before measuring.
    pub(crate) keys: u64,
    /// Zipf exponent of the key popularity; 0 = uniform.
    pub(crate) zipf: f64,
    pub(crate) threads: usize,
    pub(crate) seconds: f64,
    pub(crate) rounds: usize,
}

/// Runs every implementation on `mix` and prints the table and verdict.
pub(crate) fn run(mix: &Mix) -> Result<(), String> {
    if mix.read > 100 || mix.keys == 0 || !(0.0..=5.0).contains(&mix.zipf) {
        return Err("need --read in 0..=100, --keys >= 1, --zipf in 0..=5".into());
    }
    let table = (mix.zipf > 0.0).then(|| {
        let len = mix.keys.clamp(1 << 16, 1 << 22) as usize;
        zipf_table(mix.keys, mix.zipf, len, |r| r)
    });
    let source = match &table {
        Some(t) => KeySource::Table(t),
        None => KeySource::Uniform(mix.keys),
    };
    println!(
        "baton-lab map: {}% reads, {} keys, {}, {} threads; {} x {}s per figure\n",
        mix.read,
        mix.keys,
        if mix.zipf > 0.0 {
            format!("zipf({})", mix.zipf)
        } else {
            "uniform".into()
        },
        mix.threads,
        mix.rounds,
        mix.seconds
    );
    let default_name = format!("baton (default, {} shards)", default_shards());
    let mut rows: Vec<(String, f64)> = vec![
        (default_name, one::<Baton<0>>(mix, source)),
        ("baton-shards-1".into(), one::<Baton<1>>(mix, source)),
        ("baton-shards-8".into(), one::<Baton<8>>(mix, source)),
        ("baton-shards-64".into(), one::<Baton<64>>(mix, source)),
        ("baton-shards-256".into(), one::<Baton<256>>(mix, source)),
        ("big-old-map".into(), one::<BigOld>(mix, source)),
        ("std-mutex-map".into(), one::<StdMutex>(mix, source)),
        ("dashmap".into(), one::<Dash>(mix, source)),
        ("papaya".into(), one::<Papaya>(mix, source)),
        ("scc".into(), one::<Scc>(mix, source)),
    ];
    let best_baton = rows[..5]
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|r| r.0.clone())
        .unwrap_or_default();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top = rows[0].1;
    println!(
        "  {:<32} {:>9} {:>8}",
        "implementation", "Mops/s", "vs best"
    );
    for (name, ops) in &rows {
        println!("  {name:<32} {:>9.2} {:>7.2}x", ops / 1e6, ops / top);
    }
    println!(
        "\nWinner: {}. Best baton shard count: {best_baton}.",
        rows[0].0
    );
    Ok(())
}

/// Builds `M` with keys `0..mix.keys`, measures it, drops it.
fn one<M: Map>(mix: &Mix, source: KeySource<'_>) -> f64 {
    let map = M::build();
    for k in 0..mix.keys {
        map.write(k, k);
    }
    let spec = Spec {
        threads: mix.threads,
        seconds: mix.seconds,
        latency: false,
    };
    let runs: Vec<f64> = (0..mix.rounds)
        .map(|_| run_on(&spec, &map, mix.read, source).ops_per_sec())
        .collect();
    median(&runs).unwrap_or(0.0)
}
