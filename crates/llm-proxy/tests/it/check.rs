//! `llm-proxy check URL` against a running `serve`, a closed port, a server
//! that answers 500 and one that never answers.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Output;
use std::thread;

use crate::llm_proxy;
use crate::server::Server;

fn check(url: &str) -> Output {
    llm_proxy().args(["check", url]).output().unwrap()
}

/// Exit code 1 and one line on stderr that contains `message`.
fn assert_fails(output: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(message), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn passes_against_a_running_service() {
    let server = Server::start();
    let url = format!("http://{}/healthz", server.addr);
    let output = check(&url);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("{url}: HTTP/1.1 200 OK\n")
    );
}

/// A name resolves as a Kubernetes service name would; `localhost` may list
/// `::1` first, where nothing listens, so this also tries the next address.
#[test]
fn resolves_host_names() {
    let server = Server::start();
    let output = check(&format!("http://localhost:{}/healthz", server.addr.port()));
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn fails_on_a_status_other_than_2xx() {
    let server = Server::start();
    let output = check(&format!("http://{}/nope", server.addr));
    assert_fails(&output, "unexpected status `HTTP/1.1 404 Not Found`");
}

#[test]
fn fails_on_a_500_and_names_it() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let one_shot = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
            head.push(byte[0]);
        }
        stream
            .write_all(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        String::from_utf8(head).unwrap()
    });
    let output = check(&format!("http://{addr}/healthz?probe=1"));
    assert_fails(
        &output,
        "unexpected status `HTTP/1.1 500 Internal Server Error`",
    );
    let request = one_shot.join().unwrap();
    assert!(
        request.starts_with(&format!(
            "GET /healthz?probe=1 HTTP/1.1\r\nHost: {addr}\r\n"
        )),
        "{request:?}"
    );
}

#[test]
fn fails_on_a_closed_port() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let output = check(&format!("http://{addr}/healthz"));
    assert_fails(&output, &format!("connection refused by {addr}"));
}

/// The kernel completes the handshake for a listener that never accepts, so
/// the check connects and then waits for an answer that never comes.
#[test]
fn fails_on_a_server_that_never_answers() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let output = check(&format!("http://{addr}/healthz"));
    assert_fails(&output, "timed out after 5s waiting for the response");
    drop(listener);
}

#[test]
fn invalid_url_is_a_usage_error() {
    for url in [
        "https://llm-proxy/healthz",
        "llm-proxy:8080",
        "http://host:99999/",
    ] {
        let output = check(url);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{url}: {stderr}");
        assert!(
            stderr.contains(&format!("`check {url}`: not a URL to check")),
            "{stderr}"
        );
    }
}
