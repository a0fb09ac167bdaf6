//! `release retarget X.Y|latest X.Y.Z`: the one backward move of a moving tag, and its record.
//!
//! Moving tags only move forward when publishing ([`rules::move_moving_tag`]); a bad release
//! that took `latest` is taken back here, explicitly: the tag is pointed at the image of an
//! older release that verifies, by digest, and a [`Retarget`] record is left beside it in
//! the registry, under `retarget-<tag>`. The record is what makes the state legitimate:
//! `release verify` and `release status` accept a moving tag that holds an older release
//! while the record says so ([`judge`]), and a re-run of the publish of the release moved
//! away from does not take the tag back ([`rules::move_moving_tag`]), while a newer release moves it forward
//! as usual. A record applies only while the tag still holds the digest it names, so it
//! never needs to be removed: the next forward move ends it.
//!
//! Why the registry and not the GitHub release of the version moved away from: that version
//! may never have been promoted (a bad release is usually caught before), so it may have no
//! GitHub release to write in; and `release verify` without a stable tag, `publish` and
//! `status` all read the registry for every version, but GitHub only for stable ones.

use std::fmt;

use semver::Version;

use crate::check::{Check, CheckId, Lookup};
use crate::config::ImageBuilder;
use crate::invocation::Invocation;
use crate::json::Json;
use crate::publish::rules;
use crate::publish::steps::{Step, TagImage};
use crate::tag::grammar;

/// A moving tag as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MovingTag {
    Minor { major: u64, minor: u64 },
    Latest,
}

impl MovingTag {
    /// `X.Y` or `latest`.
    pub fn parse(input: &str) -> Result<MovingTag, String> {
        if input == rules::LATEST {
            return Ok(MovingTag::Latest);
        }
        let number = |s: &str| -> Option<u64> {
            (!s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s == "0" || !s.starts_with('0')))
            .then(|| s.parse().ok())
            .flatten()
        };
        match input.split_once('.') {
            Some((major, minor)) => match (number(major), number(minor)) {
                (Some(major), Some(minor)) => Ok(MovingTag::Minor { major, minor }),
                _ => Err(invalid(input)),
            },
            None => Err(invalid(input)),
        }
    }

    pub fn name(&self) -> String {
        match self {
            MovingTag::Minor { major, minor } => format!("{major}.{minor}"),
            MovingTag::Latest => rules::LATEST.to_string(),
        }
    }
}

fn invalid(input: &str) -> String {
    format!(
        "invalid moving tag {}: expected X.Y (a minor line, such as 1.4) or latest",
        crate::quote::quote(input)
    )
}

/// The registry tag the record of `tag`'s retarget is kept under.
pub fn record_tag(tag: &str) -> String {
    format!("retarget-{tag}")
}

/// The annotations' prefix: the record's fields.
const KEY: &str = "org.llm-proxy.retarget";

/// The record of a backward move: `tag` was pointed at `digest`, the image of `version`,
/// away from `from` (the newest release that had held it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retarget {
    pub tag: String,
    pub version: Version,
    pub digest: String,
    pub from: Version,
}

/// `sha256:` of `{}`: the empty config of the record's manifest.
const EMPTY_CONFIG: &str = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

impl Retarget {
    fn annotations(&self) -> [(String, String); 4] {
        [
            (format!("{KEY}.tag"), self.tag.clone()),
            (
                format!("{KEY}.version"),
                grammar::version_tag(&self.version),
            ),
            (format!("{KEY}.digest"), self.digest.clone()),
            (format!("{KEY}.from"), grammar::version_tag(&self.from)),
        ]
    }

    /// The record as an OCI manifest with no layers and an empty config: the annotations
    /// carry it, read back with one manifest request.
    pub fn manifest(&self) -> String {
        let annotations: Vec<String> = self
            .annotations()
            .into_iter()
            .map(|(k, v)| format!("{}:{}", Json::from(k), Json::from(v)))
            .collect();
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{EMPTY_CONFIG}","size":2}},"layers":[],"annotations":{{{}}}}}"#,
            annotations.join(",")
        )
    }

    /// The files of the record in skopeo's `dir:` layout: the manifest, the config blob by
    /// its digest, and the layout's version.
    pub fn dir_layout(&self) -> Vec<(String, String)> {
        vec![
            (
                "version".to_string(),
                "Directory Transport Version: 1.1\n".to_string(),
            ),
            ("manifest.json".to_string(), self.manifest()),
            (EMPTY_CONFIG.to_string(), "{}".to_string()),
        ]
    }

    /// Reads back the record stored under `retarget-<tag>`, if it is one to honour
    /// ([`Retarget::honoured`]) given `version_tags`, the versions tagged on the remote.
    pub fn parse(manifest: &str, tag: &str, version_tags: &[Version]) -> Result<Retarget, String> {
        let value: serde_yaml::Value = serde_yaml::from_str(manifest)
            .map_err(|e| format!("the retarget record is not JSON: {e}"))?;
        let field = |name: &str| -> Result<String, String> {
            value["annotations"][format!("{KEY}.{name}").as_str()]
                .as_str()
                .map(str::to_string)
                .ok_or(format!("the retarget record has no {KEY}.{name}"))
        };
        let version = |name: &str| -> Result<Version, String> {
            let text = field(name)?;
            grammar::release_tag(&text)
                .filter(|t| t.kind == grammar::TagKind::Version)
                .map(|t| t.version)
                .ok_or(format!(
                    "the retarget record's {name} {text:?} is no version tag"
                ))
        };
        let record = Retarget {
            tag: field("tag")?,
            version: version("version")?,
            digest: field("digest")?,
            from: version("from")?,
        };
        record.honoured(tag, version_tags)
    }

    /// The one rule for whether a record of `tag` is honoured. Anyone who can push to the
    /// repository can push such a manifest, and verify, status and publish honour it: so it
    /// counts only as a record of that very tag, a move back (`version` older than `from`),
    /// for `X.Y` a move within line X.Y, and between two releases, versions tagged on the
    /// remote (`version_tags`): a `from` that was never released would keep `latest` from
    /// every later publish. Anything else is refused, never read as "retargeted".
    pub fn honoured(self, tag: &str, version_tags: &[Version]) -> Result<Retarget, String> {
        let record = self;
        let (moved_to, moved_from) = (
            grammar::version_tag(&record.version),
            grammar::version_tag(&record.from),
        );
        if record.tag != tag {
            return Err(format!(
                "the retarget record of {tag} is about {}",
                crate::quote::quote(&record.tag)
            ));
        }
        if record.version >= record.from {
            return Err(format!(
                "the retarget record of {tag} moves it to {moved_to} from {moved_from}, which is no move back"
            ));
        }
        let in_line = |v: &Version| tag == rules::LATEST || rules::minor_tag(v) == tag;
        if !in_line(&record.version) || !in_line(&record.from) {
            return Err(format!(
                "the retarget record of {tag} names {moved_to} and {moved_from}, not both of line {tag}"
            ));
        }
        for (named, v) in [(&moved_to, &record.version), (&moved_from, &record.from)] {
            if !version_tags.contains(v) {
                return Err(format!(
                    "the retarget record of {tag} names {named}, which was never released (no such version tag on the remote)"
                ));
            }
        }
        Ok(record)
    }

    /// Whether the record still describes the tag: it holds the digest the record names.
    pub fn is_current(&self, held: &str) -> bool {
        self.digest == held
    }
}

/// What `verify` makes of a moving tag of `version` (whose image is `this_digest`) that
/// holds `held`, given the tag's retarget record: `None` when the record does not apply
/// (none, stale, or about other versions), and the ordinary rule decides.
pub fn judge(
    name: CheckId,
    version: &Version,
    this_digest: Option<&str>,
    held: &Lookup<String>,
    record: &Lookup<Retarget>,
) -> Option<Check> {
    let held = match held {
        Lookup::Found(held) => held,
        _ => return None,
    };
    match record {
        Lookup::Found(r) if r.is_current(held) => {
            if *version == r.version {
                Some(if this_digest == Some(held.as_str()) {
                    Check::new(
                        name,
                        true,
                        format!("retargeted here from v{} (release retarget)", r.from),
                    )
                } else {
                    Check::new(
                        name,
                        false,
                        format!("retargeted to {held}, which is not the image of v{version}"),
                    )
                })
            } else if r.version < *version && *version <= r.from {
                Some(Check::new(
                    name,
                    true,
                    format!(
                        "retargeted to v{} away from v{} (release retarget)",
                        r.version, r.from
                    ),
                ))
            } else {
                None
            }
        }
        // Not knowing the record matters only where the tag holds another image.
        Lookup::Unknown(why) if this_digest != Some(held.as_str()) => {
            Some(Check::unknown(name, why))
        }
        _ => None,
    }
}

/// Everything the retarget of `tag` to `version` is decided on.
#[derive(Debug, Clone)]
pub struct RetargetFacts {
    pub tag: MovingTag,
    pub version: Version,
    /// The image under `vX.Y.Z`.
    pub digest: Lookup<String>,
    /// For `latest`: whether the version's commit is on the default branch.
    pub on_default_branch: Lookup<bool>,
    /// The failing checks of `release verify X.Y.Z --artifacts-only`, as `name: detail`.
    pub failing: Vec<String>,
    /// What the tag holds now: its digest and the release version of its label.
    pub held: Lookup<(String, Option<Version>)>,
    /// The tag's current record, if any.
    pub record: Lookup<Retarget>,
    /// The versions tagged on the remote: the record written must name two of them.
    pub version_tags: Result<Vec<Version>, String>,
    /// `--github`: whether `vX.Y.Z-stable` is on the remote.
    pub github: Option<Lookup<bool>>,
    pub github_repo: String,
    pub image: String,
    pub plain_http: bool,
    /// Where the shell writes the record's files before pushing them.
    pub record_dir: String,
}

/// One step of a retarget, in order: the record first, so that a move is never seen
/// without it (a record whose digest the tag does not hold is ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetargetStep {
    WriteRecord {
        record: Retarget,
        dir: String,
        push: Invocation,
    },
    MoveTag(Invocation),
    GithubLatest(Invocation),
}

impl RetargetStep {
    pub fn invocation(&self) -> &Invocation {
        match self {
            RetargetStep::WriteRecord { push, .. } => push,
            RetargetStep::MoveTag(i) | RetargetStep::GithubLatest(i) => i,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The tag holds the version's image already.
    AlreadyThere,
    Refused(Vec<String>),
    Steps(Vec<RetargetStep>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetargetPlan {
    pub title: String,
    pub outcome: Outcome,
}

/// The plan of a retarget: every problem at once, or the steps.
pub fn plan(facts: &RetargetFacts) -> RetargetPlan {
    let v = &facts.version;
    let tag = facts.tag.name();
    let title = format!("release retarget {tag} {v}");
    let mut problems = Vec::new();
    if let MovingTag::Minor { major, minor } = facts.tag
        && (major, minor) != (v.major, v.minor)
    {
        problems.push(format!(
            "{tag} is the tag of the {tag} line; v{v} is of the {} line: retarget {} instead",
            rules::minor_tag(v),
            rules::minor_tag(v)
        ));
    }
    if facts.tag == MovingTag::Latest {
        match &facts.on_default_branch {
            Lookup::Found(true) => {}
            Lookup::Found(false) | Lookup::Missing => problems.push(format!(
                "the commit of v{v} is not on the default branch: latest is only ever a release of it"
            )),
            Lookup::Unknown(why) => problems.push(format!(
                "cannot tell whether v{v} is on the default branch: {why}"
            )),
        }
    }
    if !facts.failing.is_empty() {
        problems.push(format!(
            "v{v} does not verify, so nothing is moved to it:\n      - {}\n    (`cargo xtask release verify {v} --artifacts-only` shows every check)",
            facts.failing.join("\n      - ")
        ));
    }
    let digest = match &facts.digest {
        Lookup::Found(d) => Some(d.clone()),
        Lookup::Missing => None, // a failing check already says so
        Lookup::Unknown(_) => None,
    };
    let mut from = None;
    match &facts.held {
        Lookup::Missing => problems.push(format!(
            "{}:{tag} does not exist: there is nothing to move back",
            facts.image
        )),
        Lookup::Unknown(why) => problems.push(format!(
            "cannot read what {}:{tag} holds: {why}",
            facts.image
        )),
        Lookup::Found((held, _)) if Some(held) == digest.as_ref() => {
            return RetargetPlan {
                title,
                outcome: Outcome::AlreadyThere,
            };
        }
        Lookup::Found((held, None)) => problems.push(format!(
            "{}:{tag} holds {held}, which carries no release version label: cannot tell it is newer",
            facts.image
        )),
        Lookup::Found((_, Some(held))) if held <= v => problems.push(format!(
            "{tag} holds v{held}, not newer than v{v}: retarget only moves back; a publish of a newer release moves {tag} forward"
        )),
        Lookup::Found((held_digest, Some(held))) => {
            // A second retarget keeps the newest release ever moved away from.
            let earlier = match &facts.record {
                Lookup::Found(r) if r.is_current(held_digest) => Some(r.from.clone()),
                Lookup::Unknown(why) => {
                    problems.push(format!("cannot read the retarget record of {tag}: {why}"));
                    None
                }
                _ => None,
            };
            from = Some(earlier.map_or(held.clone(), |e| e.max(held.clone())));
        }
    }
    let stable = grammar::stable_tag(v);
    match &facts.github {
        None => {}
        Some(_) if facts.tag != MovingTag::Latest => problems.push(format!(
            "--github makes GitHub's Latest follow latest; {tag} has no GitHub counterpart"
        )),
        Some(Lookup::Found(true)) => {}
        Some(Lookup::Found(false) | Lookup::Missing) => problems.push(format!(
            "--github: {stable} is not on the remote, so v{v} has no GitHub release to make Latest"
        )),
        Some(Lookup::Unknown(why)) => problems.push(format!(
            "--github: cannot tell whether {stable} exists: {why}"
        )),
    }
    let (Some(digest), Some(from), true) = (digest, from, problems.is_empty()) else {
        if problems.is_empty() {
            problems.push(format!("the image of v{v} could not be read"));
        }
        return RetargetPlan {
            title,
            outcome: Outcome::Refused(problems),
        };
    };
    let record = Retarget {
        tag: tag.clone(),
        version: v.clone(),
        digest: digest.clone(),
        from,
    };
    // A record the readers would not honour is not written: the same rule decides.
    let record = match &facts.version_tags {
        Ok(versions) => record.honoured(&tag, versions),
        Err(why) => Err(format!("cannot list the remote's version tags: {why}")),
    };
    let record = match record {
        Ok(record) => record,
        Err(why) => {
            return RetargetPlan {
                title,
                outcome: Outcome::Refused(vec![why]),
            };
        }
    };
    let mut push = vec![
        "copy".to_string(),
        "--quiet".into(),
        "--preserve-digests".into(),
    ];
    if facts.plain_http {
        push.push("--dest-tls-verify=false".into());
    }
    push.extend([
        format!("dir:{}", facts.record_dir),
        format!("docker://{}:{}", facts.image, record_tag(&tag)),
    ]);
    // Moved exactly as a publish tags by digest (skopeo, whatever builder made the image:
    // the record needs skopeo anyway).
    let move_tag = TagImage {
        builder: ImageBuilder::Buildah,
        repository: facts.image.clone(),
        tag: tag.clone(),
        source: grammar::version_tag(v),
        moving: None,
        digest: Some(digest),
        plain_http: facts.plain_http,
    }
    .commands();
    let mut steps = vec![RetargetStep::WriteRecord {
        record,
        dir: facts.record_dir.clone(),
        push: Invocation::new("skopeo", push),
    }];
    steps.extend(move_tag.into_iter().map(RetargetStep::MoveTag));
    if facts.github.is_some() {
        steps.push(RetargetStep::GithubLatest(Invocation::new(
            "gh",
            [
                "release",
                "edit",
                &stable,
                "--latest",
                "--repo",
                &facts.github_repo,
            ],
        )));
    }
    RetargetPlan {
        title,
        outcome: Outcome::Steps(steps),
    }
}

impl fmt::Display for RetargetPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:", self.title)?;
        match &self.outcome {
            Outcome::AlreadyThere => {
                writeln!(f, "  nothing to do: the tag holds that image already")
            }
            Outcome::Refused(problems) => {
                for p in problems {
                    writeln!(f, "  ✗ {p}")?;
                }
                Ok(())
            }
            Outcome::Steps(steps) => {
                for (i, step) in steps.iter().enumerate() {
                    match step {
                        RetargetStep::WriteRecord { record, dir, push } => {
                            writeln!(
                                f,
                                "  {}. write the record into {dir}: {} → v{} ({}), away from v{}",
                                i + 1,
                                record.tag,
                                record.version,
                                record.digest,
                                record.from
                            )?;
                            writeln!(f, "     {push}")?;
                        }
                        RetargetStep::MoveTag(cmd) => writeln!(f, "  {}. {cmd}", i + 1)?,
                        RetargetStep::GithubLatest(cmd) => writeln!(f, "  {}. {cmd}", i + 1)?,
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    fn record() -> Retarget {
        Retarget {
            tag: "latest".into(),
            version: v("1.2.3"),
            digest: "sha256:good".into(),
            from: v("1.2.4"),
        }
    }

    #[test]
    fn moving_tags_parse_strictly() {
        for (input, expected) in [
            ("latest", Ok(MovingTag::Latest)),
            ("1.4", Ok(MovingTag::Minor { major: 1, minor: 4 })),
            ("0.0", Ok(MovingTag::Minor { major: 0, minor: 0 })),
        ] {
            assert_eq!(MovingTag::parse(input), expected, "{input}");
        }
        for input in ["1.4.0", "v1.4", "01.4", "1.", ".4", "Latest", "", "1.4 "] {
            assert_eq!(MovingTag::parse(input), Err(invalid(input)), "{input}");
        }
    }

    /// The version tags on the remote in these tests.
    fn released() -> Vec<Version> {
        ["1.1.0", "1.2.2", "1.2.3", "1.2.4", "1.2.9", "2.0.0"]
            .map(v)
            .to_vec()
    }

    #[test]
    fn the_record_reads_back_from_its_manifest() {
        let manifest = record().manifest();
        assert_eq!(
            Retarget::parse(&manifest, "latest", &released()),
            Ok(record())
        );
        let value: serde_yaml::Value = serde_yaml::from_str(&manifest).unwrap();
        assert_eq!(value["layers"].as_sequence().map(Vec::len), Some(0));
        assert_eq!(
            Retarget::parse(r#"{"annotations":{}}"#, "latest", &released()),
            Err("the retarget record has no org.llm-proxy.retarget.tag".into())
        );
        assert_eq!(record_tag("1.2"), "retarget-1.2");
    }

    /// A record pushed by hand is honoured by verify and publish, so one that would let a
    /// bad state pass, or freeze a tag, is refused: another tag's record, no move back, or
    /// versions outside the tag's line.
    #[test]
    fn a_forged_record_is_refused() {
        let forged = |tag: &str, version: &str, from: &str| Retarget {
            tag: tag.into(),
            version: v(version),
            digest: "sha256:good".into(),
            from: v(from),
        };
        let read =
            |record: Retarget, under: &str| Retarget::parse(&record.manifest(), under, &released());
        assert_eq!(
            read(forged("1.2", "1.2.3", "1.2.4"), "1.2"),
            Ok(forged("1.2", "1.2.3", "1.2.4"))
        );
        assert_eq!(
            read(forged("1.2", "1.2.3", "2.0.0"), "latest").unwrap_err(),
            "the retarget record of latest is about \"1.2\""
        );
        assert_eq!(
            read(forged("latest", "1.2.4", "1.2.4"), "latest").unwrap_err(),
            "the retarget record of latest moves it to v1.2.4 from v1.2.4, which is no move back"
        );
        assert_eq!(
            read(forged("1.2", "1.1.0", "1.2.9"), "1.2").unwrap_err(),
            "the retarget record of 1.2 names v1.1.0 and v1.2.9, not both of line 1.2"
        );
        // `from` far in the future would keep every publish of the line off the tag.
        assert_eq!(
            read(forged("1.2", "1.2.3", "9.9.9"), "1.2").unwrap_err(),
            "the retarget record of 1.2 names v1.2.3 and v9.9.9, not both of line 1.2"
        );
        // For `latest` every version is of its line: a `from` never released would keep
        // every later publish off `latest` (none is newer than v9.9.9), and one moving to a
        // version never released would let verify pass a tag holding anything.
        assert_eq!(
            read(forged("latest", "1.2.3", "9.9.9"), "latest").unwrap_err(),
            "the retarget record of latest names v9.9.9, which was never released (no such version tag on the remote)"
        );
        assert_eq!(
            read(forged("latest", "1.2.5", "2.0.0"), "latest").unwrap_err(),
            "the retarget record of latest names v1.2.5, which was never released (no such version tag on the remote)"
        );
        assert_eq!(
            read(forged("latest", "1.2.3", "2.0.0"), "latest"),
            Ok(forged("latest", "1.2.3", "2.0.0"))
        );
        // Without the remote's tags nothing is honoured.
        assert!(Retarget::parse(&record().manifest(), "latest", &[]).is_err());
    }

    #[track_caller]
    fn check_judge(
        version: &str,
        this: Option<&str>,
        held: &str,
        record: Lookup<Retarget>,
        expected: Option<&str>,
    ) {
        let judged = judge(
            CheckId::ImageTag("x:latest".into()),
            &v(version),
            this,
            &Lookup::Found(held.into()),
            &record,
        )
        .map(|c| format!("{} {}", if c.ok { "✓" } else { "✗" }, c.detail));
        assert_eq!(judged.as_deref(), expected);
    }

    #[test]
    fn verify_accepts_a_current_record_for_the_versions_it_names() {
        let found = || Lookup::Found(record());
        check_judge(
            "1.2.3",
            Some("sha256:good"),
            "sha256:good",
            found(),
            Some("✓ retargeted here from v1.2.4 (release retarget)"),
        );
        check_judge(
            "1.2.4",
            Some("sha256:bad"),
            "sha256:good",
            found(),
            Some("✓ retargeted to v1.2.3 away from v1.2.4 (release retarget)"),
        );
        check_judge(
            "1.2.3",
            Some("sha256:other"),
            "sha256:good",
            found(),
            Some("✗ retargeted to sha256:good, which is not the image of v1.2.3"),
        );
        // A newer release, an older one, or a stale record: the ordinary rule decides.
        check_judge("1.3.0", Some("sha256:new"), "sha256:good", found(), None);
        check_judge("1.2.2", Some("sha256:old"), "sha256:good", found(), None);
        check_judge("1.2.4", Some("sha256:bad"), "sha256:new", found(), None);
        check_judge(
            "1.2.4",
            Some("sha256:bad"),
            "sha256:good",
            Lookup::Missing,
            None,
        );
        // Not knowing the record is not knowing the owner, unless the tag holds this image.
        check_judge(
            "1.2.4",
            Some("sha256:bad"),
            "sha256:good",
            Lookup::Unknown("down".into()),
            Some("✗ unknown: down"),
        );
        check_judge(
            "1.2.4",
            Some("sha256:bad"),
            "sha256:bad",
            Lookup::Unknown("down".into()),
            None,
        );
    }

    fn facts() -> RetargetFacts {
        RetargetFacts {
            tag: MovingTag::Latest,
            version: v("1.2.3"),
            digest: Lookup::Found("sha256:good".into()),
            on_default_branch: Lookup::Found(true),
            failing: vec![],
            held: Lookup::Found(("sha256:bad".into(), Some(v("1.2.4")))),
            record: Lookup::Missing,
            version_tags: Ok(released()),
            github: None,
            github_repo: "o/r".into(),
            image: "r.example/app".into(),
            plain_http: false,
            record_dir: "/tmp/x/record".into(),
        }
    }

    #[track_caller]
    fn check_plan(change: impl FnOnce(&mut RetargetFacts), expected: &str) {
        let mut f = facts();
        change(&mut f);
        assert_eq!(plan(&f).to_string(), expected);
    }

    #[test]
    fn the_plan_records_first_then_moves_by_digest() {
        check_plan(
            |f| f.github = Some(Lookup::Found(true)),
            "release retarget latest 1.2.3:
  1. write the record into /tmp/x/record: latest → v1.2.3 (sha256:good), away from v1.2.4
     skopeo copy --quiet --preserve-digests dir:/tmp/x/record docker://r.example/app:retarget-latest
  2. skopeo copy --all --preserve-digests docker://r.example/app@sha256:good docker://r.example/app:latest
  3. gh release edit v1.2.3-stable --latest --repo o/r
",
        );
        // A second retarget keeps the newest release ever moved away from.
        let mut f = facts();
        f.version = v("1.2.2");
        f.digest = Lookup::Found("sha256:older".into());
        f.held = Lookup::Found(("sha256:good".into(), Some(v("1.2.3"))));
        f.record = Lookup::Found(record());
        let Outcome::Steps(steps) = plan(&f).outcome else {
            panic!()
        };
        let RetargetStep::WriteRecord { record, .. } = &steps[0] else {
            panic!()
        };
        assert_eq!(record.from, v("1.2.4"));
        check_plan(
            |f| f.held = Lookup::Found(("sha256:good".into(), Some(v("1.2.3")))),
            "release retarget latest 1.2.3:\n  nothing to do: the tag holds that image already\n",
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        check_plan(
            |f| {
                f.tag = MovingTag::Minor { major: 1, minor: 3 };
                f.failing = vec!["chart 1.2.3: not in oci://r".into()];
                f.held = Lookup::Found(("sha256:x".into(), Some(v("1.2.0"))));
                f.github = Some(Lookup::Found(false));
            },
            "release retarget 1.3 1.2.3:
  ✗ 1.3 is the tag of the 1.3 line; v1.2.3 is of the 1.2 line: retarget 1.2 instead
  ✗ v1.2.3 does not verify, so nothing is moved to it:
      - chart 1.2.3: not in oci://r
    (`cargo xtask release verify 1.2.3 --artifacts-only` shows every check)
  ✗ 1.3 holds v1.2.0, not newer than v1.2.3: retarget only moves back; a publish of a newer release moves 1.3 forward
  ✗ --github makes GitHub's Latest follow latest; 1.3 has no GitHub counterpart
",
        );
        check_plan(
            |f| {
                f.on_default_branch = Lookup::Found(false);
                f.held = Lookup::Unknown("registry down".into());
                f.github = Some(Lookup::Found(false));
            },
            "release retarget latest 1.2.3:
  ✗ the commit of v1.2.3 is not on the default branch: latest is only ever a release of it
  ✗ cannot read what r.example/app:latest holds: registry down
  ✗ --github: v1.2.3-stable is not on the remote, so v1.2.3 has no GitHub release to make Latest
",
        );
        check_plan(
            |f| f.held = Lookup::Found(("sha256:x".into(), None)),
            "release retarget latest 1.2.3:
  ✗ r.example/app:latest holds sha256:x, which carries no release version label: cannot tell it is newer
",
        );
    }

    /// The record a retarget writes passes the rule its readers apply: an image labelled
    /// with a version the remote has no tag of is not moved away from on its word.
    #[test]
    fn a_record_the_readers_would_refuse_is_not_written() {
        check_plan(
            |f| f.held = Lookup::Found(("sha256:bad".into(), Some(v("1.2.7")))),
            "release retarget latest 1.2.3:
  ✗ the retarget record of latest names v1.2.7, which was never released (no such version tag on the remote)
",
        );
        check_plan(
            |f| f.version_tags = Err("origin does not answer".into()),
            "release retarget latest 1.2.3:
  ✗ cannot list the remote's version tags: origin does not answer
",
        );
    }
}
