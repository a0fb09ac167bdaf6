//! The release configuration: `[workspace.metadata.release]` of the root `Cargo.toml`,
//! overridden value by value by `RELEASE_*` environment variables.
//!
//! Values are validated here because they reach command lines (an image name, a remote,
//! a branch): a value starting with `-` would otherwise become a flag of git or helm.

use anyhow::{Context, Result, bail};

/// The image builder `release publish` drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageBuilder {
    /// `docker buildx build`: what GitHub Actions has.
    Docker,
    /// `buildah`: daemonless, for machines without a Docker engine.
    Buildah,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Image repository without tag, e.g. `ghcr.io/sofatutor/llm-proxy`.
    pub image: String,
    /// The chart directory, relative to the repository root.
    pub chart: String,
    /// `oci://…` registry namespace the chart is pushed to.
    pub chart_registry: String,
    pub platforms: Vec<Platform>,
    pub default_branch: String,
    pub remote: String,
    /// `owner/name` on GitHub.
    pub github_repo: String,
    pub builder: ImageBuilder,
    /// Talk plain HTTP to registries (`RELEASE_PLAIN_HTTP=1`): only for a local rehearsal.
    pub plain_http: bool,
    /// The account `release publish` logs in with (`RELEASE_REGISTRY_USER`); its password is
    /// read from `RELEASE_REGISTRY_PASSWORD` by the shell layer only, so it never sits in a
    /// value that could be printed. `None`: use the tools' existing logins.
    pub registry_user: Option<String>,
    /// Seconds a network git command (ls-remote, fetch, push) may take before it is stopped
    /// (`RELEASE_GIT_TIMEOUT`, default 60).
    pub git_timeout_secs: u64,
    /// Seconds a chart publish waits for its image to appear (`RELEASE_IMAGE_WAIT`, default
    /// 0: check once). The chart and image jobs of a tag run in parallel, and a chart is
    /// never published before its image.
    pub image_wait_secs: u64,
    /// Whether the promotion gate requires signed build provenance of the image and the
    /// chart (`provenance`, `RELEASE_PROVENANCE`); absent means false.
    pub provenance: bool,
    /// A trusted root (`gh attestation trusted-root` JSON lines) that replaces Sigstore's
    /// public ones when provenance is verified (`RELEASE_TRUSTED_ROOT`, a path).
    pub trusted_root: Option<String>,
}

/// The variable holding the registry password: read by the executor alone and fed to a
/// login on stdin, so it is in no `Config`, no argv and no printed plan.
pub const REGISTRY_PASSWORD_VAR: &str = "RELEASE_REGISTRY_PASSWORD";

/// How long a network git command may take unless `RELEASE_GIT_TIMEOUT` says otherwise.
pub const DEFAULT_GIT_TIMEOUT_SECS: u64 = 60;

/// How long a credential helper may take unless `RELEASE_HELPER_TIMEOUT` says otherwise: as
/// long as a network git command, since a helper may ask a keychain that asks its user.
pub const DEFAULT_HELPER_TIMEOUT_SECS: u64 = 60;

/// The variable that bounds credential helpers.
pub const HELPER_TIMEOUT_VAR: &str = "RELEASE_HELPER_TIMEOUT";

/// The bound of a `docker-credential-NAME get`, from the value of `RELEASE_HELPER_TIMEOUT`.
pub fn helper_timeout_secs(value: Option<&str>) -> Result<u64> {
    match value {
        None | Some("") => Ok(DEFAULT_HELPER_TIMEOUT_SECS),
        Some(secs) => parse_secs(HELPER_TIMEOUT_VAR, secs, 1),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
}

impl Platform {
    /// `linux/amd64`, the form docker, buildah and the OCI index use.
    pub fn name(&self) -> String {
        format!("{}/{}", self.os, self.arch)
    }

    /// Parses `linux/amd64` or `linux/arm64`, the platforms a release builds.
    pub fn parse(name: &str) -> Option<Platform> {
        let (os, arch) = name.split_once('/')?;
        (os == "linux" && matches!(arch, "amd64" | "arm64")).then(|| Platform {
            os: os.into(),
            arch: arch.into(),
        })
    }

    /// `linux-amd64`: the directory under `dist/` holding this platform's binary.
    pub fn dist_dir(&self) -> String {
        format!("{}-{}", self.os, self.arch)
    }

    /// The Rust target that builds a static binary for this platform.
    pub fn rust_target(&self) -> &'static str {
        match self.arch.as_str() {
            "amd64" => "x86_64-unknown-linux-musl",
            _ => "aarch64-unknown-linux-musl",
        }
    }
}

/// Environment variables that override `[workspace.metadata.release]`, in table order.
pub const OVERRIDES: [(&str, &str); 6] = [
    ("image", "RELEASE_IMAGE"),
    ("chart-registry", "RELEASE_CHART_REGISTRY"),
    ("platforms", "RELEASE_PLATFORMS"),
    ("default-branch", "RELEASE_DEFAULT_BRANCH"),
    ("remote", "RELEASE_REMOTE"),
    ("github-repo", "RELEASE_GITHUB_REPO"),
];

impl Config {
    /// Reads the configuration from the text of the workspace `Cargo.toml`;
    /// `env` looks up environment variables (a closure, so tests need no process environment).
    pub fn parse(cargo_toml: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
        let doc: toml_edit::Document<&str> =
            toml_edit::Document::parse(cargo_toml).context("Cargo.toml is not valid TOML")?;
        let table = doc
            .get("workspace")
            .and_then(|w| w.get("metadata"))
            .and_then(|m| m.get("release"))
            .and_then(|r| r.as_table_like())
            .context("Cargo.toml has no [workspace.metadata.release] table")?;

        let value = |key: &str| -> Result<String> {
            if let Some((_, var)) = OVERRIDES.iter().find(|(k, _)| *k == key)
                && let Some(v) = env(var).filter(|v| !v.is_empty())
            {
                return Ok(v);
            }
            let item = table.get(key).with_context(|| {
                format!("[workspace.metadata.release] in Cargo.toml has no `{key}`")
            })?;
            if let Some(s) = item.as_str() {
                return Ok(s.to_string());
            }
            // Arrays (platforms) take the same comma-separated form as their variable.
            let list = item.as_array().and_then(|a| {
                a.iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
            });
            list.map(|l| l.join(",")).with_context(|| {
                format!(
                    "[workspace.metadata.release] `{key}` must be a string or a list of strings"
                )
            })
        };

        // Refused here with every other setting, before anything runs; the login search, which
        // has no `Config`, reads it where it asks a credential helper.
        helper_timeout_secs(env(HELPER_TIMEOUT_VAR).as_deref())?;
        let config = Config {
            image: check_image(&value("image")?)?,
            chart: check_chart_dir(&value("chart")?)?,
            chart_registry: check_chart_registry(&value("chart-registry")?)?,
            platforms: parse_platforms(&value("platforms")?)?,
            default_branch: check_ref_name("default-branch", &value("default-branch")?)?,
            remote: check_ref_name("remote", &value("remote")?)?,
            github_repo: check_github_repo(&value("github-repo")?)?,
            builder: match env("RELEASE_IMAGE_BUILDER").as_deref() {
                None | Some("") | Some("docker") => ImageBuilder::Docker,
                Some("buildah") => ImageBuilder::Buildah,
                Some(other) => bail!(
                    "RELEASE_IMAGE_BUILDER={} is not a known builder: use docker or buildah",
                    crate::quote::quote(other)
                ),
            },
            plain_http: parse_switch("RELEASE_PLAIN_HTTP", env("RELEASE_PLAIN_HTTP"))?
                .unwrap_or(false),
            registry_user: match env("RELEASE_REGISTRY_USER").filter(|u| !u.is_empty()) {
                None => None,
                Some(user) => Some(check_registry_user(&user)?),
            },
            git_timeout_secs: match env("RELEASE_GIT_TIMEOUT").as_deref() {
                None | Some("") => DEFAULT_GIT_TIMEOUT_SECS,
                Some(secs) => parse_secs("RELEASE_GIT_TIMEOUT", secs, 1)?,
            },
            image_wait_secs: match env("RELEASE_IMAGE_WAIT").as_deref() {
                None | Some("") => 0,
                Some(secs) => parse_secs("RELEASE_IMAGE_WAIT", secs, 0)?,
            },
            provenance: parse_provenance(table.get("provenance"), env("RELEASE_PROVENANCE"))?,
            trusted_root: env("RELEASE_TRUSTED_ROOT").filter(|p| !p.is_empty()),
        };
        Ok(config)
    }

    /// `ghcr.io/sofatutor/charts` from `oci://ghcr.io/sofatutor/charts`.
    pub fn chart_registry_path(&self) -> &str {
        self.chart_registry.trim_start_matches("oci://")
    }

    /// The registry host of the image, e.g. `ghcr.io` or `127.0.0.1:5000`.
    pub fn image_registry(&self) -> &str {
        self.image.split('/').next().unwrap_or_default()
    }

    /// The registry host of the chart namespace.
    pub fn chart_registry_host(&self) -> &str {
        self.chart_registry_path()
            .split('/')
            .next()
            .unwrap_or_default()
    }
}

fn invalid(key: &str, value: &str, expected: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "release setting `{key}` = {} is invalid: expected {expected}",
        crate::quote::quote(value)
    )
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

fn check_image(value: &str) -> Result<String> {
    let expected =
        "an image repository such as ghcr.io/owner/name or 127.0.0.1:5000/name, without a tag";
    let mut parts = value.split('/');
    let host = parts.next().unwrap_or_default();
    let path: Vec<&str> = parts.collect();
    let host_ok = !host.is_empty()
        && !host.starts_with(['-', '.'])
        && host.chars().all(|c| is_name_char(c) || c == ':');
    let path_ok = !path.is_empty()
        && path.iter().all(|p| {
            !p.is_empty()
                && !p.starts_with(['-', '.', '_'])
                && p.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                })
        });
    if host_ok && path_ok {
        Ok(value.to_string())
    } else {
        Err(invalid("image", value, expected))
    }
}

fn check_chart_dir(value: &str) -> Result<String> {
    let ok = !value.is_empty()
        && !value.starts_with(['/', '-'])
        && value
            .split('/')
            .all(|p| !p.is_empty() && p != ".." && p.chars().all(is_name_char));
    if ok {
        Ok(value.to_string())
    } else {
        Err(invalid(
            "chart",
            value,
            "a relative path inside the repository",
        ))
    }
}

fn check_chart_registry(value: &str) -> Result<String> {
    let expected = "an OCI registry namespace such as oci://ghcr.io/owner/charts";
    let rest = value
        .strip_prefix("oci://")
        .ok_or_else(|| invalid("chart-registry", value, expected))?;
    check_image(rest).map_err(|_| invalid("chart-registry", value, expected))?;
    Ok(value.to_string())
}

fn parse_platforms(value: &str) -> Result<Vec<Platform>> {
    let expected = "a non-empty list drawn from linux/amd64 and linux/arm64";
    let mut platforms = Vec::new();
    for name in value.split(',').map(str::trim) {
        let platform =
            Platform::parse(name).ok_or_else(|| invalid("platforms", value, expected))?;
        if platforms.contains(&platform) {
            return Err(invalid("platforms", value, "each platform once"));
        }
        platforms.push(platform);
    }
    Ok(platforms)
}

fn parse_secs(var: &str, value: &str, min: u64) -> Result<u64> {
    match value.parse::<u64>() {
        Ok(secs) if (min..=3600).contains(&secs) => Ok(secs),
        _ => bail!(
            "{var}={} is invalid: expected whole seconds from {min} to 3600",
            crate::quote::quote(value)
        ),
    }
}

/// A switch variable (`RELEASE_PLAIN_HTTP`, `RELEASE_PROVENANCE`): `1` or `true` is on, `0`
/// or `false` is off, empty or unset is `None`. Anything else is refused rather than read as
/// off: `RELEASE_PLAIN_HTTP=yes` must not quietly mean HTTPS, nor `RELEASE_PROVENANCE=off`
/// quietly keep the gate on.
fn parse_switch(var: &str, value: Option<String>) -> Result<Option<bool>> {
    match value.as_deref() {
        None | Some("") => Ok(None),
        Some("1" | "true") => Ok(Some(true)),
        Some("0" | "false") => Ok(Some(false)),
        Some(other) => bail!(
            "{var}={} is invalid: expected 1 or true (on), 0 or false (off)",
            crate::quote::quote(other)
        ),
    }
}

/// `provenance = true|false`, overridden by `RELEASE_PROVENANCE` (a switch).
/// Absent means false: a project turns it on once its workflows attest what they publish.
fn parse_provenance(item: Option<&toml_edit::Item>, var: Option<String>) -> Result<bool> {
    if let Some(on) = parse_switch("RELEASE_PROVENANCE", var)? {
        return Ok(on);
    }
    match item {
        None => Ok(false),
        Some(item) => item.as_bool().with_context(|| {
            "[workspace.metadata.release] `provenance` must be true or false".to_string()
        }),
    }
}

/// A branch or remote name that cannot become a flag or a path: `origin`, `release/1.x`.
fn is_plain_git_name(value: &str) -> bool {
    // 255 bytes: the longest file name most filesystems hold, which a loose ref needs; the
    // bound also keeps every message that echoes the name short.
    !value.is_empty()
        && value.len() <= 255
        && !value.starts_with(['-', '.', '/'])
        && !value.ends_with(['/', '.'])
        && !value.contains("..")
        && !value.ends_with(".lock")
        && value.chars().all(|c| is_name_char(c) || c == '/')
}

/// Validates `--remote NAME` as strictly as the configured `remote`.
pub fn check_remote_arg(value: &str) -> Result<String> {
    if is_plain_git_name(value) {
        Ok(value.to_string())
    } else {
        bail!(
            "--remote {} is invalid: expected the name of a git remote such as origin (see `git remote`)",
            crate::quote::quote(value)
        )
    }
}

fn check_ref_name(key: &str, value: &str) -> Result<String> {
    if is_plain_git_name(value) {
        Ok(value.to_string())
    } else {
        Err(invalid(
            key,
            value,
            "a plain git name such as main or origin",
        ))
    }
}

/// A registry user name reaches argv (`--username`): it must not look like a flag.
fn check_registry_user(value: &str) -> Result<String> {
    let ok = !value.starts_with('-')
        && value
            .chars()
            .all(|c| is_name_char(c) || matches!(c, '@' | '+' | '[' | ']'));
    if ok {
        Ok(value.to_string())
    } else {
        Err(invalid(
            "RELEASE_REGISTRY_USER",
            value,
            "a user name of letters, digits and `._-@+[]`",
        ))
    }
}

fn check_github_repo(value: &str) -> Result<String> {
    let ok = match value.split_once('/') {
        Some((owner, name)) => [owner, name]
            .iter()
            .all(|p| !p.is_empty() && !p.starts_with(['-', '.']) && p.chars().all(is_name_char)),
        None => false,
    };
    if ok {
        Ok(value.to_string())
    } else {
        Err(invalid("github-repo", value, "OWNER/NAME"))
    }
}

/// The configuration the core's unit tests plan with, written out here so that they do not
/// depend on the project's live `Cargo.toml`.
#[cfg(test)]
pub fn example() -> Config {
    Config::parse(tests::TOML, &|_| None).expect("the example configuration is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const TOML: &str = r#"
[workspace]
members = ["xtask"]

[workspace.metadata.release]
image = "ghcr.io/sofatutor/llm-proxy"
chart = "charts/llm-proxy"
chart-registry = "oci://ghcr.io/sofatutor/charts"
platforms = ["linux/amd64", "linux/arm64"]
default-branch = "main"
remote = "origin"
github-repo = "sofatutor/llm-proxy"
"#;

    fn parse_with(vars: &[(&str, &str)]) -> Result<Config> {
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        Config::parse(TOML, &env)
    }

    #[test]
    fn reads_the_workspace_table() {
        let config = parse_with(&[]).unwrap();
        assert_eq!(config.image, "ghcr.io/sofatutor/llm-proxy");
        assert_eq!(config.chart, "charts/llm-proxy");
        assert_eq!(config.chart_registry_path(), "ghcr.io/sofatutor/charts");
        assert_eq!(
            config
                .platforms
                .iter()
                .map(Platform::name)
                .collect::<Vec<_>>(),
            ["linux/amd64", "linux/arm64"]
        );
        assert_eq!(
            (config.default_branch.as_str(), config.remote.as_str()),
            ("main", "origin")
        );
        assert_eq!(config.github_repo, "sofatutor/llm-proxy");
        assert_eq!(config.builder, ImageBuilder::Docker);
        assert!(!config.plain_http);
    }

    #[test]
    fn environment_overrides_each_value() {
        let config = parse_with(&[
            ("RELEASE_IMAGE", "127.0.0.1:5000/llm-proxy"),
            ("RELEASE_CHART_REGISTRY", "oci://127.0.0.1:5000/charts"),
            ("RELEASE_PLATFORMS", "linux/arm64"),
            ("RELEASE_DEFAULT_BRANCH", "trunk"),
            ("RELEASE_REMOTE", "upstream"),
            ("RELEASE_GITHUB_REPO", "me/fork"),
            ("RELEASE_IMAGE_BUILDER", "buildah"),
            ("RELEASE_PLAIN_HTTP", "1"),
        ])
        .unwrap();
        assert_eq!(config.image, "127.0.0.1:5000/llm-proxy");
        assert_eq!(config.image_registry(), "127.0.0.1:5000");
        assert_eq!(config.chart_registry, "oci://127.0.0.1:5000/charts");
        assert_eq!(
            config.platforms,
            [Platform {
                os: "linux".into(),
                arch: "arm64".into()
            }]
        );
        assert_eq!(
            (config.default_branch.as_str(), config.remote.as_str()),
            ("trunk", "upstream")
        );
        assert_eq!(config.github_repo, "me/fork");
        assert_eq!(config.builder, ImageBuilder::Buildah);
        assert!(config.plain_http);
        assert_eq!(config.chart_registry_host(), "127.0.0.1:5000");
    }

    #[test]
    fn registry_user_is_optional() {
        assert_eq!(parse_with(&[]).unwrap().registry_user, None);
        assert_eq!(
            parse_with(&[("RELEASE_REGISTRY_USER", "octo-cat")])
                .unwrap()
                .registry_user
                .as_deref(),
            Some("octo-cat")
        );
    }

    #[test]
    fn git_timeout() {
        assert_eq!(parse_with(&[]).unwrap().git_timeout_secs, 60);
        assert_eq!(parse_with(&[]).unwrap().image_wait_secs, 0);
        let wait = parse_with(&[("RELEASE_IMAGE_WAIT", "1200")]).unwrap();
        assert_eq!(wait.image_wait_secs, 1200);
        assert_eq!(
            parse_with(&[("RELEASE_IMAGE_WAIT", "-1")])
                .unwrap_err()
                .to_string(),
            "RELEASE_IMAGE_WAIT=\"-1\" is invalid: expected whole seconds from 0 to 3600"
        );
        let secs = parse_with(&[("RELEASE_GIT_TIMEOUT", "5")]).unwrap();
        assert_eq!(secs.git_timeout_secs, 5);
        for bad in ["0", "-1", "1.5", "5s", "99999"] {
            let err = parse_with(&[("RELEASE_GIT_TIMEOUT", bad)]).unwrap_err();
            assert!(err.to_string().contains("RELEASE_GIT_TIMEOUT"), "{err}");
        }
    }

    #[test]
    fn provenance_is_off_unless_turned_on() {
        assert!(!parse_with(&[]).unwrap().provenance);
        let on = TOML.replace("github-repo =", "provenance = true\ngithub-repo =");
        let parse = |toml: &str, var: Option<&str>| {
            Config::parse(toml, &|name| {
                (name == "RELEASE_PROVENANCE").then(|| var.map(str::to_string))?
            })
        };
        assert!(parse(&on, None).unwrap().provenance);
        assert!(!parse(&on, Some("0")).unwrap().provenance);
        assert!(!parse(&on, Some("false")).unwrap().provenance);
        assert!(parse(TOML, Some("1")).unwrap().provenance);
        let err = parse(TOML, Some("yes")).unwrap_err().to_string();
        assert!(
            err.contains("RELEASE_PROVENANCE=\"yes\" is invalid"),
            "{err}"
        );
        let err = parse(&on.replace("= true", "= \"yes\""), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`provenance` must be true or false"), "{err}");
        assert_eq!(parse_with(&[]).unwrap().trusted_root, None);
        assert_eq!(
            parse_with(&[("RELEASE_TRUSTED_ROOT", "/tmp/root.jsonl")])
                .unwrap()
                .trusted_root
                .as_deref(),
            Some("/tmp/root.jsonl")
        );
    }

    #[test]
    fn switches_accept_exactly_the_documented_values() {
        #[track_caller]
        fn check(var: &str, value: &str, expected: Result<bool, &str>) {
            let got = parse_with(&[(var, value)])
                .map(|c| match var {
                    "RELEASE_PLAIN_HTTP" => c.plain_http,
                    _ => c.provenance,
                })
                .map_err(|e| e.to_string());
            assert_eq!(got, expected.map_err(str::to_string), "{var}={value:?}");
        }
        for var in ["RELEASE_PLAIN_HTTP", "RELEASE_PROVENANCE"] {
            check(var, "1", Ok(true));
            check(var, "true", Ok(true));
            check(var, "0", Ok(false));
            check(var, "false", Ok(false));
            check(var, "", Ok(false));
            for bad in ["yes", "TRUE", "on", "True", "no", "off", " 1", "2"] {
                let message = format!(
                    "{var}={} is invalid: expected 1 or true (on), 0 or false (off)",
                    crate::quote::quote(bad)
                );
                check(var, bad, Err(&message));
            }
        }
        check(
            "RELEASE_PLAIN_HTTP",
            "1\nforged line",
            Err(
                r#"RELEASE_PLAIN_HTTP="1\nforged line" is invalid: expected 1 or true (on), 0 or false (off)"#,
            ),
        );
    }

    #[test]
    fn helper_timeout() {
        assert_eq!(helper_timeout_secs(None).unwrap(), 60);
        assert_eq!(helper_timeout_secs(Some("")).unwrap(), 60);
        assert_eq!(helper_timeout_secs(Some("2")).unwrap(), 2);
        assert!(parse_with(&[("RELEASE_HELPER_TIMEOUT", "2")]).is_ok());
        assert_eq!(
            parse_with(&[("RELEASE_HELPER_TIMEOUT", "0")])
                .unwrap_err()
                .to_string(),
            "RELEASE_HELPER_TIMEOUT=\"0\" is invalid: expected whole seconds from 1 to 3600"
        );
    }

    #[test]
    fn remote_argument() {
        assert_eq!(check_remote_arg("upstream").unwrap(), "upstream");
        for bad in ["-oProxyCommand=x", "", "/tmp/x", "a..b", "x:y", "--mirror"] {
            let err = check_remote_arg(bad).unwrap_err().to_string();
            assert!(err.starts_with("--remote \""), "{err}");
        }
    }

    #[test]
    fn rejects_values_that_would_become_flags_or_paths() {
        let err = |var: &str, value: &str| parse_with(&[(var, value)]).unwrap_err().to_string();
        assert!(err("RELEASE_IMAGE", "--help").contains("`image` = \"--help\" is invalid"));
        assert!(err("RELEASE_IMAGE", "ghcr.io/Owner/x").contains("`image`"));
        assert!(err("RELEASE_IMAGE", "ghcr.io/x:v1").contains("without a tag"));
        assert!(err("RELEASE_CHART_REGISTRY", "ghcr.io/charts").contains("oci://"));
        assert!(err("RELEASE_PLATFORMS", "linux/s390x").contains("linux/amd64 and linux/arm64"));
        assert!(err("RELEASE_PLATFORMS", "linux/amd64,linux/amd64").contains("each platform once"));
        assert!(err("RELEASE_REMOTE", "-oProxyCommand=x").contains("`remote`"));
        assert!(err("RELEASE_DEFAULT_BRANCH", "a..b").contains("`default-branch`"));
        assert!(err("RELEASE_GITHUB_REPO", "nope").contains("OWNER/NAME"));
        assert!(err("RELEASE_IMAGE_BUILDER", "podman").contains("docker or buildah"));
        assert!(err("RELEASE_REGISTRY_USER", "--password=x").contains("RELEASE_REGISTRY_USER"));
    }

    #[test]
    fn missing_table_or_key_is_named() {
        let none = |_: &str| None;
        let err = Config::parse("[workspace]\n", &none)
            .unwrap_err()
            .to_string();
        assert!(err.contains("[workspace.metadata.release]"), "{err}");
        let err = Config::parse(&TOML.replace("remote = \"origin\"\n", ""), &none)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no `remote`"), "{err}");
        let err = Config::parse(
            &TOML.replace(r#"chart = "charts/llm-proxy""#, r#"chart = "../x""#),
            &none,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("`chart`"), "{err}");
    }
}
