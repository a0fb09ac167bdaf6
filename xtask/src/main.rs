//! `cargo xtask`: the release tool of LLM Proxy, and the project's other tasks.
//!
//! This file is a switchboard: parse the command line, open the repository, hand each
//! command to its module. The rooms (`tag`, `publish`, `registry`, `verify`) hold the
//! rules, each pure file beside the `*_io.rs` that reads the world for it; the modules
//! under `release` gather facts, build a plan, then print it (dry run) or carry it out.

mod check;
mod ci;
mod cli;
mod config;
mod dist;
mod exec;
mod invocation;
mod json;
mod project;
mod publish;
mod quote;
mod registry;
mod release;
mod scratch;
mod tag;
mod tools;
mod ui;
mod verify;

use std::process::ExitCode;

use cli::Task;

fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args_os()) {
        Ok(cli) => cli,
        Err(cli::Error::Usage(e)) => e.exit(),
        // A bad tag, version, remote, platform or directory is a usage error, refused before
        // git or any tool runs.
        Err(cli::Error::Invalid(e)) => {
            ui::error(&e);
            return ExitCode::from(cli::USAGE_EXIT_CODE);
        }
    };
    ui::set_level(cli.level);
    let result = run(cli);
    if let Err(e) = &result
        && !exec::interrupt_told_by_parent()
    {
        ui::error(e);
    }
    // Once every child has stopped: 130 or 143 after SIGINT or SIGTERM, whatever the
    // command concluded.
    exec::exit(match &result {
        Ok(()) => 0,
        Err(e) if e.is::<cli::UsageError>() => cli::USAGE_EXIT_CODE,
        Err(_) => 1,
    })
}

fn run(cli: cli::Cli) -> anyhow::Result<()> {
    // `classify` is pure: it must work anywhere, even outside a checkout.
    if let Task::Classify(args) = cli.command {
        return release::classify::run(args);
    }
    let sh = xshell::Shell::new()?;
    let project = project::Project::open(&sh, cli.dir.as_deref())?;
    match cli.command {
        Task::Classify(_) => unreachable!("handled above"),
        Task::Ci { tests } => ci::gate(&sh, &project, tests),
        Task::Dist(args) => dist::run(&sh, &project, args),
        Task::Plan(args) => release::plan::run(&sh, &project, args),
        Task::Stamp(args) => release::stamp::run(&project, args),
        Task::Tag(args) => release::tag::run(&sh, &project, args),
        Task::Promote(args) => release::promote::run(&sh, &project, args),
        Task::Publish(args) => release::publish::run(&sh, &project, args),
        Task::Github(args) => release::github::run(&sh, &project, args),
        Task::Verify(args) => release::verify::run(&sh, &project, args),
        Task::Rehearse(args) => release::rehearse::run(&sh, &project, args),
        Task::AttestOffline(args) => release::attest_offline::run(&sh, &project, args),
        Task::Status(args) => release::status::run(&sh, &project, args),
        Task::Retarget(args) => release::retarget::run(&sh, &project, args),
    }
}
