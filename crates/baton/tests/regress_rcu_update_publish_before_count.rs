//! Regression: `Rcu::update` published the new version with a CAS *before*
//! taking the cell's strong count on it. An updater preempted between the
//! two let other writers swap that version out and a reclamation pass free
//! it, so the late count landed on freed memory: `update` returned a
//! dropped version and the allocator's lists were corrupted ("malloc():
//! unaligned fastbin chunk detected"). Found by the CI run of
//! `update_retries_and_loses_nothing_at_8_threads` (about 1 run in 200).
//!
//! This test oversubscribes the 2 cores (8 updaters, a reader that hold
//! guards across yields) and poisons every version when it is dropped, so
//! a version freed too early is seen as poisoned by whoever still holds it.

use baton::atomic::Rcu;
use std::sync::mpsc;
use std::time::Duration;

const LIVE: u64 = 0x1111_2222_3333_4444;
const DEAD: u64 = 0xdead_dead_dead_dead;

struct Version {
    magic: u64,
    n: u64,
}

impl Drop for Version {
    fn drop(&mut self) {
        assert_eq!(self.magic, LIVE, "version {} dropped twice", self.n);
        self.magic = DEAD;
    }
}

fn magic(v: &Version) -> u64 {
    // SAFETY: a plain read of a field through a live reference; volatile
    // only so the check is not folded away.
    unsafe { std::ptr::read_volatile(&v.magic) }
}

fn round(updaters: u64, per_updater: u64) {
    let cell = Rcu::with_slots(Version { magic: LIVE, n: 0 }, 2);
    std::thread::scope(|s| {
        for _ in 0..1 {
            s.spawn(|| {
                for k in 0..400u32 {
                    let guard = cell.load();
                    if k % 3 == 0 {
                        std::thread::yield_now();
                    }
                    assert_eq!(
                        magic(&guard),
                        LIVE,
                        "version {} freed under a guard",
                        guard.n
                    );
                }
            });
        }
        for _ in 0..updaters {
            s.spawn(|| {
                for _ in 0..per_updater {
                    let stored = cell.update(|v| {
                        assert_eq!(magic(v), LIVE, "update read a freed version {}", v.n);
                        Version {
                            magic: LIVE,
                            n: v.n + 1,
                        }
                    });
                    assert_eq!(magic(&stored), LIVE, "update returned a freed version");
                }
            });
        }
    });
    assert_eq!(cell.load().n, updaters * per_updater, "an update was lost");
}

#[test]
fn update_counts_the_new_version_before_publishing_it() {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        // Bounded by time, not by a count, so a slow machine still gets
        // through the rounds (this is no speed claim: nothing is asserted
        // about how many rounds ran).
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(6) {
            round(8, 500);
        }
        done.send(()).unwrap();
    });
    finished
        .recv_timeout(Duration::from_secs(300))
        .expect("Rcu update rounds hung (or a round panicked: see above)");
}
