//! Reading OCI registries through their HTTP API (`/v2/…`) with `curl`, the one HTTP client
//! every machine has: is a tag there, which digest does it hold, what is in it.
//!
//! Every answer is classified exactly: 200 is "present", 404 is "absent", and anything else
//! (401, 403, 5xx, no connection) is an error, never "absent", because "absent" leads to a
//! push and a push must never overwrite a published version.
//!
//! A registry that asks for credentials (a 401 with `WWW-Authenticate`) gets the login
//! `auth_io::find` picks: `RELEASE_REGISTRY_USER`/`RELEASE_REGISTRY_PASSWORD`, else the
//! developer's own docker, containers or helm login for that host. Credentials and tokens
//! travel in curl's configuration on stdin (`--config -`), never in argv, so no process
//! listing or log shows them; a refusal names where the credentials came from, never what
//! they are.
//!
//! A reader that knows several requests it will make (a release's tags, its platforms'
//! manifests) hands them to `prefetch` first: one curl asks them all over one connection,
//! and the ordinary `manifest` and `blob` calls are then answered from what came back.
//! Starting curl costs more than a loopback request, and `release status` makes hundreds:
//! it asks every version's requests of one kind in one curl, into a [`Store`] its workers'
//! registries share ([`Registry::with_store`]), read as one snapshot of the registry.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::check::Artifact;
use crate::registry::auth::{self, Login};
use crate::registry::auth_io::{self, Search};
use crate::registry::oci::{self, Challenge, Manifest, Reference};

pub use crate::registry::auth_io::Credentials;

/// A manifest a registry holds.
pub struct StoredManifest {
    pub digest: String,
    pub body: String,
}

pub struct Registry<'a> {
    sh: &'a Shell,
    plain_http: bool,
    credentials: Option<&'a Credentials>,
    /// Whose logins come first: the image tools' or helm's (see `registry::auth`).
    artifact: Artifact,
    scratch: PathBuf,
    /// How each `host/name` is authenticated, once the registry asked.
    auth: RefCell<HashMap<String, Auth>>,
    /// Answers `prefetch` got; shared with `for_charts` and [`Registry::sharing`].
    prefetched: Arc<Mutex<Prefetched>>,
}

/// Prefetched answers, shared between threads.
pub type Store = Arc<Mutex<Prefetched>>;

/// The answers prefetches got, by URL.
#[derive(Default)]
pub struct Prefetched {
    answers: HashMap<String, Answer>,
    /// Numbers the files a prefetch writes, so no two answers share one.
    files: usize,
    /// A snapshot (`release status`): an answer serves every reader of its URL. Otherwise
    /// it serves the next one only, and a later read (after a write, say) asks again.
    snapshot: bool,
}

/// One answer a prefetch got: a 200 or a 404, its headers, its body in a scratch file.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: PathBuf,
}

/// A request to prefetch: a manifest, or a blob of the repository of a reference.
pub enum Request {
    Manifest(Reference),
    Blob(Reference, String),
}

/// The curl configuration that authenticates to one repository, and what it is made of.
#[derive(Clone)]
struct Auth {
    /// A `user` or `header` line; empty when no credentials were found. Secret.
    config: String,
    search: Origin,
}

/// Where a repository's credentials came from, for messages.
#[derive(Clone)]
enum Origin {
    /// Where the credentials came from, and what renews them.
    Found { source: String, fix: String },
    /// None were found; the places looked in.
    Nowhere(Vec<String>),
}

impl<'a> Registry<'a> {
    pub fn new(
        sh: &'a Shell,
        plain_http: bool,
        credentials: Option<&'a Credentials>,
        scratch: &Path,
    ) -> Registry<'a> {
        Registry {
            sh,
            plain_http,
            credentials,
            artifact: Artifact::Image,
            scratch: scratch.to_path_buf(),
            auth: RefCell::new(HashMap::new()),
            prefetched: Arc::default(),
        }
    }

    /// This registry, its prefetched answers read as one snapshot: each serves every read
    /// of its URL (`release status`, which reads every tag once, as of one moment).
    pub fn snapshot(self) -> Registry<'a> {
        self.prefetched.lock().unwrap().snapshot = true;
        self
    }

    /// What this registry prefetched, to hand to other threads' registries.
    pub fn store(&self) -> Store {
        Arc::clone(&self.prefetched)
    }

    /// This registry answering from `store` too (another thread's prefetch); its logins
    /// stay its own, each found again where needed.
    pub fn with_store(self, store: &Store) -> Registry<'a> {
        Registry {
            prefetched: Arc::clone(store),
            ..self
        }
    }

    /// The body of the manifest `reference` names, if a prefetch got it (a 200), without
    /// handing it out: to learn what to prefetch next.
    pub fn prefetched_manifest(&self, reference: &Reference) -> Option<String> {
        let url = self.url(&reference.manifest_path(), reference);
        let store = self.prefetched.lock().unwrap();
        let answer = store.answers.get(&url).filter(|a| a.status == 200)?;
        std::fs::read_to_string(&answer.body).ok()
    }

    /// The same registry for reading charts: helm's login for a host comes before the image
    /// tools' (see `registry::auth`).
    pub fn for_charts(&self) -> Registry<'a> {
        Registry {
            artifact: Artifact::Chart,
            auth: RefCell::new(HashMap::new()),
            scratch: self.scratch.clone(),
            prefetched: Arc::clone(&self.prefetched),
            ..*self
        }
    }

    /// Asks for the manifests `references` name in one curl, for the `manifest` calls that
    /// follow (see [`Registry::prefetch`]).
    pub fn prefetch_manifests(&self, references: &[Reference]) {
        let requests: Vec<Request> = references.iter().cloned().map(Request::Manifest).collect();
        self.prefetch(&requests);
    }

    /// Asks for the blobs `digests` of the repository of `reference` in one curl, for the
    /// `blob` calls that follow.
    pub fn prefetch_blobs(&self, reference: &Reference, digests: &[String]) {
        let requests: Vec<Request> = digests
            .iter()
            .map(|d| Request::Blob(reference.clone(), d.clone()))
            .collect();
        self.prefetch(&requests);
    }

    /// Makes several GETs in one curl process, each with the login this registry already
    /// uses for its repository, and keeps each 200 and 404 for the one `get` of that URL that
    /// follows. Anything else (a 401 that needs a login, a refusal, a transfer that failed) is
    /// dropped: that `get` asks again on its own, so its login and its error are exactly what
    /// they would be without a prefetch. Never an answer of its own, so never "absent" by
    /// mistake: only a 404 the registry sent is kept as one.
    pub fn prefetch(&self, requests: &[Request]) {
        let refused = self.prefetch_once(requests);
        if refused.is_empty() {
            return;
        }
        // A registry that wants a login answers a batch without one with 401s: one ordinary
        // request per repository finds the login (challenge, credentials, token) as every
        // read does, and the batch is asked again with it.
        let mut logged_in = false;
        for reference in &refused {
            logged_in |= matches!(self.manifest(reference), Ok(Some(_)) | Ok(None));
        }
        if logged_in {
            self.prefetch_once(requests);
        }
    }

    /// One batch; returns a reference of each repository that answered 401 without a known
    /// login.
    fn prefetch_once(&self, requests: &[Request]) -> Vec<Reference> {
        let mut refused: Vec<Reference> = Vec::new();
        // One request gains nothing from a batch.
        if requests.len() < 2 {
            return refused;
        }
        let manifest_types = oci::MANIFEST_TYPES.join(", ");
        let mut config = String::new();
        let mut pending = Vec::new();
        let mut asked = std::collections::HashSet::new();
        for request in requests {
            let (reference, path, accept) = match request {
                Request::Manifest(r) => (r, r.manifest_path(), Some(manifest_types.as_str())),
                Request::Blob(r, digest) => (r, r.blob_path(digest), None),
            };
            let url = self.url(&path, reference);
            if self.prefetched.lock().unwrap().answers.contains_key(&url)
                || !asked.insert(url.clone())
            {
                continue;
            }
            let n = {
                let mut store = self.prefetched.lock().unwrap();
                store.files += 1;
                store.files
            };
            let body = self.scratch.join(format!("prefetch-{n}.body"));
            let headers = self.scratch.join(format!("prefetch-{n}.headers"));
            let key = format!("{}/{}", reference.host, reference.name);
            let section = (|| -> Result<String> {
                let mut lines = String::new();
                if let Some(accept) = accept {
                    lines.push_str(&config_line("header", &format!("Accept: {accept}"))?);
                }
                if let Some(auth) = self.auth.borrow().get(&key) {
                    lines.push_str(&auth.config);
                }
                lines.push_str(&config_line("dump-header", &headers.to_string_lossy())?);
                lines.push_str(&config_line("output", &body.to_string_lossy())?);
                lines.push_str(&config_line("url", &url)?);
                Ok(lines)
            })();
            let Ok(section) = section else { continue };
            // `next` starts a transfer of its own: every option but the global ones is reset.
            if !pending.is_empty() {
                config.push_str("next\n");
            }
            config.push_str("location\nmax-time = 120\nwrite-out = \"%{exitcode} %{url}\\n\"\n");
            config.push_str(&section);
            pending.push((url, body, headers, (*reference).clone()));
        }
        if pending.len() < 2 {
            return refused;
        }
        let sh = self.sh;
        // A few transfers at a time, as the readers' threads would (a remote registry's
        // latency is the cost there); --fail-early: the first transfer that fails (a registry
        // gone quiet, past its max-time) ends the batch, so a batch is bounded as a request
        // is, and the readers ask the rest themselves.
        let Ok(output) = cmd!(
            sh,
            "curl --silent --no-progress-meter --show-error --fail-early --parallel --parallel-max 6 --config -"
        )
            .stdin(config)
            .secret()
            .quiet()
            .ignore_status()
            .output()
        else {
            return refused;
        };
        // In parallel the transfers end in any order: each says its URL.
        let stdout = String::from_utf8_lossy(&output.stdout);
        let done: std::collections::HashSet<&str> = stdout
            .lines()
            .filter_map(|line| line.strip_prefix("0 "))
            .collect();
        for (url, body, headers, reference) in pending {
            if !done.contains(url.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&headers).unwrap_or_default();
            match oci::last_response(&text) {
                (Some(status @ (200 | 404)), headers) => {
                    let answer = Answer {
                        status,
                        headers,
                        body,
                    };
                    self.prefetched.lock().unwrap().answers.insert(url, answer);
                }
                (Some(401), _) => {
                    let key = |r: &Reference| format!("{}/{}", r.host, r.name);
                    let known = self.auth.borrow().contains_key(&key(&reference));
                    if !known && !refused.iter().any(|r| key(r) == key(&reference)) {
                        refused.push(reference);
                    }
                }
                _ => {}
            }
        }
        refused
    }

    /// The manifest `reference` names, or `None` when the registry says 404.
    pub fn manifest(&self, reference: &Reference) -> Result<Option<StoredManifest>> {
        let body_file = self.scratch.join("manifest.json");
        let accept = oci::MANIFEST_TYPES.join(", ");
        let (status, headers) = self.get(
            reference,
            &reference.manifest_path(),
            Some(&accept),
            &body_file,
        )?;
        match status {
            200 => {
                let body = std::fs::read_to_string(&body_file)
                    .with_context(|| format!("cannot read the manifest of {reference}"))?;
                let digest = headers
                    .iter()
                    .find(|(k, _)| k == "docker-content-digest")
                    .map(|(_, v)| v.clone())
                    .with_context(|| {
                        format!(
                            "{} sent the manifest of {reference} without Docker-Content-Digest",
                            reference.host
                        )
                    })?;
                Ok(Some(StoredManifest { digest, body }))
            }
            404 => Ok(None),
            other => Err(self.status_error(other, reference)),
        }
    }

    /// The manifest body of `digest` in the repository of `reference`; it must exist.
    pub fn manifest_body(&self, reference: &Reference, digest: &str) -> Result<String> {
        self.manifest(&reference.at(digest))?
            .map(|found| found.body)
            .with_context(|| format!("{} lists {digest}, which it does not have", reference))
    }

    /// The labels of the image `manifest` (the body `reference` names): those of the first
    /// platform's config for an index.
    pub fn image_labels(
        &self,
        reference: &Reference,
        manifest: &Manifest,
    ) -> Result<BTreeMap<String, String>> {
        let image = match oci::labelled_manifest(manifest)? {
            Some(digest) => oci::parse_manifest(&self.manifest_body(reference, &digest)?)?,
            None => manifest.clone(),
        };
        let Manifest::Image { config, .. } = image else {
            bail!("an index nests another index")
        };
        let file = self.scratch.join("config.json");
        self.blob(reference, &config.digest, &file)?;
        oci::config_labels(&std::fs::read_to_string(&file)?)
    }

    /// Downloads the blob `digest` of the repository of `reference` to `dest`.
    pub fn blob(&self, reference: &Reference, digest: &str, dest: &Path) -> Result<()> {
        let (status, _) = self.get(reference, &reference.blob_path(digest), None, dest)?;
        match status {
            200 => Ok(()),
            other => Err(self.status_error(other, &reference.at(digest))),
        }
    }

    /// One GET, authenticated on demand: on a 401 the registry's challenge says how (Basic with
    /// the login, or a Bearer token from its token service), and the request is repeated.
    fn get(
        &self,
        reference: &Reference,
        path: &str,
        accept: Option<&str>,
        out: &Path,
    ) -> Result<(u16, Vec<(String, String)>)> {
        let url = self.url(path, reference);
        let answered = {
            let mut store = self.prefetched.lock().unwrap();
            if store.snapshot {
                store
                    .answers
                    .get(&url)
                    .map(|a| (a.status, a.headers.clone(), a.body.clone(), false))
            } else {
                store
                    .answers
                    .remove(&url)
                    .map(|a| (a.status, a.headers, a.body, true))
            }
        };
        if let Some((status, headers, body, handed_out)) = answered {
            // curl writes no file for an empty body.
            let kept = match (body.exists(), handed_out) {
                (false, _) => std::fs::write(out, b""),
                (true, true) => std::fs::rename(&body, out),
                (true, false) => std::fs::copy(&body, out).map(|_| ()),
            };
            kept.with_context(|| format!("cannot keep the answer for {url}"))?;
            return Ok((status, headers));
        }
        let key = format!("{}/{}", reference.host, reference.name);
        let mut config = String::new();
        if let Some(accept) = accept {
            config.push_str(&config_line("header", &format!("Accept: {accept}"))?);
        }
        let known = self.auth.borrow().get(&key).cloned();
        let (status, headers) = self.curl(
            &url,
            &format!(
                "{config}{}",
                known.as_ref().map_or("", |a| a.config.as_str())
            ),
            out,
        )?;
        if status != 401 || known.is_some() {
            return Ok((status, headers));
        }
        let challenge = headers
            .iter()
            .find(|(k, _)| k == "www-authenticate")
            .and_then(|(_, v)| oci::parse_challenge(v));
        let Some(challenge) = challenge else {
            return Ok((status, headers));
        };
        let Search { found, looked } = auth_io::find(
            self.sh,
            self.credentials,
            self.artifact,
            &reference.host,
            &reference.name,
        );
        let origin = match &found {
            Some(found) => Origin::Found {
                source: found.source.clone(),
                fix: found.fix.clone(),
            },
            None => Origin::Nowhere(looked),
        };
        let login = found.as_ref().map(|f| &f.login);
        let auth_config = match challenge {
            Challenge::Basic => match login {
                Some(Login::Password { user, password }) => {
                    config_line("user", &format!("{user}:{password}"))?
                }
                Some(Login::IdentityToken(_)) => bail!(
                    "{} asks for a password (Basic authentication), but {} holds an identity token: log in with a user and password or token",
                    reference.host,
                    found.as_ref().map_or("", |f| f.source.as_str())
                ),
                // Nothing to answer with: the 401 stands, and its error says what to run.
                None => {
                    let auth = Auth {
                        config: String::new(),
                        search: origin,
                    };
                    self.auth.borrow_mut().insert(key, auth);
                    return Ok((status, headers));
                }
            },
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", reference.name));
                let token = self.token(
                    reference,
                    &realm,
                    service.as_deref(),
                    &scope,
                    login,
                    &origin,
                )?;
                config_line("header", &format!("Authorization: Bearer {token}"))?
            }
        };
        self.auth.borrow_mut().insert(
            key,
            Auth {
                config: auth_config.clone(),
                search: origin,
            },
        );
        self.curl(&url, &format!("{config}{auth_config}"), out)
    }

    /// A token from the registry's token service: with a password as Basic credentials (GET),
    /// with an identity token as an OAuth2 refresh-token grant (POST), or anonymously, which
    /// public repositories on ghcr.io accept.
    fn token(
        &self,
        reference: &Reference,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        login: Option<&Login>,
        origin: &Origin,
    ) -> Result<String> {
        let mut url = format!("{realm}?scope={}", oci::query_escape(scope));
        if let Some(service) = service {
            url.push_str(&format!("&service={}", oci::query_escape(service)));
        }
        let config = match login {
            Some(Login::Password { user, password }) => {
                config_line("user", &format!("{user}:{password}"))?
            }
            // curl posts `data` as application/x-www-form-urlencoded; from stdin, like the rest.
            Some(Login::IdentityToken(token)) => {
                url = realm.to_string();
                config_line("data", &auth::refresh_token_form(token, service, scope))?
            }
            None => String::new(),
        };
        let out = self.scratch.join("token.json");
        let (status, _) = self.curl(&url, &config, &out)?;
        if status != 200 {
            bail!(
                "the token service {realm} answered HTTP {status} for {}: {}",
                reference.host,
                refusal_hint(&reference.host, origin)
            );
        }
        let body = std::fs::read_to_string(&out)?;
        let value: serde_yaml::Value =
            serde_yaml::from_str(&body).context("the token service sent invalid JSON")?;
        ["token", "access_token"]
            .iter()
            .find_map(|k| value.get(k).and_then(|t| t.as_str()))
            .map(str::to_string)
            .context("the token service sent no token")
    }

    /// The error for an answer other than 200 or 404: never "absent". A refusal says where
    /// the credentials came from, or where none were found and what to run.
    fn status_error(&self, status: u16, reference: &Reference) -> anyhow::Error {
        let key = format!("{}/{}", reference.host, reference.name);
        let hint = match status {
            401 | 403 => match self.auth.borrow().get(&key) {
                Some(auth) => refusal_hint(&reference.host, &auth.search),
                None => format!(
                    "the registry refused the request without asking for credentials: {}",
                    login_commands(&reference.host)
                ),
            },
            500..=599 => "the registry is failing: retry later".to_string(),
            _ => "unexpected answer".to_string(),
        };
        anyhow::anyhow!(
            "{} answered HTTP {status} for {reference}: {hint} (an error is never taken as \"absent\")",
            reference.host
        )
    }

    fn url(&self, path: &str, reference: &Reference) -> String {
        format!("{}://{}{path}", self.scheme(), reference.host)
    }

    fn scheme(&self) -> &'static str {
        if self.plain_http { "http" } else { "https" }
    }

    /// Runs curl with `config` on stdin; returns the final status and its headers.
    fn curl(&self, url: &str, config: &str, out: &Path) -> Result<(u16, Vec<(String, String)>)> {
        let headers_file = self.scratch.join("headers.txt");
        let sh = self.sh;
        let output = cmd!(
            sh,
            "curl --silent --show-error --location --max-time 120 --config - --dump-header {headers_file} --output {out} {url}"
        )
        .stdin(config)
        .secret()
        .quiet()
        .ignore_status()
        .output()?;
        if !output.status.success() {
            bail!(
                "cannot reach {url}: {} (nothing is assumed absent when the registry cannot be asked)",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let headers = std::fs::read_to_string(&headers_file).unwrap_or_default();
        let (status, fields) = oci::last_response(&headers);
        let status = status.with_context(|| format!("{url} sent no HTTP status"))?;
        Ok((status, fields))
    }
}

/// One line of curl's configuration file, quoted as curl reads it. A line break would end
/// the line and let the rest (a login from a file, a token from a registry) be read as
/// another curl option, so it is refused; the error never quotes the value.
fn config_line(key: &str, value: &str) -> Result<String> {
    if value.contains(['\n', '\r']) {
        bail!("a `{key}` for curl holds a line break: refused (check the login or the registry)");
    }
    Ok(format!(
        "{key} = \"{}\"\n",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// What to say when a registry refuses: whose credentials it refused, or that none were found.
fn refusal_hint(host: &str, origin: &Origin) -> String {
    match origin {
        Origin::Found { source, fix } => format!(
            "it refused the credentials from {source}: {fix}, or check that the account may read this repository"
        ),
        Origin::Nowhere(looked) => format!(
            "no credentials for {host} were found (looked in {}): {}",
            if looked.is_empty() {
                "nothing: no HOME and no tool's variables are set".to_string()
            } else {
                looked.join("; ")
            },
            login_commands(host)
        ),
    }
}

fn login_commands(host: &str) -> String {
    format!(
        "run `docker login {host}` or `helm registry login {host}`, or set RELEASE_REGISTRY_USER and RELEASE_REGISTRY_PASSWORD"
    )
}

#[cfg(test)]
mod tests {
    use super::config_line;

    #[test]
    fn curl_config_lines_are_quoted_and_refuse_line_breaks() {
        fn check(value: &str, expected: Result<&str, &str>) {
            let got = config_line("user", value).map_err(|e| e.to_string());
            assert_eq!(got, expected.map(str::to_string).map_err(str::to_string));
        }
        check("u:p", Ok("user = \"u:p\"\n"));
        check(r#"u:a"b\c"#, Ok("user = \"u:a\\\"b\\\\c\"\n"));
        let refused =
            "a `user` for curl holds a line break: refused (check the login or the registry)";
        check("u:p\noutput = /tmp/x", Err(refused));
        check("u:p\r", Err(refused));
    }
}
