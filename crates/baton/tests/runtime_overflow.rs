//! A goroutine that overflows its stack hits the guard page: the process
//! prints which goroutine it was and aborts — never corrupts memory. The
//! overflow runs in a child process (this test binary, re-run with an
//! environment variable), since it ends the process.
#![cfg(not(loom))] // the runtime is not built under loom (only its lock-free parts)

mod common;

use std::process::Command;

const CHILD: &str = "BATON_OVERFLOW_CHILD";

#[test]
fn overflow_child() {
    if std::env::var_os(CHILD).is_none() {
        return; // only meaningful when re-run by `overflow_is_reported`
    }
    let rt = baton::runtime::Builder::new()
        .workers(1)
        .stack_size(32 * 1024)
        .build();
    if std::env::var(CHILD).as_deref() == Ok("own-size") {
        // The runtime's stacks are 32 KiB; this goroutine's are 96 KiB, and
        // the report must say so.
        let opts = baton::runtime::Options::new().stack_size(96 * 1024);
        rt.run(move || baton::runtime::go_with(opts, || deep(0)).join().unwrap());
    } else {
        rt.run(|| deep(0));
    }
    unreachable!("the overflow must have ended the process");
}

fn deep(n: u64) -> u64 {
    let pad = std::hint::black_box([n as u8; 256]);
    if n == u64::MAX {
        return 0;
    }
    // `pad` is read after the call, so every frame keeps its own.
    std::hint::black_box(deep(n + 1)) + u64::from(pad[7])
}

/// Runs `overflow_child` with `CHILD=mode`; its stderr and exit status.
fn run_child(mode: &str) -> (String, std::process::ExitStatus) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "overflow_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, mode)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status,
    )
}

#[test]
fn overflow_reports_the_goroutines_own_stack_size() {
    common::within("overflow child (own size)", 60, || {
        let (stderr, status) = run_child("own-size");
        assert!(!status.success());
        assert!(
            stderr.contains("has overflowed its stack (96 KiB)"),
            "stderr was: {stderr}"
        );
        assert!(stderr.contains("Options::stack_size"), "{stderr}");
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGABRT), "aborted: {stderr}");
    });
}

#[test]
fn overflow_is_reported() {
    common::within("overflow child", 60, || {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "overflow_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(
            stderr.contains("has overflowed its stack (32 KiB)"),
            "stderr was: {stderr}"
        );
        assert!(
            stderr.contains("runtime_overflow.rs"),
            "names the spawn site: {stderr}"
        );
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGABRT),
            "aborted: {stderr}"
        );
    });
}
