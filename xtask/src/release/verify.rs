//! `release verify`: check that a release is published and consistent.
//!
//! Also home of [`promotion_gate`], the check `release promote` runs before it tags.

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

/// The promotion gate: the checks of the published artifacts of `version` (image, chart)
/// that must pass before `release promote` puts `vX.Y.Z-stable` on it. Returns the failing
/// checks, each a line saying what is wrong; empty means the gate is open.
///
/// Issue 5 (`release verify`) fills this in with its checks; until then it checks nothing.
/// `release promote --no-verify` skips it.
pub fn promotion_gate(
    _sh: &Shell,
    _project: &Project,
    _version: &semver::Version,
) -> Result<Vec<String>> {
    Ok(Vec::new())
}
