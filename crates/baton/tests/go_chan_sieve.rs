//! Go's `test/chan/sieve1.go`: the concurrent prime sieve — a generator
//! goroutine and a chain of filter goroutines, one per prime, linked by
//! unbuffered channels — and the buffered-channel variant of its spirit
//! from `test/chan/sieve2.go` (which also multiplexes through `select`;
//! here the merge of two sieves through a select stands in for its wheel
//! and heap, which exercise Go's `container/heap` more than channels).
#![cfg(not(loom))]

mod common;

use baton::chan::{bounded, rendezvous, Receiver, Sender};
use baton::select;
use common::{both, spawn};

/// Sends 2, 3, 4, ... until the receiver goes away.
fn generate(ch: Sender<u32>) {
    for i in 2.. {
        if ch.send(i).is_err() {
            return;
        }
    }
}

/// Copies values not divisible by `prime` from `input` to `out`.
fn filter(input: Receiver<u32>, out: Sender<u32>, prime: u32) {
    for i in &input {
        if i % prime != 0 && out.send(i).is_err() {
            return;
        }
    }
}

/// The first `n` primes through a chain of filters; `cap` 0 is sieve1's
/// unbuffered chain.
fn sieve(n: usize, cap: usize, primes: Sender<u32>) {
    let (tx, mut ch) = bounded(cap);
    spawn(move || generate(tx));
    for _ in 0..n {
        let prime = ch.recv().unwrap();
        if primes.send(prime).is_err() {
            return;
        }
        let (tx1, ch1) = bounded(cap);
        let input = ch;
        spawn(move || filter(input, tx1, prime));
        ch = ch1;
    }
    // Dropping `ch` makes the last filter stop, and the others in turn.
}

const FIRST: [u32; 10] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29];

fn sieve1() {
    let (tx, primes) = rendezvous();
    spawn(move || sieve(100, 0, tx));
    let got: Vec<u32> = primes.iter().collect();
    assert_eq!(got.len(), 100);
    assert_eq!(got[..10], FIRST);
    assert_eq!(got[99], 541, "the 100th prime");
}

fn sieve2_merge() {
    // Two sieves, one unbuffered and one buffered, merged by a select:
    // each must deliver the same primes in order.
    let (ta, a) = rendezvous();
    let (tb, b) = bounded(16);
    spawn(move || sieve(60, 0, ta));
    spawn(move || sieve(60, 16, tb));
    let (mut from_a, mut from_b) = (Vec::new(), Vec::new());
    let (mut a_open, mut b_open) = (true, true);
    while a_open || b_open {
        let (ra, rb) = (a_open.then_some(&a), b_open.then_some(&b));
        select! {
            recv(ra) -> v => match v { Ok(p) => from_a.push(p), Err(_) => a_open = false },
            recv(rb) -> v => match v { Ok(p) => from_b.push(p), Err(_) => b_open = false },
        }
    }
    assert_eq!(from_a, from_b);
    assert_eq!(from_a.len(), 60);
    assert_eq!(from_a[..10], FIRST);
}

#[test]
fn go_sieve1() {
    both("sieve1", 60, sieve1);
}

#[test]
fn go_sieve2_merge() {
    both("sieve2 (merge)", 60, sieve2_merge);
}
