//! The command line as people type it: a version where a tag was expected, a bad value, a
//! typo. A bad argument value is a usage error like clap's own: exit 2, before anything
//! runs; refusals and failures of the work itself exit 1. The messages themselves are in
//! `snapshots/usage-errors.txt`.

use crate::support::{Project, TempDir, xtask_in};

#[test]
fn plan_takes_a_version_as_its_version_tag() {
    let project = Project::new();
    for (version, tag) in [("1.2.3", "v1.2.3"), ("1.2.3-stable", "v1.2.3-stable")] {
        for json in [&[][..], &["--json"]] {
            let by_version = project
                .xtask(&[&["release", "plan", version][..], json].concat())
                .success();
            let by_tag = project
                .xtask(&[&["release", "plan", tag][..], json].concat())
                .success();
            assert_eq!(by_version.stdout, by_tag.stdout, "{version} {json:?}");
            assert!(!by_version.stdout.contains("ignored"), "{by_version}");
        }
    }
    // A name outside v* that is no version is still none of the release's business.
    let run = project.xtask(&["release", "plan", "nightly"]).success();
    assert_eq!(
        run.stdout,
        "ignored: \"nightly\" is not a v* tag, so it triggers no release\n"
    );
}

/// `publish` and `github` read a version as `plan` does: `publish 1.2.3` is not "ignored".
#[test]
fn publish_and_github_take_a_version_too() {
    let project = Project::new();
    project.git(&["tag", "-a", "v1.2.3", "-m", "v1.2.3"]);
    for (by_version, by_tag) in [
        (
            &["release", "publish", "1.2.3", "--dry-run"][..],
            &["release", "publish", "v1.2.3", "--dry-run"][..],
        ),
        (
            &["release", "github", "1.2.3-stable", "--dry-run"],
            &["release", "github", "v1.2.3-stable", "--dry-run"],
        ),
    ] {
        let a = project.xtask(by_version);
        let b = project.xtask(by_tag);
        assert_eq!((a.code, &a.stdout), (b.code, &b.stdout), "{a}\n{b}");
        assert!(!a.stdout.contains("ignored"), "{a}");
    }
    project
        .xtask(&["release", "publish", "1.2", "--dry-run"])
        .usage_error()
        .stderr_has("invalid version \"1.2\"");
}

#[test]
fn every_bad_argument_value_is_a_usage_error_and_changes_nothing() {
    let project = Project::new();
    let before = project.snapshot();
    let cases: [&[&str]; 16] = [
        &["release", "classify", "v1.4"],
        &["release", "plan", "1.2"],
        &["release", "plan", "v1.2.3-rc1"],
        &["release", "stamp", "1.2"],
        &["release", "tag", "1.2"],
        &["release", "tag", "1.4.0-stable"],
        &["release", "tag", "1.0.0", "--remote=-oProxyCommand=x"],
        &["release", "promote", "latest"],
        &["release", "promote", "1.0.0", "--remote", "a b"],
        &["release", "publish", "v1.2"],
        &["release", "github", "v1.2.3-Stable"],
        &["release", "verify", "1.2.3.4"],
        &["release", "rehearse", "1.2.3-rc1", "--local-registry"],
        &["dist", "--platform", "linux/s390x"],
        &["release", "tag", "1.0.0", "--dryrun"],
        &["release", "frobnicate"],
    ];
    for args in cases {
        let run = project.xtask(args).usage_error();
        assert_eq!(run.stdout, "", "{args:?}");
    }
    assert_eq!(project.snapshot(), before);
    // -C names a directory that is not there: refused as the other values are.
    let tmp = TempDir::new();
    let missing = tmp.path().join("missing");
    xtask_in(&missing, &["release", "plan", "v1.2.3"], &[])
        .usage_error()
        .stderr_has("missing\": no such directory");
}

#[test]
fn a_refusal_is_not_a_usage_error() {
    let project = Project::new();
    // A valid version, and nothing to promote.
    project
        .xtask(&["release", "promote", "1.0.0", "--dry-run", "--no-verify"])
        .failure();
}

#[test]
fn version_flag() {
    let project = Project::new();
    let run = project.xtask(&["--version"]).success();
    assert_eq!(run.stdout, format!("xtask {}\n", env!("CARGO_PKG_VERSION")));
}

/// `-q`, before or after the command: the same data on stdout, no progress on stderr, and
/// warnings still.
#[test]
fn quiet_keeps_the_data_and_the_warnings() {
    let project = Project::new();
    let args = ["release", "tag", "1.0.0", "--dry-run", "--no-checks"];
    let normal = project.xtask(&args).success();
    assert!(normal.stderr.contains("==> preflight"), "{normal}");
    for quiet in [
        [&["-q"][..], &args].concat(),
        [&args[..], &["--quiet"]].concat(),
    ] {
        let run = project.xtask(&quiet).success();
        assert_eq!(run.stdout, normal.stdout);
        assert_eq!(
            run.stderr,
            "warning: --no-checks: the project's checks (`cargo xtask ci`) will not run before tagging\n"
        );
    }
}
