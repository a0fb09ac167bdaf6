//! The HTTP/1.1 surface of the service as pure functions: find the end of a
//! request head, parse its request line, route it, and encode the response.
//!
//! No sockets here, so every decision the server makes about a request can be
//! tested with byte strings; `server` owns the I/O, timeouts and threads.

use crate::build_info::BuildInfo;

/// Where the request head ends (the index just past the blank line), if it has.
///
/// Bare `\n` line endings are accepted as RFC 9112 section 2.2 recommends.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(2).enumerate().find_map(|(i, pair)| match pair {
        b"\n\n" => Some(i + 2),
        b"\n\r" if buf.get(i + 2) == Some(&b'\n') => Some(i + 3),
        _ => None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a str,
    /// The path without query string, always starting with `/`.
    pub path: &'a str,
}

/// Why a request head was refused before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Malformed,
    UnsupportedVersion,
}

/// Parses the first line of a request head, e.g. `GET /healthz?x=1 HTTP/1.1`.
pub fn parse_request_line(head: &[u8]) -> Result<RequestLine<'_>, Rejection> {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = std::str::from_utf8(line).map_err(|_| Rejection::Malformed)?;

    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Rejection::Malformed);
    };
    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(Rejection::Malformed);
    }
    // Only origin-form targets: this is not a forward proxy, and `*` is for OPTIONS.
    if !target.starts_with('/') || target.bytes().any(|b| b.is_ascii_control()) {
        return Err(Rejection::Malformed);
    }
    match version {
        "HTTP/1.1" | "HTTP/1.0" => {}
        v if v.starts_with("HTTP/") => return Err(Rejection::UnsupportedVersion),
        _ => return Err(Rejection::Malformed),
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    Ok(RequestLine { method, path })
}

/// RFC 9110 section 5.6.2 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    HeaderFieldsTooLarge,
    ServiceUnavailable,
    VersionNotSupported,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::BadRequest => 400,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestTimeout => 408,
            Status::HeaderFieldsTooLarge => 431,
            Status::ServiceUnavailable => 503,
            Status::VersionNotSupported => 505,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::BadRequest => "Bad Request",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::RequestTimeout => "Request Timeout",
            Status::HeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::ServiceUnavailable => "Service Unavailable",
            Status::VersionNotSupported => "HTTP Version Not Supported",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: Status,
    pub content_type: &'static str,
    pub body: String,
    /// Set on 405 responses, which RFC 9110 requires to name the allowed methods.
    pub allow: Option<&'static str>,
}

impl Response {
    fn text(status: Status, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{body}\n"),
            allow: None,
        }
    }

    /// A response for a request that never reached routing.
    pub fn error(status: Status) -> Response {
        Response::text(status, status.reason())
    }

    /// The whole response, ready to write. Every response closes the connection:
    /// probes and version checks gain nothing from keep-alive, and it keeps a
    /// connection's thread to one request.
    pub fn encode(&self) -> Vec<u8> {
        let mut head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status.code(),
            self.status.reason(),
            self.content_type,
            self.body.len(),
        );
        if let Some(allow) = self.allow {
            head.push_str(&format!("Allow: {allow}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(self.body.as_bytes());
        bytes
    }
}

/// Path first, then method: a known path with the wrong method is 405, an
/// unknown path is 404 whatever the method.
pub fn route(request: RequestLine<'_>, info: &BuildInfo) -> Response {
    let response = match request.path {
        "/healthz" => Response::text(Status::Ok, "ok"),
        "/version" => Response {
            status: Status::Ok,
            content_type: "application/json",
            body: info.version_json(),
            allow: None,
        },
        _ => return Response::error(Status::NotFound),
    };
    if request.method != "GET" {
        return Response {
            allow: Some("GET"),
            ..Response::error(Status::MethodNotAllowed)
        };
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_line(head: &str, expected: Result<(&str, &str), Rejection>) {
        let parsed = parse_request_line(head.as_bytes()).map(|r| (r.method, r.path));
        assert_eq!(parsed, expected, "head: {head:?}");
    }

    #[test]
    fn request_lines() {
        check_line(
            "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
            Ok(("GET", "/healthz")),
        );
        check_line("GET /version HTTP/1.0\r\n\r\n", Ok(("GET", "/version")));
        check_line("GET /healthz?probe=1 HTTP/1.1\r\n", Ok(("GET", "/healthz")));
        check_line("GET /healthz#top HTTP/1.1\n\n", Ok(("GET", "/healthz")));
        check_line("POST / HTTP/1.1\r\n", Ok(("POST", "/")));
        check_line(
            "GET /healthz HTTP/2.0\r\n",
            Err(Rejection::UnsupportedVersion),
        );
        check_line("GET /healthz\r\n", Err(Rejection::Malformed));
        check_line("GET  /healthz HTTP/1.1\r\n", Err(Rejection::Malformed));
        check_line("GET /healthz HTTP/1.1 extra\r\n", Err(Rejection::Malformed));
        check_line(
            "GET http://example.com/ HTTP/1.1\r\n",
            Err(Rejection::Malformed),
        );
        check_line("G(T / HTTP/1.1\r\n", Err(Rejection::Malformed));
        check_line("GET / FTP/1.1\r\n", Err(Rejection::Malformed));
        check_line("", Err(Rejection::Malformed));
        assert_eq!(
            parse_request_line(b"GET /\xff HTTP/1.1\r\n"),
            Err(Rejection::Malformed)
        );
    }

    #[test]
    fn head_ends() {
        let check = |buf: &str, expected: Option<usize>| {
            assert_eq!(head_end(buf.as_bytes()), expected, "{buf:?}")
        };
        check("GET / HTTP/1.1\r\nHost: x\r\n\r\n", Some(27));
        check("GET / HTTP/1.1\r\n\r\nbody", Some(18));
        check("GET / HTTP/1.1\n\n", Some(16));
        check("GET / HTTP/1.1\r\nHost: x\r\n", None);
        check("GET / HTTP/1.1\r\n\r", None);
        check("", None);
    }

    fn check_route(method: &str, path: &str, status: u16, body: &str) {
        let info = BuildInfo::unstamped();
        let response = route(RequestLine { method, path }, &info);
        assert_eq!(
            (response.status.code(), response.body.as_str()),
            (status, body),
            "{method} {path}"
        );
    }

    #[test]
    fn routes() {
        check_route("GET", "/healthz", 200, "ok\n");
        check_route("GET", "/", 404, "Not Found\n");
        check_route("GET", "/healthz/", 404, "Not Found\n");
        check_route("POST", "/healthz", 405, "Method Not Allowed\n");
        check_route("HEAD", "/version", 405, "Method Not Allowed\n");
        check_route("DELETE", "/nope", 404, "Not Found\n");
    }

    #[test]
    fn version_route_serves_json() {
        let info = BuildInfo::unstamped();
        let response = route(
            RequestLine {
                method: "GET",
                path: "/version",
            },
            &info,
        );
        assert_eq!(response.status, Status::Ok);
        assert_eq!(response.content_type, "application/json");
        assert_eq!(response.body, info.version_json());
    }

    #[test]
    fn encoding() {
        let encoded = Response::text(Status::Ok, "ok").encode();
        assert_eq!(
            String::from_utf8(encoded).unwrap(),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
        );
        let not_allowed = route(
            RequestLine {
                method: "PUT",
                path: "/healthz",
            },
            &BuildInfo::unstamped(),
        );
        assert!(
            String::from_utf8(not_allowed.encode())
                .unwrap()
                .contains("\r\nAllow: GET\r\n")
        );
    }
}
