//! `release status [X.Y.Z…]`: where each release stands, one row per version tag on the
//! remote (or per version given), each ending in one word (`verify::status`).
//!
//! STEP 1: ask git once: every tag of the remote (one `ls-remote`) and the default branch
//! (one fetch), so the versions' own questions never race on a ref.
//! STEP 2: ask GitHub which release is Latest, once, when any stable tag exists.
//! STEP 3: ask the registry what every version's readers will ask, a kind at a time, in
//! five curl calls (`checks_io::prefetch_versions`); then ask git (from STEP 1's answers),
//! the registry (answered from that snapshot), helm and gh about each version with verify's
//! readers, a few versions at a time (`WORKERS` threads, each asking its version's questions
//! in turn): bounded however many versions there are.
//! STEP 4: judge each version with verify's checks, print the table (or `--json`) and the
//! step summary in GitHub Actions; exit 1 when a release is broken or could not be judged.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Result, bail};
use semver::Version;
use xshell::{Shell, cmd};

use crate::check::Lookup;
use crate::cli::StatusArgs;
use crate::config::Config;
use crate::project::Project;
use crate::registry::oci_io::{Credentials, Registry};
use crate::scratch::Scratch;
use crate::tag::grammar::{self, TagKind, version_tag};
use crate::verify::checks::verify;
use crate::verify::checks_io;
use crate::verify::facts::ReleaseFacts;
use crate::verify::status::{self, Row, State};
use crate::{tag::git_io, tools, ui};

/// How many versions are asked about side by side: each runs a handful of short processes
/// (curl, helm) one after the other, so a few threads keep a small machine busy without
/// starting dozens of processes at once.
const WORKERS: usize = 6;

pub fn run(sh: &Shell, project: &Project, args: StatusArgs) -> Result<()> {
    let config = &project.config;
    let started = Instant::now();

    // STEP 1: git, once.
    let refs = git_io::ls_remote_tags(sh, &config.remote, config.git_timeout_secs);
    let versions = match (&refs, args.versions.is_empty()) {
        (_, false) => args.versions.clone(),
        (Ok(refs), true) => {
            let names = refs.tag_names();
            grammar::release_versions(names.iter().map(String::as_str), TagKind::Version)
        }
        (Err(why), true) => bail!(
            "cannot list the tags of {}: {why}; name the versions to show (`release status X.Y.Z …`)",
            config.remote
        ),
    };
    let mut versions = versions;
    versions.sort();
    versions.dedup();
    if versions.is_empty() {
        println!("no version tags on {}", config.remote);
        return Ok(());
    }
    let any_stable = match &refs {
        Ok(refs) => {
            !grammar::release_versions(refs.tag_names().iter().map(String::as_str), TagKind::Stable)
                .is_empty()
        }
        Err(_) => true,
    };
    let needed = if any_stable || config.provenance {
        tools::union([&tools::VERIFY_ARTIFACTS[..], &["gh"][..]])
    } else {
        tools::VERIFY_ARTIFACTS.to_vec()
    };
    let missing: Vec<String> = crate::project::missing_tools(&needed)
        .iter()
        .map(|t| tools::missing(t))
        .collect();
    if !missing.is_empty() {
        bail!("cannot show the status: {}", missing.join("; "));
    }
    // One fetch of the default branch for every version; each version's own questions
    // (is its commit here, is it on that branch) are asked by its worker in STEP 3.
    let tracking = checks_io::fetch_default_branch(sh, config);
    let git = |sh: &Shell, version: &Version| {
        checks_io::git_answers(sh, config, version, &refs, || tracking.clone())
    };

    // STEP 2: GitHub's Latest, once.
    let github_latest = if any_stable {
        ask_github_latest(sh, config)
    } else {
        Lookup::Found(None)
    };

    // STEP 3: the registry, helm and gh, a few versions at a time.
    let credentials = Credentials::from_env(config)?;
    let chart_name = checks_io::chart_name(project)?;
    let scratch = Scratch::new("status")?;
    // Every version's registry requests, a kind at a time, in five curl calls: starting
    // curl costs more than a request on loopback. The workers read this one snapshot.
    let registry = Registry::new(
        sh,
        config.plain_http,
        credentials.as_ref(),
        &scratch.dir("prefetch")?,
    )
    .snapshot();
    let commits: Vec<(Version, Option<String>)> = versions
        .iter()
        .map(|v| {
            let commit = refs.as_ref().ok().and_then(|r| r.tag(&version_tag(v)));
            (v.clone(), commit.map(|t| t.commit))
        })
        .collect();
    checks_io::prefetch_versions(&registry, config, &chart_name, &commits);
    let (store, moving) = (registry.store(), Mutex::new(BTreeMap::new()));
    let ask = |sh: &Shell, dir: &Path, version: &Version| {
        checks_io::ask_version(
            sh,
            config,
            credentials.as_ref(),
            &store,
            dir,
            &chart_name,
            version,
            git(sh, version),
            config.provenance,
            &moving,
        )
    };
    let facts = ask_each(sh, scratch.path(), &versions, &ask)?;

    // STEP 4: judge, print, summarise.
    let rows: Vec<Row> = facts
        .iter()
        .map(|f| status::row(f, verify(config, f), &github_latest))
        .collect();
    if args.json {
        println!("{}", status::to_json_rows(&rows));
    } else {
        print!("{}", status::render_table(&rows));
    }
    ui::summary(&status::render_markdown(&rows))?;
    ui::note(&format!(
        "{} versions asked, {WORKERS} at a time, in {:.2}s",
        rows.len(),
        started.elapsed().as_secs_f64()
    ));
    let troubled: Vec<String> = rows
        .iter()
        .filter(|r| matches!(r.state, State::Broken(_) | State::Unknown(_)))
        .map(|r| format!("{} is {}", version_tag(&r.version), r.state.word()))
        .collect();
    for line in &troubled {
        ui::annotate_error(line);
    }
    if !troubled.is_empty() {
        bail!(
            "{}: `cargo xtask release verify X.Y.Z` shows every check",
            troubled.join(", ")
        );
    }
    Ok(())
}

/// The tag of GitHub's Latest release; `Found(None)` when the repository has none.
fn ask_github_latest(sh: &Shell, config: &Config) -> Lookup<Option<String>> {
    let endpoint = format!("repos/{}/releases/latest", config.github_repo);
    let out = match cmd!(sh, "gh api {endpoint} --jq .tag_name")
        .quiet()
        .ignore_status()
        .output()
    {
        Ok(out) => out,
        Err(e) => return Lookup::Unknown(e.to_string()),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Lookup::Found(Some(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ))
    } else if stderr.contains("(HTTP 404)") {
        Lookup::Found(None)
    } else {
        Lookup::Unknown(format!("gh api {endpoint}: {}", stderr.trim()))
    }
}

/// Each version's facts (`ask`, given its thread's shell and scratch directory), `WORKERS`
/// versions at a time, in the order given.
fn ask_each(
    sh: &Shell,
    scratch: &Path,
    versions: &[Version],
    ask: &(dyn Fn(&Shell, &Path, &Version) -> ReleaseFacts + Sync),
) -> Result<Vec<ReleaseFacts>> {
    let results: Vec<Mutex<Option<ReleaseFacts>>> =
        versions.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let dirs: Vec<std::path::PathBuf> = versions
        .iter()
        .map(|v| {
            let dir = scratch.join(v.to_string());
            std::fs::create_dir_all(&dir).map(|()| dir)
        })
        .collect::<std::io::Result<_>>()?;
    std::thread::scope(|s| {
        for _ in 0..WORKERS.min(versions.len()) {
            // xshell's Shell is Send but not Sync: each thread gets its own clone.
            let sh = sh.clone();
            let (results, next, dirs) = (&results, &next, &dirs);
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(version) = versions.get(i) else {
                        break;
                    };
                    *results[i].lock().unwrap() = Some(ask(&sh, &dirs[i], version));
                }
            });
        }
    });
    Ok(results
        .into_iter()
        .map(|r| r.into_inner().unwrap().expect("every version asked"))
        .collect())
}
