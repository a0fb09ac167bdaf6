//! Reproducibility: two publishes of the same commit, one from nothing (its own clone, cargo
//! target directory, buildah storage and registry), the other from another clone, buildah
//! storage and registry but the build slot's warm target directory, which other tests filled
//! from other checkouts, publish the same image and the same chart. This is what lets a
//! re-run of a half-failed release, on a fresh runner days later, recognise what the first
//! run pushed instead of refusing it as "different content"; and a cold build against a
//! warm one is the harder comparison (one compile from nothing is enough for it).
//!
//! "The same image" is what `release publish` compares: the config digest of every
//! platform (the config names each layer by its uncompressed content). The test also pins
//! down what this build gives beyond that: the same per-platform manifests and the same index
//! digest. "The same chart" is what `publish` compares for charts: the same files with the
//! same bytes, once the registry's address, which `publish` writes into `values.yaml` as the
//! default image and which differs between two fresh registries by construction, is replaced
//! by a placeholder. For the same reason the chart's layer and manifest digests differ here.
//!
//! Checked with docker-registry 2.8.2, helm v3.18.0, buildah 1.28, skopeo 1.9 (Debian 12).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Env, Registry, build_slot, output, release_project, require};
use crate::support::{Project, TempDir};

/// What one publish left in its registry.
struct Published {
    commit: String,
    index_digest: String,
    /// platform → (manifest digest, config digest)
    platforms: BTreeMap<String, (String, String)>,
    chart_manifest_digest: String,
    chart_layer_digest: String,
    /// path inside the chart → its bytes, with the registry's address as `REGISTRY`
    chart_files: BTreeMap<PathBuf, Vec<u8>>,
}

/// Where a publish compiles the service.
#[derive(PartialEq)]
enum Target {
    /// A target directory of its own: nothing built before.
    Empty,
    /// The held build slot's, warm.
    Slot,
}

/// A publish of v1.2.3 from a fresh copy of this repository into a fresh registry; with
/// `change`, one more commit that writes `(path, contents)` is what v1.2.3 tags.
fn publish(target: Target, change: Option<(&str, &str)>) -> Published {
    let registry = Registry::start();
    let project: Project = release_project();
    if let Some((path, contents)) = change {
        project.write(path, contents);
        project.commit("another commit");
    }
    project.git(&["tag", "-a", "v1.2.3", "-m", "v1.2.3"]);
    let mut env = Env::new(&registry.host);
    if target == Target::Empty {
        let target = project.work.join("target");
        env.set("CARGO_TARGET_DIR", target.to_str().unwrap());
    }
    env.xtask(&project, &["release", "publish", "v1.2.3"])
        .success();

    let index_digest = registry
        .digest("llm-proxy", "v1.2.3")
        .expect("v1.2.3 pushed");
    let index = registry.raw("llm-proxy", "v1.2.3");
    let mut platforms = BTreeMap::new();
    for entry in index["manifests"].as_sequence().unwrap() {
        let platform = format!(
            "{}/{}",
            entry["platform"]["os"].as_str().unwrap(),
            entry["platform"]["architecture"].as_str().unwrap()
        );
        let digest = entry["digest"].as_str().unwrap().to_string();
        let manifest = raw_by_digest(&registry, "llm-proxy", &digest);
        let config = manifest["config"]["digest"].as_str().unwrap().to_string();
        platforms.insert(platform, (digest, config));
    }

    let chart = registry.raw("charts/llm-proxy", "1.2.3");
    let chart_manifest_digest = registry.digest("charts/llm-proxy", "1.2.3").unwrap();
    let chart_layer_digest = chart["layers"][0]["digest"].as_str().unwrap().to_string();
    let chart_files = pulled_chart_files(&registry, &env);

    Published {
        commit: project.git(&["rev-parse", "HEAD"]),
        index_digest,
        platforms,
        chart_manifest_digest,
        chart_layer_digest,
        chart_files,
    }
}

/// `skopeo inspect --raw` of `name@digest`.
fn raw_by_digest(registry: &Registry, name: &str, digest: &str) -> serde_yaml::Value {
    let text = output(Command::new(require("skopeo")).args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}/{name}@{digest}", registry.host),
    ]));
    serde_yaml::from_str(&text).unwrap()
}

/// The chart as `helm pull` gets it, unpacked: every file with its bytes.
fn pulled_chart_files(registry: &Registry, env: &Env) -> BTreeMap<PathBuf, Vec<u8>> {
    let dir = TempDir::new();
    output(
        Command::new(require("helm"))
            .args([
                "pull",
                "--plain-http",
                "--version",
                "1.2.3",
                "--untar",
                "-d",
            ])
            .arg(dir.path())
            .arg(format!("oci://{}/charts/llm-proxy", registry.host))
            .envs(env.pairs()),
    );
    let mut files = BTreeMap::new();
    collect_files(dir.path(), dir.path(), &mut files);
    for bytes in files.values_mut() {
        let text = String::from_utf8(std::mem::take(bytes)).expect("chart files are text");
        *bytes = text.replace(&registry.host, "REGISTRY").into_bytes();
    }
    assert!(
        files.contains_key(Path::new("llm-proxy/Chart.yaml")),
        "{:?}",
        files.keys()
    );
    files
}

fn collect_files(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(root, &path, files);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            files.insert(path.strip_prefix(root).unwrap().to_path_buf(), bytes);
        }
    }
}

const NOTES: &str = "charts/llm-proxy/templates/NOTES.txt";

#[test]
fn a_publish_from_nothing_and_one_from_a_warm_build_give_the_same_image_and_chart() {
    let _slot = build_slot();
    let first = publish(Target::Empty, None);
    let second = publish(Target::Slot, None);
    // The comparison must be able to fail: a third publish, of a commit that changes one
    // chart file, differs in its image (another revision label) and in that file.
    let other = publish(Target::Slot, Some((NOTES, "Another chart.\n")));
    assert_eq!(first.commit, second.commit, "the same commit, twice");
    assert_ne!(first.commit, other.commit);

    let configs = |p: &Published| -> BTreeMap<String, String> {
        p.platforms
            .iter()
            .map(|(platform, (_, config))| (platform.clone(), config.clone()))
            .collect()
    };
    let platforms: Vec<&String> = first.platforms.keys().collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    // What `release publish` decides "the same image" by.
    assert_eq!(
        configs(&first),
        configs(&second),
        "config digests per platform"
    );
    // What this build gives beyond it: the same bytes all the way up to the index.
    assert_eq!(
        first.platforms, second.platforms,
        "manifest digests per platform"
    );
    assert_eq!(first.index_digest, second.index_digest, "index digest");
    for (platform, config) in configs(&other) {
        assert_ne!(
            configs(&first)[&platform],
            config,
            "{platform} of another commit"
        );
    }

    // What `release publish` decides "the same chart" by: the same files, byte for byte.
    assert_eq!(first.chart_files, second.chart_files, "chart files");
    let chart_yaml = String::from_utf8_lossy(&first.chart_files[Path::new("llm-proxy/Chart.yaml")]);
    assert!(chart_yaml.contains("version: 1.2.3"), "{chart_yaml}");
    let values = String::from_utf8_lossy(&first.chart_files[Path::new("llm-proxy/values.yaml")]);
    assert!(
        values.contains("repository: REGISTRY/llm-proxy"),
        "{values}"
    );
    let notes = Path::new("llm-proxy/templates/NOTES.txt");
    assert_eq!(other.chart_files[notes], b"Another chart.\n");
    assert_ne!(first.chart_files.get(notes), other.chart_files.get(notes));
    let rest = |p: &Published| {
        let mut files = p.chart_files.clone();
        files.remove(notes);
        files
    };
    assert_eq!(rest(&first), rest(&other), "only NOTES.txt differs");

    // The chart's digests differ with the registry's address (see the module comment).
    eprintln!(
        "image index {} twice; chart layer {} / {}; chart manifest {} / {}",
        first.index_digest,
        first.chart_layer_digest,
        second.chart_layer_digest,
        first.chart_manifest_digest,
        second.chart_manifest_digest,
    );
}
