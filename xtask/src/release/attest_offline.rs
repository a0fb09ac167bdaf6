//! `release attest-offline X.Y.Z` (hidden): what the workflows' attestation steps do after a
//! publish, done on this machine with no network, for `release rehearse`.
//!
//! The procedure: find the commit of `vX.Y.Z` and the digests the image and the chart were
//! published under, then have `scripts/provenance/attest.mjs` attest each as its publishing
//! workflow would (GitHub's signing library, with Sigstore's certificate and timestamp
//! authorities and the Actions OIDC token stood in for inside the process). Its stand-in
//! authorities go to `RELEASE_TRUSTED_ROOT`, which the rehearsal's later stages verify with.
//! Nothing it signs is trusted anywhere else.

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::cli::AttestOfflineArgs;
use crate::invocation::Invocation;
use crate::registry::oci::Reference;
use crate::registry::oci_io::{Credentials, Registry};
use crate::scratch::Scratch;
use crate::tag::grammar::version_tag;
use crate::verify::provenance;
use crate::{exec, project::Project, tag::git_io, verify::checks_io};

pub fn run(sh: &Shell, project: &Project, args: AttestOfflineArgs) -> Result<()> {
    let config = &project.config;
    let version = &args.version;
    let tag = version_tag(version);

    // STEP 1: where the stand-ins' trusted root goes, and the harness that signs.
    let trusted_root = config.trusted_root.as_deref().context(
        "RELEASE_TRUSTED_ROOT must name the file the stand-in authorities are written to (release rehearse sets it)",
    )?;
    if !crate::verify::provenance_io::harness_installed(sh, project) {
        bail!(
            "the offline signing harness is not installed: run scripts/install-test-tools.sh (it installs the npm packages of scripts/provenance/package-lock.json)"
        );
    }

    // STEP 2: what was published: the tagged commit, and the digest of each artifact.
    let commit = git_io::commit_of(sh, &format!("refs/tags/{tag}^{{commit}}"))?
        .with_context(|| format!("{tag} is not in this repository: publish it first"))?;
    let scratch = Scratch::new("attest")?;
    let credentials = Credentials::from_env(config)?;
    let images = Registry::new(sh, config.plain_http, credentials.as_ref(), scratch.path());
    let charts = images.for_charts();
    let chart_name = checks_io::chart_name(project)?;

    // STEP 3: each attested as its workflow attests it.
    for subject in provenance::subjects(config, version, &chart_name) {
        let registry = if subject.what == "chart" {
            &charts
        } else {
            &images
        };
        let reference = Reference::new(&subject.repository, &subject.tag);
        let digest = registry
            .manifest(&reference)?
            .with_context(|| format!("{reference} is not in the registry: publish it first"))?
            .digest;
        let command = Invocation::new(
            "node",
            [
                project.provenance_harness().display().to_string(),
                format!("{}@{digest}", subject.repository),
                "--trusted-root".into(),
                trusted_root.to_string(),
                "--repository".into(),
                config.github_repo.clone(),
                "--workflow".into(),
                subject.workflow.to_string(),
                "--ref".into(),
                format!("refs/tags/{tag}"),
                "--sha".into(),
                commit.clone(),
            ],
        );
        exec::run(sh, &command)?;
    }
    Ok(())
}
