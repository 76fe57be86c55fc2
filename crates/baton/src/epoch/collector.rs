//! [`Collector`] and [`LocalHandle`]: an explicit reclamation domain and a
//! thread's registration in it.

use core::fmt;

use super::global::Global;
use super::local::Local;
use super::Guard;
use crate::shim::Arc;

/// A reclamation domain: a global epoch, the participants registered in
/// it, and their garbage. Cloning gives another reference to the same
/// domain; the domain (and any garbage still in it) is freed when the last
/// clone and the last [`LocalHandle`] are gone.
///
/// Most code uses the process-wide default through [`pin`](super::pin).
/// A collector of one's own isolates a subsystem's garbage (a thread pinned
/// in one domain holds back nothing in another) and is what the loom models
/// use, since loom needs fresh state for each explored execution.
///
/// ```
/// use baton::epoch::Collector;
///
/// let collector = Collector::new();
/// let handle = collector.register();
/// let guard = handle.pin();
/// guard.defer(|| ());
/// assert_eq!(collector.pending(), 1);
/// drop(guard);
/// drop(handle); // the slot's garbage goes to the collector
/// drop(collector); // last reference: the remaining garbage runs
/// ```
#[derive(Clone)]
pub struct Collector {
    global: Arc<Global>,
}

impl Collector {
    /// A new, empty domain.
    ///
    /// ```
    /// assert_eq!(baton::epoch::Collector::new().pending(), 0);
    /// ```
    pub fn new() -> Self {
        Self {
            global: Arc::new(Global::new()),
        }
    }

    /// Registers the calling thread: reuses the slot of a thread that has
    /// unregistered if there is one, else adds a slot. The handle is `!Send`;
    /// dropping it unregisters (once its guards are gone too).
    ///
    /// ```
    /// let c = baton::epoch::Collector::new();
    /// let h = c.register();
    /// assert!(!h.is_pinned());
    /// ```
    pub fn register(&self) -> LocalHandle {
        for local in self.global.participants() {
            if local.try_claim(&self.global) {
                return LocalHandle { local };
            }
        }
        let local = Box::into_raw(Box::new(Local::new_claimed(Arc::clone(&self.global))));
        self.global.add_participant(local);
        LocalHandle { local }
    }

    /// How many deferred calls (retired objects) are waiting to run, in the
    /// participants' bags and in sealed bags. Read without stopping anyone,
    /// so exact only when the participants are quiescent; a figure that
    /// keeps growing means some thread stays pinned (see the module docs).
    ///
    /// ```
    /// let c = baton::epoch::Collector::new();
    /// let h = c.register();
    /// h.pin().defer(|| ());
    /// assert_eq!(c.pending(), 1);
    /// for _ in 0..2 { h.pin().flush(); }
    /// assert_eq!(c.pending(), 0);
    /// ```
    pub fn pending(&self) -> usize {
        self.global.pending()
    }

    /// The global epoch now (a counter that only grows), for diagnostics
    /// and the lab: if it stops moving while threads keep pinning, some
    /// thread is pinned for a long time.
    ///
    /// ```
    /// let c = baton::epoch::Collector::new();
    /// let before = c.epoch();
    /// c.register().pin().flush(); // nobody else pinned: advances
    /// assert!(c.epoch() > before);
    /// ```
    pub fn epoch(&self) -> usize {
        self.global.epoch()
    }

    /// How many participant slots exist (in use or free).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn participant_count(&self) -> usize {
        self.global.participants().count()
    }
}

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collector")
            .field("epoch", &self.epoch())
            .field("pending", &self.pending())
            .finish()
    }
}

/// A thread's registration in a [`Collector`]: pins, and owns a slot with
/// the thread's bag of garbage. `!Send`; dropping it unregisters (the slot's
/// garbage is handed to the collector and the slot becomes free for reuse).
///
/// ```
/// let c = baton::epoch::Collector::new();
/// let h = c.register();
/// {
///     let _g = h.pin();
///     assert!(h.is_pinned());
/// }
/// assert!(!h.is_pinned());
/// ```
pub struct LocalHandle {
    /// The slot, owned by this thread while the handle (or a guard) lives.
    local: *const Local,
}

impl LocalHandle {
    /// Pins the calling thread; see [`Guard`].
    ///
    /// ```
    /// let c = baton::epoch::Collector::new();
    /// let h = c.register();
    /// let g1 = h.pin();
    /// let g2 = h.pin(); // nested: just counts
    /// drop(g1);
    /// assert!(h.is_pinned());
    /// drop(g2);
    /// assert!(!h.is_pinned());
    /// ```
    #[inline]
    pub fn pin(&self) -> Guard {
        // SAFETY: the handle owns the slot (and is `!Send`, so we are on
        // the owning thread); the slot lives while the handle does.
        unsafe { (*self.local).pin() }
    }

    /// Whether this thread holds a guard from this handle.
    ///
    /// ```
    /// let c = baton::epoch::Collector::new();
    /// assert!(!c.register().is_pinned());
    /// ```
    pub fn is_pinned(&self) -> bool {
        // SAFETY: as in `pin`.
        unsafe { (*self.local).is_pinned() }
    }
}

impl Clone for LocalHandle {
    /// Another handle to the same slot (same thread).
    fn clone(&self) -> Self {
        // SAFETY: as in `pin`.
        unsafe { (*self.local).acquire_handle() };
        Self { local: self.local }
    }
}

impl Drop for LocalHandle {
    fn drop(&mut self) {
        // SAFETY: as in `pin`; we give up this handle.
        unsafe { (*self.local).release_handle() };
    }
}

impl fmt::Debug for LocalHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalHandle")
            .field("pinned", &self.is_pinned())
            .finish()
    }
}
