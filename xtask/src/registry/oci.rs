//! The OCI distribution API as data: image references, manifests and indexes, the
//! `WWW-Authenticate` challenge, and the rules that decide whether two images are the same.
//!
//! The shell layer (`registry`) talks HTTP through `curl` and hands the answers
//! here; nothing in this module performs a request.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde_yaml::Value;

/// Every manifest type a registry may hold for a tag, sent as `Accept`. A registry answers
/// 404 for an OCI index when only Docker types are accepted (and the other way round), and
/// 404 must mean "absent", so all four are always asked for.
pub const MANIFEST_TYPES: [&str; 4] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

/// The layer of a Helm chart artifact: the packaged `.tgz` itself.
pub const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// The image label naming the release an image was built for (`vX.Y.Z`).
pub const VERSION_LABEL: &str = "org.opencontainers.image.version";

/// The image label naming the commit an image was built from.
pub const REVISION_LABEL: &str = "org.opencontainers.image.revision";

/// `HOST/NAME:TAG`, split the way the registry API needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `ghcr.io` or `127.0.0.1:5000`.
    pub host: String,
    /// The repository inside the registry, e.g. `sofatutor/llm-proxy`.
    pub name: String,
    /// A tag or a `sha256:…` digest.
    pub reference: String,
}

impl Reference {
    /// `repository` is `HOST/NAME` without tag (a validated `Config::image`, or the chart
    /// namespace plus the chart name); `reference` is a tag or a digest.
    pub fn new(repository: &str, reference: &str) -> Reference {
        let (host, name) = repository
            .trim_start_matches("oci://")
            .split_once('/')
            .unwrap_or((repository, ""));
        Reference {
            host: host.to_string(),
            name: name.to_string(),
            reference: reference.to_string(),
        }
    }

    /// The same repository at another tag or digest.
    pub fn at(&self, reference: &str) -> Reference {
        Reference {
            reference: reference.to_string(),
            ..self.clone()
        }
    }

    pub fn manifest_path(&self) -> String {
        format!("/v2/{}/manifests/{}", self.name, self.reference)
    }

    pub fn blob_path(&self, digest: &str) -> String {
        format!("/v2/{}/blobs/{digest}", self.name)
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let separator = if self.reference.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        write!(
            f,
            "{}/{}{separator}{}",
            self.host, self.name, self.reference
        )
    }
}

/// One entry of an index, or a manifest's config or layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    /// `linux/arm64` (with `/variant` when present); `None` when the entry has no platform.
    pub platform: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    /// A multi-platform index (OCI) or manifest list (Docker).
    Index(Vec<Descriptor>),
    /// One image, or a Helm chart artifact.
    Image {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

/// Parses a manifest or index body (JSON, read through the YAML parser it is a subset of).
pub fn parse_manifest(body: &str) -> Result<Manifest> {
    let value: Value = serde_yaml::from_str(body).context("the manifest is not valid JSON")?;
    let descriptor = |v: &Value| -> Result<Descriptor> {
        let field = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_string);
        let platform = v.get("platform").map(|p| {
            let part = |key: &str| p.get(key).and_then(Value::as_str).unwrap_or_default();
            let mut name = format!("{}/{}", part("os"), part("architecture"));
            if !part("variant").is_empty() {
                name = format!("{name}/{}", part("variant"));
            }
            name
        });
        Ok(Descriptor {
            media_type: field("mediaType").unwrap_or_default(),
            digest: field("digest").context("a manifest entry has no digest")?,
            platform,
        })
    };
    if let Some(entries) = v_seq(&value, "manifests") {
        return Ok(Manifest::Index(
            entries.iter().map(descriptor).collect::<Result<_>>()?,
        ));
    }
    let config = value
        .get("config")
        .context("the manifest has neither `manifests` nor `config`")?;
    Ok(Manifest::Image {
        config: descriptor(config)?,
        layers: v_seq(&value, "layers")
            .unwrap_or_default()
            .iter()
            .map(descriptor)
            .collect::<Result<_>>()?,
    })
}

fn v_seq<'a>(value: &'a Value, key: &str) -> Option<&'a [Value]> {
    value
        .get(key)
        .and_then(Value::as_sequence)
        .map(Vec::as_slice)
}

/// Attestations (provenance, SBOM) sit in an index as `unknown/unknown`: not a platform.
fn is_attestation(platform: &str) -> bool {
    platform == "unknown/unknown"
}

/// Platform → config digest of every image in `manifest` (an index, or one image without a
/// platform, keyed `""`). `fetch` returns the manifest body of a digest.
///
/// Two builds of the same source are the same image when these maps are equal: a config
/// names every layer by the digest of its uncompressed content (`diff_ids`) and carries the
/// labels and timestamps, while manifest and index digests also depend on how the layers were
/// compressed on the way to the registry, which differs between tools and runs.
pub fn platform_configs(
    manifest: &Manifest,
    fetch: &mut dyn FnMut(&str) -> Result<String>,
) -> Result<BTreeMap<String, String>> {
    let mut configs = BTreeMap::new();
    match manifest {
        Manifest::Image { config, .. } => {
            configs.insert(String::new(), config.digest.clone());
        }
        Manifest::Index(entries) => {
            for entry in entries {
                let platform = entry.platform.clone().unwrap_or_default();
                if is_attestation(&platform) {
                    continue;
                }
                match parse_manifest(&fetch(&entry.digest)?)? {
                    Manifest::Image { config, .. } => {
                        configs.insert(platform, config.digest);
                    }
                    Manifest::Index(_) => bail!("an index nests another index: not supported"),
                }
            }
        }
    }
    Ok(configs)
}

/// The digest of the manifest whose config holds an image's labels: the manifest itself for a
/// single image, the first platform's for an index (every platform of a release carries the
/// same labels).
pub fn labelled_manifest(manifest: &Manifest) -> Result<Option<String>> {
    match manifest {
        Manifest::Image { .. } => Ok(None),
        Manifest::Index(entries) => entries
            .iter()
            .find(|e| e.platform.as_deref().is_some_and(|p| !is_attestation(p)))
            .map(|e| Some(e.digest.clone()))
            .context("the index lists no image"),
    }
}

/// The labels in an image config (`config.Labels`); none when it has none.
pub fn config_labels(config: &str) -> Result<BTreeMap<String, String>> {
    let value: Value =
        serde_yaml::from_str(config).context("the image config is not valid JSON")?;
    let labels = value
        .get("config")
        .and_then(|c| c.get("Labels"))
        .and_then(Value::as_mapping);
    Ok(labels
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
        .collect())
}

/// Each platform of an index with the digest of its manifest, attestations left out, in
/// index order.
pub fn index_manifests(manifest: &Manifest) -> Vec<(String, String)> {
    match manifest {
        Manifest::Index(entries) => entries
            .iter()
            .filter_map(|e| Some((e.platform.clone()?, e.digest.clone())))
            .filter(|(p, _)| !is_attestation(p))
            .collect(),
        Manifest::Image { .. } => Vec::new(),
    }
}

/// The platforms of an index, attestations left out, in index order.
pub fn index_platforms(manifest: &Manifest) -> Vec<String> {
    match manifest {
        Manifest::Index(entries) => entries
            .iter()
            .filter_map(|e| e.platform.clone())
            .filter(|p| !is_attestation(p))
            .collect(),
        Manifest::Image { .. } => Vec::new(),
    }
}

/// The digest of the chart content layer (the `.tgz`) of a Helm chart manifest.
pub fn chart_layer(manifest: &str) -> Result<String> {
    match parse_manifest(manifest)? {
        Manifest::Image { layers, .. } => layers
            .into_iter()
            .find(|l| l.media_type == HELM_CHART_LAYER)
            .map(|l| l.digest)
            .context("the manifest has no chart content layer"),
        Manifest::Index(_) => bail!("it is an image index"),
    }
}

/// What a registry asks for in `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    /// Token authentication: get a token from `realm` for `service` and `scope`.
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, params) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    let mut scope = None;
    let mut rest = params.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let end = quoted.find('"')?;
                (&quoted[..end], &quoted[end + 1..])
            }
            None => after.split_once(',').unwrap_or((after, "")),
        };
        match key.trim() {
            "realm" => realm = Some(value.to_string()),
            "service" => service = Some(value.to_string()),
            "scope" => scope = Some(value.to_string()),
            _ => {}
        }
        rest = after.trim_start_matches([',', ' ']);
    }
    Some(Challenge::Bearer {
        realm: realm?,
        service,
        scope,
    })
}

/// The HTTP status and one header of the last response in a `curl --dump-header` file
/// (redirects write one block per response).
pub fn last_response(headers: &str) -> (Option<u16>, Vec<(String, String)>) {
    let block = headers
        .split("\r\n\r\n")
        .map(str::trim)
        .filter(|b| b.starts_with("HTTP/"))
        .last()
        .unwrap_or_default();
    let mut lines = block.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok());
    let fields = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, fields)
}

/// Percent-encodes a query value (the token endpoint's `scope` holds `:` and `/`).
pub fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":503,"platform":{"architecture":"amd64","os":"linux"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":503,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cc","size":1,"platform":{"architecture":"unknown","os":"unknown"}}]}"#;

    fn image(config: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":1}},"layers":[{{"mediaType":"{HELM_CHART_LAYER}","digest":"sha256:layer","size":2}}]}}"#
        )
    }

    #[test]
    fn references_split_into_host_name_and_tag() {
        let r = Reference::new("127.0.0.1:5000/sofatutor/llm-proxy", "v1.2.3");
        assert_eq!(
            (r.host.as_str(), r.name.as_str()),
            ("127.0.0.1:5000", "sofatutor/llm-proxy")
        );
        assert_eq!(
            r.manifest_path(),
            "/v2/sofatutor/llm-proxy/manifests/v1.2.3"
        );
        assert_eq!(r.to_string(), "127.0.0.1:5000/sofatutor/llm-proxy:v1.2.3");
        assert_eq!(
            r.at("sha256:ab").to_string(),
            "127.0.0.1:5000/sofatutor/llm-proxy@sha256:ab"
        );
        let chart = Reference::new("oci://ghcr.io/sofatutor/charts/llm-proxy", "1.2.3");
        assert_eq!(chart.name, "sofatutor/charts/llm-proxy");
        assert_eq!(
            chart.blob_path("sha256:x"),
            "/v2/sofatutor/charts/llm-proxy/blobs/sha256:x"
        );
    }

    #[test]
    fn parses_indexes_and_images() {
        let Manifest::Index(entries) = parse_manifest(INDEX).unwrap() else {
            panic!("expected an index")
        };
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1].platform.as_deref(), Some("linux/arm64/v8"));
        assert_eq!(
            index_platforms(&parse_manifest(INDEX).unwrap()),
            ["linux/amd64", "linux/arm64/v8"]
        );
        let Manifest::Image { config, layers } = parse_manifest(&image("sha256:cfg")).unwrap()
        else {
            panic!("expected an image")
        };
        assert_eq!(config.digest, "sha256:cfg");
        assert_eq!(layers[0].media_type, HELM_CHART_LAYER);
        assert!(parse_manifest("{}").is_err());
        assert!(parse_manifest("not json: [").is_err());
    }

    #[test]
    fn platform_configs_skip_attestations() {
        let mut fetched = Vec::new();
        let configs = platform_configs(&parse_manifest(INDEX).unwrap(), &mut |digest| {
            fetched.push(digest.to_string());
            Ok(image(&format!("sha256:config-of-{}", &digest[7..])))
        })
        .unwrap();
        assert_eq!(fetched, ["sha256:aa", "sha256:bb"]);
        assert_eq!(
            configs.into_iter().collect::<Vec<_>>(),
            [
                ("linux/amd64".to_string(), "sha256:config-of-aa".to_string()),
                (
                    "linux/arm64/v8".to_string(),
                    "sha256:config-of-bb".to_string()
                )
            ]
        );
    }

    #[test]
    fn labels_come_from_the_first_platform_config() {
        let index = parse_manifest(INDEX).unwrap();
        assert_eq!(
            labelled_manifest(&index).unwrap().as_deref(),
            Some("sha256:aa")
        );
        let image = parse_manifest(&image("sha256:cfg")).unwrap();
        assert_eq!(labelled_manifest(&image).unwrap(), None);
        let config = r#"{"architecture":"amd64","config":{"Labels":{"org.opencontainers.image.version":"v1.3.1","n":"1"}}}"#;
        let labels = config_labels(config).unwrap();
        assert_eq!(
            labels.get(VERSION_LABEL).map(String::as_str),
            Some("v1.3.1")
        );
        assert_eq!(labels.len(), 2);
        assert!(config_labels(r#"{"config":{}}"#).unwrap().is_empty());
    }

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge("Basic realm=\"Registry\""),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:o/n:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into()),
                scope: Some("repository:o/n:pull".into()),
            })
        );
        assert_eq!(
            parse_challenge("Bearer realm=https://a/t, service=a"),
            Some(Challenge::Bearer {
                realm: "https://a/t".into(),
                service: Some("a".into()),
                scope: None,
            })
        );
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
        assert_eq!(parse_challenge("Negotiate"), None);
    }

    #[test]
    fn last_response_wins_after_redirects() {
        let headers = "HTTP/1.1 307 Temporary Redirect\r\nLocation: /x\r\n\r\nHTTP/2 200\r\nDocker-Content-Digest: sha256:ab\r\n\r\n";
        let (status, fields) = last_response(headers);
        assert_eq!(status, Some(200));
        assert_eq!(
            fields,
            [("docker-content-digest".to_string(), "sha256:ab".to_string())]
        );
        assert_eq!(last_response("").0, None);
    }

    #[test]
    fn query_values_are_escaped() {
        assert_eq!(
            query_escape("repository:a/b:pull"),
            "repository%3Aa%2Fb%3Apull"
        );
    }
}
