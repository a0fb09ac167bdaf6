//! `release publish`: build and push the chart and the image of a version tag.

use anyhow::{Result, bail};
use xshell::Shell;

use crate::project::Project;

pub struct Args {
    pub tag: String,
    pub only: Option<String>,
    pub no_push: bool,
    pub dry_run: bool,
}

pub fn run(_sh: &Shell, _project: &Project, _args: Args) -> Result<()> {
    bail!("not implemented yet (issue 4)")
}
