//! The socket side of `serve`: bind, accept, one thread per connection, and
//! the limits that keep a slow or oversized client from holding the service.
//!
//! Every connection gets one deadline for its whole request head, not a
//! per-read timeout, because a client trickling one byte per timeout period
//! would otherwise keep its thread forever. Connections beyond a fixed number
//! are answered 503 on the accept thread instead of spawning more threads.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::build_info::BuildInfo;
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

/// Binds `listen`, announces the bound address on stdout, and serves until the process is killed.
///
/// The announcement is the first line of stdout, `listening on IP:PORT`, so
/// whoever started the service with port 0 can learn the port it got.
pub fn run(listen: SocketAddr, info: BuildInfo, limits: Limits) -> io::Result<()> {
    let listener = TcpListener::bind(listen)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    let bound = listener.local_addr()?;
    {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "listening on {bound}")?;
        stdout.flush()?;
    }

    let info = Arc::new(info);
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
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
        let slot = match ConnectionSlot::claim(&open, limits.max_connections) {
            Some(slot) => slot,
            None => {
                refuse_busy(stream, limits);
                continue;
            }
        };
        let info = Arc::clone(&info);
        let spawned = thread::Builder::new()
            .name("connection".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                let _slot = slot;
                serve_connection(stream, &info, limits);
            });
        if let Err(e) = spawned {
            eprintln!("cannot start a connection thread: {e}");
        }
    }
    Ok(())
}

/// Counts a connection as open until dropped, including when its thread panics.
struct ConnectionSlot(Arc<AtomicUsize>);

impl ConnectionSlot {
    fn claim(open: &Arc<AtomicUsize>, max: usize) -> Option<ConnectionSlot> {
        open.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .ok()
        .map(|_| ConnectionSlot(Arc::clone(open)))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Answers on the accept thread, so it must not wait on the client:
/// a short write timeout, and no reading.
fn refuse_busy(mut stream: TcpStream, limits: Limits) {
    let _ = stream.set_write_timeout(Some(limits.write_timeout.min(Duration::from_secs(1))));
    let _ = stream.write_all(&Response::error(Status::ServiceUnavailable).encode());
}

fn serve_connection(mut stream: TcpStream, info: &BuildInfo, limits: Limits) {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "unknown peer".to_owned(), |a| a.to_string());
    let response = match read_head(&mut stream, limits) {
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
        // The client went away before finishing its request: nobody to answer.
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
fn read_head(stream: &mut TcpStream, limits: Limits) -> Result<Vec<u8>, HeadError> {
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
            serve_connection(stream, &BuildInfo::current(), limits);
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

    #[test]
    fn connection_slots_are_capped_and_released() {
        let open = Arc::new(AtomicUsize::new(0));
        let first = ConnectionSlot::claim(&open, 2).unwrap();
        let _second = ConnectionSlot::claim(&open, 2).unwrap();
        assert!(ConnectionSlot::claim(&open, 2).is_none());
        drop(first);
        assert!(ConnectionSlot::claim(&open, 2).is_some());
    }
}
