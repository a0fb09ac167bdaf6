//! `release verify`, the promotion gate and `release rehearse` against a real registry,
//! real helm and buildah, and gh with the GitHub API stand-in: a complete release passes,
//! each broken artifact fails its own check while every other check is still reported, an
//! unreachable registry is never a pass, and promotion waits for a passing verification.
//!
//! Checked with docker-registry 2.8.2, helm v3.18.0, buildah 1.28, skopeo 1.9, gh 2.103.3.

use std::process::Command;

use super::github::GitHub;
use super::{
    Env, Published, Registry, build_slot, output, published, release_commit, release_project,
    require,
};
use crate::support::Run;

/// The check lines that failed (`✗ name: detail`), by name.
fn failed(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("✗ "))
        .map(|l| l.split(": ").next().unwrap().to_string())
        .collect()
}

fn check_lines(run: &Run) -> usize {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("✓ ") || l.starts_with("✗ "))
        .count()
}

fn skopeo_copy(registry: &Registry, from: &str, to: &str) {
    output(Command::new(require("skopeo")).args([
        "copy",
        "--all",
        "--quiet",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &format!("docker://{}/llm-proxy:{from}", registry.host),
        &format!("docker://{}/llm-proxy:{to}", registry.host),
    ]));
}

/// Re-pushes chart 1.2.3 packaged with another appVersion (helm push overwrites silently).
fn push_chart_with_app_version(env: &Env, registry: &Registry, app_version: &str) {
    let dest = env.dir.path().join("repackaged");
    let pulled = env.dir.path().join("pulled");
    let _ = std::fs::remove_dir_all(&pulled);
    std::fs::create_dir_all(&dest).unwrap();
    let vars: Vec<(&str, &str)> = env.pairs();
    let helm = require("helm");
    // The published chart (a publish puts the work tree's chart files back as they were).
    output(
        Command::new(&helm)
            .args(["pull", "--plain-http", "--version", "1.2.3", "--untar"])
            .arg(format!("oci://{}/charts/llm-proxy", registry.host))
            .arg("--untardir")
            .arg(&pulled)
            .envs(vars.iter().copied()),
    );
    output(
        Command::new(&helm)
            .args([
                "package",
                "--version",
                "1.2.3",
                "--app-version",
                app_version,
                "--destination",
            ])
            .arg(&dest)
            .arg(pulled.join("llm-proxy"))
            .envs(vars.iter().copied()),
    );
    output(
        Command::new(&helm)
            .args(["push", "--plain-http"])
            .arg(dest.join("llm-proxy-1.2.3.tgz"))
            .arg(format!("oci://{}/charts", registry.host))
            .envs(vars.iter().copied()),
    );
}

#[test]
fn a_complete_release_verifies_then_each_broken_artifact_fails_its_own_check() {
    let _slot = build_slot();
    let Published {
        registry,
        project,
        env,
        commit,
    } = published();

    let good = env
        .xtask(&project, &["release", "verify", "1.2.3"])
        .success();
    assert!(failed(&good).is_empty(), "{good}");
    let total = check_lines(&good);
    for line in [
        format!("✓ tag v1.2.3: on the remote at {commit}"),
        format!("✓ image revision label: {commit}"),
        format!(
            "✓ image {}/llm-proxy:1.2: same digest as v1.2.3",
            registry.host
        ),
        format!(
            "✓ image {}/llm-proxy:latest: same digest as v1.2.3",
            registry.host
        ),
        "✓ chart appVersion: v1.2.3".to_string(),
        format!(
            "✓ chart default image: {}/llm-proxy:v1.2.3 exists",
            registry.host
        ),
    ] {
        assert!(good.stdout.contains(&line), "missing {line:?}:\n{good}");
    }
    let json = env
        .xtask(&project, &["release", "verify", "1.2.3", "--json"])
        .success();
    let checks: serde_yaml::Value = serde_yaml::from_str(&json.stdout).unwrap();
    let checks = checks.as_sequence().unwrap();
    assert_eq!(checks.len(), total);
    assert!(checks.iter().all(|c| c["ok"].as_bool() == Some(true)
        && c["check"].is_string()
        && c["detail"].is_string()));

    // No Docker engine runs here: `--run` says the image was not run, and never passes.
    let run = env
        .xtask(&project, &["release", "verify", "1.2.3", "--run"])
        .failure();
    assert_eq!(
        failed(&run),
        [format!("image {}/llm-proxy:v1.2.3 runs", registry.host)],
        "{run}"
    );
    assert!(
        run.stdout
            .contains("not run: no Docker daemon is reachable"),
        "{run}"
    );

    // The chart's appVersion without its `v` (its default image tag then misses too).
    push_chart_with_app_version(&env, &registry, "1.2.3");
    let run = env
        .xtask(&project, &["release", "verify", "1.2.3"])
        .failure();
    assert_eq!(
        failed(&run),
        ["chart appVersion", "chart default image"],
        "{run}"
    );
    assert_eq!(
        check_lines(&run),
        total,
        "every check is still reported:\n{run}"
    );
    assert!(
        run.stdout
            .contains("✗ chart appVersion: 1.2.3, expected v1.2.3"),
        "{run}"
    );
    push_chart_with_app_version(&env, &registry, "v1.2.3");
    env.xtask(&project, &["release", "verify", "1.2.3"])
        .success();

    // `1.2` left on an older digest after a newer patch.
    release_commit(&project, "1.2.4");
    env.xtask(&project, &["release", "publish", "v1.2.4"])
        .success();
    env.xtask(&project, &["release", "verify", "1.2.4"])
        .success();
    let old = env
        .xtask(&project, &["release", "verify", "1.2.3"])
        .success();
    assert!(
        old.stdout.contains(":1.2: owned by the newer v1.2.4"),
        "{old}"
    );
    skopeo_copy(&registry, "v1.2.3", "1.2");
    let run = env
        .xtask(&project, &["release", "verify", "1.2.4"])
        .failure();
    assert_eq!(
        failed(&run),
        [format!("image {}/llm-proxy:1.2", registry.host)],
        "{run}"
    );
    assert_eq!(check_lines(&run), total, "{run}");
    skopeo_copy(&registry, "v1.2.4", "1.2");

    // A stable tag on another commit than its version tag.
    project.git(&[
        "tag",
        "-a",
        "v1.2.3-stable",
        "-m",
        "Stable release v1.2.3",
        "HEAD",
    ]);
    project.git(&["push", "--quiet", "origin", "v1.2.3-stable"]);
    let run = env
        .xtask(
            &project,
            &["release", "verify", "1.2.3", "--artifacts-only"],
        )
        .failure();
    assert_eq!(failed(&run), ["tag v1.2.3-stable"], "{run}");
    assert!(run.stderr.contains("1 of"), "{run}");
}

#[test]
fn promote_is_refused_while_verify_fails_and_allowed_once_the_artifact_is_fixed() {
    let _slot = build_slot();
    let registry = Registry::start();
    let project = release_project();
    let env = Env::new(&registry.host);
    release_commit(&project, "1.3.0");

    // Only the chart, pushed by hand (publish never pushes a chart before its image): its
    // default image does not exist yet.
    env.xtask(
        &project,
        &[
            "release",
            "publish",
            "v1.3.0",
            "--only",
            "chart",
            "--no-push",
        ],
    )
    .success();
    let vars: Vec<(&str, &str)> = env.pairs();
    output(
        Command::new(require("helm"))
            .args(["push", "--plain-http"])
            .arg(project.work.join("dist/charts/llm-proxy-1.3.0.tgz"))
            .arg(format!("oci://{}/charts", registry.host))
            .envs(vars.iter().copied()),
    );
    let run = env
        .xtask(&project, &["release", "verify", "1.3.0"])
        .failure();
    assert!(
        failed(&run).contains(&"chart default image".to_string()),
        "{run}"
    );
    assert!(
        run.stdout.contains(&format!(
            "✗ chart default image: {}/llm-proxy:v1.3.0 is not in the registry",
            registry.host
        )),
        "{run}"
    );
    assert!(run.stdout.contains("✓ chart version: 1.3.0"), "{run}");

    let before = project.remote_git(&["for-each-ref"]);
    let refused = env
        .xtask(&project, &["release", "promote", "1.3.0", "--yes"])
        .failure();
    assert!(
        refused.stderr.contains("chart default image")
            || refused.stdout.contains("chart default image"),
        "{refused}"
    );
    assert_eq!(
        project.remote_git(&["for-each-ref"]),
        before,
        "a refused promotion changes nothing"
    );

    env.xtask(
        &project,
        &["release", "publish", "v1.3.0", "--only", "image"],
    )
    .success();
    env.xtask(&project, &["release", "verify", "1.3.0"])
        .success();
    env.xtask(&project, &["release", "promote", "1.3.0", "--yes"])
        .success();
    let stable = project.remote_git(&["rev-parse", "v1.3.0-stable^{}"]);
    assert_eq!(stable, project.remote_git(&["rev-parse", "v1.3.0^{}"]));
}

#[test]
fn an_index_without_arm64_fails_the_image_check() {
    let _slot = build_slot();
    let registry = Registry::start();
    let project = release_project();
    let mut env = Env::new(&registry.host);
    release_commit(&project, "1.4.0");
    env.set("RELEASE_PLATFORMS", "linux/amd64");
    env.xtask(&project, &["release", "publish", "v1.4.0"])
        .success();
    env.set("RELEASE_PLATFORMS", "linux/amd64,linux/arm64");
    let run = env
        .xtask(&project, &["release", "verify", "1.4.0"])
        .failure();
    assert_eq!(
        failed(&run),
        [format!("image {}/llm-proxy:v1.4.0", registry.host)],
        "{run}"
    );
    assert!(
        run.stdout
            .contains("platforms are linux/amd64, expected linux/amd64, linux/arm64"),
        "{run}"
    );
}

#[test]
fn a_draft_or_a_release_without_notes_fails_the_github_checks() {
    let _slot = build_slot();
    require("gh");
    let Published {
        registry: _registry,
        project,
        env,
        ..
    } = published();
    let github = GitHub::start();
    let config = github.config_dir();
    let mut env = env;
    env.set("GH_CONFIG_DIR", config.to_str().unwrap());
    env.set("GH_TOKEN", "ghp_canary0verify0token");
    env.set("GH_NO_UPDATE_NOTIFIER", "1");

    // No stable tag yet: the release is checked only when asked for.
    let run = env
        .xtask(&project, &["release", "verify", "1.2.3"])
        .success();
    assert!(!run.stdout.contains("github release"), "{run}");
    let run = env
        .xtask(&project, &["release", "verify", "1.2.3", "--stable"])
        .failure();
    assert_eq!(failed(&run), ["github release v1.2.3-stable"], "{run}");
    assert!(
        run.stdout
            .contains("✗ github release v1.2.3-stable: no such release"),
        "{run}"
    );

    // A release made by hand, without the record of its artifacts.
    github
        .state
        .lock()
        .unwrap()
        .releases
        .push("v1.2.3-stable".into());
    let run = env
        .xtask(&project, &["release", "verify", "1.2.3", "--stable"])
        .failure();
    assert_eq!(failed(&run), ["github release record"], "{run}");
    github.state.lock().unwrap().releases.clear();

    // The release `release github` makes, once the stable tag exists: checked without
    // being asked for.
    project.git(&[
        "tag",
        "-a",
        "v1.2.3-stable",
        "-m",
        "Stable release v1.2.3",
        "v1.2.3^{}",
    ]);
    project.git(&["push", "--quiet", "origin", "v1.2.3-stable"]);
    env.xtask(
        &project,
        &["release", "github", "v1.2.3-stable", "--no-checks"],
    )
    .success();
    env.xtask(&project, &["release", "verify", "1.2.3"])
        .success();

    let made = github.state.lock().unwrap().body.clone().unwrap();
    github.state.lock().unwrap().body = Some(made.replace("Generated notes", " "));
    let run = env
        .xtask(&project, &["release", "verify", "1.2.3"])
        .failure();
    assert_eq!(failed(&run), ["github release notes"], "{run}");

    github.state.lock().unwrap().body = Some(made);
    github.state.lock().unwrap().draft = true;
    let run = env
        .xtask(&project, &["release", "verify", "1.2.3"])
        .failure();
    assert_eq!(failed(&run), ["github release v1.2.3-stable"], "{run}");
    assert!(run.stdout.contains("is a draft"), "{run}");
    assert!(
        !format!("{run}").contains("ghp_canary0verify0token"),
        "the token never appears"
    );
    github.state.lock().unwrap().draft = false;
    let run = env
        .xtask(&project, &["release", "verify", "1.2.3"])
        .success();
    assert!(
        run.stdout
            .contains("✓ tag v1.2.3-stable: on the same commit as v1.2.3"),
        "{run}"
    );
    assert!(run.stdout.contains("✓ github release notes"), "{run}");
}

#[test]
fn an_unreachable_registry_is_an_error_never_a_pass() {
    let _slot = build_slot();
    let Published {
        registry,
        project,
        env,
        ..
    } = published();
    drop(registry);

    let run = env
        .xtask(&project, &["release", "verify", "1.2.3"])
        .failure();
    let failed = failed(&run);
    assert!(failed.iter().any(|f| f.starts_with("image ")), "{run}");
    assert!(failed.iter().any(|f| f.starts_with("chart")), "{run}");
    assert!(run.stdout.contains("unknown: "), "{run}");
    assert!(
        run.stdout.contains("✓ tag v1.2.3"),
        "git still answers:\n{run}"
    );
    let refused = env
        .xtask(&project, &["release", "promote", "1.2.3", "--yes"])
        .failure();
    assert!(format!("{refused}").contains("unknown: "), "{refused}");
}

#[test]
fn a_rehearsal_passes_end_to_end_and_leaves_exactly_the_expected_tags() {
    let _slot = build_slot();
    let registry = Registry::start();
    let project = release_project();
    let env = Env::new(&registry.host);
    let before = project.remote_git(&["for-each-ref"]);

    let run = env
        .xtask(&project, &["release", "rehearse", "3.1.0"])
        .success();
    for stage in [
        "tag",
        "publish",
        // The offline stand-in for the workflows' attestation steps (the harness is one of
        // the real-tools' tools): the gate of the later stages checks provenance.
        "attest (offline, as CI)",
        "verify",
        "promote",
        "github --dry-run",
        "verify after promotion",
    ] {
        assert!(
            run.stdout.contains(&format!("✓ {stage} ")),
            "stage {stage} missing:\n{run}"
        );
    }
    assert!(run.stdout.contains("rehearsal of v3.1.0 passed"), "{run}");

    let list = |name: &str| -> Vec<String> {
        let out = output(
            Command::new(require("curl"))
                .args(["--silent", "--fail"])
                .arg(format!("http://{}/v2/{name}/tags/list", registry.host)),
        );
        let value: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
        let mut tags: Vec<String> = value["tags"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        tags.sort();
        tags
    };
    // Each attested artifact also has the tag its attestations hang under (this registry
    // has no referrers API): `sha256-<its digest>`.
    let attestations = |name: &str, tag: &str| {
        format!(
            "sha256-{}",
            registry
                .digest(name, tag)
                .unwrap()
                .trim_start_matches("sha256:")
        )
    };
    let image_tags = list("llm-proxy");
    assert_eq!(image_tags.len(), 5, "{image_tags:?}");
    assert_eq!(&image_tags[..2], ["3.1", "latest"], "{image_tags:?}");
    assert!(
        image_tags[2].starts_with("sha-") && image_tags[4] == "v3.1.0",
        "{image_tags:?}"
    );
    assert_eq!(image_tags[3], attestations("llm-proxy", "v3.1.0"));
    assert_eq!(
        list("charts/llm-proxy"),
        [
            "3.1.0".to_string(),
            attestations("charts/llm-proxy", "3.1.0")
        ]
    );
    assert_eq!(
        project.remote_git(&["for-each-ref"]),
        before,
        "a rehearsal changes nothing real"
    );
    assert_eq!(
        project.git(&["tag", "--list"]),
        "",
        "nor the repository it ran from"
    );
}
