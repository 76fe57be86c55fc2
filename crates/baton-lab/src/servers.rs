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
//! connections need 10k descriptors per process, not 20k.
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

/// Runs server `name` on `addr` until the process is killed.
pub(crate) fn serve(name: &str, addr: &str) -> Result<(), String> {
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| format!("`{addr}` is not a socket address: {e}"))?;
    let result = match name {
        "baton" => baton(addr),
        "hyper" => hyper(addr),
        "may-minihttp" => may_minihttp(addr),
        "std" => std_threads(addr),
        "echo-baton" => echo_baton(addr),
        "echo-tokio" => echo_tokio(addr),
        "echo-std" => echo_std(addr),
        _ => return Err(format!("no server {name:?} (one of {NAMES:?})")),
    };
    result.map_err(|e| format!("server {name} on {addr}: {e}"))
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
fn say_listening(scheme: &str, addr: SocketAddr) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {scheme}{addr}")?;
    out.flush()
}

/// One connection of an echo server: 64-byte messages back until the end.
pub(crate) fn echo_back<S: Read + Write>(mut s: S) {
    let mut buf = [0u8; ECHO_MSG];
    while s.read_exact(&mut buf).is_ok() && s.write_all(&buf).is_ok() {}
}

fn echo_baton(addr: SocketAddr) -> io::Result<()> {
    baton::go(move || {
        let listener = baton::net::TcpListener::bind(addr)?;
        say_listening("", listener.local_addr()?)?;
        for s in listener.incoming() {
            let Ok(s) = s else { continue };
            let _ = s.set_nodelay(true);
            drop(baton::go(move || echo_back(&s)));
        }
        Ok(())
    })
    .join()
    .map_err(|_| io::Error::other("the echo server goroutine panicked"))?
}

fn echo_tokio(addr: SocketAddr) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        say_listening("", listener.local_addr()?)?;
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = [0u8; ECHO_MSG];
                while s.read_exact(&mut buf).await.is_ok() && s.write_all(&buf).await.is_ok() {}
            });
        }
    })
}

fn echo_std(addr: SocketAddr) -> io::Result<()> {
    let listener = std::net::TcpListener::bind(addr)?;
    say_listening("", listener.local_addr()?)?;
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
    Ok(())
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
pub(crate) struct Process(Child);

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
        let mut process = Process(child);
        process.wait_ready()?;
        Ok(process)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let child = &mut self.0;
        let stdout = child.stdout.take().ok_or("the server has no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let ready = lines
                .by_ref()
                .map_while(Result::ok)
                .any(|l| l.starts_with("listening on "));
            let _ = tx.send(ready);
            // Keep draining, so a chatty server never blocks on a full pipe.
            lines.for_each(drop);
        });
        match rx.recv_timeout(READY) {
            Ok(true) => {
                // Drain its stderr too (unread, a chatty server would block
                // on a full pipe).
                if let Some(err) = child.stderr.take() {
                    std::thread::spawn(move || io::copy(&mut { err }, &mut io::sink()));
                }
                Ok(())
            }
            Ok(false) | Err(mpsc::RecvTimeoutError::Disconnected) => {
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
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
