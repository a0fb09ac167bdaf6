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
    /// Each platform (`os/arch`) with the digest of its manifest, in index order. Attestations
    /// are not platforms (`registry::oci` leaves them out); an image that is no index has none.
    pub manifests: Vec<(String, String)>,
    /// Each platform with its `org.opencontainers.image.revision` label (missing: no label).
    pub revisions: Vec<(String, Lookup<String>)>,
}

/// A chart as its package's Chart.yaml and `helm template` report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedChart {
    /// The digest of the chart's manifest in the registry.
    pub digest: String,
    pub version: String,
    pub app_version: String,
    /// Every container image of the default render, init containers included.
    pub images: Vec<String>,
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
    /// The chart's name, from `Chart.yaml`: the record names the chart by it.
    pub chart_name: String,
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
