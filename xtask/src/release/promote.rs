//! `release promote`: put the stable tag on the exact commit of the version tag.
//!
//! What is checked out does not matter: the commit comes from `vX.Y.Z^{}` as the remote
//! has it, read with `git ls-remote` by full ref name. An unanswered question fails closed.

use anyhow::Result;
use xshell::Shell;

use crate::check::Gate;
use crate::cli::PromoteArgs;
use crate::project::{self, Project};
use crate::tag::git::tag_ref;
use crate::tag::grammar;
use crate::tag::plan::{self as tag_plan, PromoteFacts};
use crate::tag::push_io::{self, Mode};
use crate::verify::checks_io;
use crate::{tag::git_io, ui};

pub fn run(sh: &Shell, project: &Project, args: PromoteArgs) -> Result<()> {
    // STEP 1: raw arguments become domain types; `X.Y.Z-stable` gets the grammar's error.
    let version = args.version;
    let remote = args.remote.unwrap_or_else(|| project.config.remote.clone());
    let mode = Mode::from_flags(args.dry_run, args.yes);
    let verify = !args.no_verify;
    if !verify {
        ui::warn("--no-verify: the published artifacts will not be verified before promoting");
    }

    // STEP 2: gather every fact before judging any of them.
    let facts = gather(sh, project, &version, &remote, verify, args.no_sign)?;

    // STEP 3: judge and plan, purely.
    let plan = tag_plan::plan_promote(&facts);

    // STEP 4: show the plan; stop (nothing to do, problems, dry run) or confirm and act.
    push_io::conclude(sh, project, &plan, mode)
}

fn gather(
    sh: &Shell,
    project: &Project,
    version: &semver::Version,
    remote: &str,
    verify: bool,
    no_sign: bool,
) -> Result<PromoteFacts> {
    let secs = project.config.git_timeout_secs;
    let name = grammar::version_tag(version);
    let stable = grammar::stable_tag(version);
    let missing_tools = project::missing_tools(&tag_plan::promote_tools(verify));

    let wanted = [tag_ref(&name), tag_ref(&stable)];
    let title = format!("preflight: read the repository and ask {remote} (git ls-remote)");
    let ((identity, signing, local), asked) = ui::step(&title, || {
        push_io::ask_beside(sh, remote, &wanted, secs, &missing_tools, || {
            let identity = git_io::identity(sh)?;
            Ok((
                identity.clone(),
                git_io::signing(sh, identity.as_deref())?,
                git_io::tags_named(sh, &[name.clone(), stable.clone()])?,
            ))
        })
    })?;
    // The stable tag needs the commit in this clone; if only the remote has it, the plan
    // fetches it first.
    let commit_present = match asked.answer.as_ref().ok().and_then(|refs| refs.tag(&name)) {
        Some(there) => git_io::commit_of(sh, &there.commit)?.as_deref() == Some(&there.commit),
        None => true,
    };
    // The gate only reads, so it runs before the plan is shown: a dry run shows its verdict,
    // and a failing gate is refused before anyone is asked to confirm.
    let refs = asked.answer.as_ref().ok();
    let promoted = refs.is_some_and(|r| {
        let commit = |tag: &str| r.tag(tag).map(|t| t.commit);
        tag_plan::promotion(commit(&name).as_deref(), commit(&stable).as_deref())
            == tag_plan::Promotion::Promoted
    });
    let gate = if !verify {
        Gate::Skipped
    } else if refs.and_then(|r| r.tag(&name)).is_none() || promoted || !missing_tools.is_empty() {
        Gate::NotAsked
    } else {
        let title =
            format!("preflight: the promotion gate (verify the published artifacts of {name})");
        ui::step(&title, || {
            Ok(checks_io::promotion_gate(sh, project, version))
        })?
    };
    let local_tag = |n: &str| {
        local
            .iter()
            .find(|t| t.name == n)
            .map(git_io::TagRef::object)
    };
    Ok(PromoteFacts {
        version: version.clone(),
        gate,
        timeout_secs: secs,
        missing_tools,
        identity,
        signing,
        no_sign,
        local_version: local_tag(&name),
        local_stable: local_tag(&stable),
        remote: asked,
        commit_present,
    })
}
