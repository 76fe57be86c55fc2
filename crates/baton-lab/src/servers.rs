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

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;

/// baton's example server, compiled in so that the lab measures that very
/// code (its `main` and `pub` items are the example's, unused or private
/// here).
#[allow(dead_code, unreachable_pub)]
#[path = "../../baton/examples/http_server.rs"]
mod http_server;

/// The servers `serve` knows, by name.
pub(crate) const NAMES: &[&str] = &["baton", "hyper", "may-minihttp", "std"];

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
    say_listening(listener.local_addr()?)?;
    let ctx = baton::context::background();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        // Small stacks: the connection's buffers are on the heap.
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || http_server::serve_connection(&stream, &ctx))?;
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
        say_listening(listener.local_addr()?)?;
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
    say_listening(addr)?;
    server
        .join()
        .map_err(|_| io::Error::other("may_minihttp's server coroutine panicked"))
}

/// The line `wrk.rs` waits for.
fn say_listening(addr: SocketAddr) -> io::Result<()> {
    use std::io::Write;
    let mut out = io::stdout().lock();
    writeln!(out, "listening on http://{addr}")?;
    out.flush()
}
