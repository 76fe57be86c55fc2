//! What a lab run produces: rows of figures, and the three ways they are
//! shown (terminal tables, JSON, an HTML page with SVG charts).

use serde::{Deserialize, Serialize};

use crate::machine::Machine;

mod chart;
pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod scoreboard;
pub(crate) mod table;

/// A whole run: the machine and every figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Report {
    pub(crate) machine: Machine,
    pub(crate) rows: Vec<Row>,
}

/// One figure: the median of one implementation's rounds in one case at
/// one thread count, measured quiet or beside `--load` busy processes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Row {
    pub(crate) experiment: String,
    pub(crate) case: String,
    /// `baton...` for baton, a fixed peer name otherwise.
    #[serde(rename = "impl")]
    pub(crate) impl_name: String,
    /// Worker threads (goroutines for Go rows).
    pub(crate) threads: usize,
    /// Ops of all workers together per second.
    pub(crate) ops_per_sec: f64,
    /// `1e9 / ops_per_sec`: the aggregate cost of one op, not one thread's
    /// latency.
    pub(crate) ns_per_op: f64,
    /// Median sampled time of one op, where the case samples latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) p50_ns: Option<f64>,
    /// 99th percentile sampled time of one op, where the case samples latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) p99_ns: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rss_bytes: Option<u64>,
    /// How many busy background processes ran during this row's
    /// measurements (`--load N`); absent on quiet rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) load: Option<usize>,
    /// On a loaded row: its throughput over the same implementation's quiet
    /// row (same case and threads) of the same run; below 1 it slowed down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) loaded_vs_quiet: Option<f64>,
}

/// Whether an `impl` name is baton's own (the rest are peers).
pub(crate) fn is_baton(impl_name: &str) -> bool {
    impl_name.starts_with("baton")
}
