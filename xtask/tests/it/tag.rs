//! `release tag` against real git: a scratch clone, a bare `origin`, the built xtask.
//! Checked with git 2.47.

use crate::support::{Project, changed_lines, git};

/// Confirmed in advance, checks skipped: what most tests run.
fn tag(project: &Project, version: &str) -> crate::support::Run {
    project.xtask(&["release", "tag", version, "--yes", "--no-checks"])
}

#[track_caller]
fn assert_untouched(project: &Project, before: &crate::support::Snapshot) {
    assert_eq!(&project.snapshot(), before, "something changed");
}

#[test]
fn happy_path_pushes_one_annotated_tag_on_head() {
    let project = Project::new();
    let head = project.git(&["rev-parse", "HEAD"]);
    let before = project.remote_refs();
    let run = tag(&project, "1.0.0").success();
    assert!(
        run.stdout.contains("pushed v1.0.0 to origin: tag object "),
        "{run}"
    );
    assert!(run.stderr.contains("==> timeout --kill-after=5 60 git push --porcelain --no-follow-tags origin refs/tags/v1.0.0:refs/tags/v1.0.0\n    done in "), "{run}");

    // Exactly one remote ref changed: the tag (and its peeled line).
    assert_eq!(
        changed_lines(&before, &project.remote_refs()),
        ["refs/tags/v1.0.0", "refs/tags/v1.0.0^{}"]
    );
    assert_eq!(project.remote_git(&["cat-file", "-t", "v1.0.0"]), "tag");
    assert_eq!(
        project.remote_git(&["tag", "-l", "--format=%(contents:subject)", "v1.0.0"]),
        "Release v1.0.0"
    );
    assert_eq!(project.remote_git(&["rev-parse", "v1.0.0^{}"]), head);
    // The local tag is the very object that was pushed.
    assert_eq!(
        project.git(&["rev-parse", "v1.0.0"]),
        project.remote_git(&["rev-parse", "v1.0.0"])
    );
}

#[test]
fn rerun_is_a_noop() {
    let project = Project::new();
    tag(&project, "v1.0.0").success();
    let before = project.snapshot();
    let run = tag(&project, "1.0.0").success();
    assert!(
        run.stdout
            .contains("nothing to do: v1.0.0 is already on origin"),
        "{run}"
    );
    assert_untouched(&project, &before);
}

#[test]
fn existing_tag_on_another_commit_is_refused_naming_both() {
    let project = Project::new();
    let tagged = project.git(&["rev-parse", "HEAD"]);
    tag(&project, "1.0.0").success();
    let head = project.commit("more work");
    project.git(&["push", "--quiet", "origin", "main"]);
    let before = project.snapshot();
    let run = tag(&project, "1.0.0").failure();
    assert!(
        run.stderr.contains(&format!(
            "v1.0.0 already exists on origin, on commit {tagged}, not on HEAD ({head})"
        )),
        "{run}"
    );
    assert_untouched(&project, &before);
}

#[test]
fn local_only_tag_is_refused_with_the_fix() {
    let project = Project::new();
    project.git(&["tag", "-a", "v1.0.0", "-m", "by hand"]);
    let before = project.snapshot();
    tag(&project, "1.0.0")
        .failure()
        .stderr_has("v1.0.0 exists in this clone (on HEAD) but not on origin: delete it with `git tag -d v1.0.0`");
    assert_untouched(&project, &before);
}

#[test]
fn modified_file_is_refused() {
    let project = Project::new();
    project.write("charts/llm-proxy/ci/default-values.yaml", "changed: true\n");
    let before = project.snapshot();
    tag(&project, "1.0.0").failure().stderr_has(
        r#"the working tree is not clean (" M charts/llm-proxy/ci/default-values.yaml")"#,
    );
    assert_untouched(&project, &before);
}

#[test]
fn staged_file_is_refused() {
    let project = Project::new();
    project.write("new.txt", "x\n");
    project.git(&["add", "new.txt"]);
    tag(&project, "1.0.0")
        .failure()
        .stderr_has(r#"the working tree is not clean ("A  new.txt")"#);
}

#[test]
fn untracked_file_is_refused_but_ignored_ones_are_fine() {
    let project = Project::new();
    project.write("target/debug/ignored", "x\n");
    project.write("notes.txt", "x\n");
    let before = project.snapshot();
    let run = tag(&project, "1.0.0").failure();
    assert!(run.stderr.contains(r#"("?? notes.txt")"#), "{run}");
    assert!(!run.stderr.contains("target"), "{run}");
    assert_untouched(&project, &before);
    std::fs::remove_file(project.work.join("notes.txt")).unwrap();
    tag(&project, "1.0.0").success();
}

#[test]
fn detached_head_is_refused() {
    let project = Project::new();
    let head = project.git(&["rev-parse", "HEAD"]);
    project.git(&["checkout", "--quiet", "--detach"]);
    tag(&project, "1.0.0").failure().stderr_has(&format!(
        "HEAD is detached (at {head}): check out a branch with `git checkout main`"
    ));
}

#[test]
fn wrong_branch_is_refused() {
    let project = Project::new();
    project.git(&["checkout", "--quiet", "-b", "feature"]);
    let before = project.snapshot();
    tag(&project, "1.0.0").failure().stderr_has(
        "HEAD is on branch feature, not main: run `git checkout main`, or pass --allow-older",
    );
    assert_untouched(&project, &before);
}

/// Pushes one more commit to origin's main from another clone.
fn advance_remote(project: &Project) -> String {
    let other = project.clone_remote("other", &[]);
    git(
        &other,
        &["commit", "--quiet", "--allow-empty", "-m", "elsewhere"],
    );
    git(&other, &["push", "--quiet", "origin", "main"]);
    git(&other, &["rev-parse", "HEAD"])
}

#[test]
fn behind_is_refused_after_fetching_only_the_tracking_ref() {
    let project = Project::new();
    let remote_head = advance_remote(&project);
    let before = project.snapshot();
    let run = project
        .xtask(&["release", "tag", "1.0.0", "--dry-run", "--no-checks"])
        .failure();
    assert!(
        run.stderr
            .contains("HEAD is 1 commit behind origin/main: run `git pull --ff-only`"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("the preflight fetched refs/remotes/origin/main, a remote-tracking ref"),
        "{run}"
    );
    // The fetch moved the remote-tracking ref and nothing else.
    let after = project.snapshot();
    assert_eq!(
        (&after.remote, &after.status),
        (&before.remote, &before.status)
    );
    assert_eq!(
        changed_lines(&before.local_refs, &after.local_refs),
        ["refs/remotes/origin/main", "-refs/remotes/origin/main"]
    );
    assert_eq!(project.git(&["rev-parse", "origin/main"]), remote_head);
    assert!(!project.work.join(".git/FETCH_HEAD").exists());
}

#[test]
fn ahead_is_refused() {
    let project = Project::new();
    project.commit("not pushed");
    tag(&project, "1.0.0").failure().stderr_has(
        "HEAD is 1 commit ahead of origin/main: push first with `git push origin main`",
    );
}

#[test]
fn diverged_is_refused() {
    let project = Project::new();
    advance_remote(&project);
    project.commit("local work");
    project.commit("more local work");
    let before_remote = project.remote_refs();
    tag(&project, "1.0.0").failure().stderr_has(
        "HEAD and origin/main have diverged (2 commits only here, 1 commit only there): reconcile them",
    );
    assert_eq!(project.remote_refs(), before_remote);
}

#[test]
fn shallow_clone_is_refused() {
    let project = Project::new();
    project.commit("second");
    project.git(&["push", "--quiet", "origin", "main"]);
    let shallow = project.clone_remote("shallow", &["--depth", "1"]);
    let run = crate::support::xtask_in(
        &shallow,
        &["release", "tag", "1.0.0", "--yes", "--no-checks"],
        &[],
    )
    .failure();
    assert!(
        run.stderr
            .contains("this clone is shallow: run `git fetch --unshallow origin`"),
        "{run}"
    );
    assert_eq!(git(&shallow, &["tag"]), "");
}

#[test]
fn missing_remote_is_refused() {
    let project = Project::new();
    let before = project.snapshot();
    project
        .xtask(&["release", "tag", "1.0.0", "--yes", "--no-checks", "--remote", "upstream"])
        .failure()
        .stderr_has("this repository has no remote named upstream: add it with `git remote add upstream URL`");
    assert_untouched(&project, &before);
}

#[test]
fn unreachable_remote_is_refused() {
    let project = Project::new();
    let missing = project.tmp.path().join("does-not-exist.git");
    project.git(&["remote", "set-url", "origin", missing.to_str().unwrap()]);
    let before = project.snapshot();
    let run = tag(&project, "1.0.0").failure();
    assert!(
        run.stderr.contains(&format!(
            "cannot reach remote origin ({}): '{}' does not appear to be a git repository",
            missing.display(),
            missing.display()
        )),
        "{run}"
    );
    assert_untouched(&project, &before);
}

#[test]
fn remote_option_is_validated() {
    let project = Project::new();
    project
        .xtask(&[
            "release",
            "tag",
            "1.0.0",
            "--dry-run",
            "--remote=-oProxyCommand=x",
        ])
        .usage_error()
        .stderr_has(r#"--remote "-oProxyCommand=x" is invalid"#);
}

#[test]
fn remote_option_overrides_the_configured_one() {
    let project = Project::new();
    let upstream = project.bare_copy("upstream");
    project.git(&["remote", "add", "upstream", upstream.to_str().unwrap()]);
    project
        .xtask(&[
            "release",
            "tag",
            "1.0.0",
            "--yes",
            "--no-checks",
            "--remote",
            "upstream",
        ])
        .success()
        .stdout_has("pushed v1.0.0 to upstream");
    assert_eq!(git(&upstream, &["tag"]), "v1.0.0");
    assert_eq!(project.remote_git(&["tag"]), "");
}

#[test]
fn follow_tags_config_pushes_no_other_tag() {
    let project = Project::new();
    project.git(&["config", "push.followTags", "true"]);
    project.git(&["tag", "-a", "v0.9.0", "-m", "never pushed"]);
    project.git(&["tag", "-a", "notes", "-m", "never pushed either"]);
    let before = project.remote_refs();
    tag(&project, "1.0.0").success();
    assert_eq!(
        changed_lines(&before, &project.remote_refs()),
        ["refs/tags/v1.0.0", "refs/tags/v1.0.0^{}"]
    );
}

#[test]
fn several_problems_are_reported_at_once() {
    let project = Project::new();
    project.git(&["checkout", "--quiet", "-b", "feature"]);
    project.write("notes.txt", "x\n");
    project.git(&["tag", "v2.0.0"]);
    let run = tag(&project, "1.0.0").failure();
    assert!(
        run.stderr
            .contains("release tag v1.0.0 refused, 3 problems to fix first:"),
        "{run}"
    );
    for problem in [
        "  - HEAD is on branch feature, not main",
        "  - the working tree is not clean",
        "  - v1.0.0 is not above v2.0.0, the highest version tag",
    ] {
        assert!(run.stderr.contains(problem), "{problem}:\n{run}");
    }
    // The plan on stdout counts the problems; it does not repeat them.
    assert!(
        run.stdout
            .contains("\n  FAIL  3 problems, given with their fixes on stderr\n"),
        "{run}"
    );
}

/// Issue 18, rough edge 6: a refusal printed each problem twice, as a FAIL line of the plan
/// on stdout and again in the error on stderr. Each is said once, on stderr, which reaches
/// the terminal even when the plan is piped to a file.
#[test]
fn each_problem_of_a_refusal_is_said_once() {
    let project = Project::new();
    project.git(&["checkout", "--quiet", "-b", "feature"]);
    project.write("notes.txt", "x\n");
    project.git(&["tag", "v2.0.0"]);
    for args in [&["--dry-run"][..], &["--yes"]] {
        let mut all = vec!["release", "tag", "1.0.0"];
        all.extend(args);
        let run = project.xtask(&all).failure();
        let both = format!("{}{}", run.stdout, run.stderr);
        let problems: Vec<&str> = run
            .stderr
            .lines()
            .filter_map(|l| l.strip_prefix("  - "))
            .collect();
        assert_eq!(problems.len(), 3, "{run}");
        for problem in problems {
            assert_eq!(both.matches(problem).count(), 1, "{problem}:\n{run}");
        }
    }
}

#[test]
fn invalid_and_stable_versions_get_the_grammar_error() {
    let project = Project::new();
    let before = project.snapshot();
    for bad in ["1.2", "v1.0.0-stable", "1.0.0-rc1", "01.0.0", "latest"] {
        let run = tag(&project, bad).usage_error();
        assert!(run.stderr.contains("accepted forms"), "{bad}: {run}");
        assert_eq!(run.stdout, "", "{bad}");
    }
    tag(&project, "v1.0.0-stable")
        .usage_error()
        .stderr_has("this is the stable tag of 1.0.0: give the version itself, 1.0.0");
    assert_untouched(&project, &before);
}

#[test]
fn usage_errors_exit_2() {
    let project = Project::new();
    assert_eq!(project.xtask(&["release", "tag"]).code, 2);
    assert_eq!(
        project.xtask(&["release", "tag", "1.0.0", "--bogus"]).code,
        2
    );
}

#[test]
fn dry_run_changes_nothing() {
    let project = Project::new();
    let head = project.git(&["rev-parse", "HEAD"]);
    let before = project.snapshot();
    let run = project
        .xtask(&["release", "tag", "1.0.0", "--dry-run"])
        .success();
    assert_untouched(&project, &before);
    assert!(
        run.stdout.contains(&format!(
            "steps:\n  1. cargo xtask ci  (the project's checks)\n  2. git tag -a v1.0.0 -m 'Release v1.0.0' {head}\n  3. timeout --kill-after=5 60 git push --porcelain --no-follow-tags origin refs/tags/v1.0.0:refs/tags/v1.0.0\n"
        )),
        "{run}"
    );
    assert!(
        run.stdout.ends_with("dry run: nothing was changed\n"),
        "{run}"
    );
}

#[test]
fn without_a_terminal_or_yes_it_refuses() {
    let project = Project::new();
    let before = project.snapshot();
    project
        .xtask(&["release", "tag", "1.0.0", "--no-checks"])
        .failure()
        .stderr_has("needs confirmation and there is no terminal to ask on, so nothing was changed: re-run with --yes");
    assert_untouched(&project, &before);
}

#[test]
fn tags_that_only_end_like_versions_are_not_versions() {
    // The tag named `refs/tags/v9.9.9` (ref refs/tags/refs/tags/v9.9.9) was once taken for
    // v9.9.9, which made every release a backport.
    let project = Project::new();
    project.git(&["tag", "refs/tags/v9.9.9"]);
    project.git(&["tag", "-a", "foo/v9.9.9", "-m", "not a release"]);
    project
        .xtask(&["release", "tag", "1.0.0", "--dry-run", "--no-checks"])
        .success()
        .stdout_has("v1.0.0 is the first version tag");
}

#[test]
fn backport_needs_allow_older_from_a_branch_equal_to_its_upstream() {
    let project = Project::new();
    tag(&project, "1.0.0").success();
    project.commit("feature for 1.1");
    project.git(&["push", "--quiet", "origin", "main"]);
    tag(&project, "1.1.0").success();
    project.git(&["checkout", "--quiet", "-b", "release-1.0", "v1.0.0"]);
    let fix = project.commit("fix for 1.0");
    project.git(&["push", "--quiet", "-u", "origin", "release-1.0"]);

    let run = tag(&project, "1.0.1").failure();
    assert!(
        run.stderr
            .contains("HEAD is on branch release-1.0, not main"),
        "{run}"
    );
    assert!(run.stderr.contains("v1.0.1 is not above v1.1.0"), "{run}");

    project
        .xtask(&[
            "release",
            "tag",
            "1.0.1",
            "--yes",
            "--no-checks",
            "--allow-older",
        ])
        .success()
        .stdout_has("ok    HEAD equals origin/release-1.0");
    assert_eq!(project.remote_git(&["rev-parse", "v1.0.1^{}"]), fix);
}

#[test]
fn rejected_push_leaves_no_local_tag() {
    let project = Project::new();
    project.remote_hook(
        "pre-receive",
        "#!/bin/sh\necho 'tags are frozen today' >&2\nexit 1\n",
    );
    let before = project.snapshot();
    let run = tag(&project, "1.0.0").failure();
    assert!(run.stderr.contains("tags are frozen today"), "{run}");
    assert!(
        run.stderr.contains(
            "the push was refused: [remote rejected] (pre-receive hook declined), and v1.0.0 is not on origin; the local tag this run created was deleted, so a re-run starts clean"
        ),
        "{run}"
    );
    assert_untouched(&project, &before);
}

#[test]
fn timed_out_push_is_rechecked_with_ls_remote() {
    let project = Project::new();
    // The ref is updated before post-receive runs: the push hangs, yet the tag arrived.
    project.remote_hook("post-receive", "#!/bin/sh\nsleep 20\n");
    let run = project
        .xtask_env(
            &["release", "tag", "1.0.0", "--yes", "--no-checks"],
            &[("RELEASE_GIT_TIMEOUT", "1")],
        )
        .success();
    assert!(
        run.stdout.contains(
            "(the push gave no answer within 1s, but git ls-remote shows the tag arrived)"
        ),
        "{run}"
    );
    assert_eq!(
        project.git(&["rev-parse", "v1.0.0"]),
        project.remote_git(&["rev-parse", "v1.0.0"])
    );
}

#[test]
fn timed_out_push_that_did_not_arrive_cleans_up() {
    let project = Project::new();
    project.remote_hook("pre-receive", "#!/bin/sh\nsleep 20\n");
    let before = project.snapshot();
    project
        .xtask_env(
            &["release", "tag", "1.0.0", "--yes", "--no-checks"],
            &[("RELEASE_GIT_TIMEOUT", "1")],
        )
        .failure()
        .stderr_has("the push gave no answer within 1s, and v1.0.0 is not on origin; the local tag this run created was deleted");
    assert_untouched(&project, &before);
}

/// Makes the project a workspace with one member crate whose `lib.rs` is `source`, so that
/// `cargo xtask ci` has something to check, and pushes it.
fn with_member_crate(project: &Project, source: &str) {
    let manifest = project
        .read("Cargo.toml")
        .replace("members = []", "members = [\"member\"]");
    project.write("Cargo.toml", &manifest);
    project.write(
        "member/Cargo.toml",
        "[package]\nname = \"member\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    );
    project.write("member/src/lib.rs", source);
    // The checks run with --locked.
    project.write(
        "Cargo.lock",
        "version = 4\n\n[[package]]\nname = \"member\"\nversion = \"0.1.0\"\n",
    );
    project.commit("a member crate");
    project.git(&["push", "--quiet", "origin", "main"]);
}

#[test]
fn failing_checks_block_the_tag() {
    let project = Project::new();
    // A crate that `cargo fmt --check` rejects: the first check fails fast.
    with_member_crate(&project, "pub fn  badly_formatted( ) {}\n");
    let before = project.snapshot();
    let run = project
        .xtask(&["release", "tag", "1.0.0", "--yes"])
        .failure();
    assert!(run.stderr.contains("==> cargo fmt --check\n"), "{run}");
    assert!(
        run.stderr
            .contains("the project's checks failed, so nothing was tagged"),
        "{run}"
    );
    assert_untouched(&project, &before);
}

#[test]
fn passing_checks_report_on_stderr_only() {
    // `ci: all checks passed` once landed on stdout, between the plan and the push report.
    let project = Project::new();
    with_member_crate(&project, "pub fn well_formatted() {}\n");
    let run = project
        .xtask(&["release", "tag", "1.0.0", "--yes"])
        .success();
    assert!(run.stderr.contains("ci: all checks passed\n"), "{run}");
    assert!(!run.stdout.contains("ci:"), "{run}");
    assert!(
        run.stdout.contains("pushed v1.0.0 to origin: tag object "),
        "{run}"
    );
}

#[test]
fn missing_tools_are_named_before_anything_else() {
    let project = Project::new();
    // A PATH with git and nothing else: no cargo, no coreutils `timeout`, no `kill`.
    let bin = project.tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let git_path = which::which("git").unwrap();
    std::os::unix::fs::symlink(git_path, bin.join("git")).unwrap();
    let before = project.snapshot();
    let run = project
        .xtask_env(
            &["release", "tag", "1.0.0", "--dry-run"],
            &[("PATH", bin.to_str().unwrap())],
        )
        .failure();
    assert!(run.stderr.contains("3 problems to fix first"), "{run}");
    assert!(
        run.stderr
            .contains("`kill` not found on PATH: install procps"),
        "{run}"
    );
    assert!(run.stderr.contains("`cargo` not found on PATH"), "{run}");
    assert!(
        run.stderr
            .contains("`timeout` not found on PATH: install GNU coreutils"),
        "{run}"
    );
    // Not asked is not unreachable.
    assert!(!run.stderr.contains("cannot reach"), "{run}");
    assert_eq!(project.snapshot(), before);
}
