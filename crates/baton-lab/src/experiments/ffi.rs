//! `ffi`: baton's handle registry and channels used from Go through cgo
//! (`bindings/go`), against Go's own answers (background, section 1: the
//! stream processor whose objects had to be named by integer handles).
//!
//! Every row is measured by the Go binding's benchmarks (`go test -bench`
//! in `bindings/go/baton`, built once into a test binary beside the lab),
//! run in a child process of the lab: the lab's Go harness builds with
//! `CGO_ENABLED=0` and cannot link baton. A row's ops and elapsed time are
//! the benchmark's iterations and iterations x ns/op, at the goroutine
//! count the lab asks for (`BATON_FFI_GOROUTINES`). It needs the source
//! tree the lab was built from, Go (as the Go peers find it) and the
//! release staticlib (`cargo build --release -p baton-ffi`); without them
//! its rows are left out with a warning. Go's scheduler runs the goroutines
//! on GOMAXPROCS threads, as in the `handles` experiment's `go` row.
//!
//! - `handles-cycle`: one op = insert, get, remove of a C-allocated object:
//!   `baton-via-cgo` (three cgo calls into `HandleMap`), `cgo-handle`
//!   (`runtime/cgo.Handle`: a `sync.Map` and an atomic counter),
//!   `big-old-map` (one Go map behind a `sync.RWMutex`: the source's first
//!   design), `sharded-64` (64 such maps: the source's fix), and
//!   `cgo-noop` (one empty cgo call: what crossing costs by itself).
//!   Targets (issue 16): `baton-via-cgo` at least 2.3x `big-old-map` at 8
//!   goroutines and at least `cgo-handle`.
//! - `chan-round-trip`: one op = an 8-byte message to a partner goroutine
//!   and back over two one-slot channels: `baton-via-cgo` against Go's own
//!   channel (`runtime-chan`; it copies the bytes too).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use super::{Case, Experiment, Impl};
use crate::runner::{Sample, Spec};

/// The Go binding's module, in the source tree the lab was built from.
const MODULE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../bindings/go");
/// The staticlib the binding links (see `bindings/go/baton/cgo.go`).
const STATICLIB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../target/release/libbaton_ffi.a"
);
/// How long a benchmark run may take beyond its measurement (Go's start-up
/// and its calibration runs; this only guards against hangs).
const GRACE: Duration = Duration::from_secs(60);

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "ffi",
        claim: "From Go through cgo, baton's handle registry beats the source's big old map \
                (2.3x at 8 goroutines) and runtime/cgo.Handle, despite paying a cgo call per operation",
        cases: vec![
            Case {
                name: "handles-cycle",
                about: "insert, get and remove of a C-allocated object by handle, from Go goroutines",
                threads: &[1, 2, 8],
                latency: false,
                big: None,
                impls: vec![
                    Impl::child("baton-via-cgo", "baton's HandleMap through the C ABI (3 cgo calls)", |s| {
                        bench(s, "BenchmarkHandles", Some("baton-cgo"))
                    }),
                    Impl::child("cgo-handle", "runtime/cgo.Handle (sync.Map + atomic id)", |s| {
                        bench(s, "BenchmarkHandles", Some("cgo.Handle"))
                    }),
                    Impl::child("big-old-map", "one Go map behind a sync.RWMutex", |s| {
                        bench(s, "BenchmarkHandles", Some("big-old-map"))
                    }),
                    Impl::child("sharded-64", "64 Go maps, each behind a sync.RWMutex", |s| {
                        bench(s, "BenchmarkHandles", Some("sharded-64"))
                    }),
                    Impl::child("cgo-noop", "one empty cgo call: the cost of crossing", |s| {
                        bench(s, "BenchmarkCgoCall", None)
                    }),
                ],
            },
            Case {
                name: "chan-round-trip",
                about: "an 8-byte message to a partner goroutine and back over two one-slot channels",
                threads: &[2],
                latency: false,
                big: None,
                impls: vec![
                    Impl::child("baton-via-cgo", "baton's channel through the C ABI", |s| {
                        bench(s, "BenchmarkChanRoundTrip", Some("baton-cgo"))
                    }),
                    Impl::child("runtime-chan", "Go's channel of []byte (copying)", |s| {
                        bench(s, "BenchmarkChanRoundTrip", Some("go-chan"))
                    }),
                ],
            },
        ],
    }
}

/// The `-test.bench` pattern of one sub-benchmark: `BenchmarkHandles` /
/// `impl` / `g<threads>` (the round trip has no goroutine level).
fn pattern(benchmark: &str, imp: Option<&str>, threads: usize) -> String {
    let quote = |s: &str| s.replace('.', "\\.");
    match (benchmark, imp) {
        ("BenchmarkChanRoundTrip", Some(i)) => format!("^{benchmark}$/^{}$", quote(i)),
        (_, Some(i)) => format!("^{benchmark}$/^{}$/^g{threads}$", quote(i)),
        (_, None) => format!("^{benchmark}$/^g{threads}$"),
    }
}

/// Runs one sub-benchmark of the Go binding and turns its line into a
/// sample. Panics (the lab then warns and leaves the row out) when Go, the
/// staticlib or the source tree is missing, or the benchmark fails.
fn bench(spec: &Spec, benchmark: &str, imp: Option<&str>) -> Sample {
    let exe = test_binary().unwrap_or_else(|e| panic!("ffi: {e}"));
    let pattern = pattern(benchmark, imp, spec.threads);
    let child = Command::new(&exe)
        .args([
            "-test.run",
            "^$",
            "-test.count",
            "1",
            "-test.bench",
            &pattern,
        ])
        .arg(format!("-test.benchtime={}s", spec.seconds))
        .env("BATON_FFI_GOROUTINES", spec.threads.to_string())
        .current_dir(Path::new(MODULE).join("baton"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("ffi: could not start {}: {e}", exe.display()));
    let out = crate::go::wait(child, Duration::from_secs_f64(spec.seconds) + GRACE)
        .unwrap_or_else(|e| panic!("ffi: {pattern}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ffi: {pattern} failed: {}{}",
        text.trim(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    parse(&text)
        .unwrap_or_else(|| panic!("ffi: no benchmark line for {pattern} in {:?}", text.trim()))
}

/// The sample from a `go test -bench` line: `Name-2  1000000  200.1 ns/op`.
fn parse(output: &str) -> Option<Sample> {
    let line = output
        .lines()
        .find(|l| l.starts_with("Benchmark") && l.contains(" ns/op"))?;
    let mut fields = line.split_whitespace().skip(1);
    let iterations: u64 = fields.next()?.parse().ok()?;
    let ns_per_op: f64 = fields.next()?.parse().ok()?;
    (iterations > 0).then(|| Sample {
        ops: iterations,
        elapsed: Duration::from_secs_f64(iterations as f64 * ns_per_op / 1e9),
        ..Sample::default()
    })
}

/// The binding's test binary, rebuilt when a Go file of the binding or the
/// staticlib is newer than it.
fn test_binary() -> Result<PathBuf, String> {
    let lib = Path::new(STATICLIB);
    if !lib.exists() {
        return Err(format!(
            "{} missing: run `cargo build --release -p baton-ffi`",
            lib.display()
        ));
    }
    let work = crate::go::work_dir();
    let exe = work.join("baton-ffi-go.test");
    let newest_input = newest(&[lib.to_path_buf(), Path::new(MODULE).join("baton")]);
    let built = std::fs::metadata(&exe).and_then(|m| m.modified()).ok();
    if built.is_some_and(|b| Some(b) >= newest_input) {
        return Ok(exe);
    }
    let tool = crate::go::toolchain::find(&work)?;
    let tmp = work.join(format!("baton-ffi-go.test-{}", std::process::id()));
    let mut cmd = Command::new(&tool.go);
    cmd.args(["test", "-c", "-o"])
        .arg(&tmp)
        .arg("./baton")
        .current_dir(MODULE);
    crate::go::toolchain::configure(&mut cmd, &work);
    let out = cmd
        .env("CGO_ENABLED", "1")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "building the Go binding's benchmarks failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    std::fs::rename(&tmp, &exe).map_err(|e| e.to_string())?;
    Ok(exe)
}

/// The newest modification time among `paths` (a folder: its files).
fn newest(paths: &[PathBuf]) -> Option<SystemTime> {
    let mut files = Vec::new();
    for p in paths {
        match std::fs::read_dir(p) {
            Ok(dir) => files.extend(dir.flatten().map(|e| e.path())),
            Err(_) => files.push(p.clone()),
        }
    }
    files
        .iter()
        .filter_map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_go_benchmark_line() {
        let out =
            "goos: linux\nBenchmarkHandles/baton-cgo/g8-2   \t 1000000\t       200.5 ns/op\nPASS\n";
        let s = parse(out).expect("a sample");
        assert_eq!(s.ops, 1_000_000);
        assert_eq!(s.elapsed, Duration::from_secs_f64(0.2005));
        assert!(parse("PASS\n").is_none());
    }

    #[test]
    fn patterns_select_one_sub_benchmark() {
        assert_eq!(
            pattern("BenchmarkHandles", Some("cgo.Handle"), 8),
            "^BenchmarkHandles$/^cgo\\.Handle$/^g8$"
        );
        assert_eq!(
            pattern("BenchmarkCgoCall", None, 2),
            "^BenchmarkCgoCall$/^g2$"
        );
        assert_eq!(
            pattern("BenchmarkChanRoundTrip", Some("go-chan"), 2),
            "^BenchmarkChanRoundTrip$/^go-chan$"
        );
    }
}
