//! The image steps of `release publish`: the local build into an OCI layout, the push of the
//! version tag that never overwrites, and the tags set by digest.
//!
//! "The same image" means the same config digest on every platform (see
//! [`oci::platform_configs`]): the build is reproducible (timestamps from the commit), so a
//! re-run rebuilds exactly what it pushed before and recognises it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use semver::Version;
use xshell::{Shell, cmd};

use crate::config::ImageBuilder;
use crate::project::Project;
use crate::publish::retarget::{self, Retarget};
use crate::publish::rules::{self, Holder, ImageComparison, Move};
use crate::publish::steps::{
    BUILDAH_STORAGE, DockerBuilder, IMAGE_LAYOUT_DIR, ImageBuild, PushImage, TagImage,
};
use crate::publish::steps_io::{Published, Publisher, State, run_commands};
use crate::registry::oci::{self, Manifest, Reference};
use crate::tag::grammar::{self, TagKind};
use crate::ui;

/// Clears what a previous build left: the OCI layout (an export appends to it) and
/// buildah's manifest list (a build adds to it).
pub fn prepare_build(sh: &Shell, project: &Project, build: &ImageBuild) -> Result<()> {
    let layout = project.root.join(IMAGE_LAYOUT_DIR);
    if layout.exists() {
        std::fs::remove_dir_all(&layout)
            .with_context(|| format!("cannot remove {}", layout.display()))?;
    }
    if build.builder == ImageBuilder::Buildah {
        let name = &build.local_name;
        let storage = BUILDAH_STORAGE;
        let exists = cmd!(sh, "buildah {storage...} manifest exists {name}")
            .quiet()
            .ignore_status()
            .output()?
            .status
            .success();
        if exists {
            cmd!(sh, "buildah {storage...} manifest rm {name}")
                .quiet()
                .ignore_stdout()
                .run()?;
        }
    }
    Ok(())
}

/// Creates the pinned buildx builder `name` unless it exists. Two runs may create it at once:
/// a create that fails is judged by asking again, never by its exit code.
pub fn ensure_builder(sh: &Shell, step: &DockerBuilder) -> Result<()> {
    let name = &step.name;
    let exists = || -> Result<bool> {
        let out = cmd!(sh, "docker buildx inspect {name}")
            .quiet()
            .ignore_stdout()
            .ignore_stderr()
            .ignore_status()
            .output()?;
        Ok(out.status.success())
    };
    if exists()? {
        ui::note(&format!("the buildx builder {name} exists"));
        return Ok(());
    }
    let created = run_commands(sh, step);
    if created.is_err() && exists()? {
        ui::note(&format!("the buildx builder {name} was created meanwhile"));
        return Ok(());
    }
    created
}

/// Pushes `vX.Y.Z` unless it holds this image already; any other image there is an error.
pub fn push(run: &Publisher<'_>, step: &PushImage) -> Result<Published> {
    let (build, target) = (&step.build, &step.target);
    let (repository, tag) = target
        .rsplit_once(':')
        .context("the image target has no tag")?;
    let reference = Reference::new(repository, tag);
    let local = layout_configs(&run.project.root.join(IMAGE_LAYOUT_DIR))?;

    let (found, pushed) = match run.registry.manifest(&reference)? {
        Some(found) => (found, false),
        None => {
            run_commands(run.sh, step)?;
            let found = run
                .registry
                .manifest(&reference)?
                .with_context(|| format!("{target} is missing right after the push"))?;
            (found, true)
        }
    };
    let remote = remote_configs(run, &reference, &found.body)?;
    let platforms: Vec<String> = build.platforms.iter().map(|p| p.name()).collect();
    match rules::compare_images(&local, &remote, &platforms) {
        ImageComparison::Same => {}
        ImageComparison::Different if pushed => bail!(
            "{target} as pushed differs from the local build in {IMAGE_LAYOUT_DIR}: the image build is not reproducible here"
        ),
        ImageComparison::Different => bail!(
            "{target} already holds a different image ({}): a published version is never overwritten; release a new version",
            found.digest
        ),
        ImageComparison::MissingPlatforms(missing) => {
            bail!("{target} lacks the platforms {}", missing.join(", "))
        }
    }
    if !pushed {
        ui::note(&format!(
            "{target} already holds this image ({}): nothing to push",
            found.digest
        ));
    }
    Ok(Published {
        what: "image",
        reference: target.clone(),
        digest: found.digest,
        state: if pushed {
            State::Pushed
        } else {
            State::AlreadyThere
        },
    })
}

/// Points a tag at the digest of `vX.Y.Z`: done when it does already, an error for an
/// immutable tag holding something else, and for a moving tag a move only forward of what
/// it holds now, or over what is no release of its line ([`rules::move_moving_tag`]): the plan gives a moving tag to the highest
/// release the clone knows, but another tag's run may have published a newer one meanwhile.
pub fn tag(run: &Publisher<'_>, step: &TagImage, digest: &str) -> Result<Published> {
    let (repository, tag, moving) = (&step.repository, &step.tag, &step.moving);
    let reference = Reference::new(repository, tag);
    let shown = format!("{repository}:{tag}");
    let published = |digest: &str, state| Published {
        what: "image",
        reference: shown.clone(),
        digest: digest.to_string(),
        state,
    };
    let holder = match run.registry.manifest(&reference)? {
        None => Holder::Nothing,
        Some(found) if found.digest == digest => {
            ui::note(&format!("{shown} already points at {digest}"));
            return Ok(published(digest, State::AlreadyThere));
        }
        Some(found) => match moving {
            None => bail!(
                "{shown} already holds {}, not {digest}: an immutable tag is never moved",
                found.digest
            ),
            Some(_) => Holder::Image {
                version: held_version(run, &reference, &found.body)?,
                retargeted_from: retargeted_from(run, repository, tag, &found.digest)?,
                digest: found.digest,
            },
        },
    };
    if let (Some(version), Holder::Image { digest: held, .. }) = (moving, &holder) {
        match rules::move_moving_tag(tag, version, digest, &holder) {
            Move::Keep(why) => {
                ui::note(&why);
                return Ok(published(held, State::KeptNewer));
            }
            Move::Replace(why) => ui::note(&why),
            Move::Set | Move::AlreadyThere => {}
        }
    }
    let with_digest = TagImage {
        digest: Some(digest.to_string()),
        ..step.clone()
    };
    run_commands(run.sh, &with_digest)?;
    let now = run
        .registry
        .manifest(&reference)?
        .with_context(|| format!("{shown} is missing right after tagging"))?;
    if now.digest != digest {
        bail!(
            "{shown} points at {} after tagging, not {digest}",
            now.digest
        );
    }
    Ok(published(digest, State::Pushed))
}

/// The release `repository:tag` was moved back from by `release retarget`, when its record
/// is current (names the digest the tag holds).
fn retargeted_from(
    run: &Publisher<'_>,
    repository: &str,
    tag: &str,
    held: &str,
) -> Result<Option<Version>> {
    let reference = Reference::new(repository, &retarget::record_tag(tag));
    let Some(found) = run.registry.manifest(&reference)? else {
        return Ok(None);
    };
    let record = Retarget::parse(&found.body, tag, run.version_tags)
        .map_err(|why| anyhow::anyhow!("{reference}: {why}"))?;
    Ok(record.is_current(held).then_some(record.from))
}

/// The release a tagged image was built for, from its version label; `None` when the label
/// is missing or is no release version.
fn held_version(run: &Publisher<'_>, reference: &Reference, body: &str) -> Result<Option<Version>> {
    let labels = run
        .registry
        .image_labels(reference, &oci::parse_manifest(body)?)
        .with_context(|| format!("cannot read what {reference} holds"))?;
    Ok(labels
        .get(oci::VERSION_LABEL)
        .and_then(|label| grammar::release_tag(label))
        .filter(|t| t.kind == TagKind::Version)
        .map(|t| t.version))
}

fn remote_configs(
    run: &Publisher<'_>,
    reference: &Reference,
    body: &str,
) -> Result<BTreeMap<String, String>> {
    let manifest = oci::parse_manifest(body)?;
    oci::platform_configs(&manifest, &mut |digest| {
        run.registry.manifest_body(reference, digest)
    })
}

/// Platform → config digest of the image in an OCI layout directory. Its `index.json`
/// either is the multi-platform index or points at it.
pub fn layout_configs(layout: &Path) -> Result<BTreeMap<String, String>> {
    let blob = |digest: &str| -> Result<String> {
        let path = layout.join("blobs").join(digest.replacen(':', "/", 1));
        std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    };
    let index_path = layout.join("index.json");
    let top = std::fs::read_to_string(&index_path).with_context(|| {
        format!(
            "cannot read {}: the image build step must run first",
            index_path.display()
        )
    })?;
    let top = oci::parse_manifest(&top)?;
    let root = match &top {
        Manifest::Index(entries)
            if entries.len() == 1
                && entries[0].platform.is_none()
                && (entries[0].media_type.contains("index")
                    || entries[0].media_type.contains("list")) =>
        {
            oci::parse_manifest(&blob(&entries[0].digest)?)?
        }
        _ => top,
    };
    oci::platform_configs(&root, &mut |digest| blob(digest))
}
