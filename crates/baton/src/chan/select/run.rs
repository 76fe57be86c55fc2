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

shim::thread_local! {
    /// This thread's shuffle state (xorshift64; never 0).
    static RNG: core::cell::Cell<u64> = core::cell::Cell::new(0);
}

/// A source of random numbers: this thread's xorshift64 state, read once
/// per shuffle and written back after.
struct Rng(u64);

impl Rng {
    fn take() -> Rng {
        RNG.with(|rng| {
            let x = rng.get();
            if x != 0 {
                return Rng(x);
            }
            Rng(seed(rng))
        })
    }

    fn put_back(self) {
        RNG.with(|rng| rng.set(self.0));
    }

    /// A random number below `n` (`n >= 1`).
    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        // Multiply-shift: unbiased enough for n far below 2^32.
        (((x >> 32) * n as u64) >> 32) as usize
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

/// Fisher-Yates shuffle of the arms.
fn shuffle<T>(v: &mut [T]) {
    if v.len() < 2 {
        return;
    }
    let mut rng = Rng::take();
    for i in (1..v.len()).rev() {
        v.swap(i, rng.below(i + 1));
    }
    rng.put_back();
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

/// Runs a select over `arms`; `Some((token, index, ptr))` of the arm whose
/// phase 1 completed, `None` on timeout.
/// With `biased`, the arms are tried in the order given (no shuffle).
pub(crate) fn run_select(
    arms: &mut [Arm<'_>],
    timeout: Timeout,
    biased: bool,
) -> Option<(Token, usize, *const u8)> {
    if arms.is_empty() {
        wait_without_arms(timeout);
        return None;
    }
    if !biased {
        shuffle(arms);
    }
    let mut token = Token::default();
    loop {
        if let Some((i, ptr)) = try_arms(arms, &mut token) {
            return Some((token, i, ptr));
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
            Blocked::Chosen(i, ptr) => return Some((token, i, ptr)),
            Blocked::Retry => {}
            // The last tries, then give up.
            Blocked::TimedOut => return last_try(arms, token),
        }
    }
}

/// Step 1: tries every arm once, in the (shuffled) order; the index and
/// handle address of the first whose phase 1 completed.
#[inline]
fn try_arms(arms: &[Arm<'_>], token: &mut Token) -> Option<(usize, *const u8)> {
    for arm in arms.iter() {
        if arm.handle.try_select(token) {
            return Some((arm.index, arm.ptr));
        }
    }
    None
}

/// The answer of a select whose time is up (at once for `try_select`,
/// `default`, a zero time-out; after the deadline otherwise) once a pass
/// found nothing ready: an arm's phase 1, or "nothing ready" only when a
/// *snapshot* proves that at one instant no arm was ready (see the module
/// docs, "Nothing ready").
#[cold]
#[inline(never)]
fn last_try(arms: &[Arm<'_>], mut token: Token) -> Option<(Token, usize, *const u8)> {
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
                if let Some((i, ptr)) = try_arms(arms, &mut token) {
                    return Some((token, i, ptr));
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
enum Blocked {
    /// This arm's phase 1 completed.
    Chosen(usize, *const u8),
    /// Go back to step 1.
    Retry,
    /// The deadline (the select's, or a clock arm's) passed.
    TimedOut,
}

/// Steps 2-4 of the algorithm.
#[cold]
fn block(
    arms: &mut [Arm<'_>],
    token: &mut Token,
    cx: &Waiter,
    deadline: Option<Instant>,
) -> Blocked {
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
                Blocked::Chosen(arm.index, arm.ptr)
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
    if !biased {
        shuffle(arms);
    }
    loop {
        if let Some(i) = ready_arm(arms) {
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
    }
}
