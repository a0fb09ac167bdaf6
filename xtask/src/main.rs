//! `cargo xtask`: the release tool of LLM Proxy, and the project's other tasks.
//!
//! This file is a switchboard: parse the command line, open the repository, hand each
//! command to its module. The pure rules live in `core`; the modules under `release`
//! read the world, build a plan with `core`, then print it (dry run) or carry it out.

mod ci;
mod cli;
mod core;
mod credentials;
mod dist;
mod exec;
mod git;
mod project;
mod provenance;
mod published;
mod registry;
mod release;
mod scratch;
mod steps;
mod ui;

use std::process::ExitCode;

use cli::Cmd;

fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(cli::Error::Usage(e)) => e.exit(),
        // A bad tag, version, remote or platform is refused before git or any tool runs.
        Err(cli::Error::Invalid(e)) => {
            ui::error(&e);
            return ExitCode::FAILURE;
        }
    };
    let result = run(cli);
    if let Err(e) = &result {
        ui::error(e);
    }
    // 130 or 143 after SIGINT or SIGTERM, whatever the command concluded.
    exec::exit_code(result.is_ok())
}

fn run(cli: cli::Cli) -> anyhow::Result<()> {
    // `classify` is pure: it must work anywhere, even outside a checkout.
    if let Cmd::Classify(args) = cli.command {
        return release::classify::run(args);
    }
    let sh = xshell::Shell::new()?;
    let project = project::Project::open(&sh, cli.dir.as_deref())?;
    match cli.command {
        Cmd::Classify(_) => unreachable!("handled above"),
        Cmd::Ci => ci::run(&sh, &project),
        Cmd::Dist(args) => dist::run(&sh, &project, args),
        Cmd::Plan(args) => release::plan::run(&sh, &project, args),
        Cmd::Stamp(args) => release::stamp::run(&project, args),
        Cmd::Tag(args) => release::tag::run(&sh, &project, args),
        Cmd::Promote(args) => release::promote::run(&sh, &project, args),
        Cmd::Publish(args) => release::publish::run(&sh, &project, args),
        Cmd::Github(args) => release::github::run(&sh, &project, args),
        Cmd::Verify(args) => release::verify::run(&sh, &project, args),
        Cmd::Rehearse(args) => release::rehearse::run(&sh, &project, args),
        Cmd::AttestOffline(args) => release::attest_offline::run(&sh, &project, args),
    }
}
