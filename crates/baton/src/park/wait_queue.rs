//! [`WaitQueue`]: the FIFO of parked waiters that every blocking primitive
//! (mutex, condition variable, semaphore, channels) is built from.
//!
//! # Shape
//!
//! An intrusive doubly-linked list: each waiter's node lives on the waiter's
//! own stack (pinned inside [`WaitQueue::wait`]), so waiting allocates
//! nothing. A tiny spin lock ([`SpinLock`]) guards the links, reachable
//! only through the [`Locked`] guard; a primitive keeps its own state in its
//! own atomics, and may change it under the queue's lock (in `validate`,
//! `on_timeout` or while it holds a [`Locked`]) to order it with the queue.
//! A node carries:
//!
//! - an [`Unparker`] for its waiter (taken out by the waker),
//! - a `payload` (of the queue's type `P`, `()` by default) that the waiter
//!   chose and wakers read: a requested weight, a start time, ...,
//! - a `state` word: [`WAITING`] until a waker stores a [`Token`] in it.
//!   The token is the primitive's message: "you were just woken, try again"
//!   vs "you own the lock now" vs "here are your permits". The queue gives
//!   tokens no meaning.
//!
//! # Invariants (all under the spin lock)
//!
//! 1. A node is linked **iff** its `state` is [`WAITING`]. A waker unlinks a
//!    node and stores its token in one critical section; a waiter that times
//!    out unlinks itself in one critical section, and only if it still sees
//!    `WAITING`.
//! 2. Hence a timed-out waiter never swallows a wake meant for another: if it
//!    was handed a token before it got the lock, `wait` returns
//!    [`Waited::Woken`] with that token (the caller keeps what it was given,
//!    even though the deadline passed, or passes it on itself); otherwise it
//!    leaves the queue before any waker can pick it, and the waker picks the
//!    next waiter instead.
//! 3. A node is never dropped while linked: `wait` does not return (or
//!    unwind, see `Linked`) until invariant 1 says it is unlinked.
//! 4. After storing the token a waker never touches the node again (the
//!    waiter may return and pop its stack frame at once); it keeps the
//!    `Unparker` it took out and calls `unpark` after releasing the lock, so
//!    no syscall ever runs under the spin lock.
//!
//! # Orderings
//!
//! The spin lock's Acquire/Release orders everything done under it. The
//! token store is `Release` and the waiter's lock-free check of it is
//! `Acquire`, so what the waker did before handing off (e.g. the data of a
//! mutex it hands over) is visible to the waiter that sees the token without
//! taking the lock. The timed-out waiter re-reads `state` under the lock,
//! where `Relaxed` is enough: the waker's store happened in an earlier
//! critical section, which the lock orders before ours.
//!
//! # Wake-ups
//!
//! A waiter may see its token before its `unpark` arrives; that wake then
//! leaves a token in its parker, and its next park somewhere else returns
//! once, spuriously, which the park contract allows.
//!
//! # Alternatives rejected
//!
//! A `VecDeque<Arc<Waiter>>` under the lock is simpler but allocates per
//! wait and removes from the middle in O(n); parking_lot's global hash table
//! of queues keyed by address keeps each lock one word but costs a hash and
//! a global table. baton's primitives can afford a queue head beside their
//! state word, and get O(1) removal and no allocation.

use core::fmt;
use core::marker::{PhantomData, PhantomPinned};
use core::pin::pin;
use core::ptr;
use std::time::Instant;

use super::spin_lock::{SpinGuard, SpinLock};
use super::{Parker, Unparker};
use crate::shim::atomic::{AtomicUsize, Ordering};
use crate::shim::UnsafeCell;

/// When a wait gives up without its token: at a deadline, and/or when an
/// abort condition holds. The condition is checked after every wake-up of
/// the waiter; whoever makes it true must then unpark the waiter (a
/// context's cancel does: the context-taking waits register the waiter's
/// unparker on the context first, see `context/wait.rs`). Giving up for
/// either reason is reported as [`Waited::TimedOut`], through the same
/// path (leave the queue unless a token came first, run `on_timeout`).
#[derive(Clone, Copy, Default)]
pub(crate) struct Until<'a> {
    pub(crate) deadline: Option<Instant>,
    pub(crate) abort: Option<&'a dyn Fn() -> bool>,
}

impl Until<'_> {
    /// Whether the abort condition holds.
    #[inline]
    pub(crate) fn aborted(&self) -> bool {
        self.abort.is_some_and(|f| f())
    }

    /// Whether the wait should give up now (deadline passed, or aborted).
    #[allow(dead_code)] // the lock slow paths use it
    pub(crate) fn passed(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d) || self.aborted()
    }
}

impl From<Option<Instant>> for Until<'_> {
    fn from(deadline: Option<Instant>) -> Self {
        Until {
            deadline,
            abort: None,
        }
    }
}

/// The `state` of a node that no waker has picked yet. Never a valid token.
const WAITING: usize = usize::MAX;

/// What a waker hands the waiter it wakes: the primitive's message ("try
/// again", "the lock is yours", ...). The queue gives it no meaning. Any
/// `usize` but `usize::MAX`, which the queue reserves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token(usize);

impl Token {
    /// The plain wake-up: "you were woken, look again". Primitives that
    /// need no other message use it.
    pub(crate) const WAKE: Token = Token(0);

    /// A token carrying `value`.
    ///
    /// # Panics
    ///
    /// If `value` is `usize::MAX` (reserved by the queue); a `const` token
    /// fails to compile instead.
    pub(crate) const fn new(value: usize) -> Self {
        assert!(value != WAITING, "usize::MAX is reserved by the wait queue");
        Token(value)
    }
}

/// How a [`WaitQueue::wait`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waited {
    /// `validate` returned `false`: the caller was never queued.
    NotQueued,
    /// A waker handed this token (possibly racing with the deadline).
    Woken(Token),
    /// The deadline passed and the caller left the queue unwoken;
    /// `on_timeout` ran.
    TimedOut,
}

/// A FIFO of parked waiters, each with a payload `P`, under one spin lock.
/// See the module docs.
pub(crate) struct WaitQueue<P: Copy = ()> {
    links: SpinLock<Links<P>>,
}

/// The queue's ends, guarded by the spin lock.
struct Links<P> {
    head: *const Node<P>,
    tail: *const Node<P>,
    len: usize,
}

// SAFETY: the links are raw pointers, so not `Send` by themselves; they are
// only reached under the spin lock, and the nodes they point to belong to
// parked waiters and hold only `Send + Sync` data (an `Unparker`, atomics)
// besides the payload, which wakers on any thread read (hence `P: Sync`)
// and copy out (hence `P: Send`).
unsafe impl<P: Send + Sync> Send for Links<P> {}

/// One waiter, on its own stack. Field rules: `payload` never changes;
/// `prev`, `next` and `unparker` are guarded by the queue's lock; `state` is
/// written under the lock, read without it (see the module docs).
struct Node<P> {
    prev: UnsafeCell<*const Node<P>>,
    next: UnsafeCell<*const Node<P>>,
    payload: P,
    unparker: UnsafeCell<Option<Unparker>>,
    state: AtomicUsize,
    _pinned: PhantomPinned,
}

impl<P> Node<P> {
    fn new(payload: P, unparker: Unparker) -> Self {
        Self {
            prev: UnsafeCell::new(ptr::null()),
            next: UnsafeCell::new(ptr::null()),
            payload,
            unparker: UnsafeCell::new(Some(unparker)),
            state: AtomicUsize::new(WAITING),
            _pinned: PhantomPinned,
        }
    }
}

impl<P> Links<P> {
    const EMPTY: Self = Links {
        head: ptr::null(),
        tail: ptr::null(),
        len: 0,
    };
}

impl<P: Copy> WaitQueue<P> {
    /// An empty queue.
    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Self {
            links: SpinLock::with_value(Links::EMPTY),
        }
    }

    /// An empty queue.
    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Self {
            links: SpinLock::with_value(Links::EMPTY),
        }
    }

    /// Takes the spin lock. Keep the guard briefly: wake, update state,
    /// drop. Wakes requested through it are delivered when it drops.
    #[inline]
    pub(crate) fn lock(&self) -> Locked<'_, P> {
        Locked {
            links: self.links.lock(),
            pending: Pending::default(),
            _not_send: PhantomData,
        }
    }

    /// Parks the caller in the queue until a waker hands it a token, or the
    /// deadline passes.
    ///
    /// 1. Under the lock, `validate` runs: it re-checks the primitive's
    ///    condition (and may take what it waits for); if it returns `false`
    ///    the caller is not queued and gets [`Waited::NotQueued`].
    /// 2. Otherwise the caller joins the back of the queue with `payload`,
    ///    the lock is released, and `before_sleep` runs (a condition
    ///    variable unlocks its mutex here: any wake from then on finds the
    ///    waiter queued).
    /// 3. It parks until its token arrives ([`Waited::Woken`]), or until
    ///    `deadline`: then, under the lock, it leaves the queue if no token
    ///    came, runs `on_timeout` (e.g. to clear a "has waiters" bit or pass
    ///    a wake on) and returns [`Waited::TimedOut`]. A token that raced
    ///    with the deadline wins: the caller gets `Woken`.
    ///
    /// Spurious wake-ups are absorbed here. If the caller unwinds from
    /// `before_sleep` while queued, it leaves the queue; a token handed to it
    /// at that moment is dropped.
    ///
    /// `until` is a deadline (`Option<Instant>`) or an [`Until`] that may
    /// also abort the wait.
    ///
    /// Always inlined into its caller (each primitive calls it from one
    /// place, with its own closures, so nothing is duplicated): a parked
    /// goroutine resumes through this frame on a stack that has gone cold
    /// in the cache, and every separate frame and call on that path costs
    /// misses. Once the `Until` parameter (issue 12) made it bigger, LLVM
    /// stopped inlining it into `Cond::wait_raw` in the lab's build, and
    /// the goroutine ring (`baton-lab run goroutines`, 1 worker: 10k
    /// goroutines waiting on `Mutex` + `Cond` slots) went from 1.3-1.4x
    /// `may` to about 0.9-1.1x (issue 10). Forcing it, with
    /// [`ReasonGuard`](super::reason::ReasonGuard)'s drop, brought the ring's CPU time per
    /// hop back to what it was before (measured per child run with
    /// `perf stat -e task-clock`; the commit message has the figures), and
    /// the lab's ring row back to 1.06-1.22x `may` (0.83-0.89x before, in
    /// the same quiet spell, interleaved).
    #[inline(always)]
    pub(crate) fn wait<'u>(
        &self,
        payload: P,
        until: impl Into<Until<'u>>,
        validate: impl FnOnce(&mut Locked<'_, P>) -> bool,
        before_sleep: impl FnOnce(),
        on_timeout: impl FnOnce(&mut Locked<'_, P>),
    ) -> Waited {
        let until = until.into();
        let deadline = until.deadline;
        let parker = Parker::current();
        let node = pin!(Node::new(payload, parker.unparker()));
        let node: &Node<P> = node.as_ref().get_ref();
        {
            let mut q = self.lock();
            if !validate(&mut q) {
                return Waited::NotQueued;
            }
            // SAFETY: `node` is pinned on this frame and not linked;
            // invariant 3 holds because every exit below waits for (or
            // performs) its unlinking, and `linked` covers unwinding.
            unsafe { q.push_back(node) };
        }
        let linked = Linked { queue: self, node };
        before_sleep();
        loop {
            // Acquire: see the module docs (hand-off visibility).
            let token = node.state.load(Ordering::Acquire);
            if token != WAITING {
                core::mem::forget(linked);
                return Waited::Woken(Token(token));
            }
            match deadline {
                None => parker.park(),
                Some(deadline) => {
                    if parker.park_deadline(deadline) {
                        core::mem::forget(linked);
                        return self.time_out(node, on_timeout);
                    }
                }
            }
            if until.aborted() {
                core::mem::forget(linked);
                return self.time_out(node, on_timeout);
            }
        }
    }

    /// The deadline passed: leave the queue unless a token came first.
    #[cold]
    fn time_out(&self, node: &Node<P>, on_timeout: impl FnOnce(&mut Locked<'_, P>)) -> Waited {
        let mut q = self.lock();
        // Relaxed: under the lock, see the module docs.
        let token = node.state.load(Ordering::Relaxed);
        if token != WAITING {
            return Waited::Woken(Token(token));
        }
        // SAFETY: invariant 1: `WAITING` under the lock means linked here.
        unsafe { q.unlink(node) };
        on_timeout(&mut q);
        Waited::TimedOut
    }
}

impl<P: Copy> fmt::Debug for WaitQueue<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitQueue").finish_non_exhaustive()
    }
}

/// Unlinks its node if the waiter unwinds while queued (invariant 3).
struct Linked<'a, P: Copy> {
    queue: &'a WaitQueue<P>,
    node: &'a Node<P>,
}

impl<P: Copy> Drop for Linked<'_, P> {
    fn drop(&mut self) {
        let mut q = self.queue.lock();
        if self.node.state.load(Ordering::Relaxed) == WAITING {
            // SAFETY: invariant 1, under the lock.
            unsafe { q.unlink(self.node) };
        }
    }
}

/// The queue, locked. Dropping it releases the lock, then unparks every
/// waiter woken through it.
pub(crate) struct Locked<'a, P = ()> {
    // Field order matters: fields drop in declaration order, so the lock is
    // released (`links`) before the wakes are delivered (`pending`), and no
    // syscall runs under the spin lock (invariant 4).
    links: SpinGuard<'a, Links<P>>,
    pending: Pending,
    _not_send: PhantomData<*const ()>,
}

impl<P: Copy> Locked<'_, P> {
    fn inner(&self) -> &Links<P> {
        &self.links
    }

    fn inner_mut(&mut self) -> &mut Links<P> {
        &mut self.links
    }

    /// How many waiters are queued.
    pub(crate) fn len(&self) -> usize {
        self.inner().len
    }

    /// Whether no waiter is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.inner().head.is_null()
    }

    /// The payload of the longest-waiting waiter.
    pub(crate) fn front(&self) -> Option<P> {
        let head = self.inner().head;
        // SAFETY: a linked node is alive (invariant 3) and `payload` is
        // immutable.
        (!head.is_null()).then(|| unsafe { (*head).payload })
    }

    /// Wakes the longest-waiting waiter with `token`; returns its payload,
    /// or `None` if the queue is empty. The unpark happens when this guard
    /// drops.
    pub(crate) fn wake_front(&mut self, token: Token) -> Option<P> {
        let head = self.inner().head;
        if head.is_null() {
            return None;
        }
        // SAFETY: `head` is linked, hence alive, and we hold the lock.
        Some(unsafe { self.wake(head, token) })
    }

    /// Wakes waiters from the front while `pick(payload)` returns a token
    /// for them; stops at the first `None` (FIFO: nobody overtakes it).
    /// Returns how many were woken.
    pub(crate) fn wake_while(&mut self, mut pick: impl FnMut(P) -> Option<Token>) -> usize {
        let mut woken = 0;
        while let Some(payload) = self.front() {
            match pick(payload) {
                Some(token) => {
                    self.wake_front(token);
                    woken += 1;
                }
                None => break,
            }
        }
        woken
    }

    /// Wakes every waiter with `token`; returns how many.
    pub(crate) fn wake_all(&mut self, token: Token) -> usize {
        self.wake_while(|_| Some(token))
    }

    /// Links `node` at the back.
    ///
    /// # Safety
    ///
    /// `node` is unlinked, its `state` is `WAITING`, and it stays alive and
    /// in place until unlinked (invariant 3).
    unsafe fn push_back(&mut self, node: &Node<P>) {
        let inner = self.inner_mut();
        let tail = inner.tail;
        node.prev.with_mut(|p| {
            // SAFETY: we hold the lock, which guards the links.
            unsafe { *p = tail }
        });
        node.next.with_mut(|p| {
            // SAFETY: as above.
            unsafe { *p = ptr::null() }
        });
        if tail.is_null() {
            inner.head = node;
        } else {
            // SAFETY: `tail` is linked, hence alive; we hold the lock.
            unsafe { (*tail).next.with_mut(|p| *p = node) };
        }
        inner.tail = node;
        inner.len += 1;
    }

    /// Unlinks `node`.
    ///
    /// # Safety
    ///
    /// `node` is linked in this queue.
    unsafe fn unlink(&mut self, node: &Node<P>) {
        // SAFETY: we hold the lock, which guards the links.
        let prev = node.prev.with(|p| unsafe { *p });
        // SAFETY: as above.
        let next = node.next.with(|p| unsafe { *p });
        let inner = self.inner_mut();
        if prev.is_null() {
            debug_assert!(ptr::eq(inner.head, node), "wait queue corrupted: head");
            inner.head = next;
        } else {
            // SAFETY: `prev` is linked, hence alive; we hold the lock.
            unsafe { (*prev).next.with_mut(|p| *p = next) };
        }
        if next.is_null() {
            debug_assert!(ptr::eq(inner.tail, node), "wait queue corrupted: tail");
            inner.tail = prev;
        } else {
            // SAFETY: `next` is linked, hence alive; we hold the lock.
            unsafe { (*next).prev.with_mut(|p| *p = prev) };
        }
        inner.len -= 1;
    }

    /// Unlinks `node`, hands it `token`, queues its unpark; returns its
    /// payload.
    ///
    /// # Safety
    ///
    /// `node` is linked in this queue.
    unsafe fn wake(&mut self, node: *const Node<P>, token: Token) -> P {
        debug_assert_ne!(token.0, WAITING, "`Token::new` rules this out");
        // SAFETY: linked, hence alive until we store its token below.
        let node = unsafe { &*node };
        // SAFETY: the caller guarantees it is linked here.
        unsafe { self.unlink(node) };
        let payload = node.payload;
        // SAFETY: we hold the lock, which guards `unparker`.
        let unparker = node.unparker.with_mut(|p| unsafe { (*p).take() });
        // Release: see the module docs. From here on the node may be gone.
        node.state.store(token.0, Ordering::Release);
        self.pending
            .push(unparker.expect("wait queue corrupted: a queued waiter had no unparker"));
        payload
    }
}

impl<P: Copy> fmt::Debug for Locked<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Locked")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// Unparkers to call once the lock is released: dropping it unparks them
/// (see `Locked`'s field order). One wake is the common case and needs no
/// allocation.
#[derive(Default)]
struct Pending {
    first: Option<Unparker>,
    more: Vec<Unparker>,
}

impl Pending {
    #[inline]
    fn push(&mut self, u: Unparker) {
        if self.first.is_none() {
            self.first = Some(u);
        } else {
            self.more.push(u);
        }
    }
}

impl Drop for Pending {
    #[inline]
    fn drop(&mut self) {
        if let Some(u) = self.first.take() {
            u.unpark();
        }
        // Checked first: iterating (and dropping the iterator of) an empty
        // `Vec` still costs a few dozen instructions on every wake.
        if !self.more.is_empty() {
            for u in self.more.drain(..) {
                u.unpark();
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests;

#[cfg(all(test, loom))]
mod loom_tests;
