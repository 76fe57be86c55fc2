//! A TCP ping-pong over loopback: one client and one server, each sending
//! 1-byte messages back and forth, as goroutines (1 and 2 workers) and as
//! std threads with std's blocking sockets. Prints round trips per second,
//! and with 2 workers whether the two goroutines ran on one worker or on
//! both: the rate depends mostly on that (see `baton::net`, "What was
//! measured").
//!
//! `cargo run --release -p baton --example net_pingpong [round_trips] [rounds]`

use std::io::{Read, Write};
use std::time::Instant;

/// The server side: echoes every byte until the client hangs up. The same
/// code serves a std socket on a thread and a baton socket in a goroutine.
fn echo(mut c: impl Read + Write) {
    let mut b = [0u8; 1];
    while c.read_exact(&mut b).is_ok() {
        c.write_all(&b).unwrap();
    }
}

/// The client side: `n` timed round trips; round trips per second.
fn round_trips(mut c: impl Read + Write, n: usize) -> f64 {
    let t = Instant::now();
    let mut b = [7u8; 1];
    for _ in 0..n {
        c.write_all(&b).unwrap();
        c.read_exact(&mut b).unwrap();
    }
    n as f64 / t.elapsed().as_secs_f64()
}

fn std_threads(n: usize) -> f64 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (c, _) = l.accept().unwrap();
        c.set_nodelay(true).unwrap();
        echo(c);
    });
    let c = std::net::TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    let rate = round_trips(c, n); // `c` drops: the server's read ends
    server.join().unwrap();
    rate
}

/// The worker thread running the caller.
fn worker_name() -> Option<String> {
    std::thread::current().name().map(String::from)
}

/// Round trips per second, and whether both goroutines ran on one worker.
fn goroutines(rt: &baton::runtime::Runtime, n: usize) -> (f64, bool) {
    rt.run(move || {
        let l = baton::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = baton::go(move || {
            let (c, _) = l.accept().unwrap();
            c.set_nodelay(true).unwrap();
            echo(c);
            worker_name()
        });
        let client = baton::go(move || {
            let c = baton::net::TcpStream::connect(addr).unwrap();
            c.set_nodelay(true).unwrap();
            (round_trips(c, n), worker_name())
        });
        let (rate, at) = client.join().unwrap();
        let same = server.join().unwrap() == at;
        (rate, same)
    })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(20_000, |a| a.parse().unwrap());
    let rounds: usize = args.next().map_or(3, |a| a.parse().unwrap());
    let rt1 = baton::runtime::Builder::new().workers(1).build();
    let rt2 = baton::runtime::Builder::new().workers(2).build();
    for r in 0..rounds {
        let s = std_threads(n);
        let (g1, _) = goroutines(&rt1, n);
        let (g2, same) = goroutines(&rt2, n);
        let placed = if same { "one worker" } else { "one per worker" };
        println!(
            "round {r}: std threads {s:.0}/s, goroutines 1 worker {g1:.0}/s ({:.2}x std), 2 workers {g2:.0}/s ({:.2}x std, {placed})",
            g1 / s,
            g2 / s
        );
    }
}
