//! The record a stable release keeps of what it approved: the commit, the image index and each
//! platform's manifest, the tags that held it, the chart and its digest, and the workflow run.
//!
//! `release github` writes it below the generated notes of the GitHub release, so the
//! approval is recorded where people look; `release verify` reads it back and checks that
//! the registry still serves exactly that, so an image or chart replaced after the release is
//! caught. Rendering and reading are pure and each other's inverse.

use crate::check::{Check, CheckId, Lookup};
use crate::config::Config;
use crate::publish::rules::{self, Owner};
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
            let approved = provenance::approved(config, &facts.commit, subject, attested)?;
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
        let known = match &facts.remote_tags {
            Lookup::Found(tags) => tags.clone(),
            _ => Vec::new(),
        };
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

    /// Reads the record back from a release body; `None` when the body has none, or one
    /// that is not whole.
    pub fn parse(body: &str) -> Option<Record> {
        let section = &body[body.find(HEADING)? + HEADING.len()..];
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in section.lines().map(str::trim) {
            let Some(row) = line.strip_prefix('|').and_then(|l| l.strip_suffix('|')) else {
                continue;
            };
            let Some((what, value)) = row.split_once('|') else {
                continue;
            };
            fields.push((what.trim().to_string(), value.trim().to_string()));
        }
        let field = |name: &str| {
            fields
                .iter()
                .find(|(what, _)| what == name)
                .map(|(_, value)| value.as_str())
        };
        let (image, index_digest) = uncode(field("image")?)?.rsplit_once('@')?;
        let (chart, chart_digest) = uncode(field("chart")?)?.rsplit_once('@')?;
        let platforms = fields
            .iter()
            .filter(|(what, _)| what.contains('/'))
            .map(|(what, value)| Some((what.clone(), uncode(value)?.to_string())))
            .collect::<Option<Vec<_>>>()?;
        let tags = field("image tags")?
            .split(", ")
            .map(|t| uncode(t).map(str::to_string))
            .collect::<Option<Vec<_>>>()?;
        Some(Record {
            commit: uncode(field("commit")?)?.to_string(),
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

/// The record in the release notes against what the registry and the remote serve now: a
/// version tag moved, an image or a chart replaced after the release are caught here.
pub fn check(_config: &Config, facts: &ReleaseFacts, body: &str) -> Check {
    let id = CheckId::GithubRecord;
    let Some(record) = Record::parse(body) else {
        return Check::new(
            id,
            false,
            format!("the notes hold no `{HEADING}` record of the artifacts"),
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
        return Check::unknown(id, &why);
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
        Check::new(id, true, "the registry still serves what was released")
    } else {
        Check::new(id, false, differences.join("; "))
    }
}

fn lookup_map<T, U>(lookup: &Lookup<T>, f: impl FnOnce(&T) -> U) -> Lookup<U> {
    match lookup {
        Lookup::Found(value) => Lookup::Found(f(value)),
        Lookup::Missing => Lookup::Missing,
        Lookup::Unknown(why) => Lookup::Unknown(why.clone()),
    }
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
        assert_eq!(Record::parse(&body), Some(record()));
        let mut without_run = record();
        without_run.run_url = None;
        assert_eq!(Record::parse(&without_run.render()), Some(without_run));
    }

    #[test]
    fn a_body_without_a_whole_record_has_none() {
        assert_eq!(Record::parse("## What's Changed\n* fix\n"), None);
        let cut = record().render().replace("| chart |", "| chart? |");
        assert_eq!(Record::parse(&cut), None);
        let unquoted = record().render().replace("`sha256:bbbb`", "sha256:bbbb");
        assert_eq!(Record::parse(&unquoted), None);
    }
}
