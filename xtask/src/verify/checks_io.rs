//! What a release has published, asked of every source at once, and judged by
//! `verify::checks`: the checks of `release verify`, and the promotion gate that `release
//! promote` and `release github` pass before they approve anything.
//!
//! The procedure: ask every source at once (git for the tags, the registry for the image
//! and the chart, gh for the GitHub release), each in its own thread, so the whole
//! verification takes about as long as its slowest question; hand the answers to
//! `verify::checks`, which turns them into checks; print every check. An answer that could not
//! be had is `Lookup::Unknown` and fails its check: an unreachable registry is never a pass.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use semver::Version;
use xshell::{Shell, cmd};

use crate::check::{Check, Gate, Lookup};
use crate::config::Config;
use crate::publish::chart::{read_meta, rendered_images};
use crate::publish::retarget::{self, Retarget};
use crate::publish::rules;
use crate::registry::oci::{
    self, Manifest, REVISION_LABEL, Reference, index_manifests, parse_manifest,
};
use crate::registry::oci_io::{Credentials, Registry, Request, Store};
use crate::scratch::Scratch;
use crate::tag::git::{RemoteBranch, RemoteRefs};
use crate::tag::grammar::{self, TagKind, stable_tag, version_tag};
use crate::tools;
use crate::verify::checks::{release_gate, verify};
use crate::verify::facts::{ImageIndex, PublishedChart, PublishedRelease, ReleaseFacts};
use crate::{project::Project, tag::git_io, ui};

/// Which GitHub release checks to make.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Tags, image and chart only: what promotion needs.
    Artifacts,
    /// Also the GitHub release, when the stable tag exists.
    Auto,
    /// Also the GitHub release, stable tag or not.
    WithRelease,
}

/// The promotion gate: the artifact checks of `version`, which `release promote` and
/// `release github` require to pass before they approve anything. It only reads, so dry runs
/// run it too.
pub fn promotion_gate(sh: &Shell, project: &Project, version: &Version) -> Gate {
    let provenance = project.config.provenance;
    match gather(sh, project, version, Scope::Artifacts, false, provenance) {
        Ok(facts) => crate::verify::checks::promotion_gate(&project.config, &facts),
        Err(e) => Gate::Failed(format!("{e:#}")),
    }
}

/// The gate of the GitHub release of `version` ([`release_gate`]), with the facts it was
/// decided on, from which the release's record is written.
pub fn github_release_gate(
    sh: &Shell,
    project: &Project,
    version: &Version,
) -> (Gate, Option<ReleaseFacts>) {
    let provenance = project.config.provenance;
    match gather(sh, project, version, Scope::Artifacts, false, provenance) {
        Ok(facts) => (release_gate(&project.config, &facts), Some(facts)),
        Err(e) => (Gate::Failed(format!("{e:#}")), None),
    }
}

/// The chart's name, from `Chart.yaml`.
pub fn chart_name(project: &Project) -> Result<String> {
    let path = project.chart_yaml();
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(read_meta(&text)
        .with_context(|| format!("in {}", path.display()))?
        .name)
}

/// Every check of the release of `version`: what `release verify` prints.
pub fn check(
    sh: &Shell,
    project: &Project,
    version: &Version,
    scope: Scope,
    run: bool,
    provenance: bool,
) -> Result<Vec<Check>> {
    let facts = gather(sh, project, version, scope, run, provenance)?;
    Ok(verify(&project.config, &facts))
}

/// Asks every source about the release of `version`, side by side.
pub fn gather(
    sh: &Shell,
    project: &Project,
    version: &Version,
    scope: Scope,
    run: bool,
    provenance: bool,
) -> Result<ReleaseFacts> {
    let config = &project.config;
    let missing: Vec<String> = crate::project::missing_tools(&needed_tools(scope, provenance))
        .iter()
        .map(|t| tools::missing(t))
        .collect();
    if !missing.is_empty() {
        bail!(
            "cannot verify {}: {}",
            version_tag(version),
            missing.join("; ")
        );
    }
    let credentials = Credentials::from_env(config)?;
    let chart_name = chart_name(project)?;
    let scratch = Scratch::new("verify")?;

    let credentials = credentials.as_ref();
    let started = Instant::now();
    let (sha_dir, image_dir, chart_dir, provenance_dir) = (
        scratch.dir("sha")?,
        scratch.dir("image")?,
        scratch.dir("chart")?,
        scratch.dir("provenance")?,
    );
    let (facts, timings) = std::thread::scope(|s| {
        // xshell's Shell is Send but not Sync: each thread gets its own clone.
        let (git_sh, image_sh, chart_sh, gh_sh, run_sh, provenance_sh) = (
            sh.clone(),
            sh.clone(),
            sh.clone(),
            sh.clone(),
            sh.clone(),
            sh.clone(),
        );
        let tags = s.spawn(move || {
            timed(|| {
                let answers = ask_git(&git_sh, config, version);
                // Without --stable, GitHub is asked only once the stable tag is known to exist.
                let release = (scope == Scope::Auto
                    && matches!(answers.stable_commit, Lookup::Found(_)))
                .then(|| ask_github(&git_sh, config, version));
                // `sha-…` names the commit, known only now.
                let registry = Registry::new(&git_sh, config.plain_http, credentials, &sha_dir);
                let sha_digest = match &answers.commit {
                    Lookup::Found(commit) => {
                        digest_of(&registry, &config.image, &rules::sha_tag(commit))
                    }
                    Lookup::Missing => Lookup::Missing,
                    Lookup::Unknown(why) => Lookup::Unknown(why.clone()),
                };
                (answers, sha_digest, release)
            })
        });
        let image = s.spawn(move || {
            timed(|| ask_image(&image_sh, config, credentials, &image_dir, version))
        });
        let chart_name = &chart_name;
        let chart = s.spawn(move || {
            timed(|| {
                let charts = Registry::new(&chart_sh, config.plain_http, credentials, &chart_dir)
                    .for_charts();
                let reference = chart_reference(config, chart_name, version);
                ask_chart(&chart_sh, &charts, &reference, &chart_dir, chart_name)
            })
        });
        let release = (scope == Scope::WithRelease)
            .then(|| s.spawn(move || timed(|| ask_github(&gh_sh, config, version))));
        let run_output = run.then(|| s.spawn(move || timed(|| ask_run(&run_sh, config, version))));
        let provenance = provenance.then(|| {
            s.spawn(move || {
                timed(|| {
                    crate::verify::provenance_io::ask(
                        &provenance_sh,
                        config,
                        credentials,
                        &provenance_dir,
                        version,
                        chart_name,
                    )
                })
            })
        });

        let mut timings = Vec::new();
        let (tags, sha_digest, auto_release) = joined("git", tags, &mut timings);
        let image = joined("image", image, &mut timings);
        let chart = joined("chart", chart, &mut timings);
        let release = release
            .map(|t| joined("github", t, &mut timings))
            .or(auto_release);
        let run_output = run_output.map(|t| joined("run", t, &mut timings));
        let provenance = provenance.map(|t| joined("provenance", t, &mut timings));
        let versions = version_tags(&tags.remote_tags);
        let facts = ReleaseFacts {
            version: version.clone(),
            chart_name: chart_name.clone(),
            remote_tags: tags.remote_tags,
            commit: tags.commit,
            stable_commit: tags.stable_commit,
            on_default_branch: tags.on_default_branch,
            version_image: image.version_image,
            sha_digest,
            minor_digest: image.minor_digest,
            latest_digest: image.latest_digest,
            minor_record: read_record(image.minor_record, &rules::minor_tag(version), &versions),
            latest_record: read_record(image.latest_record, rules::LATEST, &versions),
            chart,
            github_release: release,
            run_output,
            provenance,
        };
        (facts, timings)
    });
    // The sources are asked in parallel, so the whole takes about as long as the slowest.
    let asked: Vec<String> = timings
        .iter()
        .map(|(name, secs)| format!("{name} {secs:.2}s"))
        .collect();
    ui::note(&format!(
        "asked in parallel: {}; verification took {:.2}s",
        asked.join(", "),
        started.elapsed().as_secs_f64()
    ));
    Ok(facts)
}

/// The answer of one source's thread, its time noted in `timings`.
fn joined<T>(
    name: &'static str,
    handle: std::thread::ScopedJoinHandle<'_, (T, f64)>,
    timings: &mut Vec<(&'static str, f64)>,
) -> T {
    let (value, secs) = handle.join().expect("a source thread does not panic");
    timings.push((name, secs));
    value
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed().as_secs_f64())
}

fn needed_tools(scope: Scope, provenance: bool) -> Vec<&'static str> {
    let github: &[&str] = if scope == Scope::Artifacts && !provenance {
        &[]
    } else {
        &["gh"]
    };
    tools::union([&tools::VERIFY_ARTIFACTS[..], github])
}

fn unknown<T>(e: impl std::fmt::Display) -> Lookup<T> {
    Lookup::Unknown(e.to_string().lines().next().unwrap_or_default().to_string())
}

/// What git says about one version; `release status` asks it once for every version.
pub struct GitAnswers {
    pub remote_tags: Lookup<Vec<String>>,
    pub commit: Lookup<String>,
    pub stable_commit: Lookup<String>,
    pub on_default_branch: Lookup<bool>,
}

/// Each moving tag's digest and retarget record, asked once for every version of its line.
pub type MovingTags = Mutex<BTreeMap<String, (Lookup<String>, Lookup<String>)>>;

/// The facts of `version` with git's answers given: the registry, helm and gh asked one
/// after the other on this thread (`release status` runs a few versions side by side).
/// The GitHub release is asked when the stable tag exists, as `Scope::Auto` does. The
/// moving tags' digests are shared by the versions of a line: `moving` keeps each answer.
#[allow(clippy::too_many_arguments)]
pub fn ask_version(
    sh: &Shell,
    config: &Config,
    credentials: Option<&Credentials>,
    store: &Store,
    dir: &Path,
    chart_name: &str,
    version: &Version,
    git: GitAnswers,
    provenance: bool,
    moving: &MovingTags,
) -> ReleaseFacts {
    let registry = Registry::new(sh, config.plain_http, credentials, dir).with_store(store);
    let charts = registry.for_charts();
    let chart_reference = chart_reference(config, chart_name, version);
    // Every tag this version asks for, in one curl; the readers below take the answers.
    let sha = match &git.commit {
        Lookup::Found(commit) => Some(rules::sha_tag(commit)),
        _ => None,
    };
    let known = moving.lock().unwrap().keys().cloned().collect::<Vec<_>>();
    let moving_tags = [rules::minor_tag(version), rules::LATEST.to_string()]
        .into_iter()
        .filter(|t| !known.contains(t))
        .flat_map(|t| [retarget::record_tag(&t), t]);
    let tags = sha
        .into_iter()
        .chain([version_tag(version)])
        .chain(moving_tags);
    let mut batch: Vec<Reference> = tags.map(|t| Reference::new(&config.image, &t)).collect();
    batch.push(chart_reference.clone());
    registry.prefetch_manifests(&batch);
    let moving_tag = |tag: String| {
        if let Some(known) = moving.lock().unwrap().get(&tag) {
            return known.clone();
        }
        let answer = (
            digest_of(&registry, &config.image, &tag),
            record_of(&registry, &config.image, &tag),
        );
        moving.lock().unwrap().insert(tag, answer.clone());
        answer
    };
    let sha_digest = match &git.commit {
        Lookup::Found(commit) => digest_of(&registry, &config.image, &rules::sha_tag(commit)),
        Lookup::Missing => Lookup::Missing,
        Lookup::Unknown(why) => Lookup::Unknown(why.clone()),
    };
    let version_image = ask_version_image(&registry, config, version);
    let (minor_digest, minor_record) = moving_tag(rules::minor_tag(version));
    let (latest_digest, latest_record) = moving_tag(rules::LATEST.to_string());
    let versions = version_tags(&git.remote_tags);
    let minor_record = read_record(minor_record, &rules::minor_tag(version), &versions);
    let latest_record = read_record(latest_record, rules::LATEST, &versions);
    let chart = ask_chart(sh, &charts, &chart_reference, dir, chart_name);
    let github_release =
        matches!(git.stable_commit, Lookup::Found(_)).then(|| ask_github(sh, config, version));
    let provenance = provenance.then(|| {
        crate::verify::provenance_io::ask(sh, config, credentials, dir, version, chart_name)
    });
    ReleaseFacts {
        version: version.clone(),
        remote_tags: git.remote_tags,
        commit: git.commit,
        stable_commit: git.stable_commit,
        on_default_branch: git.on_default_branch,
        version_image,
        sha_digest,
        minor_digest,
        latest_digest,
        minor_record,
        latest_record,
        chart,
        github_release,
        run_output: None,
        provenance,
        chart_name: chart_name.to_string(),
    }
}

/// What [`ask_version`] will ask the registry about each of `versions` (with the commit of
/// its tag, when known), asked up front for all of them, a kind at a time, into `registry`'s
/// store: the tags, and the charts' manifests; then the platforms' manifests, and the chart
/// packages; then the platforms' configs. Each step learns what to ask from the answers of
/// the one before; whatever it could not learn, the readers ask themselves. The charts are
/// asked apart, with the logins charts are read with (helm's first).
pub fn prefetch_versions(
    registry: &Registry<'_>,
    config: &Config,
    chart_name: &str,
    versions: &[(Version, Option<String>)],
) {
    let image = |tag: &str| Reference::new(&config.image, tag);
    let chart = |version: &Version| chart_reference(config, chart_name, version);
    let charts = registry.for_charts();
    let mut tags = Vec::new();
    let mut moving = std::collections::BTreeSet::from([rules::LATEST.to_string()]);
    for (version, commit) in versions {
        if let Some(commit) = commit {
            tags.push(Request::Manifest(image(&rules::sha_tag(commit))));
        }
        tags.push(Request::Manifest(image(&version_tag(version))));
        moving.insert(rules::minor_tag(version));
    }
    for tag in &moving {
        tags.push(Request::Manifest(image(tag)));
        tags.push(Request::Manifest(image(&retarget::record_tag(tag))));
    }
    registry.prefetch(&tags);
    let chart_manifests: Vec<Request> = versions
        .iter()
        .map(|(v, _)| Request::Manifest(chart(v)))
        .collect();
    charts.prefetch(&chart_manifests);

    let mut platforms = Vec::new();
    let mut packages = Vec::new();
    for (version, _) in versions {
        let index = image(&version_tag(version));
        if let Some(Ok(manifest)) = registry
            .prefetched_manifest(&index)
            .map(|b| parse_manifest(&b))
        {
            platforms.extend(index_manifests(&manifest).iter().map(|(_, d)| index.at(d)));
        }
        let chart = chart(version);
        if let Some(Ok(layer)) = charts
            .prefetched_manifest(&chart)
            .map(|b| oci::chart_layer(&b))
        {
            packages.push(Request::Blob(chart, layer));
        }
    }
    let manifests: Vec<Request> = platforms.iter().cloned().map(Request::Manifest).collect();
    registry.prefetch(&manifests);
    charts.prefetch(&packages);

    let configs: Vec<Request> = platforms
        .into_iter()
        .filter_map(
            |platform| match parse_manifest(&registry.prefetched_manifest(&platform)?) {
                Ok(Manifest::Image { config, .. }) => Some(Request::Blob(platform, config.digest)),
                _ => None,
            },
        )
        .collect();
    registry.prefetch(&configs);
}

/// The remote's tags (one `ls-remote`), then whether the tagged commit is on the default
/// branch, which needs that branch fetched into its remote-tracking ref.
fn ask_git(sh: &Shell, config: &Config, version: &Version) -> GitAnswers {
    let refs = git_io::ls_remote_tags(sh, &config.remote, config.git_timeout_secs);
    git_answers(sh, config, version, &refs, || {
        fetch_default_branch(sh, config)
    })
}

/// Fetches the default branch into its remote-tracking ref: that ref, or why not.
pub fn fetch_default_branch(sh: &Shell, config: &Config) -> Result<String, String> {
    let branch = RemoteBranch::new(&config.remote, &config.default_branch);
    git_io::fetch_branch(
        sh,
        &config.remote,
        &branch.remote_ref,
        &branch.tracking_ref,
        config.git_timeout_secs,
    )
    .map(|()| branch.tracking_ref)
    .map_err(|why| {
        format!(
            "cannot fetch {} from {}: {why}",
            config.default_branch, config.remote
        )
    })
}

/// What git says of `version`, given the remote's tags (`refs`) and the default branch's
/// remote-tracking ref (`tracking`, asked only when the version tag is there): for
/// `release verify` one version, for `release status` many from one `ls-remote` and fetch.
pub fn git_answers(
    sh: &Shell,
    config: &Config,
    version: &Version,
    refs: &Result<RemoteRefs, String>,
    tracking: impl FnOnce() -> Result<String, String>,
) -> GitAnswers {
    let refs = match refs {
        Ok(refs) => refs,
        Err(why) => {
            let why = format!("cannot list the tags of {}: {why}", config.remote);
            return GitAnswers {
                remote_tags: Lookup::Unknown(why.clone()),
                commit: Lookup::Unknown(why.clone()),
                stable_commit: Lookup::Unknown(why.clone()),
                on_default_branch: Lookup::Unknown(why),
            };
        }
    };
    let lookup = |name: String| {
        refs.tag(&name)
            .map_or(Lookup::Missing, |t| Lookup::Found(t.commit))
    };
    let commit = lookup(version_tag(version));
    let on_default_branch = match &commit {
        Lookup::Found(commit) => match tracking() {
            Ok(tracking) => on_branch(sh, config, version, commit, &tracking),
            Err(why) => Lookup::Unknown(why),
        },
        _ => Lookup::Missing,
    };
    GitAnswers {
        remote_tags: Lookup::Found(refs.tag_names()),
        stable_commit: lookup(stable_tag(version)),
        commit,
        on_default_branch,
    }
}

/// Whether `commit`, the commit of `version`, is reachable from `tracking`.
fn on_branch(
    sh: &Shell,
    config: &Config,
    version: &Version,
    commit: &str,
    tracking: &str,
) -> Lookup<bool> {
    // The tagged commit may be off every branch this clone has: fetch its objects, no ref.
    let tag_ref = format!("refs/tags/{}", version_tag(version));
    if git_io::commit_of(sh, commit).ok().flatten().is_none()
        && git_io::fetch_objects(sh, &config.remote, &tag_ref, config.git_timeout_secs).is_err()
    {
        return Lookup::Unknown(format!(
            "commit {commit} is not in this clone: run `git fetch --tags`"
        ));
    }
    git_io::is_ancestor(sh, commit, tracking).map_or_else(unknown, Lookup::Found)
}

struct ImageAnswers {
    version_image: Lookup<ImageIndex>,
    minor_digest: Lookup<String>,
    latest_digest: Lookup<String>,
    /// The stored records, read once the remote's tags are known.
    minor_record: Lookup<String>,
    latest_record: Lookup<String>,
}

fn ask_image(
    sh: &Shell,
    config: &Config,
    credentials: Option<&Credentials>,
    dir: &Path,
    version: &Version,
) -> ImageAnswers {
    let registry = Registry::new(sh, config.plain_http, credentials, dir);
    // The version's tag and each moving tag with its record, in one curl.
    let moving = [rules::minor_tag(version), rules::LATEST.to_string()];
    let tags = moving
        .iter()
        .flat_map(|t| [retarget::record_tag(t), t.clone()]);
    let batch: Vec<Reference> = [version_tag(version)]
        .into_iter()
        .chain(tags)
        .map(|t| Reference::new(&config.image, &t))
        .collect();
    registry.prefetch_manifests(&batch);
    ImageAnswers {
        version_image: ask_version_image(&registry, config, version),
        minor_digest: digest_of(&registry, &config.image, &rules::minor_tag(version)),
        latest_digest: digest_of(&registry, &config.image, rules::LATEST),
        minor_record: record_of(&registry, &config.image, &rules::minor_tag(version)),
        latest_record: record_of(&registry, &config.image, rules::LATEST),
    }
}

/// The stored retarget record of the moving tag `tag` (`release retarget`), if there is
/// one, unread: whether it is honoured needs the remote's tags ([`read_record`]).
fn record_of(registry: &Registry<'_>, image: &str, tag: &str) -> Lookup<String> {
    match registry.manifest(&Reference::new(image, &retarget::record_tag(tag))) {
        Ok(Some(found)) => Lookup::Found(found.body),
        Ok(None) => Lookup::Missing,
        Err(e) => unknown(format!("{e:#}")),
    }
}

/// The versions tagged on the remote, from its tag names, or why they are not known.
pub fn version_tags(remote_tags: &Lookup<Vec<String>>) -> Result<Vec<Version>, String> {
    match remote_tags {
        Lookup::Found(names) => Ok(grammar::release_versions(
            names.iter().map(String::as_str),
            TagKind::Version,
        )),
        Lookup::Missing => Ok(Vec::new()),
        Lookup::Unknown(why) => Err(why.clone()),
    }
}

/// The record of `tag` stored as `stored`, as verify, status and retarget honour it
/// ([`Retarget::parse`], given the versions tagged on the remote). Without those versions a
/// stored record is unknown, never absent.
pub fn read_record(
    stored: Lookup<String>,
    tag: &str,
    version_tags: &Result<Vec<Version>, String>,
) -> Lookup<Retarget> {
    match (stored, version_tags) {
        (Lookup::Found(body), Ok(versions)) => {
            Retarget::parse(&body, tag, versions).map_or_else(unknown, Lookup::Found)
        }
        (Lookup::Found(_), Err(why)) => Lookup::Unknown(format!(
            "cannot check the retarget record of {tag} against the remote's tags: {why}"
        )),
        (Lookup::Missing, _) => Lookup::Missing,
        (Lookup::Unknown(why), _) => Lookup::Unknown(why),
    }
}

fn ask_version_image(
    registry: &Registry<'_>,
    config: &Config,
    version: &Version,
) -> Lookup<ImageIndex> {
    let reference = Reference::new(&config.image, &version_tag(version));
    match registry.manifest(&reference) {
        Ok(Some(found)) => match parse_manifest(&found.body) {
            Ok(manifest) => {
                let manifests = index_manifests(&manifest);
                let digests: Vec<Reference> =
                    manifests.iter().map(|(_, d)| reference.at(d)).collect();
                registry.prefetch_manifests(&digests);
                let platforms: Vec<Result<Manifest>> = manifests
                    .iter()
                    .map(|(_, digest)| {
                        registry
                            .manifest_body(&reference, digest)
                            .and_then(|body| parse_manifest(&body))
                    })
                    .collect();
                let configs: Vec<String> = platforms
                    .iter()
                    .filter_map(|m| match m {
                        Ok(Manifest::Image { config, .. }) => Some(config.digest.clone()),
                        _ => None,
                    })
                    .collect();
                registry.prefetch_blobs(&reference, &configs);
                Lookup::Found(ImageIndex {
                    digest: found.digest,
                    revisions: manifests
                        .iter()
                        .zip(platforms)
                        .map(|((platform, _), manifest)| {
                            let label = revision_label(registry, &reference, manifest);
                            (platform.clone(), label)
                        })
                        .collect(),
                    manifests,
                })
            }
            Err(e) => unknown(e),
        },
        Ok(None) => Lookup::Missing,
        Err(e) => unknown(format!("{e:#}")),
    }
}

fn digest_of(registry: &Registry<'_>, image: &str, tag: &str) -> Lookup<String> {
    match registry.manifest(&Reference::new(image, tag)) {
        Ok(Some(found)) => Lookup::Found(found.digest),
        Ok(None) => Lookup::Missing,
        Err(e) => unknown(format!("{e:#}")),
    }
}

/// The `org.opencontainers.image.revision` label of one platform's image, from its manifest.
fn revision_label(
    registry: &Registry<'_>,
    reference: &Reference,
    manifest: Result<Manifest>,
) -> Lookup<String> {
    let labels = manifest.and_then(|manifest| registry.image_labels(reference, &manifest));
    match labels {
        Ok(labels) => labels
            .get(REVISION_LABEL)
            .map_or(Lookup::Missing, |rev| Lookup::Found(rev.clone())),
        Err(e) => unknown(format!("cannot read the image config: {e:#}")),
    }
}

/// Downloads the chart package once through the registry API (the reads and logins of
/// every other registry check, `RELEASE_REGISTRY_*` included), then reads its Chart.yaml
/// and renders it locally with helm. Whether its images are there is the image's question: each must be
/// the release's own.
fn ask_chart(
    sh: &Shell,
    charts: &Registry<'_>,
    reference: &Reference,
    dir: &Path,
    name: &str,
) -> Lookup<PublishedChart> {
    let version = &reference.reference;
    let (manifest, digest) = match charts.manifest(reference) {
        Ok(Some(found)) => (found.body, found.digest),
        Ok(None) => return Lookup::Missing,
        Err(e) => return unknown(format!("{e:#}")),
    };
    let package = dir.join(format!("{name}-{version}.tgz"));
    let download = oci::chart_layer(&manifest)
        .with_context(|| format!("{reference} is not a Helm chart"))
        .and_then(|layer| charts.blob(reference, &layer, &package));
    if let Err(e) = download {
        return unknown(format!("{e:#}"));
    }
    let read = || -> Result<PublishedChart> {
        // The package's own Chart.yaml, where `helm package` puts it, read with tar: `helm
        // show chart` said the same at ten times the cost, a quarter of `release status`.
        let chart_yaml = format!("{name}/Chart.yaml");
        let shown = cmd!(sh, "tar -xzOf {package} {chart_yaml}")
            .quiet()
            .read()?;
        let value: serde_yaml::Value =
            serde_yaml::from_str(shown.trim_start_matches('\u{feff}'))
                .with_context(|| format!("the chart package's {chart_yaml} is not valid YAML"))?;
        let field = |key: &str| {
            value
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let rendered = cmd!(sh, "helm template {name} {package}").quiet().read()?;
        Ok(PublishedChart {
            digest: digest.clone(),
            version: field("version"),
            app_version: field("appVersion"),
            images: rendered_images(&rendered)?,
        })
    };
    read().map_or_else(|e| unknown(format!("{e:#}")), Lookup::Found)
}

/// Where the chart of `version` is in the registry.
fn chart_reference(config: &Config, name: &str, version: &Version) -> Reference {
    Reference::new(
        &format!("{}/{name}", config.chart_registry),
        &version.to_string(),
    )
}

/// The GitHub release of the stable tag, through `gh release view`; only gh's own "release
/// not found" counts as absent.
fn ask_github(sh: &Shell, config: &Config, version: &Version) -> Lookup<PublishedRelease> {
    let tag = stable_tag(version);
    let repo = &config.github_repo;
    let out = match cmd!(
        sh,
        "gh release view {tag} --repo {repo} --json name,isDraft,isPrerelease,body"
    )
    .quiet()
    .ignore_status()
    .output()
    {
        Ok(out) => out,
        Err(e) => return unknown(e),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return if stderr.trim() == "release not found" {
            Lookup::Missing
        } else {
            unknown(format!("gh release view {tag}: {}", stderr.trim()))
        };
    }
    let value: serde_yaml::Value = match serde_yaml::from_str(&String::from_utf8_lossy(&out.stdout))
    {
        Ok(value) => value,
        Err(e) => return unknown(format!("gh release view printed invalid JSON: {e}")),
    };
    let text = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let flag = |key: &str| value.get(key).and_then(|v| v.as_bool()).unwrap_or(false);
    Lookup::Found(PublishedRelease {
        title: text("name"),
        draft: flag("isDraft"),
        prerelease: flag("isPrerelease"),
        body: text("body"),
    })
}

/// `docker run --rm IMAGE --version`, where a daemon answers; `Missing` where none does
/// (no docker CLI, or no engine behind it): then the check says it was not run.
fn ask_run(sh: &Shell, config: &Config, version: &Version) -> Lookup<String> {
    if which::which("docker").is_err() {
        return Lookup::Missing;
    }
    let format = "{{.ServerVersion}}";
    let daemon = cmd!(sh, "docker info --format {format}")
        .quiet()
        .ignore_stderr()
        .ignore_status()
        .output();
    if !daemon.is_ok_and(|out| out.status.success()) {
        return Lookup::Missing;
    }
    let image = format!("{}:{}", config.image, version_tag(version));
    match cmd!(sh, "docker run --rm {image} --version").quiet().read() {
        Ok(out) => Lookup::Found(out),
        Err(e) => unknown(e),
    }
}
