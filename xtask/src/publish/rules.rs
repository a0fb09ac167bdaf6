//! The release's decisions, each made in exactly one place: which tags an image gets and who
//! owns the moving ones, whether a moving tag may move over what the registry holds now,
//! which stable release is GitHub's Latest, and when two artifacts are the same.
//!
//! `plan` asks these functions what a release will do; `verify` asks the very same functions
//! what it should find; the publish steps ask them before they move a tag or refuse to
//! overwrite. A second derivation anywhere else is a place where publish and verify could
//! disagree without anyone noticing.

use std::collections::BTreeMap;

use semver::Version;

use crate::tag::grammar::{self, TagKind};

/// The moving tag of the highest release from the default branch.
pub const LATEST: &str = "latest";

/// `sha-` and the first 7 hex digits of the commit: the immutable tag naming the source.
pub fn sha_tag(commit: &str) -> String {
    let short: String = commit.chars().take(7).collect();
    format!("sha-{short}")
}

/// `X.Y`: the moving tag of a minor line.
pub fn minor_tag(version: &Version) -> String {
    format!("{}.{}", version.major, version.minor)
}

/// Who a moving tag belongs to, as far as the version tags tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// This release: the tag points at its image.
    This,
    /// A newer release: of the same minor line for `X.Y`, overall for `latest`.
    Newer(Version),
    /// `latest` only: the release's commit is not on the default branch.
    OffDefaultBranch,
}

/// The tags one release puts on its image, and who owns the moving ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageTags {
    /// `vX.Y.Z`: immutable.
    pub version: String,
    /// `sha-…`: immutable.
    pub sha: String,
    /// `X.Y`, whoever owns it.
    pub minor: String,
    pub minor_owner: Owner,
    pub latest_owner: Owner,
}

impl ImageTags {
    /// The moving tags this release owns, pushed last, by digest.
    pub fn moving(&self) -> Vec<&str> {
        let minor = (self.minor_owner == Owner::This).then_some(self.minor.as_str());
        let latest = (self.latest_owner == Owner::This).then_some(LATEST);
        minor.into_iter().chain(latest).collect()
    }

    /// Every tag this release sets, in the contract's order: `vX.Y.Z`, `X.Y`, `sha-…`,
    /// `latest`.
    pub fn all(&self) -> Vec<&str> {
        let mut all = vec![self.version.as_str()];
        all.extend((self.minor_owner == Owner::This).then_some(self.minor.as_str()));
        all.push(&self.sha);
        all.extend((self.latest_owner == Owner::This).then_some(LATEST));
        all
    }

    /// Every tag the release may hold at some time, in the contract's order: its immutable
    /// tags and both moving ones, whoever owns them now (a newer release may have taken them
    /// since).
    pub fn every(&self) -> [&str; 4] {
        [&self.version, &self.minor, &self.sha, LATEST]
    }

    /// Why a moving tag is left alone, for people reading the plan.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if let Owner::Newer(newer) = &self.minor_owner {
            notes.push(format!("{} stays with v{newer}, a newer patch", self.minor));
        }
        match &self.latest_owner {
            Owner::This => {}
            Owner::Newer(newer) => {
                notes.push(format!("{LATEST} stays with v{newer}, a newer version"))
            }
            Owner::OffDefaultBranch => notes.push(format!(
                "{LATEST} is not moved: the commit is not on the default branch"
            )),
        }
        notes
    }
}

/// `X.Y` and `latest` never move backwards: a release takes `X.Y` only as the highest patch
/// of its minor line, and `latest` only as the highest version overall, built from the
/// default branch. A backport (v1.2.9 after v1.3.0) keeps `1.2` and leaves `latest` alone.
/// `tags` are the tag names known (the clone's for a publish, the remote's for verify).
pub fn image_tags(
    version: &Version,
    commit: &str,
    on_default_branch: bool,
    tags: &[String],
) -> ImageTags {
    let versions = grammar::release_versions(tags.iter().map(String::as_str), TagKind::Version);
    let newer_in_line = versions
        .iter()
        .filter(|v| v.major == version.major && v.minor == version.minor && *v > version)
        .max();
    let newer = versions.iter().filter(|v| *v > version).max();
    ImageTags {
        version: grammar::version_tag(version),
        sha: sha_tag(commit),
        minor: minor_tag(version),
        minor_owner: newer_in_line.map_or(Owner::This, |v| Owner::Newer(v.clone())),
        latest_owner: match (newer, on_default_branch) {
            (Some(v), _) => Owner::Newer(v.clone()),
            (None, true) => Owner::This,
            (None, false) => Owner::OffDefaultBranch,
        },
    }
}

/// What a moving tag holds in the registry right before a publish would move it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// The tag does not exist yet.
    Nothing,
    /// An image: its digest, and the version of its `org.opencontainers.image.version`
    /// label when that is a release version.
    Image {
        digest: String,
        version: Option<Version>,
        /// The newest release the tag was moved back from by `release retarget`, while the
        /// tag's record is current (it names this digest).
        retargeted_from: Option<Version>,
    },
}

/// What to do with a moving tag this release owns by its version tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Move {
    /// Point it at this release's image.
    Set,
    /// Point it at this release's image over what it holds, which is no release of its
    /// line: said so, since someone put it there by hand or by a bad script.
    Replace(String),
    /// It holds this release's image already.
    AlreadyThere,
    /// Leave it: it holds a newer release, published by a run that finished first.
    Keep(String),
}

/// Whether the moving tag `tag` may move to the image `digest` of `version`, given what it
/// holds now. Runs of two tags race (each checked out before the other's tag existed), so
/// the clone's tags alone cannot tell; the registry can. `X.Y` is compared only with the
/// releases of line X.Y (a `v2.0.0` under `1.2` is no newer `1.2` release, and keeping it
/// would fail every later verify of the line); `latest` with every release. An image
/// without a release version label was not made by this release process, and gives way.
pub fn move_moving_tag(tag: &str, version: &Version, digest: &str, holder: &Holder) -> Move {
    let Holder::Image {
        digest: held_digest,
        version: held,
        retargeted_from,
    } = holder
    else {
        return Move::Set;
    };
    if held_digest == digest {
        return Move::AlreadyThere;
    }
    // Moved back on purpose: only a release newer than the one moved away from takes it.
    if let Some(from) = retargeted_from.as_ref().filter(|from| version <= *from) {
        return Move::Keep(format!(
            "{tag} was retargeted away from v{from} (release retarget): a publish of v{version} does not take it back; a newer release moves it forward"
        ));
    }
    let same_line = |held: &Version| tag == LATEST || minor_tag(held) == minor_tag(version);
    match held {
        Some(held) if !same_line(held) => Move::Replace(format!(
            "{tag} holds v{held}, a release of another line: replaced by v{version}"
        )),
        Some(held) if held > version => Move::Keep(format!(
            "{tag} holds v{held}, newer than v{version}: left as it is"
        )),
        Some(_) => Move::Set,
        None => Move::Replace(format!(
            "{tag} holds {held_digest}, an image with no release version label: replaced by v{version}"
        )),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubRelease {
    pub tag: String,
    pub title: String,
    pub latest: bool,
    /// The previous stable tag by SemVer order; `None` for the first stable release.
    pub notes_start_tag: Option<String>,
}

/// The GitHub release of a stable tag: notes since the previous stable release by SemVer
/// order, and Latest only for the highest stable version (promoting an old line's patch
/// must not take Latest from the current one). `tags` are the tag names known: the clone's,
/// and at release time also the tags of the releases GitHub already has.
pub fn github_release(version: &Version, tags: &[String]) -> GithubRelease {
    let stables = grammar::release_versions(tags.iter().map(String::as_str), TagKind::Stable);
    let previous = stables.iter().filter(|v| *v < version).max();
    let latest = stables.iter().all(|v| v <= version);
    let name = grammar::stable_tag(version);
    GithubRelease {
        tag: name.clone(),
        title: name,
        latest,
        notes_start_tag: previous.map(grammar::stable_tag),
    }
}

/// How a built image compares with what a registry holds under its version tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageComparison {
    Same,
    /// Another image: a published version is never overwritten.
    Different,
    /// The same image, but without these platforms.
    MissingPlatforms(Vec<String>),
}

/// Two images are the same when every platform has the same config digest. A config names
/// every layer by the digest of its uncompressed content and carries the labels and
/// timestamps; manifest and index digests also depend on how layers were compressed on the
/// way to the registry, which differs between tools and runs. Maps are platform → config
/// digest ([`crate::registry::oci::platform_configs`]); `platforms` are the ones required.
pub fn compare_images(
    local: &BTreeMap<String, String>,
    remote: &BTreeMap<String, String>,
    platforms: &[String],
) -> ImageComparison {
    if local != remote {
        return ImageComparison::Different;
    }
    let present: Vec<String> = remote.keys().cloned().collect();
    let missing = lacking_platforms(&present, platforms);
    if missing.is_empty() {
        ImageComparison::Same
    } else {
        ImageComparison::MissingPlatforms(missing)
    }
}

/// The platforms of `required` that an image index lacks (`present`, its platforms): a
/// chart goes out only once its image has none missing.
pub fn lacking_platforms(present: &[String], required: &[String]) -> Vec<String> {
    required
        .iter()
        .filter(|p| !present.contains(p))
        .cloned()
        .collect()
}

/// The Kubernetes minor versions (`1.29`) a chart's rendered manifests are validated against:
/// every minor its `kubeVersion` admits, from its lower bound to its upper bound or, for an
/// open range, to `newest` (the newest the pinned validator has schemas for). Only the forms
/// `>=A.B[.C][-0]` and `<A.B[.C][-0]` are read; a chart without `kubeVersion` is validated
/// against `newest` alone.
pub fn kube_versions(
    kube_version: Option<&str>,
    newest: (u64, u64),
) -> Result<Vec<String>, String> {
    let Some(range) = kube_version else {
        return Ok(vec![format!("{}.{}", newest.0, newest.1)]);
    };
    let minor = |text: &str| -> Option<(u64, u64)> {
        let mut parts = text.trim_end_matches("-0").split('.');
        Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
    };
    let (mut low, mut high) = (None, newest);
    let range = range.replace(">= ", ">=").replace("< ", "<");
    for constraint in range.split([' ', ',']).filter(|c| !c.is_empty()) {
        if let Some(bound) = constraint.strip_prefix(">=") {
            low = minor(bound);
        } else if let Some(bound) = constraint.strip_prefix('<') {
            let (major, minor) = minor(bound).ok_or(format!("cannot read {constraint:?}"))?;
            high = (
                major,
                minor
                    .checked_sub(1)
                    .ok_or(format!("{constraint:?} admits no minor"))?,
            );
        } else {
            return Err(format!(
                "cannot read {constraint:?}: write kubeVersion as \">=1.29.0-0\" (and an optional \"<1.38.0-0\")"
            ));
        }
    }
    let (major, first) = low.ok_or(format!("{range:?} has no lower bound (>=)"))?;
    if high.0 != major || high.1 < first {
        return Err(format!(
            "{range:?} admits no version up to {}.{}",
            newest.0, newest.1
        ));
    }
    Ok((first..=high.1).map(|m| format!("{major}.{m}")).collect())
}

/// The first file that differs between two unpacked chart packages (path → content), or
/// `None` when they are the same chart. Not the archives' digests: `helm package` writes the
/// packaging time into the archive, so packaging the same chart twice gives two digests.
pub fn chart_difference(
    a: &BTreeMap<String, Vec<u8>>,
    b: &BTreeMap<String, Vec<u8>>,
) -> Option<String> {
    a.keys()
        .chain(b.keys())
        .find(|name| a.get(*name) != b.get(*name))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

    fn tags(names: &str) -> Vec<String> {
        names.split_whitespace().map(str::to_string).collect()
    }

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    /// `expected` lists the image tags, then `|` and the notes, if any.
    #[track_caller]
    fn check_image_tags(version: &str, on_default_branch: bool, existing: &str, expected: &str) {
        let derived = image_tags(&v(version), COMMIT, on_default_branch, &tags(existing));
        let mut actual = derived.all().join(" ");
        let notes = derived.notes();
        if !notes.is_empty() {
            actual = format!("{actual} | {}", notes.join("; "));
        }
        assert_eq!(actual, expected);
    }

    #[test]
    fn first_release_takes_every_tag() {
        check_image_tags("1.2.3", true, "", "v1.2.3 1.2 sha-0123456 latest");
        check_image_tags("0.1.0", true, "", "v0.1.0 0.1 sha-0123456 latest");
        check_image_tags("0.0.1", true, "v0.0.1", "v0.0.1 0.0 sha-0123456 latest");
    }

    #[test]
    fn newest_release_moves_the_moving_tags() {
        check_image_tags(
            "1.3.0",
            true,
            "v1.2.3 v1.2.3-stable v1.3.0",
            "v1.3.0 1.3 sha-0123456 latest",
        );
        check_image_tags(
            "2.0.0",
            true,
            "v1.9.9 v10.0.0-stable",
            "v2.0.0 2.0 sha-0123456 latest",
        );
        check_image_tags("1.10.0", true, "v1.9.0", "v1.10.0 1.10 sha-0123456 latest");
    }

    #[test]
    fn backport_keeps_its_line_but_not_latest() {
        check_image_tags(
            "1.2.9",
            false,
            "v1.2.8 v1.3.0",
            "v1.2.9 1.2 sha-0123456 | latest stays with v1.3.0, a newer version",
        );
        check_image_tags(
            "1.2.9",
            true,
            "v1.2.8 v1.3.0",
            "v1.2.9 1.2 sha-0123456 | latest stays with v1.3.0, a newer version",
        );
    }

    #[test]
    fn older_patch_never_takes_its_line_back() {
        check_image_tags(
            "1.2.9",
            true,
            "v1.2.10 v1.3.0",
            "v1.2.9 sha-0123456 | 1.2 stays with v1.2.10, a newer patch; latest stays with v1.3.0, a newer version",
        );
        check_image_tags(
            "0.3.1",
            true,
            "v0.3.2",
            "v0.3.1 sha-0123456 | 0.3 stays with v0.3.2, a newer patch; latest stays with v0.3.2, a newer version",
        );
    }

    #[test]
    fn highest_release_off_the_default_branch_is_not_latest() {
        check_image_tags(
            "1.4.0",
            false,
            "v1.3.0",
            "v1.4.0 1.4 sha-0123456 | latest is not moved: the commit is not on the default branch",
        );
    }

    #[test]
    fn only_valid_version_tags_count() {
        check_image_tags(
            "1.2.3",
            true,
            "v9.9.9-rc1 v09.0.0 v9.9 V9.9.9 9.9.9 v9.9.9-stable",
            "v1.2.3 1.2 sha-0123456 latest",
        );
        // Tag names, not refs: these tags' refs are refs/tags/foo/v9.9.9 and
        // refs/tags/refs/tags/v9.9.9.
        check_image_tags(
            "1.2.3",
            true,
            "foo/v9.9.9 refs/tags/v9.9.9 refs/tags/v9.9.9-stable",
            "v1.2.3 1.2 sha-0123456 latest",
        );
    }

    #[test]
    fn several_tags_on_one_commit() {
        // The commit decides `sha-…`; versions decide the moving tags, whatever they point at.
        check_image_tags(
            "1.2.4",
            true,
            "v1.2.3 v1.2.4 v1.2.4-stable",
            "v1.2.4 1.2 sha-0123456 latest",
        );
    }

    #[test]
    fn sha_tags_take_seven_digits() {
        assert_eq!(sha_tag(COMMIT), "sha-0123456");
        assert_eq!(minor_tag(&v("10.20.30")), "10.20");
    }

    #[track_caller]
    fn check_move(version: &str, holder: Holder, expected: Move) {
        check_move_of("1.3", version, holder, expected);
    }

    #[track_caller]
    fn check_move_of(tag: &str, version: &str, holder: Holder, expected: Move) {
        assert_eq!(
            move_moving_tag(tag, &v(version), "sha256:ours", &holder),
            expected
        );
    }

    fn image(digest: &str, version: Option<&str>) -> Holder {
        Holder::Image {
            digest: digest.into(),
            version: version.map(v),
            retargeted_from: None,
        }
    }

    #[test]
    fn a_retargeted_tag_is_taken_back_only_by_a_newer_release() {
        let retargeted = |from: &str| Holder::Image {
            digest: "sha256:old".into(),
            version: Some(v("1.3.0")),
            retargeted_from: Some(v(from)),
        };
        let kept = |version: &str| {
            Move::Keep(format!(
                "1.3 was retargeted away from v1.3.1 (release retarget): a publish of v{version} does not take it back; a newer release moves it forward"
            ))
        };
        // The re-run of the release moved away from, and any between.
        check_move("1.3.1", retargeted("1.3.1"), kept("1.3.1"));
        check_move("1.3.0", retargeted("1.3.1"), kept("1.3.0"));
        check_move("1.3.2", retargeted("1.3.1"), Move::Set);
    }

    #[test]
    fn moving_tags_move_only_forward_of_what_the_registry_holds() {
        check_move("1.3.0", Holder::Nothing, Move::Set);
        check_move("1.3.1", image("sha256:old", Some("1.3.0")), Move::Set);
        check_move(
            "1.3.0",
            image("sha256:ours", Some("1.3.0")),
            Move::AlreadyThere,
        );
        check_move(
            "1.3.0",
            image("sha256:new", Some("1.3.1")),
            Move::Keep("1.3 holds v1.3.1, newer than v1.3.0: left as it is".into()),
        );
        // Not a release's image: it gives way, and the publish says so.
        check_move(
            "1.3.0",
            image("sha256:other", None),
            Move::Replace(
                "1.3 holds sha256:other, an image with no release version label: replaced by v1.3.0"
                    .into(),
            ),
        );
    }

    #[test]
    fn a_minor_tag_is_compared_only_with_releases_of_its_line() {
        let replaced = |held: &str| {
            Move::Replace(format!(
                "1.3 holds v{held}, a release of another line: replaced by v1.3.0"
            ))
        };
        for held in ["2.0.0", "1.4.0", "0.9.0", "1.30.0"] {
            check_move("1.3.0", image("sha256:other", Some(held)), replaced(held));
        }
        // `latest` keeps comparing with every release.
        check_move_of(
            LATEST,
            "1.3.0",
            image("sha256:new", Some("2.0.0")),
            Move::Keep("latest holds v2.0.0, newer than v1.3.0: left as it is".into()),
        );
        check_move_of(
            LATEST,
            "1.3.0",
            image("sha256:old", Some("0.9.0")),
            Move::Set,
        );
    }

    #[track_caller]
    fn check_release(version: &str, existing: &str, latest: bool, start: Option<&str>) {
        let release = github_release(&v(version), &tags(existing));
        assert_eq!(release.tag, format!("v{version}-stable"));
        assert_eq!(release.title, release.tag);
        assert_eq!(
            (release.latest, release.notes_start_tag.as_deref()),
            (latest, start)
        );
    }

    #[test]
    fn github_release_notes_start_at_the_previous_stable_by_semver() {
        check_release("1.0.0", "v1.0.0", true, None);
        check_release(
            "1.2.0",
            "v1.0.0-stable v1.1.0 v1.10.0 v1.2.0",
            true,
            Some("v1.0.0-stable"),
        );
        check_release(
            "1.10.0",
            "v1.9.0-stable v1.2.0-stable",
            true,
            Some("v1.9.0-stable"),
        );
        check_release(
            "1.2.0",
            "v1.2.0-stable v1.1.0-stable",
            true,
            Some("v1.1.0-stable"),
        );
    }

    #[test]
    fn older_line_promotion_is_not_latest() {
        check_release(
            "1.2.9",
            "v1.2.8-stable v1.3.0-stable",
            false,
            Some("v1.2.8-stable"),
        );
        check_release(
            "0.9.0",
            "v1.0.0-stable v0.8.0-stable v0.10.0-stable",
            false,
            Some("v0.8.0-stable"),
        );
    }

    fn map<V: Clone>(entries: &[(&str, V)]) -> BTreeMap<String, V> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn images_are_the_same_by_their_configs() {
        let both = ["linux/amd64".to_string(), "linux/arm64".to_string()];
        let configs = |entries: &[(&str, &str)]| -> BTreeMap<String, String> {
            map(entries)
                .into_iter()
                .map(|(k, v)| (k, v.to_string()))
                .collect()
        };
        let built = configs(&[("linux/amd64", "c1"), ("linux/arm64", "c2")]);
        assert_eq!(compare_images(&built, &built, &both), ImageComparison::Same);
        let other = configs(&[("linux/amd64", "c1"), ("linux/arm64", "c3")]);
        assert_eq!(
            compare_images(&built, &other, &both),
            ImageComparison::Different
        );
        let amd64 = configs(&[("linux/amd64", "c1")]);
        assert_eq!(
            compare_images(&amd64, &amd64, &both),
            ImageComparison::MissingPlatforms(vec!["linux/arm64".into()])
        );
    }

    #[test]
    fn an_image_lacks_the_platforms_its_index_does_not_list() {
        let required = ["linux/amd64".to_string(), "linux/arm64".to_string()];
        assert!(lacking_platforms(&required, &required).is_empty());
        assert_eq!(
            lacking_platforms(&["linux/amd64".into()], &required),
            ["linux/arm64"]
        );
        assert_eq!(lacking_platforms(&[], &required), required);
    }

    #[test]
    fn kubernetes_versions_come_from_kube_version_up_to_the_validators_newest() {
        let newest = (1, 37);
        let check = |range: Option<&str>| kube_versions(range, newest);
        assert_eq!(
            check(Some(">=1.29.0-0")).unwrap(),
            [
                "1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35", "1.36", "1.37"
            ]
        );
        assert_eq!(
            check(Some(">=1.31.0-0 <1.33.0-0")).unwrap(),
            ["1.31", "1.32"]
        );
        assert_eq!(check(Some(">= 1.36")).unwrap(), ["1.36", "1.37"]);
        assert_eq!(check(None).unwrap(), ["1.37"]);
        assert_eq!(
            check(Some("~1.29")).unwrap_err(),
            "cannot read \"~1.29\": write kubeVersion as \">=1.29.0-0\" (and an optional \"<1.38.0-0\")"
        );
        assert_eq!(
            check(Some(">=1.40.0-0")).unwrap_err(),
            "\">=1.40.0-0\" admits no version up to 1.37"
        );
    }

    #[test]
    fn charts_are_the_same_by_their_files() {
        let a = map(&[
            ("c/Chart.yaml", b"v1".to_vec()),
            ("c/values.yaml", b"x".to_vec()),
        ]);
        assert_eq!(chart_difference(&a, &a), None);
        let b = map(&[
            ("c/Chart.yaml", b"v1".to_vec()),
            ("c/values.yaml", b"y".to_vec()),
        ]);
        assert_eq!(chart_difference(&a, &b), Some("c/values.yaml".into()));
        let c = map(&[("c/Chart.yaml", b"v1".to_vec())]);
        assert_eq!(chart_difference(&a, &c), Some("c/values.yaml".into()));
        assert_eq!(chart_difference(&c, &a), Some("c/values.yaml".into()));
    }
}
