//! Ctrl-C during `release rehearse --local-registry` is reported once: the rehearsal says
//! which signal it got and what it stopped, and its stage, which gets the relayed SIGTERM,
//! does not announce a second signal. The closing error names the registry that was
//! stopped, and nothing is left running.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Env, build_slot, release_project, require};
use crate::interrupt::processes_with;
use crate::support::{wait, xtask_command};

#[test]
fn ctrl_c_during_a_rehearsal_is_reported_once_with_what_was_stopped() {
    let _slot = build_slot();
    require("docker-registry");
    let project = release_project();
    let marker = project.tmp.path().display().to_string();
    let mut env = Env::new("127.0.0.1:1");
    env.vars.retain(|(name, _)| {
        !matches!(
            name.as_str(),
            "RELEASE_IMAGE" | "RELEASE_CHART_REGISTRY" | "RELEASE_PLAIN_HTTP"
        )
    });
    // The publish stage holds at its manifest validation, early and cheap: a stand-in for
    // kubernetes-validate that says it started and waits.
    let bin = project.tmp.path().join("holding-bin");
    let started = project.tmp.path().join("validate-started");
    std::fs::create_dir(&bin).unwrap();
    let validate = bin.join("kubernetes-validate");
    std::fs::write(
        &validate,
        format!("#!/bin/sh\ntouch '{}'\nsleep 600\n", started.display()),
    )
    .unwrap();
    std::fs::set_permissions(
        &validate,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    env.set(
        "PATH",
        &format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    env.set("XTASK_TEST_MARKER", &marker);

    let mut command = xtask_command(
        &project.work,
        &["release", "rehearse", "3.4.0", "--local-registry"],
        &env.pairs(),
    );
    // A foreground job of its own, which the terminal's Ctrl-C reaches as a whole.
    command
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    let pid = child.id();
    let start = Instant::now();
    while !started.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the publish stage never reached kubernetes-validate"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Command::new("kill")
        .args(["-s", "INT", "--", &format!("-{pid}")])
        .status()
        .unwrap();
    let run = wait(child);
    let left = processes_with(&marker);
    for line in &left {
        let pid = line.split(':').next().unwrap();
        let _ = Command::new("kill").args(["-s", "KILL", pid]).status();
    }
    assert_eq!(left, Vec::<String>::new(), "left running:\n{run}");
    assert_eq!(run.code, 130, "{run}");

    let host = run
        .stdout
        .split("rehearsing against a throwaway registry at ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no registry named:\n{run}"));
    let announced: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("interrupted by"))
        .collect();
    assert_eq!(
        announced,
        [
            "xtask interrupted by SIGINT: stopping the 2 commands it started (docker-registry, xtask)",
            &format!(
                "error: rehearsal interrupted by SIGINT during `publish`: the stage and the registry on {host} were stopped, nothing real was changed; the scratch clone is removed"
            ),
        ],
        "{run}"
    );
    assert!(!run.stderr.contains("SIGTERM"), "{run}");
}
