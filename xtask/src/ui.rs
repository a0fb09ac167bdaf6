//! How the tool talks: data on stdout, progress and logs on stderr. Inside GitHub Actions
//! long steps fold into `::group::`s and failures become `::error::` annotations.

use std::time::Instant;

fn in_actions() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// Runs one named step, reporting it on stderr with its elapsed time.
pub fn step<T>(title: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    let start = Instant::now();
    if in_actions() {
        eprintln!("::group::{title}");
    } else {
        eprintln!("==> {title}");
    }
    let result = f();
    if in_actions() {
        eprintln!("::endgroup::");
    }
    let outcome = if result.is_ok() { "done" } else { "failed" };
    eprintln!("    {outcome} in {:.1}s", start.elapsed().as_secs_f64());
    result
}

pub fn warn(message: &str) {
    if in_actions() {
        eprintln!("::warning::{}", annotation(message));
    } else {
        eprintln!("warning: {message}");
    }
}

pub fn note(message: &str) {
    eprintln!("{message}");
}

pub fn error(e: &anyhow::Error) {
    let message = format!("{e:#}");
    if in_actions() {
        eprintln!("::error::{}", annotation(&message));
    } else {
        eprintln!("error: {message}");
    }
}

/// Workflow commands end at a newline; GitHub decodes these escapes back.
fn annotation(message: &str) -> String {
    message
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}
