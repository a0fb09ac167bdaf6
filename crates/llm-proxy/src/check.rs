//! `llm-proxy check URL`: one plain-HTTP GET, so the image can be its own probe.
//!
//! The image is `FROM scratch`: no shell, no curl. The chart's `helm test`
//! hook runs the same image with `check http://SERVICE:PORT/healthz` instead.
//! The check resolves the host (a Kubernetes service name), sends one
//! HTTP/1.1 request over a std `TcpStream`, reads only the status line, and
//! succeeds on 2xx. Every phase, name resolution included, shares one
//! deadline, `CHECK_TIMEOUT` after the start, so a hook never hangs on a
//! broken service or a broken DNS. There is no TLS: the check talks to the
//! service inside the cluster, which serves plain HTTP.
//!
//! `HttpUrl::parse` and `status_code` are pure; `run` does the I/O.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// The whole check, from resolving the host to reading the status line.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// A status line longer than this is not one.
const MAX_STATUS_LINE: usize = 8 * 1024;

/// An `http://HOST[:PORT][/PATH]` URL: what the check can request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// A name or an IP address; an IPv6 address without its brackets.
    host: String,
    port: u16,
    /// Always starts with `/`; may carry a query, never a fragment.
    path: String,
}

impl HttpUrl {
    /// Parses a URL, or says in one phrase what is wrong with it.
    pub fn parse(text: &str) -> Result<HttpUrl, String> {
        let scheme_end = text.find("://").map_or(0, |i| i + 3);
        let (scheme, rest) = text.split_at(scheme_end);
        if !scheme.eq_ignore_ascii_case("http://") {
            return Err(match scheme.to_ascii_lowercase().as_str() {
                "https://" => "the check speaks plain HTTP only: use http://".to_owned(),
                _ => "it must start with http://, e.g. http://llm-proxy:8080/healthz".to_owned(),
            });
        }
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err("user names and passwords are not supported".to_owned());
        }
        let (host, port) = split_host_port(authority)?;
        // A fragment never goes to the server.
        let path = path.split('#').next().unwrap_or_default();
        let path = match path {
            "" => "/".to_owned(),
            query if query.starts_with('?') => format!("/{query}"),
            path => path.to_owned(),
        };
        if path.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(
                "the path must be printable ASCII without spaces: percent-encode the rest"
                    .to_owned(),
            );
        }
        Ok(HttpUrl { host, port, path })
    }

    /// `HOST:PORT`, bracketed for IPv6, as the `Host` header and messages want it.
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.path)
    }
}

fn split_host_port(authority: &str) -> Result<(String, u16), String> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (ip, after) = bracketed
            .split_once(']')
            .ok_or("an IPv6 address needs its closing `]`")?;
        ip.parse::<Ipv6Addr>()
            .map_err(|_| format!("`{ip}` is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            after => Some(
                after
                    .strip_prefix(':')
                    .ok_or("a `]` must be followed by `:PORT` or the path")?,
            ),
        };
        (ip, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("it names no host".to_owned());
    }
    let is_name_byte = |b: u8| b.is_ascii_alphanumeric() || b"-._".contains(&b);
    if !authority.starts_with('[') && !host.bytes().all(is_name_byte) {
        return Err(format!(
            "`{host}` is not a host name or IP address (an IPv6 address goes in brackets)"
        ));
    }
    let port = match port {
        None => 80,
        Some("") => return Err("a `:` after the host must be followed by a port".to_owned()),
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("`{port}` is not a port: use 1 to 65535"))?,
    };
    Ok((host.to_owned(), port))
}

/// Why a check failed; each displays as one line.
#[derive(Debug)]
pub enum Failure {
    Resolve {
        host: String,
        error: io::Error,
    },
    NoAddress {
        host: String,
    },
    Refused {
        addr: SocketAddr,
    },
    Connect {
        addr: SocketAddr,
        error: io::Error,
    },
    TimedOut {
        waiting_for: &'static str,
        after: Duration,
    },
    Status {
        line: String,
    },
    NotHttp {
        line: String,
    },
    NoResponse,
    Io(io::Error),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Resolve { host, error } => write!(f, "cannot resolve `{host}`: {error}"),
            Failure::NoAddress { host } => write!(f, "`{host}` resolves to no address"),
            Failure::Refused { addr } => {
                write!(
                    f,
                    "connection refused by {addr}: is the service listening there?"
                )
            }
            Failure::Connect { addr, error } => write!(f, "cannot connect to {addr}: {error}"),
            Failure::TimedOut { waiting_for, after } => {
                write!(f, "timed out after {after:?} waiting for {waiting_for}")
            }
            Failure::Status { line } => write!(f, "unexpected status `{line}`"),
            Failure::NotHttp { line } => {
                // Whatever answered is not a web server: show enough to recognise it.
                let start: String = line.chars().take(80).collect();
                write!(f, "the answer is not HTTP: `{}`", start.escape_debug())
            }
            Failure::NoResponse => write!(f, "the connection closed without a response"),
            Failure::Io(error) => write!(f, "{error}"),
        }
    }
}

/// GETs `url` and returns the status line of a 2xx response.
pub fn run(url: &HttpUrl, timeout: Duration) -> Result<String, Failure> {
    let deadline = Deadline {
        at: Instant::now() + timeout,
        timeout,
    };
    let addrs = resolve(url, deadline)?;
    let mut stream = connect(&addrs, deadline)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: llm-proxy-check\r\nConnection: close\r\n\r\n",
        url.path,
        url.authority()
    );
    stream
        .set_write_timeout(Some(deadline.remaining("the request to be sent")?))
        .map_err(Failure::Io)?;
    stream
        .write_all(request.as_bytes())
        .map_err(|e| deadline.classify(e, "the request to be sent"))?;
    let line = read_status_line(&mut stream, deadline)?;
    match status_code(&line) {
        Some(200..=299) => Ok(line),
        Some(_) => Err(Failure::Status { line }),
        None => Err(Failure::NotHttp { line }),
    }
}

/// The status code of an HTTP/1.x status line such as `HTTP/1.1 200 OK`.
fn status_code(line: &str) -> Option<u16> {
    let rest = line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))?;
    let code = rest.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit())
        || !matches!(rest.as_bytes().get(3), None | Some(b' '))
    {
        return None;
    }
    code.parse().ok()
}

#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Instant,
    timeout: Duration,
}

impl Deadline {
    /// The time left, for a socket timeout; an error once none is (a zero timeout means none to std).
    fn remaining(self, waiting_for: &'static str) -> Result<Duration, Failure> {
        let left = self.at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.timed_out(waiting_for));
        }
        Ok(left)
    }

    fn timed_out(self, waiting_for: &'static str) -> Failure {
        Failure::TimedOut {
            waiting_for,
            after: self.timeout,
        }
    }

    /// A socket timeout surfaces as `WouldBlock` or `TimedOut`, depending on the platform.
    fn classify(self, error: io::Error, waiting_for: &'static str) -> Failure {
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => self.timed_out(waiting_for),
            _ => Failure::Io(error),
        }
    }
}

/// The system resolver has no timeout of its own, so it runs on a thread that
/// is abandoned at the deadline (the process exits soon after anyway).
fn resolve(url: &HttpUrl, deadline: Deadline) -> Result<Vec<SocketAddr>, Failure> {
    let target = (url.host.clone(), url.port);
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let _ = sender.send(target.to_socket_addrs().map(Vec::from_iter));
    });
    let waiting_for = "the host name to resolve";
    match receiver.recv_timeout(deadline.remaining(waiting_for)?) {
        Ok(Ok(addrs)) if addrs.is_empty() => Err(Failure::NoAddress {
            host: url.host.clone(),
        }),
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(error)) => Err(Failure::Resolve {
            host: url.host.clone(),
            error,
        }),
        Err(_) => Err(deadline.timed_out(waiting_for)),
    }
}

/// Tries each address in turn, as `TcpStream::connect` does, and reports the last failure.
fn connect(addrs: &[SocketAddr], deadline: Deadline) -> Result<TcpStream, Failure> {
    let waiting_for = "a connection";
    let mut failure = None;
    for &addr in addrs {
        match TcpStream::connect_timeout(&addr, deadline.remaining(waiting_for)?) {
            Ok(stream) => return Ok(stream),
            Err(error) => {
                failure = Some(match error.kind() {
                    io::ErrorKind::ConnectionRefused => Failure::Refused { addr },
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                        deadline.timed_out(waiting_for)
                    }
                    _ => Failure::Connect { addr, error },
                })
            }
        }
    }
    Err(failure.unwrap_or_else(|| deadline.timed_out(waiting_for)))
}

/// Reads up to the first line end; the rest of the response is not needed.
fn read_status_line(stream: &mut TcpStream, deadline: Deadline) -> Result<String, Failure> {
    let waiting_for = "the response";
    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    let end = loop {
        if let Some(end) = received.iter().position(|&b| b == b'\n') {
            break end;
        }
        if received.len() > MAX_STATUS_LINE {
            break MAX_STATUS_LINE;
        }
        stream
            .set_read_timeout(Some(deadline.remaining(waiting_for)?))
            .map_err(Failure::Io)?;
        match stream.read(&mut chunk) {
            Ok(0) if received.is_empty() => return Err(Failure::NoResponse),
            Ok(0) => break received.len(),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(deadline.classify(e, waiting_for)),
        }
    };
    let line = String::from_utf8_lossy(&received[..end]);
    Ok(line.trim_end_matches('\r').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expected: Result<&str, &str>) {
        let parsed = HttpUrl::parse(text).map(|url| url.to_string());
        assert_eq!(
            parsed.as_deref(),
            expected.map_err(str::to_owned).as_deref(),
            "{text:?}"
        );
    }

    #[test]
    fn urls() {
        check(
            "http://llm-proxy:8080/healthz",
            Ok("http://llm-proxy:8080/healthz"),
        );
        check(
            "HTTP://127.0.0.1:9000/a?b=c",
            Ok("http://127.0.0.1:9000/a?b=c"),
        );
        check(
            "http://svc.ns.svc.cluster.local",
            Ok("http://svc.ns.svc.cluster.local:80/"),
        );
        check("http://host:81?probe", Ok("http://host:81/?probe"));
        check("http://host/healthz#top", Ok("http://host:80/healthz"));
        check("http://[::1]:8080/healthz", Ok("http://[::1]:8080/healthz"));
        check("http://[fe80::1]/", Ok("http://[fe80::1]:80/"));
    }

    #[test]
    fn url_errors() {
        check(
            "https://host/healthz",
            Err("the check speaks plain HTTP only: use http://"),
        );
        let no_scheme = "it must start with http://, e.g. http://llm-proxy:8080/healthz";
        check("host:8080/healthz", Err(no_scheme));
        check("ftp://host/", Err(no_scheme));
        check("", Err(no_scheme));
        check("http://", Err("it names no host"));
        check("http://:8080/healthz", Err("it names no host"));
        check(
            "http://host:/",
            Err("a `:` after the host must be followed by a port"),
        );
        check("http://host:0/", Err("`0` is not a port: use 1 to 65535"));
        check(
            "http://host:65536/",
            Err("`65536` is not a port: use 1 to 65535"),
        );
        check(
            "http://host:http/",
            Err("`http` is not a port: use 1 to 65535"),
        );
        check(
            "http://user:pw@host/",
            Err("user names and passwords are not supported"),
        );
        check(
            "http://::1:8080/",
            Err("`::1` is not a host name or IP address (an IPv6 address goes in brackets)"),
        );
        check("http://[::1/", Err("an IPv6 address needs its closing `]`"));
        check("http://[nope]:80/", Err("`nope` is not an IPv6 address"));
        check(
            "http://[::1]8080/",
            Err("a `]` must be followed by `:PORT` or the path"),
        );
        check(
            "http://host/a b",
            Err("the path must be printable ASCII without spaces: percent-encode the rest"),
        );
    }

    /// Runs the check against a one-connection server that answers `answer` to
    /// any request, then closes, or with `hold` keeps the connection open.
    fn run_against(answer: &'static [u8], hold: bool) -> Result<String, String> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = HttpUrl::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let server = thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let _ = stream.read(&mut [0u8; 1024]);
            let _ = stream.write_all(answer);
            if hold {
                // Until the client gives up and closes.
                let _ = stream.read(&mut [0u8; 1]);
            }
        });
        let result = run(&url, Duration::from_millis(500)).map_err(|f| f.to_string());
        server.join().unwrap();
        result
    }

    #[test]
    fn answers() {
        let check = |answer: &'static [u8], expected: Result<&str, &str>| {
            let result = run_against(answer, false);
            assert_eq!(
                result.as_deref(),
                expected.map_err(str::to_owned).as_deref(),
                "{answer:?}"
            );
        };
        check(
            b"HTTP/1.1 204 No Content\r\n\r\n",
            Ok("HTTP/1.1 204 No Content"),
        );
        check(b"HTTP/1.0 200 OK\n", Ok("HTTP/1.0 200 OK"));
        check(
            b"HTTP/1.1 302 Found\r\nLocation: /\r\n\r\n",
            Err("unexpected status `HTTP/1.1 302 Found`"),
        );
        check(
            b"SSH-2.0-OpenSSH_9.6\r\n",
            Err("the answer is not HTTP: `SSH-2.0-OpenSSH_9.6`"),
        );
        check(b"", Err("the connection closed without a response"));
        // A status line cut short by the end of the connection is still read.
        check(b"HTTP/1.1 200", Ok("HTTP/1.1 200"));
        assert_eq!(
            run_against(b"HTTP/1.1 200", true),
            Err("timed out after 500ms waiting for the response".to_owned())
        );
    }

    #[test]
    fn status_codes() {
        assert_eq!(status_code("HTTP/1.1 200 OK"), Some(200));
        assert_eq!(status_code("HTTP/1.0 204"), Some(204));
        assert_eq!(status_code("HTTP/1.1 500 Internal Server Error"), Some(500));
        assert_eq!(status_code("HTTP/1.1 2000 OK"), None);
        assert_eq!(status_code("HTTP/2 200"), None);
        assert_eq!(status_code("SSH-2.0-OpenSSH_9.6"), None);
        assert_eq!(status_code(""), None);
    }
}
