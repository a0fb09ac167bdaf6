//! Integration tests: run the real `llm-proxy` binary as a user or a probe would.
//!
//! One test binary with a module per command, so cargo links it once;
//! `server` is the running service the command modules share.

mod check;
mod cli;
mod serve;
mod server;
mod shutdown;

use std::process::Command;

/// The binary cargo built for this test run, with the same build stamps.
pub fn llm_proxy() -> Command {
    Command::new(env!("CARGO_BIN_EXE_llm-proxy"))
}

/// What `--version` must print, derived the way the binary derives it; the
/// test crate sees the same `LLM_PROXY_*` variables as the binary at build time.
pub fn expected_version() -> (String, String) {
    let stamp = |value: Option<&'static str>| value.map(str::trim).filter(|v| !v.is_empty());
    let version = stamp(option_env!("LLM_PROXY_VERSION")).unwrap_or(env!("CARGO_PKG_VERSION"));
    let version = format!("v{}", version.strip_prefix('v').unwrap_or(version));
    let commit = stamp(option_env!("LLM_PROXY_COMMIT")).unwrap_or("unknown");
    (version, commit.to_owned())
}
