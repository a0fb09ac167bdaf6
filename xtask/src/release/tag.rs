//! `release tag`: create and push the annotated version tag after preflight checks.
//!
//! Read top-down: the arguments become domain types, the preflight gathers every fact
//! (reads only, but for one fetch of a remote-tracking ref), `core::tagging` turns the
//! facts into problems and a plan, and `release::push` shows it, asks, and carries it out.

use anyhow::Result;
use xshell::Shell;

use crate::core::git_output::RemoteRefs;
use crate::core::git_output::tag_ref;
use crate::core::tag;
use crate::core::tagging::{self, BaseBranch, RemoteFacts, Sync, TAG_TOOLS, TagFacts};
use crate::project::{self, Project};
use crate::release::push::{self, Mode};
use crate::{git, ui};

pub struct Args {
    pub version: String,
    pub dry_run: bool,
    pub yes: bool,
    pub remote: Option<String>,
    pub allow_older: bool,
    pub no_checks: bool,
}

/// What the user asked for, validated.
struct Request {
    version: semver::Version,
    remote: String,
    allow_older: bool,
    run_checks: bool,
}

pub fn run(sh: &Shell, project: &Project, args: Args) -> Result<()> {
    // STEP 1: raw arguments become domain types; an invalid version gets the grammar's error.
    let request = Request {
        version: tag::parse_version_arg(&args.version)?,
        remote: push::remote_name(project, args.remote.as_deref())?,
        allow_older: args.allow_older,
        run_checks: !args.no_checks,
    };
    let mode = Mode::from_flags(args.dry_run, args.yes);
    if !request.run_checks {
        ui::warn(
            "--no-checks: the project's checks (`cargo xtask ci`) will not run before tagging",
        );
    }

    // STEP 2: gather every fact before judging any of them.
    let facts = gather(sh, project, &request)?;

    // STEP 3: judge and plan, purely.
    let plan = tagging::plan_tag(&facts);

    // STEP 4: show the plan; stop (nothing to do, problems, dry run) or confirm and act.
    push::conclude(sh, project, &plan, mode)
}

fn gather(sh: &Shell, project: &Project, request: &Request) -> Result<TagFacts> {
    let config = &project.config;
    let remote = &request.remote;
    let secs = config.git_timeout_secs;
    let name = tag::version_tag(&request.version);
    let missing_tools = project::missing_tools(&TAG_TOOLS);

    let local = ui::step("preflight: read the repository", || {
        let branch = git::branch(sh)?;
        let upstream = match &branch {
            Some(b) => git::upstream(sh, b)?,
            None => None,
        };
        Ok(Local {
            head: git::head(sh)?,
            branch,
            upstream,
            dirty: git::status(sh)?,
            shallow: git::is_shallow(sh)?,
            identity: git::identity(sh)?,
            url: git::remote_url(sh, remote)?,
            tag: git::tags_named(sh, std::slice::from_ref(&name))?.pop(),
            tag_names: git::tag_names(sh)?,
        })
    })?;
    let base = tagging::base_branch(
        remote,
        &config.default_branch,
        local.branch.as_deref(),
        local.upstream.as_ref(),
        request.allow_older,
    );

    // One question to the remote: the tag and the base branch, by full name.
    let mut wanted = vec![tag_ref(&name)];
    wanted.extend(base.iter().map(|b| b.remote_ref.clone()));
    let answer = match &local.url {
        None => Err("no such remote".to_string()),
        Some(_) if !tagging::can_ask_remote(&missing_tools) => Err("not asked".to_string()),
        Some(_) => ui::step(&format!("preflight: ask {remote} (git ls-remote)"), || {
            Ok(git::ls_remote(sh, remote, &wanted, secs))
        })?,
    };

    let (sync, fetched) = match (&base, &answer) {
        (Some(base), Ok(refs)) => compare_with_base(sh, remote, base, refs, secs)?,
        _ => (Sync::NotCompared, None),
    };

    Ok(TagFacts {
        version: request.version.clone(),
        default_branch: config.default_branch.clone(),
        allow_older: request.allow_older,
        run_checks: request.run_checks,
        timeout_secs: secs,
        missing_tools,
        identity: local.identity,
        remote: RemoteFacts {
            name: remote.clone(),
            url: local.url,
            answer,
        },
        head: local.head,
        branch: local.branch,
        upstream: local.upstream,
        dirty: local.dirty,
        shallow: local.shallow,
        base,
        sync,
        fetched,
        local_tag: local.tag.as_ref().map(git::TagRef::object),
        tag_names: local.tag_names,
    })
}

/// What the repository itself says, before the remote is asked anything.
struct Local {
    head: String,
    branch: Option<String>,
    upstream: Option<tagging::Upstream>,
    dirty: Vec<String>,
    shallow: bool,
    identity: Option<String>,
    url: Option<String>,
    /// The local `vX.Y.Z`, peeled.
    tag: Option<git::TagRef>,
    /// Every local tag name, for the version order.
    tag_names: Vec<String>,
}

/// Compares HEAD with the base branch as the remote has it now. Fetches the branch only
/// when the remote-tracking ref is stale, so that the counts agree with `git status`.
fn compare_with_base(
    sh: &Shell,
    remote: &str,
    base: &BaseBranch,
    refs: &RemoteRefs,
    secs: u64,
) -> Result<(Sync, Option<String>)> {
    let Some(remote_commit) = refs.get(&base.remote_ref) else {
        return Ok((Sync::MissingOnRemote, None));
    };
    let mut fetched = None;
    if git::commit_of(sh, &base.tracking_ref)?.as_deref() != Some(remote_commit) {
        let title = format!(
            "preflight: fetch {} into {}",
            base.display, base.tracking_ref
        );
        let result = ui::step(&title, || {
            Ok(git::fetch_branch(
                sh,
                remote,
                &base.remote_ref,
                &base.tracking_ref,
                secs,
            ))
        })?;
        if let Err(why) = result {
            return Ok((Sync::FetchFailed(why), None));
        }
        fetched = Some(base.tracking_ref.clone());
    }
    let (ahead, behind) = git::ahead_behind(sh, "HEAD", &base.tracking_ref)?;
    Ok((Sync::Counted { ahead, behind }, fetched))
}
