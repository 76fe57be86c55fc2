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

#[test]
fn queue_is_fifo() {
    let q = Queue::new();
    assert!(q.is_empty());
    for i in 0..10 {
        q.push(i);
    }
    assert!(!q.is_empty());
    for i in 0..10 {
        assert_eq!(q.pop(), Some(i));
    }
    assert_eq!(q.pop(), None);
    assert!(q.is_empty());
    q.push(42);
    assert_eq!(q.pop(), Some(42));
}

#[test]
fn queue_drop_drops_remaining_values_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let q = Queue::new();
    for _ in 0..5 {
        q.push(Tracked(drops.clone()));
    }
    drop(q.pop());
    drop(q.pop());
    assert_eq!(drops.load(Relaxed), 2);
    drop(q);
    assert_eq!(drops.load(Relaxed), 5);
}

#[test]
fn zero_sized_values() {
    let s = Stack::new();
    let q = Queue::new();
    for _ in 0..3 {
        s.push(());
        q.push(());
    }
    assert_eq!(std::iter::from_fn(|| s.pop()).count(), 3);
    assert_eq!(std::iter::from_fn(|| q.pop()).count(), 3);
}

#[test]
fn heap_values_move_through_intact() {
    let q = Queue::new();
    let s = Stack::new();
    for i in 0..100 {
        q.push(format!("q{i}"));
        s.push(vec![i; i]);
    }
    for i in 0..100 {
        assert_eq!(q.pop().unwrap(), format!("q{i}"));
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
}
