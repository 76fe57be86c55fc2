//! Stress tests for `Stack` and `Queue`: 8 threads (4x the CI machine's 2
//! cores) push and pop at once; every pushed item must be popped exactly
//! once, a queue must keep each producer's order, and every value must be
//! dropped exactly once (a drop counter equals the push count at the end).
//!
//! Sizes: `BATON_STRESS_OPS` items per thread (default 100,000); use a few
//! hundred under slow checkers (`valgrind`).
//!
//! The tests share the default epoch collector, so they run one at a time
//! (a lock) and each checks at the end that its garbage can be fully
//! reclaimed once every thread has unpinned.

mod common;

use baton::collections::{MsQueue, Queue, Stack};
use baton::epoch;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

const THREADS: usize = 8;
/// Threads of the node-recycling test: more, so that a pop is more often
/// preempted between reading the head and its CAS.
const RECYCLE_THREADS: usize = 16;

fn ops_per_thread() -> usize {
    std::env::var("BATON_STRESS_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000)
}

/// One test at a time: they share the default epoch collector.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// An item that knows who pushed it, in which order, and counts its drops.
struct Item {
    producer: usize,
    seq: usize,
    drops: Arc<AtomicUsize>,
    /// Heap data, so that a double free or use after free is visible to
    /// allocator checks and valgrind.
    payload: Box<[usize; 2]>,
}

impl Item {
    fn new(producer: usize, seq: usize, drops: &Arc<AtomicUsize>) -> Self {
        Self {
            producer,
            seq,
            drops: drops.clone(),
            payload: Box::new([producer, seq]),
        }
    }

    fn id(&self, per: usize) -> usize {
        assert_eq!(*self.payload, [self.producer, self.seq], "corrupted item");
        self.producer * per + self.seq
    }
}

impl Drop for Item {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Relaxed);
    }
}

/// Asserts each id in `0..n` appears exactly once.
fn assert_each_once(ids: &[usize], n: usize) {
    let mut seen = vec![false; n];
    for &id in ids {
        assert!(id < n, "unknown id {id}");
        assert!(!seen[id], "id {id} popped twice");
        seen[id] = true;
    }
    let missing = seen.iter().filter(|s| !**s).count();
    assert_eq!(missing, 0, "{missing} items never popped");
}

/// With every worker joined, the garbage of the test can all be freed.
/// A scoped thread's thread-locals (its epoch handle, with a partly full
/// bag) are torn down just after `scope` returns, so keep collecting for a
/// while (bounded: a hang guard, not a timing assertion).
fn assert_garbage_drains() {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        epoch::pin().flush();
        if epoch::pending() == 0 {
            return;
        }
        thread::sleep(std::time::Duration::from_millis(1));
    }
    panic!("{} deferred frees still pending", epoch::pending());
}

#[test]
fn stack_every_item_popped_once_and_dropped_once() {
    let _serial = serial();
    let per = ops_per_thread();
    let drops = Arc::new(AtomicUsize::new(0));
    let stack = Stack::new();
    let popped: Vec<Vec<usize>> = thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (stack, drops) = (&stack, &drops);
                s.spawn(move || {
                    let mut mine = Vec::new();
                    for i in 0..per {
                        stack.push(Item::new(t, i, drops));
                        // Pop about every other time, so the stack grows and
                        // shrinks while all threads contend on the head.
                        if i % 2 == 1 {
                            if let Some(item) = stack.pop() {
                                mine.push(item.id(per));
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut ids: Vec<usize> = popped.into_iter().flatten().collect();
    while let Some(item) = stack.pop() {
        ids.push(item.id(per));
    }
    assert_each_once(&ids, THREADS * per);
    assert!(stack.is_empty());
    drop(stack);
    assert_eq!(drops.load(Relaxed), THREADS * per, "drops != pushes");
    assert_garbage_drains();
}

/// The ids the threads popped, then those left on `stack` (popped here).
fn all_popped(popped: Vec<Vec<usize>>, stack: &Stack<Box<usize>>) -> Vec<usize> {
    let mut ids: Vec<usize> = popped.into_iter().flatten().collect();
    while let Some(id) = stack.pop() {
        ids.push(*id);
    }
    ids
}

/// Small values: the stack's nodes fit the per-thread node cache, so each
/// node's memory is reused over and over (a popped node comes back, after
/// the epoch allows it, as a later push's node). Each value is a `Box` of
/// its id: a node reused too early would show as an id popped twice, a
/// lost one, or a corrupted box (valgrind and the allocator's checks).
#[test]
fn stack_recycled_nodes_every_item_popped_once() {
    let _serial = serial();
    let per = ops_per_thread();
    let stack: Stack<Box<usize>> = Stack::new();
    let popped: Vec<Vec<usize>> = thread::scope(|s| {
        let workers: Vec<_> = (0..RECYCLE_THREADS)
            .map(|t| {
                let stack = &stack;
                s.spawn(move || {
                    let mut mine = Vec::new();
                    let mut rng = (t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                    for i in 0..per {
                        stack.push(Box::new(t * per + i));
                        // Mostly push then pop (the lab's `pushpop`); now
                        // and then no pop or two, so that nodes come back
                        // in other orders and under other neighbours.
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        for _ in 0..[1, 1, 0, 2][(rng % 4) as usize] {
                            if let Some(id) = stack.pop() {
                                mine.push(*id);
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let ids = all_popped(popped, &stack);
    assert_each_once(&ids, RECYCLE_THREADS * per);
    assert!(stack.is_empty());
    assert_garbage_drains();
}

/// Threads that only push and threads that only pop, more of them than
/// cores: a popped node's block goes to the cache of whichever thread runs
/// the expired garbage, fills it, and reaches the pushers through the node
/// cache's depot (`node_cache.rs`) in whole batches. Each value is a `Box`
/// of its id, so a block handed over while still reachable shows up as an
/// id popped twice or lost, or a corrupted box (valgrind).
#[test]
fn stack_split_pushers_and_poppers_every_item_popped_once() {
    let _serial = serial();
    let per = ops_per_thread();
    let stack: Stack<Box<usize>> = Stack::new();
    let pushed_all = AtomicUsize::new(0);
    let popped: Vec<Vec<usize>> =
        common::within_scoped("stack, split pushers and poppers", 300, || {
            thread::scope(|s| {
                let workers: Vec<_> = (0..THREADS)
                    .map(|t| {
                        let (stack, pushed_all) = (&stack, &pushed_all);
                        s.spawn(move || {
                            let mut mine = Vec::new();
                            if t % 2 == 0 {
                                for i in 0..per {
                                    stack.push(Box::new(t * per + i));
                                }
                                pushed_all.fetch_add(1, Relaxed);
                            } else {
                                // Pop until every pusher is done and the stack
                                // is empty (a retry loop on a condition other
                                // threads make true by finishing their pushes;
                                // each round does real work or yields).
                                loop {
                                    match stack.pop() {
                                        Some(id) => mine.push(*id),
                                        None if pushed_all.load(Relaxed) == THREADS / 2 => {
                                            match stack.pop() {
                                                Some(id) => mine.push(*id),
                                                None => break,
                                            }
                                        }
                                        None => thread::yield_now(),
                                    }
                                }
                            }
                            mine
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).collect()
            })
        });
    let ids = all_popped(popped, &stack);
    // Only even threads pushed: map their ids onto 0..THREADS/2 * per.
    let ids: Vec<usize> = ids
        .into_iter()
        .map(|id| (id / per / 2) * per + id % per)
        .collect();
    assert_each_once(&ids, THREADS / 2 * per);
    assert!(stack.is_empty());
    assert_garbage_drains();
}

#[test]
fn stack_drop_with_items_left_drops_each_once() {
    let _serial = serial();
    let per = ops_per_thread() / 10;
    let drops = Arc::new(AtomicUsize::new(0));
    let stack = Stack::new();
    thread::scope(|s| {
        for t in 0..THREADS {
            let (stack, drops) = (&stack, &drops);
            s.spawn(move || {
                for i in 0..per {
                    stack.push(Item::new(t, i, drops));
                }
            });
        }
    });
    drop(stack);
    assert_eq!(drops.load(Relaxed), THREADS * per);
    assert_garbage_drains();
}

/// The two queues, under one interface.
trait Fifo: Default + Sync {
    fn push(&self, v: Item);
    fn pop(&self) -> Option<Item>;
    fn is_empty(&self) -> bool;
}

impl Fifo for Queue<Item> {
    fn push(&self, v: Item) {
        Queue::push(self, v)
    }
    fn pop(&self) -> Option<Item> {
        Queue::pop(self)
    }
    fn is_empty(&self) -> bool {
        Queue::is_empty(self)
    }
}

impl Fifo for MsQueue<Item> {
    fn push(&self, v: Item) {
        MsQueue::push(self, v)
    }
    fn pop(&self) -> Option<Item> {
        MsQueue::pop(self)
    }
    fn is_empty(&self) -> bool {
        MsQueue::is_empty(self)
    }
}

#[test]
fn queue_mpmc_every_item_once_in_producer_order() {
    mpmc::<Queue<Item>>();
}

#[test]
fn ms_queue_mpmc_every_item_once_in_producer_order() {
    mpmc::<MsQueue<Item>>();
}

#[test]
fn queue_push_pop_from_every_thread() {
    push_pop::<Queue<Item>>();
}

#[test]
fn ms_queue_push_pop_from_every_thread() {
    push_pop::<MsQueue<Item>>();
}

#[test]
fn queue_drop_with_items_left_drops_each_once() {
    drop_with_items_left::<Queue<Item>>();
}

#[test]
fn ms_queue_drop_with_items_left_drops_each_once() {
    drop_with_items_left::<MsQueue<Item>>();
}

fn drop_with_items_left<Q: Fifo>() {
    let _serial = serial();
    let per = ops_per_thread() / 10;
    let drops = Arc::new(AtomicUsize::new(0));
    let queue = Q::default();
    thread::scope(|s| {
        for t in 0..THREADS {
            let (queue, drops) = (&queue, &drops);
            s.spawn(move || {
                for i in 0..per {
                    queue.push(Item::new(t, i, drops));
                    // Pop a third, so some blocks are freed and some not.
                    if i % 3 == 0 {
                        drop(queue.pop());
                    }
                }
            });
        }
    });
    drop(queue);
    assert_eq!(drops.load(Relaxed), THREADS * per);
    assert_garbage_drains();
}

fn mpmc<Q: Fifo>() {
    let _serial = serial();
    let per = ops_per_thread();
    let producers = THREADS / 2;
    let total = producers * per;
    let drops = Arc::new(AtomicUsize::new(0));
    let queue = Q::default();
    let consumed = AtomicUsize::new(0);
    let popped: Vec<Vec<(usize, usize)>> = thread::scope(|s| {
        for p in 0..producers {
            let (queue, drops) = (&queue, &drops);
            s.spawn(move || {
                for i in 0..per {
                    queue.push(Item::new(p, i, drops));
                }
            });
        }
        let consumers: Vec<_> = (0..THREADS - producers)
            .map(|_| {
                let (queue, consumed) = (&queue, &consumed);
                s.spawn(move || {
                    let mut mine = Vec::new();
                    while consumed.load(Relaxed) < total {
                        match queue.pop() {
                            Some(item) => {
                                consumed.fetch_add(1, Relaxed);
                                mine.push((item.producer, item.seq));
                                let _ = item.id(per);
                            }
                            None => thread::yield_now(),
                        }
                    }
                    mine
                })
            })
            .collect();
        consumers.into_iter().map(|c| c.join().unwrap()).collect()
    });
    // FIFO per producer, as each consumer saw it.
    for mine in &popped {
        let mut last = vec![None; producers];
        for &(p, seq) in mine {
            assert!(
                last[p].map_or(true, |l| l < seq),
                "producer {p}'s items came out of order: {seq} after {:?}",
                last[p]
            );
            last[p] = Some(seq);
        }
    }
    let ids: Vec<usize> = popped
        .iter()
        .flatten()
        .map(|&(p, seq)| p * per + seq)
        .collect();
    assert_each_once(&ids, total);
    assert!(queue.is_empty());
    drop(queue);
    assert_eq!(drops.load(Relaxed), total, "drops != pushes");
    assert_garbage_drains();
}

fn push_pop<Q: Fifo>() {
    let _serial = serial();
    let per = ops_per_thread();
    let drops = Arc::new(AtomicUsize::new(0));
    let queue = Q::default();
    let popped: Vec<Vec<usize>> = thread::scope(|s| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (queue, drops) = (&queue, &drops);
                s.spawn(move || {
                    let mut mine = Vec::new();
                    for i in 0..per {
                        queue.push(Item::new(t, i, drops));
                        if i % 2 == 1 {
                            if let Some(item) = queue.pop() {
                                mine.push(item.id(per));
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut ids: Vec<usize> = popped.into_iter().flatten().collect();
    while let Some(item) = queue.pop() {
        ids.push(item.id(per));
    }
    assert_each_once(&ids, THREADS * per);
    drop(queue);
    assert_eq!(drops.load(Relaxed), THREADS * per, "drops != pushes");
    assert_garbage_drains();
}
