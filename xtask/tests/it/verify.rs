//! `release verify` as GitHub Actions shows it: one annotation per failing check, and the
//! checks as a table in the job summary (issue 18, rough edge 11).

use crate::support::Project;

#[test]
fn verify_in_actions_annotates_each_failing_check_and_writes_the_summary() {
    let project = Project::new();
    project
        .xtask(&["release", "tag", "1.0.0", "--yes", "--no-checks"])
        .success();
    let summary = project.tmp.path().join("summary.md");
    let summary_path = summary.to_str().unwrap();
    // Port 9 on loopback: nothing listens, so every registry question fails at once.
    let env = [
        ("RELEASE_IMAGE", "127.0.0.1:9/llm-proxy"),
        ("RELEASE_CHART_REGISTRY", "oci://127.0.0.1:9/charts"),
        ("RELEASE_PROVENANCE", "0"),
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_STEP_SUMMARY", summary_path),
    ];
    let run = project
        .xtask_env(&["release", "verify", "1.0.0", "--artifacts-only"], &env)
        .failure();
    let failing: Vec<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("✗ "))
        .collect();
    assert!(failing.len() >= 2, "{run}");
    let annotations: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("::error::release verify v1.0.0: "))
        .collect();
    assert_eq!(
        annotations, failing,
        "one annotation per failing check:\n{run}"
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l.starts_with("::error::") && l.contains("checks failed for v1.0.0")),
        "{run}"
    );
    let table = std::fs::read_to_string(&summary).unwrap();
    assert!(
        table.starts_with(&format!("### release verify v1.0.0: {} of ", failing.len())),
        "{table}"
    );
    for check in failing {
        let (id, _) = check.split_once(": ").unwrap();
        assert!(table.contains(&format!("| ✗ | {id} | ")), "{id} in {table}");
    }
}
