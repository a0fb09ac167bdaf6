//! Repository invariants, checked by `cargo test` like any other rule: the ones of
//! ARCHITECTURE.md that a program can hold.

use std::path::{Path, PathBuf};

use crate::support::{Project, is_scrubbed};

fn xtask_src() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

/// Every `.rs` file under `dir`, at any depth, with its text.
fn rust_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((path, text));
            }
        }
    }
    files
}

/// The release core takes data and returns data: no process, no file, no environment.
/// That is what makes a dry run trustworthy and the rules testable in microseconds.
#[test]
fn release_core_spawns_nothing_and_touches_no_file() {
    let forbidden = [
        "xshell",
        "std::process",
        "std::fs",
        "std::env",
        "std::net",
        "Command::new",
    ];
    let files = rust_files(&xtask_src().join("core"));
    for (path, text) in &files {
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} uses {word}: the release core must stay pure",
                path.display()
            );
        }
    }
    assert!(
        files.len() >= 10,
        "expected the core modules, found {}",
        files.len()
    );
}

/// No shell string is ever built: every external command is argv, one element per word.
#[test]
fn no_command_goes_through_a_shell() {
    for (path, text) in rust_files(xtask_src()) {
        for shell in ["\"sh\"", "\"bash\"", "sh -c", "bash -c", "\"-c\""] {
            assert!(
                !text.contains(shell),
                "{} mentions {shell}: run programs as argv, never through a shell",
                path.display()
            );
        }
    }
}

/// A secret reaches tools through stdin or the environment, never argv, and is never printed:
/// the plans of every command that logs in are printed (dry runs) with a canary password set,
/// and every login reads the password on stdin.
#[test]
fn no_secret_on_argv_or_in_any_plan() {
    let project = Project::new();
    project.git(&["tag", "-a", "v1.2.3", "-m", "Release v1.2.3"]);
    let canary = "canary-Pa55word-9f3e";
    for builder in ["docker", "buildah"] {
        let env = [
            ("RELEASE_REGISTRY_USER", "releaser"),
            ("RELEASE_REGISTRY_PASSWORD", canary),
            ("RELEASE_IMAGE_BUILDER", builder),
        ];
        for args in [
            &["release", "plan", "v1.2.3"][..],
            &["release", "plan", "v1.2.3", "--json"],
            &["release", "publish", "v1.2.3", "--dry-run"],
        ] {
            let run = project.xtask_env(args, &env).success();
            assert!(
                !run.stdout.contains(canary) && !run.stderr.contains(canary),
                "{run}"
            );
            let logins: Vec<&str> = run
                .stdout
                .lines()
                .filter(|l| l.contains(" login "))
                .collect();
            if args.contains(&"--json") {
                continue;
            }
            assert_eq!(logins.len(), 2, "an image and a chart login: {run}");
            for login in logins {
                assert!(
                    login.contains("--password-stdin")
                        && login.ends_with("<<<\"$RELEASE_REGISTRY_PASSWORD\""),
                    "a login reads its password on stdin: {login}"
                );
                assert!(!login.contains("--password "), "{login}");
            }
        }
    }
}

/// The tests' environment is scrubbed by a rule, and the rule covers every environment
/// variable named in xtask's source: a new `RELEASE_*` setting, say, cannot leak from a
/// developer's shell into the tests. The names that are not scrubbed are listed with why.
#[test]
fn every_variable_xtask_reads_is_scrubbed() {
    let not_scrubbed = [
        // Where build output goes; tests set it where it matters.
        "CARGO_TARGET_DIR",
        // Part of a Rust target triple in a test, not a variable.
        "X86_64",
    ];
    let mut named = Vec::new();
    for (_, text) in rust_files(xtask_src()) {
        for literal in text.split('"').skip(1).step_by(2) {
            let is_variable = literal.contains('_')
                && literal.starts_with(|c: char| c.is_ascii_uppercase())
                && literal
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if is_variable && !named.contains(&literal.to_string()) {
                named.push(literal.to_string());
            }
        }
    }
    assert!(
        named.len() >= 15,
        "expected the RELEASE_* settings among {named:?}"
    );
    for name in named {
        assert!(
            is_scrubbed(&name) || not_scrubbed.contains(&name.as_str()),
            "{name} is read by xtask but not scrubbed from the tests' environment: add it to SCRUBBED_ENV in support.rs"
        );
    }
    assert!(is_scrubbed("RELEASE_NEW_SETTING") && !is_scrubbed("PATH") && !is_scrubbed("CIRCLE"));
}

/// Every source file says what it owns in a `//!` paragraph.
#[test]
fn every_source_file_opens_with_a_module_doc() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let files = [rust_files(xtask_src()), rust_files(&tests)].concat();
    assert!(files.len() > 40, "found only {} files", files.len());
    for (path, text) in files {
        assert!(
            text.starts_with("//!"),
            "{} must open with a //! paragraph",
            path.display()
        );
    }
}

/// The helm publish requires (`core::tools::HELM_VERSION`) is the one the install script
/// and so CI install: a bump changes both, or neither.
#[test]
fn the_pinned_helm_is_the_one_the_install_script_installs() {
    let quoted = |text: &str, prefix: &str| -> String {
        let rest =
            &text[text.find(prefix).unwrap_or_else(|| panic!("no {prefix:?}")) + prefix.len()..];
        rest.split(['"', '\n']).next().unwrap().to_string()
    };
    let tools = std::fs::read_to_string(xtask_src().join("core/tools.rs")).unwrap();
    let script = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-test-tools.sh"),
    )
    .unwrap();
    let pinned = quoted(&tools, "pub const HELM_VERSION: &str = \"");
    assert!(pinned.starts_with("v3."), "{pinned}");
    assert_eq!(quoted(&script, "\nHELM_VERSION="), pinned);
    let validator = quoted(&tools, "pub const KUBERNETES_VALIDATE_VERSION: &str = \"");
    assert!(validator.starts_with("1."), "{validator}");
    assert_eq!(quoted(&script, "\nKUBERNETES_VALIDATE_VERSION="), validator);
}
