//! The repository being acted on: where it is, its release configuration, and every path
//! the release tool uses inside it, each named once.
//!
//! A path in a message is shown with `{:?}`: quoted, and escaped as `quote` escapes input,
//! so that a directory name holding a line break cannot split or forge a line of the log.
//! Unlike `quote`, it is not shortened: a path is only useful whole.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::config::Config;

pub struct Project {
    pub root: PathBuf,
    pub config: Config,
}

impl Project {
    /// Finds the git repository containing `dir` (default: the current directory), reads
    /// its configuration, and points `sh` at its root with git made non-interactive.
    pub fn open(sh: &Shell, dir: Option<&Path>) -> Result<Project> {
        if let Some(dir) = dir {
            if !dir.is_dir() {
                bail!("-C {dir:?} is not a directory: pass the directory of a clone of llm-proxy");
            }
            sh.change_dir(dir);
        }
        // A credential prompt or an ssh host-key question must fail, not hang CI.
        sh.set_var("GIT_TERMINAL_PROMPT", "0");
        if std::env::var_os("GIT_SSH_COMMAND").is_none() {
            sh.set_var(
                "GIT_SSH_COMMAND",
                "ssh -o BatchMode=yes -o ConnectTimeout=30",
            );
        }
        let here = sh.current_dir();
        if let Some(git) = missing_tools(&["git"]).first() {
            bail!(crate::tools::missing(git));
        }
        let root = cmd!(sh, "git rev-parse --show-toplevel")
            .quiet()
            .ignore_stderr()
            .read()
            .map_err(|_| anyhow::anyhow!("{here:?} is not inside a git repository: run from a clone of llm-proxy or pass -C DIR"))?;
        let root = PathBuf::from(root);
        sh.change_dir(&root);
        let manifest = root.join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("cannot read {manifest:?}"))?;
        let config = Config::parse(&text, &|name| std::env::var(name).ok())
            .with_context(|| format!("in {manifest:?}"))?;
        Ok(Project { root, config })
    }

    pub fn chart_dir(&self) -> PathBuf {
        self.root.join(&self.config.chart)
    }

    pub fn chart_yaml(&self) -> PathBuf {
        self.chart_dir().join("Chart.yaml")
    }

    /// The manifest of the service crate, whose version a plain `dist` stamps.
    pub fn service_manifest(&self) -> PathBuf {
        self.root.join("crates/llm-proxy/Cargo.toml")
    }

    /// `.github/workflows/`: the CI workflows, each step one `cargo xtask` command.
    pub fn workflows_dir(&self) -> PathBuf {
        self.root.join(".github/workflows")
    }

    /// The offline signing harness of the provenance tests and rehearsals.
    pub fn provenance_harness(&self) -> PathBuf {
        self.root.join("scripts/provenance/attest.mjs")
    }

    /// `dist/`: binaries and packaged charts; never committed.
    pub fn dist_dir(&self) -> PathBuf {
        self.root.join("dist")
    }
}

/// The tools among `tools` that are not on PATH, so that all of them are named at once.
pub fn missing_tools(tools: &[&str]) -> Vec<String> {
    tools
        .iter()
        .filter(|tool| which::which(tool).is_err())
        .map(|tool| tool.to_string())
        .collect()
}
