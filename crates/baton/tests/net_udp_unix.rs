//! `baton::net` UDP and Unix-domain sockets over loopback and a temporary
//! directory: round trips from threads and goroutines, receives that park
//! until data comes, deadlines and close on the shared readiness code.
#![cfg(all(not(loom), target_os = "linux"))]

mod common;

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::net::{UdpSocket, UnixListener, UnixStream};
use common::both;

/// A fresh socket path for this process and `tag`.
fn sock_path(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-net-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{tag}-{:?}.sock", std::thread::current().id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// Datagrams both ways, `recv_from` parked until the sender (started
/// after it) sends; then a connected pair with `send`/`recv`.
fn udp_round_trip() {
    let a = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
    let a2 = a.clone();
    common::spawn(move || {
        baton::time::sleep(Duration::from_millis(20));
        for i in 0..100u8 {
            a2.send_to(&[i; 32], b_addr).unwrap();
        }
    });
    let mut buf = [0; 64];
    let mut sum = 0u32;
    for _ in 0..100 {
        let (n, from) = b.recv_from(&mut buf).unwrap();
        assert_eq!((n, from), (32, a_addr));
        assert!(buf[..n].iter().all(|&x| x == buf[0]));
        sum += u32::from(buf[0]);
    }
    assert_eq!(
        sum,
        (0..100).sum::<u32>(),
        "datagrams lost or repeated on loopback"
    );

    a.connect(b_addr).unwrap();
    b.connect(a_addr).unwrap();
    b.send(b"pong").unwrap();
    assert_eq!(a.recv(&mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"pong");
}

#[test]
fn udp_round_trips_from_goroutines_and_threads() {
    both("net udp round trip", 60, udp_round_trip);
}

/// A UDP receive with a deadline times out; a close from elsewhere wakes a
/// blocked receive with the closed error.
fn udp_deadline_and_close() {
    let s = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
    s.set_read_deadline(Some(Instant::now() + Duration::from_millis(30)));
    let err = s.recv_from(&mut [0; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    s.set_read_deadline(None);
    let s2 = s.clone();
    common::spawn(move || {
        baton::time::sleep(Duration::from_millis(30));
        s2.close();
    });
    let err = s.recv(&mut [0; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotConnected, "{err}");
}

#[test]
fn udp_deadline_and_close_from_goroutines_and_threads() {
    both("net udp deadline/close", 60, udp_deadline_and_close);
}

/// A Unix echo: listener, a connect, 64 KiB through the socket both ways
/// (partial reads and writes), then a socketpair with a blocked read
/// woken by the peer's shutdown.
fn unix_round_trip() {
    let path = sock_path("echo");
    let l = UnixListener::bind(&path).unwrap();
    let server = {
        let echo = move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0; 1000];
            loop {
                match s.read(&mut buf).unwrap() {
                    0 => break,
                    n => s.write_all(&buf[..n]).unwrap(),
                }
            }
        };
        if baton::runtime::current().is_some() {
            Some(baton::go(echo))
        } else {
            std::thread::spawn(echo);
            None
        }
    };
    let c = UnixStream::connect(&path).unwrap();
    let data: Vec<u8> = (0..64 << 10).map(|i: u32| (i * 31 % 251) as u8).collect();
    let mut back = vec![0; data.len()];
    let (cw, mut cr) = (&c, &c);
    let mut reader = |back: &mut Vec<u8>| cr.read_exact(back).unwrap();
    if baton::runtime::current().is_some() {
        baton::scope(|sc| {
            sc.go(|| {
                let mut cw = cw;
                cw.write_all(&data).unwrap();
            });
            reader(&mut back);
        });
    } else {
        std::thread::scope(|sc| {
            sc.spawn(|| {
                let mut cw = cw;
                cw.write_all(&data).unwrap();
            });
            reader(&mut back);
        });
    }
    assert!(back == data, "unix echo corrupted the data");
    c.shutdown(std::net::Shutdown::Write).unwrap();
    if let Some(h) = server {
        h.join().unwrap();
    }
    std::fs::remove_file(&path).unwrap();

    let (a, b) = UnixStream::pair().unwrap();
    let a = Arc::new(a);
    common::spawn(move || {
        baton::time::sleep(Duration::from_millis(20));
        b.shutdown(std::net::Shutdown::Write).unwrap();
        baton::time::sleep(Duration::from_millis(100));
    });
    assert_eq!((&*a).read(&mut [0; 8]).unwrap(), 0);
}

#[test]
fn unix_round_trips_from_goroutines_and_threads() {
    both("net unix round trip", 60, unix_round_trip);
}

/// A Unix accept with a deadline times out; close wakes a blocked accept.
fn unix_accept_deadline_and_close() {
    let path = sock_path("accept");
    let l = Arc::new(UnixListener::bind(&path).unwrap());
    l.set_read_deadline(Some(Instant::now() + Duration::from_millis(30)));
    assert_eq!(l.accept().unwrap_err().kind(), io::ErrorKind::TimedOut);
    l.set_read_deadline(None);
    let l2 = l.clone();
    common::spawn(move || {
        baton::time::sleep(Duration::from_millis(30));
        l2.close();
    });
    assert_eq!(l.accept().unwrap_err().kind(), io::ErrorKind::NotConnected);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn unix_accept_deadline_and_close_from_goroutines_and_threads() {
    both("net unix accept", 60, unix_accept_deadline_and_close);
}
