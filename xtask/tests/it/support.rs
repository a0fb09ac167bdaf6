//! The test environment: hermetic git (no user or system config, pinned identity and
//! dates), a scratch project with a bare `origin`, and the built xtask binary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The environment every git and xtask process in a test gets: nothing from the
/// developer's machine may change what git does.
pub const HERMETIC_ENV: [(&str, &str); 10] = [
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_CONFIG_SYSTEM", "/dev/null"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_AUTHOR_NAME", "Release Tester"),
    ("GIT_AUTHOR_EMAIL", "tester@example.invalid"),
    ("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z"),
    ("GIT_COMMITTER_NAME", "Release Tester"),
    ("GIT_COMMITTER_EMAIL", "tester@example.invalid"),
    ("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z"),
    ("LC_ALL", "C"),
];

/// The real environment's variables that would change what xtask, git, helm, the registry
/// tools or gh do, as a rule rather than a list: every variable with one of these prefixes
/// (`*`) or exactly one of these names. `tidy::every_variable_xtask_reads_is_scrubbed` holds
/// the rule to every variable named in xtask's source.
pub const SCRUBBED_ENV: [&str; 12] = [
    "RELEASE_*",
    "GIT_*",
    "GITHUB_*",
    "GH_*",
    "DOCKER_*",
    "HELM_*",
    "LLM_PROXY_*",
    "REGISTRY_*",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "CI",
    "RUNNER_*",
];

/// Whether [`SCRUBBED_ENV`] removes the variable `name` from every test process.
pub fn is_scrubbed(name: &str) -> bool {
    SCRUBBED_ENV
        .iter()
        .any(|rule| match rule.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *rule,
        })
}

/// A temporary directory, removed when dropped (kept if `XTASK_KEEP_TEST_DIRS` is set).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("xtask-it-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var_os("XTASK_KEEP_TEST_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A scratch project: `work/` is a clone whose `origin` is the bare `remote.git/`.
pub struct Project {
    pub tmp: TempDir,
    pub work: PathBuf,
    pub remote: PathBuf,
}

/// The files of a minimal project that xtask can release: the workspace manifest with the
/// release configuration, and a chart.
const MANIFEST: &str = r#"[workspace]
members = []
resolver = "3"

[workspace.metadata.release]
image = "ghcr.io/sofatutor/llm-proxy"
chart = "charts/llm-proxy"
chart-registry = "oci://ghcr.io/sofatutor/charts"
platforms = ["linux/amd64", "linux/arm64"]
default-branch = "main"
remote = "origin"
github-repo = "sofatutor/llm-proxy"
"#;

const CHART: &str = "apiVersion: v2\nname: llm-proxy\n# stamped by releases\nversion: 0.0.0-dev\nappVersion: \"v0.0.0-dev\"\n";

impl Project {
    /// A minimal releasable project with one commit on `main`, pushed to its bare remote.
    pub fn new() -> Project {
        Project::with_files(|project| {
            project.write("Cargo.toml", MANIFEST);
            project.write("charts/llm-proxy/Chart.yaml", CHART);
            project.write("charts/llm-proxy/ci/default-values.yaml", "{}\n");
            project.write(".gitignore", "/target\n/dist\n");
        })
    }

    /// A project whose one commit on `main` holds what `fill` writes into the work tree,
    /// pushed to its bare remote, with `main` tracking `origin/main`.
    pub fn with_files(fill: impl FnOnce(&Project)) -> Project {
        let tmp = TempDir::new();
        let remote = tmp.path().join("remote.git");
        let work = tmp.path().join("work");
        git(
            tmp.path(),
            &[
                "init",
                "--quiet",
                "--bare",
                "--initial-branch=main",
                "remote.git",
            ],
        );
        git(
            tmp.path(),
            &["init", "--quiet", "--initial-branch=main", "work"],
        );
        let project = Project { tmp, work, remote };
        fill(&project);
        project.commit("initial commit");
        project.git(&["remote", "add", "origin", project.remote.to_str().unwrap()]);
        project.git(&["push", "--quiet", "origin", "main"]);
        project.git(&["branch", "--quiet", "--set-upstream-to=origin/main"]);
        project
    }

    pub fn write(&self, path: &str, contents: &str) {
        let path = self.work.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.work.join(path)).unwrap()
    }

    /// Stages everything and commits; returns the new commit.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Runs git in the work tree; panics on failure; returns trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.work, args)
    }

    /// Runs git in the bare remote.
    pub fn remote_git(&self, args: &[&str]) -> String {
        git(&self.remote, args)
    }

    /// Every ref of the remote as `git ls-remote` sees it, peeled lines included.
    pub fn remote_refs(&self) -> String {
        git(
            self.tmp.path(),
            &["ls-remote", self.remote.to_str().unwrap()],
        )
    }

    /// The remote's refs and the clone's refs and status: what "nothing changed" compares.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            remote: self.remote_refs(),
            local_refs: self.git(&["for-each-ref"]),
            status: self.git(&["status", "--porcelain"]),
        }
    }

    /// Another clone of the remote, in `tmp/<name>`, with `main` tracking `origin/main`.
    /// A bare copy of the project's remote in `tmp/<name>.git`: a fork, or a second remote.
    pub fn bare_copy(&self, name: &str) -> PathBuf {
        let copy = self.tmp.path().join(format!("{name}.git"));
        git(
            self.tmp.path(),
            &[
                "clone",
                "--quiet",
                "--bare",
                self.remote.to_str().unwrap(),
                copy.to_str().unwrap(),
            ],
        );
        copy
    }

    pub fn clone_remote(&self, name: &str, extra: &[&str]) -> PathBuf {
        let url = format!("file://{}", self.remote.display());
        let mut args = vec!["clone", "--quiet"];
        args.extend(extra);
        args.extend([url.as_str(), name]);
        git(self.tmp.path(), &args);
        self.tmp.path().join(name)
    }

    /// Installs an executable hook in the bare remote.
    pub fn remote_hook(&self, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let path = self.remote.join("hooks").join(name);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Runs the built xtask with `-C work`.
    pub fn xtask(&self, args: &[&str]) -> Run {
        xtask_in(&self.work, args, &[])
    }

    /// Runs the built xtask with `-C work` and extra environment variables.
    pub fn xtask_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        xtask_in(&self.work, args, env)
    }
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = hermetic(Command::new("git"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed in {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

pub fn hermetic(mut command: Command) -> Command {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_scrubbed) {
            command.env_remove(name);
        }
    }
    command.envs(HERMETIC_ENV);
    command
}

/// What "nothing changed" means: byte-identical refs on both sides and the same status.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub remote: String,
    pub local_refs: String,
    pub status: String,
}

/// The lines of `git ls-remote` output in `after` but not in `before`, and the other way
/// round prefixed with `-`: every ref that changed.
pub fn changed_lines(before: &str, after: &str) -> Vec<String> {
    let mut changed: Vec<String> = after
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l))
        .map(|l| l.split('\t').nth(1).unwrap_or(l).to_string())
        .collect();
    changed.extend(
        before
            .lines()
            .filter(|l| !after.lines().any(|a| a == *l))
            .map(|l| format!("-{}", l.split('\t').nth(1).unwrap_or(l))),
    );
    changed
}

/// What one xtask run did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn success(self) -> Run {
        assert_eq!(self.code, 0, "expected success:\n{self}");
        self
    }

    #[track_caller]
    pub fn failure(self) -> Run {
        assert_eq!(self.code, 1, "expected exit 1:\n{self}");
        self
    }

    /// Exit 2: a usage error (clap's own, or an argument whose value was refused before
    /// anything ran).
    #[track_caller]
    pub fn usage_error(self) -> Run {
        assert_eq!(self.code, 2, "expected exit 2 (usage error):\n{self}");
        self
    }

    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{self}"
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Run {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{self}"
        );
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub fn xtask_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    run(xtask_command(dir, args, env))
}

/// The xtask command line, with no terminal on stdin (as in CI): confirmation needs --yes.
pub fn xtask_command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = hermetic(Command::new(env!("CARGO_BIN_EXE_xtask")));
    command
        .arg("-C")
        .arg(dir)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    command
}

/// Starts xtask without waiting for it, for tests that race two runs.
pub fn spawn_xtask(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    xtask_command(dir, args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for a spawned xtask.
pub fn wait(child: Child) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

pub fn run(mut command: Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}
