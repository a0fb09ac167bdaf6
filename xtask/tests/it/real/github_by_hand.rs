//! `release github` when the stable tag's release was made by hand: it completes what verify
//! requires (published, titled with the tag, the record below the human's notes), and fails,
//! saying what is wrong and how to fix it, on what it does not rewrite (a record by hand).

use super::github::{GitHub, TOKEN, promoted_fixture};
use super::{Published, build_slot, require};

/// Regression: a draft titled by hand, without the record, got "exists already: nothing to
/// do" and exit 0 while `release verify` failed it.
#[test]
fn a_release_made_by_hand_is_completed_or_refused_never_left_green_and_wrong() {
    let _slot = build_slot();
    require("gh");
    let github = GitHub::start();
    let Published {
        registry: _registry,
        project,
        env,
        ..
    } = promoted_fixture();
    {
        let mut state = github.state.lock().unwrap();
        state.releases = vec!["v1.2.3-stable".into()];
        state.draft = true;
        state.title = Some("Release 1.2.3".into());
        state.body = Some("Hand-written highlights.\n".into());
    }
    let args = ["release", "github", "v1.2.3-stable", "--no-checks"];

    let completed = github.xtask(&project, &env, &args, TOKEN).success();
    assert!(
        completed.stderr.contains(
            "the GitHub release v1.2.3-stable exists, made by hand: completing it (publish it, title it v1.2.3-stable, add the record below its notes)"
        ),
        "{completed}"
    );
    assert_eq!(
        completed.stdout,
        "https://github.com/sofatutor/llm-proxy/releases/tag/v1.2.3-stable\n"
    );
    let edits: Vec<serde_yaml::Value> = github
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| serde_yaml::from_str(&r.body).unwrap())
        .collect();
    assert_eq!(edits.len(), 1, "one edit, no second release");
    assert!(
        github
            .posts_to("/repos/sofatutor/llm-proxy/releases")
            .is_empty()
    );
    let edit = &edits[0];
    assert_eq!(edit["draft"].as_bool(), Some(false));
    assert_eq!(edit["name"].as_str(), Some("v1.2.3-stable"));
    assert_eq!(edit["make_latest"].as_str(), Some("true"));
    let body = edit["body"].as_str().unwrap();
    assert!(
        body.starts_with("Hand-written highlights.\n\n## Artifacts\n\n| | |\n"),
        "the human's notes stay above the record: {body}"
    );
    let verified = github
        .xtask(&project, &env, &["release", "verify", "1.2.3"], TOKEN)
        .success();
    assert!(
        verified
            .stdout
            .contains("✓ github release v1.2.3-stable: published"),
        "{verified}"
    );

    // A re-run finds nothing to complete.
    let again = github.xtask(&project, &env, &args, TOKEN).success();
    assert!(
        again.stderr.contains("exists already: nothing to do"),
        "{again}"
    );

    // A record written by hand is not rewritten: the run fails, saying why and what to do.
    let forged = body.replace("| commit | `", "| commit | `0000000");
    github.state.lock().unwrap().body = Some(forged);
    let refused = github.xtask(&project, &env, &args, TOKEN).failure();
    assert!(
        refused.stderr.contains(
            "the GitHub release v1.2.3-stable is there, but `release verify` rejects it:"
        ) && refused.stderr.contains("github release record")
            && refused
                .stderr
                .contains("gh release delete v1.2.3-stable --repo sofatutor/llm-proxy"),
        "{refused}"
    );
    assert!(
        refused.stdout.is_empty(),
        "no URL for a rejected release: {refused}"
    );
}
