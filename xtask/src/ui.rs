//! How the tool talks: data on stdout, progress and logs on stderr. Inside GitHub Actions
//! long steps fold into `::group::`s and failures become `::error::` annotations.

use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result};

/// Whether this runs in CI: GitHub Actions and most CI services set `CI=true`; `CI=false`
/// and `CI=0` are the usual ways to say "not CI" (an empty value counts as unset).
pub fn in_ci() -> bool {
    is_ci(std::env::var_os("CI").as_deref())
}

pub fn is_ci(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

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

/// One `::error::` annotation per call in GitHub Actions, so that each failing check is its
/// own line on the run's page; elsewhere nothing (the error itself says it all).
pub fn annotate_error(message: &str) {
    if in_actions() {
        eprintln!("::error::{}", annotation(message));
    }
}

/// The page of this GitHub Actions run (and attempt), when running in one.
pub fn run_url() -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let run = format!(
        "{}/{}/actions/runs/{}",
        var("GITHUB_SERVER_URL")?,
        var("GITHUB_REPOSITORY")?,
        var("GITHUB_RUN_ID")?
    );
    Some(match var("GITHUB_RUN_ATTEMPT") {
        Some(attempt) => format!("{run}/attempts/{attempt}"),
        None => run,
    })
}

/// Workflow commands end at a newline; GitHub decodes these escapes back.
fn annotation(message: &str) -> String {
    message
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Appends `key=value` to `$GITHUB_OUTPUT` when GitHub Actions set it; elsewhere nothing.
pub fn github_output(key: &str, value: &str) -> Result<()> {
    anyhow::ensure!(
        !value.contains(['\n', '\r']),
        "output {key} must be one line"
    );
    append_to("GITHUB_OUTPUT", &format!("{key}={value}\n"))
}

/// Appends Markdown to the job summary (`$GITHUB_STEP_SUMMARY`) when running in Actions.
pub fn summary(markdown: &str) -> Result<()> {
    append_to("GITHUB_STEP_SUMMARY", &format!("{markdown}\n"))
}

fn append_to(variable: &str, text: &str) -> Result<()> {
    let Some(path) = std::env::var_os(variable).filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .with_context(|| format!("cannot open ${variable} ({})", path.to_string_lossy()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write ${variable}"))
}
