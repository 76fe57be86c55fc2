//! A worker's timers: deadlines of its goroutines parked with
//! `park_deadline` (and so `time::sleep`), in a binary heap.
//!
//! Entries are never removed when a goroutine wakes early; each carries the
//! id of the park it belongs to, and the worker ignores an entry whose id no
//! longer matches its goroutine's current timer (a *stale* entry). Stale
//! entries are counted, and the heap is rebuilt without them once they are
//! over half of it, so a goroutine that parks with a long deadline and is
//! always woken early cannot grow the heap without bound. (Go's timers work
//! the same way: deletion marks, and a clean-up past a threshold.)
//!
//! A heap costs `O(log n)` per timer; a timing wheel would cost `O(1)` but
//! with a resolution to pick; measuring the two is left for the lab.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// One deadline: `(deadline, timer id, slab slot)`.
type Entry = Reverse<(Instant, u64, usize)>;

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Entry>,
    next_id: u64,
    stale: usize,
}

impl Timers {
    /// Adds a deadline for the goroutine in `slot`; returns the timer id to
    /// store in its slab entry.
    pub(crate) fn add(&mut self, deadline: Instant, slot: usize) -> u64 {
        self.next_id += 1;
        self.heap.push(Reverse((deadline, self.next_id, slot)));
        self.next_id
    }

    /// Notes that one entry went stale (its goroutine woke before it).
    pub(crate) fn cancelled(&mut self) {
        self.stale += 1;
    }

    /// Rebuilds the heap without stale entries when they are the majority.
    /// `live(id, slot)` says whether an entry is still current.
    pub(crate) fn compact_if_needed(&mut self, live: impl Fn(u64, usize) -> bool) {
        if self.heap.len() >= 64 && self.stale * 2 > self.heap.len() {
            let heap = core::mem::take(&mut self.heap);
            self.heap = heap
                .into_vec()
                .into_iter()
                .filter(|Reverse((_, id, slot))| live(*id, *slot))
                .collect();
            self.stale = 0;
        }
    }

    /// The earliest deadline, stale or not.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((d, _, _))| *d)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Pops one entry due at `now`: `(id, slot)`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(u64, usize)> {
        match self.heap.peek() {
            Some(Reverse((d, _, _))) if *d <= now => {
                let Reverse((_, id, slot)) = self.heap.pop()?;
                Some((id, slot))
            }
            _ => None,
        }
    }

    /// Records that a popped entry was stale.
    pub(crate) fn popped_stale(&mut self) {
        self.stale = self.stale.saturating_sub(1);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_in_deadline_order() {
        let mut t = Timers::default();
        let now = Instant::now();
        let a = t.add(now + Duration::from_millis(2), 7);
        let b = t.add(now + Duration::from_millis(1), 8);
        assert_eq!(t.next_deadline(), Some(now + Duration::from_millis(1)));
        assert_eq!(t.pop_due(now), None);
        let later = now + Duration::from_millis(5);
        assert_eq!(t.pop_due(later), Some((b, 8)));
        assert_eq!(t.pop_due(later), Some((a, 7)));
        assert!(t.is_empty());
    }

    #[test]
    fn compaction_drops_stale_entries() {
        let mut t = Timers::default();
        let now = Instant::now();
        let ids: Vec<u64> = (0..100).map(|i| t.add(now, i)).collect();
        for _ in 0..60 {
            t.cancelled();
        }
        t.compact_if_needed(|id, _| id > ids[59]);
        assert_eq!(t.heap.len(), 40);
    }
}
