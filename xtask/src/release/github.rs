//! `release github`: create the GitHub release of a stable tag.
//!
//! The procedure: only `vX.Y.Z-stable` asks for a release (a version tag gets a notice);
//! plan it (title, notes since the previous stable tag, Latest only for the highest stable
//! version), run the project's checks, then create the release with `gh` unless it exists.
//! `gh` reads `GH_TOKEN` from the environment; xtask never handles the token itself.

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::cli::TagArg;
use crate::core::grammar::{self, Classified, TagKind};
use crate::core::plan::PublishStep;
use crate::core::rules::GithubRelease;
use crate::core::tools;
use crate::{exec, project::Project, ui};

pub struct Args {
    pub tag: TagArg,
    pub dry_run: bool,
    /// Skip `cargo xtask ci` (the tests of this command use it; CI never does).
    pub no_checks: bool,
}

pub fn run(sh: &Shell, project: &Project, args: Args) -> Result<()> {
    // STEP 1: only a stable tag asks for a GitHub release.
    let release_tag = match args.tag.meaning {
        Classified::Ignored => {
            ui::note(&format!(
                "ignored: {} is not a v* tag, so there is no GitHub release",
                args.tag.shown
            ));
            return Ok(());
        }
        Classified::Release(t) if t.kind == TagKind::Version => {
            ui::note(&format!(
                "{t} is a version tag: its artifacts are published by `release publish`; the GitHub release comes with {}",
                grammar::stable_tag(&t.version)
            ));
            return Ok(());
        }
        Classified::Release(t) => t,
    };

    // STEP 2: the plan.
    let plan = crate::release::plan::build(sh, project, &release_tag)?;
    let steps: Vec<PublishStep> = plan
        .steps
        .iter()
        .filter(|s| !(args.no_checks && matches!(s, PublishStep::Checks)))
        .cloned()
        .collect();
    if args.dry_run {
        print!("{}", plan.with_steps(steps).render_text());
        return Ok(());
    }

    // STEP 3: preflight.
    let mut problems = Vec::new();
    problems.extend(
        crate::project::missing_tools(&["gh"])
            .iter()
            .map(|t| tools::missing(t)),
    );
    if !plan.tag_exists {
        problems.push(format!(
            "{release_tag} does not exist in this repository: promote first (`cargo xtask release promote {}`), or fetch tags",
            release_tag.version
        ));
    }
    if !problems.is_empty() {
        bail!(
            "cannot create the GitHub release of {release_tag} (nothing was changed):\n  - {}",
            problems.join("\n  - ")
        );
    }

    // STEP 4: the steps.
    for step in &steps {
        match step {
            PublishStep::Checks => ui::step("cargo xtask ci", || crate::ci::run(sh, project))?,
            PublishStep::CreateGithubRelease { release, repo } => {
                ui::step(&step.to_string(), || create(sh, step, release, repo))?
            }
            other => bail!("`{other}` does not belong to `release github`"),
        }
    }
    Ok(())
}

/// Creates the release unless it exists; prints its URL.
fn create(sh: &Shell, step: &PublishStep, release: &GithubRelease, repo: &str) -> Result<()> {
    let tag = &release.tag;
    let url = match existing_release(sh, tag, repo)? {
        Some(url) => {
            ui::note(&format!(
                "the GitHub release {tag} exists already: nothing to do"
            ));
            url
        }
        None => {
            let mut url = String::new();
            for command in step.commands() {
                eprintln!("$ {command}");
                url = exec::read(sh, &command)?;
            }
            url
        }
    };
    println!("{url}");
    ui::github_output("release-url", url.trim())?;
    ui::summary(&format!(
        "### GitHub release {tag}\n\n{}\n\nLatest: {}; notes since {}.\n",
        url.trim(),
        if release.latest { "yes" } else { "no" },
        release
            .notes_start_tag
            .as_deref()
            .unwrap_or("the first commit")
    ))
}

/// The URL of the release of `tag`, or `None` when GitHub says it does not exist. Anything
/// else (no token, no network, rate limit) is an error: taking it for "absent" would try a
/// create that cannot work, or hide the real problem.
fn existing_release(sh: &Shell, tag: &str, repo: &str) -> Result<Option<String>> {
    let out = cmd!(
        sh,
        "gh release view {tag} --repo {repo} --json url --jq .url"
    )
    .quiet()
    .ignore_status()
    .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        return Ok(Some(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ));
    }
    if stderr.trim() == "release not found" {
        return Ok(None);
    }
    bail!(
        "cannot tell whether the GitHub release {tag} exists: gh release view said: {} (check GH_TOKEN and the network)",
        stderr.trim()
    )
}
