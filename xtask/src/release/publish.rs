//! `release publish`: build and push the chart and the multi-platform image of a version tag.
//!
//! The procedure: classify the tag (nothing else happens for an invalid, stable or foreign
//! one), plan it, print the plan (dry run) or check every tool and setting it needs, then
//! carry out exactly the plan's steps in order. Each push first asks the registry what it
//! already holds, so a re-run after a partial failure completes what is missing, skips what
//! is done, and refuses to overwrite a published version with different content.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::cli::PublishArgs;
use crate::publish::plan::{PublishPlan, plan_publish};
use crate::publish::steps::PublishStep;
use crate::publish::steps_io::{Published, Publisher, State, run_commands};
use crate::publish::{chart_io, image_io};
use crate::registry::oci_io::{Credentials, Registry};
use crate::scratch::Scratch;
use crate::tag::grammar::{self, Classified, TagKind};
use crate::tools::{self, HelmCheck};
use crate::{project::Project, tag::git_io, ui};

pub fn run(sh: &Shell, project: &Project, args: PublishArgs) -> Result<()> {
    // STEP 1: what the tag asks for, before any tool or credential is touched.
    let release_tag = match args.tag.meaning {
        Classified::Ignored => {
            ui::note(&format!(
                "ignored: {} is not a v* tag, so nothing is published",
                args.tag.shown
            ));
            return Ok(());
        }
        Classified::Release(t) if t.kind == TagKind::Stable => {
            ui::note(&format!(
                "{t} is a stable tag: stable tags never republish artifacts (the image and chart of v{} were published by its version tag)",
                t.version
            ));
            return Ok(());
        }
        Classified::Release(t) => t,
    };
    let only = args.only;

    // STEP 2: the plan, and the steps this run takes from it.
    let state = crate::release::plan::read_state(sh, project, &release_tag)?;
    let push = !args.no_push;
    let plan = plan_publish(&release_tag, &project.config, &state).select(only, push);
    if args.dry_run {
        print!("{}", plan.render_text());
        // Changes nothing, but says what would stop the real run before it starts.
        for tool in plan_tools(&plan) {
            if which::which(tool).is_err() {
                ui::warn(&format!(
                    "the real run would refuse: {}",
                    tools::missing(tool)
                ));
            }
        }
        return Ok(());
    }

    // STEP 3: preflight; every problem at once, before anything is changed.
    let credentials = preflight(sh, project, &plan, push)?;

    // STEP 4: carry out the steps.
    let scratch = Scratch::new("publish")?;
    let registry = Registry::new(
        sh,
        project.config.plain_http,
        credentials.as_ref(),
        scratch.path(),
    );
    let version_tags =
        grammar::release_versions(state.tags.iter().map(String::as_str), TagKind::Version);
    let publisher = Publisher {
        sh,
        project,
        registry: &registry,
        scratch: scratch.path(),
        version_tags: &version_tags,
    };
    let chart_files = chart_io::ChartFiles::read(project, &plan.chart.dir)?;
    // Guarded: an interrupt stops the running command and fails the step, and the run still
    // gets to put the chart's files back before exiting 130 or 143.
    let carried = crate::exec::guarded(|| carry_out(&publisher, &plan.steps));
    // The stamped chart files were for helm; the tree gets back what it had, failed or not.
    let restored = chart_files.restore();
    let (published, image_digest) = carried?;
    restored
        .context("the run is done, but the chart's files could not be put back as they were")?;

    // STEP 5: say what is published, for people and for the workflow.
    report(project, &plan, &published, image_digest.as_deref(), push)
}

/// Carries out the steps in order. Each push step returns what it published; the tags after
/// the version tag point at the digest it holds.
fn carry_out(
    publisher: &Publisher<'_>,
    steps: &[PublishStep],
) -> Result<(Vec<Published>, Option<String>)> {
    let mut published: Vec<Published> = Vec::new();
    let mut image_digest: Option<String> = None;
    for step in steps {
        // Some steps ask the registry without the executor, which would refuse them.
        if let Some(interrupt) = crate::exec::interrupted() {
            bail!("{interrupt}: `{step}` and the steps after it did not run");
        }
        ui::step(&step.to_string(), || {
            let (sh, project) = (publisher.sh, publisher.project);
            match step {
                PublishStep::StampChart(step) => chart_io::stamp(project, step)?,
                PublishStep::SetChartImage(step) => chart_io::set_image(project, step)?,
                PublishStep::HelmTemplate(step) => chart_io::template(sh, step)?,
                PublishStep::ValidateManifests(step) => chart_io::validate(sh, step)?,
                PublishStep::Dist(step) => {
                    crate::dist::build(sh, project, &step.platforms, &step.stamp).map(drop)?
                }
                PublishStep::DockerBuilder(step) => image_io::ensure_builder(sh, step)?,
                PublishStep::BuildImage(step) => {
                    image_io::prepare_build(sh, project, &step.build)?;
                    run_commands(sh, step)?
                }
                PublishStep::Helm(step) => run_commands(sh, step)?,
                PublishStep::Login(step) => run_commands(sh, step)?,
                PublishStep::PushImage(step) => {
                    let image = image_io::push(publisher, step)?;
                    image_digest = Some(image.digest.clone());
                    published.push(image);
                }
                PublishStep::TagImage(step) => {
                    let digest = image_digest.as_deref().context(
                        "the version tag's digest is unknown: the push step must run first",
                    )?;
                    published.push(image_io::tag(publisher, step, digest)?);
                }
                PublishStep::WaitForImage(step) => chart_io::wait_for_image(publisher, step)?,
                PublishStep::HelmPush(step) => published.push(chart_io::push(publisher, step)?),
                PublishStep::HelmShowChart(step) => chart_io::read_back(sh, step)?,
            }
            Ok(())
        })?;
    }
    Ok((published, image_digest))
}

/// Every tool the plan's steps run, each once.
fn plan_tools(plan: &PublishPlan) -> Vec<&'static str> {
    let mut tools: Vec<&'static str> = plan.steps.iter().flat_map(|s| s.step().tools()).collect();
    tools.sort_unstable();
    tools.dedup();
    tools
}

/// Tools on PATH, credentials complete, and for a real publish the tag checked out.
fn preflight(
    sh: &Shell,
    project: &Project,
    plan: &PublishPlan,
    push: bool,
) -> Result<Option<Credentials>> {
    let mut problems = Vec::new();
    let steps = &plan.steps;
    for tool in &plan_tools(plan) {
        if which::which(tool).is_err() {
            problems.push(tools::missing(tool));
        } else if *tool == "helm" {
            let format = "{{.Version}}";
            let found = cmd!(sh, "helm version --template {format}")
                .quiet()
                .read()
                .unwrap_or_else(|e| format!("(unreadable: {e})"));
            match tools::check_helm(&found, ui::in_ci()) {
                HelmCheck::Pinned => {}
                HelmCheck::Warn(why) => ui::warn(&why),
                HelmCheck::Refuse(why) => problems.push(why),
            }
        }
    }
    // A laptop may lack the validator and skips its step with a notice; CI never does.
    let validates = steps
        .iter()
        .any(|s| matches!(s, PublishStep::ValidateManifests(_)));
    if validates && ui::in_ci() && which::which("kubernetes-validate").is_err() {
        problems.push(tools::missing("kubernetes-validate"));
    }
    let credentials = match Credentials::from_env(&project.config) {
        Ok(c) => c,
        Err(e) => {
            problems.push(e.to_string());
            None
        }
    };
    if push {
        let tag = plan.subject.tag.name();
        if !plan.subject.tag_exists {
            problems.push(format!(
                "{tag} does not exist in this repository: publish only tagged commits (create it with `cargo xtask release tag`, or fetch tags)"
            ));
        } else if git_io::head(sh)? != plan.subject.commit {
            problems.push(format!(
                "HEAD is not the commit of {tag} ({}): check out the tag first, so that what is built is what was tagged",
                plan.subject.commit
            ));
        }
    }
    if !problems.is_empty() {
        bail!(
            "cannot publish {} (nothing was changed):\n  - {}",
            plan.subject.tag,
            problems.join("\n  - ")
        );
    }
    Ok(credentials)
}

/// Data on stdout (one line per artifact), the same as `$GITHUB_OUTPUT` values and a
/// Markdown summary when running in GitHub Actions.
fn report(
    project: &Project,
    plan: &PublishPlan,
    outcomes: &[Published],
    image_digest: Option<&str>,
    push: bool,
) -> Result<()> {
    for o in outcomes {
        println!("{} {} {} ({})", o.what, o.reference, o.digest, o.state);
    }
    if !push {
        println!("{}: built, nothing pushed (--no-push)", plan.subject.tag);
    }
    // The tags that hold this release's image; a moving tag kept by a newer release does not.
    let images: Vec<&Published> = outcomes
        .iter()
        .filter(|o| o.what == "image" && o.state != State::KeptNewer)
        .collect();
    let chart = outcomes.iter().find(|o| o.what == "chart");
    let mut output = vec![("tag", plan.subject.tag.name())];
    if let Some(digest) = image_digest {
        output.push(("image", plan.image.repository.clone()));
        output.push(("image-digest", digest.to_string()));
        output.push((
            "image-tags",
            images
                .iter()
                .map(|o| o.reference.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ));
    }
    if let Some(chart) = chart {
        let plan_chart = &plan.chart;
        output.push(("chart", chart.reference.clone()));
        output.push(("chart-version", plan_chart.versions.version.clone()));
        // The chart's repository (no `oci://`) and digest: what the workflow's attestation
        // step signs and attaches, as it does for `image` and `image-digest`.
        let repository = plan_chart.reference();
        let repository = repository.trim_start_matches("oci://");
        output.push(("chart-repository", repository.to_string()));
        output.push(("chart-digest", chart.digest.clone()));
    }
    for (key, value) in &output {
        ui::github_output(key, value)?;
    }

    let mut summary = format!("### Published {}\n\n", plan.subject.tag);
    if outcomes.is_empty() {
        summary.push_str("Nothing was pushed (`--no-push`).\n");
    } else {
        summary.push_str("| artifact | reference | digest | state |\n| --- | --- | --- | --- |\n");
        for o in outcomes {
            summary.push_str(&format!(
                "| {} | `{}` | `{}` | {} |\n",
                o.what, o.reference, o.digest, o.state
            ));
        }
    }
    let image = &plan.image;
    for note in image.tags.notes() {
        summary.push_str(&format!("\n- {note}"));
    }
    // The image's `org.opencontainers.image.source` label links it to the repository,
    // where GitHub lists it.
    if let Some(path) = image.repository.strip_prefix("ghcr.io/") {
        let name = path.split_once('/').map_or(path, |(_, name)| name);
        summary.push_str(&format!(
            "\n\nImage package: https://github.com/{}/pkgs/container/{}\n",
            project.config.github_repo,
            name.replace('/', "%2F")
        ));
    }
    ui::summary(&summary)
}
