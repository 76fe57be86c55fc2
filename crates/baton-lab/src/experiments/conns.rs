//! `conns`: what an idle connection costs a server, in resident memory:
//! one server process holding N connections open, each with its own
//! goroutine (task, thread) parked in `read`.
//!
//! The servers are the `echo` experiment's (`servers.rs`; Go's is the Go
//! harness's `-echo-server`): one goroutine per connection reading 64-byte
//! messages into a 64-byte buffer and writing them back (baton's buffer is
//! on the goroutine's stack, Go's on its heap: `make([]byte, 64)` escapes
//! into `Read`). The lab's process is the client, the same plain blocking
//! std sockets for every row: it starts the server, reads its resident set
//! (`VmRSS` in `/proc/PID/status`) with no connection open, opens N
//! connections in batches of [`BATCH`] (each batch connects, writes one
//! 64-byte message on every connection, then reads every echo back, so
//! that every server goroutine has started, served, and gone back to
//! `read`, where it parks), waits a moment for the last ones to park, and
//! reads the resident set again. The figure is
//! `rss_bytes = (RSS with N - RSS with 0) / N`: resident bytes per idle
//! connection (the goroutine's stack pages touched, its header, the
//! socket's user-space state: poll descriptor, buffers, the runtime's
//! tables). One op = one connection opened and served one round trip
//! (ops/s is only how fast the client set them up).
//!
//! **Kernel memory is not in the figure.** A socket's kernel side lives in
//! the kernel's slab (on the lab's machines: `tcp_sock` 2,368 bytes, the
//! socket inode 832, the `file` and `dentry` 192 each, about 3.5 KiB per
//! end, plus a 128-byte epoll item for a registered socket), and its
//! receive and send buffers are allocated only while data is queued: an
//! idle connection has none, so `/proc/net/sockstat`'s `mem` does not grow
//! either. None of it is in any process's RSS, and it is about the same
//! for every row. One kernel cost does differ and is not in RSS either:
//! each baton goroutine's stack is a mapping of its own (two VMAs, stack
//! and guard, about 200 bytes each) and its page tables (`VmPTE`: about
//! 130 bytes per goroutine measured at 19k connections, one page-table
//! page per 2 MiB of spread-out stacks), where Go's stacks are packed in
//! its heap. The figure compares what the runtimes themselves keep per
//! connection in user space.
//!
//! Sizes: N = 2,000 by default; `--big` adds 100,000 (measured once). 100k
//! connections need, in the server and in the client (the lab), 100k
//! descriptors each (the lab raises `RLIMIT_NOFILE`, hard limit included
//! where it may, before it starts the server, which inherits it: see
//! `echo::room_for`; where the hard limit cannot be raised, as in a
//! container without `CAP_SYS_RESOURCE`, the case measures as many
//! connections as it allows, says so once, and its row carries the count
//! measured); more than the ~28k ephemeral ports one client
//! address has towards one server port (the server listens on one port
//! per [`PER_LISTENER`] connections, and the clients spread over them);
//! and baton's goroutine stacks, two memory mappings each (stack and
//! guard page), against `vm.max_map_count` (the lab checks it first and
//! prints the `sysctl` that would raise it). The std row (an OS thread per
//! connection) is left out of `--big`: 100k threads exceed this kind of
//! machine's `kernel.pid_max` (32,768 by default), which caps threads too.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::{Big, Case, Experiment, Impl};
use crate::runner::{Sample, Spec};
use crate::servers;

pub(crate) const NAME: &str = "conns";

/// Connections opened before their round trips are read back: below every
/// server's listen backlog (std's is 128), so that no handshake is dropped
/// for a full accept queue and no client waits a second for a SYN retry.
pub(crate) const BATCH: usize = 100;

/// Connections per listening port at most (a client address has about
/// 28k ephemeral ports per server port; this leaves room for others').
pub(crate) const PER_LISTENER: usize = 10_000;

/// How long one connect, write or read may take before the case gives up
/// (only a hang takes this long).
const IO_LIMIT: Duration = Duration::from_secs(30);

/// How long the server gets, after the last echo, for its last goroutines
/// to park in `read` (they have written their echo; what is left is the
/// return to the read loop and the park).
const SETTLE: Duration = Duration::from_millis(200);

/// `--big`: 100k idle connections, without the std row (see the module docs).
const BIG_CONNS: Big = Big {
    threads: &[100_000],
    skip: &["std"],
    maps_per_thread: 2,
};

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: NAME,
        claim: "a baton server holds idle connections, a goroutine parked in read on each, for at most 1.5x the resident bytes per connection of Go's",
        cases: vec![Case {
            name: "idle",
            about: "rss_bytes = the server process's resident bytes per idle connection ((RSS with N - \
                    RSS with 0) / N; kernel socket memory is not in RSS); threads = connections N, each \
                    with a server goroutine (task, thread) parked in a 64-byte read after one round \
                    trip; one op = one connection opened and served; `--big` adds 100k",
            threads: &[2_000],
            latency: false,
            big: Some(BIG_CONNS),
            impls: vec![
                Impl::fallible("baton", "baton::net echo server, a goroutine per connection", |s| {
                    served("echo-baton", s)
                }),
                Impl::go("go", "Go: net echo server (the harness's), a goroutine per connection"),
                Impl::fallible("tokio", "tokio::net echo server on the multi-thread runtime, a task per connection", |s| {
                    served("echo-tokio", s)
                }),
                Impl::fallible("std", "std::net echo server, an OS thread (64 KiB stack) per connection", |s| {
                    served("echo-std", s)
                }),
            ],
        }],
    }
}

/// Measures the lab's own echo server `name` (`baton-lab serve`).
fn served(name: &str, spec: &Spec) -> Result<Sample, String> {
    if name == "echo-baton" {
        maps_room(spec.threads)?;
    }
    measure(|addrs| servers::lab_server(name, addrs), spec)
}

/// Mappings a process needs besides its goroutines' stacks.
const MAP_MARGIN: usize = 10_000;

/// Whether `vm.max_map_count` holds `conns` goroutine stacks (two mappings
/// each), or the `sysctl` that would make it.
fn maps_room(conns: usize) -> Result<(), String> {
    let cap = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    let need = conns * 2 + MAP_MARGIN;
    match cap {
        Some(cap) if cap < need => Err(format!(
            "{conns} goroutines' stacks need {need} memory mappings; vm.max_map_count is {cap}: \
             run `sudo sysctl -w vm.max_map_count={need}` first"
        )),
        _ => Ok(()),
    }
}

/// Listening ports for `conns` connections: one per [`PER_LISTENER`], or
/// per half the ephemeral port range where that is smaller.
fn listeners(conns: usize) -> usize {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            let mut it = s.split_whitespace().map(|p| p.parse::<usize>().ok());
            let (lo, hi) = (it.next()??, it.next()??);
            hi.checked_sub(lo).map(|d| d + 1)
        })
        .unwrap_or(28_232);
    let per = PER_LISTENER.min(range / 2).max(1);
    conns.div_ceil(per).max(1)
}

/// The resident set of process `pid` in bytes (`VmRSS` in its status).
pub(crate) fn rss_of(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| format!("{path} has no VmRSS line"))
}

/// Opens `conns` connections spread over `addrs`, [`BATCH`] at a time,
/// each completing one 64-byte round trip; returns them (held open).
fn open(addrs: &[SocketAddr], conns: usize) -> Result<Vec<TcpStream>, String> {
    let mut open = Vec::with_capacity(conns);
    let mut msg = [7u8; servers::ECHO_MSG];
    while open.len() < conns {
        let first = open.len();
        for k in first..conns.min(first + BATCH) {
            let addr = addrs[k % addrs.len()];
            let mut s = TcpStream::connect_timeout(&addr, IO_LIMIT)
                .map_err(|e| format!("connection {k} to {addr}: {e}"))?;
            s.set_read_timeout(Some(IO_LIMIT))
                .and_then(|()| s.set_write_timeout(Some(IO_LIMIT)))
                .and_then(|()| s.write_all(&msg))
                .map_err(|e| format!("connection {k}: write: {e}"))?;
            open.push(s);
        }
        for (k, s) in open.iter_mut().enumerate().skip(first) {
            s.read_exact(&mut msg)
                .map_err(|e| format!("connection {k}: reading the echo: {e}"))?;
        }
    }
    Ok(open)
}

/// One measurement of the server `server(addrs)` starts (its argv, given
/// the comma-separated addresses to listen on) at `spec.threads`
/// connections; see the module docs. Also how the Go harness's server is
/// measured (`crate::go`).
pub(crate) fn measure(
    server: impl FnOnce(&str) -> Result<Vec<String>, String>,
    spec: &Spec,
) -> Result<Sample, String> {
    // Before the server starts: it inherits the limit.
    let conns = room(spec.threads)?;
    let addrs = vec!["127.0.0.1:0"; listeners(conns)].join(",");
    let process = servers::Process::start(&server(&addrs)?)?;
    let addrs = servers::parse_addrs(process.listening())?;
    let before = rss_of(process.pid())?;
    let t0 = Instant::now();
    let clients = open(&addrs, conns)?;
    let elapsed = t0.elapsed();
    std::thread::sleep(SETTLE);
    let after = rss_of(process.pid())?;
    // The server first: its ends close, then the clients' (no TIME_WAIT
    // left on the client's ephemeral ports).
    drop(process);
    drop(clients);
    Ok(Sample {
        ops: conns as u64,
        elapsed,
        rss_bytes: Some(after.saturating_sub(before) / conns.max(1) as u64),
        scaled_threads: (conns != spec.threads).then_some(conns),
        ..Sample::default()
    })
}

/// Fewest connections worth measuring when the descriptor limit forces
/// fewer than asked.
const FEWEST: usize = 1_000;

/// Makes descriptor room for `conns` connections in this process (and the
/// server it starts next), or, where the hard limit cannot be raised (no
/// `CAP_SYS_RESOURCE`, as in some containers, even as root), for as many
/// as it allows: returns the count to measure, and says once why it is
/// fewer. The figure is per connection, so a smaller count still measures
/// it, from fewer samples.
fn room(conns: usize) -> Result<usize, String> {
    let why = match super::echo::room_for(conns) {
        Ok(()) => return Ok(conns),
        Err(why) => why,
    };
    let most = super::echo::most_conns().filter(|&m| m >= FEWEST.min(conns));
    let Some(most) = most.filter(|&m| m < conns) else {
        return Err(why);
    };
    super::echo::room_for(most)?;
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        eprintln!(
            "conns: {conns} connections do not fit: {why}. Measuring {most} connections instead \
             (the figure is bytes per connection); the row says {most}"
        );
    });
    Ok(most)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn listeners_cover_the_connections() {
        assert_eq!(listeners(1), 1);
        assert!(listeners(100_000) >= 100_000 / PER_LISTENER);
        assert!(listeners(100_000) * PER_LISTENER >= 100_000);
    }

    #[test]
    fn rss_of_reads_this_process_and_fails_for_no_process() {
        let rss = rss_of(std::process::id()).unwrap();
        assert!(rss > 0);
        assert!(rss_of(u32::MAX).is_err());
    }

    #[test]
    fn maps_room_names_the_sysctl_when_too_low() {
        assert!(maps_room(1).is_ok());
        let err = maps_room(1 << 40).unwrap_err();
        assert!(err.contains("sysctl -w vm.max_map_count="), "{err}");
    }

    /// The client side against an echo server in a thread of this process:
    /// every connection opened, served, and held.
    #[test]
    fn open_holds_every_connection_across_listeners() {
        let addrs = "127.0.0.1:0,127.0.0.1:0";
        let l: Vec<_> = servers::parse_addrs(addrs)
            .unwrap()
            .into_iter()
            .map(|a| std::net::TcpListener::bind(a).unwrap())
            .collect();
        let bound: Vec<SocketAddr> = l.iter().map(|l| l.local_addr().unwrap()).collect();
        for listener in l {
            std::thread::spawn(move || {
                for s in listener.incoming() {
                    let s = s.unwrap();
                    std::thread::spawn(move || servers::echo_back(&s));
                }
            });
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(open(&bound, 2 * BATCH + 3).map(|c| c.len())));
        let n = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("opening 203 connections hung")
            .unwrap();
        assert_eq!(n, 2 * BATCH + 3);
    }
}
