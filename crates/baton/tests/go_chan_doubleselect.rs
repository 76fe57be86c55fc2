//! Go's `test/chan/doubleselect.go`: a sender selects over four unbuffered
//! channels; if two arms of one select could both complete, a value would
//! arrive twice. Four muxes forward to one channel; the receiver checks
//! that every value arrives exactly once.
#![cfg(not(loom))]

mod common;

use baton::chan::{rendezvous, Receiver, Sender};
use baton::select;
use common::{both, spawn};

const ITERATIONS: usize = 20_000;

fn sender(n: usize, c1: Sender<usize>, c2: Sender<usize>, c3: Sender<usize>, c4: Sender<usize>) {
    for i in 0..n {
        select! {
            send(c1, i) -> r => r.unwrap(),
            send(c2, i) -> r => r.unwrap(),
            send(c3, i) -> r => r.unwrap(),
            send(c4, i) -> r => r.unwrap(),
        }
    }
    // Dropping the senders closes all four.
}

fn mux(out: Sender<usize>, input: Receiver<usize>) {
    for v in &input {
        out.send(v).unwrap();
    }
}

fn body() {
    let (t1, r1) = rendezvous();
    let (t2, r2) = rendezvous();
    let (t3, r3) = rendezvous();
    let (t4, r4) = rendezvous();
    let (tmux, rmux) = rendezvous();
    spawn(move || sender(ITERATIONS, t1, t2, t3, t4));
    for r in [r1, r2, r3, r4] {
        let t = tmux.clone();
        spawn(move || mux(t, r));
    }
    drop(tmux);
    let mut seen = vec![false; ITERATIONS];
    let mut count = 0;
    for v in &rmux {
        assert!(!seen[v], "got duplicate value: {v}");
        seen[v] = true;
        count += 1;
    }
    assert_eq!(count, ITERATIONS, "every value arrives");
}

#[test]
fn doubleselect() {
    both("doubleselect", 120, body);
}
