//! The verification rules of a published release: facts in, one [`Check`] per rule out,
//! one function per artifact (the tags, the image, its other tags, the chart, the GitHub
//! release and its record, the image run), the provenance judged in `verify::provenance`.
//!
//! The shell layer asks the registry, helm, gh and git (concurrently) and hands over what
//! each said as a [`Lookup`]: found, missing, or unknown because the question could not be
//! asked. Unknown is never a pass. Every check is reported, not only the first failure.
//! What a release should be is asked of the rules publish follows (`publish::rules`,
//! `publish::chart`, `tag::plan::promotion`), never derived a second time here.

use crate::check::{Check, CheckId, Gate, Lookup};
use crate::config::Config;
use crate::json::Json;
use crate::publish::chart::{self, ChartVersions};
use crate::publish::retarget;
use crate::publish::rules::{self, Owner};
use crate::tag::grammar;
use crate::tag::plan::{Promotion, promotion};
use crate::verify::facts::{ImageIndex, PublishedRelease, ReleaseFacts};
use crate::verify::provenance;
use crate::verify::record;

/// Every check of the release: what `release verify` prints and the promotion gate decides on.
pub fn verify(config: &Config, facts: &ReleaseFacts) -> Vec<Check> {
    checks(config, facts, false)
}

/// The promotion gate: every artifact check must pass. A chart not there at all is said
/// plainly, since its workflow (always the last to publish) is then usually still running;
/// a chart there before its image is a broken release, and gets every failing check.
pub fn promotion_gate(config: &Config, facts: &ReleaseFacts) -> Gate {
    if facts.chart != Lookup::Missing {
        return Gate::from_checks(&verify(config, facts));
    }
    let mut missing = Vec::new();
    if facts.version_image == Lookup::Missing {
        let image = grammar::version_tag(&facts.version);
        missing.push(format!("the image {image}"));
    }
    missing.push(format!("the chart {}", facts.version));
    Gate::NotPublished(missing)
}

/// The gate of a GitHub release: the promotion gate, and the stable tag on the remote, on
/// the commit of the version tag (a stable tag pushed by hand gets no release otherwise).
pub fn release_gate(config: &Config, facts: &ReleaseFacts) -> Gate {
    Gate::from_checks(&checks(config, facts, true))
}

fn checks(config: &Config, facts: &ReleaseFacts, stable_required: bool) -> Vec<Check> {
    let mut checks = tags(facts, stable_required);
    checks.extend(image(config, facts));
    checks.extend(image_tags(config, facts));
    checks.extend(chart(config, facts));
    if let Some(answers) = &facts.provenance {
        checks.extend(provenance::checks_all(
            config,
            &facts.version,
            &facts.commit,
            answers,
        ));
    }
    if let Some(release) = &facts.github_release {
        checks.extend(github_release(config, facts, release));
    }
    if let Some(run) = &facts.run_output {
        checks.push(image_runs(config, facts, run));
    }
    checks
}

/// The check of one thing looked up: `judge` says whether what was found is right; absent
/// fails with `missing`, and a question that could not be asked is unknown.
fn judged<T>(
    id: CheckId,
    lookup: &Lookup<T>,
    missing: &str,
    judge: impl FnOnce(&T) -> (bool, String),
) -> Check {
    match lookup {
        Lookup::Found(found) => {
            let (ok, detail) = judge(found);
            Check::new(id, ok, detail)
        }
        Lookup::Missing => Check::new(id, false, missing),
        Lookup::Unknown(why) => Check::unknown(id, why),
    }
}

/// `vX.Y.Z` on the remote, and `vX.Y.Z-stable` on its commit (when there, or when required).
fn tags(facts: &ReleaseFacts, stable_required: bool) -> Vec<Check> {
    let version_tag = grammar::version_tag(&facts.version);
    let mut checks = vec![judged(
        CheckId::VersionTag(version_tag.clone()),
        &facts.commit,
        "not on the remote",
        |commit| (true, format!("on the remote at {commit}")),
    )];
    let id = CheckId::StableTag(grammar::stable_tag(&facts.version));
    let commit = facts.commit.found().map(String::as_str);
    checks.extend(match &facts.stable_commit {
        Lookup::Missing if stable_required => Some(Check::new(id, false, "not on the remote")),
        Lookup::Missing => None,
        Lookup::Unknown(why) => Some(Check::unknown(id, why)),
        Lookup::Found(stable) => Some(match (promotion(commit, Some(stable)), commit) {
            (Promotion::Promoted, _) => {
                Check::new(id, true, format!("on the same commit as {version_tag}"))
            }
            (_, Some(commit)) => Check::new(
                id,
                false,
                format!("on {stable}, but {version_tag} is on {commit}"),
            ),
            (_, None) => Check::new(
                id,
                false,
                format!("on {stable}, but {version_tag} is not on the remote"),
            ),
        }),
    });
    checks
}

/// The index under `vX.Y.Z` with every configured platform, and each platform built from
/// the commit of the tag.
fn image(config: &Config, facts: &ReleaseFacts) -> Vec<Check> {
    let version_tag = grammar::version_tag(&facts.version);
    let id = CheckId::Image(format!("{}:{version_tag}", config.image));
    let required: Vec<String> = config.platforms.iter().map(|p| p.name()).collect();
    let mut checks = vec![judged(
        id,
        &facts.version_image,
        "not in the registry",
        |index| {
            let present: Vec<String> = index.manifests.iter().map(|(p, _)| p.clone()).collect();
            // Exactly the configured platforms: none lacking, none besides.
            let exact = rules::lacking_platforms(&present, &required).is_empty()
                && rules::lacking_platforms(&required, &present).is_empty();
            if exact {
                (
                    true,
                    format!("{} for {}", index.digest, required.join(", ")),
                )
            } else {
                let mut present = present;
                present.sort();
                let present = if present.is_empty() {
                    "none".to_string()
                } else {
                    present.join(", ")
                };
                (
                    false,
                    format!("platforms are {present}, expected {}", required.join(", ")),
                )
            }
        },
    )];
    if let Lookup::Found(index) = &facts.version_image {
        checks.push(revisions(index, &facts.commit));
    }
    checks
}

/// Every platform's `org.opencontainers.image.revision` label against the tag's commit: an
/// index with one platform from another build is caught whatever the provenance setting.
fn revisions(index: &ImageIndex, commit: &Lookup<String>) -> Check {
    let id = CheckId::ImageRevision;
    if index.revisions.is_empty() {
        return Check::new(id, false, "the image has no platform to read it from");
    }
    let mut wrong = Vec::new();
    for (platform, revision) in &index.revisions {
        match (revision, commit) {
            (Lookup::Unknown(why), _) => return Check::unknown(id, &format!("{platform}: {why}")),
            (Lookup::Found(rev), Lookup::Found(commit)) if rev == commit => {}
            (Lookup::Found(rev), Lookup::Found(commit)) => {
                wrong.push(format!("{platform}: {rev}, expected {commit}"))
            }
            (Lookup::Found(rev), _) => wrong.push(format!(
                "{platform}: {rev}, and the tag's commit is unknown"
            )),
            (Lookup::Missing, _) => wrong.push(format!(
                "{platform}: the image has no org.opencontainers.image.revision label"
            )),
        }
    }
    match (wrong.is_empty(), commit) {
        (true, Lookup::Found(commit)) => Check::new(id, true, commit.clone()),
        _ => Check::new(id, false, wrong.join("; ")),
    }
}

/// `sha-…`, `X.Y` and `latest`, each holding the index under `vX.Y.Z` where the rules
/// publish follows (`rules::image_tags`) give it to this release.
fn image_tags(config: &Config, facts: &ReleaseFacts) -> Vec<Check> {
    let version_tag = grammar::version_tag(&facts.version);
    let id = |tag: &str| CheckId::ImageTag(format!("{}:{tag}", config.image));
    let digest = facts.version_image.found().map(|i| i.digest.as_str());
    let same = |id, held: &Lookup<String>| same_digest(id, held, digest, &version_tag);
    let mut checks = Vec::new();
    if let Lookup::Found(commit) = &facts.commit {
        checks.push(same(id(&rules::sha_tag(commit)), &facts.sha_digest));
    }
    let minor = id(&rules::minor_tag(&facts.version));
    let latest = id(rules::LATEST);
    let tags = match &facts.remote_tags {
        Lookup::Found(tags) => tags,
        Lookup::Missing => return checks,
        Lookup::Unknown(why) => {
            checks.push(Check::unknown(minor, why));
            checks.push(Check::unknown(latest, why));
            return checks;
        }
    };
    let on_default_branch = match &facts.on_default_branch {
        Lookup::Found(on) => Ok(*on),
        Lookup::Missing => Ok(false),
        Lookup::Unknown(why) => Err(why),
    };
    let owners = rules::image_tags(
        &facts.version,
        facts.commit.found().map_or("", String::as_str),
        on_default_branch.unwrap_or(false),
        tags,
    );
    let owned = |id: CheckId, owner: &Owner, held: &Lookup<String>, record| {
        // A moving tag moved back by `release retarget` holds what its record says.
        if let Some(check) = retarget::judge(id.clone(), &facts.version, digest, held, record) {
            return check;
        }
        match owner {
            Owner::This => same(id, held),
            Owner::Newer(newer) => Check::new(id, true, format!("owned by the newer v{newer}")),
            Owner::OffDefaultBranch => match on_default_branch {
                // Only the branch decided: not knowing it is not knowing the owner.
                Err(why) => Check::unknown(id, why),
                Ok(_) => Check::new(
                    id,
                    true,
                    "not owned: the commit is not on the default branch",
                ),
            },
        }
    };
    checks.push(owned(
        minor,
        &owners.minor_owner,
        &facts.minor_digest,
        &facts.minor_record,
    ));
    checks.push(owned(
        latest,
        &owners.latest_owner,
        &facts.latest_digest,
        &facts.latest_record,
    ));
    checks
}

/// The chart `X.Y.Z`: the versions a release stamps (`ChartVersions::for_release`), and every
/// image its default render runs being this release's image, there in the registry.
fn chart(config: &Config, facts: &ReleaseFacts) -> Vec<Check> {
    let v = &facts.version;
    let chart = match &facts.chart {
        Lookup::Found(chart) => chart,
        Lookup::Missing => {
            return vec![Check::new(
                CheckId::Chart(v.to_string()),
                false,
                format!("not in {}", config.chart_registry),
            )];
        }
        Lookup::Unknown(why) => return vec![Check::unknown(CheckId::Chart(v.to_string()), why)],
    };
    let want = ChartVersions::for_release(v);
    let equal = |id, found: &str, expected: &str| {
        let suffix = if found == expected {
            String::new()
        } else {
            format!(", expected {expected}")
        };
        Check::new(id, found == expected, format!("{found}{suffix}"))
    };
    vec![
        equal(CheckId::ChartVersion, &chart.version, &want.version),
        equal(
            CheckId::ChartAppVersion,
            &chart.app_version,
            &want.app_version,
        ),
        chart_images(config, facts, &chart.images),
    ]
}

fn chart_images(config: &Config, facts: &ReleaseFacts, images: &[String]) -> Check {
    let id = CheckId::ChartImages;
    let tag = grammar::version_tag(&facts.version);
    let want = format!("{}:{tag}", config.image);
    let index = &facts.version_image;
    let digest = index.found().map(|i| i.digest.as_str());
    let foreign: Vec<&str> = images
        .iter()
        .filter(|i| !chart::is_release_image(i, &config.image, &tag, digest))
        .map(String::as_str)
        .collect();
    if images.is_empty() {
        return Check::new(id, false, format!("renders no container, expected {want}"));
    }
    if !foreign.is_empty() {
        return Check::new(
            id,
            false,
            format!("{}, expected {want}", foreign.join(", ")),
        );
    }
    let mut shown: Vec<&str> = images.iter().map(String::as_str).collect();
    shown.dedup();
    let shown = shown.join(", ");
    judged(
        id,
        index,
        &format!("{shown} is not in the registry"),
        |_| (true, format!("{shown} exists")),
    )
}

/// The GitHub release of the stable tag: published, titled with the tag, with notes, and
/// ending with the one record of exactly what the registry serves.
fn github_release(
    config: &Config,
    facts: &ReleaseFacts,
    release: &Lookup<PublishedRelease>,
) -> Vec<Check> {
    let stable_tag = grammar::stable_tag(&facts.version);
    let id = CheckId::GithubRelease(stable_tag.clone());
    let release = match release {
        Lookup::Found(release) => release,
        Lookup::Missing => return vec![Check::new(id, false, "no such release")],
        Lookup::Unknown(why) => return vec![Check::unknown(id, why)],
    };
    let state = match (release.draft, release.prerelease) {
        (false, false) => None,
        (true, _) => Some("is a draft"),
        (false, true) => Some("is a prerelease"),
    };
    let titled = release.title == stable_tag;
    // The notes are what precedes the record.
    let notes = release
        .body
        .split(record::HEADING)
        .next()
        .unwrap_or_default()
        .trim();
    vec![
        Check::new(id, state.is_none(), state.unwrap_or("published")),
        Check::new(
            CheckId::GithubTitle,
            titled,
            format!(
                "{:?}{}",
                release.title,
                if titled {
                    ""
                } else {
                    ", expected the full stable tag"
                }
            ),
        ),
        Check::new(
            CheckId::GithubNotes,
            !notes.is_empty(),
            if notes.is_empty() {
                "empty".to_string()
            } else {
                format!("{} characters", notes.chars().count())
            },
        ),
        record::check(config, facts, &release.body),
    ]
}

/// `docker run IMAGE --version` prints the version tag.
fn image_runs(config: &Config, facts: &ReleaseFacts, run: &Lookup<String>) -> Check {
    let version_tag = grammar::version_tag(&facts.version);
    judged(
        CheckId::ImageRuns(format!("{}:{version_tag}", config.image)),
        run,
        "not run: no Docker daemon is reachable",
        |out| {
            (
                out.split_whitespace().any(|w| w == version_tag),
                format!("--version printed {:?}", out.trim()),
            )
        },
    )
}

fn same_digest(
    id: CheckId,
    found: &Lookup<String>,
    expected: Option<&str>,
    version_tag: &str,
) -> Check {
    judged(id, found, "not in the registry", |d| match expected {
        Some(e) if d == e => (true, format!("same digest as {version_tag}")),
        Some(_) => (false, format!("{d}, not the digest of {version_tag}")),
        None => (
            false,
            format!("{d}, and {version_tag} is not available to compare"),
        ),
    })
}

/// One line per check, as people read it.
pub fn render_text(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|c| format!("{} {}: {}\n", if c.ok { "✓" } else { "✗" }, c.id, c.detail))
        .collect()
}

/// The job summary of a verify run in GitHub Actions: one table row per check.
pub fn render_markdown(what: &str, checks: &[Check]) -> String {
    let failed = checks.iter().filter(|c| !c.ok).count();
    let mut out = format!(
        "### release verify {what}: {}\n\n| | check | detail |\n| --- | --- | --- |\n",
        match failed {
            0 => "every check passed".to_string(),
            n => format!("{n} of {} checks failed", checks.len()),
        }
    );
    let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
    for c in checks {
        let mark = if c.ok { "✓" } else { "✗" };
        out.push_str(&format!(
            "| {mark} | {} | {} |\n",
            cell(&c.id.to_string()),
            cell(&c.detail)
        ));
    }
    out
}

pub fn to_json(checks: &[Check]) -> Json {
    Json::array(checks.iter().map(|c| {
        Json::object([
            ("check", Json::from(c.id.to_string().as_str())),
            ("ok", Json::Bool(c.ok)),
            ("detail", Json::from(c.detail.as_str())),
        ])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::facts::{ImageIndex, PublishedChart};
    use crate::verify::record::Record;
    use semver::Version;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
    const DIGEST: &str = "sha256:aaaa";

    fn config() -> Config {
        crate::config::example()
    }

    /// A release of 1.2.3 where everything is right.
    fn good() -> ReleaseFacts {
        let mut facts = ReleaseFacts {
            version: Version::new(1, 2, 3),
            chart_name: "llm-proxy".into(),
            remote_tags: Lookup::Found(vec![
                "v1.2.2".into(),
                "v1.2.3".into(),
                "v1.2.3-stable".into(),
            ]),
            commit: Lookup::Found(COMMIT.into()),
            stable_commit: Lookup::Found(COMMIT.into()),
            on_default_branch: Lookup::Found(true),
            version_image: Lookup::Found(ImageIndex {
                digest: DIGEST.into(),
                manifests: vec![
                    ("linux/amd64".into(), "sha256:bbbb".into()),
                    ("linux/arm64".into(), "sha256:cccc".into()),
                ],
                revisions: vec![
                    ("linux/amd64".into(), Lookup::Found(COMMIT.into())),
                    ("linux/arm64".into(), Lookup::Found(COMMIT.into())),
                ],
            }),
            sha_digest: Lookup::Found(DIGEST.into()),
            minor_digest: Lookup::Found(DIGEST.into()),
            latest_digest: Lookup::Found(DIGEST.into()),
            minor_record: Lookup::Missing,
            latest_record: Lookup::Missing,
            chart: Lookup::Found(PublishedChart {
                digest: "sha256:dddd".into(),
                version: "1.2.3".into(),
                app_version: "v1.2.3".into(),
                images: vec!["ghcr.io/sofatutor/llm-proxy:v1.2.3".into()],
            }),
            github_release: Some(Lookup::Found(PublishedRelease {
                title: "v1.2.3-stable".into(),
                draft: false,
                prerelease: false,
                body: "## What's Changed\n* fix".into(),
            })),
            run_output: None,
            provenance: None,
        };
        // The notes end with the record of exactly these artifacts.
        let record = Record::from_facts(&config(), &facts, "llm-proxy").unwrap();
        if let Some(Lookup::Found(release)) = &mut facts.github_release {
            release.body = format!("{}\n\n{}", release.body, record.render());
        }
        facts
    }

    fn failed(facts: &ReleaseFacts) -> Vec<String> {
        verify(&config(), facts)
            .into_iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.id, c.detail))
            .collect()
    }

    #[test]
    fn a_good_release_passes_every_check() {
        let checks = verify(&config(), &good());
        assert_eq!(
            render_text(&checks),
            "\
✓ tag v1.2.3: on the remote at 0123456789abcdef0123456789abcdef01234567
✓ tag v1.2.3-stable: on the same commit as v1.2.3
✓ image ghcr.io/sofatutor/llm-proxy:v1.2.3: sha256:aaaa for linux/amd64, linux/arm64
✓ image revision label: 0123456789abcdef0123456789abcdef01234567
✓ image ghcr.io/sofatutor/llm-proxy:sha-0123456: same digest as v1.2.3
✓ image ghcr.io/sofatutor/llm-proxy:1.2: same digest as v1.2.3
✓ image ghcr.io/sofatutor/llm-proxy:latest: same digest as v1.2.3
✓ chart version: 1.2.3
✓ chart appVersion: v1.2.3
✓ chart default image: ghcr.io/sofatutor/llm-proxy:v1.2.3 exists
✓ github release v1.2.3-stable: published
✓ github release title: \"v1.2.3-stable\"
✓ github release notes: 23 characters
✓ github release record: the registry still serves what was released
"
        );
    }

    #[test]
    fn each_wrong_artifact_fails_its_own_check_and_the_rest_are_still_reported() {
        let total = verify(&config(), &good()).len();
        type Break = Box<dyn Fn(&mut ReleaseFacts)>;
        let cases: Vec<(&str, Break)> = vec![
            (
                // The record names the platform that went missing too.
                "image ghcr.io/sofatutor/llm-proxy:v1.2.3: platforms are linux/amd64, expected linux/amd64, linux/arm64\n\
                 github release record: linux/arm64 is gone, recorded sha256:cccc",
                Box::new(|f| {
                    if let Lookup::Found(i) = &mut f.version_image {
                        i.manifests.truncate(1);
                        i.revisions.truncate(1);
                    }
                }),
            ),
            (
                "image ghcr.io/sofatutor/llm-proxy:1.2: sha256:old, not the digest of v1.2.3",
                Box::new(|f| f.minor_digest = Lookup::Found("sha256:old".into())),
            ),
            (
                "chart appVersion: 1.2.3, expected v1.2.3",
                Box::new(|f| {
                    if let Lookup::Found(c) = &mut f.chart {
                        c.app_version = "1.2.3".into()
                    }
                }),
            ),
            (
                "chart default image: evil/sidecar:1, expected ghcr.io/sofatutor/llm-proxy:v1.2.3",
                Box::new(|f| {
                    if let Lookup::Found(c) = &mut f.chart {
                        c.images.push("evil/sidecar:1".into())
                    }
                }),
            ),
            (
                "tag v1.2.3-stable: on ffff, but v1.2.3 is on 0123456789abcdef0123456789abcdef01234567",
                Box::new(|f| f.stable_commit = Lookup::Found("ffff".into())),
            ),
            (
                "github release notes: empty",
                Box::new(|f| {
                    if let Some(Lookup::Found(r)) = &mut f.github_release {
                        r.body = r.body.replace("## What's Changed\n* fix", " ")
                    }
                }),
            ),
            (
                "github release v1.2.3-stable: is a draft",
                Box::new(|f| {
                    if let Some(Lookup::Found(r)) = &mut f.github_release {
                        r.draft = true
                    }
                }),
            ),
            (
                "image revision label: linux/arm64: ffff, expected 0123456789abcdef0123456789abcdef01234567",
                Box::new(|f| {
                    if let Lookup::Found(i) = &mut f.version_image {
                        i.revisions[1].1 = Lookup::Found("ffff".into())
                    }
                }),
            ),
            (
                "image ghcr.io/sofatutor/llm-proxy:sha-0123456: not in the registry",
                Box::new(|f| f.sha_digest = Lookup::Missing),
            ),
            (
                "github release title: \"Release 1.2.3\", expected the full stable tag",
                Box::new(|f| {
                    if let Some(Lookup::Found(r)) = &mut f.github_release {
                        r.title = "Release 1.2.3".into()
                    }
                }),
            ),
        ];
        for (expected, break_it) in cases {
            let mut facts = good();
            break_it(&mut facts);
            assert_eq!(failed(&facts).join("\n"), expected);
            assert_eq!(
                verify(&config(), &facts).len(),
                total,
                "every check is still reported"
            );
        }
    }

    #[test]
    fn unreachable_registry_is_unknown_never_a_pass() {
        let mut facts = good();
        let down = || Lookup::Unknown("connection refused".to_string());
        facts.version_image = Lookup::Unknown("connection refused".into());
        facts.sha_digest = down();
        facts.minor_digest = down();
        facts.latest_digest = down();
        facts.chart = Lookup::Unknown("connection refused".into());
        let failed = failed(&facts);
        assert_eq!(failed.len(), 6, "{failed:#?}");
        assert!(
            failed
                .iter()
                .all(|f| f.ends_with("unknown: connection refused")),
            "{failed:#?}"
        );
    }

    #[test]
    fn newer_releases_own_the_moving_tags() {
        let mut facts = good();
        facts.remote_tags = Lookup::Found(vec!["v1.2.3".into(), "v1.2.4".into(), "v1.3.0".into()]);
        facts.minor_digest = Lookup::Found("sha256:newer".into());
        facts.latest_digest = Lookup::Found("sha256:newest".into());
        let checks = verify(&config(), &facts);
        let detail = |tag: &str| {
            let id = CheckId::ImageTag(format!("ghcr.io/sofatutor/llm-proxy:{tag}"));
            checks
                .iter()
                .find(|c| c.id == id)
                .map(|c| (c.ok, c.detail.clone()))
        };
        assert_eq!(
            detail("1.2"),
            Some((true, "owned by the newer v1.2.4".into()))
        );
        assert_eq!(
            detail("latest"),
            Some((true, "owned by the newer v1.3.0".into()))
        );
    }

    #[test]
    fn missing_things_fail() {
        let mut facts = good();
        facts.commit = Lookup::Missing;
        facts.version_image = Lookup::Missing;
        facts.chart = Lookup::Missing;
        facts.github_release = Some(Lookup::Missing);
        let failed = failed(&facts);
        assert!(
            failed.contains(&"tag v1.2.3: not on the remote".to_string()),
            "{failed:#?}"
        );
        assert!(
            failed.contains(&"chart 1.2.3: not in oci://ghcr.io/sofatutor/charts".to_string()),
            "{failed:#?}"
        );
        assert!(
            failed.contains(&"github release v1.2.3-stable: no such release".to_string()),
            "{failed:#?}"
        );
        assert!(failed.iter().any(|f| {
            f.starts_with("image ghcr.io/sofatutor/llm-proxy:v1.2.3: not in the registry")
        }));
    }

    #[test]
    fn run_without_a_daemon_is_not_a_success() {
        let mut facts = good();
        facts.run_output = Some(Lookup::Missing);
        assert_eq!(
            failed(&facts),
            [
                "image ghcr.io/sofatutor/llm-proxy:v1.2.3 runs: not run: no Docker daemon is reachable"
            ]
        );
        facts.run_output = Some(Lookup::Found("llm-proxy v1.2.3 (0123456)\n".into()));
        assert!(failed(&facts).is_empty());
    }

    /// Promoting before the workflows have published says so, instead of listing every
    /// check that a missing artifact fails (issue 18, rough edge 6).
    #[test]
    fn a_promotion_before_the_artifacts_exist_says_they_are_not_published_yet() {
        let mut facts = good();
        facts.github_release = None;
        assert_eq!(promotion_gate(&config(), &facts), Gate::Checked(vec![]));
        facts.chart = Lookup::Missing;
        assert_eq!(
            promotion_gate(&config(), &facts).problem("v1.2.3").unwrap(),
            "v1.2.3 is not published yet: the chart 1.2.3 is not in the registry; wait for the docker/helm-publish workflows of v1.2.3 (or run `cargo xtask release status 1.2.3`)"
        );
        facts.version_image = Lookup::Missing;
        assert_eq!(
            promotion_gate(&config(), &facts),
            Gate::NotPublished(vec!["the image v1.2.3".into(), "the chart 1.2.3".into()])
        );
        // A chart without its image is a broken release, not one still on its way; so is
        // an image that could not be asked about.
        for image in [Lookup::Missing, Lookup::Unknown("registry down".into())] {
            let mut facts = good();
            facts.github_release = None;
            facts.version_image = image;
            let gate = promotion_gate(&config(), &facts);
            assert!(
                matches!(&gate, Gate::Checked(f) if !f.is_empty()),
                "{gate:?}"
            );
        }
    }

    #[test]
    fn the_summary_is_one_row_per_check_with_cells_escaped() {
        let checks = [
            Check::new(CheckId::ChartVersion, true, "1.2.3"),
            Check::new(CheckId::GithubRecord, false, "a | b\nc"),
        ];
        assert_eq!(
            render_markdown("v1.2.3", &checks),
            "### release verify v1.2.3: 1 of 2 checks failed\n\n| | check | detail |\n| --- | --- | --- |\n| ✓ | chart version | 1.2.3 |\n| ✗ | github release record | a \\| b c |\n"
        );
    }

    #[test]
    fn the_gate_passes_only_when_every_artifact_check_does() {
        let mut good = good();
        good.github_release = None;
        let pass = Gate::from_checks(&verify(&config(), &good));
        assert_eq!(pass, Gate::Checked(vec![]));
        assert_eq!(pass.problem("v1.2.3"), None);
        let mut facts = good.clone();
        facts.chart = Lookup::Missing;
        let fail = Gate::from_checks(&verify(&config(), &facts));
        assert_eq!(
            fail.problem("v1.2.3").unwrap(),
            "the published artifacts of v1.2.3 do not verify (the promotion gate):\n      - chart 1.2.3: not in oci://ghcr.io/sofatutor/charts\n    fix the release (`cargo xtask release verify 1.2.3 --artifacts-only` shows every check)"
        );
        assert_eq!(Gate::Skipped.problem("v1.2.3"), None);
        assert_eq!(
            Gate::Failed("`helm` not found".into())
                .problem("v1.2.3")
                .unwrap(),
            "the promotion gate could not check the published artifacts of v1.2.3: `helm` not found"
        );
    }

    #[test]
    fn the_record_catches_what_changed_after_the_release() {
        let record = |facts: &ReleaseFacts| {
            verify(&config(), facts)
                .into_iter()
                .find(|c| c.id == CheckId::GithubRecord)
                .map(|c| (c.ok, c.detail))
                .unwrap()
        };
        let mut facts = good();
        if let Lookup::Found(chart) = &mut facts.chart {
            chart.digest = "sha256:eeee".into();
        }
        if let Lookup::Found(index) = &mut facts.version_image {
            index.manifests[1].1 = "sha256:ffff".into();
        }
        assert_eq!(
            record(&facts),
            (
                false,
                "the chart is sha256:eeee, recorded sha256:dddd; linux/arm64 is sha256:ffff, recorded sha256:cccc".into()
            )
        );
        let mut moved = good();
        moved.commit = Lookup::Found("f".repeat(40));
        assert!(!record(&moved).0);
        let mut down = good();
        down.chart = Lookup::Unknown("connection refused".into());
        assert_eq!(record(&down), (false, "unknown: connection refused".into()));
    }

    #[test]
    fn every_row_of_the_record_is_compared_with_the_registry_and_the_rules() {
        let edited = |from: &str, to: &str| {
            let mut facts = good();
            if let Some(Lookup::Found(release)) = &mut facts.github_release {
                assert_eq!(release.body.matches(from).count(), 1, "{from}");
                release.body = release.body.replacen(from, to, 1);
            }
            verify(&config(), &facts)
                .into_iter()
                .find(|c| c.id == CheckId::GithubRecord)
                .filter(|c| !c.ok)
                .map(|c| c.detail)
                .expect("the record check fails")
        };
        let image = "ghcr.io/sofatutor/llm-proxy";
        assert_eq!(
            edited("| linux/arm64 | `sha256:cccc` |\n", ""),
            "linux/arm64 is sha256:cccc, not recorded"
        );
        assert_eq!(
            edited(&format!("`{image}@"), "`ghcr.io/elsewhere/llm-proxy@"),
            format!("the image repository is {image}, recorded ghcr.io/elsewhere/llm-proxy")
        );
        assert_eq!(
            edited("charts/llm-proxy:1.2.3@", "charts/other:1.2.3@"),
            "the chart reference is oci://ghcr.io/sofatutor/charts/llm-proxy:1.2.3, recorded oci://ghcr.io/sofatutor/charts/other:1.2.3"
        );
        assert_eq!(
            edited(", `latest` |", ", `edge` |"),
            "the image tags name edge, not a tag of this release; the image tags lack latest"
        );
        assert_eq!(
            edited("`v1.2.3`, `1.2`", "`1.2`, `v1.2.3`"),
            "the image tags are 1.2, v1.2.3, sha-0123456, latest, expected in the order v1.2.3, 1.2, sha-0123456, latest"
        );
        // A newer release took `1.2` and `latest` since: the record keeps naming them.
        let mut later = good();
        later.remote_tags = Lookup::Found(vec!["v1.2.3".into(), "v1.2.4".into()]);
        later.minor_digest = Lookup::Found("sha256:newer".into());
        later.latest_digest = Lookup::Found("sha256:newer".into());
        assert!(failed(&later).is_empty(), "{:#?}", failed(&later));
        let mut unknown = good();
        unknown.remote_tags = Lookup::Unknown("remote down".into());
        assert!(
            failed(&unknown).contains(&"github release record: unknown: remote down".to_string())
        );
    }

    #[test]
    fn a_github_release_needs_the_stable_tag_on_the_remote() {
        let mut facts = good();
        facts.github_release = None;
        assert_eq!(release_gate(&config(), &facts), Gate::Checked(vec![]));
        facts.stable_commit = Lookup::Missing;
        assert_eq!(
            release_gate(&config(), &facts),
            Gate::Checked(vec!["tag v1.2.3-stable: not on the remote".into()])
        );
        facts.stable_commit = Lookup::Found("f".repeat(40));
        let Gate::Checked(failing) = release_gate(&config(), &facts) else {
            panic!("the gate ran")
        };
        assert_eq!(
            failing,
            [format!(
                "tag v1.2.3-stable: on {}, but v1.2.3 is on {COMMIT}",
                "f".repeat(40)
            )]
        );
    }

    #[test]
    fn json_is_an_array_of_checks() {
        let checks = vec![
            Check::new(CheckId::ChartVersion, true, "fine"),
            Check::new(CheckId::GithubRelease("v1.2.3-stable".into()), false, "bad"),
        ];
        assert_eq!(
            to_json(&checks).to_string(),
            r#"[{"check":"chart version","ok":true,"detail":"fine"},{"check":"github release v1.2.3-stable","ok":false,"detail":"bad"}]"#
        );
    }
}
