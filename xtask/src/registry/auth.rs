//! Registry logins as docker, helm, buildah and skopeo keep them, read as data: which files
//! to look in and in which order, what one file holds for a registry, the
//! `docker-credential-NAME` helper protocol, and the OAuth2 form that trades an identity
//! token for a registry token.
//!
//! The order follows the tools that write these files, so a read succeeds wherever the
//! developer's own `docker pull`, `skopeo inspect` or `helm pull` would:
//!
//! - `RELEASE_REGISTRY_USER`/`RELEASE_REGISTRY_PASSWORD`, when set, for every host (decided
//!   in the shell layer, which owns the environment).
//! - An image host: the containers auth files (`REGISTRY_AUTH_FILE`, else
//!   `$XDG_RUNTIME_DIR/containers/auth.json`; then `$XDG_CONFIG_HOME/containers/auth.json`),
//!   then docker's `config.json`: the order of buildah, skopeo and podman (containers/image),
//!   checked with skopeo 1.9.3. Docker reads only its own file, which is in that chain. Helm's
//!   registry config comes last, so that a `helm registry login` alone also reads images.
//! - A chart host: helm's registry config, then docker's `config.json` (helm 3.18 falls back to
//!   it, checked here), then the containers auth files as a last resort.
//!
//! The first file that holds something for the host decides, as in each tool. Inside one file
//! docker's rules apply: `credHelpers[host]`, else `credsStore`, else the `auths` entry (the
//! most specific one, containers files may key a namespace such as `quay.io/org`).
//!
//! The shell layer (`credentials`) reads the files and runs the helpers; nothing here does.

use std::fmt;

use anyhow::{Context, Result, bail};
use serde_yaml::Value;

use super::oci::query_escape;
use crate::check::Artifact;
use crate::invocation::Invocation;

/// A registry login as a tool stored it. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Login {
    /// A user and a password (or personal access token), sent as Basic credentials.
    Password { user: String, password: String },
    /// An OAuth2 refresh token (`identitytoken`, or a helper's user `<token>`), traded at the
    /// registry's token service.
    IdentityToken(String),
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Login::Password { user, .. } => write!(f, "Password {{ user: {user:?}, <hidden> }}"),
            Login::IdentityToken(_) => write!(f, "IdentityToken(<hidden>)"),
        }
    }
}

/// Which tool keeps a login file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// containers/image: buildah, skopeo, podman.
    Containers,
    Docker,
    Helm,
}

impl Store {
    /// The command that stores a login for `host` where this tool reads it.
    pub fn login_command(self, host: &str) -> String {
        match self {
            Store::Containers => format!("skopeo login {host}"),
            Store::Docker => format!("docker login {host}"),
            Store::Helm => format!("helm registry login {host}"),
        }
    }
}

/// One tool's login file, at the path that tool reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFile {
    pub store: Store,
    pub path: String,
}

impl fmt::Display for LoginFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.store {
            Store::Containers => "containers auth file",
            Store::Docker => "docker config",
            Store::Helm => "helm registry config",
        };
        // The path comes from the environment (`DOCKER_CONFIG`, …): one with a line break or
        // another control character is shown escaped, so that it cannot split a message.
        if self.path.contains(char::is_control) {
            write!(f, "{label} {:?}", self.path)
        } else {
            write!(f, "{label} {}", self.path)
        }
    }
}

/// What the tools derive their file locations from; empty variables count as unset.
#[derive(Debug, Clone, Default)]
pub struct ToolEnv {
    pub home: Option<String>,
    pub docker_config: Option<String>,
    pub registry_auth_file: Option<String>,
    pub xdg_runtime_dir: Option<String>,
    pub xdg_config_home: Option<String>,
    pub helm_registry_config: Option<String>,
    pub helm_config_home: Option<String>,
    /// For containers' `/run/containers/UID/auth.json` when `XDG_RUNTIME_DIR` is unset.
    pub uid: Option<u32>,
    /// Helm's default configuration home is `~/Library/Preferences/helm` on macOS.
    pub macos: bool,
}

/// The login files to search for a host serving `artifact`, in order (see the module doc).
pub fn login_files(artifact: Artifact, env: &ToolEnv) -> Vec<LoginFile> {
    let containers = containers_files(env);
    let docker = docker_file(env);
    let helm = helm_file(env);
    let mut files = Vec::new();
    match artifact {
        Artifact::Image => {
            files.extend(containers);
            files.extend(docker);
            files.extend(helm);
        }
        Artifact::Chart => {
            files.extend(helm);
            files.extend(docker);
            files.extend(containers);
        }
    }
    files
}

fn join(dir: &str, rest: &str) -> String {
    format!("{}/{rest}", dir.trim_end_matches('/'))
}

fn config_home(env: &ToolEnv) -> Option<String> {
    env.xdg_config_home
        .clone()
        .or_else(|| env.home.as_deref().map(|h| join(h, ".config")))
}

fn containers_files(env: &ToolEnv) -> Vec<LoginFile> {
    let first = match (&env.registry_auth_file, &env.xdg_runtime_dir, env.uid) {
        (Some(file), _, _) => Some(file.clone()),
        (None, Some(dir), _) => Some(join(dir, "containers/auth.json")),
        (None, None, Some(uid)) => Some(format!("/run/containers/{uid}/auth.json")),
        (None, None, None) => None,
    };
    let second = config_home(env).map(|dir| join(&dir, "containers/auth.json"));
    [first, second]
        .into_iter()
        .flatten()
        .map(|path| LoginFile {
            store: Store::Containers,
            path,
        })
        .collect()
}

fn docker_file(env: &ToolEnv) -> Option<LoginFile> {
    let dir = env
        .docker_config
        .clone()
        .or_else(|| env.home.as_deref().map(|h| join(h, ".docker")))?;
    Some(LoginFile {
        store: Store::Docker,
        path: join(&dir, "config.json"),
    })
}

fn helm_file(env: &ToolEnv) -> Option<LoginFile> {
    let path = match &env.helm_registry_config {
        Some(file) => file.clone(),
        None => {
            let home = match (&env.helm_config_home, &env.xdg_config_home) {
                (Some(dir), _) => dir.clone(),
                (None, Some(xdg)) => join(xdg, "helm"),
                (None, None) if env.macos => join(env.home.as_deref()?, "Library/Preferences/helm"),
                (None, None) => join(env.home.as_deref()?, ".config/helm"),
            };
            join(&home, "registry/config.json")
        }
    };
    Some(LoginFile {
        store: Store::Helm,
        path,
    })
}

/// How a file's `credHelpers` or `credsStore` named a helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperField {
    CredHelpers,
    CredsStore,
}

impl fmt::Display for HelperField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HelperField::CredHelpers => "credHelpers",
            HelperField::CredsStore => "credsStore",
        })
    }
}

/// What one login file holds for a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Login(Login),
    /// Ask the program `docker-credential-NAME`.
    Helper {
        name: String,
        field: HelperField,
    },
}

/// A registry host as the tools' files key it: `ghcr.io`, `https://ghcr.io`,
/// `https://index.docker.io/v1/` and `127.0.0.1:5000/org` all name a host, and the last a
/// namespace in it. A key with a scheme is a URL whose path is an API path, not a namespace.
/// Docker Hub's aliases become `docker.io`.
pub fn normalise_key(key: &str) -> (String, String) {
    let lower = key.trim().to_ascii_lowercase();
    let (had_scheme, rest) = match lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    {
        Some(rest) => (true, rest.to_string()),
        None => (false, lower.clone()),
    };
    let (host, path) = rest.split_once('/').unwrap_or((&rest, ""));
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    };
    let namespace = if had_scheme {
        ""
    } else {
        path.trim_matches('/')
    };
    (host.to_string(), namespace.to_string())
}

/// The server name a credential helper is asked about: what `docker login` stored it under.
pub fn helper_server(host: &str) -> String {
    match normalise_key(host).0.as_str() {
        "docker.io" => "https://index.docker.io/v1/".to_string(),
        other => other.to_string(),
    }
}

/// How specifically `key` matches `host`/`repository`: `None` when it does not, else the
/// length of its namespace (longer is more specific).
fn key_match(key: &str, host: &str, repository: &str) -> Option<usize> {
    let (key_host, namespace) = normalise_key(key);
    if key_host != normalise_key(host).0 {
        return None;
    }
    let fits = namespace.is_empty()
        || repository == namespace
        || repository
            .strip_prefix(namespace.as_str())
            .is_some_and(|rest| rest.starts_with('/'));
    fits.then_some(namespace.len())
}

/// What a login file (docker's JSON format, which helm and the containers tools share) holds
/// for `host`/`repository`; `None` when nothing. Errors never quote a secret.
pub fn entry_for(text: &str, host: &str, repository: &str) -> Result<Option<Entry>> {
    let value: Value = serde_yaml::from_str(text).context("not valid JSON")?;
    if value.is_null() {
        return Ok(None);
    }
    if !value.is_mapping() {
        bail!("not a JSON object");
    }
    let helper = |name: &str, field: HelperField| -> Result<Option<Entry>> {
        if name.is_empty() {
            return Ok(None);
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            bail!("{field} names the helper {name:?}, which is not a docker-credential-NAME");
        }
        Ok(Some(Entry::Helper {
            name: name.to_string(),
            field,
        }))
    };
    if let Some(helpers) = value.get("credHelpers").and_then(Value::as_mapping) {
        let best = helpers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?, v.as_str()?)))
            .filter(|(k, _)| key_match(k, host, "").is_some())
            .max_by_key(|(k, _)| *k == host);
        if let Some((_, name)) = best {
            return helper(name, HelperField::CredHelpers);
        }
    }
    if let Some(name) = value.get("credsStore").and_then(Value::as_str)
        && let Some(entry) = helper(name, HelperField::CredsStore)?
    {
        return Ok(Some(entry));
    }
    let Some(auths) = value.get("auths").and_then(Value::as_mapping) else {
        return Ok(None);
    };
    // The most specific key wins; among equals the exact spelling, then the first in the file.
    let mut best: Option<(usize, bool, &str, &Value)> = None;
    for (key, entry) in auths {
        let Some(key) = key.as_str() else { continue };
        let Some(length) = key_match(key, host, repository) else {
            continue;
        };
        let exact = key == host;
        if best.is_none_or(|(l, e, _, _)| (length, exact) > (l, e)) {
            best = Some((length, exact, key, entry));
        }
    }
    let Some((_, _, key, entry)) = best else {
        return Ok(None);
    };
    let field = |name: &str| {
        entry
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    if let Some(token) = field("identitytoken") {
        return Ok(Some(Entry::Login(Login::IdentityToken(token.to_string()))));
    }
    if let Some(auth) = field("auth") {
        let decoded = decode_base64(auth)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .with_context(|| {
                format!("the `auth` of {key:?} is not base64: log in to {key} again")
            })?;
        let (user, password) = decoded.split_once(':').with_context(|| {
            format!("the `auth` of {key:?} is not `user:password`: log in to {key} again")
        })?;
        return Ok(Some(Entry::Login(Login::Password {
            user: user.to_string(),
            password: password.to_string(),
        })));
    }
    match (field("username"), field("password")) {
        (Some(user), Some(password)) => Ok(Some(Entry::Login(Login::Password {
            user: user.to_string(),
            password: password.to_string(),
        }))),
        _ => Ok(None),
    }
}

/// What a credential helper answered to `get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperAnswer {
    Found(Login),
    /// The helper holds nothing for the server (the protocol's "credentials not found").
    NotFound,
}

/// `docker-credential-NAME get`, bounded like every other command that may wait on something
/// outside xtask (a keychain, a network store): the server name goes on its stdin.
pub fn helper_get(name: &str, timeout_secs: u64) -> Invocation {
    Invocation::new(&format!("docker-credential-{name}"), ["get"]).timeout(timeout_secs)
}

/// Reads the answer of `docker-credential-NAME get`: on success
/// `{"ServerURL":…,"Username":…,"Secret":…}` on stdout (Username `<token>`: the Secret is an
/// identity token); on failure a message, "credentials not found in native keychain" meaning
/// "nothing stored". The answer must be JSON, as docker's `json.Unmarshal` reads it: YAML that
/// serde_yaml would also read (`Secret: …` lines, a flow mapping without quotes) is refused,
/// so that no garbage a broken helper prints is sent as a password. Errors never quote the
/// output, which may hold a secret.
pub fn helper_answer(success: bool, stdout: &str) -> Result<HelperAnswer> {
    if !success {
        if stdout.contains("credentials not found") {
            return Ok(HelperAnswer::NotFound);
        }
        bail!("it failed");
    }
    let value: Value = Some(stdout.trim())
        .filter(|text| text.starts_with('{') && is_json(text))
        .and_then(|text| serde_yaml::from_str(text).ok())
        .filter(Value::is_mapping)
        .context("it printed no JSON object")?;
    let text = |key: &str| -> Result<&str> {
        match value.get(key) {
            None | Some(Value::Null) => Ok(""),
            Some(Value::String(text)) => Ok(text),
            Some(_) => bail!("its `{key}` is not a string"),
        }
    };
    let (user, secret) = (text("Username")?, text("Secret")?);
    Ok(match (user, secret) {
        (_, "") => HelperAnswer::NotFound,
        ("<token>", token) => HelperAnswer::Found(Login::IdentityToken(token.to_string())),
        (user, password) => HelperAnswer::Found(Login::Password {
            user: user.to_string(),
            password: password.to_string(),
        }),
    })
}

/// Whether `text` is exactly one JSON value (RFC 8259), nothing before or after it. serde_yaml
/// reads every JSON text the same way JSON does, but also much that is not JSON; this is the
/// part of a JSON parser that tells the two apart.
fn is_json(text: &str) -> bool {
    let mut json = JsonSyntax {
        bytes: text.as_bytes(),
        at: 0,
    };
    json.value(0) && {
        json.space();
        json.at == json.bytes.len()
    }
}

struct JsonSyntax<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl JsonSyntax<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.space();
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// One value; `depth` bounds the nesting, so hostile output cannot exhaust the stack.
    fn value(&mut self, depth: usize) -> bool {
        self.space();
        match self.peek() {
            _ if depth > 64 => false,
            Some(b'{') => self.items(b'}', depth, |json, depth| {
                json.space();
                json.string() && json.eat(b':') && json.value(depth)
            }),
            Some(b'[') => self.items(b']', depth, JsonSyntax::value),
            Some(b'"') => self.string(),
            Some(b't') => self.word("true"),
            Some(b'f') => self.word("false"),
            Some(b'n') => self.word("null"),
            Some(_) => self.number(),
            None => false,
        }
    }

    /// The members of an object or the elements of an array, after its opening bracket.
    fn items(&mut self, close: u8, depth: usize, item: fn(&mut Self, usize) -> bool) -> bool {
        self.at += 1;
        if self.eat(close) {
            return true;
        }
        loop {
            if !item(self, depth + 1) {
                return false;
            }
            if self.eat(close) {
                return true;
            }
            if !self.eat(b',') {
                return false;
            }
        }
    }

    fn string(&mut self) -> bool {
        if self.peek() != Some(b'"') {
            return false;
        }
        self.at += 1;
        while let Some(byte) = self.peek() {
            self.at += 1;
            match byte {
                b'"' => return true,
                b'\\' => {
                    let escape = self.peek();
                    self.at += 1;
                    let valid = match escape {
                        Some(b'u') => {
                            let hex = self.bytes.get(self.at..self.at + 4);
                            self.at += 4;
                            hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
                        }
                        Some(c) => b"\"\\/bfnrt".contains(&c),
                        None => false,
                    };
                    if !valid {
                        return false;
                    }
                }
                0..=0x1f => return false,
                _ => {}
            }
        }
        false
    }

    fn word(&mut self, word: &str) -> bool {
        let found = self.bytes[self.at..].starts_with(word.as_bytes());
        self.at += if found { word.len() } else { 0 };
        found
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> bool {
        let digits = |json: &mut Self| {
            let start = json.at;
            while json.peek().is_some_and(|b| b.is_ascii_digit()) {
                json.at += 1;
            }
            json.at - start
        };
        self.at += usize::from(self.peek() == Some(b'-'));
        let leading_zero = self.peek() == Some(b'0');
        let whole = digits(self);
        if whole == 0 || (leading_zero && whole > 1) {
            return false;
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if digits(self) == 0 {
                return false;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            self.at += usize::from(matches!(self.peek(), Some(b'+' | b'-')));
            if digits(self) == 0 {
                return false;
            }
        }
        true
    }
}

/// The `client_id` this tool names itself with at token services (docker sends `docker`).
pub const CLIENT_ID: &str = "cargo-xtask";

/// The body of the OAuth2 POST that trades an identity token for a registry token
/// (`application/x-www-form-urlencoded`, as docker sends it).
pub fn refresh_token_form(token: &str, service: Option<&str>, scope: &str) -> String {
    let mut fields = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("scope", scope),
        ("client_id", CLIENT_ID),
    ];
    if let Some(service) = service {
        fields.push(("service", service));
    }
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", query_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Standard base64 (RFC 4648, `+/`), padding optional, as docker writes `auth`; `None` for
/// anything else.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let digits = text.trim_end_matches('=');
    if text.len() - digits.len() > 2 || digits.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0);
    for c in digits.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

/// Standard base64 (RFC 4648, `+/`, padded), as docker writes `auth`.
pub fn encode_base64(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(DIGITS[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

/// A docker `config.json` that holds one login, `user`/`password`, for each of `hosts`: how
/// a tool that reads logins only from docker's file (gh's registry reads) is given
/// `RELEASE_REGISTRY_USER`'s login.
pub fn docker_config(hosts: &[&str], user: &str, password: &str) -> String {
    let auth = encode_base64(format!("{user}:{password}").as_bytes());
    let entries: Vec<String> = hosts
        .iter()
        .map(|host| {
            let host = host.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{host}\":{{\"auth\":\"{auth}\"}}")
        })
        .collect();
    format!("{{\"auths\":{{{}}}}}\n", entries.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_docker_config_for_one_login_reads_back_as_that_login() {
        let text = docker_config(&["ghcr.io", "127.0.0.1:5000"], "octo", "p:w");
        for host in ["ghcr.io", "127.0.0.1:5000"] {
            let found = entry_for(&text, host, &format!("{host}/llm-proxy")).unwrap();
            assert_eq!(
                found,
                Some(Entry::Login(Login::Password {
                    user: "octo".into(),
                    password: "p:w".into()
                })),
                "{host}"
            );
        }
    }

    fn b64(text: &str) -> String {
        encode_base64(text.as_bytes())
    }

    #[test]
    fn base64() {
        fn check(input: &str, expected: Option<&str>) {
            let decoded = decode_base64(input).map(|b| String::from_utf8(b).unwrap());
            assert_eq!(decoded.as_deref(), expected, "{input:?}");
        }
        // RFC 4648 test vectors, with and without padding.
        check("", Some(""));
        check("Zg==", Some("f"));
        check("Zm8=", Some("fo"));
        check("Zm9v", Some("foo"));
        check("Zm9vYg==", Some("foob"));
        check("Zm9vYmE=", Some("fooba"));
        check("Zm9vYmFy", Some("foobar"));
        check("Zm9vYg", Some("foob"));
        // What `docker login -u u` wrote for the password `secretpw` (docker 28.2.2).
        check("dTpzZWNyZXRwdw==", Some("u:secretpw"));
        check(&b64("tester:p+/ss:w0rd"), Some("tester:p+/ss:w0rd"));
        check("Zm9v YmFy", None);
        check("Zm9vY", None);
        check("Zg===", None);
        check("Zm9v-_", None);
    }

    #[test]
    fn keys_normalise_to_host_and_namespace() {
        fn check(key: &str, expected: (&str, &str)) {
            let (host, namespace) = normalise_key(key);
            assert_eq!((host.as_str(), namespace.as_str()), expected, "{key:?}");
        }
        check("ghcr.io", ("ghcr.io", ""));
        check("https://ghcr.io", ("ghcr.io", ""));
        check("https://ghcr.io/", ("ghcr.io", ""));
        check("http://127.0.0.1:5000/v2/", ("127.0.0.1:5000", ""));
        check("GHCR.io", ("ghcr.io", ""));
        check("https://index.docker.io/v1/", ("docker.io", ""));
        check("registry-1.docker.io", ("docker.io", ""));
        check("docker.io", ("docker.io", ""));
        check("quay.io/org/repo", ("quay.io", "org/repo"));
        check("quay.io/org/", ("quay.io", "org"));
    }

    #[test]
    fn helpers_are_asked_for_the_name_docker_login_stored() {
        assert_eq!(helper_server("ghcr.io"), "ghcr.io");
        assert_eq!(helper_server("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(helper_server("docker.io"), "https://index.docker.io/v1/");
        assert_eq!(
            helper_server("registry-1.docker.io"),
            "https://index.docker.io/v1/"
        );
    }

    #[test]
    fn each_store_names_its_own_login_command() {
        assert_eq!(Store::Docker.login_command("h:1"), "docker login h:1");
        assert_eq!(Store::Helm.login_command("h:1"), "helm registry login h:1");
        assert_eq!(Store::Containers.login_command("h:1"), "skopeo login h:1");
    }

    fn password(user: &str, password: &str) -> Option<Entry> {
        Some(Entry::Login(Login::Password {
            user: user.into(),
            password: password.into(),
        }))
    }

    fn helper(name: &str, field: HelperField) -> Option<Entry> {
        Some(Entry::Helper {
            name: name.into(),
            field,
        })
    }

    #[test]
    fn what_a_file_holds_for_a_registry() {
        fn check(file: &str, host: &str, repository: &str, expected: Option<Entry>) {
            assert_eq!(
                entry_for(file, host, repository).unwrap(),
                expected,
                "{host}/{repository} in {file}"
            );
        }
        let u_p = b64("u:p");
        let (g, r) = ("ghcr.io", "sofatutor/llm-proxy");
        // What `docker login` writes, tab-indented (docker 28.2.2).
        let docker = format!(
            "{{\n\t\"auths\": {{\n\t\t\"ghcr.io\": {{\n\t\t\t\"auth\": \"{u_p}\"\n\t\t}}\n\t}}\n}}"
        );
        check(&docker, g, r, password("u", "p"));
        check(&docker, "quay.io", r, None);
        check(&docker, "GHCR.IO", r, password("u", "p"));
        // A password holding `:` keeps everything after the first one.
        let colon = format!(r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}}}}}}"#, b64("u:a:b"));
        check(&colon, g, r, password("u", "a:b"));
        // Keys with scheme and path; docker.io under its legacy URL.
        let url = format!(r#"{{"auths":{{"https://ghcr.io/v2/":{{"auth":"{u_p}"}}}}}}"#);
        check(&url, g, r, password("u", "p"));
        let hub = format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{u_p}"}}}}}}"#);
        check(&hub, "docker.io", "library/alpine", password("u", "p"));
        check(&hub, "registry-1.docker.io", "org/x", password("u", "p"));
        // Separate fields instead of `auth`.
        check(
            r#"{"auths":{"ghcr.io":{"username":"u","password":"p"}}}"#,
            g,
            r,
            password("u", "p"),
        );
        // An identity token wins over `auth` (docker sends it to the token service).
        let token = format!(r#"{{"auths":{{"ghcr.io":{{"auth":"{u_p}","identitytoken":"rt"}}}}}}"#);
        check(
            &token,
            g,
            r,
            Some(Entry::Login(Login::IdentityToken("rt".into()))),
        );
        // The empty entry `docker login` leaves beside a credsStore, and empty files.
        check(r#"{"auths":{"ghcr.io":{}}}"#, g, r, None);
        check(r#"{"auths":{}}"#, g, r, None);
        check("{}", g, r, None);
        check("", g, r, None);
        // Helpers: credHelpers for its host, else credsStore for every host; auths ignored.
        let desktop = format!(
            r#"{{"auths":{{"ghcr.io":{{"auth":"{u_p}"}}}},"credsStore":"desktop","credHelpers":{{"https://quay.io":"quayhelper"}}}}"#
        );
        check(&desktop, g, r, helper("desktop", HelperField::CredsStore));
        check(
            &desktop,
            "quay.io",
            r,
            helper("quayhelper", HelperField::CredHelpers),
        );
        let helpers_only = r#"{"credHelpers":{"ghcr.io":"gh"}}"#;
        check(helpers_only, g, r, helper("gh", HelperField::CredHelpers));
        check(helpers_only, "quay.io", r, None);
        check(r#"{"credsStore":""}"#, g, r, None);
        // Containers files may key a namespace: the most specific key that fits wins.
        let namespaced = format!(
            r#"{{"auths":{{"quay.io":{{"auth":"{}"}},"quay.io/org":{{"auth":"{}"}},"quay.io/organisation":{{"auth":"{}"}}}}}}"#,
            b64("all:1"),
            b64("org:2"),
            b64("other:3")
        );
        check(&namespaced, "quay.io", "org/app", password("org", "2"));
        check(&namespaced, "quay.io", "org", password("org", "2"));
        check(&namespaced, "quay.io", "orga/app", password("all", "1"));
        // The exact spelling wins over an equivalent one.
        let twice = format!(
            r#"{{"auths":{{"https://ghcr.io":{{"auth":"{}"}},"ghcr.io":{{"auth":"{}"}}}}}}"#,
            b64("url:1"),
            b64("bare:2")
        );
        check(&twice, g, r, password("bare", "2"));
    }

    #[test]
    fn broken_files_are_errors_that_never_quote_a_secret() {
        fn check(file: &str, expected: &str) {
            let error = format!("{:#}", entry_for(file, "ghcr.io", "o/r").unwrap_err());
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains("s3cr3t"), "{error}");
        }
        check("[1, 2]", "not a JSON object");
        check("{", "not valid JSON");
        check(
            r#"{"auths":{"ghcr.io":{"auth":"s3cr3t!"}}}"#,
            "the `auth` of \"ghcr.io\" is not base64",
        );
        check(
            &format!(
                r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}}}}}}"#,
                b64("s3cr3t")
            ),
            "is not `user:password`",
        );
        check(
            r#"{"credsStore":"../../bin/sh"}"#,
            "not a docker-credential-NAME",
        );
    }

    #[test]
    fn helper_answers() {
        fn check(success: bool, stdout: &str, expected: Result<HelperAnswer, &str>) {
            let got = helper_answer(success, stdout).map_err(|e| e.to_string());
            assert_eq!(got, expected.map_err(str::to_string), "{stdout:?}");
        }
        check(
            true,
            r#"{"ServerURL":"ghcr.io","Username":"u","Secret":"p"}"#,
            Ok(HelperAnswer::Found(Login::Password {
                user: "u".into(),
                password: "p".into(),
            })),
        );
        check(
            true,
            r#"{"ServerURL":"ghcr.io","Username":"<token>","Secret":"rt"}"#,
            Ok(HelperAnswer::Found(Login::IdentityToken("rt".into()))),
        );
        check(
            true,
            r#"{"ServerURL":"ghcr.io","Username":"u","Secret":""}"#,
            Ok(HelperAnswer::NotFound),
        );
        check(
            false,
            "credentials not found in native keychain\n",
            Ok(HelperAnswer::NotFound),
        );
        check(false, "s3cr3t went wrong", Err("it failed"));
        check(true, "s3cr3t", Err("it printed no JSON object"));
        // YAML that serde_yaml reads as a mapping, and garbage that looks like a field: a
        // helper that prints these is broken, and what it printed is no password.
        let refused = || Err("it printed no JSON object");
        check(true, "Username: u\nSecret: s3cr3t\n", refused());
        check(true, "Secret: s3cr3t garbage {\"x\"}", refused());
        check(true, "{Username: u, Secret: s3cr3t}", refused());
        check(true, r#"{"Username": "u", "Secret": s3cr3t}"#, refused());
        check(
            true,
            r#"{"Username":"u","Secret":"s3cr3t"} trailing"#,
            refused(),
        );
        check(true, r#"{"Username":"u","Secret":"s3cr3t",}"#, refused());
        check(true, r#"{'Username':'u','Secret':'s3cr3t'}"#, refused());
        check(true, r#"["u", "s3cr3t"]"#, refused());
        check(true, r#""s3cr3t""#, refused());
        check(true, "", refused());
        check(
            true,
            r#"{"Username":"u","Secret":12345}"#,
            Err("its `Secret` is not a string"),
        );
        // JSON as Go's encoder and people write it: spaces, escapes, other fields, numbers.
        check(
            true,
            "{\n  \"ServerURL\": \"h\",\n  \"Username\": \"u\\u00e9\",\n  \"Secret\": \"p\\\"q\\/\",\n  \"n\": [1, -0.5e+3, true, null, {}]\n}\n",
            Ok(HelperAnswer::Found(Login::Password {
                user: "u\u{e9}".into(),
                password: "p\"q/".into(),
            })),
        );
    }

    #[test]
    fn json_syntax() {
        #[track_caller]
        fn check(text: &str, expected: bool) {
            assert_eq!(is_json(text), expected, "{text:?}");
        }
        for valid in [
            "{}",
            " { } ",
            "[]",
            r#"{"a":[1,2.5,-3e2,0,0.0,1E-2],"b":{"c":null},"d":true,"e":false}"#,
            r#""\u00e9\n\t\\\/""#,
            "0",
            "-0",
        ] {
            check(valid, true);
        }
        for invalid in [
            "",
            "{",
            "}",
            "{a:1}",
            "{'a':1}",
            r#"{"a":1,}"#,
            "[1,]",
            "[,1]",
            r#"{"a" 1}"#,
            r#"{"a":1}{"b":2}"#,
            "01",
            "1.",
            ".5",
            "1e",
            "+1",
            "-",
            "tru",
            "nul",
            "True",
            r#""\x41""#,
            r#""\u12G4""#,
            "\"a\nb\"",
            "\"unterminated",
            "a: 1",
            "- 1",
            "~",
        ] {
            check(invalid, false);
        }
        check(&"[".repeat(100_000), false);
        check(&format!("{}{}", "[".repeat(60), "]".repeat(60)), true);
    }

    #[test]
    fn file_order_per_artifact() {
        fn check(artifact: Artifact, env: &ToolEnv, expected: &[&str]) {
            let files: Vec<String> = login_files(artifact, env)
                .iter()
                .map(LoginFile::to_string)
                .collect();
            assert_eq!(files, expected, "{artifact:?} {env:?}");
        }
        let home = ToolEnv {
            home: Some("/home/u".into()),
            uid: Some(1000),
            ..ToolEnv::default()
        };
        check(
            Artifact::Image,
            &home,
            &[
                "containers auth file /run/containers/1000/auth.json",
                "containers auth file /home/u/.config/containers/auth.json",
                "docker config /home/u/.docker/config.json",
                "helm registry config /home/u/.config/helm/registry/config.json",
            ],
        );
        check(
            Artifact::Chart,
            &home,
            &[
                "helm registry config /home/u/.config/helm/registry/config.json",
                "docker config /home/u/.docker/config.json",
                "containers auth file /run/containers/1000/auth.json",
                "containers auth file /home/u/.config/containers/auth.json",
            ],
        );
        let mac = ToolEnv {
            macos: true,
            ..home.clone()
        };
        check(
            Artifact::Chart,
            &mac,
            &[
                "helm registry config /home/u/Library/Preferences/helm/registry/config.json",
                "docker config /home/u/.docker/config.json",
                "containers auth file /run/containers/1000/auth.json",
                "containers auth file /home/u/.config/containers/auth.json",
            ],
        );
        let xdg = ToolEnv {
            xdg_runtime_dir: Some("/run/user/1000/".into()),
            xdg_config_home: Some("/x".into()),
            ..home.clone()
        };
        check(
            Artifact::Image,
            &xdg,
            &[
                "containers auth file /run/user/1000/containers/auth.json",
                "containers auth file /x/containers/auth.json",
                "docker config /home/u/.docker/config.json",
                "helm registry config /x/helm/registry/config.json",
            ],
        );
        let set = ToolEnv {
            docker_config: Some("/d".into()),
            registry_auth_file: Some("/a.json".into()),
            helm_config_home: Some("/h".into()),
            ..xdg.clone()
        };
        check(
            Artifact::Image,
            &set,
            &[
                "containers auth file /a.json",
                "containers auth file /x/containers/auth.json",
                "docker config /d/config.json",
                "helm registry config /h/registry/config.json",
            ],
        );
        let helm_file = ToolEnv {
            helm_registry_config: Some("/r.json".into()),
            ..set.clone()
        };
        check(
            Artifact::Chart,
            &helm_file,
            &[
                "helm registry config /r.json",
                "docker config /d/config.json",
                "containers auth file /a.json",
                "containers auth file /x/containers/auth.json",
            ],
        );
        // Without a home, only what the variables name.
        check(Artifact::Image, &ToolEnv::default(), &[]);
        let odd = ToolEnv {
            docker_config: Some("/a\nforged line".into()),
            ..ToolEnv::default()
        };
        check(
            Artifact::Image,
            &odd,
            &[r#"docker config "/a\nforged line/config.json""#],
        );
    }

    #[test]
    fn identity_tokens_are_traded_with_an_escaped_form() {
        assert_eq!(
            refresh_token_form("r+t/=", Some("ghcr.io"), "repository:o/n:pull"),
            "grant_type=refresh_token&refresh_token=r%2Bt%2F%3D&scope=repository%3Ao%2Fn%3Apull&client_id=cargo-xtask&service=ghcr.io"
        );
        assert_eq!(
            refresh_token_form("t", None, "s"),
            "grant_type=refresh_token&refresh_token=t&scope=s&client_id=cargo-xtask"
        );
    }

    #[test]
    fn logins_hide_their_secrets_from_debug() {
        let login = Login::Password {
            user: "u".into(),
            password: "s3cr3t".into(),
        };
        assert!(!format!("{login:?}").contains("s3cr3t"));
        assert!(!format!("{:?}", Login::IdentityToken("s3cr3t".into())).contains("s3cr3t"));
    }
}
