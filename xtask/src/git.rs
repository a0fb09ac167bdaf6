//! Reading git: one `cmd!` per question, answers parsed into plain data for the core.
//!
//! Nothing here writes. Commands that create or push tags live with the command that
//! owns them (`release::tag`, `release::promote`).

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// A tag as the repository holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRef {
    pub name: String,
    /// The tag's own object (the tag object for an annotated tag).
    pub object: String,
    /// The commit it peels to.
    pub commit: String,
}

/// Every local tag with its object and peeled commit, in one call (fast with 10,000 tags).
pub fn tags(sh: &Shell) -> Result<Vec<TagRef>> {
    // Ref names cannot contain tabs or newlines, so they separate fields safely.
    let format = "%(refname:strip=2)%09%(objectname)%09%(*objectname)";
    let out = cmd!(sh, "git for-each-ref --format={format} refs/tags")
        .quiet()
        .read()
        .context("git for-each-ref failed")?;
    Ok(out
        .lines()
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
        .collect())
}

/// The commit `rev` names, or `None` when it does not exist.
pub fn commit_of(sh: &Shell, rev: &str) -> Result<Option<String>> {
    let spec = format!("{rev}^{{commit}}");
    let out = cmd!(sh, "git rev-parse --verify --quiet --end-of-options {spec}")
        .quiet()
        .ignore_status()
        .output()?;
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
    let out = cmd!(sh, "git show --no-patch --format=%ct {commit}")
        .quiet()
        .read()
        .with_context(|| format!("cannot read the time of commit {commit}"))?;
    out.trim()
        .parse()
        .with_context(|| format!("git printed {out:?} as the time of {commit}"))
}

/// Whether `commit` is an ancestor of (or equal to) `of`.
pub fn is_ancestor(sh: &Shell, commit: &str, of: &str) -> Result<bool> {
    let out = cmd!(sh, "git merge-base --is-ancestor {commit} {of}")
        .quiet()
        .ignore_status()
        .output()?;
    match out.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => bail!(
            "git merge-base --is-ancestor {commit} {of} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
    }
}
