//! Stress: many producers and consumers on the 2 cores, every value
//! received exactly once (checksum and count), also across a close racing
//! the sends, and a select over many channels closed at random moments.
//! Each runs from threads and from goroutines, under a hang timeout.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use baton::chan::{bounded, rendezvous, unbounded, Receiver, Select, Sender};
use common::{both, spawn};

const PRODUCERS: u64 = 8;
const CONSUMERS: u64 = 8;
const PER_PRODUCER: u64 = 5_000;

/// Sums and counts what the consumers got, and waits for everyone.
struct Tally {
    sum: AtomicU64,
    count: AtomicU64,
    done: (Sender<()>, Receiver<()>),
}

impl Tally {
    fn new() -> Arc<Self> {
        Arc::new(Tally {
            sum: AtomicU64::new(0),
            count: AtomicU64::new(0),
            done: unbounded(),
        })
    }

    fn add(&self, v: u64) {
        self.sum.fetch_add(v, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn finished(&self) {
        self.done.0.send(()).unwrap();
    }

    fn wait(&self, n: u64) {
        for _ in 0..n {
            self.done.1.recv().unwrap();
        }
    }
}

fn mpmc(make: Make) {
    let (tx, rx) = make();
    let tally = Tally::new();
    for p in 0..PRODUCERS {
        let (tx, tally) = (tx.clone(), tally.clone());
        spawn(move || {
            for i in 0..PER_PRODUCER {
                tx.send(p * PER_PRODUCER + i + 1).unwrap();
            }
            tally.finished();
        });
    }
    drop(tx);
    for _ in 0..CONSUMERS {
        let (rx, tally) = (rx.clone(), tally.clone());
        spawn(move || {
            for v in &rx {
                tally.add(v);
            }
            tally.finished();
        });
    }
    drop(rx);
    tally.wait(PRODUCERS + CONSUMERS);
    let n = PRODUCERS * PER_PRODUCER;
    assert_eq!(tally.count.load(Ordering::Relaxed), n, "count");
    assert_eq!(
        tally.sum.load(Ordering::Relaxed),
        n * (n + 1) / 2,
        "checksum"
    );
}

/// Producers send until a closer closes the channel half-way: every value
/// is either received once or handed back to its producer, never both,
/// never neither.
fn mpmc_across_close(make: Make) {
    let (tx, rx) = make();
    let tally = Tally::new();
    let returned = Arc::new(AtomicU64::new(0));
    let attempted = Arc::new(AtomicU64::new(0));
    for p in 0..PRODUCERS {
        let (tx, tally, returned, attempted) = (
            tx.clone(),
            tally.clone(),
            returned.clone(),
            attempted.clone(),
        );
        spawn(move || {
            for i in 0..PER_PRODUCER {
                let v = p * PER_PRODUCER + i + 1;
                attempted.fetch_add(v, Ordering::Relaxed);
                if let Err(e) = tx.send(v) {
                    returned.fetch_add(e.into_inner(), Ordering::Relaxed);
                }
            }
            tally.finished();
        });
    }
    for _ in 0..CONSUMERS {
        let (rx, tally) = (rx.clone(), tally.clone());
        spawn(move || {
            for v in &rx {
                tally.add(v);
            }
            tally.finished();
        });
    }
    // Close once about a quarter of the values went through.
    let target = PRODUCERS * PER_PRODUCER / 4;
    while tally.count.load(Ordering::Relaxed) < target {
        baton::time::sleep(std::time::Duration::from_micros(100));
    }
    tx.close();
    drop((tx, rx));
    tally.wait(PRODUCERS + CONSUMERS);
    let got = tally.sum.load(Ordering::Relaxed);
    assert_eq!(
        got + returned.load(Ordering::Relaxed),
        attempted.load(Ordering::Relaxed),
        "a value was lost or duplicated across the close"
    );
}

/// Makes one channel of some flavour.
type Make = fn() -> (Sender<u64>, Receiver<u64>);

fn flavours() -> [Make; 4] {
    [|| bounded(1), || bounded(64), rendezvous, unbounded]
}

#[test]
fn mpmc_8x8_every_value_once() {
    both("mpmc 8x8", 120, || {
        for make in flavours() {
            mpmc(make);
        }
    });
}

#[test]
fn mpmc_8x8_across_close() {
    both("mpmc 8x8 across close", 120, || {
        for make in flavours() {
            mpmc_across_close(make);
        }
    });
}

/// One consumer selects over many channels of all flavours while their
/// producers close them at different moments; it removes each closed arm
/// and must get every value sent before each close.
fn select_many_random_closes() {
    const CHANNELS: u64 = 12;
    let tally = Tally::new();
    let mut rxs = Vec::new();
    let sent_total = Arc::new(AtomicU64::new(0));
    for c in 0..CHANNELS {
        let (tx, rx) = flavours()[(c % 4) as usize]();
        rxs.push(rx);
        let (sent_total, tally) = (sent_total.clone(), tally.clone());
        spawn(move || {
            // Each producer stops (and closes) after a different count.
            let n = 200 + (c * 7919) % 1500;
            for i in 0..n {
                let v = c * 10_000 + i + 1;
                tx.send(v).unwrap();
                sent_total.fetch_add(v, Ordering::Relaxed);
            }
            tx.close();
            tally.finished();
        });
    }
    let mut open: Vec<bool> = vec![true; rxs.len()];
    let mut got = 0u64;
    while open.iter().any(|&o| o) {
        let mut sel = Select::new();
        let mut index = Vec::new();
        for (i, rx) in rxs.iter().enumerate() {
            if open[i] {
                sel.recv(rx);
                index.push(i);
            }
        }
        let op = sel.select();
        let i = index[op.index()];
        match op.recv(&rxs[i]) {
            Ok(v) => got += v,
            Err(_) => open[i] = false,
        }
    }
    tally.wait(CHANNELS);
    assert_eq!(got, sent_total.load(Ordering::Relaxed), "checksum");
}

#[test]
fn select_over_many_channels_with_random_closes() {
    both("select with random closes", 120, select_many_random_closes);
}
