//! Go's `test/chan/fifo.go`: channels are FIFO, buffered (`AsynchFifo`)
//! and unbuffered, read in sequence by a daisy chain of goroutines that
//! pass a token along (`SynchFifo`).
#![cfg(not(loom))]

mod common;

use baton::chan::{bounded, rendezvous, Receiver, Sender};
use common::{both, spawn};

const N: usize = 10;

fn asynch_fifo() {
    let (tx, rx) = bounded(N);
    for i in 0..N {
        tx.send(i).unwrap();
    }
    for i in 0..N {
        assert_eq!(rx.recv(), Ok(i), "bad receive");
    }
}

fn chain(ch: Receiver<usize>, val: usize, input: Receiver<()>, out: Sender<()>) {
    input.recv().unwrap();
    assert_eq!(ch.recv(), Ok(val));
    out.send(()).unwrap();
}

fn synch_fifo() {
    let (tx, ch) = rendezvous();
    let (start, mut input) = rendezvous();
    for i in 0..N {
        let (out, next) = rendezvous();
        let (ch, inp) = (ch.clone(), input);
        spawn(move || chain(ch, i, inp, out));
        input = next;
    }
    start.send(()).unwrap();
    for i in 0..N {
        tx.send(i).unwrap();
    }
    input.recv().unwrap();
}

#[test]
fn fifo() {
    both("fifo", 30, || {
        asynch_fifo();
        synch_fifo();
    });
}
