//! The record a stable release keeps of what it approved: the commit, the image index and each
//! platform's manifest, the tags that held it, the chart and its digest, and the workflow run.
//!
//! `release github` writes it below the generated notes of the GitHub release, so the
//! approval is recorded where people look; `release verify` reads back the one record there
//! is (a second one, or one in an HTML comment, is refused: the table people see is the one
//! compared) and compares every row with what the registry serves and the rules say, so an
//! image or chart replaced after the release, or a row edited, is caught. Rendering and
//! reading are pure and each other's inverse.

use crate::check::{Check, CheckId, Lookup};
use crate::config::Config;
use crate::publish::rules::{self, Owner};
use crate::quote::quote;
use crate::tag::grammar;
use crate::verify::facts::ReleaseFacts;
use crate::verify::provenance;

/// The heading the record starts under; what follows it, to the end of the body, is the record.
pub const HEADING: &str = "## Artifacts";

/// The last word of the rows naming attestations (`image attestation`, `chart attestation`).
const ATTESTATION: &str = " attestation";

/// The row of each artifact whose provenance passed, with the digest of its attestation in
/// the registry, when the facts hold them (`provenance = true`, or `--provenance`).
fn attestation_rows(config: &Config, facts: &ReleaseFacts) -> Vec<(String, String)> {
    let Some(answers) = &facts.provenance else {
        return Vec::new();
    };
    answers
        .iter()
        .filter_map(|(subject, attested)| {
            let approved =
                provenance::approved(config, &facts.version, &facts.commit, subject, attested)?;
            let manifest = approved.manifest.as_ref()?;
            let signer = approved
                .signer
                .strip_prefix("https://github.com/")
                .unwrap_or(&approved.signer);
            Some((
                format!("{}{ATTESTATION}", subject.what),
                format!(
                    "{} by {}",
                    code(&format!("{}@{manifest}", subject.repository)),
                    code(signer)
                ),
            ))
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub commit: String,
    /// The image repository, without tag.
    pub image: String,
    /// The digest of the multi-platform index under `vX.Y.Z`.
    pub index_digest: String,
    /// Each platform (`linux/amd64`) with the digest of its manifest.
    pub platforms: Vec<(String, String)>,
    /// The tags that held the index when the release was made.
    pub tags: Vec<String>,
    /// `oci://…/NAME:X.Y.Z`.
    pub chart: String,
    pub chart_digest: String,
    /// With provenance checked: each artifact's attestation that passed the gate, as a row
    /// (`image attestation`, `` `REPOSITORY@sha256:…` by `OWNER/NAME/WORKFLOW@REF` ``).
    pub attestations: Vec<(String, String)>,
    /// The GitHub Actions run that made the release, when there was one.
    pub run_url: Option<String>,
}

impl Record {
    /// What the facts of a fully verified release say; `None` when something is not there.
    pub fn from_facts(config: &Config, facts: &ReleaseFacts, chart_name: &str) -> Option<Record> {
        let (Lookup::Found(commit), Lookup::Found(index), Lookup::Found(chart)) =
            (&facts.commit, &facts.version_image, &facts.chart)
        else {
            return None;
        };
        let version = &facts.version;
        let holds =
            |found: &Lookup<String>| matches!(found, Lookup::Found(d) if *d == index.digest);
        let known = facts.remote_tags.found().cloned().unwrap_or_default();
        let on_default_branch = matches!(facts.on_default_branch, Lookup::Found(true));
        let owners = rules::image_tags(version, commit, on_default_branch, &known);
        let mut held = vec![owners.version.clone()];
        if owners.minor_owner == Owner::This && holds(&facts.minor_digest) {
            held.push(owners.minor.clone());
        }
        if holds(&facts.sha_digest) {
            held.push(owners.sha.clone());
        }
        if owners.latest_owner == Owner::This && holds(&facts.latest_digest) {
            held.push(rules::LATEST.to_string());
        }
        Some(Record {
            commit: commit.clone(),
            image: config.image.clone(),
            index_digest: index.digest.clone(),
            platforms: index.manifests.clone(),
            tags: held,
            chart: format!("{}/{chart_name}:{version}", config.chart_registry),
            chart_digest: chart.digest.clone(),
            attestations: attestation_rows(config, facts),
            run_url: None,
        })
    }

    /// The Markdown section, one `| what | value |` row each.
    pub fn render(&self) -> String {
        let mut rows = vec![
            ("commit".to_string(), code(&self.commit)),
            (
                "image".to_string(),
                code(&format!("{}@{}", self.image, self.index_digest)),
            ),
        ];
        for (platform, digest) in &self.platforms {
            rows.push((platform.clone(), code(digest)));
        }
        let tags: Vec<String> = self.tags.iter().map(|t| code(t)).collect();
        rows.push(("image tags".into(), tags.join(", ")));
        rows.push((
            "chart".into(),
            code(&format!("{}@{}", self.chart, self.chart_digest)),
        ));
        rows.extend(self.attestations.iter().cloned());
        if let Some(url) = &self.run_url {
            rows.push(("workflow run".into(), url.clone()));
        }
        let mut out = format!("{HEADING}\n\n| | |\n| --- | --- |\n");
        for (what, value) in rows {
            out.push_str(&format!("| {what} | {value} |\n"));
        }
        out
    }

    /// Reads the record back from a release body: the one `## Artifacts` section, last in the
    /// body, outside any HTML comment, each row once and known. Anything else is refused with
    /// what is wrong, so a record cannot be hidden, doubled or padded.
    pub fn parse(body: &str) -> Result<Record, String> {
        let headings: Vec<usize> = line_starts(body)
            .filter(|&at| body[at..].lines().next().map(str::trim) == Some(HEADING))
            .collect();
        let at = match headings[..] {
            [] => {
                return Err(format!(
                    "the notes hold no `{HEADING}` record of the artifacts"
                ));
            }
            [at] => at,
            _ => {
                return Err(format!(
                    "the notes hold {} `{HEADING}` records: there must be exactly one",
                    headings.len()
                ));
            }
        };
        let before = &body[..at];
        let opened = before.rfind("<!--");
        if opened.is_some_and(|open| !before[open..].contains("-->")) {
            return Err(format!("the `{HEADING}` record is inside an HTML comment"));
        }
        let section = &body[at..];
        let section = &section[section.find('\n').map_or(section.len(), |eol| eol + 1)..];
        if section.contains("<!--") {
            return Err(format!("the `{HEADING}` record holds an HTML comment"));
        }
        let mut lines = section.lines().map(str::trim).filter(|l| !l.is_empty());
        if (lines.next(), lines.next()) != (Some("| | |"), Some("| --- | --- |")) {
            return Err(format!(
                "the `{HEADING}` record does not start with its table"
            ));
        }
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in lines {
            let row = line.strip_prefix('|').and_then(|l| l.strip_suffix('|'));
            let Some((what, value)) = row.and_then(|r| r.split_once('|')) else {
                return Err(format!(
                    "the `{HEADING}` record holds {}, not a row of its table",
                    quote(line)
                ));
            };
            let (what, value) = (what.trim(), value.trim());
            let known = ["commit", "image", "image tags", "chart", "workflow run"].contains(&what)
                || what.contains('/')
                || what.ends_with(ATTESTATION);
            if !known || fields.iter().any(|(w, _)| w == what) {
                return Err(format!(
                    "the `{HEADING}` record has a row {} that is {}",
                    quote(what),
                    if known {
                        "there twice"
                    } else {
                        "not one of a record"
                    }
                ));
            }
            fields.push((what.to_string(), value.to_string()));
        }
        let field = |name: &str| {
            fields
                .iter()
                .find(|(what, _)| what == name)
                .map(|(_, value)| value.as_str())
        };
        let whole = || format!("the `{HEADING}` record is not whole");
        let coded = |name: &str| field(name).and_then(uncode).ok_or_else(whole);
        let (image, index_digest) = coded("image")?.rsplit_once('@').ok_or_else(whole)?;
        let (chart, chart_digest) = coded("chart")?.rsplit_once('@').ok_or_else(whole)?;
        let platforms = fields
            .iter()
            .filter(|(what, _)| what.contains('/'))
            .map(|(what, value)| Some((what.clone(), uncode(value)?.to_string())))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(whole)?;
        let tags = field("image tags")
            .ok_or_else(whole)?
            .split(", ")
            .map(|t| uncode(t).map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(whole)?;
        Ok(Record {
            commit: coded("commit")?.to_string(),
            image: image.to_string(),
            index_digest: index_digest.to_string(),
            platforms,
            tags,
            chart: chart.to_string(),
            chart_digest: chart_digest.to_string(),
            attestations: fields
                .iter()
                .filter(|(what, _)| what.ends_with(ATTESTATION))
                .cloned()
                .collect(),
            run_url: field("workflow run").map(str::to_string),
        })
    }
}

/// The byte offset of each line of `text`.
fn line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    std::iter::once(0).chain(text.match_indices('\n').map(|(at, _)| at + 1))
}

/// The record in the release notes against what the registry, the remote and the rules say
/// now, row by row: the commit, the index and each platform, the tags (`rules::image_tags`),
/// the chart reference, and, where provenance is checked, each attestation. A version tag
/// moved, an image or a chart replaced after the release, or a row edited is caught here.
pub fn check(config: &Config, facts: &ReleaseFacts, body: &str) -> Check {
    let id = CheckId::GithubRecord;
    let record = match Record::parse(body) {
        Ok(record) => record,
        Err(why) => return Check::new(id, false, why),
    };
    // A row that cannot be compared now is unknown, never a pass.
    let provenance = facts.provenance.iter().flatten().map(|(_, a)| a.unknown());
    let unknown = [
        facts.commit.unknown(),
        facts.version_image.unknown(),
        facts.chart.unknown(),
        facts.remote_tags.unknown(),
    ]
    .into_iter()
    .chain(provenance)
    .flatten()
    .next();
    if let Some(why) = unknown {
        return Check::unknown(id, why);
    }
    let version = &facts.version;
    let mut differences = Vec::new();
    let mut differ = |what: &str, now: Option<String>, recorded: String| match now {
        Some(now) if now == recorded => {}
        Some(now) => differences.push(format!("{what} is {now}, recorded {recorded}")),
        None => differences.push(format!("{what} is gone, recorded {recorded}")),
    };
    let commit = facts.commit.found();
    let index = facts.version_image.found();
    differ("the commit", commit.cloned(), record.commit.clone());
    differ(
        "the image repository",
        Some(config.image.clone()),
        record.image.clone(),
    );
    differ(
        &format!("the image under {}", grammar::version_tag(version)),
        index.map(|i| i.digest.clone()),
        record.index_digest.clone(),
    );
    differ(
        "the chart reference",
        Some(format!(
            "{}/{}:{version}",
            config.chart_registry, facts.chart_name
        )),
        record.chart.clone(),
    );
    let chart = facts.chart.found();
    differ(
        "the chart",
        chart.map(|c| c.digest.clone()),
        record.chart_digest.clone(),
    );
    let manifests = index.map(|i| i.manifests.as_slice()).unwrap_or_default();
    differences.extend(rows_differ(manifests, &record.platforms));
    if facts.provenance.is_some() {
        differences.extend(rows_differ(
            &attestation_rows(config, facts),
            &record.attestations,
        ));
    }
    if let Some(commit) = commit {
        differences.extend(tags_differ(facts, commit, &record.tags));
    }
    if differences.is_empty() {
        Check::new(id, true, "the registry still serves what was released")
    } else {
        Check::new(id, false, differences.join("; "))
    }
}

/// Rows (`what`, value) of the record against the same rows now, whichever side has more.
fn rows_differ(now: &[(String, String)], recorded: &[(String, String)]) -> Vec<String> {
    let value = |rows: &[(String, String)], what: &str| {
        rows.iter().find(|(w, _)| w == what).map(|(_, v)| v.clone())
    };
    let mut differences = Vec::new();
    for (what, recorded) in recorded {
        match value(now, what) {
            Some(now) if now == *recorded => {}
            Some(now) => differences.push(format!("{what} is {now}, recorded {recorded}")),
            None => differences.push(format!("{what} is gone, recorded {recorded}")),
        }
    }
    for (what, now) in now {
        if value(recorded, what).is_none() {
            differences.push(format!("{what} is {now}, not recorded"));
        }
    }
    differences
}

/// The tags row against the rules: in the contract's order, only tags of this release, and
/// every tag it owns now (a moving tag a newer release took since may stay recorded).
fn tags_differ(facts: &ReleaseFacts, commit: &str, recorded: &[String]) -> Vec<String> {
    let known = facts.remote_tags.found().cloned().unwrap_or_default();
    let on_default_branch = matches!(facts.on_default_branch, Lookup::Found(true));
    let owners = rules::image_tags(&facts.version, commit, on_default_branch, &known);
    let every = owners.every();
    let mut differences: Vec<String> = recorded
        .iter()
        .filter(|t| !every.contains(&t.as_str()))
        .map(|t| format!("the image tags name {t}, not a tag of this release"))
        .collect();
    differences.extend(
        owners
            .all()
            .into_iter()
            .filter(|t| !recorded.iter().any(|r| r == t))
            .map(|t| format!("the image tags lack {t}")),
    );
    let in_order: Vec<&str> = every
        .into_iter()
        .filter(|t| recorded.iter().any(|r| r == t))
        .collect();
    if differences.is_empty() && in_order != recorded {
        differences.push(format!(
            "the image tags are {}, expected in the order {}",
            recorded.join(", "),
            in_order.join(", ")
        ));
    }
    differences
}

fn code(text: &str) -> String {
    format!("`{text}`")
}

fn uncode(text: &str) -> Option<&str> {
    text.strip_prefix('`')?.strip_suffix('`')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            image: "ghcr.io/sofatutor/llm-proxy".into(),
            index_digest: "sha256:aaaa".into(),
            platforms: vec![
                ("linux/amd64".into(), "sha256:bbbb".into()),
                ("linux/arm64".into(), "sha256:cccc".into()),
            ],
            tags: vec![
                "v1.2.3".into(),
                "1.2".into(),
                "sha-0123456".into(),
                "latest".into(),
            ],
            chart: "oci://ghcr.io/sofatutor/charts/llm-proxy:1.2.3".into(),
            chart_digest: "sha256:dddd".into(),
            attestations: vec![(
                "image attestation".into(),
                "`ghcr.io/sofatutor/llm-proxy@sha256:eeee` by `sofatutor/llm-proxy/.github/workflows/docker.yml@refs/tags/v1.2.3`".into(),
            )],
            run_url: Some("https://github.com/sofatutor/llm-proxy/actions/runs/42".into()),
        }
    }

    #[test]
    fn renders_one_row_per_fact() {
        assert_eq!(
            record().render(),
            "\
## Artifacts

| | |
| --- | --- |
| commit | `0123456789abcdef0123456789abcdef01234567` |
| image | `ghcr.io/sofatutor/llm-proxy@sha256:aaaa` |
| linux/amd64 | `sha256:bbbb` |
| linux/arm64 | `sha256:cccc` |
| image tags | `v1.2.3`, `1.2`, `sha-0123456`, `latest` |
| chart | `oci://ghcr.io/sofatutor/charts/llm-proxy:1.2.3@sha256:dddd` |
| image attestation | `ghcr.io/sofatutor/llm-proxy@sha256:eeee` by `sofatutor/llm-proxy/.github/workflows/docker.yml@refs/tags/v1.2.3` |
| workflow run | https://github.com/sofatutor/llm-proxy/actions/runs/42 |
"
        );
    }

    #[test]
    fn reads_back_what_it_renders_below_the_generated_notes() {
        let body = format!(
            "## What's Changed\n* a fix | with a pipe\n\n{}",
            record().render()
        );
        assert_eq!(Record::parse(&body), Ok(record()));
        let mut without_run = record();
        without_run.run_url = None;
        assert_eq!(Record::parse(&without_run.render()), Ok(without_run));
        // GitHub's generated notes open with a comment of their own.
        let generated = format!(
            "<!-- Release notes generated using configuration in .github/release.yml -->\n\n{}",
            record().render()
        );
        assert_eq!(Record::parse(&generated), Ok(record()));
    }

    #[test]
    fn a_record_that_is_not_whole_hidden_doubled_or_padded_is_refused() {
        let refused = |body: &str| Record::parse(body).unwrap_err();
        let rendered = record().render();
        assert_eq!(
            refused("## What's Changed\n* fix\n"),
            "the notes hold no `## Artifacts` record of the artifacts"
        );
        assert_eq!(
            refused(&rendered.replace("| chart |", "| chart? |")),
            "the `## Artifacts` record has a row \"chart?\" that is not one of a record"
        );
        assert_eq!(
            refused(&rendered.replace("`sha256:bbbb`", "sha256:bbbb")),
            "the `## Artifacts` record is not whole"
        );
        assert_eq!(
            refused(&rendered.replace("| chart |", "| image |")),
            "the `## Artifacts` record has a row \"image\" that is there twice"
        );
        // Another table shown, the real record hidden in a comment below it.
        let other = rendered
            .replace("sha256:aaaa", "sha256:0000")
            .replace(HEADING, "");
        assert_eq!(
            refused(&format!("{other}\n<!--\n{rendered}-->\n")),
            "the `## Artifacts` record is inside an HTML comment"
        );
        assert_eq!(
            refused(&format!("{rendered}\n{rendered}")),
            "the notes hold 2 `## Artifacts` records: there must be exactly one"
        );
        assert_eq!(
            refused(&format!(
                "{rendered}<!-- | linux/s390x | `sha256:ffff` | -->\n"
            )),
            "the `## Artifacts` record holds an HTML comment"
        );
        assert_eq!(
            refused(&format!("{rendered}\nSee also the changelog.\n")),
            "the `## Artifacts` record holds \"See also the changelog.\", not a row of its table"
        );
    }
}
