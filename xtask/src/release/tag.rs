//! `release tag`: create and push the annotated version tag after preflight checks.

use anyhow::{Result, bail};
use xshell::Shell;

use crate::project::Project;

pub struct Args {
    pub version: String,
    pub dry_run: bool,
    pub yes: bool,
    pub remote: Option<String>,
    pub allow_older: bool,
    pub no_checks: bool,
}

pub fn run(_sh: &Shell, _project: &Project, _args: Args) -> Result<()> {
    bail!("not implemented yet (issue 3)")
}
