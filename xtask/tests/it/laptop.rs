//! `release tag` and `release promote` on developer setups beyond a plain clone: a separate
//! push URL (a fork in a triangular setup, or `url.<base>.pushInsteadOf`), submodules hidden
//! by the user's ignore settings, and tag signing. Real git, hermetic. Checked with git 2.47;
//! signing with a real GnuPG key is `real::signing`.

use std::path::{Path, PathBuf};

use crate::support::{Project, Run, git};

/// `release tag 1.0.0`, confirmed, without the checks (also `real::signing`'s).
pub(crate) fn tag(project: &Project, env: &[(&str, &str)]) -> Run {
    project.xtask_env(&["release", "tag", "1.0.0", "--yes", "--no-checks"], env)
}

fn refs_of(repository: &Path) -> String {
    git(repository, &["for-each-ref"])
}

#[track_caller]
fn refused_with_both_urls(project: &Project, run: Run, push_url: &str) {
    let remote = project.remote.display().to_string();
    let run = run.failure().stderr_has(&format!(
        "origin pushes to {push_url} but fetches from {remote}: the release tag must reach the repository CI runs on"
    ));
    assert!(
        run.stdout.contains(&format!(
            "  remote: origin (fetch {remote}, push {push_url})\n"
        )),
        "{run}"
    );
    assert!(run.stderr.contains("with --remote"), "{run}");
}

#[test]
fn a_fork_as_push_url_is_refused_and_nothing_is_written_anywhere() {
    let project = Project::new();
    let fork = project.bare_copy("fork");
    let fork_url = fork.display().to_string();
    project.git(&["remote", "set-url", "--push", "origin", &fork_url]);
    let (before, before_fork) = (project.snapshot(), refs_of(&fork));
    refused_with_both_urls(&project, tag(&project, &[]), &fork_url);
    assert_eq!(project.snapshot(), before);
    assert_eq!(refs_of(&fork), before_fork);

    // Promote the same way: once v1.0.0 is there, the stable tag goes nowhere either.
    project.git(&["config", "--unset-all", "remote.origin.pushurl"]);
    tag(&project, &[]).success();
    project.git(&["remote", "set-url", "--push", "origin", &fork_url]);
    let (before, before_fork) = (project.snapshot(), refs_of(&fork));
    let run = project.xtask(&["release", "promote", "1.0.0", "--yes", "--no-verify"]);
    refused_with_both_urls(&project, run, &fork_url);
    assert_eq!(project.snapshot(), before);
    assert_eq!(refs_of(&fork), before_fork);
}

#[test]
fn push_instead_of_is_refused_and_nothing_is_written_anywhere() {
    let project = Project::new();
    let fork = project.bare_copy("fork");
    let fork_url = fork.display().to_string();
    let key = format!("url.{fork_url}.pushInsteadOf");
    project.git(&["config", &key, project.remote.to_str().unwrap()]);
    let (before, before_fork) = (project.snapshot(), refs_of(&fork));
    refused_with_both_urls(&project, tag(&project, &[]), &fork_url);
    assert_eq!(project.snapshot(), before);
    assert_eq!(refs_of(&fork), before_fork);
}

/// A project whose `lib/` is a submodule, committed and pushed.
fn with_submodule() -> Project {
    let project = Project::new();
    let upstream = project.tmp.path().join("lib-upstream");
    git(
        project.tmp.path(),
        &["init", "--quiet", "--initial-branch=main", "lib-upstream"],
    );
    git(
        &upstream,
        &["commit", "--quiet", "--allow-empty", "-m", "one"],
    );
    git(
        &upstream,
        &["commit", "--quiet", "--allow-empty", "-m", "two"],
    );
    project.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "--quiet",
        upstream.to_str().unwrap(),
        "lib",
    ]);
    project.commit("add lib");
    project.git(&["push", "--quiet", "origin", "main"]);
    project
}

#[test]
fn a_dirty_submodule_hidden_by_the_users_settings_is_refused() {
    let project = with_submodule();
    // The settings that hid it: status would say the tree is clean.
    project.git(&["config", "diff.ignoreSubmodules", "all"]);
    project.git(&["config", "submodule.lib.ignore", "all"]);
    project.write("lib/new.txt", "x\n");
    git(&project.work.join("lib"), &["add", "new.txt"]);
    assert_eq!(project.git(&["status", "--porcelain"]), "");
    let before = project.snapshot();
    tag(&project, &[]).failure().stderr_has(
        "submodule \"lib\" is not clean (has modified content): commit, stash or remove the changes inside it (`git -C \"lib\" status` lists them)",
    );
    assert_eq!(project.snapshot(), before);
}

#[test]
fn a_submodule_at_another_commit_is_refused_with_the_fix() {
    let project = with_submodule();
    git(
        &project.work.join("lib"),
        &["checkout", "--quiet", "HEAD~1"],
    );
    let before = project.snapshot();
    tag(&project, &[]).failure().stderr_has(
        "submodule \"lib\" is not clean (checked out at another commit than the one recorded): check out the recorded commit with `git submodule update -- \"lib\"`",
    );
    assert_eq!(project.snapshot(), before);
    // The fix it names works.
    project.git(&["submodule", "--quiet", "update", "--", "lib"]);
    tag(&project, &[]).success();
}

/// `gpg.program` as a stand-in that answers like gpg without the key (exit 2), so that this
/// test needs no GnuPG: the preflight only asks it whether the key is there.
fn without_a_key(project: &Project) -> PathBuf {
    let gpg = project.tmp.path().join("bin/gpg");
    std::fs::create_dir_all(gpg.parent().unwrap()).unwrap();
    std::fs::write(
        &gpg,
        "#!/bin/sh\necho 'gpg: error reading key: No secret key' >&2\nexit 2\n",
    )
    .unwrap();
    std::fs::set_permissions(&gpg, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    project.git(&["config", "gpg.program", gpg.to_str().unwrap()]);
    gpg
}

#[test]
fn signing_without_a_key_is_refused_with_both_ways_out() {
    let project = Project::new();
    project.git(&["config", "tag.gpgSign", "true"]);
    let gpg = without_a_key(&project);
    let before = project.snapshot();
    let run = tag(&project, &[]).failure();
    assert!(
        run.stderr.contains(
            &format!("tag.gpgSign is on, but {} has no secret key for tester@example.invalid: create or import a key for your committer email", gpg.display())
        ),
        "{run}"
    );
    assert!(
        run.stderr
            .contains("or re-run with --no-sign to create this tag unsigned"),
        "{run}"
    );
    assert_eq!(project.snapshot(), before);

    // --no-sign: unsigned, and the plan says so.
    let run = project
        .xtask(&[
            "release",
            "tag",
            "1.0.0",
            "--yes",
            "--no-checks",
            "--no-sign",
        ])
        .success()
        .stdout_has("the tag will not be signed (--no-sign), although tag.gpgSign is on")
        .stdout_has("git tag -a --no-sign v1.0.0");
    let object = project.remote_git(&["cat-file", "-p", "v1.0.0"]);
    assert!(!object.contains("BEGIN PGP SIGNATURE"), "{run}\n{object}");
}
