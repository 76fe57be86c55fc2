//! Idle workers: how a worker with nothing to do goes to sleep (so an idle
//! runtime uses no CPU), and how new work wakes one up without ever being
//! stranded.
//!
//! Two kinds of work wake a worker:
//!
//! - **Stealable work** (unstarted goroutines pushed to a ring or the
//!   injector) can run anywhere: the pusher calls [`Idle::notify_one`], which
//!   wakes one sleeper *as a searcher* unless some worker is already
//!   searching. This is Go's `wakep` and tokio's `Idle`.
//! - **Home work** (a started goroutine woken through a worker's inbox, or its
//!   timers) runs only on its home worker: the pusher calls
//!   [`Idle::notify_worker`] for that worker.
//!
//! ## Searching
//!
//! A worker with no local work may become a *searcher* (it tries the
//! injector and steals from others), but only while fewer than half the
//! workers search — the rest would only burn CPU (Go caps spinning Ms the
//! same way). The rule that keeps stealable work from being stranded:
//!
//! > A notifier that sees a searcher wakes no one. So the **last** searcher
//! > to give up must look at every queue once more after it stopped counting
//! > as a searcher (with a `SeqCst` fence in between), and a searcher that
//! > finds work and was the last one calls `notify_one` so that someone keeps
//! > searching for the rest.
//!
//! ## Sleeping (the no-lost-wake-up argument)
//!
//! A worker going to sleep: (1) stops searching (remembering whether it was
//! the last searcher), (2) sets its `sleeping` flag and joins the sleeper
//! list, (3) issues a `SeqCst` fence, (4) re-checks its inbox, the injector,
//! its timers and — if it was the last searcher — every ring, and (5) parks
//! only if all were empty. A pusher (a) publishes its work, (b) issues a
//! `SeqCst` fence, (c) reads `sleeping` (or the searcher and sleeper counts).
//! The two fences are totally ordered: either the worker's fence comes first,
//! and the pusher's read sees `sleeping` (and wakes it: thread unpark keeps a
//! token, so an unpark before the park is not lost), or the pusher's fence
//! comes first, and the worker's re-check sees the work.
//!
//! ## Sleeping in epoll
//!
//! Once the process has a network poller (`net::poller`), every worker
//! about to sleep sleeps in `epoll_wait` on its *own* epoll instance (where
//! the sockets its goroutines wait on are registered), with its next timer
//! as the time-out, instead of on its park token, so socket readiness for
//! its goroutines wakes it directly. Its sleep is announced exactly as
//! above, plus one flag: `in_epoll`, stored (`SeqCst`) *before* the
//! `sleeping` flag and cleared only after `end_sleep`, and, stored before
//! `in_epoll`, the token that names its instance's wake `eventfd`. A
//! notifier that wins a sleep (its swap of `sleeping` read the worker's
//! store of `true`, or `wake_all`'s fence follows the worker's) therefore
//! reads `in_epoll` as that sleep set it (or a later value, once the sleep
//! ended by itself), and the token with it, and wakes the worker by
//! writing that `eventfd` instead of unparking its token. Only the worker
//! drains its `eventfd` (after `epoll_wait` returns, or when it polls
//! while awake, which is never inside an announced sleep), so it keeps its
//! count like the token a futex park keeps: a write before the worker
//! blocks makes `epoll_wait` return at once, and the argument above holds
//! unchanged. A wake-up that reaches the wrong place (the sleep ended
//! meanwhile) is spurious for the next sleep, never lost for this one.
//! `loom_idle_epoll_wakeup` models it. (Until issue 13, one worker at a
//! time could sleep in epoll, on an instance shared by all; see `net`'s
//! "Alternatives rejected".)
//!
//! ## Counters
//!
//! `num_searching` counts searchers, including sleepers that `notify_one`
//! popped and woke (they wake *as* searchers: the notifier counts them, so
//! that a second notifier does not wake a second worker for the same
//! goroutine). `num_sleeping` counts workers in the sleeper list. Both are
//! read racily as hints by notifiers; the decisions that matter are re-made
//! under the sleeper-list lock or covered by the re-check above. All their
//! operations are `SeqCst` because they take part in the fence argument.

use crate::park::Unparker;

/// How a worker sleeping in epoll is woken: its instance's wake `eventfd`
/// (`token`: see `netpoll::EpollSleep::wake_token`).
#[cfg(not(loom))]
fn default_epoll_wake(token: usize) {
    super::netpoll::wake(token);
}

/// Under loom no worker sleeps in epoll but the models' own.
#[cfg(loom)]
fn default_epoll_wake(_: usize) {
    unreachable!("baton: a worker slept in epoll without a poller");
}
use crate::shim::atomic::{fence, AtomicBool, AtomicUsize, Ordering::*};
use crate::shim::{lock, Mutex};

/// One worker's sleep slot.
#[derive(Debug)]
pub(crate) struct Sleeper {
    /// Set by the worker before its final re-check; cleared by whoever wakes
    /// it (a notifier's swap decides who calls `unpark`) or by the worker.
    sleeping: AtomicBool,
    /// Wakes the worker's thread (its `crate::park` token), set once when
    /// the worker starts. A token kept by `unpark` makes a later park return
    /// at once: an unpark before the park is not lost.
    thread: Mutex<Option<Unparker>>,
    /// Set (before `sleeping`) while the worker sleeps in `epoll_wait`
    /// instead of on its token: then a wake-up goes through its epoll
    /// instance's wake `eventfd` (see "Sleeping in epoll" in the module
    /// docs).
    in_epoll: AtomicBool,
    /// Which `eventfd` (the token for `epoll_wake`): written by the worker
    /// before it sets `in_epoll` (`Relaxed`: read only after reading
    /// `in_epoll` set, with `SeqCst`, which orders it).
    epoll_token: AtomicUsize,
}

impl Sleeper {
    fn new() -> Self {
        Self {
            sleeping: AtomicBool::new(false),
            thread: Mutex::new(None),
            in_epoll: AtomicBool::new(false),
            epoll_token: AtomicUsize::new(0),
        }
    }

    /// Wakes the worker if it is (about to be) asleep.
    fn unpark_if_sleeping(&self, epoll_wake: fn(usize)) {
        // The load first: most notifications find the worker awake, and a
        // load does not take the cache line exclusive.
        if self.sleeping.load(SeqCst) && self.sleeping.swap(false, SeqCst) {
            self.unpark(epoll_wake);
        }
    }

    /// Wakes the sleep whose `sleeping` flag the caller cleared: through
    /// the epoll wake-up if the worker sleeps in epoll, else its token.
    #[cold]
    fn unpark(&self, epoll_wake: fn(usize)) {
        // SeqCst, after the caller's read-modify-write of `sleeping` (or
        // its fence, in `wake_all`): sees the `in_epoll` the worker set
        // before announcing this sleep (module docs), and so the token it
        // wrote before that.
        if self.in_epoll.load(SeqCst) {
            epoll_wake(self.epoll_token.load(Relaxed));
        } else if let Some(t) = lock(&self.thread).as_ref() {
            t.unpark();
        }
    }
}

/// Whether a worker that stopped searching was the last searcher.
#[must_use = "the last searcher must re-check every ring, or wake a worker to keep looking"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SearchEnd {
    /// Nobody searches any more: work pushed meanwhile may wake no one.
    Last,
    /// Other searchers remain (or the worker was not searching).
    NotLast,
}

/// How a worker left the sleeper list ([`Idle::end_sleep`]).
#[must_use = "a worker popped by a notifier counts as a searcher"]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Awake {
    /// A notifier popped it (and counted it as a searcher): it searches.
    AsSearcher,
    /// It left the list itself (timer, spurious wake, work found): not a
    /// searcher.
    NotSearching,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Idle {
    num_searching: AtomicUsize,
    num_sleeping: AtomicUsize,
    /// Indices of sleeping workers, most recent last (woken first: its caches
    /// are warmest).
    sleepers: Mutex<Vec<usize>>,
    slots: Box<[Sleeper]>,
    /// Wakes a worker blocked in `epoll_wait`, given its token (its
    /// instance's wake `eventfd`; a model's stand-in under loom).
    epoll_wake: fn(usize),
}

impl Idle {
    pub(crate) fn new(workers: usize) -> Self {
        Self::with_epoll_wake(workers, default_epoll_wake)
    }

    /// [`new`](Self::new) with `epoll_wake` as the way to wake a worker
    /// that sleeps in epoll (tests and loom models).
    pub(crate) fn with_epoll_wake(workers: usize, epoll_wake: fn(usize)) -> Self {
        Self {
            num_searching: AtomicUsize::new(0),
            num_sleeping: AtomicUsize::new(0),
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            slots: (0..workers).map(|_| Sleeper::new()).collect(),
            epoll_wake,
        }
    }

    /// Worker `i` records how to wake its thread (`park::current()` on the
    /// worker thread, outside any goroutine), once, before it may sleep.
    pub(crate) fn register_thread(&self, i: usize, thread: Unparker) {
        *lock(&self.slots[i].thread) = Some(thread);
    }

    /// After pushing stealable work: wakes a sleeper to search for it, unless
    /// someone is already searching or no one sleeps.
    #[inline]
    pub(crate) fn notify_one(&self) {
        // SeqCst fence: orders the caller's push before the loads below (see
        // the module docs).
        fence(SeqCst);
        if self.num_searching.load(SeqCst) != 0 || self.num_sleeping.load(SeqCst) == 0 {
            return;
        }
        self.wake_a_searcher();
    }

    #[cold]
    fn wake_a_searcher(&self) {
        let mut sleepers = lock(&self.sleepers);
        // Re-check under the lock: a worker that started searching since
        // will find the work (or, as the last searcher, re-check for it).
        if self.num_searching.load(SeqCst) != 0 {
            return;
        }
        let Some(i) = sleepers.pop() else { return };
        self.num_sleeping.fetch_sub(1, SeqCst);
        self.num_searching.fetch_add(1, SeqCst);
        drop(sleepers);
        let p = &self.slots[i];
        // It may have woken already (inbox, timer): then the swap finds
        // `false` and it learns it was popped in `end_sleep`.
        if p.sleeping.swap(false, SeqCst) {
            p.unpark(self.epoll_wake);
        }
    }

    /// After pushing to worker `i`'s inbox: wakes it if it sleeps.
    #[inline]
    pub(crate) fn notify_worker(&self, i: usize) {
        // SeqCst fence: see the module docs (step b).
        fence(SeqCst);
        self.slots[i].unpark_if_sleeping(self.epoll_wake);
    }

    /// Tries to become a searcher; `false` when half the workers already
    /// search.
    #[must_use = "`true` makes the caller a searcher, which must later stop searching"]
    pub(crate) fn try_start_searching(&self) -> bool {
        let n = self.num_searching.load(SeqCst);
        if 2 * n >= self.slots.len() {
            return false;
        }
        self.num_searching.fetch_add(1, SeqCst);
        true
    }

    /// Stops searching; [`SearchEnd::Last`] if this was the last searcher.
    pub(crate) fn stop_searching(&self) -> SearchEnd {
        let prev = self.num_searching.fetch_sub(1, SeqCst);
        debug_assert!(prev > 0, "searcher count underflow");
        if prev == 1 {
            SearchEnd::Last
        } else {
            SearchEnd::NotLast
        }
    }

    /// Steps (1)-(3) of going to sleep. Returns whether this worker was the
    /// last searcher ([`SearchEnd::Last`]: then it must re-check every ring,
    /// not just its own inbox and the injector). The caller then re-checks
    /// and either calls [`end_sleep`](Self::end_sleep) at once (work found)
    /// or parks first.
    pub(crate) fn prepare_sleep(&self, i: usize, searching: bool) -> SearchEnd {
        let last_searcher = if searching {
            self.stop_searching()
        } else {
            SearchEnd::NotLast
        };
        {
            let mut sleepers = lock(&self.sleepers);
            self.slots[i].sleeping.store(true, SeqCst);
            sleepers.push(i);
            self.num_sleeping.fetch_add(1, SeqCst);
        }
        // SeqCst fence: step (3), pairs with the notifiers' fences.
        fence(SeqCst);
        last_searcher
    }

    /// Leaves the sleeper list after waking (or instead of parking). Returns
    /// [`Awake::AsSearcher`] if a notifier popped this worker, which then
    /// counts as a searcher.
    pub(crate) fn end_sleep(&self, i: usize) -> Awake {
        let mut sleepers = lock(&self.sleepers);
        self.slots[i].sleeping.store(false, SeqCst);
        match sleepers.iter().position(|&w| w == i) {
            Some(pos) => {
                sleepers.swap_remove(pos);
                self.num_sleeping.fetch_sub(1, SeqCst);
                Awake::NotSearching
            }
            None => Awake::AsSearcher,
        }
    }

    /// Wakes every worker (shutdown).
    pub(crate) fn wake_all(&self) {
        // SeqCst fence: orders the caller's shutdown flag before the
        // `in_epoll` loads in `unpark` (step b of the module docs).
        fence(SeqCst);
        for p in self.slots.iter() {
            p.sleeping.store(false, SeqCst);
            p.unpark(self.epoll_wake);
        }
    }

    /// Worker `i` is about to sleep in `epoll_wait` (`Some(token)`: how to
    /// wake it, passed to `epoll_wake`; before
    /// [`prepare_sleep`](Self::prepare_sleep)) or has left that sleep
    /// (`None`, after [`end_sleep`](Self::end_sleep)); see "Sleeping in
    /// epoll" in the module docs.
    pub(crate) fn set_in_epoll(&self, i: usize, token: Option<usize>) {
        let p = &self.slots[i];
        if let Some(t) = token {
            p.epoll_token.store(t, Relaxed);
        }
        p.in_epoll.store(token.is_some(), SeqCst);
    }

    /// Runs `f` under the sleeper-list lock if every worker is in the list
    /// with its `sleeping` flag set (deadlock detection; see `deadlock`).
    /// While the lock is held no worker can leave the list (`end_sleep`
    /// takes it), and a worker whose flag a notifier cleared reads as awake.
    pub(crate) fn with_all_asleep(&self, f: impl FnOnce()) {
        let sleepers = lock(&self.sleepers);
        if sleepers.len() == self.slots.len() && self.slots.iter().all(|p| p.sleeping.load(SeqCst))
        {
            f();
        }
        drop(sleepers);
    }

    /// Number of workers in the sleeper list (a snapshot, for stats).
    pub(crate) fn sleeping(&self) -> usize {
        self.num_sleeping.load(SeqCst)
    }

    /// Number of workers searching right now (a snapshot, for tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn searching(&self) -> usize {
        self.num_searching.load(SeqCst)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn at_most_half_search() {
        let idle = Idle::new(4);
        assert!(idle.try_start_searching());
        assert!(idle.try_start_searching());
        assert!(!idle.try_start_searching());
        assert_eq!(idle.stop_searching(), SearchEnd::NotLast);
        assert_eq!(idle.stop_searching(), SearchEnd::Last, "the last one knows");
    }

    #[test]
    fn notify_pops_a_sleeper_as_searcher() {
        let idle = Idle::new(2);
        idle.register_thread(0, crate::park::current());
        assert_eq!(idle.prepare_sleep(0, false), SearchEnd::NotLast);
        idle.notify_one();
        assert_eq!(idle.searching(), 1);
        assert_eq!(
            idle.end_sleep(0),
            Awake::AsSearcher,
            "popped: now a searcher"
        );
        // A second notify sees the searcher and wakes no one.
        idle.notify_one();
        assert_eq!(idle.searching(), 1);
        assert_eq!(idle.stop_searching(), SearchEnd::Last);
    }

    #[test]
    fn end_sleep_without_notify_is_not_searching() {
        let idle = Idle::new(1);
        assert_eq!(idle.prepare_sleep(0, false), SearchEnd::NotLast);
        assert_eq!(idle.end_sleep(0), Awake::NotSearching);
        assert_eq!(idle.num_sleeping.load(SeqCst), 0);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::shim::Arc;
    use loom::thread;

    /// A worker about to sleep and a thread pushing to its inbox: the worker
    /// always takes the work (a lost wake-up would leave it parked forever,
    /// which loom reports as a deadlock).
    #[test]
    fn loom_idle_inbox_wakeup() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(1));
            let work = Arc::new(AtomicBool::new(false));
            let worker = {
                let (idle, work) = (idle.clone(), work.clone());
                thread::spawn(move || {
                    idle.register_thread(0, crate::park::current());
                    loop {
                        if work.swap(false, SeqCst) {
                            return;
                        }
                        // This model checks the wake-up only; the searcher
                        // bookkeeping is `loom_idle_last_searcher_recheck`'s.
                        let _ = idle.prepare_sleep(0, false);
                        if !work.load(SeqCst) {
                            crate::park::park();
                        }
                        let _ = idle.end_sleep(0);
                    }
                })
            };
            // A read-modify-write, as the real inbox push (a CAS) is. (With
            // a plain store racing the worker's swap, loom 0.7 lets a later
            // swap that happens-after this store read the older value: a
            // false alarm of its modification-order model.)
            work.swap(true, SeqCst);
            idle.notify_worker(0);
            worker.join().unwrap();
        });
    }

    /// The last searcher gives up while a goroutine is pushed to a ring:
    /// either the pusher wakes it or its re-check finds the work.
    #[test]
    fn loom_idle_last_searcher_recheck() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(2);
        b.check(|| {
            let idle = Arc::new(Idle::new(2));
            let ring = Arc::new(AtomicUsize::new(0));
            let worker = {
                let (idle, ring) = (idle.clone(), ring.clone());
                thread::spawn(move || {
                    idle.register_thread(0, crate::park::current());
                    let mut searching = idle.try_start_searching();
                    loop {
                        if ring.load(SeqCst) > 0 {
                            ring.fetch_sub(1, SeqCst);
                            if searching && idle.stop_searching() == SearchEnd::Last {
                                idle.notify_one();
                            }
                            return;
                        }
                        let last = idle.prepare_sleep(0, searching) == SearchEnd::Last;
                        // The re-check: a last searcher looks at the rings.
                        let found = last && ring.load(SeqCst) > 0;
                        if !found {
                            crate::park::park();
                        }
                        searching = idle.end_sleep(0) == Awake::AsSearcher;
                        if !searching && !found {
                            // Woken by something else (spurious): search
                            // again if allowed, as a worker would.
                            searching = idle.try_start_searching();
                        }
                    }
                })
            };
            ring.fetch_add(1, SeqCst);
            idle.notify_one();
            worker.join().unwrap();
            assert_eq!(ring.load(SeqCst), 0);
        });
    }

    loom::lazy_static! {
        /// The model's wake `eventfd`: a count, and a condition variable
        /// for the thread blocked in "`epoll_wait`" on it.
        static ref EVENTFD: (loom::sync::Mutex<u64>, loom::sync::Condvar) =
            (loom::sync::Mutex::new(0), loom::sync::Condvar::new());
    }

    /// `eventfd_write`: adds one and wakes the waiter (level-triggered).
    fn fake_eventfd_write(token: usize) {
        assert_eq!(token, 7, "the token the worker registered");
        let (count, cv) = &*EVENTFD;
        *count.lock().unwrap() += 1;
        cv.notify_all();
    }

    /// The worker's `epoll_wait` with no socket events: returns once
    /// the count is non-zero, and drains it.
    fn fake_epoll_wait() {
        let (count, cv) = &*EVENTFD;
        let mut c = count.lock().unwrap();
        while *c == 0 {
            c = cv.wait(c).unwrap();
        }
        *c = 0;
    }

    /// A worker whose sleeps alternate between `epoll_wait` (woken only by
    /// the `eventfd`) and its park token, and a thread pushing to its inbox
    /// twice: every push is taken (a wake-up routed to the wrong place
    /// would leave it blocked for good, which loom reports). Fails if
    /// `unpark` ignores `in_epoll`, or if `in_epoll` is set after
    /// `prepare_sleep`.
    #[test]
    fn loom_idle_epoll_wakeup() {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(2);
        b.check(|| {
            let idle = Arc::new(Idle::with_epoll_wake(1, fake_eventfd_write));
            let work = Arc::new(AtomicUsize::new(0));
            let worker = {
                let (idle, work) = (idle.clone(), work.clone());
                thread::spawn(move || {
                    idle.register_thread(0, crate::park::current());
                    let mut taken = 0;
                    let mut in_epoll = true;
                    while taken < 2 {
                        if work.load(SeqCst) > 0 {
                            work.fetch_sub(1, SeqCst);
                            taken += 1;
                            continue;
                        }
                        if in_epoll {
                            idle.set_in_epoll(0, Some(7));
                        }
                        let _ = idle.prepare_sleep(0, false);
                        if work.load(SeqCst) == 0 {
                            if in_epoll {
                                fake_epoll_wait();
                            } else {
                                crate::park::park();
                            }
                        }
                        let _ = idle.end_sleep(0);
                        if in_epoll {
                            idle.set_in_epoll(0, None);
                        }
                        in_epoll = !in_epoll;
                    }
                })
            };
            for _ in 0..2 {
                // A read-modify-write, as the real inbox push is.
                work.fetch_add(1, SeqCst);
                idle.notify_worker(0);
            }
            worker.join().unwrap();
        });
    }
}
