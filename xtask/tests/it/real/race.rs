//! Tag runs race as GitHub runs them: each checks out the repository when it starts, and the
//! runs of two tags finish in either order. The moving tags (`X.Y`, `latest`) must still
//! only move forward, which the registry, not the clone's tags, decides.

use super::{Env, Registry, build_slot, release_commit, release_project};
use crate::support::{git, xtask_in};

#[test]
fn an_older_tag_finishing_last_never_moves_latest_or_its_line_back() {
    let _slot = build_slot();
    let registry = Registry::start();
    let env = Env::new(&registry.host);
    let vars: Vec<(&str, &str)> = env.pairs();

    // The v1.3.0 run checks out while v1.3.0 is the newest tag...
    let first = release_project();
    release_commit(&first, "1.3.0");
    // ...then v1.3.1 is pushed on a later commit of main, and its run publishes first.
    let second = first.clone_remote("second", &[]);
    std::fs::write(second.join("CHANGES"), "1.3.1").unwrap();
    git(&second, &["commit", "--quiet", "-am", "work for 1.3.1"]);
    git(&second, &["push", "--quiet", "origin", "main"]);
    git(&second, &["tag", "-a", "v1.3.1", "-m", "Release v1.3.1"]);
    git(&second, &["push", "--quiet", "origin", "v1.3.1"]);
    xtask_in(&second, &["release", "publish", "v1.3.1"], &vars).success();
    let newer = registry.digest("llm-proxy", "v1.3.1").unwrap();

    // The v1.3.0 run finishes last; its clone still knows no v1.3.1.
    let late = env
        .xtask(&first, &["release", "publish", "v1.3.0"])
        .success();
    let older = registry.digest("llm-proxy", "v1.3.0").unwrap();
    assert_ne!(older, newer);
    for tag in ["1.3", "latest"] {
        assert_eq!(
            registry.digest("llm-proxy", tag).as_deref(),
            Some(newer.as_str()),
            "{tag} stays with v1.3.1: {late}"
        );
        assert!(
            late.stderr.contains(&format!(
                "{tag} holds v1.3.1, newer than v1.3.0: left as it is"
            )),
            "{late}"
        );
        assert!(
            late.stdout.contains(&format!(
                "image {}/llm-proxy:{tag} {newer} (kept: it holds a newer release)",
                registry.host
            )),
            "{late}"
        );
    }
    xtask_in(
        &second,
        &["release", "verify", "1.3.1", "--artifacts-only"],
        &vars,
    )
    .success();
    env.xtask(&first, &["release", "verify", "1.3.0", "--artifacts-only"])
        .success();

    // A backport published after both takes its own line, and neither 1.3 nor latest.
    git(&first.work, &["switch", "--quiet", "-c", "release-1.2"]);
    first.write("CHANGES", "1.2.9");
    first.commit("backport for 1.2.9");
    first.git(&["push", "--quiet", "origin", "release-1.2"]);
    first.git(&["tag", "-a", "v1.2.9", "-m", "Release v1.2.9"]);
    first.git(&["push", "--quiet", "origin", "v1.2.9"]);
    env.xtask(&first, &["release", "publish", "v1.2.9"])
        .success();
    let backport = registry.digest("llm-proxy", "v1.2.9").unwrap();
    assert_eq!(registry.digest("llm-proxy", "1.2"), Some(backport));
    assert_eq!(registry.digest("llm-proxy", "1.3"), Some(newer.clone()));
    assert_eq!(registry.digest("llm-proxy", "latest"), Some(newer));
    xtask_in(
        &second,
        &["release", "verify", "1.3.1", "--artifacts-only"],
        &vars,
    )
    .success();
}
