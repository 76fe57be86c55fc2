//! The workers' side of the network poller: an idle worker sleeps in
//! `epoll_wait` instead of on its park token, and everything that would wake
//! a sleeping worker must reach it there (the wake `eventfd`): spawns and
//! unparks from other threads, timers (the `epoll_wait` time-out), socket
//! readiness, shutdown. Plain threads blocked on sockets are served while a
//! worker holds the epoll slot. Every test runs under the watchdog, so a
//! lost wake-up fails with a message instead of hanging.
#![cfg(all(not(loom), target_os = "linux"))]

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use baton::net::{TcpListener, TcpStream};

/// Makes sure the process has a poller (the first socket starts it), so
/// that idle workers sleep in `epoll_wait` from now on.
fn start_poller() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// Outside threads spawn goroutines and unpark parked ones while the
/// runtime's workers are idle in `epoll_wait`: every one runs.
#[test]
fn spawns_and_unparks_wake_a_worker_in_epoll() {
    common::within("spawn/unpark into epoll sleep", 120, || {
        let _l = start_poller();
        let rt = baton::runtime::Builder::new().workers(2).build();
        for i in 0..500u64 {
            // Let the workers fall asleep now and then (one in epoll).
            if i % 50 == 0 {
                std::thread::sleep(Duration::from_millis(2));
            }
            assert_eq!(rt.go(move || i * 2).join().unwrap(), i * 2);
        }
        // A goroutine parked on a channel, woken by a plain thread.
        let (tx, rx) = baton::chan::bounded::<u32>(0);
        let h = rt.go(move || (0..200).map(|_| rx.recv().unwrap()).sum::<u32>());
        for k in 0..200 {
            if k % 20 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            tx.send(1).unwrap();
        }
        assert_eq!(h.join().unwrap(), 200);
    });
}

/// A worker with a timer sleeps in `epoll_wait` with the timer as its
/// time-out: goroutine sleeps end although nothing else happens.
#[test]
fn timers_end_an_epoll_sleep() {
    common::within("timer during epoll sleep", 120, || {
        let _l = start_poller();
        let rt = baton::runtime::Builder::new().workers(1).build();
        let h = rt.go(|| {
            for _ in 0..20 {
                let t = Instant::now();
                baton::time::sleep(Duration::from_millis(3));
                assert!(t.elapsed() >= Duration::from_millis(3), "woke early");
            }
        });
        h.join().unwrap();
    });
}

/// Many goroutine pairs (more than workers) bounce messages over loopback
/// TCP while other goroutines sleep on timers: every exchange completes.
#[test]
fn tcp_ping_pong_with_more_goroutines_than_workers() {
    const PAIRS: usize = 24;
    const ROUNDS: usize = if cfg!(debug_assertions) { 200 } else { 2000 };
    common::within("tcp ping-pong pairs", 240, || {
        let rt = baton::runtime::Builder::new().workers(2).build();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = rt.go(move || {
            let mut hs = Vec::new();
            for _ in 0..PAIRS {
                let (mut c, _) = l.accept().unwrap();
                hs.push(baton::go(move || {
                    let mut b = [0u8; 8];
                    while c.read_exact(&mut b).is_ok() {
                        let v = u64::from_le_bytes(b) + 1;
                        if c.write_all(&v.to_le_bytes()).is_err() {
                            break;
                        }
                    }
                }));
            }
            for h in hs {
                h.join().unwrap();
            }
        });
        let sleeper = rt.go(|| {
            for _ in 0..50 {
                baton::time::sleep(Duration::from_millis(1));
            }
        });
        let clients: Vec<_> = (0..PAIRS)
            .map(|p| {
                rt.go(move || {
                    let mut c = TcpStream::connect(addr).unwrap();
                    c.set_nodelay(true).unwrap();
                    let mut v = p as u64 * 1_000_000;
                    for _ in 0..ROUNDS {
                        c.write_all(&v.to_le_bytes()).unwrap();
                        let mut b = [0u8; 8];
                        c.read_exact(&mut b).unwrap();
                        assert_eq!(u64::from_le_bytes(b), v + 1);
                        v += 1;
                    }
                    v
                })
            })
            .collect();
        for (p, h) in clients.into_iter().enumerate() {
            assert_eq!(h.join().unwrap(), p as u64 * 1_000_000 + ROUNDS as u64);
        }
        sleeper.join().unwrap();
        server.join().unwrap();
    });
}

/// Plain threads block on sockets (the fallback poller serves them) while a
/// runtime's worker holds the epoll slot and its goroutines use sockets
/// too: both kinds of waiter get their readiness.
#[test]
fn plain_threads_and_goroutines_share_the_poller() {
    common::within("threads beside a worker in epoll", 240, || {
        let rt = baton::runtime::Builder::new().workers(1).build();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        // Echo server in goroutines.
        rt.go(move || {
            for c in l.incoming() {
                let mut c = c.unwrap();
                baton::go(move || {
                    let mut b = [0u8; 16];
                    loop {
                        match c.read(&mut b) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => c.write_all(&b[..n]).unwrap(),
                        }
                    }
                });
            }
        });
        // Plain-thread clients, pausing so the worker falls asleep (in
        // epoll) between their messages.
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut c = TcpStream::connect(addr).unwrap();
                    for r in 0..50u8 {
                        if r % 10 == 0 {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        c.write_all(&[t, r]).unwrap();
                        let mut b = [0u8; 2];
                        c.read_exact(&mut b).unwrap();
                        assert_eq!(b, [t, r]);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // A plain thread reading from a plain thread, both through
        // baton::net, while the runtime idles in epoll.
        let l2 = TcpListener::bind("127.0.0.1:0").unwrap();
        let a2 = l2.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            let (mut c, _) = l2.accept().unwrap();
            std::thread::sleep(Duration::from_millis(20));
            c.write_all(b"late").unwrap();
        });
        let mut c = TcpStream::connect(a2).unwrap();
        let mut b = [0u8; 4];
        c.read_exact(&mut b).unwrap();
        assert_eq!(&b, b"late");
        writer.join().unwrap();
    });
}

/// Dropping a runtime whose workers sleep in `epoll_wait` returns (shutdown
/// reaches them through the wake `eventfd`), again and again.
#[test]
fn shutdown_wakes_workers_in_epoll() {
    common::within("shutdown during epoll sleep", 120, || {
        let _l = start_poller();
        for _ in 0..20 {
            let rt = baton::runtime::Builder::new().workers(2).build();
            rt.go(|| ()).join().unwrap();
            std::thread::sleep(Duration::from_millis(2));
            drop(rt);
        }
    });
}

/// A worker that never runs out of work (a goroutine yields in a loop)
/// still polls its instance now and then (`sched::netpoll`, "When a worker
/// polls": after 61 rounds without a poll), so a goroutine parked in
/// `read` on the same worker wakes for every message. If the busy worker
/// never polled, the reader would wait for good: the watchdog fails.
#[test]
fn a_busy_worker_still_wakes_its_socket_readers() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    use std::sync::Arc;
    const MESSAGES: u8 = 50;
    common::within("socket reader beside a yielding goroutine", 120, || {
        let rt = baton::runtime::Builder::new().workers(1).build();
        let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = peer.local_addr().unwrap();
        let writer = std::thread::spawn(move || {
            let (mut c, _) = peer.accept().unwrap();
            for m in 0..MESSAGES {
                // Each message arrives while the reader is parked.
                std::thread::sleep(Duration::from_millis(1));
                c.write_all(&[m]).unwrap();
            }
        });
        let done = Arc::new(AtomicBool::new(false));
        let yields = Arc::new(AtomicU64::new(0));
        let busy = {
            let (done, yields) = (done.clone(), yields.clone());
            rt.go(move || {
                while !done.load(Relaxed) {
                    yields.fetch_add(1, Relaxed);
                    baton::yield_now();
                }
            })
        };
        let reader = rt.go(move || {
            let mut c = TcpStream::connect(addr).unwrap();
            for m in 0..MESSAGES {
                let mut b = [0u8; 1];
                c.read_exact(&mut b).unwrap();
                assert_eq!(b[0], m);
            }
            done.store(true, Relaxed);
        });
        reader.join().unwrap();
        busy.join().unwrap();
        writer.join().unwrap();
        // The worker was kept busy: the reader was woken by busy polls.
        assert!(yields.load(Relaxed) > 0, "the busy goroutine never ran");
    });
}
