//! `release verify`: check that a release is published and consistent, print one line (or
//! JSON object) per check, and fail when any check fails; in GitHub Actions also one
//! annotation per failing check and a table in the job summary. The asking is
//! `verify::checks_io`'s; the rules are `verify::checks`'s.

use anyhow::{Result, bail};
use xshell::Shell;

use crate::cli::VerifyArgs;
use crate::project::Project;
use crate::tag::grammar::version_tag;
use crate::ui;
use crate::verify::checks::{render_markdown, render_text, to_json};
use crate::verify::checks_io::{self, Scope};

pub fn run(sh: &Shell, project: &Project, args: VerifyArgs) -> Result<()> {
    let version = args.version;
    let scope = match (args.artifacts_only, args.stable) {
        (true, _) => Scope::Artifacts,
        (false, true) => Scope::WithRelease,
        (false, false) => Scope::Auto,
    };
    let provenance = args.provenance || project.config.provenance;
    let checks = checks_io::check(sh, project, &version, scope, args.run, provenance)?;
    if args.json {
        println!("{}", to_json(&checks));
    } else {
        print!("{}", render_text(&checks));
    }
    // In Actions: each failing check its own annotation, and the table in the job summary.
    let name = version_tag(&version);
    for check in checks.iter().filter(|c| !c.ok) {
        ui::annotate_error(&format!(
            "release verify {name}: {}: {}",
            check.id, check.detail
        ));
    }
    ui::summary(&render_markdown(&name, &checks))?;
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
