//! `release plan`: the side-effect-free preview of everything CI does for a tag.
//!
//! Also home of [`read_state`], the facts every tag-driven command plans from.

use anyhow::{Context, Result};
use xshell::Shell;

use crate::cli::PlanArgs;
use crate::publish::chart;
use crate::publish::github_release::plan_github;
use crate::publish::plan::{ChartFacts, RepoState, plan_publish};
use crate::publish::rules;
use crate::tag::git::RemoteBranch;
use crate::tag::grammar::{Classified, ReleaseTag, TagKind};
use crate::{project::Project, tag::git_io, ui};

pub fn run(sh: &Shell, project: &Project, args: PlanArgs) -> Result<()> {
    let Classified::Release(tag) = args.tag.meaning else {
        if args.json {
            println!(r#"{{"kind":"ignored","steps":[]}}"#);
        } else {
            println!(
                "ignored: {} is not a v* tag, so it triggers no release",
                args.tag.shown
            );
        }
        return Ok(());
    };
    let (state, config) = (read_state(sh, project, &tag)?, &project.config);
    let (text, json) = match tag.kind {
        TagKind::Version => {
            let plan = plan_publish(&tag, config, &state);
            (plan.render_text(), plan.to_json())
        }
        TagKind::Stable => {
            let plan = plan_github(&tag, config, &state);
            (plan.render_text(), plan.to_json())
        }
    };
    if args.json {
        println!("{json}");
    } else {
        print!("{text}");
    }
    Ok(())
}

/// The facts a plan is built from: tags, the tagged commit (HEAD if the tag does not exist
/// yet), whether it is on the default branch, and the chart's shape.
pub fn read_state(sh: &Shell, project: &Project, tag: &ReleaseTag) -> Result<RepoState> {
    // Every tag's name, but only this tag peeled: peeling all of them reads every tag object,
    // which with 10,000 tags costs far more than the rest of the plan.
    let tags = git_io::tag_names(sh)?;
    let existing = git_io::tags_named(sh, &[tag.name()])?.pop();
    let commit = match &existing {
        Some(t) => t.commit.clone(),
        None => git_io::head(sh)?,
    };
    let config = &project.config;
    let default_ref = RemoteBranch::new(&config.remote, &config.default_branch).tracking_ref;
    let on_default_branch = match git_io::commit_of(sh, &default_ref)? {
        Some(_) => git_io::is_ancestor(sh, &commit, &default_ref)?,
        None => {
            ui::warn(&format!(
                "{default_ref} is missing, so `latest` is not planned: fetch {} {} first",
                config.remote, config.default_branch
            ));
            false
        }
    };
    Ok(RepoState {
        commit_time: git_io::commit_time(sh, &commit)?,
        commit,
        tag_exists: existing.is_some(),
        tags,
        on_default_branch,
        chart: read_chart_facts(project)?,
    })
}

fn read_chart_facts(project: &Project) -> Result<ChartFacts> {
    let path = project.chart_yaml();
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let meta = chart::read_meta(&text).with_context(|| format!("in {}", path.display()))?;
    let ci_dir = project.chart_dir().join("ci");
    let mut ci_values = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&ci_dir) {
        for entry in entries {
            let file = entry?.file_name().to_string_lossy().into_owned();
            if file.ends_with("-values.yaml") {
                ci_values.push(format!("{}/ci/{file}", project.config.chart));
            }
        }
    }
    ci_values.sort();
    // A chart without values.yaml, or without an image in it, gets no image edit.
    let values = project.chart_dir().join("values.yaml");
    let image_repository = match std::fs::read_to_string(&values) {
        Ok(text) => chart::read_image_repository(&text)
            .with_context(|| format!("in {}", values.display()))?,
        Err(_) => None,
    };
    let newest = crate::tools::KUBERNETES_VALIDATE_VERSION
        .split('.')
        .map(|n| n.parse::<u64>().unwrap_or_default())
        .collect::<Vec<_>>();
    let kube_versions = rules::kube_versions(meta.kube_version.as_deref(), (newest[0], newest[1]))
        .map_err(|why| anyhow::anyhow!("{}: kubeVersion {why}", path.display()))?;
    Ok(ChartFacts {
        name: meta.name,
        has_dependencies: meta.has_dependencies,
        ci_values,
        image_repository,
        kube_versions,
    })
}
