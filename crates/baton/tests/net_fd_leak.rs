//! No descriptor leaks: many connect/accept/close cycles (and clones,
//! std conversions, closed sockets) leave `/proc/self/fd` as it was. One
//! test in its own binary, so no other test opens descriptors meanwhile.
#![cfg(all(not(loom), target_os = "linux"))]

mod common;

use std::io::Read;

use baton::net::{TcpListener, TcpStream, UdpSocket};

const WORKERS: usize = 2;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn no_descriptor_leak_after_many_connect_close_cycles() {
    let cycles: usize = if cfg!(debug_assertions) {
        5_000
    } else {
        100_000
    };
    common::within("net fd leak", 300, move || {
        let rt = baton::runtime::Builder::new().workers(WORKERS).build();
        rt.run(move || {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = l.local_addr().unwrap();
            // Warm up: the poller's epoll descriptor and thread, the
            // blocking pool.
            drop(TcpStream::connect(addr).unwrap());
            drop(l.accept().unwrap());
            let before = open_fds();
            for i in 0..cycles {
                let c = TcpStream::connect(addr).unwrap();
                let (mut s, _) = l.accept().unwrap();
                match i % 4 {
                    // The server closes first (no TIME_WAIT on the client's
                    // port): the client reads the end.
                    0 => {
                        drop(s);
                        assert_eq!((&c).read(&mut [0; 1]).unwrap(), 0);
                    }
                    // `close` while still held, then drop.
                    1 => {
                        s.close();
                        drop(s);
                        drop(c);
                    }
                    // A clone of each end.
                    2 => {
                        let c2 = c.try_clone().unwrap();
                        drop(c);
                        drop(s.try_clone().unwrap());
                        drop(s);
                        drop(c2);
                    }
                    // Out to std and back.
                    _ => {
                        let std_c = c.into_std().unwrap();
                        drop(TcpStream::from_std(std_c).unwrap());
                        assert_eq!(s.read(&mut [0; 1]).unwrap(), 0);
                    }
                }
            }
            drop(UdpSocket::bind("127.0.0.1:0").unwrap());
            let after = open_fds();
            // A worker takes its own epoll instance (an epoll descriptor and
            // a wake eventfd, kept for the process) the first time it polls
            // after the first socket; a worker asleep since before the
            // warm-up may do so during the cycles. Up to that, nothing may
            // be left over (a leak per cycle would show thousands).
            let instances = 2 * WORKERS;
            assert!(
                after >= before && after - before <= instances,
                "descriptors leaked over {cycles} cycles: {before} before, {after} after"
            );
        });
    });
}
