//! The release plan: from a tag and the facts read from the repository, everything CI will
//! publish for it and the ordered steps that do it.
//!
//! This is pure: the shell layer gathers a [`RepoState`], [`plan_release`] turns it into a
//! [`Plan`], and the same `Plan` is either printed (`release plan`, every dry run) or carried
//! out (`release publish`, `release github`). So a dry run cannot drift from the real run.

use std::fmt;

use semver::Version;

use crate::core::chart::ChartVersions;
use crate::core::config::{Config, ImageBuilder, Platform};
use crate::core::json::Json;
use crate::core::tag::{self, Classified, ReleaseTag, TagKind};

/// Where packaged charts are written before they are pushed.
pub const CHART_DIST_DIR: &str = "dist/charts";

/// What the shell layer read from the repository for one tag.
#[derive(Debug, Clone, Default)]
pub struct RepoState {
    /// The commit the tag peels to, or HEAD when the tag does not exist yet.
    pub commit: String,
    pub tag_exists: bool,
    /// Every tag name in the repository; names outside the grammar are skipped.
    pub tags: Vec<String>,
    /// Whether `commit` is reachable from `<remote>/<default-branch>`.
    pub on_default_branch: bool,
    pub chart: ChartFacts,
}

/// What the plan needs to know about the chart directory.
#[derive(Debug, Clone, Default)]
pub struct ChartFacts {
    /// `name` from `Chart.yaml`.
    pub name: String,
    pub has_dependencies: bool,
    /// `ci/*-values.yaml` files, relative to the repository root, sorted.
    pub ci_values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub tag: ReleaseTag,
    pub commit: String,
    /// False when the tag does not exist yet and the plan is for HEAD.
    pub tag_exists: bool,
    pub image: Option<ImagePlan>,
    pub chart: Option<ChartPlan>,
    pub github_release: Option<GithubRelease>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePlan {
    pub repository: String,
    pub platforms: Vec<Platform>,
    pub tags: ImageTags,
}

/// The tags one release puts on its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTags {
    /// `vX.Y.Z`: immutable.
    pub version: String,
    /// `sha-` and the first 7 hex digits of the commit: immutable.
    pub sha: String,
    /// `X.Y`, when this is the highest patch of its minor line.
    pub minor: Option<String>,
    /// Whether `latest` moves to this release.
    pub latest: bool,
    /// Why a moving tag was left alone, for people reading the plan.
    pub notes: Vec<String>,
}

impl ImageTags {
    /// Pushed first, with the build: they never move.
    pub fn immutable(&self) -> Vec<&str> {
        vec![self.version.as_str(), self.sha.as_str()]
    }

    /// Pushed last, by digest, once the immutable tags are in place.
    pub fn moving(&self) -> Vec<&str> {
        self.minor
            .iter()
            .map(String::as_str)
            .chain(self.latest.then_some("latest"))
            .collect()
    }

    /// All tags in the contract's order: `vX.Y.Z`, `X.Y`, `sha-…`, `latest`.
    pub fn all(&self) -> Vec<&str> {
        let mut all = vec![self.version.as_str()];
        all.extend(self.minor.as_deref());
        all.push(&self.sha);
        if self.latest {
            all.push("latest");
        }
        all
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartPlan {
    pub name: String,
    /// The chart directory, relative to the repository root.
    pub dir: String,
    pub versions: ChartVersions,
    /// `oci://…` namespace.
    pub registry: String,
}

impl ChartPlan {
    /// `dist/charts/NAME-X.Y.Z.tgz`, the file `helm package` writes.
    pub fn package(&self) -> String {
        format!(
            "{CHART_DIST_DIR}/{}-{}.tgz",
            self.name, self.versions.version
        )
    }

    /// `oci://…/NAME`, what `helm show chart` and `helm pull` take.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.registry, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubRelease {
    pub tag: String,
    pub title: String,
    pub latest: bool,
    /// The previous stable tag by SemVer order; `None` for the first stable release.
    pub notes_start_tag: Option<String>,
}

/// One thing a run does, printed as the command that does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    StampChart {
        dir: String,
        version: Version,
    },
    HelmDependencyBuild {
        dir: String,
    },
    HelmLint {
        dir: String,
    },
    HelmTemplate {
        dir: String,
        values: Option<String>,
        expect_image: Option<String>,
    },
    HelmPackage {
        dir: String,
    },
    HelmPush {
        package: String,
        registry: String,
    },
    HelmShowChart {
        reference: String,
        version: String,
    },
    Dist {
        platforms: Vec<Platform>,
    },
    BuildImage {
        builder: ImageBuilder,
        platforms: Vec<Platform>,
        refs: Vec<String>,
    },
    TagImage {
        builder: ImageBuilder,
        source: String,
        target: String,
    },
    Checks,
    CreateGithubRelease(GithubRelease),
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::StampChart { dir, version } => {
                write!(f, "cargo xtask release stamp {version} --chart {dir}")
            }
            Step::HelmDependencyBuild { dir } => write!(f, "helm dependency build {dir}"),
            Step::HelmLint { dir } => write!(f, "helm lint --strict {dir}"),
            Step::HelmTemplate {
                dir,
                values,
                expect_image,
            } => {
                write!(f, "helm template {dir}")?;
                if let Some(values) = values {
                    write!(f, " --values {values}")?;
                }
                match expect_image {
                    Some(image) => write!(f, "  (expect image {image})"),
                    None => Ok(()),
                }
            }
            Step::HelmPackage { dir } => {
                write!(f, "helm package {dir} --destination {CHART_DIST_DIR}")
            }
            Step::HelmPush { package, registry } => {
                write!(
                    f,
                    "helm push {package} {registry}  (unless this exact chart is already there)"
                )
            }
            Step::HelmShowChart { reference, version } => {
                write!(
                    f,
                    "helm show chart {reference} --version {version}  (read back)"
                )
            }
            Step::Dist { platforms } => {
                write!(f, "cargo xtask dist")?;
                platforms
                    .iter()
                    .try_for_each(|p| write!(f, " --platform {}", p.name()))
            }
            Step::BuildImage {
                builder,
                platforms,
                refs,
            } => {
                let platforms = platforms
                    .iter()
                    .map(Platform::name)
                    .collect::<Vec<_>>()
                    .join(",");
                match builder {
                    ImageBuilder::Docker => {
                        write!(f, "docker buildx build --platform {platforms} --push")?;
                        refs.iter().try_for_each(|r| write!(f, " --tag {r}"))?;
                        write!(f, " .")
                    }
                    ImageBuilder::Buildah => {
                        write!(
                            f,
                            "buildah build --platform {platforms} --manifest <local> .; "
                        )?;
                        write!(f, "buildah manifest push --all <local> ")?;
                        refs.iter().enumerate().try_for_each(|(i, r)| {
                            write!(f, "{}docker://{r}", if i == 0 { "" } else { " and " })
                        })
                    }
                }?;
                write!(f, "  (unless {} already holds this image)", refs[0])
            }
            Step::TagImage {
                builder,
                source,
                target,
            } => match builder {
                ImageBuilder::Docker => {
                    write!(
                        f,
                        "docker buildx imagetools create --tag {target} {source}@<digest>"
                    )
                }
                ImageBuilder::Buildah => {
                    write!(
                        f,
                        "buildah manifest push --all {source}@<digest> docker://{target}"
                    )
                }
            },
            Step::Checks => write!(f, "cargo xtask ci"),
            Step::CreateGithubRelease(release) => {
                write!(
                    f,
                    "gh release create {0} --verify-tag --title {1} --generate-notes",
                    release.tag, release.title
                )?;
                if let Some(start) = &release.notes_start_tag {
                    write!(f, " --notes-start-tag {start}")?;
                }
                write!(
                    f,
                    " --latest={}  (unless the release exists)",
                    release.latest
                )
            }
        }
    }
}

/// Builds the plan for `tag` from the configuration and the repository's state.
pub fn plan_release(tag: &ReleaseTag, config: &Config, repo: &RepoState) -> Plan {
    let mut plan = Plan {
        tag: tag.clone(),
        commit: repo.commit.clone(),
        tag_exists: repo.tag_exists,
        image: None,
        chart: None,
        github_release: None,
        steps: Vec::new(),
    };
    match tag.kind {
        TagKind::Version => {
            let image = ImagePlan {
                repository: config.image.clone(),
                platforms: config.platforms.clone(),
                tags: derive_image_tags(
                    &tag.version,
                    &repo.commit,
                    repo.on_default_branch,
                    &repo.tags,
                ),
            };
            let chart = ChartPlan {
                name: repo.chart.name.clone(),
                dir: config.chart.clone(),
                versions: ChartVersions::for_release(&tag.version),
                registry: config.chart_registry.clone(),
            };
            plan.steps = publish_steps(config, repo, &image, &chart);
            plan.image = Some(image);
            plan.chart = Some(chart);
        }
        TagKind::Stable => {
            let release = derive_github_release(&tag.version, &repo.tags);
            plan.steps = vec![Step::Checks, Step::CreateGithubRelease(release.clone())];
            plan.github_release = Some(release);
        }
    }
    plan
}

fn publish_steps(
    config: &Config,
    repo: &RepoState,
    image: &ImagePlan,
    chart: &ChartPlan,
) -> Vec<Step> {
    let dir = chart.dir.clone();
    let image_ref = |tag: &str| format!("{}:{tag}", image.repository);
    let mut steps = vec![Step::StampChart {
        dir: dir.clone(),
        version: semver_of(&chart.versions),
    }];
    if repo.chart.has_dependencies {
        steps.push(Step::HelmDependencyBuild { dir: dir.clone() });
    }
    steps.push(Step::HelmLint { dir: dir.clone() });
    steps.push(Step::HelmTemplate {
        dir: dir.clone(),
        values: None,
        expect_image: Some(image_ref(&image.tags.version)),
    });
    for values in &repo.chart.ci_values {
        steps.push(Step::HelmTemplate {
            dir: dir.clone(),
            values: Some(values.clone()),
            expect_image: None,
        });
    }
    steps.push(Step::HelmPackage { dir });
    steps.push(Step::HelmPush {
        package: chart.package(),
        registry: chart.registry.clone(),
    });
    steps.push(Step::HelmShowChart {
        reference: chart.reference(),
        version: chart.versions.version.clone(),
    });
    steps.push(Step::Dist {
        platforms: image.platforms.clone(),
    });
    steps.push(Step::BuildImage {
        builder: config.builder,
        platforms: image.platforms.clone(),
        refs: image.tags.immutable().into_iter().map(image_ref).collect(),
    });
    for tag in image.tags.moving() {
        steps.push(Step::TagImage {
            builder: config.builder,
            source: image_ref(&image.tags.version),
            target: image_ref(tag),
        });
    }
    steps
}

fn semver_of(versions: &ChartVersions) -> Version {
    Version::parse(&versions.version).expect("chart versions are built from a semver::Version")
}

/// The versions of every `vX.Y.Z` (or, with `kind` Stable, `vX.Y.Z-stable`) tag among `tags`.
pub fn release_versions<'a>(
    tags: impl IntoIterator<Item = &'a str>,
    kind: TagKind,
) -> Vec<Version> {
    tags.into_iter()
        .filter_map(|name| match tag::classify(name) {
            Ok(Classified::Release(t)) if t.kind == kind => Some(t.version),
            _ => None,
        })
        .collect()
}

/// `X.Y` and `latest` never move backwards: a release takes `X.Y` only as the highest patch
/// of its minor line, and `latest` only as the highest version overall, built from the
/// default branch. A backport (v1.2.9 after v1.3.0) keeps `1.2` and leaves `latest` alone.
pub fn derive_image_tags(
    version: &Version,
    commit: &str,
    on_default_branch: bool,
    tags: &[String],
) -> ImageTags {
    let versions = release_versions(tags.iter().map(String::as_str), TagKind::Version);
    let mut notes = Vec::new();

    let newer_in_line = versions
        .iter()
        .filter(|v| v.major == version.major && v.minor == version.minor && *v > version)
        .max();
    let minor = match newer_in_line {
        None => Some(format!("{}.{}", version.major, version.minor)),
        Some(newer) => {
            notes.push(format!(
                "{}.{} stays with v{newer}, a newer patch",
                version.major, version.minor
            ));
            None
        }
    };

    let highest = versions.iter().filter(|v| *v > version).max();
    let latest = match (highest, on_default_branch) {
        (None, true) => true,
        (Some(newer), _) => {
            notes.push(format!("latest stays with v{newer}, a newer version"));
            false
        }
        (None, false) => {
            notes.push("latest is not moved: the commit is not on the default branch".to_string());
            false
        }
    };

    let short: String = commit.chars().take(7).collect();
    ImageTags {
        version: tag::version_tag(version),
        sha: format!("sha-{short}"),
        minor,
        latest,
        notes,
    }
}

/// The GitHub release of a stable tag: notes since the previous stable release by SemVer
/// order, and Latest only for the highest stable version (promoting an old line's patch
/// must not take Latest from the current one).
pub fn derive_github_release(version: &Version, tags: &[String]) -> GithubRelease {
    let stables = release_versions(tags.iter().map(String::as_str), TagKind::Stable);
    let previous = stables.iter().filter(|v| *v < version).max();
    let latest = stables.iter().all(|v| v <= version);
    let name = tag::stable_tag(version);
    GithubRelease {
        tag: name.clone(),
        title: name,
        latest,
        notes_start_tag: previous.map(tag::stable_tag),
    }
}

impl Plan {
    /// The plan as people read it; also the dry run of every command that carries it out.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!(
            "release plan for {} ({} tag)",
            self.tag,
            self.tag.kind_name()
        ));
        if self.tag_exists {
            line(format!("commit: {}", self.commit));
        } else {
            line(format!(
                "commit: {} (HEAD; {} does not exist yet)",
                self.commit, self.tag
            ));
        }
        if let Some(image) = &self.image {
            line(format!("image: {}", image.repository));
            line(format!(
                "  platforms: {}",
                image
                    .platforms
                    .iter()
                    .map(Platform::name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            for tag in image.tags.all() {
                line(format!("  tag: {}:{tag}", image.repository));
            }
            for note in &image.tags.notes {
                line(format!("  note: {note}"));
            }
        }
        if let Some(chart) = &self.chart {
            line(format!("chart: {} ({})", chart.name, chart.dir));
            line(format!("  version: {}", chart.versions.version));
            line(format!("  appVersion: {}", chart.versions.app_version));
            line(format!("  registry: {}", chart.registry));
        }
        if self.image.is_none() && self.chart.is_none() {
            line("image and chart: none (stable tags never republish artifacts)".to_string());
        }
        if let Some(release) = &self.github_release {
            line(format!("github release: {}", release.tag));
            line(format!("  title: {}", release.title));
            let start = release
                .notes_start_tag
                .as_deref()
                .unwrap_or("the first commit");
            line(format!("  notes: generated since {start}"));
            line(format!(
                "  latest: {}",
                if release.latest {
                    "yes"
                } else {
                    "no (a higher stable release exists)"
                }
            ));
        }
        line("steps:".to_string());
        for (i, step) in self.steps.iter().enumerate() {
            line(format!("  {}. {step}", i + 1));
        }
        out
    }

    pub fn to_json(&self) -> Json {
        let image = self.image.as_ref().map_or(Json::Null, |image| {
            Json::object([
                ("repository", Json::from(image.repository.as_str())),
                (
                    "tags",
                    Json::array(
                        image
                            .tags
                            .all()
                            .iter()
                            .map(|t| Json::from(format!("{}:{t}", image.repository))),
                    ),
                ),
                (
                    "platforms",
                    Json::array(image.platforms.iter().map(|p| Json::from(p.name()))),
                ),
            ])
        });
        let chart = self.chart.as_ref().map_or(Json::Null, |chart| {
            Json::object([
                ("name", Json::from(chart.name.as_str())),
                ("version", Json::from(chart.versions.version.as_str())),
                (
                    "app_version",
                    Json::from(chart.versions.app_version.as_str()),
                ),
                ("registry", Json::from(chart.registry.as_str())),
            ])
        });
        let release = self.github_release.as_ref().map_or(Json::Null, |release| {
            Json::object([
                ("create", Json::Bool(true)),
                ("title", Json::from(release.title.as_str())),
                ("latest", Json::Bool(release.latest)),
                (
                    "notes_start_tag",
                    release
                        .notes_start_tag
                        .as_deref()
                        .map_or(Json::Null, Json::from),
                ),
            ])
        });
        Json::object([
            ("tag", Json::from(self.tag.name())),
            ("kind", Json::from(self.tag.kind_name())),
            ("version", Json::from(self.tag.version.to_string())),
            ("commit", Json::from(self.commit.as_str())),
            ("image", image),
            ("chart", chart),
            ("github_release", release),
            (
                "steps",
                Json::array(self.steps.iter().map(|s| Json::from(s.to_string()))),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    fn tags(names: &str) -> Vec<String> {
        names.split_whitespace().map(str::to_string).collect()
    }

    /// `expected` lists the image tags, then `|` and the notes, if any.
    #[track_caller]
    fn check_image_tags(version: &str, on_default_branch: bool, existing: &str, expected: &str) {
        let derived = derive_image_tags(
            &Version::parse(version).unwrap(),
            COMMIT,
            on_default_branch,
            &tags(existing),
        );
        let mut actual = derived.all().join(" ");
        if !derived.notes.is_empty() {
            actual = format!("{actual} | {}", derived.notes.join("; "));
        }
        assert_eq!(actual, expected);
    }

    #[test]
    fn first_release_takes_every_tag() {
        check_image_tags("1.2.3", true, "", "v1.2.3 1.2 sha-0123456 latest");
        check_image_tags("0.1.0", true, "", "v0.1.0 0.1 sha-0123456 latest");
        check_image_tags("0.0.1", true, "v0.0.1", "v0.0.1 0.0 sha-0123456 latest");
    }

    #[test]
    fn newest_release_moves_the_moving_tags() {
        check_image_tags(
            "1.3.0",
            true,
            "v1.2.3 v1.2.3-stable v1.3.0",
            "v1.3.0 1.3 sha-0123456 latest",
        );
        check_image_tags(
            "2.0.0",
            true,
            "v1.9.9 v10.0.0-stable",
            "v2.0.0 2.0 sha-0123456 latest",
        );
        check_image_tags("1.10.0", true, "v1.9.0", "v1.10.0 1.10 sha-0123456 latest");
    }

    #[test]
    fn backport_keeps_its_line_but_not_latest() {
        check_image_tags(
            "1.2.9",
            false,
            "v1.2.8 v1.3.0",
            "v1.2.9 1.2 sha-0123456 | latest stays with v1.3.0, a newer version",
        );
        check_image_tags(
            "1.2.9",
            true,
            "v1.2.8 v1.3.0",
            "v1.2.9 1.2 sha-0123456 | latest stays with v1.3.0, a newer version",
        );
    }

    #[test]
    fn older_patch_never_takes_its_line_back() {
        check_image_tags(
            "1.2.9",
            true,
            "v1.2.10 v1.3.0",
            "v1.2.9 sha-0123456 | 1.2 stays with v1.2.10, a newer patch; latest stays with v1.3.0, a newer version",
        );
        check_image_tags(
            "0.3.1",
            true,
            "v0.3.2",
            "v0.3.1 sha-0123456 | 0.3 stays with v0.3.2, a newer patch; latest stays with v0.3.2, a newer version",
        );
    }

    #[test]
    fn highest_release_off_the_default_branch_is_not_latest() {
        check_image_tags(
            "1.4.0",
            false,
            "v1.3.0",
            "v1.4.0 1.4 sha-0123456 | latest is not moved: the commit is not on the default branch",
        );
    }

    #[test]
    fn only_valid_version_tags_count() {
        check_image_tags(
            "1.2.3",
            true,
            "v9.9.9-rc1 v09.0.0 v9.9 V9.9.9 9.9.9 v9.9.9-stable",
            "v1.2.3 1.2 sha-0123456 latest",
        );
    }

    #[test]
    fn several_tags_on_one_commit() {
        // The commit decides `sha-…`; versions decide the moving tags, whatever they point at.
        check_image_tags(
            "1.2.4",
            true,
            "v1.2.3 v1.2.4 v1.2.4-stable",
            "v1.2.4 1.2 sha-0123456 latest",
        );
    }

    #[track_caller]
    fn check_release(version: &str, existing: &str, latest: bool, start: Option<&str>) {
        let release = derive_github_release(&Version::parse(version).unwrap(), &tags(existing));
        assert_eq!(release.tag, format!("v{version}-stable"));
        assert_eq!(release.title, release.tag);
        assert_eq!(
            (release.latest, release.notes_start_tag.as_deref()),
            (latest, start)
        );
    }

    #[test]
    fn github_release_notes_start_at_the_previous_stable_by_semver() {
        check_release("1.0.0", "v1.0.0", true, None);
        check_release(
            "1.2.0",
            "v1.0.0-stable v1.1.0 v1.10.0 v1.2.0",
            true,
            Some("v1.0.0-stable"),
        );
        check_release(
            "1.10.0",
            "v1.9.0-stable v1.2.0-stable",
            true,
            Some("v1.9.0-stable"),
        );
        check_release(
            "1.2.0",
            "v1.2.0-stable v1.1.0-stable",
            true,
            Some("v1.1.0-stable"),
        );
    }

    #[test]
    fn older_line_promotion_is_not_latest() {
        check_release(
            "1.2.9",
            "v1.2.8-stable v1.3.0-stable",
            false,
            Some("v1.2.8-stable"),
        );
        check_release(
            "0.9.0",
            "v1.0.0-stable v0.8.0-stable v0.10.0-stable",
            false,
            Some("v0.8.0-stable"),
        );
    }

    fn config() -> Config {
        let toml = include_str!("../../../Cargo.toml");
        Config::parse(toml, &|_| None).unwrap()
    }

    fn repo(existing: &str) -> RepoState {
        RepoState {
            commit: COMMIT.to_string(),
            tag_exists: true,
            tags: tags(existing),
            on_default_branch: true,
            chart: ChartFacts {
                name: "llm-proxy".into(),
                has_dependencies: false,
                ci_values: vec!["charts/llm-proxy/ci/default-values.yaml".into()],
            },
        }
    }

    #[test]
    fn version_plan_text() {
        let tag = ReleaseTag::version(Version::new(1, 2, 3));
        let plan = plan_release(&tag, &config(), &repo("v1.2.3"));
        assert_eq!(
            plan.render_text(),
            "\
release plan for v1.2.3 (version tag)
commit: 0123456789abcdef0123456789abcdef01234567
image: ghcr.io/sofatutor/llm-proxy
  platforms: linux/amd64, linux/arm64
  tag: ghcr.io/sofatutor/llm-proxy:v1.2.3
  tag: ghcr.io/sofatutor/llm-proxy:1.2
  tag: ghcr.io/sofatutor/llm-proxy:sha-0123456
  tag: ghcr.io/sofatutor/llm-proxy:latest
chart: llm-proxy (charts/llm-proxy)
  version: 1.2.3
  appVersion: v1.2.3
  registry: oci://ghcr.io/sofatutor/charts
steps:
  1. cargo xtask release stamp 1.2.3 --chart charts/llm-proxy
  2. helm lint --strict charts/llm-proxy
  3. helm template charts/llm-proxy  (expect image ghcr.io/sofatutor/llm-proxy:v1.2.3)
  4. helm template charts/llm-proxy --values charts/llm-proxy/ci/default-values.yaml
  5. helm package charts/llm-proxy --destination dist/charts
  6. helm push dist/charts/llm-proxy-1.2.3.tgz oci://ghcr.io/sofatutor/charts  (unless this exact chart is already there)
  7. helm show chart oci://ghcr.io/sofatutor/charts/llm-proxy --version 1.2.3  (read back)
  8. cargo xtask dist --platform linux/amd64 --platform linux/arm64
  9. docker buildx build --platform linux/amd64,linux/arm64 --push --tag ghcr.io/sofatutor/llm-proxy:v1.2.3 --tag ghcr.io/sofatutor/llm-proxy:sha-0123456 .  (unless ghcr.io/sofatutor/llm-proxy:v1.2.3 already holds this image)
  10. docker buildx imagetools create --tag ghcr.io/sofatutor/llm-proxy:1.2 ghcr.io/sofatutor/llm-proxy:v1.2.3@<digest>
  11. docker buildx imagetools create --tag ghcr.io/sofatutor/llm-proxy:latest ghcr.io/sofatutor/llm-proxy:v1.2.3@<digest>
"
        );
    }

    #[test]
    fn stable_plan_publishes_nothing() {
        let tag = ReleaseTag::stable(Version::new(1, 2, 3));
        let mut state = repo("v1.2.3 v1.2.3-stable v1.1.0-stable");
        state.tag_exists = false;
        let plan = plan_release(&tag, &config(), &state);
        assert_eq!((plan.image.as_ref(), plan.chart.as_ref()), (None, None));
        assert_eq!(
            plan.render_text(),
            "\
release plan for v1.2.3-stable (stable tag)
commit: 0123456789abcdef0123456789abcdef01234567 (HEAD; v1.2.3-stable does not exist yet)
image and chart: none (stable tags never republish artifacts)
github release: v1.2.3-stable
  title: v1.2.3-stable
  notes: generated since v1.1.0-stable
  latest: yes
steps:
  1. cargo xtask ci
  2. gh release create v1.2.3-stable --verify-tag --title v1.2.3-stable --generate-notes --notes-start-tag v1.1.0-stable --latest=true  (unless the release exists)
"
        );
    }

    #[test]
    fn json_has_the_documented_keys() {
        let version = plan_release(
            &ReleaseTag::version(Version::new(1, 2, 3)),
            &config(),
            &repo(""),
        )
        .to_json();
        assert_eq!(
            version.to_string(),
            r#"{"tag":"v1.2.3","kind":"version","version":"1.2.3","commit":"0123456789abcdef0123456789abcdef01234567","image":{"repository":"ghcr.io/sofatutor/llm-proxy","tags":["ghcr.io/sofatutor/llm-proxy:v1.2.3","ghcr.io/sofatutor/llm-proxy:1.2","ghcr.io/sofatutor/llm-proxy:sha-0123456","ghcr.io/sofatutor/llm-proxy:latest"],"platforms":["linux/amd64","linux/arm64"]},"chart":{"name":"llm-proxy","version":"1.2.3","app_version":"v1.2.3","registry":"oci://ghcr.io/sofatutor/charts"},"github_release":null,"steps":["#.to_string()
                + &plan_release(&ReleaseTag::version(Version::new(1, 2, 3)), &config(), &repo(""))
                    .steps
                    .iter()
                    .map(|s| Json::from(s.to_string()).to_string())
                    .collect::<Vec<_>>()
                    .join(",")
                + "]}"
        );
        let stable = plan_release(
            &ReleaseTag::stable(Version::new(1, 0, 0)),
            &config(),
            &repo(""),
        )
        .to_json();
        assert!(stable.to_string().contains(
            r#""image":null,"chart":null,"github_release":{"create":true,"title":"v1.0.0-stable","latest":true,"notes_start_tag":null}"#
        ));
    }

    #[test]
    fn chart_dependencies_and_builder_shape_the_steps() {
        let mut state = repo("");
        state.chart.has_dependencies = true;
        let mut config = config();
        config.builder = ImageBuilder::Buildah;
        config.platforms.truncate(1);
        let plan = plan_release(&ReleaseTag::version(Version::new(0, 1, 0)), &config, &state);
        let steps: Vec<String> = plan.steps.iter().map(Step::to_string).collect();
        assert_eq!(steps[1], "helm dependency build charts/llm-proxy");
        assert!(
            steps
                .iter()
                .any(|s| s.starts_with("buildah build --platform linux/amd64 --manifest")),
            "{steps:#?}"
        );
    }
}
