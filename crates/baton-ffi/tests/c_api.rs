//! Builds `tests/c/api_test.c` against the staticlib with the `cc` crate's
//! compiler and runs it: every entry point of `baton.h`, every misuse the
//! API checks, and multi-threaded use from C threads.
//!
//! `BATON_FFI_C_RUNNER` (e.g. `valgrind --leak-check=full
//! --error-exitcode=1`) is put in front of the program; `.ci/run` uses it
//! for the memcheck step. `BATON_FFI_C_TEST_OUT` names where to leave the
//! built program.

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The hang guard for the child: generous, valgrind included.
const TIMEOUT: Duration = Duration::from_secs(300);

/// `target/<profile>`, where cargo leaves `libbaton_ffi.a`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/c_api-<hash>
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_path_buf()
}

fn build_program(out: &Path) {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Cargo builds the staticlib with the tests into `deps/`, and copies it
    // up to `target/<profile>/` only when the crate itself is a root of the
    // build (`cargo build -p baton-ffi`): look in `deps/` first, which is
    // always current for this test binary.
    let dir = profile_dir();
    let lib = [dir.join("deps/libbaton_ffi.a"), dir.join("libbaton_ffi.a")]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "libbaton_ffi.a missing in {0}/deps and {0}: cargo builds the staticlib with the tests",
                dir.display()
            )
        });
    let triple = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let compiler = cc::Build::new()
        .cargo_metadata(false)
        .target(&triple)
        .host(&triple)
        .opt_level(1)
        .debug(true)
        .warnings(true)
        .get_compiler();
    let status = compiler
        .to_command()
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg("-I")
        .arg(crate_dir.join("include"))
        .arg(crate_dir.join("tests/c/api_test.c"))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(out)
        .status()
        .expect("run the C compiler");
    assert!(
        status.success(),
        "compiling tests/c/api_test.c failed: {status}"
    );
}

#[test]
fn c_program_calls_every_entry_point() {
    let out = std::env::var_os("BATON_FFI_C_TEST_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("baton_ffi_api_test"));
    build_program(&out);

    let runner = std::env::var("BATON_FFI_C_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    let mut cmd = match words.next() {
        Some(first) => {
            let mut c = Command::new(first);
            c.args(words).arg(&out);
            c
        }
        None => Command::new(&out),
    };
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the C test program");
    // The watchdog: a hang in the program fails the test with a message.
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the C test") {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("the C test program hung: no exit within {TIMEOUT:?} (a lost wake-up?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = child
        .wait_with_output()
        .expect("collect the C test's output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        status.success(),
        "the C test program failed ({status}):\n{stderr}"
    );
    assert!(
        stdout.contains("checks passed"),
        "no summary line: {stdout}"
    );
}
