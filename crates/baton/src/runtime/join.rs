//! Joining a goroutine: [`JoinHandle`], the [`Panic`] it may report, and the
//! packet through which the goroutine hands over its result.

use core::any::Any;
use core::fmt;
use core::panic::{AssertUnwindSafe, Location};
use std::panic::catch_unwind;

use super::sched::current;
use super::sched::goroutine::{GoroutineId, Header, JobOf};
use super::sched::join_cell::Wake;
use super::scope::ScopeData;
use crate::park::{self, Unparker};
use crate::shim::{Arc, UnsafeCell};

/// Where a goroutine's outcome waits for its joiner.
///
/// The goroutine's job writes `result` once, then completes the header's
/// join cell; the joiner reads it only after seeing the cell done. When the
/// last reference goes, a scoped goroutine's packet tells its scope (after
/// dropping the result, which may borrow from the scope).
pub(crate) struct Packet<T> {
    result: UnsafeCell<Option<Result<T, Panic>>>,
    scope: Option<Arc<ScopeData>>,
}

// SAFETY: `result` is written by the goroutine before it completes the join
// cell (release) and read by the one joiner after it observes completion
// (acquire), never both at once; the value crosses threads, hence `T: Send`.
unsafe impl<T: Send> Sync for Packet<T> {}

impl<T> Packet<T> {
    pub(crate) fn new(scope: Option<Arc<ScopeData>>) -> Self {
        Self {
            result: UnsafeCell::new(None),
            scope,
        }
    }
}

impl<T> Drop for Packet<T> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no one else can reach the packet.
        let result = self.result.with_mut(|r| unsafe { (*r).take() });
        let unhandled_panic = matches!(result, Some(Err(ref p)) if !p.is_abandoned());
        // Drop the result (which may borrow from a scope) before telling the
        // scope; a panicking drop must not skip the scope's count, so it is
        // caught — and then the process aborts, as std does for thread
        // results, since the scope cannot be told the truth any more.
        if catch_unwind(AssertUnwindSafe(|| drop(result))).is_err() {
            eprintln!("baton: a goroutine's result panicked when dropped; aborting");
            std::process::abort();
        }
        if let Some(scope) = &self.scope {
            scope.goroutine_done(unhandled_panic);
        }
    }
}

/// Wraps `f` into a type-erased [`Job`] writing into `packet`.
///
/// The returned box has the lifetime of `f`; `spawn` erases it.
pub(crate) fn make_job<'a, F, T>(f: F, packet: Arc<Packet<T>>) -> JobOf<'a>
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    Box::new(move |header: &Header, failed: Option<String>| {
        let outcome = match failed {
            None => catch_unwind(AssertUnwindSafe(f))
                .map_err(|payload| Panic::new(payload, header, PanicKind::Panicked)),
            Some(reason) => {
                drop(f);
                Err(Panic::new(Box::new(reason), header, PanicKind::NotStarted))
            }
        };
        // SAFETY: only this job writes the result, once, before completing
        // the join cell; the joiner reads it only after that (see `Packet`).
        packet.result.with_mut(|r| unsafe { *r = Some(outcome) });
        header.join.complete();
        drop(packet);
    })
}

/// How a goroutine failed to deliver a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PanicKind {
    /// Its closure panicked.
    Panicked,
    /// Its runtime shut down before it finished (or started).
    Abandoned,
    /// It never got a stack.
    NotStarted,
}

/// A goroutine that did not return a value: it panicked (the payload is
/// kept, as [`std::thread::JoinHandle::join`] keeps it), or it never ran to
/// the end because its runtime shut down first.
///
/// ```
/// let h = baton::go(|| -> u32 { panic!("boom") });
/// let p = h.join().unwrap_err();
/// assert_eq!(p.message(), Some("boom"));
/// assert!(p.to_string().contains("panicked: boom"));
/// ```
pub struct Panic {
    payload: Box<dyn Any + Send + 'static>,
    goroutine: GoroutineId,
    spawned_at: &'static Location<'static>,
    kind: PanicKind,
}

impl Panic {
    fn new(payload: Box<dyn Any + Send>, header: &Header, kind: PanicKind) -> Self {
        Self {
            payload,
            goroutine: header.id,
            spawned_at: header.spawned_at,
            kind,
        }
    }

    fn abandoned(header: &Header) -> Self {
        Self::new(
            Box::new("its runtime shut down before it finished"),
            header,
            PanicKind::Abandoned,
        )
    }

    /// The panic message, when the payload is a string (as `panic!` makes).
    ///
    /// ```
    /// let p = baton::go(|| panic!("code {}", 7)).join().unwrap_err();
    /// assert_eq!(p.message(), Some("code 7"));
    /// ```
    pub fn message(&self) -> Option<&str> {
        if let Some(s) = self.payload.downcast_ref::<&'static str>() {
            Some(s)
        } else {
            self.payload.downcast_ref::<String>().map(String::as_str)
        }
    }

    /// The payload, as `std::panic::catch_unwind` gives it.
    ///
    /// ```
    /// let p = baton::go(|| std::panic::panic_any(42_i32)).join().unwrap_err();
    /// assert_eq!(p.payload().downcast_ref::<i32>(), Some(&42));
    /// ```
    pub fn payload(&self) -> &(dyn Any + Send + 'static) {
        &*self.payload
    }

    /// Takes the payload, e.g. to re-raise it with
    /// [`std::panic::resume_unwind`].
    ///
    /// ```
    /// let p = baton::go(|| panic!("again")).join().unwrap_err();
    /// let payload = std::panic::AssertUnwindSafe(p.into_payload());
    /// let again = std::panic::catch_unwind(move || std::panic::resume_unwind({ payload }.0));
    /// assert!(again.is_err());
    /// ```
    pub fn into_payload(self) -> Box<dyn Any + Send + 'static> {
        self.payload
    }

    /// Which goroutine it was.
    ///
    /// ```
    /// let h = baton::go(|| panic!());
    /// let id = h.id();
    /// assert_eq!(h.join().unwrap_err().goroutine(), id);
    /// ```
    pub fn goroutine(&self) -> GoroutineId {
        self.goroutine
    }

    /// Where that goroutine was spawned.
    ///
    /// ```
    /// let p = baton::go(|| panic!()).join().unwrap_err();
    /// assert!(p.spawned_at().file().ends_with(".rs"));
    /// ```
    pub fn spawned_at(&self) -> &'static Location<'static> {
        self.spawned_at
    }

    /// Whether the goroutine never finished because its runtime shut down
    /// (no panic happened; see [`Runtime`](super::Runtime)'s docs).
    ///
    /// ```
    /// let p = baton::go(|| panic!()).join().unwrap_err();
    /// assert!(!p.is_abandoned());
    /// ```
    pub fn is_abandoned(&self) -> bool {
        self.kind == PanicKind::Abandoned
    }
}

impl fmt::Display for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (spawned at {}) ", self.goroutine, self.spawned_at)?;
        let msg = self.message().unwrap_or("Box<dyn Any>");
        match self.kind {
            PanicKind::Panicked => write!(f, "panicked: {msg}"),
            PanicKind::Abandoned => write!(f, "was abandoned: {msg}"),
            PanicKind::NotStarted => write!(f, "never started: {msg}"),
        }
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Panic")
            .field("goroutine", &self.goroutine)
            .field("spawned_at", &self.spawned_at)
            .field("kind", &self.kind)
            .field("message", &self.message())
            .finish()
    }
}

impl std::error::Error for Panic {}

impl Wake for Unparker {
    fn wake(self) {
        self.unpark();
    }
}

/// An owned permission to wait for a goroutine and take its result.
///
/// Dropping the handle detaches the goroutine (it keeps running). Joining
/// from a goroutine parks only that goroutine; joining from a plain thread
/// parks the thread.
///
/// ```
/// let h = baton::go(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
pub struct JoinHandle<T> {
    header: Arc<Header>,
    packet: Arc<Packet<T>>,
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("goroutine", &self.header.id)
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> JoinHandle<T> {
    pub(crate) fn new(header: Arc<Header>, packet: Arc<Packet<T>>) -> Self {
        Self { header, packet }
    }

    /// Waits for the goroutine to finish and returns its value, or the
    /// [`Panic`] that ended it.
    ///
    /// # Panics
    ///
    /// If a goroutine joins itself (it would wait forever).
    ///
    /// ```
    /// let inner = baton::go(|| baton::go(|| 1).join().unwrap() + 1);
    /// assert_eq!(inner.join().unwrap(), 2);
    /// ```
    pub fn join(self) -> Result<T, Panic> {
        if !self.header.join.is_done() {
            self.wait();
        }
        // SAFETY: the join cell is done (observed with acquire), so the job
        // wrote the result and will not touch it again; we are the only
        // joiner (`join` consumes the handle).
        let result = self.packet.result.with_mut(|r| unsafe { (*r).take() });
        result.unwrap_or_else(|| Err(Panic::abandoned(&self.header)))
    }

    #[cold]
    fn wait(&self) {
        let is_self = current::with_goroutine(|g| g.is_some_and(|g| Arc::ptr_eq(g, &self.header)));
        assert!(
            !is_self,
            "baton: {} tried to join itself; it would wait forever",
            self.header.id
        );
        let _reason = park::wait_reason(park::WaitReason::Join);
        if self.header.join.register(park::current()) {
            while !self.header.join.is_done() {
                park::park();
            }
        }
    }

    /// The goroutine's header (`Runtime::try_run` watches the main one).
    pub(crate) fn header(&self) -> &Arc<Header> {
        &self.header
    }

    /// Waits until the goroutine finished (`true`) or `stop` says so
    /// (`false`); whoever makes `stop` true must unpark the caller. It
    /// registers the caller's waker: after a `false`, the handle must be
    /// dropped, not joined (a cell takes one registration).
    pub(crate) fn wait_or(&self, stop: &dyn Fn() -> bool) -> bool {
        let _reason = park::wait_reason(park::WaitReason::Join);
        if self.header.join.register(park::current()) {
            while !self.header.join.is_done() {
                if stop() {
                    return false;
                }
                park::park();
            }
        }
        true
    }

    /// Whether the goroutine has finished (its result is ready to join).
    ///
    /// ```
    /// let h = baton::go(|| ());
    /// while !h.is_finished() {
    ///     baton::yield_now();
    /// }
    /// assert!(h.join().is_ok());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.header.join.is_done()
    }

    /// The goroutine's id.
    ///
    /// ```
    /// let h = baton::go(baton::runtime::current);
    /// let id = h.id();
    /// assert_eq!(h.join().unwrap(), Some(id));
    /// ```
    pub fn id(&self) -> GoroutineId {
        self.header.id
    }
}
