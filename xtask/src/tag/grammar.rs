//! The tag grammar: the one place that decides what a tag name means.
//!
//! Two forms exist, `vMAJOR.MINOR.PATCH` (publish artifacts) and `vMAJOR.MINOR.PATCH-stable`
//! (approved for production). Names outside `v*` are none of our business and are ignored.
//! Every other `v*` name is rejected with a reason. Tag names are attacker-shaped input
//! (`v1.0.0$(id)` is a legal git tag), so nothing leaves this module unvalidated: callers get a
//! [`ReleaseTag`] built from three integers, never the raw string.

use std::fmt;

use semver::Version;

/// What a tag argument may be (`classify`, `publish`, `github`).
pub const TAG_FORMS: &str = "vMAJOR.MINOR.PATCH (for example v1.4.0) or vMAJOR.MINOR.PATCH-stable (for example v1.4.0-stable)";

/// What a version argument may be (`tag`, `promote`, `stamp`, `verify`, `rehearse`, and
/// `plan` given a version): a stable tag is no version, so it is not listed.
pub const VERSION_FORMS: &str = "MAJOR.MINOR.PATCH or vMAJOR.MINOR.PATCH (for example 1.4.0)";

/// What a pushed tag asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    /// `vX.Y.Z`: build and publish the image and the chart.
    Version,
    /// `vX.Y.Z-stable`: approved for production; create the GitHub release.
    Stable,
}

/// A validated release tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseTag {
    pub kind: TagKind,
    pub version: Version,
}

/// The meaning of any tag name or ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    Release(ReleaseTag),
    /// Not a `v*` tag: never triggers a release.
    Ignored,
}

/// What the user meant to type, which decides how a refusal reads: the name of what is
/// refused, and the forms listed as accepted (only those that are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Tag,
    Version,
}

/// An invalid tag or version, with the input quoted safely for a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagError {
    pub input: String,
    pub reason: String,
    pub form: Form,
}

impl fmt::Display for TagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, forms) = match self.form {
            Form::Tag => ("release tag", TAG_FORMS),
            Form::Version => ("version", VERSION_FORMS),
        };
        write!(
            f,
            "invalid {what} {}: {}; accepted forms: {forms}",
            crate::quote::quote(&self.input),
            self.reason
        )
    }
}

impl std::error::Error for TagError {}

impl ReleaseTag {
    /// Tests build tags directly; everything else gets them from [`classify`].
    #[cfg(test)]
    pub fn version(version: Version) -> ReleaseTag {
        ReleaseTag {
            kind: TagKind::Version,
            version,
        }
    }

    #[cfg(test)]
    pub fn stable(version: Version) -> ReleaseTag {
        ReleaseTag {
            kind: TagKind::Stable,
            version,
        }
    }

    /// `vX.Y.Z` or `vX.Y.Z-stable`.
    pub fn name(&self) -> String {
        match self.kind {
            TagKind::Version => version_tag(&self.version),
            TagKind::Stable => stable_tag(&self.version),
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            TagKind::Version => "version",
            TagKind::Stable => "stable",
        }
    }
}

impl fmt::Display for ReleaseTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

pub fn version_tag(version: &Version) -> String {
    format!("v{version}")
}

pub fn stable_tag(version: &Version) -> String {
    format!("v{version}-stable")
}

/// The versions of every `vX.Y.Z` (or, with `kind` Stable, `vX.Y.Z-stable`) tag among the
/// tag names `tags`. A name is not a ref: the tag `refs/tags/v9.9.9` (whose ref is
/// `refs/tags/refs/tags/v9.9.9`) is no version.
pub fn release_versions<'a>(
    tags: impl IntoIterator<Item = &'a str>,
    kind: TagKind,
) -> Vec<Version> {
    tags.into_iter()
        .filter_map(release_tag)
        .filter(|t| t.kind == kind)
        .map(|t| t.version)
        .collect()
}

/// Classifies a tag name or a full ref (`refs/tags/v1.2.3`).
pub fn classify(input: &str) -> Result<Classified, TagError> {
    let error = |reason: &str| TagError {
        input: input.to_string(),
        reason: reason.to_string(),
        form: Form::Tag,
    };
    let name = match input.strip_prefix("refs/tags/") {
        Some(name) => name,
        // A branch or any other ref is not a tag: it never triggers a release.
        None if input.starts_with("refs/") => return Ok(Classified::Ignored),
        None => input,
    };
    if name.is_empty() {
        return Err(error("the tag name is empty"));
    }
    if let Some(tag) = release_tag(name) {
        return Ok(Classified::Release(tag));
    }
    let Some(rest) = name.strip_prefix('v') else {
        return Ok(Classified::Ignored);
    };
    Err(error(&rejection(rest, Form::Tag)))
}

/// The release tag that the tag name `name` is (a name, not a ref: `refs/tags/v1.2.3` is
/// none), or `None`. This is the accepting half of [`classify`], and it runs once per tag in
/// the repository, so it reads bytes and builds nothing until it accepts: only a rejected
/// name pays for the checks that explain a rejection ([`rejection`]).
pub fn release_tag(name: &str) -> Option<ReleaseTag> {
    let rest = name.strip_prefix('v')?;
    let (numbers, kind) = match rest.strip_suffix("-stable") {
        Some(numbers) => (numbers, TagKind::Stable),
        None => (rest, TagKind::Version),
    };
    let [major, minor, patch] = version_numbers(numbers.as_bytes())?;
    Some(ReleaseTag {
        kind,
        version: Version::new(major, minor, patch),
    })
}

/// `MAJOR.MINOR.PATCH`: three numbers of ASCII digits, each without a leading zero and
/// within `u64`, separated by dots, and nothing else.
fn version_numbers(text: &[u8]) -> Option<[u64; 3]> {
    let mut numbers = [0u64; 3];
    let mut at = 0;
    for (i, number) in numbers.iter_mut().enumerate() {
        if i > 0 {
            if text.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let start = at;
        while at < text.len() && text[at].is_ascii_digit() {
            *number = number
                .checked_mul(10)?
                .checked_add(u64::from(text[at] - b'0'))?;
            at += 1;
        }
        let digits = at - start;
        if digits == 0 || (digits > 1 && text[start] == b'0') {
            return None;
        }
    }
    (at == text.len()).then_some(numbers)
}

/// Why `v{rest}`, which [`release_tag`] refused, is not a release tag (or, as `form`
/// Version, why `rest` is not a version).
fn rejection(rest: &str, form: Form) -> String {
    let (numbers, suffix) = match rest.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        None => (rest, ""),
        Some(at) => rest.split_at(at),
    };
    if let Err(reason) = parse_suffix(suffix, form) {
        return reason;
    }
    match parse_numbers(numbers) {
        Err(reason) => reason,
        // Unreachable while both halves describe one grammar; if they ever disagree, the
        // name is refused rather than accepted.
        Ok(_) => "it is not one of the accepted forms".to_string(),
    }
}

/// Parses the VERSION argument of `release tag`, `promote`, `stamp`, `verify` and
/// `rehearse`: `X.Y.Z` or `vX.Y.Z`, nothing else.
pub fn parse_version_arg(input: &str) -> Result<Version, TagError> {
    match version_or_tag(input)? {
        ReleaseTag {
            kind: TagKind::Version,
            version,
        } => Ok(version),
        ReleaseTag {
            kind: TagKind::Stable,
            version,
        } => Err(TagError {
            input: input.to_string(),
            reason: format!(
                "this is the stable tag of {version}: give the version itself, {version}"
            ),
            form: Form::Version,
        }),
    }
}

/// Parses the TAG argument of `release plan`: a tag or ref as [`classify`] reads it, or,
/// when it starts with a digit, a version as [`parse_version_arg`] reads it (with its
/// errors), so that `plan 1.4.0` is `plan v1.4.0` as `tag 1.4.0` tags `v1.4.0`.
/// (`1.4.0-stable` is read as `v1.4.0-stable` too: `plan` shows stable tags.)
pub fn classify_tag_or_version(input: &str) -> Result<Classified, TagError> {
    if input.starts_with(|c: char| c.is_ascii_digit()) {
        version_or_tag(input).map(Classified::Release)
    } else {
        classify(input)
    }
}

/// `X.Y.Z`, `vX.Y.Z` and their `-stable` tags, refused as a version is refused.
fn version_or_tag(input: &str) -> Result<ReleaseTag, TagError> {
    let error = |reason: String| TagError {
        input: input.to_string(),
        reason,
        form: Form::Version,
    };
    if input.is_empty() {
        return Err(error("the version is empty".into()));
    }
    let rest = input.strip_prefix('v').unwrap_or(input);
    release_tag(&format!("v{rest}")).ok_or_else(|| error(rejection(rest, Form::Version)))
}

/// Why `suffix` cannot end a tag (`form` Tag) or a version: a version has no suffix at all,
/// so the hints about writing `-stable` are for tags only.
fn parse_suffix(suffix: &str, form: Form) -> Result<TagKind, String> {
    match suffix {
        "" => return Ok(TagKind::Version),
        "-stable" => return Ok(TagKind::Stable),
        _ => {}
    }
    let first = suffix.chars().next().unwrap_or_default();
    let tag = form == Form::Tag;
    Err(
        if first.is_whitespace() || suffix.chars().any(char::is_whitespace) {
            "whitespace is not allowed".to_string()
        } else if first == '+' {
            format!(
                "build metadata ({}) is not allowed",
                crate::quote::quote(suffix)
            )
        } else if tag && suffix.eq_ignore_ascii_case("-stable") {
            "the stable suffix is written in lower case: -stable".to_string()
        } else if tag && suffix.starts_with("-stable") {
            format!(
                "nothing may follow -stable (found {})",
                crate::quote::quote(suffix)
            )
        } else if tag && suffix.starts_with('-') {
            format!(
                "suffix {} is not allowed: the only suffix is -stable",
                crate::quote::quote(suffix)
            )
        } else if suffix.starts_with('-') {
            format!("suffix {} is not allowed", crate::quote::quote(suffix))
        } else if tag && suffix.eq_ignore_ascii_case("stable") {
            "the stable suffix needs its dash: -stable".to_string()
        } else if !first.is_ascii() && first.is_numeric() {
            format!(
                "{} is not an ASCII digit",
                crate::quote::quote(&first.to_string())
            )
        } else {
            format!(
                "unexpected character {}",
                crate::quote::quote(&first.to_string())
            )
        },
    )
}

fn parse_numbers(numbers: &str) -> Result<Version, String> {
    const NAMES: [&str; 3] = ["major", "minor", "patch"];
    if numbers.is_empty() {
        return Err("the version numbers are missing".to_string());
    }
    let parts: Vec<&str> = numbers.split('.').collect();
    if parts.len() > 3 {
        return Err(format!("expected three numbers, found {}", parts.len()));
    }
    let mut values = [0u64; 3];
    for (i, part) in parts.iter().enumerate() {
        let name = NAMES[i];
        if part.is_empty() {
            return Err(format!("the {name} number is empty"));
        }
        if part.len() > 1 && part.starts_with('0') {
            let part = shown_number(part);
            return Err(format!("the {name} number {part} has a leading zero"));
        }
        values[i] = part
            .parse()
            .map_err(|_| format!("the {name} number {} is too large", shown_number(part)))?;
    }
    match parts.len() {
        1 => Err("the minor and patch numbers are missing".to_string()),
        2 => Err("the patch number is missing".to_string()),
        _ => Ok(Version::new(values[0], values[1], values[2])),
    }
}

/// A number from the input, for a reason: ASCII digits only (the grammar split them off), but
/// possibly thousands of them, so a long one is capped like any other echoed input. The
/// input itself is quoted (and capped) beside the reason.
fn shown_number(digits: &str) -> String {
    const WHOLE: usize = 24;
    const SHOWN: usize = 8;
    if digits.len() <= WHOLE || !digits.is_ascii() {
        return digits.chars().take(WHOLE).collect();
    }
    format!("{}… ({} digits)", &digits[..SHOWN], digits.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected` is what `release classify` prints, or `error: <reason>`.
    #[track_caller]
    fn check(input: &str, expected: &str) {
        let actual = match classify(input) {
            Ok(Classified::Ignored) => "ignored".to_string(),
            Ok(Classified::Release(tag)) => format!("{} {}", tag.kind_name(), tag.version),
            Err(e) => format!("error: {}", e.reason),
        };
        assert_eq!(actual, expected, "classify({input:?})");
    }

    #[test]
    fn accepted_forms() {
        check("v1.2.3", "version 1.2.3");
        check("v0.0.0", "version 0.0.0");
        check("v0.1.0", "version 0.1.0");
        check("v10.20.30", "version 10.20.30");
        check("v1.2.3-stable", "stable 1.2.3");
        check("v0.0.1-stable", "stable 0.0.1");
        check("refs/tags/v1.2.3", "version 1.2.3");
        check("refs/tags/v1.2.3-stable", "stable 1.2.3");
        check(
            "v18446744073709551615.0.0",
            "version 18446744073709551615.0.0",
        );
    }

    #[test]
    fn release_tag_reads_names_not_refs() {
        let version = |name: &str| release_tag(name).map(|t| t.name());
        assert_eq!(version("v1.2.3").as_deref(), Some("v1.2.3"));
        assert_eq!(version("v1.2.3-stable").as_deref(), Some("v1.2.3-stable"));
        // classify reads refs too; a tag name that looks like one is another tag.
        assert_eq!(version("refs/tags/v1.2.3"), None);
        assert_eq!(version("foo/v1.2.3"), None);
        for rejected in [
            "",
            "v",
            "v1.2",
            "v1.2.3.4",
            "v01.2.3",
            "v1.2.3-rc1",
            "v1.2.3-stable-stable",
            "v1.2.3-Stable",
            "v1.2.3+b",
            "v1..3",
            "v.1.2",
            "v1.2.",
            "v1.2.３",
            "v18446744073709551616.0.0",
            "v1.2.3 ",
            "v-stable",
            "v1.2.3stable",
        ] {
            assert_eq!(version(rejected), None, "{rejected:?}");
            assert!(
                !matches!(classify(rejected), Ok(Classified::Release(_))),
                "{rejected:?}"
            );
        }
    }

    #[test]
    fn names_outside_v_are_ignored() {
        check("1.4.0", "ignored");
        check("V1.2.3", "ignored");
        check("release-1.2.3", "ignored");
        check("latest", "ignored");
        check("refs/heads/v1.2.3", "ignored");
        check("refs/tags/foo/v1.2.3", "ignored");
        check(" v1.2.3", "ignored");
    }

    #[test]
    fn wrong_shapes() {
        check("", "error: the tag name is empty");
        check("refs/tags/", "error: the tag name is empty");
        check("v", "error: the version numbers are missing");
        check("v1", "error: the minor and patch numbers are missing");
        check("v1.4", "error: the patch number is missing");
        check("v1.4-stable", "error: the patch number is missing");
        check("v1.0-stable", "error: the patch number is missing");
        check("v1.2.3.4", "error: expected three numbers, found 4");
        check("v1..3", "error: the minor number is empty");
        check("v1.2.", "error: the patch number is empty");
        check("v.1.2.3", "error: expected three numbers, found 4");
        check("v-stable", "error: the version numbers are missing");
    }

    #[test]
    fn numbers_follow_semver() {
        check("v01.2.3", "error: the major number 01 has a leading zero");
        check("v1.02.3", "error: the minor number 02 has a leading zero");
        check("v1.2.03", "error: the patch number 03 has a leading zero");
        check(
            "v1.2.00-stable",
            "error: the patch number 00 has a leading zero",
        );
        check(
            "v18446744073709551616.0.0",
            "error: the major number 18446744073709551616 is too large",
        );
        check(
            "v1.99999999999999999999999.0",
            "error: the minor number 99999999999999999999999 is too large",
        );
        check("v１.２.３", r#"error: "１" is not an ASCII digit"#);
        check("v1.2.３", r#"error: "３" is not an ASCII digit"#);
    }

    #[test]
    fn only_the_stable_suffix() {
        check(
            "v1.4.0-rc1",
            r#"error: suffix "-rc1" is not allowed: the only suffix is -stable"#,
        );
        check(
            "v1.4.0-beta",
            r#"error: suffix "-beta" is not allowed: the only suffix is -stable"#,
        );
        check(
            "v1.4.0-alpha.1",
            r#"error: suffix "-alpha.1" is not allowed: the only suffix is -stable"#,
        );
        check(
            "v1.4.0stable",
            "error: the stable suffix needs its dash: -stable",
        );
        check(
            "v1.4.0-STABLE",
            "error: the stable suffix is written in lower case: -stable",
        );
        check(
            "v1.4.0-Stable",
            "error: the stable suffix is written in lower case: -stable",
        );
        check(
            "v1.4.0-stable-stable",
            r#"error: nothing may follow -stable (found "-stable-stable")"#,
        );
        check(
            "v1.4.0-stable.1",
            r#"error: nothing may follow -stable (found "-stable.1")"#,
        );
        check(
            "v1.4.0--stable",
            r#"error: suffix "--stable" is not allowed: the only suffix is -stable"#,
        );
        check(
            "v1.4.0-",
            r#"error: suffix "-" is not allowed: the only suffix is -stable"#,
        );
        check(
            "v1.2.3+build",
            r#"error: build metadata ("+build") is not allowed"#,
        );
        check(
            "v1.2.3-stable+build",
            r#"error: nothing may follow -stable (found "-stable+build")"#,
        );
    }

    #[test]
    fn hostile_input() {
        check("v1.0.0$(id)", r#"error: unexpected character "$""#);
        check("v1.0.0;rm -rf /", "error: whitespace is not allowed");
        check("v1.0.0`id`", r#"error: unexpected character "`""#);
        check("v1.0.0|cat", r#"error: unexpected character "|""#);
        check("v1.2.3 ", "error: whitespace is not allowed");
        check("v1.2.3\n", "error: whitespace is not allowed");
        check("v1.2.3\t", "error: whitespace is not allowed");
        check(
            "v1.2.3\u{1b}[31m",
            r#"error: unexpected character "\u{1b}""#,
        );
        check("v1.2.3\0", r#"error: unexpected character "\0""#);
        check("v1 .2.3", "error: whitespace is not allowed");
    }

    #[test]
    fn error_quotes_input_escaped_and_capped() {
        let long = format!("v1.2.3-{}", "x".repeat(500));
        let message = classify(&long).unwrap_err().to_string();
        assert!(message.len() < 400, "{message}");
        assert!(message.contains("(507 characters)"), "{message}");
        assert!(message.contains(TAG_FORMS), "{message}");

        let message = classify("v1.2.3\n::error::forged").unwrap_err().to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(
            message.starts_with(r#"invalid release tag "v1.2.3\n::error::forged": "#),
            "{message}"
        );
    }

    #[test]
    fn numbers_in_reasons_are_capped_too() {
        let digits = "1".repeat(10_000);
        check(
            &format!("v{digits}.0.0"),
            "error: the major number 11111111… (10000 digits) is too large",
        );
        check(
            &format!("v1.0{digits}.0"),
            "error: the minor number 01111111… (10001 digits) has a leading zero",
        );
        for input in [
            format!("v{digits}.0.0"),
            format!("v0{digits}.0.0-stable"),
            format!("refs/tags/v1.2.{digits}"),
        ] {
            let message = classify(&input).unwrap_err().to_string();
            assert!(message.chars().count() < 290, "{message}");
        }
        let message = parse_version_arg(&format!("{digits}.1.1"))
            .unwrap_err()
            .to_string();
        assert!(message.chars().count() < 290, "{message}");
    }

    #[test]
    fn version_arguments() {
        let ok = |input: &str| parse_version_arg(input).unwrap().to_string();
        let err = |input: &str| parse_version_arg(input).unwrap_err().reason;
        assert_eq!(ok("1.2.3"), "1.2.3");
        assert_eq!(ok("v1.2.3"), "1.2.3");
        assert_eq!(
            err("1.2.3-stable"),
            "this is the stable tag of 1.2.3: give the version itself, 1.2.3"
        );
        assert_eq!(err("v1.2"), "the patch number is missing");
        assert_eq!(err("V1.2.3"), r#"unexpected character "V""#);
        assert_eq!(err("vv1.2.3"), r#"unexpected character "v""#);
        assert_eq!(err("refs/tags/v1.2.3"), r#"unexpected character "r""#);
        // A version has no suffix at all: no hint that points at -stable.
        assert_eq!(err("1.2.3-rc1"), r#"suffix "-rc1" is not allowed"#);
        assert_eq!(err("1.2.3-STABLE"), r#"suffix "-STABLE" is not allowed"#);
        assert_eq!(err("1.2.3stable"), r#"unexpected character "s""#);
        assert_eq!(err("1.2.３"), r#""３" is not an ASCII digit"#);
        assert_eq!(err("1.2.3+b"), r#"build metadata ("+b") is not allowed"#);
        assert_eq!(err(""), "the version is empty");
        assert_eq!(parse_version_arg("x").unwrap_err().input, "x");
    }

    /// The whole message: what the user typed is named as what they meant (a version or a
    /// tag), and the forms listed are only those the argument accepts.
    #[test]
    fn messages_name_the_form_and_list_only_what_is_accepted() {
        let version = |input: &str| parse_version_arg(input).unwrap_err().to_string();
        assert_eq!(
            version("1.2"),
            r#"invalid version "1.2": the patch number is missing; accepted forms: MAJOR.MINOR.PATCH or vMAJOR.MINOR.PATCH (for example 1.4.0)"#
        );
        assert_eq!(
            version("1.4.0-stable"),
            r#"invalid version "1.4.0-stable": this is the stable tag of 1.4.0: give the version itself, 1.4.0; accepted forms: MAJOR.MINOR.PATCH or vMAJOR.MINOR.PATCH (for example 1.4.0)"#
        );
        assert_eq!(
            classify("v1.4").unwrap_err().to_string(),
            r#"invalid release tag "v1.4": the patch number is missing; accepted forms: vMAJOR.MINOR.PATCH (for example v1.4.0) or vMAJOR.MINOR.PATCH-stable (for example v1.4.0-stable)"#
        );
    }

    /// `plan`'s argument: a version is its version tag, with `tag`'s errors; anything else
    /// is a tag or ref, with `classify`'s.
    #[test]
    fn plan_reads_a_version_or_a_tag() {
        let read = |input: &str| match classify_tag_or_version(input) {
            Ok(Classified::Release(tag)) => tag.name(),
            Ok(Classified::Ignored) => "ignored".to_string(),
            Err(e) => e.to_string(),
        };
        assert_eq!(read("1.4.0"), "v1.4.0");
        assert_eq!(read("v1.4.0"), "v1.4.0");
        assert_eq!(read("1.4.0-stable"), "v1.4.0-stable");
        assert_eq!(read("refs/tags/v1.4.0-stable"), "v1.4.0-stable");
        assert_eq!(read("nightly"), "ignored");
        assert_eq!(
            read("1.2"),
            parse_version_arg("1.2").unwrap_err().to_string()
        );
        assert_eq!(
            read("1.4.0-rc1"),
            parse_version_arg("1.4.0-rc1").unwrap_err().to_string()
        );
        assert_eq!(read("v1.2"), classify("v1.2").unwrap_err().to_string());
    }
}
