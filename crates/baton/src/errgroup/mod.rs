//! x/sync's `errgroup`: goroutines working on parts of one task, where the
//! first error cancels the rest.
//!
//! ```
//! use baton::{context, errgroup::Group};
//!
//! let (g, ctx) = Group::with_context(&context::background());
//! let (tx, rx) = baton::chan::bounded(16);
//! for part in 0..4u64 {
//!     let (ctx, tx) = (ctx.clone(), tx.clone());
//!     g.go(move || {
//!         if part == 3 {
//!             return Err("part 3 is broken".into()); // cancels `ctx` for the others
//!         }
//!         tx.send_ctx(&ctx, part * part).map_err(|e| e.to_string())?;
//!         Ok(())
//!     });
//! }
//! drop(tx);
//! let err = g.wait().unwrap_err(); // every member has finished by now
//! assert_eq!(err.to_string(), "part 3 is broken");
//! assert!(ctx.is_done());
//! # drop(rx);
//! ```
//!
//! ## Usage rules
//!
//! - Members run as baton goroutines ([`go`](crate::go)): on the caller's
//!   runtime from a goroutine, on the global runtime from a plain thread.
//!   [`Group::go`] returns at once (unless the limit is reached); the
//!   member's closure must be `Send + 'static`. To borrow from the caller's
//!   stack, use [`scope`].
//! - [`Group::wait`] blocks (parks the goroutine, or the thread) until every
//!   member has finished; then it cancels the group's context and returns
//!   the first error. Call [`go`](Group::go) before `wait`, or from a member
//!   (a member may start more members: the group is [`Clone`]).
//! - With a [limit](Group::set_limit), `go` blocks while that many members
//!   are active (through a baton [`Semaphore`](crate::sync::Semaphore): a
//!   goroutine parks, its worker runs others); [`try_go`](Group::try_go)
//!   never blocks. Change the limit only while no member is active.
//! - Pass the group's context to whatever the members block on
//!   (`send_ctx`, `recv_ctx`, `sleep_ctx`, a `select!` on `ctx.done()`), so
//!   that the first failure stops them promptly: cancellation is a
//!   request, a member that does not look at its context runs to its end.
//!
//! ## Errors
//!
//! The first error a member returns is kept and the others are dropped (Go's
//! `errOnce`). `wait` hands that error to its caller by value, so it returns
//! it **once**: a later `wait` returns `Ok(())` (Go returns the same error
//! again; an `E` such as `Box<dyn Error>` cannot be copied). The group's
//! context is cancelled at the first error, with a [`Failed`] cause that
//! carries the error's message (Go puts the error itself there; here the
//! error value goes to `wait`'s caller, and the cause describes it).
//!
//! ## Panics
//!
//! A member that panics cancels the group's context **at once** (cause:
//! [`Failed`] with [`panicked`](Failed::panicked)), and `wait` re-raises
//! the panic (the first one's payload) after every member has finished, as
//! [`std::thread::scope`] does; the panic message is printed when the panic
//! happens, by the panic hook, as for any panic.
//!
//! x/sync's errgroup propagated panics through `Wait` for a while and then
//! reverted it ([golang/go#53757], and #74275, #74304, #74306), because a
//! panic could stay latent until a late `Wait` — the other goroutines kept
//! going, or blocked forever, in a program already broken, and the panic
//! never surfaced. The immediate cancellation is baton's answer: the other
//! members are asked to stop as soon as one panics, so `wait` comes soon
//! and that is where the panic surfaces. Members that ignore the context
//! still delay it; a group with no context ([`Group::new`]) has nothing to
//! cancel, and its panics surface at `wait` only.
//!
//! [golang/go#53757]: https://github.com/golang/go/issues/53757
//!
//! ## How
//!
//! The group is a [`WaitGroup`](crate::sync::WaitGroup) of active members,
//! an optional [`Semaphore`](crate::sync::Semaphore) for the limit (a member
//! gives its permit back to the semaphore it took it from), and a
//! [`Mutex`](crate::sync::Mutex)-guarded record of the first error and the
//! first panic. It has no atomics of its own: every wait goes through those
//! primitives, which go through `park`, so it works the same from threads
//! and goroutines. A member records its outcome before it leaves the
//! `WaitGroup`, whose release/acquire hand-off makes the record visible to
//! `wait`.

mod scoped;
mod shared;
#[cfg(test)]
mod tests;

pub use scoped::{scope, Scope};

use core::fmt;

use crate::context::{self, Context};
use crate::shim::Arc;
use shared::{Canceller, Shared};

/// The default error type of a [`Group`]: any error, as Go's `error`.
///
/// ```
/// use baton::errgroup::{BoxError, Group};
///
/// fn parse(s: &str) -> Result<u32, BoxError> {
///     Ok(s.parse()?) // any error converts
/// }
/// let g: Group<BoxError> = Group::new();
/// g.go(|| parse("x").map(drop));
/// assert!(g.wait().is_err());
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A group of goroutines working on parts of one task (x/sync's
/// `errgroup.Group`); see the [module docs](self).
///
/// Cheap to clone (one `Arc`): clones are the same group, so a member can
/// start more members. Dropping every clone without [`wait`](Group::wait)
/// leaves the members running; once they have finished too, the group's
/// context is cancelled (its cancel function is dropped).
///
/// ```
/// use baton::errgroup::Group;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
///
/// let g = Group::new();
/// let sum = Arc::new(AtomicU32::new(0));
/// for i in 1..=10 {
///     let sum = sum.clone();
///     g.go(move || {
///         sum.fetch_add(i, Ordering::Relaxed);
///         Ok(())
///     });
/// }
/// g.wait().unwrap();
/// assert_eq!(sum.load(Ordering::Relaxed), 55);
/// ```
///
/// Errors cross goroutines, so they must be `Send`:
///
/// ```compile_fail
/// let g = baton::errgroup::Group::<std::rc::Rc<u8>>::typed();
/// ```
pub struct Group<E = BoxError> {
    shared: Arc<Shared<E>>,
}

impl<E> Clone for Group<E> {
    fn clone(&self) -> Self {
        Group {
            shared: self.shared.clone(),
        }
    }
}

impl<E> fmt::Debug for Group<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

impl<E: Send + 'static> Default for Group<E> {
    /// A group with no context and no limit ([`Group::typed`]).
    ///
    /// ```
    /// let g: baton::errgroup::Group<std::io::Error> = Default::default();
    /// g.go(|| Ok(()));
    /// assert!(g.wait().is_ok());
    /// ```
    fn default() -> Self {
        Group::typed()
    }
}

impl Group {
    /// A group of members returning [`BoxError`], with no context and no
    /// limit (Go's `new(errgroup.Group)`). For another error type, use
    /// [`typed`](Group::typed).
    ///
    /// ```
    /// let g = baton::errgroup::Group::new();
    /// g.go(|| Ok(()));
    /// g.go(|| Err("no".into()));
    /// assert_eq!(g.wait().unwrap_err().to_string(), "no");
    /// ```
    pub fn new() -> Group {
        Group::typed()
    }

    /// A group of members returning [`BoxError`], and a context derived
    /// from `parent` that is cancelled the first time a member fails (an
    /// error or a panic) or the first time [`wait`](Group::wait) returns,
    /// whichever comes first (Go's `errgroup.WithContext`). For another error
    /// type, use [`typed_with_context`](Group::typed_with_context).
    ///
    /// ```
    /// use baton::{context, errgroup::Group};
    ///
    /// let (g, ctx) = Group::with_context(&context::background());
    /// g.go(|| Err("boom".into()));
    /// ctx.done().recv().ok(); // the failure cancelled it
    /// let cause = context::cause(&ctx).unwrap();
    /// assert_eq!(cause.to_string(), "boom");
    /// assert!(g.wait().is_err());
    /// ```
    pub fn with_context(parent: &Context) -> (Group, Context) {
        Group::typed_with_context(parent)
    }
}

impl<E: Send + 'static> Group<E> {
    /// A group whose members return `E`, with no context and no limit.
    ///
    /// ```
    /// use baton::errgroup::Group;
    /// use std::io;
    ///
    /// let g = Group::<io::Error>::typed();
    /// g.go(|| Err(io::Error::new(io::ErrorKind::NotFound, "gone")));
    /// assert_eq!(g.wait().unwrap_err().kind(), io::ErrorKind::NotFound);
    /// ```
    pub fn typed() -> Self {
        Group {
            shared: Arc::new(Shared::new(None)),
        }
    }

    /// [`with_context`](Group::with_context) for members returning `E`;
    /// the context's [cause](context::cause) carries the first error's
    /// message.
    ///
    /// ```
    /// use baton::{context, errgroup::Group};
    /// use std::io;
    ///
    /// let (g, ctx) = Group::<io::Error>::typed_with_context(&context::background());
    /// g.go(|| Err(io::Error::other("disk on fire")));
    /// assert_eq!(g.wait().unwrap_err().to_string(), "disk on fire");
    /// assert_eq!(context::cause(&ctx).unwrap().to_string(), "disk on fire");
    /// ```
    pub fn typed_with_context(parent: &Context) -> (Self, Context)
    where
        E: fmt::Display,
    {
        let (ctx, cancel) = context::with_cancel_cause(parent);
        let group = Group {
            shared: Arc::new(Shared::new(Some(Canceller::new(cancel)))),
        };
        (group, ctx)
    }

    /// Starts `f` as a member, in a new goroutine; blocks first while the
    /// [limit](Group::set_limit) is reached (Go's `Group.Go`). The first
    /// member to fail cancels the group's context; its error is what
    /// [`wait`](Group::wait) returns.
    ///
    /// # Panics
    ///
    /// With a limit of zero (the wait could never end); when no goroutine
    /// can be started (as [`go`](crate::go)). The group is unchanged then.
    ///
    /// ```
    /// let g = baton::errgroup::Group::new();
    /// g.set_limit(Some(2));
    /// for _ in 0..10 {
    ///     g.go(|| Ok(())); // at most two at a time: the third waits
    /// }
    /// g.wait().unwrap();
    /// ```
    #[track_caller]
    pub fn go<F>(&self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        let member =
            Shared::enter(&self.shared, true).expect("a blocking enter always gets a place");
        spawn(member, f);
    }

    /// Starts `f` as a member only if the [limit](Group::set_limit) is not
    /// reached; never blocks. Returns whether it started (Go's
    /// `Group.TryGo`).
    ///
    /// # Panics
    ///
    /// When no goroutine can be started (as [`go`](crate::go)).
    ///
    /// ```
    /// let g = baton::errgroup::Group::new();
    /// g.set_limit(Some(1));
    /// let (release, wait) = baton::chan::rendezvous::<()>();
    /// assert!(g.try_go(move || { wait.recv().ok(); Ok(()) }));
    /// assert!(!g.try_go(|| Ok(())), "the one slot is taken");
    /// release.send(()).unwrap();
    /// g.wait().unwrap();
    /// assert!(g.try_go(|| Ok(())));
    /// g.wait().unwrap();
    /// ```
    #[track_caller]
    pub fn try_go<F>(&self, f: F) -> bool
    where
        F: FnOnce() -> Result<(), E> + Send + 'static,
    {
        match Shared::enter(&self.shared, false) {
            Some(member) => {
                spawn(member, f);
                true
            }
            None => false,
        }
    }

    /// Limits the number of active members to `n` (`None`: no limit, the
    /// default; `Some(0)`: [`try_go`](Group::try_go) always fails, and
    /// [`go`](Group::go) panics). Go's `SetLimit`, with `None` for a
    /// negative `n`.
    ///
    /// # Panics
    ///
    /// If any member is active: "errgroup: modify limit while N goroutines
    /// in the group are still active", Go's message. (Go documents the rule
    /// but notices only when a limit was set; here it is always checked.)
    ///
    /// ```
    /// let g = baton::errgroup::Group::new();
    /// g.set_limit(Some(4));
    /// assert_eq!(g.limit(), Some(4));
    /// g.set_limit(None);
    /// assert_eq!(g.limit(), None);
    /// ```
    pub fn set_limit(&self, n: Option<usize>) {
        self.shared.set_limit(n);
    }

    /// The limit in force ([`set_limit`](Group::set_limit)).
    ///
    /// ```
    /// assert_eq!(baton::errgroup::Group::new().limit(), None);
    /// ```
    pub fn limit(&self) -> Option<usize> {
        self.shared.limit()
    }

    /// Waits for every member to finish, cancels the group's context, and
    /// returns the first error a member returned (Go's `Group.Wait`). The
    /// error is handed out once: a later `wait` returns `Ok(())` (see the
    /// [module docs](self#errors)).
    ///
    /// Parks the calling goroutine (or thread) while it waits.
    ///
    /// # Panics
    ///
    /// If a member panicked: with that member's payload, once every member
    /// has finished (see the [module docs](self#panics)).
    ///
    /// ```
    /// use baton::errgroup::Group;
    ///
    /// let g = Group::new();
    /// g.go(|| Err("first".into()));
    /// assert_eq!(g.wait().unwrap_err().to_string(), "first");
    /// assert!(g.wait().is_ok(), "the error was handed out");
    ///
    /// let g = Group::new();
    /// g.go(|| panic!("member down"));
    /// let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.wait())).unwrap_err();
    /// assert_eq!(p.downcast_ref::<&str>(), Some(&"member down"));
    /// ```
    pub fn wait(&self) -> Result<(), E> {
        self.shared.active.wait();
        self.shared.finish()
    }
}

/// Starts a goroutine for an owned member.
#[track_caller]
fn spawn<E, F>(member: shared::Membership<E>, f: F)
where
    E: Send + 'static,
    F: FnOnce() -> Result<(), E> + Send + 'static,
{
    // A failed spawn hands the closure back; dropping it drops the
    // membership, which gives the slot back (the group is unchanged).
    if let Err(e) = crate::runtime::try_go(move || member.run(f)) {
        let why = e.to_string();
        drop(e.into_inner());
        panic!("baton::errgroup::Group::go: {why}");
    }
}

/// Why a group cancelled its context: the [cause](context::cause) a
/// failing member leaves on it.
///
/// `Display` is the error's own message (as Go, whose cause is the error
/// itself), or "panicked: " and the panic's message.
///
/// ```
/// use baton::{context, errgroup::{Failed, Group}};
///
/// let (g, ctx) = Group::with_context(&context::background());
/// g.go(|| Err("bad input".into()));
/// let _ = g.wait();
/// let cause = context::cause(&ctx).unwrap();
/// let failed = cause.downcast_ref::<Failed>().unwrap();
/// assert_eq!(failed.message(), "bad input");
/// assert!(!failed.panicked());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failed {
    message: String,
    panicked: bool,
}

impl Failed {
    fn error(message: String) -> Self {
        Failed {
            message,
            panicked: false,
        }
    }

    fn panic(message: String) -> Self {
        Failed {
            message,
            panicked: true,
        }
    }

    /// The error's message, or the panic's.
    ///
    /// ```
    /// use baton::{context, errgroup::{Failed, Group}};
    ///
    /// let (g, ctx) = Group::with_context(&context::background());
    /// g.go(|| Err("oops".into()));
    /// let _ = g.wait();
    /// let cause = context::cause(&ctx).unwrap();
    /// assert_eq!(cause.downcast_ref::<Failed>().unwrap().message(), "oops");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether a member panicked (rather than returned an error).
    ///
    /// ```
    /// use baton::{context, errgroup::{Failed, Group}};
    ///
    /// let (g, ctx) = Group::with_context(&context::background());
    /// g.go(|| panic!("lost"));
    /// ctx.done().recv().ok(); // cancelled at once, before `wait`
    /// let cause = context::cause(&ctx).unwrap();
    /// assert!(cause.downcast_ref::<Failed>().unwrap().panicked());
    /// assert_eq!(cause.to_string(), "panicked: lost");
    /// let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g.wait()));
    /// ```
    pub fn panicked(&self) -> bool {
        self.panicked
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.panicked {
            write!(f, "panicked: {}", self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for Failed {}
