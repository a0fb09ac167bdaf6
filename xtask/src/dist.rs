//! `cargo xtask dist`: cross-compile the static `llm-proxy` binary for every platform on
//! the build host and put each at `dist/<os>-<arch>/llm-proxy`, where the Dockerfile copies
//! it from.
//!
//! Nothing is emulated: rustup's musl targets build fully static binaries, the aarch64 one
//! linked by the `rust-lld` that ships with Rust, so an arm64 image costs about what an
//! amd64 one does. All platforms are built by one `cargo build` so they compile in parallel.
//!
//! The binaries say which release they are (`llm-proxy --version`): `LLM_PROXY_VERSION` and
//! `LLM_PROXY_COMMIT` are taken from the environment when set (`release publish` sets them
//! from the tag), else from the crate version and HEAD.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::cli::DistArgs;
use crate::config::Platform;
use crate::invocation::Invocation;
use crate::publish::steps::{self, BinaryStamp};
use crate::{exec, project::Project, tag::git_io, ui};

pub fn run(sh: &Shell, project: &Project, args: DistArgs) -> Result<()> {
    let platforms = if args.platforms.is_empty() {
        project.config.platforms.clone()
    } else {
        args.platforms
    };
    let stamp = default_stamp(sh, project)?;
    if args.dry_run {
        println!("{}", build_command(&platforms, &stamp));
        for (built, dest) in outputs(sh, project, &platforms)? {
            println!("copy {} {}", built.display(), shown(project, &dest));
        }
        println!("dry run: nothing was built");
        return Ok(());
    }
    for path in build(sh, project, &platforms, &stamp)? {
        println!("{}", shown(project, &path));
    }
    Ok(())
}

/// `LLM_PROXY_VERSION`/`LLM_PROXY_COMMIT` when set, else the crate version and HEAD.
fn default_stamp(sh: &Shell, project: &Project) -> Result<BinaryStamp> {
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let version = match from_env("LLM_PROXY_VERSION") {
        Some(version) => version,
        None => format!("v{}", crate_version(project)?),
    };
    let commit = match from_env("LLM_PROXY_COMMIT") {
        Some(commit) => commit,
        None => git_io::head(sh)?,
    };
    Ok(BinaryStamp { version, commit })
}

fn crate_version(project: &Project) -> Result<String> {
    let path = project.service_manifest();
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let doc: toml_edit::Document<&str> = toml_edit::Document::parse(text.as_str())
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    doc.get("package")
        .and_then(|p| p.get("version"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .with_context(|| format!("{} has no package.version", path.display()))
}

/// Builds `platforms` with `stamp` and returns the binaries' paths under `dist/`.
pub fn build(
    sh: &Shell,
    project: &Project,
    platforms: &[Platform],
    stamp: &BinaryStamp,
) -> Result<Vec<PathBuf>> {
    check_targets(sh, platforms)?;
    let command = build_command(platforms, stamp);
    let targets: Vec<&str> = platforms.iter().map(Platform::rust_target).collect();
    ui::step(
        &format!("cargo build ({} {})", stamp.version, targets.join(", ")),
        || exec::run(sh, &command),
    )?;

    let mut out = Vec::new();
    for (built, dest) in outputs(sh, project, platforms)? {
        let dir = dest.parent().expect("a binary's path has a directory");
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        copy_replacing(&built, &dest)?;
        out.push(dest);
    }
    Ok(out)
}

fn build_command(platforms: &[Platform], stamp: &BinaryStamp) -> Invocation {
    let configured = |var: &str| std::env::var_os(var).is_some();
    steps::dist_build(platforms, stamp, std::env::consts::ARCH, &configured)
}

/// Each platform's binary as cargo builds it, and where `dist/` keeps it.
fn outputs(
    sh: &Shell,
    project: &Project,
    platforms: &[Platform],
) -> Result<Vec<(PathBuf, PathBuf)>> {
    let target_dir = target_dir(sh, project)?;
    Ok(platforms
        .iter()
        .map(|platform| {
            let built = target_dir
                .join(platform.rust_target())
                .join("release")
                .join("llm-proxy");
            let dest = project
                .dist_dir()
                .join(platform.dist_dir())
                .join("llm-proxy");
            (built, dest)
        })
        .collect())
}

fn shown(project: &Project, path: &Path) -> String {
    path.strip_prefix(&project.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Copies through a temporary file and a rename, so `dist/` never holds half a binary.
fn copy_replacing(from: &Path, to: &Path) -> Result<()> {
    let tmp = to.with_extension("tmp");
    std::fs::copy(from, &tmp)
        .and_then(|_| std::fs::rename(&tmp, to))
        .with_context(|| format!("cannot copy {} to {}", from.display(), to.display()))
}

/// Where cargo puts its output: `cargo metadata` knows about `CARGO_TARGET_DIR` and
/// `build.target-dir` alike.
fn target_dir(sh: &Shell, project: &Project) -> Result<PathBuf> {
    let metadata = cmd!(sh, "cargo metadata --format-version 1 --no-deps --locked")
        .quiet()
        .read()
        .context("cargo metadata failed")?;
    let value: serde_yaml::Value =
        serde_yaml::from_str(&metadata).context("cargo metadata printed invalid JSON")?;
    let dir = value
        .get("target_directory")
        .and_then(|d| d.as_str())
        .map(PathBuf::from)
        .unwrap_or_else(|| project.root.join("target"));
    Ok(dir)
}

/// Names every missing rustup target at once, with the command that adds them.
fn check_targets(sh: &Shell, platforms: &[Platform]) -> Result<()> {
    if which::which("rustup").is_err() {
        // Without rustup the toolchain's own error names the missing target.
        return Ok(());
    }
    let installed = cmd!(sh, "rustup target list --installed")
        .quiet()
        .read()
        .context("rustup target list failed")?;
    let missing: Vec<&str> = platforms
        .iter()
        .map(Platform::rust_target)
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        bail!(
            "the Rust targets {} are not installed: run `rustup target add {}`",
            missing.join(", "),
            missing.join(" ")
        );
    }
    Ok(())
}
