//! What `release tag` and `release promote` share: the question to the remote, asked beside
//! the local reads; then the writing half — show the plan, stop or ask, then carry it out:
//! create one annotated tag and push exactly that ref.
//!
//! Push discipline, the same for both commands:
//! - the refspec names the tag in full on both sides (`refs/tags/X:refs/tags/X`), so no
//!   branch or other tag can match it;
//! - `--no-follow-tags` overrides a user's `push.followTags`, which would push every other
//!   reachable annotated tag too (and GitHub creates no push event at all when more than
//!   three tags arrive at once);
//! - `--porcelain` output must show exactly that ref created, and nothing else;
//! - the outcome is decided by what the remote holds afterwards (`git ls-remote`), whatever
//!   the push said (rejected, failed, timed out, interrupted, or even created: a push that
//!   went to another repository reports "created" too); when the tag is not there, the
//!   local tag this run created is deleted so that a re-run starts clean;
//! - an interrupt (Ctrl-C, SIGTERM) stops the push's whole process group, then the same
//!   decision runs, and the run says what it left and exits 130 or 143.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::project::Project;
use crate::tag::git::{self, PushStatus, tag_ref};
use crate::tag::plan::{self, Decision, GitPlan, GitStep, RemoteFacts};
use crate::{ci, exec, tag::git_io, ui};

/// How a run ends once its plan is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--dry-run`: show the plan and change nothing.
    DryRun,
    /// Ask `y/N` on the terminal; refuse without one.
    Ask,
    /// `--yes`: confirmed in advance.
    Confirmed,
}

impl Mode {
    pub fn from_flags(dry_run: bool, yes: bool) -> Mode {
        match (dry_run, yes) {
            (true, _) => Mode::DryRun,
            (false, true) => Mode::Confirmed,
            (false, false) => Mode::Ask,
        }
    }
}

/// Asks `remote` for exactly `refs` (`git ls-remote`) on a thread of its own while
/// `read_local` reads the repository on this one, so the preflight takes as long as the
/// slower of the two rather than their sum.
///
/// The remote is the part that grows with the number of tags: `git ls-remote` matches its
/// patterns on the client (for patterns git sends the server no `ref-prefix`, and `--tags`
/// would only narrow it to `refs/tags/`), so a remote sends every tag whatever is asked, and
/// no invocation of ls-remote avoids it (scripts/measure-tag-scaling.sh). None of the local
/// reads needs the answer.
pub fn ask_beside<T>(
    sh: &Shell,
    remote: &str,
    refs: &[String],
    timeout_secs: u64,
    missing_tools: &[String],
    read_local: impl FnOnce() -> Result<T>,
) -> Result<(T, RemoteFacts)> {
    std::thread::scope(|scope| {
        // A `Shell` keeps its directory and environment in `RefCell`s, so it cannot be
        // shared between threads; the clone has the same directory and the same
        // non-interactive git settings (`GIT_TERMINAL_PROMPT=0`, ssh in batch mode).
        let remote_sh = sh.clone();
        let asking =
            scope.spawn(move || ask(&remote_sh, remote, refs, timeout_secs, missing_tools));
        let local = read_local();
        let facts = asking
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok((local?, facts))
    })
}

/// Finds where the remote fetches from and pushes to and, when it exists and the tools are
/// there, asks it.
fn ask(
    sh: &Shell,
    remote: &str,
    refs: &[String],
    timeout_secs: u64,
    missing_tools: &[String],
) -> Result<RemoteFacts> {
    let urls = git_io::remote_urls(sh, remote)?;
    let answer = match &urls {
        None => Err("no such remote".to_string()),
        Some(_) if !plan::can_ask_remote(missing_tools) => Err("not asked".to_string()),
        Some(_) => git_io::ls_remote(sh, remote, refs, timeout_secs),
    };
    Ok(RemoteFacts {
        name: remote.to_string(),
        urls,
        answer,
    })
}

/// Prints the plan on stdout, then: nothing to do → done; problems → refused with every
/// one of them; dry run → done; otherwise confirm and carry it out.
pub fn conclude(sh: &Shell, project: &Project, plan: &GitPlan, mode: Mode) -> Result<()> {
    print!("{plan}");
    if let Decision::AlreadyDone(_) = plan.outcome {
        return Ok(());
    }
    if let Some(refusal) = plan.refusal() {
        bail!(refusal);
    }
    match mode {
        Mode::DryRun => {
            println!("dry run: nothing was changed");
            return Ok(());
        }
        Mode::Ask => confirm(&plan.title)?,
        Mode::Confirmed => {}
    }
    // From here on an interrupt does not end the process at once: the steps find out what
    // it left and say so.
    exec::guarded(|| carry_out(sh, project, plan))
}

pub fn confirm(title: &str) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "{title} needs confirmation and there is no terminal to ask on, so nothing was changed: re-run with --yes to confirm, or with --dry-run to only look"
        );
    }
    ui::flush_stdout();
    // The plan went to a pipe or a file: whatever reads it (`| cat`, `| less`, `| tee`)
    // shows it when it gets to it, often after a question asked here at once, and a pager
    // takes the very terminal the answer would be typed on. A question about steps the
    // person may not have seen is not asked.
    if !std::io::stdout().is_terminal() {
        bail!(
            "{title} needs confirmation, and its plan went to a pipe or a file rather than this terminal, so nothing was changed: read the plan, then re-run with --yes to confirm (or without the pipe to be asked)"
        );
    }
    eprint!("{title}: carry out the steps above? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        bail!("{title} cancelled: nothing was changed")
    }
}

/// The tag this run created, so that it can check the push and clean up after it.
struct CreatedTag {
    name: String,
    object: String,
    commit: String,
}

fn carry_out(sh: &Shell, project: &Project, plan: &GitPlan) -> Result<()> {
    let rerun = format!("cargo xtask {}", plan.title);
    let mut created: Option<CreatedTag> = None;
    for step in plan.steps() {
        match step {
            // In-process rather than spawning `cargo xtask ci`: the same code either way, but a
            // nested cargo would rebuild xtask while it runs, and `-C DIR` may point at a
            // checkout whose `cargo xtask` alias is not this binary.
            GitStep::Checks => {
                let checked = ci::run(sh, project);
                if let Some(interrupt) = exec::interrupted() {
                    bail!(
                        "{interrupt} during the project's checks: nothing was tagged or pushed; re-run `{rerun}`"
                    );
                }
                checked.context(
                    "the project's checks failed, so nothing was tagged: fix them and re-run (--no-checks skips them)",
                )?;
            }
            GitStep::FetchCommit { .. } => {
                let fetched = ui::step(&step.to_string(), || run_git(sh, step));
                if let Some(interrupt) = exec::interrupted() {
                    bail!(
                        "{interrupt} while fetching the commit: nothing was tagged or pushed; re-run `{rerun}`"
                    );
                }
                fetched?;
            }
            GitStep::CreateTag { name, sign, .. } => {
                let made = ui::step(&step.to_string(), || create_tag(sh, step, name, *sign));
                if let Some(interrupt) = exec::interrupted() {
                    bail!(
                        "{interrupt} while creating {name}: nothing was pushed, and {}; re-run `{rerun}`",
                        exec::winding_down(|| remove_interrupted_tag(sh, name))
                    );
                }
                created = Some(made?);
            }
            GitStep::Push { remote, name, .. } => {
                let tag = created
                    .take()
                    .filter(|t| &t.name == name)
                    .context("internal error: the plan pushes a tag it did not create")?;
                let pushed = ui::step(&step.to_string(), || {
                    push(sh, project, step, remote, &tag, &rerun)
                })?;
                println!("{}", pushed.report(&tag, remote));
            }
        }
    }
    Ok(())
}

fn run_git(sh: &Shell, step: &GitStep) -> Result<()> {
    let command = step.command().expect("a git step is a command");
    exec::read(sh, &command).map(drop)
}

fn create_tag(sh: &Shell, step: &GitStep, name: &str, sign: Option<bool>) -> Result<CreatedTag> {
    run_git(sh, step).with_context(|| match sign {
        Some(true) => format!(
            "git tag -a -s {name} failed while signing it (tag.gpgSign is on), so nothing was pushed: make the signing key usable (see the signing line of the preflight), or re-run with --no-sign to create the tag unsigned"
        ),
        _ => format!("git tag -a {name} failed: nothing was pushed"),
    })?;
    let tag = git_io::tags_named(sh, &[name.to_string()])?
        .into_iter()
        .next()
        .with_context(|| format!("{name} is missing right after `git tag -a` created it"))?;
    Ok(CreatedTag {
        name: tag.name,
        object: tag.object,
        commit: tag.commit,
    })
}

/// After an interrupt while `git tag` ran: the tag may or may not exist. The preflight found
/// no local tag of that name, so one that exists now is this run's, and goes.
fn remove_interrupted_tag(sh: &Shell, name: &str) -> String {
    match git_io::tags_named(sh, &[name.to_string()]) {
        Ok(tags) => match tags.into_iter().next() {
            None => format!("{name} was not created"),
            Some(tag) => delete_created(
                sh,
                &CreatedTag {
                    name: tag.name,
                    object: tag.object,
                    commit: tag.commit,
                },
            ),
        },
        Err(e) => format!(
            "whether {name} was created is unknown ({e:#}): look with `git tag -l {name}` and delete it with `git tag -d {name}` before re-running"
        ),
    }
}

/// How a push ended well.
enum Pushed {
    /// The porcelain output shows exactly our ref created, and the remote holds it.
    Created,
    /// The push failed or timed out, yet the remote holds our very tag object.
    Confirmed(String),
    /// Another run pushed the same name on the same commit first; ours was deleted.
    ByAnotherRun { object: String, cleanup: String },
}

impl Pushed {
    fn report(&self, tag: &CreatedTag, remote: &str) -> String {
        let CreatedTag {
            name,
            object,
            commit,
        } = tag;
        match self {
            Pushed::Created => {
                format!("pushed {name} to {remote}: tag object {object} on commit {commit}")
            }
            Pushed::Confirmed(why) => format!(
                "pushed {name} to {remote}: tag object {object} on commit {commit} ({why}, but git ls-remote shows the tag arrived)"
            ),
            Pushed::ByAnotherRun { object, cleanup } => format!(
                "already done by another run: {remote} got {name} (tag object {object}) on commit {commit} first; {cleanup}; fetch it with `git fetch {remote} +refs/tags/{name}:refs/tags/{name}`"
            ),
        }
    }
}

/// Pushes the tag, then decides by what `remote` holds afterwards, whatever the push said:
/// git's own report cannot tell the repository CI reads from another one the push went to.
fn push(
    sh: &Shell,
    project: &Project,
    step: &GitStep,
    remote: &str,
    tag: &CreatedTag,
    rerun: &str,
) -> Result<Pushed> {
    let secs = project.config.git_timeout_secs;
    let name = &tag.name;
    let refname = tag_ref(name);
    let result = exec::output(sh, &step.command().expect("a push is a command"));
    let mut created_only_ours = false;
    let why = match (&result, exec::interrupted()) {
        (_, Some(interrupt)) => format!("{interrupt} during the push"),
        (Err(e), None) => format!("the push could not run ({e:#})"),
        (Ok(out), None) => {
            let report = git::read_push(&String::from_utf8_lossy(&out.stdout), &refname);
            if !report.other_refs.is_empty() {
                bail!(
                    "the push to {remote} reported other refs than {refname}, which it must never touch: {}; check them with `git ls-remote {remote}`",
                    report.other_refs.join("; ")
                );
            }
            created_only_ours = out.status.success() && report.created_only_ours();
            // Show git's own words (a hook's message, a credential error) before deciding.
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !created_only_ours && !stderr.trim().is_empty() {
                eprint!("{stderr}");
            }
            if created_only_ours {
                "git reported the tag created".to_string()
            } else if exec::timed_out(out) {
                format!("the push gave no answer within {secs}s")
            } else {
                match &report.status {
                    PushStatus::Rejected(summary) => format!("the push was refused: {summary}"),
                    PushStatus::UpToDate => "the push found the tag already there".to_string(),
                    _ => format!("the push failed: {}", git_io::network_failure(out, secs)),
                }
            }
        }
    };
    let interrupted = exec::interrupted();

    // Decide by what the remote holds now, never by the push's output alone. After an
    // interrupt, this question is the one command still allowed to run.
    let asked =
        exec::winding_down(|| git_io::ls_remote(sh, remote, std::slice::from_ref(&refname), secs));
    let there = match asked {
        Ok(refs) => refs.tag(name),
        Err(no_answer) => bail!(
            "{why}, and {remote} did not answer the check that followed ({no_answer}): whether {name} arrived is unknown, so the local tag was kept; check with `git ls-remote {remote} {refname}`, and if it is absent delete the local tag with `git tag -d {name}` before re-running `{rerun}`"
        ),
    };
    let pushed = match there {
        Some(there) if there.object == tag.object && created_only_ours => Pushed::Created,
        Some(there) if there.object == tag.object => Pushed::Confirmed(why.clone()),
        Some(there) if there.commit == tag.commit => Pushed::ByAnotherRun {
            object: there.object,
            cleanup: exec::winding_down(|| delete_created(sh, tag)),
        },
        Some(there) => bail!(
            "{why}: {remote} now has {name} on commit {}, not on {}: another run pushed it meanwhile; {}",
            there.commit,
            tag.commit,
            exec::winding_down(|| delete_created(sh, tag))
        ),
        None if created_only_ours => bail!(
            "git reported {name} created, but {remote} does not have it: the push went to another repository than the one {remote} fetches from; {}; check where {remote} pushes with `git remote get-url --push {remote}`",
            exec::winding_down(|| delete_created(sh, tag))
        ),
        None if interrupted.is_some() => bail!(
            "{why}: {name} is not on {remote}, and {}: nothing changed; re-run `{rerun}`",
            exec::winding_down(|| delete_created(sh, tag))
        ),
        None => bail!(
            "{why}, and {name} is not on {remote}; {}",
            exec::winding_down(|| delete_created(sh, tag))
        ),
    };
    if let Some(interrupt) = interrupted {
        // The run was interrupted, so it ends as interrupted; but what it leaves is a done
        // release, and it says so.
        bail!(
            "{interrupt}, but the push had gone through: {}; nothing to re-run",
            pushed.report(tag, remote)
        );
    }
    Ok(pushed)
}

/// Deletes the local tag this run created, and only if it is still that object
/// (`git update-ref -d REF OLD` refuses otherwise). Says what happened.
fn delete_created(sh: &Shell, tag: &CreatedTag) -> String {
    let refname = tag_ref(&tag.name);
    let object = &tag.object;
    match exec::ask(cmd!(sh, "git update-ref -d {refname} {object}")) {
        Ok(out) if out.status.success() => {
            "the local tag this run created was deleted, so a re-run starts clean".to_string()
        }
        _ => format!(
            "deleting the local tag this run created failed: delete it with `git tag -d {}` before re-running",
            tag.name
        ),
    }
}
