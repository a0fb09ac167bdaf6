//! Graceful shutdown: real signals, sent with `kill`, to a real `serve` process
//! while a request is in flight.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::Duration;

use crate::server::{Response, Server};

/// Opens a connection and sends the first half of a request head, then makes
/// sure the server has accepted it: it accepts in order, so once a later
/// connection is answered, this one has its own thread and counts as in flight.
fn half_sent_request(server: &Server) -> TcpStream {
    let mut stream = server.connect();
    stream.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    assert_eq!(server.get("/healthz").status, 200);
    stream
}

/// Whether connecting to `addr` is refused within a generous time; the
/// listener closes soon after the signal, not at the instant `kill` returns.
/// The 5 s budget stays below the server's 10 s head deadline, after which the
/// request in flight would end, the process exit, and the port be refused anyway.
fn refused_soon(addr: SocketAddr) -> bool {
    (0..100).any(|_| match TcpStream::connect(addr) {
        Err(e) => e.kind() == io::ErrorKind::ConnectionRefused,
        Ok(_) => {
            thread::sleep(Duration::from_millis(50));
            false
        }
    })
}

fn in_flight_request_is_answered_after(signal: &str) {
    // A bound far beyond what the test waits, so no failure below can be
    // masked by the process exiting at the bound.
    let mut server = Server::start_with(&["--shutdown-timeout", "600"]);
    let mut in_flight = half_sent_request(&server);

    server.signal(signal);
    assert!(
        refused_soon(server.addr),
        "{} still accepts connections after SIG{signal}",
        server.addr
    );
    in_flight.write_all(b"Host: localhost\r\n\r\n").unwrap();
    let mut raw = String::new();
    in_flight.read_to_string(&mut raw).unwrap();
    let response = Response::parse(&raw);

    let (status, stderr) = server.wait();
    assert_eq!((response.status, response.body.as_str()), (200, "ok\n"));
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("SIG{signal} received")),
        "{stderr}"
    );
    assert!(stderr.ends_with("llm-proxy: stopped\n"), "{stderr}");
}

#[test]
fn sigterm_answers_the_request_in_flight_refuses_new_ones_and_exits_0() {
    in_flight_request_is_answered_after("TERM");
}

#[test]
fn sigint_answers_the_request_in_flight_refuses_new_ones_and_exits_0() {
    in_flight_request_is_answered_after("INT");
}

/// A connection that has sent nothing carries no request. The bound here is
/// shorter than the 10 s head deadline, so only closing it lets the process exit 0.
#[test]
fn idle_connection_is_closed_rather_than_waited_for() {
    let mut server = Server::start_with(&["--shutdown-timeout", "5"]);
    let mut idle = server.connect();
    assert_eq!(server.get("/healthz").status, 200);

    server.signal("TERM");
    let (status, stderr) = server.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert_eq!(
        idle.read(&mut [0u8; 1]).unwrap(),
        0,
        "closed without an answer"
    );
}

#[test]
fn request_unfinished_at_the_bound_is_abandoned_with_exit_1() {
    let mut server = Server::start_with(&["--shutdown-timeout", "1"]);
    let _never_finished = half_sent_request(&server);

    server.signal("TERM");
    let (status, stderr) = server.wait();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("connection(s) unfinished: the shutdown bound of 1s has passed"),
        "{stderr}"
    );
}
