//! The chart steps of `release publish` that are more than one command: stamping, the image
//! check of the default render, the push that never overwrites, and the read-back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::config::Platform;
use crate::project::Project;
use crate::publish::chart::{self, ChartVersions, stamp_chart};
use crate::publish::rules;
use crate::publish::steps::{
    HelmPush, HelmShowChart, HelmTemplate, SetChartImage, StampChart, Step, ValidateManifests,
    WaitForImage,
};
use crate::publish::steps_io::{Published, Publisher, State, run_commands};
use crate::registry::oci::{self, Reference};
use crate::{exec, ui};

pub fn stamp(project: &Project, step: &StampChart) -> Result<()> {
    let path = project.root.join(&step.dir).join("Chart.yaml");
    stamp_file(
        &project.root,
        &path,
        &ChartVersions::for_release(&step.version),
    )?;
    Ok(())
}

/// `Chart.yaml` and `values.yaml` as a publish found them. The run stamps them in place, for
/// helm to lint, render and package; then they are put back, so that a local publish leaves
/// the tree as it found it (the repository keeps `0.0.0-dev`, and `cargo xtask ci` checks it).
pub struct ChartFiles(Vec<(PathBuf, Vec<u8>)>);

impl ChartFiles {
    pub fn read(project: &Project, dir: &str) -> Result<ChartFiles> {
        let mut files = Vec::new();
        for name in ["Chart.yaml", "values.yaml"] {
            let path = project.root.join(dir).join(name);
            match std::fs::read(&path) {
                Ok(bytes) => files.push((path, bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => bail!("cannot read {}: {e}", path.display()),
            }
        }
        Ok(ChartFiles(files))
    }

    /// Writes back each file the run changed.
    pub fn restore(self) -> Result<()> {
        for (path, bytes) in self.0 {
            if std::fs::read(&path).ok().as_ref() != Some(&bytes) {
                write_atomically(&path, &bytes)?;
            }
        }
        Ok(())
    }
}

/// Points `values.yaml`'s `image.repository` at the configured image (a rehearsal).
pub fn set_image(project: &Project, step: &SetChartImage) -> Result<()> {
    let path = project.root.join(&step.dir).join("values.yaml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let edited = chart::set_image_repository(&text, &step.repository)
        .with_context(|| format!("cannot set image.repository in {}", path.display()))?;
    write_atomically(&path, &edited)
}

/// `helm template`; with `expect_image`, every rendered container must run the release's
/// own image, as verify decides it (`chart::is_release_image`; no digest is known yet).
pub fn template(sh: &Shell, step: &HelmTemplate) -> Result<()> {
    let (output, expect_image) = (&step.output, step.expect_image.as_ref());
    for command in step.commands() {
        let rendered = exec::read(sh, &command)?;
        let file = sh.current_dir().join(output);
        std::fs::create_dir_all(file.parent().expect("renders go under dist/"))?;
        std::fs::write(&file, format!("{rendered}\n"))
            .with_context(|| format!("cannot write {}", file.display()))?;
        let Some(expected) = expect_image else {
            continue;
        };
        let images = chart::rendered_images(&rendered)?;
        if images.is_empty() {
            bail!("`{command}` rendered no container: expected one running {expected}");
        }
        let own =
            |i: &String| chart::is_release_image(i, &expected.repository, &expected.tag, None);
        if let Some(other) = images.iter().find(|i| !own(i)) {
            bail!(
                "`{command}` renders image {other}, expected {expected}: the chart's default image must be the release's own (image.repository in values.yaml, tag from appVersion)"
            );
        }
    }
    Ok(())
}

/// The renders against Kubernetes' schemas. kubernetes-validate exits 0 when a kind has no
/// schema (a removed API such as `apps/v1beta2`) and only warns, so with `--quiet` anything
/// it prints fails the step.
pub fn validate(sh: &Shell, step: &ValidateManifests) -> Result<()> {
    if which::which("kubernetes-validate").is_err() {
        // Publish's preflight refuses this in CI; on a laptop a rehearsal is still useful.
        ui::warn(&format!(
            "skipped: {}",
            crate::tools::missing("kubernetes-validate")
        ));
        return Ok(());
    }
    for command in step.commands() {
        eprintln!("$ {command}");
        let out = exec::output(sh, &command)?;
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() || !said.trim().is_empty() {
            bail!(
                "the rendered manifests do not validate against Kubernetes' schemas:\n{}",
                said.trim_end()
            );
        }
    }
    Ok(())
}

/// Waits, at most `wait_secs`, until `reference` (`REPOSITORY:TAG`) is in the registry with
/// every platform. The chart and image jobs of a tag run side by side and the chart job is
/// the short one; a chart published before its image would point at nothing, and a
/// published chart version is never replaced. A registry that cannot be asked is an error
/// at once: it is never read as "not yet".
pub fn wait_for_image(run: &Publisher<'_>, step: &WaitForImage) -> Result<()> {
    let (reference, platforms, wait_secs) = (&step.reference, &step.platforms, step.wait_secs);
    let (repository, tag) = reference
        .rsplit_once(':')
        .context("the chart's image has no tag")?;
    let image = Reference::new(repository, tag);
    let required: Vec<String> = platforms.iter().map(Platform::name).collect();
    let deadline = Instant::now() + Duration::from_secs(wait_secs);
    loop {
        // The registry is asked without the executor, which refuses new commands after an
        // interrupt: the wait ends here instead.
        if let Some(interrupt) = exec::interrupted() {
            bail!("{interrupt} while waiting for the chart's image {reference}");
        }
        let lacking = match run.registry.manifest(&image)? {
            None => "it is not in the registry".to_string(),
            Some(found) => {
                let present = oci::index_platforms(&oci::parse_manifest(&found.body)?);
                let lacking = rules::lacking_platforms(&present, &required);
                if lacking.is_empty() {
                    ui::note(&format!("{reference} is there for {}", required.join(", ")));
                    return Ok(());
                }
                format!("it lacks {}", lacking.join(", "))
            }
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!(
                "the chart's image {reference} is not ready ({lacking}) after waiting {wait_secs}s (RELEASE_IMAGE_WAIT), so the chart was not pushed: a chart never goes out before its image; publish the image first (`release publish --only image`), or wait longer"
            );
        }
        ui::note(&format!(
            "{reference}: {lacking}; waiting for the image ({}s left)",
            left.as_secs()
        ));
        std::thread::sleep(left.min(IMAGE_POLL));
    }
}

/// How often [`wait_for_image`] asks the registry again.
const IMAGE_POLL: Duration = Duration::from_secs(5);

/// `helm push`, unless the registry holds this version already: the same content is done,
/// other content is an error (helm itself would silently overwrite it).
pub fn push(run: &Publisher<'_>, step: &HelmPush) -> Result<Published> {
    let (package, registry, name, version) =
        (&step.package, &step.registry, &step.name, &step.version);
    // helm stores `+` (build metadata) as `_` in the tag.
    let reference = Reference::new(&format!("{registry}/{name}"), &version.replace('+', "_"));
    let local = run.project.root.join(package);
    if !local.exists() {
        bail!(
            "{} is missing: the package step must run first",
            local.display()
        );
    }
    let shown = format!("{registry}/{name}:{version}");
    // Read with helm's login first, as helm itself pushes.
    let charts = run.registry.for_charts();
    if let Some(found) = charts.manifest(&reference)? {
        let layer = oci::chart_layer(&found.body)
            .with_context(|| format!("{shown} is not a Helm chart"))?;
        let remote = run.scratch.join("remote-chart.tgz");
        charts.blob(&reference, &layer, &remote)?;
        match first_difference(run.sh, run.scratch, &local, &remote)? {
            None => {
                crate::ui::note(&format!(
                    "{shown} is already published with this content: nothing to push"
                ));
                return Ok(Published {
                    what: "chart",
                    reference: shown,
                    digest: found.digest,
                    state: State::AlreadyThere,
                });
            }
            Some(file) => bail!(
                "{shown} is already published with different content ({file} differs): a published chart version is never overwritten; release a new version"
            ),
        }
    }
    run_commands(run.sh, step)?;
    let pushed = charts
        .manifest(&reference)?
        .with_context(|| format!("{shown} is missing right after helm push"))?;
    Ok(Published {
        what: "chart",
        reference: shown,
        digest: pushed.digest,
        state: State::Pushed,
    })
}

/// Compares two chart packages by their unpacked files ([`rules::chart_difference`]).
/// Returns the first file that differs.
fn first_difference(sh: &Shell, scratch: &Path, a: &Path, b: &Path) -> Result<Option<String>> {
    let unpack = |archive: &Path, into: &str| -> Result<BTreeMap<String, Vec<u8>>> {
        let dir = scratch.join(into);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        cmd!(sh, "tar -xzf {archive} -C {dir}")
            .quiet()
            .run()
            .with_context(|| format!("cannot unpack {}", archive.display()))?;
        let mut files = BTreeMap::new();
        collect_files(&dir, &dir, &mut files)?;
        Ok(files)
    };
    let (a, b) = (unpack(a, "chart-local")?, unpack(b, "chart-remote")?);
    Ok(rules::chart_difference(&a, &b))
}

fn collect_files(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else {
            let name = path.strip_prefix(root)?.to_string_lossy().into_owned();
            out.insert(name, std::fs::read(&path)?);
        }
    }
    Ok(())
}

/// `helm show chart` from the registry must say the version and appVersion just published.
pub fn read_back(sh: &Shell, step: &HelmShowChart) -> Result<()> {
    let versions = &step.versions;
    for command in step.commands() {
        let shown = exec::read(sh, &command)?;
        let value: serde_yaml::Value =
            serde_yaml::from_str(&shown).context("helm show chart printed invalid YAML")?;
        let field = |key: &str| value.get(key).and_then(|v| v.as_str()).unwrap_or_default();
        if field("version") != versions.version || field("appVersion") != versions.app_version {
            bail!(
                "the registry serves version {:?}, appVersion {:?}; expected {}, {}",
                field("version"),
                field("appVersion"),
                versions.version,
                versions.app_version
            );
        }
    }
    Ok(())
}

/// Stamps the `Chart.yaml` at `path`, which must resolve inside `root`. Returns the
/// resolved path. The file is replaced by rename, so it is never seen half-written.
pub fn stamp_file(root: &Path, path: &Path, versions: &ChartVersions) -> Result<PathBuf> {
    let resolved = resolve(root, path)?;
    let (text, stamped) = stamped(&resolved, versions)?;
    if stamped != text {
        write_atomically(&resolved, &stamped)?;
    }
    Ok(resolved)
}

/// `path` with symlinks resolved, which must stay inside `root`.
pub fn resolve(root: &Path, path: &Path) -> Result<PathBuf> {
    // The path comes from `--chart`: quoted and capped like any other echoed input.
    let shown = |p: &Path| crate::quote::quote(&p.display().to_string());
    let resolved = path
        .canonicalize()
        .with_context(|| format!("cannot find {}", shown(path)))?;
    let root = root.canonicalize()?;
    if !resolved.starts_with(&root) {
        bail!(
            "{} resolves to {}, outside the repository: refusing to write there",
            shown(path),
            shown(&resolved)
        );
    }
    Ok(resolved)
}

/// The file's text before and after stamping.
pub fn stamped(path: &Path, versions: &ChartVersions) -> Result<(String, String)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{} is not UTF-8 text", path.display()))?;
    let stamped =
        stamp_chart(&text, versions).with_context(|| format!("cannot stamp {}", path.display()))?;
    Ok((text, stamped))
}

pub fn write_atomically(path: &Path, text: impl AsRef<[u8]>) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_file_name(format!(
        ".{}.xtask-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_ref())?;
        file.set_permissions(std::fs::metadata(path)?.permissions())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::anyhow!("cannot write {}: {e}", path.display())
    })
}
