//! `release status` against a real registry, real helm and buildah, real git with a bare
//! remote and gh with the GitHub API stand-in: each state from its facts (released and
//! Latest, publishing, tagged, broken), the moving tags' holders, `--json`, the step
//! summary, an unreachable registry shown as unknown, never as absent, and a private
//! registry read with the release login.
//!
//! Checked with docker-registry 2.8.2, helm v3.18.0, buildah 1.28, skopeo 1.9, gh 2.103.3.

use std::process::Command;

use super::github::GitHub;
use super::{
    Env, Registry, build_slot, free_port, output, release_commit, release_project, require,
};
use crate::support::{Project, Run};

const TOKEN: &str = "ghp_canary0token0f7c2";

/// The row of `tag` in the table, its cells split on runs of two spaces or more.
fn row(run: &Run, tag: &str) -> Vec<String> {
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{tag} ")))
        .unwrap_or_else(|| panic!("no row for {tag}:\n{run}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

fn push_tag(project: &Project, name: &str) {
    project.git(&["tag", "-a", name, "-m", name]);
    project.git(&["push", "--quiet", "origin", name]);
}

/// Pushes chart `version` packaged with `app_version` (helm push overwrites silently).
fn push_chart(project: &Project, env: &Env, registry: &Registry, version: &str, app_version: &str) {
    let dest = env.dir.path().join("repackaged");
    std::fs::create_dir_all(&dest).unwrap();
    let vars: Vec<(&str, &str)> = env.pairs();
    let helm = require("helm");
    output(
        Command::new(&helm)
            .args([
                "package",
                "--version",
                version,
                "--app-version",
                app_version,
                "--destination",
            ])
            .arg(&dest)
            .arg(project.work.join("charts/llm-proxy"))
            .envs(vars.iter().copied()),
    );
    output(
        Command::new(&helm)
            .args(["push", "--plain-http"])
            .arg(dest.join(format!("llm-proxy-{version}.tgz")))
            .arg(format!("oci://{}/charts", registry.host))
            .envs(vars.iter().copied()),
    );
}

#[test]
fn each_release_shows_where_it_stands_in_one_word() {
    let _slot = build_slot();
    require("gh");
    let github = GitHub::start();
    let registry = Registry::start();
    let env = Env::new(&registry.host);
    let project = release_project();

    // v1.2.3: published, promoted, and its GitHub release made (Latest).
    let commit = release_commit(&project, "1.2.3");
    env.xtask(&project, &["release", "publish", "v1.2.3"])
        .success();
    push_tag(&project, "v1.2.3-stable");
    let args = ["release", "github", "v1.2.3-stable", "--no-checks"];
    github.xtask(&project, &env, &args, TOKEN).success();
    // v1.3.0: its image is out, its chart not yet.
    release_commit(&project, "1.3.0");
    let args = ["release", "publish", "v1.3.0", "--only", "image"];
    env.xtask(&project, &args).success();
    // v1.4.0: only tagged.
    release_commit(&project, "1.4.0");

    let status = github
        .xtask(&project, &env, &["release", "status"], TOKEN)
        .success();
    assert_eq!(
        status
            .stdout
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        [
            "VERSION",
            "COMMIT",
            "IMAGE",
            "CHART",
            "ATTESTATIONS",
            "STABLE",
            "GITHUB",
            "HOLDS",
            "STATE"
        ],
        "{status}"
    );
    assert_eq!(
        row(&status, "v1.2.3"),
        [
            "v1.2.3",
            &commit[..7],
            "linux/amd64 linux/arm64",
            "1.2.3",
            "not asked",
            "yes",
            "release, Latest",
            "1.2",
            "released"
        ],
        "{status}"
    );
    let publishing = row(&status, "v1.3.0");
    assert_eq!(
        publishing[3..],
        [
            "none",
            "not asked",
            "none",
            "none",
            "1.3, latest",
            "publishing"
        ]
    );
    let tagged = row(&status, "v1.4.0");
    assert_eq!(
        tagged[2..],
        ["none", "none", "not asked", "none", "none", "-", "tagged"]
    );
    assert_eq!(status.stdout.lines().count(), 4, "{status}");

    // Versions named: only those rows, in version order.
    let named = github
        .xtask(
            &project,
            &env,
            &["release", "status", "v1.4.0", "1.2.3"],
            TOKEN,
        )
        .success();
    let tags: Vec<&str> = named
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(tags, ["v1.2.3", "v1.4.0"]);

    // --json: one object per version, verify's checks inside.
    let json = github
        .xtask(&project, &env, &["release", "status", "--json"], TOKEN)
        .success();
    let rows: serde_yaml::Value = serde_yaml::from_str(&json.stdout).unwrap();
    let rows = rows.as_sequence().unwrap();
    let states: Vec<&str> = rows.iter().map(|r| r["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["released", "publishing", "tagged"]);
    assert_eq!(rows[0]["commit"].as_str(), Some(&commit[..7]));
    assert_eq!(rows[0]["github"].as_str(), Some("release, Latest"));
    assert!(rows[2]["chart"].is_null(), "absent is null: {json}");
    assert!(
        rows[0]["checks"]
            .as_sequence()
            .unwrap()
            .iter()
            .all(|c| c["ok"].as_bool() == Some(true))
    );

    // v1.3.0's chart appears with the wrong appVersion: broken, exit 1, in Actions one
    // annotation per broken release and the table in the step summary.
    push_chart(&project, &env, &registry, "1.3.0", "1.3.0");
    let summary = env.dir.path().join("summary.md");
    let mut vars = env.pairs();
    let config = github.config_dir();
    vars.extend([
        ("GH_CONFIG_DIR", config.to_str().unwrap()),
        ("GH_TOKEN", TOKEN),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
    ]);
    let broken = project.xtask_env(&["release", "status"], &vars).failure();
    assert_eq!(
        row(&broken, "v1.3.0").last().unwrap(),
        "broken: chart appVersion: 1.3.0, expected v1.3.0",
        "{broken}"
    );
    assert!(
        broken.stderr.contains("::error::v1.3.0 is broken"),
        "{broken}"
    );
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(
        summary.contains("| v1.3.0 | ")
            && summary.contains("| broken: chart appVersion: 1.3.0, expected v1.3.0 |"),
        "{summary}"
    );
}

#[test]
fn an_unreachable_registry_is_unknown_never_absent() {
    let _slot = build_slot();
    let project = release_project();
    release_commit(&project, "1.2.3");
    let mut env = Env::new(&format!("127.0.0.1:{}", free_port()));
    env.set("RELEASE_GIT_TIMEOUT", "20");
    let run = env.xtask(&project, &["release", "status"]).failure();
    let cells = row(&run, "v1.2.3");
    assert_eq!(cells[2..5], ["unknown", "unknown", "not asked"], "{run}");
    assert!(cells.last().unwrap().starts_with("unknown: "), "{run}");
    assert!(run.stderr.contains("v1.2.3 is unknown"), "{run}");
    let json = env
        .xtask(&project, &["release", "status", "--json"])
        .failure();
    let rows: serde_yaml::Value = serde_yaml::from_str(&json.stdout).unwrap();
    assert!(
        rows[0]["image"].as_str().unwrap().starts_with("unknown: "),
        "{json}"
    );
    assert_eq!(rows[0]["state"].as_str(), Some("unknown"));
}

/// Every tool's configuration of `env` in its own directory, nobody logged in (as
/// `real::private` does): the developer's own logins cannot leak in.
fn without_logins(env: &mut Env) {
    let path = |name: &str| env.dir.path().join(name).to_str().unwrap().to_string();
    let (xdg, helm) = (path("xdg-config"), path("helm/config/registry/config.json"));
    env.set("XDG_CONFIG_HOME", &xdg);
    env.set("HELM_REGISTRY_CONFIG", &helm);
}

/// A registry that wants a login answers status's batched requests with 401s until one
/// ordinary request has found the login: read with `RELEASE_REGISTRY_*`, every row is as
/// on an open registry; with no login anywhere, unknown, never absent, and the password is
/// never shown.
#[test]
fn a_private_registry_is_read_with_the_release_login() {
    const PASSWORD: &str = "canary-St4tus-51c2";
    let _slot = build_slot();
    let registry = Registry::with_login("release", PASSWORD);
    let mut env = Env::new(&registry.host);
    without_logins(&mut env);
    env.set("RELEASE_REGISTRY_USER", "release");
    env.set("RELEASE_REGISTRY_PASSWORD", PASSWORD);
    let project = release_project();
    release_commit(&project, "1.2.3");
    env.xtask(&project, &["release", "publish", "v1.2.3"])
        .success();

    let run = env.xtask(&project, &["release", "status"]).success();
    let cells = row(&run, "v1.2.3");
    assert_eq!(cells[2..4], ["linux/amd64 linux/arm64", "1.2.3"], "{run}");
    assert_eq!(cells.last().map(String::as_str), Some("published"), "{run}");
    assert!(!format!("{run}").contains(PASSWORD), "{run}");

    let mut anonymous = Env::new(&registry.host);
    without_logins(&mut anonymous);
    let run = anonymous.xtask(&project, &["release", "status"]).failure();
    let cells = row(&run, "v1.2.3");
    assert_eq!(cells[2..4], ["unknown", "unknown"], "{run}");
    assert!(cells.last().unwrap().starts_with("unknown: "), "{run}");
}
