//! Every echo of input is capped: a 10,000-digit version (or a 10,000-character option)
//! gets an error of a few lines, from every command that takes one. The grammar quotes the
//! input and caps the numbers inside its reasons.

use crate::support::Project;

const LIMIT: usize = 300;

/// `code`: 2 for a value the command line refuses, 1 for one the command itself does.
#[track_caller]
fn check(project: &Project, args: &[&str], code: i32) {
    let run = project.xtask(args);
    assert_eq!(run.code, code, "{:?}:\n{run}", &args[..2]);
    let length = run.stderr.chars().count();
    assert!(
        length < LIMIT,
        "`xtask {} {}` said {length} characters:\n{}",
        args[0],
        args[1],
        run.stderr
    );
    assert!(run.stderr.contains("… ("), "not capped?\n{run}");
}

#[test]
fn a_ten_thousand_digit_version_gets_a_short_error_from_every_command() {
    let project = Project::new();
    let before = project.snapshot();
    for digits in ["1".repeat(10_000), format!("0{}", "1".repeat(9_999))] {
        let version = format!("{digits}.0.0");
        let tag = format!("v{version}");
        let reference = format!("refs/tags/v1.2.{digits}");
        for command in ["tag", "promote", "stamp", "verify", "rehearse"] {
            check(&project, &["release", command, &version], 2);
            check(&project, &["release", command, &tag], 2);
        }
        for command in ["classify", "plan", "publish", "github"] {
            check(&project, &["release", command, &tag], 2);
            check(&project, &["release", command, &reference], 2);
        }
    }
    let long = "x".repeat(10_000);
    check(&project, &["release", "tag", "1.0.0", "--remote", &long], 2);
    check(
        &project,
        &["release", "promote", "1.0.0", "--remote", &long],
        2,
    );
    check(
        &project,
        &["release", "stamp", "1.0.0", "--chart", &long],
        2,
    );
    check(
        &project,
        &["release", "stamp", "1.0.0", "--dry-run", "--chart", &long],
        2,
    );
    assert_eq!(project.snapshot(), before);
}
