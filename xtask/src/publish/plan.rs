//! The plan of a version tag: from the tag and the facts read from the repository, the
//! image and the chart CI will publish for it and the ordered steps that do it.
//!
//! This is pure: the shell layer gathers a [`RepoState`], [`plan_publish`] turns it into a
//! [`PublishPlan`], and the same plan is either printed (`release plan`, every dry run) or
//! carried out (`release publish`). So a dry run cannot drift from the real run. A stable
//! tag's plan is `github_release`'s; both start with the same [`Subject`].

use std::fmt::Display;

use crate::check::Artifact;
use crate::config::{Config, ImageBuilder, Platform};
use crate::json::Json;
use crate::publish::chart::ChartVersions;
use crate::publish::rules::{self, ImageTags};
use crate::publish::steps::{
    BinaryStamp, BuildImage, CHART_DIST_DIR, Dist, DockerBuilder, Helm, HelmPush, HelmShowChart,
    HelmTemplate, ImageBuild, Login, LoginTool, MANIFESTS_DIR, PublishStep, PushImage,
    ReleaseImage, SetChartImage, StampChart, TagImage, ValidateManifests, WaitForImage,
    docker_builder,
};
use crate::tag::grammar::{self, ReleaseTag};

/// What the shell layer read from the repository for one tag.
#[derive(Debug, Clone, Default)]
pub struct RepoState {
    /// The commit the tag peels to, or HEAD when the tag does not exist yet.
    pub commit: String,
    pub tag_exists: bool,
    /// Every tag name in the repository; names outside the grammar are skipped.
    pub tags: Vec<String>,
    /// The commit's time in seconds since the epoch: the image's timestamps.
    pub commit_time: i64,
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
    /// `image.repository` in `values.yaml`, when the chart has one.
    pub image_repository: Option<String>,
    /// The Kubernetes versions its manifests are validated against
    /// ([`rules::kube_versions`] of its `kubeVersion`).
    pub kube_versions: Vec<String>,
}

/// What every plan is about: a release tag and the commit it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub tag: ReleaseTag,
    pub commit: String,
    /// False when the tag does not exist yet and the plan is for HEAD.
    pub tag_exists: bool,
}

impl Subject {
    pub fn of(tag: &ReleaseTag, repo: &RepoState) -> Subject {
        Subject {
            tag: tag.clone(),
            commit: repo.commit.clone(),
            tag_exists: repo.tag_exists,
        }
    }

    /// A plan as people read it: the subject, `what` is released, the numbered steps.
    pub fn render(&self, what: &[String], steps: &[impl Display]) -> String {
        let tag = &self.tag;
        let mut lines = vec![format!("release plan for {tag} ({} tag)", tag.kind_name())];
        lines.push(match self.tag_exists {
            true => format!("commit: {}", self.commit),
            false => format!("commit: {} (HEAD; {tag} does not exist yet)", self.commit),
        });
        lines.extend(what.iter().cloned());
        lines.push("steps:".to_string());
        for (i, step) in steps.iter().enumerate() {
            lines.push(format!("  {}. {step}", i + 1));
        }
        lines.iter().map(|line| format!("{line}\n")).collect()
    }

    /// A plan as `release plan --json` prints it, `null` for what it does not release.
    pub fn to_json(&self, image: Json, chart: Json, release: Json, steps: &[impl Display]) -> Json {
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
                Json::array(steps.iter().map(|s| Json::from(s.to_string()))),
            ),
        ])
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishPlan {
    pub subject: Subject,
    pub image: ImagePlan,
    pub chart: ChartPlan,
    pub steps: Vec<PublishStep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePlan {
    pub repository: String,
    pub platforms: Vec<Platform>,
    pub tags: ImageTags,
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

/// The plan of the version tag `tag` from the configuration and the repository's state.
pub fn plan_publish(tag: &ReleaseTag, config: &Config, repo: &RepoState) -> PublishPlan {
    let image = ImagePlan {
        repository: config.image.clone(),
        platforms: config.platforms.clone(),
        tags: rules::image_tags(
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
    PublishPlan {
        subject: Subject::of(tag, repo),
        steps: publish_steps(tag, config, repo, &image, &chart),
        image,
        chart,
    }
}

/// The order is the contract: validate the chart first (cheap, catches most mistakes), then
/// build and push the image, and push the chart last, so that a published chart's default
/// image always exists. Immutable image tags are written before the moving ones.
fn publish_steps(
    tag: &ReleaseTag,
    config: &Config,
    repo: &RepoState,
    image: &ImagePlan,
    chart: &ChartPlan,
) -> Vec<PublishStep> {
    let dir = chart.dir.clone();
    let image_ref = |tag: &str| format!("{}:{tag}", image.repository);
    let plain_http = config.plain_http;
    let mut steps: Vec<PublishStep> = Vec::new();
    let mut add = |step: PublishStep| steps.push(step);

    // The chart, validated and packaged.
    add(StampChart {
        dir: dir.clone(),
        version: tag.version.clone(),
    }
    .into());
    let repository = &image.repository;
    if (repo.chart.image_repository.as_ref()).is_some_and(|r| r != repository) {
        let repository = repository.clone();
        add(SetChartImage {
            dir: dir.clone(),
            repository,
        }
        .into());
    }
    if repo.chart.has_dependencies {
        add(Helm::new(["dependency", "build", &dir]).into());
    }
    add(Helm::new(["lint", "--strict", &dir]).into());
    let rendered = |name: &str| format!("{MANIFESTS_DIR}/{name}.yaml");
    let mut files = vec![rendered("default")];
    add(HelmTemplate {
        dir: dir.clone(),
        values: None,
        expect_image: Some(ReleaseImage {
            repository: image.repository.clone(),
            tag: image.tags.version.clone(),
        }),
        output: files[0].clone(),
    }
    .into());
    for values in &repo.chart.ci_values {
        let name = values.rsplit('/').next().unwrap_or(values);
        let output = rendered(&format!("ci-{}", name.trim_end_matches(".yaml")));
        files.push(output.clone());
        add(HelmTemplate {
            dir: dir.clone(),
            values: Some(values.clone()),
            expect_image: None,
            output,
        }
        .into());
    }
    let versions = repo.chart.kube_versions.clone();
    add(ValidateManifests { files, versions }.into());
    add(Helm::new(["package", &dir, "--destination", CHART_DIST_DIR]).into());

    // The image, built from binaries cross-compiled on the host.
    add(Dist {
        platforms: image.platforms.clone(),
        stamp: BinaryStamp {
            version: grammar::version_tag(&tag.version),
            commit: repo.commit.clone(),
        },
    }
    .into());
    let name = image.repository.rsplit('/').next().unwrap_or("image");
    let build = ImageBuild {
        builder: config.builder,
        platforms: image.platforms.clone(),
        build_args: vec![
            ("VERSION".into(), image.tags.version.clone()),
            ("REVISION".into(), repo.commit.clone()),
            (
                "SOURCE".into(),
                format!("https://github.com/{}", config.github_repo),
            ),
        ],
        epoch: repo.commit_time,
        local_name: format!("localhost/{name}-release:{}", image.tags.version),
        docker_builder: docker_builder(plain_http),
    };
    if config.builder == ImageBuilder::Docker {
        let name = build.docker_builder.clone();
        add(DockerBuilder {
            name,
            host_network: plain_http,
        }
        .into());
    }
    add(BuildImage {
        build: build.clone(),
    }
    .into());

    // Logins, then the pushes.
    if let Some(user) = &config.registry_user {
        let image_tool = match config.builder {
            ImageBuilder::Docker => LoginTool::Docker,
            ImageBuilder::Buildah => LoginTool::Buildah,
        };
        let logins = [
            (image_tool, config.image_registry()),
            (LoginTool::Helm, config.chart_registry_host()),
        ];
        for (tool, host) in logins {
            let (host, user) = (host.to_string(), user.clone());
            add(Login {
                tool,
                host,
                user,
                plain_http,
            }
            .into());
        }
    }
    let source = image_ref(&image.tags.version);
    add(PushImage {
        build,
        target: source.clone(),
        plain_http,
    }
    .into());
    let immutable = std::iter::once(image.tags.sha.as_str()).map(|t| (t, None));
    let moving = (image.tags.moving().into_iter()).map(|t| (t, Some(tag.version.clone())));
    for (name, moving) in immutable.chain(moving) {
        add(TagImage {
            builder: config.builder,
            repository: image.repository.clone(),
            tag: name.to_string(),
            source: source.clone(),
            moving,
            digest: None,
            plain_http,
        }
        .into());
    }
    add(WaitForImage {
        reference: image_ref(&image.tags.version),
        platforms: image.platforms.clone(),
        wait_secs: config.image_wait_secs,
    }
    .into());
    add(HelmPush {
        package: chart.package(),
        registry: chart.registry.clone(),
        name: chart.name.clone(),
        version: chart.versions.version.clone(),
        plain_http,
    }
    .into());
    add(HelmShowChart {
        reference: chart.reference(),
        versions: chart.versions.clone(),
        plain_http,
    }
    .into());
    steps
}

impl PublishPlan {
    /// The plan of what `release publish` runs: the steps of one artifact with `--only`, and
    /// without anything that touches a registry with `--no-push` (what pull requests run).
    pub fn select(&self, only: Option<Artifact>, push: bool) -> PublishPlan {
        let steps = (self.steps.iter())
            .filter(|s| only.is_none_or(|only| s.step().artifact() == only))
            .filter(|s| push || !s.step().pushes())
            .cloned()
            .collect();
        PublishPlan {
            steps,
            ..self.clone()
        }
    }

    /// The plan as people read it; also the dry run of `release publish`.
    pub fn render_text(&self) -> String {
        let (image, chart) = (&self.image, &self.chart);
        let platforms: Vec<String> = image.platforms.iter().map(Platform::name).collect();
        let mut what = vec![
            format!("image: {}", image.repository),
            format!("  platforms: {}", platforms.join(", ")),
        ];
        for tag in image.tags.all() {
            what.push(format!("  tag: {}:{tag}", image.repository));
        }
        for note in image.tags.notes() {
            what.push(format!("  note: {note}"));
        }
        what.extend([
            format!("chart: {} ({})", chart.name, chart.dir),
            format!("  version: {}", chart.versions.version),
            format!("  appVersion: {}", chart.versions.app_version),
            format!("  registry: {}", chart.registry),
        ]);
        self.subject.render(&what, &self.steps)
    }

    pub fn to_json(&self) -> Json {
        let (image, chart) = (&self.image, &self.chart);
        let tags = image.tags.all();
        let tags = tags
            .iter()
            .map(|t| Json::from(format!("{}:{t}", image.repository)));
        let platforms = image.platforms.iter().map(|p| Json::from(p.name()));
        let image = Json::object([
            ("repository", Json::from(image.repository.as_str())),
            ("tags", Json::array(tags)),
            ("platforms", Json::array(platforms)),
        ]);
        let versions = &chart.versions;
        let chart = Json::object([
            ("name", Json::from(chart.name.as_str())),
            ("version", Json::from(versions.version.as_str())),
            ("app_version", Json::from(versions.app_version.as_str())),
            ("registry", Json::from(chart.registry.as_str())),
        ]);
        self.subject.to_json(image, chart, Json::Null, &self.steps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::github_release::plan_github;
    use crate::publish::steps::dist_build;
    use semver::Version;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    fn config() -> Config {
        crate::config::example()
    }

    fn tags(names: &str) -> Vec<String> {
        names.split_whitespace().map(str::to_string).collect()
    }

    fn repo(existing: &str) -> RepoState {
        RepoState {
            commit: COMMIT.to_string(),
            commit_time: 1_767_225_600,
            tag_exists: true,
            tags: tags(existing),
            on_default_branch: true,
            chart: ChartFacts {
                name: "llm-proxy".into(),
                has_dependencies: false,
                ci_values: vec!["charts/llm-proxy/ci/default-values.yaml".into()],
                image_repository: Some("ghcr.io/sofatutor/llm-proxy".into()),
                kube_versions: vec!["1.29".into(), "1.30".into()],
            },
        }
    }

    #[test]
    fn version_plan_text() {
        let tag = ReleaseTag::version(Version::new(1, 2, 3));
        let plan = plan_publish(&tag, &config(), &repo("v1.2.3"));
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
  3. helm template charts/llm-proxy  (into dist/manifests/default.yaml; expect image ghcr.io/sofatutor/llm-proxy:v1.2.3)
  4. helm template charts/llm-proxy --values charts/llm-proxy/ci/default-values.yaml  (into dist/manifests/ci-default-values.yaml)
  5. kubernetes-validate --strict --quiet -k 1.29 -k 1.30 dist/manifests/default.yaml dist/manifests/ci-default-values.yaml  (skipped with a notice where kubernetes-validate is missing, refused in CI)
  6. helm package charts/llm-proxy --destination dist/charts
  7. LLM_PROXY_VERSION=v1.2.3 LLM_PROXY_COMMIT=0123456789abcdef0123456789abcdef01234567 cargo xtask dist --platform linux/amd64 --platform linux/arm64
  8. docker buildx create --name llm-proxy-buildkit-28a89871 --driver docker-container --driver-opt image=moby/buildkit:v0.32.2@sha256:28a898719c18a33f4e8000685287fa36fd0dd9560c6440227d3a732d79bb41d8 --bootstrap  (unless the builder llm-proxy-buildkit-28a89871 exists)
  9. docker buildx build --builder llm-proxy-buildkit-28a89871 --platform linux/amd64,linux/arm64 --build-arg VERSION=v1.2.3 --build-arg REVISION=0123456789abcdef0123456789abcdef01234567 --build-arg SOURCE=https://github.com/sofatutor/llm-proxy --build-arg SOURCE_DATE_EPOCH=1767225600 --output type=oci,dest=dist/image,tar=false,rewrite-timestamp=true .
  10. docker buildx build --builder llm-proxy-buildkit-28a89871 --platform linux/amd64,linux/arm64 --build-arg VERSION=v1.2.3 --build-arg REVISION=0123456789abcdef0123456789abcdef01234567 --build-arg SOURCE=https://github.com/sofatutor/llm-proxy --build-arg SOURCE_DATE_EPOCH=1767225600 --output type=image,name=ghcr.io/sofatutor/llm-proxy:v1.2.3,push=true,rewrite-timestamp=true .  (unless ghcr.io/sofatutor/llm-proxy:v1.2.3 already holds this image)
  11. docker buildx imagetools create --builder llm-proxy-buildkit-28a89871 --tag ghcr.io/sofatutor/llm-proxy:sha-0123456 ghcr.io/sofatutor/llm-proxy@<digest>  (the digest of ghcr.io/sofatutor/llm-proxy:v1.2.3; unless already there)
  12. docker buildx imagetools create --builder llm-proxy-buildkit-28a89871 --tag ghcr.io/sofatutor/llm-proxy:1.2 ghcr.io/sofatutor/llm-proxy@<digest>  (the digest of ghcr.io/sofatutor/llm-proxy:v1.2.3; unless it holds a newer release)
  13. docker buildx imagetools create --builder llm-proxy-buildkit-28a89871 --tag ghcr.io/sofatutor/llm-proxy:latest ghcr.io/sofatutor/llm-proxy@<digest>  (the digest of ghcr.io/sofatutor/llm-proxy:v1.2.3; unless it holds a newer release)
  14. check that ghcr.io/sofatutor/llm-proxy:v1.2.3 is in the registry for linux/amd64, linux/arm64  (a chart never goes out before its image; RELEASE_IMAGE_WAIT=SECS waits for it)
  15. helm push dist/charts/llm-proxy-1.2.3.tgz oci://ghcr.io/sofatutor/charts  (unless this exact chart is already there)
  16. helm show chart oci://ghcr.io/sofatutor/charts/llm-proxy --version 1.2.3  (read back: version 1.2.3, appVersion v1.2.3)
"
        );
    }

    #[test]
    fn stable_plan_publishes_nothing() {
        let tag = ReleaseTag::stable(Version::new(1, 2, 3));
        let mut state = repo("v1.2.3 v1.2.3-stable v1.1.0-stable");
        state.tag_exists = false;
        let plan = plan_github(&tag, &config(), &state);
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
  2. gh api --method POST repos/sofatutor/llm-proxy/releases/generate-notes -f tag_name=v1.2.3-stable -f previous_tag_name=v1.1.0-stable --jq .body  (then the artifacts record below them, into dist/github-release.md)
  3. gh release create v1.2.3-stable --verify-tag --title v1.2.3-stable --notes-file dist/github-release.md --latest=true --repo sofatutor/llm-proxy  (a release made by hand is completed instead; Latest rechecked against GitHub's releases)
"
        );
    }

    #[test]
    fn json_has_the_documented_keys() {
        let version = plan_publish(
            &ReleaseTag::version(Version::new(1, 2, 3)),
            &config(),
            &repo(""),
        )
        .to_json();
        assert_eq!(
            version.to_string(),
            r#"{"tag":"v1.2.3","kind":"version","version":"1.2.3","commit":"0123456789abcdef0123456789abcdef01234567","image":{"repository":"ghcr.io/sofatutor/llm-proxy","tags":["ghcr.io/sofatutor/llm-proxy:v1.2.3","ghcr.io/sofatutor/llm-proxy:1.2","ghcr.io/sofatutor/llm-proxy:sha-0123456","ghcr.io/sofatutor/llm-proxy:latest"],"platforms":["linux/amd64","linux/arm64"]},"chart":{"name":"llm-proxy","version":"1.2.3","app_version":"v1.2.3","registry":"oci://ghcr.io/sofatutor/charts"},"github_release":null,"steps":["#.to_string()
                + &plan_publish(&ReleaseTag::version(Version::new(1, 2, 3)), &config(), &repo(""))
                    .steps
                    .iter()
                    .map(|s| Json::from(s.to_string()).to_string())
                    .collect::<Vec<_>>()
                    .join(",")
                + "]}"
        );
        let stable = plan_github(
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
        let plan = plan_publish(&ReleaseTag::version(Version::new(0, 1, 0)), &config, &state);
        let steps: Vec<String> = plan.steps.iter().map(PublishStep::to_string).collect();
        assert_eq!(steps[1], "helm dependency build charts/llm-proxy");
        assert!(
            steps.iter().any(|s| s.starts_with(
                "buildah --root target/buildah/root --runroot target/buildah/run --storage-driver vfs build --isolation chroot --platform linux/amd64 --timestamp 1767225600"
            )),
            "{steps:#?}"
        );
        assert!(
            steps.iter().any(|s| s.starts_with(
                "skopeo copy --all --preserve-digests docker://ghcr.io/sofatutor/llm-proxy@<digest> docker://ghcr.io/sofatutor/llm-proxy:sha-0123456"
            )),
            "{steps:#?}"
        );
    }

    fn step_names(steps: &[PublishStep]) -> Vec<String> {
        steps
            .iter()
            .map(|s| s.to_string().split("  (").next().unwrap().to_string())
            .map(|s| s.split(' ').take(3).collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn dist_builds_every_platform_at_once_and_links_foreign_ones_with_rust_lld() {
        let stamp = BinaryStamp {
            version: "v1.2.3".into(),
            commit: COMMIT.into(),
        };
        let platforms = config().platforms;
        assert_eq!(
            dist_build(&platforms, &stamp, "x86_64", &|_| false).to_string(),
            format!(
                "LLM_PROXY_VERSION=v1.2.3 LLM_PROXY_COMMIT={COMMIT} CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=rust-lld cargo build --release --locked --package llm-proxy --target x86_64-unknown-linux-musl --target aarch64-unknown-linux-musl"
            )
        );
        let on_arm = dist_build(&platforms, &stamp, "aarch64", &|var| var.contains("X86_64"));
        assert!(!on_arm.to_string().contains("LINKER"), "{on_arm}");
    }

    #[test]
    fn only_and_no_push_filter_the_steps() {
        let plan = plan_publish(
            &ReleaseTag::version(Version::new(1, 2, 3)),
            &config(),
            &repo(""),
        );
        assert_eq!(
            step_names(&plan.select(Some(Artifact::Chart), true).steps),
            [
                "cargo xtask release",
                "helm lint --strict",
                "helm template charts/llm-proxy",
                "helm template charts/llm-proxy",
                "kubernetes-validate --strict --quiet",
                "helm package charts/llm-proxy",
                "check that ghcr.io/sofatutor/llm-proxy:v1.2.3",
                "helm push dist/charts/llm-proxy-1.2.3.tgz",
                "helm show chart",
            ]
        );
        assert_eq!(
            step_names(&plan.select(Some(Artifact::Image), false).steps),
            [
                "LLM_PROXY_VERSION=v1.2.3 LLM_PROXY_COMMIT=0123456789abcdef0123456789abcdef01234567 cargo",
                "docker buildx create",
                "docker buildx build",
            ]
        );
        assert_eq!(plan.select(None, true).steps, plan.steps);
        assert!(
            plan.select(None, false)
                .steps
                .iter()
                .all(|s| !s.step().pushes())
        );
    }

    #[test]
    fn rehearsal_registry_gets_logins_plain_http_and_the_chart_image() {
        let mut config = config();
        config.image = "127.0.0.1:5000/llm-proxy".into();
        config.chart_registry = "oci://127.0.0.1:5001/charts".into();
        config.plain_http = true;
        config.registry_user = Some("tester".into());
        config.builder = ImageBuilder::Buildah;
        let plan = plan_publish(
            &ReleaseTag::version(Version::new(1, 2, 3)),
            &config,
            &repo(""),
        );
        let steps: Vec<String> = plan.steps.iter().map(PublishStep::to_string).collect();
        assert_eq!(
            steps[1],
            "set image.repository: 127.0.0.1:5000/llm-proxy in charts/llm-proxy/values.yaml"
        );
        let logins: Vec<&String> = steps.iter().filter(|s| s.contains(" login ")).collect();
        assert_eq!(
            logins,
            [
                "buildah login --username tester --password-stdin --tls-verify=false 127.0.0.1:5000 <<<\"$RELEASE_REGISTRY_PASSWORD\"",
                "helm registry login 127.0.0.1:5001 --username tester --password-stdin --plain-http <<<\"$RELEASE_REGISTRY_PASSWORD\"",
            ]
        );
        for needle in [
            "manifest push --all --format oci --tls-verify=false localhost/llm-proxy-release:v1.2.3 docker://127.0.0.1:5000/llm-proxy:v1.2.3",
            "skopeo copy --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false docker://127.0.0.1:5000/llm-proxy@<digest> docker://127.0.0.1:5000/llm-proxy:latest",
            "helm push dist/charts/llm-proxy-1.2.3.tgz oci://127.0.0.1:5001/charts --plain-http",
            "helm show chart oci://127.0.0.1:5001/charts/llm-proxy --version 1.2.3 --plain-http",
        ] {
            assert!(
                steps.iter().any(|s| s.contains(needle)),
                "{needle} in {steps:#?}"
            );
        }
        let chart_logins = plan.select(Some(Artifact::Chart), true).steps;
        assert_eq!(
            chart_logins
                .iter()
                .filter(|s| matches!(s, PublishStep::Login(_)))
                .count(),
            1
        );
    }
}
