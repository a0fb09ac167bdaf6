//! Snapshots of the CLI as people meet it: every help text, and the main outputs of a scratch
//! project with hermetic git (pinned identity and dates, so commits are the same every run).
//! A change to any of them shows as a diff; `SNAPSHOTS=overwrite cargo test -p xtask --test
//! it snapshots` rewrites the files under `tests/it/snapshots/` after a deliberate change.
//! `[..]` in a snapshot stands for a part of a line that differs between runs (a temporary
//! path).

use snapbox::{assert_data_eq, file};

use crate::support::Project;

/// Every command's `--help`, one after another, each under the command that prints it.
#[test]
fn help_texts() {
    let project = Project::new();
    let commands: [&[&str]; 15] = [
        &[],
        &["ci"],
        &["dist"],
        &["release"],
        &["release", "classify"],
        &["release", "plan"],
        &["release", "stamp"],
        &["release", "tag"],
        &["release", "promote"],
        &["release", "publish"],
        &["release", "github"],
        &["release", "verify"],
        &["release", "rehearse"],
        &["release", "status"],
        &["release", "retarget"],
    ];
    let mut all = String::new();
    for command in commands {
        let mut args = command.to_vec();
        args.push("--help");
        let run = project.xtask(&args).success();
        all.push_str(&format!("$ xtask {}\n{}\n", args.join(" "), run.stdout));
    }
    assert_data_eq!(all, file!["snapshots/help.txt"]);
}

#[test]
fn classify_and_plan_outputs() {
    let project = Project::new();
    project.git(&["tag", "-a", "v1.2.3", "-m", "Release v1.2.3"]);
    let mut all = String::new();
    for args in [
        &["release", "classify", "v1.2.3"][..],
        &["release", "classify", "refs/tags/v1.2.3-stable"],
        &["release", "classify", "nightly"],
        &["release", "plan", "v1.2.3"],
        &["release", "plan", "v1.2.3-stable"],
        &["release", "plan", "v1.2.3", "--json"],
        &[
            "release",
            "publish",
            "v1.2.3",
            "--only",
            "chart",
            "--dry-run",
        ],
    ] {
        let run = project.xtask(args).success();
        all.push_str(&format!("$ xtask {}\n{}\n", args.join(" "), run.stdout));
    }
    assert_data_eq!(all, file!["snapshots/plan.txt"]);
}

#[test]
fn tag_and_promote_dry_runs() {
    let project = Project::new();
    let tag = project
        .xtask(&["release", "tag", "1.0.0", "--dry-run", "--no-checks"])
        .success();
    project.git(&["tag", "-a", "v1.0.0", "-m", "Release v1.0.0"]);
    project.git(&["push", "--quiet", "origin", "v1.0.0"]);
    let promote = project
        .xtask(&["release", "promote", "1.0.0", "--dry-run", "--no-verify"])
        .success();
    assert_data_eq!(
        format!(
            "$ xtask release tag 1.0.0 --dry-run --no-checks\n{}\n$ xtask release promote 1.0.0 --dry-run --no-verify\n{}",
            tag.stdout, promote.stdout
        ),
        file!["snapshots/tag-promote.txt"]
    );
}

/// What a mistyped command line gets: the message, naming the input as what it was meant to
/// be (a version, a tag) with only the forms that are accepted there, and exit code 2.
#[test]
fn usage_errors() {
    let project = Project::new();
    let mut all = String::new();
    for args in [
        &["release", "tag", "1.2"][..],
        &["release", "plan", "1.2"],
        &["release", "tag", "1.4.0-stable"],
        &["release", "tag", "1.4.0-rc1"],
        &["release", "plan", "v1.4"],
        &["release", "classify", "v1.4.0-STABLE"],
        &["release", "verify", "latest"],
        &["release", "tag", "1.0.0", "--remote=-oProxyCommand=x"],
        &["dist", "--platform", "linux/s390x"],
        &["release", "tag", "1.0.0", "--dryrun"],
        &["release", "rehearse", "1.0.0", "-q", "-v"],
    ] {
        let run = project.xtask(args);
        all.push_str(&format!(
            "$ xtask {}\nexit {}\n{}\n",
            args.join(" "),
            run.code,
            run.stderr
        ));
    }
    assert_data_eq!(all, file!["snapshots/usage-errors.txt"]);
}
