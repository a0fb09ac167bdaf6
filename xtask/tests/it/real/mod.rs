//! Tests with real parts (feature `real-tools`): a real `docker-registry` on 127.0.0.1, the
//! real helm, buildah, skopeo, docker CLI, gh and qemu-aarch64-static, driven through the
//! built xtask exactly as CI drives it. A missing tool fails these tests: it never skips them.
//!
//! A test that builds release binaries first takes a build slot ([`build_slot`]): one of two
//! cargo target directories, each used by one test at a time, since two builds stamping
//! different versions into one target directory would swap binaries under each other. Two
//! tests then run side by side (while one waits on a registry or a tool, the other computes),
//! and each directory stays warm for the next test, so the service's dependencies are built
//! once per slot, never once per test. Copies of this repository keep its files' modification
//! times ([`keep_mtimes`]), by which cargo tells that nothing changed; a new version compiles
//! only the service's `main.rs`, the one file that reads the release stamps.
//!
//! Tests that start from a published release and then read or break it take a copy of one
//! ([`published`]): each slot publishes v1.2.3 once per run.

mod act;
mod actionlint;
mod chart;
mod docker;
mod gates;
mod github;
mod github_by_hand;
mod helpers;
mod interrupted_rehearsal;
mod private;
mod provenance;
mod publish;
mod publish_rules;
mod race;
mod rehearse;
mod reproduce;
mod retarget;
mod signing;
mod status;
mod verify;

use std::cell::RefCell;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::support::{Project, Run, TempDir, git};

/// The repository under test: `xtask/..`.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// How many real-tools tests build side by side: the machine CI runs on has two cores.
const SLOTS: usize = 2;

/// Which slots are taken, and the signal that one was given back.
static TAKEN: Mutex<[bool; SLOTS]> = Mutex::new([false; SLOTS]);
static GIVEN_BACK: Condvar = Condvar::new();

thread_local! {
    /// The (first) slot this test thread holds, for [`Env::new`] and [`published`].
    static HELD: RefCell<Option<usize>> = const { RefCell::new(None) };
}

/// The cargo target directory of build slot `index`.
fn slot_target(index: usize) -> PathBuf {
    workspace().join(format!("target/real-tools-{index}"))
}

/// The target directory of the slot this thread holds; `target/real-tools` for a test that
/// holds none (it builds nothing).
pub fn held_target() -> PathBuf {
    HELD.with(|held| *held.borrow())
        .map(slot_target)
        .unwrap_or_else(|| workspace().join("target/real-tools"))
}

/// A test's hold on cargo target directories for its release builds, until dropped.
pub struct BuildSlot {
    indices: Vec<usize>,
}

/// Waits for a free build slot and holds it: the [`Env`]s this test thread makes then build
/// into that slot's target directory, which no other test builds into meanwhile.
pub fn build_slot() -> BuildSlot {
    take_slots(1)
}

/// Every build slot, for a test that loads the whole machine by itself (the act tests run
/// several workflow jobs side by side, each building xtask): no other real-tools test runs
/// beside it, so neither is slowed into one of the release's time bounds.
pub fn every_slot() -> BuildSlot {
    take_slots(SLOTS)
}

fn take_slots(count: usize) -> BuildSlot {
    let mut taken = TAKEN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    loop {
        let free: Vec<usize> = (0..SLOTS).filter(|&i| !taken[i]).take(count).collect();
        if free.len() == count {
            for &index in &free {
                taken[index] = true;
            }
            HELD.with(|held| *held.borrow_mut() = Some(free[0]));
            return BuildSlot { indices: free };
        }
        taken = GIVEN_BACK
            .wait(taken)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
}

impl Drop for BuildSlot {
    fn drop(&mut self) {
        HELD.with(|held| *held.borrow_mut() = None);
        let mut taken = TAKEN
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for &index in &self.indices {
            taken[index] = false;
        }
        // Waiters want one slot or all of them: wake each to look again.
        GIVEN_BACK.notify_all();
    }
}

/// The path of `tool`, or a failure that says how to install it.
#[track_caller]
pub fn require(tool: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("the real-tools tests need `{tool}` on PATH: run scripts/install-test-tools.sh")
        })
}

/// A free port on 127.0.0.1 (the listener is closed again; the race is harmless in tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real registry (CNCF distribution 2.8, Debian's `docker-registry`) on 127.0.0.1 with
/// its storage in a temporary directory; stopped when dropped.
pub struct Registry {
    child: Child,
    pub host: String,
    /// `user:password` when started with htpasswd authentication.
    pub auth: Option<(String, String)>,
    dir: TempDir,
}

impl Registry {
    pub fn start() -> Registry {
        Registry::start_with(None)
    }

    /// With bcrypt htpasswd authentication (`htpasswd -Bbn`, the only hash it accepts).
    pub fn with_login(user: &str, password: &str) -> Registry {
        Registry::start_with(Some((user.to_string(), password.to_string())))
    }

    fn start_with(auth: Option<(String, String)>) -> Registry {
        Registry::start_on(free_port(), None, auth)
    }

    /// On `port`, serving a copy of the storage `data` when given (see [`published`]).
    fn start_on(port: u16, data: Option<&Path>, auth: Option<(String, String)>) -> Registry {
        let registry = require("docker-registry");
        let dir = TempDir::new();
        if let Some(data) = data {
            copy_dir(data, &dir.path().join("data"));
        }
        let host = format!("127.0.0.1:{port}");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n",
            dir.path().join("data").display()
        );
        if let Some((user, password)) = &auth {
            let out = Command::new(require("htpasswd"))
                .args(["-Bbn", user, password])
                .output()
                .unwrap();
            assert!(out.status.success(), "htpasswd failed");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, out.stdout).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                file.display()
            ));
        }
        let config_file = dir.path().join("config.yml");
        std::fs::write(&config_file, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(registry)
            .arg("serve")
            .arg(&config_file)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let registry = Registry {
            child,
            host,
            auth,
            dir,
        };
        wait_for_port(port);
        registry
    }

    /// The digest `name:reference` holds, asked with every manifest type in `Accept`.
    pub fn digest(&self, name: &str, reference: &str) -> Option<String> {
        let accept = "Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
        let url = format!("http://{}/v2/{name}/manifests/{reference}", self.host);
        let mut curl = Command::new(require("curl"));
        curl.args(["--silent", "--head", "--header", accept]);
        if let Some((user, password)) = &self.auth {
            curl.args(["--user", &format!("{user}:{password}")]);
        }
        let out = curl.arg(url).output().unwrap();
        let headers = String::from_utf8_lossy(&out.stdout).into_owned();
        if !headers.starts_with("HTTP/1.1 200") {
            return None;
        }
        headers
            .lines()
            .find_map(|l| l.strip_prefix("Docker-Content-Digest: "))
            .map(|d| d.trim().to_string())
    }

    /// `skopeo inspect --raw`: the manifest or index as the registry holds it.
    pub fn raw(&self, name: &str, reference: &str) -> serde_yaml::Value {
        let mut skopeo = Command::new(require("skopeo"));
        skopeo.args(["inspect", "--raw", "--tls-verify=false"]);
        if let Some((user, password)) = &self.auth {
            skopeo.args(["--creds", &format!("{user}:{password}")]);
        }
        let out = skopeo
            .arg(format!("docker://{}/{name}:{reference}", self.host))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo inspect failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_yaml::from_slice(&out.stdout).unwrap()
    }
}

/// `cp -a from to`: a directory tree with its times and modes.
fn copy_dir(from: &Path, to: &Path) {
    let copied = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(
        copied.success(),
        "cannot copy {} to {}",
        from.display(),
        to.display()
    );
}

/// A published release to start from: v1.2.3 of this repository committed (`release_commit`),
/// tagged and published into a registry of its own, with every tool's configuration fresh.
pub struct Published {
    pub registry: Registry,
    pub project: Project,
    pub env: Env,
    /// The commit v1.2.3 tags.
    pub commit: String,
}

/// What a build slot published once: where it kept the project (`work/`, `remote.git/`) and
/// the registry's storage (`registry/`), the port that registry served on, and the commit.
#[derive(Clone)]
struct Original {
    dir: PathBuf,
    port: u16,
    commit: String,
}

/// Each slot's original, made by the first test holding the slot that asks for one. One lock
/// per slot: a slot's first publish never waits for the other's.
static ORIGINALS: [Mutex<Option<Original>>; SLOTS] = [const { Mutex::new(None) }; SLOTS];

/// A copy of v1.2.3 published, for the test to read or break as it likes. Publishing costs
/// several CPU-seconds (the chart's schemas alone about 2), and most verify, gate and
/// provenance tests start from the same release: each build slot publishes it once per run,
/// and each test gets its own copy of the project, the remote and the registry's storage. The
/// copy's registry listens on the port the slot's original did, because the published chart
/// names its registry's address as its default image ([`fixture_ports`]). Needs a held build
/// slot.
pub fn published() -> Published {
    let slot = HELD
        .with(|held| *held.borrow())
        .expect("published() needs a build slot: call build_slot() first");
    let Original { dir, port, commit } = ORIGINALS[slot]
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get_or_insert_with(|| publish_original(slot))
        .clone();
    let tmp = TempDir::new();
    for part in ["work", "remote.git"] {
        copy_dir(&dir.join(part), &tmp.path().join(part));
    }
    let project = Project {
        work: tmp.path().join("work"),
        remote: tmp.path().join("remote.git"),
        tmp,
    };
    project.git(&[
        "remote",
        "set-url",
        "origin",
        project.remote.to_str().unwrap(),
    ]);
    let registry = Registry::start_on(port, Some(&dir.join("registry")), None);
    let env = Env::new(&registry.host);
    Published {
        registry,
        project,
        env,
        commit,
    }
}

/// Publishes v1.2.3 for slot `slot` and keeps what it made under the slot's target directory,
/// in a directory of this process's own: two test runs of one checkout side by side each
/// keep theirs (what runs that ended left is removed here).
fn publish_original(slot: usize) -> Original {
    let parent = slot_target(slot);
    std::fs::create_dir_all(&parent).unwrap();
    for entry in std::fs::read_dir(&parent).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("published-")
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(parent.join(&name));
        }
    }
    let dir = parent.join(format!("published-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = fixture_ports()[slot];
    let registry = Registry::start_on(port, None, None);
    let project = release_project();
    let env = Env::new(&registry.host);
    let commit = release_commit(&project, "1.2.3");
    env.xtask(&project, &["release", "publish", "v1.2.3"])
        .success();
    // Stopped first, so that the storage is copied at rest.
    let mut registry = registry;
    let _ = registry.child.kill();
    let _ = registry.child.wait();
    copy_dir(&registry.dir.path().join("data"), &dir.join("registry"));
    copy_dir(&project.work, &dir.join("work"));
    copy_dir(&project.remote, &dir.join("remote.git"));
    // What the publish built stays out: a test that publishes again builds it anew.
    for built in ["target", "dist"] {
        let _ = std::fs::remove_dir_all(dir.join("work").join(built));
    }
    Original { dir, port, commit }
}

/// One port per slot for the published registries, chosen once per run, all different (a
/// slot's original registry is stopped between tests, so a port found free later could be
/// another slot's). They lie below the kernel's range of ephemeral ports (from 32768 on
/// Linux unless configured lower), where [`free_port`] and every other registry get theirs,
/// and are spread by process id so that two test runs on one machine reach for different
/// ones.
fn fixture_ports() -> [u16; SLOTS] {
    static PORTS: OnceLock<[u16; SLOTS]> = OnceLock::new();
    *PORTS.get_or_init(|| {
        let start = 20000 + (std::process::id() as usize % 5000) * 2;
        let mut free = (start..start + 2000)
            .map(|p| p as u16)
            .filter(|&p| TcpListener::bind(("127.0.0.1", p)).is_ok());
        std::array::from_fn(|_| {
            free.next()
                .expect("no free port from 20000 for the fixture")
        })
    })
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait_for_port(port: u16) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nothing listens on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A scratch copy of this repository (its tracked and new files, as they are in the work
/// tree) with one commit on `main`, pushed to a bare `origin`.
pub fn release_project() -> Project {
    let files = git(
        &workspace(),
        &[
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ],
    );
    Project::with_files(|project| {
        for file in files.split('\0').filter(|f| !f.is_empty()) {
            let from = workspace().join(file);
            if !from.is_file() {
                continue; // deleted in the work tree
            }
            let to = project.work.join(file);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
            keep_mtime(&from, &to);
        }
    })
}

/// Gives every file under `dir` (a checkout of a [`release_project`]) that holds the same
/// bytes as the same path in this repository that file's modification time. Cargo tells a
/// changed source by its time: a copy's files are all new, so each copy would compile the
/// service (and `cargo xtask` itself) again, although the slot's target directory holds a
/// build of exactly these sources. A file that differs keeps its new time and is rebuilt.
pub fn keep_mtimes(dir: &Path) {
    fn walk(dir: &Path, rel: &Path) {
        for entry in std::fs::read_dir(dir.join(rel)).unwrap() {
            let entry = entry.unwrap();
            let path = rel.join(entry.file_name());
            let kind = entry.file_type().unwrap();
            if kind.is_dir() && entry.file_name() != ".git" && entry.file_name() != "target" {
                walk(dir, &path);
            } else if kind.is_file() {
                let from = workspace().join(&path);
                let to = dir.join(&path);
                if std::fs::read(&from).ok() == Some(std::fs::read(&to).unwrap()) {
                    keep_mtime(&from, &to);
                }
            }
        }
    }
    walk(dir, Path::new(""));
}

fn keep_mtime(from: &Path, to: &Path) {
    let modified = std::fs::metadata(from).unwrap().modified().unwrap();
    // The owner may set the time through a handle opened for reading.
    std::fs::File::open(to)
        .unwrap()
        .set_modified(modified)
        .unwrap();
}

/// Commits (so every release has its own commit), pushes `main`, then tags and pushes the tag.
pub fn release_commit(project: &Project, version: &str) -> String {
    project.write("CHANGES", version);
    let commit = project.commit(&format!("work for {version}"));
    project.git(&["push", "--quiet", "origin", "main"]);
    let tag = format!("v{version}");
    project.git(&["tag", "-a", &tag, "-m", &format!("Release {tag}")]);
    project.git(&["push", "--quiet", "origin", &tag]);
    commit
}

/// The environment of a publish against `registry`: the rehearsal settings, and every tool's
/// configuration in a temporary directory, so no test reads or writes the developer's.
pub struct Env {
    pub dir: TempDir,
    pub vars: Vec<(String, String)>,
}

impl Env {
    pub fn new(registry_host: &str) -> Env {
        let dir = TempDir::new();
        let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
        let target = held_target();
        let vars = vec![
            ("RELEASE_IMAGE".into(), format!("{registry_host}/llm-proxy")),
            (
                "RELEASE_CHART_REGISTRY".into(),
                format!("oci://{registry_host}/charts"),
            ),
            ("RELEASE_PLAIN_HTTP".into(), "1".into()),
            ("RELEASE_IMAGE_BUILDER".into(), "buildah".into()),
            // Cargo.toml turns provenance on; only real/provenance.rs attests what it
            // publishes, so the other tests check everything else.
            ("RELEASE_PROVENANCE".into(), "0".into()),
            ("HELM_CACHE_HOME".into(), path("helm/cache")),
            ("HELM_CONFIG_HOME".into(), path("helm/config")),
            ("HELM_DATA_HOME".into(), path("helm/data")),
            ("REGISTRY_AUTH_FILE".into(), path("containers-auth.json")),
            ("DOCKER_CONFIG".into(), path("docker")),
            // The held slot's; a test that holds none builds nothing.
            (
                "CARGO_TARGET_DIR".into(),
                target.to_str().unwrap().to_string(),
            ),
        ];
        // buildah and skopeo refuse a REGISTRY_AUTH_FILE that does not exist.
        std::fs::write(dir.path().join("containers-auth.json"), "{\"auths\":{}}").unwrap();
        Env { dir, vars }
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.vars.retain(|(k, _)| k != key);
        self.vars.push((key.to_string(), value.to_string()));
    }

    /// The variables as `Command::envs` and the xtask helpers take them.
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    pub fn xtask(&self, project: &Project, args: &[&str]) -> Run {
        let env: Vec<(&str, &str)> = self.pairs();
        project.xtask_env(args, &env)
    }
}

/// `PATH` with `tool` hidden: each directory holding it is replaced by a copy made of
/// symlinks to everything else in it.
pub fn path_without(tool: &str, scratch: &Path) -> String {
    let mut dirs = Vec::new();
    for (i, dir) in std::env::split_paths(&std::env::var_os("PATH").unwrap()).enumerate() {
        if !dir.join(tool).exists() {
            dirs.push(dir);
            continue;
        }
        let shadow = scratch.join(format!("path-{i}"));
        std::fs::create_dir_all(&shadow).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name() != tool {
                let _ = std::os::unix::fs::symlink(entry.path(), shadow.join(entry.file_name()));
            }
        }
        dirs.push(shadow);
    }
    std::env::join_paths(dirs).unwrap().into_string().unwrap()
}

/// Runs a command and returns its stdout; panics with its stderr on failure.
pub fn output(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
