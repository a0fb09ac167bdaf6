//! A registry that requires a login (htpasswd, bcrypt), read with the logins the developer
//! already has and no `RELEASE_REGISTRY_*`: after `docker login`, `helm registry login` and
//! `skopeo login`, or with a Docker-Desktop-style credential helper, `release verify`,
//! publish's "already there?" checks and `release promote`'s gate all pass; each login alone
//! is enough, `RELEASE_REGISTRY_*` overrides them, the documented file order holds, a wrong
//! password is named by its source and never shown, and identity tokens are traded for
//! access tokens (against a stand-in token service: see `TokenRegistry`).
//!
//! Checked with docker-registry 2.8.2, the docker CLI 28.2.2 (which logs in without a
//! daemon), helm v3.18.0 and skopeo 1.9.3.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{Env, Registry, build_slot, release_commit, release_project, require};
use crate::support::{Project, Run};

const USER: &str = "tester";
const PASSWORD: &str = "canary-Pr1vate-9c1e";
const WRONG: &str = "canary-Wr0ng-44d2";

/// Every tool's configuration in a fresh temporary directory, nobody logged in, and no
/// `RELEASE_REGISTRY_*` (the test harness removes the real ones).
fn fresh_env(host: &str) -> Env {
    let mut env = Env::new(host);
    let path = |name: &str| env.dir.path().join(name).to_str().unwrap().to_string();
    let (xdg, helm) = (path("xdg-config"), path("helm/config/registry/config.json"));
    // `$XDG_CONFIG_HOME/containers/auth.json` is a containers login file too.
    env.set("XDG_CONFIG_HOME", &xdg);
    // Where helm derives it from HELM_CONFIG_HOME, named so the developer's own cannot leak in.
    env.set("HELM_REGISTRY_CONFIG", &helm);
    env
}

/// Publishes `vVERSION` with `RELEASE_REGISTRY_*`, in an environment of its own: the logins
/// `publish` makes with them land in that environment's files, not in the test's.
fn publish_with_release_vars(project: &Project, registry: &Registry, version: &str) {
    let mut env = fresh_env(&registry.host);
    env.set("RELEASE_REGISTRY_USER", USER);
    env.set("RELEASE_REGISTRY_PASSWORD", PASSWORD);
    env.xtask(project, &["release", "publish", &format!("v{version}")])
        .success();
}

fn vars(env: &Env) -> Vec<(&str, &str)> {
    env.pairs()
}

/// Runs a tool's login with the password on stdin, in `env`.
fn login(env: &Env, program: &str, args: &[&str], password: &str) {
    let mut child = Command::new(require(program))
        .args(args)
        .envs(vars(env))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn docker_login(env: &Env, registry: &Registry) {
    std::fs::create_dir_all(env.dir.path().join("docker")).unwrap();
    // Docker CLI 28 logs in without a daemon: it asks the registry itself and writes
    // `$DOCKER_CONFIG/config.json`.
    login(
        env,
        "docker",
        &[
            "login",
            "--username",
            USER,
            "--password-stdin",
            &registry.host,
        ],
        PASSWORD,
    );
}

fn helm_login(env: &Env, registry: &Registry) {
    login(
        env,
        "helm",
        &[
            "registry",
            "login",
            "--plain-http",
            "--username",
            USER,
            "--password-stdin",
            &registry.host,
        ],
        PASSWORD,
    );
}

fn skopeo_login(env: &Env, registry: &Registry) {
    login(
        env,
        "skopeo",
        &[
            "login",
            "--tls-verify=false",
            "--username",
            USER,
            "--password-stdin",
            &registry.host,
        ],
        PASSWORD,
    );
}

fn env_path(env: &Env, key: &str) -> PathBuf {
    let (_, value) = env.vars.iter().find(|(k, _)| k == key).unwrap();
    PathBuf::from(value)
}

fn docker_config(env: &Env) -> PathBuf {
    env_path(env, "DOCKER_CONFIG").join("config.json")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn base64(text: &str) -> String {
    let out = Command::new(require("base64"))
        .arg("-w0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(text.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// Docker's `config.json` as `docker login` writes it, for a login the real command cannot
/// make: `docker login` refuses a wrong password.
fn write_docker_auth(env: &Env, registry: &Registry, password: &str) {
    write(
        &docker_config(env),
        &format!(
            "{{\n\t\"auths\": {{\n\t\t\"{}\": {{\n\t\t\t\"auth\": \"{}\"\n\t\t}}\n\t}}\n}}",
            registry.host,
            base64(&format!("{USER}:{password}"))
        ),
    );
}

/// A `docker-credential-NAME` on PATH that stands in for Docker Desktop's keychain helper
/// (`docker-credential-desktop`, which needs the desktop app and cannot run here). It speaks
/// the helper protocol for `get`: the server on stdin, `{ServerURL,Username,Secret}` on
/// stdout, "credentials not found" for any other server; it logs its argv and stdin.
struct Helper {
    name: &'static str,
    log: PathBuf,
}

fn install_helper(
    env: &mut Env,
    registry: &Registry,
    name: &'static str,
    password: &str,
) -> Helper {
    let bin = env.dir.path().join("helper-bin");
    let log = env.dir.path().join(format!("{name}.log"));
    let script = bin.join(format!("docker-credential-{name}"));
    write(
        &script,
        &format!(
            r#"#!/bin/sh
read -r server
echo "argv=$* stdin=$server" >> '{log}'
if [ "$1" = get ] && [ "$server" = '{host}' ]; then
  printf '{{"ServerURL":"%s","Username":"{USER}","Secret":"{password}"}}\n' "$server"
  exit 0
fi
echo 'credentials not found in native keychain'
exit 1
"#,
            log = log.display(),
            host = registry.host,
        ),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    env.set("PATH", &path);
    Helper { name, log }
}

impl Helper {
    /// What the helper was asked: one `argv=get stdin=HOST` line per call.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

#[track_caller]
fn assert_no_secret(runs: &[&Run]) {
    for run in runs {
        let text = run.to_string();
        for secret in [
            PASSWORD.to_string(),
            WRONG.to_string(),
            base64(&format!("{USER}:{PASSWORD}")),
            base64(&format!("{USER}:{WRONG}")),
        ] {
            assert!(!text.contains(&secret), "a secret leaked:\n{text}");
        }
    }
}

/// verify, a re-run of publish that finds everything already there, and promote's gate,
/// all with whatever logins `env` holds.
fn verify_republish_and_promote(project: &Project, env: &Env, version: &str) -> Vec<Run> {
    let verify = env
        .xtask(project, &["release", "verify", version, "--artifacts-only"])
        .success();
    let republish = env
        .xtask(project, &["release", "publish", &format!("v{version}")])
        .success();
    assert!(!republish.stdout.contains("(pushed)"), "{republish}");
    assert!(republish.stdout.contains("(already there)"), "{republish}");
    let promote = env
        .xtask(project, &["release", "promote", version, "--yes"])
        .success();
    assert_eq!(
        project.remote_git(&["rev-parse", &format!("v{version}-stable^{{}}")]),
        project.remote_git(&["rev-parse", &format!("v{version}^{{}}")]),
    );
    vec![verify, republish, promote]
}

#[test]
fn after_docker_helm_and_skopeo_logins_verify_publish_and_promote_read_a_private_registry() {
    let _slot = build_slot();
    let registry = Registry::with_login(USER, PASSWORD);
    let project = release_project();
    release_commit(&project, "1.2.3");
    publish_with_release_vars(&project, &registry, "1.2.3");

    // Nobody logged in: every read is refused, and the error says what to run.
    let env = fresh_env(&registry.host);
    let refused = env
        .xtask(
            &project,
            &["release", "verify", "1.2.3", "--artifacts-only"],
        )
        .failure();
    for needle in [
        format!("no credentials for {} were found", registry.host),
        format!("`docker login {}`", registry.host),
        format!("`helm registry login {}`", registry.host),
        "RELEASE_REGISTRY_USER".to_string(),
    ] {
        assert!(refused.stdout.contains(&needle), "{needle:?}:\n{refused}");
    }

    docker_login(&env, &registry);
    helm_login(&env, &registry);
    skopeo_login(&env, &registry);
    let runs = verify_republish_and_promote(&project, &env, "1.2.3");
    assert_no_secret(&runs.iter().chain([&refused]).collect::<Vec<_>>());
}

#[test]
fn a_docker_desktop_style_credential_helper_is_enough() {
    let _slot = build_slot();
    let registry = Registry::with_login(USER, PASSWORD);
    let project = release_project();
    release_commit(&project, "2.0.0");
    publish_with_release_vars(&project, &registry, "2.0.0");

    // What Docker Desktop leaves: an empty `auths` entry beside `credsStore`.
    let mut env = fresh_env(&registry.host);
    let helper = install_helper(&mut env, &registry, "teststore", PASSWORD);
    write(
        &docker_config(&env),
        &format!(
            r#"{{"auths":{{"{}":{{}}}},"credsStore":"{}"}}"#,
            registry.host, helper.name
        ),
    );
    let runs = verify_republish_and_promote(&project, &env, "2.0.0");
    assert_no_secret(&runs.iter().collect::<Vec<_>>());
    // Asked with `get` and the server on stdin, never a secret in argv.
    let calls = helper.calls();
    assert!(!calls.is_empty());
    for call in &calls {
        assert_eq!(call, &format!("argv=get stdin={}", registry.host));
    }
}

/// Each way to log in alone, then with `RELEASE_REGISTRY_*` beside it: a fresh environment
/// per case, verified against one published release.
#[test]
fn each_login_alone_is_enough_and_release_registry_vars_override_them() {
    let _slot = build_slot();
    let registry = Registry::with_login(USER, PASSWORD);
    let project = release_project();
    release_commit(&project, "1.4.0");
    publish_with_release_vars(&project, &registry, "1.4.0");
    let verify = |env: &Env| {
        env.xtask(
            &project,
            &["release", "verify", "1.4.0", "--artifacts-only"],
        )
    };

    let mut runs = Vec::new();
    for source in [
        "docker login",
        "helm registry login",
        "skopeo login",
        "credsStore",
        "credHelpers",
    ] {
        let mut env = fresh_env(&registry.host);
        match source {
            "docker login" => docker_login(&env, &registry),
            "helm registry login" => helm_login(&env, &registry),
            "skopeo login" => skopeo_login(&env, &registry),
            "credsStore" => {
                let helper = install_helper(&mut env, &registry, "desk", PASSWORD);
                let config = format!(r#"{{"credsStore":"{}"}}"#, helper.name);
                write(&docker_config(&env), &config);
            }
            _ => {
                let helper = install_helper(&mut env, &registry, "perhost", PASSWORD);
                let config = format!(
                    r#"{{"credHelpers":{{"https://{}":"{}"}}}}"#,
                    registry.host, helper.name
                );
                write(&docker_config(&env), &config);
            }
        }
        let run = verify(&env);
        assert_eq!(run.code, 0, "{source} alone:\n{run}");
        runs.push(run);
    }

    // RELEASE_REGISTRY_* win over a wrong docker login...
    let mut env = fresh_env(&registry.host);
    write_docker_auth(&env, &registry, WRONG);
    env.set("RELEASE_REGISTRY_USER", USER);
    env.set("RELEASE_REGISTRY_PASSWORD", PASSWORD);
    runs.push(verify(&env).success());
    // ...and are not a fallback: a wrong one is refused despite a good docker login.
    let mut env = fresh_env(&registry.host);
    docker_login(&env, &registry);
    env.set("RELEASE_REGISTRY_USER", USER);
    env.set("RELEASE_REGISTRY_PASSWORD", WRONG);
    let refused = verify(&env).failure();
    assert!(
        refused.stdout.contains(
            "refused the credentials from RELEASE_REGISTRY_USER/RELEASE_REGISTRY_PASSWORD"
        ),
        "{refused}"
    );
    runs.push(refused);
    assert_no_secret(&runs.iter().collect::<Vec<_>>());
}

/// The documented order: for an image host the containers auth file comes before docker's
/// config, for a chart host helm's and docker's come before it.
#[test]
fn images_read_the_containers_login_first_and_charts_helms() {
    let _slot = build_slot();
    let registry = Registry::with_login(USER, PASSWORD);
    let project = release_project();
    release_commit(&project, "1.5.0");
    publish_with_release_vars(&project, &registry, "1.5.0");

    let env = fresh_env(&registry.host);
    write_docker_auth(&env, &registry, WRONG);
    skopeo_login(&env, &registry);
    let run = env
        .xtask(
            &project,
            &["release", "verify", "1.5.0", "--artifacts-only"],
        )
        .failure();
    let failed: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("✗ ")).collect();
    assert!(!failed.is_empty(), "{run}");
    assert!(
        failed.iter().all(|l| l.starts_with("✗ chart")),
        "only the chart reads use docker's wrong login:\n{run}"
    );
    let docker = format!(
        "refused the credentials from docker config {}",
        docker_config(&env).display()
    );
    assert!(run.stdout.contains(&docker), "{run}");

    helm_login(&env, &registry);
    let passed = env
        .xtask(
            &project,
            &["release", "verify", "1.5.0", "--artifacts-only"],
        )
        .success();
    assert_no_secret(&[&run, &passed]);
}

#[test]
fn a_wrong_password_is_named_by_its_source_and_never_shown() {
    let _slot = build_slot();
    let registry = Registry::with_login(USER, PASSWORD);
    let project = release_project();
    release_commit(&project, "1.6.0");
    let mut publisher = fresh_env(&registry.host);
    publisher.set("RELEASE_REGISTRY_USER", USER);
    publisher.set("RELEASE_REGISTRY_PASSWORD", PASSWORD);
    publisher
        .xtask(&project, &["release", "publish", "v1.6.0"])
        .success();

    // A docker login whose password changed since.
    let env = fresh_env(&registry.host);
    write_docker_auth(&env, &registry, WRONG);
    let source = format!("docker config {}", docker_config(&env).display());
    let verify = env
        .xtask(
            &project,
            &["release", "verify", "1.6.0", "--artifacts-only"],
        )
        .failure();
    assert!(
        verify.stdout.contains(&format!(
            "answered HTTP 401 for {}/charts/llm-proxy:1.6.0: it refused the credentials from {source}: log in again with `docker login {}`",
            registry.host, registry.host
        )),
        "{verify}"
    );
    let republish = env
        .xtask(
            &project,
            &["release", "publish", "v1.6.0", "--only", "chart"],
        )
        .failure();
    assert!(
        republish
            .stderr
            .contains(&format!("refused the credentials from {source}")),
        "{republish}"
    );

    // The same through a credential helper.
    let mut env = fresh_env(&registry.host);
    let helper = install_helper(&mut env, &registry, "stale", WRONG);
    write(
        &docker_config(&env),
        &format!(r#"{{"credsStore":"{}"}}"#, helper.name),
    );
    let through_helper = env
        .xtask(
            &project,
            &["release", "verify", "1.6.0", "--artifacts-only"],
        )
        .failure();
    assert!(
        through_helper.stdout.contains(&format!(
            "refused the credentials from docker config {} (credsStore stale)",
            docker_config(&env).display()
        )),
        "{through_helper}"
    );
    assert_no_secret(&[&verify, &republish, &through_helper]);
}

/// A registry with token authentication that trades identity tokens, as ghcr.io and Docker
/// Hub do. The real `docker-registry` delegates token auth to a separate service issuing
/// signed JWTs, which nothing on this machine provides, so this stand-in plays both parts:
/// every `/v2/` request without the access token gets a Bearer challenge; `POST /token` with
/// the refresh-token grant for `REFRESH` returns the access token; `/v2/` with it answers 404
/// (authorised, nothing published). Each request is logged as `METHOD PATH BODY`.
struct TokenRegistry {
    host: String,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

const REFRESH: &str = "refresh-Canary-5b7e";
const ACCESS: &str = "access-Canary-0d3f";

impl TokenRegistry {
    fn start() -> TokenRegistry {
        use std::io::{BufRead, BufReader, Read};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (realm, thread_log, thread_stop) =
            (format!("http://{host}/token"), log.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if thread_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { break };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let (mut length, mut authorised) = (0, false);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(n) = lower.strip_prefix("content-length:") {
                        length = n.trim().parse().unwrap_or(0);
                    }
                    authorised |= line.trim() == format!("Authorization: Bearer {ACCESS}");
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let body = String::from_utf8_lossy(&body).into_owned();
                let mut parts = request_line.split_whitespace();
                let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                thread_log
                    .lock()
                    .unwrap()
                    .push(format!("{method} {path} {body}").trim().to_string());
                let grant = format!("grant_type=refresh_token&refresh_token={REFRESH}&");
                let (status, headers, content) = if path.starts_with("/token") {
                    if method == "POST" && body.starts_with(&grant) {
                        (
                            "200 OK",
                            String::new(),
                            format!(r#"{{"access_token":"{ACCESS}"}}"#),
                        )
                    } else {
                        ("401 Unauthorized", String::new(), String::new())
                    }
                } else if authorised {
                    ("404 Not Found", String::new(), String::new())
                } else {
                    let name = path
                        .trim_start_matches("/v2/")
                        .split("/manifests/")
                        .next()
                        .unwrap_or("");
                    (
                        "401 Unauthorized",
                        format!(
                            "WWW-Authenticate: Bearer realm=\"{realm}\",service=\"stand-in\",scope=\"repository:{name}:pull\"\r\n"
                        ),
                        String::new(),
                    )
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{content}",
                    content.len()
                );
            }
        });
        TokenRegistry { host, log, stop }
    }

    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for TokenRegistry {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(&self.host);
    }
}

/// An identity token (`identitytoken` in docker's config, or a helper's user `<token>`) is
/// traded at the token service with the OAuth2 refresh-token grant, then the access token
/// reads the registry; neither token ever appears in output.
#[test]
fn identity_tokens_are_traded_for_access_tokens() {
    let _slot = build_slot();
    let registry = TokenRegistry::start();
    let project = Project::new();
    let read = |env: &Env| {
        let run = env
            .xtask(
                &project,
                &["release", "verify", "1.0.0", "--artifacts-only"],
            )
            .failure();
        // Authorised: the registry's answer is "not there", not a refusal.
        let image = format!(
            "✗ image {}/llm-proxy:v1.0.0: not in the registry",
            registry.host
        );
        assert!(run.stdout.contains(&image), "{run}");
        assert!(!run.stdout.contains("unknown:"), "{run}");
        for secret in [REFRESH, ACCESS] {
            assert!(!run.to_string().contains(secret), "a token leaked:\n{run}");
        }
    };

    let env = fresh_env(&registry.host);
    write(
        &docker_config(&env),
        &format!(
            r#"{{"auths":{{"{}":{{"auth":"{}","identitytoken":"{REFRESH}"}}}}}}"#,
            registry.host,
            base64("<token>:")
        ),
    );
    read(&env);
    let posts: Vec<String> = registry
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("POST /token"))
        .collect();
    assert!(!posts.is_empty(), "{:?}", registry.requests());
    for post in &posts {
        assert!(
            post.contains("&client_id=cargo-xtask&service=stand-in"),
            "{post}"
        );
        assert!(post.contains("&scope=repository%3A"), "{post}");
    }
    assert!(
        posts
            .iter()
            .any(|p| p.contains("scope=repository%3Acharts%2Fllm-proxy%3Apull")),
        "{posts:?}"
    );

    // The same token from a credential helper.
    let mut env = fresh_env(&registry.host);
    let bin = env.dir.path().join("helper-bin");
    let script = bin.join("docker-credential-tokenstore");
    write(
        &script,
        &format!(
            "#!/bin/sh\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"<token>\",\"Secret\":\"{REFRESH}\"}}\\n' \"$(cat)\"\n"
        ),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    env.set(
        "PATH",
        &format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );
    write(&docker_config(&env), r#"{"credsStore":"tokenstore"}"#);
    let before = registry.requests().len();
    read(&env);
    assert!(
        registry.requests()[before..]
            .iter()
            .any(|r| r.starts_with("POST /token grant_type=refresh_token")),
        "{:?}",
        registry.requests()
    );
}
