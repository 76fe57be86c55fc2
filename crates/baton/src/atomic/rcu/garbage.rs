//! [`Garbage`]: an [`Rcu`](super::Rcu)'s retired versions, waiting to be
//! freed, and the flag that lets one thread at a time free them.
//!
//! Writers push retired versions, each tagged with the epoch it was
//! retired in, on a lock-free stack (`incoming`): a push never waits. The
//! *pass holder* (whoever wins the `reclaiming` flag; the others skip their
//! pass rather than wait) drains the stack into `kept`, a private list
//! bucketed by tag, and frees whole buckets once the epoch allows.
//!
//! ## Invariants
//!
//! - Each retired version is in exactly one place: a node of `incoming`,
//!   or a bucket of `kept`; `pending` counts them (it is decremented only
//!   after the version's `Arc` is dropped).
//! - `kept` is touched only by the holder of `reclaiming` (or through
//!   `&mut`), and its buckets are sorted by tag, one bucket per tag. A pass
//!   frees every bucket the epoch allows before it ends, and tags are never
//!   above the epoch, so between passes there are at most `GRACE` buckets:
//!   a pass costs O(versions drained + versions freed), never O(pending).
//!
//! ## Orderings
//!
//! ## Links are addresses, not pointers
//!
//! A push reads the head, links its node to it, and CASes the head from
//! that value to its node. Between the read and the CAS, a pass may drain
//! and free the head node, and a new node may be allocated at the same
//! address and pushed: the CAS then succeeds (ABA). For the list's shape
//! that is harmless, since the CAS proves the link's target is the current
//! head. But a pointer read before the free carries the freed node's
//! *provenance*, and following it would be undefined behaviour in Rust's
//! abstract machine even though the address is live again (Miri reported
//! exactly this). So the head and the links hold node *addresses*
//! (`usize`): every node's address is exposed when it is pushed
//! (`Box::into_raw(..) as usize`), and the drain turns addresses back into
//! pointers with an integer-to-pointer cast, which takes the provenance of
//! the live, exposed node at that address (exposed-provenance semantics,
//! `core::ptr::with_exposed_provenance_mut`; plain `as` casts here, for
//! the crate's minimum Rust version).
//!
//! ## Orderings
//!
//! | operation | ordering | why |
//! |---|---|---|
//! | push (CAS on `incoming`) | `Release` | the node's fields reach the pass that drains it |
//! | drain (swap `incoming` to null) | `Acquire` | pairs with the pushes |
//! | take `reclaiming` (CAS) | `Acquire` | `kept`, and the epoch's latest value, pass from holder to holder |
//! | release `reclaiming` | `Release` | the same, for the next holder |
//! | `pending` increment | `Relaxed` | a count; the push publishes it |
//! | `pending` decrement | `Release` | after the drop: a reader of 0 (`Acquire`) sees the frees done |

use crate::atomic::Backoff;
use crate::shim::atomic::Ordering::{Acquire, Relaxed, Release};
use crate::shim::atomic::{AtomicBool, AtomicUsize};
use crate::shim::{Arc, UnsafeCell};

/// The address of no node: the bottom of the incoming stack.
const EMPTY: usize = 0;

/// An `Rcu`'s retired versions (see the module docs).
pub(super) struct Garbage<T> {
    /// Versions retired since the last drain: a Treiber stack of boxed
    /// nodes, as the address of the top node (0: empty; module docs on why
    /// an address). Pushed by writers, drained (swapped to 0) by the holder.
    incoming: AtomicUsize,
    /// Retired versions not yet freed.
    pending: AtomicUsize,
    /// The reclamation flag: `true` while a pass runs.
    reclaiming: AtomicBool,
    /// Versions drained but not yet freed. Guarded by `reclaiming`.
    kept: UnsafeCell<Kept<T>>,
}

/// A node of the incoming stack.
struct Node<T> {
    /// The strong count the cell held on the retired version.
    value: Arc<T>,
    /// The epoch its writer read after unlinking it.
    tag: u64,
    /// The address of the node below (0 at the bottom).
    next: usize,
}

/// Drained versions, bucketed by tag, buckets sorted by tag.
pub(super) struct Kept<T> {
    buckets: Vec<(u64, Vec<Arc<T>>)>,
}

impl<T> Garbage<T> {
    pub(super) fn new() -> Self {
        Self {
            incoming: AtomicUsize::new(EMPTY),
            pending: AtomicUsize::new(0),
            reclaiming: AtomicBool::new(false),
            kept: UnsafeCell::new(Kept {
                buckets: Vec::new(),
            }),
        }
    }

    /// Retired versions not yet freed. `Acquire`: a caller that reads 0
    /// sees the frees of everything counted done.
    pub(super) fn pending(&self) -> usize {
        self.pending.load(Acquire)
    }

    /// Pushes a retired version, tagged `tag`. Lock-free; never waits for
    /// a pass.
    pub(super) fn push(&self, value: Arc<T>, tag: u64) {
        self.pending.fetch_add(1, Relaxed);
        let node = Box::into_raw(Box::new(Node {
            value,
            tag,
            next: EMPTY,
        }));
        // Exposes the node's provenance for the drain's cast back.
        let addr = node as usize;
        let mut head = self.incoming.load(Relaxed);
        let backoff = Backoff::new();
        loop {
            // SAFETY: `node` is ours until the CAS below publishes it.
            unsafe { (*node).next = head };
            // Release: the node's fields reach the pass that drains it.
            match self
                .incoming
                .compare_exchange_weak(head, addr, Release, Relaxed)
            {
                Ok(_) => return,
                Err(seen) => {
                    head = seen;
                    // Spin audit (issue 10): a lost CAS means another thread made
                    // progress; a retry loop, never a wait for anyone.
                    backoff.spin();
                }
            }
        }
    }

    /// Runs `pass` as the one pass holder, with every retired version
    /// drained into `kept`; returns `None` at once if a pass is running.
    pub(super) fn try_pass<R>(&self, pass: impl FnOnce(&mut Pass<'_, T>) -> R) -> Option<R> {
        // Acquire: take over `kept` and the epoch from the last holder. A
        // CAS, not a swap: a try that fails writes nothing. (A failed swap
        // would store `true` again; harmless in the real memory model,
        // where it lands before the holder's unlock, but loom orders it
        // loosely and then sees the flag stuck.)
        if self
            .reclaiming
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_err()
        {
            return None;
        }
        // Clears the flag on every exit, unwinding from a panicking
        // `T::drop` included.
        let _unlock = Unlock(&self.reclaiming);
        Some(self.kept.with_mut(|kept| {
            // SAFETY: we hold the reclamation flag, which guards `kept`.
            let kept = unsafe { &mut *kept };
            self.drain_into(kept);
            pass(&mut Pass {
                kept,
                pending: &self.pending,
            })
        }))
    }

    /// Moves the incoming stack into `kept`.
    fn drain_into(&self, kept: &mut Kept<T>) {
        // Acquire: pairs with the pushes.
        let mut addr = self.incoming.swap(EMPTY, Acquire);
        while addr != EMPTY {
            // SAFETY: every address on the stack is that of a live node from
            // `Box::into_raw` in `push`, exposed there (so the cast gets its
            // provenance), and the swap made the whole stack ours.
            let Node { value, tag, next } = *unsafe { Box::from_raw(addr as *mut Node<T>) };
            kept.insert(tag, value);
            addr = next;
        }
    }
}

impl<T> Drop for Garbage<T> {
    fn drop(&mut self) {
        // `&mut self`: no pass runs, so everything can go.
        self.kept.with_mut(|kept| {
            // SAFETY: exclusive access.
            let kept = unsafe { &mut *kept };
            self.drain_into(kept);
            kept.buckets.clear();
        });
    }
}

impl<T> Kept<T> {
    fn insert(&mut self, tag: u64, value: Arc<T>) {
        // Few buckets (at most `GRACE` plus the tags of one drain), and a
        // new version usually has the newest tag: search from the back.
        match self.buckets.iter().rposition(|(t, _)| *t <= tag) {
            Some(i) if self.buckets[i].0 == tag => self.buckets[i].1.push(value),
            Some(i) => self.buckets.insert(i + 1, (tag, vec![value])),
            None => self.buckets.insert(0, (tag, vec![value])),
        }
    }
}

/// What a pass holder may do with the drained versions.
pub(super) struct Pass<'a, T> {
    kept: &'a mut Kept<T>,
    pending: &'a AtomicUsize,
}

impl<T> Pass<'_, T> {
    /// The newest tag among the versions waiting, if any.
    pub(super) fn newest_tag(&self) -> Option<u64> {
        self.kept.buckets.last().map(|(tag, _)| *tag)
    }

    /// Frees every version tagged `limit` or older.
    pub(super) fn free_through(&mut self, limit: u64) {
        let n = self.kept.buckets.partition_point(|(tag, _)| *tag <= limit);
        for (_, versions) in self.kept.buckets.drain(..n) {
            for version in versions {
                drop(version);
                // Release: pairs with `pending`'s Acquire read.
                self.pending.fetch_sub(1, Release);
            }
        }
    }
}

/// Clears the reclamation flag when dropped.
struct Unlock<'a>(&'a AtomicBool);

impl Drop for Unlock<'_> {
    fn drop(&mut self) {
        // Release: the next holder sees `kept` and the epoch as we left them.
        self.0.store(false, Release);
    }
}
