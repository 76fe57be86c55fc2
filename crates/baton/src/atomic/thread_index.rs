//! A small dense index per OS thread, for picking a shard or slot.
//!
//! Threads get `0, 1, 2, ...` in the order they first ask; an index is never
//! reused while the process runs, which keeps the code trivially correct
//! (`ShardedCounter` and friends reduce it modulo their slot count, so a
//! process that starts and ends many threads only revisits slots). Goroutines
//! never migrate between OS threads, so a goroutine keeps its thread's index.

use crate::shim;

#[cfg(not(loom))]
static NEXT: shim::atomic::AtomicUsize = shim::atomic::AtomicUsize::new(0);

#[cfg(loom)]
loom::lazy_static! {
    static ref NEXT: shim::atomic::AtomicUsize = shim::atomic::AtomicUsize::new(0);
}

shim::thread_local! {
    static INDEX: core::cell::Cell<usize> = core::cell::Cell::new(usize::MAX);
}

/// The calling thread's index (dense, starting at 0, assigned on first use).
#[inline]
pub(crate) fn thread_index() -> usize {
    INDEX.with(|cell| {
        let idx = cell.get();
        if idx != usize::MAX {
            return idx;
        }
        assign(cell)
    })
}

#[cold]
fn assign(cell: &core::cell::Cell<usize>) -> usize {
    // Relaxed: only uniqueness matters, and a fetch_add alone gives that.
    let idx = NEXT.fetch_add(1, shim::atomic::Ordering::Relaxed);
    cell.set(idx);
    idx
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn stable_per_thread_and_distinct_across_threads() {
        let mine = thread_index();
        assert_eq!(mine, thread_index());
        let others: Vec<usize> = (0..4)
            .map(|_| std::thread::spawn(thread_index).join().unwrap())
            .collect();
        let mut all = others.clone();
        all.push(mine);
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 5);
    }
}
