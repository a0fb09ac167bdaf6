//! The verification rules of a published release: facts in, one [`Check`] per rule out.
//!
//! The shell layer asks the registry, helm, gh and git (concurrently) and hands over what
//! each said as a [`Lookup`]: found, missing, or unknown because the question could not be
//! asked. Unknown is never a pass. Every check is reported, not only the first failure.

use semver::Version;

use crate::check::{Check, Gate, Lookup};
use crate::config::Config;
use crate::json::Json;
use crate::publish::retarget;
use crate::publish::rules::{self, Owner};
use crate::tag::grammar;
use crate::verify::facts::ReleaseFacts;
use crate::verify::provenance;
use crate::verify::record::{self, Record};

/// Runs every rule over the facts.
pub fn verify(config: &Config, facts: &ReleaseFacts) -> Vec<Check> {
    let v = &facts.version;
    let version_tag = grammar::version_tag(v);
    let stable_tag = grammar::stable_tag(v);
    let image = |t: &str| format!("{}:{t}", config.image);
    let mut checks = Vec::new();

    // Tags.
    let commit = match &facts.commit {
        Lookup::Found(commit) => {
            checks.push(Check::new(
                format!("tag {version_tag}"),
                true,
                format!("on the remote at {commit}"),
            ));
            Some(commit.as_str())
        }
        Lookup::Missing => {
            checks.push(Check::new(
                format!("tag {version_tag}"),
                false,
                "not on the remote",
            ));
            None
        }
        Lookup::Unknown(why) => {
            checks.push(Check::unknown(format!("tag {version_tag}"), why));
            None
        }
    };
    match (&facts.stable_commit, commit) {
        (Lookup::Missing, _) => {}
        (Lookup::Unknown(why), _) => checks.push(Check::unknown(format!("tag {stable_tag}"), why)),
        (Lookup::Found(stable), Some(commit)) => checks.push(Check::new(
            format!("tag {stable_tag}"),
            stable == commit,
            if stable == commit {
                format!("on the same commit as {version_tag}")
            } else {
                format!("on {stable}, but {version_tag} is on {commit}")
            },
        )),
        (Lookup::Found(stable), None) => checks.push(Check::new(
            format!("tag {stable_tag}"),
            false,
            format!("on {stable}, but {version_tag} is not on the remote"),
        )),
    }

    // The image under its immutable tags.
    let name = format!("image {}", image(&version_tag));
    let digest = match &facts.version_image {
        Lookup::Found(index) => {
            let wanted: Vec<String> = config.platforms.iter().map(|p| p.name()).collect();
            let mut found: Vec<String> = index
                .platforms
                .iter()
                .filter(|p| *p != "unknown/unknown")
                .cloned()
                .collect();
            found.sort();
            let mut expected = wanted.clone();
            expected.sort();
            checks.push(Check::new(
                name,
                found == expected,
                if found == expected {
                    format!("{} for {}", index.digest, wanted.join(", "))
                } else {
                    format!(
                        "platforms are {}, expected {}",
                        join_or_none(&found),
                        wanted.join(", ")
                    )
                },
            ));
            let revision_check = "image revision label";
            match (&index.revision, commit) {
                (Lookup::Found(rev), Some(commit)) => checks.push(Check::new(
                    revision_check,
                    rev == commit,
                    if rev == commit {
                        rev.to_string()
                    } else {
                        format!("{rev}, expected {commit}")
                    },
                )),
                (Lookup::Found(rev), None) => checks.push(Check::new(
                    revision_check,
                    false,
                    format!("{rev}, and the tag's commit is unknown"),
                )),
                (Lookup::Missing, _) => checks.push(Check::new(
                    revision_check,
                    false,
                    "the image has no org.opencontainers.image.revision label",
                )),
                (Lookup::Unknown(why), _) => checks.push(Check::unknown(revision_check, why)),
            }
            Some(index.digest.as_str())
        }
        Lookup::Missing => {
            checks.push(Check::new(name, false, "not in the registry"));
            None
        }
        Lookup::Unknown(why) => {
            checks.push(Check::unknown(name, why));
            None
        }
    };

    if let Some(commit) = commit {
        checks.push(same_digest(
            format!("image {}", image(&rules::sha_tag(commit))),
            &facts.sha_digest,
            digest,
            &version_tag,
        ));
    }

    // The moving tags, checked against this release where the rule publish follows gives
    // them to it.
    let minor_name = format!("image {}", image(&rules::minor_tag(v)));
    let latest_name = format!("image {}", image(rules::LATEST));
    match &facts.remote_tags {
        Lookup::Unknown(why) => {
            checks.push(Check::unknown(minor_name, why));
            checks.push(Check::unknown(latest_name, why));
        }
        Lookup::Missing => {}
        Lookup::Found(tags) => {
            let on_default_branch = match &facts.on_default_branch {
                Lookup::Found(on) => Ok(*on),
                Lookup::Missing => Ok(false),
                Lookup::Unknown(why) => Err(why),
            };
            let owners = rules::image_tags(
                v,
                commit.unwrap_or_default(),
                *on_default_branch.as_ref().unwrap_or(&false),
                tags,
            );
            let owned = |name: String,
                         owner: &Owner,
                         found: &Lookup<String>,
                         record: &Lookup<retarget::Retarget>| {
                // A moving tag moved back by `release retarget` holds what its record says.
                if let Some(check) = retarget::judge(&name, v, digest, found, record) {
                    return check;
                }
                match owner {
                    Owner::This => same_digest(name, found, digest, &version_tag),
                    Owner::Newer(newer) => {
                        Check::new(name, true, format!("owned by the newer v{newer}"))
                    }
                    Owner::OffDefaultBranch => match on_default_branch {
                        // Only the branch decided: not knowing it is not knowing the owner.
                        Err(why) => Check::unknown(name, why),
                        Ok(_) => Check::new(
                            name,
                            true,
                            "not owned: the commit is not on the default branch",
                        ),
                    },
                }
            };
            checks.push(owned(
                minor_name,
                &owners.minor_owner,
                &facts.minor_digest,
                &facts.minor_record,
            ));
            checks.push(owned(
                latest_name,
                &owners.latest_owner,
                &facts.latest_digest,
                &facts.latest_record,
            ));
        }
    }

    // The chart.
    let chart_name = format!("chart {}", v);
    match &facts.chart {
        Lookup::Found(chart) => {
            let want_version = v.to_string();
            let want_app = version_tag.clone();
            checks.push(Check::new(
                "chart version",
                chart.version == want_version,
                format!(
                    "{}{}",
                    chart.version,
                    expected_suffix(&chart.version, &want_version)
                ),
            ));
            checks.push(Check::new(
                "chart appVersion",
                chart.app_version == want_app,
                format!(
                    "{}{}",
                    chart.app_version,
                    expected_suffix(&chart.app_version, &want_app)
                ),
            ));
            let want_image = image(&version_tag);
            let name = "chart default image";
            if chart.default_image != want_image {
                checks.push(Check::new(
                    name,
                    false,
                    format!("{}, expected {want_image}", chart.default_image),
                ));
            } else {
                match &chart.default_image_exists {
                    Lookup::Found(()) => {
                        checks.push(Check::new(name, true, format!("{want_image} exists")))
                    }
                    Lookup::Missing => checks.push(Check::new(
                        name,
                        false,
                        format!("{want_image} is not in the registry"),
                    )),
                    Lookup::Unknown(why) => checks.push(Check::unknown(name, why)),
                }
            }
        }
        Lookup::Missing => checks.push(Check::new(
            chart_name,
            false,
            format!("not in {}", config.chart_registry),
        )),
        Lookup::Unknown(why) => checks.push(Check::unknown(chart_name, why)),
    }

    // The signed build provenance of the image and the chart.
    if let Some(answers) = &facts.provenance {
        checks.extend(provenance::checks_all(config, v, &facts.commit, answers));
    }

    // The GitHub release.
    if let Some(release) = &facts.github_release {
        let name = format!("github release {stable_tag}");
        match release {
            Lookup::Found(r) => {
                let state = match (r.draft, r.prerelease) {
                    (false, false) => None,
                    (true, _) => Some("is a draft"),
                    (false, true) => Some("is a prerelease"),
                };
                checks.push(Check::new(
                    name,
                    state.is_none(),
                    state.unwrap_or("published"),
                ));
                checks.push(Check::new(
                    "github release title",
                    r.title == stable_tag,
                    format!(
                        "{:?}{}",
                        r.title,
                        if r.title == stable_tag {
                            ""
                        } else {
                            ", expected the full stable tag"
                        }
                    ),
                ));
                // The notes are what precedes the record.
                let notes = r
                    .body
                    .split(record::HEADING)
                    .next()
                    .unwrap_or_default()
                    .trim();
                checks.push(Check::new(
                    "github release notes",
                    !notes.is_empty(),
                    if notes.is_empty() {
                        "empty".to_string()
                    } else {
                        format!("{} characters", notes.chars().count())
                    },
                ));
                checks.push(record_check(facts, &r.body));
            }
            Lookup::Missing => checks.push(Check::new(name, false, "no such release")),
            Lookup::Unknown(why) => checks.push(Check::unknown(name, why)),
        }
    }

    if let Some(run) = &facts.run_output {
        let name = format!("image {} runs", image(&version_tag));
        match run {
            Lookup::Found(out) => {
                let ok = out.split_whitespace().any(|w| w == version_tag);
                checks.push(Check::new(
                    name,
                    ok,
                    format!("--version printed {:?}", out.trim()),
                ));
            }
            Lookup::Missing => checks.push(Check::new(
                name,
                false,
                "not run: no Docker daemon is reachable",
            )),
            Lookup::Unknown(why) => checks.push(Check::unknown(name, why)),
        }
    }
    checks
}

/// The record in the release notes against what the registry and the remote serve now: a
/// version tag moved, an image or a chart replaced after the release are caught here.
fn record_check(facts: &ReleaseFacts, body: &str) -> Check {
    let name = "github release record";
    let Some(record) = Record::parse(body) else {
        return Check::new(
            name,
            false,
            format!(
                "the notes hold no `{}` record of the artifacts",
                record::HEADING
            ),
        );
    };
    let mut differences = Vec::new();
    let mut compare = |what: &str, now: &Lookup<String>, recorded: &str| match now {
        Lookup::Found(now) if now == recorded => Ok(()),
        Lookup::Found(now) => {
            differences.push(format!("{what} is {now}, recorded {recorded}"));
            Ok(())
        }
        Lookup::Missing => {
            differences.push(format!("{what} is gone, recorded {recorded}"));
            Ok(())
        }
        Lookup::Unknown(why) => Err(why.clone()),
    };
    let index = lookup_map(&facts.version_image, |i| i.digest.clone());
    let chart = lookup_map(&facts.chart, |c| c.digest.clone());
    let asked = [
        compare("the commit", &facts.commit, &record.commit),
        compare(
            &format!("the image under {}", grammar::version_tag(&facts.version)),
            &index,
            &record.index_digest,
        ),
        compare("the chart", &chart, &record.chart_digest),
    ];
    if let Some(Err(why)) = asked.into_iter().find(Result::is_err) {
        return Check::unknown(name, &why);
    }
    if let Lookup::Found(index) = &facts.version_image {
        for (platform, recorded) in &record.platforms {
            match index.manifests.iter().find(|(p, _)| p == platform) {
                Some((_, now)) if now == recorded => {}
                Some((_, now)) => {
                    differences.push(format!("{platform} is {now}, recorded {recorded}"))
                }
                None => differences.push(format!("{platform} is gone, recorded {recorded}")),
            }
        }
    }
    if differences.is_empty() {
        Check::new(name, true, "the registry still serves what was released")
    } else {
        Check::new(name, false, differences.join("; "))
    }
}

fn lookup_map<T, U>(lookup: &Lookup<T>, f: impl FnOnce(&T) -> U) -> Lookup<U> {
    match lookup {
        Lookup::Found(value) => Lookup::Found(f(value)),
        Lookup::Missing => Lookup::Missing,
        Lookup::Unknown(why) => Lookup::Unknown(why.clone()),
    }
}

/// The gate of a GitHub release: the promotion gate, and the stable tag on the remote, on
/// the commit of the version tag (a stable tag pushed by hand gets no release otherwise).
pub fn release_gate(checks: &[Check], version: &Version) -> Gate {
    let stable = format!("tag {}", grammar::stable_tag(version));
    let mut gate = Gate::from_checks(checks);
    if let Gate::Checked(failing) = &mut gate
        && !checks.iter().any(|c| c.name == stable)
    {
        failing.push(format!("{stable}: not on the remote"));
    }
    gate
}

fn same_digest(
    name: String,
    found: &Lookup<String>,
    expected: Option<&str>,
    version_tag: &str,
) -> Check {
    match (found, expected) {
        (Lookup::Found(d), Some(e)) if d == e => {
            Check::new(name, true, format!("same digest as {version_tag}"))
        }
        (Lookup::Found(d), Some(_)) => {
            Check::new(name, false, format!("{d}, not the digest of {version_tag}"))
        }
        (Lookup::Found(d), None) => Check::new(
            name,
            false,
            format!("{d}, and {version_tag} is not available to compare"),
        ),
        (Lookup::Missing, _) => Check::new(name, false, "not in the registry"),
        (Lookup::Unknown(why), _) => Check::unknown(name, why),
    }
}

fn expected_suffix(found: &str, expected: &str) -> String {
    if found == expected {
        String::new()
    } else {
        format!(", expected {expected}")
    }
}

fn join_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// One line per check, as people read it.
pub fn render_text(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|c| {
            format!(
                "{} {}: {}\n",
                if c.ok { "✓" } else { "✗" },
                c.name,
                c.detail
            )
        })
        .collect()
}

pub fn to_json(checks: &[Check]) -> Json {
    Json::array(checks.iter().map(|c| {
        Json::object([
            ("check", Json::from(c.name.as_str())),
            ("ok", Json::Bool(c.ok)),
            ("detail", Json::from(c.detail.as_str())),
        ])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::facts::{ImageIndex, PublishedChart, PublishedRelease};

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
    const DIGEST: &str = "sha256:aaaa";

    fn config() -> Config {
        crate::config::example()
    }

    /// A release of 1.2.3 where everything is right.
    fn good() -> ReleaseFacts {
        let mut facts = ReleaseFacts {
            version: Version::new(1, 2, 3),
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
                platforms: vec![
                    "linux/amd64".into(),
                    "linux/arm64".into(),
                    "unknown/unknown".into(),
                ],
                manifests: vec![
                    ("linux/amd64".into(), "sha256:bbbb".into()),
                    ("linux/arm64".into(), "sha256:cccc".into()),
                ],
                revision: Lookup::Found(COMMIT.into()),
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
                default_image: "ghcr.io/sofatutor/llm-proxy:v1.2.3".into(),
                default_image_exists: Lookup::Found(()),
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
            .map(|c| format!("{}: {}", c.name, c.detail))
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
                "image ghcr.io/sofatutor/llm-proxy:v1.2.3: platforms are linux/amd64, expected linux/amd64, linux/arm64",
                Box::new(|f| {
                    if let Lookup::Found(i) = &mut f.version_image {
                        i.platforms = vec!["linux/amd64".into()]
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
                "chart default image: ghcr.io/sofatutor/llm-proxy:v1.2.3 is not in the registry",
                Box::new(|f| {
                    if let Lookup::Found(c) = &mut f.chart {
                        c.default_image_exists = Lookup::Missing
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
                "image revision label: ffff, expected 0123456789abcdef0123456789abcdef01234567",
                Box::new(|f| {
                    if let Lookup::Found(i) = &mut f.version_image {
                        i.revision = Lookup::Found("ffff".into())
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
            assert_eq!(failed(&facts), [expected]);
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
        let detail = |name: &str| {
            checks
                .iter()
                .find(|c| c.name.ends_with(name))
                .map(|c| (c.ok, c.detail.clone()))
        };
        assert_eq!(
            detail(":1.2"),
            Some((true, "owned by the newer v1.2.4".into()))
        );
        assert_eq!(
            detail(":latest"),
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
                .find(|c| c.name == "github release record")
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
    fn a_github_release_needs_the_stable_tag_on_the_remote() {
        let mut facts = good();
        facts.github_release = None;
        assert_eq!(
            release_gate(&verify(&config(), &facts), &facts.version),
            Gate::Checked(vec![])
        );
        facts.stable_commit = Lookup::Missing;
        assert_eq!(
            release_gate(&verify(&config(), &facts), &facts.version),
            Gate::Checked(vec!["tag v1.2.3-stable: not on the remote".into()])
        );
        facts.stable_commit = Lookup::Found("f".repeat(40));
        let Gate::Checked(failing) = release_gate(&verify(&config(), &facts), &facts.version)
        else {
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
        let checks = vec![Check::new("a", true, "fine"), Check::new("b", false, "bad")];
        assert_eq!(
            to_json(&checks).to_string(),
            r#"[{"check":"a","ok":true,"detail":"fine"},{"check":"b","ok":false,"detail":"bad"}]"#
        );
    }
}
