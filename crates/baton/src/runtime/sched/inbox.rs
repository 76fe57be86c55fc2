//! A worker's inbox: wake-ups of its started goroutines sent from other
//! threads.
//!
//! A started goroutine only ever runs on its home worker, so when a thread
//! that is not that worker wakes it, the goroutine is handed to the home
//! worker through this inbox. Any number of threads push; only the home
//! worker takes, and it takes everything at once.
//!
//! It is an intrusive Treiber list: each item carries its own `next` link, so
//! a wake-up allocates nothing. Producers CAS the head; the consumer swaps the
//! head for null and reverses what it got into FIFO order, in place. Because the
//! consumer never pops a single node, the ABA problem of Treiber stacks does
//! not arise.
//!
//! ## The head word
//!
//! | `head` | meaning |
//! |---|---|
//! | null | empty |
//! | `CLOSED` (a dangling address, `align_of::<T>()`, never an `Arc`'s data) | the worker has exited; pushes are refused and the item handed back |
//! | anything else | the most recently pushed item, linked to older ones |
//!
//! ## Invariants
//!
//! - An item is in at most one inbox at a time, at most once: the caller
//!   guarantees it (a goroutine is pushed only by the one party that moved
//!   it from *parked* to *runnable*, see `park_state`).
//! - An item's `next` link is written only by the pusher that owns the item,
//!   before the CAS that publishes it, and read only by the consumer after the
//!   swap that takes it.
//!
//! ## Orderings
//!
//! - Push CAS: `Release`, so the consumer that takes the list sees each
//!   item's `next` link and the item's contents; the failure ordering is
//!   `Relaxed` because a failed CAS publishes and reads nothing.
//! - Take: `swap(Acquire)`, pairing with those releases. Links are then read
//!   with `Relaxed`: the acquire already ordered them.
//! - Close: `swap(AcqRel)`: acquire as a take; release is not needed for the
//!   data but keeps the pushers' failure path simple (they only compare).
//! - `is_empty`: `Acquire` load; a sleeping worker's final re-check relies on
//!   the `SeqCst` fence the idle protocol puts before it, not on this load.

use core::ptr;

use crate::shim::atomic::{AtomicPtr, Ordering::*};
use crate::shim::Arc;

/// Items that can be linked into an [`Inbox`].
pub(crate) trait Linked: Sized {
    /// The item's link field; used only by the inbox.
    fn link(&self) -> &AtomicPtr<Self>;
}

/// The refused-push sentinel: `NonNull::dangling()`, the address
/// `align_of::<T>()`, which is never the data pointer of a live `Arc`.
fn closed<T>() -> *mut T {
    core::ptr::NonNull::<T>::dangling().as_ptr()
}

/// An intrusive multi-producer, single-consumer list of `Arc<T>`.
pub(crate) struct Inbox<T: Linked> {
    head: AtomicPtr<T>,
}

impl<T: Linked> core::fmt::Debug for Inbox<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Inbox")
            .field("empty", &self.is_empty())
            .finish()
    }
}

impl<T: Linked> Inbox<T> {
    pub(crate) fn new() -> Self {
        Self {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Pushes `item`; `Err(item)` if the inbox is closed.
    pub(crate) fn push(&self, item: Arc<T>) -> Result<(), Arc<T>> {
        let node = Arc::into_raw(item).cast_mut();
        let mut head = self.head.load(Relaxed);
        loop {
            if head == closed() {
                // SAFETY: `node` came from `Arc::into_raw` just above and was
                // never published.
                return Err(unsafe { Arc::from_raw(node) });
            }
            // SAFETY: `node` is a live `Arc` allocation we own (not yet
            // published), so reading its link field is fine.
            unsafe { (*node).link() }.store(head, Relaxed);
            // Release: see the module docs.
            match self
                .head
                .compare_exchange_weak(head, node, Release, Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => head = actual,
            }
        }
    }

    /// Takes everything pushed so far and hands it to `f`, oldest first;
    /// whether there was anything. Allocates nothing: the chain is reversed
    /// in place (this runs on every cross-thread wake-up).
    /// Only the consumer calls this (and `close`), so a head that is not
    /// `CLOSED` here cannot become `CLOSED` before the swap.
    #[inline]
    pub(crate) fn take_all(&self, mut f: impl FnMut(Arc<T>)) -> bool {
        let head = self.head.load(Relaxed);
        if head.is_null() || head == closed() {
            return false;
        }
        // Acquire: see the module docs.
        let list = self.head.swap(ptr::null_mut(), Acquire);
        // SAFETY: we swapped the list out, so we own every node in it.
        let mut node = unsafe { Self::reverse_in_place(list) };
        let any = !node.is_null();
        while !node.is_null() {
            // SAFETY: we own the chain; read the link before `f` may drop
            // or re-publish the node.
            let next = unsafe { (*node).link() }.load(Relaxed);
            // SAFETY: each node came from `Arc::into_raw` in `push`, and we
            // own it.
            f(unsafe { Arc::from_raw(node) });
            node = next;
        }
        any
    }

    /// Reverses a LIFO chain in place; returns its new head (the oldest).
    ///
    /// # Safety
    ///
    /// The caller owns every node of the chain starting at `list` (it took
    /// them out of `head`): nobody else reads or writes their links.
    unsafe fn reverse_in_place(mut list: *mut T) -> *mut T {
        let mut reversed = ptr::null_mut();
        while !list.is_null() {
            // SAFETY: the caller owns the chain; `list` is one of its nodes.
            let link = unsafe { (*list).link() };
            // Relaxed: links of owned nodes, ordered by the taking swap.
            let next = link.load(Relaxed);
            link.store(reversed, Relaxed);
            reversed = list;
            list = next;
        }
        reversed
    }

    /// Closes the inbox and returns what was in it. Later pushes are refused.
    pub(crate) fn close(&self) -> Vec<Arc<T>> {
        // AcqRel: see the module docs.
        let list = self.head.swap(closed(), AcqRel);
        if list == closed() {
            return Vec::new();
        }
        // SAFETY: as in `take_all`.
        unsafe { Self::reverse(list) }
    }

    /// Whether nothing is waiting (a snapshot).
    pub(crate) fn is_empty(&self) -> bool {
        let h = self.head.load(Acquire);
        h.is_null() || h == closed()
    }

    /// Turns a LIFO chain into a FIFO `Vec` of owned `Arc`s.
    ///
    /// # Safety
    ///
    /// The caller owns every node of the chain starting at `list` (it took
    /// them out of `head`), and each was produced by `Arc::into_raw`.
    unsafe fn reverse(mut list: *mut T) -> Vec<Arc<T>> {
        let mut items = Vec::new();
        while !list.is_null() {
            // SAFETY: the caller owns the chain; `list` is one of its nodes.
            let next = unsafe { (*list).link() }.load(Relaxed);
            // SAFETY: `list` came from `Arc::into_raw` and we own it.
            items.push(unsafe { Arc::from_raw(list) });
            list = next;
        }
        items.reverse();
        items
    }
}

impl<T: Linked> Drop for Inbox<T> {
    fn drop(&mut self) {
        drop(self.close());
    }
}

#[cfg(test)]
pub(crate) mod test_item {
    use super::*;

    /// A minimal linkable item for the tests and loom models.
    #[derive(Debug)]
    pub(crate) struct Item {
        pub(crate) value: usize,
        next: AtomicPtr<Item>,
    }

    impl Item {
        pub(crate) fn new(value: usize) -> Arc<Self> {
            Arc::new(Item {
                value,
                next: AtomicPtr::new(ptr::null_mut()),
            })
        }
    }

    impl Linked for Item {
        fn link(&self) -> &AtomicPtr<Self> {
            &self.next
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::test_item::Item;
    use super::*;

    #[test]
    fn fifo_and_close() {
        let inbox = Inbox::new();
        assert!(inbox.is_empty());
        for i in 0..5 {
            inbox.push(Item::new(i)).unwrap();
        }
        let mut got = Vec::new();
        assert!(inbox.take_all(|i| got.push(i)));
        assert_eq!(
            got.iter().map(|i| i.value).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        inbox.push(Item::new(9)).unwrap();
        let left = inbox.close();
        assert_eq!(left.len(), 1);
        let refused = inbox.push(Item::new(7)).unwrap_err();
        assert_eq!(refused.value, 7);
        assert!(!inbox.take_all(|i| got.push(i)));
        assert!(inbox.is_empty());
    }

    #[test]
    fn many_producers() {
        let inbox = std::sync::Arc::new(Inbox::new());
        let producers: Vec<_> = (0..4)
            .map(|t| {
                let inbox = inbox.clone();
                std::thread::spawn(move || {
                    for i in 0..10_000 {
                        inbox.push(Item::new(t * 10_000 + i)).unwrap();
                    }
                })
            })
            .collect();
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while got.len() < 40_000 {
            assert!(
                std::time::Instant::now() < deadline,
                "items lost: {} of 40000",
                got.len()
            );
            inbox.take_all(|i| got.push(i));
            std::hint::spin_loop();
        }
        for p in producers {
            p.join().unwrap();
        }
        // Each producer's items arrive in its own order.
        for t in 0..4 {
            let mine: Vec<usize> = got
                .iter()
                .map(|i| i.value)
                .filter(|v| v / 10_000 == t)
                .collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(mine.len(), 10_000);
        }
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::test_item::Item;
    use super::*;
    use loom::thread;

    /// Two producers and a consumer that takes, then closes: every item is
    /// either taken, returned by close, or refused back to its producer.
    #[test]
    fn loom_inbox_push_take_close() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(2);
        b.check(|| {
            let inbox = Arc::new(Inbox::new());
            let producers: Vec<_> = (0..2)
                .map(|t| {
                    let inbox = inbox.clone();
                    thread::spawn(move || match inbox.push(Item::new(t)) {
                        Ok(()) => None,
                        Err(back) => Some(back.value),
                    })
                })
                .collect();
            let mut got = Vec::new();
            inbox.take_all(|i| got.push(i));
            let mut seen: Vec<usize> = got.iter().map(|i| i.value).collect();
            seen.extend(inbox.close().iter().map(|i| i.value));
            for p in producers {
                seen.extend(p.join().unwrap());
            }
            seen.sort_unstable();
            assert_eq!(seen, vec![0, 1]);
        });
    }

    /// One producer pushes three items while the consumer takes twice: the
    /// in-place reversal hands each batch over oldest first, and nothing is
    /// lost or seen twice.
    #[test]
    fn loom_inbox_order_across_takes() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(2);
        b.check(|| {
            let inbox = Arc::new(Inbox::new());
            let producer = {
                let inbox = inbox.clone();
                thread::spawn(move || {
                    for v in 0..3 {
                        inbox.push(Item::new(v)).unwrap();
                    }
                })
            };
            let mut got = Vec::new();
            inbox.take_all(|i| got.push(i.value));
            inbox.take_all(|i| got.push(i.value));
            producer.join().unwrap();
            inbox.take_all(|i| got.push(i.value));
            assert_eq!(got, vec![0, 1, 2]);
        });
    }
}
