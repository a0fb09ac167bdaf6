//! How the tool talks: data on stdout, progress and logs on stderr. Inside GitHub Actions
//! long steps fold into `::group::`s and failures become `::error::` annotations.
//! How much progress is shown is one level for the whole run (`-q`, `rehearse -v`), held
//! here; data, warnings and errors are shown at every level.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU8, Ordering};
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

/// How much progress a run prints on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `-q`: no steps, times, notes or `$ command` lines; warnings, errors, and what the
    /// tools a step runs say.
    Quiet = 0,
    /// Each step with its time, and what the tools it runs say.
    Normal = 1,
    /// `rehearse -v`: also the whole output of every rehearsal stage.
    Verbose = 2,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Normal as u8);

/// Set once, by `main`, from the command line.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

pub fn level() -> Level {
    match LEVEL.load(Ordering::Relaxed) {
        0 => Level::Quiet,
        1 => Level::Normal,
        _ => Level::Verbose,
    }
}

/// Writes out what stdout still holds (Rust's stdout keeps a last line without its newline)
/// before stderr is used to ask about it. Ordering ends there: what reads a pipe shows it
/// when it gets to it, which is why `release tag` does not ask about a plan sent to one.
pub fn flush_stdout() {
    let _ = std::io::stdout().flush();
}

/// Runs one named step, reporting it on stderr with its elapsed time.
pub fn step<T>(title: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    if level() == Level::Quiet {
        return f();
    }
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
        line(&format!("::warning::{}", annotation(message)));
    } else {
        line(&format!("warning: {message}"));
    }
}

/// Progress worth a line of its own; not with `-q`.
pub fn note(message: &str) {
    if level() > Level::Quiet {
        eprintln!("{message}");
    }
}

/// Runs one step that prints nothing itself (a rehearsal stage's output goes to its log) as
/// one line: its title when it starts (on a terminal, so that a long step shows what runs)
/// and its outcome and time when it ends. Nothing with `-q`.
pub fn one_line_step<T>(title: &str, f: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    if level() == Level::Quiet {
        return f();
    }
    let start = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    if terminal {
        eprint!("==> {title} …");
        let _ = std::io::stderr().flush();
    }
    let result = f();
    let outcome = if result.is_ok() { "done" } else { "failed" };
    let seconds = start.elapsed().as_secs_f64();
    if terminal {
        eprintln!(" {outcome} in {seconds:.1}s");
    } else {
        eprintln!("==> {title}: {outcome} in {seconds:.1}s");
    }
    result
}

pub fn error(e: &anyhow::Error) {
    let message = format!("{e:#}");
    if in_actions() {
        line(&format!("::error::{}", annotation(&message)));
    } else {
        line(&format!("error: {message}"));
    }
}

/// One line on stderr in one write: stderr is unbuffered, and `eprintln!` with arguments
/// writes each piece on its own, so output on a shared terminal (a plan arriving through
/// `| cat`) could land inside the line.
fn line(text: &str) {
    let whole = format!("{text}\n");
    // A failed write to stderr has nowhere better to be reported.
    let _ = std::io::stderr().write_all(whole.as_bytes());
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
