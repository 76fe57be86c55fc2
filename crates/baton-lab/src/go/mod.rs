//! The Go peers: building the Go harness (`crates/baton-lab/go/`) and running
//! it once per measurement, so that `go` takes its turn in the interleaved
//! rounds like any other implementation.
//!
//! The harness sources are compiled into the lab (so a copied binary still
//! works) and written out to a work folder beside the lab's executable,
//! where they are built with `go build` once per source/toolchain version
//! (a stamp file holds the hash). Nothing here may fail the lab: every
//! problem becomes a one-line warning and missing `go` rows.

pub(crate) mod toolchain;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::experiments::{conns, http};
use crate::runner::{Sample, Spec};

/// The harness sources, as (file name, contents). A new Go file needs a
/// line here.
const SOURCES: &[(&str, &str)] = &[
    ("go.mod", include_str!("../../go/go.mod")),
    ("main.go", include_str!("../../go/main.go")),
    ("cases.go", include_str!("../../go/cases.go")),
    ("goroutines.go", include_str!("../../go/goroutines.go")),
    ("context.go", include_str!("../../go/context.go")),
    ("pipeline.go", include_str!("../../go/pipeline.go")),
    ("rate.go", include_str!("../../go/rate.go")),
    ("http.go", include_str!("../../go/http.go")),
    ("echo.go", include_str!("../../go/echo.go")),
    ("xrate/rate.go", include_str!("../../go/xrate/rate.go")),
];

const HARNESS: &str = "baton-lab-go-harness";

/// How long a harness run may take beyond its measurement before the lab
/// gives up on it (start-up is milliseconds; this only guards against hangs).
const GRACE: Duration = Duration::from_secs(30);

/// A built harness, ready to measure. For the `http` and `conns`
/// experiments it is the server (its `servers` table in `cases.go`: it
/// listens on `-addr` until killed) and the lab measures it from outside:
/// with wrk (`crate::wrk`), or by holding connections open to it and
/// reading its resident set (`experiments::conns`).
#[derive(Debug)]
pub(crate) struct GoHarness {
    exe: PathBuf,
}

/// Finds (or installs) Go and builds the harness, printing one line on what
/// happened; `None` when the Go peers are skipped.
pub(crate) fn prepare() -> Option<GoHarness> {
    let work = work_dir();
    let tool = match toolchain::find(&work) {
        Ok(t) => t,
        Err(why) if toolchain::can_install() => {
            eprintln!("Go peers: no Go >= 1.21 here ({why}); installing it with scripts/install-go.sh (skip with --no-go)");
            match toolchain::install(&work) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("Go peers skipped: {e}");
                    return None;
                }
            }
        }
        Err(why) => {
            eprintln!("Go peers skipped: run scripts/install-go.sh ({why})");
            return None;
        }
    };
    match build(&tool, &work) {
        Ok(exe) => {
            eprintln!("Go peers: {} ({})", tool.version, tool.go.display());
            Some(GoHarness { exe })
        }
        Err(e) => {
            eprintln!("Go peers skipped: building the Go harness failed: {e}");
            None
        }
    }
}

/// Where the harness, its sources and Go's build cache live: beside the
/// lab's executable (inside cargo's target folder), or in the temp folder
/// when that is not writable.
pub(crate) fn work_dir() -> PathBuf {
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("baton-lab-go")));
    beside_exe
        .filter(|dir| std::fs::create_dir_all(dir).is_ok())
        .unwrap_or_else(|| {
            let dir = std::env::temp_dir().join("baton-lab-go");
            let _ = std::fs::create_dir_all(&dir);
            dir
        })
}

/// Builds the harness unless the stamp says this source and toolchain were
/// built already.
fn build(tool: &toolchain::Toolchain, work: &Path) -> Result<PathBuf, String> {
    let exe = work.join(HARNESS);
    let stamp_path = work.join(format!("{HARNESS}.stamp"));
    let stamp = format!("{:016x}", fnv1a(tool, SOURCES));
    if exe.exists() && std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
        return Ok(exe);
    }
    eprintln!(
        "Go peers: building the Go harness with {} (the first time takes up to half a minute: Go compiles its runtime)",
        tool.version
    );
    // Per-process names, renamed into place, so two labs building at once
    // never see each other's half-written files.
    let pid = std::process::id();
    let src = work.join(format!("src-{pid}"));
    let tmp_exe = work.join(format!("{HARNESS}-{pid}"));
    let result = (|| {
        std::fs::create_dir_all(&src).map_err(|e| e.to_string())?;
        for (name, text) in SOURCES {
            let path = src.join(name);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
            std::fs::write(path, text).map_err(|e| e.to_string())?;
        }
        let mut cmd = Command::new(&tool.go);
        cmd.args(["build", "-trimpath", "-o"])
            .arg(&tmp_exe)
            .arg(".")
            .current_dir(&src)
            .env("CGO_ENABLED", "0");
        toolchain::configure(&mut cmd, work);
        let out = cmd.output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(err.lines().next().unwrap_or("go build failed").to_owned());
        }
        std::fs::rename(&tmp_exe, &exe).map_err(|e| e.to_string())?;
        std::fs::write(&stamp_path, &stamp).map_err(|e| e.to_string())
    })();
    let _ = std::fs::remove_dir_all(&src);
    let _ = std::fs::remove_file(&tmp_exe);
    result.map(|()| exe)
}

/// FNV-1a over the toolchain version and every source file.
fn fnv1a(tool: &toolchain::Toolchain, sources: &[(&str, &str)]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let parts = [tool.version.as_str()]
        .into_iter()
        .chain(sources.iter().flat_map(|(n, t)| [*n, *t]));
    for part in parts {
        for b in part.bytes().chain([0]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// What the harness prints (its row has more fields; these are the raw
/// figures the lab recomputes from).
#[derive(Deserialize)]
struct HarnessRow {
    ops: u64,
    elapsed_ns: u64,
    /// Only the cases that measure memory print it.
    #[serde(default)]
    rss_bytes: Option<u64>,
    /// Only with `-latency`, in the cases the harness times itself.
    #[serde(default)]
    p50_ns: Option<f64>,
    #[serde(default)]
    p99_ns: Option<f64>,
}

impl GoHarness {
    /// One measurement: one harness process.
    pub(crate) fn measure(
        &self,
        experiment: &str,
        case: &str,
        imp: &str,
        spec: &Spec,
    ) -> Result<Sample, String> {
        // Server cases: the harness serves (its `servers` table), the lab
        // loads it with wrk (http) or holds connections open (conns).
        let exe = self.exe.to_string_lossy().into_owned();
        let server = |addr: &str| {
            let args = ["-experiment", experiment, "-case", case, "-impl", imp];
            let argv = [exe.as_str()]
                .into_iter()
                .chain(args)
                .chain(["-addr", addr]);
            Ok(argv.map(str::to_owned).collect())
        };
        if experiment == http::NAME {
            return crate::wrk::measure(server, http::placement(case), spec);
        }
        if experiment == conns::NAME {
            return conns::measure(server, spec);
        }
        let mut cmd = Command::new(&self.exe);
        cmd.args(["-experiment", experiment, "-case", case, "-impl", imp])
            .args(["-threads", &spec.threads.to_string()])
            .args(["-seconds", &spec.seconds.to_string()]);
        if spec.latency {
            cmd.arg("-latency");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start the Go harness: {e}"))?;
        let out = wait(child, Duration::from_secs_f64(spec.seconds) + GRACE)?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!("Go harness: {}", err.trim()));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let row: HarnessRow = serde_json::from_str(text.trim())
            .map_err(|e| format!("Go harness printed {:?}: {e}", text.trim()))?;
        if row.ops == 0 || row.elapsed_ns == 0 {
            return Err(format!("Go harness measured nothing: {}", text.trim()));
        }
        Ok(Sample {
            ops: row.ops,
            elapsed: Duration::from_nanos(row.elapsed_ns),
            rss_bytes: row.rss_bytes,
            p50_ns: row.p50_ns,
            p99_ns: row.p99_ns,
            ..Sample::default()
        })
    }
}

/// Waits for `child`, killing it after `limit`. Polls rarely (every 5 ms)
/// so the waiting costs the measured process nothing it would notice.
pub(crate) fn wait(
    mut child: std::process::Child,
    limit: Duration,
) -> Result<std::process::Output, String> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().map_err(|e| e.to_string()),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running after {limit:?}; killed"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(e.to_string()),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::experiments::{self, Run};
    use std::collections::BTreeSet;

    /// A harness case's key: (experiment, case, impl).
    type Key = (String, String, String);

    /// The keys `{"experiment", "case", "impl"}` written in `text` (Go
    /// source): three quoted strings in braces, in a map literal
    /// (`{"a", "b", "c"}: f`) or anywhere else (`custom[key{"a", "b", "c"}]`).
    fn go_keys(text: &str) -> Vec<Key> {
        let unquote = |p: &str| Some(p.trim().strip_prefix('"')?.strip_suffix('"')?.to_owned());
        let mut keys = Vec::new();
        for (at, _) in text.match_indices("{\"") {
            let Some((inner, _)) = text[at + 1..].split_once('}') else {
                continue;
            };
            let parts: Option<Vec<String>> = inner.split(',').map(unquote).collect();
            if let Some([e, c, i]) = parts.as_deref() {
                keys.push((e.clone(), c.clone(), i.clone()));
            }
        }
        keys
    }

    fn source(name: &str) -> &'static str {
        SOURCES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, text)| *text)
            .expect("a harness source")
    }

    #[test]
    fn go_keys_reads_keys_only() {
        let text = "var cases = map[key]bench{\n\t{\"idgen\", \"next\", \"go\"}:  f,\n\
                    \t{\"a\", \"b\"}: g,\n\tfor k := range cases {\n}\n\
                    \tcustom[key{\"x\",\"y\",\"z\"}] = h\n\tk := key{*e, *c, *i}\n";
        let key = |e: &str, c: &str, i: &str| (e.to_owned(), c.to_owned(), i.to_owned());
        assert_eq!(
            go_keys(text),
            [key("idgen", "next", "go"), key("x", "y", "z")]
        );
    }

    /// The lab's Go implementations and the harness's `cases.go` name the
    /// same (experiment, case, impl) keys, and no other Go file lists any.
    #[test]
    fn registry_and_cases_go_name_the_same_go_cases() {
        let listed = go_keys(source("cases.go"));
        let go_side: BTreeSet<Key> = listed.iter().cloned().collect();
        assert_eq!(go_side.len(), listed.len(), "a key twice in cases.go");
        let rust_side: BTreeSet<Key> = experiments::all()
            .iter()
            .flat_map(|e| e.cases.iter().map(move |c| (e, c)))
            .flat_map(|(e, c)| c.impls.iter().map(move |i| (e, c, i)))
            .filter(|(_, _, i)| matches!(i.run, Run::Go))
            .map(|(e, c, i)| (e.name.to_owned(), c.name.to_owned(), i.name.to_owned()))
            .collect();
        assert!(
            !rust_side.is_empty(),
            "no Go implementations in the registry"
        );
        let missing: Vec<_> = rust_side.difference(&go_side).collect();
        assert!(
            missing.is_empty(),
            "Go implementations in the lab's registry with no line in go/cases.go: {missing:?}"
        );
        let extra: Vec<_> = go_side.difference(&rust_side).collect();
        assert!(
            extra.is_empty(),
            "go/cases.go lists cases no experiment declares (`Impl::go`): {extra:?}"
        );
        for (name, text) in SOURCES.iter().filter(|(n, _)| *n != "cases.go") {
            let keys = go_keys(text);
            assert!(
                keys.is_empty(),
                "{name} lists cases {keys:?}: they belong in cases.go"
            );
        }
    }

    #[test]
    fn hash_changes_with_source_and_version() {
        let t = |v: &str| toolchain::Toolchain {
            go: PathBuf::from("go"),
            version: v.to_owned(),
        };
        let a = fnv1a(&t("go1.23.4"), &[("main.go", "x")]);
        assert_eq!(a, fnv1a(&t("go1.23.4"), &[("main.go", "x")]));
        assert_ne!(a, fnv1a(&t("go1.23.5"), &[("main.go", "x")]));
        assert_ne!(a, fnv1a(&t("go1.23.4"), &[("main.go", "y")]));
        assert_ne!(a, fnv1a(&t("go1.23.4"), &[("main.g", "ox")]));
    }
}
