//! Stress tests for `baton::atomic::Rcu`: more threads than cores (8 on the
//! 2-core CI machine), readers checking every value they see, writers racing.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;

use baton::atomic::Rcu;

/// Iterations per thread; small under Miri.
const ITERS: u64 = if cfg!(miri) { 50 } else { 20_000 };

static CREATED: AtomicUsize = AtomicUsize::new(0);
static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// A version whose parts must all agree, with a heap part so that a
/// use-after-free reads reused memory rather than a stale copy.
struct Version {
    n: u64,
    copy: u64,
    heap: Box<[u64; 4]>,
}

impl Version {
    fn new(n: u64) -> Self {
        CREATED.fetch_add(1, SeqCst);
        Self {
            n,
            copy: n,
            heap: Box::new([n; 4]),
        }
    }

    fn check(&self) -> u64 {
        assert_eq!(self.n, self.copy, "torn or freed version");
        assert!(self.heap.iter().all(|&x| x == self.n), "freed version");
        self.n
    }
}

impl Drop for Version {
    fn drop(&mut self) {
        self.copy = u64::MAX; // poison: a late reader would see it
        DROPPED.fetch_add(1, SeqCst);
    }
}

#[test]
fn readers_and_racing_writers_at_8_threads() {
    let cell = Rcu::new(Version::new(0));
    let max_pending = AtomicUsize::new(0);
    thread::scope(|s| {
        // Two updaters: every update is `n + 1`, so values only grow and no
        // update may be lost.
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..ITERS / 10 {
                    cell.update(|v| Version::new(v.n + 1));
                    max_pending.fetch_max(cell.pending(), SeqCst);
                }
            });
        }
        // Five guard readers: each sees whole versions, never going back.
        for _ in 0..5 {
            s.spawn(|| {
                let mut last = 0;
                for _ in 0..ITERS {
                    let n = cell.load().check();
                    assert!(n >= last, "went back from {last} to {n}");
                    last = n;
                }
            });
        }
        // One reader keeping `Arc`s across writes.
        s.spawn(|| {
            let mut kept = Vec::new();
            for i in 0..ITERS {
                if i % 100 == 0 {
                    kept.push(cell.load_full());
                }
                cell.load().check();
            }
            for v in &kept {
                v.check();
            }
        });
    });
    assert_eq!(cell.load().check(), 2 * (ITERS / 10), "an update was lost");
    cell.synchronize();
    assert_eq!(cell.pending(), 0);
    drop(cell);
    assert_eq!(
        CREATED.load(SeqCst),
        DROPPED.load(SeqCst),
        "leaked versions"
    );
    // Not asserted (it depends on scheduling), but worth seeing.
    println!(
        "most versions pending at once: {}",
        max_pending.load(SeqCst)
    );
}

/// Cells created and dropped while threads come and go, with guards sent
/// between threads through a shared `Arc<Rcu>`.
#[test]
fn many_cells_many_threads() {
    for round in 0..if cfg!(miri) { 2 } else { 20 } {
        let cell = Arc::new(Rcu::with_slots(vec![round; 8], 2));
        let hs: Vec<_> = (0..8)
            .map(|t| {
                let cell = cell.clone();
                thread::spawn(move || {
                    for i in 0..ITERS / 100 {
                        if (i + t) % 7 == 0 {
                            cell.store(vec![i; 8]);
                        } else {
                            let v = cell.load();
                            assert!(v.iter().all(|&x| x == v[0]));
                        }
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        cell.synchronize();
        assert_eq!(cell.pending(), 0);
    }
}
