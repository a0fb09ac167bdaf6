//! The release plan: from a tag and the facts read from the repository, everything CI will
//! publish for it and the ordered steps that do it.
//!
//! This is pure: the shell layer gathers a [`RepoState`], [`plan_release`] turns it into a
//! [`Plan`], and the same `Plan` is either printed (`release plan`, every dry run) or carried
//! out (`release publish`, `release github`). So a dry run cannot drift from the real run.

use std::fmt;

use semver::Version;

use crate::check::Artifact;
use crate::config::{Config, ImageBuilder, Platform, REGISTRY_PASSWORD_VAR};
use crate::invocation::Invocation;
use crate::json::Json;
use crate::publish::chart::ChartVersions;
use crate::publish::rules::{self, GithubRelease, ImageTags};
use crate::tag::grammar::{self, ReleaseTag, TagKind};

/// Where each render of the chart is kept for validation.
pub const MANIFESTS_DIR: &str = "dist/manifests";

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub tag: ReleaseTag,
    pub commit: String,
    /// False when the tag does not exist yet and the plan is for HEAD.
    pub tag_exists: bool,
    pub image: Option<ImagePlan>,
    pub chart: Option<ChartPlan>,
    pub github_release: Option<GithubRelease>,
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

/// Where `release publish` writes the image it built, as an OCI layout, before pushing it.
pub const IMAGE_LAYOUT_DIR: &str = "dist/image";

/// buildah's own storage inside the repository's `target/`: `vfs` works everywhere without
/// fuse or privileges, and a private root cannot clash with a user's storage configuration.
pub const BUILDAH_STORAGE: [&str; 6] = [
    "--root",
    "target/buildah/root",
    "--runroot",
    "target/buildah/run",
    "--storage-driver",
    "vfs",
];

/// What a release binary says about itself (`llm-proxy --version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryStamp {
    /// `vX.Y.Z`.
    pub version: String,
    pub commit: String,
}

/// The one `cargo build` that cross-compiles the release binary for every platform, in
/// parallel, stamped with `stamp`. A target for another architecture than the host's
/// (`host_arch`, Rust's name) needs a linker: `rust-lld` ships with every Rust toolchain and
/// links static musl binaries by itself; a linker the user configured (`has_linker` says
/// whether `CARGO_TARGET_<TRIPLE>_LINKER` is set) wins.
pub fn dist_build(
    platforms: &[Platform],
    stamp: &BinaryStamp,
    host_arch: &str,
    has_linker: &dyn Fn(&str) -> bool,
) -> Invocation {
    let mut args = vec!["build", "--release", "--locked", "--package", "llm-proxy"];
    for platform in platforms {
        args.extend(["--target", platform.rust_target()]);
    }
    let mut cmd = Invocation::new("cargo", args)
        .env("LLM_PROXY_VERSION", &stamp.version)
        .env("LLM_PROXY_COMMIT", &stamp.commit);
    for target in platforms.iter().map(Platform::rust_target) {
        let var = format!(
            "CARGO_TARGET_{}_LINKER",
            target.to_uppercase().replace('-', "_")
        );
        if !target.starts_with(host_arch) && !has_linker(&var) {
            cmd = cmd.env(&var, "rust-lld");
        }
    }
    cmd
}

/// How the image is built: the same inputs for the local build and the push, so both
/// produce the same image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageBuild {
    pub builder: ImageBuilder,
    pub platforms: Vec<Platform>,
    /// `--build-arg`s of the Dockerfile: the OCI labels' version, revision and source.
    pub build_args: Vec<(String, String)>,
    /// Every timestamp in the image (the commit's time, as `SOURCE_DATE_EPOCH`): rebuilding a
    /// commit then gives the very same image, so a re-run can recognise its own push.
    pub epoch: i64,
    /// buildah's local manifest list.
    pub local_name: String,
    /// The buildx builder (the docker builder only).
    pub docker_builder: String,
}

/// The BuildKit that builds and re-tags images with the docker builder, pinned by the digest
/// of its multi-platform index: "the same image" is decided by config digests, which a newer
/// BuildKit can change, so a re-run of a half-published release days later must build with
/// the very same one. Bumping it: docs/release-process.md, "Tool versions".
pub const BUILDKIT_IMAGE: &str =
    "moby/buildkit:v0.32.2@sha256:28a898719c18a33f4e8000685287fa36fd0dd9560c6440227d3a732d79bb41d8";

/// The buildx builder xtask creates and uses, never the user's current one: its name carries
/// the pin, so a new pin gets a new builder, and a builder that reaches a registry on the
/// host's loopback (a rehearsal) runs on the host's network.
pub fn docker_builder(host_network: bool) -> String {
    let digest = BUILDKIT_IMAGE.rsplit(':').next().unwrap_or_default();
    let short: String = digest.chars().take(8).collect();
    let network = if host_network { "-host" } else { "" };
    format!("llm-proxy-buildkit-{short}{network}")
}

/// The tools `release publish` logs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginTool {
    Helm,
    Docker,
    Buildah,
}

/// One thing a run does, printed as the command that does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishStep {
    StampChart {
        dir: String,
        version: Version,
    },
    /// Point the chart's default image at the configured repository (a rehearsal against
    /// another registry); planned only when `values.yaml` names a different one.
    SetChartImage {
        dir: String,
        repository: String,
    },
    HelmDependencyBuild {
        dir: String,
    },
    HelmLint {
        dir: String,
    },
    /// `helm template`, its output kept in `output` for the validation that follows.
    HelmTemplate {
        dir: String,
        values: Option<String>,
        expect_image: Option<String>,
        output: String,
    },
    /// The rendered manifests against Kubernetes' own schemas, for each version the chart's
    /// `kubeVersion` admits, offline.
    ValidateManifests {
        files: Vec<String>,
        versions: Vec<String>,
    },
    HelmPackage {
        dir: String,
    },
    Dist {
        platforms: Vec<Platform>,
        stamp: BinaryStamp,
    },
    /// Create the buildx builder [`docker_builder`] runs on [`BUILDKIT_IMAGE`], unless it
    /// exists (the docker builder only).
    DockerBuilder {
        name: String,
        host_network: bool,
    },
    /// Build the image for every platform into [`IMAGE_LAYOUT_DIR`].
    BuildImage(ImageBuild),
    /// Log `tool` in to `host`; the password comes from `RELEASE_REGISTRY_PASSWORD` on stdin.
    Login {
        tool: LoginTool,
        host: String,
        user: String,
        plain_http: bool,
    },
    /// Push the image under its version tag, unless that tag already holds it.
    PushImage {
        build: ImageBuild,
        target: String,
        plain_http: bool,
    },
    /// Point `repository:tag` at the digest `source` holds.
    TagImage {
        builder: ImageBuilder,
        repository: String,
        tag: String,
        source: String,
        /// `None` for an immutable tag (`sha-…`), which holding another digest is an error;
        /// the release's version for a moving one, which moves only forward of what it holds.
        moving: Option<Version>,
        /// Known once `PushImage` ran; the plan prints `<digest>`.
        digest: Option<String>,
        plain_http: bool,
    },
    /// Wait, at most `wait_secs`, until the chart's image `reference` is in the registry with
    /// every platform: a chart is never published before its image.
    WaitForImage {
        reference: String,
        platforms: Vec<Platform>,
        wait_secs: u64,
    },
    HelmPush {
        package: String,
        registry: String,
        name: String,
        version: String,
        plain_http: bool,
    },
    HelmShowChart {
        reference: String,
        versions: ChartVersions,
        plain_http: bool,
    },
    Checks,
    /// GitHub's generated notes for the release, to which the artifacts record is added.
    GenerateNotes {
        release: GithubRelease,
        repo: String,
    },
    /// The release, with the notes and the record from [`NOTES_FILE`].
    CreateGithubRelease {
        release: GithubRelease,
        repo: String,
    },
}

/// Where `release github` writes the release's body (the generated notes, then the record)
/// for `gh release create --notes-file`.
pub const NOTES_FILE: &str = "dist/github-release.md";

impl PublishStep {
    pub fn artifact(&self) -> Option<Artifact> {
        match self {
            PublishStep::StampChart { .. }
            | PublishStep::SetChartImage { .. }
            | PublishStep::HelmDependencyBuild { .. }
            | PublishStep::HelmLint { .. }
            | PublishStep::HelmTemplate { .. }
            | PublishStep::ValidateManifests { .. }
            | PublishStep::HelmPackage { .. }
            | PublishStep::WaitForImage { .. }
            | PublishStep::HelmPush { .. }
            | PublishStep::HelmShowChart { .. }
            | PublishStep::Login {
                tool: LoginTool::Helm,
                ..
            } => Some(Artifact::Chart),
            PublishStep::Dist { .. }
            | PublishStep::DockerBuilder { .. }
            | PublishStep::BuildImage(_)
            | PublishStep::PushImage { .. }
            | PublishStep::TagImage { .. }
            | PublishStep::Login { .. } => Some(Artifact::Image),
            PublishStep::Checks
            | PublishStep::GenerateNotes { .. }
            | PublishStep::CreateGithubRelease { .. } => None,
        }
    }

    /// Whether the step changes a registry (or the logins used for it): left out by `--no-push`.
    pub fn pushes(&self) -> bool {
        matches!(
            self,
            PublishStep::Login { .. }
                | PublishStep::PushImage { .. }
                | PublishStep::TagImage { .. }
                | PublishStep::WaitForImage { .. }
                | PublishStep::HelmPush { .. }
                | PublishStep::HelmShowChart { .. }
        )
    }

    /// The programs this step runs, checked on `PATH` before anything is changed.
    pub fn tools(&self) -> Vec<&'static str> {
        match self {
            // kubernetes-validate is optional on a laptop: publish's preflight requires it in CI.
            PublishStep::StampChart { .. }
            | PublishStep::SetChartImage { .. }
            | PublishStep::ValidateManifests { .. }
            | PublishStep::Checks => vec![],
            PublishStep::Dist { .. } => vec!["cargo"],
            PublishStep::HelmDependencyBuild { .. }
            | PublishStep::HelmLint { .. }
            | PublishStep::HelmTemplate { .. }
            | PublishStep::HelmPackage { .. }
            | PublishStep::HelmShowChart { .. } => vec!["helm"],
            // `curl` asks the registry whether the version exists; `tar` unpacks both
            // packages to compare their content.
            PublishStep::HelmPush { .. } => vec!["helm", "curl", "tar"],
            PublishStep::WaitForImage { .. } => vec!["curl"],
            PublishStep::Login { tool, .. } => vec![login_program(*tool)],
            PublishStep::BuildImage(build) => vec![builder_program(build.builder)],
            PublishStep::DockerBuilder { .. } => vec!["docker"],
            PublishStep::PushImage { build, .. } => vec![builder_program(build.builder), "curl"],
            PublishStep::TagImage { builder, .. } => match builder {
                ImageBuilder::Docker => vec!["docker", "curl"],
                ImageBuilder::Buildah => vec!["skopeo", "curl"],
            },
            PublishStep::GenerateNotes { .. } | PublishStep::CreateGithubRelease { .. } => {
                vec!["gh"]
            }
        }
    }

    /// The external commands of the step, in order; empty for steps xtask does itself.
    pub fn commands(&self) -> Vec<Invocation> {
        let plain = |flag: &'static str, on: bool| on.then_some(flag);
        match self {
            PublishStep::StampChart { .. }
            | PublishStep::SetChartImage { .. }
            | PublishStep::Dist { .. }
            | PublishStep::WaitForImage { .. }
            | PublishStep::Checks => vec![],
            PublishStep::HelmDependencyBuild { dir } => {
                vec![Invocation::new("helm", ["dependency", "build", dir])]
            }
            PublishStep::HelmLint { dir } => {
                vec![Invocation::new("helm", ["lint", "--strict", dir])]
            }
            PublishStep::HelmTemplate { dir, values, .. } => {
                let mut args = vec!["template".to_string(), dir.clone()];
                if let Some(values) = values {
                    args.extend(["--values".to_string(), values.clone()]);
                }
                vec![Invocation::new("helm", args)]
            }
            // `--quiet` prints only warnings and failures; the step fails on either, since a
            // kind without a schema is only a warning.
            PublishStep::ValidateManifests { files, versions } => {
                let mut args = vec!["--strict".to_string(), "--quiet".into()];
                for version in versions {
                    args.extend(["-k".to_string(), version.clone()]);
                }
                args.extend(files.iter().cloned());
                vec![Invocation::new("kubernetes-validate", args)]
            }
            PublishStep::HelmPackage { dir } => vec![Invocation::new(
                "helm",
                ["package", dir, "--destination", CHART_DIST_DIR],
            )],
            PublishStep::DockerBuilder { name, host_network } => {
                let mut args = vec![
                    "buildx".to_string(),
                    "create".into(),
                    "--name".into(),
                    name.clone(),
                    "--driver".into(),
                    "docker-container".into(),
                    "--driver-opt".into(),
                    format!("image={BUILDKIT_IMAGE}"),
                ];
                if *host_network {
                    args.extend(["--driver-opt".into(), "network=host".into()]);
                }
                args.push("--bootstrap".into());
                vec![Invocation::new("docker", args)]
            }
            PublishStep::BuildImage(build) => match build.builder {
                ImageBuilder::Docker => vec![docker_build(
                    build,
                    &format!("type=oci,dest={IMAGE_LAYOUT_DIR},tar=false,rewrite-timestamp=true"),
                )],
                ImageBuilder::Buildah => {
                    let mut commands: Vec<Invocation> = build
                        .platforms
                        .iter()
                        .map(|platform| {
                            let mut args = buildah_args(["build", "--isolation", "chroot"]);
                            args.extend(["--platform".into(), platform.name()]);
                            args.extend(["--timestamp".into(), build.epoch.to_string()]);
                            args.extend(build_arg_flags(build));
                            args.extend(["--manifest".into(), build.local_name.clone()]);
                            args.push(".".into());
                            Invocation::new("buildah", args)
                        })
                        .collect();
                    let mut export = buildah_args(["manifest", "push", "--all", "--format", "oci"]);
                    export.extend([build.local_name.clone(), format!("oci:{IMAGE_LAYOUT_DIR}")]);
                    commands.push(Invocation::new("buildah", export));
                    commands
                }
            },
            PublishStep::Login {
                tool,
                host,
                user,
                plain_http,
            } => {
                let common = ["--username", user.as_str(), "--password-stdin"];
                let args: Vec<&str> = match tool {
                    LoginTool::Helm => ["registry", "login", host]
                        .into_iter()
                        .chain(common)
                        .chain(plain("--plain-http", *plain_http))
                        .collect(),
                    LoginTool::Docker => {
                        ["login", host.as_str()].into_iter().chain(common).collect()
                    }
                    LoginTool::Buildah => ["login"]
                        .into_iter()
                        .chain(common)
                        .chain(plain("--tls-verify=false", *plain_http))
                        .chain([host.as_str()])
                        .collect(),
                };
                vec![Invocation::new(login_program(*tool), args).stdin_from(REGISTRY_PASSWORD_VAR)]
            }
            PublishStep::PushImage {
                build,
                target,
                plain_http,
            } => match build.builder {
                ImageBuilder::Docker => {
                    let insecure = if *plain_http {
                        ",registry.insecure=true"
                    } else {
                        ""
                    };
                    vec![docker_build(
                        build,
                        &format!(
                            "type=image,name={target},push=true,rewrite-timestamp=true{insecure}"
                        ),
                    )]
                }
                ImageBuilder::Buildah => {
                    let mut args = buildah_args(["manifest", "push", "--all", "--format", "oci"]);
                    args.extend(plain("--tls-verify=false", *plain_http).map(String::from));
                    args.extend([build.local_name.clone(), format!("docker://{target}")]);
                    vec![Invocation::new("buildah", args)]
                }
            },
            PublishStep::TagImage {
                builder,
                repository,
                tag,
                digest,
                plain_http,
                ..
            } => {
                let source = format!("{repository}@{}", digest.as_deref().unwrap_or("<digest>"));
                let target = format!("{repository}:{tag}");
                match builder {
                    ImageBuilder::Docker => vec![Invocation::new(
                        "docker",
                        [
                            "buildx",
                            "imagetools",
                            "create",
                            "--builder",
                            &docker_builder(*plain_http),
                            "--tag",
                            &target,
                            &source,
                        ],
                    )],
                    ImageBuilder::Buildah => {
                        let mut args = vec!["copy", "--all", "--preserve-digests"];
                        if *plain_http {
                            args.extend(["--src-tls-verify=false", "--dest-tls-verify=false"]);
                        }
                        let (source, target) =
                            (format!("docker://{source}"), format!("docker://{target}"));
                        let mut args: Vec<String> = args.into_iter().map(String::from).collect();
                        args.extend([source, target]);
                        vec![Invocation::new("skopeo", args)]
                    }
                }
            }
            PublishStep::HelmPush {
                package,
                registry,
                plain_http,
                ..
            } => {
                let args = ["push", package.as_str(), registry.as_str()]
                    .into_iter()
                    .chain(plain("--plain-http", *plain_http));
                vec![Invocation::new("helm", args)]
            }
            PublishStep::HelmShowChart {
                reference,
                versions,
                plain_http,
            } => {
                let args = ["show", "chart", reference.as_str()]
                    .into_iter()
                    .chain(["--version", versions.version.as_str()])
                    .chain(plain("--plain-http", *plain_http));
                vec![Invocation::new("helm", args)]
            }
            // `gh release create --generate-notes` would put any notes of ours above GitHub's;
            // asking for GitHub's notes first lets the record follow them.
            PublishStep::GenerateNotes { release, repo } => {
                let mut args = vec![
                    "api".to_string(),
                    "--method".into(),
                    "POST".into(),
                    format!("repos/{repo}/releases/generate-notes"),
                    "-f".into(),
                    format!("tag_name={}", release.tag),
                ];
                if let Some(start) = &release.notes_start_tag {
                    args.extend(["-f".into(), format!("previous_tag_name={start}")]);
                }
                args.extend(["--jq".into(), ".body".into()]);
                vec![Invocation::new("gh", args)]
            }
            PublishStep::CreateGithubRelease { release, repo } => {
                let args = [
                    "release".to_string(),
                    "create".into(),
                    release.tag.clone(),
                    "--verify-tag".into(),
                    "--title".into(),
                    release.title.clone(),
                    "--notes-file".into(),
                    NOTES_FILE.into(),
                    format!("--latest={}", release.latest),
                    "--repo".into(),
                    repo.clone(),
                ];
                vec![Invocation::new("gh", args)]
            }
        }
    }
}

fn login_program(tool: LoginTool) -> &'static str {
    match tool {
        LoginTool::Helm => "helm",
        LoginTool::Docker => "docker",
        LoginTool::Buildah => "buildah",
    }
}

fn builder_program(builder: ImageBuilder) -> &'static str {
    match builder {
        ImageBuilder::Docker => "docker",
        ImageBuilder::Buildah => "buildah",
    }
}

fn buildah_args<const N: usize>(rest: [&str; N]) -> Vec<String> {
    BUILDAH_STORAGE
        .iter()
        .chain(rest.iter())
        .map(|s| s.to_string())
        .collect()
}

fn build_arg_flags(build: &ImageBuild) -> Vec<String> {
    build
        .build_args
        .iter()
        .flat_map(|(k, v)| ["--build-arg".to_string(), format!("{k}={v}")])
        .collect()
}

/// `docker buildx build` with one `--output`: the local OCI layout or the registry push.
/// Both get the same inputs; `SOURCE_DATE_EPOCH` with `rewrite-timestamp` makes them the
/// same image.
fn docker_build(build: &ImageBuild, output: &str) -> Invocation {
    let platforms = build
        .platforms
        .iter()
        .map(Platform::name)
        .collect::<Vec<_>>()
        .join(",");
    let mut args = vec![
        "buildx".to_string(),
        "build".into(),
        "--builder".into(),
        build.docker_builder.clone(),
        "--platform".into(),
        platforms,
    ];
    args.extend(build_arg_flags(build));
    args.extend([
        "--build-arg".into(),
        format!("SOURCE_DATE_EPOCH={}", build.epoch),
        "--output".into(),
        output.to_string(),
        ".".into(),
    ]);
    Invocation::new("docker", args)
}

impl fmt::Display for PublishStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishStep::StampChart { dir, version } => {
                return write!(f, "cargo xtask release stamp {version} --chart {dir}");
            }
            PublishStep::SetChartImage { dir, repository } => {
                return write!(f, "set image.repository: {repository} in {dir}/values.yaml");
            }
            PublishStep::Dist { platforms, stamp } => {
                write!(
                    f,
                    "LLM_PROXY_VERSION={} LLM_PROXY_COMMIT={} cargo xtask dist",
                    stamp.version, stamp.commit
                )?;
                return platforms
                    .iter()
                    .try_for_each(|p| write!(f, " --platform {}", p.name()));
            }
            PublishStep::Checks => return write!(f, "cargo xtask ci"),
            PublishStep::WaitForImage {
                reference,
                platforms,
                wait_secs,
            } => {
                let platforms = platforms.iter().map(Platform::name).collect::<Vec<_>>();
                let platforms = platforms.join(", ");
                return match wait_secs {
                    0 => write!(
                        f,
                        "check that {reference} is in the registry for {platforms}  (a chart never goes out before its image; RELEASE_IMAGE_WAIT=SECS waits for it)"
                    ),
                    secs => write!(
                        f,
                        "wait until {reference} is in the registry for {platforms}  (up to {secs}s, RELEASE_IMAGE_WAIT: a chart never goes out before its image)"
                    ),
                };
            }
            _ => {}
        }
        let commands = self.commands();
        for (i, command) in commands.iter().enumerate() {
            if i > 0 {
                f.write_str(" && ")?;
            }
            write!(f, "{command}")?;
        }
        match self {
            PublishStep::HelmTemplate {
                expect_image,
                output,
                ..
            } => match expect_image {
                Some(image) => write!(f, "  (into {output}; expect image {image})"),
                None => write!(f, "  (into {output})"),
            },
            PublishStep::ValidateManifests { .. } => write!(
                f,
                "  (skipped with a notice where kubernetes-validate is missing, refused in CI)"
            ),
            PublishStep::PushImage { target, .. } => {
                write!(f, "  (unless {target} already holds this image)")
            }
            PublishStep::DockerBuilder { name, .. } => {
                write!(f, "  (unless the builder {name} exists)")
            }
            PublishStep::TagImage { source, moving, .. } => {
                let digest = format!("the digest of {source}");
                match moving {
                    None => write!(f, "  ({digest}; unless already there)"),
                    Some(_) => write!(f, "  ({digest}; unless it holds a newer release)"),
                }
            }
            PublishStep::HelmPush { .. } => {
                write!(f, "  (unless this exact chart is already there)")
            }
            PublishStep::HelmShowChart { versions, .. } => write!(
                f,
                "  (read back: version {}, appVersion {})",
                versions.version, versions.app_version
            ),
            PublishStep::GenerateNotes { .. } => {
                write!(
                    f,
                    "  (then the artifacts record below them, into {NOTES_FILE})"
                )
            }
            PublishStep::CreateGithubRelease { .. } => write!(
                f,
                "  (unless the release exists; Latest rechecked against GitHub's releases)"
            ),
            _ => Ok(()),
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
            plan.steps = publish_steps(tag, config, repo, &image, &chart);
            plan.image = Some(image);
            plan.chart = Some(chart);
        }
        TagKind::Stable => {
            let release = rules::github_release(&tag.version, &repo.tags);
            let repo = config.github_repo.clone();
            plan.steps = vec![
                PublishStep::Checks,
                PublishStep::GenerateNotes {
                    release: release.clone(),
                    repo: repo.clone(),
                },
                PublishStep::CreateGithubRelease {
                    release: release.clone(),
                    repo,
                },
            ];
            plan.github_release = Some(release);
        }
    }
    plan
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

    // The chart, validated and packaged.
    let mut steps = vec![PublishStep::StampChart {
        dir: dir.clone(),
        version: semver_of(&chart.versions),
    }];
    if repo
        .chart
        .image_repository
        .as_ref()
        .is_some_and(|r| *r != image.repository)
    {
        steps.push(PublishStep::SetChartImage {
            dir: dir.clone(),
            repository: image.repository.clone(),
        });
    }
    if repo.chart.has_dependencies {
        steps.push(PublishStep::HelmDependencyBuild { dir: dir.clone() });
    }
    steps.push(PublishStep::HelmLint { dir: dir.clone() });
    let rendered = |name: &str| format!("{MANIFESTS_DIR}/{name}.yaml");
    let mut files = vec![rendered("default")];
    steps.push(PublishStep::HelmTemplate {
        dir: dir.clone(),
        values: None,
        expect_image: Some(image_ref(&image.tags.version)),
        output: files[0].clone(),
    });
    for values in &repo.chart.ci_values {
        let name = values.rsplit('/').next().unwrap_or(values);
        let output = rendered(&format!("ci-{}", name.trim_end_matches(".yaml")));
        files.push(output.clone());
        steps.push(PublishStep::HelmTemplate {
            dir: dir.clone(),
            values: Some(values.clone()),
            expect_image: None,
            output,
        });
    }
    steps.push(PublishStep::ValidateManifests {
        files,
        versions: repo.chart.kube_versions.clone(),
    });
    steps.push(PublishStep::HelmPackage { dir });

    // The image, built from binaries cross-compiled on the host.
    steps.push(PublishStep::Dist {
        platforms: image.platforms.clone(),
        stamp: BinaryStamp {
            version: grammar::version_tag(&tag.version),
            commit: repo.commit.clone(),
        },
    });
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
        steps.push(PublishStep::DockerBuilder {
            name: build.docker_builder.clone(),
            host_network: plain_http,
        });
    }
    steps.push(PublishStep::BuildImage(build.clone()));

    // Logins, then the pushes.
    if let Some(user) = &config.registry_user {
        let image_tool = match config.builder {
            ImageBuilder::Docker => LoginTool::Docker,
            ImageBuilder::Buildah => LoginTool::Buildah,
        };
        steps.push(PublishStep::Login {
            tool: image_tool,
            host: config.image_registry().to_string(),
            user: user.clone(),
            plain_http,
        });
        steps.push(PublishStep::Login {
            tool: LoginTool::Helm,
            host: config.chart_registry_host().to_string(),
            user: user.clone(),
            plain_http,
        });
    }
    let source = image_ref(&image.tags.version);
    steps.push(PublishStep::PushImage {
        build,
        target: source.clone(),
        plain_http,
    });
    let immutable = std::iter::once(image.tags.sha.as_str()).map(|t| (t, None));
    let moving = (image.tags.moving().into_iter()).map(|t| (t, Some(tag.version.clone())));
    for (name, moving) in immutable.chain(moving) {
        steps.push(PublishStep::TagImage {
            builder: config.builder,
            repository: image.repository.clone(),
            tag: name.to_string(),
            source: source.clone(),
            moving,
            digest: None,
            plain_http,
        });
    }
    steps.push(PublishStep::WaitForImage {
        reference: image_ref(&image.tags.version),
        platforms: image.platforms.clone(),
        wait_secs: config.image_wait_secs,
    });
    steps.push(PublishStep::HelmPush {
        package: chart.package(),
        registry: chart.registry.clone(),
        name: chart.name.clone(),
        version: chart.versions.version.clone(),
        plain_http,
    });
    steps.push(PublishStep::HelmShowChart {
        reference: chart.reference(),
        versions: chart.versions.clone(),
        plain_http,
    });
    steps
}

fn semver_of(versions: &ChartVersions) -> Version {
    Version::parse(&versions.version).expect("chart versions are built from a semver::Version")
}

impl Plan {
    /// The steps `release publish` runs: those of one artifact with `--only`, and without
    /// anything that touches a registry with `--no-push` (what pull requests run).
    pub fn publish_steps(&self, only: Option<Artifact>, push: bool) -> Vec<PublishStep> {
        self.steps
            .iter()
            .filter(|s| only.is_none() || s.artifact() == only)
            .filter(|s| push || !s.pushes())
            .cloned()
            .collect()
    }

    /// The same plan with other steps, to print exactly what a filtered run does.
    pub fn with_steps(&self, steps: Vec<PublishStep>) -> Plan {
        Plan {
            steps,
            ..self.clone()
        }
    }

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
            for note in image.tags.notes() {
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
  2. gh api --method POST repos/sofatutor/llm-proxy/releases/generate-notes -f tag_name=v1.2.3-stable -f previous_tag_name=v1.1.0-stable --jq .body  (then the artifacts record below them, into dist/github-release.md)
  3. gh release create v1.2.3-stable --verify-tag --title v1.2.3-stable --notes-file dist/github-release.md --latest=true --repo sofatutor/llm-proxy  (unless the release exists; Latest rechecked against GitHub's releases)
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
        let plan = plan_release(
            &ReleaseTag::version(Version::new(1, 2, 3)),
            &config(),
            &repo(""),
        );
        assert_eq!(
            step_names(&plan.publish_steps(Some(Artifact::Chart), true)),
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
            step_names(&plan.publish_steps(Some(Artifact::Image), false)),
            [
                "LLM_PROXY_VERSION=v1.2.3 LLM_PROXY_COMMIT=0123456789abcdef0123456789abcdef01234567 cargo",
                "docker buildx create",
                "docker buildx build",
            ]
        );
        assert_eq!(plan.publish_steps(None, true), plan.steps);
        assert!(plan.publish_steps(None, false).iter().all(|s| !s.pushes()));
    }

    #[test]
    fn rehearsal_registry_gets_logins_plain_http_and_the_chart_image() {
        let mut config = config();
        config.image = "127.0.0.1:5000/llm-proxy".into();
        config.chart_registry = "oci://127.0.0.1:5001/charts".into();
        config.plain_http = true;
        config.registry_user = Some("tester".into());
        config.builder = ImageBuilder::Buildah;
        let plan = plan_release(
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
        let chart_logins = plan.publish_steps(Some(Artifact::Chart), true);
        assert_eq!(
            chart_logins
                .iter()
                .filter(|s| matches!(s, PublishStep::Login { .. }))
                .count(),
            1
        );
    }
}
