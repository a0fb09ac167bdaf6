//! `--version`, `--help` and usage errors, checked on stdout, stderr and exit code.

use crate::{expected_version, llm_proxy};

#[test]
fn version_prints_one_exact_line() {
    let output = llm_proxy().arg("--version").output().unwrap();
    assert!(output.status.success());
    let (version, commit) = expected_version();
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        format!("llm-proxy {version} ({commit})\n")
    );
    assert!(output.stderr.is_empty());
}

#[test]
fn version_line_has_the_release_shape() {
    let output = llm_proxy().arg("-V").output().unwrap();
    let line = String::from_utf8(output.stdout).unwrap();
    let rest = line.strip_prefix("llm-proxy v").expect(&line);
    let (version, commit) = rest.split_once(" (").expect(&line);
    assert!(
        version.split('-').next().unwrap().split('.').count() == 3,
        "{line:?}"
    );
    assert!(commit.ends_with(")\n") && commit.len() > 2, "{line:?}");
}

#[test]
fn help_goes_to_stdout() {
    let output = llm_proxy().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(help.contains("llm-proxy serve [--listen ADDR]"), "{help}");
    assert!(help.contains("llm-proxy check URL"), "{help}");
}

fn check_usage_error(args: &[&str], message: &str) {
    let output = llm_proxy().args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "args: {args:?}");
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(message), "args: {args:?}, stderr: {stderr}");
    assert!(stderr.contains("llm-proxy --help"), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    check_usage_error(&[], "no command given");
    check_usage_error(&["--frobnicate"], "unknown option `--frobnicate`");
    check_usage_error(&["start"], "unknown command `start`");
    check_usage_error(&["serve", "--port", "80"], "unknown argument `--port`");
    check_usage_error(&["serve", "--listen"], "`--listen` needs a value");
    check_usage_error(
        &["serve", "--listen", "nowhere"],
        "not an IP address and port",
    );
    check_usage_error(
        &["serve", "--shutdown-timeout", "soon"],
        "not a whole number of seconds",
    );
    check_usage_error(&["check"], "`check` needs a URL");
}
