//! Measurements in a child process: for implementations that keep
//! process-wide state the lab cannot reset between rounds (`may`'s scheduler
//! is configured once per process), and for memory figures, which need a
//! process whose resident set holds nothing else.
//!
//! The lab runs its own executable with the hidden `child` command, which
//! finds the implementation in the registry, runs its function once, and
//! prints one JSON line (`ops`, `elapsed_ns`, and the optional fields). A
//! child that fails or hangs becomes a warning and a missing row, as a Go
//! peer does; it never stops the lab.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::experiments::{self, Run};
use crate::runner::{Sample, Spec};

/// How long a child may run beyond its measurement (setup such as starting
/// 30k goroutines takes well under a second; this guards against hangs).
const GRACE: Duration = Duration::from_secs(60);

/// What a child prints.
#[derive(Debug, Serialize, Deserialize)]
struct ChildRow {
    ops: u64,
    elapsed_ns: u64,
    #[serde(default)]
    p50_ns: Option<f64>,
    #[serde(default)]
    p99_ns: Option<f64>,
    #[serde(default)]
    rss_bytes: Option<u64>,
}

/// Runs one measurement of `experiment/case/imp` in a child process.
pub(crate) fn measure(
    experiment: &str,
    case: &str,
    imp: &str,
    spec: &Spec,
) -> Result<Sample, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the lab's executable: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.args([
        "child",
        "--experiment",
        experiment,
        "--case",
        case,
        "--impl",
        imp,
    ])
    .args(["--threads", &spec.threads.to_string()])
    .args(["--seconds", &spec.seconds.to_string()]);
    if spec.latency {
        cmd.arg("--latency");
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start a child lab process: {e}"))?;
    let out = crate::go::wait(child, Duration::from_secs_f64(spec.seconds) + GRACE)?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!("child process failed ({}): {last}", out.status));
    }
    let row: ChildRow = serde_json::from_str(text.trim())
        .map_err(|e| format!("child process printed {:?}: {e}", text.trim()))?;
    Ok(Sample {
        ops: row.ops,
        elapsed: Duration::from_nanos(row.elapsed_ns),
        p50_ns: row.p50_ns,
        p99_ns: row.p99_ns,
        rss_bytes: row.rss_bytes,
        // The child's CPU share is not reported back (yet).
        cpu_share: None,
        scaled_threads: None,
    })
}

/// The child's side: runs the implementation's function once and prints
/// its row. (Works for native implementations too, to profile one alone:
/// `baton-lab child --experiment E --case C --impl I --threads N --seconds S`.)
pub(crate) fn serve(experiment: &str, case: &str, imp: &str, spec: &Spec) -> Result<(), String> {
    let all = experiments::all();
    let f = all
        .iter()
        .filter(|e| e.name == experiment)
        .flat_map(|e| &e.cases)
        .filter(|c| c.name == case)
        .flat_map(|c| &c.impls)
        .find(|i| i.name == imp)
        .and_then(|i| match i.run {
            // Native ones too: handy for profiling one implementation alone.
            Run::Child(f) | Run::Native(f) => Some(Ok(f)),
            Run::Fallible(f) => Some(Err(f)),
            Run::Go => None,
        })
        .ok_or_else(|| format!("no Rust implementation {experiment}/{case}/{imp}"))?;
    let s = match f {
        Ok(f) => f(spec),
        Err(f) => f(spec)?,
    };
    let row = ChildRow {
        ops: s.ops,
        elapsed_ns: s.elapsed.as_nanos() as u64,
        p50_ns: s.p50_ns,
        p99_ns: s.p99_ns,
        rss_bytes: s.rss_bytes,
    };
    println!(
        "{}",
        serde_json::to_string(&row).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// The resident set of this process in bytes (`/proc/self/statm`), or 0
/// where it cannot be read.
pub(crate) fn rss_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    // SAFETY: `sysconf` has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * u64::try_from(page).unwrap_or(4096)
}
