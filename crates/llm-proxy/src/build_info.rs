//! What the binary says about itself: its name, version and commit.
//!
//! The release build stamps the version and commit through the environment
//! variables `LLM_PROXY_VERSION` and `LLM_PROXY_COMMIT` at compile time, so the
//! running service, `--version` and `GET /version` all report the release that
//! produced the image rather than whatever `Cargo.toml` happened to say.
//! A plain `cargo build` falls back to the crate version and `unknown`.

/// The name every output of this binary reports, independent of how the file is called.
pub const NAME: &str = "llm-proxy";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildInfo {
    /// Without a leading `v`: the stamp may carry one or not, output always adds it.
    version: &'static str,
    commit: &'static str,
}

impl BuildInfo {
    /// The stamps a binary was compiled with: `main.rs` reads them with `option_env!`, which
    /// records the variables in rustc's dep-info, so cargo rebuilds when either changes and
    /// no build script is needed. They are read in the binary, not in this library, so that
    /// a new stamp recompiles `main.rs` alone, not the whole service.
    ///
    /// An empty stamp counts as absent: CI often exports a variable that has no value.
    pub fn from_stamps(
        version: Option<&'static str>,
        commit: Option<&'static str>,
        crate_version: &'static str,
    ) -> BuildInfo {
        let present = |stamp: Option<&'static str>| stamp.map(str::trim).filter(|s| !s.is_empty());
        let version = present(version).unwrap_or(crate_version);
        BuildInfo {
            version: version.strip_prefix('v').unwrap_or(version),
            commit: present(commit).unwrap_or("unknown"),
        }
    }

    /// What an unstamped build of this crate reports.
    #[cfg(test)]
    pub(crate) fn unstamped() -> BuildInfo {
        BuildInfo::from_stamps(None, None, env!("CARGO_PKG_VERSION"))
    }

    /// `vX.Y.Z`, the form release tags and image tags use.
    pub fn version(&self) -> String {
        format!("v{}", self.version)
    }

    /// The `--version` line, without the newline: `llm-proxy v1.2.3 (abc1234)`.
    pub fn version_line(&self) -> String {
        format!("{NAME} {} ({})", self.version(), self.commit)
    }

    /// The `GET /version` body.
    pub fn version_json(&self) -> String {
        format!(
            r#"{{"name":{},"version":{},"commit":{}}}"#,
            json_string(NAME),
            json_string(&self.version()),
            json_string(self.commit),
        )
    }
}

/// Stamps come from the environment, so a stray quote must not break the JSON.
fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str(r#"\""#),
            '\\' => out.push_str(r"\\"),
            c if c.is_control() => out.push_str(&format!(r"\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(version: Option<&'static str>, commit: Option<&'static str>, expected: &str) {
        let info = BuildInfo::from_stamps(version, commit, "0.1.0");
        assert_eq!(info.version_line(), expected);
    }

    #[test]
    fn version_line() {
        check(None, None, "llm-proxy v0.1.0 (unknown)");
        check(Some("1.2.3"), Some("abc1234"), "llm-proxy v1.2.3 (abc1234)");
        check(
            Some("v1.2.3"),
            Some("abc1234"),
            "llm-proxy v1.2.3 (abc1234)",
        );
        check(Some("1.2.3-rc.1"), None, "llm-proxy v1.2.3-rc.1 (unknown)");
        check(Some(""), Some(""), "llm-proxy v0.1.0 (unknown)");
        check(
            Some(" v2.0.0\n"),
            Some(" deadbeef "),
            "llm-proxy v2.0.0 (deadbeef)",
        );
        let sha = "0123456789abcdef0123456789abcdef01234567";
        check(
            Some("1.0.0"),
            Some(sha),
            &format!("llm-proxy v1.0.0 ({sha})"),
        );
    }

    #[test]
    fn version_json() {
        let info = BuildInfo::from_stamps(Some("v1.2.3"), Some("abc1234"), "0.1.0");
        assert_eq!(
            info.version_json(),
            r#"{"name":"llm-proxy","version":"v1.2.3","commit":"abc1234"}"#
        );
    }

    #[test]
    fn json_string_escapes() {
        assert_eq!(json_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(json_string("a\nb"), r#""a\u000ab""#);
    }
}
