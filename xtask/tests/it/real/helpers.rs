//! Credential helpers that misbehave, against a real registry that requires a login: one
//! that hangs is stopped within `RELEASE_HELPER_TIMEOUT` and named, and one that answers
//! with anything but a JSON object (YAML, or garbage that starts like a field) is refused
//! with "printed no JSON object": nothing it printed is sent as a password.
//!
//! A helper is a small program on PATH (`docker-credential-NAME`); here each is a script.
//! Checked with docker-registry 2.8.2.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::{Env, Registry, build_slot, release_project};
use crate::interrupt::processes_with;
use crate::support::{Project, Run, wait, xtask_command};

const USER: &str = "tester";
const PASSWORD: &str = "canary-Helper-5f3a";

/// Installs `docker-credential-NAME` with `body` (after `#!/bin/sh`) on PATH, and a docker
/// config that names it as the `credsStore`. Every other tool's login file is empty.
fn with_helper(registry: &Registry, name: &str, body: &str) -> Env {
    let mut env = Env::new(&registry.host);
    let dir = env.dir.path().to_path_buf();
    env.set("XDG_CONFIG_HOME", &dir.join("xdg").display().to_string());
    env.set(
        "HELM_REGISTRY_CONFIG",
        &dir.join("helm-registry.json").display().to_string(),
    );
    let bin = dir.join("helper-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&script, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    env.set("PATH", &path);
    std::fs::create_dir_all(dir.join("docker")).unwrap();
    std::fs::write(
        docker_config(&env),
        format!(
            r#"{{"auths":{{"{}":{{}}}},"credsStore":"{name}"}}"#,
            registry.host
        ),
    )
    .unwrap();
    env
}

fn docker_config(env: &Env) -> std::path::PathBuf {
    env.dir.path().join("docker/config.json")
}

/// What `release verify` says of the chart when the helper gave no login: the whole reason,
/// with every file looked in, as a person reads it.
fn refusal(registry: &Registry, env: &Env, helper: &str, why: &str) -> String {
    let dir = env.dir.path();
    format!(
        "{host} answered HTTP 401 for {host}/charts/llm-proxy:1.0.0: no credentials for {host} were found (looked in helm registry config {helm} (no such file); docker config {docker} (credsStore {helper}: `docker-credential-{helper} get` for {host}: {why}); containers auth file {containers} (nothing for {host}); containers auth file {xdg} (no such file))",
        host = registry.host,
        helm = dir.join("helm-registry.json").display(),
        docker = docker_config(env).display(),
        containers = dir.join("containers-auth.json").display(),
        xdg = dir.join("xdg/containers/auth.json").display(),
    )
}

/// `release verify 1.0.0 --artifacts-only` (nothing is published: every read asks for a
/// login), stopped with SIGKILL if it is still running after `limit`: without a bound on
/// the helper it would wait for it for ever.
fn verify_within(project: &Project, env: &Env, limit: Duration) -> (Run, Duration) {
    let marker = project.tmp.path().display().to_string();
    let mut vars = env.pairs();
    vars.push(("XTASK_TEST_MARKER", &marker));
    let mut command = xtask_command(
        &project.work,
        &["release", "verify", "1.0.0", "--artifacts-only"],
        &vars,
    );
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let start = Instant::now();
    let child = command.spawn().unwrap();
    let pid = child.id().to_string();
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            while start.elapsed() < limit {
                if done.load(Ordering::SeqCst) {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = Command::new("kill").args(["-s", "KILL", &pid]).status();
            true
        })
    };
    let run = wait(child);
    let took = start.elapsed();
    done.store(true, Ordering::SeqCst);
    let killed = watchdog.join().unwrap();
    // What the run left (a helper it did not stop), stopped by id before asserting anything.
    let left = processes_with(&marker);
    for line in &left {
        let pid = line.split(':').next().unwrap();
        let _ = Command::new("kill").args(["-s", "KILL", pid]).status();
    }
    assert!(
        !killed,
        "verify still ran after {limit:?}: the helper holds it\n{run}"
    );
    assert_eq!(
        left,
        Vec::<String>::new(),
        "the run left processes behind:\n{run}"
    );
    (run, took)
}

#[test]
fn a_credential_helper_that_hangs_is_stopped_within_its_bound_and_named() {
    let _slot = build_slot();
    let registry = Registry::with_login(USER, PASSWORD);
    let project = release_project();
    let mut env = with_helper(&registry, "hang", "sleep 600\n");
    env.set("RELEASE_HELPER_TIMEOUT", "2");
    // Verify asks a few registries side by side, each helper call bounded at 2 s: 60 s is
    // far beyond what a bounded run takes and far below what an unbounded one would.
    let (run, took) = verify_within(&project, &env, Duration::from_secs(60));
    eprintln!("verify with a hanging helper (bound 2 s) ended after {took:?}");
    let run = run.failure();
    let why = "it gave no answer within 2s and was stopped (RELEASE_HELPER_TIMEOUT)";
    assert!(
        run.stdout.contains(&refusal(&registry, &env, "hang", why)),
        "{run}"
    );
}

#[test]
fn a_helper_answering_yaml_or_a_bare_secret_line_is_refused() {
    let _slot = build_slot();
    let registry = Registry::with_login(USER, PASSWORD);
    let project = release_project();
    // serde_yaml reads both as a mapping with a `Secret`; the first would even log in.
    for (name, answer) in [
        ("yaml", format!("Username: {USER}\nSecret: {PASSWORD}\n")),
        ("garbage", format!("Secret: {PASSWORD} (from the store)\n")),
    ] {
        let env = with_helper(
            &registry,
            name,
            &format!("cat >/dev/null\nprintf '%s' '{answer}'\n"),
        );
        let (run, _) = verify_within(&project, &env, Duration::from_secs(120));
        let run = run.failure();
        assert!(
            run.stdout
                .contains(&refusal(&registry, &env, name, "it printed no JSON object")),
            "{run}"
        );
        assert!(
            !run.to_string().contains(PASSWORD),
            "a secret leaked:\n{run}"
        );
    }
}
