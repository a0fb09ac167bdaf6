//! The one way xtask runs a planned external command: a core [`Cmd`] in, its argv run
//! exactly as the dry run printed it (`timeout` included), a secret fed on stdin from the
//! environment and scrubbed from anything shown, the tool's output streamed to stderr or
//! captured.
//!
//! Three verbs, chosen by what the caller needs of the command: [`run`] for an action that
//! is part of the log, [`read`] for a question whose answer is stdout, [`output`] for a
//! question whose exit code is the answer.

use std::process::Output;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::core::cmd::Cmd;

/// Runs `cmd` as a log line of the current step: `$ cmd`, then the tool's own output, all on
/// stderr, so that stdout keeps only the data xtask prints. Fails on a non-zero exit.
pub fn run(sh: &Shell, cmd: &Cmd) -> Result<()> {
    eprintln!("$ {cmd}");
    if cmd.stdin_from.is_some() {
        // A command reading a secret answers briefly; capture it so the secret can be
        // scrubbed from what it says.
        let out = output(sh, cmd)?;
        let secret = secret(cmd)?;
        eprint!("{}", scrub(&String::from_utf8_lossy(&out.stderr), &secret));
        return check(cmd, &out, &secret);
    }
    let mut command: std::process::Command = xshell_cmd(sh, cmd).into();
    command.stdout(std::io::stderr());
    let status = command
        .status()
        .with_context(|| format!("cannot run `{cmd}`"))?;
    if !status.success() {
        bail!("`{cmd}` failed ({})", describe(&status));
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its stdout without the final newline; a failure carries
/// what it said on stderr.
pub fn read(sh: &Shell, cmd: &Cmd) -> Result<String> {
    let out = output(sh, cmd)?;
    check(cmd, &out, &secret(cmd)?)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    Ok(stdout.trim_end_matches(['\n', '\r']).to_string())
}

/// Runs `cmd` quietly and returns how it ended, whatever its exit code: for the callers that
/// read the code or the output themselves ([`timed_out`], `git push --porcelain`).
pub fn output(sh: &Shell, cmd: &Cmd) -> Result<Output> {
    let secret = secret(cmd)?;
    let mut command = xshell_cmd(sh, cmd).quiet().ignore_status();
    if !secret.is_empty() {
        command = command.stdin(secret.as_bytes()).secret();
    }
    command
        .output()
        .with_context(|| format!("cannot run `{cmd}`"))
}

/// Whether a bounded command was stopped by `timeout`: 124 after SIGTERM, 137 (or no code)
/// after the SIGKILL of `--kill-after`.
pub fn timed_out(out: &Output) -> bool {
    matches!(out.status.code(), Some(124 | 137) | None)
}

/// The only place a `Cmd` becomes a process: one argv element per word, never a shell.
fn xshell_cmd<'a>(sh: &'a Shell, cmd: &Cmd) -> xshell::Cmd<'a> {
    let argv = cmd.argv();
    let (program, args) = argv.split_first().expect("a command has a program");
    let mut command = cmd!(sh, "{program} {args...}");
    for (name, value) in &cmd.env {
        command = command.env(name, value);
    }
    command
}

/// The value the command reads on stdin, or "" when it reads none.
fn secret(cmd: &Cmd) -> Result<String> {
    let Some(var) = cmd.stdin_from else {
        return Ok(String::new());
    };
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => Ok(value),
        _ => bail!("`{cmd}` reads {var} on stdin, but {var} is not set"),
    }
}

fn check(cmd: &Cmd, out: &Output, secret: &str) -> Result<()> {
    if out.status.success() {
        return Ok(());
    }
    let stderr = scrub(&String::from_utf8_lossy(&out.stderr), secret);
    let said = stderr.trim();
    if said.is_empty() {
        bail!("`{cmd}` failed ({})", describe(&out.status))
    }
    bail!("`{cmd}` failed ({}): {said}", describe(&out.status))
}

/// Tools do not echo passwords, but what they say is scrubbed anyway.
fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_string()
    } else {
        text.replace(secret, "***")
    }
}

fn describe(status: &std::process::ExitStatus) -> String {
    match status.code() {
        Some(124) => "timed out".to_string(),
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".to_string(),
    }
}
