//! `release rehearse --local-registry` end to end: the throwaway registry it starts itself
//! (Debian's docker-registry, on a free port of 127.0.0.1), every stage against it, and
//! nothing left running afterwards, unless kept.

use std::time::Duration;

use super::{Env, build_slot, path_without, release_project, require};
use crate::interrupt::processes_with;

/// The environment of a rehearsal that names no registry: `--local-registry` brings one.
fn env_without_registries(marker: &str) -> Env {
    let mut env = Env::new("127.0.0.1:1");
    env.vars.retain(|(name, _)| {
        !matches!(
            name.as_str(),
            "RELEASE_IMAGE" | "RELEASE_CHART_REGISTRY" | "RELEASE_PLAIN_HTTP"
        )
    });
    env.set("XTASK_TEST_MARKER", marker);
    env
}

#[test]
fn a_rehearsal_with_its_own_registry_passes_and_leaves_nothing_running() {
    let _slot = build_slot();
    require("docker-registry");
    let project = release_project();
    let marker = project.tmp.path().display().to_string();
    let env = env_without_registries(&marker);
    let before = project.remote_git(&["for-each-ref"]);

    let run = env
        .xtask(
            &project,
            &["release", "rehearse", "3.2.0", "--local-registry"],
        )
        .success();
    assert!(
        run.stdout
            .contains("rehearsing against a throwaway registry at 127.0.0.1:"),
        "{run}"
    );
    for stage in ["tag", "publish", "verify", "promote", "github --dry-run"] {
        assert!(
            run.stdout.contains(&format!("✓ {stage} ")),
            "{stage}:\n{run}"
        );
    }
    assert!(run.stdout.contains("rehearsal of v3.2.0 passed"), "{run}");
    // The stages published to it, not to the configured registries.
    assert!(
        run.stderr.contains("RELEASE_IMAGE=127.0.0.1:")
            && !run.stderr.contains("ghcr.io/sofatutor/llm-proxy:v3.2.0"),
        "{run}"
    );
    assert_eq!(
        processes_with(&marker),
        Vec::<String>::new(),
        "the registry outlived the rehearsal:\n{run}"
    );
    assert_eq!(project.remote_git(&["for-each-ref"]), before);
    assert_eq!(project.git(&["tag", "--list"]), "");
}

#[test]
fn keep_leaves_the_registry_running_and_says_how_to_stop_it() {
    let _slot = build_slot();
    require("docker-registry");
    let project = release_project();
    let marker = project.tmp.path().display().to_string();
    let mut env = env_without_registries(&marker);
    // Without buildah, `publish` fails at once: the rehearsal fails, with the registry kept.
    env.set("PATH", &path_without("buildah", env.dir.path()));

    let run = env.xtask(
        &project,
        &["release", "rehearse", "3.3.0", "--local-registry", "--keep"],
    );
    assert_eq!(run.code, 1, "{run}");
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("the registry keeps running at "))
        .unwrap_or_else(|| panic!("no registry line:\n{run}"));
    let host = line
        .trim_start_matches("the registry keeps running at ")
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let pid = line
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap()
        .to_string();
    let answered = std::net::TcpStream::connect(&host).is_ok();
    // Stop it by its id, as the line says, before asserting anything.
    let stopped = std::process::Command::new("kill")
        .arg(&pid)
        .status()
        .unwrap()
        .success();
    let scratch = run
        .stderr
        .split("the scratch clone is kept at ")
        .nth(1)
        .and_then(|rest| rest.split([' ', ';']).next())
        .map(str::to_string);
    assert!(answered, "nothing listens on {host}:\n{run}");
    assert!(stopped, "{run}");
    assert!(
        line.ends_with(&format!("stop it with `kill {pid}`")),
        "{line}"
    );
    assert!(
        run.stderr.contains("rehearsal failed at `publish`"),
        "{run}"
    );
    let start = std::time::Instant::now();
    while !processes_with(&marker).is_empty() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(processes_with(&marker), Vec::<String>::new());
    if let Some(scratch) = scratch {
        let _ = std::fs::remove_dir_all(scratch);
    }
}
