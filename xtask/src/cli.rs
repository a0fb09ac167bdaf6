//! The command line: clap's builder API (no derive macro to compile), turned at once into
//! typed commands: tags are classified, versions parsed, remotes and platforms validated
//! here, so that inner code never sees a raw string to judge again, or a flag lookup.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Arg, ArgAction, ArgMatches, Command};
use semver::Version;

use crate::check::Artifact;
use crate::config::{self, Platform};
use crate::tag::grammar::{self, Classified};
use crate::ui;

pub struct Cli {
    /// `-C DIR`: the repository to act on.
    pub dir: Option<PathBuf>,
    /// `-q` or, for `rehearse`, `-v`: how much progress goes to stderr.
    pub level: ui::Level,
    pub command: Task,
}

pub enum Task {
    /// `tests: false` with `--no-tests`.
    Ci {
        tests: bool,
    },
    Dist(DistArgs),
    Classify(ClassifyArgs),
    Plan(PlanArgs),
    Stamp(StampArgs),
    Tag(TagArgs),
    Promote(PromoteArgs),
    Publish(PublishArgs),
    Github(GithubArgs),
    Verify(VerifyArgs),
    Rehearse(RehearseArgs),
    AttestOffline(AttestOfflineArgs),
    Status(StatusArgs),
    Retarget(RetargetArgs),
}

/// `release status [X.Y.Z…]`: empty, every version tag on the remote.
pub struct StatusArgs {
    pub versions: Vec<Version>,
    pub json: bool,
}

/// `release retarget X.Y|latest X.Y.Z`.
pub struct RetargetArgs {
    pub tag: crate::publish::retarget::MovingTag,
    pub version: Version,
    pub dry_run: bool,
    pub yes: bool,
    /// Also make the version's GitHub release Latest.
    pub github: bool,
}

pub struct AttestOfflineArgs {
    pub version: Version,
}

pub struct ClassifyArgs {
    pub tag: TagArg,
    pub github_output: bool,
}

pub struct GithubArgs {
    pub tag: TagArg,
    pub dry_run: bool,
    /// Skip `cargo xtask ci` (never the gate).
    pub no_checks: bool,
}

pub struct PlanArgs {
    pub tag: TagArg,
    pub json: bool,
}

pub struct PromoteArgs {
    pub version: semver::Version,
    pub dry_run: bool,
    pub yes: bool,
    pub remote: Option<String>,
    pub no_verify: bool,
    /// Create the tag unsigned even if `tag.gpgSign` is on.
    pub no_sign: bool,
}

pub struct PublishArgs {
    pub tag: TagArg,
    pub only: Option<Artifact>,
    pub no_push: bool,
    pub dry_run: bool,
}

pub struct RehearseArgs {
    pub version: semver::Version,
    pub keep: bool,
    /// Start a throwaway registry on 127.0.0.1 and rehearse against it.
    pub local_registry: bool,
    pub dry_run: bool,
}

pub struct StampArgs {
    pub version: semver::Version,
    /// Chart directory, relative to the repository root; default: the configured chart.
    pub chart: Option<String>,
    pub dry_run: bool,
}

pub struct TagArgs {
    pub version: semver::Version,
    pub dry_run: bool,
    pub yes: bool,
    pub remote: Option<String>,
    pub allow_older: bool,
    pub no_checks: bool,
    /// Create the tag unsigned even if `tag.gpgSign` is on.
    pub no_sign: bool,
}

pub struct VerifyArgs {
    pub version: Version,
    pub json: bool,
    pub run: bool,
    pub stable: bool,
    pub artifacts_only: bool,
    /// `--provenance`: also the signed build provenance (always with `provenance = true`).
    pub provenance: bool,
}

pub struct DistArgs {
    /// Empty: the configured platforms.
    pub platforms: Vec<Platform>,
    pub dry_run: bool,
}

/// A TAG-OR-REF argument: what it means, and how to show it in a message.
pub struct TagArg {
    pub meaning: Classified,
    /// The input quoted and capped for a terminal (it is attacker-shaped).
    pub shown: String,
}

/// Why the command line was not understood.
pub enum Error {
    /// clap's own: usage, `--help`, `--version`; exits 2 (or 0 for help and version).
    Usage(clap::Error),
    /// An argument clap accepted whose value is not a valid tag, version, remote, platform
    /// or directory: a usage error too, so exit code 2 as for clap's own, before anything
    /// else runs. (1 is for refusals and failures of what the command was asked to do.)
    Invalid(anyhow::Error),
}

/// The exit code of [`Error::Invalid`] and of [`UsageError`].
pub const USAGE_EXIT_CODE: u8 = 2;

/// An argument value that can be judged only once the repository is open (`stamp --chart
/// DIR`, relative to its root): still a usage error, exit 2, with nothing done.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub fn command() -> Command {
    let tag_or_ref = || {
        Arg::new("tag")
            .value_name("TAG-OR-REF")
            .required(true)
            .help("A tag name (v1.2.3) or ref (refs/tags/v1.2.3)")
    };
    let version = || {
        Arg::new("version")
            .value_name("VERSION")
            .required(true)
            .help("X.Y.Z or vX.Y.Z")
    };
    let flag = |name: &'static str, help: &'static str| {
        Arg::new(name)
            .long(name)
            .action(ArgAction::SetTrue)
            .help(help)
    };
    let dry_run = || flag("dry-run", "Print the plan and change nothing");
    let yes = || {
        flag(
            "yes",
            "Do not ask for confirmation (required without a terminal)",
        )
    };
    let no_sign = || {
        flag(
            "no-sign",
            "Create the tag unsigned even if git's tag.gpgSign is on",
        )
    };
    let remote = || {
        Arg::new("remote")
            .long("remote")
            .value_name("NAME")
            .help("Git remote to push to (default: the configured remote)")
    };

    let release = Command::new("release")
        .about("The release contract: classify, plan, stamp, tag, promote, publish, github, verify, rehearse")
        .subcommand_required(true)
        .subcommand(
            Command::new("classify")
                .about("Print what a tag means: `version X.Y.Z`, `stable X.Y.Z` or `ignored`; exit 2 if invalid")
                .arg(tag_or_ref())
                .arg(flag("github-output", "Also append kind= and version= to $GITHUB_OUTPUT")),
        )
        .subcommand(
            Command::new("plan")
                .about("Show everything CI would publish for a tag (reads git only)")
                .arg(
                    Arg::new("tag")
                        .value_name("VERSION-OR-TAG")
                        .required(true)
                        .help("A version (1.2.3, the tag v1.2.3), a tag name (v1.2.3, v1.2.3-stable) or ref (refs/tags/v1.2.3)"),
                )
                .arg(flag("json", "Print one JSON object")),
        )
        .subcommand(
            Command::new("stamp")
                .about("Set Chart.yaml `version: X.Y.Z` and `appVersion: vX.Y.Z`")
                .arg(version())
                .arg(Arg::new("chart").long("chart").value_name("DIR").help("Chart directory (default: the configured chart)"))
                .arg(flag("dry-run", "Show the lines that would change and write nothing")),
        )
        .subcommand(
            Command::new("tag")
                .about("Create and push the annotated tag vX.Y.Z on HEAD after preflight checks")
                .arg(version())
                .args([dry_run(), yes(), remote()])
                .arg(flag("allow-older", "Allow a version lower than an existing one (backports from a maintenance branch)"))
                .arg(flag("no-checks", "Skip `cargo xtask ci`"))
                .arg(no_sign()),
        )
        .subcommand(
            Command::new("promote")
                .about("Create and push vX.Y.Z-stable on the commit of vX.Y.Z")
                .arg(version())
                .args([dry_run(), yes(), remote()])
                .arg(flag("no-verify", "Skip verifying the published artifacts first"))
                .arg(no_sign()),
        )
        .subcommand(
            Command::new("publish")
                .about("Build and push the chart and the multi-platform image of a version tag")
                .arg(tag_or_ref())
                .arg(Arg::new("only").long("only").value_name("WHAT").value_parser(["chart", "image"]).help("Publish only the chart or only the image"))
                .arg(flag("no-push", "Do everything up to the push"))
                .arg(dry_run()),
        )
        .subcommand(
            Command::new("github")
                .about("Create the GitHub release of a stable tag")
                .arg(tag_or_ref())
                .arg(dry_run())
                .arg(flag("no-checks", "Skip `cargo xtask ci` before creating the release")),
        )
        .subcommand(
            Command::new("verify")
                .about("Check that everything a release published is there and consistent")
                .arg(version())
                .arg(flag("json", "Print a JSON array of {check, ok, detail}"))
                .arg(flag("run", "Also run the image (needs a Docker daemon)"))
                .arg(flag("stable", "Check the GitHub release even if vX.Y.Z-stable does not exist"))
                .arg(flag("artifacts-only", "Check tags, image and chart, not the GitHub release").conflicts_with("stable"))
                .arg(flag("provenance", "Also check the signed build provenance of the image and the chart (on by default with `provenance = true`)")),
        )
        .subcommand(
            Command::new("rehearse")
                .about("Rehearse the whole release in a scratch clone against the configured registries")
                .arg(version())
                .arg(flag("local-registry", "Start a throwaway registry on 127.0.0.1 (Debian's docker-registry) and rehearse against it"))
                .arg(flag("keep", "Keep the scratch directory (and the --local-registry registry, running) and print the variables that reach it"))
                .arg(
                    Arg::new("verbose")
                        .short('v')
                        .long("verbose")
                        .action(ArgAction::SetTrue)
                        .conflicts_with("quiet")
                        .help("Show every stage's output as it runs (default: one line per stage, and the output of a stage that fails)"),
                )
                .arg(dry_run()),
        )
        .subcommand(
            Command::new("status")
                .about("Show where each release stands: tag, image, chart, attestations, stable tag, GitHub release, moving tags")
                .arg(Arg::new("versions").value_name("VERSION").num_args(0..).help("X.Y.Z or vX.Y.Z (default: every version tag on the remote)"))
                .arg(flag("json", "Print a JSON array of one object per version")),
        )
        .subcommand(
            Command::new("retarget")
                .about("Move X.Y or latest back to an older release that verifies, by digest, and record it")
                .arg(Arg::new("moving").value_name("X.Y|latest").required(true).help("The moving tag to move back"))
                .arg(version())
                .args([dry_run(), yes()])
                .arg(flag("github", "Also make the version's GitHub release Latest (with latest)")),
        )
        // The rehearsal's stand-in for the workflows' attestation steps: hidden, because what
        // it signs is trusted nowhere but in the rehearsal that asked for it.
        .subcommand(
            Command::new("attest-offline")
                .about("Attest the published image and chart with the offline stand-ins (release rehearse)")
                .hide(true)
                .arg(version()),
        );

    Command::new("xtask")
        // As people type it: `cargo xtask` is the alias in .cargo/config.toml.
        .bin_name("cargo xtask")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Release automation and project tasks for LLM Proxy")
        .subcommand_required(true)
        .arg(
            Arg::new("dir")
                .short('C')
                .value_name("DIR")
                .global(true)
                .value_parser(clap::value_parser!(PathBuf))
                .help("Act on the git repository containing DIR (default: the current directory)"),
        )
        .arg(
            Arg::new("quiet")
                .short('q')
                .long("quiet")
                .global(true)
                .action(ArgAction::SetTrue)
                .help("Print no progress on stderr (steps, times, notes, the commands run): only warnings, errors and what the tools say"),
        )
        .subcommand(
            Command::new("ci")
                .about("Format check, clippy, build and tests: the project's gate")
                .arg(flag(
                    "no-tests",
                    "Skip `cargo test`, for a caller that runs it itself (.ci/run)",
                )),
        )
        .subcommand(
            Command::new("dist")
                .about("Cross-compile static llm-proxy binaries into dist/<os>-<arch>/")
                .arg(
                    Arg::new("platform")
                        .long("platform")
                        .value_name("OS/ARCH")
                        .action(ArgAction::Append)
                        .help("Platform to build (default: the configured platforms)"),
                )
                .arg(dry_run()),
        )
        .subcommand(release)
}

pub fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Cli, Error> {
    let matches = command().try_get_matches_from(args).map_err(Error::Usage)?;
    let dir = matches.get_one::<PathBuf>("dir").cloned();
    if let Some(dir) = dir.as_ref().filter(|d| !d.is_dir()) {
        return Err(Error::Invalid(anyhow::anyhow!(
            "-C {}: no such directory",
            crate::quote::quote(&dir.to_string_lossy())
        )));
    }
    let verbose = matches!(
        matches.subcommand().and_then(|(_, m)| m.subcommand()),
        Some(("rehearse", m)) if m.get_flag("verbose")
    );
    let level = if matches.get_flag("quiet") {
        ui::Level::Quiet
    } else if verbose {
        ui::Level::Verbose
    } else {
        ui::Level::Normal
    };
    let command = match matches.subcommand() {
        Some(("ci", m)) => Task::Ci {
            tests: !m.get_flag("no-tests"),
        },
        Some(("dist", m)) => Task::Dist(DistArgs {
            platforms: strings(m, "platform")
                .iter()
                .map(|name| platform(name))
                .collect::<anyhow::Result<_>>()
                .map_err(Error::Invalid)?,
            dry_run: m.get_flag("dry-run"),
        }),
        Some(("release", m)) => release_command(m).map_err(Error::Invalid)?,
        _ => unreachable!("clap requires a subcommand"),
    };
    Ok(Cli {
        dir,
        level,
        command,
    })
}

fn release_command(m: &ArgMatches) -> anyhow::Result<Task> {
    let (name, m) = m.subcommand().expect("clap requires a subcommand");
    let string = |id: &str| m.get_one::<String>(id).cloned().unwrap_or_default();
    let optional = |id: &str| m.get_one::<String>(id).cloned();
    let flag = |id: &str| m.get_flag(id);
    let tag = || -> anyhow::Result<TagArg> {
        let input = string("tag");
        Ok(TagArg {
            meaning: grammar::classify(&input)?,
            shown: crate::quote::quote(&input),
        })
    };
    // `plan`, `publish` and `github` also take a version (`1.4.0` for `v1.4.0`), as every
    // other command does; `classify` is the grammar itself, which ignores tags outside `v*`.
    let tag_or_version = || -> anyhow::Result<TagArg> {
        let input = string("tag");
        Ok(TagArg {
            meaning: grammar::classify_tag_or_version(&input)?,
            shown: crate::quote::quote(&input),
        })
    };
    let version =
        || -> anyhow::Result<Version> { Ok(grammar::parse_version_arg(&string("version"))?) };
    let remote = || {
        optional("remote")
            .map(|r| config::check_remote_arg(&r))
            .transpose()
    };
    Ok(match name {
        "classify" => Task::Classify(ClassifyArgs {
            tag: tag()?,
            github_output: flag("github-output"),
        }),
        "plan" => Task::Plan(PlanArgs {
            tag: tag_or_version()?,
            json: flag("json"),
        }),
        "stamp" => Task::Stamp(StampArgs {
            version: version()?,
            chart: optional("chart"),
            dry_run: flag("dry-run"),
        }),
        "tag" => Task::Tag(TagArgs {
            version: version()?,
            remote: remote()?,
            dry_run: flag("dry-run"),
            yes: flag("yes"),
            allow_older: flag("allow-older"),
            no_checks: flag("no-checks"),
            no_sign: flag("no-sign"),
        }),
        "promote" => Task::Promote(PromoteArgs {
            version: version()?,
            remote: remote()?,
            dry_run: flag("dry-run"),
            yes: flag("yes"),
            no_verify: flag("no-verify"),
            no_sign: flag("no-sign"),
        }),
        "publish" => Task::Publish(PublishArgs {
            tag: tag_or_version()?,
            only: match optional("only").as_deref() {
                None => None,
                Some("chart") => Some(Artifact::Chart),
                Some("image") => Some(Artifact::Image),
                Some(_) => unreachable!("clap accepts only chart or image"),
            },
            no_push: flag("no-push"),
            dry_run: flag("dry-run"),
        }),
        "github" => Task::Github(GithubArgs {
            tag: tag_or_version()?,
            dry_run: flag("dry-run"),
            no_checks: flag("no-checks"),
        }),
        "verify" => Task::Verify(VerifyArgs {
            version: version()?,
            json: flag("json"),
            run: flag("run"),
            stable: flag("stable"),
            artifacts_only: flag("artifacts-only"),
            provenance: flag("provenance"),
        }),
        "attest-offline" => Task::AttestOffline(AttestOfflineArgs {
            version: version()?,
        }),
        "rehearse" => Task::Rehearse(RehearseArgs {
            version: version()?,
            keep: flag("keep"),
            local_registry: flag("local-registry"),
            dry_run: flag("dry-run"),
        }),
        "status" => Task::Status(StatusArgs {
            versions: strings(m, "versions")
                .iter()
                .map(|v| grammar::parse_version_arg(v))
                .collect::<Result<_, _>>()?,
            json: flag("json"),
        }),
        "retarget" => Task::Retarget(RetargetArgs {
            tag: crate::publish::retarget::MovingTag::parse(&string("moving"))
                .map_err(anyhow::Error::msg)?,
            version: version()?,
            dry_run: flag("dry-run"),
            yes: flag("yes"),
            github: flag("github"),
        }),
        _ => unreachable!("clap knows every release subcommand"),
    })
}

fn platform(name: &str) -> anyhow::Result<Platform> {
    Platform::parse(name).with_context(|| {
        format!(
            "--platform {}: expected linux/amd64 or linux/arm64",
            crate::quote::quote(name)
        )
    })
}

fn strings(m: &ArgMatches, id: &str) -> Vec<String> {
    m.get_many::<String>(id)
        .map(|v| v.cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_sound() {
        super::command().debug_assert();
    }
}
