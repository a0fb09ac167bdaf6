//! Stamping `Chart.yaml`: top-level `version` becomes `X.Y.Z` and `appVersion` becomes `vX.Y.Z`.
//!
//! The file is edited as text, never round-tripped through a serializer, so comments, key
//! order, quoting, CRLF line endings and a missing final newline survive byte for byte.
//! Each edit must match exactly one line; the result is parsed again and compared with the
//! original to prove that only those two values changed. Anything this editor cannot edit
//! with certainty (flow style, anchors, several documents, tabs, …) is refused.

use anyhow::{Context, Result, bail};
use semver::Version;
use serde_yaml::{Mapping, Value};

/// The two values a release writes into `Chart.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartVersions {
    pub version: String,
    pub app_version: String,
}

impl ChartVersions {
    pub fn for_release(version: &Version) -> ChartVersions {
        ChartVersions {
            version: version.to_string(),
            app_version: format!("v{version}"),
        }
    }
}

/// What the release plan needs from `Chart.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartMeta {
    pub name: String,
    pub has_dependencies: bool,
}

pub fn read_meta(text: &str) -> Result<ChartMeta> {
    let mapping = parse_top_mapping(text.trim_start_matches('\u{feff}'))
        .context("Chart.yaml is not valid YAML")?;
    let name = mapping
        .get("name")
        .and_then(Value::as_str)
        .context("Chart.yaml has no `name`")?;
    let has_dependencies = mapping
        .get("dependencies")
        .and_then(Value::as_sequence)
        .is_some_and(|d| !d.is_empty());
    Ok(ChartMeta {
        name: name.to_string(),
        has_dependencies,
    })
}

/// A top-level `key: value` line, split so that the value can be replaced in place.
struct KeyLine {
    /// Byte range of the value (without its quotes) in the whole text.
    value: std::ops::Range<usize>,
    /// Byte offset just past the line's end, including its line ending.
    end: usize,
    /// The line ending of this line (`"\n"`, `"\r\n"` or `""` at the end of the file).
    eol: &'static str,
}

/// Returns the stamped text of `Chart.yaml`, or why it cannot be stamped safely.
pub fn stamp_chart(text: &str, versions: &ChartVersions) -> Result<String> {
    if text.starts_with('\u{feff}') {
        bail!("Chart.yaml starts with a byte-order mark: remove it (helm does not need one)");
    }
    check_supported_layout(text)?;
    let before = parse_top_mapping(text).context("Chart.yaml is not valid YAML")?;
    if !before.contains_key("version") {
        bail!("Chart.yaml has no top-level `version`");
    }

    let version =
        find_key_line(text, "version")?.context("Chart.yaml has no top-level `version:` line")?;
    let app_version = find_key_line(text, "appVersion")?;

    let mut out = String::with_capacity(text.len() + 32);
    match app_version {
        Some(app) => {
            // Replace the later span first so the earlier offsets stay valid.
            let mut edits = [
                (version.value.clone(), &versions.version),
                (app.value.clone(), &versions.app_version),
            ];
            edits.sort_by_key(|(range, _)| std::cmp::Reverse(range.start));
            out.push_str(text);
            for (range, value) in edits {
                out.replace_range(range, value);
            }
        }
        None => {
            // Insert `appVersion` right after `version`, with that line's ending. When `version`
            // is the last line and has no newline, the file keeps having none.
            out.push_str(&text[..version.value.start]);
            out.push_str(&versions.version);
            out.push_str(&text[version.value.end..version.end]);
            let quoted = format!("appVersion: \"{}\"", versions.app_version);
            if version.eol.is_empty() {
                out.push('\n');
                out.push_str(&quoted);
            } else {
                out.push_str(&quoted);
                out.push_str(version.eol);
            }
            out.push_str(&text[version.end..]);
        }
    }

    let after = parse_top_mapping(&out).context("stamping produced invalid YAML")?;
    let mut expected = before;
    expected.insert("version".into(), Value::String(versions.version.clone()));
    expected.insert(
        "appVersion".into(),
        Value::String(versions.app_version.clone()),
    );
    if after != expected {
        bail!(
            "stamping Chart.yaml would change more than `version` and `appVersion`; edit it by hand"
        );
    }
    Ok(out)
}

/// Refuses layouts a line editor cannot be sure about.
fn check_supported_layout(text: &str) -> Result<()> {
    for (n, line) in text.lines().enumerate() {
        let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
        if indent.contains('\t') {
            bail!(
                "Chart.yaml line {} is indented with a tab: YAML forbids tabs in indentation",
                n + 1
            );
        }
    }
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && *l != "---");
    if first.is_some_and(|l| l.starts_with('{')) {
        bail!("Chart.yaml is a flow-style mapping ({{ … }}): write it in block style");
    }
    Ok(())
}

/// Parses the single document of `text` as a mapping.
fn parse_top_mapping(text: &str) -> Result<Mapping> {
    let value: Value = serde_yaml::from_str(text).map_err(|e| {
        if e.to_string().contains("more than one document") {
            anyhow::anyhow!("Chart.yaml holds several YAML documents: it must hold exactly one")
        } else {
            e.into()
        }
    })?;
    match value {
        Value::Mapping(mapping) => Ok(mapping),
        _ => bail!("Chart.yaml is not a mapping"),
    }
}

/// Finds the one top-level line `key: value`. Nested keys are indented, so only lines
/// starting in column 0 can be top-level keys.
fn find_key_line(text: &str, key: &str) -> Result<Option<KeyLine>> {
    let mut found = None;
    let mut start = 0;
    while start < text.len() {
        let end = text[start..]
            .find('\n')
            .map_or(text.len(), |i| start + i + 1);
        let line = &text[start..end];
        let (content, eol) = match line.strip_suffix("\r\n") {
            Some(c) => (c, "\r\n"),
            None => match line.strip_suffix('\n') {
                Some(c) => (c, "\n"),
                None => (line, ""),
            },
        };
        if let Some(rest) = content.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            if found.is_some() {
                bail!("Chart.yaml has more than one top-level `{key}:` line");
            }
            let value = value_span(rest, key)?;
            let offset = start + key.len() + 1;
            found = Some(KeyLine {
                value: offset + value.start..offset + value.end,
                end,
                eol,
            });
        }
        start = end;
    }
    Ok(found)
}

/// The span of the scalar in `rest` (what follows `key:`), without quotes and comment.
fn value_span(rest: &str, key: &str) -> Result<std::ops::Range<usize>> {
    let lead = rest.len() - rest.trim_start_matches(' ').len();
    let value = &rest[lead..];
    if lead == 0 && !value.is_empty() {
        bail!("Chart.yaml `{key}:` needs a space after the colon");
    }
    let span = match value.chars().next() {
        None | Some('#') => bail!("Chart.yaml `{key}:` has no value on its line"),
        Some('&' | '*' | '!') => {
            bail!("Chart.yaml `{key}:` carries an anchor, alias or tag: write a plain value")
        }
        Some('|' | '>') => bail!("Chart.yaml `{key}:` is a block scalar: write it on one line"),
        Some('{' | '[') => bail!("Chart.yaml `{key}:` is not a scalar"),
        Some(q @ ('"' | '\'')) => {
            let close = value[1..]
                .find(q)
                .with_context(|| format!("Chart.yaml `{key}:` has an unclosed quote"))?;
            let inner = &value[1..1 + close];
            if inner.contains(['\\', '"', '\'']) {
                bail!("Chart.yaml `{key}:` contains escapes: write a plain value");
            }
            1..1 + close
        }
        Some(_) => {
            // A plain scalar ends at ` #` (a comment) or at the end of the line.
            let end = value.find(" #").unwrap_or(value.len());
            0..value[..end].trim_end().len()
        }
    };
    Ok(lead + span.start..lead + span.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(text: &str) -> Result<String> {
        stamp_chart(text, &ChartVersions::for_release(&Version::new(1, 2, 3)))
    }

    #[track_caller]
    fn check(before: &str, after: &str) {
        assert_eq!(stamp(before).unwrap(), after);
    }

    #[track_caller]
    fn refused(before: &str, reason: &str) {
        let err = format!("{:#}", stamp(before).unwrap_err());
        assert!(err.contains(reason), "expected {reason:?} in {err:?}");
    }

    #[test]
    fn reads_name_and_dependencies() {
        let meta = read_meta("name: x\ndependencies:\n  - name: redis\n").unwrap();
        assert_eq!(
            meta,
            ChartMeta {
                name: "x".into(),
                has_dependencies: true
            }
        );
        assert!(
            !read_meta("name: x\ndependencies: []\n")
                .unwrap()
                .has_dependencies
        );
        assert!(
            read_meta("version: 1\n")
                .unwrap_err()
                .to_string()
                .contains("no `name`")
        );
    }

    #[test]
    fn plain_values() {
        check(
            "apiVersion: v2\nname: x\nversion: 0.0.0-dev\nappVersion: v0.0.0-dev\n",
            "apiVersion: v2\nname: x\nversion: 1.2.3\nappVersion: v1.2.3\n",
        );
    }

    #[test]
    fn quoting_style_survives() {
        check(
            "version: \"0.1.0\"\nappVersion: 'dev'\n",
            "version: \"1.2.3\"\nappVersion: 'v1.2.3'\n",
        );
        check(
            "version: '0.1.0'\nappVersion: \"0.1.0\"\n",
            "version: '1.2.3'\nappVersion: \"v1.2.3\"\n",
        );
    }

    #[test]
    fn comments_survive() {
        check(
            "# top\nversion: 0.1.0 # stamped by release\nappVersion: \"x\"  # also\n# end\n",
            "# top\nversion: 1.2.3 # stamped by release\nappVersion: \"v1.2.3\"  # also\n# end\n",
        );
        // Without a space before it, `#` is part of the plain scalar.
        check(
            "version: 0.1.0#x\nappVersion: a\n",
            "version: 1.2.3\nappVersion: v1.2.3\n",
        );
    }

    #[test]
    fn key_order_survives() {
        check(
            "appVersion: old\nname: x\nversion: 0.1.0\n",
            "appVersion: v1.2.3\nname: x\nversion: 1.2.3\n",
        );
    }

    #[test]
    fn crlf_line_endings_survive() {
        check(
            "apiVersion: v2\r\nversion: 0.1.0\r\nappVersion: v0\r\n",
            "apiVersion: v2\r\nversion: 1.2.3\r\nappVersion: v1.2.3\r\n",
        );
        check(
            "version: 0.1.0\r\nname: x\r\n",
            "version: 1.2.3\r\nappVersion: \"v1.2.3\"\r\nname: x\r\n",
        );
    }

    #[test]
    fn missing_final_newline_survives() {
        check(
            "name: x\nappVersion: a\nversion: 0.1.0",
            "name: x\nappVersion: v1.2.3\nversion: 1.2.3",
        );
        check(
            "name: x\nversion: 0.1.0",
            "name: x\nversion: 1.2.3\nappVersion: \"v1.2.3\"",
        );
    }

    #[test]
    fn missing_app_version_is_inserted_after_version() {
        check(
            "apiVersion: v2\nversion: 0.1.0 # keep\ndescription: d\n",
            "apiVersion: v2\nversion: 1.2.3 # keep\nappVersion: \"v1.2.3\"\ndescription: d\n",
        );
    }

    #[test]
    fn nested_version_keys_are_not_touched() {
        check(
            "version: 0.1.0\ndependencies:\n  - name: redis\n    version: 17.0.0\n    appVersion: 7\nappVersion: a\n",
            "version: 1.2.3\ndependencies:\n  - name: redis\n    version: 17.0.0\n    appVersion: 7\nappVersion: v1.2.3\n",
        );
        check(
            "annotations:\n  version: keep\nversion: 0.1.0\nappVersion: a\n",
            "annotations:\n  version: keep\nversion: 1.2.3\nappVersion: v1.2.3\n",
        );
    }

    #[test]
    fn block_scalars_mentioning_version_are_not_touched() {
        check(
            "description: |\n  version: 9.9.9\nversion: 0.1.0\nappVersion: a\n",
            "description: |\n  version: 9.9.9\nversion: 1.2.3\nappVersion: v1.2.3\n",
        );
    }

    #[test]
    fn document_start_marker_is_fine() {
        check(
            "---\nversion: 0.1.0\nappVersion: a\n",
            "---\nversion: 1.2.3\nappVersion: v1.2.3\n",
        );
    }

    #[test]
    fn similar_keys_are_not_touched() {
        check(
            "versionNote: x\nversion: 0.1.0\nappVersionNote: y\nappVersion: a\n",
            "versionNote: x\nversion: 1.2.3\nappVersionNote: y\nappVersion: v1.2.3\n",
        );
    }

    #[test]
    fn already_stamped_is_unchanged() {
        let text = "version: 1.2.3\nappVersion: v1.2.3\n";
        check(text, text);
    }

    #[test]
    fn refuses_missing_version() {
        refused("name: x\nappVersion: a\n", "no top-level `version`");
        refused(
            "dependencies:\n  - version: 1.0.0\n",
            "no top-level `version`",
        );
    }

    #[test]
    fn refuses_duplicate_keys() {
        refused("version: 0.1.0\nversion: 0.2.0\n", "duplicate");
        refused(
            "version: 0.1.0\nappVersion: a\nappVersion: b\n",
            "duplicate",
        );
    }

    #[test]
    fn refuses_flow_style() {
        refused("{version: 0.1.0, appVersion: a}\n", "flow-style");
        refused("# c\n{\"version\": \"0.1.0\"}\n", "flow-style");
    }

    #[test]
    fn refuses_several_documents() {
        refused(
            "version: 0.1.0\n---\nversion: 0.2.0\n",
            "several YAML documents",
        );
    }

    #[test]
    fn refuses_anchors_aliases_and_tags() {
        refused(
            "version: &v 0.1.0\nappVersion: *v\n",
            "anchor, alias or tag",
        );
        refused("version: !!str 0.1.0\n", "anchor, alias or tag");
    }

    #[test]
    fn refuses_tab_indentation() {
        refused("version: 0.1.0\nmaintainers:\n\t- name: x\n", "tab");
    }

    #[test]
    fn refuses_byte_order_mark() {
        refused("\u{feff}version: 0.1.0\n", "byte-order mark");
    }

    #[test]
    fn refuses_values_it_cannot_edit_in_place() {
        refused("version: |\n  0.1.0\n", "block scalar");
        refused("version:\n  0.1.0\n", "no value on its line");
        refused("version: \"0.1\\u0030\"\n", "escapes");
        refused("version: [1]\n", "not a scalar");
    }

    #[test]
    fn refuses_non_mapping_and_invalid_yaml() {
        refused("- version: 1\n", "not a mapping");
        refused("version: 0.1.0\n  bad: [\n", "not valid YAML");
        refused("", "not a mapping");
        refused("# only a comment\n", "not a mapping");
    }

    #[test]
    fn quoted_key_is_refused_rather_than_missed() {
        refused("\"version\": 0.1.0\n", "no top-level `version:` line");
    }

    #[test]
    fn multi_line_quoted_scalar_is_refused() {
        refused(
            "description: \"a\nversion: 9\"\nversion: 0.1.0\n",
            "more than one top-level `version:`",
        );
    }
}
