//! `release retarget` against a real registry, real helm, buildah and skopeo, real git with a
//! bare remote and gh with the GitHub API stand-in: a bad v1.2.4 that took `1.2` and
//! `latest` is moved away from, by digest, with a record that `verify` and `status` accept;
//! a re-run of v1.2.4's publish leaves the tags alone, and a newer release moves `latest`
//! forward again. Refusals change nothing.
//!
//! Checked with docker-registry 2.8.2, helm v3.18.0, buildah 1.28, skopeo 1.9, gh 2.103.3.

use std::process::Command;

use super::github::GitHub;
use super::{Env, Registry, build_slot, output, release_commit, release_project, require};
use crate::support::{Project, Run};

const TOKEN: &str = "ghp_canary0token0f7c2";

fn push_tag(project: &Project, name: &str) {
    project.git(&["tag", "-a", name, "-m", name]);
    project.git(&["push", "--quiet", "origin", name]);
}

/// Publishes `version`, promotes it and makes its GitHub release (Latest when highest).
fn released(project: &Project, env: &Env, github: &GitHub, version: &str) {
    release_commit(project, version);
    env.xtask(project, &["release", "publish", &format!("v{version}")])
        .success();
    push_tag(project, &format!("v{version}-stable"));
    let stable = format!("v{version}-stable");
    let args = ["release", "github", &stable, "--no-checks"];
    github.xtask(project, env, &args, TOKEN).success();
}

/// The cells of a table line, split on runs of two spaces or more.
fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// The bytes of the OCI manifest `llm-proxy:reference`, as stored.
fn manifest(host: &str, reference: &str) -> String {
    output(Command::new(require("curl")).args([
        "--silent",
        "--fail",
        "--header",
        "Accept: application/vnd.oci.image.manifest.v1+json",
        &format!("http://{host}/v2/llm-proxy/manifests/{reference}"),
    ]))
}

/// Stores `body` as the OCI manifest `llm-proxy:reference`, as anyone with push rights can.
fn put_manifest(host: &str, reference: &str, body: &str) {
    output(Command::new(require("curl")).args([
        "--silent",
        "--fail",
        "--request",
        "PUT",
        "--header",
        "Content-Type: application/vnd.oci.image.manifest.v1+json",
        "--data-binary",
        body,
        &format!("http://{host}/v2/llm-proxy/manifests/{reference}"),
    ]));
}

fn line<'a>(run: &'a Run, prefix: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?}:\n{run}"))
}

#[test]
fn latest_and_the_minor_tag_move_back_with_a_record_verify_status_and_publish_respect() {
    let _slot = build_slot();
    require("gh");
    require("skopeo");
    let github = GitHub::start();
    let registry = Registry::start();
    let env = Env::new(&registry.host);
    let project = release_project();
    let host = &registry.host;
    let xtask = |args: &[&str]| github.xtask(&project, &env, args, TOKEN);

    released(&project, &env, &github, "1.2.3");
    released(&project, &env, &github, "1.2.4");
    let good = registry.digest("llm-proxy", "v1.2.3").unwrap();
    let bad = registry.digest("llm-proxy", "v1.2.4").unwrap();
    assert_eq!(registry.digest("llm-proxy", "latest"), Some(bad.clone()));
    assert_eq!(
        github.state.lock().unwrap().latest.as_deref(),
        Some("v1.2.4-stable")
    );

    // Without a terminal and without --yes: refused, nothing changed.
    xtask(&["release", "retarget", "latest", "1.2.3"])
        .failure()
        .stderr_has("needs confirmation and there is no terminal to ask on, so nothing was changed: re-run with --yes");
    // The dry run prints the exact plan.
    let dry = xtask(&[
        "release",
        "retarget",
        "latest",
        "1.2.3",
        "--github",
        "--dry-run",
    ])
    .success();
    assert_eq!(
        dry.stdout.lines().next(),
        Some("release retarget latest 1.2.3:"),
        "{dry}"
    );
    assert!(
        line(&dry, "  1. write the record into ")
            .ends_with(&format!(": latest → v1.2.3 ({good}), away from v1.2.4")),
        "{dry}"
    );
    let record_push = dry.stdout.lines().nth(2).unwrap();
    assert!(
        record_push.starts_with(
            "     skopeo copy --quiet --preserve-digests --dest-tls-verify=false dir:"
        ) && record_push.ends_with(&format!(
            "/record docker://{host}/llm-proxy:retarget-latest"
        )),
        "{dry}"
    );
    assert_eq!(
        line(&dry, "  2. "),
        format!(
            "  2. skopeo copy --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false docker://{host}/llm-proxy@{good} docker://{host}/llm-proxy:latest"
        )
    );
    assert_eq!(
        line(&dry, "  3. "),
        "  3. gh release edit v1.2.3-stable --latest --repo sofatutor/llm-proxy"
    );
    assert_eq!(
        dry.stdout.lines().last(),
        Some("dry run: nothing was changed")
    );
    assert_eq!(registry.digest("llm-proxy", "latest"), Some(bad.clone()));
    assert_eq!(registry.digest("llm-proxy", "retarget-latest"), None);

    // Refusals: every problem at once, nothing changed.
    let refused = xtask(&["release", "retarget", "1.3", "1.2.3", "--yes"]).failure();
    assert!(
        refused.stdout.contains(
            "✗ 1.3 is the tag of the 1.3 line; v1.2.3 is of the 1.2 line: retarget 1.2 instead"
        ),
        "{refused}"
    );
    assert!(
        refused.stdout.contains(&format!(
            "✗ {host}/llm-proxy:1.3 does not exist: there is nothing to move back"
        )),
        "{refused}"
    );
    let refused = xtask(&["release", "retarget", "latest", "1.2.2", "--yes"]).failure();
    assert!(
        refused
            .stdout
            .contains("✗ v1.2.2 does not verify, so nothing is moved to it:"),
        "{refused}"
    );
    assert!(
        refused.stdout.contains("- tag v1.2.2: not on the remote"),
        "{refused}"
    );
    xtask(&["release", "retarget", "1.2", "1.2.4", "--yes"])
        .success()
        .stdout_has("nothing to do: the tag holds that image already");
    xtask(&["release", "retarget", "latest", "1.2.x"])
        .usage_error()
        .stderr_has("\"1.2.x\"");
    xtask(&["release", "retarget", "1.2.3", "1.2.3"])
        .usage_error()
        .stderr_has(
            "invalid moving tag \"1.2.3\": expected X.Y (a minor line, such as 1.4) or latest",
        );
    assert_eq!(registry.digest("llm-proxy", "latest"), Some(bad.clone()));

    // The retarget, GitHub's Latest following.
    let moved = xtask(&[
        "release", "retarget", "latest", "1.2.3", "--yes", "--github",
    ])
    .success();
    assert!(moved.stdout.contains(&format!("{host}/llm-proxy:latest now holds v1.2.3 ({good}), moved back from v1.2.4; recorded in {host}/llm-proxy:retarget-latest")), "{moved}");
    assert!(
        moved
            .stdout
            .contains("GitHub's Latest release is now v1.2.3-stable"),
        "{moved}"
    );
    assert_eq!(registry.digest("llm-proxy", "latest"), Some(good.clone()));
    assert_eq!(
        github.state.lock().unwrap().latest.as_deref(),
        Some("v1.2.3-stable")
    );
    xtask(&["release", "retarget", "1.2", "1.2.3", "--yes"]).success();
    assert_eq!(registry.digest("llm-proxy", "1.2"), Some(good.clone()));

    // verify and status accept the retargeted state and say so.
    let verified = xtask(&["release", "verify", "1.2.4"]).success();
    assert!(verified.stdout.contains(&format!("✓ image {host}/llm-proxy:latest: retargeted to v1.2.3 away from v1.2.4 (release retarget)")), "{verified}");
    assert!(
        verified.stdout.contains(&format!(
            "✓ image {host}/llm-proxy:1.2: retargeted to v1.2.3 away from v1.2.4 (release retarget)"
        )),
        "{verified}"
    );
    let verified = xtask(&["release", "verify", "1.2.3"]).success();
    assert!(
        verified.stdout.contains(&format!(
            "✓ image {host}/llm-proxy:latest: retargeted here from v1.2.4 (release retarget)"
        )),
        "{verified}"
    );
    let status = xtask(&["release", "status"]).success();
    assert_eq!(
        cells(line(&status, "v1.2.3 "))[6..],
        [
            "release, Latest",
            "1.2 (retargeted from v1.2.4), latest (retargeted from v1.2.4)",
            "released"
        ],
        "{status}"
    );
    assert_eq!(
        cells(line(&status, "v1.2.4 "))[6..],
        [
            "release",
            "1.2 retargeted to v1.2.3, latest retargeted to v1.2.3",
            "released"
        ],
        "{status}"
    );

    // A record pushed by hand that names a release that never was is not honoured: with
    // `from` v9.9.9, no later release would ever move `latest` forward again, and verify
    // would pass it for every version up to v9.9.9. Verify says why it cannot vouch for it.
    let genuine = manifest(host, "retarget-latest");
    let forged = genuine.replace(
        r#""org.llm-proxy.retarget.from":"v1.2.4""#,
        r#""org.llm-proxy.retarget.from":"v9.9.9""#,
    );
    assert_ne!(forged, genuine, "the record names v1.2.4: {genuine}");
    put_manifest(host, "retarget-latest", &forged);
    let refused = xtask(&["release", "verify", "1.2.4"]).failure();
    assert!(
        refused.stdout.contains(&format!(
            "✗ image {host}/llm-proxy:latest: unknown: the retarget record of latest names v9.9.9, which was never released (no such version tag on the remote)"
        )),
        "{refused}"
    );
    put_manifest(host, "retarget-latest", &genuine);
    xtask(&["release", "verify", "1.2.4"]).success();

    // A re-run of v1.2.4's publish does not take the tags back.
    env.xtask(&project, &["release", "publish", "v1.2.4"])
        .success()
        .stderr_has("latest was retargeted away from v1.2.4 (release retarget): a publish of v1.2.4 does not take it back; a newer release moves it forward");
    assert_eq!(registry.digest("llm-proxy", "latest"), Some(good.clone()));
    assert_eq!(registry.digest("llm-proxy", "1.2"), Some(good.clone()));

    // The next newer release moves latest forward as usual; 1.2 stays retargeted.
    release_commit(&project, "1.3.0");
    env.xtask(&project, &["release", "publish", "v1.3.0"])
        .success();
    let newer = registry.digest("llm-proxy", "v1.3.0").unwrap();
    assert_eq!(registry.digest("llm-proxy", "latest"), Some(newer));
    assert_eq!(registry.digest("llm-proxy", "1.2"), Some(good));
    xtask(&["release", "verify", "1.2.4"]).success();
    xtask(&["release", "verify", "1.3.0"]).success();
    let status = xtask(&["release", "status"]).success();
    assert!(
        cells(line(&status, "v1.3.0 "))[7..] == ["1.3, latest", "published"],
        "{status}"
    );
}
