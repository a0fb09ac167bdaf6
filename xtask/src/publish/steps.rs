//! The steps of a publish, as data: one struct per kind of step, each saying which artifact
//! it belongs to, whether it writes to a registry, which programs it needs, and the exact
//! commands it runs, which are also what the plan prints.
//!
//! Each step is its own type so that the shell function carrying it out takes exactly that
//! step (`image_io::push` takes a `&PushImage`); [`PublishStep`] only lists them, in the
//! order of a plan. The GitHub release's steps are another type (`github_release`): a
//! publish cannot be handed one.

use std::fmt;

use semver::Version;

use crate::check::Artifact;
use crate::config::{ImageBuilder, Platform, REGISTRY_PASSWORD_VAR};
use crate::invocation::Invocation;
use crate::publish::chart::ChartVersions;

/// Where each render of the chart is kept for validation.
pub const MANIFESTS_DIR: &str = "dist/manifests";

/// Where packaged charts are written before they are pushed.
pub const CHART_DIST_DIR: &str = "dist/charts";

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

/// What every publish step says about itself.
pub trait Step {
    /// What `--only` selects it by.
    fn artifact(&self) -> Artifact;
    /// Whether the step changes a registry (or the logins used for it): left out by `--no-push`.
    fn pushes(&self) -> bool {
        false
    }
    /// The programs this step runs, checked on `PATH` before anything is changed.
    fn tools(&self) -> Vec<&'static str> {
        Vec::new()
    }
    /// The external commands of the step, in order; empty for steps xtask does itself.
    fn commands(&self) -> Vec<Invocation> {
        Vec::new()
    }
    /// What the commands are conditional on, printed after them.
    fn condition(&self) -> Option<String> {
        None
    }
    /// The step as the plan prints it: its commands exactly as they run.
    fn line(&self) -> String {
        let commands: Vec<String> = self.commands().iter().map(|c| c.to_string()).collect();
        let mut line = commands.join(" && ");
        if let Some(condition) = self.condition() {
            line.push_str(&format!("  ({condition})"));
        }
        line
    }
}

/// Lists the step types as the variants of [`PublishStep`], each under its own name.
macro_rules! publish_steps {
    ($($step:ident),* $(,)?) => {
        /// One thing a publish does, printed as the command that does it.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum PublishStep {
            $($step($step),)*
        }

        impl PublishStep {
            /// The step itself, for what every step says.
            pub fn step(&self) -> &dyn Step {
                match self {
                    $(PublishStep::$step(step) => step,)*
                }
            }
        }

        $(impl From<$step> for PublishStep {
            fn from(step: $step) -> Self {
                PublishStep::$step(step)
            }
        })*
    };
}

publish_steps!(
    StampChart,
    SetChartImage,
    Helm,
    HelmTemplate,
    ValidateManifests,
    Dist,
    DockerBuilder,
    BuildImage,
    Login,
    PushImage,
    TagImage,
    WaitForImage,
    HelmPush,
    HelmShowChart,
);

impl fmt::Display for PublishStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.step().line())
    }
}

/// Write the release's versions into `Chart.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampChart {
    pub dir: String,
    pub version: Version,
}

impl Step for StampChart {
    fn artifact(&self) -> Artifact {
        Artifact::Chart
    }
    fn line(&self) -> String {
        format!(
            "cargo xtask release stamp {} --chart {}",
            self.version, self.dir
        )
    }
}

/// Point the chart's default image at the configured repository (a rehearsal against
/// another registry); planned only when `values.yaml` names a different one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetChartImage {
    pub dir: String,
    pub repository: String,
}

impl Step for SetChartImage {
    fn artifact(&self) -> Artifact {
        Artifact::Chart
    }
    fn line(&self) -> String {
        format!(
            "set image.repository: {} in {}/values.yaml",
            self.repository, self.dir
        )
    }
}

/// One `helm` command on the chart directory that needs nothing but its exit code:
/// `dependency build`, `lint`, `package`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helm {
    pub args: Vec<String>,
}

impl Helm {
    pub fn new<const N: usize>(args: [&str; N]) -> Helm {
        Helm {
            args: args.map(String::from).to_vec(),
        }
    }
}

impl Step for Helm {
    fn artifact(&self) -> Artifact {
        Artifact::Chart
    }
    fn tools(&self) -> Vec<&'static str> {
        vec!["helm"]
    }
    fn commands(&self) -> Vec<Invocation> {
        vec![Invocation::new("helm", &self.args)]
    }
}

/// `helm template`, its output kept in `output` for the validation that follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmTemplate {
    pub dir: String,
    pub values: Option<String>,
    pub expect_image: Option<ReleaseImage>,
    pub output: String,
}

/// The release's own image, `repository:tag`, which every container of the default render
/// must run: decided by `chart::is_release_image`, the rule verify applies to the published
/// chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseImage {
    pub repository: String,
    pub tag: String,
}

impl fmt::Display for ReleaseImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

impl Step for HelmTemplate {
    fn artifact(&self) -> Artifact {
        Artifact::Chart
    }
    fn tools(&self) -> Vec<&'static str> {
        vec!["helm"]
    }
    fn commands(&self) -> Vec<Invocation> {
        let mut args = vec!["template", self.dir.as_str()];
        if let Some(values) = &self.values {
            args.extend(["--values", values]);
        }
        vec![Invocation::new("helm", args)]
    }
    fn condition(&self) -> Option<String> {
        Some(match &self.expect_image {
            Some(image) => format!("into {}; expect image {image}", self.output),
            None => format!("into {}", self.output),
        })
    }
}

/// The rendered manifests against Kubernetes' own schemas, for each version the chart's
/// `kubeVersion` admits, offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidateManifests {
    pub files: Vec<String>,
    pub versions: Vec<String>,
}

impl Step for ValidateManifests {
    fn artifact(&self) -> Artifact {
        Artifact::Chart
    }
    // kubernetes-validate is optional on a laptop: publish's preflight requires it in CI.
    // `--quiet` prints only warnings and failures; the step fails on either, since a kind
    // without a schema is only a warning.
    fn commands(&self) -> Vec<Invocation> {
        let mut args = vec!["--strict", "--quiet"];
        for version in &self.versions {
            args.extend(["-k", version]);
        }
        args.extend(self.files.iter().map(String::as_str));
        vec![Invocation::new("kubernetes-validate", args)]
    }
    fn condition(&self) -> Option<String> {
        Some("skipped with a notice where kubernetes-validate is missing, refused in CI".into())
    }
}

/// Cross-compile the release binary for every platform (`cargo xtask dist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dist {
    pub platforms: Vec<Platform>,
    pub stamp: BinaryStamp,
}

impl Step for Dist {
    fn artifact(&self) -> Artifact {
        Artifact::Image
    }
    fn tools(&self) -> Vec<&'static str> {
        vec!["cargo"]
    }
    fn line(&self) -> String {
        let mut line = format!(
            "LLM_PROXY_VERSION={} LLM_PROXY_COMMIT={} cargo xtask dist",
            self.stamp.version, self.stamp.commit
        );
        for platform in &self.platforms {
            line.push_str(&format!(" --platform {}", platform.name()));
        }
        line
    }
}

/// Create the buildx builder [`docker_builder`] runs on [`BUILDKIT_IMAGE`], unless it
/// exists (the docker builder only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerBuilder {
    pub name: String,
    pub host_network: bool,
}

impl Step for DockerBuilder {
    fn artifact(&self) -> Artifact {
        Artifact::Image
    }
    fn tools(&self) -> Vec<&'static str> {
        vec!["docker"]
    }
    fn commands(&self) -> Vec<Invocation> {
        let image = format!("image={BUILDKIT_IMAGE}");
        let mut args = vec!["buildx", "create", "--name", &self.name];
        args.extend(["--driver", "docker-container", "--driver-opt", &image]);
        if self.host_network {
            args.extend(["--driver-opt", "network=host"]);
        }
        args.push("--bootstrap");
        vec![Invocation::new("docker", args)]
    }
    fn condition(&self) -> Option<String> {
        Some(format!("unless the builder {} exists", self.name))
    }
}

/// Build the image for every platform into [`IMAGE_LAYOUT_DIR`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildImage {
    pub build: ImageBuild,
}

impl Step for BuildImage {
    fn artifact(&self) -> Artifact {
        Artifact::Image
    }
    fn tools(&self) -> Vec<&'static str> {
        vec![builder_program(self.build.builder)]
    }
    fn commands(&self) -> Vec<Invocation> {
        let build = &self.build;
        match build.builder {
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
                        args.extend(["--manifest".into(), build.local_name.clone(), ".".into()]);
                        Invocation::new("buildah", args)
                    })
                    .collect();
                let mut export = buildah_args(["manifest", "push", "--all", "--format", "oci"]);
                export.extend([build.local_name.clone(), format!("oci:{IMAGE_LAYOUT_DIR}")]);
                commands.push(Invocation::new("buildah", export));
                commands
            }
        }
    }
}

/// The tools `release publish` logs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginTool {
    Helm,
    Docker,
    Buildah,
}

impl LoginTool {
    fn program(self) -> &'static str {
        match self {
            LoginTool::Helm => "helm",
            LoginTool::Docker => "docker",
            LoginTool::Buildah => "buildah",
        }
    }
}

/// Log `tool` in to `host`; the password comes from `RELEASE_REGISTRY_PASSWORD` on stdin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub tool: LoginTool,
    pub host: String,
    pub user: String,
    pub plain_http: bool,
}

impl Step for Login {
    fn artifact(&self) -> Artifact {
        match self.tool {
            LoginTool::Helm => Artifact::Chart,
            LoginTool::Docker | LoginTool::Buildah => Artifact::Image,
        }
    }
    fn pushes(&self) -> bool {
        true
    }
    fn tools(&self) -> Vec<&'static str> {
        vec![self.tool.program()]
    }
    fn commands(&self) -> Vec<Invocation> {
        let (host, plain_http) = (self.host.as_str(), self.plain_http);
        let common = ["--username", self.user.as_str(), "--password-stdin"];
        let args: Vec<&str> = match self.tool {
            LoginTool::Helm => ["registry", "login", host]
                .into_iter()
                .chain(common)
                .chain(plain_http.then_some("--plain-http"))
                .collect(),
            LoginTool::Docker => ["login", host].into_iter().chain(common).collect(),
            LoginTool::Buildah => ["login"]
                .into_iter()
                .chain(common)
                .chain(plain_http.then_some("--tls-verify=false"))
                .chain([host])
                .collect(),
        };
        vec![Invocation::new(self.tool.program(), args).stdin_from(REGISTRY_PASSWORD_VAR)]
    }
}

/// Push the image under its version tag, unless that tag already holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushImage {
    pub build: ImageBuild,
    pub target: String,
    pub plain_http: bool,
}

impl Step for PushImage {
    fn artifact(&self) -> Artifact {
        Artifact::Image
    }
    fn pushes(&self) -> bool {
        true
    }
    fn tools(&self) -> Vec<&'static str> {
        vec![builder_program(self.build.builder), "curl"]
    }
    fn commands(&self) -> Vec<Invocation> {
        let (build, target) = (&self.build, &self.target);
        match build.builder {
            ImageBuilder::Docker => {
                let insecure = if self.plain_http {
                    ",registry.insecure=true"
                } else {
                    ""
                };
                let output =
                    format!("type=image,name={target},push=true,rewrite-timestamp=true{insecure}");
                vec![docker_build(build, &output)]
            }
            ImageBuilder::Buildah => {
                let mut args = buildah_args(["manifest", "push", "--all", "--format", "oci"]);
                if self.plain_http {
                    args.push("--tls-verify=false".into());
                }
                args.extend([build.local_name.clone(), format!("docker://{target}")]);
                vec![Invocation::new("buildah", args)]
            }
        }
    }
    fn condition(&self) -> Option<String> {
        Some(format!("unless {} already holds this image", self.target))
    }
}

/// Point `repository:tag` at the digest `source` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagImage {
    pub builder: ImageBuilder,
    pub repository: String,
    pub tag: String,
    pub source: String,
    /// `None` for an immutable tag (`sha-…`), which holding another digest is an error;
    /// the release's version for a moving one, which moves only forward of what it holds.
    pub moving: Option<Version>,
    /// Known once `PushImage` ran; the plan prints `<digest>`.
    pub digest: Option<String>,
    pub plain_http: bool,
}

impl Step for TagImage {
    fn artifact(&self) -> Artifact {
        Artifact::Image
    }
    fn pushes(&self) -> bool {
        true
    }
    fn tools(&self) -> Vec<&'static str> {
        match self.builder {
            ImageBuilder::Docker => vec!["docker", "curl"],
            ImageBuilder::Buildah => vec!["skopeo", "curl"],
        }
    }
    fn commands(&self) -> Vec<Invocation> {
        let repository = &self.repository;
        let digest = self.digest.as_deref().unwrap_or("<digest>");
        let source = format!("{repository}@{digest}");
        let target = format!("{repository}:{}", self.tag);
        match self.builder {
            ImageBuilder::Docker => {
                let builder = docker_builder(self.plain_http);
                let args = ["buildx", "imagetools", "create", "--builder", &builder];
                let args = args.into_iter().chain(["--tag", &target, &source]);
                vec![Invocation::new("docker", args)]
            }
            ImageBuilder::Buildah => {
                let mut args = vec!["copy", "--all", "--preserve-digests"];
                if self.plain_http {
                    args.extend(["--src-tls-verify=false", "--dest-tls-verify=false"]);
                }
                let (source, target) = (format!("docker://{source}"), format!("docker://{target}"));
                args.extend([source.as_str(), target.as_str()]);
                vec![Invocation::new("skopeo", args)]
            }
        }
    }
    fn condition(&self) -> Option<String> {
        let unless = match self.moving {
            None => "unless already there",
            Some(_) => "unless it holds a newer release",
        };
        Some(format!("the digest of {}; {unless}", self.source))
    }
}

/// Wait, at most `wait_secs`, until the chart's image `reference` is in the registry with
/// every platform: a chart is never published before its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitForImage {
    pub reference: String,
    pub platforms: Vec<Platform>,
    pub wait_secs: u64,
}

impl Step for WaitForImage {
    fn artifact(&self) -> Artifact {
        Artifact::Chart
    }
    fn pushes(&self) -> bool {
        true
    }
    fn tools(&self) -> Vec<&'static str> {
        vec!["curl"]
    }
    fn line(&self) -> String {
        let reference = &self.reference;
        let platforms: Vec<String> = self.platforms.iter().map(Platform::name).collect();
        let platforms = platforms.join(", ");
        match self.wait_secs {
            0 => format!(
                "check that {reference} is in the registry for {platforms}  (a chart never goes out before its image; RELEASE_IMAGE_WAIT=SECS waits for it)"
            ),
            secs => format!(
                "wait until {reference} is in the registry for {platforms}  (up to {secs}s, RELEASE_IMAGE_WAIT: a chart never goes out before its image)"
            ),
        }
    }
}

/// `helm push` of the packaged chart, unless the registry holds this version already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmPush {
    pub package: String,
    pub registry: String,
    pub name: String,
    pub version: String,
    pub plain_http: bool,
}

impl Step for HelmPush {
    fn artifact(&self) -> Artifact {
        Artifact::Chart
    }
    fn pushes(&self) -> bool {
        true
    }
    // `curl` asks the registry whether the version exists; `tar` unpacks both packages to
    // compare their content.
    fn tools(&self) -> Vec<&'static str> {
        vec!["helm", "curl", "tar"]
    }
    fn commands(&self) -> Vec<Invocation> {
        let args = ["push", self.package.as_str(), self.registry.as_str()];
        let args = args
            .into_iter()
            .chain(self.plain_http.then_some("--plain-http"));
        vec![Invocation::new("helm", args)]
    }
    fn condition(&self) -> Option<String> {
        Some("unless this exact chart is already there".into())
    }
}

/// `helm show chart` from the registry, which must say the versions just published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmShowChart {
    pub reference: String,
    pub versions: ChartVersions,
    pub plain_http: bool,
}

impl Step for HelmShowChart {
    fn artifact(&self) -> Artifact {
        Artifact::Chart
    }
    fn pushes(&self) -> bool {
        true
    }
    fn tools(&self) -> Vec<&'static str> {
        vec!["helm"]
    }
    fn commands(&self) -> Vec<Invocation> {
        let args = [
            "show",
            "chart",
            &self.reference,
            "--version",
            &self.versions.version,
        ];
        let args = args
            .into_iter()
            .chain(self.plain_http.then_some("--plain-http"));
        vec![Invocation::new("helm", args)]
    }
    fn condition(&self) -> Option<String> {
        let versions = &self.versions;
        Some(format!(
            "read back: version {}, appVersion {}",
            versions.version, versions.app_version
        ))
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
    let platforms: Vec<String> = build.platforms.iter().map(Platform::name).collect();
    let mut args = vec![
        "buildx".to_string(),
        "build".into(),
        "--builder".into(),
        build.docker_builder.clone(),
        "--platform".into(),
        platforms.join(","),
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
