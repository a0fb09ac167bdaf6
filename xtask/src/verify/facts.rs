//! What `release verify` asks the world about one version, as data: each answer a
//! [`Lookup`], so that "could not ask" is never mistaken for "absent".

use semver::Version;

use crate::check::Lookup;
use crate::publish::retarget::Retarget;
use crate::verify::provenance;

/// An image index as the registry holds it under one tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageIndex {
    pub digest: String,
    /// `os/arch` of each manifest, attestation entries (`unknown/unknown`) included.
    pub platforms: Vec<String>,
    /// Each platform with the digest of its manifest, attestations left out.
    pub manifests: Vec<(String, String)>,
    /// `org.opencontainers.image.revision` of the image config, when it could be read.
    pub revision: Lookup<String>,
}

/// A chart as `helm show chart` and `helm template` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedChart {
    /// The digest of the chart's manifest in the registry.
    pub digest: String,
    pub version: String,
    pub app_version: String,
    /// The container image of the default render.
    pub default_image: String,
    /// Whether that image exists in its registry.
    pub default_image_exists: Lookup<()>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedRelease {
    pub title: String,
    pub draft: bool,
    pub prerelease: bool,
    pub body: String,
}

/// Everything verify asks, for one version.
#[derive(Debug, Clone)]
pub struct ReleaseFacts {
    pub version: Version,
    /// Every tag on the remote (to know which release owns `X.Y` and `latest`).
    pub remote_tags: Lookup<Vec<String>>,
    /// The commit `vX.Y.Z` peels to on the remote.
    pub commit: Lookup<String>,
    /// The commit `vX.Y.Z-stable` peels to on the remote.
    pub stable_commit: Lookup<String>,
    /// Whether the commit is reachable from `<remote>/<default-branch>`.
    pub on_default_branch: Lookup<bool>,
    pub version_image: Lookup<ImageIndex>,
    /// Digests under `sha-…`, `X.Y` and `latest`.
    pub sha_digest: Lookup<String>,
    pub minor_digest: Lookup<String>,
    pub latest_digest: Lookup<String>,
    /// The retarget records of `X.Y` and `latest` (`release retarget`), if any.
    pub minor_record: Lookup<Retarget>,
    pub latest_record: Lookup<Retarget>,
    pub chart: Lookup<PublishedChart>,
    /// `None` when the GitHub release is not to be checked.
    pub github_release: Option<Lookup<PublishedRelease>>,
    /// `docker run … --version` output; `None` without `--run`.
    pub run_output: Option<Lookup<String>>,
    /// What gh said of the image's and the chart's provenance; `None` when not asked.
    pub provenance: Option<provenance::Answers>,
}
