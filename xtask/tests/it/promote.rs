//! `release promote` against real git: the stable tag lands on the version tag's commit as
//! the remote has it, whatever is checked out. Checked with git 2.47.

use crate::support::{Project, Run, changed_lines, git, spawn_xtask, wait, xtask_in};

/// Promotes without the artifact gate: these tests are about git, and the gate would ask the
/// configured registries (the gate has its own tests here and against a real registry).
fn promote(project: &Project, version: &str) -> Run {
    project.xtask(&["release", "promote", version, "--yes", "--no-verify"])
}

/// Tags and pushes `version` on HEAD with the tool itself.
fn released(project: &Project, version: &str) -> String {
    project
        .xtask(&["release", "tag", version, "--yes", "--no-checks"])
        .success();
    project.git(&["rev-parse", "HEAD"])
}

#[test]
fn happy_path_tags_the_peeled_commit() {
    let project = Project::new();
    let commit = released(&project, "1.0.0");
    let before = project.remote_refs();
    let run = promote(&project, "1.0.0").success();
    assert!(
        run.stdout.contains("pushed v1.0.0-stable to origin"),
        "{run}"
    );
    assert_eq!(
        changed_lines(&before, &project.remote_refs()),
        ["refs/tags/v1.0.0-stable", "refs/tags/v1.0.0-stable^{}"]
    );
    assert_eq!(
        project.remote_git(&["cat-file", "-t", "v1.0.0-stable"]),
        "tag"
    );
    assert_eq!(
        project.remote_git(&["tag", "-l", "--format=%(contents:subject)", "v1.0.0-stable"]),
        "Stable release v1.0.0"
    );
    assert_eq!(
        project.remote_git(&["rev-parse", "v1.0.0-stable^{}"]),
        project.remote_git(&["rev-parse", "v1.0.0^{}"])
    );
    // A tag of the commit, not a tag of the version tag.
    let object = project.remote_git(&["cat-file", "-p", "v1.0.0-stable"]);
    assert!(
        object.starts_with(&format!(
            "object {commit}\ntype commit\ntag v1.0.0-stable\n"
        )),
        "{object}"
    );
}

#[test]
fn checkout_does_not_matter() {
    let project = Project::new();
    let commit = released(&project, "1.0.0");
    project.git(&["checkout", "--quiet", "-b", "elsewhere"]);
    project.commit("unrelated work");
    project.write("notes.txt", "dirty\n");
    promote(&project, "v1.0.0").success();
    assert_eq!(
        project.remote_git(&["rev-parse", "v1.0.0-stable^{}"]),
        commit
    );
}

#[test]
fn rerun_is_a_noop() {
    let project = Project::new();
    released(&project, "1.0.0");
    promote(&project, "1.0.0").success();
    let before = project.snapshot();
    promote(&project, "1.0.0")
        .success()
        .stdout_has("already promoted: v1.0.0-stable is on origin");
    assert_eq!(project.snapshot(), before);
}

#[test]
fn stable_tag_on_another_commit_is_refused_naming_both() {
    let project = Project::new();
    let wrong = project.git(&["rev-parse", "HEAD"]);
    project.git(&["tag", "-a", "v1.0.0-stable", "-m", "mistake"]);
    project.git(&["push", "--quiet", "origin", "refs/tags/v1.0.0-stable"]);
    project.commit("the release");
    project.git(&["push", "--quiet", "origin", "main"]);
    let commit = released(&project, "1.0.0");
    let before = project.snapshot();
    let run = promote(&project, "1.0.0").failure();
    assert!(
        run.stderr.contains(&format!(
            "v1.0.0-stable already exists on origin, on commit {wrong}, not on {commit} (the commit of v1.0.0)"
        )),
        "{run}"
    );
    assert_eq!(project.snapshot(), before);
}

#[test]
fn version_tag_missing_remotely_is_refused() {
    let project = Project::new();
    let before = project.snapshot();
    promote(&project, "1.0.0").failure().stderr_has(
        "v1.0.0 is not on origin: create it with `cargo xtask release tag 1.0.0` and let CI publish it",
    );
    assert_eq!(project.snapshot(), before);
}

#[test]
fn version_tag_only_local_is_refused() {
    let project = Project::new();
    project.git(&["tag", "-a", "v1.0.0", "-m", "Release v1.0.0"]);
    let before = project.snapshot();
    promote(&project, "1.0.0")
        .failure()
        .stderr_has("v1.0.0 is not on origin: it exists only in this clone (on ");
    assert_eq!(project.snapshot(), before);
}

#[test]
fn local_version_tag_elsewhere_than_remote_is_refused() {
    let project = Project::new();
    let remote_commit = released(&project, "1.0.0");
    project.git(&["tag", "-d", "v1.0.0"]);
    let local_commit = project.commit("other commit");
    project.git(&["tag", "-a", "v1.0.0", "-m", "Release v1.0.0"]);
    let before = project.snapshot();
    promote(&project, "1.0.0").failure().stderr_has(&format!(
        "the local v1.0.0 is on commit {local_commit} but origin's is on {remote_commit}: the remote is authoritative"
    ));
    assert_eq!(project.snapshot(), before);
}

#[test]
fn a_nested_tag_with_the_same_ending_is_not_the_version() {
    let project = Project::new();
    project.git(&["tag", "-a", "foo/v1.0.0", "-m", "not a release"]);
    project.git(&["push", "--quiet", "origin", "refs/tags/foo/v1.0.0"]);
    project.git(&["tag", "-d", "foo/v1.0.0"]);
    promote(&project, "1.0.0")
        .failure()
        .stderr_has("v1.0.0 is not on origin");
}

#[test]
fn unreachable_remote_fails_closed() {
    let project = Project::new();
    released(&project, "1.0.0");
    project.git(&["remote", "set-url", "origin", "/nonexistent/remote.git"]);
    let before = project.snapshot();
    let run = promote(&project, "1.0.0").failure();
    assert!(
        run.stderr
            .contains("cannot reach remote origin (/nonexistent/remote.git)"),
        "{run}"
    );
    assert!(!run.stderr.contains("is not on origin"), "{run}");
    assert_eq!(project.snapshot(), before);
}

#[test]
fn a_commit_only_the_remote_has_is_fetched_first() {
    let project = Project::new();
    let other = project.clone_remote("other", &[]);
    project.commit("released elsewhere");
    project.git(&["push", "--quiet", "origin", "main"]);
    let commit = released(&project, "1.0.0");
    let run = xtask_in(
        &other,
        &["release", "promote", "1.0.0", "--yes", "--no-verify"],
        &[],
    )
    .success();
    assert!(
        run.stdout.contains(
            "timeout --kill-after=5 60 git fetch --quiet --no-tags --no-write-fetch-head origin refs/tags/v1.0.0  (brings its commit into this clone; changes no ref)"
        ),
        "{run}"
    );
    assert_eq!(
        project.remote_git(&["rev-parse", "v1.0.0-stable^{}"]),
        commit
    );
    // The fetch created no ref: only the stable tag is new in that clone.
    assert_eq!(git(&other, &["tag"]), "v1.0.0-stable");
}

#[test]
fn racing_promotes_leave_exactly_one_stable_tag() {
    let project = Project::new();
    let commit = released(&project, "1.0.0");
    let a = project.clone_remote("a", &[]);
    let b = project.clone_remote("b", &[]);
    let args = ["release", "promote", "1.0.0", "--yes", "--no-verify"];
    // Different dates make the two runs' tag objects differ, as they would for two people.
    let first = spawn_xtask(&a, &args, &[]);
    let second = spawn_xtask(&b, &args, &[("GIT_COMMITTER_DATE", "2026-01-02T00:00:00Z")]);
    let runs = [wait(first), wait(second)];

    let stable = project.remote_git(&[
        "for-each-ref",
        "--format=%(objectname)",
        "refs/tags/v1.0.0-stable",
    ]);
    assert_eq!(stable.len(), 40, "exactly one tag object: {stable:?}");
    assert_eq!(
        project.remote_git(&["rev-parse", "v1.0.0-stable^{}"]),
        commit
    );

    let winners = runs
        .iter()
        .filter(|r| r.code == 0 && r.stdout.contains("pushed v1.0.0-stable"))
        .count();
    assert_eq!(winners, 1, "{}\n{}", runs[0], runs[1]);
    let loser = runs
        .iter()
        .find(|r| !r.stdout.contains("pushed v1.0.0-stable"))
        .unwrap();
    let clear = match loser.code {
        0 => {
            loser.stdout.contains("already promoted")
                || loser.stdout.contains("already done by another run")
        }
        1 => loser.stderr.contains("v1.0.0-stable"),
        _ => false,
    };
    assert!(clear, "{loser}");
    // Neither clone keeps a stable tag that is not the remote's.
    for clone in [&a, &b] {
        let local = git(
            clone,
            &[
                "for-each-ref",
                "--format=%(objectname)",
                "refs/tags/v1.0.0-stable",
            ],
        );
        assert!(local.is_empty() || local == stable, "{local} vs {stable}");
    }
}

#[test]
fn dry_run_changes_nothing() {
    let project = Project::new();
    let commit = released(&project, "1.0.0");
    let before = project.snapshot();
    let run = project
        .xtask(&["release", "promote", "1.0.0", "--dry-run", "--no-verify"])
        .success();
    assert_eq!(project.snapshot(), before);
    assert!(
        run.stdout.contains(&format!(
            "  1. git tag -a v1.0.0-stable -m 'Stable release v1.0.0' {commit}\n  2. timeout --kill-after=5 60 git push --porcelain --no-follow-tags origin refs/tags/v1.0.0-stable:refs/tags/v1.0.0-stable\n"
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
    released(&project, "1.0.0");
    let before = project.snapshot();
    project
        .xtask(&["release", "promote", "1.0.0", "--no-verify"])
        .failure()
        .stderr_has("release promote v1.0.0 needs confirmation and there is no terminal to ask on");
    assert_eq!(project.snapshot(), before);
}

#[test]
fn gate_refuses_when_the_registry_cannot_be_asked() {
    let project = Project::new();
    released(&project, "1.0.0");
    let before = project.remote_refs();
    // Port 9 on loopback: nothing listens, so every registry question fails at once.
    let env = [
        ("RELEASE_IMAGE", "127.0.0.1:9/llm-proxy"),
        ("RELEASE_CHART_REGISTRY", "oci://127.0.0.1:9/charts"),
    ];
    // The gate only reads: a dry run shows its verdict, and the real run is refused by it
    // before anything is created.
    for args in [&["--dry-run"][..], &["--yes"]] {
        let mut all = vec!["release", "promote", "1.0.0"];
        all.extend(args);
        let run = project.xtask_env(&all, &env).failure();
        assert!(
            run.stderr.contains(
                "release promote v1.0.0 refused, 1 problem to fix first:\n  - the published artifacts of v1.0.0 do not verify (the promotion gate):\n      - image 127.0.0.1:9/llm-proxy:v1.0.0: unknown: "
            ),
            "{run}"
        );
        assert!(
            run.stdout
                .contains("\n  FAIL  1 problem, given with its fix on stderr\n"),
            "{run}"
        );
        assert!(!run.stdout.contains("do not verify"), "{run}");
    }
    assert_eq!(project.remote_refs(), before, "nothing was pushed");
    assert_eq!(
        project.git(&["tag", "--list", "*-stable"]),
        "",
        "no local stable tag either"
    );
}

#[test]
fn no_verify_warns() {
    let project = Project::new();
    released(&project, "1.0.0");
    let run = project
        .xtask(&["release", "promote", "1.0.0", "--yes", "--no-verify"])
        .success()
        .stderr_has("warning: --no-verify");
    assert!(!run.stdout.contains("promotion gate"), "{run}");
}

#[test]
fn follow_tags_config_pushes_no_other_tag() {
    let project = Project::new();
    released(&project, "1.0.0");
    project.git(&["config", "push.followTags", "true"]);
    project.git(&["tag", "-a", "v0.9.0-stable", "-m", "never pushed"]);
    let before = project.remote_refs();
    promote(&project, "1.0.0").success();
    assert_eq!(
        changed_lines(&before, &project.remote_refs()),
        ["refs/tags/v1.0.0-stable", "refs/tags/v1.0.0-stable^{}"]
    );
}

#[test]
fn rejected_push_leaves_no_local_tag() {
    let project = Project::new();
    released(&project, "1.0.0");
    project.remote_hook("pre-receive", "#!/bin/sh\nexit 1\n");
    let before = project.snapshot();
    promote(&project, "1.0.0")
        .failure()
        .stderr_has("the local tag this run created was deleted");
    assert_eq!(project.snapshot(), before);
}

#[test]
fn stable_version_argument_is_refused() {
    let project = Project::new();
    promote(&project, "1.0.0-stable")
        .usage_error()
        .stderr_has("this is the stable tag of 1.0.0: give the version itself, 1.0.0")
        .stderr_has("accepted forms");
}
