//! `release promote`: put the stable tag on the exact commit of the version tag.

use anyhow::{Result, bail};
use xshell::Shell;

use crate::project::Project;

pub struct Args {
    pub version: String,
    pub dry_run: bool,
    pub yes: bool,
    pub remote: Option<String>,
    pub no_verify: bool,
}

pub fn run(_sh: &Shell, _project: &Project, _args: Args) -> Result<()> {
    bail!("not implemented yet (issue 3)")
}
