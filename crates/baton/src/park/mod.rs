//! Layer 1: the one way anything in baton blocks.
//!
//! Channels, locks and timers call `park`, never the scheduler or an OS
//! primitive directly, so each works the same from a goroutine and from a
//! plain thread.
//!
//! # The park contract
//!
//! - [`current`] gives an [`Unparker`] for the running goroutine or thread;
//!   it is `Clone + Send + Sync` and may be used from anywhere, any number of
//!   times, also after its target has finished (then it does nothing).
//! - [`park`] suspends the caller until a matching [`Unparker::unpark`]. A
//!   wake that arrives **before** the park is not lost: each thread or
//!   goroutine has one *token*, as with `std::thread::park`; `unpark` makes it
//!   available, `park` consumes it (returning at once if it is already
//!   there). Several wakes before one park leave one token.
//! - **Spurious wake-ups are allowed**: `park` may return with no matching
//!   `unpark` (e.g. a token left over from an earlier wait that finished
//!   another way). Every caller re-checks its own condition in a loop.
//! - [`park_deadline`] (and [`park_timeout`]) return `true` when they timed
//!   out, `false` when they consumed a token.
//! - Inside a goroutine, parking switches to the scheduler; it never blocks
//!   the worker thread (see [`hook`] for what the runtime must provide).
//! - Memory: everything the waker wrote before `unpark` is visible to the
//!   parked side once its park returns on that token (Release/Acquire on the
//!   token). Callers still publish their *condition* with their own atomics,
//!   because a spurious return carries no such guarantee.
//!
//! [`held`] gives the caller's identity as a lock holder (its goroutine, or
//! its thread outside one) and, in debug builds, the marker of what each
//! holder holds, which the primitives use to turn a certain self-deadlock
//! into a panic with a message.
//!
//! Most code does not call these directly but waits through a
//! [`WaitQueue`](wait_queue::WaitQueue), which adds FIFO order, direct
//! hand-off and timed-out-waiter removal on top.
//!
//! How long a waiter spins (or yields) before it parks is decided in one
//! place, [`spin`], where every policy is named with the measurements that
//! chose it.
//!
//! # The thread implementation, and why this one
//!
//! Outside a goroutine, a thread parks on baton's own futex parker
//! ([`thread`]: one `u32` per thread, std's algorithm; `std::thread::park`
//! on targets without a futex). Measured on this project's 2-core KVM guest
//! (release build, a throwaway timing program, 3 runs):
//!
//! | operation                                   | own futex parker | `std::thread::park` |
//! |---------------------------------------------|------------------|---------------------|
//! | cross-thread park/unpark ping-pong (round trip) | 5.3-7.5 us   | 5.4-7.1 us          |
//! | `unpark` then `park` with the token present | 5.5-7.0 ns       | 12-15 ns            |
//! | get a handle (`current()` vs `thread::current()`) | 4.3-6.6 ns | 4.4-10 ns           |
//!
//! The blocking path is the same kernel futex either way, so the sleeping
//! figures are equal within noise; the own parker is twice as fast when the
//! token is already there (the common case for a waiter that was handed a
//! lock while it was still spinning). It was chosen for three reasons
//! besides that: the token is baton's alone (std's token is shared with
//! `std::sync::mpsc` and any user code that calls `thread::park`, each of
//! which would see baton's wakes as spurious and vice versa), a deadline park
//! knows exactly whether it consumed a token, and the same state machine
//! runs under loom with loom's park as its blocking backend.
//!
//! # Under loom
//!
//! Loom has no clock: [`park_deadline`] never blocks, and reports "woken"
//! exactly when a token was (or just became) available, "timed out"
//! otherwise. Loom's interleavings thus explore both outcomes, including a
//! wake racing with the timeout; the deadline's value is ignored.
//!
//! # Thread-local destruction
//!
//! The free functions use the thread's parker from a thread-local and panic
//! with a clear message if it has been destroyed (parking from inside a
//! thread-local destructor). A [`Parker`] taken with [`Parker::current`]
//! works there too (it makes a private parker): the wait queue uses that,
//! so every baton primitive can be used from thread-local destructors.

pub(crate) mod held;
pub(crate) mod hook;
mod reason;
pub(crate) mod spin;
pub(crate) mod spin_lock;
mod thread;
pub(crate) mod wait_queue;

pub(crate) use reason::{wait_reason, WaitReason};

use core::fmt;
use core::marker::PhantomData;
use std::time::{Duration, Instant};

use crate::shim::{self, Arc};
use hook::{ParkHook, TaskUnpark};
use thread::ThreadParker;

shim::thread_local! {
    /// This thread's parker; created on first use.
    static PARKER: Arc<ThreadParker> = Arc::new(ThreadParker::new());
}

const TLS_GONE: &str = "baton::park: the thread's parker is gone (parking from a thread-local \
     destructor); use park::Parker::current() there";

/// An [`Unparker`] for the running goroutine, or the current thread when not
/// in a goroutine.
#[cfg_attr(loom, allow(dead_code))] // its users are not built under loom
pub(crate) fn current() -> Unparker {
    match hook::current() {
        Some(h) => Unparker(UnparkerKind::Task(h.unparker())),
        None => Unparker(UnparkerKind::Thread(
            PARKER.try_with(Arc::clone).expect(TLS_GONE),
        )),
    }
}

/// Whether the caller is a goroutine (parking switches to the scheduler)
/// rather than a plain thread.
#[inline]
pub(crate) fn in_goroutine() -> bool {
    hook::current().is_some()
}

/// Parks the running goroutine or thread until its token is available (see
/// the module docs: a wake before the park is not lost; may return
/// spuriously).
pub(crate) fn park() {
    match hook::current() {
        Some(h) => h.park(),
        None => PARKER.try_with(|p| p.park()).expect(TLS_GONE),
    }
}

/// As [`park`], giving up at `deadline`. Returns `true` if it timed out,
/// `false` if it consumed a token.
pub(crate) fn park_deadline(deadline: Instant) -> bool {
    match hook::current() {
        Some(h) => h.park_deadline(deadline),
        None => PARKER
            .try_with(|p| p.park_deadline(deadline))
            .expect(TLS_GONE),
    }
}

/// As [`park_deadline`] with `deadline = now + timeout` (an unrepresentable
/// deadline parks with none, and then never reports a time-out).
#[cfg_attr(loom, allow(dead_code))] // its users are not built under loom
pub(crate) fn park_timeout(timeout: Duration) -> bool {
    match Instant::now().checked_add(timeout) {
        Some(deadline) => park_deadline(deadline),
        None => {
            park();
            false
        }
    }
}

/// The caller's own parking identity, taken once and used for one wait (or
/// many): parks the goroutine or thread that took it. Tied to that thread
/// (`!Send`).
pub(crate) struct Parker {
    kind: ParkerKind,
    _not_send: PhantomData<*const ()>,
}

enum ParkerKind {
    Thread(Arc<ThreadParker>),
    Hook(&'static dyn ParkHook),
}

impl Parker {
    /// The running goroutine's parker, or the current thread's.
    pub(crate) fn current() -> Self {
        let kind = match hook::current() {
            Some(h) => ParkerKind::Hook(h),
            // During thread-local destruction, a private parker: nobody else
            // can reach it except through `unparker()`, which is all a wait
            // needs.
            None => ParkerKind::Thread(
                PARKER
                    .try_with(Arc::clone)
                    .unwrap_or_else(|_| Arc::new(ThreadParker::new())),
            ),
        };
        Self {
            kind,
            _not_send: PhantomData,
        }
    }

    /// The [`Unparker::key`] of the handles this parker's
    /// [`unparker`](Self::unparker) hands out, found without making one
    /// (one dynamic call for a goroutine, none for a thread); `0` when the
    /// hook cannot tell, which matches no handle.
    #[cfg(not(loom))]
    #[inline]
    pub(crate) fn key(&self) -> usize {
        match &self.kind {
            ParkerKind::Thread(p) => Arc::as_ptr(p) as usize,
            ParkerKind::Hook(h) => h.current_key(),
        }
    }

    /// Whether this parks an OS thread (not a goroutine): only then may a
    /// waiter spin before parking, since a spinning goroutine would keep
    /// its worker from running the goroutine it waits for.
    pub(crate) fn is_thread(&self) -> bool {
        matches!(self.kind, ParkerKind::Thread(_))
    }

    /// A handle that wakes this parker's owner.
    pub(crate) fn unparker(&self) -> Unparker {
        Unparker(match &self.kind {
            ParkerKind::Thread(p) => UnparkerKind::Thread(Arc::clone(p)),
            ParkerKind::Hook(h) => UnparkerKind::Task(h.unparker()),
        })
    }

    /// See [`park`].
    pub(crate) fn park(&self) {
        match &self.kind {
            ParkerKind::Thread(p) => p.park(),
            ParkerKind::Hook(h) => h.park(),
        }
    }

    /// See [`park_deadline`]; `true` = timed out.
    pub(crate) fn park_deadline(&self, deadline: Instant) -> bool {
        match &self.kind {
            ParkerKind::Thread(p) => p.park_deadline(deadline),
            ParkerKind::Hook(h) => h.park_deadline(deadline),
        }
    }
}

impl fmt::Debug for Parker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ParkerKind::Thread(p) => f.debug_tuple("Parker").field(p).finish(),
            ParkerKind::Hook(_) => f.write_str("Parker(goroutine)"),
        }
    }
}

/// Wakes one goroutine or thread: makes its token available (see the
/// module docs). Cheap to clone; usable from any thread.
#[derive(Clone)]
pub(crate) struct Unparker(UnparkerKind);

#[derive(Clone)]
enum UnparkerKind {
    Thread(Arc<ThreadParker>),
    // std's Arc, not the shim's: it holds the runtime's object as a trait
    // object, which loom's Arc cannot on stable Rust, and the reference
    // count is not part of any protocol loom checks here.
    Task(std::sync::Arc<dyn TaskUnpark>),
}

impl Unparker {
    /// The address of what this wakes (a thread's parker, or the
    /// goroutine's header); never zero. Two handles with the same key wake
    /// the same thread or goroutine: the handle holds its target alive, so
    /// no other object can have that address meanwhile. Equal to
    /// [`Parker::key`] of the parker it wakes: a pooled channel waiter
    /// whose handle wakes the caller is found by this one comparison and
    /// reused as it is (`chan::waiter`), with no reference-count traffic.
    #[cfg(not(loom))]
    #[inline]
    pub(crate) fn key(&self) -> usize {
        match &self.0 {
            UnparkerKind::Thread(p) => Arc::as_ptr(p) as usize,
            UnparkerKind::Task(t) => std::sync::Arc::as_ptr(t).cast::<()>() as usize,
        }
    }

    /// Whether this wakes the caller: the goroutine running on this thread,
    /// or, where none runs, this thread.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn is_current(&self) -> bool {
        self.key() == Parker::current().key()
    }

    /// Makes the target's token available, waking it if it is parked.
    #[inline]
    pub(crate) fn unpark(&self) {
        match &self.0 {
            UnparkerKind::Thread(p) => p.unpark(),
            UnparkerKind::Task(t) => t.unpark(),
        }
    }
}

impl fmt::Debug for Unparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            UnparkerKind::Thread(p) => f.debug_tuple("Unparker").field(p).finish(),
            UnparkerKind::Task(t) => f.debug_tuple("Unparker").field(t).finish(),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    #[test]
    fn wake_before_park_is_not_lost() {
        current().unpark();
        current().unpark(); // two wakes leave one token
        park(); // returns at once
        assert!(
            park_timeout(Duration::from_millis(1)),
            "the second wake must not have left a second token"
        );
    }

    #[test]
    fn cross_thread_wake() {
        let flag = std::sync::Arc::new(AtomicBool::new(false));
        let me = current();
        let f = flag.clone();
        let t = std::thread::spawn(move || {
            f.store(true, Ordering::Release);
            me.unpark();
        });
        while !flag.load(Ordering::Acquire) {
            park();
        }
        t.join().unwrap();
    }

    #[test]
    fn deadline_reports_timeout_and_wake() {
        let start = Instant::now();
        assert!(park_deadline(start + Duration::from_millis(5)));
        assert!(Instant::now() >= start + Duration::from_millis(5));
        let me = current();
        let t = std::thread::spawn(move || me.unpark());
        t.join().unwrap();
        assert!(!park_deadline(Instant::now() + Duration::from_secs(60)));
        assert!(park_timeout(Duration::ZERO), "no token left");
    }

    #[test]
    fn parker_survives_thread_local_destruction() {
        struct OnExit;
        impl Drop for OnExit {
            fn drop(&mut self) {
                let p = Parker::current();
                p.unparker().unpark();
                p.park();
                assert!(p.park_deadline(Instant::now()));
            }
        }
        std::thread_local!(static EXIT: OnExit = const { OnExit });
        std::thread::spawn(|| EXIT.with(|_| ())).join().unwrap();
    }

    /// A fake runtime: counts calls, keeps a token in an atomic.
    #[derive(Debug)]
    struct FakeTask {
        unparks: AtomicUsize,
    }
    impl TaskUnpark for FakeTask {
        fn unpark(&self) {
            self.unparks.fetch_add(1, Ordering::SeqCst);
        }
    }
    struct FakeHook {
        task: std::sync::OnceLock<std::sync::Arc<FakeTask>>,
        parks: AtomicUsize,
        deadline_parks: AtomicUsize,
    }
    impl FakeHook {
        fn task(&self) -> &std::sync::Arc<FakeTask> {
            self.task.get_or_init(|| {
                std::sync::Arc::new(FakeTask {
                    unparks: AtomicUsize::new(0),
                })
            })
        }
    }
    impl ParkHook for FakeHook {
        fn unparker(&self) -> std::sync::Arc<dyn TaskUnpark> {
            self.task().clone()
        }
        fn park(&self) {
            self.parks.fetch_add(1, Ordering::SeqCst);
        }
        fn park_deadline(&self, _deadline: Instant) -> bool {
            self.deadline_parks.fetch_add(1, Ordering::SeqCst);
            true
        }
        fn set_wait_reason(&self, reason: WaitReason) -> WaitReason {
            reason
        }
        fn goroutine_id(&self) -> u64 {
            u64::MAX / 2
        }
    }
    static FAKE: FakeHook = FakeHook {
        task: std::sync::OnceLock::new(),
        parks: AtomicUsize::new(0),
        deadline_parks: AtomicUsize::new(0),
    };

    #[test]
    fn callers_go_through_the_installed_hook() {
        {
            let _guard = hook::install(&FAKE);
            current().unpark();
            park();
            assert!(
                park_timeout(Duration::from_secs(3600)),
                "the fake times out"
            );
            let p = Parker::current();
            p.unparker().unpark();
            p.park();
            assert!(format!("{p:?}").contains("goroutine"));
        }
        assert_eq!(FAKE.task().unparks.load(Ordering::SeqCst), 2);
        assert_eq!(FAKE.parks.load(Ordering::SeqCst), 2);
        assert_eq!(FAKE.deadline_parks.load(Ordering::SeqCst), 1);
        // Uninstalled: back to the thread's own parker.
        current().unpark();
        park();
        assert_eq!(FAKE.parks.load(Ordering::SeqCst), 2);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::shim::atomic::{AtomicBool, Ordering};

    /// A wake sent at any point relative to the park (before, during,
    /// after) ends the wait: loom reports a deadlock if one is lost.
    #[test]
    fn loom_park_token_not_lost() {
        loom::model(|| {
            let flag = Arc::new(AtomicBool::new(false));
            let me = current();
            let f = flag.clone();
            let t = loom::thread::spawn(move || {
                f.store(true, Ordering::Release);
                me.unpark();
            });
            while !flag.load(Ordering::Acquire) {
                park();
            }
            t.join().unwrap();
        });
    }

    /// A deadline park that reports "woken" consumed a real token, so the
    /// waker's write is visible; one that timed out leaves any later token
    /// for the next park.
    #[test]
    fn loom_park_deadline_wake_or_timeout() {
        loom::model(|| {
            let flag = Arc::new(AtomicBool::new(false));
            let me = current();
            let f = flag.clone();
            let t = loom::thread::spawn(move || {
                f.store(true, Ordering::Release);
                me.unpark();
            });
            let timed_out = park_deadline(Instant::now());
            if !timed_out {
                assert!(flag.load(Ordering::Acquire), "woken without the wake");
            }
            // Either way the flag's wake is not lost for a later waiter.
            while !flag.load(Ordering::Acquire) {
                park();
            }
            t.join().unwrap();
        });
    }
}
