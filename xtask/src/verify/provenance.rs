//! The provenance rules: what `gh attestation verify` said about the image index and the
//! chart of a release, turned into one [`Check`] per rule.
//!
//! gh does the cryptography: it reads the attestations attached to the artifact in its
//! registry (`--bundle-from-oci`), checks each signature and certificate against the
//! trusted root, that the statement names the artifact's digest, that the certificate was
//! issued for a GitHub Actions token, and that the repository's owner is the configured
//! one. It holds nothing more, and its JSON is judged here, so that a failure says what was
//! found (gh itself only says "verifying with issuer …" when the repository or the workflow
//! differs). The rules, each a check: the attestation was made by a run of this
//! repository, by the workflow that publishes that artifact, for the tag `vX.Y.Z` (not a
//! branch, nor another version's tag on the same commit), from the commit of `vX.Y.Z`.
//! No attestation, or one gh refuses, fails; a question that could not be asked is
//! unknown, never a pass.

use semver::Version;
use serde_yaml::Value;

use crate::check::{Check, CheckId, Lookup, ProvenanceRule};
use crate::config::Config;
use crate::invocation::Invocation;
use crate::tag::git::tag_ref;
use crate::tag::grammar::version_tag;

/// The workflow that publishes, and so attests, the image index.
pub const IMAGE_WORKFLOW: &str = ".github/workflows/docker.yml";
/// The workflow that publishes, and so attests, the chart.
pub const CHART_WORKFLOW: &str = ".github/workflows/helm-publish.yml";

/// How long one `gh attestation verify` may take: it reads a few manifests and blobs.
pub const VERIFY_TIMEOUT_SECS: u64 = 120;

/// The certificates of GitHub Actions name the repository under this host.
const GITHUB: &str = "https://github.com/";

/// One artifact whose provenance is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `image` or `chart`: the first word of its checks' names.
    pub what: &'static str,
    /// `HOST/NAME`, the repository in its registry.
    pub repository: String,
    pub tag: String,
    /// The workflow file that must have signed it.
    pub workflow: &'static str,
}

impl Subject {
    /// `HOST/NAME:TAG`, as gh takes it after `oci://`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

/// The image under `vX.Y.Z` and the chart `X.Y.Z`: what a release publishes.
pub fn subjects(config: &Config, version: &Version, chart_name: &str) -> [Subject; 2] {
    [
        Subject {
            what: "image",
            repository: config.image.clone(),
            tag: version_tag(version),
            workflow: IMAGE_WORKFLOW,
        },
        Subject {
            what: "chart",
            repository: format!("{}/{chart_name}", config.chart_registry_path()),
            tag: version.to_string(),
            workflow: CHART_WORKFLOW,
        },
    ]
}

/// The one command that asks gh. `--bundle-from-oci` reads the attestations from the
/// registry, so no GitHub API is needed; with `trusted_root` (`RELEASE_TRUSTED_ROOT`) no
/// Sigstore service is asked either, which serves air-gapped machines and the tests.
/// On that path gh still refuses to start without a token it never sends, so `dummy_token`
/// (no `GH_TOKEN` or `GITHUB_TOKEN` set) gives it a placeholder.
///
/// gh holds the owner (the certificate's `SourceRepositoryOwnerURI`, which it names when it
/// differs); `--cert-identity-regex` widens its default, a signer under the owner's URL, to
/// any GitHub workflow, because [`checks`] holds the signer to the exact workflow and says
/// which one signed where gh would only say "verifying with issuer".
pub fn verify_command(
    config: &Config,
    subject: &Subject,
    trusted_root: Option<&str>,
    dummy_token: bool,
) -> Invocation {
    let owner = config.github_repo.split('/').next().unwrap_or_default();
    let mut args = vec![
        "attestation".to_string(),
        "verify".into(),
        format!("oci://{}", subject.reference()),
        "--owner".into(),
        owner.into(),
        "--cert-identity-regex".into(),
        format!("^{}", GITHUB.replace('.', "\\.")),
        "--bundle-from-oci".into(),
        "--format".into(),
        "json".into(),
    ];
    if let Some(root) = trusted_root {
        args.extend(["--custom-trusted-root".to_string(), root.to_string()]);
    }
    let cmd = Invocation::new("gh", args).timeout(VERIFY_TIMEOUT_SECS);
    if dummy_token {
        cmd.env("GH_TOKEN", "dummy")
    } else {
        cmd
    }
}

/// One attestation gh verified, by the fields of its signing certificate (which come from
/// GitHub's OIDC token, not from the workflow) and the digest its statement names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// `https://github.com/OWNER/NAME`: the repository whose run signed it.
    pub source_repository: String,
    /// `https://github.com/OWNER/NAME/.github/workflows/FILE@REF`: the workflow that signed.
    pub signer: String,
    /// The commit the run was for.
    pub source_commit: String,
    /// `refs/tags/vX.Y.Z`: the ref the run was for.
    pub source_ref: String,
    /// `sha256:…` of the artifact the statement is about.
    pub subject_digest: String,
    /// The signature of its DSSE envelope: what ties it to its manifest in the registry.
    pub signature: String,
    /// The digest of the attestation's own manifest in the registry, once found there
    /// ([`bundle_manifests`]); the record of a release names it.
    pub manifest: Option<String>,
}

/// What gh answered about one artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attested {
    /// Every attestation that verified, at least one.
    Verified(Vec<Attestation>),
    /// gh found attestations but refused them: its reason (another owner, a signature that
    /// does not verify, a statement about another artifact, an unknown signer).
    Refused(String),
}

/// What gh answered for each artifact of a release.
pub type Answers = Vec<(Subject, Lookup<Attested>)>;

/// The checks of every artifact's provenance, in the order of [`subjects`].
pub fn checks_all(
    config: &Config,
    version: &Version,
    commit: &Lookup<String>,
    answers: &Answers,
) -> Vec<Check> {
    answers
        .iter()
        .flat_map(|(subject, attested)| checks(config, version, commit, subject, attested))
        .collect()
}

/// Reads gh's `--format json` output: an array of `{attestation, verificationResult}`.
pub fn read_verified(stdout: &str) -> Result<Vec<Attestation>, String> {
    let value: Value = serde_yaml::from_str(stdout)
        .map_err(|e| format!("gh attestation verify printed invalid JSON: {e}"))?;
    let entries = value
        .as_sequence()
        .ok_or("gh attestation verify printed no array of results")?;
    let mut found = Vec::new();
    for entry in entries {
        let result = &entry["verificationResult"];
        let cert = &result["signature"]["certificate"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let subject_digest = result["statement"]["subject"]
            .as_sequence()
            .and_then(|s| s.first())
            .and_then(|s| s["digest"]["sha256"].as_str())
            .map(|hex| format!("sha256:{hex}"))
            .unwrap_or_default();
        found.push(Attestation {
            source_repository: text(&cert["sourceRepositoryURI"]),
            signer: text(&cert["buildSignerURI"]),
            source_commit: text(&cert["sourceRepositoryDigest"]),
            source_ref: text(&cert["sourceRepositoryRef"]),
            subject_digest,
            signature: envelope_signature(&entry["attestation"]["bundle"]),
            manifest: None,
        });
    }
    if found.is_empty() {
        return Err("gh attestation verify succeeded but listed no attestation".into());
    }
    Ok(found)
}

/// The first signature of a bundle's DSSE envelope.
fn envelope_signature(bundle: &Value) -> String {
    bundle["dsseEnvelope"]["signatures"]
        .as_sequence()
        .and_then(|s| s.first())
        .and_then(|s| s["sig"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// `sha256-<hex>`: the tag under which a registry without the referrers API keeps the
/// referrers of the artifact `digest` (the OCI distribution spec's referrers tag schema), as
/// `@sigstore/oci` writes it and gh reads it.
pub fn referrers_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1)
}

/// The attestations among an artifact's referrers (an OCI index): the digests of the
/// manifests whose artifact type is a Sigstore bundle.
pub fn bundle_manifests(index: &str) -> Result<Vec<String>, String> {
    let value: Value =
        serde_yaml::from_str(index).map_err(|e| format!("the referrers index is not JSON: {e}"))?;
    Ok(value["manifests"]
        .as_sequence()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|m| {
            m["artifactType"]
                .as_str()
                .is_some_and(|t| t.starts_with("application/vnd.dev.sigstore.bundle"))
        })
        .filter_map(|m| m["digest"].as_str().map(str::to_string))
        .collect())
}

/// The signature of a Sigstore bundle as the registry holds it (the blob of an
/// attestation's manifest), to match it with one gh verified.
pub fn bundle_signature(bundle: &str) -> Option<String> {
    let value: Value = serde_yaml::from_str(bundle).ok()?;
    Some(envelope_signature(&value)).filter(|s| !s.is_empty())
}

/// What a failed `gh attestation verify` means, from what it printed on stderr: no
/// attestation, attestations refused, or no answer (the registry, the trusted root, gh).
/// Anything not recognised is unknown: it fails the check, but is never called absent.
pub fn read_failure(stderr: &str) -> Lookup<Attested> {
    let said = stderr
        .lines()
        .map(|l| l.trim().trim_start_matches("Error: ").trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    // gh 2.103: "no attestations found in the OCI registry. Retry the command without …".
    if said.starts_with("no attestations found") {
        Lookup::Missing
    } else if [
        "verifying with issuer",
        "expected ",
        "failed to choose verifier",
    ]
    .iter()
    .any(|refusal| said.starts_with(refusal))
    {
        Lookup::Found(Attested::Refused(said))
    } else if said.is_empty() {
        Lookup::Unknown("gh attestation verify failed and said nothing".into())
    } else {
        Lookup::Unknown(format!("gh attestation verify: {said}"))
    }
}

/// The checks of one artifact's provenance: signer, workflow and commit when gh verified
/// an attestation, else one failing check that says what was found.
pub fn checks(
    config: &Config,
    version: &Version,
    commit: &Lookup<String>,
    subject: &Subject,
    attested: &Lookup<Attested>,
) -> Vec<Check> {
    let check =
        |rule, ok, detail: String| Check::new(CheckId::Provenance(subject.what, rule), ok, detail);
    let found = match attested {
        Lookup::Found(Attested::Verified(found)) => found,
        Lookup::Found(Attested::Refused(why)) => {
            return vec![check(
                ProvenanceRule::Attested,
                false,
                format!(
                    "{} has attestations, but none verifies: {why}",
                    subject.reference()
                ),
            )];
        }
        Lookup::Missing => {
            return vec![check(
                ProvenanceRule::Attested,
                false,
                format!(
                    "no attestation of {} in its registry: its workflow did not attest it, or it was pushed by something else",
                    subject.reference()
                ),
            )];
        }
        Lookup::Unknown(why) => {
            return vec![check(
                ProvenanceRule::Attested,
                false,
                format!("unknown: {why}"),
            )];
        }
    };

    let tag = version_tag(version);
    // The commit's rule is judged below, where an unknown commit is told from another one.
    let Some((best, [signed_here, by_workflow, at_tag, _])) =
        judged(config, version, commit, subject, found)
    else {
        return vec![check(
            ProvenanceRule::Attested,
            false,
            "gh verified no attestation".into(),
        )];
    };

    let signer = check(
        ProvenanceRule::Signer,
        signed_here,
        if signed_here {
            format!("{} ({} attested)", config.github_repo, best.subject_digest)
        } else {
            format!(
                "{}, expected {}",
                shown_repository(&best.source_repository),
                config.github_repo
            )
        },
    );
    let workflow_check = check(
        ProvenanceRule::Workflow,
        by_workflow,
        if by_workflow {
            shown_repository(&best.signer)
        } else {
            format!(
                "{}, expected {}/{}",
                shown_repository(&best.signer),
                config.github_repo,
                subject.workflow
            )
        },
    );
    let commit_check = match commit {
        Lookup::Found(c) if *c == best.source_commit => check(
            ProvenanceRule::Commit,
            true,
            format!("{c}, the commit of {tag}"),
        ),
        Lookup::Found(c) => check(
            ProvenanceRule::Commit,
            false,
            format!("built from {}, but {tag} is on {c}", best.source_commit),
        ),
        Lookup::Missing => check(
            ProvenanceRule::Commit,
            false,
            format!(
                "built from {}, and {tag} is not on the remote",
                best.source_commit
            ),
        ),
        Lookup::Unknown(why) => check(ProvenanceRule::Commit, false, format!("unknown: {why}")),
    };
    let wanted_ref = tag_ref(&tag);
    let ref_check = check(
        ProvenanceRule::Ref,
        at_tag,
        match signer_ref(best) {
            _ if at_tag => format!("{wanted_ref}, the tag of {tag}"),
            _ if best.source_ref != wanted_ref => {
                format!("built from {}, expected {wanted_ref}", best.source_ref)
            }
            signed_at => format!(
                "signed by the workflow at {}, expected {wanted_ref}",
                signed_at.unwrap_or("no ref")
            ),
        },
    );
    vec![signer, workflow_check, ref_check, commit_check]
}

/// The ref the signing workflow ran at: what follows `@` in its URI.
fn signer_ref(attestation: &Attestation) -> Option<&str> {
    attestation.signer.rsplit_once('@').map(|(_, at)| at)
}

/// Of the attestations gh verified, the one to judge: the first of those that keep the most
/// rules, with which rules it keeps (signer, workflow, ref, commit). The ref is the tag of
/// the version gated, both the run's source ref and the ref its workflow ran at: another
/// version's tag on the same commit, a branch or a pull request is not this release.
fn judged<'a>(
    config: &Config,
    version: &Version,
    commit: &Lookup<String>,
    subject: &Subject,
    found: &'a [Attestation],
) -> Option<(&'a Attestation, [bool; 4])> {
    let repository = format!("{GITHUB}{}", config.github_repo);
    let workflow = format!("{repository}/{}@", subject.workflow);
    let wanted_ref = tag_ref(&version_tag(version));
    let kept = |a: &Attestation| {
        [
            a.source_repository.eq_ignore_ascii_case(&repository),
            a.signer
                .get(..workflow.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(&workflow)),
            a.source_ref == wanted_ref && signer_ref(a) == Some(wanted_ref.as_str()),
            matches!(commit, Lookup::Found(c) if *c == a.source_commit),
        ]
    };
    let count = |a: &Attestation| kept(a).into_iter().filter(|ok| *ok).count();
    let most = found.iter().map(count).max()?;
    found
        .iter()
        .find(|a| count(a) == most)
        .map(|a| (a, kept(a)))
}

/// The attestation of `subject` that keeps every rule, if gh verified one: what the record of
/// a release names.
pub fn approved<'a>(
    config: &Config,
    version: &Version,
    commit: &Lookup<String>,
    subject: &Subject,
    attested: &'a Lookup<Attested>,
) -> Option<&'a Attestation> {
    let Lookup::Found(Attested::Verified(found)) = attested else {
        return None;
    };
    judged(config, version, commit, subject, found)
        .filter(|(_, kept)| kept.iter().all(|ok| *ok))
        .map(|(a, _)| a)
}

/// `OWNER/NAME…` from `https://github.com/OWNER/NAME…`, or the URI as it is.
fn shown_repository(uri: &str) -> String {
    uri.strip_prefix(GITHUB).unwrap_or(uri).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    /// What gh 2.103.3 printed for `gh attestation verify oci://127.0.0.1:5055/llm-proxy:v1.2.3
    /// --owner sofatutor --bundle-from-oci --format json --custom-trusted-root …`: the
    /// attestation `@actions/attest` 3.2.0 made for sofatutor/llm-proxy's docker.yml at
    /// `refs/tags/v1.2.3`, commit COMMIT (see `tests/it/real/provenance.rs`).
    const VERIFIED: &str = include_str!("testdata/gh-attestation-verify.json");
    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    fn version() -> Version {
        Version::new(1, 2, 3)
    }

    fn image() -> Subject {
        subjects(&config::example(), &version(), "llm-proxy")[0].clone()
    }

    fn attestation(repository: &str, workflow: &str, commit: &str) -> Attestation {
        Attestation {
            source_repository: format!("https://github.com/{repository}"),
            signer: format!("https://github.com/{repository}/{workflow}@refs/tags/v1.2.3"),
            source_commit: commit.into(),
            source_ref: "refs/tags/v1.2.3".into(),
            subject_digest: "sha256:aaaa".into(),
            signature: "MEUCIQ…".into(),
            manifest: None,
        }
    }

    /// The checks' lines, as `release verify` prints them.
    fn lines(commit: Lookup<String>, attested: Lookup<Attested>) -> Vec<String> {
        checks(&config::example(), &version(), &commit, &image(), &attested)
            .into_iter()
            .map(|c| format!("{} {}: {}", if c.ok { "✓" } else { "✗" }, c.id, c.detail))
            .collect()
    }

    fn verified(found: Vec<Attestation>) -> Lookup<Attested> {
        Lookup::Found(Attested::Verified(found))
    }

    #[test]
    fn subjects_are_the_image_index_and_the_chart_by_their_release_tags() {
        let [image, chart] = subjects(&config::example(), &version(), "llm-proxy");
        assert_eq!(image.reference(), "ghcr.io/sofatutor/llm-proxy:v1.2.3");
        assert_eq!(image.workflow, ".github/workflows/docker.yml");
        assert_eq!(
            chart.reference(),
            "ghcr.io/sofatutor/charts/llm-proxy:1.2.3"
        );
        assert_eq!(chart.workflow, ".github/workflows/helm-publish.yml");
    }

    #[test]
    fn the_command_asks_the_registry_and_holds_the_owner() {
        let config = config::example();
        assert_eq!(
            verify_command(&config, &image(), None, false).to_string(),
            r"timeout --kill-after=5 120 gh attestation verify oci://ghcr.io/sofatutor/llm-proxy:v1.2.3 --owner sofatutor --cert-identity-regex '^https://github\.com/' --bundle-from-oci --format json"
        );
        assert_eq!(
            verify_command(&config, &image(), Some("/tmp/root.jsonl"), true).to_string(),
            r"GH_TOKEN=dummy timeout --kill-after=5 120 gh attestation verify oci://ghcr.io/sofatutor/llm-proxy:v1.2.3 --owner sofatutor --cert-identity-regex '^https://github\.com/' --bundle-from-oci --format json --custom-trusted-root /tmp/root.jsonl"
        );
    }

    #[test]
    fn reads_what_gh_printed() {
        let found = read_verified(VERIFIED).unwrap();
        assert_eq!(
            found,
            [Attestation {
                source_repository: "https://github.com/sofatutor/llm-proxy".into(),
                signer: "https://github.com/sofatutor/llm-proxy/.github/workflows/docker.yml@refs/tags/v1.2.3".into(),
                source_commit: COMMIT.into(),
                source_ref: "refs/tags/v1.2.3".into(),
                subject_digest: found[0].subject_digest.clone(),
                signature: "MEQCID208dbR8qOf8cPYf9DMB7iNYrSpN+hQcVCuNinlGtxyAiAmd+QjjaK3AI6IJ3sNpZUlFo9gkgzeAkGKUvNMBuXptw==".into(),
                manifest: None,
            }]
        );
        assert!(found[0].subject_digest.starts_with("sha256:"));
        assert_eq!(found[0].subject_digest.len(), 71);
        assert!(read_verified("[]").unwrap_err().contains("no attestation"));
        assert!(read_verified("{}").unwrap_err().contains("no array"));
        assert!(read_verified("[").unwrap_err().contains("invalid JSON"));
    }

    #[test]
    fn the_right_repository_workflow_and_commit_pass() {
        let found = read_verified(VERIFIED).unwrap();
        let digest = found[0].subject_digest.clone();
        assert_eq!(
            lines(Lookup::Found(COMMIT.into()), verified(found)),
            [
                format!("✓ image provenance signer: sofatutor/llm-proxy ({digest} attested)"),
                "✓ image provenance workflow: sofatutor/llm-proxy/.github/workflows/docker.yml@refs/tags/v1.2.3".to_string(),
                "✓ image provenance ref: refs/tags/v1.2.3, the tag of v1.2.3".to_string(),
                format!("✓ image provenance commit: {COMMIT}, the commit of v1.2.3"),
            ]
        );
    }

    #[test]
    fn each_wrong_finding_fails_its_own_check_and_names_what_was_found() {
        let commit = || Lookup::Found(COMMIT.to_string());
        let failed = |commit: Lookup<String>, a: Attestation| -> Vec<String> {
            lines(commit, verified(vec![a]))
                .into_iter()
                .filter(|l| l.starts_with('✗'))
                .collect()
        };
        let docker = ".github/workflows/docker.yml";
        assert_eq!(
            failed(commit(), attestation("sofatutor/fork", docker, COMMIT)),
            [
                "✗ image provenance signer: sofatutor/fork, expected sofatutor/llm-proxy",
                "✗ image provenance workflow: sofatutor/fork/.github/workflows/docker.yml@refs/tags/v1.2.3, expected sofatutor/llm-proxy/.github/workflows/docker.yml",
            ]
        );
        assert_eq!(
            failed(
                commit(),
                attestation("sofatutor/llm-proxy", ".github/workflows/ci.yml", COMMIT)
            ),
            [
                "✗ image provenance workflow: sofatutor/llm-proxy/.github/workflows/ci.yml@refs/tags/v1.2.3, expected sofatutor/llm-proxy/.github/workflows/docker.yml"
            ]
        );
        // The chart's workflow does not sign the image.
        assert_eq!(
            failed(
                commit(),
                attestation("sofatutor/llm-proxy", CHART_WORKFLOW, COMMIT)
            )
            .len(),
            1
        );
        assert_eq!(
            failed(
                commit(),
                attestation("sofatutor/llm-proxy", docker, &"f".repeat(40))
            ),
            [format!(
                "✗ image provenance commit: built from {}, but v1.2.3 is on {COMMIT}",
                "f".repeat(40)
            )]
        );
        assert_eq!(
            failed(
                Lookup::Missing,
                attestation("sofatutor/llm-proxy", docker, COMMIT)
            ),
            [format!(
                "✗ image provenance commit: built from {COMMIT}, and v1.2.3 is not on the remote"
            )]
        );
        // A workflow path that only starts like the expected one.
        assert_eq!(
            failed(
                commit(),
                attestation(
                    "sofatutor/llm-proxy",
                    ".github/workflows/docker.yml.evil",
                    COMMIT
                )
            )
            .len(),
            1
        );
        // GitHub names are case-insensitive.
        assert!(failed(commit(), attestation("Sofatutor/LLM-Proxy", docker, COMMIT)).is_empty());
    }

    #[test]
    fn of_several_attestations_the_one_keeping_most_rules_is_judged() {
        let docker = ".github/workflows/docker.yml";
        let good = attestation("sofatutor/llm-proxy", docker, COMMIT);
        let fork = attestation("sofatutor/fork", docker, COMMIT);
        let all = lines(
            Lookup::Found(COMMIT.into()),
            verified(vec![fork.clone(), good]),
        );
        assert!(all.iter().all(|l| l.starts_with('✓')), "{all:#?}");
        let other = attestation("sofatutor/other", docker, COMMIT);
        let first = lines(Lookup::Found(COMMIT.into()), verified(vec![fork, other]));
        assert_eq!(
            first[0],
            "✗ image provenance signer: sofatutor/fork, expected sofatutor/llm-proxy"
        );
    }

    #[test]
    fn no_attestation_a_refused_one_or_no_answer_is_one_failing_check() {
        let commit = || Lookup::Found(COMMIT.to_string());
        assert_eq!(
            lines(commit(), Lookup::Missing),
            [
                "✗ image provenance: no attestation of ghcr.io/sofatutor/llm-proxy:v1.2.3 in its registry: its workflow did not attest it, or it was pushed by something else"
            ]
        );
        assert_eq!(
            lines(
                commit(),
                Lookup::Found(Attested::Refused(
                    "verifying with issuer \"sigstore\"".into()
                ))
            ),
            [
                "✗ image provenance: ghcr.io/sofatutor/llm-proxy:v1.2.3 has attestations, but none verifies: verifying with issuer \"sigstore\""
            ]
        );
        assert_eq!(
            lines(commit(), Lookup::Unknown("connection refused".into())),
            ["✗ image provenance: unknown: connection refused"]
        );
        let unknown_commit = lines(
            Lookup::Unknown("no answer".into()),
            verified(read_verified(VERIFIED).unwrap()),
        );
        assert_eq!(
            unknown_commit[3],
            "✗ image provenance commit: unknown: no answer"
        );
    }

    #[test]
    fn the_run_must_be_for_the_tag_of_the_version_gated() {
        let failed = |source_ref: &str, signer_ref: &str| -> Vec<String> {
            let mut a = attestation(
                "sofatutor/llm-proxy",
                ".github/workflows/docker.yml",
                COMMIT,
            );
            a.source_ref = source_ref.into();
            a.signer = a.signer.replace("refs/tags/v1.2.3", signer_ref);
            lines(Lookup::Found(COMMIT.into()), verified(vec![a]))
                .into_iter()
                .filter(|l| l.starts_with('✗'))
                .collect()
        };
        assert!(failed("refs/tags/v1.2.3", "refs/tags/v1.2.3").is_empty());
        // Another version tagged on the same commit, a branch, a pull request.
        for other in ["refs/tags/v1.2.4", "refs/heads/main", "refs/pull/7/merge"] {
            assert_eq!(
                failed(other, other),
                [format!(
                    "✗ image provenance ref: built from {other}, expected refs/tags/v1.2.3"
                )]
            );
        }
        assert_eq!(
            failed("refs/tags/v1.2.3", "refs/heads/main"),
            [
                "✗ image provenance ref: signed by the workflow at refs/heads/main, expected refs/tags/v1.2.3"
            ]
        );
        // Of two attestations, the one for the tag is judged and approved.
        let mut branch = attestation(
            "sofatutor/llm-proxy",
            ".github/workflows/docker.yml",
            COMMIT,
        );
        branch.source_ref = "refs/heads/main".into();
        branch.signer = branch.signer.replace("refs/tags/v1.2.3", "refs/heads/main");
        let good = attestation(
            "sofatutor/llm-proxy",
            ".github/workflows/docker.yml",
            COMMIT,
        );
        let both = verified(vec![branch.clone(), good.clone()]);
        let commit = Lookup::Found(COMMIT.to_string());
        let config = config::example();
        assert_eq!(
            approved(&config, &version(), &commit, &image(), &both),
            Some(&good)
        );
        assert_eq!(
            approved(
                &config,
                &version(),
                &commit,
                &image(),
                &verified(vec![branch])
            ),
            None
        );
    }

    #[test]
    fn attestations_are_found_among_the_referrers_by_their_signature() {
        assert_eq!(referrers_tag("sha256:31538c5b"), "sha256-31538c5b");
        // The index @sigstore/oci 0.7.2 wrote under the fallback tag in distribution 2.8.
        let index = r#"{"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2,"manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:492f","size":811,"artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json",
             "annotations":{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"https://slsa.dev/provenance/v1"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:5bom","size":500,"artifactType":"application/spdx+json"}]}"#;
        assert_eq!(bundle_manifests(index).unwrap(), ["sha256:492f"]);
        assert_eq!(bundle_manifests("{}").unwrap(), Vec::<String>::new());
        assert!(bundle_manifests("[").is_err());
        let bundle = r#"{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"MEUCIQabc"}]}}"#;
        assert_eq!(bundle_signature(bundle).as_deref(), Some("MEUCIQabc"));
        assert_eq!(bundle_signature("{}"), None);
    }

    #[test]
    fn only_an_attestation_keeping_every_rule_is_approved() {
        let config = config::example();
        let commit = Lookup::Found(COMMIT.to_string());
        let docker = ".github/workflows/docker.yml";
        let good = attestation("sofatutor/llm-proxy", docker, COMMIT);
        let fork = attestation("sofatutor/fork", docker, COMMIT);
        let both = verified(vec![fork.clone(), good.clone()]);
        assert_eq!(
            approved(&config, &version(), &commit, &image(), &both),
            Some(&good)
        );
        let fork_only = verified(vec![fork]);
        assert_eq!(
            approved(&config, &version(), &commit, &image(), &fork_only),
            None
        );
        assert_eq!(
            approved(&config, &version(), &commit, &image(), &Lookup::Missing),
            None
        );
    }

    #[test]
    fn what_gh_said_when_it_failed() {
        // gh 2.103.3's messages, as printed on stderr.
        let cases: [(&str, Lookup<Attested>); 7] = [
            (
                "Error: no attestations found in the OCI registry. Retry the command without the --bundle-from-oci flag to check GitHub for the attestation\n",
                Lookup::Missing,
            ),
            (
                "Error: verifying with issuer \"sigstore.mock\"\n",
                Lookup::Found(Attested::Refused(
                    "verifying with issuer \"sigstore.mock\"".into(),
                )),
            ),
            (
                "Error: expected SourceRepositoryOwnerURI to be https://github.com/sofatutor, got https://github.com/evil\n",
                Lookup::Found(Attested::Refused(
                    "expected SourceRepositoryOwnerURI to be https://github.com/sofatutor, got https://github.com/evil".into(),
                )),
            ),
            (
                "Error: failed to choose verifier based on provided bundle issuer: no custom verifier found for issuer \"sigstore.mock\"\n",
                Lookup::Found(Attested::Refused(
                    "failed to choose verifier based on provided bundle issuer: no custom verifier found for issuer \"sigstore.mock\"".into(),
                )),
            ),
            (
                "Error: failed to fetch remote image: Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused\n",
                Lookup::Unknown("gh attestation verify: failed to fetch remote image: Get \"http://127.0.0.1:5999/v2/\": dial tcp 127.0.0.1:5999: connect: connection refused".into()),
            ),
            (
                "error creating Sigstore verifier: error creating custom verifiers: unable to read file nofile.jsonl: open nofile.jsonl: no such file or directory\n",
                Lookup::Unknown("gh attestation verify: error creating Sigstore verifier: error creating custom verifiers: unable to read file nofile.jsonl: open nofile.jsonl: no such file or directory".into()),
            ),
            (
                "",
                Lookup::Unknown("gh attestation verify failed and said nothing".into()),
            ),
        ];
        for (stderr, expected) in cases {
            assert_eq!(read_failure(stderr), expected, "{stderr}");
        }
    }
}
