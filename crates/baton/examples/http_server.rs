//! An HTTP/1.1 server: one goroutine per connection, plain blocking code.
//!
//! Every connection gets its own goroutine, which reads requests, parses them
//! with `httparse` and writes the replies, in a loop, for as long as the
//! client keeps the connection alive. While a socket has nothing to read, its
//! goroutine is parked by `baton::net` and the worker thread runs others, so
//! a few worker threads serve thousands of connections.
//!
//! ```sh
//! cargo run --release -p baton --example http_server              # 127.0.0.1:8080
//! cargo run --release -p baton --example http_server 0.0.0.0:3000
//! cargo run --release -p baton --example http_server 9000         # 127.0.0.1:9000
//! curl -i http://127.0.0.1:8080/         # HTTP/1.1 200 OK ... Hello, World!
//! wrk -t2 -c256 -d10s --latency http://127.0.0.1:8080/
//! ```
//!
//! What it serves: `GET` (or `HEAD`) `/` and `/plaintext` answer `200` with
//! the 13-byte body `Hello, World!` (`text/plain`, with `Date` and
//! `Content-Length`); other paths answer `404`, other methods `405`. Keep-alive
//! follows HTTP/1.1 (on unless `Connection: close`; HTTP/1.0 only with
//! `Connection: keep-alive`), pipelined requests are answered in order with
//! one write per batch. Bad input gets an error reply and the connection is
//! closed, never the server: a malformed request `400`, a head or body larger
//! than the read buffer `431`/`413`, a chunked request body `501`.
//!
//! Graceful shutdown: the first Ctrl-C (or `SIGTERM`) cancels
//! `baton::signal::shutdown_context()`. The server stops accepting, shuts the
//! read side of every open connection (an idle keep-alive connection ends at
//! once; a request being served is finished and answered with
//! `Connection: close`), waits for every connection goroutine to end, prints
//! what it served and exits 0. A second Ctrl-C ends the process at once (130).
//!
//! `accept` errors such as `EMFILE` (out of descriptors) do not end the
//! server: it backs off (5 ms, doubling up to 1 s, as Go's `http.Server`
//! does) and tries again, so it recovers once descriptors free up.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use baton::context::Context;
use baton::net::{TcpListener, TcpStream};
use baton::sync::{Mutex, WaitGroup};

/// Where the server listens unless the command line says otherwise.
const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The plaintext body (TechEmpower's plaintext test).
const BODY: &[u8] = b"Hello, World!";

/// Bytes a connection reads into: a request head (and any body) must fit.
/// 8 KiB is the head limit of most servers (nginx's default buffer, Go's is
/// 1 MiB); the buffer is allocated once per connection.
const READ_BUF: usize = 8 * 1024;

/// Headers parsed per request; more is a `431`.
const MAX_HEADERS: usize = 32;

/// First and longest back-off after a failed `accept` (Go's `http.Server`).
const BACKOFF_FIRST: Duration = Duration::from_millis(5);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

fn main() {
    let addr = match parse_addr(std::env::args().nth(1).as_deref()) {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!(
                "http_server: {e}\nusage: http_server [HOST:PORT | PORT] (default {DEFAULT_ADDR})"
            );
            std::process::exit(2);
        }
    };
    let shutdown = baton::signal::shutdown_context();
    let server = baton::go(move || run(addr, &shutdown));
    match server.join().expect("the server goroutine panicked") {
        Ok(stats) => println!(
            "shut down cleanly: {} requests on {} connections",
            stats.requests, stats.connections
        ),
        Err(e) => {
            eprintln!("http_server: {e}");
            std::process::exit(1);
        }
    }
}

/// The address from the command line: `HOST:PORT`, a bare `PORT` (on
/// 127.0.0.1), or none (the default).
pub fn parse_addr(arg: Option<&str>) -> Result<SocketAddr, String> {
    let text = match arg {
        None => DEFAULT_ADDR.to_owned(),
        Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            format!("127.0.0.1:{port}")
        }
        Some(addr) => addr.to_owned(),
    };
    text.to_socket_addrs()
        .map_err(|e| format!("`{text}` is not an address to listen on: {e}"))?
        .next()
        .ok_or_else(|| format!("`{text}` resolves to no address"))
}

/// What a server served before it shut down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub connections: u64,
    pub requests: u64,
}

/// Binds `addr`, prints `listening on http://ADDR` (the port the kernel
/// chose, for port 0) and serves until `shutdown` is done. Call it in a
/// goroutine.
pub fn run(addr: SocketAddr, shutdown: &Context) -> io::Result<Stats> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    println!("listening on http://{local}");
    io::stdout().flush()?;
    serve(listener, shutdown)
}

/// Serves `listener` until `shutdown` is done, then drains (see the module
/// docs). Call it in a goroutine.
pub fn serve(listener: TcpListener, shutdown: &Context) -> io::Result<Stats> {
    let open = Arc::new(Connections::default());
    let requests = Arc::new(AtomicU64::new(0));
    let live = Arc::new(WaitGroup::new());
    let mut connections = 0;
    let mut backoff = BACKOFF_FIRST;
    loop {
        let stream = match listener.accept_ctx(shutdown) {
            Ok((stream, _)) => stream,
            Err(_) if shutdown.is_done() => break,
            Err(e) => {
                // EMFILE and friends: the server lives on (module docs).
                eprintln!("http_server: accept: {e}; retrying in {backoff:?}");
                let _ = baton::time::sleep_ctx(shutdown, backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        };
        backoff = BACKOFF_FIRST;
        let _ = stream.set_nodelay(true);
        let Some(id) = open.insert(&stream) else {
            continue; // no clone to shut it down with: refused (closed here)
        };
        connections += 1;
        live.add(1);
        let (open, requests, live, shutdown) = (
            open.clone(),
            requests.clone(),
            live.clone(),
            shutdown.clone(),
        );
        drop(baton::go(move || {
            let served = serve_connection(&stream, &shutdown);
            requests.fetch_add(served, Relaxed);
            open.remove(id);
            live.done();
        }));
        // An accept that finds a connection waiting does not park, and baton
        // does not preempt: under a flood of new connections this loop would
        // keep its worker from the connections it serves. Go preempts; here
        // the loop steps aside once per connection.
        baton::yield_now();
    }
    // Stop accepting, end the idle connections, let the busy ones finish.
    drop(listener);
    open.close_all();
    live.wait();
    Ok(Stats {
        connections,
        requests: requests.load(Relaxed),
    })
}

/// The open connections (a clone of each, to shut its read side down at
/// shutdown), as Go's `http.Server` tracks them for `Shutdown`. Only the
/// accept loop inserts, and it has ended when `close_all` runs, so no
/// connection can be added after it.
#[derive(Default)]
struct Connections {
    inner: Mutex<ConnectionsInner>,
}

#[derive(Default)]
struct ConnectionsInner {
    next_id: u64,
    open: HashMap<u64, TcpStream>,
}

impl Connections {
    /// Tracks `stream`; `None` (and the stream left alone) when it cannot
    /// be cloned.
    fn insert(&self, stream: &TcpStream) -> Option<u64> {
        let clone = match stream.try_clone() {
            Ok(clone) => clone,
            Err(e) => {
                eprintln!("http_server: cannot track a connection ({e}); closing it");
                return None;
            }
        };
        let mut inner = self.inner.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.open.insert(id, clone);
        Some(id)
    }

    fn remove(&self, id: u64) {
        self.inner.lock().open.remove(&id);
    }

    /// Shuts the read side of every open connection: a goroutine waiting
    /// for a request reads end-of-file and ends; one serving a request
    /// answers it first.
    fn close_all(&self) {
        let inner = self.inner.lock();
        for stream in inner.open.values() {
            let _ = stream.shutdown(Shutdown::Read);
        }
    }
}

/// Serves one connection until the client closes it, asks to, sends bad
/// input, or `shutdown` is done; returns how many requests it answered.
/// Generic over the stream so that the lab's thread-per-connection floor
/// serves with the same code.
pub fn serve_connection<S>(mut stream: S, shutdown: &Context) -> u64
where
    S: Read + Write,
{
    let mut conn = Conn::new();
    loop {
        let close = conn.answer_buffered(shutdown.is_done());
        if !conn.out.is_empty() && stream.write_all(&conn.out).is_err() {
            return conn.served;
        }
        conn.out.clear();
        if close {
            return conn.served;
        }
        if conn.filled == conn.buf.len() {
            // A head (or head and body) that can never fit.
            let _ = stream.write_all(&reply(431, "Request Header Fields Too Large", true));
            return conn.served;
        }
        match stream.read(&mut conn.buf[conn.filled..]) {
            Ok(0) | Err(_) => return conn.served,
            Ok(n) => conn.filled += n,
        }
    }
}

/// One connection's buffers and counters.
struct Conn {
    /// Bytes read and not yet answered: `buf[..filled]`.
    buf: Box<[u8]>,
    filled: usize,
    /// Replies to write, one write per batch of pipelined requests.
    out: Vec<u8>,
    served: u64,
    date: DateCache,
}

impl Conn {
    fn new() -> Self {
        Self {
            buf: vec![0; READ_BUF].into_boxed_slice(),
            filled: 0,
            out: Vec::with_capacity(1024),
            served: 0,
            date: DateCache::default(),
        }
    }

    /// Answers every complete request in the buffer into `out`, keeps the
    /// incomplete rest at the front, and says whether to close after
    /// writing `out`.
    fn answer_buffered(&mut self, shutting_down: bool) -> bool {
        let mut start = 0;
        let mut close = false;
        while start < self.filled && !close {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut req = httparse::Request::new(&mut headers);
            let head_len = match req.parse(&self.buf[start..self.filled]) {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) => break,
                Err(httparse::Error::TooManyHeaders) => {
                    self.out.extend_from_slice(&reply(
                        431,
                        "Request Header Fields Too Large",
                        true,
                    ));
                    return true;
                }
                Err(_) => {
                    self.out.extend_from_slice(&reply(400, "Bad Request", true));
                    return true;
                }
            };
            let head = Head::read(&req);
            let body = match head.body {
                Body::Length(n) => n,
                Body::Chunked => {
                    self.out
                        .extend_from_slice(&reply(501, "Not Implemented", true));
                    return true;
                }
                Body::Invalid => {
                    self.out.extend_from_slice(&reply(400, "Bad Request", true));
                    return true;
                }
            };
            if head_len.saturating_add(body) > self.buf.len() {
                self.out
                    .extend_from_slice(&reply(413, "Content Too Large", true));
                return true;
            }
            if start + head_len + body > self.filled {
                break; // the body is still on its way
            }
            start += head_len + body;
            close = !head.keep_alive || shutting_down;
            self.respond(&head, close);
            self.served += 1;
        }
        self.buf.copy_within(start..self.filled, 0);
        self.filled -= start;
        close
    }

    /// Appends the reply to one request.
    fn respond(&mut self, head: &Head, close: bool) {
        let (status, body): (&str, &[u8]) = match (head.method, head.path_known) {
            (Method::Get | Method::Head, true) => ("200 OK", BODY),
            (Method::Get | Method::Head, false) => ("404 Not Found", b"Not Found"),
            (Method::Other, _) => ("405 Method Not Allowed", b"Method Not Allowed"),
        };
        let out = &mut self.out;
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.as_bytes());
        out.extend_from_slice(b"\r\nServer: baton\r\nContent-Type: text/plain\r\nDate: ");
        out.extend_from_slice(self.date.now());
        out.extend_from_slice(b"\r\nContent-Length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        if close {
            out.extend_from_slice(b"\r\nConnection: close");
        } else if !head.http11 {
            out.extend_from_slice(b"\r\nConnection: keep-alive");
        }
        out.extend_from_slice(b"\r\n\r\n");
        if head.method != Method::Head {
            out.extend_from_slice(body);
        }
    }
}

/// A whole reply of its own, for errors (always `Connection: close`).
fn reply(code: u16, reason: &str, close: bool) -> Vec<u8> {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "HTTP/1.1 {code} {reason}\r\nServer: baton\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\n{connection}\r\n{reason}",
        reason.len()
    )
    .into_bytes()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    Length(usize),
    Chunked,
    Invalid,
}

/// What the server needs of a parsed request head.
#[derive(Clone, Copy, Debug)]
struct Head {
    method: Method,
    path_known: bool,
    http11: bool,
    keep_alive: bool,
    body: Body,
}

impl Head {
    fn read(req: &httparse::Request<'_, '_>) -> Self {
        let method = match req.method {
            Some("GET") => Method::Get,
            Some("HEAD") => Method::Head,
            _ => Method::Other,
        };
        let path = req.path.unwrap_or("");
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let http11 = req.version == Some(1);
        let mut keep_alive = http11;
        let mut body = Body::Length(0);
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("connection") {
                let v = h.value;
                if contains_token(v, b"close") {
                    keep_alive = false;
                } else if contains_token(v, b"keep-alive") {
                    keep_alive = true;
                }
            } else if h.name.eq_ignore_ascii_case("content-length") {
                body = match (body, parse_length(h.value)) {
                    (Body::Length(0), Some(n)) => Body::Length(n),
                    (Body::Length(m), Some(n)) if m == n => Body::Length(n),
                    (Body::Chunked, _) => Body::Chunked,
                    _ => Body::Invalid, // unreadable, or two that differ
                };
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                body = Body::Chunked;
            }
        }
        Self {
            method,
            path_known: path == "/" || path == "/plaintext",
            http11,
            keep_alive,
            body,
        }
    }
}

/// Whether the comma-separated header value `v` holds `token` (any case).
fn contains_token(v: &[u8], token: &[u8]) -> bool {
    v.split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

/// A `Content-Length` value: ASCII digits only.
fn parse_length(v: &[u8]) -> Option<usize> {
    let v = v.trim_ascii();
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// The `Date` header's value (RFC 9110's IMF-fixdate), formatted again
/// only when the second changes.
#[derive(Default)]
struct DateCache {
    second: u64,
    text: [u8; 29],
}

impl DateCache {
    fn now(&mut self) -> &[u8; 29] {
        let second = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if second != self.second || self.text[0] == 0 {
            self.second = second;
            self.text = http_date(second);
        }
        &self.text
    }
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` for `secs` since the Unix epoch.
fn http_date(secs: u64) -> [u8; 29] {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    let rem = secs % 86_400;
    let text = format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    let mut out = [b' '; 29];
    out.copy_from_slice(&text.as_bytes()[..29]);
    out
}

/// (year, month 1-12, day 1-31) of day `z` since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `input` through a connection and returns what it wrote.
    fn exchange(input: &[u8]) -> (String, u64) {
        struct Pipe<'a> {
            input: &'a [u8],
            output: Vec<u8>,
        }
        impl Read for Pipe<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                // Three bytes at a time: every parse sees partial requests.
                let n = buf.len().min(self.input.len()).min(3);
                buf[..n].copy_from_slice(&self.input[..n]);
                self.input = &self.input[n..];
                Ok(n)
            }
        }
        impl Write for Pipe<'_> {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.output.extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut pipe = Pipe {
            input,
            output: Vec::new(),
        };
        let served = serve_connection(&mut pipe, &baton::context::background());
        (String::from_utf8(pipe.output).unwrap(), served)
    }

    #[test]
    fn keep_alive_and_pipelined_requests_are_answered_in_order() {
        let (out, served) = exchange(
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\n\r\n\
              POST /plaintext HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello\
              GET /plaintext?x=1 HTTP/1.1\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        );
        assert_eq!(served, 4, "{out}");
        let statuses: Vec<&str> = out
            .match_indices("HTTP/1.1 ")
            .map(|(i, _)| &out[i + 9..i + 12])
            .collect();
        assert_eq!(statuses, ["200", "404", "405", "200"], "{out}");
        assert_eq!(out.matches("Hello, World!").count(), 2);
        assert!(
            out.ends_with("Connection: close\r\n\r\nHello, World!"),
            "{out}"
        );
        assert!(out.contains("Content-Length: 13\r\n"));
    }

    #[test]
    fn bad_input_gets_an_error_reply_and_the_connection_closes() {
        let (out, served) = exchange(b"GARBAGE\x01 / HTTP/1.1\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 400 "), "{out}");
        assert_eq!(served, 0);
        let (out, _) = exchange(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 501 "), "{out}");
        let (out, _) = exchange(b"POST / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 413 "), "{out}");
        let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(READ_BUF));
        let (out, _) = exchange(huge.as_bytes());
        assert!(out.starts_with("HTTP/1.1 431 "), "{out}");
    }

    #[test]
    fn http10_closes_unless_asked_to_keep_alive() {
        let (out, served) = exchange(b"GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n");
        assert_eq!(served, 1, "{out}");
        let (out, served) =
            exchange(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n");
        assert_eq!(served, 2, "{out}");
        assert!(out.contains("Connection: keep-alive"));
    }

    /// A real server on loopback: keep-alive requests on one connection,
    /// then the shutdown ends the idle connection and `serve` returns.
    #[test]
    fn serves_keep_alive_and_shuts_down_gracefully() {
        use std::sync::mpsc;

        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let (ctx, cancel) = baton::context::with_cancel(&baton::context::background());
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let server = baton::go(move || serve(listener, &ctx));
            let client = baton::go(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                let mut got = Vec::new();
                for _ in 0..3 {
                    c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                    let mut reply = Vec::new();
                    while !reply.ends_with(b"Hello, World!") {
                        let mut buf = [0; 512];
                        let n = c.read(&mut buf).unwrap();
                        assert!(n > 0, "the server closed a keep-alive connection");
                        reply.extend_from_slice(&buf[..n]);
                    }
                    got.push(String::from_utf8(reply).unwrap());
                }
                (c, got)
            });
            let (mut c, got) = client.join().unwrap();
            cancel.cancel();
            let stats = server.join().unwrap().unwrap();
            // The server shut the idle connection down: end of stream.
            let mut rest = Vec::new();
            c.read_to_end(&mut rest).unwrap();
            done_tx.send((got, stats, rest)).unwrap();
        });
        let (got, stats, rest) = done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server did not shut down within 60 s (a hang)");
        for reply in &got {
            assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
            assert!(reply.ends_with("\r\n\r\nHello, World!"), "{reply}");
        }
        assert_eq!(
            stats,
            Stats {
                connections: 1,
                requests: 3
            }
        );
        assert!(rest.is_empty());
    }

    #[test]
    fn dates_are_imf_fixdates() {
        assert_eq!(&http_date(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&http_date(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&http_date(951_782_400), b"Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn addresses_from_the_command_line() {
        assert_eq!(parse_addr(None).unwrap(), DEFAULT_ADDR.parse().unwrap());
        assert_eq!(
            parse_addr(Some("9000")).unwrap(),
            "127.0.0.1:9000".parse().unwrap()
        );
        assert_eq!(
            parse_addr(Some("0.0.0.0:1")).unwrap(),
            "0.0.0.0:1".parse().unwrap()
        );
        assert!(parse_addr(Some("nonsense")).is_err());
    }
}
