//! A small HTTP/1.1 server on `std::net::TcpListener`, for the node's
//! operations endpoint only: a handful of fixed paths, one request per
//! connection, bounded request size and timeouts. It runs on its own thread
//! and hands every request but `/livez` to the node's loop, which owns the
//! coordinator and answers from its current state.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

/// Connections being answered (so the node can finish answering `leave` before it exits).
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Waits until no answer is being written, at most `limit`.
pub fn settle(limit: Duration) {
    let t0 = Instant::now();
    while IN_FLIGHT.load(Ordering::SeqCst) > 0 && t0.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The longest request head read (request line and headers).
const MAX_HEAD: usize = 8 * 1024;

/// A request the node's loop answers.
#[derive(Debug)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Where the answer goes.
    pub reply: SyncSender<Response>,
}

/// An answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Response {
    /// A plain-text answer.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Response { status, content_type: "text/plain; charset=utf-8", body: body.into() }
    }

    /// A JSON answer.
    pub fn json(status: u16, body: String) -> Self {
        Response { status, content_type: "application/json", body }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Binds `addr` and serves on a new thread; requests go to `to_node`, which
/// returns `false` if the node cannot take them (it is stopping or overloaded).
pub fn serve(addr: SocketAddr, to_node: impl Fn(Request) -> bool + Send + 'static) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    std::thread::Builder::new().name("http".into()).spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
            if handle(stream, &to_node).is_err() {
                log::debug!(target: "http", "a connection failed");
            }
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        }
    })?;
    Ok(local)
}

fn handle(mut stream: TcpStream, to_node: &impl Fn(Request) -> bool) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut reader = BufReader::new(stream.try_clone()?.take(MAX_HEAD as u64));
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    // Skip the headers; bodies are not read (no endpoint takes one).
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let path = target.split('?').next().unwrap_or("").to_string();
    let response = if method.is_empty() || path.is_empty() {
        Response::text(400, "bad request\n")
    } else if path == "/livez" {
        Response::text(200, "ok\n")
    } else {
        let (tx, rx): (SyncSender<Response>, Receiver<Response>) = sync_channel(1);
        if to_node(Request { method, path, reply: tx }) {
            rx.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|_| Response::text(503, "node busy\n"))
        } else {
            Response::text(503, "node stopping or overloaded\n")
        }
    };
    write!(
        stream,
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        reason(response.status),
        response.content_type,
        response.body.len()
    )?;
    stream.write_all(response.body.as_bytes())?;
    stream.flush()
}

/// A minimal client for the `status`, `members` and `leave` commands and the
/// tests: one request, the status code and body back.
pub fn request(addr: &str, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse::<u16>().ok()).unwrap_or(0);
    Ok((status, body.to_string()))
}
