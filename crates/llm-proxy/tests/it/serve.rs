//! `llm-proxy serve` on a free port, spoken to over plain TCP as a probe would.

use std::io::{Read, Write};

use crate::expected_version;
use crate::server::Server;

#[test]
fn healthz_is_ok() {
    let server = Server::start();
    let response = server.get("/healthz");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, "ok\n");
    assert_eq!(response.header("content-length"), Some("3"));
}

#[test]
fn version_reports_the_build_stamps() {
    let server = Server::start();
    let response = server.get("/version");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let (version, commit) = expected_version();
    assert_eq!(
        response.body,
        format!(r#"{{"name":"llm-proxy","version":"{version}","commit":"{commit}"}}"#)
    );
}

#[test]
fn unknown_paths_and_other_methods_are_refused() {
    let server = Server::start();
    assert_eq!(server.get("/").status, 404);
    let post = server.exchange(b"POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET"));
    assert_eq!(server.exchange(b"nonsense\r\n\r\n").status, 400);
}

#[test]
fn oversized_request_head_is_refused_not_buffered() {
    let server = Server::start();
    let mut request = b"GET /healthz HTTP/1.1\r\nX-Padding: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 16 * 1024));
    let mut stream = server.connect();
    // The server may stop reading and close before taking all of it.
    let _ = stream.write_all(&request);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.1 431 "), "{raw:?}");
}

/// A client that connects and never sends must not keep the server from answering others.
#[test]
fn silent_client_does_not_block_others() {
    let server = Server::start();
    let _silent = server.connect();
    assert_eq!(server.get("/healthz").status, 200);
}
