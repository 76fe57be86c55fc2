//! [`dump`]: one line per goroutine of a runtime — id, state or wait
//! reason, age, spawn site, worker — like Go's goroutine dump.
//!
//! ## How it is collected: the workers answer
//!
//! A started goroutine's bookkeeping lives in its home worker's slab, which
//! only that worker touches (see `worker`). So the asker does not read it:
//! it posts a request to every worker's
//! [`DumpInbox`](crate::runtime::sched::dump_inbox::DumpInbox), wakes the sleeping
//! ones, and parks; each worker answers at its next scheduling point with a
//! line per goroutine it owns (and a count of its unstarted ones), and the
//! last to answer wakes the asker. The asker then adds the unstarted
//! goroutines of the global queue and sorts the lines by goroutine id.
//!
//! This costs the scheduler one `Relaxed` load per round and nothing at
//! spawn or exit (a shared registry of goroutines would cost a lock or two
//! atomic operations on every spawn and every exit). The price: a worker stuck
//! in a goroutine that never parks cannot answer. After [`ANSWER_TIMEOUT`]
//! the dump says so, naming the goroutine it is running (from the worker's
//! `running` field).
//!
//! A goroutine may ask for a dump of its own runtime: it parks like any
//! waiter (its worker answers meanwhile) and is shown as `running`.
//!
//! ## Orderings
//!
//! The asker pushes its request under the inbox's mutex, stores `pending`,
//! and calls `idle.notify_worker`, whose `SeqCst` fence pairs with the one a
//! worker issues before its last re-check before sleeping (the re-check
//! reads `pending`): a worker either sees the request or is woken (see
//! `idle`). Workers read `pending` with `Relaxed` in their loop: the mutex
//! publishes the request itself. The last answer's `remaining` decrement is
//! `AcqRel` and the asker's load `Acquire`, so every worker's lines are
//! visible to the asker when it sees zero.

use core::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::park::{self, WaitReason};
use crate::runtime::sched::current;
use crate::runtime::sched::dump_inbox::DumpRequest;
use crate::runtime::sched::goroutine::{coarse_now_ns, Header};
use crate::runtime::sched::shared::Shared;
use crate::shim::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use crate::shim::{lock, Arc, Mutex};

/// How long the asker waits for the workers' answers.
pub(crate) const ANSWER_TIMEOUT: Duration = Duration::from_secs(1);

/// One goroutine's line.
pub(crate) fn line(h: &Header, req: &DumpRequest, worker: usize) -> String {
    let id = h.id.as_u64();
    let state = if id == req.asker_id {
        "running".to_owned()
    } else if h.park.is_parked() {
        // Relaxed: written by the goroutine on this same thread.
        WaitReason::from_u8(h.wait_reason.load(Relaxed)).to_string()
    } else {
        "runnable".to_owned()
    };
    format!(
        "goroutine {id} [{state}, {}]: spawned at {}, worker {worker}",
        age(h.age_ns(req.now_ns)),
        h.spawned_at
    )
}

/// An age as a dump shows it: `<1ms`, `12ms`, `3.4s`, `2m05s`.
fn age(ns: u64) -> String {
    let ms = ns / 1_000_000;
    match ms {
        0 => "<1ms".to_owned(),
        1..=999 => format!("{ms}ms"),
        1_000..=59_999 => format!("{:.1}s", ms as f64 / 1000.0),
        _ => format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60),
    }
}

/// A dump of the calling goroutine's runtime, or of the global runtime from
/// a plain thread: a header line, then one line per goroutine, by id:
///
/// ```text
/// runtime `baton`: 2 workers (1 idle), 3 goroutines
/// goroutine 1 [running, 2ms]: spawned at src/main.rs:4:5, worker 0
/// goroutine 2 [mutex, 1ms]: spawned at src/main.rs:6:9, worker 1
/// goroutine 3 [runnable, not started, <1ms]: spawned at src/main.rs:7:9, in the global queue
/// ```
///
/// A goroutine's state is `running`, `runnable`, or the reason it waits:
/// `mutex`, `cond wait`, `waitgroup wait`, `once`, `join`, `scope`, `sleep`,
/// `blocking`, `chan send`, `chan receive`, `select`, or `parked` for a
/// wait the runtime has no name for. Ages count from the spawn. A worker
/// busy in a goroutine that does not park or yield for a second is listed
/// as not answering, with the goroutine it runs.
///
/// ```
/// use std::time::Duration;
///
/// let rt = baton::runtime::Builder::new().workers(1).build();
/// let text = rt.run(|| {
///     let sleeper = baton::go(|| baton::time::sleep(Duration::from_millis(200)));
///     baton::time::sleep(Duration::from_millis(20)); // let it start
///     let text = baton::runtime::dump();
///     sleeper.join().unwrap();
///     text
/// });
/// assert!(text.contains("[running"), "{text}"); // the caller
/// assert!(text.contains("[sleep"), "{text}");
/// ```
pub fn dump() -> String {
    dump_of(&crate::runtime::spawn::current_shared())
}

/// A dump of `shared`'s goroutines (see [`dump`]).
pub(crate) fn dump_of(shared: &Arc<Shared>) -> String {
    let asker_id = current::with_goroutine(|g| {
        g.filter(|g| core::ptr::eq(&*g.rt, &**shared))
            .map_or(0, |g| g.id.as_u64())
    });
    let n = shared.workers.len();
    let req = Arc::new(DumpRequest {
        lines: Mutex::new(Vec::new()),
        remaining: AtomicUsize::new(n),
        answered: (0..n).map(|_| AtomicBool::new(false)).collect(),
        asker: park::current(),
        asker_id,
        now_ns: coarse_now_ns(),
        line,
    });
    for (i, w) in shared.workers.iter().enumerate() {
        if w.dumps.push(req.clone()) {
            shared.idle.notify_worker(i);
        } else {
            // Exited: it holds no goroutines any more.
            req.answer(i, Vec::new());
        }
    }
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    {
        let _reason = park::wait_reason(WaitReason::Dump);
        // Acquire: see the module docs.
        while req.remaining.load(Acquire) > 0 {
            if park::park_deadline(deadline) && req.remaining.load(Acquire) > 0 {
                break;
            }
        }
    }
    format(shared, &req)
}

fn format(shared: &Shared, req: &DumpRequest) -> String {
    let mut lines = core::mem::take(&mut *lock(&req.lines));
    shared.injector.for_each(|h| {
        lines.push((
            h.id.as_u64(),
            format!(
                "goroutine {} [runnable, not started, {}]: spawned at {}, in the global queue",
                h.id.as_u64(),
                age(h.age_ns(req.now_ns)),
                h.spawned_at
            ),
        ));
    });
    lines.sort_by_key(|(id, _)| *id);
    let s = shared.stats();
    let mut out = format!(
        "runtime `{}`: {} workers ({} idle), {} goroutines\n",
        shared.config.name, s.workers, s.idle_workers, s.live_goroutines
    );
    for (_, l) in &lines {
        out.push_str(l);
        out.push('\n');
    }
    for (i, w) in shared.workers.iter().enumerate() {
        if !req.answered[i].load(Relaxed) {
            let running = w.running.load(Relaxed);
            let _ = write!(
                out,
                "worker {i} did not answer within {:?}: ",
                ANSWER_TIMEOUT
            );
            let _ = if running != 0 {
                writeln!(
                    out,
                    "busy running goroutine {running}, which has not parked or yielded"
                )
            } else {
                writeln!(out, "busy")
            };
        }
    }
    out
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::runtime::tests::within;
    use crate::runtime::{blocking, go, Builder};
    use crate::sync::{Mutex as BMutex, WaitGroup};
    use std::sync::Arc as StdArc;

    #[test]
    fn ages_read_well() {
        assert_eq!(age(10), "<1ms");
        assert_eq!(age(12_000_000), "12ms");
        assert_eq!(age(3_456_000_000), "3.5s");
        assert_eq!(age(125_000_000_000), "2m05s");
    }

    /// Goroutines waiting on each kind of primitive show its reason.
    #[test]
    fn names_each_wait() {
        within(60, "dump names each wait", || {
            let rt = Builder::new().workers(2).name("dumpy").build();
            let text = rt.run(|| {
                let m = StdArc::new(BMutex::new(()));
                let guard = m.lock();
                let wg = StdArc::new(WaitGroup::new());
                wg.add(1);
                let locker = {
                    let m = m.clone();
                    go(move || drop(m.lock()))
                };
                let waiter = {
                    let wg = wg.clone();
                    go(move || wg.wait())
                };
                let release = StdArc::new(AtomicBool::new(false));
                let sleeper = {
                    let release = release.clone();
                    go(move || {
                        while !release.load(Relaxed) {
                            crate::time::sleep(Duration::from_millis(2));
                        }
                    })
                };
                let (tx, rx) = std::sync::mpsc::channel::<()>();
                let blocker = go(move || blocking(move || rx.recv().unwrap()));
                let joiner = {
                    let wg = wg.clone();
                    go(move || {
                        go(move || wg.wait()).join().unwrap();
                    })
                };
                // Until they have all reached their waits (a loaded machine
                // may take a while).
                let reasons = [
                    "[running",
                    "[mutex",
                    "[waitgroup wait",
                    "[sleep",
                    "[blocking",
                    "[join",
                ];
                let start = Instant::now();
                let text = loop {
                    let text = dump();
                    if reasons.iter().all(|r| text.contains(r))
                        || start.elapsed() > Duration::from_secs(30)
                    {
                        break text;
                    }
                    crate::time::sleep(Duration::from_millis(10));
                };
                release.store(true, Relaxed);
                tx.send(()).unwrap();
                drop(guard);
                wg.done();
                for h in [locker, waiter, sleeper, blocker, joiner] {
                    h.join().unwrap();
                }
                text
            });
            assert!(text.starts_with("runtime `dumpy`: 2 workers"), "{text}");
            for reason in [
                "[running",
                "[mutex",
                "[waitgroup wait",
                "[sleep",
                "[blocking",
                "[join",
            ] {
                assert!(text.contains(reason), "no {reason} in:\n{text}");
            }
            assert!(
                text.contains("spawned at crates/baton/src/runtime/diag/dump.rs:"),
                "{text}"
            );
            // Sorted by id, one line per goroutine after the header.
            let ids: Vec<u64> = text
                .lines()
                .skip(1)
                .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
                .collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "{text}");
            assert_eq!(ids.len(), 7, "{text}"); // main, five, and the joined one
        });
    }

    /// From a plain thread, every goroutine is listed and none as running.
    #[test]
    fn from_a_plain_thread() {
        within(60, "dump from a plain thread", || {
            let rt = Builder::new().workers(1).build();
            let wg = StdArc::new(WaitGroup::new());
            wg.add(1);
            let h = {
                let wg = wg.clone();
                rt.go(move || wg.wait())
            };
            // Wait until it parked.
            while !rt.dump().contains("[waitgroup wait") {
                std::thread::sleep(Duration::from_millis(5));
            }
            let text = rt.dump();
            assert!(!text.contains("[running"), "{text}");
            wg.done();
            h.join().unwrap();
            let text = rt.dump();
            assert!(text.contains("0 goroutines"), "{text}");
        });
    }

    /// A worker stuck in a goroutine that never parks is reported, not
    /// waited for forever.
    #[test]
    fn a_busy_worker_is_named() {
        within(60, "dump with a busy worker", || {
            let rt = Builder::new().workers(1).build();
            let stop = StdArc::new(AtomicBool::new(false));
            let h = {
                let stop = stop.clone();
                rt.go(move || {
                    while !stop.load(Relaxed) {
                        core::hint::spin_loop();
                    }
                })
            };
            let id = h.id().as_u64();
            while rt.stats().switches == 0 {
                std::thread::yield_now();
            }
            let text = rt.dump();
            stop.store(true, Relaxed);
            h.join().unwrap();
            assert!(
                text.contains(&format!(
                    "worker 0 did not answer within 1s: busy running goroutine {id}"
                )),
                "{text}"
            );
        });
    }
}
