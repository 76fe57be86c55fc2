//! The scenarios and the parent/child driver of `runtime_deadlock.rs`.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::chan::{never, rendezvous, unbounded};
use baton::runtime::{blocking, Builder, OnDeadlock, RunError};
use baton::select;
use baton::sync::{Cond, Mutex, WaitGroup};

const CHILD: &str = "BATON_DEADLOCK_SCENARIO";
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

/// What a scenario's `try_run` should end with.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// `Err(RunError::Deadlock)`, whose report contains these strings.
    Deadlock(&'static [&'static str]),
    /// `Ok`: no deadlock reported.
    Finishes,
    /// The process aborts with the report on stderr.
    Aborts,
    /// `Err(RunError::Panicked)`: the main goroutine panicked with a
    /// message containing these strings (a self-deadlock that debug builds
    /// detect before it hangs).
    Panics(&'static [&'static str]),
}

struct Scenario {
    name: &'static str,
    expect: Expect,
    run: fn() -> Result<u64, RunError>,
}

fn rt(workers: usize) -> baton::runtime::Runtime {
    Builder::new().workers(workers).name("dl").build()
}

/// The main goroutine locks a mutex it holds: in release builds the
/// detector reports it as waiting in `mutex`; debug builds panic first,
/// naming the mistake (issue 10, item 4).
fn mutex_twice() -> Result<u64, RunError> {
    rt(2).try_run(|| {
        let m = Mutex::new(());
        let _a = m.lock();
        let _b = m.lock();
        0
    })
}

/// Ten goroutines wait on a WaitGroup nobody counts down; main joins them.
fn waitgroup_nobody() -> Result<u64, RunError> {
    rt(2).try_run(|| {
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        let hs: Vec<_> = (0..10)
            .map(|_| {
                let wg = wg.clone();
                baton::go(move || wg.wait())
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        0
    })
}

/// A Cond nobody signals.
fn cond_nobody() -> Result<u64, RunError> {
    rt(1).try_run(|| {
        let m = Mutex::new(false);
        let c = Cond::new();
        let mut g = m.lock();
        while !*g {
            g = c.wait(g);
        }
        0
    })
}

/// Busy first (a long ping-pong across workers, a timer that fires, a
/// blocking call that returns), then a deadlock: detected once everything
/// has settled.
fn deadlock_after_activity() -> Result<u64, RunError> {
    rt(2).try_run(|| {
        pingpong(5_000);
        baton::time::sleep(Duration::from_millis(20));
        blocking(|| std::thread::sleep(Duration::from_millis(20)));
        let wg = WaitGroup::new();
        wg.add(1);
        wg.wait();
        0
    })
}

/// A `blocking` job's last act wakes the goroutine that waits for it; only
/// then does its pool thread list itself idle. Here that goroutine returns
/// at once, on a worker with nothing else to run (so it sleeps without
/// spinning), while the main goroutine waits for good on the other worker:
/// the last worker's deadlock check races the pool thread's listing. The
/// report must come either way (the pool thread checks again once idle;
/// see `runtime::blocking`). Before that re-check, a check that lost the
/// race was never repeated and the run hung: the pool thread is rarely
/// that slow, so this repeats the race a few hundred times (with the idle
/// workers' spin shortened, `deadlock_after_activity` hung in 3 of 6 runs
/// without the re-check, none of 10 with it).
fn deadlock_right_after_blocking_jobs() -> Result<u64, RunError> {
    let mut last = Ok(0);
    for _ in 0..300 {
        last = rt(2).try_run(|| {
            let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = started.clone();
            // Started on the other worker: this one stays busy until then.
            let _job = baton::go(move || {
                flag.store(true, std::sync::atomic::Ordering::Release);
                // Long enough for both workers to fall asleep first.
                blocking(|| std::thread::sleep(Duration::from_millis(1)));
            });
            while !started.load(std::sync::atomic::Ordering::Acquire) {
                std::hint::spin_loop();
            }
            let wg = WaitGroup::new();
            wg.add(1);
            wg.wait();
            0
        });
        if !matches!(last, Err(RunError::Deadlock(_))) {
            break;
        }
    }
    last
}

fn aborts() -> Result<u64, RunError> {
    Builder::new()
        .workers(2)
        .on_deadlock(OnDeadlock::Abort)
        .build()
        .try_run(|| {
            let wg = WaitGroup::new();
            wg.add(1);
            wg.wait();
            0
        })
}

/// An outside thread counts the WaitGroup down later: not a deadlock,
/// although every goroutine is parked meanwhile.
fn outside_thread_wakes() -> Result<u64, RunError> {
    let wg = Arc::new(WaitGroup::new());
    wg.add(1);
    let t = {
        let wg = wg.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            wg.done();
        })
    };
    let r = rt(2).try_run(move || {
        wg.wait();
        1
    });
    t.join().unwrap();
    r
}

/// A goroutine sleeping (a timer) will count it down: not a deadlock.
fn timer_wakes() -> Result<u64, RunError> {
    rt(2).try_run(|| {
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        let w = wg.clone();
        baton::go(move || {
            baton::time::sleep(Duration::from_millis(300));
            w.done();
        });
        wg.wait();
        2
    })
}

/// A goroutine in `blocking` will count it down: not a deadlock.
fn blocking_wakes() -> Result<u64, RunError> {
    rt(1).try_run(|| {
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        let w = wg.clone();
        baton::go(move || {
            blocking(|| std::thread::sleep(Duration::from_millis(300)));
            w.done();
        });
        wg.wait();
        3
    })
}

/// Heavy parking and waking, then a clean end: no false alarm.
fn busy_then_done() -> Result<u64, RunError> {
    rt(2).try_run(|| pingpong(20_000))
}

/// Main returns while other goroutines stay parked forever: `run` returns
/// main's value (Go's program would exit), no deadlock.
fn main_returns_leaving_parked() -> Result<u64, RunError> {
    let rt = rt(2);
    let r = rt.try_run(|| {
        let wg = Arc::new(WaitGroup::new());
        wg.add(1);
        for _ in 0..3 {
            let wg = wg.clone();
            baton::go(move || wg.wait());
        }
        baton::time::sleep(Duration::from_millis(20));
        4
    });
    // Leak the runtime: dropping it would report the parked goroutines.
    std::mem::forget(rt);
    r
}

/// `Ignore`: a finishing program behaves as usual.
fn ignore_finishes() -> Result<u64, RunError> {
    Builder::new()
        .workers(1)
        .on_deadlock(OnDeadlock::Ignore)
        .build()
        .try_run(|| 5)
}

// Channels and select: Go's `test/chan` deadlocks and the
// `runtime/testdata/testprog/deadlock.go` programs that apply (Go's
// `TestSimpleDeadlock` is `select {}` in main; `TestInitDeadlock`,
// `TestLockedDeadlock*` and `TestGoexitDeadlock` need package init,
// `LockOSThread` or `Goexit`, which baton does not have).

/// Go's `SimpleDeadlock`: `select {}` in main.
fn select_no_cases() -> Result<u64, RunError> {
    rt(2).try_run(|| {
        select! {}
    })
}

/// Main receives from an unbuffered channel whose sender it holds itself.
fn chan_receive_nobody() -> Result<u64, RunError> {
    rt(1).try_run(|| {
        let (tx, rx) = rendezvous::<u64>();
        let v = rx.recv().unwrap();
        drop(tx);
        v
    })
}

/// Main sends on an unbuffered channel nobody receives from.
fn chan_send_nobody() -> Result<u64, RunError> {
    rt(2).try_run(|| {
        let (tx, rx) = rendezvous::<u64>();
        tx.send(1).unwrap();
        drop(rx);
        0
    })
}

/// A receive from a channel that never delivers (Go's nil channel).
fn chan_receive_nil() -> Result<u64, RunError> {
    rt(1).try_run(|| never::<u64>().recv().unwrap_or(0))
}

/// A select over two channels nobody will use.
fn select_nobody() -> Result<u64, RunError> {
    rt(2).try_run(|| {
        let (_t1, r1) = rendezvous::<u64>();
        let (t2, _r2) = rendezvous::<u64>();
        select! {
            recv(r1) -> v => v.unwrap(),
            send(t2, 1) -> _ => 0,
        }
    })
}

/// A pipeline of ten goroutines, each passing on what the next one sends
/// it; the last stage waits for a value nobody sends (it holds its own
/// sender, as a forgotten producer would).
fn chan_chain() -> Result<u64, RunError> {
    rt(2).try_run(|| {
        let (tail_tx, mut rx) = rendezvous::<u64>();
        for _ in 0..10 {
            let (tx, stage_rx) = rendezvous::<u64>();
            let upstream = std::mem::replace(&mut rx, stage_rx);
            baton::go(move || {
                if let Ok(v) = upstream.recv() {
                    let _ = tx.send(v + 1);
                }
            });
        }
        let v = rx.recv().unwrap_or(0);
        drop(tail_tx);
        v
    })
}

/// A channel receive that a clock channel (`time::after`) ends: not a
/// deadlock, although every goroutine is parked meanwhile.
fn chan_fed_by_timer() -> Result<u64, RunError> {
    rt(1).try_run(|| {
        let (tx, rx) = unbounded::<u64>();
        baton::go(move || {
            baton::time::after(Duration::from_millis(300))
                .recv()
                .unwrap();
            tx.send(6).unwrap();
        });
        rx.recv().unwrap()
    })
}

/// A channel an outside OS thread sends on later: not a deadlock.
fn chan_fed_by_outside_thread() -> Result<u64, RunError> {
    let (tx, rx) = rendezvous::<u64>();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        tx.send(7).unwrap();
    });
    let r = rt(2).try_run(move || rx.recv().unwrap());
    t.join().unwrap();
    r
}

/// A channel a goroutine in `blocking` will send on: not a deadlock.
fn chan_fed_by_blocking() -> Result<u64, RunError> {
    rt(1).try_run(|| {
        let (tx, rx) = rendezvous::<u64>();
        baton::go(move || {
            let v = blocking(|| {
                std::thread::sleep(Duration::from_millis(300));
                8
            });
            tx.send(v).unwrap();
        });
        rx.recv().unwrap()
    })
}

/// A select whose only ready arm is its timeout: not a deadlock.
fn select_with_timeout() -> Result<u64, RunError> {
    rt(2).try_run(|| {
        let (_tx, rx) = rendezvous::<u64>();
        select! {
            recv(rx) -> v => v.unwrap(),
            default(Duration::from_millis(300)) => 9,
        }
    })
}

/// Sockets and deadlock detection (issue 13): the network poller's
/// fallback thread, started with the first socket, used to turn detection
/// off for the rest of the process. A TCP exchange whose sockets are all
/// closed afterwards, then a deadlock on a channel: reported.
fn socket_closed_then_deadlock() -> Result<u64, RunError> {
    use std::io::{Read, Write};
    rt(2).try_run(|| {
        let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = baton::go(move || {
            let (mut c, _) = l.accept().unwrap();
            let mut b = [0u8; 1];
            c.read_exact(&mut b).unwrap();
            c.write_all(&b).unwrap();
        });
        let mut c = baton::net::TcpStream::connect(addr).unwrap();
        c.write_all(b"x").unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).unwrap();
        server.join().unwrap();
        drop(c);
        let (tx, rx) = rendezvous::<u64>();
        let v = rx.recv().unwrap();
        drop(tx);
        v
    })
}

/// A socket stays open but no goroutine waits on it: a deadlock on a
/// channel is still reported.
fn socket_open_unused_then_deadlock() -> Result<u64, RunError> {
    rt(1).try_run(|| {
        let _l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let wg = WaitGroup::new();
        wg.add(1);
        wg.wait();
        0
    })
}

/// The only goroutine is parked in `read` on a live socket whose peer is
/// another process (no thread of ours will wake it; the fallback thread
/// exists): not a deadlock. The peer writes after 300 ms and exits.
fn socket_read_not_deadlock() -> Result<u64, RunError> {
    use std::io::Read;
    use std::process::Command;
    let (mine, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut peer = Command::new("/bin/sh")
        .args(["-c", "sleep 0.3; printf hi"])
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .spawn()
        .unwrap();
    let mut mine = baton::net::UnixStream::try_from(mine).unwrap();
    let r = rt(2).try_run(move || {
        let mut got = Vec::new();
        mine.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"hi");
        10
    });
    peer.wait().unwrap();
    r
}

/// Two goroutines hit a ball `n` times each through a Mutex and a Cond.
fn pingpong(n: u64) -> u64 {
    let state = Arc::new((Mutex::new(0u64), Cond::new()));
    let other = {
        let state = state.clone();
        baton::go(move || hit(&state, 1, n))
    };
    hit(&state, 0, n);
    other.join().unwrap();
    let hits = *state.0.lock();
    hits
}

fn hit(state: &(Mutex<u64>, Cond), me: u64, n: u64) {
    for _ in 0..n {
        let mut g = state.0.lock();
        while *g % 2 != me {
            g = state.1.wait(g);
        }
        *g += 1;
        drop(g);
        state.1.broadcast();
    }
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "mutex_twice",
        expect: if cfg!(debug_assertions) {
            Expect::Panics(&["baton::sync::Mutex locked twice"])
        } else {
            Expect::Deadlock(&["[mutex", "runtime `dl`"])
        },
        run: mutex_twice,
    },
    Scenario {
        name: "waitgroup_nobody",
        expect: Expect::Deadlock(&["[join", "[waitgroup wait"]),
        run: waitgroup_nobody,
    },
    Scenario {
        name: "cond_nobody",
        expect: Expect::Deadlock(&["[cond wait"]),
        run: cond_nobody,
    },
    Scenario {
        name: "deadlock_after_activity",
        expect: Expect::Deadlock(&["[waitgroup wait"]),
        run: deadlock_after_activity,
    },
    Scenario {
        name: "deadlock_right_after_blocking_jobs",
        expect: Expect::Deadlock(&["[waitgroup wait"]),
        run: deadlock_right_after_blocking_jobs,
    },
    Scenario {
        name: "select_no_cases",
        expect: Expect::Deadlock(&["[select (no cases)"]),
        run: select_no_cases,
    },
    Scenario {
        name: "chan_receive_nobody",
        expect: Expect::Deadlock(&["[chan receive"]),
        run: chan_receive_nobody,
    },
    Scenario {
        name: "chan_send_nobody",
        expect: Expect::Deadlock(&["[chan send"]),
        run: chan_send_nobody,
    },
    Scenario {
        name: "chan_receive_nil",
        expect: Expect::Deadlock(&["[chan receive (nil chan)"]),
        run: chan_receive_nil,
    },
    Scenario {
        name: "select_nobody",
        expect: Expect::Deadlock(&["[select"]),
        run: select_nobody,
    },
    Scenario {
        name: "chan_chain",
        expect: Expect::Deadlock(&["[chan receive"]),
        run: chan_chain,
    },
    Scenario {
        name: "chan_fed_by_timer",
        expect: Expect::Finishes,
        run: chan_fed_by_timer,
    },
    Scenario {
        name: "chan_fed_by_outside_thread",
        expect: Expect::Finishes,
        run: chan_fed_by_outside_thread,
    },
    Scenario {
        name: "chan_fed_by_blocking",
        expect: Expect::Finishes,
        run: chan_fed_by_blocking,
    },
    Scenario {
        name: "select_with_timeout",
        expect: Expect::Finishes,
        run: select_with_timeout,
    },
    Scenario {
        name: "socket_closed_then_deadlock",
        expect: Expect::Deadlock(&["[chan receive"]),
        run: socket_closed_then_deadlock,
    },
    Scenario {
        name: "socket_open_unused_then_deadlock",
        expect: Expect::Deadlock(&["[waitgroup wait"]),
        run: socket_open_unused_then_deadlock,
    },
    Scenario {
        name: "socket_read_not_deadlock",
        expect: Expect::Finishes,
        run: socket_read_not_deadlock,
    },
    Scenario {
        name: "aborts",
        expect: Expect::Aborts,
        run: aborts,
    },
    Scenario {
        name: "outside_thread_wakes",
        expect: Expect::Finishes,
        run: outside_thread_wakes,
    },
    Scenario {
        name: "timer_wakes",
        expect: Expect::Finishes,
        run: timer_wakes,
    },
    Scenario {
        name: "blocking_wakes",
        expect: Expect::Finishes,
        run: blocking_wakes,
    },
    Scenario {
        name: "busy_then_done",
        expect: Expect::Finishes,
        run: busy_then_done,
    },
    Scenario {
        name: "main_returns_leaving_parked",
        expect: Expect::Finishes,
        run: main_returns_leaving_parked,
    },
    Scenario {
        name: "ignore_finishes",
        expect: Expect::Finishes,
        run: ignore_finishes,
    },
];

/// In the child: run one scenario on the main thread and print its end.
fn child(name: &str) {
    let s = SCENARIOS
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"));
    match (s.run)() {
        Ok(v) => println!("RESULT ok {v}"),
        Err(RunError::Deadlock(d)) => println!("RESULT deadlock\n{d}"),
        Err(e) => println!("RESULT error {e}"),
    }
}

/// In the parent: run one scenario in a child and check how it ended.
fn check(s: &Scenario) -> Result<(), String> {
    let mut proc = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, s.name)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    while proc.try_wait().map_err(|e| e.to_string())?.is_none() {
        if start.elapsed() > CHILD_TIMEOUT {
            let _ = proc.kill();
            return Err(format!("no result within {CHILD_TIMEOUT:?} (hung)"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = proc.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let says = |what: &str| format!("{what}; stdout:\n{stdout}\nstderr:\n{stderr}");
    match s.expect {
        Expect::Finishes => {
            if !out.status.success() || !stdout.contains("RESULT ok") {
                return Err(says("expected to finish"));
            }
        }
        Expect::Deadlock(needles) => {
            if !out.status.success() || !stdout.contains("RESULT deadlock") {
                return Err(says("expected a deadlock report"));
            }
            if !stdout.contains("all goroutines are asleep - deadlock!") {
                return Err(says("no Go-style message"));
            }
            if let Some(n) = needles.iter().find(|n| !stdout.contains(**n)) {
                return Err(says(&format!("the dump lacks {n:?}")));
            }
        }
        Expect::Panics(needles) => {
            if !out.status.success() || !stdout.contains("RESULT error") {
                return Err(says("expected the main goroutine to panic"));
            }
            if let Some(n) = needles.iter().find(|n| !stdout.contains(**n)) {
                return Err(says(&format!("the panic message lacks {n:?}")));
            }
        }
        Expect::Aborts => {
            use std::os::unix::process::ExitStatusExt;
            if out.status.signal() != Some(libc::SIGABRT) {
                return Err(says("expected SIGABRT"));
            }
            if !stderr.contains("fatal error: all goroutines are asleep - deadlock!")
                || !stderr.contains("[waitgroup wait")
            {
                return Err(says("no report on stderr"));
            }
        }
    }
    Ok(())
}

/// Runs the scenarios whose name contains `only` (a regression test's
/// own), or else the command line's filter (`cargo test -- FILTER`), or all.
pub(crate) fn main(only: Option<&str>) {
    if let Ok(name) = std::env::var(CHILD) {
        child(&name);
        return;
    }
    let filter: Option<String> = only
        .map(str::to_owned)
        .or_else(|| std::env::args().skip(1).find(|a| !a.starts_with('-')));
    let chosen: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| filter.as_deref().map_or(true, |f| s.name.contains(f)))
        .collect();
    // Two at a time: each child mostly waits.
    let mut failed = 0;
    for pair in chosen.chunks(2) {
        let results: Vec<_> = std::thread::scope(|sc| {
            let hs: Vec<_> = pair.iter().map(|s| sc.spawn(move || check(s))).collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (s, r) in pair.iter().zip(results) {
            match r {
                Ok(()) => println!("test {} ... ok", s.name),
                Err(e) => {
                    failed += 1;
                    println!("test {} ... FAILED\n{e}", s.name);
                }
            }
        }
    }
    println!("{} passed, {failed} failed", chosen.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}
