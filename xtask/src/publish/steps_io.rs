//! What the publish steps share: what they read while they run, and what each one reports
//! it pushed or found already there.

use std::path::Path;

use anyhow::Result;
use xshell::Shell;

use crate::project::Project;
use crate::publish::steps::Step;
use crate::registry::oci_io::Registry;

/// What the publish steps read while they run; none of it changes from step to step.
pub struct Publisher<'a> {
    pub sh: &'a Shell,
    pub project: &'a Project,
    pub registry: &'a Registry<'a>,
    /// The run's scratch directory: downloaded manifests and unpacked charts.
    pub scratch: &'a Path,
    /// The versions tagged in the clone: a retarget record must name two of them.
    pub version_tags: &'a [semver::Version],
}

/// What one push step found or did, for the report.
pub struct Published {
    pub what: &'static str,
    pub reference: String,
    /// What `reference` holds after the step.
    pub digest: String,
    pub state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pushed,
    AlreadyThere,
    /// A moving tag left with the newer release it holds.
    KeptNewer,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::Pushed => "pushed",
            State::AlreadyThere => "already there",
            State::KeptNewer => "kept: it holds a newer release",
        })
    }
}

/// Runs a step's commands exactly as the plan prints them.
pub fn run_commands(sh: &Shell, step: &dyn Step) -> Result<()> {
    for command in step.commands() {
        crate::exec::run(sh, &command)?;
    }
    Ok(())
}
