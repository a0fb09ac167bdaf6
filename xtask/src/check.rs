//! The vocabulary that the rooms share and that imports none of them: the answer to a
//! question about the world ([`Lookup`]), one verification [`Check`], the verdict of a
//! [`Gate`], and which [`Artifact`] a step or a login is about.

/// The answer to one question about the world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    Found(T),
    Missing,
    /// The question could not be asked (registry down, auth refused, …): the message says why.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

impl Check {
    pub fn new(name: impl Into<String>, ok: bool, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            ok,
            detail: detail.into(),
        }
    }

    pub fn unknown(name: impl Into<String>, why: &str) -> Check {
        Check::new(name, false, format!("unknown: {why}"))
    }
}

/// What the promotion gate found: the artifact checks (`release verify X.Y.Z
/// --artifacts-only`) that a stable tag and its GitHub release must pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// Not run: `--no-verify`.
    Skipped,
    /// Not run: the version tag is not on the remote, a problem reported on its own.
    NotAsked,
    /// Each failing check as `name: detail`; none when the artifacts verify.
    Checked(Vec<String>),
    /// The gate could not run at all (a tool missing, the scratch directory): why.
    Failed(String),
}

impl Gate {
    /// The gate's verdict from every artifact check.
    pub fn from_checks(checks: &[Check]) -> Gate {
        Gate::Checked(
            checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| format!("{}: {}", c.name, c.detail))
                .collect(),
        )
    }

    /// The problem that stops an approval, if any; `what` names the version checked.
    pub fn problem(&self, what: &str) -> Option<String> {
        match self {
            Gate::Skipped | Gate::NotAsked => None,
            Gate::Checked(failing) if failing.is_empty() => None,
            Gate::Checked(failing) => Some(format!(
                "the published artifacts of {what} do not verify (the promotion gate):\n      - {}\n    fix the release (`cargo xtask release verify {} --artifacts-only` shows every check)",
                failing.join("\n      - "),
                what.trim_start_matches('v')
            )),
            Gate::Failed(why) => Some(format!(
                "the promotion gate could not check the published artifacts of {what}: {why}"
            )),
        }
    }
}

/// Which artifact a step makes, for `release publish --only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Artifact {
    Chart,
    Image,
}
