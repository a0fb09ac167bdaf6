//! The plan of a stable tag: the GitHub release it gets and the steps that make it, which are
//! not publish steps (a stable tag never republishes an artifact, and `release publish` cannot
//! be handed one of these).

use crate::config::Config;
use crate::invocation::Invocation;
use crate::json::Json;
use crate::publish::plan::{RepoState, Subject};
use crate::publish::rules::{self, GithubRelease};
use crate::tag::grammar::ReleaseTag;

/// Where `release github` writes the release's body (the generated notes, then the record)
/// for `gh release create --notes-file`.
pub const NOTES_FILE: &str = "dist/github-release.md";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubPlan {
    pub subject: Subject,
    pub release: GithubRelease,
    /// `owner/name` on GitHub.
    pub repo: String,
    pub steps: Vec<GithubStep>,
}

/// One thing `release github` does after its gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GithubStep {
    /// The project's own checks (`cargo xtask ci`).
    Checks,
    /// GitHub's generated notes for the release, to which the artifacts record is added.
    GenerateNotes,
    /// The release, with the notes and the record from [`NOTES_FILE`].
    CreateRelease,
}

// `gh release create --generate-notes` would put any notes of ours above GitHub's; asking
// for GitHub's notes first lets the record follow them.
pub fn generate_notes(release: &GithubRelease, repo: &str) -> Invocation {
    let endpoint = format!("repos/{repo}/releases/generate-notes");
    let tag = format!("tag_name={}", release.tag);
    let mut args = vec!["api", "--method", "POST", &endpoint, "-f", &tag];
    let start =
        (release.notes_start_tag.as_ref()).map(|start| format!("previous_tag_name={start}"));
    if let Some(start) = &start {
        args.extend(["-f", start]);
    }
    args.extend(["--jq", ".body"]);
    Invocation::new("gh", args)
}

pub fn create_release(release: &GithubRelease, repo: &str) -> Invocation {
    let latest = format!("--latest={}", release.latest);
    let (tag, title) = (&release.tag, &release.title);
    let args = ["release", "create", tag, "--verify-tag", "--title", title];
    let args = args
        .into_iter()
        .chain(["--notes-file", NOTES_FILE, &latest, "--repo", repo]);
    Invocation::new("gh", args)
}

/// What a release someone made by hand lacks of what `release github` makes, and what
/// `release verify` requires: published (not a draft or prerelease), titled with the stable
/// tag, and its notes followed by the record of the artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Publish a draft or a prerelease.
    pub publish: bool,
    /// The stable tag, when the title is another.
    pub title: Option<String>,
    /// Add the record below the notes already there (through [`NOTES_FILE`]).
    pub add_record: bool,
}

impl Completion {
    pub fn of(
        release: &GithubRelease,
        draft: bool,
        prerelease: bool,
        title: &str,
        has_record: bool,
    ) -> Completion {
        Completion {
            publish: draft || prerelease,
            title: (title != release.title).then(|| release.title.clone()),
            add_record: !has_record,
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.publish && self.title.is_none() && !self.add_record
    }

    /// What it changes, as people read it.
    pub fn describe(&self) -> String {
        let mut changes = Vec::new();
        if self.publish {
            changes.push("publish it".to_string());
        }
        if let Some(title) = &self.title {
            changes.push(format!("title it {title}"));
        }
        if self.add_record {
            changes.push("add the record below its notes".to_string());
        }
        changes.join(", ")
    }
}

/// `gh release edit` that completes a release; Latest is set only when it publishes one,
/// as `gh release create` would have.
pub fn edit_release(release: &GithubRelease, repo: &str, completion: &Completion) -> Invocation {
    let mut args = vec!["release", "edit", &release.tag, "--verify-tag"];
    let latest = format!("--latest={}", release.latest);
    if completion.publish {
        args.extend(["--draft=false", "--prerelease=false", &latest]);
    }
    if let Some(title) = &completion.title {
        args.extend(["--title", title]);
    }
    if completion.add_record {
        args.extend(["--notes-file", NOTES_FILE]);
    }
    args.extend(["--repo", repo]);
    Invocation::new("gh", args)
}

/// The plan of the stable tag `tag`: the project's checks, GitHub's notes, the release.
pub fn plan_github(tag: &ReleaseTag, config: &Config, repo: &RepoState) -> GithubPlan {
    GithubPlan {
        subject: Subject::of(tag, repo),
        release: rules::github_release(&tag.version, &repo.tags),
        repo: config.github_repo.clone(),
        steps: vec![
            GithubStep::Checks,
            GithubStep::GenerateNotes,
            GithubStep::CreateRelease,
        ],
    }
}

impl GithubPlan {
    /// A step as the plan prints it: its command exactly as it runs.
    pub fn line(&self, step: GithubStep) -> String {
        let (release, repo) = (&self.release, &self.repo);
        match step {
            GithubStep::Checks => "cargo xtask ci".to_string(),
            GithubStep::GenerateNotes => format!(
                "{}  (then the artifacts record below them, into {NOTES_FILE})",
                generate_notes(release, repo)
            ),
            GithubStep::CreateRelease => format!(
                "{}  (a release made by hand is completed instead; Latest rechecked against GitHub's releases)",
                create_release(release, repo)
            ),
        }
    }

    /// The plan as people read it; also the dry run of `release github`.
    pub fn render_text(&self) -> String {
        let release = &self.release;
        let start = release
            .notes_start_tag
            .as_deref()
            .unwrap_or("the first commit");
        let latest = if release.latest {
            "yes"
        } else {
            "no (a higher stable release exists)"
        };
        let what = [
            "image and chart: none (stable tags never republish artifacts)".to_string(),
            format!("github release: {}", release.tag),
            format!("  title: {}", release.title),
            format!("  notes: generated since {start}"),
            format!("  latest: {latest}"),
        ];
        let steps: Vec<String> = self.steps.iter().map(|s| self.line(*s)).collect();
        self.subject.render(&what, &steps)
    }

    pub fn to_json(&self) -> Json {
        let release = &self.release;
        let start = release.notes_start_tag.as_deref();
        let release = Json::object([
            ("create", Json::Bool(true)),
            ("title", Json::from(release.title.as_str())),
            ("latest", Json::Bool(release.latest)),
            ("notes_start_tag", start.map_or(Json::Null, Json::from)),
        ]);
        let steps: Vec<String> = self.steps.iter().map(|s| self.line(*s)).collect();
        self.subject
            .to_json(Json::Null, Json::Null, release, &steps)
    }
}
