//! `echo`: 64-byte request/response round trips over loopback, one
//! connection per client; the clients in the lab's process, the server in
//! a process of its own (`baton-lab serve --server echo-*`, see
//! `servers.rs`; Go's harness starts its own).
//!
//! "threads" = connections = clients (goroutines, tasks, or OS threads for
//! the std row); each client connects (untimed), waits for the start, then
//! writes 64 bytes and reads the 64 echoed back, over and over, until the
//! stop; one op = one round trip. The server runs one goroutine (task,
//! thread) per connection that reads 64 bytes and writes them back. The
//! figure is all clients' round trips over the time from the start to the
//! last client's stop. Every socket has `TCP_NODELAY`, as Go sets by default.
//! Each client completes one untimed round trip before the start, retrying
//! its connect when a listen backlog overflowed (see [`CONNECT_TRIES`]).
//!
//! 10k connections need 10k descriptors in each process (the server apart,
//! so that they fit under a hard limit of 20k): the soft `RLIMIT_NOFILE` is
//! raised (and the hard one, where the process may: root) before the
//! server starts (it inherits it), and a row that still would not fit is
//! skipped with a note saying so. With `--quick`
//! only the 100-connection row runs (see [`super::FIRST_COUNT_WHEN_QUICK`]).

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use std::net::SocketAddr;

use super::{Case, Experiment, Impl};
use crate::runner::{Sample, Spec};
use crate::servers;

/// Bytes per message.
const MSG: usize = servers::ECHO_MSG;

/// Descriptors a process needs besides the connections' (stdio, the
/// runtime's epoll and eventfds, the listener, libraries').
const FD_MARGIN: u64 = 64;

/// Stack of each std client and server thread (their buffers are 64 bytes).
const STD_STACK: usize = 64 * 1024;

pub(crate) fn experiment() -> Experiment {
    Experiment {
        name: "echo",
        claim: "baton's goroutine-per-connection echo round trips beat Go's, and at 10k connections show what a thread per connection costs",
        cases: vec![Case {
            name: "roundtrip",
            about: "one op = one 64-byte write and 64-byte echoed read over loopback TCP; threads = \
                    connections (client goroutines/tasks/threads, each with its own server-side one)",
            threads: &[100, 10_000],
            latency: false,
            big: None,
            impls: vec![
                Impl::fallible("baton", "baton::net, a goroutine per client and per server connection", baton_echo),
                Impl::go("go", "Go: net, a goroutine per client and per server connection"),
                Impl::fallible("tokio", "tokio::net on the multi-thread runtime, a task per client and per connection", tokio_echo),
                Impl::fallible("std", "std::net, an OS thread per client and per server connection", std_echo),
            ],
        }],
    }
}

/// Raises the descriptor limit so that `conns` connections' ends (one
/// process's) fit: the soft limit up to the hard one, and the hard one too where the
/// process may (root); says why not when they cannot.
pub(crate) fn room_for(conns: usize) -> Result<(), String> {
    let need = conns as u64 + FD_MARGIN;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the call to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(format!(
            "getrlimit(RLIMIT_NOFILE): {}",
            std::io::Error::last_os_error()
        ));
    }
    if lim.rlim_cur >= need {
        return Ok(());
    }
    let raised = libc::rlimit {
        rlim_cur: need,
        rlim_max: lim.rlim_max.max(need),
    };
    // SAFETY: `raised` is a valid rlimit; the kernel refuses (EPERM) a hard
    // limit above the current one unless the process may raise it.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(format!(
            "{conns} connections need {need} descriptors; RLIMIT_NOFILE is {} (hard {}) and could \
             not be raised ({}): skipped (raise the hard limit: `ulimit -Hn {need}` as root)",
            lim.rlim_cur,
            lim.rlim_max,
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// The most connections [`room_for`] can make room for: the hard
/// `RLIMIT_NOFILE` less the margin (what a process that may not raise its
/// hard limit can reach), or `None` when the limit cannot be read.
pub(crate) fn most_conns() -> Option<usize> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for the call to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    let most = lim.rlim_max.saturating_sub(FD_MARGIN);
    Some(usize::try_from(most).unwrap_or(usize::MAX))
}

/// A start line for the clients: each [`arrive`](Gate::arrive)s once
/// connected (or failed) and waits; the measuring thread opens it once all
/// have arrived. Used by the std row, whose clients are threads.
struct Gate {
    state: Mutex<(usize, bool)>,
    cond: Condvar,
}

impl Gate {
    fn new() -> Self {
        Self {
            state: Mutex::new((0, false)),
            cond: Condvar::new(),
        }
    }

    fn arrive(&self) {
        let mut s = self.state.lock().unwrap();
        s.0 += 1;
        self.cond.notify_all();
        while !s.1 {
            s = self.cond.wait(s).unwrap();
        }
    }

    /// Waits for `n` arrivals, then opens.
    fn open_after(&self, n: usize) {
        let mut s = self.state.lock().unwrap();
        while s.0 < n {
            s = self.cond.wait(s).unwrap();
        }
        s.1 = true;
        self.cond.notify_all();
    }
}

/// Tries a client makes to connect and complete one (untimed) round trip.
/// 10k clients connecting at once overflow a listen backlog (std's is 128,
/// tokio's 1024; Go's and baton's are `somaxconn`): the kernel then drops
/// the handshake's last step or resets the connection at its first data,
/// which a retry after a nap gets past. The clients measure the servers'
/// serving, not their backlogs.
const CONNECT_TRIES: u32 = 8;

/// The nap before retry `attempt` (1, 2, ...): 10 ms doubling.
fn connect_nap(attempt: u32) -> Duration {
    Duration::from_millis(10 << attempt.min(6))
}

/// A connection that has completed one round trip, by `connect`, retried
/// with `nap` between tries (see [`CONNECT_TRIES`]).
fn connected<S: Read + Write>(
    mut connect: impl FnMut() -> std::io::Result<S>,
    mut nap: impl FnMut(Duration),
) -> Result<S, String> {
    let mut last = String::new();
    for attempt in 0..CONNECT_TRIES {
        if attempt > 0 {
            nap(connect_nap(attempt));
        }
        let mut buf = [7u8; MSG];
        let tried = connect().and_then(|mut s| {
            s.write_all(&buf)?;
            s.read_exact(&mut buf)?;
            Ok(s)
        });
        match tried {
            Ok(s) => return Ok(s),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!(
        "connect and first round trip, {CONNECT_TRIES} tries: {last}"
    ))
}

/// One client's loop: round trips until `stop`; returns how many.
fn round_trips<S: Read + Write>(mut s: S, stop: &AtomicBool) -> Result<u64, String> {
    let mut buf = [7u8; MSG];
    let mut n = 0;
    while !stop.load(Relaxed) {
        s.write_all(&buf)
            .map_err(|e| format!("client write: {e}"))?;
        s.read_exact(&mut buf)
            .map_err(|e| format!("client read: {e}"))?;
        n += 1;
    }
    Ok(n)
}

/// Starts the lab's echo server `name` (room for `conns` made first, so
/// that it inherits the limit); returns it (killed when dropped) and its
/// address.
fn start_server(name: &str, conns: usize) -> Result<(servers::Process, SocketAddr), String> {
    room_for(conns)?;
    let addr = servers::free_addr()?;
    let server = servers::Process::start(&servers::lab_server(name, &addr)?)?;
    let addr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    Ok((server, addr))
}

/// The first client error, if any, else the total.
fn total(results: impl IntoIterator<Item = Result<u64, String>>) -> Result<u64, String> {
    results.into_iter().sum()
}

fn baton_echo(spec: &Spec) -> Result<Sample, String> {
    let (_server, addr) = start_server("echo-baton", spec.threads)?;
    baton_clients(addr, spec)
}

/// The baton row's clients against the server at `addr`.
fn baton_clients(addr: SocketAddr, spec: &Spec) -> Result<Sample, String> {
    use baton::net::TcpStream;

    let conns = spec.threads;
    let seconds = spec.seconds;
    let rt = super::runtime_builder().name("echo").build();
    rt.run(move || {
        let stop = Arc::new(AtomicBool::new(false));
        let ready = Arc::new(baton::sync::WaitGroup::new());
        ready.add(conns as isize);
        let (release, start) = baton::chan::bounded::<()>(0);
        let clients: Vec<_> = (0..conns)
            .map(|_| {
                let (stop, ready, start) = (stop.clone(), ready.clone(), start.clone());
                baton::go(move || {
                    let s = connected(
                        || TcpStream::connect(addr).and_then(|s| s.set_nodelay(true).map(|()| s)),
                        baton::time::sleep,
                    );
                    ready.done();
                    let _ = start.recv(); // closed: go
                    round_trips(&s?, &stop)
                })
            })
            .collect();
        ready.wait();
        let t0 = Instant::now();
        drop(release);
        baton::time::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Relaxed);
        let ops = total(
            clients
                .into_iter()
                .map(|c| c.join().expect("an echo client panicked")),
        );
        Ok(Sample {
            ops: ops?,
            elapsed: t0.elapsed(),
            ..Sample::default()
        })
    })
}

fn tokio_echo(spec: &Spec) -> Result<Sample, String> {
    let (_server, addr) = start_server("echo-tokio", spec.threads)?;
    tokio_clients(addr, spec)
}

/// The tokio row's clients against the server at `addr`.
fn tokio_clients(addr: SocketAddr, spec: &Spec) -> Result<Sample, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    let conns = spec.threads;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let stop = Arc::new(AtomicBool::new(false));
        let start = Arc::new(tokio::sync::Barrier::new(conns + 1));
        let clients: Vec<_> = (0..conns)
            .map(|_| {
                let (stop, start) = (stop.clone(), start.clone());
                tokio::spawn(async move {
                    let mut s = Err(String::new());
                    for attempt in 0..CONNECT_TRIES {
                        if attempt > 0 {
                            tokio::time::sleep(connect_nap(attempt)).await;
                        }
                        s = async {
                            let mut s = TcpStream::connect(addr).await?;
                            s.set_nodelay(true)?;
                            let mut buf = [7u8; MSG];
                            s.write_all(&buf).await?;
                            s.read_exact(&mut buf).await?;
                            Ok::<_, std::io::Error>(s)
                        }
                        .await
                        .map_err(|e| {
                            format!("connect and first round trip, {CONNECT_TRIES} tries: {e}")
                        });
                        if s.is_ok() {
                            break;
                        }
                    }
                    start.wait().await;
                    let mut s = s?;
                    let mut buf = [7u8; MSG];
                    let mut n = 0u64;
                    while !stop.load(Relaxed) {
                        s.write_all(&buf)
                            .await
                            .map_err(|e| format!("client write: {e}"))?;
                        s.read_exact(&mut buf)
                            .await
                            .map_err(|e| format!("client read: {e}"))?;
                        n += 1;
                    }
                    Ok::<u64, String>(n)
                })
            })
            .collect();
        start.wait().await;
        let t0 = Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(spec.seconds)).await;
        stop.store(true, Relaxed);
        let mut results = Vec::with_capacity(conns);
        for c in clients {
            results.push(c.await.map_err(|e| format!("an echo client failed: {e}"))?);
        }
        let elapsed = t0.elapsed();
        Ok(Sample {
            ops: total(results)?,
            elapsed,
            ..Sample::default()
        })
    })
}

fn std_echo(spec: &Spec) -> Result<Sample, String> {
    let (_server, addr) = start_server("echo-std", spec.threads)?;
    std_clients(addr, spec)
}

/// The std row's clients against the server at `addr`.
fn std_clients(addr: SocketAddr, spec: &Spec) -> Result<Sample, String> {
    use std::net::TcpStream;
    use std::thread;

    let conns = spec.threads;
    let stop = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(Gate::new());
    let mut clients = Vec::with_capacity(conns);
    let mut spawn_error = None;
    for _ in 0..conns {
        let (client_stop, gate) = (stop.clone(), gate.clone());
        let spawned = thread::Builder::new().stack_size(STD_STACK).spawn(move || {
            let s = connected(
                || TcpStream::connect(addr).and_then(|s| s.set_nodelay(true).map(|()| s)),
                thread::sleep,
            );
            gate.arrive();
            round_trips(&s?, &client_stop)
        });
        match spawned {
            Ok(h) => clients.push(h),
            Err(e) => {
                // The ones started still need their start: give it, stop
                // them at once, and report.
                spawn_error = Some(format!("client thread {} of {conns}: {e}", clients.len()));
                stop.store(true, Relaxed);
                break;
            }
        }
    }
    gate.open_after(clients.len());
    let t0 = Instant::now();
    if spawn_error.is_none() {
        thread::sleep(Duration::from_secs_f64(spec.seconds));
    }
    stop.store(true, Relaxed);
    let results: Vec<_> = clients
        .into_iter()
        .map(|c| c.join().expect("an echo client panicked"))
        .collect();
    let elapsed = t0.elapsed();
    if let Some(e) = spawn_error {
        return Err(e);
    }
    Ok(Sample {
        ops: total(results)?,
        elapsed,
        ..Sample::default()
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// Each row's clients against its server, here in a thread of the
    /// test's process (the lab runs the server as `baton-lab serve`, which
    /// a unit test's executable is not).
    #[test]
    fn every_row_runs_and_counts_round_trips() {
        type Clients = fn(SocketAddr, &Spec) -> Result<Sample, String>;
        let rows: [(&str, Clients); 3] = [
            ("echo-baton", baton_clients),
            ("echo-tokio", tokio_clients),
            ("echo-std", std_clients),
        ];
        let spec = Spec {
            threads: 8,
            seconds: 0.05,
            latency: false,
        };
        for (server, clients) in rows {
            let addr = servers::free_addr().unwrap();
            let serve_addr = addr.clone();
            // Serves until the test process ends.
            std::thread::spawn(move || servers::serve(server, &serve_addr));
            let addr: SocketAddr = addr.parse().unwrap();
            let t0 = Instant::now();
            while std::net::TcpStream::connect(addr).is_err() {
                assert!(
                    t0.elapsed() < Duration::from_secs(60),
                    "{server} never listened"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            // A hang (a lost wake-up in a poller) fails with a message.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || tx.send(clients(addr, &spec)));
            let s = rx
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("{server}'s clients hung for 120 s"))
                .unwrap();
            assert!(s.ops > 0 && s.elapsed > Duration::ZERO, "{server}: {s:?}");
        }
    }

    #[test]
    fn room_for_says_when_the_hard_limit_is_too_low() {
        assert!(room_for(8).is_ok());
        // More than any kernel allows (its nr_open is at most 2^30).
        let err = room_for(1 << 40).unwrap_err();
        assert!(err.contains("RLIMIT_NOFILE"), "{err}");
    }
}
