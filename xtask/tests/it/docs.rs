//! The documents cannot drift from the commands.
//!
//! Every `console` block of `docs/release-process.md` is run, in document order, against one
//! scratch project, and its shown output compared with the real one. A `<!-- setup: … -->`
//! line before a block changes that project first, so the document can show a refusal as it
//! really happens. Commit hashes differ between the document's project and the scratch one,
//! so runs of 7 or 40 hex digits are compared as placeholders; progress lines on stderr
//! (`==>`, timings) are not shown in the document, `error:` and `warning:` lines are.
//!
//! Every other `cargo xtask …` in the documents and the README (in `sh` blocks or inline)
//! needs a registry or GitHub to run; those commands are checked against the CLI instead:
//! each subcommand exists and each flag is one it takes. The real-tools tests run them.

use crate::support::{Project, git, xtask_in};

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

enum Block {
    Setup(String),
    Example {
        line: usize,
        args: Vec<String>,
        expected: Vec<String>,
    },
}

fn blocks(doc: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut in_console = false;
    for (n, line) in doc.lines().enumerate() {
        if let Some(setup) = line
            .strip_prefix("<!-- setup: ")
            .and_then(|l| l.strip_suffix(" -->"))
        {
            blocks.push(Block::Setup(setup.to_string()));
            continue;
        }
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
            blocks.push(Block::Example {
                line: n + 1,
                args,
                expected: Vec::new(),
            });
        } else if let Some(Block::Example { expected, .. }) = blocks.last_mut() {
            expected.push(line.to_string());
        }
    }
    blocks
}

/// The document's setup steps, each a small change a reader could make by hand.
fn setup(project: &Project, step: &str) {
    let words: Vec<&str> = step.split_whitespace().collect();
    match words.as_slice() {
        ["git", args @ ..] => {
            project.git(args);
        }
        ["write", file] => project.write(file, "draft\n"),
        ["remove", file] => std::fs::remove_file(project.work.join(file)).unwrap(),
        // Someone else pushes to main: this clone is then behind.
        ["advance", "origin/main"] => {
            let other = project.clone_remote("colleague", &[]);
            std::fs::write(other.join("NEWS"), "news\n").unwrap();
            git(&other, &["add", "NEWS"]);
            git(&other, &["commit", "--quiet", "-m", "a colleague's change"]);
            git(&other, &["push", "--quiet", "origin", "main"]);
        }
        _ => panic!("unknown docs setup step {step:?}"),
    }
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
    let doc = read("docs/release-process.md");
    let blocks = blocks(&doc);
    let examples = blocks
        .iter()
        .filter(|b| matches!(b, Block::Example { .. }))
        .count();
    assert!(
        examples >= 8,
        "expected the document's examples, found {examples}"
    );
    let project = Project::new();
    // The document's remote is a sibling bare repository, named as people name it.
    project.git(&["remote", "set-url", "origin", "../remote.git"]);
    let env = [
        ("GIT_COMMITTER_NAME", "Ada Lovelace"),
        ("GIT_COMMITTER_EMAIL", "ada@example.com"),
    ];
    for block in blocks {
        let (line, args, expected) = match block {
            Block::Setup(step) => {
                setup(&project, &step);
                continue;
            }
            Block::Example {
                line,
                args,
                expected,
            } => (line, args, expected),
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = project.xtask_env(&args, &env);
        let mut shown: Vec<&str> = run.stdout.lines().collect();
        shown.extend(run.stderr.lines().filter(|l| {
            l.starts_with("error:") || l.starts_with("warning:") || l.starts_with("  - ")
        }));
        if expected.is_empty() {
            assert_eq!(
                run.code,
                0,
                "docs line {line}: `cargo xtask {}` failed:\n{run}",
                args.join(" ")
            );
            continue;
        }
        assert_eq!(
            normalize(&shown.join("\n")),
            normalize(&expected.join("\n")),
            "docs line {line}: `cargo xtask {}` prints something else:\n{run}",
            args.join(" ")
        );
    }
}

/// `cargo xtask …` commands outside `console` blocks: in `sh` blocks (one per line) and in
/// inline code spans.
fn other_commands(doc: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut fence: Option<&str> = None;
    for line in doc.lines() {
        if let Some(lang) = line.strip_prefix("```") {
            fence = if fence.is_some() { None } else { Some(lang) };
            continue;
        }
        match fence {
            Some("console") => {}
            Some(_) => {
                if let Some(at) = line.find("cargo xtask ") {
                    let command = line[at..].split('#').next().unwrap_or_default();
                    commands.push(command.trim().to_string());
                }
            }
            None => {
                for span in line.split('`').skip(1).step_by(2) {
                    if span.starts_with("cargo xtask ") {
                        commands.push(span.to_string());
                    }
                }
            }
        }
    }
    commands
}

#[test]
fn every_other_documented_command_exists_with_its_flags() {
    let tmp = crate::support::TempDir::new();
    let mut checked = 0;
    for file in ["docs/release-process.md", "README.md"] {
        for command in other_commands(&read(file)) {
            let mut words: Vec<&str> = command.split_whitespace().skip(2).collect();
            // `-C DIR` (a path of the reader's) before the command.
            if words.first() == Some(&"-C") {
                words.drain(..2);
            }
            // The subcommand path: `ci`, `dist`, or `release NAME`.
            let path: Vec<&str> = match words.as_slice() {
                ["release", name, ..] => vec!["release", name],
                [name, ..] => vec![name],
                [] => panic!("{file}: `{command}` names no command"),
            };
            let help = xtask_in(tmp.path(), &[&path[..], &["--help"]].concat(), &[]);
            assert_eq!(help.code, 0, "{file}: `{command}`: no such command\n{help}");
            for flag in words.iter().filter(|w| w.starts_with("--")) {
                let flag = flag.split('=').next().unwrap();
                assert!(
                    help.stdout.contains(&format!("{flag} "))
                        || help.stdout.contains(&format!("{flag}\n"))
                        || help.stdout.contains(&format!("{flag} <")),
                    "{file}: `{command}`: {flag} is not a flag of `{}`\n{help}",
                    path.join(" ")
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "expected the documents' commands, found {checked}"
    );
}

#[test]
fn normalize_hides_only_hashes() {
    assert_eq!(
        normalize("sha-0123abc v1.2.3 deadbeef"),
        "sha-<hex> v1.2.3 deadbeef"
    );
    assert_eq!(normalize(&"a".repeat(40)), "<hex>");
}
