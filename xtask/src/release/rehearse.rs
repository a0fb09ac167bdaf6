//! `release rehearse`: the whole release in a scratch clone.

use anyhow::{Result, bail};
use xshell::Shell;

use crate::project::Project;

pub struct Args {
    pub version: String,
    pub keep: bool,
}

pub fn run(_sh: &Shell, _project: &Project, _args: Args) -> Result<()> {
    bail!("not implemented yet (issue 5)")
}
