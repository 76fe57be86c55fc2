//! The select algorithm (crossbeam's `run_select`, Go's `selectgo` in
//! spirit): shuffle, try every arm, else register on every arm and park
//! until one is selected.
//!
//! 1. **Shuffle** the arms (Fisher-Yates with a per-thread xorshift), then
//!    try each in that order without waiting; the first that completes
//!    phase 1 wins. Among the arms ready at that moment each is thus chosen
//!    with equal probability (Go's fairness rule). A select with no time
//!    left (`try_select`, `default`, a zero or passed deadline) answers
//!    "nothing ready" only after a snapshot (below, "Nothing ready").
//! 2. Otherwise **register** `(operation id, waiter)` on every arm. If an
//!    arm reports itself ready while we register, abort (CAS the waiter to
//!    `Aborted`) and go back to 1. A counterpart may select one of our
//!    operations at any moment from the first registration on; the waiter
//!    CAS makes sure only one does.
//! 3. **Park** until selected, closed, or the earliest deadline (the
//!    select's own, or a clock arm's).
//! 4. **Unregister** every arm (a selected entry was already removed by its
//!    selector) and, if an operation was selected, *accept* it: phase 1
//!    completes on that arm (a rendezvous arm learns its packet). An accept
//!    may fail (a buffered arm's value was taken by someone else between
//!    the notify and our wake); then go back to 1.
//!
//! Phase 2 (moving the value) is left to the caller, through
//! [`SelectedOperation`](super::SelectedOperation), so a send arm's value is
//! only ever produced for the arm that was chosen.
//!
//! # Nothing ready: a snapshot, so the answer is linearizable
//!
//! A non-blocking select (and one whose deadline passed) must answer
//! "nothing ready" only if there was an instant, during the call, at which
//! no arm was ready (issue 10, item 0b; crossbeam's `linearizable_*`
//! tests). One pass over the arms does not prove that: it looks at them one
//! after the other, so a value sent on B (already looked at) before it is
//! taken from A (not yet looked at) is missed, although one of them held it
//! at every instant. Further passes only make that less likely: a mover
//! that goes back and forth between the arms beats any fixed number of
//! them (`tests/regress_nonblocking_select_misses_ready_value.rs` has one).
//! crossbeam's own answer for `Timeout::Now` is such a pass plus its
//! registration's `is_ready` checks plus one more pass; its registration
//! is aborted from the start, so it adds no ordering either.
//!
//! So the answer is a *double collect* (the classic atomic snapshot):
//! every arm's [`probe`](super::handle::SelectHandle::probe) returns "ready"
//! or "not ready in version `v`", where a version never decreases and
//! changes whenever the arm may have become ready (the flavours' `probe`s
//! say why theirs do: a ring's head and tail, a list's tail index, the count of
//! rendezvous counterparts ever registered, a timer's changes). A collect
//! looks at every arm; two consecutive collects that find every arm not
//! ready with the same versions prove that each arm was not ready during
//! the whole stretch between its two probes, and those stretches all
//! contain the instant between the end of the first collect and the start
//! of the second: at that instant no arm was ready, which is where "nothing
//! ready" takes effect. An arm found ready is claimed by a try pass (or,
//! for `ready`, reported); a collect whose versions changed is followed by
//! another.
//!
//! (Versions are `u64` counters that wrap only after 2^64 changes; that is
//! the only way two equal versions could hide a change.)
//!
//! Progress: the loop ends at the first collect that sees no change since
//! the one before. Each further round needs another thread to have changed
//! one of the arms during the round (claimed a slot, registered a waiter,
//! or taken the value a collect saw): lock-free, like a CAS loop, not
//! wait-free. It never waits for anyone, and inside a goroutine nothing
//! else of its worker runs during it.
//!
//! Cost: the pass that finds a ready arm (the fast path) is unchanged.
//! "Nothing ready" costs the first pass plus at least two collects, each
//! two loads per queue arm (a lock for rendezvous and clock arms), with no
//! fence: less than the two blind try passes it replaced, which fenced
//! per arm. Measured in release on the loaded 2-core machine (a loop of
//! 2 million `try_select`s over two empty `bounded(1)` arms, the two
//! builds interleaved, noisy): 41-128 ns per select with the snapshot,
//! 80-196 ns with the blind passes; 8 arms 131-470 ns against 236-652 ns.

use std::time::Instant;

use super::super::flavors::{Probe, Token};
use super::super::waiter::{Operation, Selected, Waiter};
use super::handle::SelectHandle;
use crate::shim;

/// How long a select may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timeout {
    /// Not at all (`try_select`, `default =>`).
    Now,
    /// Forever.
    Never,
    /// Until this instant.
    At(Instant),
}

/// One arm of a select.
#[derive(Clone, Copy)]
pub(crate) struct Arm<'a> {
    /// The `Sender` or `Receiver` the operation is on.
    pub(crate) handle: &'a dyn SelectHandle,
    /// The index the user knows the operation by.
    pub(crate) index: usize,
    /// The address of the handle's `Sender`/`Receiver`, to check that the
    /// completion uses the same one.
    pub(crate) ptr: *const u8,
}

#[cfg(not(loom))]
shim::thread_local! {
    /// This thread's shuffle state (xorshift64; never 0).
    static RNG: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
}

// Loom's `thread_local!` takes no `const` initialiser.
#[cfg(loom)]
shim::thread_local! {
    static RNG: core::cell::Cell<u64> = core::cell::Cell::new(0);
}

/// A source of random numbers: this thread's xorshift64 state, read once
/// per shuffle and written back after, and the unused bits of the last
/// number drawn.
struct Rng {
    state: u64,
    /// Unused random bits, in 16-bit chunks (low chunk first).
    bits: u64,
    /// Chunks left in `bits`.
    chunks: u32,
}

/// Bounds up to this are drawn from 16-bit chunks (four per xorshift step):
/// multiply-shift then favours some results by at most `n / 2^16` (0.1% at
/// this bound), far below what a fairness test can see; larger bounds use
/// 32 bits of a fresh number. A select of a few arms thereby draws one
/// xorshift number where a plain Fisher-Yates drew one per arm.
const SMALL_BOUND: usize = 64;

impl Rng {
    #[inline]
    fn take() -> Rng {
        let state = RNG.with(|rng| {
            let x = rng.get();
            if x != 0 {
                x
            } else {
                seed(rng)
            }
        });
        Rng {
            state,
            bits: 0,
            chunks: 0,
        }
    }

    #[inline]
    fn put_back(self) {
        RNG.with(|rng| rng.set(self.state));
    }

    #[inline]
    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// A random number below `n` (`n >= 1`).
    #[inline]
    fn below(&mut self, n: usize) -> usize {
        if n <= SMALL_BOUND {
            if self.chunks == 0 {
                self.bits = self.next();
                self.chunks = 4;
            }
            let r = (((self.bits & 0xFFFF) * n as u64) >> 16) as usize;
            self.bits >>= 16;
            self.chunks -= 1;
            return r;
        }
        // Multiply-shift: unbiased enough for n far below 2^32.
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

/// A thread's first shuffle state (never 0): from the address of its
/// thread-local cell and the clock, so that distinct threads and runs start
/// apart.
#[cfg(not(loom))]
fn seed(cell: &core::cell::Cell<u64>) -> u64 {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64);
    (cell as *const _ as u64) ^ clock | 1
}

/// Under loom, a fixed seed: every model thread starts from the same state
/// in every iteration. A seed from the cell's address (which differs from
/// one iteration to the next) or the clock would shuffle the arms
/// differently each time, so loom's replay of a path would take other
/// branches ("Is the model fully deterministic?"). Loom then checks one
/// arm order per thread and step, which is as much as it could check of
/// a random one.
#[cfg(loom)]
fn seed(_cell: &core::cell::Cell<u64>) -> u64 {
    0x9E37_79B9_7F4A_7C15
}

/// Looks at the items of `v` in a uniformly random order and returns the
/// first `Some` of `f`: a Fisher-Yates shuffle done lazily, where position
/// `k` receives a random one of the items not looked at yet just before it
/// is looked at. The items looked at are thereby a uniformly random
/// sequence, so the first that `f` accepts is uniform among those it would
/// accept (Go's rule for ready cases). It stops at the first find, so a
/// select whose first try succeeds swaps and draws once, not once per arm;
/// when nothing is found, `v` ends fully shuffled (a uniform permutation),
/// the order the later steps use.
#[inline]
fn shuffled_find<T, R>(v: &mut [T], mut f: impl FnMut(&T) -> Option<R>) -> Option<R> {
    let n = v.len();
    if n < 2 {
        return v.first().and_then(f);
    }
    let mut rng = Rng::take();
    let mut found = None;
    for k in 0..n {
        if k + 1 < n {
            let j = k + rng.below(n - k);
            v.swap(k, j);
        }
        if let Some(r) = f(&v[k]) {
            found = Some(r);
            break;
        }
    }
    rng.put_back();
    found
}

/// Sleeps until `timeout` with no arm at all (Go's empty `select {}`
/// blocks forever).
fn wait_without_arms(timeout: Timeout) {
    let _why = crate::park::wait_reason(crate::park::WaitReason::SelectNoCases);
    match timeout {
        Timeout::Now => {}
        Timeout::Never => loop {
            crate::park::park();
        },
        Timeout::At(when) => {
            while Instant::now() < when {
                crate::park::park_deadline(when);
            }
        }
    }
}

/// Runs a select over `arms`; `Some((token, arm))` of the arm whose phase 1
/// completed (a copy: the caller needs its handle, index and address, and
/// `arms` is shuffled), `None` on timeout.
/// With `biased`, the arms are tried in the order given (no shuffle).
pub(crate) fn run_select<'a>(
    arms: &mut [Arm<'a>],
    timeout: Timeout,
    biased: bool,
) -> Option<(Token, Arm<'a>)> {
    if arms.is_empty() {
        wait_without_arms(timeout);
        return None;
    }
    let mut token = Token::default();
    // Step 1, first pass: in a random order (unless biased), shuffling only
    // as far as it looks.
    let mut found = if biased {
        try_arms(arms, &mut token)
    } else {
        shuffled_find(arms, |arm| {
            arm.handle.try_select(&mut token).then_some(*arm)
        })
    };
    loop {
        if let Some(arm) = found {
            return Some((token, arm));
        }
        let deadline = match timeout {
            Timeout::Now => return last_try(arms, token),
            Timeout::Never => None,
            Timeout::At(when) => {
                if Instant::now() >= when {
                    return last_try(arms, token);
                }
                Some(when)
            }
        };
        let why = crate::park::wait_reason(crate::park::WaitReason::Select);
        let blocked = Waiter::with(|cx| block(arms, &mut token, cx, deadline));
        drop(why);
        match blocked {
            Blocked::Chosen(arm) => return Some((token, arm)),
            // Step 1 again, in the order the first pass shuffled.
            Blocked::Retry => found = try_arms(arms, &mut token),
            // The last tries, then give up.
            Blocked::TimedOut => return last_try(arms, token),
        }
    }
}

/// Step 1: tries every arm once, in the (shuffled) order; the first whose
/// phase 1 completed.
#[inline]
fn try_arms<'a>(arms: &[Arm<'a>], token: &mut Token) -> Option<Arm<'a>> {
    arms.iter()
        .find(|arm| arm.handle.try_select(token))
        .copied()
}

/// The answer of a select whose time is up (at once for `try_select`,
/// `default`, a zero time-out; after the deadline otherwise) once a pass
/// found nothing ready: an arm's phase 1, or "nothing ready" only when a
/// *snapshot* proves that at one instant no arm was ready (see the module
/// docs, "Nothing ready").
#[cold]
#[inline(never)]
fn last_try<'a>(arms: &[Arm<'a>], mut token: Token) -> Option<(Token, Arm<'a>)> {
    let mut last = None;
    loop {
        match collect(arms) {
            // Unchanged since the last collect: nothing was ready between.
            Ok(versions) if last == Some(versions) => return None,
            Ok(versions) => last = Some(versions),
            Err(_) => {
                // Ready now: claim it (or another that became ready), in
                // the shuffled order; if someone else was faster, start
                // the snapshot again.
                if let Some(arm) = try_arms(arms, &mut token) {
                    return Some((token, arm));
                }
                last = None;
            }
        }
    }
}

/// As [`last_try`], for `ready`: the index of an arm ready at some instant,
/// or `None` when a snapshot proves that none was at one instant.
#[cold]
#[inline(never)]
fn last_ready(arms: &[Arm<'_>]) -> Option<usize> {
    let mut last = None;
    loop {
        match collect(arms) {
            Ok(versions) if last == Some(versions) => return None,
            Ok(versions) => last = Some(versions),
            Err(i) => return Some(i),
        }
    }
}

/// One look at every arm, in the shuffled order: the sum of their versions
/// if none was ready (see [`Probe`]), else the index of the first that was.
///
/// A version never decreases, so two sums are equal only if every arm's
/// version is: the sum stands for the whole list, with no storage per arm.
/// (`u128`: a sum of up to 2^64 `u64`s cannot wrap.)
#[inline]
fn collect(arms: &[Arm<'_>]) -> Result<u128, usize> {
    let mut sum = 0u128;
    for arm in arms.iter() {
        match arm.handle.probe() {
            Probe::Ready => return Err(arm.index),
            Probe::NotReady(v) => sum += u128::from(v),
        }
    }
    Ok(sum)
}

/// How steps 2-4 ended.
enum Blocked<'a> {
    /// This arm's phase 1 completed.
    Chosen(Arm<'a>),
    /// Go back to step 1.
    Retry,
    /// The deadline (the select's, or a clock arm's) passed.
    TimedOut,
}

/// Steps 2-4 of the algorithm.
#[cold]
fn block<'a>(
    arms: &mut [Arm<'a>],
    token: &mut Token,
    cx: &Waiter,
    deadline: Option<Instant>,
) -> Blocked<'a> {
    let (sel, own_deadline) = register_and_park(arms, cx, deadline, Register::Selectors);
    match sel {
        Selected::Waiting => unreachable!("wait_until returned while waiting"),
        // Only the deadline makes `wait_until` return `Aborted`.
        Selected::Aborted if own_deadline => Blocked::TimedOut,
        // Retry: a closed arm completes phase 1 at once (closed token).
        Selected::Aborted | Selected::Closed => Blocked::Retry,
        Selected::Operation(_) => {
            let arm =
                chosen(arms, sel).expect("a select was woken for an operation it does not have");
            if arm.handle.accept(token, cx) {
                Blocked::Chosen(*arm)
            } else {
                Blocked::Retry
            }
        }
    }
}

/// How [`register_and_park`] registers the arms: as selectors that a
/// counterpart completes (`select`), or as observers that only hear "maybe
/// ready" (`ready`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Register {
    Selectors,
    Observers,
}

/// Steps 2 and 3, for `select` and `ready` alike: registers `cx` on every
/// arm, parks until selected or the earliest deadline (`deadline`, or a
/// clock arm's), and unregisters what it registered. Returns the selection
/// and whether `deadline` itself (not a clock arm's) was the one waited
/// for.
///
/// An arm that reports itself ready while we register ends the
/// registration: a select aborts (and tries again), a `ready` selects that
/// arm itself — unless a counterpart selected us first, whose selection
/// then stands.
fn register_and_park(
    arms: &mut [Arm<'_>],
    cx: &Waiter,
    deadline: Option<Instant>,
    how: Register,
) -> (Selected, bool) {
    let mut sel = Selected::Waiting;
    let mut registered = 0;
    let mut own_deadline = false;
    for arm in arms.iter_mut() {
        registered += 1;
        let oper = Operation::hook(arm);
        let ready = match how {
            Register::Selectors => arm.handle.register(oper, cx),
            Register::Observers => arm.handle.watch(oper, cx),
        };
        if ready {
            let mine = match how {
                Register::Selectors => Selected::Aborted,
                Register::Observers => Selected::Operation(oper),
            };
            sel = match cx.try_select(mine) {
                Ok(()) => mine,
                Err(s) => s,
            };
            break;
        }
        sel = cx.selected();
        if sel != Selected::Waiting {
            break;
        }
    }
    if sel == Selected::Waiting {
        let wake = arms
            .iter()
            .filter_map(|arm| arm.handle.deadline())
            .fold(deadline, |wake, x| Some(wake.map_or(x, |y| x.min(y))));
        sel = cx.wait_until(wake);
        // The select's own deadline (not a clock arm's) is what passed.
        own_deadline = wake == deadline;
    }
    for arm in arms.iter_mut().take(registered) {
        let oper = Operation::hook(arm);
        match how {
            Register::Selectors => arm.handle.unregister(oper),
            Register::Observers => arm.handle.unwatch(oper),
        }
    }
    (sel, own_deadline)
}

/// The arm whose operation `sel` selected, if any.
fn chosen<'b, 'a>(arms: &'b mut [Arm<'a>], sel: Selected) -> Option<&'b mut Arm<'a>> {
    let i = arms
        .iter_mut()
        .position(|arm| sel == Selected::Operation(Operation::hook(arm)))?;
    Some(&mut arms[i])
}

/// The index of the first arm (in the shuffled order) that is ready.
#[inline]
fn ready_arm(arms: &[Arm<'_>]) -> Option<usize> {
    arms.iter()
        .find_map(|arm| arm.handle.is_ready().then_some(arm.index))
}

/// Waits until some arm is ready (without completing it); its index, or
/// `None` on timeout.
/// With `biased`, the arms are tried in the order given (no shuffle).
pub(crate) fn run_ready(arms: &mut [Arm<'_>], timeout: Timeout, biased: bool) -> Option<usize> {
    if arms.is_empty() {
        wait_without_arms(timeout);
        return None;
    }
    let mut found = if biased {
        ready_arm(arms)
    } else {
        shuffled_find(arms, |arm| arm.handle.is_ready().then_some(arm.index))
    };
    loop {
        if let Some(i) = found {
            return Some(i);
        }
        let deadline = match timeout {
            // As `last_try`: look at every arm again before answering
            // "nothing ready".
            Timeout::Now => return last_ready(arms),
            Timeout::Never => None,
            Timeout::At(when) => {
                if Instant::now() >= when {
                    return last_ready(arms);
                }
                Some(when)
            }
        };
        let _why = crate::park::wait_reason(crate::park::WaitReason::Select);
        let res = Waiter::with(|cx| {
            let (sel, _) = register_and_park(arms, cx, deadline, Register::Observers);
            chosen(arms, sel).map(|arm| arm.index)
        });
        if let Some(i) = res {
            // Observers learn "maybe ready": confirm before answering.
            if arms.iter().any(|a| a.index == i && a.handle.is_ready()) {
                return Some(i);
            }
        }
        found = ready_arm(arms);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn random_below_covers_the_range_evenly() {
        let mut counts = [0u32; 5];
        let mut rng = Rng::take();
        for _ in 0..50_000 {
            counts[rng.below(5)] += 1;
        }
        rng.put_back();
        for c in counts {
            assert!((8_000..12_000).contains(&c), "{counts:?}");
        }
        // Past SMALL_BOUND: 32 bits of a fresh number.
        let mut counts = [0u32; 4];
        let mut rng = Rng::take();
        for _ in 0..40_000 {
            counts[rng.below(1000) / 250] += 1;
        }
        rng.put_back();
        for c in counts {
            assert!((8_000..12_000).contains(&c), "{counts:?}");
        }
    }

    /// The lazy shuffle's find is uniform among the accepted items, whatever
    /// their positions, and a search that finds nothing leaves every
    /// permutation about equally likely.
    #[test]
    fn shuffled_find_is_uniform() {
        // Items 1, 3 and 4 of 6 accepted: each found about a third of the time.
        let mut counts = [0u32; 6];
        let mut v = [0usize, 1, 2, 3, 4, 5];
        for _ in 0..30_000 {
            let got = shuffled_find(&mut v, |&x| [1, 3, 4].contains(&x).then_some(x)).unwrap();
            counts[got] += 1;
        }
        assert_eq!(counts[0] + counts[2] + counts[5], 0, "{counts:?}");
        for i in [1, 3, 4] {
            assert!((8_500..11_500).contains(&counts[i]), "{counts:?}");
        }
        // Nothing accepted: all 24 orders of 4 items, each about 1/24.
        let mut perms = std::collections::HashMap::new();
        for _ in 0..48_000 {
            let mut v = [0u8, 1, 2, 3];
            assert_eq!(shuffled_find(&mut v, |_| None::<()>), None);
            *perms.entry(v).or_insert(0u32) += 1;
        }
        assert_eq!(perms.len(), 24, "{perms:?}");
        for (p, c) in &perms {
            assert!((1_500..2_500).contains(c), "{p:?}: {c} of 48000");
        }
    }
}
