//! Unit tests of epoch reclamation (the loom models are in `loom_tests.rs`;
//! the memory measurement is `tests/epoch_memory.rs`).

use super::bag::BAG_CAPACITY;
use super::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

/// A deferred call that counts how often it ran.
fn counter() -> (Arc<AtomicUsize>, impl Fn() -> Box<dyn FnOnce() + Send>) {
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let make = move || {
        let r = r.clone();
        Box::new(move || {
            r.fetch_add(1, Ordering::Relaxed);
        }) as Box<dyn FnOnce() + Send>
    };
    (runs, make)
}

#[test]
fn garbage_runs_after_two_advances_and_not_before() {
    let c = Collector::new();
    let h = c.register();
    let (runs, make) = counter();
    h.pin().defer(make());
    assert_eq!(c.pending(), 1);
    h.pin().flush(); // seals with stamp e, advances to e + 1
    assert_eq!(runs.load(Ordering::Relaxed), 0, "ran one epoch too early");
    h.pin().flush(); // advances to e + 2: expired
    assert_eq!(runs.load(Ordering::Relaxed), 1);
    assert_eq!(c.pending(), 0);
}

#[test]
fn a_pinned_thread_holds_reclamation_back_until_it_unpins() {
    let c = Collector::new();
    let (pinned_tx, pinned_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let c2 = c.clone();
    let holder = thread::spawn(move || {
        let h = c2.register();
        let g = h.pin();
        pinned_tx.send(()).unwrap();
        release_rx.recv().unwrap();
        drop(g);
    });
    pinned_rx.recv().unwrap();

    let h = c.register();
    let (runs, make) = counter();
    h.pin().defer(make());
    for _ in 0..10 {
        h.pin().flush();
    }
    assert_eq!(
        runs.load(Ordering::Relaxed),
        0,
        "freed while a guard could see it"
    );
    assert!(c.pending() >= 1);

    release_tx.send(()).unwrap();
    holder.join().unwrap();
    for _ in 0..3 {
        h.pin().flush();
    }
    assert_eq!(runs.load(Ordering::Relaxed), 1);
    assert_eq!(c.pending(), 0);
}

#[test]
fn nested_guards_only_unpin_at_the_outermost() {
    let c = Collector::new();
    let h = c.register();
    let g1 = h.pin();
    let g2 = h.pin();
    drop(g1);
    assert!(h.is_pinned());
    drop(g2);
    assert!(!h.is_pinned());
}

#[test]
fn a_full_bag_is_sealed_and_counted() {
    let c = Collector::new();
    let h = c.register();
    let (runs, make) = counter();
    let g = h.pin();
    for _ in 0..BAG_CAPACITY * 3 + 1 {
        g.defer(make());
    }
    assert_eq!(c.pending(), BAG_CAPACITY * 3 + 1);
    drop(g);
    for _ in 0..3 {
        h.pin().flush();
    }
    assert_eq!(runs.load(Ordering::Relaxed), BAG_CAPACITY * 3 + 1);
    assert_eq!(c.pending(), 0);
}

#[test]
fn slots_of_exited_threads_are_reused() {
    let c = Collector::new();
    for _ in 0..8 {
        let c = c.clone();
        thread::spawn(move || {
            let h = c.register();
            drop(h.pin());
        })
        .join()
        .unwrap();
    }
    assert_eq!(
        c.participant_count(),
        1,
        "each thread should reuse the one free slot"
    );
    let _a = c.register();
    let _b = c.register();
    assert_eq!(c.participant_count(), 2);
}

#[test]
fn a_guard_outliving_its_handle_keeps_the_slot() {
    let c = Collector::new();
    let h = c.register();
    let g = h.pin();
    drop(h);
    // The slot is still ours: registering again must take a new one.
    let h2 = c.register();
    assert_eq!(c.participant_count(), 2);
    drop(g);
    drop(h2);
    let _h3 = c.register();
    assert_eq!(c.participant_count(), 2);
}

#[test]
fn exiting_thread_hands_its_garbage_over() {
    let c = Collector::new();
    let (runs, make) = counter();
    let c2 = c.clone();
    let job = make();
    thread::spawn(move || c2.register().pin().defer(job))
        .join()
        .unwrap();
    assert_eq!(c.pending(), 1);
    let h = c.register();
    for _ in 0..3 {
        h.pin().flush();
    }
    assert_eq!(runs.load(Ordering::Relaxed), 1);
}

#[test]
fn dropping_the_collector_runs_remaining_garbage() {
    let (runs, make) = counter();
    {
        let c = Collector::new();
        let h = c.register();
        let g = h.pin();
        for _ in 0..100 {
            g.defer(make());
        }
    }
    assert_eq!(runs.load(Ordering::Relaxed), 100);
}

#[test]
fn defer_destroy_drops_the_box() {
    struct Flag(Arc<AtomicBool>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let c = Collector::new();
    let h = c.register();
    let a = Atomic::new(Flag(dropped.clone()));
    {
        let g = h.pin();
        let old = a.swap(Shared::null(), Ordering::AcqRel, &g);
        // SAFETY: unlinked by the swap, retired once.
        unsafe { g.defer_destroy(old) };
    }
    assert!(!dropped.load(Ordering::Relaxed));
    for _ in 0..3 {
        h.pin().flush();
    }
    assert!(dropped.load(Ordering::Relaxed));
}

#[test]
fn unprotected_runs_deferred_calls_at_once() {
    let (runs, make) = counter();
    // SAFETY: the call is safe to run immediately.
    unsafe { unprotected() }.defer(make());
    assert_eq!(runs.load(Ordering::Relaxed), 1);
}

#[test]
fn default_collector_pins_and_collects() {
    let (runs, make) = counter();
    pin().defer(make());
    assert!(!is_pinned());
    // Other tests may pin the default collector concurrently; keep trying.
    for _ in 0..10_000 {
        pin().flush();
        if runs.load(Ordering::Relaxed) == 1 {
            return;
        }
        thread::yield_now();
    }
    panic!("garbage deferred in the default collector never ran");
}

/// One thread that keeps pinning and retiring: garbage stays bounded,
/// because bags seal every 64 calls and collection runs every 128 pins.
#[test]
fn garbage_stays_bounded_while_pinning_and_unpinning() {
    let c = Collector::new();
    let h = c.register();
    let mut max = 0;
    for _ in 0..200_000 {
        let g = h.pin();
        g.defer(|| ());
        max = max.max(c.pending());
    }
    // Single-threaded the figure is deterministic: a bag per 64 pins, an
    // advance per 128 pins, and bags two epochs old are freed.
    assert!(max < 8 * BAG_CAPACITY, "pending grew to {max}");
}

/// Several threads pinning and retiring at once: print (not assert) the
/// high-water mark, which depends on scheduling, and check that everything
/// runs in the end.
#[test]
fn garbage_from_many_threads_is_all_run() {
    let c = Collector::new();
    let (runs, make) = counter();
    let make = Arc::new(make);
    let high = Arc::new(AtomicUsize::new(0));
    const THREADS: usize = 8;
    const PER: usize = 20_000;
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let c = c.clone();
            let make = make.clone();
            let high = high.clone();
            thread::spawn(move || {
                let h = c.register();
                for i in 0..PER {
                    h.pin().defer(make());
                    if i % 1024 == 0 {
                        high.fetch_max(c.pending(), Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    println!(
        "epoch: {THREADS} threads x {PER} retirements: pending high-water mark {}",
        high.load(Ordering::Relaxed)
    );
    let h = c.register();
    for _ in 0..1000 {
        if c.pending() == 0 {
            break;
        }
        h.pin().flush();
    }
    assert_eq!(c.pending(), 0);
    assert_eq!(runs.load(Ordering::Relaxed), THREADS * PER);
}

/// A thread-local whose destructor pins: depending on the order in which
/// the thread's locals are torn down, `pin` finds the thread's handle or
/// registers a temporary one. Either way it must work, and the garbage it
/// defers must be handed over.
#[test]
fn pinning_from_a_thread_local_destructor() {
    struct PinsOnDrop(Arc<AtomicUsize>);
    impl Drop for PinsOnDrop {
        fn drop(&mut self) {
            let runs = self.0.clone();
            pin().defer(move || {
                runs.fetch_add(1, Ordering::Relaxed);
            });
        }
    }
    thread_local! {
        static LATE: std::cell::RefCell<Option<PinsOnDrop>> = const { std::cell::RefCell::new(None) };
    }
    let runs = Arc::new(AtomicUsize::new(0));
    // Thread-locals are destroyed in reverse order of first use (on the
    // platforms we test), so the two orders reach both paths.
    for handle_first in [true, false] {
        let r = runs.clone();
        thread::spawn(move || {
            if handle_first {
                drop(pin());
            }
            LATE.with(|l| *l.borrow_mut() = Some(PinsOnDrop(r)));
            drop(pin());
        })
        .join()
        .unwrap();
    }
    for _ in 0..10_000 {
        pin().flush();
        if runs.load(Ordering::Relaxed) == 2 {
            return;
        }
        thread::yield_now();
    }
    panic!("garbage deferred during thread teardown never ran");
}
