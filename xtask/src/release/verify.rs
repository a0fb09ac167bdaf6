//! `release verify`: check that a release is published and consistent.

use anyhow::{Result, bail};
use xshell::Shell;

use crate::project::Project;

pub struct Args {
    pub version: String,
    pub json: bool,
    pub run: bool,
    pub stable: bool,
    pub artifacts_only: bool,
}

pub fn run(_sh: &Shell, _project: &Project, _args: Args) -> Result<()> {
    bail!("not implemented yet (issue 5)")
}
