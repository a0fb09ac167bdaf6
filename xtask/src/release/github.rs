//! `release github`: create the GitHub release of a stable tag, and only of one that is
//! approved by what it releases.
//!
//! The procedure: only `vX.Y.Z-stable` asks for a release (a version tag gets a notice);
//! plan it; run the gate, which reads only (so a dry run shows its verdict): the stable tag
//! must be on the remote on the commit of `vX.Y.Z`, and every artifact check of
//! `release verify X.Y.Z --artifacts-only` must pass, or nothing is written to GitHub. Then
//! the project's checks, and the release: GitHub's generated notes with the record of the
//! artifacts below them, Latest only for the highest stable release among the clone's tags
//! and the releases GitHub already has. A release made by hand is completed instead (published,
//! titled, the record added below its notes), and whatever was done, the release is read back
//! and must pass `release verify`'s checks. `gh` reads `GH_TOKEN` from the environment; xtask
//! never handles the token itself.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::check::Gate;
use crate::check::Lookup;
use crate::cli::GithubArgs;
use crate::publish::github_release::{
    self, Completion, GithubPlan, GithubStep, NOTES_FILE, create_release, edit_release, plan_github,
};
use crate::publish::rules::{self, GithubRelease};
use crate::tag::grammar::{self, Classified, ReleaseTag, TagKind};
use crate::tools;
use crate::verify::checks::verify;
use crate::verify::facts::{PublishedRelease, ReleaseFacts};
use crate::verify::record::{self, Record};
use crate::{exec, project::Project, ui, verify::checks_io};

pub fn run(sh: &Shell, project: &Project, args: GithubArgs) -> Result<()> {
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
    let state = crate::release::plan::read_state(sh, project, &release_tag)?;
    let mut plan = plan_github(&release_tag, &project.config, &state);
    if args.no_checks {
        plan.steps.retain(|step| *step != GithubStep::Checks);
    }
    // A dry run's data is the plan and the verdict; a real run's is the release's URL, so
    // there they are progress, on stderr.
    let show = |text: &str| {
        if args.dry_run {
            print!("{text}");
        } else {
            eprint!("{text}");
        }
    };
    show(&plan.render_text());

    // STEP 3: preflight, every problem at once.
    preflight(&plan, &release_tag)?;

    // STEP 4: the gate. It only reads, so the dry run runs it too and shows its verdict.
    let version = &release_tag.version;
    let title = format!(
        "the release gate: {release_tag} on the commit of v{version}, whose artifacts verify"
    );
    let (gate, facts) = ui::step(&title, || {
        Ok(checks_io::github_release_gate(sh, project, version))
    })?;
    let name = grammar::version_tag(version);
    match (gate.problem(&name), &gate) {
        (None, Gate::Checked(_)) => show(&format!(
            "gate: ok, {release_tag} is on the commit of {name}, whose published artifacts verify\n"
        )),
        (None, _) => unreachable!("the release gate is never skipped"),
        (Some(problem), _) => {
            // The reason is said once, in the error: it reaches the terminal even when
            // the dry run's stdout goes to a file.
            show("gate: FAIL, the reason is given on stderr\n");
            if let Gate::Checked(failing) = &gate {
                for check in failing {
                    ui::annotate_error(&format!("release gate of {release_tag}: {check}"));
                }
            }
            bail!(
                "cannot create the GitHub release of {release_tag}, and nothing was written to GitHub: {problem}"
            );
        }
    }
    if args.dry_run {
        println!("dry run: nothing was changed");
        return Ok(());
    }
    let facts = facts.context("the gate passed without facts")?;

    // STEP 5: the steps.
    for step in &plan.steps {
        match step {
            GithubStep::Checks => ui::step("cargo xtask ci", || crate::ci::run(sh, project))?,
            // Part of the creation: notes are asked for only when the release does not exist
            // yet, with the Latest and notes start decided against GitHub's releases then.
            GithubStep::GenerateNotes => {}
            GithubStep::CreateRelease => ui::step(&plan.line(*step), || {
                create(sh, project, &plan.release, &plan.repo, &facts)
            })?,
        }
    }
    Ok(())
}

fn preflight(plan: &GithubPlan, tag: &ReleaseTag) -> Result<()> {
    let needed = tools::union([&["gh"][..], &tools::VERIFY_ARTIFACTS[..]]);
    let mut problems: Vec<String> = crate::project::missing_tools(&needed)
        .iter()
        .map(|t| tools::missing(t))
        .collect();
    if !plan.subject.tag_exists {
        problems.push(format!(
            "{tag} does not exist in this repository: promote first (`cargo xtask release promote {}`), or fetch tags",
            tag.version
        ));
    }
    if !problems.is_empty() {
        bail!(
            "cannot create the GitHub release of {tag} (nothing was changed):\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(())
}

/// Creates the release, or completes one made by hand; then reads it back, and it must be
/// what `release verify` accepts: no green run on a release that verify rejects. Prints its
/// URL.
fn create(
    sh: &Shell,
    project: &Project,
    release: &GithubRelease,
    repo: &str,
    facts: &ReleaseFacts,
) -> Result<()> {
    let tag = &release.tag;
    // Latest from the releases GitHub has now, not only from this clone's tags: a release of
    // a higher version may have been made from another clone meanwhile.
    let rechecked = || -> Result<GithubRelease> {
        let mut known = github_release_tags(sh, repo)?;
        known.extend(crate::tag::git_io::tag_names(sh)?);
        let version = grammar::release_tag(tag)
            .context("the release's tag is a release tag")?
            .version;
        Ok(rules::github_release(&version, &known))
    };
    let release = match existing_release(sh, tag, repo)? {
        None => {
            let release = rechecked()?;
            let notes = generate_notes(sh, &release, repo)?;
            write_notes(project, &notes, facts)?;
            run_gh(sh, &create_release(&release, repo))?;
            release
        }
        Some((_, existing)) => {
            let has_record = existing.body.contains(record::HEADING);
            let (draft, prerelease) = (existing.draft, existing.prerelease);
            let completion =
                Completion::of(release, draft, prerelease, &existing.title, has_record);
            if completion.is_empty() {
                ui::note(&format!(
                    "the GitHub release {tag} exists already: nothing to do"
                ));
                release.clone()
            } else {
                ui::note(&format!(
                    "the GitHub release {tag} exists, made by hand: completing it ({})",
                    completion.describe()
                ));
                let release = rechecked()?;
                if completion.add_record {
                    // The notes written by hand stay, above the record; none get GitHub's.
                    let mut notes = existing.body.trim().to_string();
                    if notes.is_empty() {
                        notes = generate_notes(sh, &release, repo)?;
                    }
                    write_notes(project, &notes, facts)?;
                }
                run_gh(sh, &edit_release(&release, repo, &completion))?;
                release
            }
        }
    };

    // Decided by what GitHub shows now, never by gh's exit code.
    let (url, now) = existing_release(sh, tag, repo)?
        .with_context(|| format!("the GitHub release {tag} is missing right after it was made"))?;
    let mut facts = facts.clone();
    facts.github_release = Some(Lookup::Found(now));
    let failing: Vec<String> = verify(&project.config, &facts)
        .into_iter()
        .filter(|check| !check.ok)
        .map(|check| format!("{}: {}", check.id, check.detail))
        .collect();
    if !failing.is_empty() {
        bail!(
            "the GitHub release {tag} is there, but `release verify` rejects it:\n  - {}\nits notes must end in the one record this command writes: remove a `{}` section written by hand (keep your notes above it) and re-run `cargo xtask release github {tag}`, or delete the release (`gh release delete {tag} --repo {repo}`) and re-run",
            failing.join("\n  - "),
            record::HEADING
        );
    }
    println!("{url}");
    ui::github_output("release-url", &url)?;
    ui::summary(&format!(
        "### GitHub release {tag}\n\n{url}\n\nLatest: {}; notes since {}.\n",
        if release.latest { "yes" } else { "no" },
        release
            .notes_start_tag
            .as_deref()
            .unwrap_or("the first commit")
    ))
}

/// The release's body into [`NOTES_FILE`]: the notes, then the record of the artifacts the
/// gate checked.
fn write_notes(project: &Project, notes: &str, facts: &ReleaseFacts) -> Result<()> {
    let chart = checks_io::chart_name(project)?;
    let mut record = Record::from_facts(&project.config, facts, &chart)
        .context("the gate passed, so every artifact is there to record")?;
    record.run_url = ui::run_url();
    let body = format!("{}\n\n{}", notes.trim_end(), record.render());
    let file = project.root.join(NOTES_FILE);
    std::fs::create_dir_all(file.parent().expect("the notes file is in dist/"))?;
    std::fs::write(&file, body).with_context(|| format!("cannot write {}", file.display()))
}

fn run_gh(sh: &Shell, command: &crate::invocation::Invocation) -> Result<()> {
    eprintln!("$ {command}");
    exec::read(sh, command).map(drop)
}

/// GitHub's generated notes for the release.
fn generate_notes(sh: &Shell, release: &GithubRelease, repo: &str) -> Result<String> {
    let command = github_release::generate_notes(release, repo);
    eprintln!("$ {command}");
    exec::read(sh, &command)
}

/// The tags of the releases GitHub has (drafts aside): with the clone's tags, what decides
/// whether this release is Latest.
fn github_release_tags(sh: &Shell, repo: &str) -> Result<Vec<String>> {
    let path = format!("repos/{repo}/releases?per_page=100");
    let jq = ".[] | select(.draft | not) | .tag_name";
    let out = cmd!(sh, "gh api --paginate {path} --jq {jq}")
        .quiet()
        .read()
        .with_context(|| {
            format!("cannot list the releases of {repo}, which decide Latest (check GH_TOKEN and the network)")
        })?;
    Ok(out.lines().map(str::to_string).collect())
}

/// The release of `tag` as GitHub shows it, with its URL, or `None` when GitHub says it does
/// not exist. Anything else (no token, no network, rate limit) is an error: taking it for
/// "absent" would try a create that cannot work, or hide the real problem.
fn existing_release(
    sh: &Shell,
    tag: &str,
    repo: &str,
) -> Result<Option<(String, PublishedRelease)>> {
    let fields = "url,name,isDraft,isPrerelease,body";
    let out = cmd!(sh, "gh release view {tag} --repo {repo} --json {fields}")
        .quiet()
        .ignore_status()
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.trim() == "release not found" {
            return Ok(None);
        }
        bail!(
            "cannot tell whether the GitHub release {tag} exists: gh release view said: {} (check GH_TOKEN and the network)",
            stderr.trim()
        )
    }
    let value: serde_yaml::Value = serde_yaml::from_slice(&out.stdout)
        .with_context(|| format!("gh release view {tag} printed invalid JSON"))?;
    let text = |key: &str| value[key].as_str().unwrap_or_default().to_string();
    let flag = |key: &str| value[key].as_bool().unwrap_or(false);
    let release = PublishedRelease {
        title: text("name"),
        draft: flag("isDraft"),
        prerelease: flag("isPrerelease"),
        body: text("body"),
    };
    Ok(Some((text("url"), release)))
}
