//! `release publish` up to the point where tools would run: classification first, the dry
//! run, `--only` and `--no-push`, and the preflight that names missing tools before any
//! change. The runs against real registries live in `real::publish`.

use crate::support::{Project, TempDir};

/// A `PATH` holding git alone: xtask can read the repository, and every other tool is missing.
fn path_with_git_only(tmp: &TempDir) -> String {
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let git = which("git");
    std::os::unix::fs::symlink(git, bin.join("git")).unwrap();
    bin.to_str().unwrap().to_string()
}

fn which(tool: &str) -> std::path::PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{tool} not on PATH"))
}

#[test]
fn invalid_tag_fails_before_any_tool_runs() {
    let project = Project::new();
    let tmp = TempDir::new();
    // Without even git on PATH, the tag is judged first.
    let run = project
        .xtask_env(
            &["release", "publish", "v1.2.3$(id)"],
            &[("PATH", tmp.path().to_str().unwrap())],
        )
        .usage_error();
    assert!(run.stderr.contains("invalid release tag"), "{run}");
    assert_eq!(run.stdout, "");
}

#[test]
fn stable_and_foreign_tags_publish_nothing() {
    let project = Project::new();
    project
        .xtask(&["release", "publish", "v1.2.3-stable"])
        .success()
        .stderr_has("stable tags never republish artifacts");
    project
        .xtask(&["release", "publish", "refs/tags/nightly"])
        .success()
        .stderr_has("ignored");
}

#[test]
fn dry_run_prints_the_plan_steps_and_changes_nothing() {
    let project = Project::new();
    project.git(&["tag", "-a", "v1.2.3", "-m", "v1.2.3"]);
    let run = project
        .xtask(&["release", "publish", "v1.2.3", "--dry-run"])
        .success();
    for needle in [
        "1. cargo xtask release stamp 1.2.3 --chart charts/llm-proxy",
        "helm push dist/charts/llm-proxy-1.2.3.tgz oci://ghcr.io/sofatutor/charts",
        "docker buildx imagetools create --builder llm-proxy-buildkit-28a89871 --tag ghcr.io/sofatutor/llm-proxy:latest",
    ] {
        assert!(run.stdout.contains(needle), "{needle}:\n{run}");
    }
    assert!(
        project
            .read("charts/llm-proxy/Chart.yaml")
            .contains("0.0.0-dev")
    );
    assert!(!project.work.join("dist").exists());
}

#[test]
fn only_and_no_push_narrow_the_dry_run() {
    let project = Project::new();
    project.git(&["tag", "-a", "v1.2.3", "-m", "v1.2.3"]);
    let chart = project
        .xtask(&[
            "release",
            "publish",
            "v1.2.3",
            "--only",
            "chart",
            "--dry-run",
        ])
        .success();
    assert!(chart.stdout.contains("helm push"), "{chart}");
    assert!(!chart.stdout.contains("docker"), "{chart}");
    let image = project
        .xtask(&[
            "release",
            "publish",
            "v1.2.3",
            "--only",
            "image",
            "--no-push",
            "--dry-run",
        ])
        .success();
    let head = project.git(&["rev-parse", "HEAD"]);
    let steps: Vec<&str> = image
        .stdout
        .lines()
        .skip_while(|l| *l != "steps:")
        .collect();
    assert_eq!(
        steps,
        [
            "steps:".to_string(),
            format!("  1. LLM_PROXY_VERSION=v1.2.3 LLM_PROXY_COMMIT={head} cargo xtask dist --platform linux/amd64 --platform linux/arm64"),
            "  2. docker buildx create --name llm-proxy-buildkit-28a89871 --driver docker-container --driver-opt image=moby/buildkit:v0.32.2@sha256:28a898719c18a33f4e8000685287fa36fd0dd9560c6440227d3a732d79bb41d8 --bootstrap  (unless the builder llm-proxy-buildkit-28a89871 exists)".to_string(),
            format!("  3. docker buildx build --builder llm-proxy-buildkit-28a89871 --platform linux/amd64,linux/arm64 --build-arg VERSION=v1.2.3 --build-arg REVISION={head} --build-arg SOURCE=https://github.com/sofatutor/llm-proxy --build-arg SOURCE_DATE_EPOCH=1767225600 --output type=oci,dest=dist/image,tar=false,rewrite-timestamp=true ."),
        ],
        "{image}"
    );
}

#[test]
fn missing_tools_are_all_named_before_anything_changes() {
    let project = Project::new();
    project.git(&["tag", "-a", "v1.2.3", "-m", "v1.2.3"]);
    let tmp = TempDir::new();
    let run = project
        .xtask_env(
            &["release", "publish", "v1.2.3"],
            &[("PATH", &path_with_git_only(&tmp))],
        )
        .failure();
    for tool in ["`helm`", "`cargo`", "`docker`", "`curl`"] {
        assert!(run.stderr.contains(tool), "{tool}:\n{run}");
    }
    assert!(run.stderr.contains("nothing was changed"), "{run}");
    assert_eq!(project.git(&["status", "--porcelain"]), "");
}

/// A dry run changes nothing, but is not silent about a missing tool: it names what the real
/// run would refuse, with the pinned helm and the script that installs it.
#[test]
fn a_dry_run_names_the_tools_the_real_run_would_miss() {
    let project = Project::new();
    project.git(&["tag", "-a", "v1.2.3", "-m", "v1.2.3"]);
    let tmp = TempDir::new();
    let run = project
        .xtask_env(
            &["release", "publish", "v1.2.3", "--dry-run"],
            &[("PATH", &path_with_git_only(&tmp))],
        )
        .success();
    assert!(
        run.stderr.lines().any(|l| l
            == "warning: the real run would refuse: `helm` not found on PATH: install Helm v3.18.0, the version releases are pinned to: scripts/install-test-tools.sh chart"),
        "{run}"
    );
    assert!(run.stdout.contains("helm push"), "{run}");
    assert_eq!(project.git(&["status", "--porcelain"]), "");
}

#[test]
fn publishing_needs_the_tag_checked_out() {
    let project = Project::new();
    let run = project
        .xtask(&["release", "publish", "v1.2.3", "--only", "chart"])
        .failure();
    assert!(run.stderr.contains("v1.2.3 does not exist"), "{run}");
    project.git(&["tag", "-a", "v1.2.3", "-m", "v1.2.3"]);
    project.commit("after the tag");
    let run = project
        .xtask(&["release", "publish", "v1.2.3", "--only", "chart"])
        .failure();
    assert!(run.stderr.contains("check out the tag"), "{run}");
}

#[test]
fn half_set_credentials_are_refused_and_never_echoed() {
    let project = Project::new();
    project.git(&["tag", "-a", "v1.2.3", "-m", "v1.2.3"]);
    let canary = "canary-password-5d1e";
    let run = project
        .xtask_env(
            &["release", "publish", "v1.2.3"],
            &[("RELEASE_REGISTRY_PASSWORD", canary)],
        )
        .failure();
    assert!(
        run.stderr.contains("RELEASE_REGISTRY_USER is empty"),
        "{run}"
    );
    let env = [
        ("RELEASE_REGISTRY_USER", "tester"),
        ("RELEASE_REGISTRY_PASSWORD", canary),
    ];
    let dry = project
        .xtask_env(&["release", "publish", "v1.2.3", "--dry-run"], &env)
        .success();
    assert!(
        dry.stdout
            .contains("docker login ghcr.io --username tester --password-stdin"),
        "{dry}"
    );
    for output in [&run.stdout, &run.stderr, &dry.stdout, &dry.stderr] {
        assert!(!output.contains(canary), "the password leaked:\n{output}");
    }
}
