//! Runs the real binary's `conns` experiment (idle connections held open
//! against a server process) at a small count and checks its figures are
//! sane: every row present with resident bytes per connection, baton's
//! above zero (each connection has a goroutine with a stack page) and
//! every one below a generous bound. The Go row runs when a Go toolchain
//! is found (as the lab finds one), else the run is `--no-go`.
#![cfg(not(loom))]

use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

mod common;
use common::temp_dir;

/// Connections per row: enough that the figure is not the noise of a
/// page or two, few enough for a loaded CI machine.
const CONNS: u64 = 500;

/// No runtime keeps a MiB per idle connection; a figure above it is a bug
/// in the measurement (the client's memory counted, a unit wrong).
const BOUND: u64 = 1 << 20;

/// Whether the lab would find Go without installing it (see
/// `go/toolchain.rs`: `$BATON_GO`, `go` on `PATH`, Debian's `/usr/lib/go-1.NN`).
fn go_found() -> bool {
    if std::env::var_os("BATON_GO").is_some_and(|g| Path::new(&g).exists()) {
        return true;
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("go").is_file()));
    let debian = std::fs::read_dir("/usr/lib").is_ok_and(|d| {
        d.flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with("go-1.")
                && e.path().join("bin/go").is_file()
        })
    });
    on_path || debian
}

#[test]
fn conns_reports_resident_bytes_per_idle_connection() {
    let dir = temp_dir("conns");
    let json = dir.join("lab.json");
    let go = go_found();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton-lab"));
    cmd.args(["run", "conns", "--rounds", "1", "--seconds", "0.02"])
        .args(["--threads", &CONNS.to_string()])
        .arg("--json")
        .arg(&json)
        .arg("--out")
        .arg(dir.join("report"));
    if !go {
        cmd.arg("--no-go");
    }
    // A hang (a server that never answers) fails with a message.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(cmd.output()));
    let out = rx
        .recv_timeout(Duration::from_secs(300))
        .expect("baton-lab run conns hung for 5 minutes")
        .expect("baton-lab runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("warning:"), "a row failed: {stderr}");

    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = v["rows"].as_array().unwrap();
    let mut impls: Vec<&str> = rows.iter().map(|r| r["impl"].as_str().unwrap()).collect();
    impls.sort_unstable();
    let mut expected = vec!["baton", "std", "tokio"];
    if go {
        expected.push("go");
    }
    expected.sort_unstable();
    assert_eq!(impls, expected, "one row per server");
    for row in rows {
        assert_eq!(
            (&row["experiment"], &row["case"]),
            (&"conns".into(), &"idle".into())
        );
        assert_eq!(row["threads"].as_u64(), Some(CONNS), "{row}");
        let bytes = row["rss_bytes"].as_u64().expect("rss_bytes");
        assert!(bytes < BOUND, "{row}");
        if row["impl"] == "baton" {
            assert!(bytes > 0, "a parked goroutine has a stack page: {row}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
