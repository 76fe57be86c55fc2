//! `--load N`: busy background processes, so that every case can be
//! measured on a quiet machine and on a loaded one in the same run.
//!
//! A machine in production is rarely quiet, and a spinning implementation
//! can collapse when the thread it waits for is descheduled: a hand-off
//! that takes 3 us on a quiet machine once took 2 ms beside a compiler.
//! With `--load N` the lab starts N copies of itself running the hidden
//! `burn` command (a loop of arithmetic that never sleeps, never touches
//! memory beyond a register, and makes no system call) before it measures
//! anything, and each round of a case runs every implementation twice:
//! once with the burners stopped (`SIGSTOP`: quiet) and once with them
//! running (`SIGCONT`: loaded), so both figures of a row come from the same
//! minutes of the same machine and their ratio is the row's
//! `loaded_vs_quiet`.
//!
//! ## Niceness
//!
//! Some of the machine's other work has lower priority than the measured
//! program (a batch job, `nice cargo build`) and some has the same. By
//! default ([`Nice::Half`]) the first `ceil(N/2)` burners run at normal
//! priority and the rest at nice [`NICE`]; `--load-nice all|none` makes
//! them all niced or none.
//!
//! ## The burners die with the lab
//!
//! - The lab kills and reaps them when its [`Load`] is dropped: at the end
//!   of the run, and when a panic unwinds through [`crate::lab::run`].
//! - On Linux each burner asks the kernel for `SIGKILL` when its parent
//!   dies (`prctl(PR_SET_PDEATHSIG)`), which covers a lab killed outright
//!   (`SIGKILL`, an abort). The signal is tied to the *thread* that spawned
//!   the child, so [`Load::start`] must be called from the lab's main
//!   thread, which lives as long as the process. A burner whose parent
//!   died before the `prctl` took effect sees a different parent id and
//!   exits at once.
//! - Ctrl-C in a terminal sends `SIGINT` to the whole foreground process
//!   group, burners included (they do not ignore it).
//! - Elsewhere, and as a last resort, each burner looks at its parent id
//!   every few milliseconds and exits when it changed.
//!
//! A stopped burner (`SIGSTOP`) still dies on `SIGKILL`, so none of this
//! depends on whether the lab was measuring quiet or loaded when it ended.

use std::hint::black_box;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The niceness of the niced burners (0 is normal, 19 the lowest priority).
pub(crate) const NICE: i32 = 10;

/// The longest [`Load::pause`] or [`Load::resume`] waits for one burner to
/// report that it stopped or continued (it takes microseconds).
const SETTLE: Duration = Duration::from_secs(1);

/// Which burners run niced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Nice {
    /// The first half (rounded up) at normal priority, the rest niced.
    #[default]
    Half,
    /// Every busy process niced.
    All,
    /// No busy process niced.
    None,
}

impl Nice {
    /// Whether burner `i` of `n` runs niced.
    pub(crate) fn niced(self, i: usize, n: usize) -> bool {
        match self {
            Nice::Half => i >= n.div_ceil(2),
            Nice::All => true,
            Nice::None => false,
        }
    }
}

/// Running burner processes; dropping it kills and reaps them.
#[derive(Debug)]
pub(crate) struct Load {
    children: Vec<Child>,
    /// Whether the burners are running (`SIGCONT`) rather than stopped.
    running: bool,
}

impl Load {
    /// Starts `n` burners (stopped: call [`resume`](Self::resume) to load
    /// the machine). Call it from the main thread (see the module docs).
    ///
    /// Each burner is stopped only after it has said it is ready (one byte
    /// on its standard output, written once its death signal and niceness
    /// are set): a burner stopped before it ran that far would keep
    /// neither, and would outlive a lab that is killed.
    pub(crate) fn start(n: usize, nice: Nice) -> Result<Load, String> {
        let exe = std::env::current_exe()
            .map_err(|e| format!("--load: cannot find the lab's executable: {e}"))?;
        let mut load = Load {
            children: Vec::with_capacity(n),
            running: true,
        };
        for i in 0..n {
            let child = Command::new(&exe)
                .args(["burn", "--parent", &std::process::id().to_string()])
                .args([
                    "--nice",
                    &if nice.niced(i, n) { NICE } else { 0 }.to_string(),
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                // `load` is dropped on the way out: the ones started die.
                .map_err(|e| format!("--load: could not start a busy process: {e}"))?;
            load.children.push(child);
        }
        for c in &mut load.children {
            let mut ready = [0u8; 1];
            c.stdout
                .as_mut()
                .expect("piped")
                .read_exact(&mut ready)
                .map_err(|e| format!("--load: a busy process did not start: {e}"))?;
        }
        load.pause();
        Ok(load)
    }

    /// How many burners there are.
    pub(crate) fn count(&self) -> usize {
        self.children.len()
    }

    /// Stops the burners (quiet) and waits until each has stopped.
    pub(crate) fn pause(&mut self) {
        if self.running {
            self.signal(libc::SIGSTOP, libc::WUNTRACED);
            self.running = false;
        }
    }

    /// Lets the burners run (loaded) and waits until each is running.
    pub(crate) fn resume(&mut self) {
        if !self.running {
            self.signal(libc::SIGCONT, libc::WCONTINUED);
            self.running = true;
        }
    }

    /// Sends `sig` to every burner, then waits (up to [`SETTLE`] each) for
    /// the state change that `flag` (`WUNTRACED` or `WCONTINUED`) reports,
    /// so that a measurement that follows sees the machine in the state it
    /// asked for. The wait is bounded because someone else may have
    /// stopped or continued a burner already (Ctrl-Z and `fg` signal the
    /// whole process group), and then no report comes.
    fn signal(&self, sig: libc::c_int, flag: libc::c_int) {
        for c in &self.children {
            let pid = c.id() as libc::pid_t;
            // SAFETY: `kill` has no memory-safety preconditions; `pid` is
            // our own child, not yet reaped (only `Drop` reaps it), so the
            // id cannot name another process.
            unsafe { libc::kill(pid, sig) };
        }
        for c in &self.children {
            let pid = c.id() as libc::pid_t;
            let start = Instant::now();
            loop {
                let mut status = 0;
                // SAFETY: `waitpid` writes only to `status`, a live local.
                // With `WUNTRACED`/`WCONTINUED` it reports (without
                // reaping) a stop or a continue; a burner that died instead
                // is reaped here (non-zero), and `Drop`'s wait on it then
                // fails harmlessly.
                let r = unsafe { libc::waitpid(pid, &mut status, flag | libc::WNOHANG) };
                if r != 0 || start.elapsed() > SETTLE {
                    break;
                }
                std::thread::sleep(Duration::from_micros(100));
            }
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        for c in &mut self.children {
            // SIGKILL ends a stopped process too; errors mean it is gone.
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The burner's side (the hidden `burn` command): dies with `parent`,
/// lowers its priority by `nice`, and keeps one core busy until killed.
pub(crate) fn burn(parent: u32, nice: i32) -> ! {
    #[cfg(target_os = "linux")]
    // SAFETY: `prctl(PR_SET_PDEATHSIG, sig)` takes plain integers and only
    // sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    }
    if std::os::unix::process::parent_id() != parent {
        std::process::exit(0); // the lab is already gone
    }
    if nice > 0 {
        // SAFETY: `nice` has no memory-safety preconditions; a failure
        // (errno) leaves the priority as it was, which is harmless.
        unsafe { libc::nice(nice) };
    }
    // Ready: the lab may stop us now (see `Load::start`).
    let mut out = std::io::stdout();
    if out.write_all(b"r").and_then(|()| out.flush()).is_err() {
        std::process::exit(0); // nobody listens: the lab is gone
    }
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    loop {
        // About a millisecond of work between looks at the parent id.
        for _ in 0..1_000_000 {
            x = black_box(x.rotate_left(5).wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 1);
        }
        if std::os::unix::process::parent_id() != parent {
            std::process::exit(0);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn half_nices_the_second_half() {
        let niced = |nice: Nice, n| (0..n).filter(|&i| nice.niced(i, n)).count();
        assert_eq!(niced(Nice::Half, 1), 0);
        assert_eq!(niced(Nice::Half, 2), 1);
        assert_eq!(niced(Nice::Half, 3), 1);
        assert_eq!(niced(Nice::Half, 4), 2);
        assert!(Nice::Half.niced(1, 2) && !Nice::Half.niced(0, 2));
        assert_eq!(niced(Nice::All, 3), 3);
        assert_eq!(niced(Nice::None, 3), 0);
    }
}
