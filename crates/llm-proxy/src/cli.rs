//! The command line: turns argv into a `Command` or a `UsageError`.
//!
//! Parsing is hand-rolled because the grammar is three commands and one flag,
//! and the service depends on the standard library alone.
//! Nothing here prints or exits; `main` decides what a `UsageError` costs.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;

/// Loopback by default, so running the binary on a workstation exposes nothing;
/// the container and the chart pass `--listen 0.0.0.0:8080` explicitly.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

pub const HELP: &str = "\
llm-proxy: the LLM Proxy service

Usage:
  llm-proxy serve [--listen ADDR]
  llm-proxy --version
  llm-proxy --help

Commands:
  serve            Serve HTTP on ADDR (default 127.0.0.1:8080).
                   Prints `listening on ADDR` as its first line of stdout,
                   with the port resolved when ADDR ends in `:0`.

Options:
  --listen ADDR    IP address and port to listen on, e.g. 0.0.0.0:8080
  -V, --version    Print `llm-proxy vX.Y.Z (COMMIT)` and exit
  -h, --help       Print this help and exit

Endpoints:
  GET /healthz     200 `ok`
  GET /version     200 {\"name\":\"llm-proxy\",\"version\":\"vX.Y.Z\",\"commit\":\"...\"}
";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Version,
    Serve { listen: SocketAddr },
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
        other if other.starts_with('-') => usage_error(format!("unknown option `{other}`")),
        other => usage_error(format!(
            "unknown command `{other}`: the only command is `serve`"
        )),
    }
}

fn parse_serve(
    mut args: impl Iterator<Item = Result<String, UsageError>>,
) -> Result<Command, UsageError> {
    let mut listen = None;
    while let Some(arg) = args.next().transpose()? {
        let value = match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--listen" => match args.next().transpose()? {
                Some(value) => value,
                None => {
                    return usage_error("`--listen` needs a value, e.g. `--listen 0.0.0.0:8080`");
                }
            },
            _ => match arg.strip_prefix("--listen=") {
                Some(value) => value.to_owned(),
                None => return usage_error(format!("unknown argument `{arg}` for `serve`")),
            },
        };
        if listen.is_some() {
            return usage_error("`--listen` given more than once");
        }
        listen = Some(parse_listen(&value)?);
    }
    let listen = match listen {
        Some(listen) => listen,
        None => parse_listen(DEFAULT_LISTEN)?,
    };
    Ok(Command::Serve { listen })
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
        Ok(Command::Serve {
            listen: listen.parse().unwrap(),
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
    }

    #[test]
    fn usage_errors() {
        check("", Err("no command given: try `llm-proxy serve`"));
        check("--verbose", Err("unknown option `--verbose`"));
        check(
            "start",
            Err("unknown command `start`: the only command is `serve`"),
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
    }

    #[test]
    fn default_listen_parses() {
        parse_listen(DEFAULT_LISTEN).unwrap();
    }
}
