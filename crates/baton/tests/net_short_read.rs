//! TCP's short-read hint (`net/poll_desc.rs`, "Short reads"): after a read
//! that returned fewer bytes than asked, the next read may be skipped and
//! the caller parked at once. These are the cases where a short read does
//! *not* mean "nothing more to read now" — the end of the stream, the
//! urgent-data mark, a local shutdown — and the ones where data arrives
//! around the skipped read; each must return what a plain read returns,
//! never hang. Every body runs under the watchdog, from threads and from
//! goroutines on one and two workers.
#![cfg(all(not(loom), target_os = "linux"))]

mod common;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::time::Duration;

use baton::net::{TcpListener, TcpStream};
use common::{both, spawn};

/// A connected pair over loopback: (ours, the peer's).
fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (b, _) = l.accept().unwrap();
    (a, b)
}

/// Reads until `want` bytes came (each read into a buffer larger than
/// what is left, so the last one is short).
fn read_n(s: &TcpStream, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < want {
        let n = (&*s).read(&mut buf).unwrap();
        assert_ne!(n, 0, "end of stream after {} of {want} bytes", got.len());
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// Data, then the peer's FIN: the short read that takes the data is
/// followed by a read that must return 0, not park.
fn short_read_then_end() {
    for _ in 0..50 {
        let (a, mut b) = pair();
        b.write_all(b"last words").unwrap();
        b.shutdown(Shutdown::Write).unwrap();
        assert_eq!(read_n(&a, 10), b"last words");
        let mut buf = [0u8; 64];
        assert_eq!((&a).read(&mut buf).unwrap(), 0);
        assert_eq!((&a).read(&mut buf).unwrap(), 0);
    }
}

#[test]
fn a_short_read_then_the_end_of_the_stream_returns_0() {
    both("short read then end", 60, short_read_then_end);
}

/// Request/response with the peer sending after a delay, so the read after
/// each short read is skipped and parks: every reply arrives.
fn short_reads_then_late_data() {
    let (a, b) = pair();
    spawn(move || {
        let mut b = b;
        for i in 0..200u32 {
            if i % 20 == 0 {
                baton::time::sleep(Duration::from_millis(1));
            }
            b.write_all(&i.to_le_bytes()).unwrap();
            let mut ack = [0u8; 1];
            b.read_exact(&mut ack).unwrap();
        }
    });
    for i in 0..200u32 {
        assert_eq!(read_n(&a, 4), i.to_le_bytes());
        (&a).write_all(b"k").unwrap();
    }
}

#[test]
fn short_reads_then_late_data_never_hang() {
    both("short reads then late data", 60, short_reads_then_late_data);
}

/// Urgent data: a TCP read stops short at the urgent mark with the rest
/// of the stream still queued. The reader must get everything sent after
/// the mark too (without `SO_OOBINLINE` the urgent byte itself is taken
/// out of the stream).
fn urgent_mark_stops_a_read_short() {
    for _ in 0..20 {
        let (a, b) = pair();
        let fd = b.as_raw_fd();
        (&b).write_all(b"before").unwrap();
        // SAFETY: sends one byte from a live buffer on an open socket.
        let sent = unsafe { libc::send(fd, b"!".as_ptr().cast(), 1, libc::MSG_OOB) };
        assert_eq!(
            sent,
            1,
            "send(MSG_OOB): {}",
            std::io::Error::last_os_error()
        );
        (&b).write_all(b"after").unwrap();
        drop(b);
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match (&a).read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => panic!("read: {e}"),
            }
        }
        assert_eq!(got, b"beforeafter");
    }
}

#[test]
fn the_urgent_mark_does_not_strand_the_rest_of_the_stream() {
    both("urgent mark", 60, urgent_mark_stops_a_read_short);
}

/// A local `shutdown(Read)` after a short read: the next read returns 0.
fn short_read_then_local_shutdown() {
    let (a, mut b) = pair();
    b.write_all(b"hello").unwrap();
    assert_eq!(read_n(&a, 5), b"hello");
    a.shutdown(Shutdown::Read).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!((&a).read(&mut buf).unwrap(), 0);
}

#[test]
fn a_short_read_then_a_local_shutdown_returns_0() {
    both(
        "short read then shutdown",
        60,
        short_read_then_local_shutdown,
    );
}
