//! Child processes for tests that signal or end a whole process: the test
//! binary re-runs itself with one test selected and an environment
//! variable naming the scenario; the child prints marker lines that the
//! parent reads as they come.
#![cfg(not(loom))]

use std::io::{BufRead, BufReader, Lines};
use std::process::{ChildStdout, Command, ExitStatus, Stdio};

use baton::signal::Signal;

/// The variable that makes a run of a test binary a child, naming its
/// scenario (the test function it runs).
const CHILD: &str = "BATON_TEST_CHILD";

/// Prints a marker line for the parent, at once.
pub(crate) fn say(line: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

/// The child's side: runs the scenario named by `CHILD`, if it is `name`.
pub(crate) fn child(name: &str, body: fn()) {
    if std::env::var(CHILD).as_deref() == Ok(name) {
        body();
    }
}

/// A running child and its marker lines.
pub(crate) struct Child {
    proc: std::process::Child,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
    /// Reads standard error to the end, beside us (so that a chatty child
    /// never blocks on a full pipe).
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Child {
    /// Runs the test `name` of this binary as a child, whose `child(name,
    /// ...)` call runs the scenario.
    pub(crate) fn start(name: &str) -> Child {
        Child::start_with(name, &[])
    }

    /// As [`start`](Child::start), with more environment variables.
    pub(crate) fn start_with(name: &str, env: &[(&str, &str)]) -> Child {
        let mut proc = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env(CHILD, name)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = BufReader::new(proc.stdout.take().unwrap()).lines();
        let mut err = proc.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut err, &mut text).unwrap();
            text
        });
        Child {
            proc,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Reads lines until one holds `marker` (the harness may print its
    /// own text before it on the line); returns the line from the marker on.
    pub(crate) fn expect(&mut self, marker: &str) -> String {
        for line in self.lines.by_ref() {
            let line = line.unwrap();
            self.seen.push(line.clone());
            if let Some(at) = line.find(marker) {
                return line[at..].to_owned();
            }
        }
        panic!(
            "the child ended before printing {marker:?}; it printed {:?}",
            self.seen
        );
    }

    pub(crate) fn kill(&self, s: Signal) {
        let pid = self.proc.id() as libc::pid_t;
        // SAFETY: `kill` has no memory-safety preconditions; `pid` is our
        // child, not yet waited for, so the id is still its own.
        assert_eq!(unsafe { libc::kill(pid, s.number()) }, 0, "kill {s:?}");
    }

    /// Every line read so far.
    pub(crate) fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Waits for the child to end; its status and standard error (the rest
    /// of its standard output is in [`seen`](Child::seen) then).
    pub(crate) fn finish(&mut self) -> (ExitStatus, String) {
        for line in self.lines.by_ref() {
            self.seen.push(line.unwrap());
        }
        let status = self.proc.wait().unwrap();
        let stderr = self
            .stderr
            .take()
            .map_or_else(String::new, |h| h.join().unwrap());
        (status, stderr)
    }
}
