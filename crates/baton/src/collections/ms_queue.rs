//! [`MsQueue`]: a lock-free FIFO queue (Michael & Scott, 1996) on epoch
//! reclamation, with helping.
//!
//! ## Algorithm
//!
//! A singly linked list that always starts with a *sentinel* node (whose
//! value slot is empty or already taken), and two atomic pointers: `head`
//! (the sentinel) and `tail` (the last node, or the one before it).
//!
//! - `push`: allocate a node; read `tail` and its `next`. If `next` is not
//!   null the tail is lagging (another pusher linked its node but has not
//!   swung the tail yet): **help** by swinging the tail forward, and retry.
//!   Otherwise CAS `tail.next` from null to the node — the linearisation
//!   point — and then try once to swing `tail` to it (if that CAS fails,
//!   someone helped already).
//! - `pop`: read `head` and its `next`. If `next` is null the queue is
//!   empty. If `tail` still points at `head`, help swing it forward first
//!   (so that `tail` never points to a node that is about to be retired).
//!   Then CAS `head` from the sentinel to `next`: the winner moves `next`'s
//!   value out (`next` becomes the new sentinel) and retires the old
//!   sentinel.
//!
//! ## Invariants
//!
//! - The list from `head` is never empty (there is always a sentinel), and
//!   `tail` is `head` or a node after it: never behind `head` and never
//!   more than one node behind the last.
//! - `head` and `tail` move only forward, one node per CAS; a node's `next`
//!   changes once, from null to its successor.
//! - A node is retired only after `head` has moved past it *and* `tail` is
//!   known to have moved past it, so a thread that pins afterwards cannot
//!   reach it through either pointer.
//! - A value is moved out exactly once, by the popper whose CAS made its
//!   node the sentinel.
//!
//! ## Orderings
//!
//! | where | ordering | why |
//! |---|---|---|
//! | load `tail`, load `head` | Acquire | the node read through them was published by a Release CAS; we read its `next` |
//! | load `node.next` | Acquire | pairs with the push's Release CAS: the new node's value and fields are visible |
//! | CAS `node.next` (push) | Release / Relaxed | publishes the node; on failure we retry from the top |
//! | CAS `tail`, CAS `head` | Release / Relaxed | passes on what we acquired about the node to the next thread that loads `tail` or `head` |
//! | load `tail` in pop | Relaxed | only compared with `head`. We saw `head.next` non-null, i.e. acquired the push that linked after `head`, and that pusher had read `tail == head`; so our read returns `head` or a later tail (read-read coherence), never a stale older one |
//!
//! ## Why this design, and the faster one
//!
//! This is the classic design the background material names, kept as the
//! documented baseline and as the queue to use when strict lock-freedom
//! matters (a stalled thread never delays another's operation). It
//! allocates a node per element and costs two CASes on shared lines per
//! push (link and swing) and one per pop, plus an epoch pin per operation.
//! crossbeam's `SegQueue` dropped this design for blocks of slots claimed
//! by index (one allocation per 31 elements, one CAS per operation, no
//! epoch); baton's [`Queue`](super::Queue) does the same. Measured on the
//! 2-core development machine (push+pop pairs, millions of operations per
//! second): `MsQueue` 15 single-threaded and 9-10 at 8 threads, against
//! about 40 and 36-41 for `SegQueue`; the allocation per push (~45 ns here)
//! is most of the difference.

use core::fmt;
use core::mem::MaybeUninit;
use core::ptr;

use crate::atomic::{Backoff, CachePadded};
use crate::epoch::{self, Atomic, Owned, Shared};
use crate::shim::atomic::Ordering::{Acquire, Relaxed, Release};

struct Node<T> {
    /// Initialised in every node but the sentinel (whose value was taken,
    /// or never existed); read once, by the popper that makes the node the
    /// sentinel.
    value: MaybeUninit<T>,
    /// The successor; null until a pusher links one.
    next: Atomic<Node<T>>,
}

/// A lock-free, unbounded FIFO queue, safe to share between threads.
///
/// ```
/// use baton::collections::MsQueue;
/// use std::thread;
///
/// let q = MsQueue::new();
/// thread::scope(|s| {
///     s.spawn(|| for i in 0..100 { q.push(i) });
/// });
/// // One producer: values come out in the order it pushed them.
/// let out: Vec<i32> = std::iter::from_fn(|| q.pop()).collect();
/// assert_eq!(out, (0..100).collect::<Vec<_>>());
/// ```
pub struct MsQueue<T> {
    /// The sentinel; its own cache line (poppers CAS it).
    head: CachePadded<Atomic<Node<T>>>,
    /// The last node or the one before; its own line (pushers CAS it).
    tail: CachePadded<Atomic<Node<T>>>,
}

// SAFETY: values are moved in by `push` and out by `pop`, never shared by
// reference, so `T: Send` suffices (the bound of `Mutex<VecDeque<T>>`).
unsafe impl<T: Send> Send for MsQueue<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for MsQueue<T> {}

impl<T> MsQueue<T> {
    /// An empty queue (one allocation: the sentinel).
    ///
    /// ```
    /// let q = baton::collections::MsQueue::<String>::new();
    /// assert!(q.is_empty());
    /// ```
    pub fn new() -> Self {
        let sentinel = Owned::new(Node {
            value: MaybeUninit::uninit(),
            next: Atomic::null(),
        });
        // SAFETY: the queue is not shared yet; nothing is loaded or
        // deferred through this guard.
        let guard = unsafe { epoch::unprotected() };
        let sentinel = sentinel.into_shared(guard);
        let q = Self {
            head: CachePadded::new(Atomic::null()),
            tail: CachePadded::new(Atomic::null()),
        };
        q.head.store(sentinel, Relaxed);
        q.tail.store(sentinel, Relaxed);
        q
    }

    /// Appends `value` at the back.
    ///
    /// ```
    /// let q = baton::collections::MsQueue::new();
    /// q.push('a');
    /// q.push('b');
    /// assert_eq!(q.pop(), Some('a'));
    /// ```
    pub fn push(&self, value: T) {
        let guard = epoch::pin();
        let new = Owned::new(Node {
            value: MaybeUninit::new(value),
            next: Atomic::null(),
        })
        .into_shared(&guard);
        let backoff = Backoff::new();
        loop {
            let tail = self.tail.load(Acquire, &guard);
            // SAFETY: `tail` is never null and never points to a retired
            // node (see the invariants), so it is alive while `guard` is.
            let t = unsafe { tail.deref() };
            let next = t.next.load(Acquire, &guard);
            if !next.is_null() {
                // The tail lags: help swing it before our own attempt.
                let _ = self
                    .tail
                    .compare_exchange(tail, next, Release, Relaxed, &guard);
                continue;
            }
            if t.next
                .compare_exchange(Shared::null(), new, Release, Relaxed, &guard)
                .is_ok()
            {
                // Linked. Swing the tail; failure means someone helped.
                let _ = self
                    .tail
                    .compare_exchange(tail, new, Release, Relaxed, &guard);
                return;
            }
            // Spin audit (issue 10): a lost CAS means another thread made
            // progress; a retry loop, never a wait for anyone.
            backoff.spin();
        }
    }

    /// Removes the front value, or `None` if the queue is empty.
    ///
    /// ```
    /// let q = baton::collections::MsQueue::new();
    /// assert_eq!(q.pop(), None::<u8>);
    /// q.push(1);
    /// assert_eq!(q.pop(), Some(1));
    /// ```
    pub fn pop(&self) -> Option<T> {
        let guard = epoch::pin();
        let backoff = Backoff::new();
        loop {
            let head = self.head.load(Acquire, &guard);
            // SAFETY: `head` is never null; it is retired only after a pop
            // moved `head` past it, which we would have read, or which
            // happened after we pinned: alive while `guard` is.
            let h = unsafe { head.deref() };
            let next = h.next.load(Acquire, &guard);
            // SAFETY: a successor of a live node is alive (it is retired
            // only after becoming the sentinel and being passed in turn).
            let n = unsafe { next.as_ref() }?;
            let tail = self.tail.load(Relaxed, &guard);
            if tail == head {
                // The tail lags behind a node we are about to retire: help.
                let _ = self
                    .tail
                    .compare_exchange(tail, next, Release, Relaxed, &guard);
            }
            if self
                .head
                .compare_exchange(head, next, Release, Relaxed, &guard)
                .is_ok()
            {
                // SAFETY: our CAS made `n` the sentinel: we alone take its
                // value, once. `head` is unlinked from `head` and (helped
                // above) from `tail`, and retired once.
                unsafe {
                    let value = ptr::read(n.value.as_ptr());
                    guard.defer_destroy(head);
                    return Some(value);
                }
            }
            // Spin audit (issue 10): a lost CAS means another thread made
            // progress; a retry loop, never a wait for anyone.
            backoff.spin();
        }
    }

    /// Whether the queue is empty at the moment of the call.
    ///
    /// ```
    /// let q = baton::collections::MsQueue::new();
    /// assert!(q.is_empty());
    /// q.push(0);
    /// assert!(!q.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        let guard = epoch::pin();
        let head = self.head.load(Acquire, &guard);
        // SAFETY: `head` is never null and alive while `guard` is.
        unsafe { head.deref() }.next.load(Relaxed, &guard).is_null()
    }
}

impl<T> Drop for MsQueue<T> {
    fn drop(&mut self) {
        // `&mut self`: no other thread can reach the nodes; free them now.
        let mut p = self.head.load_mut();
        let mut is_sentinel = true;
        while !p.is_null() {
            // SAFETY: linked nodes came from `Owned` (a `Box`); each is
            // freed exactly once, here.
            let mut node = unsafe { Box::from_raw(p) };
            p = node.next.load_mut();
            if !is_sentinel {
                // SAFETY: every node after the sentinel holds a value.
                unsafe { node.value.assume_init_drop() };
            }
            is_sentinel = false;
        }
    }
}

impl<T> Default for MsQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for MsQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MsQueue")
            .field("is_empty", &self.is_empty())
            .finish()
    }
}
