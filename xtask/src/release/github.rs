//! `release github`: create the GitHub release of a stable tag.

use anyhow::{Result, bail};
use xshell::Shell;

use crate::project::Project;

pub struct Args {
    pub tag: String,
    pub dry_run: bool,
}

pub fn run(_sh: &Shell, _project: &Project, _args: Args) -> Result<()> {
    bail!("not implemented yet (issue 4)")
}
