//! [`check_leaks`]: run a body and assert that every goroutine it started
//! has finished, like Go's `go.uber.org/goleak`.
//!
//! The body runs as the main goroutine of a runtime of its own, so every
//! goroutine it starts with [`go`](super::go) (and every goroutine those
//! start) is that runtime's: nothing else in the process is counted, and
//! tests that run in parallel do not see each other's goroutines. After
//! the body returns, the check waits up to a grace period
//! ([`LeakCheck::grace`], 5 s by default) for the runtime's live goroutine
//! count to reach zero, as goleak retries: a stage that was told to stop
//! needs a moment to see it. Then it reports the goroutines still alive
//! with the runtime's [`dump`](super::dump()) lines, which name each one's
//! spawn site and what it waits on (`chan receive`, `select`, `sleep`, ...).
//!
//! What it cannot see: goroutines the body starts on another runtime
//! (`Runtime::go` on one built elsewhere) and plain threads. A leaked
//! goroutine stays parked when the check's runtime is dropped: its stack is
//! leaked, as the runtime's drop explains on stderr. A leaked goroutine
//! that spins without ever parking or yielding would keep its worker busy
//! and the drop waiting for it.

use core::fmt;
use std::time::{Duration, Instant};

use super::Builder;

/// How long [`check_leaks`] waits, by default, for the body's goroutines
/// to finish after the body has returned.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(5);

/// The first pause between two looks at the live count; doubled up to
/// [`POLL_MAX`]. Short, because a stage usually stops within microseconds
/// of its context's cancel.
const POLL_MIN: Duration = Duration::from_micros(100);
/// The longest pause between two looks.
const POLL_MAX: Duration = Duration::from_millis(20);

/// Goroutines still alive after [`LeakCheck::try_run`]'s body returned and
/// the grace period passed: one dump line each.
///
/// ```
/// use std::time::Duration;
/// use baton::runtime::LeakCheck;
///
/// let leaks = LeakCheck::new()
///     .grace(Duration::from_millis(10))
///     .try_run(|| {
///         let (tx, rx) = baton::chan::bounded::<()>(0);
///         baton::go(move || { let _ = rx.recv(); }); // waits forever
///         std::mem::forget(tx);
///     })
///     .unwrap_err();
/// assert_eq!(leaks.goroutines().len(), 1);
/// assert!(leaks.to_string().contains("[chan receive"), "{leaks}");
/// ```
#[derive(Clone, Debug)]
pub struct Leaks {
    lines: Vec<String>,
    grace: Duration,
}

impl Leaks {
    /// The leaked goroutines, one dump line each: `goroutine ID [wait
    /// reason, age]: spawned at FILE:LINE:COL, worker W`.
    ///
    /// ```
    /// use baton::runtime::LeakCheck;
    /// let r = LeakCheck::new().try_run(|| ());
    /// assert!(r.is_ok());
    /// ```
    pub fn goroutines(&self) -> &[String] {
        &self.lines
    }
}

impl fmt::Display for Leaks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} goroutine(s) still running {:?} after the body returned:",
            self.lines.len(),
            self.grace
        )?;
        for l in &self.lines {
            writeln!(f, "  {l}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Leaks {}

/// A leak check with its settings (see the module docs of
/// [`check_leaks`]).
///
/// ```
/// use std::time::Duration;
/// use baton::runtime::LeakCheck;
///
/// let sum = LeakCheck::new()
///     .workers(1)
///     .grace(Duration::from_secs(1))
///     .run(|| (1..=3).map(|i| baton::go(move || i)).map(|h| h.join().unwrap()).sum::<i32>());
/// assert_eq!(sum, 6);
/// ```
#[derive(Clone, Debug)]
pub struct LeakCheck {
    workers: usize,
    grace: Duration,
}

impl Default for LeakCheck {
    fn default() -> Self {
        Self::new()
    }
}

impl LeakCheck {
    /// Two workers, a grace of [`DEFAULT_GRACE`].
    ///
    /// ```
    /// assert_eq!(baton::runtime::LeakCheck::new().run(|| 1), 1);
    /// ```
    pub fn new() -> Self {
        LeakCheck {
            workers: 2,
            grace: DEFAULT_GRACE,
        }
    }

    /// The number of workers of the check's runtime (one makes every
    /// goroutine share a thread, which shows a stage that blocks its
    /// worker).
    ///
    /// ```
    /// assert_eq!(baton::runtime::LeakCheck::new().workers(1).run(|| 2), 2);
    /// ```
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }

    /// How long to wait for the body's goroutines after it returns.
    ///
    /// ```
    /// use std::time::Duration;
    /// let c = baton::runtime::LeakCheck::new().grace(Duration::from_millis(100));
    /// assert_eq!(c.run(|| 3), 3);
    /// ```
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Runs `body` as the main goroutine of a fresh runtime and returns its
    /// value, or the goroutines it left running.
    ///
    /// # Panics
    ///
    /// If `body` panics (the panic is resumed), or deadlocks (see
    /// [`Runtime::run`](super::Runtime::run)).
    ///
    /// ```
    /// let r = baton::runtime::LeakCheck::new().try_run(|| baton::go(|| 5).join().unwrap());
    /// assert_eq!(r.unwrap(), 5);
    /// ```
    #[track_caller]
    pub fn try_run<F, T>(&self, body: F) -> Result<T, Leaks>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let rt = Builder::new()
            .workers(self.workers)
            .name("leak-check")
            .build();
        let out = rt.run(body);
        let deadline = Instant::now() + self.grace;
        let mut pause = POLL_MIN;
        // A bounded wait: it ends at the deadline whatever the goroutines do.
        while rt.stats().live_goroutines > 0 {
            let now = Instant::now();
            if now >= deadline {
                let lines = rt
                    .dump()
                    .lines()
                    .filter(|l| l.starts_with("goroutine ") || l.starts_with("worker "))
                    .map(str::to_owned)
                    .collect::<Vec<_>>();
                if lines.is_empty() {
                    // They finished between the count and the dump.
                    break;
                }
                return Err(Leaks {
                    lines,
                    grace: self.grace,
                });
            }
            crate::time::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(POLL_MAX);
        }
        Ok(out)
    }

    /// As [`try_run`](Self::try_run), panicking with the leaked
    /// goroutines' dump lines if there are any.
    ///
    /// # Panics
    ///
    /// If goroutines are left running, if `body` panics, or deadlocks.
    ///
    /// ```should_panic
    /// baton::runtime::LeakCheck::new()
    ///     .grace(std::time::Duration::from_millis(10))
    ///     .run(|| drop(baton::go(|| baton::time::sleep(std::time::Duration::from_secs(60)))));
    /// ```
    #[track_caller]
    pub fn run<F, T>(&self, body: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.try_run(body) {
            Ok(v) => v,
            Err(leaks) => panic!("goroutine leak: {leaks}"),
        }
    }
}

/// Runs `body` as the main goroutine of a fresh two-worker runtime, and
/// panics, listing them with their spawn sites and wait reasons, if
/// goroutines it started are still running [`DEFAULT_GRACE`] after it
/// returned (Go's `goleak.VerifyNone`). Returns the body's value.
///
/// ```
/// use baton::{chan, runtime::check_leaks};
///
/// let total = check_leaks(|| {
///     let (tx, rx) = chan::bounded(4);
///     baton::go(move || (1..=4).for_each(|i| tx.send(i).unwrap()));
///     rx.iter().sum::<i32>() // the sender returns, the channel closes
/// });
/// assert_eq!(total, 10);
/// ```
#[track_caller]
pub fn check_leaks<F, T>(body: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    LeakCheck::new().run(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chan;

    #[test]
    fn a_parked_goroutine_is_reported_with_its_spawn_site() {
        let leaks = LeakCheck::new()
            .grace(Duration::from_millis(20))
            .try_run(|| {
                let (tx, rx) = chan::bounded::<u8>(0);
                let _ = crate::go(move || rx.recv());
                std::mem::forget(tx);
            })
            .unwrap_err();
        assert_eq!(leaks.goroutines().len(), 1, "{leaks}");
        let l = &leaks.goroutines()[0];
        assert!(l.contains("[chan receive"), "{l}");
        assert!(l.contains(file!()), "{l}");
    }

    #[test]
    fn goroutines_that_finish_within_the_grace_are_not_leaks() {
        let n = LeakCheck::new().run(|| {
            for _ in 0..10 {
                drop(crate::go(|| crate::time::sleep(Duration::from_millis(30))));
            }
            7
        });
        assert_eq!(n, 7);
    }

    #[test]
    fn a_panicking_body_panics_the_check() {
        let r = std::panic::catch_unwind(|| check_leaks(|| panic!("boom")));
        let p = r.unwrap_err();
        assert_eq!(p.downcast_ref::<&str>(), Some(&"boom"));
    }
}
