//! The vocabulary that the rooms share and that imports none of them: the answer to a
//! question about the world ([`Lookup`]), one verification [`Check`] and what it is about
//! ([`CheckId`]), the verdict of a [`Gate`], and which [`Artifact`] a step or a login is
//! about.

/// The answer to one question about the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    Found(T),
    Missing,
    /// The question could not be asked (registry down, auth refused, …): the message says why.
    Unknown(String),
}

impl<T> Lookup<T> {
    /// What was found, if it was.
    pub fn found(&self) -> Option<&T> {
        match self {
            Lookup::Found(found) => Some(found),
            _ => None,
        }
    }

    /// Why the question could not be asked, if it could not.
    pub fn unknown(&self) -> Option<&str> {
        match self {
            Lookup::Unknown(why) => Some(why),
            _ => None,
        }
    }
}

/// One check's identity: what it is about. Code tells checks apart by this, never by the name
/// it prints; its `Display` is that name, as `release verify` prints it and `--json` writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckId {
    /// `tag vX.Y.Z` on the remote.
    VersionTag(String),
    /// `tag vX.Y.Z-stable` on the commit of `vX.Y.Z`.
    StableTag(String),
    /// The image index under `vX.Y.Z` (`REPOSITORY:vX.Y.Z`) and its platforms.
    Image(String),
    /// The same index under another of the release's tags (`REPOSITORY:TAG`).
    ImageTag(String),
    /// Every platform's `org.opencontainers.image.revision` label.
    ImageRevision,
    /// `docker run IMAGE --version` (`REPOSITORY:vX.Y.Z`).
    ImageRuns(String),
    /// The chart `X.Y.Z` in its registry.
    Chart(String),
    ChartVersion,
    ChartAppVersion,
    /// Every image the chart's default render runs.
    ChartImages,
    /// The provenance of the `image` or the `chart`, by one rule.
    Provenance(&'static str, ProvenanceRule),
    /// The GitHub release of `vX.Y.Z-stable`.
    GithubRelease(String),
    GithubTitle,
    GithubNotes,
    GithubRecord,
}

/// The rules of an artifact's provenance, each its own check once gh verified an attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvenanceRule {
    /// Whether gh verified an attestation at all.
    Attested,
    Signer,
    Workflow,
    /// The run was for the tag of the version gated.
    Ref,
    Commit,
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckId::VersionTag(tag) | CheckId::StableTag(tag) => write!(f, "tag {tag}"),
            CheckId::Image(image) | CheckId::ImageTag(image) => write!(f, "image {image}"),
            CheckId::ImageRevision => f.write_str("image revision label"),
            CheckId::ImageRuns(image) => write!(f, "image {image} runs"),
            CheckId::Chart(version) => write!(f, "chart {version}"),
            CheckId::ChartVersion => f.write_str("chart version"),
            CheckId::ChartAppVersion => f.write_str("chart appVersion"),
            CheckId::ChartImages => f.write_str("chart default image"),
            CheckId::Provenance(what, rule) => {
                let rule = match rule {
                    ProvenanceRule::Attested => "",
                    ProvenanceRule::Signer => " signer",
                    ProvenanceRule::Workflow => " workflow",
                    ProvenanceRule::Ref => " ref",
                    ProvenanceRule::Commit => " commit",
                };
                write!(f, "{what} provenance{rule}")
            }
            CheckId::GithubRelease(tag) => write!(f, "github release {tag}"),
            CheckId::GithubTitle => f.write_str("github release title"),
            CheckId::GithubNotes => f.write_str("github release notes"),
            CheckId::GithubRecord => f.write_str("github release record"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub id: CheckId,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    pub fn new(id: CheckId, ok: bool, detail: impl Into<String>) -> Check {
        Check {
            id,
            ok,
            detail: detail.into(),
        }
    }

    pub fn unknown(id: CheckId, why: &str) -> Check {
        Check::new(id, false, format!("unknown: {why}"))
    }
}

/// What the promotion gate found: the artifact checks (`release verify X.Y.Z
/// --artifacts-only`) that a stable tag and its GitHub release must pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Not run: `--no-verify`.
    Skipped,
    /// Not run: the version tag is not on the remote, a problem reported on its own.
    NotAsked,
    /// Each failing check as `name: detail`; none when the artifacts verify.
    Checked(Vec<String>),
    /// The image or the chart of the version is simply not there yet (its publishing
    /// workflows may still run): what is missing, e.g. `the image v1.2.3`.
    NotPublished(Vec<String>),
    /// The gate could not run at all (a tool missing, the scratch directory): why.
    Failed(String),
}

impl Gate {
    /// The gate's verdict from every artifact check.
    pub fn from_checks(checks: &[Check]) -> Gate {
        Gate::Checked(
            checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| format!("{}: {}", c.id, c.detail))
                .collect(),
        )
    }

    /// The problem that stops an approval, if any; `what` names the version checked.
    pub fn problem(&self, what: &str) -> Option<String> {
        match self {
            Gate::Skipped | Gate::NotAsked => None,
            Gate::Checked(failing) if failing.is_empty() => None,
            Gate::Checked(failing) => Some(format!(
                "the published artifacts of {what} do not verify (the promotion gate):\n      - {}\n    fix the release (`cargo xtask release verify {} --artifacts-only` shows every check)",
                failing.join("\n      - "),
                what.trim_start_matches('v')
            )),
            Gate::NotPublished(missing) => Some(format!(
                "{what} is not published yet: {} {} not in the registry; wait for the docker/helm-publish workflows of {what} (or run `cargo xtask release status {}`)",
                missing.join(" and "),
                if missing.len() == 1 { "is" } else { "are" },
                what.trim_start_matches('v')
            )),
            Gate::Failed(why) => Some(format!(
                "the promotion gate could not check the published artifacts of {what}: {why}"
            )),
        }
    }
}

/// Which artifact a step makes, for `release publish --only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Artifact {
    Chart,
    Image,
}
