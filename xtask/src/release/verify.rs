//! `release verify`: check that a release is published and consistent, print one line (or
//! JSON object) per check, and fail when any check fails. The asking is `published`'s; the
//! rules are `core::verify`'s.

use anyhow::{Result, bail};
use semver::Version;
use xshell::Shell;

use crate::core::grammar::version_tag;
use crate::core::verify::{render_text, to_json};
use crate::project::Project;
use crate::published::{self, Scope};

pub struct Args {
    pub version: Version,
    pub json: bool,
    pub run: bool,
    pub stable: bool,
    pub artifacts_only: bool,
    /// `--provenance`: also the signed build provenance (always with `provenance = true`).
    pub provenance: bool,
}

pub fn run(sh: &Shell, project: &Project, args: Args) -> Result<()> {
    let version = args.version;
    let scope = match (args.artifacts_only, args.stable) {
        (true, _) => Scope::Artifacts,
        (false, true) => Scope::WithRelease,
        (false, false) => Scope::Auto,
    };
    let provenance = args.provenance || project.config.provenance;
    let checks = published::check(sh, project, &version, scope, args.run, provenance)?;
    if args.json {
        println!("{}", to_json(&checks));
    } else {
        print!("{}", render_text(&checks));
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    if failed > 0 {
        bail!(
            "{failed} of {} checks failed for {}",
            checks.len(),
            version_tag(&version)
        );
    }
    Ok(())
}
