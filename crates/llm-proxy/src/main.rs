//! The `llm-proxy` binary: parse the command line and dispatch it.
//!
//! Exit codes: 0 on success, 1 when the server cannot run (e.g. the address is
//! taken), 2 for a usage error, so scripts can tell a typo from an outage.

mod build_info;
mod cli;
mod http;
mod server;

use std::process::ExitCode;

use build_info::BuildInfo;
use cli::Command;

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(e) => {
            eprintln!("llm-proxy: {e}\nRun `llm-proxy --help` for usage.");
            return ExitCode::from(2);
        }
    };
    let info = BuildInfo::current();
    match command {
        Command::Help => print!("{}", cli::HELP),
        Command::Version => println!("{}", info.version_line()),
        Command::Serve { listen } => {
            eprintln!("{}", info.version_line());
            if let Err(e) = server::run(listen, info, server::Limits::default()) {
                eprintln!("llm-proxy: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
