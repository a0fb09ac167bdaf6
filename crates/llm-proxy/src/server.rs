//! The socket side of `serve`: bind, accept, one thread per connection, the
//! limits that keep a slow or oversized client from holding the service, and
//! the stop that ends it gracefully.
//!
//! Every connection gets one deadline for its whole request head, not a
//! per-read timeout, because a client trickling one byte per timeout period
//! would otherwise keep its thread forever. Connections beyond a fixed number
//! are answered 503 on the accept thread instead of spawning more threads.
//!
//! A stop (`StopHandle::stop`, called on SIGTERM or SIGINT) sets a flag and
//! then connects to the listener once, so the accept loop, blocked in
//! `accept`, wakes up, sees the flag and closes the listener: from then on new
//! connections are refused. Requests already in flight are answered; idle
//! connections are closed (see `connections`); `serve` returns once all have
//! ended, or when the shutdown bound has passed since the stop.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::build_info::BuildInfo;
use crate::connections::{Connections, Ticket};
use crate::http::{self, Rejection, Response, Status};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Request line plus headers; the routes need neither large URLs nor cookies.
    pub max_head_bytes: usize,
    /// From accept to the end of the request head.
    pub head_deadline: Duration,
    pub write_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_head_bytes: 8 * 1024,
            head_deadline: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_connections: 256,
        }
    }
}

/// How a server that was told to stop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every request in flight was answered.
    Drained,
    /// The shutdown bound passed with this many connections still open.
    Abandoned { open: usize },
}

/// A bound listener, not yet accepting.
pub struct Server {
    listener: TcpListener,
    info: Arc<BuildInfo>,
    limits: Limits,
    stop: StopHandle,
}

impl Server {
    pub fn bind(listen: SocketAddr, info: BuildInfo, limits: Limits) -> io::Result<Server> {
        let listener = TcpListener::bind(listen)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
        let bound = listener.local_addr()?;
        Ok(Server {
            listener,
            info: Arc::new(info),
            limits,
            stop: StopHandle(Arc::new(StopState {
                requested: OnceLock::new(),
                wake: wake_addresses(bound),
            })),
        })
    }

    /// The address bound, with the port resolved when the request was port 0.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// What ends `serve`; it may be used before `serve` starts.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Serves until stopped, then waits for the connections still open, at
    /// most `shutdown_timeout` after the stop.
    pub fn serve(self, shutdown_timeout: Duration) -> Stopped {
        let Server {
            listener,
            info,
            limits,
            stop,
        } = self;
        let connections = Connections::new(limits.max_connections);
        for stream in listener.incoming() {
            if stop.requested_at().is_some() {
                // The wake-up connection, or a client that came after the stop:
                // closing it unanswered is the nearest thing to refusing it.
                break;
            }
            let stream = match stream {
                Ok(stream) => stream,
                Err(e) => {
                    // Usually EMFILE or a connection reset before accept; neither
                    // is fatal, but retrying at once would spin on EMFILE.
                    eprintln!("accept failed: {e}");
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            let ticket = match connections.admit(&stream) {
                Ok(Some(ticket)) => ticket,
                Ok(None) => {
                    refuse_busy(stream, limits);
                    continue;
                }
                Err(e) => {
                    eprintln!("cannot keep track of a connection: {e}");
                    continue;
                }
            };
            let info = Arc::clone(&info);
            let spawned = thread::Builder::new()
                .name("connection".into())
                .stack_size(256 * 1024)
                .spawn(move || serve_connection(stream, &ticket, &info, limits));
            if let Err(e) = spawned {
                eprintln!("cannot start a connection thread: {e}");
            }
        }
        drop(listener);

        let deadline = stop
            .requested_at()
            .and_then(|at| at.checked_add(shutdown_timeout));
        match connections.drain(deadline) {
            0 => Stopped::Drained,
            open => Stopped::Abandoned { open },
        }
    }
}

/// Tells a server to stop accepting and drain; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct StopHandle(Arc<StopState>);

struct StopState {
    requested: OnceLock<Instant>,
    /// Where a connection reaches the listener, in order of preference.
    wake: Vec<SocketAddr>,
}

impl StopHandle {
    /// Starts the stop; the shutdown bound counts from the first call, later calls do nothing.
    pub fn stop(&self) {
        if self.0.requested.set(Instant::now()).is_err() {
            return;
        }
        // The connection itself is the message; it is dropped at once. A
        // listener whose backlog is full cannot take it, but then a queued
        // client wakes the loop just as well.
        let woken = self
            .0
            .wake
            .iter()
            .any(|addr| TcpStream::connect_timeout(addr, Duration::from_secs(1)).is_ok());
        if !woken {
            eprintln!(
                "llm-proxy: cannot connect to {:?} to wake the accept loop: it stops at the next connection",
                self.0.wake
            );
        }
    }

    fn requested_at(&self) -> Option<Instant> {
        self.0.requested.get().copied()
    }
}

/// A listener on the unspecified address is reached through loopback. A
/// dual-stack `[::]` listener also takes IPv4, which matters where IPv6 is
/// disabled and `::1` does not exist.
fn wake_addresses(bound: SocketAddr) -> Vec<SocketAddr> {
    let port = bound.port();
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => vec![(Ipv4Addr::LOCALHOST, port).into()],
        IpAddr::V6(ip) if ip.is_unspecified() => vec![
            (Ipv6Addr::LOCALHOST, port).into(),
            (Ipv4Addr::LOCALHOST, port).into(),
        ],
        _ => vec![bound],
    }
}

/// Answers on the accept thread, so it must not wait on the client:
/// a short write timeout, and no reading.
fn refuse_busy(mut stream: TcpStream, limits: Limits) {
    let _ = stream.set_write_timeout(Some(limits.write_timeout.min(Duration::from_secs(1))));
    let _ = stream.write_all(&Response::error(Status::ServiceUnavailable).encode());
}

fn serve_connection(mut stream: TcpStream, ticket: &Ticket, info: &BuildInfo, limits: Limits) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "unknown peer".to_owned(), |a| a.to_string());
    let response = match read_head(&mut stream, ticket, limits) {
        Ok(head) => match http::parse_request_line(&head) {
            Ok(request) => {
                let response = http::route(request, info);
                // Probes hit /healthz every few seconds on every pod; logging
                // their successes would bury every other line.
                let routine_probe = request.path == "/healthz" && response.status == Status::Ok;
                if !routine_probe {
                    eprintln!(
                        "{peer} {} {} {}",
                        request.method,
                        request.path,
                        response.status.code()
                    );
                }
                response
            }
            Err(Rejection::Malformed) => Response::error(Status::BadRequest),
            Err(Rejection::UnsupportedVersion) => Response::error(Status::VersionNotSupported),
        },
        Err(HeadError::TooLarge) => Response::error(Status::HeaderFieldsTooLarge),
        Err(HeadError::TimedOut) => Response::error(Status::RequestTimeout),
        // The client went away before finishing its request, or a shutdown
        // closed the connection as idle: nobody to answer.
        Err(HeadError::Closed) => return,
        Err(HeadError::Io(e)) => {
            eprintln!("{peer}: reading the request failed: {e}");
            return;
        }
    };
    if let Err(e) = write_response(&mut stream, &response, limits) {
        eprintln!("{peer}: writing the response failed: {e}");
    }
}

fn write_response(stream: &mut TcpStream, response: &Response, limits: Limits) -> io::Result<()> {
    stream.set_write_timeout(Some(limits.write_timeout))?;
    stream.write_all(&response.encode())?;
    stream.flush()?;
    // Half-close so the client sees end-of-response even if it ignores Content-Length.
    stream.shutdown(std::net::Shutdown::Write)?;
    discard_unread_input(stream);
    Ok(())
}

/// Closing a socket with unread input makes the kernel send a reset, which can
/// destroy the response before the client reads it (a 431 to an oversized
/// head, or any reply to a request with a body). So read and drop what the
/// client still sends, for a bounded time and amount, before closing.
fn discard_unread_input(stream: &mut TcpStream) {
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut budget: usize = 64 * 1024;
    let mut sink = [0u8; 4096];
    while budget > 0 {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() || stream.set_read_timeout(Some(remaining)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => budget = budget.saturating_sub(n),
        }
    }
}

#[derive(Debug)]
enum HeadError {
    TooLarge,
    TimedOut,
    Closed,
    Io(io::Error),
}

/// Reads until the blank line that ends the request head; a body, if any, is ignored.
fn read_head(
    stream: &mut TcpStream,
    ticket: &Ticket,
    limits: Limits,
) -> Result<Vec<u8>, HeadError> {
    let deadline = Instant::now() + limits.head_deadline;
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(HeadError::TimedOut);
        }
        stream
            .set_read_timeout(Some(remaining))
            .map_err(HeadError::Io)?;
        let n = match stream.read(&mut chunk) {
            Ok(0) => return Err(HeadError::Closed),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(HeadError::TimedOut);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(HeadError::Io(e)),
        };
        if head.is_empty() && !ticket.begin_request() {
            return Err(HeadError::Closed);
        }
        // Rescan a little before the new bytes: the blank line may straddle two reads.
        let scan_from = head.len().saturating_sub(3);
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = http::head_end(&head[scan_from..]) {
            let end = scan_from + end;
            if end > limits.max_head_bytes {
                return Err(HeadError::TooLarge);
            }
            head.truncate(end);
            return Ok(head);
        }
        if head.len() >= limits.max_head_bytes {
            return Err(HeadError::TooLarge);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves exactly one connection with `limits` and returns what the client received.
    fn exchange_with(limits: Limits, client: impl FnOnce(&mut TcpStream)) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let connections = Connections::new(1);
            let ticket = connections.admit(&stream).unwrap().unwrap();
            serve_connection(stream, &ticket, &BuildInfo::unstamped(), limits);
        });
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        client(&mut stream);
        // Done sending, as a real client is once its request is out.
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut received = Vec::new();
        let _ = stream.read_to_end(&mut received);
        server.join().unwrap();
        String::from_utf8_lossy(&received).into_owned()
    }

    fn short_deadline() -> Limits {
        Limits {
            head_deadline: Duration::from_millis(300),
            ..Limits::default()
        }
    }

    #[test]
    fn trickling_client_times_out_at_the_deadline() {
        let started = Instant::now();
        let received = exchange_with(short_deadline(), |stream| {
            // Each byte arrives well within any per-read timeout; only the
            // overall deadline can end this.
            for &byte in b"GET /healthz" {
                if stream.write_all(&[byte]).is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
        });
        assert!(received.starts_with("HTTP/1.1 408 "), "{received:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn head_split_across_reads_is_found() {
        let received = exchange_with(Limits::default(), |stream| {
            for part in ["GET /healthz HTTP/1.1\r", "\n\r", "\n"] {
                stream.write_all(part.as_bytes()).unwrap();
                thread::sleep(Duration::from_millis(20));
            }
        });
        assert!(received.starts_with("HTTP/1.1 200 "), "{received:?}");
    }

    #[test]
    fn head_limit_is_enforced() {
        let limits = Limits {
            max_head_bytes: 64,
            ..Limits::default()
        };
        let received = exchange_with(limits, |stream| {
            let _ =
                stream.write_all(format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(100)).as_bytes());
        });
        assert!(received.starts_with("HTTP/1.1 431 "), "{received:?}");
    }

    /// A server on a free loopback port, serving on its own thread.
    fn start(shutdown_timeout: Duration) -> (SocketAddr, StopHandle, thread::JoinHandle<Stopped>) {
        let server = Server::bind(
            "127.0.0.1:0".parse().unwrap(),
            BuildInfo::unstamped(),
            Limits::default(),
        )
        .unwrap();
        let addr = server.local_addr().unwrap();
        let stop = server.stop_handle();
        (
            addr,
            stop,
            thread::spawn(move || server.serve(shutdown_timeout)),
        )
    }

    /// Opens a connection and sends the first half of a request head, then
    /// makes sure the server has accepted it: it accepts in order, so once a
    /// later connection is answered, this one has its thread.
    fn request_in_flight(addr: SocketAddr) -> TcpStream {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
        let mut other = TcpStream::connect(addr).unwrap();
        other.write_all(b"GET /healthz HTTP/1.1\r\n\r\n").unwrap();
        let mut answer = String::new();
        other.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer:?}");
        stream
    }

    #[test]
    fn stop_refuses_new_connections_and_answers_the_request_in_flight() {
        let (addr, stop, server) = start(Duration::from_secs(60));
        let mut in_flight = request_in_flight(addr);
        stop.stop();
        // The listener is closed by the accept thread soon after the stop.
        let refused = (0..200).any(|_| match TcpStream::connect(addr) {
            Err(e) => e.kind() == io::ErrorKind::ConnectionRefused,
            Ok(_) => {
                thread::sleep(Duration::from_millis(50));
                false
            }
        });
        assert!(refused, "{addr} still accepts connections after the stop");
        in_flight.write_all(b"Host: localhost\r\n\r\n").unwrap();
        let mut answer = String::new();
        in_flight.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer:?}");
        assert_eq!(server.join().unwrap(), Stopped::Drained);
    }

    #[test]
    fn stop_abandons_requests_unfinished_at_the_bound() {
        let (addr, stop, server) = start(Duration::ZERO);
        let _in_flight = request_in_flight(addr);
        stop.stop();
        // At least the request in flight; the connection that proved it
        // accepted may still be closing too.
        let stopped = server.join().unwrap();
        assert!(
            matches!(stopped, Stopped::Abandoned { open } if open >= 1),
            "{stopped:?}"
        );
    }

    #[test]
    fn wake_goes_through_loopback_for_unspecified_addresses() {
        let check = |bound: &str, expected: &[&str]| {
            let expected: Vec<SocketAddr> = expected.iter().map(|a| a.parse().unwrap()).collect();
            assert_eq!(wake_addresses(bound.parse().unwrap()), expected, "{bound}");
        };
        check("0.0.0.0:8080", &["127.0.0.1:8080"]);
        check("[::]:8080", &["[::1]:8080", "127.0.0.1:8080"]);
        check("10.1.2.3:8080", &["10.1.2.3:8080"]);
        check("[::1]:9000", &["[::1]:9000"]);
    }
}
