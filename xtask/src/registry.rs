//! Reading OCI registries through their HTTP API (`/v2/…`) with `curl`, the one HTTP client
//! every machine has: is a tag there, which digest does it hold, what is in it.
//!
//! Every answer is classified exactly: 200 is "present", 404 is "absent", and anything else
//! (401, 403, 5xx, no connection) is an error, never "absent", because "absent" leads to a
//! push and a push must never overwrite a published version.
//!
//! Credentials (`RELEASE_REGISTRY_USER`, `RELEASE_REGISTRY_PASSWORD`) and tokens travel in
//! curl's configuration on stdin (`--config -`), never in argv, so no process listing or log
//! shows them.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::core::config::Config;
use crate::core::oci::{self, Challenge, Manifest, Reference};

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

/// A manifest a registry holds.
pub struct Found {
    pub digest: String,
    pub body: String,
}

pub struct Registry<'a> {
    sh: &'a Shell,
    plain_http: bool,
    credentials: Option<&'a Credentials>,
    scratch: PathBuf,
    /// The curl configuration line that authenticates to each `host/name`, once learned.
    auth: RefCell<HashMap<String, String>>,
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
            scratch: scratch.to_path_buf(),
            auth: RefCell::new(HashMap::new()),
        }
    }

    /// The manifest `reference` names, or `None` when the registry says 404.
    pub fn manifest(&self, reference: &Reference) -> Result<Option<Found>> {
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
                Ok(Some(Found { digest, body }))
            }
            404 => Ok(None),
            other => Err(status_error(other, reference, self.credentials.is_some())),
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
            other => Err(status_error(
                other,
                &reference.at(digest),
                self.credentials.is_some(),
            )),
        }
    }

    /// One GET, authenticated on demand: on a 401 the registry's challenge says how (Basic with
    /// the credentials, or a Bearer token from its token service), and the request is repeated.
    fn get(
        &self,
        reference: &Reference,
        path: &str,
        accept: Option<&str>,
        out: &Path,
    ) -> Result<(u16, Vec<(String, String)>)> {
        let url = format!("{}://{}{path}", self.scheme(), reference.host);
        let key = format!("{}/{}", reference.host, reference.name);
        let mut config = String::new();
        if let Some(accept) = accept {
            config.push_str(&config_line("header", &format!("Accept: {accept}")));
        }
        let known = self.auth.borrow().get(&key).cloned();
        let (status, headers) = self.curl(
            &url,
            &format!("{config}{}", known.clone().unwrap_or_default()),
            out,
        )?;
        if status != 401 || known.is_some() {
            return Ok((status, headers));
        }
        let challenge = headers
            .iter()
            .find(|(k, _)| k == "www-authenticate")
            .and_then(|(_, v)| oci::parse_challenge(v));
        let auth = match challenge {
            Some(Challenge::Basic) => match self.credentials {
                Some(c) => config_line("user", &format!("{}:{}", c.user, c.password)),
                None => return Ok((status, headers)),
            },
            Some(Challenge::Bearer {
                realm,
                service,
                scope,
            }) => {
                let scope = scope.unwrap_or_else(|| format!("repository:{}:pull", reference.name));
                let token = self.token(&realm, service.as_deref(), &scope)?;
                config_line("header", &format!("Authorization: Bearer {token}"))
            }
            None => return Ok((status, headers)),
        };
        self.auth.borrow_mut().insert(key, auth.clone());
        self.curl(&url, &format!("{config}{auth}"), out)
    }

    /// A pull token from the registry's token service (anonymous without credentials, which
    /// public repositories on ghcr.io accept).
    fn token(&self, realm: &str, service: Option<&str>, scope: &str) -> Result<String> {
        let mut url = format!("{realm}?scope={}", oci::query_escape(scope));
        if let Some(service) = service {
            url.push_str(&format!("&service={}", oci::query_escape(service)));
        }
        let config = match self.credentials {
            Some(c) => config_line("user", &format!("{}:{}", c.user, c.password)),
            None => String::new(),
        };
        let out = self.scratch.join("token.json");
        let (status, _) = self.curl(&url, &config, &out)?;
        if status != 200 {
            bail!(
                "the token service {realm} answered {status}: {}",
                if self.credentials.is_some() {
                    "check RELEASE_REGISTRY_USER and RELEASE_REGISTRY_PASSWORD"
                } else {
                    "set RELEASE_REGISTRY_USER and RELEASE_REGISTRY_PASSWORD"
                }
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

/// One line of curl's configuration file, quoted as curl reads it.
fn config_line(key: &str, value: &str) -> String {
    format!(
        "{key} = \"{}\"\n",
        value.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

fn status_error(status: u16, reference: &Reference, have_credentials: bool) -> anyhow::Error {
    let hint = match status {
        401 | 403 if have_credentials => {
            "the registry refused RELEASE_REGISTRY_USER/RELEASE_REGISTRY_PASSWORD: check that the account may read and push this repository"
        }
        401 | 403 => {
            "the registry wants credentials: set RELEASE_REGISTRY_USER and RELEASE_REGISTRY_PASSWORD"
        }
        500..=599 => "the registry is failing: retry later",
        _ => "unexpected answer",
    };
    anyhow::anyhow!(
        "{} answered HTTP {status} for {reference}: {hint} (an error is never taken as \"absent\")",
        reference.host
    )
}
