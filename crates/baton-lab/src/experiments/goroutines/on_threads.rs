//! The OS-thread peers: what the same work costs with one thread per task.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::Arc;
use std::thread;

use super::{timed, timed_trips, THREAD_WAVE};
use crate::runner::{Sample, Spec};

/// Waves of [`THREAD_WAVE`] threads, each returning its index, then joined.
pub(crate) fn spawn_join(spec: &Spec) -> Sample {
    let mut handles = Vec::with_capacity(THREAD_WAVE);
    timed(spec.seconds, || {
        handles.extend((0..THREAD_WAVE).map(|i| thread::spawn(move || black_box(i))));
        for h in handles.drain(..) {
            black_box(h.join().expect("a trivial thread panicked"));
        }
        THREAD_WAVE as u64
    })
}

/// Hits so far (player 0 hits on even counts, player 1 on odd ones) and
/// the end flag; each player parks its thread until it is its turn.
struct Rally {
    hits: AtomicU64,
    done: AtomicBool,
}

impl Rally {
    /// Waits (parked) for `me`'s turn and hits, waking `other`; `false`
    /// once the rally is over.
    fn hit(&self, me: u64, other: &thread::Thread) -> bool {
        loop {
            if self.done.load(Acquire) {
                return false;
            }
            let h = self.hits.load(Acquire);
            if h % 2 == me {
                self.hits.store(h + 1, Release);
                other.unpark();
                return true;
            }
            thread::park();
        }
    }
}

/// Two threads bouncing a token with `park`/`unpark` (one round trip per
/// op); the column's thread count does not apply.
pub(crate) fn pingpong(spec: &Spec) -> Sample {
    let rally = Arc::new(Rally {
        hits: AtomicU64::new(0),
        done: AtomicBool::new(false),
    });
    let me = thread::current();
    let other = {
        let rally = rally.clone();
        thread::spawn(move || while rally.hit(1, &me) {})
    };
    let sample = timed_trips(spec, || {
        rally.hit(0, other.thread());
    });
    rally.done.store(true, Release);
    other.thread().unpark();
    other.join().expect("the second player panicked");
    sample
}
