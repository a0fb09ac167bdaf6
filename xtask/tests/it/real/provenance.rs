//! Signed build provenance, end to end and offline: a real two-platform index built by
//! buildah and a real chart, pushed to a real registry on 127.0.0.1; attestations made by
//! GitHub's own signing library (`@actions/attest`, with Fulcio, the timestamp authority
//! and the OIDC token replaced in-process by `@sigstore/mock`) and attached by
//! `@sigstore/oci`, as the workflows' `actions/attest` step does
//! (`scripts/provenance/attest.mjs`); then `release verify --provenance` and the promotion
//! gate, through `gh attestation verify --bundle-from-oci --custom-trusted-root`.
//!
//! The registry (distribution 2.8) has no referrers API, so the attestations hang under the
//! `sha256-<hex>` fallback tag, where gh finds them.
//!
//! Checked with docker-registry 2.8.2, buildah 1.28, helm v3.18.0, gh 2.103.3, node 20,
//! @actions/attest 3.2.0, @sigstore/mock 0.13.0, @sigstore/oci 0.7.2.

use std::path::PathBuf;
use std::process::Command;

use super::github::GitHub;
use super::{
    Env, Published, Registry, build_slot, output, published, release_commit, release_project,
    require, workspace,
};
use crate::support::{Project, Run};

pub(super) const REPOSITORY: &str = "sofatutor/llm-proxy";
pub(super) const IMAGE_WORKFLOW: &str = ".github/workflows/docker.yml";
pub(super) const CHART_WORKFLOW: &str = ".github/workflows/helm-publish.yml";

/// `scripts/provenance/attest.mjs`, and the trusted root it appends its mock roots to.
pub(super) struct Attester {
    script: PathBuf,
    trusted_root: PathBuf,
}

/// Who signs, as the OIDC token of a workflow run says.
pub(super) struct Signer<'a> {
    pub(super) repository: &'a str,
    pub(super) workflow: &'a str,
    pub(super) commit: &'a str,
}

impl Attester {
    /// Fails, never skips, when node or the npm packages are missing.
    pub(super) fn new(env: &mut Env) -> Attester {
        require("gh");
        let node = require("node");
        let script = workspace().join("scripts/provenance/attest.mjs");
        let installed = Command::new(node).arg(&script).arg("--installed").status();
        assert!(
            installed.is_ok_and(|s| s.success()),
            "the real-tools tests need the npm packages of scripts/provenance/package-lock.json: run scripts/install-test-tools.sh"
        );
        // Each attestation adds the roots it was signed with; none yet.
        let trusted_root = env.dir.path().join("trusted-root.jsonl");
        std::fs::write(&trusted_root, "").unwrap();
        env.set("RELEASE_TRUSTED_ROOT", trusted_root.to_str().unwrap());
        // gh's own configuration in the test's directory, never the developer's.
        let gh = env.dir.path().join("gh");
        env.set("GH_CONFIG_DIR", gh.to_str().unwrap());
        env.set("GH_NO_UPDATE_NOTIFIER", "1");
        Attester {
            script,
            trusted_root,
        }
    }

    /// Attests `name@digest` in `registry` as `signer`'s run for the tag `v{version}`;
    /// `statement_digest` makes the statement name another artifact.
    pub(super) fn attest(
        &self,
        registry: &Registry,
        name: &str,
        digest: &str,
        version: &str,
        signer: &Signer<'_>,
        statement_digest: Option<&str>,
    ) -> String {
        let git_ref = format!("refs/tags/v{version}");
        self.attest_at(registry, name, digest, &git_ref, signer, statement_digest)
    }

    /// What the publishing workflows do for v`version` on `commit`: each attests what it
    /// pushed, the image (`image`, its index digest) and the chart (`chart`).
    pub(super) fn attest_as_ci(
        &self,
        registry: &Registry,
        version: &str,
        commit: &str,
        image: &str,
        chart: &str,
    ) {
        for (name, digest, workflow) in [
            ("llm-proxy", image, IMAGE_WORKFLOW),
            ("charts/llm-proxy", chart, CHART_WORKFLOW),
        ] {
            let signer = Signer {
                repository: REPOSITORY,
                workflow,
                commit,
            };
            self.attest(registry, name, digest, version, &signer, None);
        }
    }

    /// Attests as `signer`'s run for `git_ref` (a tag, a branch, a pull request).
    pub(super) fn attest_at(
        &self,
        registry: &Registry,
        name: &str,
        digest: &str,
        git_ref: &str,
        signer: &Signer<'_>,
        statement_digest: Option<&str>,
    ) -> String {
        let mut node = Command::new(require("node"));
        node.arg(&self.script)
            .arg(format!("{}/{name}@{digest}", registry.host))
            .arg("--trusted-root")
            .arg(&self.trusted_root)
            .args(["--repository", signer.repository])
            .args(["--workflow", signer.workflow])
            .args(["--ref", git_ref])
            .args(["--sha", signer.commit]);
        if let Some(other) = statement_digest {
            node.args(["--statement-digest", other]);
        }
        let printed: serde_yaml::Value = serde_yaml::from_str(&output(&mut node)).unwrap();
        printed["attestation"].as_str().unwrap().to_string()
    }
}

/// Removes every attestation of `name@digest`: the fallback tag's index goes (the registry
/// deletes by digest), so gh finds none and the next one starts a fresh list.
pub(super) fn forget_attestations(registry: &Registry, name: &str, digest: &str) {
    let tag = digest.replace(':', "-");
    let index = registry
        .digest(name, &tag)
        .unwrap_or_else(|| panic!("{name}:{tag} holds no attestations"));
    output(Command::new(require("curl")).args([
        "--silent",
        "--fail",
        "--request",
        "DELETE",
        &format!("http://{}/v2/{name}/manifests/{index}", registry.host),
    ]));
    assert_eq!(registry.digest(name, &tag), None);
}

/// The check lines that failed, whole.
fn failed(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("✗ "))
        .map(str::to_string)
        .collect()
}

fn verify(env: &Env, project: &Project, version: &str) -> Run {
    env.xtask(project, &["release", "verify", version, "--provenance"])
}

#[test]
fn provenance_passes_for_this_repository_workflow_and_commit_and_fails_for_any_other() {
    let _slot = build_slot();
    let Published {
        registry,
        project,
        mut env,
        commit,
    } = published();
    let attester = Attester::new(&mut env);
    let image = registry.digest("llm-proxy", "v1.2.3").unwrap();
    let chart = registry.digest("charts/llm-proxy", "1.2.3").unwrap();
    let image_ref = format!("{}/llm-proxy:v1.2.3", registry.host);
    let chart_ref = format!("{}/charts/llm-proxy:1.2.3", registry.host);

    // Published by hand, as it were: no attestation of either.
    let run = verify(&env, &project, "1.2.3").failure();
    assert_eq!(
        failed(&run),
        [
            format!(
                "✗ image provenance: no attestation of {image_ref} in its registry: its workflow did not attest it, or it was pushed by something else"
            ),
            format!(
                "✗ chart provenance: no attestation of {chart_ref} in its registry: its workflow did not attest it, or it was pushed by something else"
            ),
        ],
        "{run}"
    );
    // Without --provenance (and provenance off, as Env sets it) nothing is asked of gh.
    let plain = env
        .xtask(&project, &["release", "verify", "1.2.3"])
        .success();
    assert!(!plain.stdout.contains("provenance"), "{plain}");

    // What the workflows do: each publishing workflow attests what it pushed.
    let ci = |workflow| Signer {
        repository: REPOSITORY,
        workflow,
        commit: &commit,
    };
    attester.attest_as_ci(&registry, "1.2.3", &commit, &image, &chart);
    let good = verify(&env, &project, "1.2.3").success();
    for line in [
        format!("✓ image provenance signer: {REPOSITORY} ({image} attested)"),
        format!("✓ image provenance workflow: {REPOSITORY}/{IMAGE_WORKFLOW}@refs/tags/v1.2.3"),
        format!("✓ image provenance commit: {commit}, the commit of v1.2.3"),
        format!("✓ chart provenance signer: {REPOSITORY} ({chart} attested)"),
        format!("✓ chart provenance workflow: {REPOSITORY}/{CHART_WORKFLOW}@refs/tags/v1.2.3"),
        format!("✓ chart provenance commit: {commit}, the commit of v1.2.3"),
    ] {
        assert!(good.stdout.contains(&line), "missing {line:?}:\n{good}");
    }
    let total = good.stdout.lines().filter(|l| l.starts_with('✓')).count();
    let json = env
        .xtask(
            &project,
            &["release", "verify", "1.2.3", "--provenance", "--json"],
        )
        .success();
    let checks: serde_yaml::Value = serde_yaml::from_str(&json.stdout).unwrap();
    let names: Vec<&str> = checks
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|c| c["ok"].as_bool() == Some(true))
        .filter_map(|c| c["check"].as_str())
        .filter(|n| n.contains("provenance"))
        .collect();
    assert_eq!(
        names,
        [
            "image provenance signer",
            "image provenance workflow",
            "image provenance ref",
            "image provenance commit",
            "chart provenance signer",
            "chart provenance workflow",
            "chart provenance ref",
            "chart provenance commit",
        ]
    );

    // Each wrong attestation alone on the image: its own check fails, naming what it found,
    // and every other check is still reported and passes.
    let other_commit = "f".repeat(40);
    let cases: Vec<(Signer<'_>, Option<&str>, Vec<String>)> = vec![
        (
            Signer {
                repository: "sofatutor/fork",
                workflow: IMAGE_WORKFLOW,
                commit: &commit,
            },
            None,
            vec![
                format!("✗ image provenance signer: sofatutor/fork, expected {REPOSITORY}"),
                format!(
                    "✗ image provenance workflow: sofatutor/fork/{IMAGE_WORKFLOW}@refs/tags/v1.2.3, expected {REPOSITORY}/{IMAGE_WORKFLOW}"
                ),
            ],
        ),
        (
            Signer {
                repository: "someone/llm-proxy",
                workflow: IMAGE_WORKFLOW,
                commit: &commit,
            },
            None,
            vec![format!(
                "✗ image provenance: {image_ref} has attestations, but none verifies: expected SourceRepositoryOwnerURI to be https://github.com/sofatutor, got https://github.com/someone"
            )],
        ),
        (
            ci(".github/workflows/ci.yml"),
            None,
            vec![format!(
                "✗ image provenance workflow: {REPOSITORY}/.github/workflows/ci.yml@refs/tags/v1.2.3, expected {REPOSITORY}/{IMAGE_WORKFLOW}"
            )],
        ),
        (
            Signer {
                repository: REPOSITORY,
                workflow: IMAGE_WORKFLOW,
                commit: &other_commit,
            },
            None,
            vec![format!(
                "✗ image provenance commit: built from {other_commit}, but v1.2.3 is on {commit}"
            )],
        ),
        // An attestation of the chart, hung on the image.
        (
            ci(IMAGE_WORKFLOW),
            Some(chart.as_str()),
            vec![format!(
                "✗ image provenance: {image_ref} has attestations, but none verifies: verifying with issuer \"sigstore.mock\""
            )],
        ),
    ];
    for (signer, statement, expected) in cases {
        forget_attestations(&registry, "llm-proxy", &image);
        attester.attest(&registry, "llm-proxy", &image, "1.2.3", &signer, statement);
        let run = verify(&env, &project, "1.2.3").failure();
        assert_eq!(failed(&run), expected, "{run}");
        let reported = run
            .stdout
            .lines()
            .filter(|l| l.starts_with('✓') || l.starts_with('✗'))
            .count();
        // An attestation refused or missing is one check instead of four.
        let collapsed = expected[0].starts_with("✗ image provenance: ");
        assert_eq!(
            reported,
            if collapsed { total - 3 } else { total },
            "every check is still reported:\n{run}"
        );
    }

    // Signed as CI would sign, by a certificate authority the trusted root does not hold
    // (someone's own Sigstore): refused.
    let elsewhere = Attester {
        script: attester.script.clone(),
        trusted_root: env.dir.path().join("elsewhere.jsonl"),
    };
    forget_attestations(&registry, "llm-proxy", &image);
    elsewhere.attest(
        &registry,
        "llm-proxy",
        &image,
        "1.2.3",
        &ci(IMAGE_WORKFLOW),
        None,
    );
    let run = verify(&env, &project, "1.2.3").failure();
    assert_eq!(
        failed(&run),
        [format!(
            "✗ image provenance: {image_ref} has attestations, but none verifies: verifying with issuer \"sigstore.mock\""
        )],
        "{run}"
    );

    // The right attestation back on the image; then a chart without any.
    forget_attestations(&registry, "llm-proxy", &image);
    attester.attest(
        &registry,
        "llm-proxy",
        &image,
        "1.2.3",
        &ci(IMAGE_WORKFLOW),
        None,
    );
    verify(&env, &project, "1.2.3").success();
    forget_attestations(&registry, "charts/llm-proxy", &chart);
    let run = verify(&env, &project, "1.2.3").failure();
    assert_eq!(
        failed(&run),
        [format!(
            "✗ chart provenance: no attestation of {chart_ref} in its registry: its workflow did not attest it, or it was pushed by something else"
        )],
        "{run}"
    );

    // A trusted root that cannot be read: unknown, never a pass.
    env.set(
        "RELEASE_TRUSTED_ROOT",
        env.dir.path().join("missing.jsonl").to_str().unwrap(),
    );
    let run = verify(&env, &project, "1.2.3").failure();
    let unknown = failed(&run);
    assert_eq!(unknown.len(), 2, "{run}");
    assert!(
        unknown.iter().all(|l| l
            .contains(": unknown: gh attestation verify: error creating Sigstore verifier")
            && l.contains("missing.jsonl")),
        "{run}"
    );
}

/// Promotion, then the GitHub release, whose record names the attestations that passed.
#[test]
fn promote_with_provenance_on_is_refused_without_an_attestation_and_allowed_with_one() {
    let _slot = build_slot();
    let registry = Registry::start();
    let project = release_project();
    let mut env = Env::new(&registry.host);
    let attester = Attester::new(&mut env);
    // As Cargo.toml says: this repository turns provenance on.
    env.set("RELEASE_PROVENANCE", "");
    let cargo_toml = std::fs::read_to_string(project.work.join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains("\nprovenance = true\n"), "{cargo_toml}");
    let commit = release_commit(&project, "1.3.0");
    env.xtask(&project, &["release", "publish", "v1.3.0"])
        .success();

    let before = project.remote_git(&["for-each-ref"]);
    let refused = env
        .xtask(&project, &["release", "promote", "1.3.0", "--yes"])
        .failure();
    let said = format!("{refused}");
    assert!(
        said.contains(&format!(
            "image provenance: no attestation of {}/llm-proxy:v1.3.0",
            registry.host
        )),
        "{refused}"
    );
    assert!(
        said.contains("chart provenance: no attestation"),
        "{refused}"
    );
    assert_eq!(
        project.remote_git(&["for-each-ref"]),
        before,
        "a refused promotion changes nothing"
    );

    let signer = |workflow| Signer {
        repository: REPOSITORY,
        workflow,
        commit: &commit,
    };
    let image = registry.digest("llm-proxy", "v1.3.0").unwrap();
    let chart = registry.digest("charts/llm-proxy", "1.3.0").unwrap();
    let image_attestation = attester.attest(
        &registry,
        "llm-proxy",
        &image,
        "1.3.0",
        &signer(IMAGE_WORKFLOW),
        None,
    );
    let chart_attestation = attester.attest(
        &registry,
        "charts/llm-proxy",
        &chart,
        "1.3.0",
        &signer(CHART_WORKFLOW),
        None,
    );
    let promoted = env
        .xtask(&project, &["release", "promote", "1.3.0", "--yes"])
        .success();
    assert!(
        promoted
            .stdout
            .contains("ok    the published artifacts of v1.3.0 verify (the promotion gate)"),
        "{promoted}"
    );
    let stable = project.remote_git(&["rev-parse", "v1.3.0-stable^{}"]);
    assert_eq!(stable, commit);

    // The GitHub release's gate checks provenance too, and its record names what passed.
    let github = GitHub::start();
    let args = ["release", "github", "v1.3.0-stable", "--no-checks"];
    github.xtask(&project, &env, &args, "gh-token").success();
    let posts = github.posts_to("/repos/sofatutor/llm-proxy/releases");
    let body = posts[0]["body"].as_str().unwrap();
    let host = &registry.host;
    for row in [
        format!(
            "| image attestation | `{host}/llm-proxy@{image_attestation}` by `{REPOSITORY}/{IMAGE_WORKFLOW}@refs/tags/v1.3.0` |"
        ),
        format!(
            "| chart attestation | `{host}/charts/llm-proxy@{chart_attestation}` by `{REPOSITORY}/{CHART_WORKFLOW}@refs/tags/v1.3.0` |"
        ),
    ] {
        assert!(body.lines().any(|l| l == row), "{row:?} in:\n{body}");
    }
}
