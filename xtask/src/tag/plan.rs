//! The decisions of `release tag` and `release promote`: from the facts the shell layer
//! gathered, every preflight problem at once, and the plan of exact git commands.
//!
//! A [`GitPlan`] is printed by a dry run and carried out by a real run, so the two cannot
//! drift. Nothing here asks git anything: [`TagFacts`] and [`PromoteFacts`] hold what was
//! read, and the rules (which branch, which commit, what counts as "already done") live
//! only here, tested case by case.

use std::fmt;

use semver::Version;

use crate::check::Gate;
use crate::invocation::Invocation;
use crate::tag::git::{DirtySubmodule, RemoteBranch, RemoteRefs, TagObject, WorkTree, tag_ref};
use crate::tag::grammar;
use crate::tools;

/// The tools `release promote` needs on PATH: with its gate, those of `release verify`'s
/// artifact checks too, so that a missing one is named before the confirmation.
pub fn promote_tools(verify: bool) -> Vec<&'static str> {
    let gate: &[&str] = if verify {
        &tools::VERIFY_ARTIFACTS
    } else {
        &[]
    };
    tools::union([&tools::PROMOTE[..], gate])
}

/// Where a remote fetches from and pushes to, as git resolves them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUrls {
    /// `git remote get-url NAME`: the repository `git ls-remote NAME` reads.
    pub fetch: String,
    /// `git remote get-url --push --all NAME`: every repository `git push NAME` writes to,
    /// `remote.<name>.pushurl` and `url.<base>.pushInsteadOf` applied.
    pub push: Vec<String>,
}

impl RemoteUrls {
    /// Whether a push goes exactly where the outcome is read from.
    pub fn pushes_where_it_fetches(&self) -> bool {
        self.push.len() == 1 && self.push[0] == self.fetch
    }
}

/// How `git tag` signs an annotated tag, as the user configured it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signing {
    /// `tag.gpgSign` is off or unset.
    Off,
    /// `tag.gpgSign` is on: `git tag -a` signs, with `gpg.format` and `user.signingKey`.
    On {
        format: String,
        key: Option<String>,
        /// What will sign, or why signing will fail (no key, no program).
        usable: Result<String, String>,
    },
}

/// The program git signs with for `gpg.format` when `gpg.<format>.program` is unset.
pub fn default_signing_program(format: &str) -> &'static str {
    match format {
        "x509" => "gpgsm",
        "ssh" => "ssh-keygen",
        _ => "gpg",
    }
}

/// Whether the remote can be asked at all: every network call is `timeout … git …`.
pub fn can_ask_remote(missing_tools: &[String]) -> bool {
    !missing_tools.iter().any(|t| t == "git" || t == "timeout")
}

/// The remote a command talks to, as the shell layer found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFacts {
    pub name: String,
    /// Its fetch and push URLs; `None` when this repository has no such remote.
    pub urls: Option<RemoteUrls>,
    /// What `git ls-remote` answered, or why it gave no answer (unreachable, timed out).
    /// An unanswered question never means "absent": every check that needs it fails closed.
    pub answer: Result<RemoteRefs, String>,
}

impl RemoteFacts {
    fn refs(&self) -> Option<&RemoteRefs> {
        self.answer.as_ref().ok()
    }

    /// `None` when the remote could not be asked because a tool it needs is missing: that
    /// problem is reported already, and "cannot reach" would send people the wrong way.
    fn check(&self, missing_tools: &[String]) -> Option<Preflight> {
        let name = &self.name;
        if self.urls.is_some() && self.answer.is_err() && !can_ask_remote(missing_tools) {
            return None;
        }
        let url = self.urls.as_ref().map(|u| &u.fetch);
        Some(match (url, &self.answer) {
            (None, _) => Preflight::Problem(format!(
                "this repository has no remote named {name}: add it with `git remote add {name} URL`, or name another with --remote"
            )),
            (Some(url), Err(why)) => Preflight::Problem(format!(
                "cannot reach remote {name} ({url}): {why}: check the URL (`git remote get-url {name}`), the network and your credentials (git runs without prompting, so a credential helper or ssh agent must provide them)"
            )),
            (Some(_), Ok(_)) => self.answered(),
        })
    }

    fn answered(&self) -> Preflight {
        let url = self.urls.as_ref().map_or("no URL", |u| &u.fetch);
        Preflight::Ok(format!("remote {} ({url}) answers", self.name))
    }

    /// The remote and where each direction goes, as git resolved them.
    fn context(&self) -> String {
        let name = &self.name;
        match &self.urls {
            Some(urls) if urls.pushes_where_it_fetches() => {
                format!("remote: {name} ({}, fetch and push)", urls.fetch)
            }
            Some(urls) => format!(
                "remote: {name} (fetch {}, push {})",
                urls.fetch,
                push_list(&urls.push)
            ),
            None => format!("remote: {name} (not configured)"),
        }
    }

    /// A push must land where the outcome is read, and where CI runs: a separate push URL
    /// (a fork in a triangular setup) would put the release tag somewhere else.
    fn push_check(&self) -> Option<Preflight> {
        let urls = self.urls.as_ref()?;
        if urls.pushes_where_it_fetches() {
            return None;
        }
        let name = &self.name;
        Some(Preflight::Problem(format!(
            "{name} pushes to {} but fetches from {}: the release tag must reach the repository CI runs on, and the outcome is read from the fetch URL; name a remote whose fetch and push URLs are both that repository with --remote, or make {name} push where it fetches (`git remote get-url --push {name}` shows the push URL; `git config --unset-all remote.{name}.pushurl` removes a separate one, and `git config --get-regexp 'url\\..*\\.pushinsteadof'` lists the rewrites that change it)",
            push_list(&urls.push),
            urls.fetch
        )))
    }
}

fn push_list(urls: &[String]) -> String {
    match urls {
        [] => "nowhere".to_string(),
        [one] => one.clone(),
        many => many.join(" and "),
    }
}

/// A local branch's upstream, from `git for-each-ref --format=%(upstream…)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The remote it lives on, e.g. `origin`.
    pub remote: String,
    /// The branch on that remote, e.g. `refs/heads/release-1.2`.
    pub merge_ref: String,
    /// The remote-tracking ref in this clone, e.g. `refs/remotes/origin/release-1.2`.
    pub tracking_ref: String,
}

/// The remote branch HEAD must equal before a release is tagged.
/// The branch HEAD is compared with: the default branch, or with `--allow-older` (a backport
/// from a maintenance branch) the current branch's upstream on the release remote. `None`
/// when no comparison makes sense; the branch check then says why.
pub fn base_branch(
    remote: &str,
    default_branch: &str,
    branch: Option<&str>,
    upstream: Option<&Upstream>,
    allow_older: bool,
) -> Option<RemoteBranch> {
    let branch = branch?;
    if branch == default_branch {
        return Some(RemoteBranch::new(remote, default_branch));
    }
    let upstream = upstream.filter(|u| allow_older && u.remote == remote)?;
    let short = upstream
        .merge_ref
        .strip_prefix("refs/heads/")
        .unwrap_or(&upstream.merge_ref);
    Some(RemoteBranch {
        display: format!("{remote}/{short}"),
        remote_ref: upstream.merge_ref.clone(),
        tracking_ref: upstream.tracking_ref.clone(),
    })
}

/// How HEAD compares with its base branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sync {
    /// Not compared: there is no base branch, or the remote did not answer.
    NotCompared,
    /// The remote has no such branch.
    MissingOnRemote,
    /// Fetching the branch failed, with git's reason.
    FetchFailed(String),
    /// Commits only on HEAD, commits only on the base branch.
    Counted { ahead: u32, behind: u32 },
}

/// What the shell layer read before `release tag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFacts {
    pub version: Version,
    pub default_branch: String,
    /// `--allow-older`: a backport, lower than an existing version, from a maintenance branch.
    pub allow_older: bool,
    /// Whether the project's checks run (not `--no-checks`).
    pub run_checks: bool,
    pub timeout_secs: u64,
    /// Tools of [`tools::TAG`] not found on PATH.
    pub missing_tools: Vec<String>,
    /// `git var GIT_COMMITTER_IDENT`; `None` when git has no identity to sign a tag with.
    pub identity: Option<String>,
    pub signing: Signing,
    /// `--no-sign`: create the tag unsigned even though `tag.gpgSign` is on.
    pub no_sign: bool,
    pub remote: RemoteFacts,
    /// The commit HEAD names.
    pub head: String,
    /// The branch HEAD is on; `None` when detached.
    pub branch: Option<String>,
    pub upstream: Option<Upstream>,
    /// What `git status` found changed, submodules included.
    pub dirty: WorkTree,
    pub shallow: bool,
    /// What [`base_branch`] chose, and how HEAD compares with it.
    pub base: Option<RemoteBranch>,
    pub sync: Sync,
    /// The remote-tracking ref the preflight's fetch updated, if it fetched.
    pub fetched: Option<String>,
    /// The local `vX.Y.Z`, if any.
    pub local_tag: Option<TagObject>,
    /// The version of every local `vX.Y.Z` tag (for the version order), parsed from the tag
    /// names by [`release_versions`](crate::tag::grammar::release_versions).
    pub versions: Vec<Version>,
}

/// What the shell layer read before `release promote`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromoteFacts {
    pub version: Version,
    /// The promotion gate's verdict, asked before the plan so that a dry run shows it.
    pub gate: Gate,
    pub timeout_secs: u64,
    /// Tools of [`promote_tools`] not found on PATH.
    pub missing_tools: Vec<String>,
    pub identity: Option<String>,
    pub signing: Signing,
    pub no_sign: bool,
    /// Asked for `vX.Y.Z` and `vX.Y.Z-stable`, each with its peeled line.
    pub remote: RemoteFacts,
    pub local_version: Option<TagObject>,
    pub local_stable: Option<TagObject>,
    /// Whether the commit of the remote `vX.Y.Z` is in this clone.
    pub commit_present: bool,
}

/// One preflight check: what was found to be fine, or what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preflight {
    Ok(String),
    Problem(String),
}

/// One thing a run does, displayed as the command that does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitStep {
    /// The project's checks (`cargo xtask ci`).
    Checks,
    /// Brings a commit that only the remote has into this clone, changing no ref.
    FetchCommit {
        remote: String,
        refname: String,
        timeout_secs: u64,
    },
    /// An annotated tag on an explicit commit (never on HEAD, never on a tag object).
    CreateTag {
        name: String,
        message: String,
        commit: String,
        /// `Some(true)`: `-s`, signed as `tag.gpgSign` asks, said explicitly;
        /// `Some(false)`: `--no-sign` (`--no-sign` given); `None`: unsigned, nothing to say.
        sign: Option<bool>,
    },
    /// Pushes exactly `refs/tags/NAME`.
    Push {
        remote: String,
        name: String,
        timeout_secs: u64,
    },
}

impl GitStep {
    /// The refspec that pushes exactly one tag: full names on both sides, so that neither a
    /// branch nor another tag can match.
    pub fn refspec(name: &str) -> String {
        format!("refs/tags/{name}:refs/tags/{name}")
    }

    /// The git command of the step, exactly as it runs; `None` for the steps xtask carries
    /// out itself (the checks, the gate).
    pub fn command(&self) -> Option<Invocation> {
        match self {
            GitStep::Checks => None,
            GitStep::FetchCommit {
                remote,
                refname,
                timeout_secs,
            } => Some(fetch_objects(remote, refname, *timeout_secs)),
            GitStep::CreateTag {
                name,
                message,
                commit,
                sign,
            } => {
                let sign = match sign {
                    Some(true) => Some("-s"),
                    Some(false) => Some("--no-sign"),
                    None => None,
                };
                let args = ["tag", "-a"].into_iter().chain(sign);
                Some(Invocation::new(
                    "git",
                    args.chain([name.as_str(), "-m", message, commit]),
                ))
            }
            // `--no-follow-tags` overrides a user's `push.followTags`, which would push every
            // other reachable annotated tag too; `--porcelain` reports each ref on one line.
            GitStep::Push {
                remote,
                name,
                timeout_secs,
            } => Some(
                Invocation::new(
                    "git",
                    [
                        "push",
                        "--porcelain",
                        "--no-follow-tags",
                        remote,
                        &GitStep::refspec(name),
                    ],
                )
                .timeout(*timeout_secs),
            ),
        }
    }
}

/// Fetches the objects behind `refname` without creating or changing any ref (no tags, no
/// `FETCH_HEAD`).
pub fn fetch_objects(remote: &str, refname: &str, timeout_secs: u64) -> Invocation {
    Invocation::new(
        "git",
        [
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            remote,
            refname,
        ],
    )
    .timeout(timeout_secs)
}

impl fmt::Display for GitStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitStep::Checks => write!(f, "cargo xtask ci  (the project's checks)"),
            GitStep::FetchCommit { .. } => write!(
                f,
                "{}  (brings its commit into this clone; changes no ref)",
                self.command().expect("a fetch is a command")
            ),
            GitStep::CreateTag { .. } | GitStep::Push { .. } => {
                write!(f, "{}", self.command().expect("a git step is a command"))
            }
        }
    }
}

/// What a command will do, or why it will not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Everything is in place already: the command is a no-op and says so.
    AlreadyDone(String),
    /// The steps to carry out once no check reports a problem.
    Steps(Vec<GitStep>),
}

/// The plan of `release tag` or `release promote`: printed by a dry run, carried out by a
/// real run after confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitPlan {
    /// `release tag v1.2.3`.
    pub title: String,
    /// The commit and the remote.
    pub context: Vec<String>,
    pub checks: Vec<Preflight>,
    pub outcome: Decision,
    pub notes: Vec<String>,
}

impl GitPlan {
    pub fn problems(&self) -> Vec<&str> {
        self.checks
            .iter()
            .filter_map(|c| match c {
                Preflight::Problem(p) => Some(p.as_str()),
                Preflight::Ok(_) => None,
            })
            .collect()
    }

    /// The error a run ends with when any check failed: every problem, each with its fix.
    pub fn refusal(&self) -> Option<String> {
        let problems = self.problems();
        if problems.is_empty() {
            return None;
        }
        let count = match problems.len() {
            1 => "1 problem".to_string(),
            n => format!("{n} problems"),
        };
        let mut message = format!("{} refused, {count} to fix first:", self.title);
        for problem in problems {
            message.push_str("\n  - ");
            message.push_str(problem);
        }
        Some(message)
    }

    pub fn steps(&self) -> &[GitStep] {
        match &self.outcome {
            Decision::Steps(steps) => steps,
            Decision::AlreadyDone(_) => &[],
        }
    }
}

impl fmt::Display for GitPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.title)?;
        for line in &self.context {
            writeln!(f, "  {line}")?;
        }
        writeln!(f, "preflight:")?;
        for check in &self.checks {
            if let Preflight::Ok(text) = check {
                writeln!(f, "  ok    {text}")?;
            }
        }
        // Each problem is said once, in the refusal on stderr (as cargo-release does), which
        // reaches the terminal even when the plan goes to a pipe or a file: the plan counts.
        match self.problems().len() {
            0 => {}
            1 => writeln!(f, "  FAIL  1 problem, given with its fix on stderr")?,
            n => writeln!(f, "  FAIL  {n} problems, given with their fixes on stderr")?,
        }
        let steps = self.steps();
        if !steps.is_empty() {
            let heading = if self.problems().is_empty() {
                "steps:"
            } else {
                "steps, once the problems are fixed:"
            };
            writeln!(f, "{heading}")?;
            for (i, step) in steps.iter().enumerate() {
                writeln!(f, "  {}. {step}", i + 1)?;
            }
            writeln!(f, "refs that change:")?;
            for step in steps {
                match step {
                    GitStep::CreateTag { name, commit, .. } => writeln!(
                        f,
                        "  this clone: {} created, an annotated tag on {commit}",
                        tag_ref(name)
                    )?,
                    GitStep::Push { remote, name, .. } => writeln!(
                        f,
                        "  {remote}: {} created, the same tag object",
                        tag_ref(name)
                    )?,
                    _ => {}
                }
            }
        }
        if !self.notes.is_empty() {
            writeln!(f, "notes:")?;
            for note in &self.notes {
                writeln!(f, "  - {note}")?;
            }
        }
        if let Decision::AlreadyDone(message) = &self.outcome {
            writeln!(f, "{message}")?;
        }
        Ok(())
    }
}

fn tools_check(tools: &[&str], missing: &[String]) -> Vec<Preflight> {
    if missing.is_empty() {
        return vec![Preflight::Ok(format!("{} found on PATH", tools.join(", ")))];
    }
    missing
        .iter()
        .map(|tool| Preflight::Problem(tools::missing(tool)))
        .collect()
}

fn identity_check(identity: Option<&str>) -> Preflight {
    match identity {
        Some(ident) => Preflight::Ok(format!("tagger: {ident}")),
        None => Preflight::Problem(
            "git has no committer identity for the annotated tag: set it with `git config user.name \"Your Name\"` and `git config user.email you@example.com`"
                .to_string(),
        ),
    }
}

/// The working tree must be what was checked: no changed or untracked file, and every
/// submodule at its recorded commit with nothing changed inside.
fn clean_checks(tree: &WorkTree) -> Vec<Preflight> {
    if tree.is_clean() {
        return vec![Preflight::Ok("the working tree is clean".to_string())];
    }
    let mut checks = Vec::new();
    if !tree.entries.is_empty() {
        let shown: Vec<String> = tree
            .entries
            .iter()
            .take(5)
            .map(|e| crate::quote::quote(e))
            .collect();
        let more = tree.entries.len().saturating_sub(shown.len());
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        // A chart stamped by `release stamp` or an old local publish is not to be committed:
        // the committed chart stays unstamped, and CI stamps what it publishes.
        let stamped: Vec<&str> = tree
            .entries
            .iter()
            .filter(|e| e.starts_with(" M ") && e.ends_with("/Chart.yaml"))
            .map(|e| e[3..].trim_end_matches("/Chart.yaml"))
            .collect();
        let fix = match stamped.first() {
            Some(chart) => format!(
                "a stamped chart is never committed (CI stamps what it publishes): put it back with `git checkout -- {}`, and commit, stash (`git stash --include-untracked`) or remove the rest",
                crate::quote::quote(chart)
            ),
            None => "commit, stash (`git stash --include-untracked`) or remove them".to_string(),
        };
        checks.push(Preflight::Problem(format!(
            "the working tree is not clean ({}{more}): {fix}, so that the tag names exactly what was checked",
            shown.join(", ")
        )));
    }
    checks.extend(tree.submodules.iter().take(5).map(submodule_problem));
    if tree.submodules.len() > 5 {
        checks.push(Preflight::Problem(format!(
            "{} more submodules are not clean: `git submodule status` and `git submodule foreach git status --short` list them",
            tree.submodules.len() - 5
        )));
    }
    checks
}

fn submodule_problem(sub: &DirtySubmodule) -> Preflight {
    let path = crate::quote::quote(&sub.path);
    let mut what = Vec::new();
    if sub.other_commit {
        what.push("checked out at another commit than the one recorded");
    }
    if sub.modified {
        what.push("has modified content");
    }
    if sub.untracked {
        what.push("has untracked files");
    }
    let fix = if sub.modified || sub.untracked {
        format!(
            "commit, stash or remove the changes inside it (`git -C {path} status` lists them), then either record its new commit here (`git add {path}`, commit and push) or go back to the recorded one with `git submodule update -- {path}`"
        )
    } else {
        format!(
            "check out the recorded commit with `git submodule update -- {path}`, or record the checked-out one (`git add {path}`, commit and push)"
        )
    };
    Preflight::Problem(format!(
        "submodule {path} is not clean ({}): {fix}, so that the tag names exactly what was checked",
        what.join(", ")
    ))
}

/// `-s` when `tag.gpgSign` asks for a signature (said explicitly, so the plan shows it),
/// `--no-sign` when the user asked for none.
fn sign_flag(signing: &Signing, no_sign: bool) -> Option<bool> {
    match (signing, no_sign) {
        (_, true) => Some(false),
        (Signing::On { .. }, false) => Some(true),
        (Signing::Off, false) => None,
    }
}

/// Signing is the user's choice, never changed silently: the plan says when the tag will be
/// signed, and a key that is not there fails here rather than after the confirmation.
fn signing_check(signing: &Signing, no_sign: bool) -> Option<Preflight> {
    let Signing::On {
        format,
        key,
        usable,
    } = signing
    else {
        return None;
    };
    if no_sign {
        return Some(Preflight::Ok(
            "the tag will not be signed (--no-sign), although tag.gpgSign is on".to_string(),
        ));
    }
    Some(match usable {
        Ok(with) => Preflight::Ok(format!(
            "the tag will be signed (tag.gpgSign, gpg.format {format}): {with}"
        )),
        Err(why) => {
            let provide = match format.as_str() {
                "ssh" => "name your key with `git config user.signingKey ~/.ssh/id_ed25519.pub`".to_string(),
                "openpgp" if key.is_none() => "create or import a key for your committer email (`gpg --list-secret-keys` lists them), or name one with `git config user.signingKey KEYID`".to_string(),
                "openpgp" => "import that key (`gpg --list-secret-keys` lists the keys there are) or name another with `git config user.signingKey KEYID`".to_string(),
                _ => format!("make the key usable by {}", default_signing_program(format)),
            };
            Preflight::Problem(format!(
                "tag.gpgSign is on, but {why}: {provide}; or re-run with --no-sign to create this tag unsigned"
            ))
        }
    })
}

fn timeout_note(secs: u64) -> String {
    format!(
        "network commands (git ls-remote, fetch, push) are stopped after {secs}s (RELEASE_GIT_TIMEOUT)"
    )
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Plans `release tag`: the annotated `vX.Y.Z` on HEAD, pushed alone.
pub fn plan_tag(facts: &TagFacts) -> GitPlan {
    let name = grammar::version_tag(&facts.version);
    let remote = &facts.remote.name;
    let head = &facts.head;
    let title = format!("release tag {name}");
    let context = vec![
        match &facts.branch {
            Some(branch) => format!("commit: {head} (HEAD, on {branch})"),
            None => format!("commit: {head} (HEAD, detached)"),
        },
        facts.remote.context(),
    ];
    let remote_tag = facts.remote.refs().map(|refs| refs.tag(&name));

    // Already released from this very commit with this very tag object: nothing to check.
    if let (Some(local), Some(Some(there))) = (&facts.local_tag, &remote_tag)
        && &there.commit == head
        && local.object == there.object
    {
        return GitPlan {
            title,
            context,
            checks: vec![
                facts.remote.answered(),
                Preflight::Ok(format!(
                    "{name} on {remote} is the local tag object {}, on HEAD",
                    there.object
                )),
            ],
            outcome: Decision::AlreadyDone(format!(
                "nothing to do: {name} is already on {remote}, on {head}"
            )),
            notes: Vec::new(),
        };
    }

    let mut checks = tools_check(&tools::TAG, &facts.missing_tools);
    checks.push(identity_check(facts.identity.as_deref()));
    checks.extend(signing_check(&facts.signing, facts.no_sign));
    checks.extend(facts.remote.check(&facts.missing_tools));
    checks.extend(facts.remote.push_check());
    checks.push(branch_check(facts));
    checks.extend(clean_checks(&facts.dirty));
    checks.push(if facts.shallow {
        Preflight::Problem(format!(
            "this clone is shallow: run `git fetch --unshallow {remote}` (comparing HEAD with the remote and with earlier versions needs the full history)"
        ))
    } else {
        Preflight::Ok("the clone has its full history".to_string())
    });
    checks.extend(sync_check(facts));
    checks.extend(tag_absent_check(
        &name,
        head,
        remote,
        facts.local_tag.as_ref(),
        remote_tag.as_ref(),
    ));
    checks.push(order_check(facts, &name));

    let mut steps = Vec::new();
    if facts.run_checks {
        steps.push(GitStep::Checks);
    }
    steps.push(GitStep::CreateTag {
        name: name.clone(),
        message: format!("Release {name}"),
        commit: head.clone(),
        sign: sign_flag(&facts.signing, facts.no_sign),
    });
    steps.push(GitStep::Push {
        remote: remote.clone(),
        name,
        timeout_secs: facts.timeout_secs,
    });

    let mut notes = Vec::new();
    if !facts.run_checks {
        notes.push("the project's checks are skipped (--no-checks)".to_string());
    }
    if let Some(fetched) = &facts.fetched {
        notes.push(format!(
            "the preflight fetched {fetched}, a remote-tracking ref; it wrote nothing else"
        ));
    }
    notes.push(timeout_note(facts.timeout_secs));
    GitPlan {
        title,
        context,
        checks,
        outcome: Decision::Steps(steps),
        notes,
    }
}

fn branch_check(facts: &TagFacts) -> Preflight {
    let default = &facts.default_branch;
    let remote = &facts.remote.name;
    let Some(branch) = &facts.branch else {
        let what = if facts.allow_older {
            format!("`git checkout {default}` or the maintenance branch to release from")
        } else {
            format!("`git checkout {default}`")
        };
        return Preflight::Problem(format!(
            "HEAD is detached (at {}): check out a branch with {what}",
            facts.head
        ));
    };
    if branch == default {
        return Preflight::Ok(format!("HEAD is on {default}, the default branch"));
    }
    if !facts.allow_older {
        return Preflight::Problem(format!(
            "HEAD is on branch {branch}, not {default}: run `git checkout {default}`, or pass --allow-older to release a backport from a maintenance branch"
        ));
    }
    match &facts.upstream {
        None => Preflight::Problem(format!(
            "branch {branch} has no upstream to compare HEAD with: push it with `git push -u {remote} {branch}`"
        )),
        Some(u) if &u.remote != remote => Preflight::Problem(format!(
            "branch {branch} tracks remote {}, not {remote}: set its upstream with `git branch --set-upstream-to={remote}/{branch}`",
            u.remote
        )),
        Some(_) => Preflight::Ok(format!(
            "HEAD is on {branch}, a maintenance branch (--allow-older)"
        )),
    }
}

fn sync_check(facts: &TagFacts) -> Option<Preflight> {
    let base = facts.base.as_ref()?;
    let display = &base.display;
    let remote = &facts.remote.name;
    let branch = facts.branch.as_deref().unwrap_or("HEAD");
    Some(match &facts.sync {
        Sync::NotCompared => return None,
        Sync::MissingOnRemote => Preflight::Problem(format!(
            "{remote} has no branch {}: push it with `git push -u {remote} {branch}`",
            base.remote_ref
        )),
        Sync::FetchFailed(why) => Preflight::Problem(format!(
            "cannot fetch {display} to compare HEAD with it: {why}: check the remote and re-run"
        )),
        Sync::Counted {
            ahead: 0,
            behind: 0,
        } => Preflight::Ok(format!("HEAD equals {display}")),
        Sync::Counted { ahead: 0, behind } => Preflight::Problem(format!(
            "HEAD is {} behind {display}: run `git pull --ff-only`, then check that the release is still what you want",
            plural(*behind, "commit")
        )),
        Sync::Counted { ahead, behind: 0 } => Preflight::Problem(format!(
            "HEAD is {} ahead of {display}: push first with `git push {remote} {branch}`, so that the tag is on a commit the branch has",
            plural(*ahead, "commit")
        )),
        Sync::Counted { ahead, behind } => Preflight::Problem(format!(
            "HEAD and {display} have diverged ({} only here, {} only there): reconcile them (`git pull --rebase`, then `git push {remote} {branch}`) and re-run",
            plural(*ahead, "commit"),
            plural(*behind, "commit")
        )),
    })
}

/// `vX.Y.Z` must exist neither locally nor remotely (the no-op case is decided before).
/// `remote_tag` is `None` when the remote did not answer: then only the local tag is judged.
fn tag_absent_check(
    name: &str,
    head: &str,
    remote: &str,
    local: Option<&TagObject>,
    remote_tag: Option<&Option<TagObject>>,
) -> Option<Preflight> {
    let fetch = format!("git fetch {remote} +refs/tags/{name}:refs/tags/{name}");
    Some(match (local, remote_tag) {
        (None, None) => return None,
        (None, Some(None)) => Preflight::Ok(format!("{name} exists neither here nor on {remote}")),
        (_, Some(Some(there))) if there.commit != head => Preflight::Problem(format!(
            "{name} already exists on {remote}, on commit {}, not on HEAD ({head}): a released version never moves; release the next version instead",
            there.commit
        )),
        (None, Some(Some(_))) => Preflight::Problem(format!(
            "{name} is already on {remote}, on HEAD, but not in this clone: fetch it with `{fetch}` and re-run to confirm"
        )),
        (Some(here), Some(Some(there))) => Preflight::Problem(format!(
            "the local {name} (tag object {}) is not the one on {remote} (tag object {}), though both are on HEAD: replace the local one with `{fetch}`",
            here.object, there.object
        )),
        (Some(here), _) if here.commit == head => Preflight::Problem(format!(
            "{name} exists in this clone (on HEAD) but not on {remote}: delete it with `git tag -d {name}` and re-run, so that this command creates and pushes it"
        )),
        (Some(here), _) => Preflight::Problem(format!(
            "{name} exists in this clone on commit {}, not on HEAD ({head}): delete it with `git tag -d {name}` if it is a mistake",
            here.commit
        )),
    })
}

fn order_check(facts: &TagFacts, name: &str) -> Preflight {
    let highest = facts.versions.iter().filter(|v| **v != facts.version).max();
    match highest {
        None => Preflight::Ok(format!("{name} is the first version tag")),
        Some(h) if *h < facts.version => {
            Preflight::Ok(format!("{name} is above every version tag (highest: v{h})"))
        }
        Some(h) if facts.allow_older => Preflight::Ok(format!(
            "{name} is below v{h}, allowed for a backport (--allow-older)"
        )),
        Some(h) => Preflight::Problem(format!(
            "{name} is not above v{h}, the highest version tag: release a higher version, or pass --allow-older to release a backport from a maintenance branch"
        )),
    }
}

/// Where `vX.Y.Z-stable` stands, by the one rule of a promotion: it sits on `vX.Y.Z^{}`, the
/// commit the version tag peels to on the remote. `promote` plans by it, `verify` checks it,
/// and the gate of a GitHub release requires it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Promotion {
    /// No stable tag.
    NotPromoted,
    /// The stable tag is on the commit of the version tag.
    Promoted,
    /// The stable tag is on another commit, or the version tag is not there to compare.
    Misplaced,
}

/// Judges the commits the two tags peel to (`None`: the tag is not there).
pub fn promotion(version_commit: Option<&str>, stable_commit: Option<&str>) -> Promotion {
    match (version_commit, stable_commit) {
        (_, None) => Promotion::NotPromoted,
        (Some(version), Some(stable)) if version == stable => Promotion::Promoted,
        (_, Some(_)) => Promotion::Misplaced,
    }
}

/// Plans `release promote`: the annotated `vX.Y.Z-stable` on the commit `vX.Y.Z^{}` as the
/// remote has it, whatever is checked out here.
pub fn plan_promote(facts: &PromoteFacts) -> GitPlan {
    let name = grammar::version_tag(&facts.version);
    let stable = grammar::stable_tag(&facts.version);
    let remote = &facts.remote.name;
    let title = format!("release promote {name}");
    let refs = facts.remote.refs();
    let remote_version = refs.and_then(|r| r.tag(&name));
    let remote_stable = refs.and_then(|r| r.tag(&stable));
    let context = vec![
        match (&remote_version, refs) {
            (Some(v), _) => format!("commit: {} ({name} on {remote})", v.commit),
            (None, Some(_)) => format!("commit: unknown ({name} is not on {remote})"),
            (None, None) => format!("commit: unknown ({remote} did not answer)"),
        },
        facts.remote.context(),
    ];

    let commit = |tag: &Option<TagObject>| tag.as_ref().map(|t| t.commit.clone());
    if let Some(v) = &remote_version
        && promotion(
            commit(&remote_version).as_deref(),
            commit(&remote_stable).as_deref(),
        ) == Promotion::Promoted
    {
        return GitPlan {
            title,
            context,
            checks: vec![
                facts.remote.answered(),
                Preflight::Ok(format!(
                    "{stable} on {remote} is on {}, the commit of {name}",
                    v.commit
                )),
            ],
            outcome: Decision::AlreadyDone(format!(
                "already promoted: {stable} is on {remote}, on {}",
                v.commit
            )),
            notes: Vec::new(),
        };
    }

    let verify = facts.gate != Gate::Skipped;
    let mut checks = tools_check(&promote_tools(verify), &facts.missing_tools);
    checks.push(identity_check(facts.identity.as_deref()));
    checks.extend(signing_check(&facts.signing, facts.no_sign));
    checks.extend(facts.remote.check(&facts.missing_tools));
    checks.extend(facts.remote.push_check());
    if refs.is_some() {
        checks.extend(version_checks(
            facts,
            &name,
            remote_version.as_ref(),
            facts.local_version.as_ref(),
        ));
        checks.push(stable_check(
            facts,
            &stable,
            &name,
            remote_version.as_ref(),
            remote_stable.as_ref(),
        ));
    }
    match facts.gate.problem(&name) {
        Some(problem) => checks.push(Preflight::Problem(problem)),
        None if matches!(facts.gate, Gate::Checked(_)) => checks.push(Preflight::Ok(format!(
            "the published artifacts of {name} verify (the promotion gate)"
        ))),
        None => {}
    }

    let mut steps = Vec::new();
    if let Some(v) = &remote_version {
        if !facts.commit_present {
            steps.push(GitStep::FetchCommit {
                remote: remote.clone(),
                refname: tag_ref(&name),
                timeout_secs: facts.timeout_secs,
            });
        }
        steps.push(GitStep::CreateTag {
            name: stable.clone(),
            message: format!("Stable release {name}"),
            commit: v.commit.clone(),
            sign: sign_flag(&facts.signing, facts.no_sign),
        });
        steps.push(GitStep::Push {
            remote: remote.clone(),
            name: stable,
            timeout_secs: facts.timeout_secs,
        });
    }

    let mut notes = Vec::new();
    if !verify {
        notes.push("the published artifacts are not verified (--no-verify)".to_string());
    }
    notes.push(timeout_note(facts.timeout_secs));
    GitPlan {
        title,
        context,
        checks,
        outcome: Decision::Steps(steps),
        notes,
    }
}

fn version_checks(
    facts: &PromoteFacts,
    name: &str,
    there: Option<&TagObject>,
    here: Option<&TagObject>,
) -> Vec<Preflight> {
    let remote = &facts.remote.name;
    let version = &facts.version;
    let Some(there) = there else {
        let fix = match here {
            None => {
                format!("create it with `cargo xtask release tag {version}` and let CI publish it")
            }
            Some(here) => format!(
                "it exists only in this clone (on {}): push it with `git push --no-follow-tags {remote} {}`, or delete it with `git tag -d {name}` and run `cargo xtask release tag {version}`",
                here.commit,
                GitStep::refspec(name)
            ),
        };
        return vec![Preflight::Problem(format!(
            "{name} is not on {remote}: {fix}"
        ))];
    };
    let mut checks = vec![Preflight::Ok(format!(
        "{name} is on {remote}, on commit {}",
        there.commit
    ))];
    match here {
        Some(here) if here.commit != there.commit => checks.push(Preflight::Problem(format!(
            "the local {name} is on commit {} but {remote}'s is on {}: the remote is authoritative; replace the local tag with `git fetch {remote} +refs/tags/{name}:refs/tags/{name}`",
            here.commit, there.commit
        ))),
        Some(_) => checks.push(Preflight::Ok(format!("the local {name} is on the same commit"))),
        None => {}
    }
    checks
}

fn stable_check(
    facts: &PromoteFacts,
    stable: &str,
    name: &str,
    version: Option<&TagObject>,
    there: Option<&TagObject>,
) -> Preflight {
    let remote = &facts.remote.name;
    let target = match version {
        Some(v) => format!("{} (the commit of {name})", v.commit),
        None => format!("the commit of {name}"),
    };
    match (there, &facts.local_stable) {
        (Some(there), _) => Preflight::Problem(format!(
            "{stable} already exists on {remote}, on commit {}, not on {target}: a promotion never moves; see \"Rolling back\" in docs/release-process.md if it is a mistake",
            there.commit
        )),
        (None, Some(here)) => Preflight::Problem(format!(
            "{stable} exists in this clone (on commit {}) but not on {remote}: delete it with `git tag -d {stable}` and re-run, so that this command creates it on {target} and pushes it",
            here.commit
        )),
        (None, None) => Preflight::Ok(format!("{stable} exists neither here nor on {remote}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "1111111111111111111111111111111111111111";
    const OTHER: &str = "2222222222222222222222222222222222222222";
    const TAG_OBJ: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const OTHER_OBJ: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn obj(object: &str, commit: &str) -> TagObject {
        TagObject {
            object: object.into(),
            commit: commit.into(),
        }
    }

    /// `ls-remote` text for these `(tag name, object, commit)` triples.
    fn ls_remote(tags: &[(&str, &str, &str)]) -> RemoteRefs {
        let mut text = format!("{HEAD}\trefs/heads/main\n");
        for (name, object, commit) in tags {
            text.push_str(&format!("{object}\trefs/tags/{name}\n"));
            text.push_str(&format!("{commit}\trefs/tags/{name}^{{}}\n"));
        }
        RemoteRefs::parse(&text)
    }

    fn remote(answer: Result<RemoteRefs, String>) -> RemoteFacts {
        RemoteFacts {
            name: "origin".into(),
            urls: Some(RemoteUrls {
                fetch: "/srv/remote.git".into(),
                push: vec!["/srv/remote.git".into()],
            }),
            answer,
        }
    }

    /// A repository ready to release v1.2.0 after v1.1.0.
    fn ready() -> TagFacts {
        TagFacts {
            version: Version::new(1, 2, 0),
            default_branch: "main".into(),
            allow_older: false,
            run_checks: true,
            timeout_secs: 60,
            missing_tools: vec![],
            identity: Some("Rel <rel@example.invalid>".into()),
            signing: Signing::Off,
            no_sign: false,
            remote: remote(Ok(ls_remote(&[]))),
            head: HEAD.into(),
            branch: Some("main".into()),
            upstream: None,
            dirty: WorkTree::default(),
            shallow: false,
            base: base_branch("origin", "main", Some("main"), None, false),
            sync: Sync::Counted {
                ahead: 0,
                behind: 0,
            },
            fetched: None,
            local_tag: None,
            versions: vec![Version::new(1, 1, 0)],
        }
    }

    /// The problems of a plan, each cut at its first `:` so that cases stay one line.
    fn problems(plan: &GitPlan) -> Vec<String> {
        plan.problems()
            .iter()
            .map(|p| p.split(": ").next().unwrap().to_string())
            .collect()
    }

    #[track_caller]
    fn check_tag(change: impl FnOnce(&mut TagFacts), expected: &[&str]) {
        let mut facts = ready();
        change(&mut facts);
        assert_eq!(problems(&plan_tag(&facts)), expected);
    }

    #[test]
    fn tag_ready_plans_checks_tag_and_one_push() {
        let plan = plan_tag(&ready());
        assert_eq!(plan.refusal(), None);
        assert_eq!(
            plan.to_string(),
            format!(
                "\
release tag v1.2.0
  commit: {HEAD} (HEAD, on main)
  remote: origin (/srv/remote.git, fetch and push)
preflight:
  ok    git, cargo, timeout, kill found on PATH
  ok    tagger: Rel <rel@example.invalid>
  ok    remote origin (/srv/remote.git) answers
  ok    HEAD is on main, the default branch
  ok    the working tree is clean
  ok    the clone has its full history
  ok    HEAD equals origin/main
  ok    v1.2.0 exists neither here nor on origin
  ok    v1.2.0 is above every version tag (highest: v1.1.0)
steps:
  1. cargo xtask ci  (the project's checks)
  2. git tag -a v1.2.0 -m 'Release v1.2.0' {HEAD}
  3. timeout --kill-after=5 60 git push --porcelain --no-follow-tags origin refs/tags/v1.2.0:refs/tags/v1.2.0
refs that change:
  this clone: refs/tags/v1.2.0 created, an annotated tag on {HEAD}
  origin: refs/tags/v1.2.0 created, the same tag object
notes:
  - network commands (git ls-remote, fetch, push) are stopped after 60s (RELEASE_GIT_TIMEOUT)
"
            )
        );
    }

    #[test]
    fn tag_without_checks_and_after_a_fetch_says_so() {
        let mut facts = ready();
        facts.run_checks = false;
        facts.fetched = Some("refs/remotes/origin/main".into());
        let plan = plan_tag(&facts);
        assert!(!plan.steps().contains(&GitStep::Checks));
        let text = plan.to_string();
        assert!(text.contains("  - the project's checks are skipped (--no-checks)\n"));
        assert!(text.contains("  - the preflight fetched refs/remotes/origin/main"));
    }

    #[test]
    fn tag_preflight_problems() {
        check_tag(|_| {}, &[]);
        check_tag(
            |f| f.missing_tools = vec!["cargo".into(), "timeout".into()],
            &["`cargo` not found on PATH", "`timeout` not found on PATH"],
        );
        check_tag(
            |f| f.identity = None,
            &["git has no committer identity for the annotated tag"],
        );
        check_tag(
            |f| {
                f.remote.urls = None;
                f.remote.answer = Err("no such remote".into());
            },
            &["this repository has no remote named origin"],
        );
        check_tag(
            |f| f.remote.answer = Err("timed out after 60s".into()),
            &["cannot reach remote origin (/srv/remote.git)"],
        );
        check_tag(
            |f| f.dirty.entries = vec![" M a.rs".into()],
            &["the working tree is not clean (\" M a.rs\")"],
        );
        let mut facts = ready();
        facts.dirty.entries = vec![" M charts/llm-proxy/Chart.yaml".into()];
        let refusal = plan_tag(&facts).refusal().unwrap();
        assert!(
            refusal.contains("(\" M charts/llm-proxy/Chart.yaml\"): a stamped chart is never committed (CI stamps what it publishes): put it back with `git checkout -- \"charts/llm-proxy\"`, and commit"),
            "{refusal}"
        );
        check_tag(|f| f.shallow = true, &["this clone is shallow"]);
        check_tag(
            |f| f.sync = Sync::MissingOnRemote,
            &["origin has no branch refs/heads/main"],
        );
        check_tag(
            |f| f.sync = Sync::FetchFailed("\"boom\"".into()),
            &["cannot fetch origin/main to compare HEAD with it"],
        );
    }

    #[test]
    fn tag_branch_and_sync() {
        let counted = |ahead, behind| Sync::Counted { ahead, behind };
        check_tag(
            |f| f.sync = counted(0, 1),
            &["HEAD is 1 commit behind origin/main"],
        );
        check_tag(
            |f| f.sync = counted(3, 0),
            &["HEAD is 3 commits ahead of origin/main"],
        );
        check_tag(
            |f| f.sync = counted(1, 2),
            &["HEAD and origin/main have diverged (1 commit only here, 2 commits only there)"],
        );
        check_tag(
            |f| {
                f.branch = None;
                f.base = None;
                f.sync = Sync::NotCompared;
            },
            &[&format!("HEAD is detached (at {HEAD})")],
        );
        check_tag(
            |f| {
                f.branch = Some("feature".into());
                f.base = None;
                f.sync = Sync::NotCompared;
            },
            &["HEAD is on branch feature, not main"],
        );
    }

    #[test]
    fn several_problems_are_reported_at_once() {
        let mut facts = ready();
        facts.branch = Some("feature".into());
        facts.dirty.entries = (0..7).map(|i| format!("?? file{i}")).collect();
        facts.shallow = true;
        let plan = plan_tag(&facts);
        let refusal = plan.refusal().unwrap();
        assert!(
            refusal.starts_with("release tag v1.2.0 refused, 3 problems to fix first:\n  - HEAD is on branch feature"),
            "{refusal}"
        );
        assert!(refusal.contains("\"?? file4\" and 2 more)"), "{refusal}");
        assert!(
            plan.to_string()
                .contains("steps, once the problems are fixed:\n")
        );
    }

    #[test]
    fn backports_need_allow_older_and_an_upstream_on_the_remote() {
        let maintenance = |f: &mut TagFacts, upstream_remote: Option<&str>| {
            f.version = Version::new(1, 0, 5);
            f.branch = Some("release-1.0".into());
            f.upstream = upstream_remote.map(|r| Upstream {
                remote: r.into(),
                merge_ref: "refs/heads/release-1.0".into(),
                tracking_ref: format!("refs/remotes/{r}/release-1.0"),
            });
            f.base = base_branch(
                "origin",
                "main",
                f.branch.as_deref(),
                f.upstream.as_ref(),
                f.allow_older,
            );
        };
        check_tag(
            |f| maintenance(f, Some("origin")),
            &[
                "HEAD is on branch release-1.0, not main",
                "v1.0.5 is not above v1.1.0, the highest version tag",
            ],
        );
        check_tag(
            |f| {
                f.allow_older = true;
                maintenance(f, Some("origin"));
                assert_eq!(f.base.as_ref().unwrap().display, "origin/release-1.0");
            },
            &[],
        );
        check_tag(
            |f| {
                f.allow_older = true;
                maintenance(f, None);
                f.sync = Sync::NotCompared;
            },
            &["branch release-1.0 has no upstream to compare HEAD with"],
        );
        check_tag(
            |f| {
                f.allow_older = true;
                maintenance(f, Some("fork"));
                assert_eq!(f.base, None);
                f.sync = Sync::NotCompared;
            },
            &["branch release-1.0 tracks remote fork, not origin"],
        );
        check_tag(|f| f.allow_older = true, &[]);
    }

    #[test]
    fn version_order() {
        check_tag(|f| f.versions = vec![], &[]);
        check_tag(|f| f.versions = vec![Version::new(1, 2, 0)], &[]);
        check_tag(
            |f| f.versions.push(Version::new(1, 10, 0)),
            &["v1.2.0 is not above v1.10.0, the highest version tag"],
        );
        check_tag(|f| f.versions.push(Version::new(1, 2, 0)), &[]);
        let plan = plan_tag(&ready());
        assert!(plan.to_string().contains("(highest: v1.1.0)"));
    }

    #[test]
    fn tag_existing_somewhere() {
        let remote_has = |f: &mut TagFacts, object: &str, commit: &str| {
            f.remote.answer = Ok(ls_remote(&[("v1.2.0", object, commit)]));
        };
        check_tag(
            |f| remote_has(f, TAG_OBJ, OTHER),
            &[&format!(
                "v1.2.0 already exists on origin, on commit {OTHER}, not on HEAD ({HEAD})"
            )],
        );
        check_tag(
            |f| {
                remote_has(f, TAG_OBJ, OTHER);
                f.local_tag = Some(obj(TAG_OBJ, OTHER));
            },
            &[&format!(
                "v1.2.0 already exists on origin, on commit {OTHER}, not on HEAD ({HEAD})"
            )],
        );
        check_tag(
            |f| remote_has(f, TAG_OBJ, HEAD),
            &["v1.2.0 is already on origin, on HEAD, but not in this clone"],
        );
        check_tag(
            |f| {
                remote_has(f, TAG_OBJ, HEAD);
                f.local_tag = Some(obj(OTHER_OBJ, HEAD));
            },
            &[&format!(
                "the local v1.2.0 (tag object {OTHER_OBJ}) is not the one on origin (tag object {TAG_OBJ}), though both are on HEAD"
            )],
        );
        check_tag(
            |f| f.local_tag = Some(obj(TAG_OBJ, HEAD)),
            &["v1.2.0 exists in this clone (on HEAD) but not on origin"],
        );
        check_tag(
            |f| f.local_tag = Some(obj(TAG_OBJ, OTHER)),
            &[&format!(
                "v1.2.0 exists in this clone on commit {OTHER}, not on HEAD ({HEAD})"
            )],
        );
        // Unreachable remote: the local tag is still judged, the remote is not assumed absent.
        check_tag(
            |f| {
                f.remote.answer = Err("\"down\"".into());
                f.local_tag = Some(obj(TAG_OBJ, HEAD));
            },
            &[
                "cannot reach remote origin (/srv/remote.git)",
                "v1.2.0 exists in this clone (on HEAD) but not on origin",
            ],
        );
    }

    #[test]
    fn tag_already_pushed_is_a_noop_whatever_else_is_wrong() {
        let mut facts = ready();
        facts.remote.answer = Ok(ls_remote(&[("v1.2.0", TAG_OBJ, HEAD)]));
        facts.local_tag = Some(obj(TAG_OBJ, HEAD));
        facts.dirty.entries = vec!["?? notes.txt".into()];
        facts.versions.push(Version::new(9, 0, 0));
        let plan = plan_tag(&facts);
        assert_eq!(plan.refusal(), None);
        assert!(plan.steps().is_empty());
        assert_eq!(
            plan.outcome,
            Decision::AlreadyDone(format!(
                "nothing to do: v1.2.0 is already on origin, on {HEAD}"
            ))
        );
        assert!(plan.to_string().ends_with(&format!(
            "preflight:\n  ok    remote origin (/srv/remote.git) answers\n  ok    v1.2.0 on origin is the local tag object {TAG_OBJ}, on HEAD\nnothing to do: v1.2.0 is already on origin, on {HEAD}\n"
        )));
    }

    #[test]
    fn base_branch_choice() {
        let upstream = Upstream {
            remote: "origin".into(),
            merge_ref: "refs/heads/maint".into(),
            tracking_ref: "refs/remotes/origin/maint".into(),
        };
        let display = |branch: Option<&str>, upstream: Option<&Upstream>, allow_older| {
            base_branch("origin", "main", branch, upstream, allow_older).map(|b| b.display)
        };
        assert_eq!(
            display(Some("main"), None, false).as_deref(),
            Some("origin/main")
        );
        assert_eq!(
            display(Some("main"), None, true).as_deref(),
            Some("origin/main")
        );
        assert_eq!(display(None, Some(&upstream), true), None);
        assert_eq!(display(Some("maint"), Some(&upstream), false), None);
        assert_eq!(
            display(Some("maint"), Some(&upstream), true).as_deref(),
            Some("origin/maint")
        );
        let main = base_branch("origin", "main", Some("main"), None, false).unwrap();
        assert_eq!(
            (main.remote_ref.as_str(), main.tracking_ref.as_str()),
            ("refs/heads/main", "refs/remotes/origin/main")
        );
    }

    fn promotable() -> PromoteFacts {
        PromoteFacts {
            version: Version::new(1, 2, 0),
            gate: Gate::Checked(vec![]),
            timeout_secs: 60,
            missing_tools: vec![],
            identity: Some("Rel <rel@example.invalid>".into()),
            signing: Signing::Off,
            no_sign: false,
            remote: remote(Ok(ls_remote(&[("v1.2.0", TAG_OBJ, HEAD)]))),
            local_version: Some(obj(TAG_OBJ, HEAD)),
            local_stable: None,
            commit_present: true,
        }
    }

    #[track_caller]
    fn check_promote(change: impl FnOnce(&mut PromoteFacts), expected: &[&str]) {
        let mut facts = promotable();
        change(&mut facts);
        assert_eq!(problems(&plan_promote(&facts)), expected);
    }

    #[test]
    fn the_stable_tag_sits_on_the_commit_of_the_version_tag() {
        assert_eq!(promotion(Some(HEAD), None), Promotion::NotPromoted);
        assert_eq!(promotion(None, None), Promotion::NotPromoted);
        assert_eq!(promotion(Some(HEAD), Some(HEAD)), Promotion::Promoted);
        assert_eq!(promotion(Some(HEAD), Some(OTHER)), Promotion::Misplaced);
        assert_eq!(promotion(None, Some(HEAD)), Promotion::Misplaced);
    }

    #[test]
    fn promote_ready_tags_the_peeled_commit() {
        let plan = plan_promote(&promotable());
        assert_eq!(plan.refusal(), None);
        assert_eq!(
            plan.to_string(),
            format!(
                "\
release promote v1.2.0
  commit: {HEAD} (v1.2.0 on origin)
  remote: origin (/srv/remote.git, fetch and push)
preflight:
  ok    git, timeout, kill, curl, tar, helm found on PATH
  ok    tagger: Rel <rel@example.invalid>
  ok    remote origin (/srv/remote.git) answers
  ok    v1.2.0 is on origin, on commit {HEAD}
  ok    the local v1.2.0 is on the same commit
  ok    v1.2.0-stable exists neither here nor on origin
  ok    the published artifacts of v1.2.0 verify (the promotion gate)
steps:
  1. git tag -a v1.2.0-stable -m 'Stable release v1.2.0' {HEAD}
  2. timeout --kill-after=5 60 git push --porcelain --no-follow-tags origin refs/tags/v1.2.0-stable:refs/tags/v1.2.0-stable
refs that change:
  this clone: refs/tags/v1.2.0-stable created, an annotated tag on {HEAD}
  origin: refs/tags/v1.2.0-stable created, the same tag object
notes:
  - network commands (git ls-remote, fetch, push) are stopped after 60s (RELEASE_GIT_TIMEOUT)
"
            )
        );
    }

    #[test]
    fn promote_fetches_a_missing_commit_and_can_skip_the_gate() {
        let mut facts = promotable();
        facts.commit_present = false;
        facts.local_version = None;
        facts.gate = Gate::Skipped;
        let plan = plan_promote(&facts);
        assert_eq!(plan.refusal(), None);
        assert_eq!(
            plan.steps()[0],
            GitStep::FetchCommit {
                remote: "origin".into(),
                refname: "refs/tags/v1.2.0".into(),
                timeout_secs: 60,
            }
        );
        assert!(!plan.to_string().contains("promotion gate"));
        assert!(plan.to_string().contains("(--no-verify)"));
    }

    #[test]
    fn promote_problems() {
        check_promote(|_| {}, &[]);
        check_promote(
            |f| f.remote.answer = Ok(ls_remote(&[])),
            &["v1.2.0 is not on origin"],
        );
        let plan = plan_promote(&PromoteFacts {
            remote: remote(Ok(ls_remote(&[]))),
            ..promotable()
        });
        assert!(
            plan.problems()[0].contains("exists only in this clone"),
            "{plan}"
        );
        assert!(plan.steps().is_empty());
        check_promote(
            |f| {
                f.remote.answer = Ok(ls_remote(&[]));
                f.local_version = None;
            },
            &["v1.2.0 is not on origin"],
        );
        check_promote(
            |f| f.local_version = Some(obj(OTHER_OBJ, OTHER)),
            &[&format!(
                "the local v1.2.0 is on commit {OTHER} but origin's is on {HEAD}"
            )],
        );
        check_promote(
            |f| {
                f.remote.answer = Ok(ls_remote(&[
                    ("v1.2.0", TAG_OBJ, HEAD),
                    ("v1.2.0-stable", OTHER_OBJ, OTHER),
                ]))
            },
            &[&format!(
                "v1.2.0-stable already exists on origin, on commit {OTHER}, not on {HEAD} (the commit of v1.2.0)"
            )],
        );
        check_promote(
            |f| f.local_stable = Some(obj(OTHER_OBJ, OTHER)),
            &[&format!(
                "v1.2.0-stable exists in this clone (on commit {OTHER}) but not on origin"
            )],
        );
        // Fail closed: no answer is never "absent".
        check_promote(
            |f| f.remote.answer = Err("\"timed out after 60s\"".into()),
            &["cannot reach remote origin (/srv/remote.git)"],
        );
        let plan = plan_promote(&PromoteFacts {
            remote: remote(Err("x".into())),
            ..promotable()
        });
        assert!(plan.steps().is_empty());
        check_promote(
            |f| f.missing_tools = vec!["git".into()],
            &["`git` not found on PATH"],
        );
    }

    #[test]
    fn promote_already_done() {
        let mut facts = promotable();
        facts.remote.answer = Ok(ls_remote(&[
            ("v1.2.0", TAG_OBJ, HEAD),
            ("v1.2.0-stable", OTHER_OBJ, HEAD),
        ]));
        // Whatever this clone holds, the remote decides.
        facts.local_version = None;
        facts.local_stable = Some(obj(TAG_OBJ, OTHER));
        let plan = plan_promote(&facts);
        assert_eq!(plan.refusal(), None);
        assert_eq!(
            plan.outcome,
            Decision::AlreadyDone(format!(
                "already promoted: v1.2.0-stable is on origin, on {HEAD}"
            ))
        );
    }

    #[test]
    fn a_push_url_elsewhere_is_refused_before_anything_is_written() {
        let fork = |f: &mut RemoteFacts, push: &[&str]| {
            f.urls.as_mut().unwrap().push = push.iter().map(|p| p.to_string()).collect();
        };
        check_tag(
            |f| fork(&mut f.remote, &["/srv/fork.git"]),
            &["origin pushes to /srv/fork.git but fetches from /srv/remote.git"],
        );
        check_tag(
            |f| fork(&mut f.remote, &["/srv/remote.git", "/srv/mirror.git"]),
            &[
                "origin pushes to /srv/remote.git and /srv/mirror.git but fetches from /srv/remote.git",
            ],
        );
        check_promote(
            |f| fork(&mut f.remote, &["/srv/fork.git"]),
            &["origin pushes to /srv/fork.git but fetches from /srv/remote.git"],
        );
        let mut facts = ready();
        fork(&mut facts.remote, &["/srv/fork.git"]);
        let plan = plan_tag(&facts);
        assert!(
            plan.to_string()
                .contains("  remote: origin (fetch /srv/remote.git, push /srv/fork.git)\n"),
            "{plan}"
        );
        assert!(plan.refusal().unwrap().contains("with --remote"), "{plan}");
    }

    #[test]
    fn dirty_submodules_are_named_with_their_fix() {
        let sub = |other_commit, modified, untracked| DirtySubmodule {
            path: "lib".into(),
            other_commit,
            modified,
            untracked,
        };
        let problems_of = |subs: Vec<DirtySubmodule>| {
            let mut facts = ready();
            facts.dirty.submodules = subs;
            plan_tag(&facts)
                .problems()
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
        };
        let moved = problems_of(vec![sub(true, false, false)]);
        assert_eq!(moved.len(), 1);
        assert!(
            moved[0].starts_with(
                "submodule \"lib\" is not clean (checked out at another commit than the one recorded): check out the recorded commit with `git submodule update -- \"lib\"`"
            ),
            "{moved:?}"
        );
        let changed = problems_of(vec![sub(false, true, true)]);
        assert!(
            changed[0].starts_with(
                "submodule \"lib\" is not clean (has modified content, has untracked files): commit, stash or remove the changes inside it (`git -C \"lib\" status` lists them)"
            ),
            "{changed:?}"
        );
        assert_eq!(
            problems_of((0..7).map(|_| sub(true, true, false)).collect()).len(),
            6
        );
        // Files and submodules are separate problems, each with its own fix.
        check_tag(
            |f| {
                f.dirty.entries = vec!["?? a".into()];
                f.dirty.submodules = vec![sub(false, false, true)];
            },
            &[
                "the working tree is not clean (\"?? a\")",
                "submodule \"lib\" is not clean (has untracked files)",
            ],
        );
    }

    #[test]
    fn signing_follows_the_configuration_and_says_so() {
        let on = |usable: Result<&str, &str>| Signing::On {
            format: "openpgp".into(),
            key: None,
            usable: usable.map(str::to_string).map_err(str::to_string),
        };
        let plan_with = |signing: Signing, no_sign: bool| {
            let mut facts = ready();
            facts.signing = signing;
            facts.no_sign = no_sign;
            plan_tag(&facts)
        };
        // Off: no line, and the tag command says nothing about signing.
        let plan = plan_with(Signing::Off, false);
        assert!(!plan.to_string().contains("sign"), "{plan}");
        // On: the plan says so, and `-s` makes it explicit.
        let plan = plan_with(
            on(Ok("gpg has a secret key for rel@example.invalid")),
            false,
        );
        let text = plan.to_string();
        assert!(
            text.contains("  ok    the tag will be signed (tag.gpgSign, gpg.format openpgp): gpg has a secret key for rel@example.invalid\n"),
            "{text}"
        );
        assert!(
            text.contains(&format!("git tag -a -s v1.2.0 -m 'Release v1.2.0' {HEAD}")),
            "{text}"
        );
        // On without a key: refused before anything is written, with both ways out.
        let plan = plan_with(
            on(Err("gpg has no secret key for rel@example.invalid")),
            false,
        );
        let refusal = plan.refusal().unwrap();
        assert!(
            refusal.contains("tag.gpgSign is on, but gpg has no secret key for rel@example.invalid: create or import a key"),
            "{refusal}"
        );
        assert!(
            refusal.contains("or re-run with --no-sign to create this tag unsigned"),
            "{refusal}"
        );
        // --no-sign: unsigned, said in the plan and in the command.
        let plan = plan_with(on(Err("no key")), true);
        assert_eq!(plan.refusal(), None);
        let text = plan.to_string();
        assert!(
            text.contains("the tag will not be signed (--no-sign), although tag.gpgSign is on"),
            "{text}"
        );
        assert!(text.contains("git tag -a --no-sign v1.2.0"), "{text}");
        // Promote signs the stable tag the same way.
        let mut facts = promotable();
        facts.signing = on(Ok("gpg"));
        assert!(
            plan_promote(&facts)
                .to_string()
                .contains("git tag -a -s v1.2.0-stable")
        );
    }
}
