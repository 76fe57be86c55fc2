//! What a lab run produces: rows of figures, and the three ways they are
//! shown (terminal tables, JSON, an HTML page with SVG charts).

use serde::{Deserialize, Serialize};

use crate::machine::Machine;

mod chart;
pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod table;

/// A whole run: the machine and every figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Report {
    pub(crate) machine: Machine,
    pub(crate) rows: Vec<Row>,
}

/// One figure: the median of one implementation's rounds in one case at
/// one thread count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) p50_ns: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) p99_ns: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) rss_bytes: Option<u64>,
}

/// Whether an `impl` name is baton's own (the rest are peers).
pub(crate) fn is_baton(impl_name: &str) -> bool {
    impl_name.starts_with("baton")
}
