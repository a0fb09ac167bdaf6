//! `cargo xtask ci`: the project's gate, the same on a laptop and in CI (what `make build`,
//! `make lint` and `make test` were): formatting, clippy, build and tests, all `--locked`.

use anyhow::Result;
use xshell::{Shell, cmd};

use crate::{project::Project, ui};

pub fn run(sh: &Shell, _project: &Project) -> Result<()> {
    ui::step("cargo fmt --check", || {
        Ok(cmd!(sh, "cargo fmt --all --check").run()?)
    })?;
    ui::step("cargo clippy", || {
        Ok(cmd!(
            sh,
            "cargo clippy --workspace --all-targets --locked -- -D warnings"
        )
        .run()?)
    })?;
    ui::step("cargo build", || {
        Ok(cmd!(sh, "cargo build --workspace --locked").run()?)
    })?;
    ui::step("cargo test", || {
        Ok(cmd!(sh, "cargo test --workspace --locked").run()?)
    })?;
    println!("ci: all checks passed");
    Ok(())
}
