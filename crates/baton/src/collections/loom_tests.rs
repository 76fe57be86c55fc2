//! Loom models of `Stack` and `Queue`: two threads, one or two operations
//! each. Both use the default epoch collector, which under loom is fresh
//! for every explored execution (see `epoch/default.rs`).
//!
//! Values are [`Val`]s, whose contents loom tracks, so a value that a pop
//! reads without the push's publication is reported. Under loom a `Queue`
//! block holds 2 slots and freeing a block counts as a write to its slots,
//! so the block hand-over is checked too. The models were checked to fail
//! when the slot `WRITE` or `READ`/`DESTROY` orderings are weakened, when
//! the destroyer skips the walk, and when `Stack::push` or `MsQueue::push`
//! publish with Relaxed. Not covered: `MsQueue`'s tail fix before retiring
//! a node (a failure needs a third thread that pins after the retirement
//! and two epoch advances, beyond a small model); the stress tests and
//! valgrind run that path.

use super::*;
use loom::sync::Arc;
use loom::thread;

/// A value whose contents loom tracks: reading it on a thread to which the
/// push did not publish it is reported as a data race.
struct Val(loom::cell::UnsafeCell<i32>);

impl Val {
    fn new(v: i32) -> Self {
        Self(loom::cell::UnsafeCell::new(v))
    }
    fn get(self) -> i32 {
        // SAFETY: a popped value is ours; loom checks the publication.
        self.0.with(|p| unsafe { *p })
    }
}

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(2);
    }
    b.check(f);
}

/// Two threads each push one item and pop one; together with what is left
/// afterwards, every item is popped exactly once.
#[test]
fn loom_stack_push_pop_race() {
    model(|| {
        let s = Arc::new(Stack::new());
        let threads: Vec<_> = [1, 2]
            .into_iter()
            .map(|v| {
                let s = s.clone();
                thread::spawn(move || {
                    s.push(Val::new(v));
                    s.pop().map(Val::get)
                })
            })
            .collect();
        let mut seen: Vec<i32> = threads
            .into_iter()
            .map(|t| t.join().unwrap().expect("a push precedes each pop"))
            .collect();
        seen.extend(std::iter::from_fn(|| s.pop().map(Val::get)));
        seen.sort_unstable();
        assert_eq!(seen, [1, 2]);
    });
}

/// Two poppers race on a stack of two: each gets a different item.
#[test]
fn loom_stack_concurrent_pops() {
    model(|| {
        let s = Arc::new(Stack::new());
        s.push(Val::new(1));
        s.push(Val::new(2));
        let t = {
            let s = s.clone();
            thread::spawn(move || s.pop().map(Val::get))
        };
        let mine = s.pop().map(Val::get);
        let theirs = t.join().unwrap();
        let mut got = [mine.unwrap(), theirs.unwrap()];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert!(s.is_empty());
    });
}

/// The two queues, under one interface for the models.
trait Fifo: Default + Send + Sync + 'static {
    fn push(&self, v: Val);
    fn pop(&self) -> Option<Val>;
}

impl Fifo for Queue<Val> {
    fn push(&self, v: Val) {
        Queue::push(self, v)
    }
    fn pop(&self) -> Option<Val> {
        Queue::pop(self)
    }
}

impl Fifo for MsQueue<Val> {
    fn push(&self, v: Val) {
        MsQueue::push(self, v)
    }
    fn pop(&self) -> Option<Val> {
        MsQueue::pop(self)
    }
}

/// One producer pushes two items while a consumer pops twice: each item
/// is popped once, in the order pushed. (For `Queue`, with 2 slots per
/// block under loom, the second push takes a block's last slot.)
fn fifo_with_concurrent_pops<Q: Fifo>() {
    model(|| {
        let q = Arc::new(Q::default());
        let producer = {
            let q = q.clone();
            thread::spawn(move || {
                q.push(Val::new(1));
                q.push(Val::new(2));
            })
        };
        let mut seen: Vec<i32> = (0..2).filter_map(|_| q.pop().map(Val::get)).collect();
        producer.join().unwrap();
        seen.extend(std::iter::from_fn(|| q.pop().map(Val::get)));
        assert_eq!(seen, [1, 2], "lost, duplicated or reordered");
    });
}

/// Two pushers, one of which then pops (for `MsQueue`, the lagging-tail
/// helping path): both items come out once.
fn two_pushers<Q: Fifo>() {
    model(|| {
        let q = Arc::new(Q::default());
        let other = {
            let q = q.clone();
            thread::spawn(move || {
                q.push(Val::new(10));
                q.pop().map(Val::get)
            })
        };
        q.push(Val::new(20));
        let first = other.join().unwrap().expect("a push precedes the pop");
        let mut seen = vec![first];
        seen.extend(std::iter::from_fn(|| q.pop().map(Val::get)));
        seen.sort_unstable();
        assert_eq!(seen, [10, 20]);
    });
}

/// Two poppers race for the two slots of a full block (`Queue` has 2
/// slots per block under loom): the one that takes the last slot frees the
/// block, possibly while the other is still reading the first slot, which
/// is the hand-over of the `DESTROY` protocol. A third item sits in the
/// next block.
fn concurrent_pops_of_one_block<Q: Fifo>() {
    model(|| {
        let q = Arc::new(Q::default());
        for v in 1..=3 {
            q.push(Val::new(v));
        }
        let t = {
            let q = q.clone();
            thread::spawn(move || q.pop().map(Val::get))
        };
        let mine = q.pop().map(Val::get).expect("three items");
        let theirs = t.join().unwrap().expect("three items");
        let mut got = [mine, theirs];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert_eq!(q.pop().map(Val::get), Some(3));
        assert!(q.pop().is_none());
    });
}

/// Block recycling: a popper empties block A (2 slots under loom) and, as
/// its destroyer, resets it and offers it as the queue's spare, while a
/// pusher fills block B's last slot and so takes a block for what follows:
/// the spare A when the offer came first, a new one otherwise. Loom counts
/// the reset as a write to each slot, so a pusher writing into the reused
/// block without the offer's Release/Acquire hand-over is reported, as is a
/// value lost or reordered across the reuse.
#[test]
fn loom_queue_recycled_block_handover() {
    model(|| {
        let q = Arc::new(Queue::new());
        for v in 1..=3 {
            q.push(Val::new(v));
        }
        let popper = {
            let q = q.clone();
            thread::spawn(move || {
                let a = q.pop().map(Val::get);
                let b = q.pop().map(Val::get);
                (a, b)
            })
        };
        q.push(Val::new(4)); // block B's last slot: takes the next block
        q.push(Val::new(5)); // into that block (maybe the recycled A)
        assert_eq!(popper.join().unwrap(), (Some(1), Some(2)));
        let rest: Vec<i32> = std::iter::from_fn(|| q.pop().map(Val::get)).collect();
        assert_eq!(rest, [3, 4, 5], "lost, duplicated or reordered");
    });
}

#[test]
fn loom_queue_fifo_with_concurrent_pops() {
    fifo_with_concurrent_pops::<Queue<Val>>();
}

#[test]
fn loom_queue_two_pushers() {
    two_pushers::<Queue<Val>>();
}

#[test]
fn loom_queue_concurrent_pops_of_one_block() {
    concurrent_pops_of_one_block::<Queue<Val>>();
}

#[test]
fn loom_ms_queue_fifo_with_concurrent_pops() {
    fifo_with_concurrent_pops::<MsQueue<Val>>();
}

#[test]
fn loom_ms_queue_two_pushers() {
    two_pushers::<MsQueue<Val>>();
}
