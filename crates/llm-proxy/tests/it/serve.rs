//! `llm-proxy serve` on a free port, spoken to over plain TCP as a probe would.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::{expected_version, llm_proxy};

/// A running server, killed when dropped so a failing assertion leaves no process behind.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start() -> Server {
        let mut child = llm_proxy()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        let addr = first_line
            .strip_prefix("listening on ")
            .and_then(|rest| rest.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("unexpected first line {first_line:?}"))
            .parse()
            .unwrap();
        Server { child, addr }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
    }

    /// Sends raw bytes and returns the whole response, which ends when the server closes.
    fn exchange(&self, request: &[u8]) -> Response {
        let mut stream = self.connect();
        stream.write_all(request).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        Response::parse(&raw)
    }

    fn get(&self, path: &str) -> Response {
        self.exchange(format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn parse(raw: &str) -> Response {
        let (head, body) = raw.split_once("\r\n\r\n").expect(raw);
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(": ").expect(line);
                (name.to_ascii_lowercase(), value.to_owned())
            })
            .collect();
        Response {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

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
