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

/// The files that may run processes, touch files or read the environment: the switchboard,
/// the executor and the other shell infrastructure, the commands, and every `*_io.rs` (the
/// shell half of a room, named after the pure file it reads the world for). Every other
/// file of `xtask/src` is pure.
fn is_shell(relative: &Path) -> bool {
    let name = relative.to_str().unwrap();
    const SHELL: [&str; 8] = [
        "main.rs",
        "cli.rs",
        "exec.rs",
        "ui.rs",
        "project.rs",
        "scratch.rs",
        "ci.rs",
        "dist.rs",
    ];
    SHELL.contains(&name) || name.starts_with("release/") || name.ends_with("_io.rs")
}

/// The code of a file without its comments, string and char literals, and its
/// `#[cfg(test)]` module: what the rules below judge.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    let bytes = text.as_bytes();
    let (mut out, mut i) = (String::new(), 0);
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |e| e + 2);
        } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
            let hashes = rest[1..].find('"').unwrap();
            let close = format!("\"{}", "#".repeat(hashes));
            i += 2 + hashes + rest[2 + hashes..].find(&close).unwrap() + close.len();
            out.push_str("\"\"");
        } else if rest.starts_with('"') {
            let mut j = 1;
            while rest.as_bytes()[j] != b'"' {
                j += if rest.as_bytes()[j] == b'\\' { 2 } else { 1 };
            }
            i += j + 1;
            out.push_str("\"\"");
        } else if let Some(len) = char_literal(rest) {
            i += len;
            out.push_str("' '");
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    // `std :: env` is `std::env`.
    let mut joined = String::new();
    for (n, part) in out.split("::").enumerate() {
        if n > 0 {
            joined = joined.trim_end().to_string() + "::";
        }
        joined.push_str(if n > 0 { part.trim_start() } else { part });
    }
    joined
}

/// The length of the char literal `rest` starts with (`'x'`, `'\n'`), if it does: a
/// lifetime (`'a`) is not one.
fn char_literal(rest: &str) -> Option<usize> {
    let inner = rest.strip_prefix('\'')?;
    if let Some(escaped) = inner.strip_prefix('\\') {
        return Some(escaped.find('\'')? + 3);
    }
    let c = inner.chars().next()?;
    inner[c.len_utf8()..]
        .starts_with('\'')
        .then(|| 2 + c.len_utf8())
}

/// Every path that starts with `root::` in `code`, with `use` groups expanded:
/// `std::{env, fs::File}` gives `std::env` and `std::fs::File`.
fn paths_from(code: &str, root: &str) -> Vec<Vec<String>> {
    fn ident(s: &str) -> (&str, &str) {
        let s = s.trim_start();
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        (&s[..end], &s[end..])
    }
    /// Parses `a::b::{c, d::e}` at `s`, pushing every full path onto `out`.
    fn tree<'a>(mut s: &'a str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> &'a str {
        let mut path = prefix;
        loop {
            let t = s.trim_start();
            if let Some(inner) = t.strip_prefix('{') {
                let mut rest = inner;
                loop {
                    rest = tree(rest, path.clone(), out).trim_start();
                    if let Some(r) = rest.strip_prefix(',') {
                        rest = r;
                        if let Some(r) = rest.trim_start().strip_prefix('}') {
                            return r;
                        }
                    } else {
                        return rest.trim_start().strip_prefix('}').unwrap_or(rest);
                    }
                }
            }
            let (name, rest) = ident(t);
            if name.is_empty() {
                out.push(path);
                return t;
            }
            if name != "self" {
                path.push(name.to_string());
            }
            match rest.trim_start().strip_prefix("::") {
                Some(r) => s = r,
                None => {
                    out.push(path);
                    return rest;
                }
            }
        }
    }
    let mut out = Vec::new();
    let pattern = format!("{root}::");
    let mut at = 0;
    while let Some(found) = code[at..].find(&pattern) {
        let start = at + found;
        at = start + pattern.len();
        // `::std::fs` is a path from the root; `my::std::fs` is not `std`.
        let before = code[..start].strip_suffix("::").unwrap_or(&code[..start]);
        if before.ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        tree(&code[at..], vec![root.to_string()], &mut out);
    }
    out
}

/// What a pure file must not name: the standard library's doors to the world, the shell
/// library, and the clock.
fn impurities(code: &str) -> Vec<String> {
    const WORLD: [&str; 6] = ["fs", "env", "process", "net", "os", "thread"];
    let mut found: Vec<String> = paths_from(code, "std")
        .into_iter()
        .filter(|path| path.get(1).is_some_and(|m| WORLD.contains(&m.as_str())))
        .map(|path| path.join("::"))
        .collect();
    for word in ["xshell", "Command", "Instant", "SystemTime", "which"] {
        let hit = code.match_indices(word).any(|(at, _)| {
            let before = code[..at].chars().next_back();
            let after = code[at + word.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
        });
        if hit {
            found.push(word.to_string());
        }
    }
    found
}

/// The module files of `xtask/src` that a file names through `crate::` or `super::`.
fn imports(src: &Path, relative: &Path, code: &str) -> Vec<PathBuf> {
    let module_dir = |relative: &Path| -> PathBuf {
        let parent = relative.parent().unwrap_or(Path::new(""));
        if relative.file_name().unwrap() == "mod.rs" {
            parent.parent().unwrap_or(Path::new("")).to_path_buf()
        } else {
            parent.to_path_buf()
        }
    };
    let mut targets = Vec::new();
    for (root, base) in [("crate", PathBuf::new()), ("super", module_dir(relative))] {
        for path in paths_from(code, root) {
            let (mut dir, mut target) = (base.clone(), None);
            for segment in &path[1..] {
                let file = dir.join(format!("{segment}.rs"));
                let folder = dir.join(segment).join("mod.rs");
                if src.join(&file).is_file() {
                    target = Some(file);
                } else if src.join(&folder).is_file() {
                    target = Some(folder);
                } else {
                    break;
                }
                dir = dir.join(segment);
            }
            if let Some(target) = target.filter(|t| t != relative && !targets.contains(t)) {
                targets.push(target);
            }
        }
    }
    targets
}

/// The release core takes data and returns data: no process, no file, no environment.
/// That is what makes a dry run trustworthy and the rules testable in microseconds. Every
/// file that is not shell by name is pure, and imports only pure files.
#[test]
fn pure_files_spawn_nothing_touch_no_file_and_import_only_pure_files() {
    let src = xtask_src();
    let mut pure = 0;
    for (path, text) in rust_files(src) {
        let relative = path.strip_prefix(src).unwrap();
        if is_shell(relative) {
            continue;
        }
        pure += 1;
        let code = code_of(&text);
        let found = impurities(&code);
        assert!(
            found.is_empty(),
            "{} is pure but names {found:?}: move that part to a shell file (`*_io.rs`)",
            relative.display()
        );
        for import in imports(src, relative, &code) {
            assert!(
                !is_shell(&import),
                "{} is pure but imports the shell file {}",
                relative.display(),
                import.display()
            );
        }
    }
    assert!(pure >= 20, "expected the pure modules, found {pure}");
}

/// The purity rule is tried against the ways a file could slip the world in.
#[test]
fn the_purity_rule_sees_through_grouped_and_renamed_imports() {
    for sneaky in [
        "use std::{env, fs};",
        "use std::{collections::BTreeMap, fs::File as F};",
        "use std::{\n    io,\n    process::Command as C,\n};",
        "let v = std :: env :: var(\"X\");",
        "fn f() { ::std::fs::read(\"x\"); }",
        "use std::os::unix::fs::PermissionsExt;",
        "use xshell::Shell;",
        "let t = Instant::now();",
    ] {
        assert!(
            !impurities(&code_of(sneaky)).is_empty(),
            "not seen: {sneaky}"
        );
    }
    for clean in [
        "use std::{collections::BTreeMap, fmt};",
        "// use std::fs;\nlet x = 1;",
        "let s = \"std::process\";",
        "let environment = envs; // the env of a command, as data",
        "#[cfg(test)]\nmod tests {\n    use std::fs;\n}",
    ] {
        assert_eq!(impurities(&code_of(clean)), Vec::<String>::new(), "{clean}");
    }
}

/// Imports go one way: no two files, and no two rooms (the folders and top-level files of
/// `xtask/src`), import each other, however long the circle.
#[test]
fn no_import_circles_between_files_or_rooms() {
    let src = xtask_src();
    let room = |file: &Path| -> String {
        let first = file
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        first.trim_end_matches(".rs").to_string()
    };
    let mut files: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for (path, text) in rust_files(src) {
        let relative = path.strip_prefix(src).unwrap().to_path_buf();
        if relative.file_name().unwrap() == "mod.rs" || relative == Path::new("main.rs") {
            continue;
        }
        let deps = imports(src, &relative, &code_of(&text));
        files.push((relative, deps));
    }
    let mut rooms: Vec<(String, Vec<String>)> = Vec::new();
    for (file, deps) in &files {
        let from = room(file);
        let at = match rooms.iter().position(|(r, _)| *r == from) {
            Some(at) => at,
            None => {
                rooms.push((from.clone(), Vec::new()));
                rooms.len() - 1
            }
        };
        for dep in deps.iter().map(|d| room(d)).filter(|d| *d != from) {
            if !rooms[at].1.contains(&dep) {
                rooms[at].1.push(dep);
            }
        }
    }
    let file_graph: Vec<(String, Vec<String>)> = files
        .iter()
        .map(|(f, deps)| {
            let name = |p: &PathBuf| p.display().to_string();
            (name(f), deps.iter().map(name).collect())
        })
        .collect();
    for (what, graph) in [("files", &file_graph), ("rooms", &rooms)] {
        if let Some(circle) = find_circle(graph) {
            panic!("an import circle between {what}: {}", circle.join(" -> "));
        }
    }
    assert!(rooms.len() >= 8 && files.len() >= 30, "{rooms:?}");
}

/// One circle of `graph` (node, the nodes it imports), if there is one.
fn find_circle(graph: &[(String, Vec<String>)]) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &[(String, Vec<String>)],
        path: &mut Vec<String>,
        done: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut circle = path[at..].to_vec();
            circle.push(node.to_string());
            return Some(circle);
        }
        if done.iter().any(|n| n == node) {
            return None;
        }
        path.push(node.to_string());
        let deps = graph
            .iter()
            .find(|(n, _)| n == node)
            .map(|(_, d)| d.clone());
        for dep in deps.unwrap_or_default() {
            if let Some(circle) = visit(&dep, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.push(node.to_string());
        None
    }
    let mut done = Vec::new();
    graph
        .iter()
        .find_map(|(node, _)| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_circle_finder_finds_long_circles_and_no_false_ones() {
    let graph = |edges: &[(&str, &[&str])]| -> Vec<(String, Vec<String>)> {
        edges
            .iter()
            .map(|(n, d)| (n.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect()
    };
    let circle = find_circle(&graph(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])]));
    assert_eq!(circle.unwrap().len(), 4);
    assert!(find_circle(&graph(&[("a", &["b", "c"]), ("b", &["c"]), ("c", &[])])).is_none());
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
        // `env!`: cargo sets it when xtask is compiled (`--version`), it is not read at run time.
        "CARGO_PKG_VERSION",
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

/// The helm publish requires (`tools::HELM_VERSION`) is the one the install script
/// and so CI install: a bump changes both, or neither.
#[test]
fn the_pinned_helm_is_the_one_the_install_script_installs() {
    let quoted = |text: &str, prefix: &str| -> String {
        let rest =
            &text[text.find(prefix).unwrap_or_else(|| panic!("no {prefix:?}")) + prefix.len()..];
        rest.split(['"', '\n']).next().unwrap().to_string()
    };
    let tools = std::fs::read_to_string(xtask_src().join("tools.rs")).unwrap();
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

/// `.ci/run` runs the real-tools build of the tests for `real::` only, having run every other
/// test a moment before: so the feature may gate nothing but `mod real`, or a test gated
/// elsewhere would never run.
#[test]
fn the_real_tools_feature_gates_only_the_real_module() {
    let tests = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it"));
    let gate = concat!("feature = ", "\"real-tools\"");
    let mut elsewhere: Vec<String> = rust_files(tests)
        .into_iter()
        .filter(|(path, _)| !path.starts_with(tests.join("real")))
        .flat_map(|(path, text)| {
            let allowed = if path.ends_with("main.rs") {
                format!("#[cfg({gate})]\nmod real;")
            } else {
                String::new()
            };
            let rest = if allowed.is_empty() {
                text
            } else {
                text.replacen(&allowed, "", 1)
            };
            (rest.matches(gate).count() > 0).then(|| path.display().to_string())
        })
        .collect();
    elsewhere.sort();
    assert_eq!(
        elsewhere,
        Vec::<String>::new(),
        "move these tests under real/"
    );
    let ci_run = std::fs::read_to_string(tests.join("../../../.ci/run")).unwrap();
    assert!(
        ci_run.contains("--features real-tools --locked --test it -- real::\n"),
        ".ci/run runs the real-tools tests as this test assumes:\n{ci_run}"
    );
}
