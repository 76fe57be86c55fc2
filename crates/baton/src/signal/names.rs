//! [`Signal`]: the signals a program can be notified of, their numbers and
//! their names (Go's, for `Display`; the C macro's, for `Debug`).
//!
//! Only signals that arrive from outside the running code are here: not the
//! ones the kernel raises for a fault of the instruction being run
//! (`SIGSEGV`, `SIGBUS`, `SIGFPE`, `SIGILL`, `SIGTRAP`, `SIGSYS`) nor the two
//! that cannot be caught (`SIGKILL`, `SIGSTOP`), nor `SIGABRT` (raised by
//! `abort`, which ends the process whatever a handler does). Go lets
//! `signal.Notify` name those and then ignores what cannot work; here they
//! cannot be named, so every [`Signal`] is one that [`notify`](super::notify)
//! can really deliver.

use core::fmt;

/// A signal that [`notify`](super::notify) can deliver: `SIGINT`,
/// `SIGTERM`, `SIGHUP`, ... (the constants of this module).
///
/// Only signals that come from outside the running code are here: not the
/// ones the kernel raises for a fault of the instruction being run
/// (`SIGSEGV`, `SIGBUS`, `SIGFPE`, `SIGILL`, `SIGTRAP`, `SIGSYS`), not the two
/// that cannot be caught (`SIGKILL`, `SIGSTOP`), and not `SIGABRT` (raised
/// by `abort`, which ends the process whatever a handler does). Go lets
/// `signal.Notify` name those and then ignores what cannot work; here they
/// cannot be named, so every `Signal` is one that can really be delivered.
///
/// `Display` gives Go's name ("interrupt", "terminated", as Go's
/// `os.Signal.String`), `Debug` the C name (`SIGINT`).
///
/// ```
/// use baton::signal::{Signal, SIGINT, SIGTERM};
///
/// assert_eq!(SIGINT.to_string(), "interrupt");
/// assert_eq!(format!("{SIGTERM:?}"), "SIGTERM");
/// assert_eq!(SIGTERM.number(), 15);
/// assert_eq!(Signal::from_number(2), Some(SIGINT));
/// assert_eq!(Signal::from_number(9), None); // SIGKILL cannot be caught
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Signal(libc::c_int);

macro_rules! signals {
    ($($(#[$doc:meta])* $name:ident = $go:literal;)*) => {
        $(
            $(#[$doc])*
            pub const $name: Signal = Signal(libc::$name);
        )*

        /// Every signal [`notify`](super::notify) can deliver, in number order.
        const TABLE: &[(Signal, &str, &str)] = &[$(($name, stringify!($name), $go)),*];
    };
}

signals! {
    /// Hang-up: the controlling terminal went away; by convention, "reload
    /// your configuration" for a daemon.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGHUP.to_string(), "hangup");
    /// ```
    SIGHUP = "hangup";
    /// Interrupt: Ctrl-C in a terminal (Go's `os.Interrupt`).
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGINT.to_string(), "interrupt");
    /// ```
    SIGINT = "interrupt";
    /// Quit: Ctrl-\ in a terminal. baton's runtime prints a goroutine dump
    /// on it (see [`Builder::dump_on_sigquit`](crate::runtime::Builder::dump_on_sigquit)).
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGQUIT.to_string(), "quit");
    /// ```
    SIGQUIT = "quit";
    /// User-defined signal 1.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGUSR1.to_string(), "user defined signal 1");
    /// ```
    SIGUSR1 = "user defined signal 1";
    /// User-defined signal 2.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGUSR2.to_string(), "user defined signal 2");
    /// ```
    SIGUSR2 = "user defined signal 2";
    /// A write to a pipe or socket nobody reads. Rust programs start with it
    /// ignored (writes fail with `BrokenPipe` instead).
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGPIPE.to_string(), "broken pipe");
    /// ```
    SIGPIPE = "broken pipe";
    /// An `alarm(2)` timer expired.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGALRM.to_string(), "alarm clock");
    /// ```
    SIGALRM = "alarm clock";
    /// Terminate: what `kill` sends by default, and what service managers
    /// send to stop a program.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGTERM.to_string(), "terminated");
    /// ```
    SIGTERM = "terminated";
    /// A child process stopped or exited.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGCHLD.to_string(), "child exited");
    /// ```
    SIGCHLD = "child exited";
    /// The process was continued after a stop.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGCONT.to_string(), "continued");
    /// ```
    SIGCONT = "continued";
    /// Stop: Ctrl-Z in a terminal.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGTSTP.to_string(), "stopped");
    /// ```
    SIGTSTP = "stopped";
    /// A background process read from its terminal.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGTTIN.to_string(), "stopped (tty input)");
    /// ```
    SIGTTIN = "stopped (tty input)";
    /// A background process wrote to its terminal.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGTTOU.to_string(), "stopped (tty output)");
    /// ```
    SIGTTOU = "stopped (tty output)";
    /// Out-of-band data arrived on a socket.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGURG.to_string(), "urgent I/O condition");
    /// ```
    SIGURG = "urgent I/O condition";
    /// The CPU time limit (`RLIMIT_CPU`) was reached.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGXCPU.to_string(), "CPU time limit exceeded");
    /// ```
    SIGXCPU = "CPU time limit exceeded";
    /// The file size limit (`RLIMIT_FSIZE`) was reached.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGXFSZ.to_string(), "file size limit exceeded");
    /// ```
    SIGXFSZ = "file size limit exceeded";
    /// A virtual (`ITIMER_VIRTUAL`) timer expired.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGVTALRM.to_string(), "virtual timer expired");
    /// ```
    SIGVTALRM = "virtual timer expired";
    /// A profiling (`ITIMER_PROF`) timer expired.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGPROF.to_string(), "profiling timer expired");
    /// ```
    SIGPROF = "profiling timer expired";
    /// The terminal window changed size.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGWINCH.to_string(), "window changed");
    /// ```
    SIGWINCH = "window changed";
    /// I/O is possible on a descriptor set up for `O_ASYNC`.
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGIO.to_string(), "I/O possible");
    /// ```
    SIGIO = "I/O possible";
}

impl Signal {
    /// Every signal this module knows, in number order: what
    /// [`notify`](super::notify) relays when given an empty list.
    ///
    /// ```
    /// use baton::signal::{Signal, SIGINT};
    /// assert!(Signal::all().any(|s| s == SIGINT));
    /// assert!(Signal::all().all(|s| Signal::from_number(s.number()) == Some(s)));
    /// ```
    pub fn all() -> impl Iterator<Item = Signal> {
        TABLE.iter().map(|&(s, _, _)| s)
    }

    /// The signal with this number, if it is one [`notify`](super::notify)
    /// can deliver (see [`Signal`] for the ones it cannot).
    ///
    /// ```
    /// use baton::signal::{Signal, SIGHUP};
    /// assert_eq!(Signal::from_number(1), Some(SIGHUP));
    /// assert_eq!(Signal::from_number(11), None); // SIGSEGV: a fault, not a message
    /// assert_eq!(Signal::from_number(-1), None);
    /// ```
    pub fn from_number(number: i32) -> Option<Signal> {
        Signal::all().find(|s| s.0 == number)
    }

    /// The signal's number (`libc::SIGINT` and so on).
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGINT.number(), 2);
    /// ```
    pub const fn number(self) -> i32 {
        self.0
    }

    /// The C name, as `SIGINT` (also what `Debug` prints).
    ///
    /// ```
    /// assert_eq!(baton::signal::SIGUSR1.name(), "SIGUSR1");
    /// ```
    pub fn name(self) -> &'static str {
        self.entry().1
    }

    fn entry(self) -> &'static (Signal, &'static str, &'static str) {
        TABLE
            .iter()
            .find(|e| e.0 == self)
            .expect("every Signal value comes from the table")
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.entry().2)
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
