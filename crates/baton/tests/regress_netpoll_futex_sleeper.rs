//! Regression (issue 13, item 2): with one epoll "slot" for the whole
//! process, only one idle worker slept in `epoll_wait`; the others slept on
//! their futex, and a socket event for one of *their* goroutines, while the
//! slot holder was busy, waited for the fallback thread's 10 ms poll. Now
//! every idle worker sleeps in `epoll_wait` on its own instance, where the
//! sockets its goroutines wait on are registered, so the kernel wakes it
//! directly.
//!
//! The mechanism is checked, not a latency: once a socket exists, every
//! idle worker of a runtime is seen blocked in `epoll_wait` (the syscall
//! number in `/proc/self/task/TID/syscall`). On the old code one of two
//! idle workers is always in `futex`, so the test times out with a message.
//! Then a goroutine on each worker waits in `read` while the other worker
//! is kept busy, and each read is woken by its peer's write: a functional
//! check that readiness reaches a worker asleep on its own instance.
#![cfg(all(not(loom), target_os = "linux"))]

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use baton::net::{TcpListener, TcpStream};

/// The syscall each worker thread named `{prefix}{index}` is blocked in
/// (`None`: running, or unreadable).
fn syscalls_of(prefix: &str) -> Vec<(String, Option<i64>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let dir = e.path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue;
        };
        let comm = comm.trim().to_string();
        // Workers only: `{prefix}{index}` (not the runtime's monitor).
        let is_worker = comm
            .strip_prefix(prefix)
            .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()));
        if !is_worker {
            continue;
        }
        let nr = std::fs::read_to_string(dir.join("syscall"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<i64>().ok());
        out.push((comm, nr));
    }
    out.sort();
    out
}

fn in_epoll_wait(nr: Option<i64>) -> bool {
    nr == Some(libc::SYS_epoll_wait) || nr == Some(libc::SYS_epoll_pwait)
}

#[test]
fn every_idle_worker_sleeps_in_epoll_wait() {
    common::within("every idle worker in epoll_wait", 120, || {
        // The first socket starts the poller.
        let _l = TcpListener::bind("127.0.0.1:0").unwrap();
        let rt = baton::runtime::Builder::new()
            .workers(2)
            .name("nsleep")
            .build();
        // Make both workers run (and so take their epoll instances).
        let hs: Vec<_> = (0..20)
            .map(|i| {
                rt.go(move || {
                    baton::time::sleep(Duration::from_millis(1));
                    i
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        // Idle now: both must end up blocked in epoll_wait. (A loaded
        // machine may take a while to let them get there; the bound only
        // catches the old behaviour, where one never does.)
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let states = syscalls_of("nsleep-");
            assert_eq!(states.len(), 2, "two worker threads: {states:?}");
            if states.iter().all(|(_, nr)| in_epoll_wait(*nr)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "idle workers not all in epoll_wait (epoll_wait = {}, epoll_pwait = {}, futex = {}): {states:?}",
                libc::SYS_epoll_wait,
                libc::SYS_epoll_pwait,
                libc::SYS_futex
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        drop(rt);
    });
}

/// A reader goroutine per worker, each woken by its peer (a plain thread
/// with a std socket) while a goroutine on the other worker computes and
/// yields: every read completes, many times over.
#[test]
fn reads_wake_while_the_other_worker_is_busy() {
    const ROUNDS: usize = if cfg!(debug_assertions) { 100 } else { 500 };
    common::within("reads beside a busy worker", 240, || {
        let rt = baton::runtime::Builder::new().workers(2).build();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // Busy goroutines: one per worker at most runs at a time; they
        // yield, so the readers get their turns.
        let busy: Vec<_> = (0..2)
            .map(|_| {
                let stop = stop.clone();
                rt.go(move || {
                    let mut x = 0u64;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        for i in 0..10_000u64 {
                            x = x.wrapping_mul(31).wrapping_add(i);
                        }
                        baton::yield_now();
                    }
                    x
                })
            })
            .collect();
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                let server = l.accept().unwrap().0;
                let h = rt.go(move || {
                    let mut s = server;
                    s.set_nodelay(true).unwrap();
                    let mut b = [0u8; 1];
                    for _ in 0..ROUNDS {
                        s.read_exact(&mut b).unwrap();
                        s.write_all(&b).unwrap();
                    }
                });
                let t = std::thread::spawn(move || {
                    c.set_nodelay(true).unwrap();
                    let mut b = [0u8; 1];
                    for r in 0..ROUNDS {
                        b[0] = r as u8;
                        c.write_all(&b).unwrap();
                        c.read_exact(&mut b).unwrap();
                        assert_eq!(b[0], r as u8);
                    }
                });
                (h, t)
            })
            .collect();
        for (h, t) in readers {
            t.join().unwrap();
            h.join().unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for b in busy {
            b.join().unwrap();
        }
    });
}

/// A socket a plain thread waits on, moved to a worker's instance by a
/// goroutine that then stays parked on it, and the worker's runtime
/// dropped: the thread's read is still woken (the retired instance is
/// watched by the fallback thread).
#[test]
fn thread_wait_survives_the_workers_exit() {
    common::within("thread wait after its socket's worker exited", 120, || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let ours = std::sync::Arc::new(TcpStream::connect(addr).unwrap());
        let (mut peer, _) = l.accept().unwrap();
        // The plain thread parks on the read half (registration: shared).
        let reader = {
            let ours = ours.clone();
            std::thread::spawn(move || {
                let mut b = [0u8; 4];
                (&*ours).read_exact(&mut b).unwrap();
                b
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        // A goroutine fills the send buffer and parks on the write half:
        // the registration moves to its worker's instance.
        let rt = baton::runtime::Builder::new().workers(1).build();
        let (parked_tx, parked_rx) = std::sync::mpsc::channel();
        {
            let ours = ours.clone();
            drop(rt.go(move || {
                let chunk = vec![0u8; 64 * 1024];
                let mut sent = 0usize;
                loop {
                    // Non-blocking until the buffer is full: then parks.
                    if sent > 64 << 20 {
                        break;
                    }
                    let _ = parked_tx.send(sent);
                    match (&*ours).write(&chunk) {
                        Ok(n) => sent += n,
                        Err(_) => break,
                    }
                }
            }));
        }
        // Wait until the writes stall (the goroutine parked).
        let mut last = usize::MAX;
        loop {
            match parked_rx.recv_timeout(Duration::from_millis(200)) {
                Ok(s) => last = s,
                Err(_) if last != usize::MAX => break,
                Err(e) => panic!("the writer never started: {e}"),
            }
        }
        // Its worker exits; the goroutine stays parked (leaked).
        drop(rt);
        // The peer writes: the read readiness goes to the retired instance.
        peer.write_all(b"ping").unwrap();
        assert_eq!(&reader.join().unwrap(), b"ping");
        drop(peer);
    });
}
