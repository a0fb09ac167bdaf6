//! Asks gh about the signed build provenance of a release's image index and chart, one
//! artifact per thread, for `release verify --provenance` and for the promotion gate when
//! `provenance = true`; `verify::provenance` judges the answers, among `verify::checks`'s.
//!
//! gh reads the attestations from the registry (`--bundle-from-oci`), so no GitHub API is
//! asked, and with `RELEASE_TRUSTED_ROOT` no Sigstore service either. gh finds registry
//! logins where docker does (`$DOCKER_CONFIG/config.json` and its credential helpers); with
//! `RELEASE_REGISTRY_USER` set, that login, like every other registry read's, is the one gh
//! sees: written for it as docker's file in the run's scratch directory.
//! Then, for the record of a release, the registry is asked which of the artifact's
//! referrers hold the attestations gh verified (by their signatures): their digests.

use std::path::{Path, PathBuf};

use semver::Version;
use xshell::Shell;

use crate::check::Lookup;
use crate::config::Config;
use crate::exec;
use crate::invocation::Invocation;
use crate::project::Project;
use crate::registry::oci::{Manifest, Reference, parse_manifest};
use crate::registry::oci_io::{Credentials, Registry};
use crate::verify::provenance::{
    self, Answers, Attestation, Attested, Subject, bundle_manifests, bundle_signature,
    read_failure, read_verified, referrers_tag,
};

/// Asks gh about the image under `vX.Y.Z` and the chart `X.Y.Z`, side by side; the
/// registry reads (with `credentials`) write their answers under `scratch`.
pub fn ask(
    sh: &Shell,
    config: &Config,
    credentials: Option<&Credentials>,
    scratch: &Path,
    version: &Version,
    chart_name: &str,
) -> Answers {
    let trusted_root = config.trusted_root.as_deref().map(absolute);
    // gh insists on a token even where it sends none (`--bundle-from-oci` never calls the
    // API); a placeholder only when the user has none, so a real one is never replaced.
    let has_token = ["GH_TOKEN", "GITHUB_TOKEN"]
        .iter()
        .any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()));
    let subjects = provenance::subjects(config, version, chart_name);
    // gh takes a registry login from docker's file only (a workflow job has logged in
    // nowhere else): the job's `RELEASE_REGISTRY_USER` login, in a file of this run's own.
    let hosts: Vec<&str> = subjects
        .iter()
        .map(|s| s.repository.split('/').next().unwrap_or_default())
        .collect();
    let docker_config =
        credentials.map(|c| c.docker_config_dir(&scratch.join("gh-docker"), &hosts));
    let docker_config = match docker_config.transpose() {
        Ok(dir) => dir.map(|d| d.display().to_string()),
        Err(e) => {
            let failed = Lookup::Unknown(format!("{e:#}"));
            return subjects.into_iter().map(|s| (s, failed.clone())).collect();
        }
    };
    let answers = std::thread::scope(|s| {
        let asked: Vec<_> = subjects
            .iter()
            .map(|subject| {
                // xshell's Shell is Send but not Sync: each thread gets its own clone.
                let sh = sh.clone();
                let mut command = provenance::verify_command(
                    config,
                    subject,
                    trusted_root.as_deref(),
                    !has_token,
                );
                if let Some(dir) = &docker_config {
                    command = command.env("DOCKER_CONFIG", dir);
                }
                let dir: PathBuf = scratch.join(subject.what);
                s.spawn(move || {
                    let mut attested = ask_one(&sh, &command);
                    if let Lookup::Found(Attested::Verified(found)) = &mut attested {
                        let _ = std::fs::create_dir_all(&dir);
                        let registry = Registry::new(&sh, config.plain_http, credentials, &dir);
                        let registry = if subject.what == "chart" {
                            registry.for_charts()
                        } else {
                            registry
                        };
                        find_manifests(&registry, subject, &dir, found);
                    }
                    attested
                })
            })
            .collect();
        asked
            .into_iter()
            .map(|t| t.join().expect("a provenance thread does not panic"))
            .collect::<Vec<_>>()
    });
    subjects.into_iter().zip(answers).collect()
}

fn ask_one(sh: &Shell, command: &Invocation) -> Lookup<Attested> {
    let out = match exec::output(sh, command) {
        Ok(out) => out,
        Err(e) => return Lookup::Unknown(format!("{e:#}")),
    };
    if out.status.success() {
        return match read_verified(&String::from_utf8_lossy(&out.stdout)) {
            Ok(found) => Lookup::Found(Attested::Verified(found)),
            Err(why) => Lookup::Unknown(why),
        };
    }
    if exec::timed_out(&out) {
        return Lookup::Unknown(format!(
            "gh attestation verify gave no answer within {}s",
            provenance::VERIFY_TIMEOUT_SECS
        ));
    }
    read_failure(&String::from_utf8_lossy(&out.stderr))
}

/// Sets the `manifest` of each attestation gh verified: the referrer of the artifact whose
/// bundle has the same signature. The referrers are read from the `sha256-<hex>` tag (the
/// scheme `@sigstore/oci` falls back to without the referrers API, as on distribution 2.8).
/// Only the record reads these digests; a registry that does not answer leaves them unset.
fn find_manifests(
    registry: &Registry<'_>,
    subject: &Subject,
    dir: &Path,
    found: &mut [Attestation],
) {
    let mut digests: Vec<String> = found.iter().map(|a| a.subject_digest.clone()).collect();
    digests.dedup();
    for digest in digests {
        let referrers = Reference::new(&subject.repository, &referrers_tag(&digest));
        let Ok(Some(index)) = registry.manifest(&referrers) else {
            continue;
        };
        for manifest in bundle_manifests(&index.body).unwrap_or_default() {
            let layer = match registry
                .manifest_body(&referrers, &manifest)
                .map(|b| parse_manifest(&b))
            {
                Ok(Ok(Manifest::Image { layers, .. })) => layers.into_iter().next(),
                _ => None,
            };
            let Some(layer) = layer else { continue };
            let file = dir.join("bundle.json");
            if registry.blob(&referrers, &layer.digest, &file).is_err() {
                continue;
            }
            let signature = std::fs::read_to_string(&file)
                .ok()
                .and_then(|bundle| bundle_signature(&bundle));
            for attestation in found.iter_mut() {
                if signature.as_deref() == Some(attestation.signature.as_str())
                    && attestation.subject_digest == digest
                {
                    attestation.manifest = Some(manifest.clone());
                }
            }
        }
    }
}

/// gh runs in the repository's root: a relative path is the user's, from where they ran.
fn absolute(path: &str) -> String {
    std::path::absolute(Path::new(path))
        .map_or_else(|_| path.to_string(), |p| p.display().to_string())
}

/// Whether `scripts/provenance/attest.mjs`, the offline signing harness of the tests and
/// rehearsals, finds its npm packages.
pub fn harness_installed(sh: &Shell, project: &Project) -> bool {
    let check = Invocation::new(
        "node",
        [
            project.provenance_harness().display().to_string(),
            "--installed".into(),
        ],
    );
    which::which("node").is_ok() && exec::output(sh, &check).is_ok_and(|o| o.status.success())
}
