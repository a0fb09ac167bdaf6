//! `release tag`: create and push the annotated version tag after preflight checks.
//!
//! Read top-down: the arguments become domain types, the preflight gathers every fact
//! (reads only, but for one fetch of a remote-tracking ref), `tag::plan` turns the
//! facts into problems and a plan, and `tag::push_io` shows it, asks, and carries it out.

use anyhow::Result;
use xshell::Shell;

use crate::cli::TagArgs;
use crate::project::{self, Project};
use crate::tag::git::{RemoteBranch, RemoteRefs, WorkTree, tag_ref};
use crate::tag::grammar::{self, TagKind};
use crate::tag::plan::{self as tag_plan, Sync, TagFacts};
use crate::tag::push_io::{self, Mode};
use crate::tools;
use crate::{tag::git_io, ui};

/// What the user asked for, validated.
struct Request {
    version: semver::Version,
    remote: String,
    allow_older: bool,
    run_checks: bool,
    no_sign: bool,
}

pub fn run(sh: &Shell, project: &Project, args: TagArgs) -> Result<()> {
    // STEP 1: raw arguments become domain types; an invalid version gets the grammar's error.
    let request = Request {
        version: args.version,
        remote: args.remote.unwrap_or_else(|| project.config.remote.clone()),
        allow_older: args.allow_older,
        run_checks: !args.no_checks,
        no_sign: args.no_sign,
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
    let plan = tag_plan::plan_tag(&facts);

    // STEP 4: show the plan; stop (nothing to do, problems, dry run) or confirm and act.
    push_io::conclude(sh, project, &plan, mode)
}

fn gather(sh: &Shell, project: &Project, request: &Request) -> Result<TagFacts> {
    let config = &project.config;
    let remote = &request.remote;
    let secs = config.git_timeout_secs;
    let name = grammar::version_tag(&request.version);
    let missing_tools = project::missing_tools(&tools::TAG);

    // One question to the remote: the tag and the branch HEAD is compared with, by full
    // name. Without --allow-older that branch can only be the default one, so the question
    // goes out at once, beside every local read; with it, the branch is HEAD's upstream,
    // which must be read first.
    let early = if request.allow_older {
        Some(read_head_branch(sh)?)
    } else {
        None
    };
    let base_ref = match &early {
        Some(head) => tag_plan::base_branch(
            remote,
            &config.default_branch,
            head.branch.as_deref(),
            head.upstream.as_ref(),
            true,
        )
        .map(|base| base.remote_ref),
        None => Some(RemoteBranch::new(remote, &config.default_branch).remote_ref),
    };
    let mut wanted = vec![tag_ref(&name)];
    wanted.extend(base_ref);

    let title = format!("preflight: read the repository and ask {remote} (git ls-remote)");
    let (local, asked) = ui::step(&title, || {
        push_io::ask_beside(sh, remote, &wanted, secs, &missing_tools, || {
            let HeadBranch { branch, upstream } = match early {
                Some(head) => head,
                None => read_head_branch(sh)?,
            };
            let base = tag_plan::base_branch(
                remote,
                &config.default_branch,
                branch.as_deref(),
                upstream.as_ref(),
                request.allow_older,
            );
            let identity = git_io::identity(sh)?;
            Ok(Local {
                tracking: match &base {
                    Some(base) => read_tracking(sh, base)?,
                    None => None,
                },
                branch,
                upstream,
                base,
                head: git_io::head(sh)?,
                dirty: git_io::status(sh)?,
                shallow: git_io::is_shallow(sh)?,
                signing: git_io::signing(sh, identity.as_deref())?,
                identity,
                tag: git_io::tags_named(sh, std::slice::from_ref(&name))?.pop(),
                // Parsed here, beside the question to the remote, rather than in the core
                // after the answer: it grows with the number of tags.
                versions: grammar::release_versions(
                    git_io::tag_names(sh)?.iter().map(String::as_str),
                    TagKind::Version,
                ),
            })
        })
    })?;

    let (sync, fetched) = match (&local.base, &asked.answer) {
        (Some(base), Ok(refs)) => compare_with_base(sh, remote, base, refs, local.tracking, secs)?,
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
        signing: local.signing,
        no_sign: request.no_sign,
        remote: asked,
        head: local.head,
        branch: local.branch,
        upstream: local.upstream,
        dirty: local.dirty,
        shallow: local.shallow,
        base: local.base,
        sync,
        fetched,
        local_tag: local.tag.as_ref().map(git_io::TagRef::object),
        versions: local.versions,
    })
}

/// What the repository itself says, read while the remote is asked.
struct Local {
    branch: Option<String>,
    upstream: Option<tag_plan::Upstream>,
    /// What [`tag_plan::base_branch`] chose, and that branch as this clone last fetched it.
    base: Option<RemoteBranch>,
    tracking: Option<Tracking>,
    head: String,
    dirty: WorkTree,
    shallow: bool,
    identity: Option<String>,
    signing: tag_plan::Signing,
    /// The local `vX.Y.Z`, peeled.
    tag: Option<git_io::TagRef>,
    /// The version of every local `vX.Y.Z` tag, for the version order.
    versions: Vec<semver::Version>,
}

/// The remote-tracking ref of the base branch, and how HEAD compares with it.
struct Tracking {
    commit: String,
    ahead: u32,
    behind: u32,
}

/// Reads the base branch as this clone last fetched it and counts HEAD against it, while
/// the remote is asked for the branch as it is now: if the remote agrees, which it usually
/// does, the counts stand and nothing more is read after the answer.
fn read_tracking(sh: &Shell, base: &RemoteBranch) -> Result<Option<Tracking>> {
    let Some(commit) = git_io::commit_of(sh, &base.tracking_ref)? else {
        return Ok(None);
    };
    let (ahead, behind) = git_io::ahead_behind(sh, "HEAD", &base.tracking_ref)?;
    Ok(Some(Tracking {
        commit,
        ahead,
        behind,
    }))
}

/// The branch HEAD is on (`None` when detached) and that branch's upstream.
struct HeadBranch {
    branch: Option<String>,
    upstream: Option<tag_plan::Upstream>,
}

fn read_head_branch(sh: &Shell) -> Result<HeadBranch> {
    let branch = git_io::branch(sh)?;
    let upstream = match &branch {
        Some(b) => git_io::upstream(sh, b)?,
        None => None,
    };
    Ok(HeadBranch { branch, upstream })
}

/// Compares HEAD with the base branch as the remote has it now. Fetches the branch only
/// when the remote-tracking ref is stale, so that the counts agree with `git status`; when
/// it is not, the counts `tracking` made beside the question stand.
fn compare_with_base(
    sh: &Shell,
    remote: &str,
    base: &RemoteBranch,
    refs: &RemoteRefs,
    tracking: Option<Tracking>,
    secs: u64,
) -> Result<(Sync, Option<String>)> {
    let Some(remote_commit) = refs.get(&base.remote_ref) else {
        return Ok((Sync::MissingOnRemote, None));
    };
    if let Some(Tracking { ahead, behind, .. }) = tracking.filter(|t| t.commit == remote_commit) {
        return Ok((Sync::Counted { ahead, behind }, None));
    }
    let title = format!(
        "preflight: fetch {} into {}",
        base.display, base.tracking_ref
    );
    let result = ui::step(&title, || {
        Ok(git_io::fetch_branch(
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
    let (ahead, behind) = git_io::ahead_behind(sh, "HEAD", &base.tracking_ref)?;
    Ok((
        Sync::Counted { ahead, behind },
        Some(base.tracking_ref.clone()),
    ))
}
