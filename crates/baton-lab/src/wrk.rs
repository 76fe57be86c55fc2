//! Measuring an HTTP server with `wrk` (the `http` experiment).
//!
//! One measurement: pick a free loopback port, start the server as a
//! process of its own (`baton-lab serve ...` for the Rust servers, the Go
//! harness for Go's), wait for its `listening on ...` line, run
//! `wrk --latency` against it for whole seconds (wrk counts in seconds: at
//! least 1), kill the server and read wrk's report: requests and the time
//! they took (the figure), and its latency distribution's 50% and 99% lines.
//!
//! Placement ([`Placement`]): `Pinned` runs the server under `taskset` on
//! the first allowed core and wrk on the second, with one wrk thread, so
//! that the two never share a core; `Shared` lets both float over every
//! core (the server may use them all; wrk runs two threads beside it).
//! Without `taskset` or a second core, `Pinned` runs unpinned and says so
//! once.
//!
//! wrk is found on `PATH` or installed by `scripts/install-wrk.sh` when
//! the lab runs as root with apt-get (as Go is); without it the
//! experiment's rows are skipped with a note ([`find`]). A server that
//! answers anything but 2xx, or loses more than 1% of the requests to
//! socket errors, fails the measurement: its figure would not be one.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::Duration;

use crate::runner::{Sample, Spec};
use crate::servers;

/// The install script, found through the source tree the lab was built from.
const INSTALL_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/install-wrk.sh");

/// How long wrk may run beyond its duration (its connections time out
/// after [`WRK_TIMEOUT`]; this only guards against a hang).
const GRACE: Duration = Duration::from_secs(30);

/// wrk's per-request time-out: a request slower than this counts as a
/// socket error (wrk's default is 2 s; a loaded 2-core machine needs more).
const WRK_TIMEOUT: &str = "10s";

/// Share of the requests that may end in socket errors (time-outs at the
/// end of a run, a connect refused under 1024 connections) before the
/// measurement counts as failed.
const MAX_ERROR_SHARE: f64 = 0.01;

/// Where the server and wrk run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Server on one core, wrk on another.
    Pinned,
    /// Both float over every core.
    Shared,
}

/// wrk's path, found or installed once per process; `Err` says why the
/// rows are skipped.
pub(crate) fn find() -> Result<&'static Path, &'static str> {
    static WRK: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    WRK.get_or_init(|| {
        if let Some(p) = on_path("wrk") {
            return Ok(p);
        }
        if !can_run_apt() || !Path::new(INSTALL_SCRIPT).exists() {
            return Err(
                "wrk is not installed: run scripts/install-wrk.sh (as root) for the http rows"
                    .to_owned(),
            );
        }
        eprintln!("http: installing wrk with scripts/install-wrk.sh");
        let out = Command::new("bash")
            .arg(INSTALL_SCRIPT)
            .output()
            .map_err(|e| format!("could not run {INSTALL_SCRIPT}: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let path = PathBuf::from(text.lines().last().unwrap_or("").trim());
        if out.status.success() && path.is_file() {
            Ok(path)
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(format!(
                "install-wrk.sh failed: {}",
                err.lines().last().unwrap_or("")
            ))
        }
    })
    .as_ref()
    .map(PathBuf::as_path)
    .map_err(String::as_str)
}

/// Whether this process may install packages: root, with apt-get.
fn can_run_apt() -> bool {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.trim_ascii() == b"0");
    root && on_path("apt-get").is_some()
}

/// `name` on `PATH`, if there.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The two cores `Pinned` uses (server, wrk), if `taskset` is here and the
/// process may run on two cores; says once why not otherwise.
fn pin_cores() -> Option<(usize, usize)> {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let cores = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|l| parse_cpu_list(l.trim()))
        .unwrap_or_default();
    let why = match (on_path("taskset"), cores.as_slice()) {
        (Some(_), [a, b, ..]) => return Some((*a, *b)),
        (None, _) => "taskset (util-linux) is not installed",
        (Some(_), _) => "this process may run on one core only",
    };
    if !WARNED.swap(true, Relaxed) {
        eprintln!("http: {why}: the pinned rows run unpinned (server and wrk share the cores)");
    }
    None
}

/// `0-3,6,8-9` -> `[0, 1, 2, 3, 6, 8, 9]`.
fn parse_cpu_list(list: &str) -> Vec<usize> {
    let mut cores = Vec::new();
    for part in list.split(',').filter(|p| !p.is_empty()) {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(lo), Ok(hi)) = (lo.trim().parse::<usize>(), hi.trim().parse::<usize>()) {
            cores.extend(lo..=hi);
        }
    }
    cores
}

/// Measures the server that `server(addr)` (a program and its arguments)
/// starts, with `spec.threads` wrk connections for `spec.seconds` (rounded
/// up to whole seconds).
pub(crate) fn measure(
    server: impl FnOnce(&str) -> Result<Vec<String>, String>,
    placement: Placement,
    spec: &Spec,
) -> Result<Sample, String> {
    let wrk = find()?;
    let pins = match placement {
        Placement::Pinned => pin_cores(),
        Placement::Shared => None,
    };
    let addr = servers::free_addr()?;
    let argv = server(&addr)?;
    let argv = match pins {
        Some((core, _)) => ["taskset", "-c", &core.to_string()]
            .map(str::to_owned)
            .into_iter()
            .chain(argv)
            .collect(),
        None => argv,
    };
    let server = servers::Process::start(&argv)?;

    let seconds = spec.seconds.ceil().max(1.0) as u64;
    let wrk_threads = if pins.is_some() { 1 } else { 2 }.min(spec.threads);
    let url = format!("http://{addr}/");
    let wrk_args = [
        "-t".to_owned(),
        wrk_threads.to_string(),
        "-c".to_owned(),
        spec.threads.to_string(),
        "-d".to_owned(),
        format!("{seconds}s"),
        "--timeout".to_owned(),
        WRK_TIMEOUT.to_owned(),
        "--latency".to_owned(),
        url,
    ];
    let mut load = match pins {
        Some((_, core)) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &core.to_string()]).arg(wrk);
            c
        }
        None => Command::new(wrk),
    };
    let child = load
        .args(wrk_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start wrk: {e}"))?;
    let out = crate::go::wait(child, Duration::from_secs(seconds) + GRACE)?;
    drop(server);
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("wrk failed ({}): {}", out.status, err.trim()));
    }
    let report = Report::parse(&text)?;
    report.check()?;
    Ok(report.sample())
}

/// What wrk reported.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Report {
    requests: u64,
    elapsed: Duration,
    p50: Option<Duration>,
    p99: Option<Duration>,
    socket_errors: u64,
    non_2xx: u64,
}

impl Report {
    /// Reads wrk's text report (with `--latency`).
    fn parse(text: &str) -> Result<Self, String> {
        let mut r = Report::default();
        let mut found = false;
        for line in text.lines().map(str::trim) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                [n, "requests", "in", t, ..] => {
                    r.requests = n
                        .parse()
                        .map_err(|_| format!("wrk: bad count in {line:?}"))?;
                    r.elapsed = duration(t.trim_end_matches(','))
                        .ok_or_else(|| format!("wrk: bad time in {line:?}"))?;
                    found = true;
                }
                ["50%", t] => r.p50 = duration(t),
                ["99%", t] => r.p99 = duration(t),
                ["Socket", "errors:", rest @ ..] => {
                    r.socket_errors = rest
                        .iter()
                        .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                        .sum();
                }
                ["Non-2xx", "or", "3xx", "responses:", n] => {
                    r.non_2xx = n.parse().unwrap_or(u64::MAX);
                }
                _ => {}
            }
        }
        if found {
            Ok(r)
        } else {
            Err(format!("wrk printed no request count: {:?}", text.trim()))
        }
    }

    /// Fails a run whose figure would not be one.
    fn check(&self) -> Result<(), String> {
        if self.requests == 0 || self.elapsed.is_zero() {
            return Err("wrk completed no request".to_owned());
        }
        if self.non_2xx > 0 {
            return Err(format!("{} responses were not 2xx", self.non_2xx));
        }
        if self.socket_errors as f64 > MAX_ERROR_SHARE * self.requests as f64 {
            return Err(format!(
                "{} socket errors in {} requests",
                self.socket_errors, self.requests
            ));
        }
        Ok(())
    }

    fn sample(&self) -> Sample {
        Sample {
            ops: self.requests,
            elapsed: self.elapsed,
            p50_ns: self.p50.map(|d| d.as_nanos() as f64),
            p99_ns: self.p99.map(|d| d.as_nanos() as f64),
            ..Sample::default()
        }
    }
}

/// wrk's times: `812.00us`, `1.23ms`, `1.00s`, `2.00m`, `1.00h`.
fn duration(t: &str) -> Option<Duration> {
    let unit_at = t.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = t.split_at(unit_at);
    let n: f64 = n.parse().ok()?;
    let scale = match unit {
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(n * scale).ok()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const REPORT: &str = "Running 1s test @ http://127.0.0.1:8080/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   512.34us  100.00us   5.00ms   90.00%
    Req/Sec    60.00k     1.00k   62.00k    80.00%
  Latency Distribution
     50%  498.00us
     75%  540.00us
     90%  600.00us
     99%    1.20ms
  60123 requests in 1.00s, 7.34MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:  60123.00
Transfer/sec:      7.34MB
";

    #[test]
    fn parses_a_wrk_report() {
        let r = Report::parse(REPORT).unwrap();
        assert_eq!(r.requests, 60_123);
        assert_eq!(r.elapsed, Duration::from_secs(1));
        assert_eq!(r.p50, Some(Duration::from_micros(498)));
        assert_eq!(r.p99, Some(Duration::from_micros(1200)));
        assert_eq!((r.socket_errors, r.non_2xx), (3, 0));
        assert!(r.check().is_ok());
        let s = r.sample();
        assert_eq!((s.ops, s.p99_ns), (60_123, Some(1_200_000.0)));
    }

    #[test]
    fn bad_runs_fail() {
        let bad = REPORT.replace("Transfer", "  Non-2xx or 3xx responses: 7\nTransfer");
        let r = Report::parse(&bad).unwrap();
        assert!(r.check().unwrap_err().contains("7 responses"));
        let errors = REPORT.replace("timeout 1", "timeout 9000");
        assert!(Report::parse(&errors).unwrap().check().is_err());
        assert!(Report::parse("unable to connect to 127.0.0.1:1 Connection refused").is_err());
    }

    #[test]
    fn parses_times_and_cpu_lists() {
        assert_eq!(duration("1.50ms"), Some(Duration::from_micros(1500)));
        assert_eq!(duration("2.00m"), Some(Duration::from_secs(120)));
        assert_eq!(duration("1.0x"), None);
        assert_eq!(duration("ms"), None);
        assert_eq!(parse_cpu_list("0-3,6,8-9"), [0, 1, 2, 3, 6, 8, 9]);
        assert_eq!(parse_cpu_list("1"), [1]);
    }
}
