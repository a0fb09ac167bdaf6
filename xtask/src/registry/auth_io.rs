//! Where registry reads get their credentials: `RELEASE_REGISTRY_USER` and
//! `RELEASE_REGISTRY_PASSWORD` when set, else the logins the developer's own tools keep
//! (docker's `config.json`, the containers auth files, helm's registry config) and the
//! `docker-credential-NAME` helpers they name, in the order `registry::auth` decides.
//!
//! This is the shell half: it reads the environment and the files and runs the helpers.
//! A secret leaves here only inside a [`Login`], whose `Debug` hides it; what is said about
//! a login is where it came from, never what it is.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::check::Artifact;
use crate::config::{self, Config, HELPER_TIMEOUT_VAR};
use crate::exec;
use crate::registry::auth::{self, Entry, HelperAnswer, Login, LoginFile, ToolEnv};

/// The registry account of a publish; the password is never printed (not even by `Debug`).
pub struct Credentials {
    pub user: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, password: <hidden> }}",
            self.user
        )
    }
}

impl Credentials {
    /// Writes this login for each of `hosts` as docker's `config.json` in `dir` (readable by
    /// its owner only) and returns `dir`, for `DOCKER_CONFIG`: gh reads registry logins from
    /// docker's file alone, no flag or variable takes one. `dir` is a run's scratch, so the
    /// file goes when the run ends and no login outlives it or lands in the runner's home.
    pub fn docker_config_dir(&self, dir: &Path, hosts: &[&str]) -> Result<PathBuf> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let file = dir.join("config.json");
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file)
            .and_then(|mut f| {
                f.write_all(auth::docker_config(hosts, &self.user, &self.password).as_bytes())
            })
            .with_context(|| format!("cannot write {}", file.display()))?;
        Ok(dir.to_path_buf())
    }

    /// `RELEASE_REGISTRY_USER` (already in `config`) with `RELEASE_REGISTRY_PASSWORD`; both or
    /// neither.
    pub fn from_env(config: &Config) -> Result<Option<Credentials>> {
        let password = std::env::var("RELEASE_REGISTRY_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty());
        match (&config.registry_user, password) {
            (None, None) => Ok(None),
            (Some(user), Some(password)) => {
                if password.contains(['\n', '\r']) {
                    bail!("RELEASE_REGISTRY_PASSWORD contains a line break: it cannot be sent");
                }
                Ok(Some(Credentials {
                    user: user.clone(),
                    password,
                }))
            }
            (Some(_), None) => bail!(
                "RELEASE_REGISTRY_USER is set but RELEASE_REGISTRY_PASSWORD is empty: set both, or neither to use the tools' existing logins"
            ),
            (None, Some(_)) => bail!(
                "RELEASE_REGISTRY_PASSWORD is set but RELEASE_REGISTRY_USER is empty: set both"
            ),
        }
    }
}

/// A login, where it came from (e.g. `docker config /home/u/.docker/config.json (credsStore
/// desktop)`), and what renews it when the registry refuses it.
pub struct FoundLogin {
    pub login: Login,
    pub source: String,
    pub fix: String,
}

/// The outcome of a search for one registry: the login, or every place looked in and why
/// each gave nothing (for the message that says what to run).
pub struct Search {
    pub found: Option<FoundLogin>,
    pub looked: Vec<String>,
}

/// The login for reading `repository` on `host`, which serves `artifact`.
pub fn find(
    sh: &Shell,
    explicit: Option<&Credentials>,
    artifact: Artifact,
    host: &str,
    repository: &str,
) -> Search {
    if let Some(c) = explicit {
        return Search {
            found: Some(FoundLogin {
                login: Login::Password {
                    user: c.user.clone(),
                    password: c.password.clone(),
                },
                source: "RELEASE_REGISTRY_USER/RELEASE_REGISTRY_PASSWORD".to_string(),
                fix: "check RELEASE_REGISTRY_USER and RELEASE_REGISTRY_PASSWORD".to_string(),
            }),
            looked: Vec::new(),
        };
    }
    let mut looked = Vec::new();
    for file in auth::login_files(artifact, &tool_env()) {
        match search_file(sh, &file, host, repository) {
            Ok(Some(found)) => {
                return Search {
                    found: Some(found),
                    looked,
                };
            }
            Ok(None) => looked.push(format!("{file} (nothing for {host})")),
            Err(why) => looked.push(format!("{file} ({why})")),
        }
    }
    Search {
        found: None,
        looked,
    }
}

/// One file: `None` when it holds nothing for the host; an error, quoting no secret, when it
/// is absent, unreadable or broken, or its helper fails or holds nothing. Either way the
/// search goes on to the next file, and the reason is shown if no file has a login.
fn search_file(
    sh: &Shell,
    file: &LoginFile,
    host: &str,
    repository: &str,
) -> Result<Option<FoundLogin>> {
    let text = match std::fs::read_to_string(&file.path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!("no such file"),
        Err(e) => bail!("cannot read it: {e}"),
    };
    let fix = format!("log in again with `{}`", file.store.login_command(host));
    match auth::entry_for(&text, host, repository)? {
        None => Ok(None),
        Some(Entry::Login(login)) => Ok(Some(FoundLogin {
            login,
            source: file.to_string(),
            fix,
        })),
        Some(Entry::Helper { name, field }) => {
            let source = format!("{file} ({field} {name})");
            match ask_helper(sh, &name, host) {
                Ok(HelperAnswer::Found(login)) => Ok(Some(FoundLogin { login, source, fix })),
                Ok(HelperAnswer::NotFound) => bail!("{field} {name}: nothing stored for {host}"),
                Err(why) => bail!("{field} {name}: {why}"),
            }
        }
    }
}

/// `docker-credential-NAME get`, the server on stdin and the answer on stdout, as docker
/// runs it, within `RELEASE_HELPER_TIMEOUT`: a helper that hangs (a locked keychain, a store
/// that does not answer) must not hold `verify` or `promote` for ever. Its output holds the
/// secret, so it is never echoed.
fn ask_helper(sh: &Shell, name: &str, host: &str) -> Result<HelperAnswer> {
    let program = format!("docker-credential-{name}");
    if which::which(&program).is_err() {
        bail!("`{program}` not found on PATH");
    }
    let secs = config::helper_timeout_secs(std::env::var(HELPER_TIMEOUT_VAR).ok().as_deref())?;
    let server = auth::helper_server(host);
    let out = exec::output_with_input(sh, &auth::helper_get(name, secs), &server)?;
    if exec::timed_out(&out) {
        bail!(
            "`{program} get` for {server}: it gave no answer within {secs}s and was stopped ({HELPER_TIMEOUT_VAR})"
        );
    }
    auth::helper_answer(out.status.success(), &String::from_utf8_lossy(&out.stdout))
        .map_err(|why| anyhow::anyhow!("`{program} get` for {server}: {why}"))
}

/// The variables the tools locate their files with; empty ones count as unset.
fn tool_env() -> ToolEnv {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    ToolEnv {
        home: var("HOME"),
        docker_config: var("DOCKER_CONFIG"),
        registry_auth_file: var("REGISTRY_AUTH_FILE"),
        xdg_runtime_dir: var("XDG_RUNTIME_DIR"),
        xdg_config_home: var("XDG_CONFIG_HOME"),
        helm_registry_config: var("HELM_REGISTRY_CONFIG"),
        helm_config_home: var("HELM_CONFIG_HOME"),
        uid: uid(),
        macos: cfg!(target_os = "macos"),
    }
}

/// This process's user: the owner of its `/proc` entry (Linux), with no libc call.
#[cfg(unix)]
fn uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(Path::new("/proc/self"))
        .ok()
        .map(|m| m.uid())
}

#[cfg(not(unix))]
fn uid() -> Option<u32> {
    None
}
