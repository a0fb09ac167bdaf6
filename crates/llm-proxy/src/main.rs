//! The `llm-proxy` binary: parse the command line and dispatch it. The service itself is the
//! library beside it (`lib.rs`); this file is the only one that reads the release stamps.
//!
//! Exit codes: 0 on success (for `serve`, a graceful stop after SIGTERM or
//! SIGINT), 1 when the command failed (the address is taken, requests were
//! still unfinished at the shutdown bound, or a check failed), 2 for a usage
//! error, so scripts can tell a typo from an outage.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use llm_proxy::build_info::BuildInfo;
use llm_proxy::check::{self, HttpUrl};
use llm_proxy::cli::{self, Command};
use llm_proxy::server::{Limits, Server, Stopped};
use llm_proxy::shutdown;

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("llm-proxy: {e}\nRun `llm-proxy --help` for usage.");
            return ExitCode::from(2);
        }
    };
    let info = BuildInfo::from_stamps(
        option_env!("LLM_PROXY_VERSION"),
        option_env!("LLM_PROXY_COMMIT"),
        env!("CARGO_PKG_VERSION"),
    );
    match command {
        Command::Help => print!("{}", cli::HELP),
        Command::Version => println!("{}", info.version_line()),
        Command::Serve {
            listen,
            shutdown_timeout,
        } => {
            eprintln!("{}", info.version_line());
            return serve(listen, info, shutdown_timeout);
        }
        Command::Check { url } => return check(&url),
    }
    ExitCode::SUCCESS
}

fn serve(listen: SocketAddr, info: BuildInfo, shutdown_timeout: Duration) -> ExitCode {
    let started = Server::bind(listen, info, Limits::default()).and_then(|server| {
        // Signals are handled before the announcement, so whoever waits for
        // it can stop the service gracefully from then on.
        shutdown::stop_on_signals(server.stop_handle(), shutdown_timeout)?;
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "listening on {}", server.local_addr()?)?;
        stdout.flush()?;
        Ok(server)
    });
    let server = match started {
        Ok(server) => server,
        Err(e) => {
            eprintln!("llm-proxy: {e}");
            return ExitCode::FAILURE;
        }
    };
    match server.serve(shutdown_timeout) {
        Stopped::Drained => {
            eprintln!("llm-proxy: stopped");
            ExitCode::SUCCESS
        }
        Stopped::Abandoned { open } => {
            eprintln!(
                "llm-proxy: exiting with {open} connection(s) unfinished: \
                 the shutdown bound of {}s has passed (see `--shutdown-timeout`)",
                shutdown_timeout.as_secs()
            );
            ExitCode::FAILURE
        }
    }
}

fn check(url: &HttpUrl) -> ExitCode {
    match check::run(url, check::CHECK_TIMEOUT) {
        Ok(status_line) => {
            println!("{url}: {status_line}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("llm-proxy: check {url} failed: {failure}");
            ExitCode::FAILURE
        }
    }
}
