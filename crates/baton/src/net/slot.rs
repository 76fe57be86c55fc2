//! Who waits in `epoll_wait`: the slot, the plain threads parked on
//! sockets, and the fallback thread's sleep — the atomic protocol of
//! `poller.rs` (its module docs give the rules and the no-lost-wake-up
//! argument), kept apart from the system calls so that loom can check it
//! (`loom_slot_*` below). The argument is Dekker pairs (a store, then a
//! load of the other side's variable); each side puts a `SeqCst` fence
//! between its store and its load, as the idle protocol does, so that the
//! two fences are ordered and one side sees the other's store (loom models
//! `SeqCst` fences, not a `SeqCst` store followed by a `SeqCst` load).

use crate::shim::atomic::{fence, AtomicU8, AtomicUsize, Ordering::SeqCst};

/// `slot`: nobody is (about to be) blocked in `epoll_wait`.
const FREE: u8 = 0;
/// `slot`: a worker is.
const WORKER: u8 = 1;
/// `slot`: the fallback thread is.
const THREAD: u8 = 2;

/// `monitor`: the fallback thread is running (or about to re-check).
const AWAKE: u8 = 0;
/// `monitor`: sleeping at most a period.
const TIMED: u8 = 1;
/// `monitor`: sleeping until woken.
const DEEP: u8 = 2;

/// How the fallback thread sleeps ([`SlotState::monitor_sleep`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sleep {
    /// Until woken: a worker holds the slot, or nothing needs polling.
    Deep,
    /// At most a period: workers exist but none holds the slot.
    Timed,
    /// Not at all: plain threads wait and the slot is free; take it.
    No,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct SlotState {
    slot: AtomicU8,
    thread_waiters: AtomicUsize,
    monitor: AtomicU8,
}

impl SlotState {
    pub(crate) fn new() -> Self {
        Self {
            slot: AtomicU8::new(FREE),
            thread_waiters: AtomicUsize::new(0),
            monitor: AtomicU8::new(AWAKE),
        }
    }

    /// Worker about to sleep: takes the free slot.
    #[inline]
    pub(crate) fn try_take_worker(&self) -> bool {
        self.slot.load(SeqCst) == FREE
            && self
                .slot
                .compare_exchange(FREE, WORKER, SeqCst, SeqCst)
                .is_ok()
    }

    /// Worker: gives the slot back. `true`: the caller must wake the
    /// fallback thread (it sleeps deeply, and may be needed now).
    pub(crate) fn release_worker(&self) -> bool {
        self.slot.store(FREE, SeqCst);
        fence(SeqCst);
        self.wake_monitor(false)
    }

    /// Whether a worker or the fallback thread holds the slot.
    #[cfg(all(test, loom))]
    fn holder(&self) -> u8 {
        self.slot.load(SeqCst)
    }

    /// Fallback thread: takes the free slot if plain threads wait; re-reads
    /// the waiters after taking it (pairs with [`thread_wait_end`]) and
    /// gives it back if none is left. `true`: it holds the slot, and must
    /// [`release_thread`](Self::release_thread) it.
    ///
    /// [`thread_wait_end`]: Self::thread_wait_end
    pub(crate) fn take_for_threads(&self) -> bool {
        if self.thread_waiters.load(SeqCst) == 0
            || self
                .slot
                .compare_exchange(FREE, THREAD, SeqCst, SeqCst)
                .is_err()
        {
            return false;
        }
        fence(SeqCst);
        if self.thread_waiters.load(SeqCst) == 0 {
            self.slot.store(FREE, SeqCst);
            return false;
        }
        true
    }

    /// Fallback thread: gives the slot back.
    pub(crate) fn release_thread(&self) {
        self.slot.store(FREE, SeqCst);
    }

    /// Fallback thread: whether to poll without blocking (workers exist but
    /// none holds the slot: they may all be busy).
    pub(crate) fn should_poll(&self, workers: bool) -> bool {
        workers && self.slot.load(SeqCst) == FREE
    }

    /// Fallback thread: announces its sleep, then decides how to sleep
    /// (`workers`: whether runtime workers exist). After [`Sleep::Deep`] or
    /// [`Sleep::Timed`] it parks, then calls
    /// [`monitor_woke`](Self::monitor_woke).
    pub(crate) fn monitor_sleep(&self, workers: bool) -> Sleep {
        // Announce first (the Dekker store), then read the other sides.
        self.monitor.store(DEEP, SeqCst);
        fence(SeqCst);
        let slot = self.slot.load(SeqCst);
        let waiters = self.thread_waiters.load(SeqCst);
        if slot == WORKER || (waiters == 0 && !workers) {
            Sleep::Deep
        } else if waiters > 0 && slot == FREE {
            self.monitor.store(AWAKE, SeqCst);
            Sleep::No
        } else {
            // A waker that saw DEEP meanwhile set AWAKE and unparked us
            // (the token makes the timed park return at once); storing TIMED
            // over that is harmless.
            self.monitor.store(TIMED, SeqCst);
            Sleep::Timed
        }
    }

    /// Fallback thread: back from its park.
    pub(crate) fn monitor_woke(&self) {
        self.monitor.store(AWAKE, SeqCst);
    }

    /// A plain thread is about to park on a socket. `true`: the caller must
    /// wake the fallback thread.
    pub(crate) fn thread_wait_begin(&self) -> bool {
        self.thread_waiters.fetch_add(1, SeqCst);
        fence(SeqCst);
        self.wake_monitor(true)
    }

    /// A plain thread stopped waiting. `true`: the caller must wake the
    /// slot holder (the fallback thread, no longer needed in epoll).
    pub(crate) fn thread_wait_end(&self) -> bool {
        let last = self.thread_waiters.fetch_sub(1, SeqCst) == 1;
        fence(SeqCst);
        last && self.slot.load(SeqCst) == THREAD
    }

    /// Claims the fallback thread's wake-up if it sleeps (deeply, or also
    /// timed): `true` if the caller must unpark it.
    fn wake_monitor(&self, also_timed: bool) -> bool {
        let m = self.monitor.load(SeqCst);
        let sleeping = m == DEEP || (also_timed && m == TIMED);
        sleeping
            && self
                .monitor
                .compare_exchange(m, AWAKE, SeqCst, SeqCst)
                .is_ok()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::shim::atomic::AtomicBool;
    use crate::shim::Arc;
    use loom::thread;

    /// A worker holds the slot and gives it back while a plain thread
    /// starts waiting on a socket; no runtime worker is left (so the
    /// fallback thread's only choices are to sleep deeply or to take the
    /// slot). The fallback thread must end up holding the slot for the
    /// waiter: a deep sleep that nobody ends is a lost wake-up, which loom
    /// reports as a deadlock.
    #[test]
    fn loom_slot_thread_waiter_is_served() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(2);
        b.check(|| {
            let s = Arc::new(SlotState::new());
            assert!(s.try_take_worker());
            let served = Arc::new(AtomicBool::new(false));
            let monitor = {
                let (s, served) = (s.clone(), served.clone());
                thread::spawn(move || loop {
                    if s.take_for_threads() {
                        served.store(true, SeqCst);
                        s.release_thread();
                        return;
                    }
                    match s.monitor_sleep(false) {
                        Sleep::Deep => thread::park(),
                        Sleep::No => continue,
                        Sleep::Timed => unreachable!("no workers in this model"),
                    }
                    s.monitor_woke();
                })
            };
            let monitor_thread = monitor.thread().clone();
            let worker = {
                let s = s.clone();
                let m = monitor_thread.clone();
                thread::spawn(move || {
                    if s.release_worker() {
                        m.unpark();
                    }
                })
            };
            if s.thread_wait_begin() {
                monitor_thread.unpark();
            }
            worker.join().unwrap();
            monitor.join().unwrap();
            assert!(served.load(SeqCst));
            let _ = s.thread_wait_end();
        });
    }

    /// The last plain thread stops waiting while the fallback thread takes
    /// the slot for it: either the fallback thread sees no waiter and gives
    /// the slot back, or the waiter sees it in the slot and kicks it out —
    /// never a fallback thread left holding the slot (blocked in
    /// `epoll_wait`) with no waiter and no kick.
    #[test]
    fn loom_slot_last_waiter_kicks_the_holder() {
        loom::model(|| {
            let s = Arc::new(SlotState::new());
            assert!(!s.thread_wait_begin(), "the fallback thread is awake");
            let monitor = {
                let s = s.clone();
                thread::spawn(move || s.take_for_threads())
            };
            let kicked = s.thread_wait_end();
            let holds = monitor.join().unwrap();
            assert!(
                !holds || kicked,
                "the fallback thread holds the slot with no waiter left"
            );
            assert!(!(holds && s.holder() != THREAD));
        });
    }
}
