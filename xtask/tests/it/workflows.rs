//! The workflows' rules, checked by `cargo test` whether or not zizmor is installed: thin
//! steps, least privilege, pinned actions, no expression inside a shell script.

use std::path::Path;

use serde_yaml::Value;

fn workflows() -> Vec<(String, String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows");
    let mut all: Vec<(String, String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let value = serde_yaml::from_str(&text).unwrap();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                text,
                value,
            )
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[test]
fn the_four_workflows_exist() {
    let names: Vec<String> = workflows().into_iter().map(|(n, ..)| n).collect();
    assert_eq!(
        names,
        ["ci.yml", "docker.yml", "helm-publish.yml", "release.yml"]
    );
}

#[test]
fn permissions_start_empty_and_jobs_ask_for_the_minimum() {
    for (name, _, workflow) in workflows() {
        assert_eq!(
            workflow["permissions"],
            Value::Mapping(Default::default()),
            "{name}: top-level `permissions: {{}}`"
        );
        for (job, body) in workflow["jobs"].as_mapping().unwrap() {
            let permissions = body["permissions"]
                .as_mapping()
                .unwrap_or_else(|| panic!("{name} {job:?}: permissions per job"));
            for (scope, level) in permissions {
                let (scope, level) = (scope.as_str().unwrap(), level.as_str().unwrap());
                let allowed = match (scope, level) {
                    ("contents", "read") => true,
                    ("packages", "write") => {
                        ["docker.yml", "helm-publish.yml"].contains(&name.as_str())
                    }
                    ("contents", "write") => name == "release.yml",
                    _ => false,
                };
                assert!(
                    allowed,
                    "{name} {job:?}: {scope}: {level} is more than it needs"
                );
            }
            assert!(
                body["timeout-minutes"].as_u64().is_some(),
                "{name} {job:?}: timeout-minutes"
            );
        }
    }
}

#[test]
fn actions_are_pinned_and_checkouts_keep_no_credentials() {
    for (name, text, workflow) in workflows() {
        for line in text
            .lines()
            .filter(|l| l.trim_start().starts_with("- uses:"))
        {
            let spec = line.split("uses:").nth(1).unwrap().trim();
            let (action, rest) = spec.split_once('@').unwrap();
            let (sha, comment) = rest.split_once(" # v").unwrap_or_else(|| {
                panic!("{name}: {action} needs a `# vX.Y.Z` comment after its SHA")
            });
            assert!(
                sha.len() == 40 && sha.chars().all(|c| c.is_ascii_hexdigit()),
                "{name}: {action} must be pinned to a full commit SHA"
            );
            assert!(comment.starts_with(char::is_numeric), "{name}: {line}");
        }
        for job in workflow["jobs"].as_mapping().unwrap().values() {
            for step in job["steps"].as_sequence().unwrap() {
                let uses = step["uses"].as_str().unwrap_or_default();
                if uses.starts_with("actions/checkout@") {
                    assert_eq!(
                        step["with"]["persist-credentials"].as_bool(),
                        Some(false),
                        "{name}: checkout with persist-credentials: false"
                    );
                }
                if let Some(run) = step["run"].as_str() {
                    assert!(
                        !run.contains("${{"),
                        "{name}: no expression inside run: (pass it through env:): {run}"
                    );
                    assert_eq!(
                        run.lines().count(),
                        1,
                        "{name}: one command per step: {run}"
                    );
                    assert!(
                        run.starts_with("cargo xtask ") || run.starts_with("rustup target add "),
                        "{name}: each step is one `cargo xtask` call: {run}"
                    );
                }
            }
        }
    }
}

#[test]
fn tag_workflows_never_cancel_and_see_every_tag() {
    for (name, _, workflow) in workflows() {
        if name == "ci.yml" {
            continue;
        }
        let concurrency = &workflow["concurrency"];
        assert_eq!(
            concurrency["cancel-in-progress"].as_bool(),
            Some(false),
            "{name}"
        );
        assert!(
            concurrency["group"]
                .as_str()
                .unwrap()
                .starts_with("release-"),
            "{name}"
        );
        // The publishing jobs plan `latest` and `X.Y` from every tag.
        for job in workflow["jobs"].as_mapping().unwrap().values() {
            let steps = job["steps"].as_sequence().unwrap();
            let plans = steps.iter().any(|s| {
                s["run"]
                    .as_str()
                    .is_some_and(|r| r.contains("release publish") || r.contains("release github"))
            });
            if plans {
                assert_eq!(
                    steps[0]["with"]["fetch-depth"].as_u64(),
                    Some(0),
                    "{name}: fetch every tag"
                );
            }
        }
    }
}

#[test]
fn version_and_stable_tags_trigger_the_right_workflows() {
    let tags = |name: &str| -> Vec<String> {
        let workflow = workflows().into_iter().find(|(n, ..)| n == name).unwrap().2;
        workflow["on"]["push"]["tags"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    };
    for name in ["docker.yml", "helm-publish.yml"] {
        assert_eq!(
            tags(name),
            ["v[0-9]+.[0-9]+.[0-9]+", "!v*-stable"],
            "{name}"
        );
    }
    assert_eq!(tags("release.yml"), ["v*"]);
}
