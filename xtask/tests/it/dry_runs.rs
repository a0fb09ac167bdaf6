//! Every command that changes something has a dry run that prints what it would do and
//! changes nothing: `stamp`, `dist` and `rehearse` here (`tag`, `promote`, `publish` and
//! `github` have theirs in their own modules).

use crate::support::Project;

/// The dry run is a patch that git applies, and applied it is the very stamp.
#[test]
fn stamp_dry_run_prints_a_unified_diff_and_writes_nothing() {
    let project = Project::new();
    let before = project.snapshot();
    let run = project
        .xtask(&["release", "stamp", "1.2.3", "--dry-run"])
        .success();
    assert_eq!(
        run.stdout,
        "--- a/charts/llm-proxy/Chart.yaml\n+++ b/charts/llm-proxy/Chart.yaml\n@@ -1,5 +1,5 @@\n apiVersion: v2\n name: llm-proxy\n # stamped by releases\n-version: 0.0.0-dev\n-appVersion: \"v0.0.0-dev\"\n+version: 1.2.3\n+appVersion: \"v1.2.3\"\n"
    );
    assert!(run.stderr.contains("dry run: nothing was written"), "{run}");
    assert_eq!(project.snapshot(), before);

    let patch = crate::support::TempDir::new();
    let patch = patch.path().join("stamp.patch");
    std::fs::write(&patch, &run.stdout).unwrap();
    let patch = patch.to_str().unwrap();
    project.git(&["apply", "--check", patch]);
    project.git(&["apply", patch]);
    let applied = project.read("charts/llm-proxy/Chart.yaml");
    project.git(&["checkout", "--", "charts/llm-proxy/Chart.yaml"]);
    project.xtask(&["release", "stamp", "1.2.3"]).success();
    assert_eq!(project.read("charts/llm-proxy/Chart.yaml"), applied);
}

#[test]
fn dist_dry_run_prints_the_build_and_builds_nothing() {
    let project = Project::new();
    let head = project.git(&["rev-parse", "HEAD"]);
    project.write(
        "crates/llm-proxy/Cargo.toml",
        "[package]\nname = \"llm-proxy\"\nversion = \"0.3.0\"\n",
    );
    let run = project.xtask(&["dist", "--dry-run", "--platform", "linux/arm64"]);
    let run = run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "LLM_PROXY_VERSION=v0.3.0 LLM_PROXY_COMMIT={head} CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld cargo build --release --locked --package llm-proxy --target aarch64-unknown-linux-musl"
        )
    );
    assert!(
        lines[1].starts_with("copy ")
            && lines[1].ends_with(
                "/aarch64-unknown-linux-musl/release/llm-proxy dist/linux-arm64/llm-proxy"
            ),
        "{run}"
    );
    assert_eq!(lines[2..], ["dry run: nothing was built"]);
    assert!(!project.work.join("dist").exists(), "{run}");
}

#[test]
fn rehearse_dry_run_prints_the_stages_and_runs_none() {
    let project = Project::new();
    let before = project.snapshot();
    let env = [
        ("RELEASE_IMAGE", "127.0.0.1:5000/llm-proxy"),
        ("RELEASE_CHART_REGISTRY", "oci://127.0.0.1:5000/charts"),
    ];
    let run = project
        .xtask_env(&["release", "rehearse", "2.0.0", "--dry-run"], &env)
        .success();
    let stages: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("stages"))
        .collect();
    assert_eq!(
        stages,
        [
            "stages, each run as `xtask -C <scratch clone> …`:",
            "  1. tag: xtask release tag 2.0.0 --yes --no-checks",
            "  2. publish: xtask release publish v2.0.0",
            "  3. verify: xtask release verify 2.0.0 --artifacts-only",
            "  4. promote: xtask release promote 2.0.0 --yes",
            "  5. github --dry-run: xtask release github v2.0.0-stable --dry-run",
            "  6. verify after promotion: xtask release verify 2.0.0 --artifacts-only",
            "dry run: nothing was run",
        ]
    );
    assert_eq!(project.snapshot(), before);
    // Without scratch registries it refuses, dry run or not.
    project
        .xtask(&["release", "rehearse", "2.0.0", "--dry-run"])
        .failure()
        .stderr_has("RELEASE_IMAGE is not set");
}
