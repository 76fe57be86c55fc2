//! The scoped errgroup: [`scope`] runs members that may borrow from the
//! caller's stack, built on [`baton::scope`](crate::scope()) (which joins
//! every goroutine before it returns, so the borrows cannot dangle).

use core::fmt;
use core::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use super::shared::{Canceller, Shared};
use crate::context::{self, Context};
use crate::runtime;
use crate::shim::Arc;

/// Runs `f` with a [`Scope`] to start members that may borrow anything
/// that outlives the call; returns once `f` has returned **and** every
/// member has finished: `Ok` with `f`'s value, or the first member's error.
///
/// The scope's context ([`Scope::context`]) is derived from `parent`, and
/// cancelled at the first failure (an error or a panic), if `f` panics, and
/// when the scope ends.
///
/// The error type `E` comes from the members' closures; when nothing else
/// fixes it (a `?` converts into any `E`), name it once, e.g.
/// `errgroup::scope::<BoxError, _, _>` or on a closure's return type.
///
/// # Panics
///
/// If `f` panics: with `f`'s panic, after every member has finished. Else,
/// if a member panicked: with the first member's panic (see the
/// [module docs](super#panics)).
///
/// ```
/// use baton::{context, errgroup};
///
/// let words = ["alpha", "beta", "gamma", "delta"];
/// let mut lengths = [0usize; 4];
/// let done = errgroup::scope(&context::background(), |g| {
///     for (word, len) in words.iter().zip(lengths.iter_mut()) {
///         g.go(move || -> Result<(), errgroup::BoxError> {
///             *len = word.len(); // borrows from the caller's stack
///             Ok(())
///         });
///     }
///     "all started"
/// });
/// assert_eq!(done.unwrap(), "all started");
/// assert_eq!(lengths, [5, 4, 5, 5]);
/// ```
///
/// The first error cancels the others' context:
///
/// ```
/// use baton::{context, errgroup, time};
/// use std::time::Duration;
///
/// let r = errgroup::scope::<errgroup::BoxError, _, _>(&context::background(), |g| {
///     let ctx = g.context().clone();
///     g.go(move || {
///         time::sleep_ctx(&ctx, Duration::from_secs(60))?; // woken by the failure below
///         Ok(())
///     });
///     g.go(|| Err("no".into()));
/// });
/// assert_eq!(r.unwrap_err().to_string(), "no");
/// ```
///
/// A member cannot keep a borrow past the scope:
///
/// ```compile_fail
/// use baton::{context, errgroup};
///
/// let mut leaked = None;
/// let _ = errgroup::scope::<errgroup::BoxError, _, _>(&context::background(), |g| {
///     leaked = Some(g.clone());
/// });
/// ```
///
/// nor borrow what lives shorter than the scope:
///
/// ```compile_fail
/// use baton::{context, errgroup};
///
/// let _ = errgroup::scope::<errgroup::BoxError, _, _>(&context::background(), |g| {
///     let local = 5;
///     g.go(|| {
///         let _ = &local;
///         Ok(())
///     });
/// });
/// ```
pub fn scope<'env, E, T, F>(parent: &Context, f: F) -> Result<T, E>
where
    E: fmt::Display + Send + 'env,
    F: for<'scope> FnOnce(&Scope<'scope, 'env, E>) -> T,
{
    let (ctx, cancel) = context::with_cancel_cause(parent);
    let shared = Arc::new(Shared::new(Some(Canceller::new(cancel))));
    let value = crate::scope(|rt| {
        let g = Scope {
            shared: shared.clone(),
            ctx,
            rt,
            env: PhantomData,
        };
        match catch_unwind(AssertUnwindSafe(|| f(&g))) {
            Ok(value) => value,
            Err(panic) => {
                // Ask the members to stop, so that `baton::scope`'s join
                // comes soon; then re-raise (after that join).
                shared.cancel_now();
                resume_unwind(panic)
            }
        }
    });
    // `baton::scope` has joined every member.
    shared.finish().map(|()| value)
}

/// What the closure of [`scope`] gets to start members with. Cheap to
/// clone, so that a member can take a clone along and start more members.
///
/// ```
/// use baton::{context, errgroup};
///
/// let total = std::sync::atomic::AtomicU32::new(0);
/// errgroup::scope::<errgroup::BoxError, _, _>(&context::background(), |g| {
///     for i in 1..=3 {
///         let total = &total;
///         g.go(move || {
///             total.fetch_add(i, std::sync::atomic::Ordering::Relaxed);
///             Ok(())
///         });
///     }
/// })
/// .unwrap();
/// assert_eq!(total.into_inner(), 6);
/// ```
pub struct Scope<'scope, 'env: 'scope, E> {
    shared: Arc<Shared<E>>,
    ctx: Context,
    rt: &'scope runtime::Scope<'scope, 'env>,
    env: PhantomData<&'env mut &'env ()>,
}

impl<E> Clone for Scope<'_, '_, E> {
    /// Another handle to the same scope.
    ///
    /// ```
    /// use baton::{context, errgroup};
    ///
    /// let mut leaves = [0u8; 2];
    /// errgroup::scope::<errgroup::BoxError, _, _>(&context::background(), |g| {
    ///     let (a, b) = leaves.split_at_mut(1);
    ///     let inner = g.clone();
    ///     g.go(move || {
    ///         inner.go(move || { b[0] = 2; Ok(()) }); // a member starts a member
    ///         a[0] = 1;
    ///         Ok(())
    ///     });
    /// })
    /// .unwrap();
    /// assert_eq!(leaves, [1, 2]);
    /// ```
    fn clone(&self) -> Self {
        Scope {
            shared: self.shared.clone(),
            ctx: self.ctx.clone(),
            rt: self.rt,
            env: PhantomData,
        }
    }
}

impl<E> fmt::Debug for Scope<'_, '_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

impl<'scope, 'env, E: Send + 'env> Scope<'scope, 'env, E> {
    /// The scope's context: cancelled at the first failure and when the
    /// scope ends. Hand it to whatever a member blocks on.
    ///
    /// ```
    /// use baton::{context, errgroup};
    ///
    /// let r = errgroup::scope::<errgroup::BoxError, _, _>(&context::background(), |g| {
    ///     let ctx = g.context().clone();
    ///     g.go(move || {
    ///         ctx.done().recv().ok(); // until the other member fails
    ///         Ok(())
    ///     });
    ///     g.go(|| Err("stop".into()));
    /// });
    /// assert!(r.is_err());
    /// ```
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Starts `f` as a member in a new goroutine; blocks first while the
    /// [limit](Scope::set_limit) is reached. As [`Group::go`](super::Group::go),
    /// but `f` may borrow from outside the scope.
    ///
    /// # Panics
    ///
    /// As [`Group::go`](super::Group::go).
    ///
    /// ```
    /// use baton::{context, errgroup};
    ///
    /// let mut parts = vec![0u64; 8];
    /// errgroup::scope::<errgroup::BoxError, _, _>(&context::background(), |g| {
    ///     for (i, p) in parts.iter_mut().enumerate() {
    ///         g.go(move || {
    ///             *p = (i as u64) * 10;
    ///             Ok(())
    ///         });
    ///     }
    /// })
    /// .unwrap();
    /// assert_eq!(parts[7], 70);
    /// ```
    #[track_caller]
    pub fn go<F>(&self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'scope,
    {
        let member =
            Shared::enter(&self.shared, true).expect("a blocking enter always gets a place");
        // A panic here (no stack) drops the closure, and with it the
        // membership: the group is unchanged.
        self.rt.go(move || member.run(f));
    }

    /// Starts `f` as a member only if the [limit](Scope::set_limit) is not
    /// reached; never blocks; returns whether it started.
    ///
    /// # Panics
    ///
    /// As [`Group::try_go`](super::Group::try_go).
    ///
    /// ```
    /// use baton::{context, errgroup};
    ///
    /// let mut started = 0;
    /// errgroup::scope::<errgroup::BoxError, _, _>(&context::background(), |g| {
    ///     g.set_limit(Some(0));
    ///     if g.try_go(|| Ok(())) {
    ///         started += 1;
    ///     }
    /// })
    /// .unwrap();
    /// assert_eq!(started, 0);
    /// ```
    #[track_caller]
    pub fn try_go<F>(&self, f: F) -> bool
    where
        F: FnOnce() -> Result<(), E> + Send + 'scope,
    {
        match Shared::enter(&self.shared, false) {
            Some(member) => {
                self.rt.go(move || member.run(f));
                true
            }
            None => false,
        }
    }

    /// Limits the number of active members (see
    /// [`Group::set_limit`](super::Group::set_limit)).
    ///
    /// # Panics
    ///
    /// If any member is active.
    ///
    /// ```
    /// use baton::{context, errgroup};
    ///
    /// errgroup::scope::<errgroup::BoxError, _, _>(&context::background(), |g| {
    ///     g.set_limit(Some(2));
    ///     for _ in 0..6 {
    ///         g.go(|| Ok(())); // two at a time
    ///     }
    /// })
    /// .unwrap();
    /// ```
    pub fn set_limit(&self, n: Option<usize>) {
        self.shared.set_limit(n);
    }
}
