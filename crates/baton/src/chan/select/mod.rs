//! `select`: wait on several channel operations at once and complete
//! exactly one — the [`select!`](crate::select!) macro for a fixed set of
//! arms, [`Select`] for a set built at run time.
//!
//! This folder: the builder [`Select`] and [`SelectedOperation`] here,
//! `run.rs` (the algorithm), `handle.rs` (what `select` needs from an arm,
//! over the flavours' `Flavor` trait), `macros.rs` (`select!`,
//! `select_biased!`).
//!
//! # Rules (Go's)
//!
//! - When several operations are ready, one is chosen **uniformly at
//!   random** (a test checks the distribution).
//! - A **send arm that is not chosen never consumes its value**: with
//!   [`Select`], the value is given only to the chosen operation
//!   ([`SelectedOperation::send`]). In `select!`, as in Go, every channel
//!   and value expression is evaluated once, in source order, *before*
//!   selecting; the values of the arms not chosen are dropped. (crossbeam
//!   evaluates a send value only once its arm is chosen; baton follows Go,
//!   so that a panicking value expression cannot leave a slot claimed.)
//! - [`select_biased!`](crate::select_biased!) and
//!   [`Select::new_biased`] try the arms in order instead of at random.
//! - **An operation started and never completed is released.** If a
//!   [`SelectedOperation`] is dropped (or unwound by a panic) before it
//!   completes, its claim is given back: a claimed receive drops its value
//!   (as if received and dropped), a claimed send poisons its slot, which
//!   receivers skip; a claimed rendezvous send hands its paired receiver
//!   nothing, and the receiver waits again (with its own deadline). The
//!   channel stays usable. A *forgotten* operation
//!   (`mem::forget`) releases nothing: like a forgotten lock guard, it can
//!   leave the channel stuck at that slot, but it never makes a channel
//!   drop or read a value that was not written.
//! - An arm on a closed channel is ready: a receive completes with
//!   [`RecvError::Closed`](super::RecvError::Closed), a send with
//!   [`SendError`](super::SendError) holding the value.
//! - An arm over `None` (an `Option<&Receiver<T>>`/`Option<&Sender<T>>`),
//!   or over [`never()`](super::never), is never chosen: Go's nil-channel
//!   idiom for switching cases off.
//! - Clock channels ([`time::after`](crate::time::after),
//!   [`tick`](crate::time::tick), timers) work like any other arm.
//! - Blocking parks the goroutine (freeing its worker) or thread; it works
//!   the same from both.
//!
//! See `run.rs` for the algorithm.

mod handle;
mod macros;
mod run;

use core::fmt;
use core::marker::PhantomData;
use std::time::{Duration, Instant};

use super::error::{
    ReadyTimeoutError, RecvError, SelectTimeoutError, SendError, TryReadyError, TrySelectError,
};
use super::flavors::Token;
use super::{Receiver, Sender};
use handle::SelectHandle;
use run::{run_ready, run_select, Arm, Timeout};

/// A set of channel operations to select from, built at run time (for a
/// fixed set, [`select!`](crate::select!) reads better).
///
/// Add operations with [`recv`](Self::recv) and [`send`](Self::send) (each
/// returns the operation's index), then wait with
/// [`select`](Self::select), [`try_select`](Self::try_select) or
/// [`select_timeout`](Self::select_timeout); complete the chosen operation
/// with the [`SelectedOperation`] they return.
///
/// ```
/// use baton::chan::{unbounded, Select};
///
/// // Receive from whichever of many channels has a value.
/// let chans: Vec<_> = (0..4).map(|_| unbounded::<usize>()).collect();
/// chans[2].0.send(42).unwrap();
///
/// let mut sel = Select::new();
/// for (_, rx) in &chans {
///     sel.recv(rx);
/// }
/// let op = sel.select();
/// let i = op.index();
/// assert_eq!(i, 2);
/// assert_eq!(op.recv(&chans[i].1), Ok(42));
/// ```
///
/// Unlike crossbeam's, a `Select` is neither `Send` nor `Sync` (a deliberate
/// difference): it may hold receivers of values that must stay on their
/// thread (`Rc`), and releasing an abandoned receive (see
/// [`SelectedOperation`]) drops such a value on the thread that selected.
/// Build the `Select` on the thread that waits.
///
/// ```compile_fail
/// fn needs_send<T: Send>(_: T) {}
/// needs_send(baton::chan::Select::new());
/// ```
pub struct Select<'a> {
    /// The operations, in the order added (run_select shuffles a copy's
    /// order in place; indices travel with the arms).
    arms: Arms<'a>,
    /// Index the next added operation gets.
    next_index: usize,
    /// Try the arms in order instead of at random.
    biased: bool,
}

impl<'a> Select<'a> {
    /// An empty set. Selecting on it blocks forever (Go's `select {}`);
    /// `try_select` fails and `select_timeout` times out.
    ///
    /// ```
    /// let mut sel = baton::chan::Select::new();
    /// assert!(sel.try_select().is_err());
    /// ```
    #[inline]
    pub fn new() -> Self {
        Select {
            arms: Arms::new(),
            next_index: 0,
            biased: false,
        }
    }

    /// An empty set whose operations, when several are ready, are tried in
    /// the order they were added (the first ready one wins) instead of at
    /// random — what [`select_biased!`](crate::select_biased!) uses. It can
    /// starve the later operations; Go has no such mode.
    ///
    /// ```
    /// let (tx1, rx1) = baton::chan::unbounded();
    /// let (tx2, rx2) = baton::chan::unbounded();
    /// tx1.send(1).unwrap();
    /// tx2.send(2).unwrap();
    /// let mut sel = baton::chan::Select::new_biased();
    /// let first = sel.recv(&rx1);
    /// sel.recv(&rx2);
    /// let op = sel.select();
    /// assert_eq!(op.index(), first); // always the first ready one
    /// assert_eq!(op.recv(&rx1), Ok(1));
    /// # drop(rx2);
    /// ```
    pub fn new_biased() -> Self {
        Select {
            biased: true,
            ..Select::new()
        }
    }

    /// Adds a receive from `r`; returns its index.
    ///
    /// ```
    /// let (tx, rx) = baton::chan::bounded(1);
    /// tx.send(1).unwrap();
    /// let mut sel = baton::chan::Select::new();
    /// let i = sel.recv(&rx);
    /// let op = sel.select();
    /// assert_eq!(op.index(), i);
    /// assert_eq!(op.recv(&rx), Ok(1));
    /// ```
    #[inline]
    pub fn recv<T>(&mut self, r: &'a Receiver<T>) -> usize {
        let i = self.next_index;
        self.next_index += 1;
        let ptr = r as *const Receiver<T> as *const u8;
        self.arms.push(Arm {
            handle: r,
            index: i,
            ptr,
        });
        i
    }

    /// Adds a send into `s`; returns its index. The value is given only if
    /// this operation is chosen ([`SelectedOperation::send`]).
    ///
    /// ```
    /// let (tx, rx) = baton::chan::bounded(1);
    /// let mut sel = baton::chan::Select::new();
    /// let i = sel.send(&tx);
    /// let op = sel.select();
    /// assert_eq!(op.index(), i);
    /// op.send(&tx, 5).unwrap();
    /// assert_eq!(rx.recv(), Ok(5));
    /// ```
    #[inline]
    pub fn send<T>(&mut self, s: &'a Sender<T>) -> usize {
        let i = self.next_index;
        self.next_index += 1;
        let ptr = s as *const Sender<T> as *const u8;
        self.arms.push(Arm {
            handle: s,
            index: i,
            ptr,
        });
        i
    }

    /// Adds a receive if `r` is `Some`; returns the index it has (or would
    /// have had: a `None` arm still takes an index, so arm numbers stay
    /// fixed). For `select!`'s optional arms.
    #[doc(hidden)]
    #[inline]
    pub fn recv_opt<T>(&mut self, r: Option<&'a Receiver<T>>) -> usize {
        match r {
            Some(r) => self.recv(r),
            None => {
                self.next_index += 1;
                self.next_index - 1
            }
        }
    }

    /// As [`recv_opt`](Self::recv_opt), for a send.
    #[doc(hidden)]
    #[inline]
    pub fn send_opt<T>(&mut self, s: Option<&'a Sender<T>>) -> usize {
        match s {
            Some(s) => self.send(s),
            None => {
                self.next_index += 1;
                self.next_index - 1
            }
        }
    }

    /// Removes the operation with index `i` (it is never chosen again).
    ///
    /// # Panics
    ///
    /// If there is no operation with that index.
    ///
    /// ```
    /// let (tx1, rx1) = baton::chan::unbounded::<i32>();
    /// let (tx2, rx2) = baton::chan::unbounded::<i32>();
    /// tx1.send(1).unwrap();
    /// tx2.send(2).unwrap();
    /// let mut sel = baton::chan::Select::new();
    /// let i1 = sel.recv(&rx1);
    /// sel.recv(&rx2);
    /// sel.remove(i1);
    /// let op = sel.select();
    /// assert_eq!(op.recv(&rx2), Ok(2));
    /// ```
    pub fn remove(&mut self, i: usize) {
        if !self.arms.remove(i) {
            panic!("Select::remove({i}): no operation has this index");
        }
    }

    /// Waits until one operation can complete and starts it; complete it
    /// with the returned [`SelectedOperation`].
    ///
    /// ```
    /// let (tx, rx) = baton::chan::rendezvous();
    /// std::thread::spawn(move || tx.send(7).unwrap());
    /// let mut sel = baton::chan::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.select().recv(&rx), Ok(7));
    /// ```
    pub fn select(&mut self) -> SelectedOperation<'a> {
        self.run(Timeout::Never)
            .expect("a select without a timeout cannot time out")
    }

    /// Starts an operation that can complete now, if there is one.
    ///
    /// ```
    /// let (tx, rx) = baton::chan::bounded::<i32>(1);
    /// let mut sel = baton::chan::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.try_select().is_err());
    /// tx.send(1).unwrap();
    /// assert_eq!(sel.try_select().unwrap().recv(&rx), Ok(1));
    /// ```
    pub fn try_select(&mut self) -> Result<SelectedOperation<'a>, TrySelectError> {
        self.run(Timeout::Now).ok_or(TrySelectError)
    }

    /// As [`select`](Self::select), giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_tx, rx) = baton::chan::bounded::<i32>(1);
    /// let mut sel = baton::chan::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.select_timeout(Duration::from_millis(2)).is_err());
    /// ```
    pub fn select_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        match Instant::now().checked_add(timeout) {
            Some(d) => self.select_deadline(d),
            None => Ok(self.select()),
        }
    }

    /// As [`select`](Self::select), giving up at `deadline`.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let (tx, rx) = baton::chan::bounded(1);
    /// tx.send(3).unwrap();
    /// let mut sel = baton::chan::Select::new();
    /// sel.recv(&rx);
    /// let op = sel.select_deadline(Instant::now() + Duration::from_secs(1)).unwrap();
    /// assert_eq!(op.recv(&rx), Ok(3));
    /// ```
    pub fn select_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        self.run(Timeout::At(deadline)).ok_or(SelectTimeoutError)
    }

    fn run(&mut self, timeout: Timeout) -> Option<SelectedOperation<'a>> {
        let (token, arm) = run_select(self.arms.as_mut_slice(), timeout, self.biased)?;
        Some(SelectedOperation {
            token,
            index: arm.index,
            ptr: arm.ptr,
            handle: arm.handle,
            done: false,
            _marker: PhantomData,
        })
    }

    /// Waits until some operation *may* complete and returns its index,
    /// without starting it (another thread may still take the value first:
    /// then the operation, tried without blocking, fails).
    ///
    /// ```
    /// let (tx, rx) = baton::chan::bounded(1);
    /// tx.send(1).unwrap();
    /// let mut sel = baton::chan::Select::new();
    /// let i = sel.recv(&rx);
    /// assert_eq!(sel.ready(), i);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub fn ready(&mut self) -> usize {
        run_ready(self.arms.as_mut_slice(), Timeout::Never, self.biased).expect("no timeout")
    }

    /// The index of an operation that may complete now, if any.
    ///
    /// ```
    /// let (_tx, rx) = baton::chan::bounded::<i32>(1);
    /// let mut sel = baton::chan::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.try_ready().is_err());
    /// ```
    pub fn try_ready(&mut self) -> Result<usize, TryReadyError> {
        run_ready(self.arms.as_mut_slice(), Timeout::Now, self.biased).ok_or(TryReadyError)
    }

    /// As [`ready`](Self::ready), giving up after `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, _rx) = baton::chan::bounded::<i32>(1);
    /// let mut sel = baton::chan::Select::new();
    /// let i = sel.send(&tx);
    /// assert_eq!(sel.ready_timeout(Duration::from_secs(1)), Ok(i));
    /// ```
    pub fn ready_timeout(&mut self, timeout: Duration) -> Result<usize, ReadyTimeoutError> {
        let t = match Instant::now().checked_add(timeout) {
            Some(d) => Timeout::At(d),
            None => Timeout::Never,
        };
        run_ready(self.arms.as_mut_slice(), t, self.biased).ok_or(ReadyTimeoutError)
    }
}

/// Arms kept inline up to [`INLINE`] (no allocation for the common
/// select of a few channels), spilling to a `Vec` beyond.
///
/// Invariant: `len <= INLINE` and `inline[..len]` are the arms, or `len ==
/// SPILLED` and `spill` holds every arm (once spilled, it stays spilled,
/// even when removals leave fewer than `INLINE`). The filler slots past
/// `len` are never looked at.
#[derive(Clone)]
struct Arms<'a> {
    inline: [Arm<'a>; INLINE],
    len: usize,
    spill: Vec<Arm<'a>>,
}

/// Arms a [`Select`] holds without allocating.
const INLINE: usize = 8;

/// `Arms::len` once the arms moved to `spill`.
const SPILLED: usize = usize::MAX;

/// The filler of unused inline slots (never looked at).
static FILLER: Receiver<()> = Receiver {
    flavor: super::flavors::AnyFlavor::Never(super::flavors::never::Channel::new()),
};

impl<'a> Arms<'a> {
    #[inline]
    fn new() -> Self {
        Arms {
            inline: [Arm {
                handle: &FILLER,
                index: usize::MAX,
                ptr: core::ptr::null(),
            }; INLINE],
            len: 0,
            spill: Vec::new(),
        }
    }

    /// Adds an arm: one store and a compare while the arms fit inline
    /// (the `select!` macro's case: this is on every select's path).
    #[inline]
    fn push(&mut self, arm: Arm<'a>) {
        if self.len < INLINE {
            self.inline[self.len] = arm;
            self.len += 1;
        } else {
            self.push_spilled(arm);
        }
    }

    #[cold]
    fn push_spilled(&mut self, arm: Arm<'a>) {
        if self.len != SPILLED {
            self.spill.extend_from_slice(&self.inline);
            self.len = SPILLED;
        }
        self.spill.push(arm);
    }

    #[inline]
    fn as_slice(&self) -> &[Arm<'a>] {
        if self.len == SPILLED {
            &self.spill
        } else {
            &self.inline[..self.len]
        }
    }

    #[inline]
    fn as_mut_slice(&mut self) -> &mut [Arm<'a>] {
        if self.len == SPILLED {
            &mut self.spill
        } else {
            &mut self.inline[..self.len]
        }
    }

    /// Removes the arm with index `i`; `false` if there is none.
    fn remove(&mut self, i: usize) -> bool {
        let Some(pos) = self.as_slice().iter().position(|a| a.index == i) else {
            return false;
        };
        if self.len == SPILLED {
            self.spill.swap_remove(pos);
        } else {
            self.inline[pos] = self.inline[self.len - 1];
            self.len -= 1;
        }
        true
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for Select<'_> {
    fn clone(&self) -> Self {
        Select {
            arms: self.arms.clone(),
            next_index: self.next_index,
            biased: self.biased,
        }
    }
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("operations", &self.arms.as_slice().len())
            .finish()
    }
}

/// The operation a select chose, started but not completed: complete it
/// with [`recv`](Self::recv) or [`send`](Self::send) on the same
/// receiver or sender it was added with.
///
/// # Panics
///
/// Dropping it without completing it panics (a misuse): the channel had
/// reserved a slot (or paired with a counterpart waiting on it) for this
/// operation. The claim is released first, so the channel stays usable: a
/// claimed receive drops its value, a claimed send poisons its slot and
/// receivers skip it. The same release happens when a panic unwinds
/// through an uncompleted operation. Forgetting it (`mem::forget`)
/// releases nothing: the slot stays claimed, which may leave later
/// operations on that channel waiting, but is never unsound.
///
/// ```
/// let (tx, rx) = baton::chan::unbounded();
/// tx.send(1).unwrap();
/// let mut sel = baton::chan::Select::new();
/// sel.recv(&rx);
/// let op = sel.select();
/// assert_eq!(op.index(), 0);
/// assert_eq!(op.recv(&rx), Ok(1));
/// ```
#[must_use = "a selected operation must be completed with recv or send"]
pub struct SelectedOperation<'a> {
    token: Token,
    index: usize,
    ptr: *const u8,
    /// The chosen arm, to release the claim if the operation is abandoned.
    handle: &'a dyn SelectHandle,
    done: bool,
    _marker: PhantomData<&'a ()>,
}

impl SelectedOperation<'_> {
    /// The index of the chosen operation.
    ///
    /// ```
    /// let (tx, rx) = baton::chan::bounded(1);
    /// let mut sel = baton::chan::Select::new();
    /// sel.recv(&rx);
    /// let i = sel.send(&tx);
    /// let op = sel.select(); // only the send is ready
    /// assert_eq!(op.index(), i);
    /// op.send(&tx, ()).unwrap();
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// Completes the chosen receive.
    ///
    /// On a rendezvous channel whose paired sender abandoned its send (its
    /// own `SelectedOperation` dropped), this waits for the next sender, as
    /// `recv` would.
    ///
    /// # Panics
    ///
    /// If `r` is not the receiver the chosen operation was added with.
    ///
    /// ```
    /// let (tx, rx) = baton::chan::bounded(1);
    /// tx.send('x').unwrap();
    /// let mut sel = baton::chan::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.select().recv(&rx), Ok('x'));
    /// ```
    pub fn recv<T>(mut self, r: &Receiver<T>) -> Result<T, RecvError> {
        assert!(
            r as *const Receiver<T> as *const u8 == self.ptr,
            "SelectedOperation::recv: passed a receiver that was not the selected operation's"
        );
        self.done = true;
        // SAFETY: the token was filled for this very receiver (checked above)
        // and is used once (`self` is consumed).
        unsafe { handle::read(r, &mut self.token) }.map_err(|()| RecvError::Closed)
    }

    /// Completes the chosen send with `value` (handed back if the channel
    /// is closed).
    ///
    /// # Panics
    ///
    /// If `s` is not the sender the chosen operation was added with.
    ///
    /// ```
    /// let (tx, rx) = baton::chan::unbounded();
    /// let mut sel = baton::chan::Select::new();
    /// sel.send(&tx);
    /// sel.select().send(&tx, 9).unwrap();
    /// assert_eq!(rx.recv(), Ok(9));
    /// ```
    pub fn send<T>(mut self, s: &Sender<T>, value: T) -> Result<(), SendError<T>> {
        assert!(
            s as *const Sender<T> as *const u8 == self.ptr,
            "SelectedOperation::send: passed a sender that was not the selected operation's"
        );
        self.done = true;
        // SAFETY: as in `recv`.
        unsafe { handle::write(s, &mut self.token, value) }.map_err(SendError)
    }
}

impl Drop for SelectedOperation<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        // Release the claim first, so that the channel stays usable whether
        // we panic below or are being unwound.
        // SAFETY: the token was filled by this handle's phase 1 and was not
        // used (`done` was false); this is its one use.
        unsafe { self.handle.abandon(&mut self.token) };
        if !std::thread::panicking() {
            panic!("a SelectedOperation was dropped without being completed (call recv or send)");
        }
    }
}

impl fmt::Debug for SelectedOperation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectedOperation")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

/// Helpers for `select!`; not part of the API.
#[doc(hidden)]
pub mod __private {
    use super::super::{Receiver, Sender};

    /// What a `recv(...)` arm accepts, found by method-call auto-deref (so
    /// any number of `&` and any `Deref` to a receiver work): a receiver,
    /// or an optional one (`None` disables the arm).
    pub trait RecvArm {
        type Item;
        fn __baton_recv_arm(&self) -> Option<&Receiver<Self::Item>>;
    }

    impl<T> RecvArm for Receiver<T> {
        type Item = T;
        fn __baton_recv_arm(&self) -> Option<&Receiver<T>> {
            Some(self)
        }
    }

    impl<T> RecvArm for Option<&Receiver<T>> {
        type Item = T;
        fn __baton_recv_arm(&self) -> Option<&Receiver<T>> {
            *self
        }
    }

    impl<T> RecvArm for Option<Receiver<T>> {
        type Item = T;
        fn __baton_recv_arm(&self) -> Option<&Receiver<T>> {
            self.as_ref()
        }
    }

    /// What a `send(...)` arm accepts, as [`RecvArm`].
    pub trait SendArm {
        type Item;
        fn __baton_send_arm(&self) -> Option<&Sender<Self::Item>>;
    }

    impl<T> SendArm for Sender<T> {
        type Item = T;
        fn __baton_send_arm(&self) -> Option<&Sender<T>> {
            Some(self)
        }
    }

    impl<T> SendArm for Option<&Sender<T>> {
        type Item = T;
        fn __baton_send_arm(&self) -> Option<&Sender<T>> {
            *self
        }
    }

    impl<T> SendArm for Option<Sender<T>> {
        type Item = T;
        fn __baton_send_arm(&self) -> Option<&Sender<T>> {
            self.as_ref()
        }
    }
}
