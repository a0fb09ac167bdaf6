//! Stamping `Chart.yaml`: top-level `version` becomes `X.Y.Z`, `appVersion` becomes `vX.Y.Z`,
//! and so does the tag of the image the `artifacthub.io/images` annotation lists.
//!
//! The file is edited as text, never round-tripped through a serializer, so comments, key
//! order, quoting, CRLF line endings and a missing final newline survive byte for byte.
//! Each edit must match exactly one line; the result is parsed again and compared with the
//! original to prove that only those values changed, and compared byte by byte to prove
//! that nothing outside them did (a parse cannot see a lost comment). Anything this editor
//! cannot edit with certainty (flow style, anchors, several documents, tab indentation, …)
//! is refused.

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
    /// `kubeVersion`: the Kubernetes versions the chart supports, a semver range.
    pub kube_version: Option<String>,
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
        kube_version: mapping
            .get("kubeVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// `image.repository` of a chart's `values.yaml`, or `None` when it sets none.
pub fn read_image_repository(values: &str) -> Result<Option<String>> {
    let mapping = parse_mapping_of("values.yaml", values)?;
    Ok(mapping
        .get("image")
        .and_then(|image| image.get("repository"))
        .and_then(Value::as_str)
        .map(str::to_string))
}

/// Returns `values.yaml` with `image.repository` set to `repository`, edited in place like
/// [`stamp_chart`]: the one `repository:` line directly under the top-level `image:` block
/// changes, and the re-parsed result must differ from the original in that value only.
///
/// A release rehearsed against another registry (`RELEASE_IMAGE=127.0.0.1:5000/…`) needs
/// this: the chart's default image must be the image the same release pushed.
pub fn set_image_repository(values: &str, repository: &str) -> Result<String> {
    const FILE: &str = "values.yaml";
    let before = parse_mapping_of(FILE, values).context("values.yaml is not valid YAML")?;
    let mut expected = before.clone();
    match expected.get_mut("image") {
        Some(Value::Mapping(image)) if image.contains_key("repository") => {
            image.insert("repository".into(), Value::String(repository.to_string()));
        }
        _ => bail!("values.yaml has no `image.repository` to set"),
    }

    // Lines with their byte offsets; the `image:` block runs until the next line that starts
    // in column 0 (a comment or blank line does not end it).
    let mut offset = 0;
    let mut in_image = false;
    let mut block_indent: Option<usize> = None;
    let mut found: Vec<std::ops::Range<usize>> = Vec::new();
    let mut image_lines = 0;
    for line in values.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim_start_matches(' ');
        let indent = content.len() - trimmed.len();
        let blank = trimmed.is_empty() || trimmed.starts_with('#');
        if indent == 0 && !blank {
            in_image = false;
            if let Some(rest) = content.strip_prefix("image:") {
                image_lines += 1;
                let rest = rest.trim();
                if !(rest.is_empty() || rest.starts_with('#')) {
                    bail!("values.yaml `image:` must be a block mapping to be edited in place");
                }
                in_image = true;
                block_indent = None;
            }
        } else if in_image && !blank {
            let first = *block_indent.get_or_insert(indent);
            if indent == first
                && let Some(rest) = trimmed.strip_prefix("repository:")
            {
                let span = value_span(FILE, rest, "image.repository")?;
                let start = offset + indent + "repository:".len();
                found.push(start + span.start..start + span.end);
            }
        }
        offset += line.len();
    }
    if image_lines != 1 {
        bail!("values.yaml has {image_lines} top-level `image:` lines; expected exactly one");
    }
    let [range] = found.as_slice() else {
        bail!(
            "values.yaml has {} `repository:` lines directly under `image:`; expected exactly one",
            found.len()
        );
    };
    let mut out = values.to_string();
    out.replace_range(range.clone(), repository);
    let after = parse_mapping_of(FILE, &out).context("editing produced invalid YAML")?;
    if after != expected {
        bail!(
            "setting image.repository would change more than that value; edit values.yaml by hand"
        );
    }
    Ok(out)
}

/// The container images of every workload in the output of `helm template`.
pub fn rendered_images(manifests: &str) -> Result<Vec<String>> {
    use serde::Deserialize;
    let mut images = Vec::new();
    for document in serde_yaml::Deserializer::from_str(manifests) {
        let value = Value::deserialize(document).context("helm template printed invalid YAML")?;
        let pod = value
            .get("spec")
            .and_then(|s| s.get("template"))
            .and_then(|t| t.get("spec"));
        for key in ["initContainers", "containers"] {
            let containers = pod
                .and_then(|p| p.get(key))
                .and_then(Value::as_sequence)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for container in containers {
                let image = container
                    .get("image")
                    .and_then(Value::as_str)
                    .context("a rendered container has no image")?;
                images.push(image.to_string());
            }
        }
    }
    Ok(images)
}

/// Whether an image a chart renders is the release's own: `IMAGE:TAG`, `IMAGE@DIGEST` or
/// `IMAGE:TAG@DIGEST`, where `IMAGE` is the release's repository, `TAG` its version tag and
/// `DIGEST` the index under that tag (when known). Anything else (a sidecar from elsewhere,
/// another tag, another digest) is not.
pub fn is_release_image(rendered: &str, image: &str, tag: &str, digest: Option<&str>) -> bool {
    let (named, pinned) = match rendered.split_once('@') {
        Some((named, pinned)) => (named, Some(pinned)),
        None => (rendered, None),
    };
    let digest_ok = match pinned {
        None => true,
        Some(pinned) => digest == Some(pinned),
    };
    let name_ok = named == format!("{image}:{tag}") || (pinned.is_some() && named == image);
    name_ok && digest_ok
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

/// The change from `before` to `after` of the file `path` as a unified diff (three lines of
/// context, `a/` and `b/` prefixes, line endings kept), which `git apply` and `patch -p1` take:
/// what `release stamp --dry-run` prints instead of writing.
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    const CONTEXT: usize = 3;
    let old: Vec<&str> = before.split_inclusive('\n').collect();
    let new: Vec<&str> = after.split_inclusive('\n').collect();
    // The longest common subsequence of lines, from the end: a Chart.yaml is small.
    let mut common = vec![vec![0usize; new.len() + 1]; old.len() + 1];
    for i in (0..old.len()).rev() {
        for j in (0..new.len()).rev() {
            common[i][j] = if old[i] == new[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    // Each line once, in order, with its mark and where it is in the old and the new file.
    let mut lines: Vec<(char, &str, usize, usize)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        if i < old.len() && j < new.len() && old[i] == new[j] {
            lines.push((' ', old[i], i, j));
            (i, j) = (i + 1, j + 1);
        } else if i < old.len() && (j == new.len() || common[i + 1][j] >= common[i][j + 1]) {
            lines.push(('-', old[i], i, j));
            i += 1;
        } else {
            lines.push(('+', new[j], i, j));
            j += 1;
        }
    }
    let changed: Vec<usize> = (0..lines.len()).filter(|&k| lines[k].0 != ' ').collect();
    if changed.is_empty() {
        return String::new();
    }
    let mut out = format!("--- a/{path}\n+++ b/{path}\n");
    let mut k = 0;
    while k < changed.len() {
        // A hunk runs while the unchanged lines between two changes fit in its context.
        let mut last = k;
        while last + 1 < changed.len() && changed[last + 1] - changed[last] <= 2 * CONTEXT + 1 {
            last += 1;
        }
        let start = changed[k].saturating_sub(CONTEXT);
        let end = (changed[last] + CONTEXT + 1).min(lines.len());
        let hunk = &lines[start..end];
        let count = |mark: char| hunk.iter().filter(|l| l.0 == ' ' || l.0 == mark).count();
        // A range of no lines is named by the line before it.
        let from = |at: usize, len: usize| if len == 0 { at } else { at + 1 };
        let (old_len, new_len) = (count('-'), count('+'));
        out.push_str(&format!(
            "@@ -{},{old_len} +{},{new_len} @@\n",
            from(hunk[0].2, old_len),
            from(hunk[0].3, new_len)
        ));
        for (mark, line, _, _) in hunk {
            out.push(*mark);
            out.push_str(line);
            if !line.ends_with('\n') {
                out.push_str("\n\\ No newline at end of file\n");
            }
        }
        k = last + 1;
    }
    out
}

/// Whether stamping `text` also stamps the image of its `artifacthub.io/images` annotation.
pub fn has_annotated_image(text: &str) -> bool {
    parse_top_mapping(text)
        .ok()
        .and_then(|mapping| find_annotated_image(text, &mapping).ok().flatten())
        .is_some()
}

/// The key of the Artifact Hub annotation that lists the chart's images.
const IMAGES_ANNOTATION: &str = "artifacthub.io/images";

/// One edit of the text: the bytes of `range` (in the original) become `text`.
struct Edit {
    range: std::ops::Range<usize>,
    text: String,
}

/// Returns the stamped text of `Chart.yaml`, or why it cannot be stamped safely.
///
/// Three values change: `version`, `appVersion` (inserted after `version` when missing), and
/// the tag of the one `image:` line of the `artifacthub.io/images` annotation, when the chart
/// has it (the image it deploys by default is the release's own, `appVersion`). Two checks
/// follow: the result parses to the original with exactly those values changed, and, since
/// a parse cannot see comments, the bytes outside those values are the original's.
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
    let image = find_annotated_image(text, &before)?;

    let mut edits = vec![Edit {
        range: version.value.clone(),
        text: versions.version.clone(),
    }];
    match &app_version {
        Some(app) => edits.push(Edit {
            range: app.value.clone(),
            text: versions.app_version.clone(),
        }),
        // Insert `appVersion` right after `version`, with that line's ending. When `version`
        // is the last line and has no newline, the file keeps having none.
        None => {
            let quoted = format!("appVersion: \"{}\"", versions.app_version);
            edits.push(Edit {
                range: version.end..version.end,
                text: if version.eol.is_empty() {
                    format!("\n{quoted}")
                } else {
                    format!("{quoted}{}", version.eol)
                },
            });
        }
    }
    if let Some(image) = &image {
        edits.push(Edit {
            range: image.tag.clone(),
            text: versions.app_version.clone(),
        });
    }
    edits.sort_by_key(|e| e.range.start);
    let mut out = String::with_capacity(text.len() + 32);
    let mut at = 0;
    for edit in &edits {
        out.push_str(&text[at..edit.range.start]);
        out.push_str(&edit.text);
        at = edit.range.end;
    }
    out.push_str(&text[at..]);

    // Check 1: each replaced span held exactly the value YAML reads there, nothing more (a
    // comment taken for part of the value would be lost without the parse noticing).
    check_span_is_value(text, &version.value, before.get("version"), "version")?;
    if let Some(app) = &app_version {
        check_span_is_value(text, &app.value, before.get("appVersion"), "appVersion")?;
    }
    if let Some(image) = &image
        && text[image.tag.clone()] != image.parsed_tag
    {
        bail!("Chart.yaml's {IMAGES_ANNOTATION} image tag was not read exactly; edit it by hand");
    }

    // Check 2: the file differs from the original only inside those spans.
    check_only_edits_changed(text, &out, &edits)?;

    // Check 3: parsed, the result is the original with exactly these values changed.
    let after = parse_top_mapping(&out).context("stamping produced invalid YAML")?;
    let mut expected = before;
    expected.insert("version".into(), Value::String(versions.version.clone()));
    expected.insert(
        "appVersion".into(),
        Value::String(versions.app_version.clone()),
    );
    if let Some(image) = &image
        && let Some(Value::Mapping(annotations)) = expected.get_mut("annotations")
    {
        let stamped = image.stamped_annotation(&versions.app_version);
        annotations.insert(IMAGES_ANNOTATION.into(), Value::String(stamped));
    }
    if after != expected {
        bail!(
            "stamping Chart.yaml would change more than `version`, `appVersion` and the annotated image's tag; edit it by hand"
        );
    }
    Ok(out)
}

/// The tag of the `artifacthub.io/images` annotation's image, found in the text and, as a
/// check, in the annotation's value as YAML read it.
struct AnnotatedImage {
    /// Byte range of the tag (`v0.0.0-dev` of `ghcr.io/x/y:v0.0.0-dev`) in the whole text.
    tag: std::ops::Range<usize>,
    /// The annotation's value, as parsed.
    parsed: String,
    /// The tag as read from `parsed`: it must equal the text of `tag`.
    parsed_tag: String,
    /// Byte range of the tag in `parsed`.
    parsed_range: std::ops::Range<usize>,
}

impl AnnotatedImage {
    fn stamped_annotation(&self, tag: &str) -> String {
        let mut out = self.parsed.clone();
        out.replace_range(self.parsed_range.clone(), tag);
        out
    }
}

/// Finds the image tag of the `artifacthub.io/images` annotation: a literal block scalar
/// (`|`) under the top-level `annotations:`, holding exactly one `image:` line. `None` when
/// the chart has no such annotation.
fn find_annotated_image(text: &str, chart: &Mapping) -> Result<Option<AnnotatedImage>> {
    const WHAT: &str = "the artifacthub.io/images annotation";
    let Some(value) = chart
        .get("annotations")
        .and_then(|a| a.get(IMAGES_ANNOTATION))
    else {
        return Ok(None);
    };
    let parsed = value
        .as_str()
        .with_context(|| format!("Chart.yaml {WHAT} is not a string"))?
        .to_string();
    let (parsed_range, _) =
        image_tag_in(&parsed, 0..parsed.len(), 0).with_context(|| format!("Chart.yaml {WHAT}"))?;
    let parsed_tag = parsed[parsed_range.clone()].to_string();

    // The text: the block of `annotations:`, the key line in it, then its block scalar.
    let lines = lines_with_offsets(text);
    let block = lines
        .iter()
        .position(|(_, l)| l.strip_prefix("annotations:").is_some())
        .with_context(|| {
            format!("Chart.yaml {WHAT} must be under a block `annotations:` line to be stamped")
        })?;
    let mut key_line = None;
    let mut key_indent = None;
    for (i, (_, line)) in lines.iter().enumerate().skip(block + 1) {
        let trimmed = line.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 {
            break;
        }
        let first = *key_indent.get_or_insert(indent);
        let rest = [
            "artifacthub.io/images:",
            "\"artifacthub.io/images\":",
            "'artifacthub.io/images':",
        ]
        .iter()
        .find_map(|key| trimmed.strip_prefix(key));
        if indent == first
            && let Some(rest) = rest
        {
            if key_line.is_some() {
                bail!("Chart.yaml has more than one {WHAT}");
            }
            key_line = Some((i, indent, rest));
        }
    }
    let (key_at, key_indent, rest) = key_line.with_context(|| {
        format!("Chart.yaml {WHAT} must be written in block style to be stamped")
    })?;
    let indicator = rest.trim_start_matches([' ', '\t']);
    let indicator = indicator.split([' ', '\t']).next().unwrap_or_default();
    if !matches!(indicator, "|" | "|-" | "|+") {
        bail!("Chart.yaml {WHAT} must be a literal block scalar (`|`) to be stamped");
    }
    // Its content: the lines after it that are blank or indented deeper.
    let end = lines
        .iter()
        .enumerate()
        .skip(key_at + 1)
        .find(|(_, (_, l))| {
            let trimmed = l.trim_start_matches(' ');
            !trimmed.is_empty() && l.len() - trimmed.len() <= key_indent
        })
        .map_or(text.len(), |(_, (offset, _))| *offset);
    let start = lines
        .get(key_at + 1)
        .map_or(text.len(), |(offset, _)| *offset);
    let (tag, _) = image_tag_in(text, start..end.max(start), key_indent + 1)
        .with_context(|| format!("Chart.yaml {WHAT}"))?;
    Ok(Some(AnnotatedImage {
        tag,
        parsed,
        parsed_tag,
        parsed_range,
    }))
}

/// Each line of `text` without its line ending, with the byte offset where it starts.
fn lines_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n')
        .map(|line| {
            let start = offset;
            offset += line.len();
            (start, line.trim_end_matches(['\n', '\r']))
        })
        .collect()
}

/// In `text[within]`, the one line `image: REF` (or `- image: REF`) indented at least
/// `min_indent`; returns the byte range of REF's tag, and REF.
fn image_tag_in(
    text: &str,
    within: std::ops::Range<usize>,
    min_indent: usize,
) -> Result<(std::ops::Range<usize>, String)> {
    let mut found = Vec::new();
    for (offset, line) in lines_with_offsets(&text[within.clone()]) {
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        if trimmed.is_empty() || indent < min_indent {
            continue;
        }
        let item = trimmed
            .strip_prefix("- ")
            .map(|t| t.trim_start_matches(' '));
        let entry = item.unwrap_or(trimmed);
        if let Some(rest) = entry.strip_prefix("image:") {
            let span = value_span("Chart.yaml", rest, "artifacthub.io/images image")?;
            let at = within.start + offset + (line.len() - rest.len());
            found.push(at + span.start..at + span.end);
        }
    }
    let [image] = found.as_slice() else {
        bail!(
            "has {} `image:` lines; expected exactly one, whose tag a release stamps",
            found.len()
        );
    };
    let reference = &text[image.clone()];
    if reference.contains('@') {
        bail!("image {reference:?} is pinned by digest: a release cannot stamp its tag");
    }
    let name_end = reference.rfind('/').map_or(0, |i| i + 1);
    let colon = reference[name_end..]
        .rfind(':')
        .map(|i| name_end + i)
        .with_context(|| format!("image {reference:?} has no tag to stamp"))?;
    Ok((image.start + colon + 1..image.end, reference.to_string()))
}

/// The text of `span` must be exactly the value YAML read for `key`: for a string, its
/// characters (quotes are outside the span); for anything else (a number), a plain word
/// that reads as the same value.
fn check_span_is_value(
    text: &str,
    span: &std::ops::Range<usize>,
    value: Option<&Value>,
    key: &str,
) -> Result<()> {
    let written = &text[span.clone()];
    let same = match value {
        Some(Value::String(s)) => written == s,
        Some(other) => {
            !written.contains(char::is_whitespace)
                && !written.contains('#')
                && serde_yaml::from_str::<Value>(written).ok().as_ref() == Some(other)
        }
        None => false,
    };
    if !same {
        bail!("Chart.yaml `{key}:` was not read exactly (found {written:?}); edit it by hand");
    }
    Ok(())
}

/// `after` must be `before` with each edit's range replaced by its text, byte for byte.
fn check_only_edits_changed(before: &str, after: &str, edits: &[Edit]) -> Result<()> {
    let changed_elsewhere = || {
        anyhow::anyhow!("stamping Chart.yaml would change bytes it does not own; edit it by hand")
    };
    let (mut b, mut a) = (0, 0);
    for edit in edits {
        let kept = &before[b..edit.range.start];
        if !after[a..].starts_with(kept) {
            return Err(changed_elsewhere());
        }
        a += kept.len();
        if !after[a..].starts_with(edit.text.as_str()) {
            return Err(changed_elsewhere());
        }
        a += edit.text.len();
        b = edit.range.end;
    }
    if after[a..] != before[b..] {
        return Err(changed_elsewhere());
    }
    Ok(())
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
    parse_mapping_of("Chart.yaml", text)
}

/// Parses the single document of `text`, the file `file`, as a mapping.
fn parse_mapping_of(file: &str, text: &str) -> Result<Mapping> {
    let value: Value = serde_yaml::from_str(text).map_err(|e| {
        if e.to_string().contains("more than one document") {
            anyhow::anyhow!("{file} holds several YAML documents: it must hold exactly one")
        } else {
            e.into()
        }
    })?;
    match value {
        Value::Mapping(mapping) => Ok(mapping),
        _ => bail!("{file} is not a mapping"),
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
            let value = value_span("Chart.yaml", rest, key)?;
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
fn value_span(file: &str, rest: &str, key: &str) -> Result<std::ops::Range<usize>> {
    let rest = rest.trim_end_matches('\r');
    let lead = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let value = &rest[lead..];
    if lead == 0 && !value.is_empty() {
        bail!("{file} `{key}:` needs a space after the colon");
    }
    let span = match value.chars().next() {
        None | Some('#') => bail!("{file} `{key}:` has no value on its line"),
        Some('&' | '*' | '!') => {
            bail!("{file} `{key}:` carries an anchor, alias or tag: write a plain value")
        }
        Some('|' | '>') => bail!("{file} `{key}:` is a block scalar: write it on one line"),
        Some('{' | '[') => bail!("{file} `{key}:` is not a scalar"),
        Some(q @ ('"' | '\'')) => {
            let close = value[1..]
                .find(q)
                .with_context(|| format!("{file} `{key}:` has an unclosed quote"))?;
            let inner = &value[1..1 + close];
            if inner.contains(['\\', '"', '\'']) {
                bail!("{file} `{key}:` contains escapes: write a plain value");
            }
            1..1 + close
        }
        Some(_) => {
            // A plain scalar ends where YAML says: before a comment (`#` after a space or a
            // tab), or at the end of the line; the blanks before either are not part of it.
            let bytes = value.as_bytes();
            let end = (1..bytes.len())
                .find(|&i| bytes[i] == b'#' && matches!(bytes[i - 1], b' ' | b'\t'))
                .unwrap_or(value.len());
            0..value[..end].trim_end_matches([' ', '\t']).len()
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
    fn refused(before: &str, error: &str) {
        assert_eq!(format!("{:#}", stamp(before).unwrap_err()), error);
    }

    #[test]
    fn reads_name_and_dependencies() {
        let meta = read_meta("name: x\ndependencies:\n  - name: redis\n").unwrap();
        assert_eq!(
            meta,
            ChartMeta {
                name: "x".into(),
                has_dependencies: true,
                kube_version: None
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
    fn comments_after_a_tab_or_spaces_survive_with_either_line_ending() {
        for eol in ["\n", "\r\n"] {
            for gap in [" ", "\t", "   ", " \t", "\t "] {
                check(
                    &format!(
                        "version: 0.0.0-dev{gap}# keep me{eol}appVersion: \"v0\"{gap}# and me{eol}"
                    ),
                    &format!(
                        "version: 1.2.3{gap}# keep me{eol}appVersion: \"v1.2.3\"{gap}# and me{eol}"
                    ),
                );
                check(
                    &format!("appVersion: v0{gap}#{eol}version: 0.1.0{gap}# keep me"),
                    &format!("appVersion: v1.2.3{gap}#{eol}version: 1.2.3{gap}# keep me"),
                );
                // Inserted after `version`, whose comment stays on its line.
                check(
                    &format!("version: 0.1.0{gap}# keep me{eol}name: x{eol}"),
                    &format!(
                        "version: 1.2.3{gap}# keep me{eol}appVersion: \"v1.2.3\"{eol}name: x{eol}"
                    ),
                );
            }
        }
        // Blanks after a value, and a tab after the colon, are not part of it.
        check(
            "version:\t0.1.0 \t\nappVersion: a  \n",
            "version:\t1.2.3 \t\nappVersion: v1.2.3  \n",
        );
    }

    #[test]
    fn a_span_that_is_more_than_the_value_is_caught() {
        // What the tab comment once did: the span ran to the end of the line. The check
        // after stamping compares each span with the value YAML reads there.
        let text = "version: 0.0.0-dev\t# keep me\n";
        let value = Value::String("0.0.0-dev".into());
        assert!(check_span_is_value(text, &(9..28), Some(&value), "version").is_err());
        assert!(check_span_is_value(text, &(9..18), Some(&value), "version").is_ok());
        let number = Value::Number(1.into());
        assert!(check_span_is_value("version: 1\n", &(9..10), Some(&number), "version").is_ok());
        assert!(check_span_is_value("version: 1 #\n", &(9..12), Some(&number), "version").is_err());
        // And the file may differ from the original only inside the edits.
        let edit = |range: std::ops::Range<usize>, text: &str| Edit {
            range,
            text: text.to_string(),
        };
        let edits = [edit(9..18, "1.2.3")];
        assert!(check_only_edits_changed(text, "version: 1.2.3\t# keep me\n", &edits).is_ok());
        for wrong in [
            "version: 1.2.3\n",
            "version: 1.2.3 # keep me\n",
            "version: 1.2.3\t# keep me\r\n",
            "version:  1.2.3\t# keep me\n",
            "version: 1.2.4\t# keep me\n",
        ] {
            assert!(
                check_only_edits_changed(text, wrong, &edits).is_err(),
                "{wrong:?}"
            );
        }
    }

    /// The annotation as `charts/llm-proxy/Chart.yaml` writes it.
    const ANNOTATED: &str = "apiVersion: v2\nname: llm-proxy\nversion: 0.0.0-dev\nappVersion: \"v0.0.0-dev\"\nannotations:\n  artifacthub.io/license: MIT\n  # The image the chart deploys by default.\n  artifacthub.io/images: |\n    - name: llm-proxy\n      image: ghcr.io/sofatutor/llm-proxy:v0.0.0-dev\n";

    #[test]
    fn the_annotated_image_gets_the_app_version() {
        check(
            ANNOTATED,
            &ANNOTATED
                .replace("version: 0.0.0-dev", "version: 1.2.3")
                .replace("v0.0.0-dev", "v1.2.3"),
        );
        let crlf = ANNOTATED.replace('\n', "\r\n");
        check(
            &crlf,
            &crlf
                .replace("version: 0.0.0-dev", "version: 1.2.3")
                .replace("v0.0.0-dev", "v1.2.3"),
        );
        // Other forms of the same list, a registry with a port, a comment and a key after it.
        check(
            "version: 0.1.0\nannotations:\n  artifacthub.io/images: |-\n    - image: \"127.0.0.1:5000/x/y:dev\" # here\n      name: y\n  other: |\n    image: keep:me\nname: c\n",
            "version: 1.2.3\nappVersion: \"v1.2.3\"\nannotations:\n  artifacthub.io/images: |-\n    - image: \"127.0.0.1:5000/x/y:v1.2.3\" # here\n      name: y\n  other: |\n    image: keep:me\nname: c\n",
        );
        // A chart without the annotation, or with other annotations, still stamps.
        check(
            "version: 0.1.0\nappVersion: a\nannotations:\n  artifacthub.io/license: MIT\n",
            "version: 1.2.3\nappVersion: v1.2.3\nannotations:\n  artifacthub.io/license: MIT\n",
        );
        let after = stamp(ANNOTATED).unwrap();
        let diff = unified_diff("Chart.yaml", ANNOTATED, &after);
        let changed: Vec<&str> = diff.lines().filter(|l| l.starts_with(['-', '+'])).collect();
        assert_eq!(
            changed[2..],
            [
                "-version: 0.0.0-dev",
                "-appVersion: \"v0.0.0-dev\"",
                "+version: 1.2.3",
                "+appVersion: \"v1.2.3\"",
                "-      image: ghcr.io/sofatutor/llm-proxy:v0.0.0-dev",
                "+      image: ghcr.io/sofatutor/llm-proxy:v1.2.3",
            ],
            "{diff}"
        );
        assert!(has_annotated_image(ANNOTATED) && !has_annotated_image("version: 1.0.0\n"));
    }

    #[test]
    fn the_annotated_image_is_stamped_only_when_it_is_certain() {
        let with = |images: &str| {
            format!(
                "version: 0.1.0\nappVersion: a\nannotations:\n  artifacthub.io/images: {images}"
            )
        };
        refused(
            &with("|\n    - name: a\n      image: r/a:v0\n    - name: b\n      image: r/b:v0\n"),
            "Chart.yaml the artifacthub.io/images annotation: has 2 `image:` lines; expected exactly one, whose tag a release stamps",
        );
        refused(
            &with("|\n    - name: a\n"),
            "Chart.yaml the artifacthub.io/images annotation: has 0 `image:` lines; expected exactly one, whose tag a release stamps",
        );
        refused(
            &with(">\n    - image: r/a:v0\n"),
            "Chart.yaml the artifacthub.io/images annotation must be a literal block scalar (`|`) to be stamped",
        );
        refused(
            &with("\"- image: r/a:v0\"\n"),
            "Chart.yaml the artifacthub.io/images annotation must be a literal block scalar (`|`) to be stamped",
        );
        refused(
            &with("|\n    - image: r/a@sha256:0123\n"),
            "Chart.yaml the artifacthub.io/images annotation: image \"r/a@sha256:0123\" is pinned by digest: a release cannot stamp its tag",
        );
        refused(
            &with("|\n    - image: 127.0.0.1:5000/a\n"),
            "Chart.yaml the artifacthub.io/images annotation: image \"127.0.0.1:5000/a\" has no tag to stamp",
        );
        refused(
            "version: 0.1.0\nannotations: {artifacthub.io/images: \"- image: r/a:v0\"}\n",
            "Chart.yaml the artifacthub.io/images annotation must be written in block style to be stamped",
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
        refused(
            "name: x\nappVersion: a\n",
            "Chart.yaml has no top-level `version`",
        );
        refused(
            "dependencies:\n  - version: 1.0.0\n",
            "Chart.yaml has no top-level `version`",
        );
    }

    #[test]
    fn refuses_duplicate_keys() {
        refused(
            "version: 0.1.0\nversion: 0.2.0\n",
            "Chart.yaml is not valid YAML: duplicate entry with key \"version\"",
        );
        refused(
            "version: 0.1.0\nappVersion: a\nappVersion: b\n",
            "Chart.yaml is not valid YAML: duplicate entry with key \"appVersion\"",
        );
    }

    #[test]
    fn refuses_flow_style() {
        refused(
            "{version: 0.1.0, appVersion: a}\n",
            "Chart.yaml is a flow-style mapping ({ … }): write it in block style",
        );
        refused(
            "# c\n{\"version\": \"0.1.0\"}\n",
            "Chart.yaml is a flow-style mapping ({ … }): write it in block style",
        );
    }

    #[test]
    fn refuses_several_documents() {
        refused(
            "version: 0.1.0\n---\nversion: 0.2.0\n",
            "Chart.yaml is not valid YAML: Chart.yaml holds several YAML documents: it must hold exactly one",
        );
    }

    #[test]
    fn refuses_anchors_aliases_and_tags() {
        refused(
            "version: &v 0.1.0\nappVersion: *v\n",
            "Chart.yaml `version:` carries an anchor, alias or tag: write a plain value",
        );
        refused(
            "version: !!str 0.1.0\n",
            "Chart.yaml `version:` carries an anchor, alias or tag: write a plain value",
        );
    }

    #[test]
    fn refuses_tab_indentation() {
        refused(
            "version: 0.1.0\nmaintainers:\n\t- name: x\n",
            "Chart.yaml line 3 is indented with a tab: YAML forbids tabs in indentation",
        );
    }

    #[test]
    fn refuses_byte_order_mark() {
        refused(
            "\u{feff}version: 0.1.0\n",
            "Chart.yaml starts with a byte-order mark: remove it (helm does not need one)",
        );
    }

    #[test]
    fn refuses_values_it_cannot_edit_in_place() {
        refused(
            "version: |\n  0.1.0\n",
            "Chart.yaml `version:` is a block scalar: write it on one line",
        );
        refused(
            "version:\n  0.1.0\n",
            "Chart.yaml `version:` has no value on its line",
        );
        refused(
            "version: \"0.1\\u0030\"\n",
            "Chart.yaml `version:` contains escapes: write a plain value",
        );
        refused("version: [1]\n", "Chart.yaml `version:` is not a scalar");
    }

    #[test]
    fn refuses_non_mapping_and_invalid_yaml() {
        refused(
            "- version: 1\n",
            "Chart.yaml is not valid YAML: Chart.yaml is not a mapping",
        );
        refused(
            "version: 0.1.0\n  bad: [\n",
            "Chart.yaml is not valid YAML: mapping values are not allowed in this context at line 2 column 6",
        );
        refused(
            "",
            "Chart.yaml is not valid YAML: Chart.yaml is not a mapping",
        );
        refused(
            "# only a comment\n",
            "Chart.yaml is not valid YAML: Chart.yaml is not a mapping",
        );
    }

    #[test]
    fn quoted_key_is_refused_rather_than_missed() {
        refused(
            "\"version\": 0.1.0\n",
            "Chart.yaml has no top-level `version:` line",
        );
    }

    #[test]
    fn multi_line_quoted_scalar_is_refused() {
        refused(
            "description: \"a\nversion: 9\"\nversion: 0.1.0\n",
            "Chart.yaml has more than one top-level `version:` line",
        );
    }
    #[track_caller]
    fn check_image(before: &str, after: &str) {
        assert_eq!(
            set_image_repository(before, "127.0.0.1:5000/llm-proxy").unwrap(),
            after
        );
        assert_eq!(
            read_image_repository(after).unwrap().as_deref(),
            Some("127.0.0.1:5000/llm-proxy")
        );
    }

    #[track_caller]
    fn image_refused(before: &str, error: &str) {
        let err = set_image_repository(before, "127.0.0.1:5000/llm-proxy").unwrap_err();
        assert_eq!(format!("{err:#}"), error);
    }

    #[test]
    fn image_repository_is_replaced_in_place() {
        check_image(
            "replicaCount: 1\n\nimage:\n  repository: ghcr.io/x/y\n  # comment\n  tag: \"\"\n",
            "replicaCount: 1\n\nimage:\n  repository: 127.0.0.1:5000/llm-proxy\n  # comment\n  tag: \"\"\n",
        );
        check_image(
            "image: # the image\n    tag: v1\n    repository: \"a/b\" # quoted\nother:\n  repository: keep\n",
            "image: # the image\n    tag: v1\n    repository: \"127.0.0.1:5000/llm-proxy\" # quoted\nother:\n  repository: keep\n",
        );
        check_image(
            "image:\r\n  repository: a/b\r\n",
            "image:\r\n  repository: 127.0.0.1:5000/llm-proxy\r\n",
        );
    }

    #[test]
    fn nested_repositories_are_not_touched() {
        check_image(
            "image:\n  mirror:\n    repository: keep\n  repository: a/b\n",
            "image:\n  mirror:\n    repository: keep\n  repository: 127.0.0.1:5000/llm-proxy\n",
        );
    }

    #[test]
    fn image_edit_refuses_what_it_cannot_do_exactly() {
        image_refused(
            "replicaCount: 1\n",
            "values.yaml has no `image.repository` to set",
        );
        image_refused(
            "image: {repository: a/b}\n",
            "values.yaml `image:` must be a block mapping to be edited in place",
        );
        image_refused(
            "image:\n  repository: &r a/b\n",
            "values.yaml `image.repository:` carries an anchor, alias or tag: write a plain value",
        );
        image_refused(
            "image:\n  repository: |\n    a/b\n",
            "values.yaml `image.repository:` is a block scalar: write it on one line",
        );
        image_refused(
            "image:\n  repository: a\nimage:\n  repository: b\n",
            "values.yaml is not valid YAML: duplicate entry with key \"image\"",
        );
    }

    #[track_caller]
    fn check_diff(before: &str, after: &str, expected: &str) {
        assert_eq!(unified_diff("c/Chart.yaml", before, after), expected);
    }

    #[test]
    fn the_stamp_diff_is_a_unified_diff_with_context() {
        let head = "--- a/c/Chart.yaml\n+++ b/c/Chart.yaml\n";
        check_diff("a\n", "a\n", "");
        check_diff(
            "name: c\n# keep\nversion: 0\nappVersion: \"v0\"\n",
            "name: c\n# keep\nversion: 1\nappVersion: \"v1\"\n",
            &format!(
                "{head}@@ -1,4 +1,4 @@\n name: c\n # keep\n-version: 0\n-appVersion: \"v0\"\n+version: 1\n+appVersion: \"v1\"\n"
            ),
        );
        // An inserted line, a file without a final newline, CRLF kept as it is.
        check_diff(
            "name: c\nversion: 0",
            "name: c\nversion: 1\nappVersion: \"v1\"",
            &format!(
                "{head}@@ -1,2 +1,3 @@\n name: c\n-version: 0\n\\ No newline at end of file\n+version: 1\n+appVersion: \"v1\"\n\\ No newline at end of file\n"
            ),
        );
        check_diff(
            "a: 1\r\nb: 2\r\n",
            "a: 1\r\nb: 3\r\n",
            &format!("{head}@@ -1,2 +1,2 @@\n a: 1\r\n-b: 2\r\n+b: 3\r\n"),
        );
        // Changes far apart are hunks of their own.
        let far = |v: &str, w: &str| format!("a: {v}\n1\n2\n3\n4\n5\n6\n7\n8\nz: {w}\n");
        check_diff(
            &far("0", "0"),
            &far("1", "1"),
            &format!(
                "{head}@@ -1,4 +1,4 @@\n-a: 0\n+a: 1\n 1\n 2\n 3\n@@ -7,4 +7,4 @@\n 6\n 7\n 8\n-z: 0\n+z: 1\n"
            ),
        );
    }

    #[test]
    fn the_release_image_by_tag_or_by_digest() {
        let is = |rendered| is_release_image(rendered, "r/x", "v1.2.3", Some("sha256:aa"));
        assert!(is("r/x:v1.2.3"));
        assert!(is("r/x@sha256:aa"));
        assert!(is("r/x:v1.2.3@sha256:aa"));
        for other in [
            "r/x:v1.2.4",
            "r/x@sha256:bb",
            "r/x:v1.2.3@sha256:bb",
            "r/y:v1.2.3",
            "r/x",
            "evil/sidecar:1",
            "r/x:v1.2.3:v1.2.3",
        ] {
            assert!(!is(other), "{other}");
        }
        assert!(!is_release_image("r/x@sha256:aa", "r/x", "v1.2.3", None));
    }

    #[test]
    fn reads_rendered_images() {
        let rendered = "---\n# Source: x/templates/service.yaml\nkind: Service\nspec:\n  ports: []\n---\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: a\n          image: \"r/x:v1.2.3\"\n";
        assert_eq!(rendered_images(rendered).unwrap(), ["r/x:v1.2.3"]);
        assert!(rendered_images("kind: ConfigMap\n").unwrap().is_empty());
    }

    #[test]
    fn the_image_repository_is_read_and_set_in_place() {
        let values = "replicaCount: 1\n\nimage:\n  repository: ghcr.io/sofatutor/llm-proxy\n  # Empty: appVersion.\n  tag: \"\"\n\nservice:\n  port: 8080\n";
        assert_eq!(
            read_image_repository(values).unwrap().as_deref(),
            Some("ghcr.io/sofatutor/llm-proxy")
        );
        assert_eq!(
            set_image_repository(values, "127.0.0.1:5000/llm-proxy").unwrap(),
            values.replace("ghcr.io/sofatutor/llm-proxy", "127.0.0.1:5000/llm-proxy")
        );
    }
}
