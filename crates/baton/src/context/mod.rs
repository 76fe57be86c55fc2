//! Layer 5: Go's `context` — cancellation, deadlines and request-scoped
//! values passed down a tree of calls.
//!
//! A [`Context`] says when the work it is passed to is no longer wanted:
//! its [`done`](Context::done) channel closes and [`err`](Context::err)
//! says why ([`Error::Canceled`] or [`Error::DeadlineExceeded`]). Derive a
//! child with [`with_cancel`], [`with_deadline`], [`with_timeout`] (and
//! their `_cause` forms) or [`with_value`]; cancelling a context cancels
//! every context derived from it, never its parent.
//!
//! ```
//! use std::time::Duration;
//! use baton::{chan, context, select};
//!
//! fn worker(ctx: &context::Context, jobs: &chan::Receiver<u32>) -> Result<u32, context::Error> {
//!     let mut done = 0;
//!     loop {
//!         select! {
//!             recv(jobs) -> job => match job {
//!                 Ok(_) => done += 1,
//!                 Err(_) => return Ok(done),
//!             },
//!             recv(ctx.done()) -> _ => return Err(ctx.err().unwrap()),
//!         }
//!     }
//! }
//!
//! let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_secs(60));
//! let (tx, rx) = chan::unbounded();
//! let h = {
//!     let ctx = ctx.clone();
//!     baton::go(move || worker(&ctx, &rx))
//! };
//! tx.send(1).unwrap();
//! cancel.cancel(); // stop the worker; it reports why
//! assert_eq!(h.join().unwrap(), Err(context::Error::Canceled));
//! ```
//!
//! # Usage rules (Go's, adapted)
//!
//! - **Pass a context as the first argument** of every function on a
//!   request's path, named `ctx`, by reference: `fn fetch(ctx: &Context,
//!   url: &str)`. Do not pass an `Option<Context>`: pass [`todo()`] when
//!   unsure which context to use.
//! - **Derive, don't store.** Do not keep a context in a long-lived
//!   struct; derive a child for each piece of work and let it end with the
//!   work. (A struct that *is* one request, such as a job handed to a
//!   worker, may carry its context.)
//! - **Cancel what you derive.** Every `with_cancel`/`with_deadline`/
//!   `with_timeout` returns a [`CancelFunc`]: call it when the work is
//!   finished, or drop it — dropping the last clone cancels the context,
//!   which is Go's `defer cancel()` made structural (Go's `lostcancel` vet
//!   check cannot be failed). So bind it to a name: `let (ctx, _cancel) =
//!   ...` keeps it to the end of the scope, while `let (ctx, _) = ...`
//!   drops it at once and the context is cancelled immediately.
//! - **Values are for request-scoped data** (a request id, a trace span),
//!   not for optional parameters. They are keyed by type: use a newtype
//!   per key ([`with_value`]).
//! - A context is safe to use from any number of threads and goroutines
//!   at once; its clone is one reference-count increment.
//!
//! # Which calls block, spawn, or run callbacks
//!
//! Nothing in this module blocks except waiting on [`done`](Context::done)
//! itself. [`after_func`]'s function runs in a **new goroutine** (Go's
//! `go f()`), never on the cancelling thread. Cancel functions return once
//! the context and all its descendants are done and their done channels
//! closed; they never wait for the code using those contexts. The blocking
//! calls that take a context ([`Sender::send_ctx`](crate::chan::Sender::send_ctx),
//! [`Receiver::recv_ctx`](crate::chan::Receiver::recv_ctx),
//! [`time::sleep_ctx`](crate::time::sleep_ctx)) park the goroutine (or
//! the thread) and give up with the context's error when it is done
//! first, handing back whatever they were given.
//!
//! # Invariants
//!
//! - A context leaves the live state at most once; the first error and
//!   the first cause win, and after any cancel call returns the context is
//!   done (`tree.rs` has the state table).
//! - A done parent has no registered children: cancelling takes them all,
//!   and a child derived from a done parent is done before
//!   [`with_cancel`] returns. A child cancelled on its own withdraws its
//!   registration from its parent (Go's `removeChild`), so a long-lived
//!   parent does not accumulate dead children.
//! - A child's deadline is never later than its parent's.
//! - `done()` is created on first use; a context whose `done()` is never
//!   asked for never allocates a channel. [`background()`]'s never closes.
//!
//! # Memory orderings
//!
//! [`err`](Context::err) is one `Acquire` load of the node's state (the
//! `Release` store of the cancel that won): whoever sees the context done
//! sees everything the canceller did before, including the cause. The
//! done channel is closed after that store, and the channel's own
//! close/receive pair orders a receiver after it, so code woken by
//! `done()` sees `err()` as `Some`. Registrations and the cause are
//! guarded by a per-context spin lock held for a few pointer updates,
//! never while user code runs.
//!
//! # Deadlines
//!
//! A deadline is enforced by one process-wide timer thread
//! (`deadline.rs`): an ordered map of pending deadlines, parked until the
//! earliest. A context cancelled before its deadline withdraws its entry,
//! so short-lived timeouts leave nothing behind. One thread for the
//! process, not one per context; `err()` stays one atomic load because
//! the timer cancels the context, rather than every reader comparing
//! the clock.
//!
//! # Alternatives rejected
//!
//! - **Checking the clock in `err()`** (no timer at all): `err()` would
//!   cost a clock read (~20 ns) instead of one load, and `done()` would
//!   still need something to close it at the deadline.
//! - **Holding the parent's lock while cancelling children** (Go): a
//!   parent with 100k children would hold it for the whole fan-out; here
//!   the canceller takes the children out under the lock and cancels them
//!   after.
//! - **A weak parent-to-child link** (children found by upgrading weak
//!   pointers): every cancel would pay an upgrade per child, and dead
//!   entries would still need sweeping; the strong link is broken by the
//!   child's own cancel, which dropping its last `CancelFunc` guarantees.

mod after_func;
mod deadline;
mod error;
#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;
pub(crate) mod tree;
mod value;
pub(crate) mod wait;

pub use after_func::{after_func, AfterFunc};
pub use error::{Cause, Error};
pub use value::with_value;

use core::any::Any;
use core::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::chan::{self, Receiver};
use crate::sync::OnceCell;
use tree::{Hook, Node};

/// A cancellation signal, a deadline and request-scoped values, passed
/// down a call tree (Go's `context.Context`). See the module docs for the
/// usage rules.
///
/// Cheap to clone (one `Arc`), `Send + Sync`; `Debug` shows how it was
/// derived, as Go's `String` does.
///
/// ```
/// use baton::context;
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// assert_eq!(format!("{ctx:?}"), "context.Background.WithCancel");
/// assert!(ctx.err().is_none());
/// cancel.cancel();
/// assert_eq!(ctx.err(), Some(context::Error::Canceled));
/// ```
#[derive(Clone)]
pub struct Context(Arc<Inner>);

struct Inner {
    kind: Kind,
    /// The context this one was derived from (`None` for the roots). An
    /// `Option` so that `Drop` can take it: see `Inner::drop`.
    parent: Option<Context>,
    /// The earliest deadline of this context and its ancestors.
    deadline: Option<Instant>,
}

impl Drop for Inner {
    /// Drops the chain of ancestors this context was the last owner of
    /// with a loop, not recursion: a chain of a million derived contexts
    /// would otherwise overflow a goroutine's stack when its last handle
    /// goes.
    fn drop(&mut self) {
        let mut next = self.parent.take();
        while let Some(ctx) = next {
            // A shared parent (the common case: a long-lived context with
            // short-lived children) is only decremented: a plain load first
            // spares its contended count a failing compare-and-swap.
            if Arc::strong_count(&ctx.0) != 1 {
                break;
            }
            match Arc::try_unwrap(ctx.0) {
                // The last owner: take its parent before it drops (its own
                // `drop` then finds `None`).
                Ok(mut inner) => next = inner.parent.take(),
                // Someone else took a clone meanwhile: it stays.
                Err(_) => break,
            }
        }
    }
}

enum Kind {
    /// A context with its own cancellation.
    Cancel {
        node: Arc<Node>,
        /// Created on first use; closed by a hook on `node`.
        done: OnceCell<Receiver<()>>,
        /// How it was derived, for `Debug`.
        how: &'static str,
    },
    /// A value on top of `parent`.
    Value {
        /// The nearest ancestor with its own cancellation (`Kind::Cancel`),
        /// if any: where `err`/`done` are answered.
        source: Option<Context>,
        value: Box<dyn Any + Send + Sync>,
        type_name: &'static str,
    },
    /// The parent's values, never done.
    WithoutCancel { never: Receiver<()> },
    /// `background()` or `todo()`.
    Root {
        name: &'static str,
        never: Receiver<()>,
    },
}

/// The root context: never cancelled, no deadline, no values (Go's
/// `context.Background()`). The top of every context tree: `main`, tests
/// and the start of each request.
///
/// ```
/// let ctx = baton::context::background();
/// assert!(ctx.err().is_none() && ctx.deadline().is_none());
/// assert!(ctx.done().try_recv().is_err()); // never closes
/// ```
pub fn background() -> Context {
    static BACKGROUND: OnceLock<Context> = OnceLock::new();
    BACKGROUND
        .get_or_init(|| root("context.Background"))
        .clone()
}

/// As [`background()`], marking code where the right context is not yet
/// known (Go's `context.TODO()`).
///
/// ```
/// let ctx = baton::context::todo();
/// assert_eq!(format!("{ctx:?}"), "context.TODO");
/// ```
pub fn todo() -> Context {
    static TODO: OnceLock<Context> = OnceLock::new();
    TODO.get_or_init(|| root("context.TODO")).clone()
}

fn root(name: &'static str) -> Context {
    Context(Arc::new(Inner {
        kind: Kind::Root {
            name,
            never: chan::never(),
        },
        parent: None,
        deadline: None,
    }))
}

impl Context {
    /// `None` while the context is live; once it is done, why
    /// ([`Error::Canceled`] or [`Error::DeadlineExceeded`]), the same
    /// value on every later call (Go's `ctx.Err()`). One atomic load.
    ///
    /// ```
    /// use baton::context;
    ///
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// assert_eq!(ctx.err(), None);
    /// drop(cancel); // the last clone of the cancel function: cancels
    /// assert_eq!(ctx.err(), Some(context::Error::Canceled));
    /// ```
    #[inline]
    pub fn err(&self) -> Option<Error> {
        self.node().and_then(|n| n.err())
    }

    /// Whether the context is done (`err().is_some()`).
    ///
    /// ```
    /// use baton::context;
    ///
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// cancel.cancel();
    /// assert!(ctx.is_done());
    /// ```
    #[inline]
    pub fn is_done(&self) -> bool {
        self.err().is_some()
    }

    /// A receiver that is closed when the context is done (Go's
    /// `ctx.Done()`): every receive on it then returns `Err(Closed)`
    /// at once, so it works in [`select!`](crate::select!) as
    /// `recv(ctx.done()) -> _ => ...`. For a context that can never be
    /// done ([`background()`], [`without_cancel`]) it never closes. Made
    /// on first use; later calls return the same receiver.
    ///
    /// ```
    /// use baton::context;
    ///
    /// let (ctx, cancel) = context::with_cancel(&context::background());
    /// let waiter = {
    ///     let ctx = ctx.clone();
    ///     baton::go(move || ctx.done().recv().is_err())
    /// };
    /// cancel.cancel();
    /// assert!(waiter.join().unwrap());
    /// ```
    pub fn done(&self) -> &Receiver<()> {
        match &self.0.kind {
            Kind::Cancel { node, done, .. } => done.get_or_init(|| make_done(node)),
            Kind::Value {
                source: Some(s), ..
            } => s.done(),
            // No cancellable ancestor: never done.
            Kind::Value { source: None, .. } => never_done(),
            Kind::WithoutCancel { never, .. } | Kind::Root { never, .. } => never,
        }
    }

    /// The time at which the context will be done by itself, if any (Go's
    /// `ctx.Deadline()`): the earliest of its own and its ancestors'.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use baton::context;
    ///
    /// let d = Instant::now() + Duration::from_secs(60);
    /// let (ctx, _cancel) = context::with_deadline(&context::background(), d);
    /// assert_eq!(ctx.deadline(), Some(d));
    /// let (later, _cancel2) = context::with_timeout(&ctx, Duration::from_secs(3600));
    /// assert_eq!(later.deadline(), Some(d)); // never later than the parent's
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.0.deadline
    }

    /// The value of type `T` attached by [`with_value`] to this context or
    /// its nearest ancestor that has one (the innermost wins, as in Go).
    ///
    /// ```
    /// use baton::context;
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct RequestId(u64);
    ///
    /// let ctx = context::with_value(&context::background(), RequestId(7));
    /// let (child, _cancel) = context::with_cancel(&ctx);
    /// assert_eq!(child.value::<RequestId>(), Some(&RequestId(7)));
    /// assert_eq!(child.value::<String>(), None);
    /// ```
    pub fn value<T: Any + Send + Sync>(&self) -> Option<&T> {
        value::lookup(self)
    }

    /// The node that answers `err()` for this context, if it can be done.
    #[inline]
    fn node(&self) -> Option<&Arc<Node>> {
        match &self.0.kind {
            Kind::Cancel { node, .. } => Some(node),
            Kind::Value {
                source: Some(s), ..
            } => s.node(),
            _ => None,
        }
    }

    /// The nearest context with its own cancellation: this one, or the one
    /// a value context defers to.
    fn source(&self) -> Option<&Context> {
        match &self.0.kind {
            Kind::Cancel { .. } => Some(self),
            Kind::Value { source, .. } => source.as_ref(),
            _ => None,
        }
    }

    /// Registrations held by this context's cancellation node (children
    /// not yet cancelled, waiters, `after_func`s, its done channel): 0 for
    /// a context that cannot be done. For tests that check that nothing
    /// stays registered; not a stable API.
    #[doc(hidden)]
    pub fn __registrations(&self) -> usize {
        match &self.0.kind {
            Kind::Cancel { node, .. } => node.registrations(),
            _ => 0,
        }
    }
}

/// A receiver closed when `node` is cancelled: a channel whose only sender
/// a hook on the node owns, and drops on cancel; nothing is ever sent. (The
/// one place that knows how a done channel is made.) A one-slot channel
/// rather than a rendezvous one: its waiters carry no packet, so the close
/// wakes any number of them in linear time (see `chan/waker.rs`).
fn make_done(node: &Node) -> Receiver<()> {
    let (tx, rx) = chan::bounded::<()>(1);
    // Already cancelled: the hook comes back and dropping it closes now.
    let _ = node.register_permanent(Hook::Run(Box::new(move || drop(tx))));
    rx
}

/// A receiver that never closes, for value contexts with no cancellable
/// ancestor.
fn never_done() -> &'static Receiver<()> {
    static NEVER: OnceLock<Receiver<()>> = OnceLock::new();
    NEVER.get_or_init(chan::never)
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parent = DebugParent(self.0.parent.as_ref());
        match &self.0.kind {
            Kind::Root { name, .. } => f.write_str(name),
            Kind::Cancel { how, .. } => match (*how, self.0.deadline) {
                // Go: "WithDeadline(<time> [<remaining>])".
                ("WithDeadline", Some(d)) => {
                    let left = d.saturating_duration_since(Instant::now());
                    write!(f, "{parent:?}.WithDeadline({left:?} left)")
                }
                _ => write!(f, "{parent:?}.{how}"),
            },
            Kind::Value { type_name, .. } => write!(f, "{parent:?}.WithValue({type_name})"),
            Kind::WithoutCancel { .. } => write!(f, "{parent:?}.WithoutCancel"),
        }
    }
}

struct DebugParent<'a>(Option<&'a Context>);

impl fmt::Debug for DebugParent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => p.fmt(f),
            None => Ok(()),
        }
    }
}

/// Cancels the context it came with (Go's `context.CancelFunc`).
/// `Clone + Send + Sync`; calling it more than once does nothing more.
/// **Dropping the last clone cancels the context**, so a derived context
/// never outlives its purpose by mistake.
///
/// ```
/// use baton::context;
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// let again = cancel.clone();
/// drop(cancel); // a clone remains: still live
/// assert!(ctx.err().is_none());
/// again.cancel();
/// again.cancel(); // no effect
/// assert_eq!(ctx.err(), Some(context::Error::Canceled));
/// ```
#[derive(Clone)]
pub struct CancelFunc(Canceller);

/// Cancels the context it came with, recording why (Go's
/// `context.CancelCauseFunc`). Dropping the last clone cancels with
/// [`Error::Canceled`] as the cause.
///
/// ```
/// use std::sync::Arc;
/// use baton::context;
///
/// let (ctx, cancel) = context::with_cancel_cause(&context::background());
/// cancel.cancel(Arc::new(std::fmt::Error));
/// assert_eq!(ctx.err(), Some(context::Error::Canceled));
/// assert!(context::cause(&ctx).unwrap().is::<std::fmt::Error>());
/// ```
#[derive(Clone)]
pub struct CancelCauseFunc(Canceller);

/// What both cancel functions are: a counted handle on the node (the count
/// lives in the node, so a cancel function costs no allocation of its
/// own); the last one dropped cancels.
struct Canceller(Arc<Node>);

impl Canceller {
    /// The first handle of a new node.
    fn first(node: Arc<Node>) -> Self {
        node.add_canceller();
        Canceller(node)
    }
}

impl Clone for Canceller {
    fn clone(&self) -> Self {
        self.0.add_canceller();
        Canceller(Arc::clone(&self.0))
    }
}

impl Drop for Canceller {
    fn drop(&mut self) {
        if self.0.drop_canceller() {
            self.0.cancel(Error::Canceled, None);
        }
    }
}

impl CancelFunc {
    /// Cancels the context and its descendants with [`Error::Canceled`];
    /// once it returns, they are all done. Later calls do nothing.
    ///
    /// ```
    /// use baton::context;
    ///
    /// let (parent, cancel) = context::with_cancel(&context::background());
    /// let (child, _cancel_child) = context::with_cancel(&parent);
    /// cancel.cancel();
    /// assert!(parent.is_done() && child.is_done());
    /// ```
    pub fn cancel(&self) {
        self.0 .0.cancel(Error::Canceled, None);
    }
}

impl CancelCauseFunc {
    /// Cancels the context and its descendants with [`Error::Canceled`],
    /// recording `cause` (see [`cause`]); if the context is done already,
    /// nothing changes (the first cause wins).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use baton::context::{self, Cause};
    ///
    /// let (ctx, cancel) = context::with_cancel_cause(&context::background());
    /// let first: Cause = Arc::new(std::fmt::Error);
    /// cancel.cancel(first.clone());
    /// cancel.cancel(Arc::new(std::io::Error::other("late")));
    /// assert!(Arc::ptr_eq(&context::cause(&ctx).unwrap(), &first));
    /// ```
    pub fn cancel(&self, cause: Cause) {
        self.0 .0.cancel(Error::Canceled, Some(cause));
    }
}

impl fmt::Debug for CancelFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelFunc")
            .field("done", &self.0 .0.err().is_some())
            .finish()
    }
}

impl fmt::Debug for CancelCauseFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelCauseFunc")
            .field("done", &self.0 .0.err().is_some())
            .finish()
    }
}

/// Derives a child of `parent` with its own cancellation (Go's
/// `context.WithCancel`): done when the returned [`CancelFunc`] is called
/// (or its last clone dropped), or when `parent` is done, whichever is
/// first. A done parent gives a child that is done already.
///
/// ```
/// use baton::context;
///
/// let (parent, cancel_parent) = context::with_cancel(&context::background());
/// let (child, cancel_child) = context::with_cancel(&parent);
/// cancel_child.cancel(); // the parent is not touched
/// assert!(child.is_done() && !parent.is_done());
/// assert_eq!(parent.__registrations(), 0); // the child left its parent
/// drop(cancel_parent);
/// ```
pub fn with_cancel(parent: &Context) -> (Context, CancelFunc) {
    let (ctx, node) = derive(parent, "WithCancel", parent.deadline());
    (ctx, CancelFunc(Canceller::first(node)))
}

/// As [`with_cancel`], with a cancel function that records a cause (Go's
/// `context.WithCancelCause`).
///
/// ```
/// use std::sync::Arc;
/// use baton::context;
///
/// let (ctx, cancel) = context::with_cancel_cause(&context::background());
/// let (child, _c) = context::with_cancel(&ctx);
/// cancel.cancel(Arc::new(std::io::Error::other("shutting down")));
/// assert_eq!(context::cause(&child).unwrap().to_string(), "shutting down");
/// ```
pub fn with_cancel_cause(parent: &Context) -> (Context, CancelCauseFunc) {
    let (ctx, node) = derive(parent, "WithCancelCause", parent.deadline());
    (ctx, CancelCauseFunc(Canceller::first(node)))
}

/// Derives a child that is also done at `deadline` (Go's
/// `context.WithDeadline`), with [`Error::DeadlineExceeded`]. A deadline
/// later than the parent's is the parent's (then the child is done when
/// the parent is); a deadline already past gives a child that is done.
///
/// ```
/// use std::time::{Duration, Instant};
/// use baton::context;
///
/// let (ctx, _cancel) = context::with_deadline(
///     &context::background(),
///     Instant::now() + Duration::from_millis(5),
/// );
/// assert!(ctx.done().recv().is_err()); // closes at the deadline
/// assert_eq!(ctx.err(), Some(context::Error::DeadlineExceeded));
/// ```
pub fn with_deadline(parent: &Context, deadline: Instant) -> (Context, CancelFunc) {
    let node = deadline_child(parent, deadline, None, "WithDeadline");
    (node.0, CancelFunc(Canceller::first(node.1)))
}

/// [`with_deadline`] at now + `timeout` (Go's `context.WithTimeout`).
///
/// ```
/// use std::time::Duration;
/// use baton::context;
///
/// let (ctx, cancel) = context::with_timeout(&context::background(), Duration::from_secs(10));
/// assert!(ctx.deadline().is_some());
/// cancel.cancel(); // finished early: release the timer now
/// assert_eq!(ctx.err(), Some(context::Error::Canceled));
/// ```
pub fn with_timeout(parent: &Context, timeout: Duration) -> (Context, CancelFunc) {
    match Instant::now().checked_add(timeout) {
        Some(d) => with_deadline(parent, d),
        // Too far to represent: no deadline of its own.
        None => with_cancel(parent),
    }
}

/// As [`with_deadline`], recording `cause` when the deadline passes (Go's
/// `context.WithDeadlineCause`); the returned function cancels with no
/// cause of its own (cause = [`Error::Canceled`]), as in Go.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Instant;
/// use baton::context;
///
/// let why: context::Cause = Arc::new(std::io::Error::other("backend too slow"));
/// let (ctx, _cancel) = context::with_deadline_cause(&context::background(), Instant::now(), why);
/// assert_eq!(ctx.err(), Some(context::Error::DeadlineExceeded));
/// assert_eq!(context::cause(&ctx).unwrap().to_string(), "backend too slow");
/// ```
pub fn with_deadline_cause(
    parent: &Context,
    deadline: Instant,
    cause: Cause,
) -> (Context, CancelFunc) {
    let node = deadline_child(parent, deadline, Some(cause), "WithDeadline");
    (node.0, CancelFunc(Canceller::first(node.1)))
}

/// [`with_deadline_cause`] at now + `timeout` (Go's
/// `context.WithTimeoutCause`).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use baton::context;
///
/// let why: context::Cause = Arc::new(std::io::Error::other("slow"));
/// let (ctx, _cancel) =
///     context::with_timeout_cause(&context::background(), Duration::from_millis(1), why);
/// let _ = ctx.done().recv();
/// assert_eq!(context::cause(&ctx).unwrap().to_string(), "slow");
/// ```
pub fn with_timeout_cause(
    parent: &Context,
    timeout: Duration,
    cause: Cause,
) -> (Context, CancelFunc) {
    match Instant::now().checked_add(timeout) {
        Some(d) => with_deadline_cause(parent, d, cause),
        None => with_cancel(parent),
    }
}

/// A child with `parent`'s values that is never done, and has no deadline
/// (Go's `context.WithoutCancel`): for work that must finish even if the
/// request that started it is cancelled (a log flush, a cleanup).
///
/// ```
/// use baton::context;
///
/// struct User(&'static str);
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// let ctx = context::with_value(&ctx, User("ada"));
/// let detached = context::without_cancel(&ctx);
/// cancel.cancel();
/// assert!(ctx.is_done() && !detached.is_done());
/// assert_eq!(detached.value::<User>().unwrap().0, "ada");
/// ```
pub fn without_cancel(parent: &Context) -> Context {
    Context(Arc::new(Inner {
        kind: Kind::WithoutCancel {
            never: chan::never(),
        },
        parent: Some(parent.clone()),
        deadline: None,
    }))
}

/// The cause of the context's cancellation (Go's `context.Cause`): `None`
/// while live; once done, the cause given to the [`CancelCauseFunc`] or
/// [`with_deadline_cause`] of the context or of the ancestor whose
/// cancellation reached it, else its [`Error`] (as a [`Cause`]).
///
/// ```
/// use baton::context;
///
/// let (ctx, cancel) = context::with_cancel(&context::background());
/// assert!(context::cause(&ctx).is_none());
/// cancel.cancel();
/// let c = context::cause(&ctx).unwrap();
/// assert_eq!(c.downcast_ref::<context::Error>(), Some(&context::Error::Canceled));
/// ```
pub fn cause(ctx: &Context) -> Option<Cause> {
    ctx.node().and_then(|n| n.cause())
}

/// A new cancellable child of `parent`, registered in its nearest
/// cancellable ancestor.
fn derive(parent: &Context, how: &'static str, deadline: Option<Instant>) -> (Context, Arc<Node>) {
    let node = Node::new();
    if let Some(p) = parent.node() {
        Node::attach(p, &node);
    }
    let ctx = Context(Arc::new(Inner {
        kind: Kind::Cancel {
            node: Arc::clone(&node),
            done: OnceCell::new(),
            how,
        },
        parent: Some(parent.clone()),
        deadline,
    }));
    (ctx, node)
}

fn deadline_child(
    parent: &Context,
    deadline: Instant,
    cause: Option<Cause>,
    how: &'static str,
) -> (Context, Arc<Node>) {
    if let Some(cur) = parent.deadline() {
        if cur <= deadline {
            // The parent's deadline comes first and will cancel this child.
            return derive(parent, "WithCancel", Some(cur));
        }
    }
    let (ctx, node) = derive(parent, how, Some(deadline));
    if Instant::now() >= deadline {
        node.cancel(Error::DeadlineExceeded, cause);
    } else {
        deadline::arm(&node, deadline, cause);
    }
    (ctx, node)
}
