//! Settings are read strictly: a switch variable accepts exactly `1`, `true`, `0` and
//! `false` (`RELEASE_PLAIN_HTTP=yes` once meant "off"), a number of seconds is a number, and
//! every refusal is one line that names the variable, quotes its value and lists what is
//! accepted, before anything runs. Paths are echoed quoted and escaped, so a directory name
//! with a line break in it cannot split the message.

use crate::support::{Project, Run, xtask_in};

/// The whole of stderr: one `error:` line, nothing else.
#[track_caller]
fn refused(run: Run, line: &str) {
    let run = run.failure();
    assert_eq!(run.stderr, format!("error: {line}\n"), "{run}");
    assert_eq!(run.stdout, "", "{run}");
}

#[test]
fn switches_refuse_anything_but_the_documented_values() {
    let project = Project::new();
    let manifest = format!("{:?}", project.work.join("Cargo.toml"));
    let accepted = "expected 1 or true (on), 0 or false (off)";
    for (var, value, shown) in [
        ("RELEASE_PLAIN_HTTP", "yes", r#""yes""#),
        ("RELEASE_PLAIN_HTTP", "TRUE", r#""TRUE""#),
        ("RELEASE_PLAIN_HTTP", "on", r#""on""#),
        (
            "RELEASE_PLAIN_HTTP",
            "1\nforged: line",
            r#""1\nforged: line""#,
        ),
        ("RELEASE_PROVENANCE", "off", r#""off""#),
        ("RELEASE_PROVENANCE", "no", r#""no""#),
    ] {
        let run = project.xtask_env(&["release", "tag", "1.0.0", "--dry-run"], &[(var, value)]);
        refused(
            run,
            &format!("in {manifest}: {var}={shown} is invalid: {accepted}"),
        );
    }
    // The documented values are taken.
    for value in ["1", "true", "0", "false", ""] {
        project
            .xtask_env(
                &["release", "tag", "1.0.0", "--dry-run", "--no-checks"],
                &[("RELEASE_PLAIN_HTTP", value), ("RELEASE_PROVENANCE", value)],
            )
            .success();
    }
}

#[test]
fn the_credential_helper_bound_is_checked_up_front() {
    let project = Project::new();
    let manifest = format!("{:?}", project.work.join("Cargo.toml"));
    let run = project.xtask_env(
        &["release", "verify", "1.0.0", "--artifacts-only"],
        &[("RELEASE_HELPER_TIMEOUT", "forever")],
    );
    refused(
        run,
        &format!(
            "in {manifest}: RELEASE_HELPER_TIMEOUT=\"forever\" is invalid: expected whole seconds from 1 to 3600"
        ),
    );
}

#[test]
fn a_directory_with_a_line_break_is_named_on_one_line() {
    let project = Project::new();
    let odd = project.tmp.path().join("a\nb");
    std::fs::create_dir(&odd).unwrap();
    // A directory that does not exist is a usage error, refused before anything runs.
    let run = xtask_in(&odd.join("missing"), &["release", "verify", "1.0.0"], &[]).usage_error();
    assert_eq!(
        run.stderr,
        format!("error: -C {:?}: no such directory\n", odd.join("missing")),
        "{run}"
    );
    assert_eq!(run.stdout, "", "{run}");
    let run = xtask_in(&odd, &["release", "verify", "1.0.0"], &[]);
    refused(
        run,
        &format!(
            "{odd:?} is not inside a git repository: run from a clone of llm-proxy or pass -C DIR"
        ),
    );
}
