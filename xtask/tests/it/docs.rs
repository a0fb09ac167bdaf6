//! The release document cannot drift: every `cargo xtask` example in a `console` block of
//! `docs/release-process.md` is run against a scratch project and its shown output compared.
//!
//! Commit hashes differ between the document's project and the scratch one, so runs of 7 or
//! 40 hex digits are compared as placeholders. Progress lines on stderr (`==>`, timings) are
//! not shown in the document; `error:` and `warning:` lines are.

use crate::support::Project;

struct Example {
    line: usize,
    args: Vec<String>,
    expected: Vec<String>,
}

fn examples(doc: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut in_console = false;
    for (n, line) in doc.lines().enumerate() {
        if line.starts_with("```") {
            in_console = line == "```console";
            continue;
        }
        if !in_console {
            continue;
        }
        if let Some(command) = line.strip_prefix("$ ") {
            let args = command.strip_prefix("cargo xtask ").unwrap_or_else(|| {
                panic!(
                    "docs line {}: console examples run `cargo xtask`, found {command:?}",
                    n + 1
                )
            });
            let args = args.split_whitespace().map(str::to_string).collect();
            examples.push(Example {
                line: n + 1,
                args,
                expected: Vec::new(),
            });
        } else if let Some(example) = examples.last_mut() {
            example.expected.push(line.to_string());
        }
    }
    examples
}

fn normalize(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() == 7 || run.len() == 40 {
            out.push_str("<hex>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[test]
fn release_process_examples_match_the_real_commands() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/release-process.md"
    ))
    .unwrap();
    let examples = examples(&doc);
    assert!(
        examples.len() >= 5,
        "expected the document's examples, found {}",
        examples.len()
    );
    let project = Project::new();
    for example in examples {
        let args: Vec<&str> = example.args.iter().map(String::as_str).collect();
        let run = project.xtask(&args);
        let mut shown: Vec<&str> = run.stdout.lines().collect();
        shown.extend(
            run.stderr
                .lines()
                .filter(|l| l.starts_with("error:") || l.starts_with("warning:")),
        );
        if example.expected.is_empty() {
            assert_eq!(
                run.code,
                0,
                "docs line {}: `cargo xtask {}` failed:\n{run}",
                example.line,
                args.join(" ")
            );
            continue;
        }
        assert_eq!(
            normalize(&shown.join("\n")),
            normalize(&example.expected.join("\n")),
            "docs line {}: `cargo xtask {}` prints something else:\n{run}",
            example.line,
            args.join(" ")
        );
    }
}

#[test]
fn normalize_hides_only_hashes() {
    assert_eq!(
        normalize("sha-0123abc v1.2.3 deadbeef"),
        "sha-<hex> v1.2.3 deadbeef"
    );
    assert_eq!(normalize(&"a".repeat(40)), "<hex>");
}
