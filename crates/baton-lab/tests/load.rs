//! `--load N`: the real binary measures every row quiet and loaded, marks
//! the loaded rows, and its busy processes never outlive it.
#![cfg(not(loom))]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::temp_dir;

#[test]
fn load_rows_are_marked_and_paired_with_quiet_ones() {
    let dir = temp_dir("load");
    let json = dir.join("lab.json");
    let out = dir.join("report");
    let lab = Command::new(env!("CARGO_BIN_EXE_baton-lab"))
        .args([
            "run",
            "mutex",
            "--quick",
            "--seconds",
            "0.02",
            "--rounds",
            "1",
        ])
        .args(["--no-go", "--load", "2"])
        .arg("--json")
        .arg(&json)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("baton-lab runs");
    let pid = lab.id();
    let run = lab.wait_with_output().unwrap();
    assert_eq!(
        burners_of(pid),
        Vec::<u32>::new(),
        "a lab that finished left its busy processes running"
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );

    let v: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = v["rows"].as_array().unwrap();
    let key = |r: &Value| {
        (
            r["case"].as_str().unwrap().to_owned(),
            r["impl"].as_str().unwrap().to_owned(),
            r["threads"].as_u64().unwrap(),
        )
    };
    let quiet: Vec<_> = rows.iter().filter(|r| r.get("load").is_none()).collect();
    let loaded: Vec<_> = rows.iter().filter(|r| r.get("load").is_some()).collect();
    // mutex: uncontended at 1 thread, two contended cases at 2 and 8; 3 impls.
    assert_eq!(quiet.len(), 15, "{rows:?}");
    assert_eq!(
        loaded.len(),
        quiet.len(),
        "a loaded row for every quiet one"
    );
    for l in &loaded {
        assert_eq!(l["load"], 2, "{l}");
        let q = quiet
            .iter()
            .find(|q| key(q) == key(l))
            .expect("the quiet row of the same case, impl and threads");
        let ratio = l["loaded_vs_quiet"].as_f64().expect("loaded_vs_quiet");
        let expected = l["ops_per_sec"].as_f64().unwrap() / q["ops_per_sec"].as_f64().unwrap();
        assert!((ratio / expected - 1.0).abs() < 1e-9, "{l} vs {q}");
        assert!(q.get("loaded_vs_quiet").is_none(), "{q}");
    }
    // mutex samples latency: every row has its percentiles.
    for r in rows {
        let (p50, p99) = (r["p50_ns"].as_f64().unwrap(), r["p99_ns"].as_f64().unwrap());
        assert!(p50 > 0.0 && p50 <= p99, "{r}");
    }

    assert!(stdout.contains("Scoreboard"), "{stdout}");
    assert!(stdout.contains("Under load 2"), "{stdout}");
    assert!(stdout.contains("under load 2:"), "{stdout}");
    assert!(stdout.contains("loaded / quiet"), "{stdout}");
    assert!(stdout.contains("latency p50 / p99"), "{stdout}");
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let board = index.find("Scoreboard").expect("a scoreboard");
    let first_case = index.find("mutex / uncontended").expect("the tables");
    assert!(board < first_case, "the scoreboard comes first");
    assert!(index.contains("mutex / contended-short (under load 2)"));
    assert!(out.join("mutex-contended-short-load-2.svg").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The processes whose parent is `pid`, from `/proc/*/stat`, with their
/// state letter.
fn children_of(pid: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may hold spaces, so split after `)`.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        if f.next().and_then(|p| p.parse::<u32>().ok()) == Some(pid) {
            out.push((child, state));
        }
    }
    out
}

/// The live busy processes started by the lab with process id `lab` (found
/// by their command line, since a finished lab's children are reparented).
fn burners_of(lab: u32) -> Vec<u32> {
    let needle = format!("burn\0--parent\0{lab}\0");
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&needle) && !dead(pid) {
            out.push(pid);
        }
    }
    out
}

/// Whether process `pid` is gone or a zombie (dead, not yet reaped).
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            .is_some_and(|s| s == "Z" || s == "X"),
    }
}

/// A lab killed outright (no destructor runs) takes its busy processes
/// with it: they asked the kernel for `SIGKILL` when their parent dies.
#[cfg(target_os = "linux")]
#[test]
fn busy_processes_die_with_a_killed_lab() {
    let dir = temp_dir("load-kill");
    let mut lab = Command::new(env!("CARGO_BIN_EXE_baton-lab"))
        .args(["run", "mutex", "--seconds", "5", "--rounds", "100"])
        .args(["--no-go", "--load", "2"])
        .arg("--out")
        .arg(dir.join("report"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("baton-lab runs");
    let pid = lab.id();
    // Generous: a loaded machine may take a while to start them.
    let deadline = Instant::now() + Duration::from_secs(60);
    let burners = loop {
        let burners: Vec<u32> = children_of(pid)
            .into_iter()
            .filter(|&(_, s)| s != 'Z')
            .map(|(p, _)| p)
            .collect();
        if burners.len() == 2 {
            break burners;
        }
        assert!(
            Instant::now() < deadline,
            "the lab started {burners:?}, not 2 busy processes, in a minute"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut found = burners_of(pid);
    found.sort_unstable();
    let mut expected = burners.clone();
    expected.sort_unstable();
    assert_eq!(found, expected, "burners_of finds the live busy processes");
    lab.kill().unwrap(); // SIGKILL
    lab.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !burners.iter().all(|&p| dead(p)) {
        assert!(
            Instant::now() < deadline,
            "busy processes {burners:?} outlived the killed lab by a minute"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
