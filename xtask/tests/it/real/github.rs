//! `release github` with the real gh against a small stand-in for the GitHub API.
//!
//! gh sends every request, github.com included, as plain HTTP over the unix socket named by
//! `http_unix_socket` in `$GH_CONFIG_DIR/config.yml`; the stand-in listens there, records each
//! request and answers like GitHub does (checked with gh 2.103.3: `release view` asks REST for
//! the tag's release, then GraphQL for a draft; `release create --verify-tag` asks GraphQL for
//! the tag's ref, calls `generate-notes` when given `--notes-start-tag`, then POSTs the release).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::{
    Env, Published, Registry, build_slot, published, release_commit, release_project, require,
};
use crate::support::{Project, Run, TempDir};

#[derive(Debug, Clone)]
pub(super) struct Request {
    pub(super) method: String,
    pub(super) path: String,
    authorization: String,
    pub(super) body: String,
}

#[derive(Default)]
pub(super) struct State {
    requests: Vec<Request>,
    /// Tags that have a release.
    pub(super) releases: Vec<String>,
    /// Answer every REST request with this status (401: a bad token).
    fail_with: Option<u16>,
    /// Every release is a draft (for `release verify`).
    pub(super) draft: bool,
    /// The notes of every release; `None`: "notes".
    pub(super) body: Option<String>,
    /// The title of every release; `None`: its tag.
    pub(super) title: Option<String>,
    /// The title each release was created or edited with, which wins over `title`.
    titles: Vec<(String, String)>,
    /// The tag of the Latest release, as `POST` and `PATCH` with `make_latest` set it.
    pub(super) latest: Option<String>,
    /// The notes each release was created with; `body` as a test sets it overrides them.
    created: Vec<(String, Option<String>)>,
}

/// The stand-in: a thread serving the socket; it stops with the test process.
pub(super) struct GitHub {
    dir: TempDir,
    pub(super) state: Arc<Mutex<State>>,
}

impl GitHub {
    pub(super) fn start() -> GitHub {
        let dir = TempDir::new();
        let socket = dir.path().join("github.sock");
        std::fs::write(
            dir.path().join("config.yml"),
            format!("http_unix_socket: {}\n", socket.display()),
        )
        .unwrap();
        let listener = UnixListener::bind(&socket).unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let state = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        GitHub { dir, state }
    }

    pub(super) fn config_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    pub(super) fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub(super) fn posts_to(&self, suffix: &str) -> Vec<serde_yaml::Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with(suffix))
            .map(|r| serde_yaml::from_str(&r.body).unwrap())
            .collect()
    }

    /// The built xtask with `env`'s registry settings and gh talking to this stand-in.
    pub(super) fn xtask(&self, project: &Project, env: &Env, args: &[&str], token: &str) -> Run {
        let config = self.config_dir();
        let mut vars: Vec<(&str, &str)> = env.pairs();
        vars.extend([
            ("GH_CONFIG_DIR", config.to_str().unwrap()),
            ("GH_TOKEN", token),
            ("GH_NO_UPDATE_NOTIFIER", "1"),
            ("GH_PROMPT_DISABLED", "1"),
        ]);
        project.xtask_env(args, &vars)
    }
}

/// One HTTP/1.1 exchange per connection (`Connection: close`).
fn serve(stream: UnixStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() || line.is_empty() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let (mut length, mut authorization) = (0, String::new());
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or_default();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => authorization = value.trim().to_string(),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let request = Request {
        method,
        path,
        authorization,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let (status, answer) = answer(&request, &mut state.lock().unwrap());
    let reason = match status {
        200 => "OK",
        201 => "Created",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

fn release_json(tag: &str, state: &State) -> String {
    let draft = state.draft;
    // Each release shows the notes it was created with, unless a test replaced `body` since.
    let last_created = state.created.last().map(|(_, body)| body);
    let own = state
        .created
        .iter()
        .find(|(t, _)| t == tag)
        .map(|(_, body)| body);
    let body = match own {
        Some(own) if last_created == Some(&state.body) => own.as_deref(),
        _ => state.body.as_deref(),
    };
    let body = body.unwrap_or("notes");
    let body = format!(
        "\"{}\"",
        body.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    );
    let title = state
        .titles
        .iter()
        .rev()
        .find(|(t, _)| t == tag)
        .map(|(_, title)| title.as_str())
        .or(state.title.as_deref())
        .unwrap_or(tag)
        .replace('"', "\\\"");
    let id = state
        .releases
        .iter()
        .position(|t| t == tag)
        .map_or(1, |i| i + 1);
    format!(
        r#"{{"id":{id},"tag_name":"{tag}","name":"{title}","draft":{draft},"prerelease":false,"html_url":"https://github.com/sofatutor/llm-proxy/releases/tag/{tag}","url":"https://api.github.com/repos/sofatutor/llm-proxy/releases/{id}","assets":[],"body":{body},"created_at":"2026-01-01T00:00:00Z","published_at":"2026-01-01T00:00:00Z","author":{{"login":"octocat"}},"tarball_url":"","zipball_url":"","upload_url":""}}"#
    )
}

fn answer(request: &Request, state: &mut State) -> (u16, String) {
    state.requests.push(request.clone());
    let not_found = r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}"#;
    if let Some(status) = state.fail_with {
        return (status, r#"{"message":"Bad credentials"}"#.to_string());
    }
    let repo = "/repos/sofatutor/llm-proxy";
    let path = request.path.as_str();
    if path == "/graphql" {
        let body: serde_yaml::Value = serde_yaml::from_str(&request.body).unwrap();
        let query = body["query"].as_str().unwrap_or_default();
        let tag = body["variables"]["tagName"].as_str().unwrap_or_default();
        return if query.contains("ref(qualifiedName") {
            (
                200,
                r#"{"data":{"repository":{"ref":{"id":"REF_1"}}}}"#.into(),
            )
        } else if state.releases.iter().any(|t| t == tag) {
            let draft = state.draft;
            (
                200,
                format!(
                    r#"{{"data":{{"repository":{{"release":{{"databaseId":1,"isDraft":{draft}}}}}}}}}"#
                ),
            )
        } else {
            (200, r#"{"data":{"repository":{"release":null}}}"#.into())
        };
    }
    if request.method == "GET" && path == format!("{repo}/releases/latest") {
        return match state.latest.clone() {
            Some(tag) => (200, release_json(&tag, state)),
            None => (404, not_found.into()),
        };
    }
    // A release's id is its place in `releases`, from 1; `gh release edit` patches it.
    if let Some(id) = path.strip_prefix(&format!("{repo}/releases/"))
        && let Some(tag) = id
            .parse::<usize>()
            .ok()
            .and_then(|id| state.releases.get(id.wrapping_sub(1)).cloned())
    {
        if request.method == "PATCH" {
            let edit: serde_yaml::Value = serde_yaml::from_str(&request.body).unwrap();
            if edit["make_latest"].as_str() == Some("true") {
                state.latest = Some(tag.clone());
            }
            if let Some(draft) = edit["draft"].as_bool() {
                state.draft = draft;
            }
            if let Some(title) = edit["name"].as_str() {
                state.titles.push((tag.clone(), title.to_string()));
            }
            if let Some(body) = edit["body"].as_str() {
                state.body = Some(body.to_string());
            }
        }
        return (200, release_json(&tag, state));
    }
    // As GitHub does, a release is found by its tag only once it is published; gh finds a
    // draft through GraphQL, then by its id.
    if let Some(tag) = path.strip_prefix(&format!("{repo}/releases/tags/")) {
        return if state.releases.iter().any(|t| t == tag) && !state.draft {
            (200, release_json(tag, state))
        } else {
            (404, not_found.into())
        };
    }
    if request.method == "GET" && path.starts_with(&format!("{repo}/releases?")) {
        let releases: Vec<String> = state
            .releases
            .iter()
            .map(|tag| release_json(tag, state))
            .collect();
        return (200, format!("[{}]", releases.join(",")));
    }
    if request.method == "POST" && path == format!("{repo}/releases/generate-notes") {
        return (200, r#"{"name":"notes","body":"Generated notes"}"#.into());
    }
    if request.method == "POST" && path == format!("{repo}/releases") {
        let body: serde_yaml::Value = serde_yaml::from_str(&request.body).unwrap();
        let tag = body["tag_name"].as_str().unwrap().to_string();
        if state.releases.contains(&tag) {
            return (
                422,
                r#"{"message":"Validation Failed","errors":[{"code":"already_exists"}]}"#.into(),
            );
        }
        state.releases.push(tag.clone());
        if body["make_latest"].as_str() != Some("false") {
            state.latest = Some(tag.clone());
        }
        // What the release was created with is what it shows from now on.
        state.body = body["body"].as_str().map(str::to_string);
        if let Some(title) = body["name"].as_str() {
            state.titles.push((tag.clone(), title.to_string()));
        }
        state.draft = body["draft"].as_bool().unwrap_or(false);
        state.created.push((tag.clone(), state.body.clone()));
        return (201, release_json(&tag, state));
    }
    (404, not_found.into())
}

/// `vVERSION` on a commit of its own, published to the registry of `env`, and
/// `vVERSION-stable` on the same commit, both on the remote; returns the commit.
pub(super) fn promoted(project: &Project, env: &Env, version: &str) -> String {
    let commit = release_commit(project, version);
    env.xtask(project, &["release", "publish", &format!("v{version}")])
        .success();
    push_tag(project, &format!("v{version}-stable"));
    commit
}

/// The shared v1.2.3 ([`published`]), promoted: its stable tag pushed.
pub(super) fn promoted_fixture() -> Published {
    let release = published();
    push_tag(&release.project, "v1.2.3-stable");
    release
}

fn push_tag(project: &Project, name: &str) {
    project.git(&["tag", "-a", name, "-m", name]);
    project.git(&["push", "--quiet", "origin", name]);
}

pub(super) const TOKEN: &str = "ghp_canary0token0f7c2";

#[test]
fn a_verified_stable_release_gets_one_release_with_the_record_and_is_latest_once() {
    let _slot = build_slot();
    require("gh");
    let github = GitHub::start();
    let Published {
        registry,
        project,
        env,
        commit,
    } = promoted_fixture();
    let host = &registry.host;

    let args = ["release", "github", "v1.2.3-stable", "--no-checks"];
    let dry = github.xtask(&project, &env, &[&args[..], &["--dry-run"]].concat(), TOKEN);
    let dry = dry.success();
    for line in [
        "  1. gh api --method POST repos/sofatutor/llm-proxy/releases/generate-notes -f tag_name=v1.2.3-stable --jq .body  (then the artifacts record below them, into dist/github-release.md)",
        "  2. gh release create v1.2.3-stable --verify-tag --title v1.2.3-stable --notes-file dist/github-release.md --latest=true --repo sofatutor/llm-proxy  (a release made by hand is completed instead; Latest rechecked against GitHub's releases)",
        "gate: ok, v1.2.3-stable is on the commit of v1.2.3, whose published artifacts verify",
        "dry run: nothing was changed",
    ] {
        assert!(dry.stdout.lines().any(|l| l == line), "{line:?} in {dry}");
    }
    assert!(
        github.requests().is_empty(),
        "a dry run asks GitHub nothing"
    );

    let created = github.xtask(&project, &env, &args, TOKEN).success();
    assert_eq!(
        created.stdout,
        "https://github.com/sofatutor/llm-proxy/releases/tag/v1.2.3-stable\n"
    );
    let ref_query = github
        .posts_to("/graphql")
        .into_iter()
        .find(|q| q["query"].as_str().unwrap().contains("ref(qualifiedName"))
        .expect("--verify-tag asks for the tag's ref");
    assert_eq!(
        ref_query["variables"]["tagName"].as_str(),
        Some("refs/tags/v1.2.3-stable")
    );
    let posts = github.posts_to("/repos/sofatutor/llm-proxy/releases");
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    assert_eq!(post["tag_name"].as_str(), Some("v1.2.3-stable"));
    assert_eq!(post["name"].as_str(), Some("v1.2.3-stable"));
    // A string, as the REST API wants it.
    assert_eq!(post["make_latest"].as_str(), Some("true"));
    assert_eq!(post["draft"].as_bool(), Some(false));
    // The generated notes, then the record of exactly what was published.
    let index = registry.digest("llm-proxy", "v1.2.3").unwrap();
    let raw = registry.raw("llm-proxy", "v1.2.3");
    let platform = |arch: &str| {
        raw["manifests"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|m| m["platform"]["architecture"].as_str() == Some(arch))
            .map(|m| m["digest"].as_str().unwrap().to_string())
            .unwrap()
    };
    let chart = registry.digest("charts/llm-proxy", "1.2.3").unwrap();
    let short = &commit[..7];
    let body = post["body"].as_str().unwrap();
    assert_eq!(
        body,
        format!(
            "Generated notes\n\n## Artifacts\n\n| | |\n| --- | --- |\n| commit | `{commit}` |\n| image | `{host}/llm-proxy@{index}` |\n| linux/amd64 | `{}` |\n| linux/arm64 | `{}` |\n| image tags | `v1.2.3`, `1.2`, `sha-{short}`, `latest` |\n| chart | `oci://{host}/charts/llm-proxy:1.2.3@{chart}` |\n",
            platform("amd64"),
            platform("arm64")
        )
    );
    assert!(
        github
            .requests()
            .iter()
            .all(|r| r.authorization == format!("token {TOKEN}")),
        "gh takes GH_TOKEN from the environment"
    );

    // Re-run: the release exists, nothing is created.
    let again = github.xtask(&project, &env, &args, TOKEN).success();
    assert!(again.stderr.contains("exists already"), "{again}");
    assert_eq!(
        github.posts_to("/repos/sofatutor/llm-proxy/releases").len(),
        1
    );
    for run in [&dry, &created, &again] {
        assert!(
            !run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN),
            "{run}"
        );
    }

    // `release verify` of the stable version reads the record back and finds it served.
    github.state.lock().unwrap().body = Some(body.to_string());
    let verified = github
        .xtask(&project, &env, &["release", "verify", "1.2.3"], TOKEN)
        .success();
    assert!(
        verified
            .stdout
            .contains("✓ github release record: the registry still serves what was released"),
        "{verified}"
    );
    // A moving tag re-pointed after the release is caught, and so is a replaced image.
    skopeo_copy_one_platform(&registry, "v1.2.3", "1.2");
    let moved = github
        .xtask(&project, &env, &["release", "verify", "1.2.3"], TOKEN)
        .failure();
    assert!(
        moved
            .stdout
            .contains(&format!("✗ image {host}/llm-proxy:1.2: sha256:")),
        "{moved}"
    );
    skopeo_copy_one_platform(&registry, "v1.2.3", "v1.2.3");
    let replaced = github
        .xtask(&project, &env, &["release", "verify", "1.2.3"], TOKEN)
        .failure();
    assert!(
        replaced
            .stdout
            .contains("✗ github release record: the image under v1.2.3 is sha256:")
            && replaced.stdout.contains(&format!(", recorded {index}")),
        "{replaced}"
    );
}

/// Copies one platform's manifest of `from` to `to`: another digest than the index.
fn skopeo_copy_one_platform(registry: &Registry, from: &str, to: &str) {
    let out = std::process::Command::new(require("skopeo"))
        .args([
            "copy",
            "--quiet",
            "--override-arch",
            "arm64",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            &format!("docker://{}/llm-proxy:{from}", registry.host),
            &format!("docker://{}/llm-proxy:{to}", registry.host),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn latest_and_notes_follow_github_releases_as_well_as_the_clone() {
    let _slot = build_slot();
    require("gh");
    let github = GitHub::start();
    // Only GitHub knows the newer release: it was made from another clone.
    github.state.lock().unwrap().releases = vec!["v1.3.0-stable".into()];
    let registry = Registry::start();
    let env = Env::new(&registry.host);
    let project = release_project();
    release_commit(&project, "1.2.8");
    push_tag(&project, "v1.2.8-stable");
    promoted(&project, &env, "1.2.9");
    let args = ["release", "github", "v1.2.9-stable", "--no-checks"];
    let dry = github
        .xtask(&project, &env, &[&args[..], &["--dry-run"]].concat(), TOKEN)
        .success();
    assert!(
        dry.stdout.contains("--latest=true"),
        "the clone alone says yes: {dry}"
    );
    github.xtask(&project, &env, &args, TOKEN).success();
    let notes = github.posts_to("/releases/generate-notes");
    assert_eq!(notes.len(), 1);
    assert_eq!(
        notes[0]["previous_tag_name"].as_str(),
        Some("v1.2.8-stable")
    );
    assert_eq!(notes[0]["tag_name"].as_str(), Some("v1.2.9-stable"));
    let post = &github.posts_to("/repos/sofatutor/llm-proxy/releases")[0];
    assert_eq!(post["make_latest"].as_str(), Some("false"));
    assert_eq!(post["tag_name"].as_str(), Some("v1.2.9-stable"));
}

#[test]
fn the_gate_refuses_hand_pushed_stable_tags_before_asking_github_anything() {
    let _slot = build_slot();
    require("gh");
    let github = GitHub::start();
    let registry = Registry::start();
    let env = Env::new(&registry.host);
    let project = release_project();

    // A version that was never published.
    release_commit(&project, "1.0.0");
    push_tag(&project, "v1.0.0-stable");
    let args = ["release", "github", "v1.0.0-stable", "--no-checks"];
    let dry = github
        .xtask(&project, &env, &[&args[..], &["--dry-run"]].concat(), TOKEN)
        .failure();
    // Each failing check said once: in the error, not in the plan as well.
    let problem = format!(
        "the published artifacts of v1.0.0 do not verify (the promotion gate):\n      - image {}/llm-proxy:v1.0.0: not in the registry",
        registry.host
    );
    assert!(
        dry.stdout
            .contains("gate: FAIL, the reason is given on stderr\n"),
        "{dry}"
    );
    assert!(!dry.stdout.contains("not in the registry"), "{dry}");
    assert_eq!(dry.stderr.matches(&problem).count(), 1, "{dry}");
    let refused = github.xtask(&project, &env, &args, TOKEN).failure();
    assert!(
        refused.stderr.contains(
            "cannot create the GitHub release of v1.0.0-stable, and nothing was written to GitHub"
        ),
        "{refused}"
    );

    // A stable tag on another commit than its version's.
    let commit = release_commit(&project, "1.1.0");
    env.xtask(&project, &["release", "publish", "v1.1.0"])
        .success();
    project.write("CHANGES", "after 1.1.0");
    let other = project.commit("after the release");
    project.git(&["push", "--quiet", "origin", "main"]);
    push_tag(&project, "v1.1.0-stable");
    let refused = github
        .xtask(
            &project,
            &env,
            &["release", "github", "v1.1.0-stable", "--no-checks"],
            TOKEN,
        )
        .failure();
    assert!(
        refused.stderr.contains(&format!(
            "tag v1.1.0-stable: on {other}, but v1.1.0 is on {commit}"
        )),
        "{refused}"
    );
    assert!(
        github.requests().is_empty(),
        "nothing was asked of GitHub, let alone written"
    );
}

#[test]
fn in_actions_each_failing_check_is_an_error_annotation() {
    let _slot = build_slot();
    require("gh");
    let github = GitHub::start();
    let registry = Registry::start();
    let mut env = Env::new(&registry.host);
    env.set("GITHUB_ACTIONS", "true");
    let project = release_project();
    release_commit(&project, "1.0.0");
    push_tag(&project, "v1.0.0-stable");
    let refused = github
        .xtask(
            &project,
            &env,
            &["release", "github", "v1.0.0-stable", "--no-checks"],
            TOKEN,
        )
        .failure();
    let annotations: Vec<&str> = refused
        .stderr
        .lines()
        .filter(|l| l.starts_with("::error::release gate of v1.0.0-stable: "))
        .collect();
    assert_eq!(annotations.len(), 5, "{refused}");
    assert!(
        annotations.contains(&format!(
            "::error::release gate of v1.0.0-stable: image {}/llm-proxy:v1.0.0: not in the registry",
            registry.host
        ).as_str()),
        "{refused}"
    );
}

#[test]
fn auth_failure_is_not_taken_for_a_missing_release() {
    let _slot = build_slot();
    require("gh");
    let github = GitHub::start();
    github.state.lock().unwrap().fail_with = Some(401);
    let Published {
        registry: _registry,
        project,
        env,
        ..
    } = promoted_fixture();
    let failed = github
        .xtask(
            &project,
            &env,
            &["release", "github", "v1.2.3-stable", "--no-checks"],
            TOKEN,
        )
        .failure();
    assert!(failed.stderr.contains("cannot tell whether"), "{failed}");
    assert!(
        github
            .requests()
            .iter()
            .all(|r| r.method != "POST" || r.path == "/graphql"),
        "nothing was created"
    );
    assert!(!failed.stderr.contains(TOKEN), "{failed}");
}

#[test]
fn failing_checks_stop_the_release() {
    let _slot = build_slot();
    require("gh");
    let github = GitHub::start();
    let registry = Registry::start();
    let env = Env::new(&registry.host);
    let project = release_project();
    // Unformatted code: `cargo xtask ci` fails at its first Rust check.
    project.write("crates/llm-proxy/src/unformatted.rs", "fn  x( ){}\n");
    let main = project.read("crates/llm-proxy/src/main.rs");
    project.write(
        "crates/llm-proxy/src/main.rs",
        &format!("{main}\nmod unformatted;\n"),
    );
    project.commit("unformatted");
    promoted(&project, &env, "1.0.0");
    let failed = github
        .xtask(
            &project,
            &env,
            &["release", "github", "v1.0.0-stable"],
            TOKEN,
        )
        .failure();
    assert!(failed.stderr.contains("cargo fmt"), "{failed}");
    assert!(github.requests().is_empty(), "GitHub is asked nothing");
}

#[test]
fn version_tags_get_a_notice_and_no_release() {
    let github = GitHub::start();
    let project = release_project();
    project.git(&["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    let env = Env::new("127.0.0.1:9");
    github
        .xtask(&project, &env, &["release", "github", "v1.0.0"], TOKEN)
        .success()
        .stderr_has("version tag");
    assert!(github.requests().is_empty());
}
