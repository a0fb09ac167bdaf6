//! `release publish` with buildah, helm and a real registry on 127.0.0.1: the full publish,
//! the no-op re-run, a half-published release completed by a re-run, registry errors that
//! must never read as "absent", a version that exists with other content, and secrets.
//!
//! Checked with docker-registry 2.8.2, helm v3.18.0, buildah 1.28, skopeo 1.9 (Debian 12).

use std::process::Command;

use super::{
    Env, Registry, build_slot, output, path_without, release_commit, release_project, require,
};
use crate::support::{Project, TempDir, spawn_xtask, wait, xtask_in};

fn tag(project: &Project, name: &str) -> String {
    project.git(&["tag", "-a", name, "-m", name]);
    project.git(&["rev-parse", "HEAD"])
}

/// Every platform of the index, attestations (`unknown/unknown`) left out.
fn platforms(index: &serde_yaml::Value) -> Vec<String> {
    index["manifests"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .filter(|p| p != "unknown/unknown")
        .collect()
}

#[test]
fn publish_pushes_chart_and_two_platform_image_then_reruns_as_a_no_op() {
    let _slot = build_slot();
    let registry = Registry::start();
    let project = release_project();
    let commit = tag(&project, "v1.2.3");
    let env = Env::new(&registry.host);

    let first = env
        .xtask(&project, &["release", "publish", "v1.2.3"])
        .success();
    let digest = registry
        .digest("llm-proxy", "v1.2.3")
        .expect("v1.2.3 pushed");
    for tag in ["1.2", &format!("sha-{}", &commit[..7]), "latest"] {
        assert_eq!(
            registry.digest("llm-proxy", tag).as_deref(),
            Some(digest.as_str()),
            "{tag} must hold the digest of v1.2.3"
        );
    }
    let index = registry.raw("llm-proxy", "v1.2.3");
    assert_eq!(platforms(&index), ["linux/amd64", "linux/arm64"]);
    assert!(
        first.stdout.contains(&format!(
            "image {}/llm-proxy:latest {digest} (pushed)",
            registry.host
        )),
        "{first}"
    );
    // Data on stdout, logs on stderr: the tools' chatter is not in the data.
    assert!(!first.stdout.contains("STEP 1/"), "{first}");

    // The chart, read back by helm itself; its default image is the one just pushed.
    let env_vars: Vec<(&str, &str)> = env.pairs();
    let shown = output(
        Command::new(require("helm"))
            .args(["show", "chart", "--plain-http", "--version", "1.2.3"])
            .arg(format!("oci://{}/charts/llm-proxy", registry.host))
            .envs(env_vars.iter().copied()),
    );
    assert!(shown.contains("version: 1.2.3"), "{shown}");
    assert!(shown.contains("appVersion: v1.2.3"), "{shown}");
    let values = output(
        Command::new(require("helm"))
            .args(["show", "values", "--plain-http", "--version", "1.2.3"])
            .arg(format!("oci://{}/charts/llm-proxy", registry.host))
            .envs(env_vars.iter().copied()),
    );
    assert!(
        values.contains(&format!("repository: {}/llm-proxy", registry.host)),
        "{values}"
    );

    // The binaries say which release they are; the arm64 one runs under qemu, no binfmt.
    let expected = format!("llm-proxy v1.2.3 ({commit})\n");
    let amd64 = project.work.join("dist/linux-amd64/llm-proxy");
    assert_eq!(output(Command::new(&amd64).arg("--version")), expected);
    let arm64 = project.work.join("dist/linux-arm64/llm-proxy");
    assert_eq!(
        output(
            Command::new(require("qemu-aarch64-static"))
                .arg(&arm64)
                .arg("--version")
        ),
        expected
    );

    // A re-run rebuilds the same image, finds everything in place and pushes nothing.
    let second = env
        .xtask(&project, &["release", "publish", "v1.2.3"])
        .success();
    assert!(!second.stdout.contains("(pushed)"), "{second}");
    assert!(second.stdout.contains("(already there)"), "{second}");
    assert_eq!(
        registry.digest("llm-proxy", "v1.2.3").as_deref(),
        Some(digest.as_str())
    );
}

#[test]
fn rerun_after_a_failed_chart_push_completes_the_release() {
    let _slot = build_slot();
    let registry = Registry::start();
    let project = release_project();
    tag(&project, "v0.3.0");
    let mut env = Env::new(&registry.host);

    // A helm whose push fails, as when the registry drops the chart upload.
    let fake = TempDir::new();
    let real_helm = require("helm");
    let script = fake.path().join("helm");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nif [ \"$1\" = push ]; then echo 'Error: simulated outage during upload' >&2; exit 1; fi\nexec {} \"$@\"\n",
            real_helm.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        fake.path().display(),
        std::env::var("PATH").unwrap()
    );
    env.set("PATH", &path);
    let failed = env
        .xtask(&project, &["release", "publish", "v0.3.0"])
        .failure();
    assert!(failed.stderr.contains("simulated outage"), "{failed}");
    let digest = registry
        .digest("llm-proxy", "v0.3.0")
        .expect("the image was pushed before the chart");
    assert_eq!(registry.digest("charts/llm-proxy", "0.3.0"), None);

    env.set("PATH", &std::env::var("PATH").unwrap());
    let rerun = env
        .xtask(&project, &["release", "publish", "v0.3.0"])
        .success();
    assert!(
        rerun.stdout.contains(&format!(
            "image {}/llm-proxy:v0.3.0 {digest} (already there)",
            registry.host
        )),
        "{rerun}"
    );
    assert!(
        rerun.stdout.contains(&format!(
            "chart oci://{}/charts/llm-proxy:0.3.0",
            registry.host
        )),
        "{rerun}"
    );
    assert!(rerun.stdout.contains("(pushed)"), "{rerun}");
    assert!(registry.digest("charts/llm-proxy", "0.3.0").is_some());
}

#[test]
fn a_version_published_with_other_content_is_refused() {
    let _slot = build_slot();
    let registry = Registry::start();
    let project = release_project();
    tag(&project, "v2.0.0");
    let env = Env::new(&registry.host);
    env.xtask(&project, &["release", "publish", "v2.0.0"])
        .success();
    let image = registry.digest("llm-proxy", "v2.0.0").unwrap();
    let chart = registry.digest("charts/llm-proxy", "2.0.0").unwrap();

    // The tag moved to another commit with another chart: both artifacts differ now.
    project.git(&["checkout", "--quiet", "--", "."]);
    project.write(
        "charts/llm-proxy/templates/NOTES.txt",
        "A different chart.\n",
    );
    project.commit("change the chart");
    project.git(&["tag", "--force", "-a", "v2.0.0", "-m", "moved"]);

    let refused = env
        .xtask(
            &project,
            &["release", "publish", "v2.0.0", "--only", "image"],
        )
        .failure();
    assert!(
        refused.stderr.contains("already holds a different image"),
        "{refused}"
    );
    let refused = env
        .xtask(
            &project,
            &["release", "publish", "v2.0.0", "--only", "chart"],
        )
        .failure();
    assert!(
        refused.stderr.contains(
            "already published with different content (llm-proxy/templates/NOTES.txt differs)"
        ),
        "{refused}"
    );
    assert_eq!(registry.digest("llm-proxy", "v2.0.0"), Some(image));
    assert_eq!(registry.digest("charts/llm-proxy", "2.0.0"), Some(chart));
}

#[test]
fn registry_401_is_an_error_and_a_login_keeps_the_password_secret() {
    let _slot = build_slot();
    let canary = "canary-Pa55word-7f3a";
    let registry = Registry::with_login("tester", canary);
    let project = release_project();
    tag(&project, "v1.0.0");
    let mut env = Env::new(&registry.host);

    let refused = env
        .xtask(
            &project,
            &["release", "publish", "v1.0.0", "--only", "image"],
        )
        .failure();
    assert!(refused.stderr.contains("HTTP 401"), "{refused}");
    assert!(
        refused.stderr.contains("RELEASE_REGISTRY_USER"),
        "{refused}"
    );
    assert_eq!(registry.digest("llm-proxy", "v1.0.0"), None);

    env.set("RELEASE_REGISTRY_USER", "tester");
    env.set("RELEASE_REGISTRY_PASSWORD", canary);
    let outputs = env.dir.path().join("github-output");
    let summary = env.dir.path().join("step-summary");
    env.set("GITHUB_OUTPUT", outputs.to_str().unwrap());
    env.set("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    env.set("GITHUB_ACTIONS", "true");
    let dry = env
        .xtask(&project, &["release", "publish", "v1.0.0", "--dry-run"])
        .success();
    let published = env
        .xtask(&project, &["release", "publish", "v1.0.0"])
        .success();
    assert!(registry.digest("llm-proxy", "v1.0.0").is_some());
    assert!(registry.digest("charts/llm-proxy", "1.0.0").is_some());
    let outputs = std::fs::read_to_string(&outputs).unwrap();
    assert!(outputs.contains("image-digest=sha256:"), "{outputs}");
    assert!(outputs.contains("chart-version=1.0.0"), "{outputs}");
    // What the workflows' attestation steps sign.
    let chart_repository = format!("chart-repository={}/charts/llm-proxy\n", registry.host);
    assert!(outputs.contains(&chart_repository), "{outputs}");
    assert!(outputs.contains("chart-digest=sha256:"), "{outputs}");
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("| image |"), "{summary}");
    assert!(published.stderr.contains("::group::"), "{published}");
    for text in [
        &refused.stdout,
        &refused.stderr,
        &dry.stdout,
        &dry.stderr,
        &published.stdout,
        &published.stderr,
        &outputs,
        &summary,
    ] {
        assert!(!text.contains(canary), "the password leaked:\n{text}");
    }
}

/// A registry that answers 500 to everything, and records each request line.
fn failing_registry() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            seen.lock().unwrap().push(line.trim_end().to_string());
            let _ = stream.write_all(
                b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (host, requests)
}

#[test]
fn registry_500_on_the_existence_check_is_an_error_not_absent() {
    let _slot = build_slot();
    let (host, requests) = failing_registry();
    let project = release_project();
    tag(&project, "v1.1.0");
    let env = Env::new(&host);
    for only in ["image", "chart"] {
        let failed = env
            .xtask(&project, &["release", "publish", "v1.1.0", "--only", only])
            .failure();
        assert!(failed.stderr.contains("HTTP 500"), "{failed}");
        assert!(
            failed.stderr.contains("never taken as \"absent\""),
            "{failed}"
        );
    }
    // Nothing was pushed: the registry was only ever asked, never written to.
    let requests = requests.lock().unwrap();
    assert!(!requests.is_empty(), "the registry was asked");
    let writes: Vec<&String> = requests
        .iter()
        .filter(|r| !r.starts_with("GET ") && !r.starts_with("HEAD "))
        .collect();
    assert_eq!(writes, Vec::<&String>::new());
}

#[test]
fn missing_helm_is_named_before_any_change() {
    let _slot = build_slot();
    let registry = Registry::start();
    let project = release_project();
    tag(&project, "v1.0.1");
    let mut env = Env::new(&registry.host);
    let scratch = TempDir::new();
    env.set("PATH", &path_without("helm", scratch.path()));
    let failed = env
        .xtask(&project, &["release", "publish", "v1.0.1"])
        .failure();
    assert!(
        failed.stderr.contains("`helm` not found on PATH"),
        "{failed}"
    );
    assert!(failed.stderr.contains("nothing was changed"), "{failed}");
    assert_eq!(project.git(&["status", "--porcelain"]), "");
    assert!(!project.work.join("dist").exists());
    assert_eq!(registry.digest("llm-proxy", "v1.0.1"), None);
}

#[test]
fn a_chart_waits_for_its_image_and_never_goes_out_before_it() {
    let _slot = build_slot();
    let registry = Registry::start();
    let project = release_project();
    release_commit(&project, "1.4.0");
    let mut env = Env::new(&registry.host);

    // No image, and no time to wait: refused, and no chart in the registry.
    env.set("RELEASE_IMAGE_WAIT", "2");
    let refused = env
        .xtask(
            &project,
            &["release", "publish", "v1.4.0", "--only", "chart"],
        )
        .failure();
    assert!(
        refused.stderr.contains(&format!(
            "the chart's image {}/llm-proxy:v1.4.0 is not ready (it is not in the registry) after waiting 2s (RELEASE_IMAGE_WAIT), so the chart was not pushed",
            registry.host
        )),
        "{refused}"
    );
    assert_eq!(registry.digest("charts/llm-proxy", "1.4.0"), None);

    // The chart job waits while the image job, in another clone, publishes the image.
    env.set("RELEASE_IMAGE_WAIT", "300");
    let vars: Vec<(&str, &str)> = env.pairs();
    let image_clone = project.clone_remote("image-job", &[]);
    let mut chart_job = spawn_xtask(
        &project.work,
        &["release", "publish", "v1.4.0", "--only", "chart"],
        &vars,
    );
    // The image job starts once the chart job says it waits, so the order is the one tested.
    let (waiting, told) = std::sync::mpsc::channel();
    let stderr = chart_job.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.contains("it is not in the registry; waiting for the image") {
                let _ = waiting.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    told.recv_timeout(std::time::Duration::from_secs(300))
        .expect("the chart job waits for the image");
    assert_eq!(registry.digest("charts/llm-proxy", "1.4.0"), None);
    xtask_in(
        &image_clone,
        &["release", "publish", "v1.4.0", "--only", "image"],
        &vars,
    )
    .success();
    let chart = wait(chart_job);
    let stderr = reader.join().unwrap();
    assert_eq!(chart.code, 0, "{chart}\n{stderr}");
    assert!(
        registry.digest("charts/llm-proxy", "1.4.0").is_some(),
        "{stderr}"
    );
    // The chart's default image is the one the image job pushed.
    env.xtask(
        &project,
        &["release", "verify", "1.4.0", "--artifacts-only"],
    )
    .success();
}

#[test]
fn rendered_manifests_are_validated_against_kubernetes_schemas() {
    let _slot = build_slot();
    require("kubernetes-validate");
    let registry = Registry::start();
    let project = release_project();
    tag(&project, "v1.5.0");
    let env = Env::new(&registry.host);
    let args = [
        "release",
        "publish",
        "v1.5.0",
        "--only",
        "chart",
        "--no-push",
    ];
    let good = env.xtask(&project, &args).success();
    assert!(
        good.stderr
            .contains("$ kubernetes-validate --strict --quiet -k 1.29 -k 1.30"),
        "{good}"
    );

    // A manifest helm lints happily but Kubernetes would refuse.
    project.write(
        "charts/llm-proxy/templates/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  replicas: 2\n",
    );
    project.commit("a number where Kubernetes wants a string");
    project.git(&["tag", "-f", "-a", "v1.5.0", "-m", "v1.5.0"]);
    let bad = env.xtask(&project, &args).failure();
    assert!(
        bad.stderr.contains("the rendered manifests do not validate against Kubernetes' schemas:\nERROR dist/manifests/default.yaml did not validate for resource configmap/settings against version 1.29: data.replicas: 2 is not of type 'string', 'null'"),
        "{bad}"
    );

    // Without the validator: skipped with a notice on a laptop, refused in CI.
    let scratch = TempDir::new();
    let mut env = env;
    env.set("PATH", &path_without("kubernetes-validate", scratch.path()));
    let laptop = env.xtask(&project, &args).success();
    assert!(
        laptop
            .stderr
            .contains("warning: skipped: `kubernetes-validate` not found on PATH"),
        "{laptop}"
    );
    env.set("CI", "true");
    let ci = env.xtask(&project, &args).failure();
    assert!(
        ci.stderr.contains("cannot publish v1.5.0 (nothing was changed):\n  - `kubernetes-validate` not found on PATH"),
        "{ci}"
    );
}
