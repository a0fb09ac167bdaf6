//! What `release publish` finds in the registry or the work tree that it did not put there:
//! a moving tag holding another line's release, and the chart files a local publish stamps.

use std::process::Command;

use super::{Env, Registry, build_slot, output, release_commit, release_project, require};
use crate::support::TempDir;
use crate::support::{spawn_xtask, wait};

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
    let _slot = build_slot();
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

/// Regression: a local `release publish` left `Chart.yaml` and `values.yaml` stamped, so
/// `cargo xtask ci` (its test `stamp::the_repository_chart_gets_its_annotated_image_stamped`)
/// and `release tag` then failed on the tree. Failed or not, a publish leaves it as it was.
#[test]
fn a_local_publish_leaves_the_tree_as_it_found_it() {
    let _slot = build_slot();
    let registry = Registry::start();
    let env = Env::new(&registry.host);
    let project = release_project();
    release_commit(&project, "1.2.3");
    let files = [
        "charts/llm-proxy/Chart.yaml",
        "charts/llm-proxy/values.yaml",
    ];
    let before = files.map(|file| project.read(file));
    let unchanged = |run: &crate::support::Run| {
        assert_eq!(files.map(|file| project.read(file)), before, "{run}");
        assert_eq!(project.git(&["status", "--porcelain"]), "", "{run}");
    };

    // The chart alone fails after stamping and packaging: its image is not published yet.
    let failed = env
        .xtask(
            &project,
            &["release", "publish", "v1.2.3", "--only", "chart"],
        )
        .failure();
    assert!(
        failed.stderr.contains("so the chart was not pushed"),
        "{failed}"
    );
    unchanged(&failed);

    // A whole publish: the chart it pushed was stamped, the tree is not.
    let published = env
        .xtask(&project, &["release", "publish", "v1.2.3"])
        .success();
    unchanged(&published);
    let shown = output(
        Command::new(require("helm"))
            .args(["show", "chart", "--plain-http", "--version", "1.2.3"])
            .arg(format!("oci://{}/charts/llm-proxy", registry.host))
            .envs(env.pairs()),
    );
    assert!(shown.contains("appVersion: v1.2.3"), "{shown}");

    // `release stamp` by hand says not to commit what it wrote.
    let stamped = env
        .xtask(&project, &["release", "stamp", "1.2.3"])
        .success();
    assert!(
        stamped
            .stderr
            .contains("do not commit this: the repository keeps the 0.0.0-dev placeholders"),
        "{stamped}"
    );
}

/// Interrupted while it waits for its image, a publish still puts the chart's files back, and
/// exits 130.
#[test]
fn an_interrupted_publish_leaves_the_tree_as_it_found_it() {
    let _slot = build_slot();
    let registry = Registry::start();
    let mut env = Env::new(&registry.host);
    env.set("RELEASE_IMAGE_WAIT", "600");
    let project = release_project();
    release_commit(&project, "1.2.3");
    let chart = "charts/llm-proxy/Chart.yaml";
    let before = project.read(chart);
    let mut job = spawn_xtask(
        &project.work,
        &["release", "publish", "v1.2.3", "--only", "chart"],
        &env.pairs(),
    );
    let (waiting, told) = std::sync::mpsc::channel();
    let stderr = job.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.contains("waiting for the image") {
                let _ = waiting.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    told.recv_timeout(std::time::Duration::from_secs(300))
        .expect("the chart job waits for the image");
    assert_ne!(project.read(chart), before, "stamped while it runs");
    let pid = job.id().to_string();
    output(Command::new("kill").args(["-s", "INT", &pid]));
    let run = wait(job);
    let stderr = reader.join().unwrap();
    assert_eq!(run.code, 130, "{run}\n{stderr}");
    assert!(
        stderr.contains("SIGINT while waiting for the chart's image"),
        "the wait ends at the interrupt, not at its deadline: {stderr}"
    );
    assert_eq!(project.read(chart), before, "{stderr}");
    assert_eq!(project.git(&["status", "--porcelain"]), "", "{stderr}");
}
