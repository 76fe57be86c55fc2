//! `baton::net` under oversubscription: 16 client threads (8x the cores)
//! and 64 client goroutines at once against a goroutine-per-connection
//! echo server on a two-worker runtime, each doing small round trips with
//! deadlines set (and moved before every call, so deadline wake-ups race
//! with readiness), under the watchdog.
#![cfg(all(not(loom), target_os = "linux"))]

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use baton::net::{TcpListener, TcpStream};

const ROUNDS: usize = if cfg!(debug_assertions) { 200 } else { 2000 };

/// `ROUNDS` 64-byte round trips, moving the deadlines before each.
fn client(addr: std::net::SocketAddr, id: u8) {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    let mut buf = [0u8; 64];
    for r in 0..ROUNDS {
        c.set_deadline(Some(Instant::now() + Duration::from_secs(60)));
        let msg = [id ^ r as u8; 64];
        c.write_all(&msg).unwrap();
        c.read_exact(&mut buf).unwrap();
        assert_eq!(buf, msg, "client {id} round {r}: wrong echo");
    }
}

#[test]
fn echo_with_more_threads_than_cores_and_goroutines() {
    common::within("net stress", 240, || {
        let rt = baton::runtime::Builder::new().workers(2).build();
        let l = Arc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = l.local_addr().unwrap();
        let server = {
            let l = l.clone();
            rt.go(move || loop {
                let Ok((mut conn, _)) = l.accept() else {
                    return;
                };
                baton::go(move || {
                    conn.set_nodelay(true).unwrap();
                    let mut buf = [0; 64];
                    loop {
                        match conn.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => conn.write_all(&buf[..n]).unwrap(),
                        }
                    }
                });
            })
        };
        let goroutines: Vec<_> = (0..64u8)
            .map(|id| rt.go(move || client(addr, id)))
            .collect();
        std::thread::scope(|s| {
            for id in 0..16u8 {
                s.spawn(move || client(addr, 100 + id));
            }
        });
        for g in goroutines {
            g.join().unwrap();
        }
        l.close();
        server.join().unwrap();
    });
}
