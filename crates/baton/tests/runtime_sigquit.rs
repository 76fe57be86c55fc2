//! `SIGQUIT` prints a goroutine dump to standard error and the program goes
//! on. Runs in a child process (this test binary, re-run with an
//! environment variable), since it signals the whole process.
#![cfg(not(loom))] // the runtime is not built under loom (only its lock-free parts)

mod common;

use std::process::Command;
use std::time::Duration;

const CHILD: &str = "BATON_SIGQUIT_CHILD";

#[test]
fn sigquit_child() {
    if std::env::var_os(CHILD).is_none() {
        return; // only meaningful when re-run by `sigquit_prints_a_dump`
    }
    let rt = baton::runtime::Builder::new()
        .workers(1)
        .name("quitter")
        .build();
    let v = rt.run(|| {
        let sleeper = baton::go(|| baton::time::sleep(Duration::from_millis(1500)));
        baton::time::sleep(Duration::from_millis(50));
        // SAFETY: signalling our own process; the runtime handles SIGQUIT.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGQUIT);
        }
        sleeper.join().unwrap();
        7
    });
    println!("ALIVE {v}");
}

#[test]
fn sigquit_prints_a_dump() {
    common::within("sigquit child", 60, || {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sigquit_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
        assert!(stdout.contains("ALIVE 7"), "the program went on: {stdout}");
        assert!(
            stderr.contains("SIGQUIT: goroutine dump"),
            "stderr was: {stderr}"
        );
        assert!(stderr.contains("runtime `quitter`"), "stderr was: {stderr}");
        assert!(stderr.contains("[sleep"), "stderr was: {stderr}");
        assert!(
            stderr.contains("runtime_sigquit.rs"),
            "stderr was: {stderr}"
        );
    });
}
