//! Where a release stands, in one word, from the facts and checks of `release verify`:
//! `release status` prints one [`Row`] per version, for people (a table), for scripts
//! (`--json`) and for the step summary of a GitHub Actions run (Markdown).
//!
//! The state is decided from the same checks `release verify` makes, so the two never
//! disagree on whether a release is whole; what status adds is telling a release still on
//! its way (`tagged`, `publishing`) from a broken one. An answer that could not be had is
//! `unknown`, in the cells and in the state, never "none".

use std::fmt;

use semver::Version;

use crate::check::{Check, CheckId, Lookup};
use crate::json::Json;
use crate::publish::rules;
use crate::tag::grammar;
use crate::verify::checks::to_json;
use crate::verify::facts::ReleaseFacts;
use crate::verify::provenance::Attested;

/// The one word at the end of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// The version tag is on the remote, nothing is published yet.
    Tagged,
    /// The image is there, the rest is on its way (the chart goes out last).
    Publishing,
    /// Every artifact verifies; no stable tag.
    Published,
    /// The stable tag is on the version's commit; no GitHub release yet.
    Promoted,
    /// The GitHub release exists and verifies.
    Released,
    /// A check failed, and not because publishing is still under way: the first failure.
    Broken(String),
    /// Nothing failed, but a question could not be asked: the first one.
    Unknown(String),
}

impl State {
    pub fn word(&self) -> &'static str {
        match self {
            State::Tagged => "tagged",
            State::Publishing => "publishing",
            State::Published => "published",
            State::Promoted => "promoted",
            State::Released => "released",
            State::Broken(_) => "broken",
            State::Unknown(_) => "unknown",
        }
    }

    pub fn detail(&self) -> Option<&str> {
        match self {
            State::Broken(why) | State::Unknown(why) => Some(why),
            _ => None,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail() {
            Some(why) => write!(f, "{}: {why}", self.word()),
            None => f.write_str(self.word()),
        }
    }
}

/// One cell of a row: a value, nothing there, not asked, or could not be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Value(String),
    None,
    NotAsked,
    Unknown(String),
}

impl Cell {
    fn from_lookup<T>(lookup: &Lookup<T>, value: impl FnOnce(&T) -> String) -> Cell {
        match lookup {
            Lookup::Found(found) => Cell::Value(value(found)),
            Lookup::Missing => Cell::None,
            Lookup::Unknown(why) => Cell::Unknown(why.clone()),
        }
    }

    /// As a person reads it: the why of an unknown is in the state or in `--json`.
    fn short(&self) -> &str {
        match self {
            Cell::Value(v) => v,
            Cell::None => "none",
            Cell::NotAsked => "not asked",
            Cell::Unknown(_) => "unknown",
        }
    }

    /// In `--json`: a value, `null` for none, or the words with the reason.
    fn json(&self) -> Json {
        match self {
            Cell::Value(v) => Json::from(v.as_str()),
            Cell::None => Json::Null,
            Cell::NotAsked => Json::from("not asked"),
            Cell::Unknown(why) => Json::from(format!("unknown: {why}")),
        }
    }
}

/// Where one version stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub version: Version,
    /// The commit of `vX.Y.Z`, short.
    pub commit: Cell,
    /// The platforms of the image under `vX.Y.Z`.
    pub image: Cell,
    /// The chart's version.
    pub chart: Cell,
    pub attestations: Cell,
    /// `vX.Y.Z-stable`: `yes` on the version's commit.
    pub stable: Cell,
    /// The GitHub release of the stable tag, and whether it is Latest.
    pub github: Cell,
    /// The moving tags (`X.Y`, `latest`) that hold this version's image, each with how.
    pub holds: Vec<String>,
    pub state: State,
    /// Every check of `release verify`, for `--json`.
    pub checks: Vec<Check>,
}

/// The row of one version from its facts and the checks `verify` made of them;
/// `github_latest` is the tag of GitHub's Latest release (`Found(None)`: there is none).
pub fn row(
    facts: &ReleaseFacts,
    checks: Vec<Check>,
    github_latest: &Lookup<Option<String>>,
) -> Row {
    let v = &facts.version;
    let stable_tag = grammar::stable_tag(v);
    let commit = Cell::from_lookup(&facts.commit, |c| c.chars().take(7).collect());
    let image = Cell::from_lookup(&facts.version_image, |index| {
        let platforms: Vec<&str> = index.manifests.iter().map(|(p, _)| p.as_str()).collect();
        platforms.join(" ")
    });
    let chart = Cell::from_lookup(&facts.chart, |c| c.version.clone());
    let attestations = match &facts.provenance {
        None => Cell::NotAsked,
        Some(answers) => {
            let unknown = answers.iter().find_map(|(_, a)| match a {
                Lookup::Unknown(why) => Some(why.clone()),
                _ => None,
            });
            match unknown {
                Some(why) => Cell::Unknown(why),
                None if answers.iter().all(|(_, a)| a == &Lookup::Missing) => Cell::None,
                None => Cell::Value(
                    answers
                        .iter()
                        .map(|(subject, answer)| {
                            let word = match answer {
                                Lookup::Found(Attested::Verified(_)) => "verified",
                                Lookup::Found(Attested::Refused(_)) => "refused",
                                _ => "none",
                            };
                            format!("{} {word}", subject.what)
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            }
        }
    };
    let stable = match (&facts.stable_commit, &facts.commit) {
        (Lookup::Found(s), Lookup::Found(c)) if s == c => Cell::Value("yes".into()),
        (Lookup::Found(s), _) => {
            Cell::Value(format!("on {}", s.chars().take(7).collect::<String>()))
        }
        (other, _) => Cell::from_lookup(other, |_| unreachable!("Found is matched above")),
    };
    let github = match &facts.github_release {
        None if facts.stable_commit == Lookup::Missing => Cell::None,
        None => Cell::NotAsked,
        Some(release) => match release {
            Lookup::Found(r) => {
                let kind = match (r.draft, r.prerelease) {
                    (true, _) => "draft",
                    (false, true) => "prerelease",
                    (false, false) => "release",
                };
                Cell::Value(match github_latest {
                    Lookup::Found(Some(latest)) if *latest == stable_tag => {
                        format!("{kind}, Latest")
                    }
                    Lookup::Found(_) => kind.to_string(),
                    Lookup::Unknown(_) => format!("{kind}, Latest unknown"),
                    Lookup::Missing => kind.to_string(),
                })
            }
            Lookup::Missing => Cell::None,
            Lookup::Unknown(why) => Cell::Unknown(why.clone()),
        },
    };
    let digest = match &facts.version_image {
        Lookup::Found(index) => Some(index.digest.as_str()),
        _ => None,
    };
    let mut holds = Vec::new();
    for (tag, held, record) in [
        (
            rules::minor_tag(v),
            &facts.minor_digest,
            &facts.minor_record,
        ),
        (
            rules::LATEST.to_string(),
            &facts.latest_digest,
            &facts.latest_record,
        ),
    ] {
        // A record counts only while the tag holds the digest it names.
        let retargeted = match (record, held) {
            (Lookup::Found(r), Lookup::Found(h)) if r.is_current(h) => Some(r),
            _ => None,
        };
        match (held, digest, retargeted) {
            (Lookup::Found(held), Some(digest), Some(r)) if held == digest => {
                holds.push(format!("{tag} (retargeted from v{})", r.from))
            }
            (Lookup::Found(held), Some(digest), None) if held == digest => holds.push(tag),
            (Lookup::Unknown(_), _, _) => holds.push(format!("{tag}: unknown")),
            (_, _, Some(r)) if r.version < *v && *v <= r.from => {
                holds.push(format!("{tag} retargeted to v{}", r.version))
            }
            _ => {}
        }
    }
    let state = state(facts, &checks);
    Row {
        version: v.clone(),
        commit,
        image,
        chart,
        attestations,
        stable,
        github,
        holds,
        state,
        checks,
    }
}

/// The one word: a failure that publishing still under way explains is not a break.
pub fn state(facts: &ReleaseFacts, checks: &[Check]) -> State {
    let is_unknown = |c: &&Check| c.detail.starts_with("unknown: ");
    let failing: Vec<&Check> = checks.iter().filter(|c| !c.ok).collect();
    let definite: Vec<&&Check> = failing.iter().filter(|c| !is_unknown(c)).collect();
    let first = |c: &Check| format!("{}: {}", c.id, c.detail);
    if facts.commit == Lookup::Missing {
        return State::Broken(format!(
            "{} is not on the remote",
            grammar::version_tag(&facts.version)
        ));
    }
    let image = &facts.version_image;
    let chart = &facts.chart;
    // Nothing published yet: every failure is about the artifacts not being there.
    if *image == Lookup::Missing
        && *chart == Lookup::Missing
        && facts.stable_commit == Lookup::Missing
    {
        return State::Tagged;
    }
    // The image went out, the chart (always last) not yet; tags set by digest may be
    // missing too. A chart before its image is a break, never publishing.
    let on_its_way =
        |c: &Check| c.detail == "not in the registry" || matches!(c.id, CheckId::Chart(_));
    if matches!(image, Lookup::Found(_))
        && *chart == Lookup::Missing
        && facts.stable_commit == Lookup::Missing
        && definite.iter().all(|c| on_its_way(c))
    {
        return State::Publishing;
    }
    if let Some(c) = definite.first() {
        return State::Broken(first(c));
    }
    if let Some(c) = failing.first() {
        let why = c.detail.trim_start_matches("unknown: ");
        return State::Unknown(format!("{}: {why}", c.id));
    }
    match (&facts.stable_commit, &facts.github_release) {
        (Lookup::Missing, _) => State::Published,
        (_, Some(Lookup::Found(_))) => State::Released,
        _ => State::Promoted,
    }
}

const HEADERS: [&str; 9] = [
    "VERSION",
    "COMMIT",
    "IMAGE",
    "CHART",
    "ATTESTATIONS",
    "STABLE",
    "GITHUB",
    "HOLDS",
    "STATE",
];

fn cells(row: &Row) -> [String; 9] {
    [
        grammar::version_tag(&row.version),
        row.commit.short().to_string(),
        row.image.short().to_string(),
        row.chart.short().to_string(),
        row.attestations.short().to_string(),
        row.stable.short().to_string(),
        row.github.short().to_string(),
        if row.holds.is_empty() {
            "-".to_string()
        } else {
            row.holds.join(", ")
        },
        row.state.to_string(),
    ]
}

/// The table for people: one line per version, columns aligned.
pub fn render_table(rows: &[Row]) -> String {
    let lines: Vec<[String; 9]> = std::iter::once(HEADERS.map(String::from))
        .chain(rows.iter().map(cells))
        .collect();
    let mut widths = [0; 9];
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for line in &lines {
        let mut text = String::new();
        for (i, (cell, width)) in line.iter().zip(widths).enumerate() {
            if i + 1 == line.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// The step summary of a GitHub Actions run: the same table in Markdown.
pub fn render_markdown(rows: &[Row]) -> String {
    let escape = |cell: &str| cell.replace('|', "\\|").replace('\n', " ");
    let mut out = format!(
        "### Release status\n\n| {} |\n|{}\n",
        HEADERS.join(" | ").to_lowercase(),
        " --- |".repeat(HEADERS.len())
    );
    for row in rows {
        let cells: Vec<String> = cells(row).iter().map(|c| escape(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// `--json`: an array of one object per version, its checks in `release verify`'s shape.
pub fn to_json_rows(rows: &[Row]) -> Json {
    Json::array(rows.iter().map(|row| {
        Json::object([
            ("version", Json::from(grammar::version_tag(&row.version))),
            ("commit", row.commit.json()),
            ("image", row.image.json()),
            ("chart", row.chart.json()),
            ("attestations", row.attestations.json()),
            ("stable", row.stable.json()),
            ("github", row.github.json()),
            (
                "holds",
                Json::array(row.holds.iter().map(|h| Json::from(h.as_str()))),
            ),
            ("state", Json::from(row.state.word())),
            ("detail", row.state.detail().map_or(Json::Null, Json::from)),
            ("checks", to_json(&row.checks)),
        ])
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::facts::{ImageIndex, PublishedChart, PublishedRelease};

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
    const DIGEST: &str = "sha256:aaaa";

    fn facts() -> ReleaseFacts {
        ReleaseFacts {
            version: Version::new(1, 2, 3),
            remote_tags: Lookup::Found(vec!["v1.2.3".into()]),
            commit: Lookup::Found(COMMIT.into()),
            stable_commit: Lookup::Missing,
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
            latest_digest: Lookup::Found("sha256:other".into()),
            minor_record: Lookup::Missing,
            latest_record: Lookup::Missing,
            chart: Lookup::Found(PublishedChart {
                digest: "sha256:dddd".into(),
                version: "1.2.3".into(),
                app_version: "v1.2.3".into(),
                images: vec!["x:v1.2.3".into()],
            }),
            github_release: None,
            run_output: None,
            provenance: None,
            chart_name: "llm-proxy".into(),
        }
    }

    /// The check whose printed name is `name`.
    fn id(name: &str) -> CheckId {
        let arg = |prefix: &str| name.strip_prefix(prefix).map(str::to_string);
        match name {
            "image revision label" => CheckId::ImageRevision,
            "chart appVersion" => CheckId::ChartAppVersion,
            _ if arg("tag ").is_some() => CheckId::VersionTag(arg("tag ").unwrap()),
            _ if name.ends_with(":latest") => CheckId::ImageTag(arg("image ").unwrap()),
            _ if arg("image").is_some() => CheckId::Image(arg("image").unwrap().trim().into()),
            _ if arg("chart ").is_some() => CheckId::Chart(arg("chart ").unwrap()),
            _ => panic!("no check named {name:?}"),
        }
    }

    fn ok(name: &str) -> Check {
        Check::new(id(name), true, "fine")
    }

    fn bad(name: &str, detail: &str) -> Check {
        Check::new(id(name), false, detail)
    }

    #[track_caller]
    fn check(change: impl FnOnce(&mut ReleaseFacts), checks: &[Check], expected: &str) {
        let mut f = facts();
        change(&mut f);
        assert_eq!(state(&f, checks).to_string(), expected);
    }

    #[test]
    fn each_state_from_its_facts() {
        let all_ok = [ok("tag v1.2.3"), ok("image")];
        check(|_| {}, &all_ok, "published");
        check(
            |f| f.stable_commit = Lookup::Found(COMMIT.into()),
            &all_ok,
            "promoted",
        );
        check(
            |f| {
                f.stable_commit = Lookup::Found(COMMIT.into());
                f.github_release = Some(Lookup::Found(PublishedRelease {
                    title: "v1.2.3-stable".into(),
                    draft: false,
                    prerelease: false,
                    body: String::new(),
                }));
            },
            &all_ok,
            "released",
        );
        check(
            |f| {
                f.version_image = Lookup::Missing;
                f.chart = Lookup::Missing;
            },
            &[
                bad("image x:v1.2.3", "not in the registry"),
                bad("chart 1.2.3", "not in oci://x"),
            ],
            "tagged",
        );
        check(
            |f| f.chart = Lookup::Missing,
            &[
                bad("image x:latest", "not in the registry"),
                bad("chart 1.2.3", "not in oci://x"),
            ],
            "publishing",
        );
    }

    #[test]
    fn a_failure_publishing_does_not_explain_is_broken_and_unknown_is_never_absent() {
        check(
            |f| f.version_image = Lookup::Missing,
            &[bad("image x:v1.2.3", "not in the registry")],
            "broken: image x:v1.2.3: not in the registry",
        );
        check(
            |_| {},
            &[bad("chart appVersion", "1.2.3, expected v1.2.3")],
            "broken: chart appVersion: 1.2.3, expected v1.2.3",
        );
        check(
            |f| f.commit = Lookup::Missing,
            &[],
            "broken: v1.2.3 is not on the remote",
        );
        check(
            |f| f.chart = Lookup::Unknown("registry down".into()),
            &[Check::unknown(id("chart 1.2.3"), "registry down")],
            "unknown: chart 1.2.3: registry down",
        );
        // A definite failure wins over an unknown.
        check(
            |_| {},
            &[
                Check::unknown(CheckId::ImageTag("x:1.2".into()), "timeout"),
                bad("image revision label", "abc, expected def"),
            ],
            "broken: image revision label: abc, expected def",
        );
        let mut f = facts();
        f.chart = Lookup::Unknown("registry down".into());
        let row = row(&f, vec![], &Lookup::Found(None));
        assert_eq!(row.chart, Cell::Unknown("registry down".into()));
        assert_eq!(row.chart.short(), "unknown");
        assert_eq!(row.chart.json().to_string(), r#""unknown: registry down""#);
    }

    #[test]
    fn cells_say_what_holds_what() {
        let mut f = facts();
        f.stable_commit = Lookup::Found(COMMIT.into());
        f.github_release = Some(Lookup::Found(PublishedRelease {
            title: "v1.2.3-stable".into(),
            draft: false,
            prerelease: false,
            body: String::new(),
        }));
        let latest = Lookup::Found(Some("v1.2.3-stable".to_string()));
        let r = row(&f, vec![ok("tag v1.2.3")], &latest);
        assert_eq!(
            cells(&r),
            [
                "v1.2.3",
                "0123456",
                "linux/amd64 linux/arm64",
                "1.2.3",
                "not asked",
                "yes",
                "release, Latest",
                "1.2",
                "released"
            ]
        );
        f.latest_digest = Lookup::Unknown("timeout".into());
        let r = row(&f, vec![], &Lookup::Unknown("gh".into()));
        assert_eq!(r.holds, ["1.2", "latest: unknown"]);
        assert_eq!(r.github.short(), "release, Latest unknown");
        let table = render_table(std::slice::from_ref(&r));
        assert!(table.starts_with("VERSION  COMMIT   IMAGE"), "{table}");
        let markdown = render_markdown(&[r]);
        assert!(markdown.contains("| v1.2.3 | 0123456 |"), "{markdown}");
    }
}
