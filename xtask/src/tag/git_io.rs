//! Reading git: one `cmd!` per question, answers parsed into plain data for the core.
//!
//! Every command runs supervised through `exec`, so that an interrupt stops it.
//! Nothing here changes a ref the project cares about. Two fetches bring in objects for a
//! question (`fetch_branch` updates one remote-tracking ref, `fetch_objects` none); commands
//! that create, push or delete tags live in `tag::push_io`.
//!
//! Network calls (ls-remote, fetch) run under coreutils `timeout`: xshell has no timeout of
//! its own, and `http.lowSpeedLimit` would cover only HTTP, not ssh, a hung credential helper
//! or a remote helper. `timeout` puts git in its own process group and signals the whole
//! group, so ssh or `git-remote-https` children die with it; exit 124 means "timed out".

use std::process::Output;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::exec;
use crate::invocation::Invocation;
use crate::tag::git::{self, RemoteRefs, WorkTree};
use crate::tag::plan::{self, RemoteUrls, Signing, Upstream};

/// A tag as the repository holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRef {
    pub name: String,
    /// The tag's own object (the tag object for an annotated tag).
    pub object: String,
    /// The commit it peels to.
    pub commit: String,
}

/// Ref names cannot contain tabs or newlines, so they separate fields safely.
const TAG_FORMAT: &str = "%(refname:strip=2)%09%(objectname)%09%(*objectname)";

/// The names of the local tags that may be release tags (`refs/tags/v*`), without peeling
/// or formatting any of them: `git rev-parse --symbolic --glob` only walks the refs, where
/// `for-each-ref` builds, sorts and formats an item per ref and peeling reads every tag
/// object (scripts/measure-tag-scaling.sh shows what that costs with 10,000 tags).
pub fn tag_names(sh: &Shell) -> Result<Vec<String>> {
    let out = exec::ask_read(cmd!(sh, "git rev-parse --symbolic --glob=refs/tags/v*"))
        .context("git rev-parse --glob=refs/tags/v* failed")?;
    Ok(git::read_tag_names(&out))
}

/// The local tags with exactly these names, in one call that reads no other tag.
pub fn tags_named(sh: &Shell, names: &[String]) -> Result<Vec<TagRef>> {
    let refs: Vec<String> = names.iter().map(|n| git::tag_ref(n)).collect();
    let out = exec::ask_read(cmd!(sh, "git for-each-ref --format={TAG_FORMAT} {refs...}"))
        .context("git for-each-ref failed")?;
    // A pattern also matches refs below it (`refs/tags/v1.0.0/x`): keep exact names only.
    Ok(parse_tags(&out)
        .into_iter()
        .filter(|t| names.contains(&t.name))
        .collect())
}

fn parse_tags(out: &str) -> Vec<TagRef> {
    out.lines()
        .filter_map(|line| {
            let mut fields = line.split('\t');
            let (name, object, peeled) = (fields.next()?, fields.next()?, fields.next()?);
            let commit = if peeled.is_empty() { object } else { peeled };
            Some(TagRef {
                name: name.to_string(),
                object: object.to_string(),
                commit: commit.to_string(),
            })
        })
        .collect()
}

impl TagRef {
    pub fn object(&self) -> git::TagObject {
        git::TagObject {
            object: self.object.clone(),
            commit: self.commit.clone(),
        }
    }
}

/// The commit `rev` names, or `None` when it does not exist.
pub fn commit_of(sh: &Shell, rev: &str) -> Result<Option<String>> {
    let spec = format!("{rev}^{{commit}}");
    answer_if_success(cmd!(
        sh,
        "git rev-parse --verify --quiet --end-of-options {spec}"
    ))
}

/// The trimmed stdout of a question whose failure means "no" (no such commit, no such remote).
fn answer_if_success(cmd: xshell::Cmd<'_>) -> Result<Option<String>> {
    let out = exec::ask(cmd)?;
    Ok(out
        .status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()))
}

pub fn head(sh: &Shell) -> Result<String> {
    commit_of(sh, "HEAD")?.context("HEAD has no commit yet: commit something before releasing")
}

/// The committer time of `commit`, in seconds since the epoch.
pub fn commit_time(sh: &Shell, commit: &str) -> Result<i64> {
    let out = exec::ask_read(cmd!(sh, "git show --no-patch --format=%ct {commit}"))
        .with_context(|| format!("cannot read the time of commit {commit}"))?;
    out.trim()
        .parse()
        .with_context(|| format!("git printed {out:?} as the time of {commit}"))
}

/// Whether `commit` is an ancestor of (or equal to) `of`.
pub fn is_ancestor(sh: &Shell, commit: &str, of: &str) -> Result<bool> {
    let out = exec::ask(cmd!(sh, "git merge-base --is-ancestor {commit} {of}"))?;
    match out.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => bail!(
            "git merge-base --is-ancestor {commit} {of} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}

/// The branch HEAD is on (`main`), or `None` when HEAD is detached.
pub fn branch(sh: &Shell) -> Result<Option<String>> {
    let out = exec::ask(cmd!(sh, "git symbolic-ref --quiet HEAD"))?;
    match out.status.code() {
        Some(0) => {
            let full = String::from_utf8_lossy(&out.stdout).trim().to_string();
            Ok(Some(
                full.strip_prefix("refs/heads/")
                    .map_or(full.clone(), str::to_string),
            ))
        }
        Some(1) => Ok(None),
        _ => bail!("git symbolic-ref HEAD failed: {}", stderr_of(&out)),
    }
}

/// The upstream of local `branch`, if it has one.
pub fn upstream(sh: &Shell, branch: &str) -> Result<Option<Upstream>> {
    let format = "%(refname)%09%(upstream:remotename)%09%(upstream:remoteref)%09%(upstream)";
    let refname = format!("refs/heads/{branch}");
    let out = exec::ask_read(cmd!(sh, "git for-each-ref --format={format} {refname}"))
        .context("git for-each-ref failed")?;
    Ok(out.lines().find_map(|line| {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[..] {
            [name, remote, merge_ref, tracking_ref]
                if name == refname && !remote.is_empty() && !tracking_ref.is_empty() =>
            {
                Some(Upstream {
                    remote: remote.to_string(),
                    merge_ref: merge_ref.to_string(),
                    tracking_ref: tracking_ref.to_string(),
                })
            }
            _ => None,
        }
    }))
}

/// Staged, unstaged and untracked files, ignored ones aside, and dirty submodules.
/// `--ignore-submodules=none` overrides the user's `diff.ignoreSubmodules` and every
/// `submodule.<name>.ignore`, which would otherwise hide a modified submodule from the check.
pub fn status(sh: &Shell) -> Result<WorkTree> {
    let out = exec::ask_read(cmd!(
        sh,
        "git status --porcelain=v2 --untracked-files=normal --ignore-submodules=none"
    ))
    .context("git status failed")?;
    Ok(git::read_status(&out))
}

pub fn is_shallow(sh: &Shell) -> Result<bool> {
    let out = exec::ask_read(cmd!(sh, "git rev-parse --is-shallow-repository"))
        .context("git rev-parse --is-shallow-repository failed")?;
    Ok(out.trim() == "true")
}

/// The identity an annotated tag is made with, or `None` when git has none.
pub fn identity(sh: &Shell) -> Result<Option<String>> {
    let out = exec::ask(cmd!(sh, "git var GIT_COMMITTER_IDENT"))?;
    Ok(out.status.success().then(|| {
        let ident = String::from_utf8_lossy(&out.stdout);
        // Drop the timestamp: `Name <email> 1767225600 +0000`.
        let end = ident.rfind('>').map_or(ident.len(), |i| i + 1);
        ident[..end].trim().to_string()
    }))
}

/// Where `remote` fetches from and pushes to, as git resolves them (`remote.<name>.pushurl`,
/// `url.<base>.insteadOf` and `pushInsteadOf` applied), or `None` when the repository has
/// no such remote. A remote with several push URLs pushes to every one of them.
pub fn remote_urls(sh: &Shell, remote: &str) -> Result<Option<RemoteUrls>> {
    let Some(fetch) = answer_if_success(cmd!(sh, "git remote get-url {remote}"))? else {
        return Ok(None);
    };
    let push = exec::ask_read(cmd!(sh, "git remote get-url --push --all {remote}"))
        .with_context(|| format!("git remote get-url --push {remote} failed"))?;
    Ok(Some(RemoteUrls {
        fetch,
        push: push.lines().map(str::to_string).collect(),
    }))
}

/// How `git tag` will sign an annotated tag, from the configuration it reads, and whether
/// the key it will use is there. Only asked when `tag.gpgSign` is on.
pub fn signing(sh: &Shell, identity: Option<&str>) -> Result<Signing> {
    let get = |key: &str| answer_if_success(cmd!(sh, "git config --get {key}"));
    let on = answer_if_success(cmd!(sh, "git config --type=bool --get tag.gpgSign"))?;
    if on.as_deref() != Some("true") {
        return Ok(Signing::Off);
    }
    let format = get("gpg.format")?.unwrap_or_else(|| "openpgp".to_string());
    let key = get("user.signingKey")?.filter(|k| !k.is_empty());
    let program = match get(&format!("gpg.{format}.program"))? {
        Some(program) => Some(program),
        None if format == "openpgp" => get("gpg.program")?,
        None => None,
    }
    .unwrap_or_else(|| plan::default_signing_program(&format).to_string());
    let usable = match format.as_str() {
        "openpgp" => {
            // gpg picks the key of the committer's email when user.signingKey is unset.
            let email = identity
                .and_then(|i| i.rsplit_once('<'))
                .map(|(_, e)| e.trim_end_matches('>').to_string());
            match key.clone().or(email) {
                None => Err("there is no key to sign with".to_string()),
                Some(_) if which::which(&program).is_err() => {
                    Err(format!("`{program}` (gpg.program) is not on PATH"))
                }
                Some(wanted) => {
                    let out =
                        exec::ask(cmd!(sh, "{program} --batch --list-secret-keys -- {wanted}"))?;
                    if out.status.success() {
                        Ok(format!("{program} has a secret key for {wanted}"))
                    } else {
                        Err(format!("{program} has no secret key for {wanted}"))
                    }
                }
            }
        }
        "ssh" => match (&key, get("gpg.ssh.defaultKeyCommand")?) {
            (Some(key), _) => Ok(format!("ssh key {key}")),
            (None, Some(command)) => Ok(format!("the ssh key `{command}` names")),
            (None, None) => Err("user.signingKey names no ssh key".to_string()),
        },
        _ => Ok(format!(
            "{program}, key {}",
            key.as_deref().unwrap_or("by default")
        )),
    };
    Ok(Signing::On {
        format,
        key,
        usable,
    })
}

/// Commits only in `left`, commits only in `right`.
pub fn ahead_behind(sh: &Shell, left: &str, right: &str) -> Result<(u32, u32)> {
    let range = format!("{left}...{right}");
    let out = exec::ask_read(cmd!(sh, "git rev-list --left-right --count {range}"))
        .with_context(|| format!("git rev-list --left-right --count {range} failed"))?;
    git::read_counts(&out)
        .with_context(|| format!("unexpected output of git rev-list --count: {out:?}"))
}

/// Asks `remote` for exactly these full ref names, tags with their peeled `^{}` line.
/// `Err` says why there is no answer (unreachable, timed out): never read it as "absent".
pub fn ls_remote(
    sh: &Shell,
    remote: &str,
    refs: &[String],
    timeout_secs: u64,
) -> Result<RemoteRefs, String> {
    let mut args = vec![remote.to_string()];
    args.extend(git::ls_remote_patterns(refs));
    ask_remote(sh, &args, timeout_secs)
}

/// Every tag of `remote` with its peeled `^{}` line: one round trip, however many tags.
pub fn ls_remote_tags(sh: &Shell, remote: &str, timeout_secs: u64) -> Result<RemoteRefs, String> {
    ask_remote(
        sh,
        &["--tags".to_string(), remote.to_string()],
        timeout_secs,
    )
}

fn ask_remote(sh: &Shell, args: &[String], timeout_secs: u64) -> Result<RemoteRefs, String> {
    let ls_remote = std::iter::once("ls-remote".to_string()).chain(args.iter().cloned());
    let out = ask(sh, &Invocation::new("git", ls_remote).timeout(timeout_secs))?;
    Ok(RemoteRefs::parse(&String::from_utf8_lossy(&out.stdout)))
}

/// Fetches one branch into its remote-tracking ref: `+refs/heads/B:refs/remotes/R/B`.
/// No tags, and no FETCH_HEAD: the only ref it may change is `tracking_ref`.
pub fn fetch_branch(
    sh: &Shell,
    remote: &str,
    remote_ref: &str,
    tracking_ref: &str,
    timeout_secs: u64,
) -> Result<(), String> {
    let refspec = format!("+{remote_ref}:{tracking_ref}");
    ask(sh, &plan::fetch_objects(remote, &refspec, timeout_secs)).map(drop)
}

/// Fetches the objects behind `refname` without creating or changing any ref.
pub fn fetch_objects(sh: &Shell, remote: &str, refname: &str, timeout_secs: u64) -> Result<()> {
    ask(sh, &plan::fetch_objects(remote, refname, timeout_secs))
        .map(drop)
        .map_err(|why| anyhow::anyhow!("git fetch {remote} {refname} failed: {why}"))
}

/// Runs a network command; `Err` says in one line why it gave no answer.
fn ask(sh: &Shell, cmd: &Invocation) -> Result<Output, String> {
    let out = exec::output(sh, cmd).map_err(|e| format!("{e:#}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(network_failure(&out, cmd.timeout_secs.unwrap_or_default()))
    }
}

/// Why a network command gave no answer, in one line.
pub fn network_failure(out: &Output, timeout_secs: u64) -> String {
    if exec::timed_out(out) {
        format!("no answer within {timeout_secs}s (RELEASE_GIT_TIMEOUT)")
    } else {
        git::error_summary(&String::from_utf8_lossy(&out.stderr))
    }
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_string()
}
