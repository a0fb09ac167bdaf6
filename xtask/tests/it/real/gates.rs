//! The gates decide on everything they claim: `release verify` and the promotion gate, on
//! real artifacts in a real registry on 127.0.0.1, attested offline and checked with the real
//! gh. Each test is an attack that passed before the gates read the whole of what they
//! judge: an attestation made for another ref, a platform or a sidecar from elsewhere, a
//! release record edited or hidden.

use std::process::Command;

use super::github::GitHub;
use super::provenance::{
    Attester, CHART_WORKFLOW, IMAGE_WORKFLOW, REPOSITORY, Signer, forget_attestations,
};
use super::{
    Env, Published, Registry, build_slot, output, published, release_commit, release_project,
    require,
};
use crate::support::Run;

/// The check lines that failed, whole.
fn failed(run: &Run) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("✗ "))
        .map(str::to_string)
        .collect()
}

/// `skopeo copy --all`: the index and every platform, digests kept.
fn skopeo_copy(from: &str, to: &str) {
    output(Command::new(require("skopeo")).args([
        "copy",
        "--all",
        "--quiet",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &format!("docker://{from}"),
        &format!("docker://{to}"),
    ]));
}

/// Issue 17, item 1: the attestation's source ref must be the tag of the version gated.
/// A run of the right workflow on the right commit, but for a branch, or for another version
/// tagged on the same commit, does not vouch for this release.
#[test]
fn an_attestation_made_for_a_branch_or_another_version_on_the_same_commit_is_refused() {
    let _slot = build_slot();
    let Published {
        registry,
        project,
        mut env,
        commit,
    } = published();
    let attester = Attester::new(&mut env);
    let host = &registry.host;
    let image = registry.digest("llm-proxy", "v1.2.3").unwrap();
    let chart = registry.digest("charts/llm-proxy", "1.2.3").unwrap();
    let ci = |workflow| Signer {
        repository: REPOSITORY,
        workflow,
        commit: &commit,
    };
    attester.attest(
        &registry,
        "charts/llm-proxy",
        &chart,
        "1.2.3",
        &ci(CHART_WORKFLOW),
        None,
    );
    let verify = || env.xtask(&project, &["release", "verify", "1.2.3", "--provenance"]);

    // The image workflow run on the branch, at the very commit of v1.2.3.
    attester.attest_at(
        &registry,
        "llm-proxy",
        &image,
        "refs/heads/main",
        &ci(IMAGE_WORKFLOW),
        None,
    );
    let run = verify().failure();
    assert_eq!(
        failed(&run),
        ["✗ image provenance ref: built from refs/heads/main, expected refs/tags/v1.2.3"],
        "{run}"
    );
    forget_attestations(&registry, "llm-proxy", &image);
    attester.attest(
        &registry,
        "llm-proxy",
        &image,
        "1.2.3",
        &ci(IMAGE_WORKFLOW),
        None,
    );
    let good = verify().success();
    assert!(
        good.stdout
            .contains("✓ image provenance ref: refs/tags/v1.2.3, the tag of v1.2.3"),
        "{good}"
    );

    // v1.2.4 tagged on the same commit and published (its image elsewhere, so that nothing
    // of v1.2.3 is touched by publish), attested by its own run; then its index copied onto
    // v1.2.3 and v1.2.3's `sha-` tag, its attestation with it.
    project.git(&["tag", "-a", "v1.2.4", "-m", "Release v1.2.4", "v1.2.3^{}"]);
    project.git(&["push", "--quiet", "origin", "v1.2.4"]);
    let other = format!("{host}/elsewhere");
    let mut vars = env.pairs();
    vars.retain(|(k, _)| *k != "RELEASE_IMAGE");
    vars.push(("RELEASE_IMAGE", &other));
    project
        .xtask_env(&["release", "publish", "v1.2.4", "--only", "image"], &vars)
        .success();
    let v124 = registry.digest("elsewhere", "v1.2.4").unwrap();
    let sha = format!("sha-{}", &commit[..7]);
    for tag in ["v1.2.3", &sha] {
        skopeo_copy(
            &format!("{host}/elsewhere:v1.2.4"),
            &format!("{host}/llm-proxy:{tag}"),
        );
    }
    assert_eq!(registry.digest("llm-proxy", "v1.2.3"), Some(v124.clone()));
    attester.attest(
        &registry,
        "llm-proxy",
        &v124,
        "1.2.4",
        &ci(IMAGE_WORKFLOW),
        None,
    );
    // Everything else holds: the same commit, every platform, the tags, the chart.
    let run = verify().failure();
    assert_eq!(
        failed(&run),
        ["✗ image provenance ref: built from refs/tags/v1.2.4, expected refs/tags/v1.2.3"],
        "{run}"
    );

    // The promotion gate, with provenance on as Cargo.toml has it, refuses it alike.
    env.set("RELEASE_PROVENANCE", "");
    let before = project.remote_git(&["for-each-ref"]);
    let refused = env
        .xtask(&project, &["release", "promote", "1.2.3", "--yes"])
        .failure();
    assert!(
        format!("{refused}").contains(
            "image provenance ref: built from refs/tags/v1.2.4, expected refs/tags/v1.2.3"
        ),
        "{refused}"
    );
    assert_eq!(project.remote_git(&["for-each-ref"]), before);
}

/// Issue 17, item 2: every platform's revision label and every image the chart renders, with
/// provenance off (as `Env` sets it), in `release verify` and the promotion gate alike.
#[test]
fn a_platform_from_another_build_or_a_sidecar_from_elsewhere_fails_verify_and_the_gate() {
    let _slot = build_slot();
    let Published {
        registry,
        project,
        env,
        commit,
    } = published();
    let host = &registry.host;
    let newer = release_commit(&project, "1.2.4");
    env.xtask(
        &project,
        &["release", "publish", "v1.2.4", "--only", "image"],
    )
    .success();
    let verify = || env.xtask(&project, &["release", "verify", "1.2.3"]);
    let promote = || {
        let before = project.remote_git(&["for-each-ref"]);
        let refused = env
            .xtask(&project, &["release", "promote", "1.2.3", "--yes"])
            .failure();
        assert_eq!(project.remote_git(&["for-each-ref"]), before);
        format!("{refused}")
    };
    verify().success();

    // v1.2.3's index with its arm64 image replaced by v1.2.4's (another commit), under
    // v1.2.3 and its `sha-` tag: amd64, the first platform, is still v1.2.3's own.
    let sha = format!("sha-{}", &commit[..7]);
    skopeo_copy(
        &format!("{host}/llm-proxy:v1.2.3"),
        &format!("{host}/llm-proxy:original"),
    );
    let original = registry.raw("llm-proxy", "v1.2.3");
    let arm64 = |index: &serde_yaml::Value| {
        index["manifests"]
            .as_sequence()
            .unwrap()
            .iter()
            .position(|m| m["platform"]["architecture"].as_str() == Some("arm64"))
            .unwrap()
    };
    assert_eq!(
        original["manifests"][0]["platform"]["architecture"].as_str(),
        Some("amd64")
    );
    let mut mixed = original.clone();
    let from = registry.raw("llm-proxy", "v1.2.4");
    let at = arm64(&mixed);
    mixed["manifests"][at] = from["manifests"][arm64(&from)].clone();
    for tag in ["v1.2.3", &sha] {
        put_manifest(&registry, "llm-proxy", tag, &mixed);
    }
    let run = verify().failure();
    assert_eq!(
        failed(&run),
        [format!(
            "✗ image revision label: linux/arm64: {newer}, expected {commit}"
        )],
        "{run}"
    );
    let refused = promote();
    assert!(
        refused.contains(&format!(
            "image revision label: linux/arm64: {newer}, expected {commit}"
        )),
        "{refused}"
    );
    for tag in ["v1.2.3", &sha] {
        skopeo_copy(
            &format!("{host}/llm-proxy:original"),
            &format!("{host}/llm-proxy:{tag}"),
        );
    }
    verify().success();

    // Chart 1.2.3 re-pushed with a sidecar from elsewhere after the release's own container:
    // the published chart, whose values name this registry's image (a publish puts the work
    // tree's chart back unstamped).
    let vars = env.pairs();
    let helm = require("helm");
    let pulled = env.dir.path().join("sidecar-pulled");
    output(
        Command::new(&helm)
            .args(["pull", "--plain-http", "--version", "1.2.3", "--untar"])
            .arg(format!("oci://{host}/charts/llm-proxy"))
            .arg("--untardir")
            .arg(&pulled)
            .envs(vars.iter().copied()),
    );
    let chart = pulled.join("llm-proxy");
    let deployment = chart.join("templates/deployment.yaml");
    let text = std::fs::read_to_string(&deployment).unwrap();
    let last = "            {{- toYaml .Values.resources | nindent 12 }}\n";
    assert_eq!(text.matches(last).count(), 1);
    let sidecar = "        - name: sidecar\n          image: \"127.0.0.1:1/sidecar:1\"\n";
    std::fs::write(&deployment, text.replace(last, &format!("{last}{sidecar}"))).unwrap();
    let dest = env.dir.path().join("sidecar-package");
    output(
        Command::new(&helm)
            .args(["package", "--version", "1.2.3", "--app-version", "v1.2.3"])
            .arg("--destination")
            .arg(&dest)
            .arg(&chart)
            .envs(vars.iter().copied()),
    );
    output(
        Command::new(&helm)
            .args(["push", "--plain-http"])
            .arg(dest.join("llm-proxy-1.2.3.tgz"))
            .arg(format!("oci://{host}/charts"))
            .envs(vars.iter().copied()),
    );
    let run = verify().failure();
    assert_eq!(
        failed(&run),
        [format!(
            "✗ chart default image: 127.0.0.1:1/sidecar:1, expected {host}/llm-proxy:v1.2.3"
        )],
        "{run}"
    );
    let refused = promote();
    assert!(
        refused.contains("chart default image: 127.0.0.1:1/sidecar:1"),
        "{refused}"
    );
}

/// Puts `manifest` (an index or a manifest, as JSON) under `name:tag`.
fn put_manifest(registry: &Registry, name: &str, tag: &str, manifest: &serde_yaml::Value) {
    let media_type = manifest["mediaType"].as_str().unwrap();
    output(Command::new(require("curl")).args([
        "--silent",
        "--show-error",
        "--fail",
        "--request",
        "PUT",
        "--header",
        &format!("Content-Type: {media_type}"),
        "--data-binary",
        &json(manifest),
        &format!("http://{}/v2/{name}/manifests/{tag}", registry.host),
    ]));
}

/// `value` as JSON (serde_yaml reads JSON but writes YAML).
fn json(value: &serde_yaml::Value) -> String {
    use serde_yaml::Value;
    let text = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => text(s),
        Value::Sequence(items) => {
            format!("[{}]", items.iter().map(json).collect::<Vec<_>>().join(","))
        }
        Value::Mapping(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}:{}", text(k.as_str().unwrap()), json(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Tagged(_) => panic!("a manifest has no YAML tags"),
    }
}

/// Issue 17, item 3: the record of a GitHub release is compared in full, and there is exactly
/// one, outside any comment. Each edit alone fails `release verify`, naming the row.
#[test]
fn a_release_record_hidden_in_a_comment_or_with_one_row_edited_fails_verify() {
    let _slot = build_slot();
    let Published {
        registry,
        project,
        mut env,
        commit,
    } = published();
    let attester = Attester::new(&mut env);
    // Provenance on, as Cargo.toml has it: the record names the attestations.
    env.set("RELEASE_PROVENANCE", "");
    let host = &registry.host;
    let image = registry.digest("llm-proxy", "v1.2.3").unwrap();
    let chart = registry.digest("charts/llm-proxy", "1.2.3").unwrap();
    attester.attest_as_ci(&registry, "1.2.3", &commit, &image, &chart);
    env.xtask(&project, &["release", "promote", "1.2.3", "--yes"])
        .success();
    let github = GitHub::start();
    github
        .xtask(
            &project,
            &env,
            &["release", "github", "v1.2.3-stable", "--no-checks"],
            "gh-token",
        )
        .success();
    let made = github.state.lock().unwrap().body.clone().unwrap();
    let verify = |body: &str| {
        github.state.lock().unwrap().body = Some(body.to_string());
        github.xtask(&project, &env, &["release", "verify", "1.2.3"], "gh-token")
    };
    let good = verify(&made).success();
    assert!(
        good.stdout
            .contains("✓ github release record: the registry still serves what was released"),
        "{good}"
    );
    // The one line of the record that starts with `start`, and the body with it replaced.
    let row = |start: &str| {
        let rows: Vec<&str> = made.lines().filter(|l| l.starts_with(start)).collect();
        assert_eq!(rows.len(), 1, "{start:?} in:\n{made}");
        rows[0].to_string()
    };
    let edited = |start: &str, edit: &dyn Fn(&str) -> String| {
        let line = row(start);
        made.replacen(&format!("{line}\n"), &edit(&line), 1)
    };
    let sha = format!("sha-{}", &commit[..7]);
    let image_row = row("| image | ");
    let chart_row = row("| chart | ");
    let attestation_row = row("| image attestation | ");
    let cases: Vec<(&str, String, String)> = vec![
        (
            "a platform row deleted",
            edited("| linux/arm64 | ", &|_| String::new()),
            "linux/arm64 is sha256:".into(),
        ),
        (
            "the image repository changed",
            edited("| image | ", &|l| {
                format!("{}\n", l.replace("/llm-proxy@", "/elsewhere@"))
            }),
            format!("the image repository is {host}/llm-proxy, recorded {host}/elsewhere"),
        ),
        (
            "the chart reference changed",
            edited("| chart | ", &|l| {
                format!("{}\n", l.replace("/charts/llm-proxy:", "/charts/other:"))
            }),
            format!(
                "the chart reference is oci://{host}/charts/llm-proxy:1.2.3, recorded oci://{host}/charts/other:1.2.3"
            ),
        ),
        (
            "latest replaced in the tags row",
            edited("| image tags | ", &|l| {
                format!("{}\n", l.replace("`latest`", "`edge`"))
            }),
            "the image tags name edge, not a tag of this release; the image tags lack latest"
                .into(),
        ),
        (
            "an attestation row changed",
            edited("| image attestation | ", &|l| {
                format!("{}\n", l.replace("@refs/tags/v1.2.3`", "@refs/heads/main`"))
            }),
            format!("image attestation is {}", {
                let value = attestation_row.trim_end_matches(" |");
                value
                    .trim_start_matches("| image attestation | ")
                    .to_string()
            }),
        ),
        (
            "an attestation row removed",
            edited("| image attestation | ", &|_| String::new()),
            "not recorded".into(),
        ),
        (
            // Another table shown, with other digests; the real record hidden below it.
            "the record hidden in a comment",
            {
                let at = made.find("## Artifacts").unwrap();
                let (notes, record) = made.split_at(at);
                let shown = record
                    .replace("## Artifacts", "**Artifacts**")
                    .replace(&image, &format!("sha256:{}", "0".repeat(64)));
                format!("{notes}{shown}\n<!--\n{record}-->\n")
            },
            "the `## Artifacts` record is inside an HTML comment".into(),
        ),
        (
            "a second record",
            format!("{made}\n{}", &made[made.find("## Artifacts").unwrap()..]),
            "the notes hold 2 `## Artifacts` records: there must be exactly one".into(),
        ),
    ];
    assert!(
        image_row.contains(&image) && chart_row.contains(&chart),
        "{made}"
    );
    assert!(made.contains("`latest` |") && made.contains(&sha), "{made}");
    for (case, body, said) in cases {
        assert_ne!(body, made, "{case}: the edit changed nothing");
        let run = verify(&body).failure();
        let failed = failed(&run);
        assert_eq!(failed.len(), 1, "{case}:\n{run}");
        assert!(
            failed[0].starts_with("✗ github release record: ") && failed[0].contains(&said),
            "{case}: expected {said:?}:\n{run}"
        );
    }
    verify(&made).success();
}

/// Issue 18, rough edge 6: promoting before the publishing workflows have run says that the
/// artifacts are not there yet and what to wait for, once, instead of every failing check.
#[test]
fn a_promotion_before_anything_is_published_says_what_to_wait_for() {
    let _slot = build_slot();
    let registry = Registry::start();
    let env = Env::new(&registry.host);
    let project = release_project();
    release_commit(&project, "1.0.0");
    let run = env.xtask(&project, &["release", "promote", "1.0.0", "--dry-run"]);
    assert_eq!(run.code, 1, "{run}");
    let problem = "v1.0.0 is not published yet: the image v1.0.0 and the chart 1.0.0 are not in the registry; wait for the docker/helm-publish workflows of v1.0.0 (or run `cargo xtask release status 1.0.0`)";
    // Said once: on stderr with its fix; the plan on stdout only counts it.
    assert!(run.stderr.contains(&format!("  - {problem}\n")), "{run}");
    assert!(
        run.stdout
            .contains("  FAIL  1 problem, given with its fix on stderr\n"),
        "{run}"
    );
    assert!(!run.stdout.contains(problem), "{run}");
    assert!(!run.stdout.contains("do not verify"), "{run}");
    assert!(!run.stdout.contains("provenance"), "{run}");
}
