//! The image steps of `release publish`: the local build into an OCI layout, the push of the
//! version tag that never overwrites, and the tags set by digest.
//!
//! "The same image" means the same config digest on every platform (see
//! [`oci::platform_configs`]): the build is reproducible (timestamps from the commit), so a
//! re-run rebuilds exactly what it pushed before and recognises it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::core::config::ImageBuilder;
use crate::core::oci::{self, Manifest, Reference};
use crate::core::plan::{BUILDAH_STORAGE, IMAGE_LAYOUT_DIR, ImageBuild, PublishStep};
use crate::project::Project;
use crate::steps::{Published, Publisher, run_commands};

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

/// Pushes `vX.Y.Z` unless it holds this image already; any other image there is an error.
pub fn push(run: &Publisher<'_>, step: &PublishStep) -> Result<Published> {
    let PublishStep::PushImage { build, target, .. } = step else {
        unreachable!("image::push runs PushImage steps")
    };
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
    if remote != local {
        if pushed {
            bail!(
                "{target} as pushed differs from the local build in {}: the image build is not reproducible here",
                IMAGE_LAYOUT_DIR
            );
        }
        bail!(
            "{target} already holds a different image ({}): a published version is never overwritten; release a new version",
            found.digest
        );
    }
    let missing: Vec<String> = build
        .platforms
        .iter()
        .map(|p| p.name())
        .filter(|p| !remote.contains_key(p))
        .collect();
    if !missing.is_empty() {
        bail!("{target} lacks the platforms {}", missing.join(", "));
    }
    if !pushed {
        crate::ui::note(&format!(
            "{target} already holds this image ({}): nothing to push",
            found.digest
        ));
    }
    Ok(Published {
        what: "image",
        reference: target.clone(),
        digest: found.digest,
        pushed,
    })
}

/// Points a tag at the digest of `vX.Y.Z`: done when it does already, an error for an
/// immutable tag holding something else, a move forward for a moving tag (the plan gives a
/// moving tag only to the highest release it belongs to).
pub fn tag(run: &Publisher<'_>, step: &PublishStep, digest: &str) -> Result<Published> {
    let PublishStep::TagImage {
        repository,
        tag,
        immutable,
        ..
    } = step
    else {
        unreachable!("image::tag runs TagImage steps")
    };
    let digest = digest.to_string();
    let reference = Reference::new(repository, tag);
    let shown = format!("{repository}:{tag}");
    let current = run.registry.manifest(&reference)?;
    let pushed = match current {
        Some(found) if found.digest == digest => {
            crate::ui::note(&format!("{shown} already points at {digest}"));
            false
        }
        Some(found) if *immutable => bail!(
            "{shown} already holds {}, not {digest}: an immutable tag is never moved",
            found.digest
        ),
        _ => {
            let mut with_digest = step.clone();
            if let PublishStep::TagImage { digest: d, .. } = &mut with_digest {
                *d = Some(digest.clone());
            }
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
            true
        }
    };
    Ok(Published {
        what: "image",
        reference: shown,
        digest,
        pushed,
    })
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
