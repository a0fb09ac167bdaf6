//! The command line: turns argv into a `Command` or a `UsageError`.
//!
//! Parsing is hand-rolled because the grammar is four commands and two flags,
//! which a parsing crate would not make clearer.
//! Nothing here prints or exits; `main` decides what a `UsageError` costs.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::check::HttpUrl;
use crate::shutdown::SHUTDOWN_TIMEOUT;

/// Loopback by default, so running the binary on a workstation exposes nothing;
/// the container and the chart pass `--listen 0.0.0.0:8080` explicitly.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

pub const HELP: &str = "\
llm-proxy: the LLM Proxy service

Usage:
  llm-proxy serve [--listen ADDR] [--shutdown-timeout SECS]
  llm-proxy check URL
  llm-proxy --version
  llm-proxy --help

Commands:
  serve            Serve HTTP on ADDR (default 127.0.0.1:8080).
                   Prints `listening on ADDR` as its first line of stdout,
                   with the port resolved when ADDR ends in `:0`.
                   On SIGTERM or SIGINT, refuses new connections, closes idle
                   ones, lets requests in flight finish, and exits 0; exits 1
                   if some are still unfinished SECS seconds after the signal.
  check URL        GET an http://HOST[:PORT]/PATH URL (plain HTTP, no TLS) and
                   exit 0 on a 2xx status, 1 otherwise, with one line saying
                   why; gives up after 5 seconds in total. The image's own
                   probe, e.g. `llm-proxy check http://llm-proxy:8080/healthz`.

Options:
  --listen ADDR             IP address and port to listen on, e.g. 0.0.0.0:8080
  --shutdown-timeout SECS   Time requests in flight get after a stop signal
                            (default 10)
  -V, --version             Print `llm-proxy vX.Y.Z (COMMIT)` and exit
  -h, --help                Print this help and exit

Exit codes:
  0 success, 1 failure (cannot listen, shutdown bound exceeded, check failed),
  2 usage error

Endpoints:
  GET /healthz     200 `ok`
  GET /version     200 {\"name\":\"llm-proxy\",\"version\":\"vX.Y.Z\",\"commit\":\"...\"}
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    Serve {
        listen: SocketAddr,
        shutdown_timeout: Duration,
    },
    Check {
        url: HttpUrl,
    },
}

/// A mistake on the command line; `main` prints it with a pointer to `--help` and exits 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn usage_error(message: impl Into<String>) -> Result<Command, UsageError> {
    Err(UsageError(message.into()))
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, UsageError> {
    let mut args = args.into_iter().map(|arg| {
        arg.into_string()
            .map_err(|arg| UsageError(format!("argument {arg:?} is not valid UTF-8")))
    });
    let Some(first) = args.next().transpose()? else {
        return usage_error("no command given: try `llm-proxy serve`");
    };
    match first.as_str() {
        "-h" | "--help" | "help" => no_more_args(args, Command::Help),
        "-V" | "--version" => no_more_args(args, Command::Version),
        "serve" => parse_serve(args),
        "check" => parse_check(args),
        other if other.starts_with('-') => usage_error(format!("unknown option `{other}`")),
        other => usage_error(format!(
            "unknown command `{other}`: the commands are `serve` and `check`"
        )),
    }
}

fn parse_serve(
    mut args: impl Iterator<Item = Result<String, UsageError>>,
) -> Result<Command, UsageError> {
    let mut listen = None;
    let mut shutdown_timeout = None;
    while let Some(arg) = args.next().transpose()? {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        let (flag, inline_value) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (arg.as_str(), None),
        };
        let (slot, example) = match flag {
            "--listen" => (&mut listen, "0.0.0.0:8080"),
            "--shutdown-timeout" => (&mut shutdown_timeout, "10"),
            _ => return usage_error(format!("unknown argument `{arg}` for `serve`")),
        };
        let value = match inline_value {
            Some(value) => value,
            None => match args.next().transpose()? {
                Some(value) => value,
                None => {
                    return usage_error(format!("`{flag}` needs a value, e.g. `{flag} {example}`"));
                }
            },
        };
        if slot.replace(value).is_some() {
            return usage_error(format!("`{flag}` given more than once"));
        }
    }
    let listen = parse_listen(listen.as_deref().unwrap_or(DEFAULT_LISTEN))?;
    let shutdown_timeout = match shutdown_timeout {
        Some(value) => parse_shutdown_timeout(&value)?,
        None => SHUTDOWN_TIMEOUT,
    };
    Ok(Command::Serve {
        listen,
        shutdown_timeout,
    })
}

fn parse_shutdown_timeout(value: &str) -> Result<Duration, UsageError> {
    value.parse().map(Duration::from_secs).map_err(|_| {
        UsageError(format!(
            "`--shutdown-timeout {value}` is not a whole number of seconds, e.g. 10"
        ))
    })
}

fn parse_check(
    mut args: impl Iterator<Item = Result<String, UsageError>>,
) -> Result<Command, UsageError> {
    let Some(url) = args.next().transpose()? else {
        return usage_error(
            "`check` needs a URL, e.g. `llm-proxy check http://127.0.0.1:8080/healthz`",
        );
    };
    if url == "-h" || url == "--help" {
        return Ok(Command::Help);
    }
    let url = HttpUrl::parse(&url)
        .map_err(|why| UsageError(format!("`check {url}`: not a URL to check: {why}")))?;
    no_more_args(args, Command::Check { url })
}

/// Host names are refused rather than resolved: which interface a name maps to
/// depends on the resolver, and a service should bind where it was told.
fn parse_listen(value: &str) -> Result<SocketAddr, UsageError> {
    value.parse().map_err(|_| {
        UsageError(format!(
            "`--listen {value}` is not an IP address and port: use e.g. 0.0.0.0:8080 or [::]:8080"
        ))
    })
}

fn no_more_args(
    mut rest: impl Iterator<Item = Result<String, UsageError>>,
    command: Command,
) -> Result<Command, UsageError> {
    match rest.next().transpose()? {
        None => Ok(command),
        Some(extra) => usage_error(format!("unexpected argument `{extra}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &str, expected: Result<Command, &str>) {
        let argv = args.split_whitespace().map(OsString::from);
        assert_eq!(
            parse(argv),
            expected.map_err(|e| UsageError(e.to_owned())),
            "args: {args:?}"
        );
    }

    fn serve(listen: &str) -> Result<Command, &'static str> {
        serve_with(listen, 10)
    }

    fn serve_with(listen: &str, shutdown_secs: u64) -> Result<Command, &'static str> {
        Ok(Command::Serve {
            listen: listen.parse().unwrap(),
            shutdown_timeout: Duration::from_secs(shutdown_secs),
        })
    }

    fn check_url(url: &str) -> Result<Command, &'static str> {
        Ok(Command::Check {
            url: HttpUrl::parse(url).unwrap(),
        })
    }

    #[test]
    fn commands() {
        check("--help", Ok(Command::Help));
        check("-h", Ok(Command::Help));
        check("help", Ok(Command::Help));
        check("--version", Ok(Command::Version));
        check("-V", Ok(Command::Version));
        check("serve", serve("127.0.0.1:8080"));
        check("serve --listen 0.0.0.0:8080", serve("0.0.0.0:8080"));
        check("serve --listen=127.0.0.1:0", serve("127.0.0.1:0"));
        check("serve --listen [::1]:9000", serve("[::1]:9000"));
        check("serve --help", Ok(Command::Help));
        check(
            "serve --shutdown-timeout 3 --listen 0.0.0.0:80",
            serve_with("0.0.0.0:80", 3),
        );
        check(
            "serve --shutdown-timeout=0",
            serve_with("127.0.0.1:8080", 0),
        );
        check(
            "check http://127.0.0.1:8080/healthz",
            check_url("http://127.0.0.1:8080/healthz"),
        );
        check("check --help", Ok(Command::Help));
    }

    #[test]
    fn usage_errors() {
        check("", Err("no command given: try `llm-proxy serve`"));
        check("--verbose", Err("unknown option `--verbose`"));
        check(
            "start",
            Err("unknown command `start`: the commands are `serve` and `check`"),
        );
        check("--version extra", Err("unexpected argument `extra`"));
        check(
            "serve --port 80",
            Err("unknown argument `--port` for `serve`"),
        );
        check(
            "serve --listen",
            Err("`--listen` needs a value, e.g. `--listen 0.0.0.0:8080`"),
        );
        check(
            "serve --listen localhost:80",
            Err(
                "`--listen localhost:80` is not an IP address and port: use e.g. 0.0.0.0:8080 or [::]:8080",
            ),
        );
        check(
            "serve --listen 0.0.0.0:1 --listen 0.0.0.0:2",
            Err("`--listen` given more than once"),
        );
        check(
            "serve --shutdown-timeout",
            Err("`--shutdown-timeout` needs a value, e.g. `--shutdown-timeout 10`"),
        );
        check(
            "serve --shutdown-timeout 1.5",
            Err("`--shutdown-timeout 1.5` is not a whole number of seconds, e.g. 10"),
        );
        check(
            "serve --shutdown-timeout=-1",
            Err("`--shutdown-timeout -1` is not a whole number of seconds, e.g. 10"),
        );
        check(
            "serve --shutdown-timeout 1 --shutdown-timeout=2",
            Err("`--shutdown-timeout` given more than once"),
        );
        check(
            "check",
            Err("`check` needs a URL, e.g. `llm-proxy check http://127.0.0.1:8080/healthz`"),
        );
        check(
            "check https://example.com/",
            Err(
                "`check https://example.com/`: not a URL to check: the check speaks plain HTTP only: use http://",
            ),
        );
        check(
            "check http://a/ http://b/",
            Err("unexpected argument `http://b/`"),
        );
    }

    #[test]
    fn default_listen_parses() {
        parse_listen(DEFAULT_LISTEN).unwrap();
    }

    /// The help text spells out the defaults; they must not drift from the constants.
    #[test]
    fn help_states_the_defaults() {
        let shutdown = format!("(default {})", SHUTDOWN_TIMEOUT.as_secs());
        let check = format!(
            "gives up after {} seconds",
            crate::check::CHECK_TIMEOUT.as_secs()
        );
        for expected in [DEFAULT_LISTEN, &shutdown, &check] {
            assert!(HELP.contains(expected), "--help does not say {expected:?}");
        }
    }
}
