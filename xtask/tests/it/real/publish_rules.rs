//! What `release publish` finds in the registry or the work tree that it did not put there:
//! a moving tag holding another line's release, and the chart files a local publish stamps.

use std::process::Command;

use super::{Env, Registry, output, release_commit, release_project, require, serial};
use crate::support::TempDir;

/// Pushes to `host/llm-proxy:TAG`, for each of `tags`, a small image labelled as the release
/// `label`, as a hand or a bad script would; returns its digest.
fn push_labelled_image(env: &Env, registry: &Registry, label: &str, tags: &[&str]) -> String {
    let storage = TempDir::new();
    let root = storage.path().to_str().unwrap();
    let buildah = |args: &[&str]| {
        let storage_args = [
            "--root",
            &format!("{root}/root"),
            "--runroot",
            &format!("{root}/run"),
            "--storage-driver",
            "vfs",
        ]
        .map(String::from);
        output(
            Command::new(require("buildah"))
                .args(storage_args)
                .args(args)
                .envs(env.pairs()),
        )
    };
    let container = buildah(&["from", "scratch"]);
    let container = container.trim();
    let label = format!("org.opencontainers.image.version={label}");
    buildah(&["config", "--label", &label, container]);
    buildah(&["commit", "--quiet", container, "localhost/foreign"]);
    for tag in tags {
        let target = format!("docker://{}/llm-proxy:{tag}", registry.host);
        buildah(&["push", "--tls-verify=false", "localhost/foreign", &target]);
    }
    let digest = registry.digest("llm-proxy", tags[0]);
    digest.expect("the foreign image is pushed")
}

/// Regression: `1.2` held an image labelled v2.0.0 (pushed by hand), every `1.2.z` publish
/// kept it as "a newer release", and `verify` of the line failed for ever. `X.Y` compares
/// only with releases of its line; `latest` still keeps the newer release.
#[test]
fn a_minor_tag_holding_another_lines_release_is_replaced_and_latest_is_not() {
    let _serial = serial();
    let registry = Registry::start();
    let env = Env::new(&registry.host);
    let project = release_project();
    let foreign = push_labelled_image(&env, &registry, "v2.0.0", &["1.2", "latest"]);
    assert_eq!(
        registry.digest("llm-proxy", "latest"),
        Some(foreign.clone())
    );
    release_commit(&project, "1.2.3");

    let published = env
        .xtask(&project, &["release", "publish", "v1.2.3"])
        .success();
    let ours = registry.digest("llm-proxy", "v1.2.3").unwrap();
    assert_eq!(
        registry.digest("llm-proxy", "1.2").as_deref(),
        Some(ours.as_str()),
        "{published}"
    );
    assert!(
        published
            .stderr
            .contains("1.2 holds v2.0.0, a release of another line: replaced by v1.2.3"),
        "{published}"
    );
    assert_eq!(
        registry.digest("llm-proxy", "latest").as_deref(),
        Some(foreign.as_str()),
        "latest keeps the newer release: {published}"
    );
    assert!(
        published
            .stderr
            .contains("latest holds v2.0.0, newer than v1.2.3: left as it is"),
        "{published}"
    );
    // The line verifies: `1.2` is this release's.
    let verified = env.xtask(
        &project,
        &["release", "verify", "1.2.3", "--artifacts-only"],
    );
    assert!(
        verified
            .stdout
            .contains(&format!("✓ image {}/llm-proxy:1.2", registry.host)),
        "{verified}"
    );
}
