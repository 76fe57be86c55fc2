//! The HTTP servers of the `http` experiment, each run as a process of its
//! own by the hidden `baton-lab serve --server NAME --addr ADDR` command
//! (see `wrk.rs`): it binds `ADDR`, prints `listening on http://ADDR` and
//! serves until killed. All answer `GET /` with the 13-byte `Hello, World!`
//! (`text/plain`, with `Date` and `Content-Length`) and keep connections
//! alive.
//!
//! - `baton`: baton's example server itself (`crates/baton/examples/http_server.rs`,
//!   compiled into the lab): one goroutine per connection.
//! - `hyper`: hyper 1.x's HTTP/1 server on tokio's multi-thread runtime, one
//!   task per connection (its default worker count: one per allowed core).
//! - `may-minihttp`: may's stackful-coroutine server (workers: one per
//!   allowed core).
//! - `std`: one OS thread per connection, serving with the example's own
//!   connection code (`serve_connection`): the floor, and the same parsing
//!   as the baton row, so that the difference is threads against goroutines.
//!
//! Go's `net/http` server is the Go harness's (`go/http.go`).
//!
//! The `echo` experiment's servers are here too (`echo-baton`,
//! `echo-tokio`, `echo-std`: a goroutine, task or thread per connection
//! echoing 64-byte messages), in a process of their own so that 10k
//! connections need 10k descriptors per process, not 20k. The `conns`
//! experiment holds its idle connections open against the same servers.
//! An echo server takes a comma-separated list of addresses (`--addr
//! 127.0.0.1:0,127.0.0.1:0`), listens on each (one accept loop each), and
//! says where on one line (`listening on A1,A2`): one client address can
//! open only about 28k connections to one server port (the ephemeral
//! ports), so 100k connections need several listening ports.
//!
//! [`Process`] is how the lab starts one of these (or the Go harness's):
//! the lab picks a free loopback address ([`free_addr`]), starts the
//! process, waits for its `listening on` line, and kills it when done.

use std::convert::Infallible;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to say it listens (process start and bind).
const READY: Duration = Duration::from_secs(20);

/// Bytes per `echo` message (the experiment's).
pub(crate) const ECHO_MSG: usize = 64;

/// baton's example server, compiled in so that the lab measures that very
/// code (its `main` and `pub` items are the example's, unused or private
/// here).
#[allow(dead_code, unreachable_pub)]
#[path = "../../baton/examples/http_server.rs"]
mod http_server;

/// The servers `serve` knows, by name.
pub(crate) const NAMES: &[&str] = &[
    "baton",
    "hyper",
    "may-minihttp",
    "std",
    "echo-baton",
    "echo-tokio",
    "echo-std",
];

/// Runs server `name` on `addr` until the process is killed (the echo
/// servers: on each of the comma-separated addresses in `addr`).
pub(crate) fn serve(name: &str, addr: &str) -> Result<(), String> {
    let addrs = parse_addrs(addr)?;
    let one = || match addrs.as_slice() {
        [a] => Ok(*a),
        _ => Err(format!(
            "server {name} listens on one address, not `{addr}`"
        )),
    };
    let result = match name {
        "baton" => baton(one()?),
        "hyper" => hyper(one()?),
        "may-minihttp" => may_minihttp(one()?),
        "std" => std_threads(one()?),
        "echo-baton" => echo_baton(addrs),
        "echo-tokio" => echo_tokio(addrs),
        "echo-std" => echo_std(addrs),
        _ => return Err(format!("no server {name:?} (one of {NAMES:?})")),
    };
    result.map_err(|e| format!("server {name} on {addr}: {e}"))
}

/// The addresses in `list` (comma-separated, at least one).
pub(crate) fn parse_addrs(list: &str) -> Result<Vec<SocketAddr>, String> {
    list.split(',')
        .map(|a| {
            a.trim()
                .parse()
                .map_err(|e| format!("`{a}` is not a socket address: {e}"))
        })
        .collect()
}

/// The `listening on` line's list of addresses.
fn addr_list(addrs: impl IntoIterator<Item = SocketAddr>) -> String {
    addrs
        .into_iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn baton(addr: SocketAddr) -> io::Result<()> {
    let ctx = baton::context::background();
    baton::go(move || http_server::run(addr, &ctx))
        .join()
        .map_err(|_| io::Error::other("the server goroutine panicked"))?
        .map(drop)
}

fn std_threads(addr: SocketAddr) -> io::Result<()> {
    let listener = std::net::TcpListener::bind(addr)?;
    say_listening("http://", listener.local_addr()?)?;
    let ctx = baton::context::background();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        // Small stacks: the connection's buffers are on the heap. A thread
        // that cannot start drops its connection; the server lives on.
        let spawned = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || http_server::serve_connection(&stream, &ctx));
        if let Err(e) = spawned {
            eprintln!("std: cannot start a connection's thread: {e}");
        }
    }
    Ok(())
}

fn hyper(addr: SocketAddr) -> io::Result<()> {
    use http_body_util::Full;
    use hyper::body::{Bytes, Incoming};
    use hyper::{header, Request, Response};

    async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let mut rsp = Response::new(Full::new(Bytes::from_static(b"Hello, World!")));
        rsp.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/plain"),
        );
        Ok(rsp)
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        say_listening("http://", listener.local_addr()?)?;
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, hyper::service::service_fn(hello))
                    .await;
            });
        }
    })
}

fn may_minihttp(addr: SocketAddr) -> io::Result<()> {
    use may_minihttp::{HttpServer, HttpService, Request, Response};

    #[derive(Clone)]
    struct Hello;

    impl HttpService for Hello {
        fn call(&mut self, _req: Request, rsp: &mut Response) -> io::Result<()> {
            rsp.header("Content-Type: text/plain").body("Hello, World!");
            Ok(())
        }
    }

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    may::config().set_workers(cores);
    let server = HttpServer(Hello).start(addr)?;
    say_listening("http://", addr)?;
    server
        .join()
        .map_err(|_| io::Error::other("may_minihttp's server coroutine panicked"))
}

/// The line [`Process::start`] waits for.
fn say_listening(scheme: &str, addr: impl std::fmt::Display) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {scheme}{addr}")?;
    out.flush()
}

/// One connection of an echo server: 64-byte messages back until the end.
pub(crate) fn echo_back<S: Read + Write>(mut s: S) {
    let mut buf = [0u8; ECHO_MSG];
    while s.read_exact(&mut buf).is_ok() && s.write_all(&buf).is_ok() {}
}

fn echo_baton(addrs: Vec<SocketAddr>) -> io::Result<()> {
    baton::go(move || {
        let listeners = addrs
            .into_iter()
            .map(baton::net::TcpListener::bind)
            .collect::<io::Result<Vec<_>>>()?;
        let bound = listeners
            .iter()
            .map(baton::net::TcpListener::local_addr)
            .collect::<io::Result<Vec<_>>>()?;
        say_listening("", addr_list(bound))?;
        // One accept loop per listener; they run until the process dies.
        let loops: Vec<_> = listeners
            .into_iter()
            .map(|listener| {
                baton::go(move || {
                    for s in listener.incoming() {
                        let Ok(s) = s else { continue };
                        let _ = s.set_nodelay(true);
                        drop(baton::go(move || echo_back(&s)));
                    }
                })
            })
            .collect();
        for l in loops {
            let _ = l.join();
        }
        Ok(())
    })
    .join()
    .map_err(|_| io::Error::other("the echo server goroutine panicked"))?
}

fn echo_tokio(addrs: Vec<SocketAddr>) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut listeners = Vec::with_capacity(addrs.len());
        for addr in addrs {
            listeners.push(tokio::net::TcpListener::bind(addr).await?);
        }
        let bound = listeners
            .iter()
            .map(tokio::net::TcpListener::local_addr)
            .collect::<io::Result<Vec<_>>>()?;
        say_listening("", addr_list(bound))?;
        let loops: Vec<_> = listeners
            .into_iter()
            .map(|listener| {
                tokio::spawn(async move {
                    loop {
                        let Ok((mut s, _)) = listener.accept().await else {
                            continue;
                        };
                        let _ = s.set_nodelay(true);
                        tokio::spawn(async move {
                            let mut buf = [0u8; ECHO_MSG];
                            while s.read_exact(&mut buf).await.is_ok()
                                && s.write_all(&buf).await.is_ok()
                            {}
                        });
                    }
                })
            })
            .collect();
        for l in loops {
            let _ = l.await;
        }
        Ok(())
    })
}

fn echo_std(addrs: Vec<SocketAddr>) -> io::Result<()> {
    let listeners = addrs
        .into_iter()
        .map(std::net::TcpListener::bind)
        .collect::<io::Result<Vec<_>>>()?;
    let bound = listeners
        .iter()
        .map(std::net::TcpListener::local_addr)
        .collect::<io::Result<Vec<_>>>()?;
    say_listening("", addr_list(bound))?;
    let loops: Vec<_> = listeners
        .into_iter()
        .map(|listener| std::thread::spawn(move || echo_std_accept(&listener)))
        .collect();
    for l in loops {
        let _ = l.join();
    }
    Ok(())
}

/// One listener's accept loop of the std echo server.
fn echo_std_accept(listener: &std::net::TcpListener) {
    for s in listener.incoming() {
        let Ok(s) = s else { continue };
        let _ = s.set_nodelay(true);
        // Small stacks: a connection's buffer is 64 bytes. A thread that
        // cannot start drops its connection (the client reports it); the
        // server lives on.
        let spawned = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || echo_back(&s));
        if let Err(e) = spawned {
            eprintln!("echo-std: cannot start a connection's thread: {e}");
        }
    }
}

/// `argv` for one of this lab's servers on `addr` (`baton-lab serve`).
pub(crate) fn lab_server(name: &str, addr: &str) -> Result<Vec<String>, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find the lab's executable: {e}"))?
        .to_string_lossy()
        .into_owned();
    Ok([exe.as_str(), "serve", "--server", name, "--addr", addr]
        .map(str::to_owned)
        .to_vec())
}

/// A free loopback address (`127.0.0.1:PORT`, the kernel's choice of
/// port, released for the server to bind: racy only against other
/// programs binding port 0 at that moment).
pub(crate) fn free_addr() -> Result<String, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    let addr = l.local_addr().map_err(|e| format!("no free port: {e}"))?;
    Ok(addr.to_string())
}

/// A server process, killed when dropped.
pub(crate) struct Process {
    child: Child,
    /// What followed `listening on ` in its ready line.
    listening: String,
}

impl Process {
    /// Starts `argv` and waits for its `listening on` line (or its early
    /// death, with the last line it wrote to stderr).
    pub(crate) fn start(argv: &[String]) -> Result<Self, String> {
        use std::os::unix::process::CommandExt;

        let (program, args) = argv.split_first().ok_or("no server command")?;
        let mut cmd = Command::new(program);
        // SAFETY: the closure runs in the child between fork and exec, and
        // calls only `prctl`, which is async-signal-safe; it touches no
        // memory of the parent's.
        unsafe {
            cmd.pre_exec(|| {
                // The server dies with the lab, however the lab ends.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start the server {program}: {e}"))?;
        let mut process = Process {
            child,
            listening: String::new(),
        };
        process.listening = process.wait_ready()?;
        Ok(process)
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where it said it listens: the rest of its `listening on ` line
    /// (e.g. `127.0.0.1:4000,127.0.0.1:4001` for an echo server).
    pub(crate) fn listening(&self) -> &str {
        &self.listening
    }

    /// Waits for the ready line; returns what followed `listening on `.
    fn wait_ready(&mut self) -> Result<String, String> {
        let child = &mut self.child;
        let stdout = child.stdout.take().ok_or("the server has no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let ready = lines
                .by_ref()
                .map_while(Result::ok)
                .find_map(|l| l.strip_prefix("listening on ").map(str::to_owned));
            let _ = tx.send(ready);
            // Keep draining, so a chatty server never blocks on a full pipe.
            lines.for_each(drop);
        });
        match rx.recv_timeout(READY) {
            Ok(Some(listening)) => {
                // Drain its stderr too (unread, a chatty server would block
                // on a full pipe).
                if let Some(err) = child.stderr.take() {
                    std::thread::spawn(move || io::copy(&mut { err }, &mut io::sink()));
                }
                Ok(listening)
            }
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = child.kill();
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                let last = err
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                Err(format!("the server exited before it listened: {last}"))
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
                "the server did not say it listens within {READY:?}"
            )),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
