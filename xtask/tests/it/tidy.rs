//! Repository invariants, checked by `cargo test` like any other rule.

use std::path::Path;

fn xtask_src() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
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
    let core = xtask_src().join("core");
    let mut checked = 0;
    for entry in std::fs::read_dir(&core).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        // `include_str!` in tests reads at compile time; it is not file access at run time.
        for word in forbidden {
            assert!(
                !text.contains(word),
                "{} uses {word}: the release core must stay pure",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 5,
        "expected the core modules in {}",
        core.display()
    );
}

/// Every source file says what it owns in a `//!` paragraph.
#[test]
fn every_source_file_opens_with_a_module_doc() {
    let mut stack = vec![
        xtask_src().to_path_buf(),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests"),
    ];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    text.starts_with("//!"),
                    "{} must open with a //! paragraph",
                    path.display()
                );
            }
        }
    }
}
