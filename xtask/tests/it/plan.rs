//! `release classify` and `release plan` against real repositories.

use crate::support::{Project, TempDir, xtask_in};

#[test]
fn classify_prints_one_line_and_writes_github_output() {
    let tmp = TempDir::new();
    let output = tmp.path().join("github_output");
    let env = [("GITHUB_OUTPUT", output.to_str().unwrap())];
    let run = xtask_in(
        tmp.path(),
        &[
            "release",
            "classify",
            "refs/tags/v1.2.3-stable",
            "--github-output",
        ],
        &env,
    )
    .success();
    assert_eq!(run.stdout, "stable 1.2.3\n");
    xtask_in(
        tmp.path(),
        &["release", "classify", "main", "--github-output"],
        &env,
    )
    .success();
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "kind=stable\nversion=1.2.3\nkind=ignored\nversion=\n"
    );
}

#[test]
fn classify_rejects_invalid_tags_with_nothing_on_stdout() {
    let tmp = TempDir::new();
    let output = tmp.path().join("github_output");
    let env = [("GITHUB_OUTPUT", output.to_str().unwrap())];
    let run = xtask_in(
        tmp.path(),
        &["release", "classify", "v1.4.0-rc1", "--github-output"],
        &env,
    )
    .usage_error();
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains(r#""v1.4.0-rc1""#) && run.stderr.contains("vMAJOR.MINOR.PATCH-stable"),
        "{run}"
    );
    assert!(!output.exists(), "an invalid tag must write no output");
}

#[test]
fn classify_usage_error_exits_2() {
    let tmp = TempDir::new();
    assert_eq!(xtask_in(tmp.path(), &["release", "classify"], &[]).code, 2);
}

#[test]
fn plan_for_a_new_tag_uses_head() {
    let project = Project::new();
    let head = project.git(&["rev-parse", "HEAD"]);
    let run = project.xtask(&["release", "plan", "v1.2.3"]).success();
    assert!(
        run.stdout
            .contains(&format!("commit: {head} (HEAD; v1.2.3 does not exist yet)")),
        "{run}"
    );
    assert!(
        run.stdout.contains(&format!(
            "tag: ghcr.io/sofatutor/llm-proxy:sha-{}",
            &head[..7]
        )),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("tag: ghcr.io/sofatutor/llm-proxy:latest"),
        "{run}"
    );
    assert!(
        run.stdout.contains(
            "helm template charts/llm-proxy --values charts/llm-proxy/ci/default-values.yaml"
        ),
        "{run}"
    );
}

#[test]
fn plan_json_for_an_existing_tag_uses_its_commit() {
    let project = Project::new();
    let tagged = project.git(&["rev-parse", "HEAD"]);
    project.git(&["tag", "-a", "v1.0.0", "-m", "Release v1.0.0"]);
    project.commit("later work");
    let run = project
        .xtask(&["release", "plan", "refs/tags/v1.0.0", "--json"])
        .success();
    let json: serde_yaml::Value = serde_yaml::from_str(&run.stdout).unwrap();
    assert_eq!(json["commit"].as_str(), Some(tagged.as_str()));
    assert_eq!(json["kind"].as_str(), Some("version"));
    assert_eq!(json["chart"]["app_version"].as_str(), Some("v1.0.0"));
    assert!(json["github_release"].is_null());
    let tags: Vec<&str> = json["image"]["tags"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let sha = format!("ghcr.io/sofatutor/llm-proxy:sha-{}", &tagged[..7]);
    assert_eq!(
        tags,
        [
            "ghcr.io/sofatutor/llm-proxy:v1.0.0",
            "ghcr.io/sofatutor/llm-proxy:1.0",
            &sha,
            "ghcr.io/sofatutor/llm-proxy:latest"
        ]
    );
}

#[test]
fn plan_off_the_default_branch_is_not_latest() {
    let project = Project::new();
    project.git(&["checkout", "--quiet", "-b", "maintenance"]);
    project.commit("fix on a maintenance branch");
    let run = project.xtask(&["release", "plan", "v1.0.1"]).success();
    assert!(!run.stdout.contains(":latest"), "{run}");
    assert!(run.stdout.contains("not on the default branch"), "{run}");
}

#[test]
fn plan_backport_after_a_newer_release() {
    let project = Project::new();
    project.git(&["tag", "v1.3.0"]);
    let run = project.xtask(&["release", "plan", "v1.2.9"]).success();
    assert!(
        run.stdout.contains(":1.2\n")
            && !run.stdout.contains(":latest")
            && !run.stdout.contains(":1.3"),
        "{run}"
    );
}

#[test]
fn plan_counts_no_nested_tag_as_a_version() {
    // `refs/tags/foo/v9.9.9` ends like a version tag but is none: it neither makes v1.2.3 a
    // backport, nor starts the notes of a stable release, nor is taken for v1.2.3 itself.
    // Nor is the tag named `refs/tags/v9.9.9` (its ref is refs/tags/refs/tags/v9.9.9), which
    // the grammar, reading refs, once took for v9.9.9.
    let project = Project::new();
    let older = project.git(&["rev-parse", "HEAD"]);
    project.git(&["tag", "-a", "foo/v9.9.9", "-m", "not a release"]);
    project.git(&["tag", "refs/tags/v9.9.9"]);
    project.git(&["tag", "-a", "foo/v1.2.3", "-m", "not a release"]);
    project.git(&["tag", "foo/v1.1.0-stable"]);
    project.git(&["tag", "v1.0.0-stable"]);
    let head = project.commit("later work");
    project.git(&["push", "--quiet", "origin", "main"]);
    let run = project.xtask(&["release", "plan", "v1.2.3"]).success();
    assert!(
        run.stdout
            .contains(&format!("commit: {head} (HEAD; v1.2.3 does not exist yet)")),
        "{run}"
    );
    assert!(!run.stdout.contains(&older), "{run}");
    assert!(run.stdout.contains(":latest\n"), "{run}");
    project.git(&["tag", "v1.2.3"]);
    let run = project
        .xtask(&["release", "plan", "v1.2.3-stable", "--json"])
        .success();
    let json: serde_yaml::Value = serde_yaml::from_str(&run.stdout).unwrap();
    assert_eq!(
        json["github_release"]["notes_start_tag"].as_str(),
        Some("v1.0.0-stable"),
        "{run}"
    );
}

#[test]
fn plan_stable_tag() {
    let project = Project::new();
    project.git(&["tag", "v1.0.0-stable"]);
    project.git(&["tag", "v1.1.0"]);
    let run = project
        .xtask(&["release", "plan", "v1.1.0-stable", "--json"])
        .success();
    let json: serde_yaml::Value = serde_yaml::from_str(&run.stdout).unwrap();
    assert!(json["image"].is_null() && json["chart"].is_null(), "{run}");
    assert_eq!(
        json["github_release"]["notes_start_tag"].as_str(),
        Some("v1.0.0-stable")
    );
    assert_eq!(json["github_release"]["latest"].as_bool(), Some(true));
}

#[test]
fn plan_reads_nothing_but_changes_nothing() {
    let project = Project::new();
    let before = (
        project.git(&["for-each-ref"]),
        project.git(&["status", "--porcelain"]),
    );
    project.xtask(&["release", "plan", "v1.2.3"]).success();
    assert_eq!(
        before,
        (
            project.git(&["for-each-ref"]),
            project.git(&["status", "--porcelain"])
        )
    );
}

#[test]
fn plan_works_from_a_subdirectory() {
    let project = Project::new();
    let run = xtask_in(
        &project.work.join("charts/llm-proxy"),
        &["release", "plan", "v1.2.3"],
        &[],
    )
    .success();
    assert!(run.stdout.starts_with("release plan for v1.2.3"), "{run}");
}

#[test]
fn plan_outside_a_repository_says_so() {
    let tmp = TempDir::new();
    xtask_in(tmp.path(), &["release", "plan", "v1.2.3"], &[])
        .failure()
        .stderr_has("is not inside a git repository");
}

#[test]
fn plan_honours_environment_overrides() {
    let project = Project::new();
    let env = [
        ("RELEASE_IMAGE", "127.0.0.1:5000/llm-proxy"),
        ("RELEASE_CHART_REGISTRY", "oci://127.0.0.1:5000/charts"),
    ];
    project
        .xtask_env(&["release", "plan", "v1.2.3"], &env)
        .success()
        .stdout_has("tag: 127.0.0.1:5000/llm-proxy:v1.2.3")
        .stdout_has("registry: oci://127.0.0.1:5000/charts");
}
