//! Unit tests of the collections (stress tests: `tests/collections_stress.rs`).

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

/// Counts its drops.
struct Tracked(Arc<AtomicUsize>);
impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, Relaxed);
    }
}

#[test]
fn stack_is_lifo() {
    let s = Stack::new();
    for i in 0..10 {
        s.push(i);
    }
    for i in (0..10).rev() {
        assert_eq!(s.pop(), Some(i));
    }
    assert_eq!(s.pop(), None);
    assert!(s.is_empty());
}

#[test]
fn stack_drop_drops_remaining_values_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let s = Stack::new();
    for _ in 0..5 {
        s.push(Tracked(drops.clone()));
    }
    drop(s.pop());
    assert_eq!(drops.load(Relaxed), 1);
    drop(s);
    assert_eq!(drops.load(Relaxed), 5);
}

/// The two queues, under one interface for the tests.
trait Fifo<T>: Default {
    fn push(&self, v: T);
    fn pop(&self) -> Option<T>;
    fn is_empty(&self) -> bool;
}

impl<T> Fifo<T> for Queue<T> {
    fn push(&self, v: T) {
        Queue::push(self, v)
    }
    fn pop(&self) -> Option<T> {
        Queue::pop(self)
    }
    fn is_empty(&self) -> bool {
        Queue::is_empty(self)
    }
}

impl<T> Fifo<T> for MsQueue<T> {
    fn push(&self, v: T) {
        MsQueue::push(self, v)
    }
    fn pop(&self) -> Option<T> {
        MsQueue::pop(self)
    }
    fn is_empty(&self) -> bool {
        MsQueue::is_empty(self)
    }
}

#[test]
fn queue_is_fifo() {
    fifo::<Queue<usize>>();
    fifo::<MsQueue<usize>>();
}

/// Enough items to cross many blocks of the segmented queue, with the
/// queue emptied and refilled in between.
fn fifo<Q: Fifo<usize>>() {
    let q = Q::default();
    assert!(q.is_empty());
    for round in 0..3 {
        let n = 10 + round * 100;
        for i in 0..n {
            q.push(i);
        }
        assert!(!q.is_empty());
        for i in 0..n {
            assert_eq!(q.pop(), Some(i));
        }
        assert_eq!(q.pop(), None);
        assert!(q.is_empty());
    }
    // Interleaved: the queue never holds more than two items.
    for i in 0..200 {
        q.push(i);
        q.push(i + 1000);
        assert_eq!(q.pop(), Some(i));
        assert_eq!(q.pop(), Some(i + 1000));
    }
    assert!(q.is_empty());
}

#[test]
fn queue_drop_drops_remaining_values_once() {
    drop_remaining::<Queue<Tracked>>();
    drop_remaining::<MsQueue<Tracked>>();
}

fn drop_remaining<Q: Fifo<Tracked>>() {
    // 5 left (within one block), then 100 left after 40 popped (across
    // blocks, the first ones already freed).
    for (pushed, popped) in [(7, 2), (140, 40)] {
        let drops = Arc::new(AtomicUsize::new(0));
        let q = Q::default();
        for _ in 0..pushed {
            q.push(Tracked(drops.clone()));
        }
        for _ in 0..popped {
            drop(q.pop());
        }
        assert_eq!(drops.load(Relaxed), popped);
        drop(q);
        assert_eq!(drops.load(Relaxed), pushed);
    }
}

#[test]
fn zero_sized_values() {
    let s = Stack::new();
    let q = Queue::new();
    let m = MsQueue::new();
    for _ in 0..100 {
        s.push(());
        q.push(());
        m.push(());
    }
    assert_eq!(std::iter::from_fn(|| s.pop()).count(), 100);
    assert_eq!(std::iter::from_fn(|| q.pop()).count(), 100);
    assert_eq!(std::iter::from_fn(|| m.pop()).count(), 100);
}

#[test]
fn heap_values_move_through_intact() {
    let q = Queue::new();
    let m = MsQueue::new();
    let s = Stack::new();
    for i in 0..100 {
        q.push(format!("q{i}"));
        m.push(format!("m{i}"));
        s.push(vec![i; i]);
    }
    for i in 0..100 {
        assert_eq!(q.pop().unwrap(), format!("q{i}"));
        assert_eq!(m.pop().unwrap(), format!("m{i}"));
    }
    for i in (0..100).rev() {
        assert_eq!(s.pop().unwrap(), vec![i; i]);
    }
}

/// The `Send`/`Sync` bounds: shareable whenever the values can be sent.
#[test]
fn send_sync_bounds() {
    fn shareable<X: Send + Sync>() {}
    shareable::<Stack<std::cell::Cell<u8>>>();
    shareable::<Queue<std::cell::Cell<u8>>>();
    shareable::<MsQueue<std::cell::Cell<u8>>>();
}
