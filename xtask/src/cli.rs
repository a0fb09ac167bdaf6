//! The command line: clap's builder API (no derive macro to compile), turned at once into
//! typed commands so that inner code never sees raw strings or flag lookups.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::release;

pub struct Cli {
    /// `-C DIR`: the repository to act on.
    pub dir: Option<PathBuf>,
    pub command: Cmd,
}

pub enum Cmd {
    Ci,
    Dist(crate::dist::Args),
    Classify(release::classify::Args),
    Plan(release::plan::Args),
    Stamp(release::stamp::Args),
    Tag(release::tag::Args),
    Promote(release::promote::Args),
    Publish(release::publish::Args),
    Github(release::github::Args),
    Verify(release::verify::Args),
    Rehearse(release::rehearse::Args),
}

impl Cmd {
    /// The TAG-OR-REF of a tag-driven command, judged before anything else runs.
    pub fn tag(&self) -> Option<&str> {
        match self {
            Cmd::Plan(a) => Some(&a.tag),
            Cmd::Publish(a) => Some(&a.tag),
            Cmd::Github(a) => Some(&a.tag),
            _ => None,
        }
    }
}

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
    let remote = || {
        Arg::new("remote")
            .long("remote")
            .value_name("NAME")
            .help("Git remote to push to (default: the configured remote)")
    };

    let release = Command::new("release")
        .about("The release contract: classify, plan, tag, promote, publish, verify")
        .subcommand_required(true)
        .subcommand(
            Command::new("classify")
                .about("Print what a tag means: `version X.Y.Z`, `stable X.Y.Z` or `ignored`; exit 1 if invalid")
                .arg(tag_or_ref())
                .arg(flag("github-output", "Also append kind= and version= to $GITHUB_OUTPUT")),
        )
        .subcommand(
            Command::new("plan")
                .about("Show everything CI would publish for a tag (reads git only)")
                .arg(tag_or_ref())
                .arg(flag("json", "Print one JSON object")),
        )
        .subcommand(
            Command::new("stamp")
                .about("Set Chart.yaml `version: X.Y.Z` and `appVersion: vX.Y.Z`")
                .arg(version())
                .arg(Arg::new("chart").long("chart").value_name("DIR").help("Chart directory (default: the configured chart)")),
        )
        .subcommand(
            Command::new("tag")
                .about("Create and push the annotated tag vX.Y.Z on HEAD after preflight checks")
                .arg(version())
                .args([dry_run(), yes(), remote()])
                .arg(flag("allow-older", "Allow a version lower than an existing one (backports from a maintenance branch)"))
                .arg(flag("no-checks", "Skip `cargo xtask ci`")),
        )
        .subcommand(
            Command::new("promote")
                .about("Create and push vX.Y.Z-stable on the commit of vX.Y.Z")
                .arg(version())
                .args([dry_run(), yes(), remote()])
                .arg(flag("no-verify", "Skip verifying the published artifacts first")),
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
                .arg(flag("artifacts-only", "Check tags, image and chart, not the GitHub release").conflicts_with("stable")),
        )
        .subcommand(
            Command::new("rehearse")
                .about("Rehearse the whole release in a scratch clone against the configured registries")
                .arg(version())
                .arg(flag("keep", "Keep the scratch directory")),
        );

    Command::new("xtask")
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
        .subcommand(
            Command::new("ci").about("Format check, clippy, build and tests: the project's gate"),
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
                ),
        )
        .subcommand(release)
}

pub fn parse(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Cli, clap::Error> {
    let matches = command().try_get_matches_from(args)?;
    let dir = matches.get_one::<PathBuf>("dir").cloned();
    let command = match matches.subcommand() {
        Some(("ci", _)) => Cmd::Ci,
        Some(("dist", m)) => Cmd::Dist(crate::dist::Args {
            platforms: strings(m, "platform"),
        }),
        Some(("release", m)) => release_command(m),
        _ => unreachable!("clap requires a subcommand"),
    };
    Ok(Cli { dir, command })
}

fn release_command(m: &ArgMatches) -> Cmd {
    let (name, m) = m.subcommand().expect("clap requires a subcommand");
    let string = |id: &str| m.get_one::<String>(id).cloned().unwrap_or_default();
    let optional = |id: &str| m.get_one::<String>(id).cloned();
    let flag = |id: &str| m.get_flag(id);
    match name {
        "classify" => Cmd::Classify(release::classify::Args {
            tag: string("tag"),
            github_output: flag("github-output"),
        }),
        "plan" => Cmd::Plan(release::plan::Args {
            tag: string("tag"),
            json: flag("json"),
        }),
        "stamp" => Cmd::Stamp(release::stamp::Args {
            version: string("version"),
            chart: optional("chart"),
        }),
        "tag" => Cmd::Tag(release::tag::Args {
            version: string("version"),
            dry_run: flag("dry-run"),
            yes: flag("yes"),
            remote: optional("remote"),
            allow_older: flag("allow-older"),
            no_checks: flag("no-checks"),
        }),
        "promote" => Cmd::Promote(release::promote::Args {
            version: string("version"),
            dry_run: flag("dry-run"),
            yes: flag("yes"),
            remote: optional("remote"),
            no_verify: flag("no-verify"),
        }),
        "publish" => Cmd::Publish(release::publish::Args {
            tag: string("tag"),
            only: optional("only"),
            no_push: flag("no-push"),
            dry_run: flag("dry-run"),
        }),
        "github" => Cmd::Github(release::github::Args {
            tag: string("tag"),
            dry_run: flag("dry-run"),
            no_checks: flag("no-checks"),
        }),
        "verify" => Cmd::Verify(release::verify::Args {
            version: string("version"),
            json: flag("json"),
            run: flag("run"),
            stable: flag("stable"),
            artifacts_only: flag("artifacts-only"),
        }),
        "rehearse" => Cmd::Rehearse(release::rehearse::Args {
            version: string("version"),
            keep: flag("keep"),
        }),
        _ => unreachable!("clap knows every release subcommand"),
    }
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
