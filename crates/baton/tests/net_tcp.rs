//! `baton::net` TCP over loopback: echo with thousands of client
//! goroutines, a large transfer both ways at once through small buffers,
//! peer reset, deadlines (firing, sticky, moved under a blocked call) from
//! goroutines and threads, close from another goroutine while blocked in
//! `read` and `accept`, contexts, and a blocked read that parks its
//! goroutine, not its worker. Every body runs under the watchdog.
#![cfg(all(not(loom), target_os = "linux"))]

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::net::{TcpListener, TcpStream};
use baton::runtime::Builder;
use common::{both, within};

/// FNV-1a, for checksums.
fn fnv(h: &mut u64, bytes: &[u8]) {
    for &b in bytes {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x100_0000_01b3);
    }
}

const FNV0: u64 = 0xcbf2_9ce4_8422_2325;

/// Deterministic bytes for stream `seed` at offset `i`.
fn byte(seed: u64, i: u64) -> u8 {
    let x = (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (x >> 32) as u8
}

/// Raises the descriptor limit: to 65536 where allowed (root may raise the
/// hard limit), else the soft limit to the hard one. Returns the limit.
fn raise_nofile() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a valid out-pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    let want = r.rlim_max.max(65536);
    let up = libc::rlimit {
        rlim_cur: want,
        rlim_max: want,
    };
    // SAFETY: valid in-pointers.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &up) } == 0 {
        return want;
    }
    r.rlim_cur = r.rlim_max;
    // SAFETY: `r` is a valid in-pointer.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) };
    r.rlim_cur
}

/// An echo server on its own goroutine: one goroutine per connection.
/// Stops when the listener is closed.
fn echo_server(l: Arc<TcpListener>) -> baton::runtime::JoinHandle<()> {
    baton::go(move || loop {
        let mut conn = match l.accept() {
            Ok((c, _)) => c,
            Err(e) if l.is_closed() => {
                assert_eq!(e.kind(), io::ErrorKind::NotConnected);
                return;
            }
            Err(e) => panic!("accept: {e}"),
        };
        baton::go(move || {
            let mut buf = [0; 512];
            loop {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if conn.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    })
}

#[test]
fn echo_many_client_goroutines_checksummed() {
    let want = if cfg!(debug_assertions) { 1000 } else { 10_000 };
    // Two descriptors per connection (both ends live here), plus slack.
    let clients = want.min(((raise_nofile() - 512) / 2) as usize);
    if clients < want {
        eprintln!("descriptor limit: {clients} clients instead of {want}");
    }
    within("net echo, many clients", 240, move || {
        let rt = Builder::new().workers(2).build();
        rt.run(move || {
            let l = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
            let addr = l.local_addr().unwrap();
            let server = echo_server(l.clone());
            let handles: Vec<_> = (0..clients as u64)
                .map(|id| {
                    baton::go(move || {
                        let mut c = TcpStream::connect(addr).unwrap();
                        let len = 1000 + (id % 7) * 300;
                        let (mut sent, mut got) = (FNV0, FNV0);
                        let mut back = vec![0; 600];
                        let mut off = 0;
                        let mut recvd = 0;
                        while recvd < len {
                            if off < len {
                                let n = (len - off).min(300);
                                let chunk: Vec<u8> = (off..off + n).map(|i| byte(id, i)).collect();
                                c.write_all(&chunk).unwrap();
                                fnv(&mut sent, &chunk);
                                off += n;
                            }
                            let n = c.read(&mut back).unwrap();
                            assert!(n > 0, "client {id}: early end of stream");
                            fnv(&mut got, &back[..n]);
                            recvd += n as u64;
                        }
                        assert_eq!(recvd, len);
                        (sent, got)
                    })
                })
                .collect();
            for (id, h) in handles.into_iter().enumerate() {
                let (sent, got) = h.join().unwrap();
                assert_eq!(sent, got, "client {id}: echo checksum differs");
            }
            l.close();
            server.join().unwrap();
        });
    });
}

/// Both ends write `len` bytes in 1000-byte writes while reading the
/// other's in 777-byte reads, all four at once: partial reads and writes
/// on full socket buffers, both directions.
fn transfer_both_ways() {
    let len: u64 = if cfg!(debug_assertions) {
        16 << 20
    } else {
        64 << 20
    };
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    let (c, s) = (&c, &s);
    fn pump_out(mut w: &TcpStream, seed: u64, len: u64) {
        let mut buf = vec![0; 1000];
        let mut off = 0;
        while off < len {
            let n = (len - off).min(1000) as usize;
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = byte(seed, off + i as u64);
            }
            w.write_all(&buf[..n]).unwrap();
            off += n as u64;
        }
    }
    fn pump_in(mut r: &TcpStream, seed: u64, len: u64) {
        let mut buf = vec![0; 777];
        let mut off = 0;
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            for (i, &b) in buf[..n].iter().enumerate() {
                assert_eq!(
                    b,
                    byte(seed, off + i as u64),
                    "byte {} differs",
                    off + i as u64
                );
            }
            off += n as u64;
        }
        assert_eq!(off, len, "stream ended early");
    }
    if baton::runtime::current().is_some() {
        baton::scope(|sc| {
            sc.go(move || {
                pump_out(c, 1, len);
                c.shutdown(Shutdown::Write).unwrap();
            });
            sc.go(move || {
                pump_out(s, 2, len);
                s.shutdown(Shutdown::Write).unwrap();
            });
            sc.go(move || pump_in(s, 1, len));
            sc.go(move || pump_in(c, 2, len));
        });
    } else {
        std::thread::scope(|sc| {
            sc.spawn(move || {
                pump_out(c, 1, len);
                c.shutdown(Shutdown::Write).unwrap();
            });
            sc.spawn(move || {
                pump_out(s, 2, len);
                s.shutdown(Shutdown::Write).unwrap();
            });
            sc.spawn(move || pump_in(s, 1, len));
            sc.spawn(move || pump_in(c, 2, len));
        });
    }
}

#[test]
fn large_transfer_both_directions_small_buffers() {
    both("net transfer both ways", 300, transfer_both_ways);
}

/// The peer resets (`SO_LINGER` 0) while we are blocked in `read`: the read
/// fails with `ConnectionReset`, and so does a later write.
fn peer_reset() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    common::spawn(move || {
        baton::time::sleep(Duration::from_millis(50));
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
    });
    let err = c.read(&mut [0; 16]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    // Writes fail too (the first may be accepted into the buffer: the
    // kernel reports the reset once; keep writing until it fails).
    let mut failed = false;
    for _ in 0..100 {
        if c.write(b"x").is_err() {
            failed = true;
            break;
        }
    }
    assert!(failed, "writes after a reset kept succeeding");
}

#[test]
fn peer_reset_is_an_error_not_a_hang() {
    both("net peer reset", 60, peer_reset);
}

/// A pair of connected streams (client, server side).
fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    (c, s)
}

/// A read deadline fires, stays fired (Go: every later call fails at
/// once, even with data there), and clearing it makes reads work again.
fn read_deadline_fires() {
    let (mut c, mut s) = pair();
    let deadline = Instant::now() + Duration::from_millis(50);
    c.set_read_deadline(Some(deadline));
    let err = c.read(&mut [0; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert!(Instant::now() >= deadline, "timed out before the deadline");
    s.write_all(b"late").unwrap();
    // Sticky: the data is there, but the deadline has passed.
    assert_eq!(
        c.read(&mut [0; 8]).unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );
    c.set_read_deadline(None);
    let mut buf = [0; 4];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"late");
}

#[test]
fn read_deadline_fires_from_goroutines_and_threads() {
    both("net read deadline", 60, read_deadline_fires);
}

/// A write blocked on full buffers (the peer never reads) times out at its
/// deadline; the bytes accepted before it are reported by `write`, never
/// lost silently.
fn write_deadline_fires() {
    let (mut c, _s) = pair();
    c.set_write_deadline(Some(Instant::now() + Duration::from_millis(100)));
    let chunk = vec![7u8; 64 << 10];
    let mut written = 0usize;
    let err = loop {
        match c.write(&chunk) {
            Ok(n) => written += n,
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert!(written > 0, "nothing fit in the socket buffers");
}

#[test]
fn write_deadline_fires_from_goroutines_and_threads() {
    both("net write deadline", 60, write_deadline_fires);
}

/// Deadlines moved while a read is blocked: from none to soon (the call
/// times out), and from soon to later (the call does not time out at the
/// first deadline and gets the data written after it).
fn deadline_moved_while_blocked() {
    let (c, mut s) = pair();
    let c = Arc::new(c);
    // None -> soon.
    let c2 = c.clone();
    common::spawn(move || {
        baton::time::sleep(Duration::from_millis(50));
        c2.set_read_deadline(Some(Instant::now() + Duration::from_millis(20)));
    });
    let err = (&*c).read(&mut [0; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);

    // Soon -> much later: the data comes after the first deadline. (The
    // mover has a second to run: on a loaded machine a shorter first
    // deadline could pass before it does.)
    let first = Instant::now() + Duration::from_secs(1);
    c.set_read_deadline(Some(first));
    let c2 = c.clone();
    common::spawn(move || {
        baton::time::sleep(Duration::from_millis(20));
        c2.set_read_deadline(Some(Instant::now() + Duration::from_secs(60)));
        baton::time::sleep_until(first + Duration::from_millis(200));
        s.write_all(b"ok").unwrap();
        // Keep `s` open until the reader is done.
        baton::time::sleep(Duration::from_millis(200));
    });
    let mut buf = [0; 2];
    (&*c).read_exact(&mut buf).unwrap();
    assert!(
        Instant::now() > first,
        "the data came before the first deadline"
    );
    assert_eq!(&buf, b"ok");
}

#[test]
fn deadline_moved_while_blocked_from_goroutines_and_threads() {
    both("net deadline moved", 60, deadline_moved_while_blocked);
}

/// `close` from another goroutine wakes a blocked `read` (and the peer
/// sees the end of the stream) and a blocked `accept`, both with the
/// closed error; later calls fail the same way.
fn close_wakes_blocked_calls() {
    let (c, mut s) = pair();
    let c = Arc::new(c);
    let c2 = c.clone();
    common::spawn(move || {
        baton::time::sleep(Duration::from_millis(50));
        c2.close();
    });
    let err = (&*c).read(&mut [0; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotConnected, "{err}");
    assert!(err.to_string().contains("closed"), "{err}");
    assert_eq!(
        (&*c).write(b"x").unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
    assert_eq!(s.read(&mut [0; 8]).unwrap(), 0, "peer did not see the end");

    let l = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
    let l2 = l.clone();
    common::spawn(move || {
        baton::time::sleep(Duration::from_millis(50));
        l2.close();
    });
    let err = l.accept().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotConnected, "{err}");
    assert_eq!(l.accept().unwrap_err().kind(), io::ErrorKind::NotConnected);
}

#[test]
fn close_from_another_goroutine_wakes_read_and_accept() {
    both("net close wakes", 60, close_wakes_blocked_calls);
}

/// `shutdown` from another goroutine wakes a blocked read, which sees the
/// end of the stream.
fn shutdown_wakes_read() {
    let (c, _s) = pair();
    let c = Arc::new(c);
    let c2 = c.clone();
    common::spawn(move || {
        baton::time::sleep(Duration::from_millis(50));
        c2.shutdown(Shutdown::Read).unwrap();
    });
    assert_eq!((&*c).read(&mut [0; 8]).unwrap(), 0);
}

#[test]
fn shutdown_from_another_goroutine_wakes_read() {
    both("net shutdown wakes", 60, shutdown_wakes_read);
}

/// An accept deadline on the listener, and `accept_ctx` with a timed-out
/// and a cancelled context.
fn accept_deadline_and_ctx() {
    use baton::context;
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_read_deadline(Some(Instant::now() + Duration::from_millis(30)));
    assert_eq!(l.accept().unwrap_err().kind(), io::ErrorKind::TimedOut);
    l.set_read_deadline(None);

    let (ctx, _c) = context::with_timeout(&context::background(), Duration::from_millis(30));
    assert_eq!(
        l.accept_ctx(&ctx).unwrap_err().kind(),
        io::ErrorKind::TimedOut
    );

    let (ctx, cancel) = context::with_cancel(&context::background());
    common::spawn(move || {
        baton::time::sleep(Duration::from_millis(30));
        cancel.cancel();
    });
    let err = l.accept_ctx(&ctx).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Interrupted, "{err}");

    // The listener still works.
    let addr = l.local_addr().unwrap();
    let c = TcpStream::dial_ctx(&context::background(), addr).unwrap();
    let (s, _) = l.accept_ctx(&context::background()).unwrap();
    assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
}

#[test]
fn accept_deadline_and_context() {
    both("net accept deadline/ctx", 60, accept_deadline_and_ctx);
}

/// A listener with a backlog of 0 that never accepts: after its queue
/// fills, connects hang on loopback (the SYNs are dropped) until their
/// time-out or context ends them.
fn connect_times_out() {
    use baton::context;
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    sock.listen(0).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    let mut held = Vec::new();
    let mut timed_out = false;
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
            Ok(c) => held.push(c),
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
                timed_out = true;
                break;
            }
        }
    }
    assert!(timed_out, "every connect to a full backlog succeeded");
    let (ctx, _c) = context::with_timeout(&context::background(), Duration::from_millis(50));
    let err = TcpStream::dial_ctx(&ctx, addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
}

#[test]
fn connect_timeout_and_dial_ctx_on_a_full_backlog() {
    both("net connect time-out", 60, connect_times_out);
}

/// One worker, two goroutines: one blocked in `read`, the other serving a
/// ping-pong on another connection meanwhile. The read parks the
/// goroutine, not the worker; the blocked goroutine resumes on the thread
/// it started on.
#[test]
fn blocked_read_parks_the_goroutine_not_the_worker() {
    within("net read parks goroutine", 60, || {
        let rt = Builder::new().workers(1).build();
        rt.run(|| {
            let (a, mut a_peer) = pair();
            let (mut b, b_peer) = pair();
            let blocked = baton::go(move || {
                let before = common::tid();
                let mut a = a;
                let mut buf = [0; 4];
                a.read_exact(&mut buf).unwrap();
                (buf, before, common::tid())
            });
            let echo = baton::go(move || {
                let mut b_peer = b_peer;
                let mut buf = [0; 1];
                for _ in 0..100 {
                    b_peer.read_exact(&mut buf).unwrap();
                    b_peer.write_all(&buf).unwrap();
                }
            });
            for i in 0..100u8 {
                b.write_all(&[i]).unwrap();
                let mut buf = [0; 1];
                b.read_exact(&mut buf).unwrap();
                assert_eq!(buf[0], i);
            }
            echo.join().unwrap();
            a_peer.write_all(b"free").unwrap();
            let (buf, before, after) = blocked.join().unwrap();
            assert_eq!(&buf, b"free");
            assert_eq!(before, after, "the goroutine moved to another thread");
        });
    });
}

/// With two workers, goroutines blocked on sockets resume on the thread
/// they started on.
#[test]
fn readiness_resumes_goroutines_on_their_own_worker() {
    within("net no migration", 60, || {
        let rt = Builder::new().workers(2).build();
        rt.run(|| {
            let hs: Vec<_> = (0..50)
                .map(|_| {
                    let (mut c, mut s) = pair();
                    let h = baton::go(move || {
                        let mut moved = 0;
                        let mut buf = [0; 1];
                        for _ in 0..20 {
                            let before = common::tid();
                            c.read_exact(&mut buf).unwrap();
                            moved += usize::from(common::tid() != before);
                        }
                        moved
                    });
                    baton::go(move || {
                        for i in 0..20u8 {
                            baton::time::sleep(Duration::from_millis(1));
                            s.write_all(&[i]).unwrap();
                        }
                        // Keep `s` open until the reader is done.
                        baton::time::sleep(Duration::from_millis(100));
                    });
                    h
                })
                .collect();
            for h in hs {
                assert_eq!(h.join().unwrap(), 0, "a goroutine migrated");
            }
        });
    });
}

/// Conversions: std <-> baton keep the connection; `try_clone` gives a
/// second handle with its own deadlines.
#[test]
fn std_conversions_and_try_clone() {
    within("net conversions", 60, || {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let l = TcpListener::try_from(l).unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let mut c = TcpStream::from_std(c).unwrap();
        let (s, _) = l.accept().unwrap();
        let mut s2 = s.try_clone().unwrap();
        s.set_read_deadline(Some(Instant::now()));
        c.write_all(b"abc").unwrap();
        let mut buf = [0; 3];
        s2.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"abc");
        let mut std_s = s2.into_std().unwrap();
        c.write_all(b"d").unwrap();
        let mut one = [0; 1];
        std_s.read_exact(&mut one).unwrap(); // blocking std read
        assert_eq!(&one, b"d");
        let std_l: std::net::TcpListener = l.try_into().unwrap();
        assert!(std_l.local_addr().is_ok());
    });
}

/// A connect to a loopback port nobody listens on fails with
/// `ConnectionRefused` (the non-blocking connect's `SO_ERROR`), from
/// goroutines and threads.
fn connect_refused() {
    // Bind, learn the port, close: nobody listens there now.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let err = TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn connect_to_a_closed_port_is_refused() {
    both("net connect refused", 60, connect_refused);
}
