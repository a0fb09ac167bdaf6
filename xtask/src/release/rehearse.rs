//! `release rehearse`: the whole release, stage by stage, changing nothing real.
//!
//! A throwaway clone of HEAD gets a temporary bare repository as its remote, and this very
//! binary runs each stage in it (`tag` → `publish` → `verify` → `promote` → `github
//! --dry-run` → `verify`) against the registries named by `RELEASE_IMAGE` and
//! `RELEASE_CHART_REGISTRY`. Running the stages as separate processes, exactly as people and
//! CI run them, is the point: a rehearsal that called functions directly could pass where
//! the commands fail.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::core::grammar::{self, version_tag};
use crate::scratch::Scratch;
use crate::{git, project::Project, ui};

pub struct Args {
    pub version: semver::Version,
    pub keep: bool,
    /// Start a throwaway registry on 127.0.0.1 and rehearse against it.
    pub local_registry: bool,
    pub dry_run: bool,
}

pub fn run(sh: &Shell, project: &Project, args: Args) -> Result<()> {
    let version = args.version;
    let config = &project.config;

    // STEP 1: refuse to touch the real registries.
    let mut problems = Vec::new();
    for var in ["RELEASE_IMAGE", "RELEASE_CHART_REGISTRY"] {
        if std::env::var(var).map_or(true, |v| v.is_empty()) {
            problems.push(format!("{var} is not set"));
        }
    }
    if !problems.is_empty() {
        bail!(
            "a rehearsal publishes to scratch registries only: {}; point them at a local registry, for example \
             RELEASE_IMAGE=127.0.0.1:5000/llm-proxy RELEASE_CHART_REGISTRY=oci://127.0.0.1:5000/charts RELEASE_PLAIN_HTTP=1",
            problems.join(", ")
        );
    }

    // STEP 2: the stages, each one `cargo xtask …` as people and CI run it.
    let v = version.to_string();
    let tag_name = version_tag(&version);
    let stable = grammar::stable_tag(&version);
    let stages: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "tag",
            vec!["release", "tag", &v, "--yes", "--no-checks"],
            "the preflight checks refused: read them above",
        ),
        (
            "publish",
            vec!["release", "publish", &tag_name],
            "fix the failing publish step; a re-run completes what is missing",
        ),
        (
            "verify",
            vec!["release", "verify", &v, "--artifacts-only"],
            "the published artifacts are not consistent",
        ),
        (
            "promote",
            vec!["release", "promote", &v, "--yes"],
            "promotion refused: read the failing checks above",
        ),
        (
            "github --dry-run",
            vec!["release", "github", &stable, "--dry-run"],
            "the GitHub release plan failed",
        ),
        (
            "verify after promotion",
            vec!["release", "verify", &v, "--artifacts-only"],
            "the stable tag or the artifacts are not consistent",
        ),
    ];
    if args.dry_run {
        println!(
            "rehearsal of {tag_name}: a scratch clone of HEAD ({}) with a scratch bare repository as {}, against:",
            git::head(sh)?,
            config.remote
        );
        println!("  image: {}", config.image);
        println!("  chart registry: {}", config.chart_registry);
        println!("stages, each run as `xtask -C <scratch clone> …`:");
        for (i, (name, stage_args, _)) in stages.iter().enumerate() {
            println!("  {}. {name}: xtask {}", i + 1, stage_args.join(" "));
        }
        println!("dry run: nothing was run");
        return Ok(());
    }

    // STEP 3: a scratch clone of HEAD on the default branch, with a bare remote of its own.
    let head = git::head(sh)?;
    let mut scratch = Scratch::new("rehearse")?;
    if args.keep {
        scratch.keep();
    }
    let remote = scratch.path().join("remote.git");
    let work = scratch.path().join("work");
    ui::step("prepare a scratch clone with a bare remote", || {
        let (remote_name, branch) = (&config.remote, &config.default_branch);
        cmd!(sh, "git init --quiet --bare {remote}").run()?;
        cmd!(sh, "git init --quiet {work}").run()?;
        let root = &project.root;
        let sh = sh.clone();
        sh.change_dir(&work);
        cmd!(sh, "git fetch --quiet --no-tags {root} {head}").run()?;
        cmd!(sh, "git checkout --quiet -b {branch} {head}").run()?;
        cmd!(sh, "git remote add {remote_name} {remote}").run()?;
        cmd!(sh, "git push --quiet --set-upstream {remote_name} {branch}").run()?;
        Ok(())
    })?;

    let exe = std::env::current_exe().context("cannot find the running xtask binary")?;
    // The scratch clone builds with this repository's target directory: the rehearsal then
    // costs what an incremental build costs, not a cold one.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| project.root.join("target"));
    let mut timings: Vec<(&str, Duration)> = Vec::new();
    for (name, stage_args, next) in &stages {
        let start = Instant::now();
        let result = ui::step(&format!("rehearse: {name}"), || {
            Ok(cmd!(sh, "{exe} -C {work} {stage_args...}")
                .env("CARGO_TARGET_DIR", &target_dir)
                .run()?)
        });
        timings.push((name, start.elapsed()));
        if let Err(e) = result {
            print_summary(&timings, Some(name));
            let kept = if args.keep {
                format!("the scratch clone is kept at {}", scratch.path().display())
            } else {
                "re-run with --keep to inspect the scratch clone".to_string()
            };
            bail!("rehearsal failed at `{name}`: {next}; {kept} ({e})");
        }
    }
    print_summary(&timings, None);
    println!("rehearsal of {tag_name} passed: tagged, published, verified, promoted to {stable}");
    if args.keep {
        println!("scratch clone kept at {}", scratch.path().display());
    }
    Ok(())
}

fn print_summary(timings: &[(&str, Duration)], failed: Option<&str>) {
    for (name, elapsed) in timings {
        let mark = if Some(*name) == failed { "✗" } else { "✓" };
        println!("{mark} {name:<24} {:>6.1}s", elapsed.as_secs_f64());
    }
    let total: Duration = timings.iter().map(|(_, d)| *d).sum();
    println!("  {:<24} {:>6.1}s", "total", total.as_secs_f64());
}
