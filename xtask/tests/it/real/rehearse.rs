//! `release rehearse --local-registry` end to end: the throwaway registry it starts itself
//! (Debian's docker-registry, on a free port of 127.0.0.1), every stage against it, and
//! nothing left running afterwards, unless kept.

use std::time::Duration;

use super::{Env, build_slot, path_without, release_project, require};
use crate::interrupt::processes_with;

/// The environment of a rehearsal that names no registry: `--local-registry` brings one.
fn env_without_registries(marker: &str) -> Env {
    let mut env = Env::new("127.0.0.1:1");
    env.vars.retain(|(name, _)| {
        !matches!(
            name.as_str(),
            "RELEASE_IMAGE" | "RELEASE_CHART_REGISTRY" | "RELEASE_PLAIN_HTTP"
        )
    });
    env.set("XTASK_TEST_MARKER", marker);
    env
}

/// Every line a rehearsal says on stderr by default: one per step, with its time.
#[track_caller]
fn assert_one_line_per_stage(run: &crate::support::Run) {
    let lines: Vec<&str> = run.stderr.lines().collect();
    for line in &lines {
        assert!(
            line.starts_with("==> ")
                && (line.contains(": done in ") || line.contains(": failed in ")),
            "{line:?} is not a step line:\n{run}"
        );
    }
    // prepare, the registry, and every stage.
    let stages = lines
        .iter()
        .filter(|l| l.starts_with("==> rehearse: "))
        .count();
    assert_eq!(lines.len(), 2 + stages, "{run}");
}

#[test]
fn a_rehearsal_with_its_own_registry_passes_and_leaves_nothing_running() {
    let _slot = build_slot();
    require("docker-registry");
    let project = release_project();
    let marker = project.tmp.path().display().to_string();
    let env = env_without_registries(&marker);
    let before = project.remote_git(&["for-each-ref"]);

    let run = env
        .xtask(
            &project,
            &["release", "rehearse", "3.2.0", "--local-registry"],
        )
        .success();
    assert!(
        run.stdout
            .contains("rehearsing against a throwaway registry at 127.0.0.1:"),
        "{run}"
    );
    for stage in ["tag", "publish", "verify", "promote", "github --dry-run"] {
        assert!(
            run.stdout.contains(&format!("✓ {stage} ")),
            "{stage}:\n{run}"
        );
        assert!(
            run.stderr
                .contains(&format!("==> rehearse: {stage}: done in ")),
            "{stage}:\n{run}"
        );
    }
    assert!(run.stdout.contains("rehearsal of v3.2.0 passed"), "{run}");
    // The stages' own output (skopeo's progress, the attest harness's workflow commands,
    // every `$ command`) stays in their logs.
    assert_one_line_per_stage(&run);
    assert_eq!(
        processes_with(&marker),
        Vec::<String>::new(),
        "the registry outlived the rehearsal:\n{run}"
    );
    assert_eq!(project.remote_git(&["for-each-ref"]), before);
    assert_eq!(project.git(&["tag", "--list"]), "");
}

/// The value of `export NAME=VALUE` in `stdout`.
fn exported<'a>(stdout: &'a str, name: &str) -> Option<&'a str> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("export {name}=")))
}

/// The host and pid of the line `the registry keeps running at HOST (pid PID), …`.
fn kept_registry(run: &crate::support::Run) -> (String, String) {
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("the registry keeps running at "))
        .unwrap_or_else(|| panic!("no registry line:\n{run}"));
    let host = line
        .trim_start_matches("the registry keeps running at ")
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let pid = line
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap()
        .to_string();
    assert!(
        line.ends_with(&format!("stop it with `kill {pid}`")),
        "{line}"
    );
    (host, pid)
}

/// Stops the kept registry by its id, as the rehearsal says to, and waits until nothing of
/// the test's is left running.
fn stop(pid: &str, marker: &str) -> bool {
    let stopped = std::process::Command::new("kill")
        .arg(pid)
        .status()
        .unwrap()
        .success();
    let start = std::time::Instant::now();
    while !processes_with(marker).is_empty() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    stopped
}

/// `--keep` prints what the stages ran with, as `export` lines: with them alone, `verify`
/// checks the kept registry, and it is not the real repository's release it asks about,
/// nor GitHub it asks.
#[test]
fn keep_prints_the_environment_that_verifies_the_kept_registry() {
    let _slot = build_slot();
    require("docker-registry");
    let project = release_project();
    let marker = project.tmp.path().display().to_string();
    let env = env_without_registries(&marker);

    let run = env.xtask(
        &project,
        &["release", "rehearse", "3.4.0", "--local-registry", "--keep"],
    );
    let (host, pid) = kept_registry(&run);
    // Only the exports, on top of a clean tool environment: nothing from the test's.
    let exports: Vec<(String, String)> = run
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let verify_line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("cargo xtask -C "))
        .map(str::to_string);
    let mut tools = env_without_registries(&marker);
    tools.vars.retain(|(name, _)| !name.starts_with("RELEASE_"));
    for (name, value) in &exports {
        tools.set(name, value);
    }
    let work = verify_line
        .as_deref()
        .and_then(|l| l.strip_prefix("cargo xtask -C "))
        .and_then(|l| l.split(' ').next())
        .map(std::path::PathBuf::from);
    let verified = work.as_ref().map(|work| {
        let pairs = tools.pairs();
        crate::support::xtask_in(
            work,
            &["release", "verify", "3.4.0", "--artifacts-only"],
            &pairs,
        )
    });
    // A whole verify asks about the GitHub release too: with a token, gh dials the socket
    // nobody listens on, not GitHub.
    tools.set("GH_TOKEN", "not-a-token");
    let whole = work.as_ref().map(|work| {
        let pairs = tools.pairs();
        crate::support::xtask_in(work, &["release", "verify", "3.4.0"], &pairs)
    });
    let answered = std::net::TcpStream::connect(&host).is_ok();
    let stopped = stop(&pid, &marker);
    let scratch = work
        .as_ref()
        .and_then(|w| w.parent())
        .map(|p| p.to_path_buf());

    assert_eq!(run.code, 0, "{run}");
    assert!(answered, "nothing listens on {host}:\n{run}");
    assert!(stopped, "{run}");
    assert_eq!(
        exported(&run.stdout, "RELEASE_IMAGE"),
        Some(format!("{host}/llm-proxy").as_str()),
        "{run}"
    );
    assert_eq!(
        exported(&run.stdout, "RELEASE_CHART_REGISTRY"),
        Some(format!("oci://{host}/charts").as_str()),
        "{run}"
    );
    assert_eq!(
        exported(&run.stdout, "RELEASE_PLAIN_HTTP"),
        Some("1"),
        "{run}"
    );
    assert_eq!(
        exported(&run.stdout, "RELEASE_GITHUB_REPO"),
        Some("rehearsal/llm-proxy"),
        "{run}"
    );
    let gh = exported(&run.stdout, "GH_CONFIG_DIR").unwrap_or_else(|| panic!("{run}"));
    assert!(
        std::fs::read_to_string(format!("{gh}/config.yml"))
            .is_ok_and(|c| c.starts_with("http_unix_socket: ")),
        "{run}"
    );
    assert_eq!(
        verify_line.as_deref(),
        Some(
            format!(
                "cargo xtask -C {} release verify 3.4.0 --artifacts-only",
                work.as_ref().unwrap().display()
            )
            .as_str()
        )
    );
    let verified = verified.unwrap();
    assert_eq!(verified.code, 0, "{verified}");
    assert!(verified.stdout.contains(&host), "{verified}");
    let whole = whole.unwrap();
    assert_eq!(whole.code, 1, "{whole}");
    assert!(
        whole.stdout.contains("gh release view v3.4.0-stable")
            && whole.stdout.contains("no-github.sock: connect"),
        "{whole}"
    );
    assert_eq!(processes_with(&marker), Vec::<String>::new());
    if let Some(scratch) = scratch {
        let _ = std::fs::remove_dir_all(scratch);
    }
}

/// A failing stage's output is shown in full, and only that stage's; `-v` shows every
/// stage's as it runs.
#[test]
fn a_failing_stage_shows_its_output_and_keep_leaves_the_registry_running() {
    let _slot = build_slot();
    require("docker-registry");
    let project = release_project();
    let marker = project.tmp.path().display().to_string();
    let mut env = env_without_registries(&marker);
    // Without buildah, `publish` fails at once: the rehearsal fails, with the registry kept.
    env.set("PATH", &path_without("buildah", env.dir.path()));

    let run = env.xtask(
        &project,
        &["release", "rehearse", "3.3.0", "--local-registry", "--keep"],
    );
    let (host, pid) = kept_registry(&run);
    let answered = std::net::TcpStream::connect(&host).is_ok();
    let stopped = stop(&pid, &marker);
    let scratch = run
        .stderr
        .split("the scratch clone is kept at ")
        .nth(1)
        .and_then(|rest| rest.split([' ', ';']).next())
        .map(str::to_string);
    if let Some(scratch) = &scratch {
        let _ = std::fs::remove_dir_all(scratch);
    }
    assert_eq!(run.code, 1, "{run}");
    assert!(answered, "nothing listens on {host}:\n{run}");
    assert!(stopped, "{run}");
    assert_eq!(processes_with(&marker), Vec::<String>::new());
    assert!(
        run.stderr.contains("rehearsal failed at `publish`"),
        "{run}"
    );
    assert!(
        exported(&run.stdout, "RELEASE_IMAGE") == Some(format!("{host}/llm-proxy").as_str()),
        "{run}"
    );
    let output = run
        .stderr
        .split("---- output of `publish` ----\n")
        .nth(1)
        .and_then(|rest| {
            rest.split("---- end of the output of `publish` ----")
                .next()
        })
        .unwrap_or_else(|| panic!("no output of publish:\n{run}"));
    assert!(
        output.contains("`buildah` not found on PATH: install buildah"),
        "{run}"
    );
    // Before it, one line per step and nothing else.
    let before: Vec<&str> = run
        .stderr
        .split("---- output of `publish` ----")
        .next()
        .unwrap()
        .lines()
        .collect();
    let expected = [
        "==> prepare a scratch clone with a bare remote: done in ",
        "==> start a throwaway registry on 127.0.0.1: done in ",
        "==> rehearse: tag: done in ",
        "==> rehearse: publish: failed in ",
    ];
    assert_eq!(before.len(), expected.len(), "{run}");
    for (line, start) in before.iter().zip(expected) {
        assert!(line.starts_with(start), "{line:?}:\n{run}");
    }

    // -v: every stage's output as it runs, the tag stage's plan included.
    let verbose = env.xtask(
        &project,
        &["release", "rehearse", "3.3.0", "--local-registry", "-v"],
    );
    assert_eq!(verbose.code, 1, "{verbose}");
    assert!(verbose.stderr.contains("release tag v3.3.0"), "{verbose}");
    assert!(
        verbose.stderr.contains("`buildah` not found on PATH"),
        "{verbose}"
    );
    assert!(!verbose.stderr.contains("---- output of"), "{verbose}");
    // -q: nothing but the failing stage's output and the error.
    let quiet = env.xtask(
        &project,
        &["release", "rehearse", "3.3.0", "--local-registry", "-q"],
    );
    assert_eq!(quiet.code, 1, "{quiet}");
    assert!(
        quiet.stderr.starts_with("---- output of `publish` ----\n"),
        "{quiet}"
    );
    assert_eq!(processes_with(&marker), Vec::<String>::new());
}

/// Ctrl-C while a stage runs (its output going to its log): the stage's whole group and the
/// registry are stopped, the rehearsal says where it was, and exits 130. Ready when the
/// publish stage is a process of its own; no sleeps.
#[test]
fn an_interrupted_rehearsal_stops_the_stage_and_the_registry() {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;

    let _slot = build_slot();
    require("docker-registry");
    let project = release_project();
    let marker = project.tmp.path().display().to_string();
    let env = env_without_registries(&marker);
    let pairs = env.pairs();
    let mut command = crate::support::xtask_command(
        &project.work,
        &["release", "rehearse", "3.5.0", "--local-registry"],
        &pairs,
    );
    command
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().unwrap();
    let start = std::time::Instant::now();
    let publishing = || {
        processes_with(&marker)
            .iter()
            .any(|p| p.contains(" release publish v3.5.0"))
    };
    while !publishing() && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let was_publishing = publishing();
    // The terminal's Ctrl-C: SIGINT to xtask's foreground group (the stage has its own).
    let sent = std::process::Command::new("kill")
        .args(["-s", "INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap()
        .success();
    let run = crate::support::wait(child);
    assert!(was_publishing && sent, "{run}");
    assert_eq!(run.code, 130, "{run}");
    let said = run
        .stderr
        .lines()
        .find(|l| l.starts_with("error: rehearsal interrupted by SIGINT during `publish`: "))
        .unwrap_or_else(|| panic!("no interrupt line:\n{run}"));
    assert!(
        said.contains(": the stage and the registry on 127.0.0.1:")
            && said
                .ends_with(" were stopped, nothing real was changed; the scratch clone is removed"),
        "{run}"
    );
    assert!(run.stdout.contains("✗ publish "), "{run}");
    assert_eq!(
        processes_with(&marker),
        Vec::<String>::new(),
        "the rehearsal left processes behind:\n{run}"
    );
}
