//! Runs the real binary on one experiment, briefly, and checks what it wrote.
#![cfg(not(loom))]

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

mod common;
use common::temp_dir;

#[test]
fn run_idgen_writes_json_rows_and_the_report() {
    let dir = temp_dir("idgen");
    let json = dir.join("lab.json");
    let out = dir.join("report");
    let status = Command::new(env!("CARGO_BIN_EXE_baton-lab"))
        .args([
            "run",
            "idgen",
            "--quick",
            "--seconds",
            "0.02",
            "--rounds",
            "1",
            "--no-go",
        ])
        .arg("--json")
        .arg(&json)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("baton-lab runs");
    assert!(status.success());

    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let machine = &v["machine"];
    assert!(machine["cores"].as_u64().unwrap() >= 1);
    for key in ["cpu_model", "os", "rustc"] {
        assert!(!machine[key].as_str().unwrap().is_empty(), "machine.{key}");
    }
    let rows = v["rows"].as_array().unwrap();
    let mut seen = BTreeSet::new();
    for row in rows {
        assert_eq!(row["experiment"], "idgen");
        assert_eq!(row["case"], "next");
        let ops = row["ops_per_sec"].as_f64().unwrap();
        let ns = row["ns_per_op"].as_f64().unwrap();
        assert!(ops > 0.0, "{row}");
        assert!(
            (ns * ops / 1e9 - 1.0).abs() < 1e-6,
            "ns_per_op = 1e9 / ops_per_sec: {row}"
        );
        assert!(
            row.get("p50_ns").is_none(),
            "absent options are omitted: {row}"
        );
        seen.insert((
            row["impl"].as_str().unwrap().to_owned(),
            row["threads"].as_u64().unwrap(),
        ));
    }
    let mut expected = BTreeSet::new();
    for imp in ["mutex", "atomic", "baton", "baton-batched"] {
        for threads in [1, 2, 8] {
            expected.insert((imp.to_owned(), threads));
        }
    }
    assert_eq!(
        seen, expected,
        "every impl at every thread count, once, and no go rows"
    );

    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("idgen / next") && index.contains("baton vs mutex"));
    let svg = std::fs::read_to_string(out.join("idgen-next.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("baton-batched"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unknown_experiment_fails_naming_the_valid_ones() {
    let out = Command::new(env!("CARGO_BIN_EXE_baton-lab"))
        .args(["run", "nosuch"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nosuch") && err.contains("idgen") && err.contains("counter"),
        "{err}"
    );
}

/// The hidden `child` command (how the lab measures `may` and memory in a
/// fresh process) prints one JSON row; idle-memory rows carry `rss_bytes`.
#[test]
fn child_command_prints_a_row() {
    for (case, imp, threads) in [
        ("pingpong", "may", "1"),
        ("idle-memory", "baton", "2000"),
        ("idle-memory", "may", "2000"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_baton-lab"))
            .args(["child", "--experiment", "goroutines", "--case", case])
            .args(["--impl", imp, "--threads", threads, "--seconds", "0.02"])
            .output()
            .expect("baton-lab runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{case}/{imp}: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let row: Value = serde_json::from_str(text.trim()).unwrap();
        assert!(row["ops"].as_u64().unwrap() > 0, "{case}/{imp}: {text}");
        if case == "idle-memory" {
            // A fresh process: every parked goroutine costs resident memory.
            assert!(
                row["rss_bytes"].as_u64().unwrap() > 0,
                "{case}/{imp}: {text}"
            );
        }
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_baton-lab"))
        .args(["child", "--experiment", "goroutines", "--case", "pingpong"])
        .args(["--impl", "go", "--threads", "1", "--seconds", "0.02"])
        .output()
        .unwrap();
    assert!(
        !bad.status.success(),
        "Go rows are not run by the lab binary"
    );
}
