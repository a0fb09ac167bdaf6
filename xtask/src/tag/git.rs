//! Reading git's machine output: `git ls-remote`, `git push --porcelain`,
//! `git rev-list --left-right --count`, `git status --porcelain=v2` and the ref names of
//! `git rev-parse --symbolic --glob`.
//!
//! The shell layer runs the commands; this module turns their text into facts. Each format
//! is read strictly by full ref name, because git's own matching is looser than it looks:
//! `git ls-remote origin v1.0.0` also answers `refs/tags/foo/v1.0.0`.

/// A tag as some repository holds it: its own object, and the commit it peels to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagObject {
    /// The tag object of an annotated tag; the commit itself for a lightweight one.
    pub object: String,
    /// The commit the tag peels to (`refs/tags/X^{}`).
    pub commit: String,
}

/// `refs/tags/NAME`.
pub fn tag_ref(name: &str) -> String {
    format!("refs/tags/{name}")
}

/// A branch on a remote, and where this clone keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteBranch {
    /// `origin/main`, as people say it.
    pub display: String,
    /// The branch on the remote, `refs/heads/main`.
    pub remote_ref: String,
    /// Its remote-tracking ref in this clone, `refs/remotes/origin/main`.
    pub tracking_ref: String,
}

impl RemoteBranch {
    /// `branch` on `remote`, tracked where `git clone` and `git fetch` put it.
    pub fn new(remote: &str, branch: &str) -> RemoteBranch {
        RemoteBranch {
            display: format!("{remote}/{branch}"),
            remote_ref: format!("refs/heads/{branch}"),
            tracking_ref: format!("refs/remotes/{remote}/{branch}"),
        }
    }
}

/// The tag names in a list of full ref names, one a line (`git rev-parse --symbolic --glob`):
/// `refs/tags/v1.0.0` is `v1.0.0`, `refs/tags/foo/v1.0.0` is `foo/v1.0.0` (which the tag
/// grammar then rejects), and a line that names no tag is skipped.
pub fn read_tag_names(refnames: &str) -> Vec<String> {
    refnames
        .lines()
        .filter_map(|line| line.strip_prefix("refs/tags/"))
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

/// The arguments of `git ls-remote` that ask for exactly these refs: each full name, and for
/// tags also the peeled `^{}` line, which git prints only when asked for.
pub fn ls_remote_patterns(refs: &[String]) -> Vec<String> {
    refs.iter()
        .flat_map(|r| {
            let peeled = r.starts_with("refs/tags/").then(|| format!("{r}^{{}}"));
            std::iter::once(r.clone()).chain(peeled)
        })
        .collect()
}

/// The answer of `git ls-remote`: ref names with their objects, peeled lines included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteRefs {
    lines: Vec<(String, String)>,
}

impl RemoteRefs {
    /// Reads `<object>\t<refname>` lines; anything else is skipped.
    pub fn parse(text: &str) -> RemoteRefs {
        let lines = text
            .lines()
            .filter_map(|line| {
                let (object, name) = line.split_once('\t')?;
                let is_hex = object.len() >= 40 && object.chars().all(|c| c.is_ascii_hexdigit());
                is_hex.then(|| (name.to_string(), object.to_string()))
            })
            .collect();
        RemoteRefs { lines }
    }

    /// The object of exactly `name` (a full ref name), never of a ref that merely ends in it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, object)| object.as_str())
    }

    /// The names of every tag in the answer (`v1.2.3` for `refs/tags/v1.2.3`).
    pub fn tag_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|(name, _)| name.strip_prefix("refs/tags/"))
            .filter(|name| !name.ends_with("^{}"))
            .map(str::to_string)
            .collect()
    }

    /// The tag `refs/tags/NAME` with the commit it peels to.
    pub fn tag(&self, name: &str) -> Option<TagObject> {
        let full = tag_ref(name);
        let object = self.get(&full)?.to_string();
        let commit = self
            .get(&format!("{full}^{{}}"))
            .map_or_else(|| object.clone(), str::to_string);
        Some(TagObject { object, commit })
    }
}

/// What `git push --porcelain` said about the one ref it was asked to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushStatus {
    /// `*`: the ref was created.
    Created,
    /// `=`: the remote already had this very object.
    UpToDate,
    /// `!`: rejected, with git's summary (`[rejected] (already exists)`,
    /// `[remote rejected] (pre-receive hook declined)`).
    Rejected(String),
    /// Any other flag (`+` forced, ` ` fast-forward, `-` deleted): never expected for a new tag.
    Other(String),
    /// The ref is not in the output at all.
    Missing,
}

/// The ref lines of `git push --porcelain`, read for one ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The status of the ref that was pushed.
    pub status: PushStatus,
    /// Lines about any other ref: must be empty, since exactly one ref is pushed.
    pub other_refs: Vec<String>,
}

impl PushReport {
    /// Whether exactly `refs/tags/NAME` was created and nothing else changed.
    pub fn created_only_ours(&self) -> bool {
        self.status == PushStatus::Created && self.other_refs.is_empty()
    }
}

/// Reads `git push --porcelain` output: one `<flag>\t<from>:<to>\t<summary>` line per ref,
/// between a `To <url>` line and `Done`.
pub fn read_push(porcelain: &str, refname: &str) -> PushReport {
    let mut status = PushStatus::Missing;
    let mut other_refs = Vec::new();
    for line in porcelain.lines() {
        let mut fields = line.splitn(3, '\t');
        let (Some(flag), Some(refs), summary) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let to = refs.split_once(':').map_or(refs, |(_, to)| to);
        if to != refname {
            other_refs.push(line.to_string());
            continue;
        }
        let summary = summary.unwrap_or_default().to_string();
        status = match flag {
            "*" => PushStatus::Created,
            "=" => PushStatus::UpToDate,
            "!" => PushStatus::Rejected(summary),
            _ => PushStatus::Other(format!("{flag} {summary}")),
        };
    }
    PushReport { status, other_refs }
}

/// `git rev-list --left-right --count A...B`: commits only in A, commits only in B.
pub fn read_counts(text: &str) -> Option<(u32, u32)> {
    let mut fields = text.split_whitespace();
    let left = fields.next()?.parse().ok()?;
    let right = fields.next()?.parse().ok()?;
    fields.next().is_none().then_some((left, right))
}

/// What `git status --porcelain=v2 --ignore-submodules=none` found: changed files, and
/// submodules whose work tree differs from what the superproject records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkTree {
    /// Staged, unstaged and untracked entries, each shown as `git status --short` shows it
    /// (`" M src/main.rs"`, `"?? notes.txt"`); a dirty submodule is in `submodules` instead.
    pub entries: Vec<String>,
    pub submodules: Vec<DirtySubmodule>,
}

impl WorkTree {
    pub fn is_clean(&self) -> bool {
        self.entries.is_empty() && self.submodules.is_empty()
    }
}

/// A submodule whose checkout is not what the superproject records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirtySubmodule {
    pub path: String,
    /// Its HEAD is another commit than the recorded one.
    pub other_commit: bool,
    /// Its tracked files are modified (staged or not).
    pub modified: bool,
    pub untracked: bool,
}

/// Reads `git status --porcelain=v2`. Version 2 is the one that says how a submodule is
/// dirty (its `S<c><m><u>` field); version 1 prints ` M lib` for all three cases.
pub fn read_status(porcelain: &str) -> WorkTree {
    let mut tree = WorkTree::default();
    for line in porcelain.lines() {
        let fields: Vec<&str> = line.splitn(2, ' ').collect();
        let [kind, rest] = fields[..] else {
            continue;
        };
        let (xy, sub, path) = match kind {
            // `1 XY sub mH mI mW hH hI path`
            "1" => match rest.splitn(8, ' ').collect::<Vec<_>>()[..] {
                [xy, sub, _, _, _, _, _, path] => (xy, sub, path.to_string()),
                _ => continue,
            },
            // `2 XY sub mH mI mW hH hI Xscore path<TAB>origPath`
            "2" => match rest.splitn(9, ' ').collect::<Vec<_>>()[..] {
                [xy, sub, _, _, _, _, _, _, paths] => {
                    let (path, from) = paths.split_once('\t').unwrap_or((paths, ""));
                    (xy, sub, format!("{from} -> {path}"))
                }
                _ => continue,
            },
            // `u XY sub m1 m2 m3 mW h1 h2 h3 path`
            "u" => match rest.splitn(10, ' ').collect::<Vec<_>>()[..] {
                [xy, sub, _, _, _, _, _, _, _, path] => (xy, sub, path.to_string()),
                _ => continue,
            },
            "?" => {
                tree.entries.push(format!("?? {rest}"));
                continue;
            }
            _ => continue, // `#` headers, `!` ignored files
        };
        let flags: Vec<char> = sub.chars().collect();
        if let ['S', c, m, u] = flags[..]
            && (c == 'C' || m == 'M' || u == 'U')
        {
            tree.submodules.push(DirtySubmodule {
                path,
                other_commit: c == 'C',
                modified: m == 'M',
                untracked: u == 'U',
            });
            continue;
        }
        tree.entries
            .push(format!("{} {path}", xy.replace('.', " ")));
    }
    tree
}

/// The line of git's stderr worth showing: its first `fatal:` or `error:` message, else the
/// first non-empty line. Control characters are escaped and the length capped, so that a
/// remote's text cannot forge lines in a terminal or a CI log.
pub fn error_summary(stderr: &str) -> String {
    const MAX_CHARS: usize = 200;
    let lines = || stderr.lines().map(str::trim).filter(|l| !l.is_empty());
    let line = lines()
        .find_map(|l| l.strip_prefix("fatal: ").or(l.strip_prefix("error: ")))
        .or_else(|| lines().next())
        .unwrap_or("git gave no reason");
    let mut out = String::new();
    for (i, c) in line.chars().enumerate() {
        if i == MAX_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const C: &str = "3333333333333333333333333333333333333333";

    #[test]
    fn patterns_ask_for_full_names_and_peeled_tags() {
        assert_eq!(
            ls_remote_patterns(&["refs/heads/main".into(), "refs/tags/v1.0.0".into()]),
            ["refs/heads/main", "refs/tags/v1.0.0", "refs/tags/v1.0.0^{}"]
        );
    }

    #[test]
    fn tag_names_are_full_names_less_refs_tags() {
        let check = |listing: &str, expected: &[&str]| {
            assert_eq!(read_tag_names(listing), expected, "{listing:?}");
        };
        check("", &[]);
        check("refs/tags/v1.0.0\n", &["v1.0.0"]);
        check(
            "refs/tags/v1.0.0\nrefs/tags/v1.0.0-stable\nrefs/tags/foo/v9.9.9\n",
            &["v1.0.0", "v1.0.0-stable", "foo/v9.9.9"],
        );
        // Only the leading `refs/tags/` goes: a tag named `refs/tags/v1` is not `v1`.
        check("refs/tags/refs/tags/v1.0.0\n", &["refs/tags/v1.0.0"]);
        check("refs/heads/v1.0.0\nv1.0.0\nrefs/tags/\n", &[]);
    }

    #[track_caller]
    fn check_tag(ls_remote: &str, name: &str, expected: Option<(&str, &str)>) {
        let actual = RemoteRefs::parse(ls_remote).tag(name);
        let expected = expected.map(|(object, commit)| TagObject {
            object: object.into(),
            commit: commit.into(),
        });
        assert_eq!(actual, expected, "{ls_remote:?}");
    }

    #[test]
    fn ls_remote_reads_exact_names() {
        let annotated = format!("{A}\trefs/tags/v1.0.0\n{B}\trefs/tags/v1.0.0^{{}}\n");
        check_tag(&annotated, "v1.0.0", Some((A, B)));
        // Lightweight: no peeled line, the object is the commit.
        check_tag(&format!("{B}\trefs/tags/v1.0.0\n"), "v1.0.0", Some((B, B)));
        // Suffix matches of git's pattern are not our tag.
        check_tag(
            &format!("{A}\trefs/tags/foo/v1.0.0\n{B}\trefs/tags/foo/v1.0.0^{{}}\n"),
            "v1.0.0",
            None,
        );
        check_tag(
            &format!("{C}\trefs/tags/x/refs/tags/v1.0.0\n{annotated}"),
            "v1.0.0",
            Some((A, B)),
        );
        check_tag(&annotated, "v1.0.0-stable", None);
        check_tag("", "v1.0.0", None);
        check_tag("garbage\nwarning: x\n", "v1.0.0", None);
        assert_eq!(
            RemoteRefs::parse(&format!("{C}\trefs/heads/main\n")).get("refs/heads/main"),
            Some(C)
        );
    }

    #[track_caller]
    fn check_push(porcelain: &str, status: PushStatus, others: usize) {
        let report = read_push(porcelain, "refs/tags/v1.0.0");
        assert_eq!(report.status, status, "{porcelain:?}");
        assert_eq!(report.other_refs.len(), others, "{porcelain:?}");
    }

    #[test]
    fn push_porcelain() {
        let line = |flag: &str, summary: &str| {
            format!("To /r.git\n{flag}\trefs/tags/v1.0.0:refs/tags/v1.0.0\t{summary}\nDone\n")
        };
        check_push(&line("*", "[new tag]"), PushStatus::Created, 0);
        check_push(&line("=", "[up to date]"), PushStatus::UpToDate, 0);
        check_push(
            &line("!", "[rejected] (already exists)"),
            PushStatus::Rejected("[rejected] (already exists)".into()),
            0,
        );
        check_push(
            &line("!", "[remote rejected] (pre-receive hook declined)"),
            PushStatus::Rejected("[remote rejected] (pre-receive hook declined)".into()),
            0,
        );
        check_push(
            &line("+", "1111111...2222222 (forced update)"),
            PushStatus::Other("+ 1111111...2222222 (forced update)".into()),
            0,
        );
        check_push("", PushStatus::Missing, 0);
        check_push("To /r.git\nDone\n", PushStatus::Missing, 0);
        // push.followTags would show up as more lines: never "only ours".
        let followed = "To /r.git\n*\trefs/tags/v1.0.0:refs/tags/v1.0.0\t[new tag]\n\
                        *\trefs/tags/v0.9.0:refs/tags/v0.9.0\t[new tag]\nDone\n";
        check_push(followed, PushStatus::Created, 1);
        assert!(!read_push(followed, "refs/tags/v1.0.0").created_only_ours());
        assert!(read_push(&line("*", "[new tag]"), "refs/tags/v1.0.0").created_only_ours());
        // A nested ref with the same ending is another ref.
        check_push(
            "*\trefs/tags/foo/v1.0.0:refs/tags/foo/v1.0.0\t[new tag]\n",
            PushStatus::Missing,
            1,
        );
    }

    #[test]
    fn counts_and_status() {
        assert_eq!(read_counts("0\t0\n"), Some((0, 0)));
        assert_eq!(read_counts("2\t13"), Some((2, 13)));
        assert_eq!(read_counts("2"), None);
        assert_eq!(read_counts("a\tb"), None);
        assert_eq!(read_counts("1\t2\t3"), None);
        assert!(read_status("").is_clean());
    }

    #[test]
    fn status_v2_reads_as_short_entries_and_dirty_submodules() {
        const Z: &str = "0000000000000000000000000000000000000000";
        const H: &str = "869ca4b19b96f0cb175dd1a9fc665034924dfa77";
        let file =
            |xy: &str, path: &str| format!("1 {xy} N... 100644 100644 100644 {H} {H} {path}");
        let sub = |flags: &str| format!("1 .M {flags} 160000 160000 160000 {H} {H} lib");
        let dirty = |other_commit, modified, untracked| DirtySubmodule {
            path: "lib".into(),
            other_commit,
            modified,
            untracked,
        };
        let status = [
            file(".M", "src/main.rs"),
            format!("1 A. N... 000000 100644 100644 {Z} {H} new file.txt"),
            format!("2 R. N... 100644 100644 100644 {H} {H} R100 b.rs\ta.rs"),
            format!("u UU N... 100644 100644 100644 100644 {H} {H} {H} both.rs"),
            "? notes.txt".to_string(),
            "! target".to_string(),
            "# branch.oid x".to_string(),
            sub("SC.."),
            sub("S.M."),
            sub("S..U"),
            sub("SCMU"),
            // Staged in the superproject, clean inside: an ordinary change.
            format!("1 M. S... 160000 160000 160000 {H} {Z} lib"),
        ]
        .join("\n");
        let tree = read_status(&status);
        assert_eq!(
            tree.entries,
            [
                " M src/main.rs",
                "A  new file.txt",
                "R  a.rs -> b.rs",
                "UU both.rs",
                "?? notes.txt",
                "M  lib"
            ]
        );
        assert_eq!(
            tree.submodules,
            [
                dirty(true, false, false),
                dirty(false, true, false),
                dirty(false, false, true),
                dirty(true, true, true)
            ]
        );
        assert!(!tree.is_clean());
    }

    #[test]
    fn error_summaries() {
        let unreachable = "fatal: '/nope' does not appear to be a git repository\n\
                           fatal: Could not read from remote repository.\n\n\
                           Please make sure you have the correct access rights\n";
        assert_eq!(
            error_summary(unreachable),
            "'/nope' does not appear to be a git repository"
        );
        assert_eq!(
            error_summary("remote: hi\nerror: failed to push some refs to 'x'\n"),
            "failed to push some refs to 'x'"
        );
        assert_eq!(error_summary("\nssh: timeout\n"), "ssh: timeout");
        assert_eq!(error_summary(""), "git gave no reason");
        assert_eq!(error_summary("fatal: a\u{1b}[31m"), r"a\u{1b}[31m");
        assert_eq!(error_summary(&"x".repeat(300)).chars().count(), 201);
    }
}
